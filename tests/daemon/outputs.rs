//! What `scratchc build` says it made (issue 15): one line per output,
//! each with its own digests, checked against the outputs themselves (the
//! Engine's image, the OCI tarball's index, the docker tarball's
//! manifest); and a docker tarball built without `-t` loads as
//! `<app>:latest`, not as a dangling image.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use super::{output, run, scratchc};

/// The `index.json` entry and the config digest of a tarball.
fn tar_digests(tar: &Path) -> (String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(dir.path()));
    let json = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let index = json(&dir.path().join("index.json"));
    let top = &index["manifests"][0];
    let digest = top["digest"].as_str().unwrap().to_string();
    let manifest = json(
        &dir.path()
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap()),
    );
    (
        top["mediaType"].as_str().unwrap().to_string(),
        digest,
        manifest["config"]["digest"].as_str().unwrap().to_string(),
    )
}

/// The line `hello: KIND WHERE... -> ...` of a build's stderr.
fn line<'a>(stderr: &'a str, start: &str) -> &'a str {
    stderr
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting `{start}`:\n{stderr}"))
}

#[test]
fn each_output_is_named_with_its_own_digests() {
    super::require_engine();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path()));
    let outs = tempfile::tempdir().unwrap();
    let (oci, docker) = (
        outs.path().join("a.oci.tar"),
        outs.path().join("b.docker.tar"),
    );
    let name = format!("scratchc-test-outputs:{}", uuid::Uuid::new_v4().simple());
    let out = run(scratchc()
        .arg("build")
        .arg(dir.path())
        .args(["--progress", "plain", "-t", &name])
        .arg("-o")
        .arg(format!("type=oci,dest={}", oci.display()))
        .arg("-o")
        .arg(format!("type=docker,dest={}", docker.display())));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let _cleanup = Rmi(name.clone());

    // The Engine's image: its id is the manifest digest on the containerd
    // store; the config digest is what the Engine reports as the image's
    // config.
    let id = String::from_utf8_lossy(
        &run(super::docker().args(["image", "inspect", "--format", "{{.Id}}", &name])).stdout,
    )
    .trim()
    .to_string();
    let image = line(&stderr, &format!("hello: image {name} -> "));
    assert!(image.contains(&format!("manifest {id}")), "{image} vs {id}");

    let (mt, digest, config) = tar_digests(&oci);
    assert!(mt.contains("oci"), "{mt}");
    let l = line(&stderr, &format!("hello: oci {} -> ", oci.display()));
    assert_eq!(
        l,
        format!(
            "hello: oci {} -> manifest {digest}, config {config}",
            oci.display()
        )
    );
    // The OCI tarball and the Engine's image are one image.
    assert!(
        image.ends_with(&format!("manifest {digest}, config {config}")),
        "{image}"
    );

    let (mt, ddigest, dconfig) = tar_digests(&docker);
    assert!(mt.starts_with("application/vnd.docker."), "{mt}");
    let l = line(&stderr, &format!("hello: docker {} ", docker.display()));
    assert_eq!(
        l,
        format!(
            "hello: docker {} (loads as {name}) -> manifest {ddigest} (Docker media types), config {dconfig}",
            docker.display()
        )
    );
    assert_ne!(ddigest, digest, "another manifest: Docker's media types");
    assert_eq!(dconfig, config, "the same config");
    assert!(line(&stderr, "hello: epoch ").contains("epoch"), "{stderr}");
    plain_progress_is_in_buildctls_order(&stderr);
}

/// The plain progress of a build, as buildctl orders it: nothing of a
/// step after its `DONE`/`CACHED`/`ERROR` (its transfers and logs come
/// before), and exec steps named with each argument one shell word.
fn plain_progress_is_in_buildctls_order(log: &str) {
    let mut ended = std::collections::BTreeSet::new();
    for l in log.lines() {
        let Some(rest) = l.strip_prefix('#') else {
            continue;
        };
        let Some((n, what)) = rest.split_once(' ') else {
            continue;
        };
        assert!(!ended.contains(n), "`{l}` after #{n} ended:\n{log}");
        if what.starts_with("DONE") || what == "CACHED" || what.starts_with("ERROR") {
            ended.insert(n.to_string());
        }
    }
    let step = log
        .lines()
        .find(|l| l.contains("build: go -C . build"))
        .unwrap_or_else(|| panic!("no build step:\n{log}"));
    assert!(step.contains(" '-ldflags=-s -buildid= ' -tags= "), "{step}");
    assert!(!step.contains("  "), "no double spaces: {step}");
}

#[test]
fn a_docker_tarball_without_a_tag_loads_as_the_apps_latest() {
    super::require_engine();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path()));
    // An app name of its own, so loading it touches no other image.
    let app = format!(
        "scratchc-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    std::fs::write(
        dir.path().join("app.scratch"),
        format!("app {app} {{\n}}\n"),
    )
    .unwrap();
    let outs = tempfile::tempdir().unwrap();
    let docker = outs.path().join("app.tar");
    let out = run(scratchc()
        .arg("build")
        .arg(dir.path())
        .args(["--progress", "plain"])
        .arg("-o")
        .arg(format!("type=docker,dest={}", docker.display())));
    let tag = format!("{app}:latest");
    let _cleanup = Rmi(tag.clone());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("(loads as {tag})")), "{stderr}");
    // The tarball's own manifest.json names it...
    let list = run(Command::new("tar")
        .arg("-xOf")
        .arg(&docker)
        .arg("manifest.json"));
    let manifest: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(
        manifest[0]["RepoTags"],
        serde_json::json!([tag]),
        "{manifest}"
    );
    // ...and `docker load` loads it under that name.
    let load = output(super::docker().arg("load").arg("-i").arg(&docker));
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    assert!(
        String::from_utf8_lossy(&load.stdout).contains(&tag),
        "{}",
        String::from_utf8_lossy(&load.stdout)
    );
    run(super::docker().args(["image", "inspect", &tag]));
}

/// Removes a test image when the test ends, passed or not.
struct Rmi(String);

impl Drop for Rmi {
    fn drop(&mut self) {
        let _ = super::docker()
            .args(["image", "rm", "-f", &self.0])
            .output();
    }
}
