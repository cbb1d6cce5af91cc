//! Compiler speed: sources to definition bytes, no IO inside the timing.
//! Goals: examples/hello under 100 µs; a file of 1,000 apps under 100 ms.
//! The "build" benchmarks run what `scratchc build`, `scratchc llb` and the
//! frontend run (`build::Plan::load`, then `Plan::targets`, which lowers
//! all platforms of an app in one graph), from files held in memory.
//! Run: `cargo bench --bench compile` (`-- --quick` for a short run).

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scratchc::build::{Plan, Reader, Settings};
use scratchc::client::errors::BuildError;
use scratchc::compiler::{self, LowerOptions, Options, Sources};

/// examples/hello's app file; the benchmark stops if it cannot be read
/// (a silent stand-in would measure something else).
fn hello_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello/app.scratch");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn hello_sources() -> Sources {
    Sources::new("app.scratch", hello_text())
}

/// An app file held in memory, as a build's reader (no imports, no lock,
/// no `.dockerignore`, every probed file present).
struct Memory(String);

impl Reader for Memory {
    async fn read_app(&self) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), BuildError> {
        Ok((Some(self.0.clone().into_bytes()), None))
    }
    async fn read_imports(&self, names: &[String]) -> Result<Vec<Option<Vec<u8>>>, BuildError> {
        Ok(vec![None; names.len()])
    }
    async fn read_dockerignore(&self) -> Result<Option<Vec<u8>>, BuildError> {
        Ok(None)
    }
    async fn present(&self, paths: &BTreeSet<String>) -> Result<BTreeSet<String>, BuildError> {
        Ok(paths.clone())
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

criterion_group!(benches, bench);
criterion_main!(benches);
