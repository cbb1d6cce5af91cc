//! Compiler speed: sources to definition bytes, no IO inside the timing.
//! Goals: examples/hello under 100 µs; a file of 1,000 apps under 100 ms;
//! 1 MB of hostile input (each shape of `tests/shapes`, and a chain of
//! imports) checked, its errors rendered, in under 100 ms.
//! Run: `cargo bench --bench compile` (`-- --quick` for a short run,
//! `-- hostile` for the hostile group alone).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scratchc::compiler::{self, LowerOptions, Options, Sources};

#[path = "../tests/shapes/mod.rs"]
mod shapes;

/// A hostile input's size: just under the 1 MiB a file may have.
const HOSTILE_BYTES: usize = (1 << 20) - 64;

fn hello_sources() -> Sources {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/hello/app.scratch"
    ))
    .unwrap_or_else(|_| "app hello {\n  port 8080\n}\n".to_string());
    Sources::new("app.scratch", text)
}

/// One file with `n` apps, each with two platforms and a few image keys.
fn many_apps(n: usize) -> Sources {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "app app{i} {{\n  platforms linux/amd64 linux/arm64\n  port {}\n  volume /var/lib/app{i}\n  env LOG=info\n}}\n\n",
            8000 + (i % 1000)
        ));
    }
    Sources::new("app.scratch", text)
}

/// Lowers and marshals every target of a checked program; the bytes made.
fn lower_all(
    program: &compiler::model::Program,
    sources: &Sources,
    options: &Options,
    lower: &LowerOptions,
) -> usize {
    let mut n = 0;
    for a in &program.apps {
        for p in &a.platforms {
            let t = compiler::lower::lower(a, &p.node, sources, options, lower);
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
    c.bench_function("compile examples/hello", |b| {
        b.iter(|| compiler::compile(black_box(&hello), &options, &lower, None))
    });

    let many = many_apps(1000);
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
    g.bench_function("compile 1000 apps x 2 platforms", |b| {
        b.iter(|| compiler::compile(black_box(&many), &options, &lower, None))
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
