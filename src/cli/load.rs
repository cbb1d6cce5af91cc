//! Reading an app.scratch and its imports from disk, and a context's
//! `.dockerignore`. The compiler decides what to load
//! ([`check::pending_imports_since`]); this file only reads, through
//! [`userfile`] (regular files only, inside the root file's directory,
//! within the compiler's size limits).

use std::path::{Path, PathBuf};

use crate::client::userfile::{self, FileError};
use crate::compiler::Sources;
use crate::compiler::check;
use crate::compiler::sources::MAX_FILE_BYTES;

/// A file that could not be read (its Display names the path, what went
/// wrong and, for a refusal, the diagnostic code).
pub type LoadError = FileError;

/// The directory imports are read from: the root file's own.
fn root_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads the root file at `path` and, transitively, every file it imports
/// (relative to the root file's directory, and never outside it after
/// following symlinks: the root file included). Imports that cannot be added (not found, outside
/// the directory, not a regular file, over a size limit) are marked for
/// the checker to report with their span; an IO error stops the load.
/// Each file is read once and parsed once here, so the load is linear in
/// the number of files however they import each other.
pub fn load(path: &Path) -> Result<Sources, LoadError> {
    let dir = root_dir(path);
    let mut sources = Sources::new(path.display().to_string(), read_root(path)?);
    let mut scanned = 0;
    loop {
        let pending = check::pending_imports_since(&sources, scanned);
        scanned = sources.len();
        if pending.is_empty() {
            return Ok(sources);
        }
        for name in pending {
            match userfile::read_inside(&dir, Path::new(&name), MAX_FILE_BYTES) {
                Ok(bytes) => {
                    let text = userfile::utf8(dir.join(&name), bytes)?;
                    // Over the limits, it is marked (and reported) instead.
                    let _ = sources.add_read(name, text);
                }
                Err(e) => match e.unreadable() {
                    Some(why) => sources.mark_unreadable(name, why),
                    None => return Err(e),
                },
            }
        }
    }
}

/// The text of a root file named by the user. It too must resolve inside
/// its directory: a repository's app.scratch that is a symlink to a host
/// file is refused, as the frontend (which sees only that directory)
/// refuses it.
pub fn read_root(path: &Path) -> Result<String, LoadError> {
    let bytes = match path.file_name() {
        Some(name) => userfile::read_inside(&root_dir(path), Path::new(name), MAX_FILE_BYTES),
        None => userfile::read_regular(path, MAX_FILE_BYTES),
    }
    .map_err(|e| LoadError {
        path: path.to_path_buf(),
        error: e.error,
    })?;
    userfile::utf8(path.to_path_buf(), bytes)
}

/// The patterns of `<context>/.dockerignore`, in file order (comments and
/// blank lines dropped); none when the file does not exist.
pub fn dockerignore(context: &Path) -> Result<Vec<String>, LoadError> {
    Ok(
        userfile::read_text_inside(context, Path::new(".dockerignore"), MAX_FILE_BYTES)?
            .map(|text| crate::client::inputs::dockerignore_patterns(&text))
            .unwrap_or_default(),
    )
}
