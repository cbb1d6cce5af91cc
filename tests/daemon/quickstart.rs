//! The README's quick start, run as written (issue 15): a fresh Go
//! module, `scratchc init`, `scratchc build`, `docker run`, and the
//! container answers. Only what would collide on a shared daemon is
//! changed: the name `hello` (module, app, image, container) becomes a
//! name of the test's own, the host port a free one on loopback.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::output;

/// The first ```sh block after `## Quick start` in README.md.
fn quick_start() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Quick start")
        .nth(1)
        .expect("README.md has a Quick start section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .expect("the Quick start has a sh block");
    block.split("\n```").next().unwrap().to_string()
}

/// Removes the test's container and image, passed or not.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
        let _ = Command::new("docker")
            .args(["image", "rm", "-f", &format!("{}:latest", self.0)])
            .output();
    }
}

#[test]
fn the_readme_quick_start_ends_with_a_running_container() {
    super::require_engine();
    let script = quick_start();
    assert!(script.contains("scratchc init"), "{script}");
    let (body, last) = script.trim_end().rsplit_once('\n').unwrap();
    assert!(
        body.starts_with("mkdir hello"),
        "starts from nothing: {script}"
    );
    assert!(
        last.starts_with("curl "),
        "ends asking the container: {script}"
    );

    let name = format!("qs-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let _cleanup = Cleanup(name.clone());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(body.contains("-p 8080:8080"), "{body}");
    let body = body
        .replace("hello", &name)
        .replace("-p 8080:8080", &format!("-p 127.0.0.1:{port}:8080"));

    let work = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_scratchc")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = output(
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &body])
            .current_dir(work.path())
            .env("PATH", path)
            .env_remove("BUILDKIT_HOST")
            .env_remove("DOCKER_HOST")
            .env_remove("SOURCE_DATE_EPOCH"),
    );
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the quick start failed:\n{body}\n{log}"
    );
    let app = std::fs::read_to_string(work.path().join(&name).join("app.scratch")).unwrap();
    assert!(app.contains(&format!("app {name} {{\n  main .\n")), "{app}");
    assert!(app.contains("\n  certs\n"), "{app}");
    // An index: the image and its SBOM attestation.
    assert!(
        log.contains(&format!("{name}: image {name}:latest -> index sha256:")),
        "{log}"
    );

    // The last line, against the free port: the server may take a moment.
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = output(Command::new("curl").args(["-s", "--max-time", "2", &url]));
        let body = String::from_utf8_lossy(&r.stdout).into_owned();
        if body.trim() == "served from a scratch image" {
            break;
        }
        if Instant::now() > deadline {
            let logs = output(Command::new("docker").args(["logs", &name]));
            panic!(
                "no answer on {url}: {body:?}\n{}{}",
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
