#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use super::*;

/// A module in memory: directory -> files.
struct Mem(BTreeMap<String, Vec<(String, String)>>);

impl Source for Mem {
    fn package(&mut self, dir: &str) -> Option<Vec<(String, GoFile)>> {
        self.0.get(dir).map(|files| {
            files
                .iter()
                .map(|(n, t)| (n.clone(), gosrc::scan(t)))
                .collect()
        })
    }
}

fn module(files: &[(&str, &str)]) -> (Mem, Vec<String>) {
    let mut m: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (path, text) in files {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        m.entry(dir.to_string())
            .or_default()
            .push((name.to_string(), text.to_string()));
    }
    let dirs = m
        .keys()
        .filter(|d| !d.starts_with("vendor"))
        .cloned()
        .collect();
    (Mem(m), dirs)
}

fn gomod(text: &str) -> GoMod {
    gomod::parse(text).unwrap()
}

const MAIN: &str = "package main\n\nfunc main() {}\n";

#[test]
fn one_app_per_main_named_after_its_directory() {
    let (mut src, dirs) = module(&[
        ("main.go", MAIN),
        (
            "cmd/api/main.go",
            "package main\nimport \"example.com/shop/v3/internal/web\"\nfunc main() { web.Run() }\n",
        ),
        ("cmd/api/gen.go", "//go:build ignore\n\npackage other\n"),
        ("tools/api/main.go", MAIN),
        ("cmd/Worker_2/main.go", MAIN),
        (
            "internal/web/web.go",
            "package web\n\nimport (\n\t\"net/http\"\n\t\"time\"\n)\n\nfunc Run() {\n\t_, _ = time.LoadLocation(\"UTC\")\n\t_ = http.FileServer\n}\n",
        ),
        ("lib/lib.go", "package lib\nfunc main() {}\n"),
        ("nomain/main.go", "package main\nfunc run() {}\n"),
        ("windows/main_windows.go", MAIN),
    ]);
    let s = plan(
        gomod("module example.com/shop/v3\ngo 1.22\n"),
        &dirs,
        &mut src,
    );
    let got: Vec<(&str, String)> = s.apps.iter().map(|a| (a.name.as_str(), a.main())).collect();
    assert_eq!(
        got,
        [
            ("shop", ".".to_string()),
            ("worker-2", "./cmd/Worker_2".to_string()),
            ("cmd-api", "./cmd/api".to_string()),
            ("tools-api", "./tools/api".to_string()),
        ]
    );
    let api = &s.apps[2];
    let needs: Vec<(Need, &str, String)> = api
        .needs
        .iter()
        .map(|f| (f.need, f.what.as_str(), f.seen.to_string()))
        .collect();
    assert_eq!(
        needs,
        [
            (Need::Certs, "net/http", "internal/web/web.go:4".to_string()),
            (
                Need::Tzdata,
                "time.LoadLocation",
                "internal/web/web.go:9".to_string()
            ),
            (
                Need::MimeTypes,
                "http.FileServer",
                "internal/web/web.go:10".to_string()
            ),
        ]
    );
    assert!(s.apps[0].needs.is_empty());

    let text = render(&s).unwrap();
    assert!(text.starts_with("# syntax=scratchc/frontend:"), "{text}");
    assert!(text.contains("docs/language.md"), "{text}");
    assert!(text.contains("app cmd-api {\n  main ./cmd/api\n"), "{text}");
    assert!(text.contains("  certs\n"), "{text}");
    assert!(text.contains("  mime-types\n"), "{text}");
    assert!(
        text.contains("# time.LoadLocation (internal/web/web.go:9) loads time zones")
            && text.contains("  tzdata\n"),
        "{text}"
    );
    assert!(
        !text.contains("version"),
        "go 1.22 builds with the default: {text}"
    );
    // What init writes checks and is formatted.
    assert_eq!(compiler::fmt::format_source(&text).unwrap(), text);
}

#[test]
fn vendored_packages_are_followed_and_newer_go_sets_the_version() {
    let (mut src, dirs) = module(&[
        (
            "main.go",
            "package main\nimport \"example.org/zone\"\nfunc main() { zone.X() }\n",
        ),
        (
            "vendor/example.org/zone/z.go",
            "package zone\nimport \"os/user\"\nfunc X() { user.Current() }\n",
        ),
        ("vendor/example.org/zone/main.go", MAIN),
    ]);
    assert_eq!(dirs, [""]);
    let s = plan(gomod("module hello\ngo 1.99.1\n"), &dirs, &mut src);
    assert_eq!(s.apps.len(), 1, "vendor/ holds no app");
    assert_eq!(s.apps[0].needs[0].need, Need::Passwd);
    let text = render(&s).unwrap();
    assert!(text.contains("  version 1.99\n"), "{text}");
    assert!(
        text.contains(
            "# os/user (vendor/example.org/zone/z.go:2): the image has passwd by default."
        ),
        "{text}"
    );
}

#[test]
fn no_main_package_is_an_error() {
    let (mut src, dirs) = module(&[("lib.go", "package lib\n")]);
    let s = plan(gomod("module example.com/lib\n"), &dirs, &mut src);
    assert_eq!(
        render(&s),
        Err(InitError::NoMain {
            module: "example.com/lib".into()
        })
    );
}

#[test]
fn names_are_valid() {
    assert_eq!(sanitize("Hello_World.v2"), "hello-world-v2");
    assert_eq!(sanitize("2fa"), "app-2fa");
    assert_eq!(sanitize("--"), "app");
    assert_eq!(sanitize("Ünï"), "n");
    assert_eq!(
        app_names("m", &["a/x".into(), "b/x".into(), "x".into()]),
        ["a-x", "b-x", "x"]
    );
    assert_eq!(app_names("x", &["".into(), "x".into()]), ["x", "x-2"]);
}

#[test]
fn the_go_template_default_is_read_from_the_stdlib() {
    assert_eq!(default_go(), Some((1, 24)));
    assert!(has_statement(Need::Certs));
    assert!(has_statement(Need::MimeTypes));
}
