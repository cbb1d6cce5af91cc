//! Compiles our own subset of the BuildKit protobuf schemas (`proto/`) into
//! Rust with prost and tonic. `protox` parses the schemas in pure Rust, so no
//! system `protoc` and no network is needed. Also records the git commit
//! of the build for `scratchc --version`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    git_commit();
    let mut protos: Vec<PathBuf> = std::fs::read_dir("proto")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    protos.sort();
    println!("cargo:rerun-if-changed=proto");
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let fds = protox::compile(&protos, ["proto"])?;
    tonic_prost_build::configure()
        .btree_map(".")
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

/// Sets `SCRATCHC_GIT_COMMIT` (and `SCRATCHC_GIT_DATE`) to the commit being built (12 hex digits,
/// `-dirty` is not tracked: it would need a rerun on every edit), or
/// `unknown` without git or outside a checkout (a source tarball, the
/// frontend image's build). Reruns when HEAD moves: the HEAD file of this
/// worktree, and the refs it may point at.
fn git_commit() {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SCRATCHC_GIT_COMMIT={commit}");
    // The commit's date (YYYY-MM-DD) dates the manual pages: the same
    // source gives the same pages.
    let date = git(&["log", "-1", "--format=%cs", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=SCRATCHC_GIT_DATE={date}");
    // Only files that exist: Cargo reruns a build script on every build
    // when a path it watches is missing.
    let watch = |p: PathBuf| {
        if p.is_file() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    };
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch(Path::new(&dir).join("HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
        let common = Path::new(&common);
        watch(common.join("packed-refs"));
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(common.join(head));
        }
    }
}
