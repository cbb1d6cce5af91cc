//! The two parsers held to each other: on every input, [`super::parse`]
//! (`lines`, and pest on filler for an error) gives exactly what
//! [`super::grammar::parse`] (pest alone) gives; `lines` stops exactly
//! where pest finds a grammar error, and pest finds the same error (same
//! position, same expected rules) in the text with `lines`' filler in.
//! Inputs: every `.scratch` file of the repository, the hostile shapes,
//! generated lines, and mutations of all of these.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::grammar;
use super::lines;
use super::*;
use crate::compiler::ast::{ItemKind, Trivia};

#[path = "../../../tests/common/rng.rs"]
mod rng;
#[path = "../../../tests/shapes/mod.rs"]
mod shapes;

use rng::Rng;

/// Checks one input; panics with the input on a difference.
fn same(text: &str) {
    let reference = grammar::parse(0, text);
    let ours = parse(0, text);
    assert_eq!(ours, reference, "the parsers differ on {text:?}");
    let grammar_error = matches!(&reference, Err(d) if d.len() == 1 && d[0].code == Code::Syntax);
    match lines::parse(0, text) {
        Ok(_) => assert!(!grammar_error, "lines accepts {text:?}"),
        Err(stop) => {
            assert!(grammar_error, "lines stops on {text:?}");
            let filled = stop.fill(text);
            let filled = filled.as_deref().unwrap_or(text);
            assert_eq!(
                grammar::raw_error(filled),
                grammar::raw_error(text),
                "the filler changes pest's error on {text:?} (filled: {filled:?})"
            );
        }
    }
}

fn scratch_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "scratch") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["examples", "stdlib", "tests", "fuzz/seeds", "frontend"] {
        walk(&root.join(dir), &mut out);
    }
    out.sort();
    out
}

/// Every file, and every hostile shape at a few sizes.
fn corpus() -> Vec<String> {
    let mut texts: Vec<String> = scratch_files()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(texts.len() > 50, "the repository's files were not found");
    for shape in shapes::SHAPES {
        for size in [64, 300, 2000] {
            texts.push((shape.make)(size));
        }
    }
    texts
}

#[test]
fn same_on_every_file_and_shape() {
    for text in corpus() {
        same(&text);
    }
}

/// Pieces that matter to the grammar.
const PIECES: &[&str] = &[
    "{",
    "}",
    "\n",
    "\r",
    "\r\n",
    " ",
    "\t",
    "\\",
    "\\\n",
    "\\ \n",
    "\\\r\n",
    "\"",
    "\\\"",
    "$",
    "${",
    "${X}",
    "${X",
    "$$",
    "#",
    "# c\n",
    "=",
    "a",
    "x1",
    "-",
    "é",
    "\u{1b}",
    "\0",
    "import",
    "app",
    "template",
    "uses",
    "extends",
    "sha256:",
    "sha256:ab",
    "kubernetes {\n",
    "port 80",
    "\"${",
    "\\q",
    "\\n",
    "${A#b}",
    "${A:+w}",
    "${1}",
    "\"a b\"",
];

/// Lines that, put together at random, make files of every shape the
/// grammar has: top-level items, block bodies, sections, continuations,
/// errors on any line.
const LINES: &[&str] = &[
    "",
    "  ",
    "# a comment",
    "  # indented comment  ",
    "import \"./a.scratch\"",
    "import \"./a.scratch\" sha256:00ff # pinned",
    "import \"x",
    "app a {",
    "app b uses t {",
    "template t {",
    "template u extends t { # c",
    "app\\",
    "  c uses t {",
    "}",
    "} # end",
    "  }",
    "  port 80",
    "  volume /a /b \"/c d\" /e${X}",
    "  label a=b \"c=${V#v}\" $$x",
    "  cmd sh -c \\",
    "    \"echo hi\" \\",
    "  env A=\"unclosed",
    "  env A=\"a\\qb\" $ ${bad name}",
    "  kubernetes {",
    "    replicas 2",
    "    probe {",
    "  x {",
    "  port 80 }",
    "  port { 80",
    "  \"quoted key\"",
    "  Port 80",
    "  label \"${${${\"",
    "  label \"${${${",
    "\t\tenv K=v\t# tab",
    "  volume /a \\",
    "  volume /a \\ ",
    "garbage !",
];

/// A file of random lines, with random line ends.
fn random_lines(rng: &mut Rng) -> String {
    let mut text = String::new();
    for _ in 0..1 + rng.below(12) {
        text.push_str(rng.pick(LINES));
        text.push_str(rng.pick(&["\n", "\n", "\n", "\r\n", "\r", ""]));
    }
    text
}

/// `text` changed at one to four places: bytes deleted, a piece
/// inserted, a chunk repeated, a random byte, or cut short.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 if !bytes.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 | 2 => {
                let piece = rng.pick(PIECES).as_bytes();
                bytes.splice(at..at, piece.iter().copied());
            }
            3 if !bytes.is_empty() => {
                let end = (at + rng.below(16)).min(bytes.len());
                let chunk = bytes[at.min(end)..end].to_vec();
                bytes.splice(at..at, chunk);
            }
            4 => bytes.truncate(at),
            _ => bytes.insert(at, (rng.next() & 0x7f) as u8),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Mutations of the repository's files and the shapes, and generated
/// files and their mutations. `SCRATCH_SYNTAX_ITERATIONS` sets how many of
/// each (default 3,000).
#[test]
fn same_on_mutations() {
    let corpus = corpus();
    let iterations: usize = std::env::var("SCRATCH_SYNTAX_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..iterations {
        let text = &corpus[rng.below(corpus.len())];
        same(&mutate(&mut rng, text));
        let lines = random_lines(&mut rng);
        same(&lines);
        same(&mutate(&mut rng, &lines));
    }
}

/// Errors far into long lines and files, where the filler does most.
#[test]
fn same_on_late_errors() {
    let values: String = (0..400).map(|i| format!(" /v{i}")).collect();
    let quoted: String = (0..400).map(|i| format!(" \"/q {i}\"")).collect();
    let stmts: String = (0..200).map(|i| format!("  env K{i}=v\n")).collect();
    let blocks: String = (0..100)
        .map(|i| format!("template t{i} {{\n  port 80\n}}\n\n"))
        .collect();
    for tail in [
        "",
        " }",
        " {",
        " \"open",
        " \"${${${",
        " \"a\\",
        " $",
        " #c",
        " \\",
        " \"q\"}",
    ] {
        for text in [
            format!("app a {{\n  volume{values}{tail}\n}}\n"),
            format!("app a {{\n  volume{quoted}{tail}\n}}\n"),
            format!("app a {{\n  label \"{}{tail}\n}}\n", "${".repeat(300)),
            format!("{blocks}app a {{\n{stmts}  kubernetes {{\n{stmts}  port 1{tail}\n  }}\n}}\n"),
            format!("{blocks}app a {{\n{stmts}  port 1{tail}\n}}\n"),
            format!("{blocks}app a {{\n{stmts}}}\n{tail}"),
        ] {
            same(&text);
        }
    }
}

#[test]
fn parses_a_small_file() {
    let src = "# syntax=x\nimport \"./a.scratch\"\n\napp hello {\n  port 8080 # web\n  ldflags \"-X a=${V}\"\n}\n";
    let f = parse(0, src).unwrap();
    assert_eq!(f.items.len(), 2);
    let ItemKind::Block(b) = &f.items[1].kind else {
        panic!()
    };
    assert_eq!(b.name.node, "hello");
    assert_eq!(b.stmts.len(), 2);
    assert_eq!(b.stmts[0].comment.as_ref().unwrap().node, "# web");
    assert_eq!(f.items[1].leading, vec![Trivia::Blank]);
}

#[test]
fn continuation_and_no_final_newline() {
    let src = "app a {\n  cmd x \\\n    y\n}";
    let f = parse(0, src).unwrap();
    let ItemKind::Block(b) = &f.items[0].kind else {
        panic!()
    };
    assert_eq!(b.stmts[0].values.len(), 2);
}

#[test]
fn errors_are_diags() {
    assert!(parse(0, "app a {\n  port 80 }\n}\n").is_err());
    assert!(parse(0, "app a {\n").is_err());
    let e = parse(0, "app a {\n  x \"\\q\" $a\n}\n").unwrap_err();
    assert_eq!(e.len(), 2);
}

/// Found by the mutations: a last line that ends the text (no newline, or
/// a continuation's) leaves pest's farthest attempt where the next line
/// would start, so its filler must keep that line.
#[test]
fn same_where_the_last_line_ends_the_text() {
    for text in [
        "app a {\n  volume /a \\app\\\n",
        "app a {\n  port 80\n  user 1000:100",
        "app a {\n  port 80\n  kubernetes {\n    replicas 2\n  }",
        "app a {\n  port 80\n  cmd x \\\n",
        "app a {\n  port 80\n  cmd x \\\r\n",
        "app a {\n  port 80\n  # the end",
        "app a {",
    ] {
        same(text);
    }
}
