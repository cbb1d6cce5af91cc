//! The language front end, end to end: every example's AST and checked
//! model, every error fixture's rendered diagnostics (source included, so
//! each snapshot reads alone), formatter idempotence, a seeded random-input
//! run that must never panic, and the `check`/`fmt` verbs through the real
//! binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/rng.rs"]
mod rng;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rng::Rng;
use scratchc::cli::load::load;
use scratchc::compiler::{self, Code, Options, Platform, Severity, Sources, Spanned, fmt, syntax};

const EXAMPLES: &[&str] = &["hello", "server", "multi", "company", "cluster"];

fn example(name: &str) -> PathBuf {
    PathBuf::from(format!("examples/{name}/app.scratch"))
}

/// Root files of the error fixtures: `errors/*.scratch` and
/// `errors/*/app.scratch`, sorted.
fn error_fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("tests/fixtures/errors").unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.push(p.join("app.scratch"));
        } else if p.extension().is_some_and(|x| x == "scratch") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Options from a `# test-options: build-arg=K=V platform=P` first line.
fn fixture_options(sources: &Sources) -> Options {
    let mut o = Options::default();
    let text = &sources.root().unwrap().text;
    if let Some(rest) = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# test-options:"))
    {
        for opt in rest.split_whitespace() {
            if let Some(kv) = opt.strip_prefix("build-arg=") {
                let (k, v) = kv.split_once('=').unwrap();
                o.build_args.insert(k.into(), v.into());
            } else if let Some(p) = opt.strip_prefix("platform=") {
                o.platforms.push(Platform::parse(p).unwrap());
            }
        }
    }
    o
}

/// The fixture's name, e.g. `E0110-bad-port`.
fn fixture_name(path: &Path) -> String {
    let p = if path.file_name().is_some_and(|n| n == "app.scratch") {
        path.parent().unwrap()
    } else {
        path
    };
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn examples_parse() {
    for name in EXAMPLES {
        let path = example(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let ast = syntax::parse(0, &text).unwrap();
        insta::assert_json_snapshot!(format!("ast-{name}"), ast);
    }
}

#[test]
fn examples_check() {
    for name in EXAMPLES {
        let sources = load(&example(name)).unwrap();
        let program = match compiler::check(&sources, &Options::default()) {
            Ok(p) => p,
            Err(d) => panic!("{name}: {}", compiler::render_plain(&d, &sources)),
        };
        insta::assert_json_snapshot!(format!("model-{name}"), program);
    }
}

#[test]
fn build_args_and_platform_overrides() {
    let sources = load(&example("server")).unwrap();
    let mut o = Options::default();
    o.build_args.insert("VERSION".into(), "1.2.3".into());
    o.platforms = vec![Platform::parse("linux/arm64").unwrap()];
    let p = compiler::check(&sources, &o).unwrap();
    let app = &p.apps[0];
    assert_eq!(app.build_args["VERSION"], "1.2.3");
    assert_eq!(app.platforms.len(), 1);
    assert_eq!(app.platforms[0].node.to_string(), "linux/arm64");
    let compiler::model::Build::Compile(c) = &app.build else {
        panic!()
    };
    assert!(
        c.run
            .node
            .iter()
            .any(|a| a == "-ldflags=-s -buildid= -X main.version=1.2.3")
    );
    let label = app
        .image
        .labels
        .iter()
        .find(|l| l.node.0 == "org.opencontainers.image.version");
    assert_eq!(label.unwrap().node.1, "1.2.3");
}

#[test]
fn kubernetes_sections_merge_along_the_chain() {
    use scratchc::compiler::model::{ProbeAction, ProbeKind};
    let sources = load(&example("cluster")).unwrap();
    let p = compiler::check(&sources, &Options::default()).unwrap();
    let pairs = |v: &[Spanned<(String, String)>]| -> Vec<(String, String)> {
        v.iter().map(|e| e.node.clone()).collect()
    };
    let own = |a: &str, b: &str| (a.to_string(), b.to_string());

    // The app sets the template's parameter; the section uses it.
    let api = &p.app("api").unwrap().kubernetes;
    assert_eq!(api.replicas.as_ref().unwrap().node, 3);
    assert_eq!(pairs(&api.limits), vec![own("memory", "64Mi")]);
    let kinds: Vec<ProbeKind> = api.probes.iter().map(|p| p.node.kind).collect();
    assert_eq!(kinds, vec![ProbeKind::Readiness, ProbeKind::Liveness]);

    // The default replica count; the app's own section replaces one limit
    // and keeps the template's requests; probes follow the port parameter.
    let admin = &p.app("admin").unwrap().kubernetes;
    assert_eq!(admin.replicas.as_ref().unwrap().node, 2);
    assert_eq!(pairs(&admin.limits), vec![own("memory", "128Mi")]);
    assert_eq!(
        pairs(&admin.requests),
        vec![own("cpu", "50m"), own("memory", "32Mi")]
    );
    assert!(admin.probes.iter().all(|p| p.node.port == 9090
        && p.node.action
            == ProbeAction::Http {
                path: "/healthz".into()
            }));

    // A nearer probe of a kind replaces the farther one.
    let text = "template t extends go {\n  port 80 81\n  kubernetes {\n    probe readiness tcp 80\n    probe liveness tcp 80\n  }\n}\napp a uses t {\n  kubernetes {\n    probe readiness http 81 /ready\n  }\n}\n";
    let p = compiler::check(&Sources::new("app.scratch", text), &Options::default()).unwrap();
    let probes: Vec<(ProbeKind, u16)> = p.apps[0]
        .kubernetes
        .probes
        .iter()
        .map(|p| (p.node.kind, p.node.port))
        .collect();
    assert_eq!(
        probes,
        vec![(ProbeKind::Readiness, 81), (ProbeKind::Liveness, 80)]
    );
    // An app without a section has an empty one, left out of the model's JSON.
    let p = compiler::check(&load(&example("hello")).unwrap(), &Options::default()).unwrap();
    assert!(p.apps[0].kubernetes.is_empty());
    assert!(
        serde_json::to_value(&p.apps[0])
            .unwrap()
            .get("kubernetes")
            .is_none()
    );
}

#[test]
fn unknown_app_is_reported_before_lowering() {
    let sources = load(&example("multi")).unwrap();
    let e = compiler::compile(
        &sources,
        &Options::default(),
        &Default::default(),
        Some("nope"),
    )
    .unwrap_err();
    assert_eq!(e[0].code, Code::NoSuchApp);
    assert!(e[0].help.as_deref().unwrap().contains("api, worker"));
}

#[test]
fn platform_vars_expand_per_target() {
    use scratchc::compiler::interp::expand_platform;
    let sources = load(&example("hello")).unwrap();
    let p = compiler::check(&sources, &Options::default()).unwrap();
    let compiler::model::Build::Compile(c) = &p.apps[0].build else {
        panic!()
    };
    let target = Platform::parse("linux/arm/v7").unwrap();
    let env: BTreeMap<String, String> = c
        .env
        .iter()
        .map(|e| {
            (
                e.node.0.clone(),
                expand_platform(&e.node.1, &target, &Platform::linux_amd64()),
            )
        })
        .collect();
    assert_eq!(env["GOOS"], "linux");
    assert_eq!(env["GOARCH"], "arm");
    assert_eq!(env["GOARM"], "7");
}

#[test]
fn error_diagnostics() {
    let fixtures = error_fixtures();
    assert!(
        fixtures.len() >= 40,
        "fixtures went missing: {}",
        fixtures.len()
    );
    for path in fixtures {
        let name = fixture_name(&path);
        let sources = load(&path).unwrap();
        let options = fixture_options(&sources);
        let diags = match compiler::check(&sources, &options) {
            Ok(_) => panic!("{name}: expected errors, got none"),
            Err(d) => d,
        };
        let code = &name[..5];
        assert!(
            diags.iter().any(|d| d.code.id() == code),
            "{name}: no {code} among {:?}",
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        );
        for d in &diags {
            assert!(d.help.is_some(), "{name}: {} has no help", d.code);
        }
        let mut shown = String::new();
        for (_, f) in sources
            .iter()
            .filter(|(_, f)| !f.name.starts_with("<stdlib>"))
        {
            shown.push_str(&format!("--- {} ---\n{}", f.name, f.text));
        }
        shown.push_str("--- diagnostics ---\n");
        shown.push_str(&compiler::render_plain(&diags, &sources));
        insta::assert_snapshot!(format!("error-{name}"), shown);
    }
}

/// Where a code no fixture of tests/fixtures/errors can give is tested:
/// its input is not a small file (a FIFO, a file over 1 MiB), or the check
/// needs the command line, the context, a build or a daemon.
enum Elsewhere {
    /// A test file under tests/, which names the code (`scratch::E0123`).
    File(&'static str),
    /// A test by its name: a unit test by its path in the crate, an
    /// integration test by its file and function.
    Test(#[expect(dead_code, reason = "read by people: where the code is tested")] &'static str),
    /// Nowhere: no input is meant to give it (a bug in scratchc).
    Never,
}

const TESTED_ELSEWHERE: &[(Code, Elsewhere)] = &[
    (Code::OverBudget, Elsewhere::File("tests/hostile.rs")),
    (Code::K8sName, Elsewhere::File("tests/deploy.rs")),
    (Code::ChainDepth, Elsewhere::File("tests/hostile.rs")),
    (Code::MainNotInModule, Elsewhere::File("tests/repos.rs")),
    (
        Code::NoSuchApp,
        Elsewhere::Test("tests/compile.rs unknown_app_is_reported_before_lowering"),
    ),
    (Code::SecretNotGiven, Elsewhere::File("tests/repos.rs")),
    (Code::SshNotGiven, Elsewhere::File("tests/repos.rs")),
    (Code::FileTooLarge, Elsewhere::File("tests/hostile.rs")),
    (Code::SourcesTooLarge, Elsewhere::File("tests/hostile.rs")),
    (Code::NotAFile, Elsewhere::File("tests/hostile.rs")),
    (
        Code::DefinitionTooLarge,
        Elsewhere::File("tests/hostile.rs"),
    ),
    (
        Code::BinaryMismatch,
        Elsewhere::Test("build::run::tests::binary_problems_are_diagnostics_at_the_line"),
    ),
    (
        Code::NoBinary,
        Elsewhere::Test("build::run::tests::binary_problems_are_diagnostics_at_the_line"),
    ),
    (Code::NotMain, Elsewhere::File("tests/daemon/repos.rs")),
    (
        Code::Step,
        Elsewhere::Test("client::errors::tests::renders_step_failure_with_logs_and_source"),
    ),
    (Code::Internal, Elsewhere::Never),
    (
        Code::NeedsUnread,
        Elsewhere::Test(
            "build::needs::tests::platforms_are_merged_and_unreadable_binaries_are_notes",
        ),
    ),
    (Code::NeedsCerts, Elsewhere::File("tests/daemon/runtime.rs")),
    (
        Code::NeedsTzdata,
        Elsewhere::File("tests/daemon/runtime.rs"),
    ),
    (
        Code::NeedsPasswd,
        Elsewhere::Test(
            "build::needs::tests::each_need_the_image_lacks_is_reported_at_the_app_line",
        ),
    ),
    (
        Code::NeedsTmp,
        Elsewhere::Test(
            "build::needs::tests::each_need_the_image_lacks_is_reported_at_the_app_line",
        ),
    ),
    (
        Code::NeedsMimeTypes,
        Elsewhere::File("tests/daemon/runtime.rs"),
    ),
];

/// The headings of docs/errors.md that are not codes.
const DOC_SECTIONS: &[&str] = &["Warnings"];

/// A `## CODE title` section of docs/errors.md.
struct Documented {
    code: Code,
    heading: String,
    /// Whether it stands after `## Warnings`.
    under_warnings: bool,
}

/// The code sections of docs/errors.md, in its order; every other `##`
/// heading must be one of [`DOC_SECTIONS`].
fn documented_codes() -> Vec<Documented> {
    let docs = std::fs::read_to_string("docs/errors.md").unwrap();
    let mut out = Vec::new();
    let mut under_warnings = false;
    for heading in docs.lines().filter_map(|l| l.strip_prefix("## ")) {
        let id = heading.split_whitespace().next().unwrap_or("");
        match Code::from_id(id) {
            Some(code) => out.push(Documented {
                code,
                heading: heading.to_string(),
                under_warnings,
            }),
            None => {
                assert!(
                    DOC_SECTIONS.contains(&heading),
                    "docs/errors.md has a section `## {heading}`, but there is no code `{id}` \
                     (scratchc::compiler::Code) and it is no known section"
                );
                under_warnings |= heading == "Warnings";
            }
        }
    }
    out
}

/// Every code of `Code` has its section in docs/errors.md, in the order of
/// `Code::ALL`, and every code section there is a code of `Code`.
#[test]
fn error_codes_are_documented() {
    let documented: Vec<Code> = documented_codes().iter().map(|d| d.code).collect();
    for code in Code::ALL {
        assert!(
            documented.contains(code),
            "{code} has no `## {}` section in docs/errors.md",
            code.id()
        );
    }
    assert_eq!(
        documented,
        Code::ALL,
        "docs/errors.md lists the codes in another order than Code::ALL, or one twice"
    );
}

/// The warnings and notes are documented under "Warnings", and only they;
/// a note's heading says it is one.
#[test]
fn warning_codes_are_documented() {
    for d in documented_codes() {
        let severity = d.code.severity();
        assert_eq!(
            d.under_warnings,
            severity != Severity::Error,
            "{} ({severity:?}) is documented in the wrong part of docs/errors.md",
            d.code
        );
        assert_eq!(
            d.heading.ends_with("(note)"),
            severity == Severity::Note,
            "`## {}`: a note's heading ends with `(note)`, no other does",
            d.heading
        );
    }
}

/// Every code has an error fixture (named after it) or a test elsewhere,
/// and a fixture's name starts with a code of `Code`.
#[test]
fn every_code_has_a_fixture_or_a_test() {
    let fixture_codes: Vec<Code> = error_fixtures()
        .iter()
        .map(|p| {
            let id = &fixture_name(p)[..5];
            Code::from_id(id).unwrap_or_else(|| panic!("{}: there is no code {id}", p.display()))
        })
        .collect();
    for (code, elsewhere) in TESTED_ELSEWHERE {
        assert!(
            !fixture_codes.contains(code),
            "{code} has a fixture: take it out of TESTED_ELSEWHERE"
        );
        if let Elsewhere::File(file) = elsewhere {
            let text = std::fs::read_to_string(file).unwrap();
            assert!(
                text.contains(code.as_str()),
                "{file} does not name {code}, though TESTED_ELSEWHERE says it tests it"
            );
        }
    }
    for code in Code::ALL {
        assert!(
            fixture_codes.contains(code) || TESTED_ELSEWHERE.iter().any(|(c, _)| c == code),
            "{code} has no fixture in tests/fixtures/errors and no test elsewhere"
        );
    }
}

/// Every file that parses: the examples, their imports, the stdlib, the
/// fixtures.
fn all_scratch_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "scratch") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in ["examples", "stdlib", "tests/fixtures"] {
        walk(Path::new(d), &mut out);
    }
    out.sort();
    out
}

/// The AST as JSON without spans, to compare trees across layouts.
fn without_spans(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k != "span" && k != "header")
                .map(|(k, v)| (k, without_spans(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_spans).collect()),
        v => v,
    }
}

#[test]
fn fmt_is_idempotent_and_keeps_the_tree() {
    let mut checked = 0;
    for path in all_scratch_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(ast) = syntax::parse(0, &text) else {
            continue;
        };
        let once = fmt::format(&ast);
        let again_ast = syntax::parse(0, &once).unwrap_or_else(|e| {
            panic!(
                "{}: fmt output does not parse: {e:?}\n{once}",
                path.display()
            )
        });
        assert_eq!(
            fmt::format(&again_ast),
            once,
            "{}: fmt is not idempotent",
            path.display()
        );
        assert_eq!(
            without_spans(serde_json::to_value(&ast).unwrap()),
            without_spans(serde_json::to_value(&again_ast).unwrap()),
            "{}: fmt changed the tree",
            path.display()
        );
        checked += 1;
    }
    assert!(checked > 20);
}

#[test]
fn fmt_canonical_layout() {
    let text = std::fs::read_to_string("tests/fixtures/ok/formatting.scratch").unwrap();
    insta::assert_snapshot!("fmt-formatting", fmt::format_source(&text).unwrap());
}

#[test]
fn examples_and_stdlib_are_formatted() {
    for path in all_scratch_files()
        .iter()
        .filter(|p| !p.starts_with("tests"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            fmt::format_source(&text).unwrap(),
            text,
            "{} is not formatted",
            path.display()
        );
    }
}

/// Mutates valid files (delete, duplicate, swap, insert tokens that matter
/// to the grammar) and runs parse, check, fmt and compile on each result:
/// none may panic. Stands in for cargo-fuzz in the normal test run; see
/// fuzz/ for the coverage-guided target.
#[test]
fn random_inputs_never_panic() {
    const PIECES: &[&str] = &[
        "{",
        "}",
        "\n",
        " ",
        "\\\n",
        "\"",
        "\\",
        "$",
        "${",
        "${NAME}",
        "$$",
        "#",
        "app x {\n",
        "template t {\n",
        "import \"./a.scratch\"\n",
        "uses",
        "extends",
        "port",
        "65536",
        "0",
        "/",
        "..",
        "=",
        "sha256:",
        "é",
        "\r\n",
        "\t",
        "param p list",
        "${TARGETOS}",
        "${VERSION#v}",
        "user 0:0",
        "platforms linux/arm",
        "cache /c id=x",
    ];
    let seeds: Vec<String> = all_scratch_files()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let iterations: usize = std::env::var("SCRATCH_RANDOM_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    for _ in 0..iterations {
        let mut text = seeds[rng.below(seeds.len())].clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let at = if text.is_empty() {
                0
            } else {
                rng.below(text.len() + 1)
            };
            match rng.below(4) {
                0 if !text.is_empty() => {
                    let end = (at + 1 + rng.below(8)).min(text.len());
                    text.drain(at.min(end)..end);
                }
                1 => {
                    let piece = PIECES[rng.below(PIECES.len())].as_bytes();
                    text.splice(at..at, piece.iter().copied());
                }
                2 if !text.is_empty() => {
                    let end = (at + rng.below(16)).min(text.len());
                    let chunk: Vec<u8> = text[at.min(end)..end].to_vec();
                    text.splice(at..at, chunk);
                }
                _ => {
                    let b = (rng.next() & 0xff) as u8;
                    text.insert(at, b);
                }
            }
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        let sources = Sources::new("app.scratch", text.clone());
        let _ = compiler::compile(&sources, &Options::default(), &Default::default(), None);
        if let Ok(f) = fmt::format_source(&text) {
            let again = fmt::format_source(&f)
                .unwrap_or_else(|e| panic!("fmt output does not parse: {e:?}\n{f}"));
            assert_eq!(again, f, "fmt not idempotent on:\n{text}");
        }
    }
}

// ---- the real binary ----

fn scratchc(args: &[&str]) -> (i32, String, String) {
    let out = common::command().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_check_exit_codes() {
    let paths: Vec<String> = EXAMPLES
        .iter()
        .map(|e| example(e).display().to_string())
        .collect();
    let args: Vec<&str> = std::iter::once("check")
        .chain(paths.iter().map(String::as_str))
        .collect();
    let (code, out, err) = scratchc(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok (api, worker)"), "{out}");

    let (code, _, err) = scratchc(&["check", "tests/fixtures/errors/E0110-bad-port.scratch"]);
    assert_eq!(code, 1);
    assert!(err.contains("scratch::E0110"), "{err}");
    assert!(err.contains("E0110-bad-port.scratch:2:"), "{err}");
    assert!(!err.contains('\u{1b}'), "colour on a pipe: {err}");

    let (code, _, err) = scratchc(&["check", "does/not/exist.scratch"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read does/not/exist.scratch"), "{err}");
}

#[test]
fn cli_fmt_rewrites_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let messy = dir.path().join("app.scratch");
    std::fs::copy("tests/fixtures/ok/formatting.scratch", &messy).unwrap();
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::copy(
        "tests/fixtures/ok/lib/base.scratch",
        dir.path().join("lib/base.scratch"),
    )
    .unwrap();
    let m = messy.to_str().unwrap();

    let (code, out, _) = scratchc(&["fmt", "--check", m]);
    assert_eq!(code, 1);
    assert!(out.contains("would be reformatted"));
    let (code, _, err) = scratchc(&["fmt", m]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = scratchc(&["fmt", "--check", m]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = scratchc(&["check", m]);
    assert_eq!(code, 0, "{err}");
    // No temp file left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let broken = dir.path().join("broken.scratch");
    std::fs::write(&broken, "app x {\n  port 80 }\n").unwrap();
    let (code, _, err) = scratchc(&["fmt", broken.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("scratch::E0001"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "app x {\n  port 80 }\n"
    );

    let paths: Vec<String> = EXAMPLES
        .iter()
        .map(|e| example(e).display().to_string())
        .collect();
    let args: Vec<&str> = ["fmt", "--check"]
        .into_iter()
        .chain(paths.iter().map(String::as_str))
        .collect();
    let (code, out, err) = scratchc(&args);
    assert_eq!(code, 0, "{out}{err}");
}
