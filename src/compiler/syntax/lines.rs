//! The parser the compiler runs: the language of grammar/scratch.pest,
//! written out by hand over the bytes of the text.
//!
//! Each function below is one rule of the grammar (named after it) and
//! matches exactly what the rule matches, in the order its alternatives
//! are tried, so the tree is the one `super::grammar` builds from pest's
//! pairs. The grammar is line oriented: no rule reads past the end of the
//! (logical) line it starts on, a line is one item, statement, `}` or
//! trivia, and which one is decided by its first character; so this is
//! one pass, with no backtracking beyond a line.
//!
//! A text outside the grammar gives a [`Stop`] instead of a tree: pest
//! words the error (see `super::grammar::error`). What `lines` read of a
//! file never costs more than a scan of it: every loop moves forward, and
//! the one search that could be repeated (for the `}` of a `${`, tried at
//! every `$`) is remembered.

use crate::compiler::ast::{
    Block, BlockKind, File, Import, Item, ItemKind, Part, Section, Stmt, Trivia, Value, Var,
};
use crate::compiler::diagnostic::{Diag, MAX_DIAGS};
use crate::compiler::span::{FileId, Span, Spanned};

use super::{
    Pending, escaped, interpolation, parse_var, push_part, push_text, stray_dollar, unescape,
};

/// Parses one file: the tree, or the diagnostics of its values (unknown
/// escapes, stray `$`, malformed `${...}`), or a [`Stop`] where the text
/// leaves the grammar.
pub(super) fn parse(file: FileId, text: &str) -> Result<Result<File, Vec<Diag>>, Stop> {
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        file,
        errors: Vec::new(),
        top: 0,
        block_body: None,
        block_lines: (0, 0),
        section_body: None,
        section_lines: (0, 0),
        line: (usize::MAX, Vec::new()),
        eoi: false,
        stop: None,
        brace: (usize::MAX, usize::MAX),
        parts: Vec::new(),
    };
    match p.file() {
        Some(ast) if p.errors.is_empty() => Ok(Ok(ast)),
        Some(_) => Ok(Err(p.diagnostics())),
        None => Err(p.stop.unwrap_or(Stop {
            line: 0,
            fills: Vec::new(),
        })),
    }
}

/// Where the text leaves the grammar: the line pest's error is on, and
/// what of the text may be replaced by filler of the same length without
/// changing that error, so that pest reads it in one scan.
///
/// Why the error stays the same: pest reports the farthest position at
/// which a rule started and failed, with the rules that failed there.
/// Every rule starts and ends within one line, so that position is on the
/// line where the parse stopped (or later on it), and what comes before
/// the line counts only by where it leaves the parse: at the top level,
/// in a block's body, or in a section's body. So the complete lines before
/// it are replaced by one comment line (of their length) in the same
/// place: the top-level lines before the block, the block's lines before
/// the stopping line (or before its section), the section's lines before
/// it. On the stopping line itself, the values read whole before the
/// failure end where pest's farthest attempt is at the earliest, and
/// what is inside them is never looked at again: they become one `${x..}`
/// (the inside of a last quoted value alike, its quotes kept), as does the
/// inside of a string left open. The positions are unchanged, and the
/// message is worded from the real text.
#[derive(Debug)]
pub(super) struct Stop {
    /// The start of the line the error is on.
    line: usize,
    fills: Vec<Fill>,
}

/// A range of the text to replace, and by what.
#[derive(Debug)]
struct Fill {
    start: usize,
    end: usize,
    kind: FillKind,
}

#[derive(Clone, Copy, Debug)]
enum FillKind {
    /// `#`, spaces, a newline: one comment line.
    CommentLine,
    /// `${`, `x`s, `}`: one interpolation (a value, or a piece of one).
    Interp,
    /// An interpolation, then a space: a value and the space after it.
    InterpSpace,
}

impl Stop {
    /// The text with the filler in, or `None` when there is nothing to
    /// fill. A range too short for its filler, or not on character
    /// boundaries, is left as it is (keeping the text is always right).
    pub(super) fn fill(&self, text: &str) -> Option<String> {
        if self.fills.is_empty() {
            return None;
        }
        let mut bytes = text.as_bytes().to_vec();
        for f in &self.fills {
            if !(text.is_char_boundary(f.start) && text.is_char_boundary(f.end)) {
                continue;
            }
            let Some(range) = bytes.get_mut(f.start..f.end) else {
                continue;
            };
            match (f.kind, range) {
                (FillKind::CommentLine, [first, middle @ .., last]) => {
                    *first = b'#';
                    middle.fill(b' ');
                    *last = b'\n';
                }
                (FillKind::Interp, [dollar, open, middle @ .., close]) => {
                    (*dollar, *open, *close) = (b'$', b'{', b'}');
                    middle.fill(b'x');
                }
                (FillKind::InterpSpace, [dollar, open, middle @ .., close, space]) => {
                    (*dollar, *open, *close, *space) = (b'$', b'{', b'}', b' ');
                    middle.fill(b'x');
                }
                _ => {}
            }
        }
        String::from_utf8(bytes).ok()
    }
}

/// A diagnostic of a value, kept as where it is until the parse is done:
/// built only if the whole text is in the grammar (else pest's error is
/// the only one), and then all at once. A file may hold hundreds of
/// thousands of stray `$`.
#[derive(Clone, Copy, Debug)]
enum Found {
    /// An unknown escape: `\` and the character, from `.0` to `.1`.
    Escape(usize, usize),
    /// A `$` starting neither `${` nor `$$`.
    Stray(usize),
    /// A malformed `${...}`: its `$` and its `}`.
    Interp(usize, usize),
}

struct Parser<'t> {
    text: &'t str,
    b: &'t [u8],
    file: FileId,
    /// The diagnostics of the values read so far, as where they are.
    errors: Vec<Found>,
    /// Where the current top-level line starts.
    top: usize,
    /// While in a block's body: where the body starts, and where the line
    /// before the one being read and the one being read start.
    block_body: Option<usize>,
    block_lines: (usize, usize),
    /// The same for a section's body.
    section_body: Option<usize>,
    section_lines: (usize, usize),
    /// The fills of the last statement that failed, with its line.
    line: (usize, Vec<Fill>),
    /// Whether the last line end read was the end of the text (`EOI`, not
    /// a newline).
    eoi: bool,
    /// The farthest stop found.
    stop: Option<Stop>,
    /// `(from, to)`: from any position in `from..=to`, the first `}`, line
    /// end or end of text is at `to` (see [`Parser::brace_end`]).
    brace: (usize, usize),
    /// The parts of the value being read (see [`Parser::exact`]).
    parts: Vec<Part>,
}

impl Parser<'_> {
    // ---- characters ----

    fn get(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn starts(&self, i: usize, s: &[u8]) -> bool {
        self.b.get(i..).is_some_and(|t| t.starts_with(s))
    }

    /// The text from `start` to `end` (both at ASCII bytes or the ends,
    /// so on character boundaries).
    fn str(&self, start: usize, end: usize) -> &str {
        self.text.get(start..end).unwrap_or_default()
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// The first position from `i` on whose byte is one `stop` accepts, or
    /// the end of the text.
    fn scan(&self, i: usize, stop: impl Fn(u8) -> bool) -> usize {
        self.b
            .get(i..)
            .and_then(|t| t.iter().position(|&c| stop(c)))
            .map_or(self.b.len(), |n| i + n)
    }

    /// `(" " | "\t")*`
    fn ws(&self, i: usize) -> usize {
        self.scan(i, |c| c != b' ' && c != b'\t')
    }

    /// `NEWLINE`: `"\n" | "\r\n" | "\r"`.
    fn newline(&self, i: usize) -> Option<usize> {
        match self.get(i)? {
            b'\n' => Some(i + 1),
            b'\r' if self.get(i + 1) == Some(b'\n') => Some(i + 2),
            b'\r' => Some(i + 1),
            _ => None,
        }
    }

    /// `continuation = "\\" ~ (" " | "\t")* ~ NEWLINE`
    fn continuation(&self, i: usize) -> Option<usize> {
        if self.get(i) != Some(b'\\') {
            return None;
        }
        self.newline(self.ws(i + 1))
    }

    /// `sp = (" " | "\t" | continuation)+`
    fn sp(&self, i: usize) -> Option<usize> {
        let mut j = i;
        loop {
            match self.get(j) {
                Some(b' ' | b'\t') => j += 1,
                Some(b'\\') => match self.continuation(j) {
                    Some(k) => j = k,
                    None => break,
                },
                _ => break,
            }
        }
        (j > i).then_some(j)
    }

    /// The end of a `comment` starting at `i` (a `#`).
    fn comment_end(&self, i: usize) -> usize {
        self.scan(i, |c| c == b'\n' || c == b'\r')
    }

    /// A comment's text without trailing white space, as the tree holds it.
    fn comment(&self, start: usize, end: usize) -> Spanned<String> {
        let text = self.str(start, end).trim_end();
        Spanned::new(text.to_string(), self.span(start, start + text.len()))
    }

    /// `eol = sp? ~ comment? ~ (NEWLINE | EOI)`: where the next line
    /// starts, and the comment.
    fn eol(&mut self, i: usize) -> Option<(usize, Option<Spanned<String>>)> {
        let mut j = self.sp(i).unwrap_or(i);
        let mut comment = None;
        if self.get(j) == Some(b'#') {
            let end = self.comment_end(j);
            comment = Some(self.comment(j, end));
            j = end;
        }
        let next = match self.newline(j) {
            Some(next) => next,
            None if j == self.b.len() => j,
            None => return None,
        };
        self.eoi = next == j;
        Some((next, comment))
    }

    /// `name` and `key`: `[a-z][a-z0-9-]*`; its end.
    fn word(&self, i: usize) -> Option<usize> {
        if !self.get(i)?.is_ascii_lowercase() {
            return None;
        }
        Some(self.scan(i + 1, |c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        }))
    }

    fn spanned_word(&self, start: usize, end: usize) -> Spanned<String> {
        Spanned::new(self.str(start, end).to_string(), self.span(start, end))
    }

    // ---- where the parse stops ----

    /// The text leaves the grammar on the line starting at `line`: keep
    /// it as the stop if it is the farthest so far, with the fills of the
    /// place the parse is in (see [`Stop`]).
    fn stopped(&mut self, line: usize) {
        if self.stop.as_ref().is_some_and(|s| s.line > line) {
            return;
        }
        // After a line that ended at the end of the text (no newline, or
        // a continuation's): the rules that failed where it ends, the
        // start of this "line", count too, so it stays.
        let open_end = line == self.b.len() && self.eoi;
        let before =
            |(previous, current): (usize, usize)| if open_end { previous } else { current };
        let mut fills = Vec::new();
        let mut comment_lines = |start: usize, end: usize| {
            if end >= start + 2 {
                fills.push(Fill {
                    start,
                    end,
                    kind: FillKind::CommentLine,
                });
            }
        };
        comment_lines(0, self.top);
        match (self.block_body, self.section_body) {
            (Some(block), Some(section)) => {
                comment_lines(block, self.block_lines.1);
                comment_lines(section, before(self.section_lines));
            }
            (Some(block), None) => comment_lines(block, before(self.block_lines)),
            _ => {}
        }
        if self.line.0 == line {
            fills.append(&mut self.line.1);
        }
        self.stop = Some(Stop { line, fills });
    }

    /// The fills of a statement line that failed after `values`, the
    /// last value tried being a string left open (`open`: its quote and
    /// where it stopped) or not.
    fn statement_fills(&self, values: &[Value], open: Option<(usize, usize)>) -> Vec<Fill> {
        let mut fills = Vec::new();
        let mut fill = |start: usize, end: usize, kind: FillKind| {
            if start < end {
                fills.push(Fill { start, end, kind });
            }
        };
        if let (Some(first), Some(last)) = (values.first(), values.last()) {
            if self.get(last.span.start) == Some(b'"') {
                fill(first.span.start, last.span.start, FillKind::InterpSpace);
                fill(last.span.start + 1, last.span.end - 1, FillKind::Interp);
            } else {
                fill(first.span.start, last.span.end, FillKind::Interp);
            }
        }
        if let Some((quote, end)) = open {
            fill(quote + 1, end, FillKind::Interp);
        }
        fills
    }

    // ---- the rules ----

    /// `file = SOI ~ (blank_line | comment_line | import | block)* ~
    /// (" " | "\t")* ~ comment? ~ EOI`
    fn file(&mut self) -> Option<File> {
        let mut items = Vec::new();
        let mut pending = Pending::default();
        let mut i = 0;
        loop {
            self.top = i;
            let j = self.ws(i);
            if let Some(next) = self.newline(j) {
                pending.blank(items.is_empty());
                i = next;
                continue;
            }
            let item = match self.get(j) {
                None => break,
                Some(b'#') => {
                    let end = self.comment_end(j);
                    pending.trivia.push(Trivia::Comment(self.comment(j, end)));
                    match self.newline(end) {
                        Some(next) => {
                            i = next;
                            continue;
                        }
                        // A comment on the last line, with no newline.
                        None => break,
                    }
                }
                Some(b'i') => self.import(j),
                Some(b'a' | b't') => self.block(j),
                Some(_) => None,
            };
            let Some((mut item, next)) = item else {
                self.stopped(i);
                return None;
            };
            item.leading = pending.take();
            items.push(item);
            i = next;
        }
        Some(File {
            items,
            trailing: pending.finish(),
        })
    }

    /// `import = (" " | "\t")* ~ "import" ~ sp ~ import_path ~ (sp ~ pin)?
    /// ~ eol`, from the keyword at `j`.
    fn import(&mut self, j: usize) -> Option<(Item, usize)> {
        if !self.starts(j, b"import") {
            return None;
        }
        let quote = self.sp(j + 6)?;
        if self.get(quote) != Some(b'"') {
            return None;
        }
        let close = self.scan(quote + 1, |c| matches!(c, b'"' | b'\n' | b'\r'));
        if self.get(close) != Some(b'"') {
            return None;
        }
        let path = Spanned::new(
            self.str(quote + 1, close).to_string(),
            self.span(quote, close + 1),
        );
        let mut end = close + 1;
        let mut pin = None;
        if let Some(at) = self.sp(end)
            && self.starts(at, b"sha256:")
        {
            let pin_end = self.scan(at + 7, |c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'#'));
            pin = Some(self.spanned_word(at, pin_end));
            end = pin_end;
        }
        let (next, comment) = self.eol(end)?;
        let item = Item {
            leading: Vec::new(),
            kind: ItemKind::Import(Import { path, pin }),
            comment,
            span: self.span(j, end),
        };
        Some((item, next))
    }

    /// `block = (" " | "\t")* ~ block_kind ~ sp ~ name ~ (sp ~ block_parent
    /// ~ sp ~ name)? ~ sp? ~ "{" ~ eol ~ body ~ close`, from the keyword at
    /// `j`.
    fn block(&mut self, j: usize) -> Option<(Item, usize)> {
        let (kind, after) = if self.starts(j, b"app") {
            (BlockKind::App, j + 3)
        } else if self.starts(j, b"template") {
            (BlockKind::Template, j + 8)
        } else {
            return None;
        };
        let name_start = self.sp(after)?;
        let name_end = self.word(name_start)?;
        let name = self.spanned_word(name_start, name_end);
        let mut parent = None;
        let mut header_end = name_end;
        if let Some(at) = self.sp(name_end) {
            let keyword_end = if self.starts(at, b"uses") {
                Some(at + 4)
            } else if self.starts(at, b"extends") {
                Some(at + 7)
            } else {
                None
            };
            if let Some(start) = keyword_end.and_then(|e| self.sp(e))
                && let Some(end) = self.word(start)
            {
                parent = Some(self.spanned_word(start, end));
                header_end = end;
            }
        }
        let brace = self.sp(header_end).unwrap_or(header_end);
        if self.get(brace) != Some(b'{') {
            return None;
        }
        let (body_start, comment) = self.eol(brace + 1)?;
        self.block_body = Some(body_start);
        let (stmts, closing, close_at) = self.body(body_start, false);
        let closed = self.close(close_at);
        if closed.is_none() {
            self.stopped(close_at);
        }
        self.block_body = None;
        let (end, close_comment) = closed?;
        let item = Item {
            leading: Vec::new(),
            kind: ItemKind::Block(Block {
                kind,
                name,
                parent,
                header: self.span(j, brace + 1),
                stmts,
                closing,
                close_comment,
            }),
            comment,
            span: self.span(j, end),
        };
        Some((item, end))
    }

    /// `body = (blank_line | comment_line | stmt | section)*` and
    /// `section_body` (the same without sections), from the line at `i`:
    /// the statements, the trivia before the `}`, and where the line that
    /// is none of these starts (the `}`, if the text is right).
    fn body(&mut self, mut i: usize, in_section: bool) -> (Vec<Stmt>, Vec<Trivia>, usize) {
        let mut stmts = Vec::new();
        let mut pending = Pending::default();
        let mut previous = i;
        loop {
            if in_section {
                self.section_lines = (previous, i);
            } else {
                self.block_lines = (previous, i);
            }
            previous = i;
            let j = self.ws(i);
            if let Some(next) = self.newline(j) {
                pending.blank(stmts.is_empty());
                i = next;
                continue;
            }
            match self.get(j) {
                Some(b'#') => {
                    let end = self.comment_end(j);
                    let Some(next) = self.newline(end) else { break };
                    pending.trivia.push(Trivia::Comment(self.comment(j, end)));
                    i = next;
                }
                Some(b'a'..=b'z') => {
                    let found = match self.stmt(i, j) {
                        Some(s) => Some(s),
                        None if !in_section => self.section(j),
                        None => None,
                    };
                    let Some((mut stmt, next)) = found else { break };
                    stmt.leading = pending.take();
                    stmts.push(stmt);
                    i = next;
                }
                _ => break,
            }
        }
        (stmts, pending.finish(), i)
    }

    /// `close = (" " | "\t")* ~ "}" ~ eol`: where the next line starts,
    /// and the comment.
    fn close(&mut self, i: usize) -> Option<(usize, Option<Spanned<String>>)> {
        let j = self.ws(i);
        if self.get(j) != Some(b'}') {
            return None;
        }
        self.eol(j + 1)
    }

    /// `section = (" " | "\t")* ~ key ~ sp? ~ "{" ~ eol ~ section_body ~
    /// close`, from the key at `j`.
    fn section(&mut self, j: usize) -> Option<(Stmt, usize)> {
        let key_end = self.word(j)?;
        let brace = self.sp(key_end).unwrap_or(key_end);
        if self.get(brace) != Some(b'{') {
            return None;
        }
        let (body_start, comment) = self.eol(brace + 1)?;
        self.section_body = Some(body_start);
        let (stmts, closing, close_at) = self.body(body_start, true);
        let closed = self.close(close_at);
        if closed.is_none() {
            self.stopped(close_at);
        }
        self.section_body = None;
        let (end, close_comment) = closed?;
        let stmt = Stmt {
            leading: Vec::new(),
            key: self.spanned_word(j, key_end),
            values: Vec::new(),
            comment,
            span: self.span(j, brace + 1),
            section: Some(Box::new(Section {
                stmts,
                closing,
                close_comment,
            })),
        };
        Some((stmt, end))
    }

    /// `stmt = (" " | "\t")* ~ key ~ (sp ~ value)* ~ eol`, on the line at
    /// `line`, from the key at `j`.
    fn stmt(&mut self, line: usize, j: usize) -> Option<(Stmt, usize)> {
        let key_end = self.word(j)?;
        let mark = self.errors.len();
        let mut values = Vec::new();
        let mut at = key_end;
        let mut open = None;
        while let Some(start) = self.sp(at) {
            let before = self.errors.len();
            match self.value(start) {
                Ok((value, end)) => {
                    // Room for one first: most statements have one value.
                    if values.capacity() == 0 {
                        values.reserve_exact(1);
                    }
                    values.push(value);
                    at = end;
                }
                Err(quote) => {
                    self.errors.truncate(before);
                    open = quote;
                    break;
                }
            }
        }
        let Some((next, comment)) = self.eol(at) else {
            self.errors.truncate(mark);
            self.line = (line, self.statement_fills(&values, open));
            return None;
        };
        let end = values.last().map_or(key_end, |v| v.span.end);
        let stmt = Stmt {
            leading: Vec::new(),
            key: self.spanned_word(j, key_end),
            values,
            comment,
            span: self.span(j, end),
            section: None,
        };
        Some((stmt, next))
    }

    /// `value = quoted | bare`. A value that is not there is `Err`, with
    /// the quote and the end of a string left open.
    fn value(&mut self, i: usize) -> Result<(Value, usize), Option<(usize, usize)>> {
        match self.get(i) {
            Some(b'"') => self.quoted(i).map_err(|end| Some((i, end))),
            Some(b'#') | None => Err(None),
            Some(_) => self.bare(i).ok_or(None),
        }
    }

    /// `bare = !("#" | "\"") ~ (bare_text | interp | dollar | stray)+`
    /// (the first character is the caller's to check).
    fn bare(&mut self, start: usize) -> Option<(Value, usize)> {
        let mut parts = std::mem::take(&mut self.parts);
        let mut i = start;
        loop {
            match self.get(i) {
                None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}') => break,
                Some(b'$') => i = self.dollar(i, &mut parts),
                Some(b'\\') if self.continuation(i).is_some() => break,
                Some(_) => {
                    // `bare_text`: up to a space, line end, brace, `$` or
                    // a continuation.
                    let mut end = i + 1;
                    while let Some(c) = self.get(end) {
                        match c {
                            b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b'$' => break,
                            b'\\' if self.continuation(end).is_some() => break,
                            _ => end += 1,
                        }
                    }
                    push_text(&mut parts, self.str(i, end));
                    i = end;
                }
            }
        }
        let parts = self.exact(parts);
        if i == start {
            return None;
        }
        Some((
            Value {
                parts,
                span: self.span(start, i),
            },
            i,
        ))
    }

    /// A value's parts in a vector of their number, and `parts` (emptied)
    /// kept for the next value: one allocation a value, none wasted.
    fn exact(&mut self, mut parts: Vec<Part>) -> Vec<Part> {
        let mut exact = Vec::with_capacity(parts.len());
        exact.append(&mut parts);
        self.parts = parts;
        exact
    }

    /// `quoted = "\"" ~ (quoted_text | interp | dollar | stray | escape)* ~
    /// "\""`, from the quote at `start`. A string left open is `Err`, with
    /// where its pieces stopped.
    fn quoted(&mut self, start: usize) -> Result<(Value, usize), usize> {
        let mut parts = std::mem::take(&mut self.parts);
        let mut i = start + 1;
        loop {
            match self.get(i) {
                Some(b'"') => {
                    let value = Value {
                        parts: self.exact(parts),
                        span: self.span(start, i + 1),
                    };
                    return Ok((value, i + 1));
                }
                None | Some(b'\r' | b'\n') => return Err(i),
                Some(b'$') => i = self.dollar(i, &mut parts),
                Some(b'\\') => {
                    // `escape = "\\" ~ (!("\r" | "\n") ~ ANY)`
                    let Some(c) = self
                        .text
                        .get(i + 1..)
                        .and_then(|t| t.chars().next())
                        .filter(|c| *c != '\r' && *c != '\n')
                    else {
                        return Err(i);
                    };
                    let end = i + 1 + c.len_utf8();
                    match escaped(c) {
                        Some(text) => push_text(&mut parts, text),
                        None => self.found(Found::Escape(i, end)),
                    }
                    i = end;
                }
                Some(_) => {
                    // `quoted_text`
                    let end =
                        self.scan(i + 1, |c| matches!(c, b'"' | b'\\' | b'$' | b'\r' | b'\n'));
                    push_text(&mut parts, self.str(i, end));
                    i = end;
                }
            }
        }
    }

    /// `interp | dollar | stray` at the `$` at `i`: `${...}` (up to the
    /// first `}` on the line), `$$`, or a lone `$` (an error); where the
    /// piece ends.
    fn dollar(&mut self, i: usize, parts: &mut Vec<Part>) -> usize {
        match self.get(i + 1) {
            Some(b'{') => {
                let close = self.brace_end(i + 2);
                if self.get(close) == Some(b'}') {
                    match parse_var(self.str(i + 2, close)) {
                        Some((name, strip, alt)) => {
                            let span = self.span(i, close + 1);
                            let var = Var {
                                name,
                                strip,
                                alt,
                                span,
                            };
                            push_part(parts, Part::Var(Box::new(var)));
                        }
                        None => self.found(Found::Interp(i, close)),
                    }
                    return close + 1;
                }
            }
            Some(b'$') => {
                push_text(parts, "$");
                return i + 2;
            }
            _ => {}
        }
        self.found(Found::Stray(i));
        i + 1
    }

    /// Notes a diagnostic of a value; past [`MAX_DIAGS`] the rest are not
    /// kept (a line of half a million stray `$` is half a million errors,
    /// and a run shows the first hundred).
    fn found(&mut self, found: Found) {
        if self.errors.len() < MAX_DIAGS {
            self.errors.push(found);
        }
    }

    /// The diagnostics of the values, in the order they were found.
    fn diagnostics(&self) -> Vec<Diag> {
        let mut out = Vec::with_capacity(self.errors.len());
        for found in &self.errors {
            let diag = match *found {
                Found::Escape(start, end) => {
                    unescape(self.str(start, end), self.span(start, end)).err()
                }
                Found::Stray(at) => Some(stray_dollar(self.span(at, at + 1))),
                Found::Interp(dollar, close) => {
                    interpolation(self.str(dollar + 2, close), self.span(dollar, close + 1)).err()
                }
            };
            out.extend(diag);
        }
        out
    }

    /// The first `}`, line end or end of text from `from` on. Remembered:
    /// a line of many `${` with no `}` is scanned once, not once per `$`.
    fn brace_end(&mut self, from: usize) -> usize {
        let (start, end) = self.brace;
        if start <= from && from <= end {
            return end;
        }
        let end = self.scan(from, |c| matches!(c, b'}' | b'\r' | b'\n'));
        self.brace = (from, end);
        end
    }
}
