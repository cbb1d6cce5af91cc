//! Images that work at runtime (issue 11), on the real Docker Engine: the
//! probe program (`tests/fixtures/probe`: a temp file, Europe/Berlin, the
//! current user and its home, the system roots, a MIME type) runs in the
//! default image with the documented words, built by `scratchc build` and
//! by `docker buildx build` through the frontend, under `--read-only`
//! with and without a tmpfs; the build's check of each Go binary finds
//! each need on real programs and stays silent when it is met; and the
//! build's own files never invalidate the compile.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::common::{Run, Scratchc};
use super::{docker, engine, output, require_engine, run};

const FRONTEND_IMAGE: &str = "scratchc/frontend:0.1";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of a fixture directory in a temp dir.
fn copy_of(fixture: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", root().join(fixture).display()))
        .arg(dir.path()));
    dir
}

fn image_name(what: &str) -> String {
    format!("scratchc-test/{what}:{}", uuid::Uuid::new_v4().simple())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `scratchc build FILE --progress plain` plus `extra`, in `dir`.
fn build(dir: &Path, extra: &[&str]) -> Run {
    Scratchc::new()
        .env("DOCKER_HOST", &engine().host)
        .current_dir(dir)
        .args(["build", "app.scratch", "--progress", "plain"])
        .args(extra)
        .run()
}

fn assert_built(r: &Run) {
    assert_eq!(r.code, Some(0), "scratchc build failed:\n{}", r.stderr);
}

/// `docker run --rm [flags] IMAGE`: exit code and stdout.
fn docker_run(image: &str, flags: &[&str]) -> (Option<i32>, String) {
    let out = output(docker().args(["run", "--rm"]).args(flags).arg(image));
    (out.status.code(), text(&out.stdout))
}

fn rmi(name: &str) {
    let _ = docker().args(["image", "rm", "-f", name]).output();
}

/// The probe in the default image with `certs`, `tzdata` and
/// `mime-types`, as `docker run` starts it, as a read-only root with a
/// tmpfs on /tmp (what `scratchc k8s` and `compose` set up), and as a
/// read-only root without one, where only the temp file fails.
fn assert_probe_runs(image: &str) {
    assert_eq!(docker_run(image, &[]), (Some(0), "OK\n".to_string()));
    assert_eq!(
        docker_run(image, &["--read-only", "--tmpfs", "/tmp"]),
        (Some(0), "OK\n".to_string())
    );
    let (code, out) = docker_run(image, &["--read-only"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("FAIL temp file: open /tmp/probe-") && out.lines().count() == 1,
        "only the temp file fails on a read-only root: {out}"
    );
}

#[test]
fn the_probe_runs_with_the_documented_words_built_by_scratchc() {
    require_engine();
    let dir = copy_of("tests/fixtures/probe");
    let image = image_name("probe");
    let r = build(dir.path(), &["-t", &image]);
    assert_built(&r);
    assert!(
        !r.stderr.contains("scratch::W01"),
        "nothing to warn about:\n{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("runtime needs of /usr/bin/probe (linux/amd64): "),
        "{}",
        r.stderr
    );
    assert_probe_runs(&image);
    rmi(&image);

    // Without the three words: the build says which are missing, and the
    // probe fails on exactly those.
    let app = dir.path().join("app.scratch");
    std::fs::write(&app, "app probe {\n}\n").unwrap();
    let bare = image_name("probe-bare");
    let r = build(dir.path(), &["-t", &bare]);
    assert_built(&r);
    for (code, word) in [
        ("scratch::W0101", "add `certs`"),
        ("scratch::W0102", "add `tzdata`"),
        ("scratch::W0105", "add `mime-types`"),
    ] {
        assert!(r.stderr.contains(code), "no {code}:\n{}", r.stderr);
        assert!(r.stderr.contains(word), "no {word}:\n{}", r.stderr);
    }
    assert!(
        r.stderr.contains("app probe {"),
        "the app's line:\n{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("W0103") && !r.stderr.contains("W0104"),
        "{}",
        r.stderr
    );
    let (code, out) = docker_run(&bare, &[]);
    assert_eq!(code, Some(1));
    let fails: Vec<&str> = out.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        fails,
        ["FAIL time zone", "FAIL system roots", "FAIL mime"],
        "{out}"
    );
    rmi(&bare);

    // Strict: the same build fails before anything is exported.
    let strict = image_name("probe-strict");
    let r = build(dir.path(), &["-t", &strict, "--strict"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("the build is strict"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("exporting"),
        "nothing exported:\n{}",
        r.stderr
    );
    let inspect = output(docker().args(["image", "inspect", &strict]));
    assert!(!inspect.status.success(), "no image loaded");
}

/// Fails (never skips) when the frontend image is missing.
fn require_frontend_image() {
    let out = output(docker().args(["image", "inspect", FRONTEND_IMAGE]));
    assert!(
        out.status.success(),
        "the frontend image {FRONTEND_IMAGE} is missing: run scripts/frontend-image.sh\n{}",
        text(&out.stderr)
    );
}

/// `docker buildx build -f app.scratch -t IMAGE .` in `dir`, loading the
/// image into the engine.
fn buildx(dir: &Path, image: &str) -> std::process::Output {
    output(
        docker()
            .current_dir(dir)
            .env("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")
            .args([
                "buildx",
                "build",
                "--progress",
                "plain",
                "-f",
                "app.scratch",
            ])
            .args(["-t", image, "."]),
    )
}

#[test]
fn the_probe_runs_built_by_buildx_and_the_frontend_warns() {
    require_engine();
    require_frontend_image();
    let dir = copy_of("tests/fixtures/probe");
    let image = image_name("probe-buildx");
    let out = buildx(dir.path(), &image);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning"), "nothing to warn about:\n{err}");
    assert_probe_runs(&image);
    rmi(&image);

    // A program that needs the system roots and has none: buildx lists
    // the warning; with the fallback bundle linked, nothing.
    let needs = copy_of("tests/fixtures/gobin/needs");
    let app = needs.path().join("app.scratch");
    for (main, warns) in [("./cmd/certs", true), ("./cmd/certs-fallback", false)] {
        std::fs::write(
            &app,
            format!("# syntax={FRONTEND_IMAGE}\napp needs {{\n  main {main}\n}}\n"),
        )
        .unwrap();
        let image = image_name("needs-buildx");
        let out = buildx(needs.path(), &image);
        let err = text(&out.stderr);
        assert!(out.status.success(), "{err}");
        let found = err.contains("1 warning found")
            && err.contains("`/usr/bin/needs` loads the system CA certificates")
            && err.contains("[W0101]");
        assert_eq!(found, warns, "{main}:\n{err}");
        if !warns {
            assert!(!err.contains("warning"), "{main}:\n{err}");
        }
        rmi(&image);
    }

    // `strict` in the file: the build fails and shows the app's line.
    std::fs::write(
        &app,
        format!("# syntax={FRONTEND_IMAGE}\napp needs {{\n  main ./cmd/certs\n  strict\n}}\n"),
    )
    .unwrap();
    let image = image_name("needs-strict");
    let out = buildx(needs.path(), &image);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("the build is strict"), "{err}");
    assert!(err.contains("app.scratch:2"), "the app's line:\n{err}");
    rmi(&image);
}

/// Each need on a real Go program, both ways: reported when the image
/// lacks it, silent when the image (the word) or the binary (a fallback
/// bundle, embedded zones) meets it. One file, one `scratchc build` of
/// all its apps; `bare` has none of the go template's basics.
#[test]
fn each_need_is_found_on_real_programs_and_silent_when_met() {
    require_engine();
    let dir = copy_of("tests/fixtures/gobin/needs");
    let apps: &[(&str, &str, &str, Option<&str>)] = &[
        // (app, template, settings, the code expected)
        ("certs", "go", "main ./cmd/certs", Some("W0101")),
        ("certs-word", "go", "main ./cmd/certs\n  certs", None),
        ("certs-fallback", "go", "main ./cmd/certs-fallback", None),
        ("tz", "go", "main ./cmd/tz", Some("W0102")),
        ("tz-word", "go", "main ./cmd/tz\n  tzdata", None),
        ("tz-embed", "go", "main ./cmd/tz-embed", None),
        ("user", "bare", "main ./cmd/user", Some("W0103")),
        ("user-word", "go", "main ./cmd/user", None),
        ("tmp", "bare", "main ./cmd/tmp", Some("W0104")),
        ("tmp-word", "go", "main ./cmd/tmp", None),
        ("mime", "go", "main ./cmd/mime", Some("W0105")),
        ("mime-word", "go", "main ./cmd/mime\n  mime-types", None),
        ("plain", "bare", "main ./cmd/plain", None),
    ];
    let mut file = String::from("template bare extends go {\n  tmp false\n  passwd false\n}\n");
    for (name, template, settings, _) in apps {
        file.push_str(&format!(
            "\napp needs-{name} uses {template} {{\n  {settings}\n}}\n"
        ));
    }
    std::fs::write(dir.path().join("app.scratch"), &file).unwrap();
    // Without -t, each app is loaded as `<app>:latest`.
    let r = build(dir.path(), &[]);
    assert_built(&r);
    for (name, _, _, code) in apps {
        rmi(&format!("needs-{name}:latest"));
        let binary = format!("`/usr/bin/needs-{name}`");
        let said: Vec<&str> = r
            .stderr
            .split("scratch::")
            .skip(1)
            .filter(|d| d.contains(&binary))
            .map(|d| &d[..5])
            .collect();
        assert_eq!(
            said,
            code.iter().copied().collect::<Vec<_>>(),
            "{name}:\n{}",
            r.stderr
        );
    }
}

/// The vertex numbers of the plain progress lines that hold `what`, and
/// whether each is marked CACHED.
fn steps(stderr: &str, what: &str) -> Vec<bool> {
    let ids: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(what))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut ids = ids;
    ids.dedup();
    ids.iter()
        .map(|id| stderr.lines().any(|l| l == format!("{id} CACHED")))
        .collect()
}

/// The app file, its imports and scratch.lock are not part of the
/// context: a label change, or `scratchc lock`, leaves the compile CACHED
/// (and the label is in the new image).
#[test]
fn a_label_change_or_a_lock_leaves_the_compile_cached() {
    require_engine();
    let dir = copy_of("examples/hello");
    let app = dir.path().join("app.scratch");
    let out = tempfile::tempdir().unwrap();
    let oci = |n: &str| format!("type=oci,dest={}", out.path().join(n).display());
    assert_built(&build(dir.path(), &["-o", &oci("first.tar")]));

    let src = std::fs::read_to_string(&app).unwrap();
    let labelled = src.replace(
        "  port 8080",
        "  port 8080\n  label com.example.rebuilt=yes",
    );
    assert_ne!(src, labelled);
    std::fs::write(&app, &labelled).unwrap();
    let r = build(dir.path(), &["-o", &oci("label.tar")]);
    assert_built(&r);
    assert_eq!(
        steps(&r.stderr, "build: go -C . build"),
        [true],
        "{}",
        r.stderr
    );
    let tar = output(
        Command::new("tar")
            .arg("-xOf")
            .arg(out.path().join("label.tar"))
            .arg("--wildcards")
            .arg("blobs/sha256/*"),
    );
    assert!(
        text(&tar.stdout).contains("com.example.rebuilt"),
        "the label is in the config"
    );

    let lock = Scratchc::new()
        .env("DOCKER_HOST", &engine().host)
        .current_dir(dir.path())
        .args(["lock", "app.scratch"])
        .run();
    assert_eq!(lock.code, Some(0), "{}", lock.stderr);
    assert!(dir.path().join("scratch.lock").is_file());
    let r = build(dir.path(), &["-o", &oci("locked.tar")]);
    assert_built(&r);
    assert_eq!(
        steps(&r.stderr, "build: go -C . build"),
        [true],
        "{}",
        r.stderr
    );

    // A source change still rebuilds. A change no run made before: the
    // same bytes from an earlier run of this test are in the daemon's
    // cache, and would rightly be CACHED.
    let main = dir.path().join("main.go");
    let go = std::fs::read_to_string(&main).unwrap();
    let change = uuid::Uuid::new_v4().simple();
    std::fs::write(&main, format!("{go}\n// changed: {change}\n")).unwrap();
    let r = build(dir.path(), &["-o", &oci("changed.tar")]);
    assert_built(&r);
    assert_eq!(
        steps(&r.stderr, "build: go -C . build"),
        [false],
        "{}",
        r.stderr
    );
}
