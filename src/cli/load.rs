//! The CLI's side of a build's files: the disk. [`Disk`] is the
//! [`Reader`] every verb hands to [`crate::build`]; the compiler decides
//! what to load ([`crate::compiler::check::pending_imports`]), this file
//! only reads.
//!
//! The app file's directory is the build context: its `.dockerignore`
//! filters what is sent, its files answer the dependency lookups.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use crate::build::{self, Plan, Reader, Settings};
use crate::client::errors::{BuildError, InputError};
use crate::client::lock;
use crate::compiler::Sources;

/// The files of one app file on disk.
#[derive(Clone, Debug)]
pub struct Disk {
    /// The app file, as given (a directory given stands for its
    /// `app.scratch`).
    pub file: PathBuf,
    /// Its directory: where imports and `scratch.lock` are.
    pub dir: PathBuf,
    /// The build context, canonical, so the same tree gets the same
    /// `local.unique` whichever way its path was written.
    pub context: PathBuf,
}

impl Disk {
    /// The files of the app file at `file` (or of `file/app.scratch`, when
    /// `file` is a directory).
    pub fn new(file: &Path) -> Disk {
        let file = if file.is_dir() {
            file.join(build::APP_FILE)
        } else {
            file.to_path_buf()
        };
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let context = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        Disk { file, dir, context }
    }

    /// The app file's name in diagnostics: the path as given.
    pub fn name(&self) -> String {
        self.file.display().to_string()
    }

    /// Loads and checks the build's files with `settings` (their `file` is
    /// set here). Reading the disk never waits, so this runs the plan's
    /// future to completion in place, inside or outside a runtime.
    pub fn plan(&self, settings: Settings) -> Result<Plan, BuildError> {
        let settings = Settings {
            file: self.name(),
            ..settings
        };
        futures::executor::block_on(Plan::load(self, settings))
    }
}

/// Reads a file; `None` when nothing is there.
fn read(action: &'static str, path: &Path) -> Result<Option<Vec<u8>>, BuildError> {
    match std::fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InputError {
            action,
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

impl Reader for Disk {
    async fn read_app(&self) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), BuildError> {
        let app = read("read", &self.file)?;
        let lock = read("read", &lock::path_for(&self.file))?;
        Ok((app, lock))
    }

    async fn read_imports(&self, names: &[String]) -> Result<Vec<Option<Vec<u8>>>, BuildError> {
        names
            .iter()
            .map(|n| read("read", &self.dir.join(n)))
            .collect()
    }

    async fn read_dockerignore(&self) -> Result<Option<Vec<u8>>, BuildError> {
        read("read", &self.context.join(".dockerignore"))
    }

    async fn present(&self, paths: &BTreeSet<String>) -> Result<BTreeSet<String>, BuildError> {
        Ok(paths
            .iter()
            .filter(|p| self.context.join(p).symlink_metadata().is_ok())
            .cloned()
            .collect())
    }
}

/// Reads the app file at `path` and, transitively, every file it imports.
/// Imports that do not exist are marked missing, for the checker to report
/// with their span; other read errors stop the load.
pub fn load(path: &Path) -> Result<Sources, BuildError> {
    let disk = Disk::new(path);
    futures::executor::block_on(build::load_sources(&disk, &disk.name())).map(|(s, _)| s)
}

/// The patterns of `<context>/.dockerignore`, in file order (comments and
/// blank lines dropped); none when the file does not exist.
pub fn dockerignore(context: &Path) -> Result<Vec<String>, BuildError> {
    Ok(read("read", &context.join(".dockerignore"))?
        .map(|d| build::inputs::dockerignore_patterns(&String::from_utf8_lossy(&d)))
        .unwrap_or_default())
}
