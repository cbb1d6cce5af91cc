//! Two engines, one cache: the host's engine (Docker 26.1, BuildKit 0.13)
//! and the engine under test (Docker 28.5, BuildKit 0.25 in `.ci/run`)
//! share a build cache through a registry both reach: the registry of
//! `scripts/registry.sh`, 127.0.0.1:5000 on the host and, through the link
//! `scripts/sid-engine.sh` makes, in the sid engine's network namespace.
//! What one engine compiled and exported, the other imports instead of
//! compiling, and both make the same image: the shape of a team whose
//! machines share one BuildKit cache. Each importing engine's own build
//! cache is wiped first, so a CACHED step can only come from the registry.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

use super::repro::{REGISTRY, WIPES, assert_ok, built_digest, example, require_registry};
use super::{Engine, engine, host_engine, run};

/// `scratchc build` of hello on `engine`, with `extra` options.
fn build(engine: &Engine, dir: &Path, extra: &[&str]) -> Output {
    let out = engine
        .scratchc()
        .arg("build")
        .arg(dir.join("app.scratch"))
        .args(["--progress", "plain"])
        .args(extra)
        .output()
        .unwrap();
    assert_ok(&out);
    out
}

/// Panics unless the compile step was CACHED, naming `who`.
fn assert_compile_cached(out: &Output, who: &str) {
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("importing cache manifest from"),
        "{who}:\n{log}"
    );
    let step = "[hello linux/amd64] build: go build";
    let id = log
        .lines()
        .find(|l| l.contains(step))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{who}: no compile step:\n{log}"));
    assert!(
        log.contains(&format!("{id} CACHED")),
        "{who}: the compile step was not taken from the cache:\n{log}"
    );
}

fn wipe(engine: &Engine) {
    run(engine.docker().args(["builder", "prune", "-af"]));
}

#[test]
fn a_cache_one_engine_exports_the_other_imports() {
    let (host, other) = (host_engine(), engine());
    assert_ne!(
        host.host, other.host,
        "this test needs a second engine beside the host's: run scripts/sid-engine.sh setup and \
         set SCRATCHC_TEST_DOCKER=scripts/sid-docker (or pass --skip two_engines)"
    );
    host.require();
    other.require();
    require_registry();
    let _wipe = WIPES.lock().unwrap_or_else(|e| e.into_inner());
    let dir = example("hello");
    let work = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let cache = |who: &str| {
        format!("type=registry,ref={REGISTRY}/scratchc-test/two-engines:{id}-{who},mode=max")
    };
    let oci = |n: &str| format!("type=oci,dest={}", work.path().join(n).display());

    // The host engine builds and exports its cache.
    let first = build(
        host,
        dir.path(),
        &["--cache-to", &cache("host"), "-o", &oci("1.tar")],
    );
    let image = built_digest(&first);

    // The other engine, its own cache wiped, imports it, and exports its
    // own cache in turn.
    wipe(other);
    let second = build(
        other,
        dir.path(),
        &[
            "--cache-from",
            &cache("host"),
            "--cache-to",
            &cache("other"),
            "-o",
            &oci("2.tar"),
        ],
    );
    assert_compile_cached(&second, &other.host);
    assert_eq!(
        built_digest(&second),
        image,
        "the same image on {}",
        other.host
    );

    // And back: the host engine, wiped, imports what the other exported.
    wipe(host);
    let third = build(
        host,
        dir.path(),
        &["--cache-from", &cache("other"), "-o", &oci("3.tar")],
    );
    assert_compile_cached(&third, &host.host);
    assert_eq!(
        built_digest(&third),
        image,
        "the same image on {}",
        host.host
    );
}
