//! The lowering and the LLB layer: JSON dumps and digests as snapshots,
//! determinism, and the structure BuildKit relies on.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use scratchc::compiler::lower;
use scratchc::compiler::model::{
    App, Build, BuilderFile, CacheMount, Compile, Deps, ExtraFile, Image, ImageRef, Port, Proto,
    Sharing, User,
};
use scratchc::compiler::{ImageConfig, LowerOptions, Options, Platform, Sources, Span, Spanned};
use scratchc::llb;
use scratchc::proto::pb;

const HELLO_SRC: &str = "import go\n\napp hello {\n  platforms linux/amd64 linux/arm64\n}\n";

fn sp<T>(node: T, start: usize, end: usize) -> Spanned<T> {
    Spanned::new(node, Span::new(0, start, end))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The model the checker makes of `HELLO_SRC` with the go template.
fn hello() -> App {
    let s = Span::new(0, 12, 21);
    App {
        name: sp("hello".to_string(), 16, 21),
        span: s,
        templates: strs(&["go"]),
        build: Build::Compile(Compile {
            builder: Spanned::new(
                ImageRef {
                    name: "docker.io/library/golang".into(),
                    tag: Some("1.24".into()),
                    digest: None,
                },
                s,
            ),
            dir: "/src".into(),
            env: vec![
                Spanned::new(("CGO_ENABLED".into(), "0".into()), s),
                Spanned::new(("GOOS".into(), "${TARGETOS}".into()), s),
                Spanned::new(("GOARCH".into(), "${TARGETARCH}".into()), s),
                Spanned::new(("GOARM".into(), "${TARGETVARIANT#v}".into()), s),
                Spanned::new(("GOMODCACHE".into(), "/go/pkg/mod".into()), s),
            ],
            caches: vec![Spanned::new(
                CacheMount {
                    path: "/root/.cache/go-build".into(),
                    id: "scratchc-go-build".into(),
                    sharing: Sharing::Locked,
                },
                s,
            )],
            deps: Some(Deps {
                files: Spanned::new(strs(&["go.mod", "go.sum"]), s),
                run: Spanned::new(strs(&["go", "mod", "download"]), s),
                skip: None,
                with: Vec::new(),
            }),
            run: Spanned::new(
                strs(&[
                    "go",
                    "build",
                    "-trimpath",
                    "-ldflags=-s",
                    "-o",
                    "/out/hello",
                    ".",
                ]),
                s,
            ),
            out: "/out/hello".into(),
            secrets: Vec::new(),
            ssh: Vec::new(),
        }),
        platforms: vec![
            sp(Platform::linux_amd64(), 35, 46),
            sp(Platform::new("linux", "arm64", None), 47, 58),
        ],
        image: Image {
            binary: Spanned::new("/usr/bin/hello".into(), s),
            certs: None,
            mime_types: None,
            tmp: None,
            passwd: None,
            zoneinfo: None,
            files: vec![],
            ports: vec![],
            volumes: vec![],
            workdir: None,
            user: Spanned::new(User::NONROOT, s),
            entrypoint: Spanned::new(strs(&["/usr/bin/hello"]), s),
            cmd: None,
            env: vec![],
            labels: vec![],
        },
        build_args: BTreeMap::new(),
        sbom: true,
        kubernetes: Default::default(),
        params: BTreeMap::new(),
        strict: false,
        switches: Default::default(),
    }
}

/// A server: certs, mime types, a config file, a port, a volume.
fn server() -> App {
    let mut a = hello();
    let s = a.span;
    a.name.node = "server".into();
    if let Build::Compile(c) = &mut a.build {
        c.run.node = strs(&[
            "go",
            "build",
            "-trimpath",
            "-ldflags=-s",
            "-o",
            "/out/server",
            ".",
        ]);
        c.out = "/out/server".into();
    }
    a.image.binary.node = "/usr/bin/server".into();
    a.image.entrypoint.node = strs(&["/usr/bin/server"]);
    a.image.cmd = Some(Spanned::new(
        strs(&["serve", "-data", "/var/lib/server"]),
        s,
    ));
    a.image.certs = Some(Spanned::new(
        BuilderFile {
            src: "/etc/ssl/certs/ca-certificates.crt".into(),
            dest: "/etc/ssl/certs/ca-certificates.crt".into(),
        },
        s,
    ));
    a.image.mime_types = Some(Spanned::new(
        BuilderFile {
            src: "/etc/mime.types".into(),
            dest: "/etc/mime.types".into(),
        },
        s,
    ));
    a.image.files = vec![Spanned::new(
        ExtraFile {
            src: "config.yaml".into(),
            dest: "/etc/server/config.yaml".into(),
            mode: 0o644,
        },
        s,
    )];
    a.image.ports = vec![Spanned::new(
        Port {
            number: 8080,
            proto: Proto::Tcp,
        },
        s,
    )];
    a.image.volumes = vec![Spanned::new("/var/lib/server".into(), s)];
    a.image.workdir = Some(Spanned::new("/var/lib/server".into(), s));
    a.image.env = vec![Spanned::new(("LOG_LEVEL".into(), "info".into()), s)];
    a.image.labels = vec![Spanned::new(
        ("org.opencontainers.image.title".into(), "server".into()),
        s,
    )];
    a
}

fn sources() -> Sources {
    Sources::new("app.scratch", HELLO_SRC)
}

fn lower_opts() -> LowerOptions {
    let mut builder_configs = BTreeMap::new();
    builder_configs.insert(
        "docker.io/library/golang:1.24".to_string(),
        ImageConfig {
            env: strs(&[
                "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "GOPATH=/go",
            ]),
            working_dir: Some("/go".into()),
            user: None,
        },
    );
    LowerOptions {
        builder_configs,
        context_excludes: strs(&[".git", "*.md"]),
        no_cache: false,
        ..LowerOptions::default()
    }
}

fn lower_for(app: &App, target: &str) -> scratchc::compiler::Target {
    let p = Platform::parse(target).unwrap();
    lower::lower(app, &p, &sources(), &Options::default(), &lower_opts()).unwrap()
}

fn ops(def: &[u8]) -> Vec<pb::Op> {
    let d = pb::Definition::decode(def).unwrap();
    d.def
        .iter()
        .map(|b| pb::Op::decode(b.as_slice()).unwrap())
        .collect()
}

fn snapshot(name: &str, app: &App, target: &str) {
    let t = lower_for(app, target);
    let dump = llb::json::dump_bytes(&t.definition).unwrap();
    let config = String::from_utf8(t.config.clone()).unwrap();
    let out = format!(
        "definition digest: {}\nimage config: {config}\n\n{dump}",
        llb::digest(&t.definition)
    );
    insta::assert_snapshot!(name, out);
}

#[test]
fn hello_amd64() {
    snapshot("hello_linux_amd64", &hello(), "linux/amd64");
}

#[test]
fn server_arm64() {
    snapshot("server_linux_arm64", &server(), "linux/arm64");
}

/// `scratchc dockerfile` of an example, as the binary prints it (build
/// arguments kept as ARGs takes the driver's second check).
fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir(&dest).unwrap();
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn dockerfile_of(example: &str) -> String {
    // A copy outside this repository's checkout: its commit and remote
    // (GIT_COMMIT, the source label) change with every commit and clone.
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example);
    copy_tree(&src, dir.path());
    let out = common::command()
        .args(["dockerfile", "app.scratch"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn hello_dockerfile() {
    insta::assert_snapshot!("hello_dockerfile", dockerfile_of("hello"));
}

#[test]
fn server_dockerfile() {
    insta::assert_snapshot!("server_dockerfile", dockerfile_of("server"));
}

#[test]
fn multi_dockerfile() {
    insta::assert_snapshot!("multi_dockerfile", dockerfile_of("multi"));
}

#[test]
fn deterministic() {
    for app in [hello(), server()] {
        let a = lower_for(&app, "linux/arm64");
        let b = lower_for(&app, "linux/arm64");
        assert_eq!(a.definition, b.definition);
        assert_eq!(a.config, b.config);
    }
    // Builder configs inserted in another order: same bytes.
    let mut o = lower_opts();
    let mut rev = BTreeMap::new();
    rev.insert("zz/other:1".to_string(), ImageConfig::default());
    rev.extend(o.builder_configs.clone());
    o.builder_configs = rev;
    let p = Platform::parse("linux/arm64").unwrap();
    let c = lower::lower(&server(), &p, &sources(), &Options::default(), &o).unwrap();
    assert_eq!(c.definition, lower_for(&server(), "linux/arm64").definition);
}

#[test]
fn structure() {
    let t = lower_for(&server(), "linux/arm64");
    let ops = ops(&t.definition);
    let d = pb::Definition::decode(t.definition.as_slice()).unwrap();
    // Terminal op: only inputs, pointing at the last real op.
    let last = ops.last().unwrap();
    assert!(last.op.is_none() && last.platform.is_none() && last.inputs.len() == 1);
    // Digests are unique and every input is defined earlier.
    let digests: Vec<String> = d.def.iter().map(|b| llb::digest(b)).collect();
    for (i, op) in ops.iter().enumerate() {
        for inp in &op.inputs {
            let pos = digests.iter().position(|x| *x == inp.digest).unwrap();
            assert!(pos < i);
        }
        assert!(d.metadata.contains_key(&digests[i]));
    }
    // Exactly one file op, from scratch, and it is the result.
    let files: Vec<&pb::Op> = ops
        .iter()
        .filter(|o| matches!(o.op, Some(pb::op::Op::File(_))))
        .collect();
    assert_eq!(files.len(), 1);
    let Some(pb::op::Op::File(f)) = &files[0].op else {
        unreachable!()
    };
    assert_eq!(f.actions[0].input, -1);
    assert_eq!(f.actions.last().unwrap().output, 0);
    assert!(files[0].platform.is_none());
    assert_eq!(last.inputs[0].digest, llb::digest(&d.def[d.def.len() - 2]));
    // The build runs on the build platform with the target's GOOS/GOARCH.
    let execs: Vec<&pb::ExecOp> = ops
        .iter()
        .filter_map(|o| match &o.op {
            Some(pb::op::Op::Exec(e)) => {
                assert_eq!(o.platform.as_ref().unwrap().architecture, "amd64");
                Some(e)
            }
            _ => None,
        })
        .collect();
    assert_eq!(execs.len(), 2);
    let build = execs[1].meta.as_ref().unwrap();
    assert!(build.env.contains(&"GOARCH=arm64".to_string()));
    assert!(build.env.contains(&"GOOS=linux".to_string()));
    assert!(build.env.iter().any(|e| e.starts_with("PATH=/go/bin")));
    // The deps step does not depend on the target.
    let deps = execs[0].meta.as_ref().unwrap();
    assert!(!deps.env.iter().any(|e| e.starts_with("GOARCH")));
    // Every image source runs on the build platform.
    for o in &ops {
        if let Some(pb::op::Op::Source(s)) = &o.op {
            if s.identifier.starts_with("docker-image://") {
                assert_eq!(o.platform.as_ref().unwrap().architecture, "amd64");
            } else {
                assert!(o.platform.is_none());
            }
        }
    }
    // Two targets share every op up to the build.
    let amd = lower_for(&server(), "linux/amd64");
    let da = pb::Definition::decode(amd.definition.as_slice()).unwrap();
    let shared = da.def.iter().filter(|b| d.def.contains(b)).count();
    assert_eq!(shared, 4, "builder, deps files, deps run, context");
}

/// Lowering an app for all its platforms at once (as `compile` does,
/// sharing the steps that do not depend on the target) gives each target
/// what lowering it alone gives: with the dependency layer shared, with a
/// `deps-run` that names the target (one layer per target), and for a
/// prebuilt binary with extra context files.
#[test]
fn all_platforms_at_once_as_each_alone() {
    let mut per_target_deps = server();
    if let Build::Compile(c) = &mut per_target_deps.build
        && let Some(d) = &mut c.deps
    {
        d.run.node = strs(&["go", "mod", "download", "-x", "${TARGETARCH}"]);
    }
    let mut prebuilt = server();
    prebuilt.build = Build::Prebuilt {
        src: sp("dist/server".to_string(), 0, 4),
    };
    let platforms = [
        Platform::linux_amd64(),
        Platform::new("linux", "arm64", None),
        Platform::new("linux", "arm", Some("v7")),
    ];
    let platforms: Vec<&Platform> = platforms.iter().collect();
    for app in [hello(), server(), per_target_deps, prebuilt] {
        let (sources, options, o) = (sources(), Options::default(), lower_opts());
        let all = lower::lower_each(&app, &platforms, &sources, &options, &o);
        assert_eq!(all.len(), platforms.len());
        for (t, p) in all.into_iter().zip(&platforms) {
            let alone = lower::lower(&app, p, &sources, &options, &o).unwrap();
            assert_eq!(t.unwrap(), alone, "{} {p}", app.name.node);
        }
    }
}

/// Every example, through the loader and the checker as `scratchc llb`
/// reads it: each target's definition digest and image config, and the
/// JSON dump of the first target of each app. Builder configs are the
/// fixed ones of `lower_opts`, the build platform linux/amd64.
fn example(name: &str) -> String {
    let path = format!("examples/{name}/app.scratch");
    let sources = scratchc::cli::load::load(std::path::Path::new(&path)).unwrap();
    let options = Options::default();
    let targets = scratchc::compiler::compile(&sources, &options, &lower_opts(), None)
        .unwrap_or_else(|d| panic!("{}", scratchc::compiler::render_plain(&d, &sources)));
    let mut out = String::new();
    let mut dumped = std::collections::BTreeSet::new();
    for t in &targets {
        out.push_str(&format!(
            "== {} {}\ndefinition digest: {}\nimage config: {}\n",
            t.app,
            t.platform,
            llb::digest(&t.definition),
            String::from_utf8(t.config.clone()).unwrap()
        ));
        if dumped.insert(t.app.clone()) {
            out.push('\n');
            out.push_str(&llb::json::dump_bytes(&t.definition).unwrap());
        }
        out.push('\n');
    }
    out
}

#[test]
fn example_hello() {
    insta::assert_snapshot!("example_hello", example("hello"));
}

#[test]
fn example_server() {
    insta::assert_snapshot!("example_server", example("server"));
}

#[test]
fn example_multi() {
    insta::assert_snapshot!("example_multi", example("multi"));
}

#[test]
fn example_company() {
    insta::assert_snapshot!("example_company", example("company"));
}

#[test]
fn example_cluster() {
    insta::assert_snapshot!("example_cluster", example("cluster"));
}

/// The `kubernetes` section changes no image: the lowering never reads it.
#[test]
fn kubernetes_settings_change_no_definition() {
    let path = std::path::Path::new("examples/cluster/app.scratch");
    let sources = scratchc::cli::load::load(path).unwrap();
    let options = Options::default();
    let program = scratchc::compiler::check(&sources, &options).unwrap();
    for app in &program.apps {
        assert!(!app.kubernetes.is_empty(), "{}", app.name.node);
        let mut bare = app.clone();
        bare.kubernetes = Default::default();
        let p = Platform::linux_amd64();
        let with = lower::lower(app, &p, &sources, &options, &lower_opts()).unwrap();
        let without = lower::lower(&bare, &p, &sources, &options, &lower_opts()).unwrap();
        assert_eq!(with, without, "{}", app.name.node);
    }
}

#[test]
fn no_cache_marks_every_op() {
    let mut o = lower_opts();
    o.no_cache = true;
    let p = Platform::linux_amd64();
    let t = lower::lower(&hello(), &p, &sources(), &Options::default(), &o).unwrap();
    let d = pb::Definition::decode(t.definition.as_slice()).unwrap();
    let n = d.metadata.values().filter(|m| m.ignore_cache).count();
    assert_eq!(n, d.def.len() - 1);
}

/// A dependency step whose files are not all in the context is left out:
/// the build runs straight on the builder image, with the same command.
#[test]
fn deps_step_is_left_out_without_its_files() {
    let p = Platform::linux_amd64();
    let execs = |o: &LowerOptions| -> Vec<pb::ExecOp> {
        let t = lower::lower(&hello(), &p, &sources(), &Options::default(), o).unwrap();
        ops(&t.definition)
            .into_iter()
            .filter_map(|op| match op.op {
                Some(pb::op::Op::Exec(e)) => Some(e),
                _ => None,
            })
            .collect()
    };
    let all = execs(&lower_opts());
    assert_eq!(all.len(), 2, "deps and build");

    let mut o = lower_opts();
    o.absent_files.insert("go.sum".into());
    let only = execs(&o);
    assert_eq!(only.len(), 1, "the build alone");
    assert_eq!(only[0].meta, all[1].meta, "the same build step");
    // Its root is the builder image itself, not a deps result.
    let t = lower::lower(&hello(), &p, &sources(), &Options::default(), &o).unwrap();
    let d = pb::Definition::decode(t.definition.as_slice()).unwrap();
    let digest_of = |pred: &dyn Fn(&pb::Op) -> bool| {
        d.def
            .iter()
            .find(|b| pred(&pb::Op::decode(b.as_slice()).unwrap()))
            .map(|b| llb::digest(b))
            .unwrap()
    };
    let image = digest_of(
        &|op| matches!(&op.op, Some(pb::op::Op::Source(s)) if s.identifier.starts_with("docker-image://")),
    );
    let build = d
        .def
        .iter()
        .map(|b| pb::Op::decode(b.as_slice()).unwrap())
        .find(|op| matches!(op.op, Some(pb::op::Op::Exec(_))))
        .unwrap();
    let root = &only[0].mounts[0];
    assert_eq!(root.dest, "/");
    assert_eq!(build.inputs[root.input as usize].digest, image);

    // A file no step names changes nothing.
    let mut o = lower_opts();
    o.absent_files.insert("Cargo.lock".into());
    assert_eq!(execs(&o).len(), 2);
}

/// `scratchc llb` through the real binary prints the bytes a build of the
/// same directory solves: imports loaded, `.dockerignore` applied, the
/// builders pinned by `scratch.lock` with its configs and build platform,
/// the context's `local.unique` set, all derived by hand here, apart from
/// the plan `scratchc build` and `llb` share. A stale lock is refused.
#[test]
fn llb_verb_prints_what_a_build_solves() {
    use scratchc::build::inputs;
    use scratchc::client::inputs::lock::{self, Lock, LockedBuilder};

    let dir = tempfile::tempdir().unwrap();
    for f in ["app.scratch", "go.mod", "main.go"] {
        std::fs::copy(format!("examples/hello/{f}"), dir.path().join(f)).unwrap();
    }
    std::fs::write(dir.path().join(".dockerignore"), "# docs\n*.md\n\n.git\n").unwrap();
    let file = dir.path().join("app.scratch");

    // A lock written for an arm64 daemon, as `scratchc lock` would.
    let arm = Platform::parse("linux/arm64").unwrap();
    let sources = scratchc::cli::load::load(&file).unwrap();
    let options = scratchc::compiler::Options {
        build_platform: arm.clone(),
        ..scratchc::compiler::Options::default()
    };
    let mut program = scratchc::compiler::check(&sources, &options).unwrap();
    let wanted = lock::wanted(&program, &sources, &arm);
    let digest = format!("sha256:{}", "ab".repeat(32));
    let builders = wanted
        .builders
        .iter()
        .map(|b| {
            let locked = LockedBuilder {
                digest: digest.clone(),
                env: strs(&["PATH=/usr/local/go/bin:/usr/bin:/bin", "GOPATH=/go"]),
                workdir: Some("/go".into()),
                user: None,
            };
            (b.clone(), locked)
        })
        .collect();
    let lock = Lock::new(&wanted, builders);
    let lock_path = lock::path_for(&file);
    lock.write(&lock_path).unwrap();

    let llb = |format: &str| {
        common::command()
            .args(["llb", "--format", format])
            .arg(&file)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap()
    };
    let out = llb("pb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same inputs, derived in-process as the build derives them.
    inputs::pin(&lock, &lock_path, &mut program, &sources, &arm).unwrap();
    let context = std::fs::canonicalize(dir.path()).unwrap();
    // hello has no go.sum: the dependency step is left out.
    let absent = std::collections::BTreeSet::from(["go.sum".to_string()]);
    // The build's own files first (left out of the context so that a
    // label change or `scratchc lock` re-runs no step), then .dockerignore.
    let mut excludes: Vec<String> = [".dockerignore", "app.scratch", "scratch.lock"]
        .map(String::from)
        .to_vec();
    excludes.extend(scratchc::cli::load::dockerignore(&context).unwrap());
    let lower_options = inputs::lower_options(
        excludes,
        false,
        Some(inputs::local_unique(&context)),
        Some(&lock),
        (
            std::collections::BTreeSet::from(["go.mod".to_string()]),
            absent,
        ),
        1_700_000_000,
    );
    let app = &program.apps[0];
    let target = lower::lower(
        app,
        &app.platforms[0].node,
        &sources,
        &options,
        &lower_options,
    )
    .unwrap();
    assert_eq!(out.stdout, target.definition, "llb printed other bytes");

    let json = String::from_utf8(llb("json").stdout).unwrap();
    assert!(json.contains(&format!(
        "docker-image://docker.io/library/golang:1.24@{digest}"
    )));
    assert!(json.contains("\"GOPATH=/go\""), "the locked env is used");
    assert!(
        json.contains("\"platform\": \"linux/arm64\""),
        "the lock's build platform"
    );
    assert!(json.contains(&inputs::local_unique(&context)));
    assert!(json.contains(
        r#""local.excludepatterns": "[\".dockerignore\",\"app.scratch\",\"scratch.lock\",\"*.md\",\".git\"]""#
    ));

    // A lock that no longer matches the file is refused, as a build does.
    let mut stale = lock.clone();
    stale.builders.clear();
    stale.write(&lock_path).unwrap();
    let out = llb("json");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scratchc lock"), "{err}");
}

/// The context definition a build solves early (to start the transfer
/// while the builder resolves) holds the very context op of the build's
/// definition: same bytes, so the daemon shares the work.
#[test]
fn the_early_context_op_is_the_builds_own() {
    use prost::Message;
    let p = Platform::linux_amd64();
    let o = lower_opts();
    let full = lower::lower(&hello(), &p, &sources(), &Options::default(), &o).unwrap();
    let early = lower::context_definition(&hello(), &sources(), &Options::default(), &o).unwrap();
    let full = scratchc::proto::pb::Definition::decode(full.definition.as_slice()).unwrap();
    let early = scratchc::proto::pb::Definition::decode(early.as_slice()).unwrap();
    assert_eq!(early.def.len(), 2, "one source op and the terminal");
    assert!(
        full.def.contains(&early.def[0]),
        "the context op differs from the build's"
    );
}

/// The image op and the build command of the only app of `text`, checked
/// and lowered as a build does (for linux/amd64).
fn image_of(text: &str) -> (Vec<pb::FileAction>, Vec<String>) {
    let sources = Sources::new("app.scratch", text);
    let options = Options::default();
    let program = scratchc::compiler::check(&sources, &options)
        .unwrap_or_else(|d| panic!("{}", scratchc::compiler::render_plain(&d, &sources)));
    let t = lower::lower(
        &program.apps[0],
        &Platform::linux_amd64(),
        &sources,
        &options,
        &lower_opts(),
    )
    .unwrap();
    let ops = ops(&t.definition);
    let args = ops
        .iter()
        .filter_map(|op| match &op.op {
            Some(pb::op::Op::Exec(e)) => e.meta.as_ref().map(|m| m.args.clone()),
            _ => None,
        })
        .next_back()
        .unwrap_or_default();
    let file = ops
        .iter()
        .filter_map(|op| match &op.op {
            Some(pb::op::Op::File(f)) => Some(f.actions.clone()),
            _ => None,
        })
        .next_back()
        .unwrap();
    (file, args)
}

/// The actions of an image op as short lines: `copy SRC DEST MODE OWNER`,
/// `mkdir PATH MODE OWNER`, `mkfile PATH MODE OWNER DATA` (the last copy,
/// which stamps the whole result with the epoch, left out).
fn actions(file: &[pb::FileAction]) -> Vec<String> {
    let owner = |o: &Option<pb::ChownOpt>| {
        let id = |u: &Option<pb::UserOpt>| match u.as_ref().and_then(|u| u.user.as_ref()) {
            Some(pb::user_opt::User::ById(n)) => n.to_string(),
            _ => "-".into(),
        };
        o.as_ref()
            .map_or("-".into(), |o| format!("{}:{}", id(&o.user), id(&o.group)))
    };
    file[..file.len() - 1]
        .iter()
        .map(|a| match a.action.as_ref().unwrap() {
            pb::file_action::Action::Copy(c) => {
                let mode = match c.mode {
                    -1 => "keep".to_string(),
                    m => format!("{m:o}"),
                };
                format!("copy {} {} {mode} {}", c.src, c.dest, owner(&c.owner))
            }
            pb::file_action::Action::Mkdir(m) => {
                format!("mkdir {} {:o} {}", m.path, m.mode, owner(&m.owner))
            }
            pb::file_action::Action::Mkfile(f) => format!(
                "mkfile {} {:o} {} {:?}",
                f.path,
                f.mode,
                owner(&f.owner),
                String::from_utf8_lossy(&f.data)
            ),
            other => format!("{other:?}"),
        })
        .collect()
}

/// The go template's runtime basics: a sticky, world-writable /tmp owned
/// by root (a copy of scratch's empty root, since a mkdir cannot set the
/// sticky bit), /etc/passwd and /etc/group naming the image user, and its
/// private home; nothing else besides the binary.
#[test]
fn the_go_template_gives_tmp_and_passwd() {
    let (file, args) = image_of("app hello {\n}\n");
    assert_eq!(
        actions(&file),
        vec![
            "copy / /tmp 1777 0:0",
            "mkdir /etc 755 0:0",
            "mkdir /home 755 0:0",
            "mkdir /home/nonroot 700 65532:65532",
            "copy /hello /usr/bin/hello 755 0:0",
            "mkfile /etc/passwd 644 0:0 \"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\\n\"",
            "mkfile /etc/group 644 0:0 \"nonroot:x:65532:\\n\"",
        ]
    );
    // The copy for /tmp reads scratch (no input), so it needs no op.
    assert_eq!(file[0].secondary_input, -1);
    assert!(args.contains(&"-tags=".to_string()), "{args:?}");

    // Turned off, the image is the binary alone again.
    let (file, _) = image_of("app hello {\n  tmp false\n  passwd false\n}\n");
    assert_eq!(actions(&file), vec!["copy /hello /usr/bin/hello 755 0:0"]);
}

/// `passwd` follows the image user: a name of the app's choosing, the gid
/// the runtime uses anyway (root's when `user` gives none), `/root` for
/// uid 0; a workdir or volume below /tmp is made inside the sticky one.
#[test]
fn passwd_follows_the_user_and_tmp_holds_volumes() {
    let (file, _) = image_of("app hello {\n  user 1000\n  passwd app\n  volume /tmp/cache\n}\n");
    assert_eq!(
        actions(&file),
        vec![
            "copy / /tmp 1777 0:0",
            "mkdir /etc 755 0:0",
            "mkdir /home 755 0:0",
            "mkdir /home/app 700 1000:0",
            "mkdir /tmp/cache 755 1000:0",
            "copy /hello /usr/bin/hello 755 0:0",
            "mkfile /etc/passwd 644 0:0 \"app:x:1000:0:app:/home/app:/sbin/nologin\\n\"",
            "mkfile /etc/group 644 0:0 \"root:x:0:\\n\"",
        ]
    );
    let (file, _) = image_of("app hello {\n  user 0\n  tmp false\n}\n");
    assert_eq!(
        actions(&file),
        vec![
            "mkdir /etc 755 0:0",
            "mkdir /root 700 0:0",
            "copy /hello /usr/bin/hello 755 0:0",
            "mkfile /etc/passwd 644 0:0 \"root:x:0:0:root:/root:/sbin/nologin\\n\"",
            "mkfile /etc/group 644 0:0 \"root:x:0:\\n\"",
        ]
    );
}

/// Time zones, both ways the go template offers: `tzdata` adds the
/// `timetzdata` build tag (no file; `go build` reads the space-separated
/// form), `zoneinfo` copies the builder's /usr/share/zoneinfo.
#[test]
fn tzdata_is_a_build_tag_and_zoneinfo_a_copy() {
    let (file, args) = image_of("app hello {\n  tzdata\n  tmp false\n  passwd false\n}\n");
    assert!(args.contains(&"-tags= timetzdata".to_string()), "{args:?}");
    assert_eq!(actions(&file).len(), 1, "no file: {:?}", actions(&file));
    let (_, args) = image_of("app hello {\n  tzdata\n  tags netgo osusergo\n}\n");
    assert!(
        args.contains(&"-tags=netgo osusergo timetzdata".to_string()),
        "{args:?}"
    );
    let (file, args) = image_of("app hello {\n  zoneinfo\n  tmp false\n  passwd false\n}\n");
    assert!(args.contains(&"-tags=".to_string()), "{args:?}");
    assert_eq!(
        actions(&file),
        vec![
            "copy /hello /usr/bin/hello 755 0:0",
            "copy /usr/share/zoneinfo /usr/share/zoneinfo keep 0:0",
        ]
    );
}

/// The build's own files are not part of its context, so a label change
/// or `scratchc lock` re-runs no step that reads it: the app file, its
/// imports, `scratch.lock` and `.dockerignore` are excluded (before the
/// `.dockerignore` patterns, so a `!` line there wins), unless a `file`
/// statement copies one of them, or a directory holding it.
#[test]
fn the_build_files_are_left_out_of_the_context() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("t[1]")).unwrap();
    std::fs::write(
        dir.path().join("t[1]/base.scratch"),
        "template base extends go {\n}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".dockerignore"), "*.md\n").unwrap();
    std::fs::write(
        dir.path().join("app.scratch"),
        "import \"./t[1]/base.scratch\"\n\napp a uses base {\n}\n\n\
         app b uses base {\n  file app.scratch /etc/app.scratch\n  file t[1] /etc/t\n}\n",
    )
    .unwrap();
    let excludes = |app: &str| -> String {
        let out = common::command()
            .args(["llb", "--format", "json", "--app", app, "app.scratch"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["linux/amd64"]["ops"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|op| {
                let attrs = &op["source"]["attrs"];
                (op["source"]["identifier"] == "local://context"
                    && attrs["local.includepatterns"].is_null())
                .then(|| attrs["local.excludepatterns"].as_str().unwrap().to_string())
            })
            .unwrap()
    };
    assert_eq!(
        excludes("a"),
        r#"[".dockerignore","app.scratch","scratch.lock","t\\[1]/base.scratch","*.md"]"#
    );
    assert_eq!(excludes("b"), r#"[".dockerignore","scratch.lock","*.md"]"#);
}
