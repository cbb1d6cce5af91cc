//! The command line as a user meets it, through the real binary: every verb
//! given the same bad inputs ends with the same exit code and says what,
//! where and how to fix (docs/client.md, "Exit codes"). No daemon is
//! needed: the daemon verbs are pointed at an address where none listens.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::path::Path;

use common::{Run, Scratchc};

/// A socket path where no daemon listens.
const NOWHERE: &str = "unix:///nonexistent/scratchc-test.sock";

/// The verbs that read an app file, each with what it needs to reach its
/// daemon (if any).
fn verbs() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("check", vec![]),
        ("llb", vec!["--format", "json"]),
        ("dockerfile", vec![]),
        ("build", vec!["--progress", "plain", "--addr", NOWHERE]),
        ("lock", vec!["--addr", NOWHERE]),
        ("verify", vec!["--addr", NOWHERE]),
    ]
}

fn run(verb: &str, extra: &[&str], file: &Path, more: &[&str]) -> Run {
    Scratchc::new()
        .arg(verb)
        .arg(file)
        .args(extra)
        .args(more)
        .run()
}

/// Runs every verb on `file` and checks the exit code and a piece of the
/// message.
fn every_verb(file: &Path, more: &[&str], code: i32, says: &str, except: &[&str]) {
    for (verb, extra) in verbs() {
        if except.contains(&verb) {
            continue;
        }
        let r = run(verb, &extra, file, more);
        assert_eq!(
            r.code,
            Some(code),
            "scratchc {verb} {} {more:?}:\n{}",
            file.display(),
            r.stderr
        );
        assert!(
            r.stderr.contains(says),
            "scratchc {verb}: expected `{says}` in:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn a_missing_file_is_an_input_failure_in_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.scratch");
    every_verb(&missing, &[], 1, "cannot read", &[]);
    every_verb(&missing, &[], 1, "nope.scratch", &[]);
}

#[test]
fn a_directory_stands_for_its_app_scratch() {
    let dir = tempfile::tempdir().unwrap();
    // No app.scratch in it: the message names the file looked for.
    every_verb(dir.path(), &[], 1, "app.scratch", &[]);
    write(dir.path(), "app.scratch", b"app hello {\n}\n");
    let r = Scratchc::new().arg("check").arg(dir.path()).expect(0);
    assert!(r.stdout.contains("ok (hello)"), "{}", r.stdout);
    let r = Scratchc::new()
        .args(["dockerfile"])
        .arg(dir.path())
        .expect(0);
    assert!(r.stdout.contains("FROM scratch"), "{}", r.stdout);
}

#[test]
fn a_file_that_is_not_utf8_is_an_input_failure_in_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "app.scratch",
        b"app hello {\n  label a=\xff\xfe\n}\n",
    );
    every_verb(&f, &[], 1, "not UTF-8", &[]);
}

#[test]
fn an_unknown_key_is_a_diagnostic_in_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.scratch", b"app hello {\n  prot 8080\n}\n");
    every_verb(&f, &[], 1, "scratch::E0100", &[]);
    every_verb(&f, &[], 1, "app.scratch:2:3", &[]);
}

const TWO_APPS: &[u8] = b"app api {\n}\napp worker {\n}\n";

#[test]
fn several_apps_need_a_choice_where_one_image_is_meant() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.scratch", TWO_APPS);
    let r = Scratchc::new()
        .args(["llb", "--format", "json"])
        .arg(&f)
        .expect(2);
    assert!(
        r.stderr.contains("defines 2 apps (api, worker)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--app NAME"), "{}", r.stderr);
    // One Dockerfile holds them all, a stage each.
    let r = Scratchc::new().arg("dockerfile").arg(&f).expect(0);
    assert!(r.stdout.contains("FROM scratch AS api\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("FROM scratch AS worker\n"),
        "{}",
        r.stdout
    );
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE, "-t", "x:1"])
        .arg(&f)
        .expect(2);
    assert!(r.stderr.contains("--app NAME"), "{}", r.stderr);
    // Checking several apps is fine.
    Scratchc::new().arg("check").arg(&f).expect(0);
}

#[test]
fn an_unknown_app_is_a_command_line_error_in_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.scratch", TWO_APPS);
    every_verb(
        &f,
        &["--app", "web"],
        2,
        "no app named `web`",
        &["check", "lock"],
    );
    every_verb(&f, &["--app", "web"], 2, "api, worker", &["check", "lock"]);
}

#[test]
fn a_platform_by_another_name_is_refused_with_its_oci_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.scratch", b"app hello {\n}\n");
    for (verb, extra) in verbs() {
        if matches!(verb, "check" | "lock") {
            continue;
        }
        let r = run(verb, &extra, &f, &["--platform", "linux/aarch64"]);
        assert_eq!(r.code, Some(2), "{verb}: {}", r.stderr);
        assert!(r.stderr.contains("`aarch64`"), "{verb}: {}", r.stderr);
        assert!(r.stderr.contains("linux/arm64"), "{verb}: {}", r.stderr);
        assert!(!r.stderr.contains("UnknownArch"), "{verb}: {}", r.stderr);
    }
    let r = run("build", &["--addr", NOWHERE], &f, &["--build-arg", "=1"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("KEY=VALUE"), "{}", r.stderr);
}

#[test]
fn an_unreachable_daemon_is_a_daemon_failure_that_names_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.scratch", b"app hello {\n}\n");
    for verb in ["build", "lock", "verify"] {
        let r = Scratchc::new()
            .arg(verb)
            .arg(&f)
            .args(["--addr", NOWHERE])
            .expect(3);
        assert!(
            r.stderr.contains("/nonexistent/scratchc-test.sock"),
            "{verb}: {}",
            r.stderr
        );
    }
}

#[test]
fn a_bad_epoch_is_a_command_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.scratch", b"app hello {\n}\n");
    for verb in ["build", "llb"] {
        let r = Scratchc::new()
            .arg(verb)
            .arg(&f)
            .args(["--addr", NOWHERE][..if verb == "build" { 2 } else { 0 }].iter())
            .env("SOURCE_DATE_EPOCH", "yesterday")
            .expect(2);
        assert!(
            r.stderr.contains("SOURCE_DATE_EPOCH is `yesterday`"),
            "{}",
            r.stderr
        );
    }
}
