//! Text to [`ast::File`]. pest stays inside this module: its pairs become
//! our AST at once, and its errors become our [`Diag`]s with a plain-words
//! list of what was expected.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use super::ast::{
    Block, BlockKind, File, Import, Item, ItemKind, Part, Section, Stmt, Trivia, Value, Var,
};
use super::codes::Code;
use super::diagnostic::Diag;
use super::span::{FileId, Span, Spanned};

#[derive(pest_derive::Parser)]
#[grammar = "grammar/scratch.pest"]
struct ScratchParser;

/// Parses one file. On error, every error found is returned; a grammar
/// error stops the parse of this file (the other files are still checked).
pub fn parse(file: FileId, text: &str) -> Result<File, Vec<Diag>> {
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
        Err(cx.errors)
    }
}

struct Cx {
    file: FileId,
    errors: Vec<Diag>,
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
            section: Some(section),
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
                    Rule::escape => match piece.as_str().chars().nth(1) {
                        Some('"') => push_text(&mut parts, "\""),
                        Some('\\') => push_text(&mut parts, "\\"),
                        Some('n') => push_text(&mut parts, "\n"),
                        Some('t') => push_text(&mut parts, "\t"),
                        Some('$') => push_text(&mut parts, "$"),
                        _ => self.errors.push(
                            Diag::new(
                                Code::UnknownEscape,
                                format!("unknown escape `{}` in a string", piece.as_str()),
                            )
                            .at(pspan, "not an escape")
                            .help(
                                "the escapes are \\\" \\\\ \\n \\t \\$; write \\\\ for a backslash",
                            ),
                        ),
                    },
                    Rule::stray => self.errors.push(
                        Diag::new(
                            Code::StrayDollar,
                            "a `$` must start `${NAME}` or be doubled",
                        )
                        .at(pspan, "lone `$`")
                        .help("write `$$` for a literal `$`, or `${NAME}` to use a variable"),
                    ),
                    Rule::interp => {
                        let body = piece
                            .into_inner()
                            .next()
                            .map(|b| b.as_str().to_string())
                            .unwrap_or_default();
                        match parse_var(&body) {
                            Some((name, strip, alt)) => parts.push(Part::Var(Var {
                                name,
                                strip,
                                alt,
                                span: pspan,
                            })),
                            None => self.errors.push(
                                Diag::new(Code::StrayDollar, format!("`${{{body}}}` is not a variable reference"))
                                    .at(pspan, "malformed interpolation")
                                    .help(
                                        "write `${NAME}`, `${NAME#PREFIX}` or `${NAME:+WORD}`; names are letters, \
                                         digits, `_` and `-`, not starting with a digit",
                                    ),
                            ),
                        }
                    }
                    _ => {}
                }
            }
        }
        Value { parts, span }
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
        parts.push(Part::Text(text.to_string()));
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
}
