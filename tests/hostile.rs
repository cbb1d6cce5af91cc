//! Hostile input, through the real binary: files that escape the root,
//! devices and FIFOs, huge files and lines, deep nesting, control
//! characters, long template chains, writes that fail, addresses that are
//! wrong or never answer. Each test is named after what it proves;
//! docs/security.md lists the guarantees and the tests that hold them.
//! None needs a daemon (the daemon cases are in `tests/daemon/`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod shapes;

mod common;

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A line a test plants in a "host" file outside the app's directory: it
/// must never appear in any output.
const SECRET: &str = "HOST-SECRET-root:$6$never-printed";

/// One run of `scratchc`: arguments, directory, environment, and the
/// longest it may take (a hang fails the test, the child is killed).
struct Run {
    args: Vec<String>,
    dir: Option<PathBuf>,
    env: Vec<(String, String)>,
    limit: Duration,
}

/// What a run gave.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Out {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Refused: exit code 1 in every verb (an input failure), with `code`
    /// in stderr, no panic, and the planted secret nowhere.
    fn refused_with(&self, code: &str) -> &Self {
        assert_eq!(self.code, 1, "{}", self.all());
        assert!(
            self.stderr.contains(code),
            "{code} missing: {}",
            self.stderr
        );
        self.clean()
    }

    /// No panic, no secret, no raw control character in the output.
    fn clean(&self) -> &Self {
        let all = self.all();
        assert_ne!(self.code, 101, "panicked: {all}");
        assert!(!all.contains("panicked"), "{all}");
        assert!(!all.contains(SECRET), "a host file was printed: {all}");
        assert!(
            !all.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "raw control character in the output: {all:?}"
        );
        self
    }
}

fn scratchc<S: AsRef<str>>(args: &[S]) -> Run {
    Run {
        args: args.iter().map(|a| a.as_ref().to_string()).collect(),
        dir: None,
        env: Vec::new(),
        limit: Duration::from_secs(60),
    }
}

impl Run {
    fn dir(mut self, d: &Path) -> Self {
        self.dir = Some(d.to_path_buf());
        self
    }

    fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    fn within(mut self, secs: u64) -> Self {
        self.limit = Duration::from_secs(secs);
        self
    }

    fn run(self) -> Out {
        let mut cmd = common::command();
        cmd.args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        let start = Instant::now();
        let mut child = cmd.spawn().unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let o = std::thread::spawn(move || {
            let mut s = Vec::new();
            out.read_to_end(&mut s).unwrap();
            s
        });
        let e = std::thread::spawn(move || {
            let mut s = Vec::new();
            err.read_to_end(&mut s).unwrap();
            s
        });
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > self.limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "scratchc {:?} still running after {:?}",
                    self.args, self.limit
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Out {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.join().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&e.join().unwrap()).into_owned(),
            took: start.elapsed(),
        }
    }
}

/// A temporary app directory and, beside it, a "host" directory holding a
/// file with the secret line.
struct World {
    _tmp: tempfile::TempDir,
    app: PathBuf,
    host_file: PathBuf,
}

fn world(app_text: &str) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("proj");
    let host = tmp.path().join("host");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::create_dir_all(&host).unwrap();
    let host_file = host.join("shadow");
    std::fs::write(&host_file, format!("{SECRET}\nsecond line\n")).unwrap();
    std::fs::write(app.join("app.scratch"), app_text).unwrap();
    World {
        _tmp: tmp,
        app,
        host_file,
    }
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

const MINIMAL: &str = "app a {\n}\n";

// ---- reads: inside the root, regular files, bounded ----

#[test]
fn an_import_symlinked_to_a_host_file_is_refused_and_never_printed() {
    let w = world("import \"abs.scratch\"\nimport \"rel.scratch\"\napp a {\n}\n");
    symlink(&w.host_file, &w.app.join("abs.scratch"));
    symlink(Path::new("../host/shadow"), &w.app.join("rel.scratch"));
    for verb in ["check", "llb", "dockerfile"] {
        let out = scratchc(&[verb, "app.scratch"]).dir(&w.app).run();
        out.refused_with("scratch::E0400");
        assert!(
            out.stderr.contains("resolves outside the build context"),
            "{verb}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_root_file_symlinked_out_of_its_directory_is_refused() {
    let w = world(MINIMAL);
    symlink(&w.host_file, &w.app.join("evil.scratch"));
    for verb in ["check", "fmt", "llb", "dockerfile"] {
        scratchc(&[verb, "evil.scratch"])
            .dir(&w.app)
            .run()
            .refused_with("scratch::E0400");
    }
    // A symlink that stays inside is followed.
    std::fs::create_dir(w.app.join("sub")).unwrap();
    std::fs::write(w.app.join("sub/real.scratch"), MINIMAL).unwrap();
    symlink(Path::new("sub/real.scratch"), &w.app.join("ok.scratch"));
    let out = scratchc(&["check", "ok.scratch"]).dir(&w.app).run();
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn check_of_dev_zero_fails_at_once() {
    let out = scratchc(&["check", "/dev/zero"]).within(10).run();
    out.refused_with("scratch::E0408");
    assert!(out.stderr.contains("character device"), "{}", out.stderr);
}

#[test]
fn devices_fifos_sockets_and_directories_are_refused_without_blocking() {
    let w = world(
        "import \"zero.scratch\"\nimport \"fifo.scratch\"\nimport \"sock.scratch\"\nimport \"dir.scratch\"\napp a {\n}\n",
    );
    symlink(Path::new("/dev/zero"), &w.app.join("zero.scratch"));
    mkfifo(&w.app.join("fifo.scratch"));
    let _sock = std::os::unix::net::UnixListener::bind(w.app.join("sock.scratch")).unwrap();
    std::fs::create_dir(w.app.join("dir.scratch")).unwrap();
    let out = scratchc(&["check", "app.scratch"])
        .dir(&w.app)
        .within(10)
        .run();
    out.refused_with("scratch::E0408");
    // /dev/zero is outside the root: refused before its type is looked at.
    assert!(
        out.stderr.contains("`zero.scratch` resolves outside"),
        "{}",
        out.stderr
    );
    for what in ["a FIFO", "a socket", "a directory"] {
        assert!(out.stderr.contains(what), "{what}: {}", out.stderr);
    }
    // The root file itself.
    mkfifo(&w.app.join("root-fifo.scratch"));
    scratchc(&["check", "root-fifo.scratch"])
        .dir(&w.app)
        .within(10)
        .run()
        .refused_with("scratch::E0408");
}

/// A valid template file of about `bytes` bytes (comment lines).
fn big_template(name: &str, bytes: usize) -> String {
    let mut s = format!("template {name} {{\n");
    while s.len() + 40 < bytes {
        s.push_str("  # a comment line to make the file large\n");
    }
    s.push_str("}\n");
    s
}

#[test]
fn a_file_over_1_mib_is_refused_with_its_size() {
    let w = world("import \"big.scratch\"\napp a {\n}\n");
    std::fs::write(w.app.join("big.scratch"), big_template("t", 3 << 19)).unwrap();
    let out = scratchc(&["check", "app.scratch"]).dir(&w.app).run();
    out.refused_with("scratch::E0406");
    assert!(out.stderr.contains("(1.5 MiB)"), "{}", out.stderr);
    let out = scratchc(&["check", "big.scratch"]).dir(&w.app).run();
    out.refused_with("scratch::E0406");
    assert!(out.stderr.contains("larger than 1.0 MiB"), "{}", out.stderr);
}

#[test]
fn sources_over_2_mib_together_are_refused() {
    let w = world("import \"a.scratch\"\nimport \"b.scratch\"\nimport \"c.scratch\"\napp x {\n}\n");
    for n in ["a", "b", "c"] {
        std::fs::write(
            w.app.join(format!("{n}.scratch")),
            big_template(n, 900 << 10),
        )
        .unwrap();
    }
    let out = scratchc(&["check", "app.scratch"]).dir(&w.app).run();
    out.refused_with("scratch::E0407");
    assert!(out.stderr.contains("`c.scratch`"), "{}", out.stderr);
}

#[test]
fn dockerignore_and_lock_are_read_by_the_same_rules() {
    let w = world(MINIMAL);
    mkfifo(&w.app.join(".dockerignore"));
    scratchc(&["llb", "app.scratch"])
        .dir(&w.app)
        .within(10)
        .run()
        .refused_with("scratch::E0408");
    std::fs::remove_file(w.app.join(".dockerignore")).unwrap();
    symlink(&w.host_file, &w.app.join(".dockerignore"));
    scratchc(&["llb", "app.scratch"])
        .dir(&w.app)
        .run()
        .refused_with("scratch::E0400");
    std::fs::remove_file(w.app.join(".dockerignore")).unwrap();
    symlink(&w.host_file, &w.app.join("scratch.lock"));
    scratchc(&["llb", "app.scratch"])
        .dir(&w.app)
        .run()
        .refused_with("scratch::E0400");
    std::fs::remove_file(w.app.join("scratch.lock")).unwrap();
    std::fs::write(w.app.join("scratch.lock"), vec![b' '; (1 << 20) + 1]).unwrap();
    scratchc(&["llb", "app.scratch"])
        .dir(&w.app)
        .run()
        .refused_with("scratch::E0406");
}

// ---- diagnostics: no panic, bounded, escaped ----

#[test]
fn a_column_past_65535_does_not_panic() {
    let text = shapes::long_line(70_000);
    let line2 = text.lines().nth(1).unwrap();
    let col = line2.find('$').unwrap() + 1;
    assert!(col > 65_535);
    let w = world(&text);
    let out = scratchc(&["check", "app.scratch"]).dir(&w.app).run();
    out.refused_with("scratch::E0003");
    assert!(
        out.stderr.contains(&format!("app.scratch:2:{col}]")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.len() < 4000, "{}", out.stderr.len());
}

#[test]
fn fifty_thousand_nested_interpolations_do_not_panic() {
    let w = world(&format!(
        "app a {{\n  label a={}{}\n}}\n",
        "${".repeat(50_000),
        "}".repeat(50_000)
    ));
    let out = scratchc(&["check", "app.scratch"]).dir(&w.app).run();
    assert_eq!(out.code, 1, "{}", out.all());
    out.clean();
    assert!(out.stderr.len() < 4000, "{}", out.stderr.len());
}

#[test]
fn control_characters_in_sources_and_names_are_shown_escaped() {
    let w = world(&shapes::control_chars(400));
    let out = scratchc(&["check", "app.scratch"]).dir(&w.app).run();
    assert_eq!(out.code, 1, "{}", out.all());
    out.clean();
    assert!(out.stderr.contains("\\x1b[31mred\\x07"), "{}", out.stderr);
    assert!(out.stderr.contains("\\u{202e}"), "{}", out.stderr);
    // A file name with an escape in it.
    let name = "bad\u{1b}[2Jname.scratch";
    std::fs::write(w.app.join(name), "app a {\n  prot 80\n}\n").unwrap();
    let out = scratchc(&["check", name]).dir(&w.app).run();
    assert_eq!(out.code, 1, "{}", out.all());
    out.clean();
    assert!(
        out.stderr.contains("bad\\x1b[2Jname.scratch"),
        "{}",
        out.stderr
    );
}

#[test]
fn thousands_of_errors_render_the_first_hundred() {
    let w = world(&shapes::unknown_keys(200_000));
    let out = scratchc(&["check", "app.scratch"]).dir(&w.app).run();
    out.refused_with("scratch::E0100");
    assert_eq!(out.stderr.matches("scratch::E0100").count(), 100);
    assert!(
        out.stderr.contains("more errors (the first 100 are shown"),
        "{}",
        &out.stderr[out.stderr.len() - 300..]
    );
}

#[test]
fn half_a_million_stray_dollars_are_counted_to_the_first_thousand() {
    let w = world(&shapes::stray_dollars(1 << 20));
    let out = scratchc(&["check", "app.scratch"]).dir(&w.app).run();
    out.refused_with("scratch::E0003");
    assert_eq!(out.stderr.matches("scratch::E0003").count(), 100);
    assert!(
        out.stderr.contains(
            "... and at least 900 more errors (the first 100 are shown; the search stops at 1000)"
        ),
        "{}",
        &out.stderr[out.stderr.len() - 300..]
    );
    assert!(
        out.stderr.ends_with("app.scratch: at least 1000 errors\n"),
        "{}",
        &out.stderr[out.stderr.len() - 300..]
    );
}

// ---- checks: linear in the size of the file ----

#[test]
fn a_chain_of_10000_templates_is_refused_once_past_16() {
    let w = world(&shapes::template_chain(330_000));
    assert!(w.app.join("app.scratch").metadata().unwrap().len() > 300_000);
    let out = scratchc(&["check", "app.scratch"])
        .dir(&w.app)
        .within(30)
        .run();
    out.refused_with("scratch::E0206");
    assert_eq!(
        out.stderr.matches("scratch::E0206").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn a_list_of_100000_volumes_checks() {
    let text = shapes::volume_list((1 << 20) - 64);
    assert!(text.matches(" /v").count() > 100_000);
    let w = world(&text);
    let out = scratchc(&["check", "app.scratch"])
        .dir(&w.app)
        .within(30)
        .run();
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn every_hostile_shape_of_1_mib_is_answered_without_panic() {
    for shape in shapes::SHAPES {
        let w = world(&(shape.make)((1 << 20) - 64));
        let out = scratchc(&["check", "app.scratch"])
            .dir(&w.app)
            .within(30)
            .run();
        assert!(
            out.code == 0 || out.code == 1,
            "{}: {}",
            shape.name,
            out.all()
        );
        out.clean();
        assert!(
            out.stderr.len() < 256 << 10,
            "{}: {} bytes",
            shape.name,
            out.stderr.len()
        );
        eprintln!("{}: exit {} in {:?}", shape.name, out.code, out.took);
    }
}

#[test]
fn a_chain_of_500_imports_loads() {
    let w = world("import \"f0.scratch\"\napp a uses t499 {\n}\n");
    for i in 0..500 {
        let mut t = String::new();
        if i + 1 < 500 {
            t.push_str(&format!("import \"f{}.scratch\"\n", i + 1));
        }
        t.push_str(&format!("template t{i} {{\n}}\n"));
        std::fs::write(w.app.join(format!("f{i}.scratch")), t).unwrap();
    }
    let out = scratchc(&["check", "app.scratch"])
        .dir(&w.app)
        .within(30)
        .run();
    // `t499` extends nothing: it has no builder, which the check says.
    out.refused_with("scratch::E0220");
}

#[test]
fn a_list_parameter_multiplied_past_the_budget_is_refused() {
    let mut text = String::from("template t extends go {\n  param l list");
    for i in 0..60_000 {
        text.push_str(&format!(" item{i}"));
    }
    text.push_str("\n  label");
    for j in 0..100 {
        text.push_str(&format!(" k{j}=${{l}}"));
    }
    text.push_str("\n}\napp a uses t {\n}\n");
    let w = world(&text);
    let out = scratchc(&["check", "app.scratch"])
        .dir(&w.app)
        .within(30)
        .run();
    out.refused_with("scratch::E0132");
}

#[test]
fn a_definition_over_the_daemon_message_limit_is_refused_with_its_size() {
    let mut text = String::from("template t extends go {\n  param l list");
    for i in 0..20_000 {
        text.push_str(&format!(" i{i}"));
    }
    text.push_str("\n  build-run go build");
    for _ in 0..40 {
        text.push_str(" ${l}");
    }
    text.push_str("\n}\napp a uses t {\n}\n");
    let w = world(&text);
    let out = scratchc(&["llb", "app.scratch"])
        .dir(&w.app)
        .within(60)
        .run();
    out.refused_with("scratch::E0409");
    assert!(
        out.stderr.contains("MiB, more than the 3.9 MiB"),
        "{}",
        out.stderr
    );
}

// ---- writes: nothing half-written, nothing left behind ----

/// Makes `dir` unwritable, for root too (`chattr +i`; plain permissions
/// do not stop root). Undone when the guard drops.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn new(dir: &Path) -> ReadOnly {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false);
        if root {
            assert!(
                Command::new("chattr")
                    .arg("+i")
                    .arg(dir)
                    .status()
                    .unwrap()
                    .success(),
                "chattr +i {dir:?}"
            );
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        assert!(
            std::fs::write(dir.join("probe"), "x").is_err(),
            "{dir:?} is still writable"
        );
        ReadOnly(dir.to_path_buf())
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const MESSY: &str = "app   a {\n      port    80\n}\n";

#[test]
fn fmt_into_a_read_only_directory_fails_and_leaves_nothing() {
    let w = world(MESSY);
    let before = names(&w.app);
    let guard = ReadOnly::new(&w.app);
    let out = scratchc(&["fmt", "app.scratch"]).dir(&w.app).run();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("cannot write app.scratch"),
        "{}",
        out.stderr
    );
    drop(guard);
    assert_eq!(names(&w.app), before);
    assert_eq!(
        std::fs::read_to_string(w.app.join("app.scratch")).unwrap(),
        MESSY
    );
}

/// A full destination: a 64 KiB tmpfs, nearly filled (needs root, as the
/// CI has).
#[test]
fn fmt_on_a_full_filesystem_fails_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mounting a tmpfs needs root");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _u = Unmount(mnt.clone());
    // A messy file (formatting shrinks it by half), then filler to the brim.
    let mut messy = String::from("app   a {\n");
    while messy.len() < 16 << 10 {
        messy.push_str("      env    K=v\n");
    }
    messy.push_str("}\n");
    std::fs::write(mnt.join("app.scratch"), &messy).unwrap();
    let mut filler = std::fs::File::create(mnt.join("filler")).unwrap();
    let _ = std::io::Write::write_all(&mut filler, &vec![0u8; 1 << 20]);
    drop(filler);
    let out = scratchc(&["fmt", "app.scratch"]).dir(&mnt).run();
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(names(&mnt), ["app.scratch", "filler"]);
    assert_eq!(
        std::fs::read_to_string(mnt.join("app.scratch")).unwrap(),
        messy
    );
}

#[test]
fn fmt_rewrites_the_file_a_symlink_points_to_and_keeps_the_link() {
    let w = world(MESSY);
    symlink(Path::new("app.scratch"), &w.app.join("link.scratch"));
    let out = scratchc(&["fmt", "link.scratch"]).dir(&w.app).run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        w.app
            .join("link.scratch")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(w.app.join("app.scratch")).unwrap(),
        "app a {\n  port 80\n}\n"
    );
    assert_eq!(names(&w.app), ["app.scratch", "link.scratch"]);
}

// ---- the daemon's address ----

#[test]
fn an_empty_or_malformed_address_is_refused() {
    let w = world(MINIMAL);
    for addr in [
        "",
        "tcp://[::1",
        "tcp://[::1]",
        "tcp://host:0",
        "tcp://::1:1234",
    ] {
        let out = scratchc(&["build", "--addr", addr, "app.scratch"])
            .dir(&w.app)
            .within(30)
            .run();
        assert_ne!(out.code, 0, "{addr}: {}", out.all());
        out.clean();
        assert!(
            out.stderr.contains("invalid BuildKit address"),
            "{addr}: {}",
            out.stderr
        );
    }
}

/// A listener that accepts and never speaks (nor closes): the build
/// fails within the connect timeout, naming the address.
#[test]
fn a_daemon_that_never_answers_times_out_naming_the_address() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let w = world(MINIMAL);
    for scheme in ["tcp", "docker+tcp"] {
        let addr = format!("{scheme}://127.0.0.1:{port}");
        let out = scratchc(&["build", "--addr", &addr, "app.scratch"])
            .dir(&w.app)
            .env("SCRATCHC_CONNECT_TIMEOUT", "2")
            .within(30)
            .run();
        // A daemon failure (docs/client.md, "Exit codes").
        assert_eq!(out.code, 3, "{}", out.all());
        out.clean();
        assert!(
            out.stderr.contains(&format!("tcp://127.0.0.1:{port}")),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("SCRATCHC_CONNECT_TIMEOUT"),
            "{}",
            out.stderr
        );
        assert!(out.took < Duration::from_secs(15), "{:?}", out.took);
    }
}

// ---- the fuzz seeds ----

/// The seeds of the fuzz target (`fuzz/seeds/compile/`) are the hostile
/// shapes at 4 KiB (libFuzzer's default input size): written here when
/// `SCRATCH_WRITE_SEEDS=1`, otherwise checked to be current; and each
/// seed is run through what the fuzz target runs (a plain test stands in
/// for cargo-fuzz in CI).
#[test]
fn fuzz_seeds_are_the_shapes_and_do_not_panic() {
    use scratchc::compiler::{self, Options, Sources, fmt};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/compile");
    let write = std::env::var("SCRATCH_WRITE_SEEDS").is_ok_and(|v| v == "1");
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for shape in shapes::SHAPES {
        let path = dir.join(format!("hostile-{}.scratch", shape.name));
        let text = (shape.make)(4096);
        if write {
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            text,
            "{} is stale: run with SCRATCH_WRITE_SEEDS=1",
            path.display()
        );
    }
    for e in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        // The fuzz target's body (fuzz/fuzz_targets/compile.rs).
        assert_eq!(
            compiler::syntax::parse(0, &text),
            compiler::syntax::parse_reference(0, &text),
            "the parser and pest differ"
        );
        let sources = Sources::new("app.scratch", text.as_str());
        let _ = compiler::check::pending_imports(&sources);
        if let Err(d) = compiler::compile(&sources, &Options::default(), &Default::default(), None)
        {
            let _ = compiler::render_plain(&d, &sources);
        }
        if let Ok(once) = fmt::format_source(&text) {
            assert_eq!(fmt::format_source(&once).unwrap(), once);
        }
    }
}
