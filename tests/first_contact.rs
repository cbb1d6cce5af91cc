//! The first minutes with scratchc, through the real binary (issue 15):
//! `scratchc init` on a Go module, FILE meaning the same in every verb
//! (`-` for the standard input), `--build-arg NAME` from the environment,
//! `--version`, the manual pages (rendered by man), and the completion
//! scripts run by a real bash. No daemon needed.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Scratchc;

fn write(dir: &Path, name: &str, data: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

/// A Go module with two programs, a library they share, a vendored
/// dependency, and what `go build ./...` never looks at.
fn shop() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "go.mod", "module example.com/shop\n\ngo 1.22\n");
    write(
        d,
        "cmd/api/main.go",
        "package main\n\nimport (\n\t\"example.com/shop/internal/web\"\n)\n\nfunc main() { web.Serve() }\n",
    );
    write(
        d,
        "internal/web/web.go",
        "package web\n\nimport (\n\t\"net/http\"\n\t\"time\"\n)\n\nfunc Serve() {\n\t_, _ = time.LoadLocation(\"Europe/Berlin\")\n\thttp.Handle(\"/\", http.FileServer(http.Dir(\"static\")))\n}\n",
    );
    write(
        d,
        "cmd/worker/main.go",
        "package main\n\nimport \"os\"\n\nfunc main() { f, _ := os.CreateTemp(\"\", \"w\"); _ = f }\n",
    );
    write(
        d,
        "cmd/worker/gen.go",
        "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
    );
    // Never apps: vendored code, test data, hidden and underscore
    // directories, another module, a Windows-only main, a test file.
    write(
        d,
        "vendor/example.org/x/main.go",
        "package main\nfunc main() {}\n",
    );
    write(d, "testdata/prog/main.go", "package main\nfunc main() {}\n");
    write(d, ".git/hooks/main.go", "package main\nfunc main() {}\n");
    write(d, "_old/main.go", "package main\nfunc main() {}\n");
    write(d, "tools/go.mod", "module example.com/tools\n");
    write(d, "tools/main.go", "package main\nfunc main() {}\n");
    write(d, "win/main_windows.go", "package main\nfunc main() {}\n");
    write(d, "lib/lib_test.go", "package main\nfunc main() {}\n");
    dir
}

#[test]
fn init_writes_one_app_per_main_package_that_checks() {
    let dir = shop();
    let r = Scratchc::new().arg("init").arg(dir.path()).expect(0);
    assert!(
        r.stderr
            .contains("2 apps: api (./cmd/api), worker (./cmd/worker)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("scratchc build"), "{}", r.stderr);
    let text = std::fs::read_to_string(dir.path().join("app.scratch")).unwrap();
    assert!(
        text.starts_with("# syntax=scratchc/frontend:0.1\n"),
        "{text}"
    );
    assert!(text.contains("docs/language.md"), "{text}");
    assert!(text.contains("app api {\n  main ./cmd/api\n"), "{text}");
    assert!(
        text.contains("app worker {\n  main ./cmd/worker\n"),
        "{text}"
    );
    // net/http in the library the api imports: certs; its file server:
    // the MIME table. Needs with no statement yet are named in comments.
    let api = text.split("app worker").next().unwrap();
    assert!(api.contains("\n  certs\n"), "{api}");
    assert!(api.contains("\n  mime-types\n"), "{api}");
    assert!(
        api.contains("time.LoadLocation (internal/web/web.go:9)"),
        "{api}"
    );
    assert!(api.contains("\n  tzdata\n"), "{api}");
    let worker = text.split("app worker").nth(1).unwrap();
    assert!(!worker.contains("certs"), "{worker}");
    // The go template's image has /tmp already: a comment says so.
    assert!(
        worker.contains("os.CreateTemp (cmd/worker/main.go:5): the image has tmp by default"),
        "{worker}"
    );
    assert!(!worker.contains("\n  tmp\n"), "{worker}");
    for not in ["vendor", "testdata", "hooks", "_old", "tools", "win", "lib"] {
        assert!(!text.contains(&format!("app {not}")), "{not}: {text}");
    }
    // The file checks, is formatted, and is what --print shows.
    let r = Scratchc::new().arg("check").arg(dir.path()).expect(0);
    assert!(r.stdout.contains("ok (api, worker)"), "{}", r.stdout);
    Scratchc::new()
        .args(["fmt", "--check"])
        .arg(dir.path())
        .expect(0);
    std::fs::rename(dir.path().join("app.scratch"), dir.path().join("first")).unwrap();
    let r = Scratchc::new()
        .args(["init", "--print"])
        .arg(dir.path())
        .expect(0);
    assert_eq!(r.stdout, text);
    assert!(
        !dir.path().join("app.scratch").exists(),
        "--print writes nothing"
    );
}

#[test]
fn init_never_overwrites_and_explains_what_it_cannot_do() {
    let dir = shop();
    let app = write(dir.path(), "app.scratch", "# mine\napp x {\n}\n");
    let r = Scratchc::new()
        .arg("init")
        .current_dir(dir.path())
        .expect(1);
    assert!(r.stderr.contains("never overwrites"), "{}", r.stderr);
    assert!(r.stderr.contains("--print"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&app).unwrap(),
        "# mine\napp x {\n}\n"
    );

    // A subdirectory of a module: the root is named.
    let r = Scratchc::new()
        .arg("init")
        .arg(dir.path().join("cmd"))
        .expect(1);
    assert!(r.stderr.contains("has no go.mod"), "{}", r.stderr);
    let root = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        r.stderr
            .contains(&format!("scratchc init {}", root.display())),
        "{}",
        r.stderr
    );

    // No module at all; a module with no program; a broken go.mod.
    let empty = tempfile::tempdir().unwrap();
    let r = Scratchc::new().arg("init").arg(empty.path()).expect(1);
    assert!(r.stderr.contains("go mod init"), "{}", r.stderr);
    write(empty.path(), "go.mod", "module example.com/lib\n");
    write(empty.path(), "lib.go", "package lib\n");
    let r = Scratchc::new().arg("init").arg(empty.path()).expect(1);
    assert!(
        r.stderr
            .contains("no main package in the Go module example.com/lib"),
        "{}",
        r.stderr
    );
    write(empty.path(), "go.mod", "go 1.22\n");
    let r = Scratchc::new().arg("init").arg(empty.path()).expect(1);
    assert!(r.stderr.contains("no `module` path"), "{}", r.stderr);
    let r = Scratchc::new()
        .arg("init")
        .arg(empty.path().join("nope"))
        .expect(1);
    assert!(r.stderr.contains("cannot read"), "{}", r.stderr);
    let left: Vec<_> = std::fs::read_dir(empty.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "nothing written: {left:?}");
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn a_module_without_an_app_file_points_at_init_in_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go.mod", "module example.com/hello\n");
    for verb in [
        "build",
        "check",
        "llb",
        "dockerfile",
        "k8s",
        "compose",
        "lock",
        "verify",
        "fmt",
    ] {
        let r = Scratchc::new()
            .arg(verb)
            .args(if matches!(verb, "build" | "lock" | "verify") {
                &["--addr", "unix:///nonexistent/x.sock"][..]
            } else {
                &[][..]
            })
            .current_dir(dir.path())
            .expect(1);
        assert!(
            r.stderr.contains("run `scratchc init`"),
            "{verb}: {}",
            r.stderr
        );
    }
    // Without go.mod: where to read about FILE and the language.
    std::fs::remove_file(dir.path().join("go.mod")).unwrap();
    let r = Scratchc::new()
        .arg("check")
        .current_dir(dir.path())
        .expect(1);
    assert!(r.stderr.contains("cannot read app.scratch"), "{}", r.stderr);
    assert!(r.stderr.contains("docs/language.md"), "{}", r.stderr);
}

const HELLO: &str = "app hello {\n  build-arg VERSION=dev\n  label v=${VERSION}\n}\n";

#[test]
fn stdin_is_a_file_in_the_current_directory_for_the_offline_verbs() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.scratch",
        "template acme extends go {\n  label team=acme\n}\n",
    );
    let text = "import \"./t.scratch\"\napp hello uses acme {\n}\n";
    let r = Scratchc::new()
        .args(["check", "-"])
        .stdin(text)
        .current_dir(dir.path())
        .expect(0);
    assert_eq!(r.stdout, "<stdin>: ok (hello)\n");
    let r = Scratchc::new()
        .args(["dockerfile", "-"])
        .stdin(text)
        .current_dir(dir.path())
        .expect(0);
    assert!(r.stdout.contains("LABEL \"team\"=\"acme\""), "{}", r.stdout);
    let r = Scratchc::new()
        .args(["llb", "-"])
        .stdin(text)
        .current_dir(dir.path())
        .expect(0);
    assert!(r.stdout.contains("\"linux/"), "{}", r.stdout);
    // Diagnostics name <stdin>.
    let r = Scratchc::new()
        .args(["check", "-"])
        .stdin("app hello {\n  prot 1\n}\n")
        .expect(1);
    assert!(r.stderr.contains("<stdin>:2:3"), "{}", r.stderr);
    // Twice is refused; the verbs that send a context refuse it.
    let r = Scratchc::new()
        .args(["check", "-", "-"])
        .stdin("")
        .expect(2);
    assert!(r.stderr.contains("more than once"), "{}", r.stderr);
    for verb in ["build", "lock", "verify"] {
        let r = Scratchc::new().args([verb, "-"]).stdin(HELLO).expect(2);
        assert!(r.stderr.contains("build context"), "{verb}: {}", r.stderr);
    }
}

#[test]
fn fmt_reads_stdin_and_writes_stdout() {
    let messy = "app   hello {\n    port 8080\n\n\n}\n";
    let r = Scratchc::new().args(["fmt", "-"]).stdin(messy).expect(0);
    assert_eq!(r.stdout, "app hello {\n  port 8080\n}\n");
    let r = Scratchc::new()
        .args(["fmt", "--check", "-"])
        .stdin(messy)
        .expect(1);
    assert!(
        r.stdout.contains("<stdin>: would be reformatted"),
        "{}",
        r.stdout
    );
    Scratchc::new()
        .args(["fmt", "--check", "-"])
        .stdin("app hello {\n}\n")
        .expect(0);
    let r = Scratchc::new()
        .args(["fmt", "-"])
        .stdin("app {\n")
        .expect(1);
    assert!(r.stdout.is_empty(), "nothing on stdout: {}", r.stdout);
    assert!(r.stderr.contains("<stdin>"), "{}", r.stderr);
    // A directory means its app.scratch, as in the other verbs.
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.scratch", messy);
    let r = Scratchc::new().arg("fmt").arg(dir.path()).expect(0);
    assert!(r.stdout.contains("formatted"), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(f).unwrap(),
        "app hello {\n  port 8080\n}\n"
    );
}

#[test]
fn a_build_arg_name_alone_takes_its_value_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "app.scratch", HELLO);
    let label = |r: &common::Run| {
        r.stdout
            .lines()
            .find(|l| l.starts_with("LABEL"))
            .unwrap()
            .to_string()
    };
    let r = Scratchc::new()
        .args(["dockerfile", "--build-arg", "VERSION"])
        .arg(&f)
        .env("VERSION", "1.2.3")
        .expect(0);
    assert!(r.stdout.contains("ARG VERSION=1.2.3"), "{}", r.stdout);
    // Unset: dropped as docker drops it, the default applies, and we say so.
    let r = Scratchc::new()
        .args(["dockerfile", "--build-arg", "VERSION"])
        .arg(&f)
        .expect(0);
    assert!(r.stdout.contains("ARG VERSION=dev"), "{}", label(&r));
    assert!(
        r.stderr
            .contains("warning: --build-arg VERSION: VERSION is not set"),
        "{}",
        r.stderr
    );
    // Still checked as a declared name.
    let r = Scratchc::new()
        .args(["llb", "--build-arg", "NOPE"])
        .arg(&f)
        .env("NOPE", "x")
        .expect(1);
    assert!(r.stderr.contains("NOPE"), "{}", r.stderr);
}

#[test]
fn version_names_the_commit_the_frontend_and_buildkit() {
    for flag in ["--version", "-V"] {
        let r = Scratchc::new().arg(flag).expect(0);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(
            lines[0],
            format!("scratchc {}", env!("CARGO_PKG_VERSION")),
            "{}",
            r.stdout
        );
        let commit = lines[1].strip_prefix("commit: ").unwrap();
        assert!(
            commit == "unknown"
                || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
            "{commit}"
        );
        assert_eq!(lines[2], "frontend image: scratchc/frontend:0.1");
        assert!(
            lines[3].starts_with("BuildKit tested: 0.13"),
            "{}",
            r.stdout
        );
    }
    // The commit is this checkout's HEAD when built from git.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    if head.status.success() {
        let r = Scratchc::new().arg("-V").expect(0);
        let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
        assert!(
            r.stdout.contains(&format!("commit: {head}")),
            "{} vs {head}",
            r.stdout
        );
    }
}

#[test]
fn man_pages_render_with_man() {
    let dir = tempfile::tempdir().unwrap();
    Scratchc::new()
        .args(["man", "--dir"])
        .arg(dir.path())
        .expect(0);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for verb in ["build", "check", "completions", "init", "llb", "man"] {
        assert!(names.contains(&format!("scratchc-{verb}.1")), "{names:?}");
    }
    assert!(names.contains(&"scratchc.1".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("frontend")),
        "hidden verbs have no page: {names:?}"
    );
    let man = |page: &Path| {
        let out = Command::new("man")
            .arg("-l")
            .arg(page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .env("LANG", "C.UTF-8")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Bold and underline are overstrikes (`x\bx`): keep the last.
        let mut text = String::new();
        for c in String::from_utf8_lossy(&out.stdout).chars() {
            if c == '\u{8}' {
                text.pop();
            } else {
                text.push(c);
            }
        }
        text
    };
    let build = man(&dir.path().join("scratchc-build.1"));
    assert!(build.contains("--app"), "{build}");
    assert!(build.contains("scratchc-build - Build images"), "{build}");
    assert!(build.contains("scratchc manual"), "{build}");
    // One page on stdout, the same bytes.
    let r = Scratchc::new().args(["man", "build"]).expect(0);
    assert_eq!(
        r.stdout,
        std::fs::read_to_string(dir.path().join("scratchc-build.1")).unwrap()
    );
    let r = Scratchc::new().args(["man", "nope"]).expect(2);
    assert!(
        r.stderr.contains("the verbs are: init, check"),
        "{}",
        r.stderr
    );
}

/// Runs bash's completion for `words` (the last one being completed)
/// with the script `scratchc completions bash` prints, in `cwd`, and
/// returns the candidates.
fn bash_complete(words: &[&str], cwd: &Path) -> Vec<String> {
    bash_complete_at(words, words.len() - 1, cwd)
}

/// The same, the cursor in word `cword`.
fn bash_complete_at(words: &[&str], cword: usize, cwd: &Path) -> Vec<String> {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_scratchc")).parent().unwrap();
    let script = Scratchc::new()
        .args(["completions", "bash"])
        .expect(0)
        .stdout;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "{script}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\nCOMP_TYPE=9\n\
         _clap_complete_scratchc scratchc '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = quoted.join(" "),
        line = words.join(" "),
        cur = words[cword],
        prev = words[cword.saturating_sub(1)],
    );
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .env("PATH", path)
        .env_remove("COMPLETE")
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_verbs_flags_and_the_apps_of_the_file_given() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app.scratch",
        "app api {\n}\napp worker {\n}\napp web {\n  prot 1\n}\n",
    );
    write(dir.path(), "other/app.scratch", "app solo {\n}\n");
    let d = dir.path();
    let verbs = bash_complete(&["scratchc", ""], d);
    for v in [
        "init",
        "check",
        "build",
        "llb",
        "dockerfile",
        "completions",
        "man",
    ] {
        assert!(verbs.contains(&v.to_string()), "{v}: {verbs:?}");
    }
    assert!(
        !verbs.contains(&"frontend".to_string()),
        "hidden: {verbs:?}"
    );
    assert_eq!(bash_complete(&["scratchc", "bu"], d), ["build"]);
    assert!(bash_complete(&["scratchc", "build", "--no-"], d).contains(&"--no-cache".to_string()));
    // --app: the apps of app.scratch here (a file with check errors still
    // completes), of the FILE given wherever it stands, filtered by what
    // is typed.
    assert_eq!(
        bash_complete(&["scratchc", "build", "--app", ""], d),
        ["api", "worker", "web"]
    );
    assert_eq!(
        bash_complete(&["scratchc", "k8s", "--app", "w"], d),
        ["worker", "web"]
    );
    assert_eq!(
        bash_complete(&["scratchc", "llb", "other", "--app", ""], d),
        ["solo"]
    );
    assert_eq!(
        bash_complete_at(
            &["scratchc", "dockerfile", "--app", "", "other/app.scratch"],
            3,
            d
        ),
        ["solo"]
    );
    assert!(bash_complete(&["scratchc", "build", "nope.scratch", "--app", ""], d).is_empty());
    assert_eq!(
        bash_complete(&["scratchc", "completions", "f"], d),
        ["fish"]
    );
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = Scratchc::new().args(["completions", shell]).expect(0);
        assert!(r.stdout.contains("scratchc"), "{shell}: {}", r.stdout);
        assert!(r.stdout.contains("COMPLETE"), "{shell}: {}", r.stdout);
    }
    Scratchc::new().args(["completions", "tcsh"]).expect(2);
    // The bash script is valid bash.
    let script = Scratchc::new()
        .args(["completions", "bash"])
        .expect(0)
        .stdout;
    let out = Command::new("bash")
        .args(["-n", "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn llb_prints_every_platform_and_pb_needs_one() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "app.scratch",
        "app hello {\n  platforms linux/arm64 linux/amd64\n}\n",
    );
    let r = Scratchc::new().arg("llb").arg(&f).expect(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["linux/arm64", "linux/amd64"], "the file's order");
    for k in keys {
        assert!(
            v[k].get("ops").is_some() || v[k].is_object(),
            "{k}: {}",
            v[k]
        );
    }
    let r = Scratchc::new()
        .args(["llb", "--platform", "linux/amd64,linux/arm/v7"])
        .arg(&f)
        .expect(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 2);
    assert!(v.get("linux/arm/v7").is_some(), "{}", r.stdout);
    // pb: one definition, so one platform.
    let r = Scratchc::new()
        .args(["llb", "--format", "pb"])
        .arg(&f)
        .expect(2);
    assert!(
        r.stderr.contains("built for 2 (linux/arm64, linux/amd64)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--platform linux/arm64"), "{}", r.stderr);
    let r = Scratchc::new()
        .args(["llb", "--format", "pb", "--platform", "linux/amd64"])
        .arg(&f)
        .expect(0);
    assert!(!r.stdout.is_empty());
}
