//! Errors are data: every stage reports `Diag`s (a stable code, a message, a
//! primary span with its label, a help line). One place, here, turns them
//! into rendered miette reports.

use std::fmt;

use miette::{LabeledSpan, NamedSource};

use super::sources::Sources;
use super::span::Span;

/// A diagnostic from any stage of the compiler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    /// Stable code, `scratch::E0123` style, documented in docs/errors.md.
    pub code: &'static str,
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
    /// goes on (docs/errors.md, "Warnings").
    pub severity: Severity,
}

/// How much a diagnostic weighs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Information the user may act on (miette's "advice").
    Note,
    Warning,
    #[default]
    Error,
}

impl Diag {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diag {
            code,
            message: message.into(),
            span: None,
            label: String::new(),
            help: None,
            related: Vec::new(),
            severity: Severity::Error,
        }
    }

    /// The same diagnostic with another severity.
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

/// A diagnostic bound to the text it points into, ready for miette.
#[derive(Debug)]
pub struct Rendered {
    diag: Diag,
    src: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
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
    /// Binds the diagnostic to its source file for rendering. Related spans
    /// in other files than the primary one are left out of the labels.
    pub fn render(&self, sources: &Sources) -> Rendered {
        let file = self.span.and_then(|s| sources.get(s.file).map(|f| (s, f)));
        let mut labels = Vec::new();
        let src = file.map(|(span, f)| {
            labels.push(LabeledSpan::new_primary_with_span(
                Some(self.label.clone()).filter(|l| !l.is_empty()),
                span,
            ));
            for (r, text) in &self.related {
                if r.file == span.file {
                    labels.push(LabeledSpan::new_with_span(Some(text.clone()), *r));
                }
            }
            NamedSource::new(f.name.clone(), f.text.clone())
        });
        Rendered {
            diag: self.clone(),
            src,
            labels,
        }
    }
}

/// Renders diagnostics as plain text (no colour, no unicode box drawing),
/// the form used in snapshots and when stderr is not a terminal.
pub fn render_plain(diags: &[Diag], sources: &Sources) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    for d in diags {
        let r = d.render(sources);
        if handler.render_report(&mut out, &r).is_err() {
            out.push_str(&format!("error[{}]: {}\n", d.code, d.message));
        }
        out.push('\n');
    }
    out
}
