//! Text to [`ast::File`](super::ast::File).
//!
//! grammar/scratch.pest is the grammar of record. Two parsers read it:
//! - [`grammar`]: pest over the grammar itself, its pairs turned into our
//!   AST at once. This is the reference, and the one that words a grammar
//!   error ("expected ..., found ...").
//! - [`lines`]: the same language by hand, in one pass over the bytes with
//!   no backtracking beyond a line. This is the parser the compiler runs:
//!   pest spends about a microsecond on every value (its per-rule
//!   bookkeeping), which made the parse most of the time a large file
//!   took to check, and some inputs (a quoted string of many `${`) cost it
//!   time quadratic in the line.
//!
//! [`parse`] runs `lines`; where it finds the text outside the grammar,
//! pest is asked for the error, on a copy of the text in which what
//! `lines` already read is replaced by filler of the same length that pest
//! reads in one scan ([`lines::Stop`] says why this keeps pest's error the
//! same). Both parsers give the same result, the same tree or the same
//! diagnostics (codes, messages, spans), on every input: the tests in
//! `tests.rs` run both on every file of the repository, the hostile shapes
//! and thousands of mutations of them, and the fuzz target does on
//! whatever it finds.
//!
//! pest stays inside this module; the helpers below are what both parsers
//! share, so that a message is written once.

// `Diag` is the shared error type of every stage (as in `check`).
#![allow(clippy::result_large_err)]

mod grammar;
mod lines;
#[cfg(test)]
mod tests;

use super::ast::{File, Part, Trivia, Var};
use super::codes::Code;
use super::diagnostic::Diag;
use super::span::{FileId, Span};

/// Parses one file. On error, every error found is returned; a grammar
/// error stops the parse of this file (the other files are still checked).
pub fn parse(file: FileId, text: &str) -> Result<File, Vec<Diag>> {
    match lines::parse(file, text) {
        Ok(result) => result,
        Err(stop) => grammar::error(file, text, &stop),
    }
}

/// The reference parser: pest over grammar/scratch.pest for the whole
/// text. [`parse`] gives the same result, faster; this is kept for the
/// tests and the fuzz target that hold it to that.
pub fn parse_reference(file: FileId, text: &str) -> Result<File, Vec<Diag>> {
    grammar::parse(file, text)
}

/// Collects comments and blank lines until the next piece of code.
#[derive(Default)]
struct Pending {
    trivia: Vec<Trivia>,
}

impl Pending {
    /// A blank line; dropped at the very start (`at_start`) and when the
    /// previous trivia is already a blank.
    fn blank(&mut self, at_start: bool) {
        if self.trivia.is_empty() && at_start {
            return;
        }
        if !matches!(self.trivia.last(), Some(Trivia::Blank)) {
            self.trivia.push(Trivia::Blank);
        }
    }

    fn take(&mut self) -> Vec<Trivia> {
        std::mem::take(&mut self.trivia)
    }

    /// The trivia before a closing `}` or the end of file: no final blank.
    fn finish(&mut self) -> Vec<Trivia> {
        if matches!(self.trivia.last(), Some(Trivia::Blank)) {
            self.trivia.pop();
        }
        self.take()
    }
}

/// Appends literal text, merging with a preceding text part.
fn push_text(parts: &mut Vec<Part>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Part::Text(t)) = parts.last_mut() {
        t.push_str(text);
    } else {
        push_part(parts, Part::Text(text.to_string()));
    }
}

/// Appends a part. Most values are one part: the first push allocates
/// room for one, not the four a `Vec` starts with (a `Part` is about a
/// hundred bytes, and a file may hold a hundred thousand values).
fn push_part(parts: &mut Vec<Part>, part: Part) {
    if parts.capacity() == 0 {
        parts.reserve_exact(1);
    }
    parts.push(part);
}

/// What the escape `\` + `c` in a quoted string stands for, if it is one.
fn escaped(c: char) -> Option<&'static str> {
    Some(match c {
        '"' => "\"",
        '\\' => "\\",
        'n' => "\n",
        't' => "\t",
        '$' => "$",
        _ => return None,
    })
}

/// What an escape in a quoted string stands for; `escape` is the escape
/// as written (`\` and one character), `span` where.
fn unescape(escape: &str, span: Span) -> Result<&'static str, Diag> {
    match escape.chars().nth(1).and_then(escaped) {
        Some(text) => Ok(text),
        None => Err(Diag::new(
            Code::UnknownEscape,
            format!("unknown escape `{escape}` in a string"),
        )
        .at(span, "not an escape")
        .help("the escapes are \\\" \\\\ \\n \\t \\$; write \\\\ for a backslash")),
    }
}

/// The error for a `$` that starts neither `${` nor `$$`.
fn stray_dollar(span: Span) -> Diag {
    Diag::new(
        Code::StrayDollar,
        "a `$` must start `${NAME}` or be doubled",
    )
    .at(span, "lone `$`")
    .help("write `$$` for a literal `$`, or `${NAME}` to use a variable")
}

/// The variable of a `${...}` whose inside is `body`, or the error for a
/// malformed one; `span` is the whole `${...}`.
fn interpolation(body: &str, span: Span) -> Result<Var, Diag> {
    match parse_var(body) {
        Some((name, strip, alt)) => Ok(Var {
            name,
            strip,
            alt,
            span,
        }),
        None => Err(Diag::new(
            Code::StrayDollar,
            format!("`${{{body}}}` is not a variable reference"),
        )
        .at(span, "malformed interpolation")
        .help(
            "write `${NAME}`, `${NAME#PREFIX}` or `${NAME:+WORD}`; names are letters, \
                     digits, `_` and `-`, not starting with a digit",
        )),
    }
}

/// Splits the inside of `${...}` into a name and an optional prefix to
/// strip or word to use instead (`:+WORD`, which may hold a `#`).
fn parse_var(body: &str) -> Option<(String, Option<String>, Option<String>)> {
    let (name, strip, alt) = if let Some((n, w)) = body.split_once(":+") {
        (n, None, Some(w.to_string()))
    } else {
        match body.split_once('#') {
            Some((n, s)) => (n, Some(s.to_string()), None),
            None => (body, None, None),
        }
    };
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return None;
    }
    if alt.as_deref().is_some_and(|w| w.contains('$')) {
        return None;
    }
    Some((name.to_string(), strip, alt))
}
