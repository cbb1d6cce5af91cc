//! The frontend image (`scratchc/frontend:0.1`, loaded by
//! `scripts/frontend-image.sh`) driven by plain `docker buildx build`,
//! against the real Docker Engine. A missing daemon or image fails these
//! tests, never skips them.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const FRONTEND_IMAGE: &str = "scratchc/frontend:0.1";
/// A fixed epoch for both builds, so timestamps cannot differ.
const EPOCH: &str = "1700000000";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

use super::{docker, output, run, scratchc};

/// Fails (never skips) when the Docker Engine or the frontend image is
/// missing.
fn require_frontend_image() {
    let out = output(docker().args(["image", "inspect", "--format", "{{.Id}}", FRONTEND_IMAGE]));
    assert!(
        out.status.success(),
        "the frontend image {FRONTEND_IMAGE} is not in the Docker Engine (or the engine is down): \
         run scripts/setup.sh (it calls scripts/frontend-image.sh)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `docker buildx build` through the frontend, with the fixed epoch.
fn buildx(file: &Path, context: &Path, extra: &[&str]) -> Command {
    let mut c = docker();
    c.env("SOURCE_DATE_EPOCH", EPOCH)
        .env("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")
        .args(["buildx", "build", "--progress", "plain", "-f"])
        .arg(file)
        .args(extra)
        .arg(context);
    c
}

fn inspect(image: &str, format: &str) -> String {
    let out = run(docker().args(["image", "inspect", "--format", format, image]));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn buildx_through_the_frontend_makes_the_image_scratchc_build_makes() {
    require_frontend_image();
    // A copy of examples/hello with a fresh scratch.lock: the lock pins the
    // builder and its config, which `scratchc llb` (offline) needs to print
    // the definition a build solves.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    for f in ["app.scratch", "go.mod", "main.go"] {
        std::fs::copy(root().join("examples/hello").join(f), dir.join(f)).unwrap();
    }
    run(scratchc().current_dir(&dir).args(["lock", "app.scratch"]));
    let file = dir.join("app.scratch");
    let meta = tempfile::NamedTempFile::new().unwrap();

    let via_frontend = "scratchc-test/frontend-hello:buildx";
    // Outside the context, so the tarball is never part of it.
    let out_dir = tempfile::tempdir().unwrap();
    let oci = out_dir.path().join("buildx.tar");
    let meta_path = meta.path().to_string_lossy().into_owned();
    run(&mut buildx(
        &file,
        &dir,
        &[
            "-t",
            via_frontend,
            // An OCI tarball, then `docker load`: the image as the
            // exporter wrote it, nothing rewritten (the build stamped its
            // files itself).
            "--output",
            &format!("type=oci,dest={}", oci.display()),
            "--metadata-file",
            &meta_path,
        ],
    ));
    run(docker().arg("load").arg("-i").arg(&oci));

    let via_cli = "scratchc-test/frontend-hello:cli";
    run(scratchc()
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(["build", "-t", via_cli])
        .arg(&file));

    // The same image, bit for bit: same ID (manifest digest), so the
    // same single layer and config.
    assert_eq!(
        inspect(via_frontend, "{{.Id}}"),
        inspect(via_cli, "{{.Id}}")
    );
    let layers = inspect(via_frontend, "{{json .RootFS.Layers}}");
    assert_eq!(layers, inspect(via_cli, "{{json .RootFS.Layers}}"));
    assert_eq!(
        layers.matches("sha256:").count(),
        1,
        "one layer expected: {layers}"
    );
    for field in [
        "{{json .Config}}",
        "{{.Os}}/{{.Architecture}}",
        "{{.Created}}",
    ] {
        assert_eq!(
            inspect(via_frontend, field),
            inspect(via_cli, field),
            "{field}"
        );
    }

    // The definition the frontend solved is the one `scratchc llb` prints
    // for the same file (named as buildx names it: `app.scratch`, relative
    // to its directory) and the same context id.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta.path()).unwrap()).unwrap();
    let field = |k: &str| {
        meta[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k} in the build metadata: {meta}"))
            .to_string()
    };
    let solved = field("frontend.scratchc.definition.digest");
    let unique = field("frontend.scratchc.local.unique");
    let pb = run(scratchc()
        .current_dir(&dir)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args([
            "llb",
            "--format",
            "pb",
            "--local-unique",
            &unique,
            "app.scratch",
        ]))
    .stdout;
    let printed = format!("sha256:{}", hex::encode(Sha256::digest(&pb)));
    assert_eq!(
        solved, printed,
        "the frontend solved other LLB than `scratchc llb` prints"
    );
}

/// The manifest and config digests of the one image of an OCI layout
/// tarball.
fn oci_digests(tar: &Path) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(dir.path()));
    let json = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
    };
    let index = json(dir.path().join("index.json"));
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "one image, no attestation: {index}");
    let manifest = manifests[0]["digest"].as_str().unwrap().to_string();
    let blob = dir
        .path()
        .join("blobs/sha256")
        .join(manifest.strip_prefix("sha256:").unwrap());
    let config = json(blob)["config"]["digest"].as_str().unwrap().to_string();
    (manifest, config)
}

/// Reproducible by default on both paths (issue 9): with no build
/// argument and no SOURCE_DATE_EPOCH anywhere, from a directory outside
/// git, `docker buildx build` through the frontend and `scratchc build`
/// make the same manifest and config, and two `--no-cache` buildx builds
/// agree with each other.
#[test]
fn buildx_and_scratchc_agree_by_default_and_buildx_repeats_itself() {
    require_frontend_image();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for f in ["app.scratch", "go.mod", "main.go"] {
        std::fs::copy(root().join("examples/hello").join(f), dir.join(f)).unwrap();
    }
    let outs = tempfile::tempdir().unwrap();
    let via_buildx = |name: &str| {
        let tar = outs.path().join(name);
        let mut c = buildx(
            &dir.join("app.scratch"),
            dir,
            &[
                "--no-cache",
                "--output",
                &format!("type=oci,dest={}", tar.display()),
            ],
        );
        run(c.env_remove("SOURCE_DATE_EPOCH"));
        oci_digests(&tar)
    };
    let first = via_buildx("buildx-1.tar");
    let second = via_buildx("buildx-2.tar");
    assert_eq!(first, second, "two --no-cache buildx builds differ");

    let tar = outs.path().join("cli.tar");
    run(scratchc()
        .args(["build", "--progress", "plain", "-o"])
        .arg(format!("type=oci,dest={}", tar.display()))
        .arg(dir.join("app.scratch")));
    assert_eq!(oci_digests(&tar), first, "scratchc build and buildx differ");
}

#[test]
fn an_error_shows_the_line_of_app_scratch() {
    require_frontend_image();
    let dir = tempfile::tempdir().unwrap();
    let text = format!("# syntax={FRONTEND_IMAGE}\napp broken {{\n  port 99999\n}}\n");
    std::fs::write(dir.path().join("app.scratch"), &text).unwrap();
    let out = output(&mut buildx(
        &dir.path().join("app.scratch"),
        dir.path(),
        &[],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build should fail:\n{err}");
    assert!(
        err.contains("app.scratch:3"),
        "no line reference in:\n{err}"
    );
    assert!(
        err.contains("port 99999"),
        "the offending line is not shown in:\n{err}"
    );
}

#[test]
fn print_targets_lists_the_apps() {
    require_frontend_image();
    let dir = root().join("examples/multi");
    // buildx 0.13 spells `--call targets` as the experimental `--print`.
    let out = run(
        buildx(&dir.join("app.scratch"), &dir, &["--print", "targets"])
            .env("BUILDX_EXPERIMENTAL", "1"),
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.starts_with("TARGET"), "not a target list:\n{listed}");
    let file = std::fs::read_to_string(dir.join("app.scratch")).unwrap();
    for line in file.lines() {
        if let Some(rest) = line.strip_prefix("app ") {
            let name = rest.split_whitespace().next().unwrap();
            assert!(listed.contains(name), "app {name} not listed:\n{listed}");
        }
    }
}

/// The binary check runs in the frontend too: an app that pins GOARCH to
/// amd64 while building for linux/arm64 is refused before export, through
/// plain buildx, naming the platform and showing the app's line.
#[test]
fn buildx_refuses_a_binary_for_the_wrong_platform() {
    require_frontend_image();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for f in ["go.mod", "main.go"] {
        std::fs::copy(root().join("examples/hello").join(f), dir.join(f)).unwrap();
    }
    let src = std::fs::read_to_string(root().join("examples/hello/app.scratch")).unwrap();
    let src = src.replace("app hello {", "app hello {\n  build-env GOARCH=amd64");
    assert!(
        src.contains("GOARCH=amd64"),
        "examples/hello changed:\n{src}"
    );
    std::fs::write(dir.join("app.scratch"), &src).unwrap();
    let out = output(&mut buildx(
        &dir.join("app.scratch"),
        dir,
        &["--platform", "linux/arm64"],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build should fail:\n{err}");
    assert!(
        err.contains(
            "linux/arm64: /usr/bin/hello is a 64-bit little-endian x86-64 (EM_X86_64) binary, \
             but the platform needs 64-bit little-endian AArch64 (EM_AARCH64)"
        ),
        "no binary check message in:\n{err}"
    );
    assert!(err.contains("help: cross-compile for the target"), "{err}");
    // The `app hello {` line, shown as buildx shows a Dockerfile's.
    assert!(
        err.contains("app.scratch:2"),
        "no line reference in:\n{err}"
    );
    assert!(
        err.contains("app hello {"),
        "the app line is not shown in:\n{err}"
    );
}
