//! `scratchc compose` output run for real: the server example built with
//! `scratchc build`, started with `docker compose up` from our Compose
//! file (the image the build loaded, nothing pulled), answering HTTP as
//! its own non-root user on a read-only root with /tmp and its volumes
//! writable. Everything the test creates (containers, network, volumes,
//! image) is removed at the end, failed or not.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{docker, output, run, scratchc};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of `examples/<name>` in a temp dir.
fn fixture(name: &str) -> tempfile::TempDir {
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

/// A Compose project and the image it runs, removed on drop: `down` with
/// its volumes and network, then the image.
struct Project {
    name: String,
    files: Vec<PathBuf>,
    image: String,
}

impl Project {
    fn compose(&self) -> Command {
        let mut c = docker();
        c.args(["compose", "-p", &self.name]);
        for f in &self.files {
            c.arg("-f").arg(f);
        }
        c
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self
            .compose()
            .args(["down", "--volumes", "--remove-orphans", "--timeout", "5"])
            .output();
        let _ = docker().args(["image", "rm", "-f", &self.image]).output();
    }
}

/// GETs `url` until it answers (the container may still be starting its
/// listener), for at most 20 seconds.
fn get(url: &str) -> String {
    let start = Instant::now();
    loop {
        let out = output(Command::new("curl").args(["-sS", "-m", "5", url]));
        if out.status.success() {
            return text(&out.stdout);
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{url} does not answer: {}",
            text(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn compose_runs_the_server_read_only_as_its_user() {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = fixture("server");
    // An env value Compose would interpolate if it were not escaped.
    let app = dir.path().join("app.scratch");
    let src = std::fs::read_to_string(&app).unwrap();
    let src = src.replacen(
        "  env TZ=UTC\n",
        "  env TZ=UTC \"DOLLAR=$$(HOME) $${HOME} $$\"\n",
        1,
    );
    assert!(src.contains("DOLLAR"), "examples/server changed:\n{src}");
    std::fs::write(&app, src).unwrap();

    let project = Project {
        name: format!("scratchc-test-{id}"),
        files: vec![
            dir.path().join("compose.yaml"),
            dir.path().join("test.yaml"),
        ],
        image: format!("scratchc-test-compose:{id}"),
    };
    let built = output(
        scratchc()
            .arg("build")
            .arg(&app)
            .args(["--platform", "linux/amd64", "--progress", "plain", "-t"])
            .arg(&project.image),
    );
    assert!(built.status.success(), "{}", text(&built.stderr));

    let generated = output(
        scratchc()
            .arg("compose")
            .arg(&app)
            .args(["--image", &project.image]),
    );
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    std::fs::write(&project.files[0], &generated.stdout).unwrap();
    // The test publishes on a free loopback port instead of the host's
    // 8080 (shared with whatever else runs here); every other setting is
    // the generated file's.
    std::fs::write(
        &project.files[1],
        "services:\n  server:\n    ports: !override\n      - \"127.0.0.1::8080\"\n",
    )
    .unwrap();

    let up = output(
        project
            .compose()
            .args(["up", "--detach", "--wait", "--wait-timeout", "60"]),
    );
    assert!(
        up.status.success(),
        "docker compose up failed:\n{}\n{}",
        text(&up.stderr),
        text(&generated.stdout)
    );
    let port = run(project.compose().args(["port", "server", "8080"]));
    let addr = text(&port.stdout).trim().to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let check = get(&format!("http://{addr}/check"));
    assert!(
        check.contains("uid=1000 gid=1000 workdir=/var/lib/server"),
        "{check}"
    );
    assert!(check.contains("found /etc/mime.types"), "{check}");
    let fs = get(&format!("http://{addr}/fs"));
    let line = |dir: &str| {
        fs.lines()
            .find(|l| l.starts_with(&format!("write {dir}: ")))
            .unwrap_or_else(|| panic!("no line for {dir}:\n{fs}"))
            .to_string()
    };
    assert!(line("/").ends_with("read-only file system"), "{fs}");
    assert_eq!(line("/tmp"), "write /tmp: ok", "{fs}");
    assert_eq!(line("/etc/server"), "write /etc/server: ok", "{fs}");
    assert_eq!(line("."), "write .: ok", "{fs}");

    // What the engine was told, as it reports it.
    let ps = run(project.compose().args(["ps", "--quiet", "server"]));
    let container = text(&ps.stdout).trim().to_string();
    let inspect = run(docker().args(["inspect", &container]));
    let info: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let info = &info[0];
    assert_eq!(info["HostConfig"]["ReadonlyRootfs"], true);
    assert_eq!(info["HostConfig"]["CapDrop"], serde_json::json!(["ALL"]));
    assert_eq!(
        info["HostConfig"]["SecurityOpt"],
        serde_json::json!(["no-new-privileges:true"])
    );
    assert_eq!(info["Config"]["User"], "1000:1000");
    assert_eq!(info["Config"]["Image"], project.image.as_str());
    let env: Vec<&str> = info["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert!(env.contains(&"DOLLAR=$(HOME) ${HOME} $"), "{env:?}");
    let mounts: Vec<(String, String)> = info["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Type"].as_str().unwrap().to_string(),
                m["Destination"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        mounts.contains(&("volume".into(), "/etc/server".into())),
        "{mounts:?}"
    );
    assert!(
        mounts.contains(&("volume".into(), "/var/lib/server".into())),
        "{mounts:?}"
    );
    drop(project);
}
