//! The syntax tree of one `.scratch` file, as written: no template applied,
//! no variable substituted, comments and blank lines kept (the formatter
//! prints the file back from this tree alone).
//!
//! Invariants the parser guarantees (and `fmt` relies on):
//! - `Trivia::Blank` never appears twice in a row, never first in a block
//!   body or a file, and never last before a `}` or the end of the file;
//! - `Part::Text` pieces are never empty and never adjacent (escapes and
//!   `$$` are already decoded and merged into the text around them);
//! - comment texts start with `#` and carry no trailing whitespace.

use serde::Serialize;

use super::span::{Span, Spanned};

/// A whole file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct File {
    pub items: Vec<Item>,
    /// Comments and blank lines after the last item.
    pub trailing: Vec<Trivia>,
}

/// What may stand between two lines of code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Trivia {
    /// One or more empty lines (collapsed to one).
    Blank,
    /// A comment on a line of its own.
    Comment(Spanned<String>),
}

/// A top-level item with the comments above it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub leading: Vec<Trivia>,
    pub kind: ItemKind,
    /// A comment at the end of the item's first line.
    pub comment: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ItemKind {
    Import(Import),
    Block(Block),
}

/// `import "PATH" [sha256:HEX]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Import {
    /// The path as written, relative to the importing file's directory.
    pub path: Spanned<String>,
    /// The pin as written, `sha256:` included.
    pub pin: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BlockKind {
    App,
    Template,
}

impl BlockKind {
    pub fn keyword(self) -> &'static str {
        match self {
            BlockKind::App => "app",
            BlockKind::Template => "template",
        }
    }

    /// The word that introduces the parent: `uses` or `extends`.
    pub fn parent_keyword(self) -> &'static str {
        match self {
            BlockKind::App => "uses",
            BlockKind::Template => "extends",
        }
    }
}

/// `app NAME [uses T] { ... }` or `template NAME [extends T] { ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Block {
    pub kind: BlockKind,
    pub name: Spanned<String>,
    pub parent: Option<Spanned<String>>,
    /// The header line, from the keyword to the `{`.
    pub header: Span,
    pub stmts: Vec<Stmt>,
    /// Comments and blank lines between the last statement and the `}`.
    pub closing: Vec<Trivia>,
    /// A comment after the `}`.
    pub close_comment: Option<Spanned<String>>,
}

/// `KEY VALUE*` on one (logical) line, or `KEY {` opening a section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stmt {
    pub leading: Vec<Trivia>,
    pub key: Spanned<String>,
    /// Always empty when `section` is set (the grammar allows no value
    /// before the `{`).
    pub values: Vec<Value>,
    /// The comment at the end of the line (after the `{` of a section).
    pub comment: Option<Spanned<String>>,
    /// From the key to the last value (to the `{` of a section).
    pub span: Span,
    /// `KEY { ... }`: the statements of a section (one level deep; which
    /// keys open one is the checker's business). Left out of the JSON when
    /// absent, so trees without sections serialize as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
}

/// The inside of `KEY { ... }` in an app or a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    pub stmts: Vec<Stmt>,
    /// Comments and blank lines between the last statement and the `}`.
    pub closing: Vec<Trivia>,
    /// A comment after the `}`.
    pub close_comment: Option<Spanned<String>>,
}

/// One value: a bare word or a quoted string, already unescaped, split into
/// literal text and interpolations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Value {
    pub parts: Vec<Part>,
    pub span: Span,
}

impl Value {
    /// The value's text when it holds no interpolation.
    pub fn literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Var(_) => return None,
            }
        }
        Some(s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Part {
    Text(String),
    Var(Var),
}

/// `${NAME}`, `${NAME#PREFIX}` or `${NAME:+WORD}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Var {
    pub name: String,
    /// Removed from the start of the value when present.
    pub strip: Option<String>,
    /// `:+WORD`: the text is WORD when the variable is set (not empty, not
    /// `false`), else nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    /// The whole `${...}`.
    pub span: Span,
}
