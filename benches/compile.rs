//! Compiler speed: sources to definition bytes, no IO inside the timing.
//! Goals: examples/hello under 100 µs; a file of 1,000 apps under 100 ms;
//! 1 MB of hostile input (each shape of `tests/shapes`, and a chain of
//! imports) checked, its errors rendered, in under 100 ms.
//! The "build" benchmarks run what `scratchc build`, `scratchc llb` and the
//! frontend run (`build::Plan::load`, then `Plan::targets`, which lowers
//! all platforms of an app in one graph), from files held in memory.
//! Run: `cargo bench --bench compile` (`-- --quick` for a short run,
//! `-- hostile` for the hostile group alone).

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scratchc::build::{Found, Plan, Reader, Settings};
use scratchc::client::errors::BuildError;
use scratchc::compiler::sources::Unreadable;
use scratchc::compiler::{self, LowerOptions, Options, Sources};

/// examples/hello's app file; the benchmark stops if it cannot be read
/// (a silent stand-in would measure something else).
fn hello_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello/app.scratch");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[path = "../tests/shapes/mod.rs"]
mod shapes;

/// A hostile input's size: just under the 1 MiB a file may have.
const HOSTILE_BYTES: usize = (1 << 20) - 64;

fn hello_sources() -> Sources {
    Sources::new("app.scratch", hello_text())
}

/// An app file held in memory, as a build's reader (no imports, no lock,
/// no `.dockerignore`, no context file readable; of the probed files,
/// those of a plain module: `go.mod` and `go.sum`, so the dependency step
/// is there as in the examples).
struct Memory(String);

impl Reader for Memory {
    async fn read_app(&self) -> Result<(Vec<u8>, Option<Vec<u8>>), BuildError> {
        Ok((self.0.clone().into_bytes(), None))
    }
    async fn read_imports(&self, names: &[String]) -> Result<Vec<Found>, BuildError> {
        Ok(vec![Err(Unreadable::NotFound); names.len()])
    }
    async fn read_dockerignore(&self) -> Result<Option<Vec<u8>>, BuildError> {
        Ok(None)
    }
    async fn read_context(&self, _path: &str) -> Result<Option<Vec<u8>>, BuildError> {
        Ok(None)
    }
    async fn present(&self, paths: &BTreeSet<String>) -> Result<BTreeSet<String>, BuildError> {
        let plain = |p: &&String| matches!(p.as_str(), "go.mod" | "go.sum");
        Ok(paths.iter().filter(plain).cloned().collect())
    }
}

/// The build's path: plan the file, then lower every app for its
/// platforms; the definition bytes made.
fn build_all(reader: &Memory) -> usize {
    let plan = futures::executor::block_on(Plan::load(reader, Settings::default()))
        .unwrap_or_else(|e| panic!("the file does not plan: {e}"));
    let mut n = 0;
    for app in &plan.program.apps {
        let lower = plan.lower_options(app, BTreeMap::new());
        let targets = plan.targets(app, &lower).unwrap_or_else(|e| panic!("{e}"));
        n += targets.iter().map(|t| t.definition.len()).sum::<usize>();
    }
    n
}

/// One file with `n` apps, each with two platforms and a few image keys.
fn many_apps(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "app app{i} {{\n  platforms linux/amd64 linux/arm64\n  port {}\n  volume /var/lib/app{i}\n  env LOG=info\n}}\n\n",
            8000 + (i % 1000)
        ));
    }
    text
}

/// Lowers and marshals every target of a checked program, each app's
/// platforms in one graph; the bytes made.
fn lower_all(
    program: &compiler::model::Program,
    sources: &Sources,
    options: &Options,
    lower: &LowerOptions,
) -> usize {
    let mut n = 0;
    for a in &program.apps {
        let platforms: Vec<_> = a.platforms.iter().map(|p| &p.node).collect();
        for t in compiler::lower::lower_each(a, &platforms, sources, options, lower) {
            n += t.map_or(0, |t| t.definition.len());
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let options = Options::default();
    let lower = LowerOptions::default();

    let hello = hello_sources();
    match compiler::compile(&hello, &options, &lower, None) {
        Ok(t) => assert!(!t.is_empty()),
        Err(e) => panic!(
            "examples/hello does not compile:\n{}",
            compiler::render_plain(&e, &hello)
        ),
    }
    let hello_file = Memory(hello_text());
    c.bench_function("build examples/hello (plan + lower)", |b| {
        b.iter(|| build_all(black_box(&hello_file)))
    });

    let many_text = many_apps(1000);
    let many = Sources::new("app.scratch", many_text.clone());
    match compiler::compile(&many, &options, &lower, None) {
        Ok(t) => assert_eq!(t.len(), 2000),
        Err(e) => panic!(
            "generated file does not compile:\n{}",
            compiler::render_plain(&e[..1], &many)
        ),
    }
    c.bench_function("check examples/hello (no lowering)", |b| {
        b.iter(|| compiler::check(black_box(&hello), &options))
    });

    // Lowering alone (checked once): the part of `compile` that grows with
    // apps x platforms.
    let hello_program = compiler::check(&hello, &options).unwrap_or_else(|_| panic!("checks"));
    c.bench_function("lower examples/hello (checked once)", |b| {
        b.iter(|| lower_all(&hello_program, black_box(&hello), &options, &lower))
    });

    let mut g = c.benchmark_group("large");
    g.bench_function("check 1000 apps (no lowering)", |b| {
        b.iter(|| compiler::check(black_box(&many), &options))
    });
    g.sample_size(10);
    let many_program = compiler::check(&many, &options).unwrap_or_else(|_| panic!("checks"));
    g.bench_function("lower 1000 apps x 2 platforms (checked once)", |b| {
        b.iter(|| lower_all(&many_program, black_box(&many), &options, &lower))
    });
    let many_file = Memory(many_text);
    g.bench_function("build 1000 apps x 2 platforms (plan + lower)", |b| {
        b.iter(|| build_all(black_box(&many_file)))
    });
    g.finish();
}

/// Checks, and renders the errors as the CLI would (the renderer shows the
/// first 100): the work a hostile file costs `scratchc check`.
fn check_and_render(sources: &Sources, options: &Options) -> usize {
    match compiler::check(sources, options) {
        Ok(p) => p.apps.len(),
        Err(d) => compiler::render_plain(&d, sources).len(),
    }
}

/// `n` files of about `each` bytes, each importing the next, loaded the
/// way a driver does (round by round, `pending_imports_since`), then
/// checked: the import graph's cost.
fn import_chain(n: usize, each: usize) -> usize {
    let file = |i: usize| {
        let mut t = if i + 1 < n {
            format!("import \"./f{}.scratch\"\n", i + 1)
        } else {
            String::new()
        };
        t.push_str(&format!("template t{i} {{\n"));
        while t.len() + 16 < each {
            t.push_str("  # filler\n");
        }
        t.push_str("}\n");
        t
    };
    let mut root = String::from("import \"./f0.scratch\"\napp a {\n}\n");
    root.push_str(&" ".repeat(each.saturating_sub(root.len())));
    let mut sources = Sources::new("app.scratch", root);
    let mut scanned = 0;
    loop {
        let pending = compiler::check::pending_imports_since(&sources, scanned);
        scanned = sources.len();
        if pending.is_empty() {
            break;
        }
        for name in pending {
            let i: usize = name
                .trim_start_matches('f')
                .trim_end_matches(".scratch")
                .parse()
                .unwrap_or(0);
            let _ = sources.add_read(name, file(i));
        }
    }
    check_and_render(&sources, &Options::default())
}

fn hostile(c: &mut Criterion) {
    let options = Options::default();
    let mut g = c.benchmark_group("hostile");
    g.sample_size(10);
    for shape in shapes::SHAPES {
        let sources = Sources::new("app.scratch", (shape.make)(HOSTILE_BYTES));
        g.bench_function(format!("check 1 MB {}", shape.name), |b| {
            b.iter(|| check_and_render(black_box(&sources), &options))
        });
    }
    g.bench_function("load and check 1 MB in 2,000 chained imports", |b| {
        b.iter(|| import_chain(2000, HOSTILE_BYTES / 2000))
    });
    g.finish();
}

criterion_group!(benches, bench, hostile);
criterion_main!(benches);
