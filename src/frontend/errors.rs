//! Turning the frontend's failures into what BuildKit shows the user.
//!
//! A frontend reports failure through `LLBBridge.Return{error}`, a
//! `google.rpc.Status`. BuildKit decodes its typed details: an
//! `errdefs.Source` (a file's name, its text and line ranges) makes buildx
//! print the offending lines of app.scratch under the error, as it does for
//! a Dockerfile. So each compile diagnostic with a span becomes one
//! `errdefs.Source` detail.
//!
//! The detail's type URL is the bare message name `errdefs.Source` and its
//! value is the protobuf encoding: BuildKit 0.13 decodes details by looking
//! the name up in the protobuf registry (`containerd/typeurl`), where the
//! gogo-generated errdefs types are registered under exactly that name.

use prost::Message;

use crate::client::errors::BuildError;
use crate::compiler::diagnostic::{MAX_RENDERED, more_errors};
use crate::compiler::excerpt::{MAX_LABEL_LINES, escape_text, shown_line};
use crate::compiler::{Diag, Sources, Span};
use crate::proto::errdefs;
use crate::proto::google::rpc::Status;
use crate::proto::moby::buildkit::v1::frontend as gw;
use crate::proto::pb;

/// gRPC code of the errors the user reads: `Unknown`. Each hop through
/// BuildKit (frontend, gateway forwarder, Dockerfile frontend, buildx)
/// prefixes the message with the code's name unless the code is
/// `Unknown`, so any other code would print as
/// "InvalidArgument: InvalidArgument: ... message". The message says what
/// went wrong; the code carries nothing the user needs.
pub const CODE_UNKNOWN: i32 = 2;
/// gRPC code for "not implemented": an unknown subrequest.
pub const CODE_UNIMPLEMENTED: i32 = 12;

/// The language name recorded in the source info.
pub const LANGUAGE: &str = "scratch";

/// The status for compile diagnostics: one line per diagnostic in the
/// message (`file:line: message [code]`, then the help) and one
/// `errdefs.Source` per diagnostic that points into a file.
///
/// Bounded whatever the input: at most [`MAX_RENDERED`] diagnostics (a
/// line counts the rest), every text escaped ([`escape_text`]), each
/// source detail carrying only the lines buildx prints (windowed and
/// escaped like the CLI's), and no detail added past
/// [`MAX_DETAIL_BYTES`], so the status always fits in a gRPC message and
/// its headers.
pub fn diagnostics_status(diags: &[Diag], sources: &Sources) -> Status {
    let mut lines = Vec::new();
    let mut details = Vec::new();
    let mut detail_bytes = 0;
    for d in diags.iter().take(MAX_RENDERED) {
        let mut line = match d.span.and_then(|s| sources.get(s.file).map(|f| (s, f))) {
            Some((span, file)) => {
                let (l, c) = sources.line_col(span.file, span.start);
                format!(
                    "{}:{l}:{c}: {} [{}]",
                    escape_text(&file.name),
                    escape_text(&d.message),
                    d.code
                )
            }
            None => format!("{} [{}]", escape_text(&d.message), d.code),
        };
        if let Some(h) = &d.help {
            line.push_str(&format!(" (help: {})", escape_text(h)));
        }
        lines.push(line);
        if detail_bytes > MAX_DETAIL_BYTES {
            continue;
        }
        if let Some(src) = d.span.and_then(|span| source_detail(span, sources)) {
            let value = src.encode_to_vec();
            detail_bytes += value.len();
            details.push(prost_types::Any {
                type_url: "errdefs.Source".to_string(),
                value,
            });
        }
    }
    lines.extend(more_errors(diags.len()));
    Status {
        code: CODE_UNKNOWN,
        message: lines.join("\n"),
        details,
    }
}

/// Bytes of source details in one status, at most (more details are left
/// out; their lines are in the message).
pub const MAX_DETAIL_BYTES: usize = 256 << 10;

/// The status for a subrequest this frontend does not answer, with the
/// typed detail (`errdefs.Subrequest`) buildx looks for before falling
/// back. BuildKit 0.13 registers that type for JSON values under this URL.
pub fn unsupported_subrequest(name: &str) -> Status {
    let value = serde_json::json!({ "name": name }).to_string().into_bytes();
    Status {
        code: CODE_UNIMPLEMENTED,
        message: format!("unsupported request {name}"),
        details: vec![prost_types::Any {
            type_url: "github.com/moby/buildkit/errdefs.Subrequest+json".to_string(),
            value,
        }],
    }
}

/// A plain status, for failures that point at no line.
pub fn plain_status(code: i32, message: impl Into<String>) -> Status {
    Status {
        code,
        message: message.into(),
        details: Vec::new(),
    }
}

/// The status buildx shows for a failed build: diagnostics with their
/// lines as `errdefs.Source` details, a failed step with BuildKit's own
/// details passed on (its vertex, its line), anything else as its message.
pub fn status_of(e: &BuildError) -> Status {
    match e {
        BuildError::Diagnostics { diags, sources } => diagnostics_status(diags, sources),
        BuildError::Step(f) => Status {
            code: CODE_UNKNOWN,
            message: f.message.clone(),
            details: f.details.clone(),
        },
        other => plain_status(CODE_UNKNOWN, other.to_string()),
    }
}

/// A warning as BuildKit takes it (`LLBBridge.Warn`), on `vertex`: the
/// message as its short form, the help as its detail, the app file's line
/// as its source (buildx prints the line with `--debug`).
pub fn warn_request(d: &Diag, sources: &Sources, vertex: String) -> gw::WarnRequest {
    let src = d.span.and_then(|span| source_detail(span, sources));
    let code = d.code.id();
    gw::WarnRequest {
        digest: vertex,
        level: 1,
        short: format!("{} [{code}]", d.message).into_bytes(),
        detail: d
            .help
            .iter()
            .map(|h| format!("help: {h}").into_bytes())
            .collect(),
        url: String::new(),
        info: src.as_ref().and_then(|s| s.info.clone()),
        ranges: src.map(|s| s.ranges).unwrap_or_default(),
    }
}

/// The `errdefs.Source` of a span, or `None` when it points into no file.
/// Lines are 1-based, characters 0-based counts of chars. The data is not
/// the file: buildx prints the range's lines and two around them, by line
/// number, so the data keeps every line number and holds only those
/// lines, each as the CLI shows it (windowed, escaped); the others are
/// empty. A range over more than `MAX_LABEL_LINES` lines is cut to its
/// first.
fn source_detail(span: Span, sources: &Sources) -> Option<errdefs::Source> {
    let file = sources.get(span.file)?;
    let starts = sources.line_starts(span.file)?;
    let (sl, sc) = sources.line_col(span.file, span.start);
    let (mut el, mut ec) = sources.line_col(span.file, span.end.max(span.start));
    if el.saturating_sub(sl) >= MAX_LABEL_LINES {
        (el, ec) = (sl, sc + 1);
    }
    let shown = sl.saturating_sub(2).max(1)..=el + 2;
    let last = (el + 2).min(starts.len());
    let mut data = String::new();
    for line in 1..=last {
        if line > 1 {
            data.push('\n');
        }
        if shown.contains(&line) {
            let anchor = if line == sl { span.start } else { 0 };
            data.push_str(&shown_line(&file.text, starts, line - 1, anchor));
        }
    }
    let pos = |l: usize, c: usize| pb::Position {
        line: i32::try_from(l).unwrap_or(i32::MAX),
        character: i32::try_from(c.saturating_sub(1)).unwrap_or(i32::MAX),
    };
    Some(errdefs::Source {
        info: Some(pb::SourceInfo {
            filename: escape_text(&file.name),
            data: data.into_bytes(),
            definition: None,
            language: LANGUAGE.to_string(),
        }),
        ranges: vec![pb::Range {
            start: Some(pos(sl, sc)),
            end: Some(pos(el, ec)),
        }],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::compiler::Code;

    #[test]
    fn a_diagnostic_becomes_a_source_detail() {
        let text = "app hello {\n  port 99999\n}\n";
        let sources = Sources::new("app.scratch", text);
        let start = text.find("99999").unwrap();
        let d = Diag::new(Code::BadValue, "port out of range")
            .at(Span::new(0, start, start + 5), "here")
            .help("use 1-65535");
        let st = diagnostics_status(&[d], &sources);
        assert_eq!(st.code, CODE_UNKNOWN);
        assert_eq!(
            st.message,
            "app.scratch:2:8: port out of range [scratch::E0110] (help: use 1-65535)"
        );
        assert_eq!(st.details.len(), 1);
        assert_eq!(st.details[0].type_url, "errdefs.Source");
        let src = errdefs::Source::decode(st.details[0].value.as_slice()).unwrap();
        let info = src.info.unwrap();
        assert_eq!(info.filename, "app.scratch");
        assert_eq!(info.data, text.as_bytes());
        let r = &src.ranges[0];
        assert_eq!(
            r.start.as_ref().map(|p| (p.line, p.character)),
            Some((2, 7))
        );
        assert_eq!(r.end.as_ref().map(|p| (p.line, p.character)), Some((2, 12)));
    }

    /// A 1 MiB line, a control character and 5,000 diagnostics: the
    /// status stays small, escaped, and keeps the line numbers.
    #[test]
    fn a_hostile_file_gives_a_small_escaped_status() {
        let mut text = String::from("app a {\n");
        for _ in 0..5000 {
            text.push_str("  prot\u{1b}[31m 80\n");
        }
        text.push_str(&format!("  label a={}\n}}\n", "x".repeat(1 << 20)));
        let sources = Sources::new("app.scratch", text.clone());
        let mut diags = Vec::new();
        for (i, _) in text.match_indices("prot") {
            diags.push(
                Diag::new(Code::UnknownKey, "unknown key `prot\u{1b}[31m`")
                    .at(Span::new(0, i, i + 4), "x"),
            );
        }
        let long = text.find("label").unwrap();
        diags.insert(
            0,
            Diag::new(Code::StrayDollar, "stray").at(Span::new(0, long + 1000, long + 1001), "x"),
        );
        let st = diagnostics_status(&diags, &sources);
        assert!(!st.message.contains('\u{1b}'));
        assert!(
            st.message.contains("and at least 4901 more errors"),
            "{}",
            &st.message[st.message.len() - 200..]
        );
        let total: usize = st.details.iter().map(|d| d.value.len()).sum();
        assert!(total < MAX_DETAIL_BYTES + (64 << 10), "{total}");
        let src = errdefs::Source::decode(st.details[0].value.as_slice()).unwrap();
        let data = String::from_utf8(src.info.unwrap().data).unwrap();
        assert_eq!(data.lines().count(), 5003, "the line numbers are kept");
        assert!(data.len() < 8000, "{}", data.len());
        let src = errdefs::Source::decode(st.details[1].value.as_slice()).unwrap();
        let data = String::from_utf8(src.info.unwrap().data).unwrap();
        assert!(
            data.contains("prot\\x1b[31m") && !data.contains('\u{1b}'),
            "{data}"
        );
    }

    #[test]
    fn a_diagnostic_without_span_has_no_detail() {
        let sources = Sources::new("app.scratch", "");
        let st = diagnostics_status(&[Diag::new(Code::NoSuchApp, "no app named `x`")], &sources);
        assert_eq!(st.message, "no app named `x` [scratch::E0300]");
        assert!(st.details.is_empty());
    }
}
