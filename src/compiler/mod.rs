//! The compiler: sources in, LLB definitions out, no IO.
//!
//! | stage  | module    | in                 | out                      |
//! |--------|-----------|--------------------|--------------------------|
//! | syntax | `syntax`  | text               | `ast::File`              |
//! | check  | `check`   | `Sources` (parsed) | `model::Program`         |
//! | lower  | `lower`   | `model::App` + one target platform | `Target` (LLB + image config) |
//! | emit   | `crate::llb` | the LLB graph   | `pb.Definition` bytes, JSON dump |
//!
//! `compile` chains them, for tests and tools; the drivers run the same
//! stages through `crate::build` (check in `Plan::load`, `lower_each` in
//! `Plan::targets`), with the builder configs they resolve in between.

pub mod ast;
pub mod check;
pub mod codes;
pub mod diagnostic;
pub mod dockerfile;
pub mod excerpt;
pub mod fmt;
pub mod interp;
pub mod lower;
pub mod model;
pub use crate::platform;
pub mod shellwords;
pub mod sources;
pub mod span;
pub mod stdlib;
pub mod syntax;

use std::collections::{BTreeMap, BTreeSet};

pub use codes::{Code, Severity};
pub use diagnostic::{Diag, render_plain};
pub use platform::Platform;
pub use sources::Sources;
pub use span::{FileId, Span, Spanned};

/// What the caller decides, beside the sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `--build-arg` values; each must be declared by a `build-arg`.
    pub build_args: BTreeMap<String, String>,
    /// Where builder steps run (the daemon's platform).
    pub build_platform: Platform,
    /// `--platform` overrides; empty means the file's `platforms`.
    pub platforms: Vec<Platform>,
    /// Variables the driver provides beside `NAME` and `OUT`, usable
    /// everywhere (the `GIT_*` of a checkout, `crate::build::vcs`). The
    /// compiler gives them no meaning.
    pub vars: BTreeMap<String, String>,
    /// Image labels the driver adds unless the file sets the same key (the
    /// OCI revision and source of a checkout).
    pub labels: BTreeMap<String, String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            build_args: BTreeMap::new(),
            build_platform: Platform::linux_amd64(),
            platforms: Vec::new(),
            vars: BTreeMap::new(),
            labels: BTreeMap::new(),
        }
    }
}

/// What the lowering needs from outside the sources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LowerOptions {
    /// Configs of builder images, keyed by the normalised reference string
    /// (`model::ImageRef`'s Display), as resolved from the daemon or read
    /// from `scratch.lock`. A builder without an entry runs with only the
    /// template's `build-env`.
    pub builder_configs: BTreeMap<String, ImageConfig>,
    /// Patterns from the context's `.dockerignore`, in file order.
    pub context_excludes: Vec<String>,
    /// Mark every op to be run again (`--no-cache`).
    pub no_cache: bool,
    /// `local.unique` of the context sources: an id of the client's
    /// directory (the session shared key), so concurrent builds of
    /// different trees are never merged by the daemon. `None` leaves it out
    /// (offline output, snapshots).
    pub local_unique: Option<String>,
    /// Files of `model::Program::context_probes` that the context lacks. A
    /// dependency step with one of its files absent is left out (see
    /// `model::Deps::step`). Empty when unknown (offline output, snapshots):
    /// every step is kept.
    pub absent_files: BTreeSet<String>,
    /// Files of `context_probes` that the context holds: a `deps-skip`
    /// path found leaves the step out, a `deps-with` path found picks its
    /// files. Empty when unknown: the step is `deps` as written.
    pub present_files: BTreeSet<String>,
    /// SOURCE_DATE_EPOCH, in seconds: the mtime of every file of the image
    /// and its config's `created`. 0 (1970-01-01) when nothing sets it.
    pub epoch: u64,
}

/// The parts of a builder image's config that a builder step inherits, as a
/// Dockerfile `FROM` stage does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `KEY=VALUE` entries.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

/// One app lowered for one platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub app: String,
    pub platform: Platform,
    /// A marshaled `pb.Definition`, the bytes `buildctl build` reads.
    pub definition: Vec<u8>,
    /// The OCI image config JSON (`containerimage.config`).
    pub config: Vec<u8>,
}

/// Parses and checks all sources: every error of every file in one list.
pub fn check(sources: &Sources, options: &Options) -> Result<model::Program, Vec<Diag>> {
    check::check(sources, options)
}

/// Checks, then lowers every selected app for every one of its platforms
/// (each app's platforms in one graph, as `crate::build` does).
/// `app` selects one app by name; `None` means all apps of the file.
pub fn compile(
    sources: &Sources,
    options: &Options,
    lower_options: &LowerOptions,
    app: Option<&str>,
) -> Result<Vec<Target>, Vec<Diag>> {
    let program = check(sources, options)?;
    let apps: Vec<&model::App> = match app {
        None => program.apps.iter().collect(),
        Some(name) => match program.app(name) {
            Some(a) => vec![a],
            None => return Err(vec![check::unknown_app(&program, name)]),
        },
    };
    let mut targets = Vec::with_capacity(apps.iter().map(|a| a.platforms.len()).sum());
    let mut errors = Vec::new();
    for a in apps {
        let platforms: Vec<&Platform> = a.platforms.iter().map(|p| &p.node).collect();
        for t in lower::lower_each(a, &platforms, sources, options, lower_options) {
            match t {
                Ok(t) => targets.push(t),
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(targets)
    } else {
        Err(errors)
    }
}
