//! The set of source files one compile sees: the root `app.scratch` and the
//! files it imports. The compiler never reads files itself; the CLI (from
//! disk) or the frontend (from BuildKit's `dockerfile` local) fills this in.

use std::collections::{BTreeMap, BTreeSet};

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
        self.by_name.insert(name.clone(), id);
        self.files.push(SourceFile {
            name,
            text: text.into(),
        });
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

    /// 1-based line and column (in chars) of a byte offset in a file.
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let Some(f) = self.get(id) else { return (1, 1) };
        let offset = offset.min(f.text.len());
        let before = f.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}
