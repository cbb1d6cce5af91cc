//! `scratchc build` end to end, through the real binary, on the Docker
//! Engine of this machine: images that run, outputs that hold exactly what
//! app.scratch asks for, failures that point at their step, Ctrl-C that
//! cancels on the daemon.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{docker, engine, output, require_engine, scratchc};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of `examples/<name>` in a temp dir, to mutate or build from.
fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    let out = output(
        Command::new("cp")
            .arg("-r")
            .arg(format!("{}/.", src.display()))
            .arg(dir.path()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

/// A unique image name, so parallel tests and engineers do not collide.
fn image_name(prefix: &str) -> String {
    format!("scratchc-test-{prefix}:{}", uuid::Uuid::new_v4().simple())
}

fn build(dir: &Path, extra: &[&str]) -> Output {
    let mut c = scratchc();
    c.arg("build")
        .arg(dir.join("app.scratch"))
        .args(["--progress", "plain"])
        .args(extra);
    output(&mut c)
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "scratchc build failed ({:?}):\n{}",
        out.status,
        text(&out.stderr)
    );
}

/// Unpacks an OCI layout tarball and returns (config JSON, per layer the
/// list of its entries), following index -> manifest -> config/layers.
fn read_oci(tar: &Path) -> (serde_json::Value, Vec<Vec<String>>) {
    let dir = tempfile::tempdir().unwrap();
    let out = output(
        Command::new("tar")
            .arg("-xf")
            .arg(tar)
            .arg("-C")
            .arg(dir.path()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let blob = |digest: &str| -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        dir.path().join("blobs/sha256").join(hex)
    };
    let json = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
    };
    let index = json(dir.path().join("index.json"));
    let mut manifest = json(blob(index["manifests"][0]["digest"].as_str().unwrap()));
    if manifest.get("manifests").is_some() {
        // A nested index (multi-platform): take the first manifest.
        manifest = json(blob(manifest["manifests"][0]["digest"].as_str().unwrap()));
    }
    let config = json(blob(manifest["config"]["digest"].as_str().unwrap()));
    let layers = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let out = output(
                Command::new("tar")
                    .arg("-tzf")
                    .arg(blob(l["digest"].as_str().unwrap())),
            );
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout).lines().map(str::to_string).collect()
        })
        .collect();
    (config, layers)
}

/// The regular files (and symlinks) of a layer listing.
fn files(entries: &[String]) -> BTreeSet<String> {
    entries
        .iter()
        .filter(|e| !e.ends_with('/'))
        .map(|e| e.trim_start_matches("./").to_string())
        .collect()
}

fn docker_rmi(name: &str) {
    let _ = docker().args(["image", "rm", "-f", name]).output();
}

#[test]
fn hello_builds_runs_and_holds_one_file() {
    require_engine();
    let dir = fixture("hello");
    let name = image_name("hello");
    let oci = dir.path().join("hello.oci.tar");
    let out = build(
        dir.path(),
        &[
            "-t",
            &name,
            "--output",
            &format!("type=oci,dest={}", oci.display()),
        ],
    );
    assert_ok(&out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("#1 "), "plain progress expected:\n{stderr}");
    assert!(stderr.contains("exporting"), "{stderr}");

    // The image answers.
    let ran = output(docker().args(["run", "--rm", &name, "-version"]));
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    assert_eq!(text(&ran.stdout).trim(), "dev");

    // Its config is the app's.
    let inspect =
        output(docker().args(["image", "inspect", &name, "--format", "{{json .Config}}"]));
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let cfg: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["/usr/bin/hello"]));
    assert_eq!(cfg["User"], "65532:65532");
    assert!(cfg["ExposedPorts"].get("8080/tcp").is_some(), "{cfg}");

    // The OCI tarball: one layer; the binary and the go template's
    // passwd and group files (and /tmp and the home, directories).
    let (config, layers) = read_oci(&oci);
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/usr/bin/hello"])
    );
    assert_eq!(layers.len(), 1, "{layers:?}");
    assert_eq!(
        files(&layers[0]),
        BTreeSet::from(["usr/bin/hello", "etc/passwd", "etc/group"].map(str::to_string))
    );
    for dir in ["tmp/", "home/nonroot/"] {
        assert!(
            layers[0].iter().any(|e| e.trim_start_matches("./") == dir),
            "{dir}"
        );
    }
    docker_rmi(&name);
}

#[test]
fn server_image_has_binary_certs_and_mime_types_only() {
    require_engine();
    let dir = fixture("server");
    let oci = dir.path().join("server.oci.tar");
    let out = build(
        dir.path(),
        &[
            "--platform",
            "linux/amd64",
            "--output",
            &format!("type=oci,dest={}", oci.display()),
        ],
    );
    assert_ok(&out);
    let (config, layers) = read_oci(&oci);
    assert_eq!(layers.len(), 1, "{layers:?}");
    let got = files(&layers[0]);
    assert!(got.contains("usr/bin/server"), "{got:?}");
    assert!(
        got.iter().any(|f| f.starts_with("etc/ssl/certs/")),
        "{got:?}"
    );
    assert!(got.contains("etc/mime.types"), "{got:?}");
    assert!(
        got.contains("etc/passwd") && got.contains("etc/group"),
        "{got:?}"
    );
    assert_eq!(got.len(), 5, "nothing else: {got:?}");
    assert_eq!(config["config"]["User"], "1000:1000");
    assert_eq!(config["config"]["WorkingDir"], "/var/lib/server");
    assert_eq!(config["architecture"], "amd64");
}

#[test]
fn docker_tarball_and_local_outputs() {
    require_engine();
    let dir = fixture("hello");
    // Outside the context: a directory output inside it is refused.
    let outs = tempfile::tempdir().unwrap();
    let tar = outs.path().join("hello.docker.tar");
    let local = outs.path().join("rootfs");
    // An existing directory is merged into, never replaced.
    std::fs::create_dir_all(local.join("usr/bin")).unwrap();
    std::fs::write(local.join("keep.txt"), "mine").unwrap();
    std::fs::write(local.join("usr/bin/hello"), "an old build").unwrap();
    let out = build(
        dir.path(),
        &[
            "--output",
            &format!("type=docker,dest={}", tar.display()),
            "--output",
            &format!("type=local,dest={}", local.display()),
        ],
    );
    assert_ok(&out);
    let list = output(Command::new("tar").arg("-tf").arg(&tar));
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert!(
        text(&list.stdout).lines().any(|l| l == "manifest.json"),
        "{}",
        text(&list.stdout)
    );
    let bin = local.join("usr/bin/hello");
    let meta = std::fs::metadata(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o111, 0o111, "executable");
    let ran = output(Command::new(&bin).arg("-version"));
    assert_eq!(text(&ran.stdout).trim(), "dev");
    assert_eq!(
        std::fs::read_to_string(local.join("keep.txt")).unwrap(),
        "mine"
    );
    let names: Vec<_> = std::fs::read_dir(outs.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "no staging left beside: {names:?}");
}

/// The data loss of issue 10: `-o` naming the context or a directory that
/// holds it is refused before anything runs, and the tree is untouched;
/// so is a directory inside the context that `.dockerignore` does not
/// exclude.
#[test]
fn an_output_over_the_context_is_refused_and_touches_nothing() {
    let dir = fixture("hello");
    let proj = dir.path();
    std::fs::create_dir(proj.join(".git")).unwrap();
    std::fs::write(proj.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let before = listing(proj);
    for dest in [
        proj.to_path_buf(),
        proj.join("..").join(proj.file_name().unwrap()),
        proj.join(".."),
        proj.join("out"),
    ] {
        for flag in [
            dest.display().to_string(),
            format!("type=local,dest={}", dest.display()),
        ] {
            let out = scratchc()
                .current_dir(proj)
                .args(["build", "app.scratch", "--progress", "plain", "-o"])
                .arg(&flag)
                .output()
                .unwrap();
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "-o {flag}: {err}");
            assert!(err.contains("build context"), "-o {flag}: {err}");
            assert!(err.contains("help:"), "-o {flag}: {err}");
            assert!(!err.contains("#1 "), "nothing ran: {err}");
            assert_eq!(listing(proj), before, "-o {flag} touched the tree");
        }
    }
    // The same place through .dockerignore is not part of the context.
    std::fs::write(proj.join(".dockerignore"), "out\n").unwrap();
    require_engine();
    let out = build(proj, &["-o", &proj.join("out").display().to_string()]);
    assert_ok(&out);
    assert!(proj.join("out/usr/bin/hello").is_file());
}

/// Every path below `dir` with its size, for before/after comparisons.
fn listing(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.push((p, m.len()));
        }
    }
    out.sort();
    out
}

#[test]
fn failing_step_shows_its_logs_and_line_and_leaves_no_output() {
    require_engine();
    let dir = fixture("hello");
    let main = dir.path().join("main.go");
    let src = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        src.replace("func main() {", "func main() {\n\tthis is not go"),
    )
    .unwrap();
    let oci = dir.path().join("out.tar");
    let out = build(
        dir.path(),
        &["--output", &format!("type=oci,dest={}", oci.display())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ERROR: process"), "{stderr}");
    assert!(stderr.contains("syntax error"), "the step's logs: {stderr}");
    assert!(stderr.contains("failed:"), "{stderr}");
    // The error sits on the app's line of app.scratch; the stdlib template
    // line that expands to the step follows as a note, not as the error.
    let (error, note) = stderr
        .split_once("the step is defined by this template line")
        .unwrap_or_else(|| panic!("no template note:\n{stderr}"));
    let error = &error[error
        .find("× step `[hello linux/amd64] build: go -C . build")
        .unwrap_or_else(|| panic!("no step error:\n{stderr}"))..];
    // The file is named as on the command line.
    let file = dir.path().join("app.scratch");
    let app_line = line_of(&std::fs::read_to_string(&file).unwrap(), "app hello {");
    assert!(
        error.contains(&format!("[{}:{app_line}:1]", file.display())),
        "the error is not on {}:{app_line}:\n{stderr}",
        file.display()
    );
    assert_eq!(
        labelled_line(error, "this step failed"),
        Some(app_line),
        "{stderr}"
    );
    assert!(!error.contains("go.scratch"), "{stderr}");
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib/go.scratch"))
            .unwrap();
    let build_line = line_of(&template, "build-run go -C");
    assert!(
        note.contains(&format!("[<stdlib>/go.scratch:{build_line}:3]")),
        "the note is not on the template's build-run line:\n{stderr}"
    );
    assert_eq!(
        labelled_line(note, "expands to the failing step"),
        Some(build_line),
        "{stderr}"
    );
    assert!(!note.contains("this step failed"), "{stderr}");
    assert!(!oci.exists(), "a failed build leaves no output");
}

/// The 1-based line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in:\n{text}"))
        + 1
}

/// In a rendered diagnostic, the first source line of the span `label`
/// marks: the last line shown above it (miette prints a label under the
/// line it marks), or, for a span over several lines (a statement with a
/// continuation), the line where miette opens it with `╭`.
fn labelled_line(report: &str, label: &str) -> Option<usize> {
    let (mut last, mut opened) = (None, None);
    for l in report.lines() {
        if l.contains(label) {
            return opened.or(last);
        }
        if let Some((n, rest)) = l.split_once(" │ ")
            && let Ok(n) = n.trim().parse()
        {
            last = Some(n);
            if rest.trim_start().starts_with('╭') {
                opened = Some(n);
            }
        }
    }
    None
}

#[test]
fn unreachable_daemon_is_named() {
    let out = output(
        scratchc()
            .arg("build")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello/app.scratch"))
            .args(["--addr", "tcp://127.0.0.1:1"]),
    );
    // A daemon failure (docs/client.md, "Exit codes").
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
}

#[test]
fn sigint_cancels_the_build_on_the_daemon() {
    require_engine();
    let dir = fixture("hello");
    let marker = format!("cancelme{}", uuid::Uuid::new_v4().simple());
    std::fs::write(
        dir.path().join("app.scratch"),
        format!("app hello uses go {{\n  ldflags \"-X main.version={marker}\"\n  port 8080\n}}\n"),
    )
    .unwrap();
    let outs = tempfile::tempdir().unwrap();
    // Make the compile slow enough to interrupt: a fresh build (no cache).
    let mut child = scratchc()
        .arg("build")
        .arg(dir.path().join("app.scratch"))
        .args(["--progress", "plain", "--no-cache", "--output"])
        .arg(format!(
            "type=local,dest={}",
            outs.path().join("out").display()
        ))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = String::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no build step started:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("build: go -C . build") {
            break;
        }
        assert!(Instant::now() < deadline, "{seen}");
    }
    // The compile is running on the daemon now.
    std::thread::sleep(Duration::from_millis(1500));
    let running = || {
        let out = output(Command::new("pgrep").args(["-f", &marker]));
        !text(&out.stdout).trim().is_empty()
    };
    let was_running = running();
    let kill = output(Command::new("kill").args(["-INT", &child.id().to_string()]));
    assert!(kill.status.success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "scratchc did not exit after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    // The daemon cancels the job: the compile processes go away.
    let t1 = Instant::now();
    while running() {
        assert!(
            t1.elapsed() < Duration::from_secs(20),
            "the build kept running on the daemon (was running before: {was_running})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let left: Vec<_> = std::fs::read_dir(outs.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "no output, no staging after a cancelled build: {left:?}"
    );
}

/// The dependency step (`go mod download` on go.mod and go.sum) runs only
/// when the context has both files: hello has no go.sum (no dependencies),
/// so its build starts straight from the builder image; with a go.sum the
/// step is back, and the image is the same.
#[test]
fn dependency_step_runs_only_when_its_files_are_there() {
    require_engine();
    let dir = fixture("hello");
    // `hello: oci PATH -> index sha256:...` (an index: the SBOM rides
    // along), or `-> manifest sha256:..., config sha256:...`.
    let digest = |out: &Output| {
        let s = text(&out.stderr);
        s.lines()
            .find_map(|l| {
                l.strip_prefix("hello: oci ")
                    .and_then(|r| r.split_once(" -> "))
                    .and_then(|(_, r)| r.split_whitespace().nth(1))
                    .map(|d| d.trim_end_matches(',').to_string())
            })
            .unwrap_or_else(|| panic!("no digest line: {s}"))
    };
    let oci = |n: &str| format!("type=oci,dest={}", dir.path().join(n).display());
    let without = build(dir.path(), &["--output", &oci("a.tar")]);
    assert_ok(&without);
    let log = text(&without.stderr);
    assert!(!log.contains("deps: go -C . mod download"), "{log}");
    assert!(!log.contains("context: go.mod go.sum"), "{log}");

    std::fs::write(dir.path().join("go.sum"), "").unwrap();
    let with = build(dir.path(), &["--output", &oci("b.tar")]);
    assert_ok(&with);
    let log = text(&with.stderr);
    assert!(log.contains("deps: go -C . mod download"), "{log}");
    assert_eq!(digest(&without), digest(&with), "the same image");
}

/// Through a real terminal (a pty from util-linux `script`), progress is the
/// live view: redrawn frames (cursor up, erase line), one row per step,
/// and a last frame with every step done.
#[test]
fn a_terminal_gets_the_live_view() {
    require_engine();
    let dir = fixture("hello");
    let outs = tempfile::tempdir().unwrap();
    let dest = outs.path().join("out");
    let cmd = format!(
        "{} build {} --no-cache --output type=local,dest={}",
        env!("CARGO_BIN_EXE_scratchc"),
        dir.path().join("app.scratch").display(),
        dest.display()
    );
    let out = output(
        Command::new("script")
            .args(["--quiet", "--return", "--command", &cmd, "/dev/null"])
            .env("DOCKER_HOST", &engine().host)
            .env_remove("BUILDKIT_HOST")
            .env("COLUMNS", "120"),
    );
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen}{}", text(&out.stderr));
    assert!(dest.join("usr/bin/hello").is_file(), "{screen}");
    assert!(!screen.contains("#1 "), "not the plain form: {screen}");
    assert!(
        screen.contains("\x1b[2K"),
        "rows are erased and redrawn: {screen:?}"
    );
    let redraws = screen.matches("A\r").count();
    assert!(redraws >= 1, "frames drawn over each other: {screen:?}");
    assert!(screen.contains(" => "), "{screen}");
    assert!(screen.contains("build: go -C . build"), "{screen}");
    // The last frame lists the steps in build order: the compile above
    // the image step made from its output.
    let frame = screen.rsplit("[+] Building ").next().unwrap();
    let row = |needle: &str| {
        frame
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` row: {frame}"))
    };
    assert!(
        row("build: go -C . build") < row("] image: /usr/bin/hello"),
        "{frame}"
    );
    // The last frame counts every step as done.
    let last = screen
        .rsplit("[+] Building ")
        .next()
        .and_then(|f| f.split_once('(')?.1.split_once(')'))
        .map(|(counts, _)| counts.to_string())
        .unwrap_or_else(|| panic!("no frame: {screen:?}"));
    let (done, total) = last.split_once('/').unwrap();
    assert_eq!(done, total, "{screen}");
}
