//! What `scratchc --version` says: which build this is and what it was
//! made to work with, so a bug report carries it in one paste.

use std::sync::OnceLock;

/// The git commit scratchc was built from (`build.rs` asks git at build
/// time; `unknown` when built outside a git checkout).
pub const COMMIT: &str = env!("SCRATCHC_GIT_COMMIT");

/// The version text: the crate version, the commit, the frontend image
/// this binary pairs with (what `# syntax=` lines name), and the BuildKit
/// versions the tests run against (docs/client.md, "Compatibility").
pub fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{}\ncommit: {COMMIT}\nfrontend image: {}\nBuildKit tested: {}",
            env!("CARGO_PKG_VERSION"),
            crate::frontend::IMAGE,
            crate::client::TESTED_BUILDKIT,
        )
    })
}
