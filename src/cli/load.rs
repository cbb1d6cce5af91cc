//! The CLI's side of a build's files: the disk. [`Disk`] is the
//! [`Reader`] every verb hands to [`crate::build`]; the compiler decides
//! what to load ([`crate::compiler::check::pending_imports_since`]), this
//! file only reads, through [`userfile`]: regular files only, inside the
//! app file's directory after following symlinks (the app file included),
//! within the compiler's size limits.
//!
//! The build context is the app file's directory unless `--context DIR`
//! names another: its `.dockerignore` filters what is sent, its files
//! answer the dependency lookups, its git checkout gives the `GIT_*`
//! variables. When the app file lies inside the context, imports are read
//! from the whole context (a monorepo's shared templates); else from the
//! app file's directory only.
//!
//! FILE means the same in every verb ([`Disk::from_arg`]): absent, it is
//! `app.scratch`; a directory stands for its `app.scratch`; `-` is the
//! standard input, read whole, as if it were a file in the current
//! directory (its imports, `scratch.lock` and `.dockerignore` are looked
//! up there). A verb that sends a build context takes a file on disk only
//! ([`Disk::on_disk`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::build::{self, Found, Plan, Reader, Settings};
use crate::client::errors::{BuildError, InputError, UsageError};
use crate::client::inputs::lock;
use crate::client::inputs::userfile::{self, FileError};
use crate::compiler::Sources;
use crate::compiler::sources::MAX_FILE_BYTES;

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
    /// The app file's text when it came from the standard input (`-`).
    stdin: Option<Vec<u8>>,
    /// The app file's directory inside the context (`Some("")`: the
    /// context is that directory), or `None` when it lies outside.
    pub app_dir: Option<String>,
}

/// The FILE argument that means the standard input.
pub const STDIN: &str = "-";

/// The app file's name in diagnostics when it came from the standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// Whether a FILE argument means the standard input.
pub fn is_stdin(file: &Path) -> bool {
    file.as_os_str() == STDIN
}

/// The app file a FILE argument names: a directory stands for its
/// `app.scratch`.
pub fn app_path(file: &Path) -> PathBuf {
    if file.is_dir() {
        file.join(build::APP_FILE)
    } else {
        file.to_path_buf()
    }
}

/// Reads the whole standard input (for `-`).
pub fn read_stdin() -> Result<Vec<u8>, BuildError> {
    use std::io::Read;
    let mut data = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut data)
        .map_err(|source| InputError {
            action: "read",
            path: STDIN_NAME.into(),
            source,
        })?;
    Ok(data)
}

/// The error for an app file that is not there, with the way to start
/// one: `scratchc init` when its directory is a Go module.
pub fn missing_app_file(file: &Path) -> BuildError {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.join("go.mod").is_file() {
        let init = if dir == Path::new(".") {
            "scratchc init".to_string()
        } else {
            format!("scratchc init {}", dir.display())
        };
        BuildError::Precondition {
            what: format!(
                "cannot read {}: no such file, and {} is a Go module without an app file",
                file.display(),
                dir.display()
            ),
            help: format!(
                "run `{init}` to write an app.scratch for its main packages, then build again"
            ),
        }
    } else {
        BuildError::Precondition {
            what: format!("cannot read {}: no such file", file.display()),
            help: "FILE is the app file (default: app.scratch; a directory means its \
                   app.scratch; - reads the standard input); in a Go module, `scratchc init` \
                   writes one; the language: docs/language.md, `man scratchc`"
                .to_string(),
        }
    }
}

impl Disk {
    /// The files of the app file at `file` (or of `file/app.scratch`, when
    /// `file` is a directory). `-` is a file of that name here: verbs that
    /// read the standard input go through [`Disk::from_arg`].
    pub fn new(file: &Path) -> Disk {
        Disk::with_context(file, None)
    }

    /// The files of the app file at `file` with `context` as the build
    /// context (`None`: the app file's directory).
    pub fn with_context(file: &Path, context: Option<&Path>) -> Disk {
        let file = app_path(file);
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let own = canonical(&dir);
        let context = context.map_or_else(|| own.clone(), canonical);
        let app_dir = own.strip_prefix(&context).ok().map(|rel| {
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        });
        Disk {
            file,
            dir,
            context,
            stdin: None,
            app_dir,
        }
    }

    /// The files of a FILE argument with the build context the command
    /// line gives (`--context DIR`, which must be a directory): on disk
    /// for a verb that sends the context (`on_disk` names the verb), else
    /// as [`Disk::from_arg`].
    pub fn for_args(
        file: &Path,
        args: &super::CompileArgs,
        on_disk: Option<&str>,
    ) -> Result<Disk, BuildError> {
        let Some(dir) = &args.context else {
            return match on_disk {
                Some(verb) => Disk::on_disk(file, verb),
                None => Disk::from_arg(file),
            };
        };
        if !dir.is_dir() {
            return Err(UsageError::new(format!(
                "--context `{}` is not a directory",
                crate::compiler::excerpt::escape_text(&dir.display().to_string())
            ))
            .help("name the directory to send as the build context, e.g. the repository root")
            .into());
        }
        if let Some(verb) = on_disk {
            Disk::on_disk(file, verb)?;
        } else if is_stdin(file) {
            return Err(UsageError::new("--context needs the app file on disk")
                .help("name the app file inside the context")
                .into());
        }
        Ok(Disk::with_context(file, Some(dir)))
    }

    /// Where imports are read: the context when the app file lies in it,
    /// else its own directory.
    fn import_root(&self) -> &Path {
        if self.app_dir.is_some() && self.stdin.is_none() {
            &self.context
        } else {
            &self.dir
        }
    }

    /// The files of a FILE argument of a verb that reads no context from
    /// the daemon's side (`check`, `llb`, `dockerfile`, `k8s`, `compose`):
    /// `-` reads the app file from the standard input, the rest from the
    /// current directory.
    pub fn from_arg(file: &Path) -> Result<Disk, BuildError> {
        if !is_stdin(file) {
            return Ok(Disk::new(file));
        }
        let text = read_stdin()?;
        let mut disk = Disk::new(Path::new(STDIN_NAME));
        disk.stdin = Some(text);
        Ok(disk)
    }

    /// The files of a FILE argument of a verb that sends the file's
    /// directory as the build context (`build`, `lock`, `verify`): the
    /// standard input has no directory, so `-` is refused.
    pub fn on_disk(file: &Path, verb: &str) -> Result<Disk, BuildError> {
        if is_stdin(file) {
            return Err(UsageError::new(format!(
                "scratchc {verb} reads the app file from disk: its directory is the build context"
            ))
            .help("write it to a file (e.g. app.scratch in the context directory) and name that")
            .into());
        }
        Ok(Disk::new(file))
    }

    /// The app file's name in diagnostics: the path as given, or
    /// `<stdin>`.
    pub fn name(&self) -> String {
        self.file.display().to_string()
    }

    /// Loads and checks the build's files with `settings` (their `file` is
    /// set here). Reading the disk never waits, so this runs the plan's
    /// future to completion in place, inside or outside a runtime.
    pub fn plan(&self, settings: Settings) -> Result<Plan, BuildError> {
        let settings = Settings {
            file: self.name(),
            app_dir: self.app_dir.clone(),
            vcs: crate::build::vcs::Vcs::from_git(&self.context),
            ..settings
        };
        futures::executor::block_on(Plan::load(self, settings))
    }

    /// A file of the app file's directory; `None` when nothing is there.
    fn optional(&self, dir: &Path, name: &str) -> Result<Option<Vec<u8>>, BuildError> {
        match userfile::read_inside(dir, Path::new(name), MAX_FILE_BYTES) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl Reader for Disk {
    async fn read_app(&self) -> Result<(Vec<u8>, Option<Vec<u8>>), BuildError> {
        let app = match &self.stdin {
            Some(text) => text.clone(),
            None => read_root_bytes(&self.file).map_err(|e| {
                if e.is_not_found() {
                    missing_app_file(&self.file)
                } else {
                    e.into()
                }
            })?,
        };
        let lock = self.optional(&self.dir, lock::FILE_NAME)?;
        Ok((app, lock))
    }

    async fn read_imports(&self, names: &[String]) -> Result<Vec<Found>, BuildError> {
        names
            .iter()
            .map(|n| {
                match userfile::read_inside(self.import_root(), Path::new(n), MAX_FILE_BYTES) {
                    Ok(data) => Ok(Ok(data)),
                    Err(e) => match e.unreadable() {
                        Some(why) => Ok(Err(why)),
                        None => Err(e.into()),
                    },
                }
            })
            .collect()
    }

    async fn read_dockerignore(&self) -> Result<Option<Vec<u8>>, BuildError> {
        self.optional(&self.context, ".dockerignore")
    }

    async fn read_context(&self, path: &str) -> Result<Option<Vec<u8>>, BuildError> {
        match userfile::read_inside(&self.context, Path::new(path), MAX_FILE_BYTES) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.unreadable().is_some() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn present(&self, paths: &BTreeSet<String>) -> Result<BTreeSet<String>, BuildError> {
        Ok(paths
            .iter()
            .filter(|p| self.context.join(p).symlink_metadata().is_ok())
            .cloned()
            .collect())
    }
}

/// The bytes of an app file named by the user. It too must resolve inside
/// its directory: a repository's app.scratch that is a symlink to a host
/// file is refused, as the frontend (which sees only that directory)
/// refuses it.
fn read_root_bytes(path: &Path) -> Result<Vec<u8>, FileError> {
    match path.file_name() {
        Some(name) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            userfile::read_inside(dir, Path::new(name), MAX_FILE_BYTES)
        }
        None => userfile::read_regular(path, MAX_FILE_BYTES),
    }
    .map_err(|e| FileError {
        path: path.to_path_buf(),
        error: e.error,
    })
}

/// The text of an app file named by the user (see [`read_root_bytes`]).
pub fn read_root(path: &Path) -> Result<String, FileError> {
    userfile::utf8(path.to_path_buf(), read_root_bytes(path)?)
}

/// Reads the app file at `path` and, transitively, every file it imports.
/// Imports that cannot be added (not found, outside the directory, not a
/// regular file, over a size limit) are marked for the checker to report
/// with their span; an IO error stops the load.
pub fn load(path: &Path) -> Result<Sources, BuildError> {
    load_disk(&Disk::new(path))
}

/// [`load`] of a [`Disk`] (with its context).
pub fn load_disk(disk: &Disk) -> Result<Sources, BuildError> {
    let app_dir = disk.app_dir.clone();
    futures::executor::block_on(build::load_sources(disk, &disk.name(), app_dir.as_deref()))
        .map(|(s, _)| s)
}

/// The patterns of `<context>/.dockerignore`, in file order (comments and
/// blank lines dropped); none when the file does not exist.
pub fn dockerignore(context: &Path) -> Result<Vec<String>, BuildError> {
    Ok(
        userfile::read_text_inside(context, Path::new(".dockerignore"), MAX_FILE_BYTES)?
            .map(|text| build::inputs::dockerignore_patterns(&text))
            .unwrap_or_default(),
    )
}
