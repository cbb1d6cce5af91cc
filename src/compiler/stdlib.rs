//! The standard library: templates written in the scratch language itself,
//! embedded in the binary and always in scope (no import needed).
//!
//! Adding a language (say `rust.scratch`) is adding a file here: the
//! compiler knows nothing about Go.

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
