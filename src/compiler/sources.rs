//! The set of source files one compile sees: the root `app.scratch` and the
//! files it imports. The compiler never reads files itself; the CLI (from
//! disk) or the frontend (from BuildKit's `dockerfile` local) fills this in.

use std::collections::{BTreeMap, BTreeSet};

use super::excerpt::line_starts;
use super::span::FileId;

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
    /// Imports the driver looked for and did not find (normalised names);
    /// the checker reports them, `pending_imports` stops asking for them.
    missing: BTreeSet<String>,
    /// Per file (same index as `files`), the byte offset where each line
    /// starts: `[0, after first '\n', ...]`. Built once at `add` (texts
    /// never change afterwards), so `line_col` is a binary search instead
    /// of a scan from the start of the file for every span (which made
    /// lowering a large file quadratic).
    line_starts: Vec<Vec<usize>>,
}

impl Sources {
    /// Sources holding the root file (id 0), then the stdlib files
    /// (named `<stdlib>/...`), so diagnostics can point into templates.
    pub fn new(root_name: impl Into<String>, text: impl Into<String>) -> Self {
        let mut s = Sources::default();
        s.add(root_name, text);
        for (name, text) in super::stdlib::FILES {
            s.add(*name, *text);
        }
        s
    }

    /// Records that an import could not be found (its normalised name).
    pub fn mark_missing(&mut self, name: impl Into<String>) {
        self.missing.insert(name.into());
    }

    /// Whether the driver recorded this import as not found.
    pub fn is_missing(&self, name: &str) -> bool {
        self.missing.contains(name)
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
