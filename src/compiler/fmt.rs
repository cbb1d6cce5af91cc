//! The canonical layout of a `.scratch` file, printed from the AST alone.
//!
//! - two-space indent inside blocks (four inside a `kubernetes { }`
//!   section), one space between values;
//! - a value is quoted only when it must be (spaces, braces, a leading `#`
//!   or `"`, a backslash, an empty value), and `$` is always written `$$`;
//! - runs of blank lines are one blank line, none at the start or end of a
//!   file or block (the parser already collapses them);
//! - comments stay where they were, own-line or trailing;
//! - a statement longer than [`WIDTH`] is wrapped with `\` continuations.
//!
//! Formatting is idempotent and keeps the AST: `parse(format(f))` equals
//! `f` but for spans (tested over every example and fixture).

use super::ast::{Block, File, Item, ItemKind, Part, Stmt, Trivia, Value};
use super::diagnostic::Diag;
use super::syntax;

/// Lines longer than this are wrapped, where a statement has several values.
pub const WIDTH: usize = 100;

/// Parses and formats a file's text.
pub fn format_source(text: &str) -> Result<String, Vec<Diag>> {
    syntax::parse(0, text).map(|f| format(&f))
}

/// Prints a file in the canonical layout.
pub fn format(file: &File) -> String {
    let mut out = String::new();
    for item in &file.items {
        trivia(&mut out, &item.leading, "");
        self::item(&mut out, item);
    }
    trivia(&mut out, &file.trailing, "");
    out
}

fn trivia(out: &mut String, t: &[Trivia], indent: &str) {
    for x in t {
        match x {
            Trivia::Blank => out.push('\n'),
            Trivia::Comment(c) => {
                out.push_str(indent);
                out.push_str(&c.node);
                out.push('\n');
            }
        }
    }
}

fn end_line(out: &mut String, comment: Option<&str>) {
    if let Some(c) = comment {
        out.push(' ');
        out.push_str(c);
    }
    out.push('\n');
}

fn item(out: &mut String, item: &Item) {
    let comment = item.comment.as_ref().map(|c| c.node.as_str());
    match &item.kind {
        ItemKind::Import(i) => {
            out.push_str("import \"");
            out.push_str(&i.path.node);
            out.push('"');
            if let Some(p) = &i.pin {
                out.push(' ');
                out.push_str(&p.node);
            }
            end_line(out, comment);
        }
        ItemKind::Block(b) => block(out, b, comment),
    }
}

fn block(out: &mut String, b: &Block, comment: Option<&str>) {
    out.push_str(b.kind.keyword());
    out.push(' ');
    out.push_str(&b.name.node);
    if let Some(p) = &b.parent {
        out.push(' ');
        out.push_str(b.kind.parent_keyword());
        out.push(' ');
        out.push_str(&p.node);
    }
    out.push_str(" {");
    end_line(out, comment);
    for s in &b.stmts {
        trivia(out, &s.leading, "  ");
        stmt(out, s, "  ");
    }
    trivia(out, &b.closing, "  ");
    out.push('}');
    end_line(out, b.close_comment.as_ref().map(|c| c.node.as_str()));
}

/// One statement at `indent`; a section's statements two spaces deeper.
fn stmt(out: &mut String, s: &Stmt, indent: &str) {
    if let Some(sec) = &s.section {
        out.push_str(indent);
        out.push_str(&s.key.node);
        out.push_str(" {");
        end_line(out, s.comment.as_ref().map(|c| c.node.as_str()));
        let inner = format!("{indent}  ");
        for x in &sec.stmts {
            trivia(out, &x.leading, &inner);
            stmt(out, x, &inner);
        }
        trivia(out, &sec.closing, &inner);
        out.push_str(indent);
        out.push('}');
        end_line(out, sec.close_comment.as_ref().map(|c| c.node.as_str()));
        return;
    }
    // Continuation lines sit four columns deeper than the statement.
    let cont = format!("{indent}    ");
    let words: Vec<String> = s.values.iter().map(value).collect();
    let mut line = format!("{indent}{}", s.key.node);
    for w in &words {
        // Wrap before a word that would pass the width, unless the line
        // holds nothing but the key or the indent so far.
        let bare_line = line.trim_start() == s.key.node || line.trim().is_empty();
        if !bare_line && line.len() + 1 + w.len() > WIDTH {
            out.push_str(&line);
            out.push_str(" \\\n");
            line = format!("{cont}{w}");
        } else {
            line.push(' ');
            line.push_str(w);
        }
    }
    out.push_str(&line);
    end_line(out, s.comment.as_ref().map(|c| c.node.as_str()));
}

/// A value as source text, quoted only when it must be.
pub fn value(v: &Value) -> String {
    let needs_quotes = match v.parts.first() {
        None => true,
        Some(Part::Text(t)) if t.starts_with(['#', '"']) => true,
        _ => v.parts.iter().any(|p| match p {
            Part::Text(t) => t.contains([' ', '\t', '\n', '\r', '{', '}', '\\']),
            // `${x:+ y}` parses bare too, but reads as two values.
            Part::Var(v) => v.alt.as_deref().is_some_and(|a| a.contains([' ', '\t'])),
        }),
    };
    let mut s = String::new();
    if needs_quotes {
        s.push('"');
    }
    for p in &v.parts {
        match p {
            Part::Text(t) => {
                for c in t.chars() {
                    match c {
                        '$' => s.push_str("$$"),
                        '"' if needs_quotes => s.push_str("\\\""),
                        '\\' => s.push_str("\\\\"),
                        '\n' => s.push_str("\\n"),
                        '\t' => s.push_str("\\t"),
                        c => s.push(c),
                    }
                }
            }
            Part::Var(var) => {
                s.push_str("${");
                s.push_str(&var.name);
                if let Some(strip) = &var.strip {
                    s.push('#');
                    s.push_str(strip);
                }
                if let Some(alt) = &var.alt {
                    s.push_str(":+");
                    s.push_str(alt);
                }
                s.push('}');
            }
        }
    }
    if needs_quotes {
        s.push('"');
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_layout() {
        let src = "\n\n# top\napp  a   uses go {   # hi\n\n\n    port   8080 \"8081\"   # web\n  env \"A=b c\" X=$$y\n\n\n  # end\n\n}\n\n\n";
        let want = "# top\napp a uses go { # hi\n  port 8080 8081 # web\n  env \"A=b c\" X=$$y\n\n  # end\n}\n";
        let got = format_source(src).unwrap();
        assert_eq!(got, want);
        assert_eq!(format_source(&got).unwrap(), got);
    }

    #[test]
    fn sections_are_indented_and_keep_their_comments() {
        let src = "app a {\n  port 8080\n kubernetes   {  # cluster\n\n replicas 2\n\n\n   # probes\n      probe readiness http 8080 /healthz\n\n }   # end\n}\n";
        let want = "app a {\n  port 8080\n  kubernetes { # cluster\n    replicas 2\n\n    # probes\n    probe readiness http 8080 /healthz\n  } # end\n}\n";
        let got = format_source(src).unwrap();
        assert_eq!(got, want);
        assert_eq!(format_source(&got).unwrap(), got);
    }
}
