//! Compiler speed: sources to definition bytes, no IO inside the timing.
//! Goals: examples/hello under 100 µs; a file of 1,000 apps under 100 ms;
//! 1 MB of hostile input (each shape of `tests/shapes`, and a chain of
//! imports) checked, its errors rendered, in under 100 ms.
//!
//! Every benchmark but the hostile group runs the path the product runs:
//! `build::Plan::load` (what `scratchc build`, `scratchc llb` and the
//! frontend run), then `Plan::targets`, which lowers all platforms of an
//! app in one graph (`compiler::lower::lower_each`) with the plan's own
//! lowering options. examples/hello is read from its directory by the
//! CLI's own reader (`cli::load::Disk`) once, before any timing: its
//! answers (the app file, the lock, `.dockerignore`, which dependency
//! files the context holds) are replayed from memory, and the definitions
//! replayed are checked to be the bytes `Disk` gives. A file that cannot
//! be read, or a question the recording cannot answer, stops the
//! benchmark: a stand-in would measure something else.
//! Run: `cargo bench --bench compile` (`-- --quick` for a short run,
//! `-- hostile` for the hostile group alone).

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use scratchc::build::{Found, Plan, Reader, Settings};
use scratchc::cli::load::Disk;
use scratchc::client::errors::BuildError;
use scratchc::compiler::{self, Options, Sources};

#[path = "../tests/shapes/mod.rs"]
mod shapes;

/// A hostile input's size: just under the 1 MiB a file may have.
const HOSTILE_BYTES: usize = (1 << 20) - 64;

/// examples/hello's app file.
const HELLO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello/app.scratch");

/// What a build's reader answered, replayed from memory: the answers the
/// CLI's disk reader gave for a real directory, so the timing holds no IO
/// and the plan is the one `scratchc llb` makes. Asked anything it was not
/// recorded answering, it panics.
struct Recorded {
    app: Vec<u8>,
    lock: Option<Vec<u8>>,
    dockerignore: Option<Vec<u8>>,
    imports: BTreeMap<String, Found>,
    /// The dependency files asked about, and those the context holds.
    probed: BTreeSet<String>,
    present: BTreeSet<String>,
    /// The small context files read (the module's `go.mod`).
    context: BTreeMap<String, Option<Vec<u8>>>,
}

impl Recorded {
    /// Plans the app file at `path` with the CLI's reader and records every
    /// answer that plan needed; returns it with the plan.
    fn from_disk(path: &str) -> (Recorded, Plan) {
        let disk = Disk::new(Path::new(path));
        let plan = disk
            .plan(Settings::default())
            .unwrap_or_else(|e| panic!("{path} does not plan: {e}"));
        use futures::executor::block_on as run;
        let (app, lock) = run(disk.read_app()).unwrap_or_else(|e| panic!("{path}: {e}"));
        let dockerignore = run(disk.read_dockerignore()).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = plan
            .sources
            .iter()
            .skip(1)
            .map(|(_, f)| f.name.clone())
            .filter(|n| !compiler::stdlib::is_stdlib(n))
            .collect();
        let found = run(disk.read_imports(&names)).unwrap_or_else(|e| panic!("{e}"));
        let probed = plan.program.context_probes();
        let present = probed.difference(&plan.absent).cloned().collect();
        let recorded = Recorded {
            app,
            lock,
            dockerignore,
            imports: names.into_iter().zip(found).collect(),
            probed,
            present,
            context: [(
                "go.mod".to_string(),
                run(disk.read_context("go.mod")).unwrap_or_else(|e| panic!("{e}")),
            )]
            .into(),
        };
        (recorded, plan)
    }

    /// The same answers for another app file text (same directory).
    fn with_app(&self, text: String) -> Recorded {
        Recorded {
            app: text.into_bytes(),
            lock: self.lock.clone(),
            dockerignore: self.dockerignore.clone(),
            imports: self.imports.clone(),
            probed: self.probed.clone(),
            present: self.present.clone(),
            context: self.context.clone(),
        }
    }
}

impl Reader for Recorded {
    async fn read_app(&self) -> Result<(Vec<u8>, Option<Vec<u8>>), BuildError> {
        Ok((self.app.clone(), self.lock.clone()))
    }
    async fn read_imports(&self, names: &[String]) -> Result<Vec<Found>, BuildError> {
        Ok(names
            .iter()
            .map(|n| match self.imports.get(n) {
                Some(found) => found.clone(),
                None => panic!("import {n} was not recorded"),
            })
            .collect())
    }
    async fn read_dockerignore(&self) -> Result<Option<Vec<u8>>, BuildError> {
        Ok(self.dockerignore.clone())
    }
    async fn read_context(&self, path: &str) -> Result<Option<Vec<u8>>, BuildError> {
        match self.context.get(path) {
            Some(data) => Ok(data.clone()),
            None => panic!("the context file {path} was not recorded"),
        }
    }
    async fn present(&self, paths: &BTreeSet<String>) -> Result<BTreeSet<String>, BuildError> {
        if let Some(p) = paths.difference(&self.probed).next() {
            panic!("whether the context holds {p} was not recorded");
        }
        Ok(paths.intersection(&self.present).cloned().collect())
    }
}

/// Plans the file the reader holds, as the CLI names it.
fn plan(reader: &impl Reader, file: &str) -> Plan {
    let settings = Settings {
        file: file.to_string(),
        ..Settings::default()
    };
    futures::executor::block_on(Plan::load(reader, settings))
        .unwrap_or_else(|e| panic!("the file does not plan: {e}"))
}

/// Lowers every app of a plan for its platforms, as `scratchc llb` and
/// the build do, handing each definition to `each` (and dropping it).
fn lower_each_app(plan: &Plan, mut each: impl FnMut(Vec<u8>)) {
    for app in &plan.program.apps {
        let lower = plan.lower_options(app, BTreeMap::new());
        let targets = plan.targets(app, &lower).unwrap_or_else(|e| panic!("{e}"));
        targets.into_iter().for_each(|t| each(t.definition));
    }
}

/// Every definition of a plan (to compare, outside the timing).
fn definitions(plan: &Plan) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    lower_each_app(plan, |d| out.push(d));
    out
}

/// The bytes of every definition of a plan.
fn lower_all(plan: &Plan) -> usize {
    let mut n = 0;
    lower_each_app(plan, |d| n += d.len());
    n
}

/// The build's path: plan the file, then lower every app for its
/// platforms; the definition bytes made.
fn build_all(reader: &impl Reader, file: &str) -> usize {
    lower_all(&plan(reader, file))
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

fn bench(c: &mut Criterion) {
    let (hello, disk_plan) = Recorded::from_disk(HELLO);
    let file = disk_plan.settings.file.clone();
    let hello_plan = plan(&hello, &file);
    // The replay makes the bytes the disk reader's plan makes.
    let from_disk = definitions(&disk_plan);
    assert_eq!(from_disk.len(), 1, "examples/hello has one target");
    assert!(
        definitions(&hello_plan) == from_disk,
        "the recorded reader's definitions differ from cli::load::Disk's"
    );

    c.bench_function("build examples/hello (plan + lower)", |b| {
        b.iter(|| build_all(black_box(&hello), &file))
    });
    let disk = Disk::new(Path::new(HELLO));
    c.bench_function("build examples/hello from disk (cli::load::Disk)", |b| {
        b.iter(|| build_all(black_box(&disk), &file))
    });
    let options = hello_plan.options();
    c.bench_function("check examples/hello (no lowering)", |b| {
        b.iter(|| compiler::check(black_box(&hello_plan.sources), &options))
    });
    // Lowering alone (planned once): the part that grows with apps x
    // platforms.
    c.bench_function("lower examples/hello (planned once)", |b| {
        b.iter(|| lower_all(black_box(&hello_plan)))
    });

    let many = hello.with_app(many_apps(1000));
    let many_plan = plan(&many, "app.scratch");
    assert_eq!(definitions(&many_plan).len(), 2000);
    let mut g = c.benchmark_group("large");
    g.bench_function("check 1000 apps (no lowering)", |b| {
        b.iter(|| compiler::check(black_box(&many_plan.sources), &options))
    });
    g.sample_size(10);
    g.bench_function("lower 1000 apps x 2 platforms (planned once)", |b| {
        b.iter(|| lower_all(black_box(&many_plan)))
    });
    g.bench_function("build 1000 apps x 2 platforms (plan + lower)", |b| {
        b.iter(|| build_all(black_box(&many), "app.scratch"))
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
