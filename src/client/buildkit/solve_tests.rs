//! [`enrich`] on a definition the real compiler made: a failed step gets
//! its name and last output lines from the board, and its places from the
//! definition's source map, the app's own line as the primary place and
//! the template line it expands as the note. The daemon's vertex digest is
//! the one BuildKit 0.18+ computes (its own re-encoding of the op).

#![allow(clippy::unwrap_used)]

use prost::Message as _;

use super::{ERROR_LOG_LINES, enrich};
use crate::client::buildkit::progress::{LogRecord, ProgressMode, Reporter, Update, VertexRecord};
use crate::client::errors::{BuildError, StepFailure, locate_all};
use crate::compiler::{self, Options, Sources};
use crate::proto::pb;

/// Line 2 holds the app: the template line must not be mistaken for it.
const APP: &str = "# syntax=scratchc/frontend:0.1\napp hello {\n  port 8080\n}\n";
const GO_TEMPLATE: &str = include_str!("../../../stdlib/go.scratch");
const MESSAGE: &str = "process \"go build\" did not complete successfully: exit code: 1";

/// The 1-based line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// The definition `scratchc build` sends for APP (linux/amd64) and the
/// digest BuildKit names its compile step by: that of the op decoded and
/// encoded again in Go's field order, as `recomputeDigests` does.
fn hello() -> (pb::Definition, String) {
    let sources = Sources::new("app.scratch", APP);
    let targets =
        compiler::compile(&sources, &Options::default(), &Default::default(), None).unwrap();
    let def = pb::Definition::decode(targets[0].definition.as_slice()).unwrap();
    let step = def
        .def
        .iter()
        .find_map(|bytes| {
            let op = pb::Op::decode(bytes.as_slice()).unwrap();
            let Some(pb::op::Op::Exec(e)) = &op.op else {
                return None;
            };
            let args = e.meta.as_ref()?.args.join(" ");
            args.contains(" build -trimpath")
                .then(|| crate::llb::digest(&crate::llb::op_bytes(&op)))
        })
        .unwrap();
    (def, step)
}

/// A board on which `digest` ran, printed `lines` lines and failed.
fn board(digest: &str, lines: usize) -> Reporter {
    let mut r = Reporter::new(ProgressMode::Quiet, Box::new(std::io::sink()));
    let out: String = (1..=lines).map(|i| format!("line {i}\n")).collect();
    r.update(Update {
        vertexes: vec![VertexRecord {
            digest: digest.into(),
            name: "[hello linux/amd64] build: go build".into(),
            error: MESSAGE.into(),
            ..VertexRecord::default()
        }],
        logs: vec![LogRecord {
            vertex: digest.into(),
            msg: out.into_bytes(),
        }],
        ..Update::default()
    });
    r
}

fn step(err: BuildError) -> StepFailure {
    match err {
        BuildError::Step(f) => *f,
        other => panic!("not a step failure: {other:?}"),
    }
}

#[test]
fn source_map_lists_the_app_line_then_the_template_line() {
    let (def, digest) = hello();
    let all = locate_all(&def, &digest);
    let places: Vec<(&str, usize)> = all
        .iter()
        .map(|l| (l.filename.as_str(), l.ranges[0].start_line))
        .collect();
    assert_eq!(
        places,
        [
            ("app.scratch", line_of(APP, "app hello {")),
            (
                "<stdlib>/go.scratch",
                line_of(GO_TEMPLATE, "build-run go -C")
            ),
        ]
    );
    assert!(locate_all(&def, "sha256:0000").is_empty());
}

#[test]
fn a_step_error_gets_its_places_name_and_last_lines() {
    let (def, digest) = hello();
    let reporter = board(&digest, 20);
    let err = BuildError::Step(Box::new(StepFailure {
        message: MESSAGE.into(),
        vertex: Some(digest.clone()),
        ..StepFailure::default()
    }));
    let f = step(enrich(err, &reporter, &[def]));
    let primary = f.location.as_ref().unwrap();
    assert_eq!(
        primary.filename, "app.scratch",
        "the primary place is the app's"
    );
    assert_eq!(primary.ranges[0].start_line, line_of(APP, "app hello {"));
    assert_eq!(f.also.len(), 1, "{:?}", f.also);
    assert_eq!(f.also[0].filename, "<stdlib>/go.scratch");
    assert_eq!(
        f.also[0].ranges[0].start_line,
        line_of(GO_TEMPLATE, "build-run go -C")
    );
    assert_eq!(
        f.name.as_deref(),
        Some("[hello linux/amd64] build: go build")
    );
    assert_eq!(f.logs.len(), ERROR_LOG_LINES);
    assert_eq!(f.logs.last().map(String::as_str), Some("line 20"));
    assert_eq!(f.message, MESSAGE);
    assert_eq!(f.vertex.as_deref(), Some(digest.as_str()));
}

/// The error of `Control.Solve` alone names no vertex: the board's failed
/// vertex is the step.
#[test]
fn a_daemon_error_takes_the_failed_vertex_of_the_board() {
    let (def, digest) = hello();
    let reporter = board(&digest, 3);
    let err = BuildError::Daemon {
        call: "Control.Solve",
        message: MESSAGE.into(),
    };
    let f = step(enrich(err, &reporter, &[def]));
    assert_eq!(f.vertex.as_deref(), Some(digest.as_str()));
    assert_eq!(f.location.unwrap().filename, "app.scratch");
    assert_eq!(f.logs, ["line 1", "line 2", "line 3"]);

    // With nothing failed on the board, it stays a daemon error.
    let quiet = Reporter::new(ProgressMode::Quiet, Box::new(std::io::sink()));
    let err = BuildError::Daemon {
        call: "Control.Solve",
        message: "failed to export".into(),
    };
    assert!(matches!(
        enrich(err, &quiet, &[]),
        BuildError::Daemon { .. }
    ));
}

/// The rendered report: "this step failed" under the app.scratch line, the
/// template line as a note below it.
#[test]
fn the_report_puts_the_error_on_the_app_line() {
    let (def, digest) = hello();
    let reporter = board(&digest, 2);
    let err = BuildError::Step(Box::new(StepFailure {
        message: MESSAGE.into(),
        vertex: Some(digest),
        ..StepFailure::default()
    }));
    let text = step(enrich(err, &reporter, &[def])).render(false);
    let (error, note) = text
        .split_once("the step is defined by this template line")
        .unwrap_or_else(|| panic!("no note:\n{text}"));
    let app_line = line_of(APP, "app hello {");
    assert!(
        error.contains(&format!("[app.scratch:{app_line}:1]")),
        "{text}"
    );
    assert!(error.contains("this step failed"), "{text}");
    assert!(!error.contains("go.scratch"), "{text}");
    let tpl_line = line_of(GO_TEMPLATE, "build-run go -C");
    assert!(
        note.contains(&format!("[<stdlib>/go.scratch:{tpl_line}:3]")),
        "{text}"
    );
    assert!(note.contains("expands to the failing step"), "{text}");
    assert!(!note.contains("this step failed"), "{text}");
}
