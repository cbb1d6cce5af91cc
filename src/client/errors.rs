//! Build failures as data, and their rendering.
//!
//! A failing step reaches us three ways: the vertex record in the Status
//! stream (its `error` string and its logs), the gRPC error of the gateway
//! `Solve` (its `grpc-status-details-bin` holds a `google.rpc.Status` whose
//! details name the vertex digest and, when the definition had a source
//! map, the source range), and the definition we sent (whose source map
//! ties a digest to lines of app.scratch). [`StepFailure`] gathers what is
//! known; [`StepFailure::render`] prints it like a compiler diagnostic,
//! pointing into app.scratch.
//!
//! BuildKit 0.13 encodes its typed details as JSON inside `Any` (type URLs
//! ending in `+json`); a binary protobuf form is also accepted.

use std::fmt;

use base64::Engine as _;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};

use crate::compiler::excerpt::{self, Excerpt, escape_text};
use prost::Message as _;
use serde::Deserialize;

use super::ClientError;
use super::inputs::lock::LockError;
use crate::compiler::{Code, Diag, Sources};
use crate::proto::google::rpc::Status as RpcStatus;
use crate::proto::{errdefs, pb};

/// Everything a build can fail with, on any path (`scratchc build`, `llb`,
/// `lock`, `verify`, the frontend). Each kind has one exit code
/// ([`BuildError::exit_code`], the table in docs/client.md).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Connecting, the session, or a call to the daemon failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The daemon cannot do what was asked; `help` says how to get it.
    #[error("{what}")]
    Unsupported { what: String, help: String },
    /// A command line value is wrong.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// An input file could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A file of the user's was refused or could not be read
    /// (`client::inputs::userfile`: not regular, outside its directory, too large).
    #[error(transparent)]
    File(#[from] super::inputs::userfile::FileError),
    /// The files are not as the verb needs them, and `help` says how to
    /// get there: an app file that is missing (`scratchc init` writes one
    /// in a Go module), one `scratchc init` would overwrite, a directory
    /// that is no Go module.
    #[error("{what}")]
    Precondition { what: String, help: String },
    /// The app file (or a template, or the binary it made) has errors:
    /// diagnostics with their sources, to render or to point buildx at.
    #[error("{}", .diags.first().map(|d| d.message.as_str()).unwrap_or("the app file has errors"))]
    Diagnostics {
        diags: Vec<Diag>,
        sources: Box<Sources>,
    },
    /// `scratch.lock` is malformed or stale.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A local cache directory cannot be used.
    #[error(transparent)]
    Cache(#[from] super::buildkit::cache::CacheError),
    /// A build step failed.
    #[error("{}", .0.message)]
    Step(Box<StepFailure>),
    /// The daemon refused or failed the build for a reason not tied to a
    /// step (an export, a missing image...).
    #[error("{call}: {message}")]
    Daemon { call: &'static str, message: String },
    /// Interrupted (Ctrl-C); the build was cancelled on the daemon.
    #[error("build cancelled")]
    Cancelled,
}

/// The exit codes, one per kind of failure (docs/client.md, "Exit codes").
pub mod exit {
    /// Built, or nothing wrong.
    pub const OK: u8 = 0;
    /// The input (the app file, a template, a lock, a source file) or the
    /// build itself failed.
    pub const FAILED: u8 = 1;
    /// The command line is wrong: a malformed value, a choice left open.
    pub const USAGE: u8 = 2;
    /// The daemon or the machine failed: unreachable, refused, out of
    /// space, no network for a container.
    pub const DAEMON: u8 = 3;
    /// Interrupted: the build was cancelled on the daemon.
    pub const INTERRUPTED: u8 = 130;
}

impl BuildError {
    /// The process exit code of this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            BuildError::Usage(_) => exit::USAGE,
            BuildError::Input(_)
            | BuildError::File(_)
            | BuildError::Precondition { .. }
            | BuildError::Diagnostics { .. }
            | BuildError::Lock(_)
            | BuildError::Cache(_) => exit::FAILED,
            BuildError::Step(f) if f.daemon_fault().is_some() => exit::DAEMON,
            BuildError::Step(_) => exit::FAILED,
            BuildError::Client(ClientError::Io { .. } | ClientError::InvalidPattern { .. }) => {
                exit::FAILED
            }
            BuildError::Client(ClientError::InvalidAddress { .. } | ClientError::Tls { .. }) => {
                exit::USAGE
            }
            BuildError::Client(_) | BuildError::Unsupported { .. } | BuildError::Daemon { .. } => {
                exit::DAEMON
            }
            BuildError::Cancelled => exit::INTERRUPTED,
        }
    }

    /// A daemon error of `call`, with typed details decoded where present
    /// (the caller may then enrich it from the progress board).
    pub fn from_status(call: &'static str, status: &tonic::Status) -> BuildError {
        let details = ErrorDetails::from_status(status);
        if details.vertex.is_some() || details.source.is_some() {
            BuildError::Step(Box::new(StepFailure {
                message: status.message().to_string(),
                vertex: details.vertex,
                location: details.source,
                details: RpcStatus::decode(status.details())
                    .map(|s| s.details)
                    .unwrap_or_default(),
                ..StepFailure::default()
            }))
        } else {
            BuildError::Daemon {
                call,
                message: status.message().to_string(),
            }
        }
    }

    /// Diagnostics of the app file, as an error.
    pub fn diagnostics(diags: Vec<Diag>, sources: &Sources) -> BuildError {
        BuildError::Diagnostics {
            diags,
            sources: Box::new(sources.clone()),
        }
    }
}

/// A value on the command line (or in the frontend's options) that cannot
/// be used: what is wrong, and how to write it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", .help.as_ref().map(|h| format!("\n  help: {h}")).unwrap_or_default())]
pub struct UsageError {
    pub message: String,
    pub help: Option<String>,
}

impl InputError {
    /// A file that is not there.
    pub fn missing(action: &'static str, path: impl Into<std::path::PathBuf>) -> InputError {
        InputError {
            action,
            path: path.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        }
    }
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError {
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> UsageError {
        self.help = Some(help.into());
        self
    }
}

/// An input file that could not be read: what was being done, where, why.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}{}", path.display(), hint(source))]
pub struct InputError {
    /// What was being done (`read`, `write to`, `create`).
    pub action: &'static str,
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            " (check the path; `scratchc check --help` shows what FILE may be)"
        }
        std::io::ErrorKind::PermissionDenied => " (check its permissions)",
        std::io::ErrorKind::InvalidData => " (scratch files are UTF-8 text)",
        std::io::ErrorKind::IsADirectory => " (name the app file, e.g. DIR/app.scratch)",
        _ => "",
    }
}

/// A source location, resolved to a file's name and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLocation {
    pub filename: String,
    pub text: String,
    /// 1-based lines, 0-based characters, as in `pb.Range`.
    pub ranges: Vec<LineRange>,
}

/// A `pb.Range`: 1-based lines, 0-based characters; character 0 at both
/// ends means whole lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineRange {
    pub start_line: usize,
    pub start_char: usize,
    pub end_line: usize,
    pub end_char: usize,
}

impl LineRange {
    fn from_pb(r: &pb::Range) -> LineRange {
        let p = |p: &Option<pb::Position>| {
            p.as_ref()
                .map(|p| (p.line.max(0) as usize, p.character.max(0) as usize))
                .unwrap_or((0, 0))
        };
        let (sl, sc) = p(&r.start);
        let (el, ec) = p(&r.end);
        LineRange {
            start_line: sl,
            start_char: sc,
            end_line: el.max(sl),
            end_char: ec,
        }
    }

    /// The byte span in `text`, clamped to the text.
    fn byte_span(&self, text: &str) -> (usize, usize) {
        let line_start = |line: usize| -> Option<usize> {
            if line <= 1 {
                return Some(0);
            }
            text.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)
        };
        let line_end = |start: usize| text[start..].find('\n').map_or(text.len(), |i| start + i);
        let char_at = |start: usize, ch: usize| {
            let end = line_end(start);
            text[start..end]
                .char_indices()
                .nth(ch)
                .map_or(end, |(i, _)| start + i)
        };
        let Some(s0) = line_start(self.start_line) else {
            return (text.len(), text.len());
        };
        // Character 0 at both ends (what scratchc's source maps write)
        // means whole lines, the end line included.
        let whole_lines = self.start_char == 0 && self.end_char == 0;
        let start = if whole_lines {
            s0
        } else {
            char_at(s0, self.start_char)
        };
        let end = if whole_lines {
            line_end(line_start(self.end_line).unwrap_or(s0).max(s0))
        } else {
            let e0 = line_start(self.end_line).unwrap_or(text.len());
            char_at(e0, self.end_char)
        };
        // Skip leading blanks so the label sits under the text.
        let trimmed = start
            + (text[start..end.max(start)].len() - text[start..end.max(start)].trim_start().len());
        (trimmed.min(end), end.max(trimmed))
    }
}

/// The typed details decoded from a gRPC error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// `errdefs.Vertex.digest`.
    pub vertex: Option<String>,
    /// `errdefs.Source`, resolved.
    pub source: Option<SourceLocation>,
}

#[derive(Deserialize)]
struct JsonVertex {
    #[serde(default)]
    digest: String,
}

#[derive(Deserialize)]
struct JsonSource {
    #[serde(default)]
    info: Option<JsonSourceInfo>,
    #[serde(default)]
    ranges: Vec<JsonRange>,
}

#[derive(Deserialize)]
struct JsonSourceInfo {
    #[serde(default)]
    filename: String,
    /// Base64, as Go's encoding/json writes `[]byte`.
    #[serde(default)]
    data: String,
}

#[derive(Deserialize, Default)]
struct JsonPosition {
    #[serde(default)]
    line: i32,
    #[serde(default)]
    character: i32,
}

#[derive(Deserialize)]
struct JsonRange {
    #[serde(default)]
    start: JsonPosition,
    #[serde(default)]
    end: JsonPosition,
}

impl ErrorDetails {
    /// Decodes `grpc-status-details-bin` (tonic exposes it as `details()`).
    pub fn from_status(status: &tonic::Status) -> ErrorDetails {
        match RpcStatus::decode(status.details()) {
            Ok(s) => ErrorDetails::from_rpc(&s),
            Err(_) => ErrorDetails::default(),
        }
    }

    /// Decodes the details of a `google.rpc.Status`. Unknown details (stack
    /// traces, other types) are skipped.
    pub fn from_rpc(status: &RpcStatus) -> ErrorDetails {
        let mut out = ErrorDetails::default();
        for any in &status.details {
            let url = any.type_url.as_str();
            let json = url.ends_with("+json");
            let kind = url.trim_end_matches("+json");
            if kind.ends_with("errdefs.Vertex") {
                let digest = if json {
                    serde_json::from_slice::<JsonVertex>(&any.value)
                        .ok()
                        .map(|v| v.digest)
                } else {
                    errdefs::Vertex::decode(any.value.as_slice())
                        .ok()
                        .map(|v| v.digest)
                };
                // The innermost (last) vertex is the one that failed.
                if let Some(d) = digest.filter(|d| !d.is_empty()) {
                    out.vertex = Some(d);
                }
            } else if kind.ends_with("errdefs.Source") {
                let src = if json {
                    serde_json::from_slice::<JsonSource>(&any.value)
                        .ok()
                        .and_then(source_from_json)
                } else {
                    errdefs::Source::decode(any.value.as_slice())
                        .ok()
                        .and_then(|s| source_from_pb(s.info.as_ref(), &s.ranges))
                };
                if out.source.is_none() {
                    out.source = src;
                }
            }
        }
        out
    }
}

fn source_from_json(s: JsonSource) -> Option<SourceLocation> {
    let info = s.info?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(info.data.as_bytes())
        .unwrap_or_default();
    Some(SourceLocation {
        filename: info.filename,
        text: String::from_utf8_lossy(&data).into_owned(),
        ranges: s
            .ranges
            .iter()
            .map(|r| {
                LineRange::from_pb(&pb::Range {
                    start: Some(pb::Position {
                        line: r.start.line,
                        character: r.start.character,
                    }),
                    end: Some(pb::Position {
                        line: r.end.line,
                        character: r.end.character,
                    }),
                })
            })
            .collect(),
    })
}

fn source_from_pb(info: Option<&pb::SourceInfo>, ranges: &[pb::Range]) -> Option<SourceLocation> {
    let info = info?;
    Some(SourceLocation {
        filename: info.filename.clone(),
        text: String::from_utf8_lossy(&info.data).into_owned(),
        ranges: ranges.iter().map(LineRange::from_pb).collect(),
    })
}

/// Looks a vertex digest up in a definition's source map (its first
/// location).
pub fn locate(def: &pb::Definition, digest: &str) -> Option<SourceLocation> {
    locate_all(def, digest).into_iter().next()
}

/// Every location of a vertex in a definition's source map, in map order
/// (scratchc writes the app's own line first, then template lines).
pub fn locate_all(def: &pb::Definition, digest: &str) -> Vec<SourceLocation> {
    let Some(src) = def.source.as_ref() else {
        return Vec::new();
    };
    let Some(locs) = src.locations.get(digest) else {
        return Vec::new();
    };
    locs.locations
        .iter()
        .filter_map(|loc| {
            let info = src.infos.get(usize::try_from(loc.source_index).ok()?)?;
            source_from_pb(Some(info), &loc.ranges)
        })
        .collect()
}

/// What is known of a failed step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepFailure {
    /// The daemon's message (e.g. `process "..." did not complete
    /// successfully: exit code: 1`).
    pub message: String,
    /// The failing vertex digest.
    pub vertex: Option<String>,
    /// The step's name as shown in progress.
    pub name: Option<String>,
    /// The step's last output lines.
    pub logs: Vec<String>,
    /// Where in app.scratch the step comes from.
    pub location: Option<SourceLocation>,
    /// Further places that made the step (the template lines it expands).
    pub also: Vec<SourceLocation>,
    /// BuildKit's typed details as it sent them, for a frontend to pass
    /// on (buildx then shows the failing vertex and line itself).
    pub details: Vec<prost_types::Any>,
}

/// Messages of a step that failed because of the daemon or the machine,
/// not because of what the step ran: the help then says so instead of
/// blaming the app file.
const DAEMON_FAULTS: [(&str, &str); 6] = [
    ("no space left on device", "the daemon's disk is full"),
    (
        "failed to create endpoint",
        "the daemon could not give the step a network",
    ),
    (
        "failed to create network",
        "the daemon could not give the step a network",
    ),
    (
        "unable to start container process",
        "the daemon could not start the step's container",
    ),
    (
        "cannot allocate memory",
        "the daemon's machine is out of memory",
    ),
    (
        "failed to mount",
        "the daemon could not mount the step's file systems",
    ),
];

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A [`StepFailure`] as a miette diagnostic.
#[derive(Debug)]
struct StepReport<'a> {
    failure: &'a StepFailure,
    /// A secondary place: rendered as a note, not as the error.
    note: bool,
    src: Option<Excerpt>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Display for StepReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.note {
            return f.write_str("the step is defined by this template line");
        }
        let message = escape_text(&self.failure.message);
        match &self.failure.name {
            Some(n) => write!(f, "step `{}` failed: {message}", escape_text(n)),
            None => write!(f, "build step failed: {message}"),
        }
    }
}

impl std::error::Error for StepReport<'_> {}

impl miette::Diagnostic for StepReport<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(Code::Step))
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.note.then_some(miette::Severity::Advice)
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if self.note {
            return None;
        }
        Some(match self.failure.daemon_fault() {
            Some(what) => Box::new(format!(
                "{what}: not a problem of the app file; check the daemon (`docker info`, its logs) and build again"
            )),
            None => Box::new(
                "the step's output is above; fix the sources or the app.scratch line shown, then build again",
            ),
        })
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

impl StepFailure {
    /// What the daemon did wrong, when the step failed because of it (not
    /// because the command it ran exited non-zero).
    pub fn daemon_fault(&self) -> Option<&'static str> {
        if self
            .message
            .contains("did not complete successfully: exit code")
        {
            return None;
        }
        DAEMON_FAULTS
            .iter()
            .find(|(needle, _)| self.message.contains(needle))
            .map(|(_, what)| *what)
    }

    /// Renders the failure: the step's last output, then a diagnostic with
    /// the app.scratch lines that made the step. `color` picks the themed
    /// (terminal) or plain form.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        if !self.logs.is_empty() {
            let name = self.name.as_deref().unwrap_or("the failing step");
            out.push_str(&format!(
                "output of {name} (last {} lines):\n",
                self.logs.len()
            ));
            for l in &self.logs {
                // The step's own output: its control characters (a
                // compiler's colours, or bytes a source file put there)
                // are shown escaped, as in every diagnostic.
                out.push_str("  │ ");
                out.push_str(&escape_text(l));
                out.push('\n');
            }
            out.push('\n');
        }
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
        let places = std::iter::once((self.location.as_ref(), false))
            .chain(self.also.iter().map(|l| (Some(l), true)));
        for (loc, note) in places {
            let mut labels = Vec::new();
            let src = loc.map(|loc| {
                let mut want = Vec::new();
                for (i, r) in loc.ranges.iter().enumerate() {
                    let (s, e) = r.byte_span(&loc.text);
                    let text = (i == 0).then(|| {
                        if note {
                            "expands to the failing step"
                        } else {
                            "this step failed"
                        }
                        .to_string()
                    });
                    want.push(excerpt::Label {
                        start: s,
                        end: e,
                        text,
                        primary: i == 0,
                    });
                }
                // The daemon sent the text back: shown as a compile
                // diagnostic is (windowed, escaped), never whole.
                let (ex, spans) = excerpt::excerpt(
                    &loc.filename,
                    &loc.text,
                    &excerpt::line_starts(&loc.text),
                    &want,
                );
                labels = spans;
                ex
            });
            let report = StepReport {
                failure: self,
                note,
                src,
                labels,
            };
            if handler.render_report(&mut out, &report).is_err() {
                out.push_str(&format!("error: {report}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Any;

    const APP: &str = "app hello {\n  template go\n  build-run go build -o ${OUT} .\n}\n";

    fn status_with(details: Vec<Any>) -> tonic::Status {
        let st = RpcStatus {
            code: 2,
            message: "process did not complete successfully: exit code: 1".into(),
            details,
        };
        tonic::Status::with_details(
            tonic::Code::Unknown,
            st.message.clone(),
            st.encode_to_vec().into(),
        )
    }

    #[test]
    fn decodes_json_details_as_buildkit_013_sends_them() {
        let data = base64::engine::general_purpose::STANDARD.encode(APP);
        let src = format!(
            r#"{{"info":{{"filename":"app.scratch","data":"{data}","language":"scratch"}},"ranges":[{{"start":{{"line":3,"character":2}},"end":{{"line":3,"character":32}}}}]}}"#
        );
        let st = status_with(vec![
            Any {
                type_url: "github.com/moby/buildkit/stack.Stack+json".into(),
                value: b"{}".to_vec(),
            },
            Any {
                type_url: "github.com/moby/buildkit/errdefs.Vertex+json".into(),
                value: br#"{"digest":"sha256:abc"}"#.to_vec(),
            },
            Any {
                type_url: "github.com/moby/buildkit/errdefs.Source+json".into(),
                value: src.into_bytes(),
            },
        ]);
        let d = ErrorDetails::from_status(&st);
        assert_eq!(d.vertex.as_deref(), Some("sha256:abc"));
        let loc = d.source.unwrap();
        assert_eq!(loc.filename, "app.scratch");
        assert_eq!(loc.text, APP);
        let (s, e) = loc.ranges[0].byte_span(APP);
        assert_eq!(&APP[s..e], "build-run go build -o ${OUT} .");
    }

    #[test]
    fn decodes_binary_details_and_source_maps() {
        let info = pb::SourceInfo {
            filename: "app.scratch".into(),
            data: APP.as_bytes().to_vec(),
            definition: None,
            language: String::new(),
        };
        let range = pb::Range {
            start: Some(pb::Position {
                line: 2,
                character: 0,
            }),
            end: Some(pb::Position {
                line: 2,
                character: 0,
            }),
        };
        let st = status_with(vec![Any {
            type_url: "type.googleapis.com/errdefs.Vertex".into(),
            value: errdefs::Vertex {
                digest: "sha256:def".into(),
            }
            .encode_to_vec(),
        }]);
        assert_eq!(
            ErrorDetails::from_status(&st).vertex.as_deref(),
            Some("sha256:def")
        );

        let mut def = pb::Definition::default();
        let mut src = pb::Source::default();
        src.infos.push(info);
        src.locations.insert(
            "sha256:def".into(),
            pb::Locations {
                locations: vec![pb::Location {
                    source_index: 0,
                    ranges: vec![range],
                }],
            },
        );
        def.source = Some(src);
        let loc = locate(&def, "sha256:def").unwrap();
        let (s, e) = loc.ranges[0].byte_span(APP);
        assert_eq!(
            &APP[s..e],
            "template go",
            "whole line, leading blanks skipped"
        );
        assert!(locate(&def, "sha256:none").is_none());
    }

    #[test]
    fn renders_step_failure_with_logs_and_source() {
        let f = StepFailure {
            message:
                "process \"go build -o /out/hello .\" did not complete successfully: exit code: 1"
                    .into(),
            vertex: Some("sha256:abc".into()),
            name: Some("[hello 3/4] go build".into()),
            logs: vec![
                "# hello".into(),
                "./main.go:5:1: syntax error: unexpected }".into(),
            ],
            location: Some(SourceLocation {
                filename: "app.scratch".into(),
                text: APP.into(),
                ranges: vec![LineRange {
                    start_line: 3,
                    start_char: 0,
                    end_line: 3,
                    end_char: 0,
                }],
            }),
            also: vec![SourceLocation {
                filename: "<stdlib>/go.scratch".into(),
                text: "template go {\n  build-run go build\n}\n".into(),
                ranges: vec![LineRange {
                    start_line: 2,
                    start_char: 0,
                    end_line: 2,
                    end_char: 0,
                }],
            }],
            details: Vec::new(),
        };
        let text = f.render(false);
        assert!(text.contains("<stdlib>/go.scratch:2:3"), "{text}");
        assert!(text.contains("expands to the failing step"), "{text}");
        assert!(text.contains("./main.go:5:1: syntax error"), "{text}");
        assert!(
            text.contains("step `[hello 3/4] go build` failed"),
            "{text}"
        );
        assert!(text.contains("app.scratch:3:3"), "{text}");
        assert!(text.contains("this step failed"), "{text}");
        assert!(text.contains(Code::Step.as_str()), "{text}");
    }

    #[test]
    fn plain_daemon_error_without_details() {
        let st = tonic::Status::unknown("failed to export");
        assert!(matches!(
            BuildError::from_status("Control.Solve", &st),
            BuildError::Daemon { .. }
        ));
    }
}
