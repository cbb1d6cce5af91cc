//! Two engines, one cache: the engine under test and its twin (the same
//! Docker on another "machine": `scripts/sid-engine.sh --name sid2` beside
//! `sid`) share a build cache through a registry both reach: the registry
//! of `scripts/registry.sh`, 127.0.0.1:5000 on the host and, through the
//! link `scripts/sid-engine.sh` makes, in each engine's network namespace.
//! What one compiled and exported, the other imports instead of compiling
//! (its own build cache wiped first, so CACHED can only come from the
//! registry) and makes the very same image: the shape of a team whose
//! machines share one BuildKit cache.
//!
//! Across BuildKit versions the cache does not carry the compile step:
//! BuildKit keys an exec by the JSON of its op, and 0.13 (Docker 26.1)
//! writes `"input":0` and `"output":0` where 0.18+ (Go's protobuf structs)
//! leaves zero out, so an exec with several mounts (the compile has the
//! root, the source, `/out` and a cache mount) gets other keys. What holds
//! across versions is the image: built on the host's Docker 26.1, it has
//! the same config (and so the same uncompressed layers) as on the engine
//! under test; only the gzip bytes of its layer, compressed by each
//! BuildKit, may differ.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

use scratchc::client::artefacts::ocidiff::Layout;

use super::repro::{REGISTRY, WIPES, assert_ok, built_digest, example, require_registry};
use super::{Engine, engine, host_engine, run, twin_engine};

/// `scratchc build` of the app in `dir` on `engine`, with `extra` options.
fn build(engine: &Engine, dir: &Path, extra: &[&str]) -> Output {
    let out = engine
        .scratchc()
        .arg("build")
        .arg(dir.join("app.scratch"))
        // The image alone: an SBOM attestation would make the tarball an
        // index (the cache, not the SBOM, is the subject here).
        .args(["--progress", "plain", "--sbom=false"])
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
    let step = "[hello linux/amd64] build: go -C . build";
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

/// The config digest of the single-platform image in an OCI tarball.
fn config_digest(tar: &Path) -> String {
    let layout = Layout::from_tar(&std::fs::read(tar).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&layout.blobs[&layout.image_digest().unwrap()]).unwrap();
    manifest["config"]["digest"].as_str().unwrap().to_string()
}

#[test]
fn a_cache_one_engine_exports_its_twin_imports() {
    let (this, twin, host) = (engine(), twin_engine(), host_engine());
    assert_ne!(this.host, twin.host, "the twin must be another engine");
    this.require();
    twin.require();
    host.require();
    require_registry();
    let _wipe = WIPES.lock().unwrap_or_else(|e| e.into_inner());
    let dir = example("hello");
    let work = tempfile::tempdir().unwrap();
    let tar = |n: &str| work.path().join(n);
    let oci = |n: &str| format!("type=oci,dest={}", tar(n).display());
    let cache = format!(
        "type=registry,ref={REGISTRY}/scratchc-test/two-engines:{},mode=max",
        uuid::Uuid::new_v4().simple()
    );

    // One engine builds and exports its cache.
    let first = build(
        this,
        dir.path(),
        &["--cache-to", &cache, "-o", &oci("1.tar")],
    );
    let image = built_digest(&first);

    // Its twin, its own build cache wiped, imports it: no compile, and the
    // same image, byte for byte.
    run(twin.docker().args(["builder", "prune", "-af"]));
    let second = build(
        twin,
        dir.path(),
        &["--cache-from", &cache, "-o", &oci("2.tar")],
    );
    assert_compile_cached(&second, &twin.host);
    assert_eq!(
        built_digest(&second),
        image,
        "the same image on {}",
        twin.host
    );

    // The host's engine (another BuildKit) makes the same image content.
    build(host, dir.path(), &["-o", &oci("3.tar")]);
    assert_eq!(
        config_digest(&tar("3.tar")),
        config_digest(&tar("1.tar")),
        "the same config and layers on {} and {}",
        host.host,
        this.host
    );
}
