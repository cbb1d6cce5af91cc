//! The standard library: templates written in the scratch language itself,
//! embedded in the binary and always in scope (no import needed).
//!
//! Adding a language (say `rust.scratch`) is adding a file here: the
//! compiler knows nothing about Go.

use std::sync::OnceLock;

use super::ast::File;
use super::span::FileId;
use super::syntax;

/// The prefix of stdlib file names in [`super::Sources`]. `<` cannot start a
/// normalised import path (imports refuse it), so names never collide.
pub const PREFIX: &str = "<stdlib>/";

/// `(file name, text)` of every stdlib file, in load order.
pub const FILES: &[(&str, &str)] = &[
    (
        "<stdlib>/go.scratch",
        include_str!("../../stdlib/go.scratch"),
    ),
    (
        "<stdlib>/prebuilt.scratch",
        include_str!("../../stdlib/prebuilt.scratch"),
    ),
];

/// The template an app uses when it names none.
pub const DEFAULT_TEMPLATE: &str = "go";

/// Whether a source file name is a stdlib one.
pub fn is_stdlib(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// The AST of a stdlib file, parsed once per process: every compile sees
/// the same embedded texts, and parsing them was most of the time spent
/// checking a small app. `id` is the file's id in the sources and `text`
/// its text; the cached tree is only used where parsing would give the
/// very same one: `text` is the embedded text of `FILES[id - 1]`, which is
/// where [`super::Sources::new`] puts it (spans carry the file id). `None`
/// means parse it yourself (and report its errors, if any).
pub fn parsed(id: FileId, text: &str) -> Option<&'static File> {
    static PARSED: OnceLock<Vec<Option<File>>> = OnceLock::new();
    let index = id.checked_sub(1)?;
    let (_, embedded) = FILES.get(index)?;
    if *embedded != text {
        return None;
    }
    PARSED
        .get_or_init(|| {
            FILES
                .iter()
                .enumerate()
                .map(|(i, (_, t))| syntax::parse(i + 1, t).ok())
                .collect()
        })
        .get(index)?
        .as_ref()
}
