//! The reference parser: pest over grammar/scratch.pest. Its pairs become
//! our AST at once, and its errors become our [`Diag`]s with a plain-words
//! list of what was expected. [`error`] words the error of a text that
//! `super::lines` found outside the grammar.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use super::lines::Stop;
use super::{Pending, interpolation, push_part, push_text, stray_dollar, unescape};
use crate::compiler::ast::{
    Block, BlockKind, File, Import, Item, ItemKind, Part, Section, Stmt, Trivia, Value,
};
use crate::compiler::codes::Code;
use crate::compiler::diagnostic::{Diag, MAX_DIAGS};
use crate::compiler::span::{FileId, Span, Spanned};

#[derive(pest_derive::Parser)]
#[grammar = "grammar/scratch.pest"]
struct ScratchParser;

/// Parses one file with pest alone. On error, every error found is
/// returned; a grammar error stops the parse of this file.
pub(super) fn parse(file: FileId, text: &str) -> Result<File, Vec<Diag>> {
    let mut pairs = match ScratchParser::parse(Rule::file, text) {
        Ok(p) => p,
        Err(e) => return Err(vec![grammar_error(file, text, &e)]),
    };
    let Some(root) = pairs.next() else {
        return Err(vec![
            Diag::new(
                Code::Syntax,
                "the parser produced no tree (a bug in scratchc, please report it)",
            )
            .at(Span::new(file, 0, 0), "here"),
        ]);
    };
    let mut cx = Cx {
        file,
        errors: Vec::new(),
    };
    let ast = cx.file(root);
    if cx.errors.is_empty() {
        Ok(ast)
    } else {
        // The first as `lines` keeps them (the rest are not looked at).
        cx.errors.truncate(MAX_DIAGS);
        Err(cx.errors)
    }
}

/// The error pest gives for a text that `super::lines` found outside the
/// grammar, asked on the text with `stop`'s filler in (see [`Stop`]: the
/// same error, found in one scan of the filler); the message is worded
/// from the text itself. Should pest accept the text with the filler (a
/// bug in `lines` or in its filler), the whole text is parsed as it is:
/// slower, never a different answer.
pub(super) fn error(file: FileId, text: &str, stop: &Stop) -> Result<File, Vec<Diag>> {
    let filled = stop.fill(text);
    match ScratchParser::parse(Rule::file, filled.as_deref().unwrap_or(text)) {
        Err(e) => Err(vec![grammar_error(file, text, &e)]),
        Ok(_) => parse(file, text),
    }
}

struct Cx {
    file: FileId,
    errors: Vec<Diag>,
}

impl Cx {
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn comment(&self, p: &Pair<'_, Rule>) -> Spanned<String> {
        let text = p.as_str().trim_end();
        let start = p.as_span().start();
        Spanned::new(
            text.to_string(),
            Span::new(self.file, start, start + text.len()),
        )
    }

    /// The comment of a `comment_line`.
    fn line_comment(&self, p: Pair<'_, Rule>) -> Option<Spanned<String>> {
        p.into_inner()
            .find(|c| c.as_rule() == Rule::comment)
            .map(|c| self.comment(&c))
    }

    fn file(&mut self, root: Pair<'_, Rule>) -> File {
        let mut items = Vec::new();
        let mut pending = Pending::default();
        for p in root.into_inner() {
            match p.as_rule() {
                Rule::blank_line => pending.blank(items.is_empty()),
                Rule::comment_line => {
                    if let Some(c) = self.line_comment(p) {
                        pending.trivia.push(Trivia::Comment(c));
                    }
                }
                Rule::comment => pending.trivia.push(Trivia::Comment(self.comment(&p))),
                Rule::import => {
                    let item = self.import(p, pending.take());
                    items.push(item);
                }
                Rule::block => {
                    let item = self.block(p, pending.take());
                    items.push(item);
                }
                _ => {}
            }
        }
        File {
            items,
            trailing: pending.finish(),
        }
    }

    fn import(&mut self, p: Pair<'_, Rule>, leading: Vec<Trivia>) -> Item {
        let whole = self.span(&p);
        // The pair starts with the line's indentation; the item at `import`.
        let indent = p.as_str().len() - p.as_str().trim_start().len();
        let start = whole.start + indent;
        let mut path = Spanned::new(String::new(), whole);
        let mut pin = None;
        let mut comment = None;
        let mut end = start;
        for c in p.into_inner() {
            let span = self.span(&c);
            match c.as_rule() {
                Rule::import_path => {
                    // The text inside the quotes.
                    let text = c.as_str();
                    let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
                    path = Spanned::new(inner.to_string(), span);
                    end = span.end;
                }
                Rule::pin => {
                    pin = Some(Spanned::new(c.as_str().to_string(), span));
                    end = span.end;
                }
                Rule::comment => comment = Some(self.comment(&c)),
                _ => {}
            }
        }
        Item {
            leading,
            kind: ItemKind::Import(Import { path, pin }),
            comment,
            span: Span::new(self.file, start, end),
        }
    }

    fn block(&mut self, p: Pair<'_, Rule>, leading: Vec<Trivia>) -> Item {
        let whole = self.span(&p);
        let whole_text = p.as_str();
        let mut kind = BlockKind::App;
        let mut kind_start = whole.start;
        let mut names = Vec::new();
        let mut comment = None;
        let mut close_comment = None;
        let mut stmts = Vec::new();
        let mut closing = Vec::new();
        let mut header_end = whole.start;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::block_kind => {
                    kind_start = self.span(&c).start;
                    kind = if c.as_str() == "template" {
                        BlockKind::Template
                    } else {
                        BlockKind::App
                    };
                }
                Rule::name => {
                    let span = self.span(&c);
                    header_end = span.end;
                    names.push(Spanned::new(c.as_str().to_string(), span));
                }
                Rule::comment => comment = Some(self.comment(&c)),
                Rule::body => {
                    let (s, cl) = self.body(c);
                    stmts = s;
                    closing = cl;
                }
                Rule::close => {
                    close_comment = c
                        .into_inner()
                        .find(|x| x.as_rule() == Rule::comment)
                        .map(|x| self.comment(&x));
                }
                _ => {}
            }
        }
        // The header runs from the keyword to the `{` after the last name.
        let header_end = header_end
            + whole_text
                .get(header_end.saturating_sub(whole.start)..)
                .and_then(|t| t.find('{'))
                .map_or(0, |i| i + 1);
        let mut names = names.into_iter();
        let name = names.next().unwrap_or_else(|| {
            Spanned::new(String::new(), Span::new(self.file, kind_start, kind_start))
        });
        let parent = names.next();
        Item {
            leading,
            kind: ItemKind::Block(Block {
                kind,
                name,
                parent,
                header: Span::new(self.file, kind_start, header_end),
                stmts,
                closing,
                close_comment,
            }),
            comment,
            span: Span::new(self.file, kind_start, whole.end),
        }
    }

    fn body(&mut self, p: Pair<'_, Rule>) -> (Vec<Stmt>, Vec<Trivia>) {
        let mut stmts = Vec::new();
        let mut pending = Pending::default();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::blank_line => pending.blank(stmts.is_empty()),
                Rule::comment_line => {
                    if let Some(cm) = self.line_comment(c) {
                        pending.trivia.push(Trivia::Comment(cm));
                    }
                }
                Rule::stmt => {
                    let s = self.stmt(c, pending.take());
                    stmts.push(s);
                }
                Rule::section => {
                    let s = self.section(c, pending.take());
                    stmts.push(s);
                }
                _ => {}
            }
        }
        (stmts, pending.finish())
    }

    /// `KEY {` ... `}` as a statement with a section: the span runs from
    /// the key to the `{`, the comment is the one after the `{`.
    fn section(&mut self, p: Pair<'_, Rule>, leading: Vec<Trivia>) -> Stmt {
        let whole = self.span(&p);
        let text = p.as_str();
        let mut key = Spanned::new(String::new(), whole);
        let mut comment = None;
        let mut section = Section {
            stmts: Vec::new(),
            closing: Vec::new(),
            close_comment: None,
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::key => key = Spanned::new(c.as_str().to_string(), self.span(&c)),
                Rule::comment => comment = Some(self.comment(&c)),
                Rule::section_body => {
                    let (stmts, closing) = self.body(c);
                    section.stmts = stmts;
                    section.closing = closing;
                }
                Rule::close => {
                    section.close_comment = c
                        .into_inner()
                        .find(|x| x.as_rule() == Rule::comment)
                        .map(|x| self.comment(&x));
                }
                _ => {}
            }
        }
        let end = text
            .get(key.span.end.saturating_sub(whole.start)..)
            .and_then(|t| t.find('{'))
            .map_or(key.span.end, |i| key.span.end + i + 1);
        Stmt {
            leading,
            span: Span::new(self.file, key.span.start, end),
            key,
            values: Vec::new(),
            comment,
            section: Some(Box::new(section)),
        }
    }

    fn stmt(&mut self, p: Pair<'_, Rule>, leading: Vec<Trivia>) -> Stmt {
        let mut key = Spanned::new(String::new(), self.span(&p));
        let mut values = Vec::new();
        let mut comment = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::key => key = Spanned::new(c.as_str().to_string(), self.span(&c)),
                Rule::value => values.push(self.value(c)),
                Rule::comment => comment = Some(self.comment(&c)),
                _ => {}
            }
        }
        let end = values.last().map_or(key.span.end, |v: &Value| v.span.end);
        let span = Span::new(self.file, key.span.start, end);
        Stmt {
            leading,
            key,
            values,
            comment,
            span,
            section: None,
        }
    }

    fn value(&mut self, p: Pair<'_, Rule>) -> Value {
        let span = self.span(&p);
        let mut parts: Vec<Part> = Vec::new();
        for word in p.into_inner() {
            for piece in word.into_inner() {
                let pspan = self.span(&piece);
                match piece.as_rule() {
                    Rule::bare_text | Rule::quoted_text => push_text(&mut parts, piece.as_str()),
                    Rule::dollar => push_text(&mut parts, "$"),
                    Rule::escape => match unescape(piece.as_str(), pspan) {
                        Ok(text) => push_text(&mut parts, text),
                        Err(d) => self.errors.push(d),
                    },
                    Rule::stray => self.errors.push(stray_dollar(pspan)),
                    Rule::interp => {
                        let body = piece
                            .into_inner()
                            .next()
                            .map(|b| b.as_str())
                            .unwrap_or_default();
                        match interpolation(body, pspan) {
                            Ok(var) => push_part(&mut parts, Part::Var(Box::new(var))),
                            Err(d) => self.errors.push(d),
                        }
                    }
                    _ => {}
                }
            }
        }
        Value { parts, span }
    }
}

/// What a grammar rule means to a reader, for "expected ..." messages.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::import => "`import`",
        Rule::block | Rule::block_kind => "`app` or `template`",
        Rule::blank_line | Rule::comment_line | Rule::comment => "a comment",
        Rule::EOI => "the end of the file",
        Rule::name => "a name (lowercase letters, digits and `-`, starting with a letter)",
        Rule::block_parent => "`uses`/`extends` or `{`",
        Rule::import_path => "a quoted path",
        Rule::pin => "a `sha256:` pin",
        Rule::stmt | Rule::key => "a key (lowercase letters, digits and `-`)",
        Rule::close => "`}`",
        Rule::value | Rule::bare | Rule::quoted => "a value",
        Rule::body | Rule::section | Rule::section_body => "a statement",
        _ => return None,
    })
}

fn grammar_error(file: FileId, text: &str, e: &pest::error::Error<Rule>) -> Diag {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let pos = pos.min(text.len());
    let mut expected: Vec<&str> = Vec::new();
    // Mid-line, "end of input" is what ends the line (a statement may be
    // the last line of a file without a newline).
    let line_start = pos == 0 || text.get(..pos).is_some_and(|t| t.ends_with('\n'));
    if let ErrorVariant::ParsingError { positives, .. } = &e.variant {
        for r in positives {
            let d = match r {
                Rule::EOI if !line_start => Some("the end of the line"),
                r => describe(*r),
            };
            if let Some(d) = d
                && !expected.contains(&d)
            {
                expected.push(d);
            }
        }
    }
    let found = text.get(pos..).and_then(|t| t.chars().next());
    let end = pos + found.map_or(0, char::len_utf8);
    let what = match found {
        None => "the end of the file".to_string(),
        Some('\n') | Some('\r') => "the end of the line".to_string(),
        Some(c) => format!("`{}`", c.escape_debug()),
    };
    // A string left open runs to the end of its line: say so, at its quote.
    if matches!(found, None | Some('\n') | Some('\r'))
        && let Some(q) = open_quote(text, pos)
    {
        return Diag::new(Code::Syntax, "this string is not closed")
            .at(Span::new(file, q, q + 1), "string starts here")
            .help(
                "close it with `\"` on the same line; write `\\n` for a newline inside a string",
            );
    }
    let message = if expected.is_empty() {
        format!("unexpected {what}")
    } else {
        format!("expected {}, found {what}", join_or(&expected))
    };
    let help = match found {
        None => "is a closing `}` missing?",
        Some('{') | Some('}') => {
            "braces only open and close blocks: `{` ends a header line, `}` stands on a line of its own; \
             quote a value that holds braces"
        }
        Some('"') => "is a closing `\"` missing? strings end on the line they start on",
        Some('\n') | Some('\r') => "is a value, `{` or `\"` missing at the end of this line?",
        Some(c) if c.is_ascii_uppercase() => "keys and names are lowercase",
        _ => "see docs/language.md for the syntax",
    };
    Diag::new(Code::Syntax, message)
        .at(Span::new(file, pos, end), "unexpected here")
        .help(help)
}

/// The offset of a `"` left open on the line that ends at `pos`, if any.
fn open_quote(text: &str, pos: usize) -> Option<usize> {
    let line_start = text.get(..pos)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(line_start..pos)?;
    let mut open = None;
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if open.is_some() => {
                chars.next();
            }
            '"' => {
                open = if open.is_some() {
                    None
                } else {
                    Some(line_start + i)
                }
            }
            '#' if open.is_none() => return None,
            _ => {}
        }
    }
    open
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// pest's own error for a text (its position and the rules it expected),
/// for the tests that compare it with the error on the text with filler.
#[cfg(test)]
pub(super) fn raw_error(text: &str) -> Option<String> {
    ScratchParser::parse(Rule::file, text)
        .err()
        .map(|e| format!("{:?} {:?}", e.location, e.variant))
}
