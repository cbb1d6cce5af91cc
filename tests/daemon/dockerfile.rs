//! `scratchc dockerfile` against the real thing: the exported Dockerfile,
//! built by `docker buildx build` (the Engine's own Dockerfile frontend),
//! makes the image `scratchc build` makes: the same files with the same
//! bytes (the binary first), and the same image config but for the
//! documented differences (docs/cli.md, "scratchc dockerfile"): `PATH` in
//! `Env`, `WorkingDir` `/` when the app sets none, `ArgsEscaped`, the
//! history, the layer split. Build arguments stay ARGs: both builds get `--build-arg`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::{docker, run, scratchc};

const EPOCH: &str = "1700000000";

fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    run(Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path()));
    dir
}

/// An OCI layout tarball's one image: its config, and every regular file
/// of its layers (applied in order) with its sha256 and mode.
fn image(tar: &Path) -> (serde_json::Value, BTreeMap<String, (String, u32)>) {
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(dir.path()));
    let blob = |d: &str| -> PathBuf {
        dir.path()
            .join("blobs/sha256")
            .join(d.strip_prefix("sha256:").unwrap())
    };
    let json = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let index = json(dir.path().join("index.json"));
    let mut manifest = json(blob(index["manifests"][0]["digest"].as_str().unwrap()));
    if manifest.get("manifests").is_some() {
        manifest = json(blob(manifest["manifests"][0]["digest"].as_str().unwrap()));
    }
    let config = json(blob(manifest["config"]["digest"].as_str().unwrap()));
    let root = tempfile::tempdir().unwrap();
    for l in manifest["layers"].as_array().unwrap() {
        run(Command::new("tar")
            .arg("-xzf")
            .arg(blob(l["digest"].as_str().unwrap()))
            .arg("-C")
            .arg(root.path()));
    }
    let mut files = BTreeMap::new();
    walk(root.path(), root.path(), &mut files);
    (config, files)
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (String, u32)>) {
    use std::os::unix::fs::PermissionsExt;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let meta = e.metadata().unwrap();
        if meta.is_dir() {
            walk(root, &e.path(), out);
        } else {
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            let sum = hex::encode(Sha256::digest(std::fs::read(e.path()).unwrap()));
            out.insert(rel, (sum, meta.permissions().mode() & 0o7777));
        }
    }
}

/// Builds `app` of the example in `dir` both ways for linux/amd64 and
/// compares; `args` are the build arguments given to both.
fn same_image(dir: &Path, app: &str, args: &[&str]) {
    let df =
        String::from_utf8(run(scratchc().arg("dockerfile").arg(dir.join("app.scratch"))).stdout)
            .unwrap();
    std::fs::write(dir.join("Dockerfile"), &df).unwrap();
    let outs = tempfile::tempdir().unwrap();
    let (ours, theirs) = (outs.path().join("ours.tar"), outs.path().join("theirs.tar"));
    let mut build = scratchc();
    build
        .arg("build")
        .arg(dir.join("app.scratch"))
        .args([
            "--app",
            app,
            "--platform",
            "linux/amd64",
            "--progress",
            "plain",
        ])
        .arg("--output")
        .arg(format!("type=oci,dest={}", ours.display()))
        .env("SOURCE_DATE_EPOCH", EPOCH);
    for a in args {
        build.args(["--build-arg", a]);
    }
    run(&mut build);
    let mut buildx = docker();
    buildx
        .args([
            "buildx",
            "build",
            "--progress",
            "plain",
            "--platform",
            "linux/amd64",
        ])
        .args(["--target", app])
        .args(["--build-arg", &format!("SOURCE_DATE_EPOCH={EPOCH}")])
        .arg("--output")
        .arg(format!("type=oci,dest={}", theirs.display()))
        .arg(dir);
    for a in args {
        buildx.args(["--build-arg", a]);
    }
    run(&mut buildx);

    let (ours_cfg, ours_files) = image(&ours);
    let (theirs_cfg, theirs_files) = image(&theirs);
    let binary = format!("usr/bin/{app}");
    assert_eq!(
        ours_files.get(&binary),
        theirs_files.get(&binary),
        "the same binary, bit for bit\n{df}"
    );
    assert_eq!(ours_files, theirs_files, "the same files, bytes and modes");
    for key in ["architecture", "os", "created"] {
        assert_eq!(ours_cfg[key], theirs_cfg[key], "{key}");
    }
    let (ours_run, mut theirs_run) = (ours_cfg["config"].clone(), theirs_cfg["config"].clone());
    // The documented differences: FROM scratch gives PATH and WorkingDir /.
    let env = theirs_run["Env"].as_array().cloned().unwrap_or_default();
    let (path, rest): (Vec<_>, Vec<_>) = env
        .into_iter()
        .partition(|e| e.as_str().is_some_and(|s| s.starts_with("PATH=")));
    assert_eq!(path.len(), 1, "{theirs_run}");
    let obj = theirs_run.as_object_mut().unwrap();
    if rest.is_empty() {
        obj.remove("Env");
    } else {
        obj.insert("Env".into(), serde_json::Value::Array(rest));
    }
    if ours_run.get("WorkingDir").is_none() {
        assert_eq!(obj.remove("WorkingDir"), Some("/".into()));
    }
    // A Windows-only flag the frontend sets for exec-form ENTRYPOINT/CMD.
    obj.remove("ArgsEscaped");
    // Keys the Dockerfile frontend writes empty are absent in ours.
    obj.retain(|_, v| !(v.is_null() || v == &serde_json::json!({}) || v == ""));
    assert_eq!(
        &ours_run, &theirs_run,
        "the same runtime config but for PATH, WorkingDir and ArgsEscaped"
    );
}

/// The server example: ldflags from a build argument, certs, MIME table,
/// volumes, workdir, user, env, labels (one from the argument), cmd.
#[test]
fn the_exported_dockerfile_builds_the_same_image() {
    super::require_engine();
    let dir = example("server");
    same_image(dir.path(), "server", &["VERSION=1.2.3"]);
}

/// A file with two apps: one Dockerfile, `--target` picks the app.
#[test]
fn one_dockerfile_builds_each_app_of_a_file() {
    super::require_engine();
    let dir = example("multi");
    same_image(dir.path(), "worker", &[]);
}
