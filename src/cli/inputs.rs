//! The CLI's side of the compile inputs: the context directory of an app
//! file on disk and what it holds (`.dockerignore`, `scratch.lock`). The
//! derivations every driver shares (build args, platforms, lowering
//! options, lock pinning) are in [`crate::client::inputs`], re-exported
//! here so the CLI verbs name them in one place.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::client::lock::{self, Lock, LockError};
use crate::compiler::Platform;
use crate::compiler::model::Program;

pub use crate::client::inputs::{
    build_args, dockerignore_patterns, local_unique, lower_options, options, pin, platforms,
};

use super::load::{self, LoadError};

/// The build context of an app file: its directory, canonical, so the same
/// tree gets the same [`local_unique`] whichever way its path was written.
pub fn context_dir(file: &Path) -> PathBuf {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// What the CLI reads beside the sources: everything about an app file's
/// directory that changes the definition.
#[derive(Debug)]
pub struct Context {
    /// The directory (see [`context_dir`]).
    pub dir: PathBuf,
    /// Its `.dockerignore` patterns.
    pub excludes: Vec<String>,
    /// `scratch.lock` beside the file, if there is one.
    pub lock: Option<Lock>,
    /// Where that lock is (or would be).
    pub lock_path: PathBuf,
}

/// Why the context of an app file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{0}")]
    Lock(#[from] LockError),
}

impl Context {
    /// Reads the context of the app file at `file`.
    pub fn read(file: &Path) -> Result<Context, ContextError> {
        let dir = context_dir(file);
        let excludes = load::dockerignore(&dir)?;
        let lock_path = lock::path_for(file);
        let lock = Lock::read(&lock_path)?;
        Ok(Context {
            dir,
            excludes,
            lock,
            lock_path,
        })
    }

    /// The platform builder steps run on when no daemon says otherwise:
    /// the one the lock was resolved for (the daemon's, when it was
    /// written), else `fallback`. An error when the lock names no valid
    /// platform.
    pub fn build_platform(&self, fallback: Platform) -> Result<Platform, String> {
        match &self.lock {
            None => Ok(fallback),
            Some(l) => Platform::parse(&l.build_platform).map_err(|e| {
                format!(
                    "{}: build-platform `{}` is not a platform ({e:?}); run `scratchc lock` to rewrite it",
                    self.lock_path.display(),
                    l.build_platform
                )
            }),
        }
    }
}

/// The files of `program.context_probes()` that the context directory `dir`
/// lacks (nothing there under that name, not even a dangling link).
pub fn absent_files(dir: &Path, program: &Program) -> BTreeSet<String> {
    program
        .context_probes()
        .into_iter()
        .filter(|f| dir.join(f).symlink_metadata().is_err())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::compiler::{self, Options, Sources};

    fn program(text: &str) -> Program {
        compiler::check(&Sources::new("app.scratch", text), &Options::default()).unwrap()
    }

    #[test]
    fn absent_dependency_files_are_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("go.mod"), "module x\n").unwrap();
        let p = program("app a {\n}\n");
        assert_eq!(
            p.context_probes(),
            BTreeSet::from(["go.mod".into(), "go.sum".into()])
        );
        assert_eq!(
            absent_files(dir.path(), &p),
            BTreeSet::from(["go.sum".into()])
        );
        std::fs::write(dir.path().join("go.sum"), "").unwrap();
        assert!(absent_files(dir.path(), &p).is_empty());
        // A prebuilt binary has no dependency step to probe for.
        assert!(
            program("app a uses prebuilt {\n  from bin/a\n}\n")
                .context_probes()
                .is_empty()
        );
    }
}
