//! Reading an app.scratch and its imports from disk, and a context's
//! `.dockerignore`. The compiler decides what to load
//! ([`check::pending_imports`]); this file only reads.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::compiler::Sources;
use crate::compiler::check;

/// A file that could not be read.
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub error: io::Error,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = match self.error.kind() {
            io::ErrorKind::NotFound => " (check the path)",
            io::ErrorKind::PermissionDenied => " (check its permissions)",
            io::ErrorKind::InvalidData => " (scratch files are UTF-8 text)",
            _ => "",
        };
        write!(
            f,
            "cannot read {}: {}{hint}",
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for LoadError {}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|error| LoadError {
        path: path.to_path_buf(),
        error,
    })
}

/// Reads the root file at `path` and, transitively, every file it imports
/// (relative to the root file's directory). Imports that do not exist are
/// marked missing, for the checker to report with their span; other read
/// errors stop the load.
pub fn load(path: &Path) -> Result<Sources, LoadError> {
    let text = read(path)?;
    let mut sources = Sources::new(path.display().to_string(), text);
    let dir = path.parent().unwrap_or(Path::new(""));
    loop {
        let pending = check::pending_imports(&sources);
        if pending.is_empty() {
            return Ok(sources);
        }
        for name in pending {
            let file = dir.join(&name);
            match read(&file) {
                Ok(text) => {
                    sources.add(name, text);
                }
                Err(e) if e.error.kind() == io::ErrorKind::NotFound => sources.mark_missing(name),
                Err(e) => return Err(e),
            }
        }
    }
}

/// The patterns of `<context>/.dockerignore`, in file order (comments and
/// blank lines dropped); none when the file does not exist.
pub fn dockerignore(context: &Path) -> Result<Vec<String>, LoadError> {
    let path = context.join(".dockerignore");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(crate::client::inputs::dockerignore_patterns(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(LoadError { path, error }),
    }
}
