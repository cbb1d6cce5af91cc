//! `docker buildx build --check` and `--call check` through the frontend
//! (issue 16): buildx asks the frontend's `frontend.lint` subrequest and
//! prints scratchc's diagnostics in its own lint format, exits non-zero on
//! an error, and never falls back to the Dockerfile frontend.
//!
//! buildx learned `--check` and `--call` in 0.15: these tests run on the
//! sid engine's buildx 0.29 (`SCRATCHC_TEST_DOCKER=scripts/sid-docker`,
//! the `sid` stage of scripts/test.sh); the host stage leaves them out, as
//! buildx 0.13 has neither flag.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::Output;

use super::{docker, output, run};

/// A context holding `app.scratch` (with the frontend's syntax line) and
/// the hello example's Go files.
fn context(app: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let hello = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    for f in ["go.mod", "main.go"] {
        std::fs::copy(hello.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("app.scratch"),
        format!("# syntax=scratchc/frontend:0.1\n{app}"),
    )
    .unwrap();
    dir
}

/// Fails, saying where to run it, when this buildx has no `--check`.
fn require_check() {
    let out = run(docker().args(["buildx", "build", "--help"]));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--check"),
        "this buildx has no --check (it came in buildx 0.15): run the lint tests on the sid \
         engine, SCRATCHC_TEST_DOCKER=scripts/sid-docker (scripts/test.sh sid)"
    );
}

/// `docker buildx build FLAGS -f app.scratch DIR`, both output streams.
fn buildx(dir: &Path, flags: &[&str]) -> (Output, String) {
    let out = output(
        docker()
            .args(["buildx", "build", "--progress", "plain"])
            .args(flags)
            .arg("-f")
            .arg(dir.join("app.scratch"))
            .arg(dir),
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, all)
}

#[test]
fn check_passes_a_clean_file() {
    require_check();
    let dir = context("app hello {\n  port 8080\n}\n");
    for flags in [&["--check"][..], &["--call", "check"]] {
        let (out, all) = buildx(dir.path(), flags);
        assert!(out.status.success(), "{flags:?}: {all}");
        assert!(all.contains("no warnings found"), "{flags:?}: {all}");
        // The Dockerfile frontend (docker/dockerfile) was never asked.
        assert!(!all.contains("docker/dockerfile"), "{flags:?}: {all}");
    }
}

#[test]
fn check_reports_an_error_with_its_code_line_and_help() {
    require_check();
    // Line 4 of the file as buildx sees it (after the syntax line): an
    // unknown key, E0100, with a "did you mean" help.
    let dir = context("app hello {\n  port 8080\n  prot 9090\n}\n");
    for flags in [&["--check"][..], &["--call", "check"]] {
        let (out, all) = buildx(dir.path(), flags);
        assert!(!out.status.success(), "{flags:?} must fail: {all}");
        assert!(all.contains("E0100"), "{flags:?}: {all}");
        assert!(all.contains("prot"), "{flags:?}: {all}");
        assert!(all.contains("app.scratch:4"), "{flags:?}: {all}");
        assert!(all.contains("help"), "{flags:?}: {all}");
        assert!(!all.contains("unsupported request"), "{flags:?}: {all}");
    }
    // Nothing was built: no image, no step ran.
    let (_, all) = buildx(dir.path(), &["--check"]);
    assert!(!all.contains("go build"), "{all}");
}
