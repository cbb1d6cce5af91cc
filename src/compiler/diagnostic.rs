//! Errors are data: every stage reports `Diag`s (a stable code, a message, a
//! primary span with its label, a help line). One place, here, turns them
//! into rendered miette reports.

use std::fmt;

use miette::LabeledSpan;

use super::codes::Code;
pub use super::codes::Severity;
use super::excerpt::{self, Excerpt};

use super::sources::Sources;
use super::span::Span;

/// A diagnostic from any stage of the compiler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    /// Its stable code, documented in docs/errors.md.
    pub code: Code,
    pub message: String,
    /// The primary location; `None` for errors about no place in the
    /// sources (an option on the command line).
    pub span: Option<Span>,
    /// What the label on the span says.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places worth showing (e.g. the first definition of a duplicate).
    pub related: Vec<(Span, String)>,
    /// An error stops the build; a warning or a note is shown and the build
    /// goes on (docs/errors.md, "Warnings"). The code's own, unless
    /// `strict` raised a warning to an error.
    pub severity: Severity,
}

impl Diag {
    /// A diagnostic of `code`, with the code's severity.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diag {
            code,
            message: message.into(),
            span: None,
            label: String::new(),
            help: None,
            related: Vec::new(),
            severity: code.severity(),
        }
    }

    /// The same diagnostic with another severity (`strict` makes a
    /// warning an error).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// A diagnostic bound to an excerpt of the text it points into, ready
/// for miette (see [`super::excerpt`]: miette never sees the file itself).
#[derive(Debug)]
pub struct Rendered {
    code: Code,
    severity: Severity,
    message: String,
    help: Option<String>,
    src: Option<Excerpt>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Note => miette::Severity::Advice,
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
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

impl Diag {
    /// Binds the diagnostic to an excerpt of its source file for rendering.
    /// Related spans in other files than the primary one are left out of
    /// the labels. Every text is escaped (see [`excerpt::escape_text`]).
    pub fn render(&self, sources: &Sources) -> Rendered {
        let file = self
            .span
            .and_then(|s| Some((s, sources.get(s.file)?, sources.line_starts(s.file)?)));
        let mut src = None;
        let mut labels = Vec::new();
        if let Some((span, f, starts)) = file {
            let mut want = vec![excerpt::Label {
                start: span.start,
                end: span.end,
                text: Some(self.label.clone()).filter(|l| !l.is_empty()),
                primary: true,
            }];
            for (r, text) in &self.related {
                if r.file == span.file {
                    want.push(excerpt::Label {
                        start: r.start,
                        end: r.end,
                        text: Some(text.clone()),
                        primary: false,
                    });
                }
            }
            let (e, spans) = excerpt::excerpt(&f.name, &f.text, starts, &want);
            src = Some(e);
            labels = spans;
        }
        Rendered {
            code: self.code,
            severity: self.severity,
            message: excerpt::escape_text(&self.message),
            help: self.help.as_deref().map(excerpt::escape_text),
            src,
            labels,
        }
    }
}

/// Errors after which a stage stops looking for more (the parser for the
/// errors in values, the checker for its own): what one run shows is
/// bounded (and the renderer shows the first [`MAX_RENDERED`]), and so is
/// the work spent on messages for a file that is all errors.
pub const MAX_DIAGS: usize = 1000;

/// Diagnostics shown at most by one render; the rest are counted.
pub const MAX_RENDERED: usize = 100;

/// Renders diagnostics as plain text (no colour, no unicode box drawing),
/// the form used in snapshots and when stderr is not a terminal.
pub fn render_plain(diags: &[Diag], sources: &Sources) -> String {
    render(diags, sources, false)
}

/// Renders diagnostics, coloured or plain, the first [`MAX_RENDERED`] of
/// them (a line counts the others). A rendering miette refuses falls back
/// to a one-line form, so this never fails.
pub fn render(diags: &[Diag], sources: &Sources, color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_context_lines(1);
    let mut out = String::new();
    for d in diags.iter().take(MAX_RENDERED) {
        let r = d.render(sources);
        let mut one = String::new();
        if handler.render_report(&mut one, &r).is_err() {
            one = format!("error[{}]: {}\n", d.code, r.message);
        }
        out.push_str(&one);
        out.push('\n');
    }
    if let Some(line) = more_errors(diags.len()) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The line that counts the errors a render leaves out of `total`, if it
/// leaves any out. At [`MAX_DIAGS`] the stages stopped looking, so there
/// may be more than were counted.
pub fn more_errors(total: usize) -> Option<String> {
    let left = total.checked_sub(MAX_RENDERED).filter(|&n| n > 0)?;
    Some(if total >= MAX_DIAGS {
        format!(
            "... and at least {left} more errors (the first {MAX_RENDERED} are shown; \
             the search stops at {MAX_DIAGS})"
        )
    } else {
        format!("... and {left} more errors (the first {MAX_RENDERED} are shown)")
    })
}
