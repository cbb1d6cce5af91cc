//! The set of source files one compile sees: the root `app.scratch` and the
//! files it imports. The compiler never reads files itself; the CLI (from
//! disk) or the frontend (from BuildKit's `dockerfile` local) fills this in.
//!
//! The limits on what a compile reads live here, so both drivers enforce
//! the same ones: a file of at most [`MAX_FILE_BYTES`], all the user's
//! files of one compile at most [`MAX_SOURCES_BYTES`]. A driver reads at
//! most one byte more than it may keep, and reports what it could not add
//! with [`Sources::mark_unreadable`]; the checker turns that into the
//! diagnostic at the import (and refuses over-large files it was given
//! directly).

use std::collections::BTreeMap;

use super::codes::Code;
use super::diagnostic::Diag;
use super::excerpt::line_starts;
use super::span::FileId;

/// Bytes of one source file at most (the root, an import, and also
/// `.dockerignore` and `scratch.lock`, which the drivers read with the
/// same limit). An app.scratch is a few kilobytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// Bytes of all the user's source files of one compile at most (the
/// standard library does not count). A definition's source map embeds the
/// text of the files its steps point into, and a definition must fit in
/// one 4 MiB gRPC message (`lower::MAX_DEFINITION_BYTES`): 2 MiB of
/// sources leaves the other half for the steps.
pub const MAX_SOURCES_BYTES: usize = 2 << 20;

/// Why a driver did not add a file it was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Nothing there (a dangling symlink included).
    NotFound,
    /// It resolves (through a symlink) outside the directory it is read from;
    /// not read. A frontend sees only that directory, so for it such a
    /// file does not exist: the same code, E0400.
    OutsideRoot,
    /// Not a regular file: what it is ("a directory", "a FIFO", ...).
    NotAFile(String),
    /// Over [`MAX_FILE_BYTES`]; its size when known.
    TooLarge { bytes: Option<u64> },
    /// Adding it would pass [`MAX_SOURCES_BYTES`].
    SourcesTooLarge,
}

/// `n` bytes for a message: `1.5 MiB`, `812 KiB`, `17 bytes`.
pub fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    } else if n >= 1 << 10 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// The diagnostic for a file over [`MAX_FILE_BYTES`] (no span: drivers use
/// it for the root file, the checker places it).
pub fn file_too_large(name: &str, bytes: Option<u64>) -> Diag {
    let size = match bytes {
        Some(b) => format!(" ({})", human_bytes(b)),
        None => String::new(),
    };
    Diag::new(
        Code::FileTooLarge,
        format!(
            "`{name}` is larger than {}{size}",
            human_bytes(MAX_FILE_BYTES as u64)
        ),
    )
    .help(format!(
        "a scratch file is at most {} (see docs/security.md); split it into imported files",
        human_bytes(MAX_FILE_BYTES as u64)
    ))
}

/// The diagnostic for sources over [`MAX_SOURCES_BYTES`] in all.
pub fn sources_too_large(name: &str) -> Diag {
    Diag::new(
        Code::SourcesTooLarge,
        format!(
            "with `{name}`, the files of this compile pass {}",
            human_bytes(MAX_SOURCES_BYTES as u64)
        ),
    )
    .help(format!(
        "the root file and its imports are at most {} together (see docs/security.md)",
        human_bytes(MAX_SOURCES_BYTES as u64)
    ))
}

/// The diagnostic for a path that is not a regular file.
pub fn not_a_file(name: &str, what: &str) -> Diag {
    Diag::new(
        Code::NotAFile,
        format!("`{name}` is {what}, not a regular file"),
    )
    .help("scratch files, .dockerignore and scratch.lock are read only from regular files (never devices, FIFOs or sockets)")
}

/// One source file: the name it is shown under (a path relative to the
/// directory of the root file, `/`-separated) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// All sources of one compile. File 0 is the root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    files: Vec<SourceFile>,
    by_name: BTreeMap<String, FileId>,
    /// Imports the driver looked for and could not add (normalised
    /// names), with why; the checker reports them, `pending_imports` stops
    /// asking for them.
    missing: BTreeMap<String, Unreadable>,
    /// Bytes of the files added by [`Sources::add_read`] and the root.
    user_bytes: usize,
    /// Per file (same index as `files`), the byte offset where each line
    /// starts: `[0, after first '\n', ...]`. Built once at `add` (texts
    /// never change afterwards), so `line_col` is a binary search instead
    /// of a scan from the start of the file for every span (which made
    /// lowering a large file quadratic).
    line_starts: Vec<Vec<usize>>,
    /// The root file's directory inside the import root, `/`-separated
    /// (`""`: the root file's own directory is the import root). Imports
    /// are named relative to the import root and may reach anywhere in
    /// it: a monorepo's app file under `services/api/` built with the
    /// repository as its context may import `../../templates/x.scratch`.
    root_dir: String,
}

impl Sources {
    /// Places the root file at `dir` inside the import root (see
    /// `root_dir`); `dir` is relative, `/`-separated, without `..`.
    pub fn with_root_dir(mut self, dir: &str) -> Self {
        self.root_dir = dir
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect::<Vec<_>>()
            .join("/");
        self
    }

    /// The root file's directory inside the import root (`""` when it is
    /// the import root).
    pub fn root_dir(&self) -> &str {
        &self.root_dir
    }

    /// Sources holding the root file (id 0), then the stdlib files
    /// (named `<stdlib>/...`), so diagnostics can point into templates.
    pub fn new(root_name: impl Into<String>, text: impl Into<String>) -> Self {
        let mut s = Sources::default();
        s.add(root_name, text);
        s.user_bytes = s.files.first().map_or(0, |f| f.text.len());
        for (name, text) in super::stdlib::FILES {
            s.add(*name, *text);
        }
        s
    }

    /// Records that an import could not be found (its normalised name).
    pub fn mark_missing(&mut self, name: impl Into<String>) {
        self.mark_unreadable(name, Unreadable::NotFound);
    }

    /// Records that an import could not be added, and why.
    pub fn mark_unreadable(&mut self, name: impl Into<String>, why: Unreadable) {
        self.missing.insert(name.into(), why);
    }

    /// Whether the driver recorded this import as not added.
    pub fn is_missing(&self, name: &str) -> bool {
        self.missing.contains_key(name)
    }

    /// Why the driver did not add this import, if it did not.
    pub fn unreadable(&self, name: &str) -> Option<&Unreadable> {
        self.missing.get(name)
    }

    /// Adds an import a driver read, within the limits: over
    /// [`MAX_FILE_BYTES`], or past [`MAX_SOURCES_BYTES`] with the files
    /// added so far, it is marked unreadable instead (and `Err` says why).
    pub fn add_read(
        &mut self,
        name: impl Into<String>,
        text: String,
    ) -> Result<FileId, Unreadable> {
        let name = name.into();
        // (A driver reads at most one byte past the limit: the length
        // here is not the file's size.)
        let why = if text.len() > MAX_FILE_BYTES {
            Some(Unreadable::TooLarge { bytes: None })
        } else if self.user_bytes + text.len() > MAX_SOURCES_BYTES {
            Some(Unreadable::SourcesTooLarge)
        } else {
            None
        };
        if let Some(why) = why {
            self.mark_unreadable(name, why.clone());
            return Err(why);
        }
        self.user_bytes += text.len();
        Ok(self.add(name, text))
    }

    /// Bytes of the user's files so far (the root and what
    /// [`Sources::add_read`] added).
    pub fn user_bytes(&self) -> usize {
        self.user_bytes
    }

    /// Adds a file (or returns the id it already has).
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let name = name.into();
        if let Some(&id) = self.by_name.get(&name) {
            return id;
        }
        let id = self.files.len();
        let text = text.into();
        self.by_name.insert(name.clone(), id);
        self.line_starts.push(line_starts(&text));
        self.files.push(SourceFile { name, text });
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id)
    }

    pub fn id(&self, name: &str) -> Option<FileId> {
        self.by_name.get(name).copied()
    }

    pub fn root(&self) -> Option<&SourceFile> {
        self.files.first()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The byte offsets where the lines of a file start (`[0, ...]`).
    pub fn line_starts(&self, id: FileId) -> Option<&[usize]> {
        self.line_starts.get(id).map(Vec::as_slice)
    }

    /// 1-based line and column (in chars) of a byte offset in a file. An
    /// offset past the end means the end; one inside a UTF-8 sequence (no
    /// span is) gives `(1, 1)`.
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let (Some(f), Some(starts)) = (self.get(id), self.line_starts.get(id)) else {
            return (1, 1);
        };
        let offset = offset.min(f.text.len());
        if !f.text.is_char_boundary(offset) {
            return (1, 1);
        }
        // Lines starting at or before `offset`; `starts[0] == 0`, so >= 1.
        let line = starts.partition_point(|&s| s <= offset);
        let start = starts.get(line - 1).copied().unwrap_or(0);
        let col = f.text.get(start..offset).map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index gives what counting from the start of the file gives, at
    /// every offset (UTF-8 and a trailing newline included).
    #[test]
    fn line_col_matches_a_scan() {
        let text = "app a {\n  env K=é✓\n\n}\nlast";
        let mut s = Sources::default();
        let id = s.add("x", text);
        for offset in 0..=text.len() + 2 {
            let o = offset.min(text.len());
            let want = match text.get(..o) {
                Some(before) => (
                    before.matches('\n').count() + 1,
                    before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                ),
                None => (1, 1),
            };
            assert_eq!(s.line_col(id, offset), want, "offset {offset}");
        }
        assert_eq!(s.line_col(7, 0), (1, 1));
    }
}
