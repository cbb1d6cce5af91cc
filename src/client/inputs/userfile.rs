//! Reading the user's files from disk: the app file, its imports,
//! `.dockerignore` and `scratch.lock`. One function for all of them, so
//! each read is held to the same three rules:
//!
//! - **regular files only**: a device, FIFO, socket or directory is
//!   refused. The file is opened with `O_NONBLOCK` (opening a FIFO with no
//!   writer then returns at once instead of waiting) and its type checked
//!   on the open descriptor before any byte is read;
//! - **inside the root** ([`read_inside`]): the path is resolved, symlinks
//!   followed, and must stay in the root directory. A file outside it is
//!   never opened, so nothing of it can reach a diagnostic. (A frontend
//!   sees only that directory, so the CLI refuses the same files.) The
//!   resolved path is then opened with `O_NOFOLLOW`;
//! - **bounded**: never more than `cap + 1` bytes are read, whatever the
//!   file's size says or becomes while it is read.
//!
//! The limits themselves are the compiler's (`compiler::sources`), shared
//! with the frontend.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::compiler::Code;
use crate::compiler::excerpt::escape_text;
use crate::compiler::sources::{self, Unreadable};

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// A limit or rule of this module (see [`Unreadable`]).
    Refused(Unreadable),
    /// The OS refused (permissions, not UTF-8 where text is needed, ...).
    Io(io::Error),
}

/// A file that was not read, with its path.
#[derive(Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub error: ReadError,
}

impl FileError {
    /// Whether nothing is there (the caller may treat that as "none").
    pub fn is_not_found(&self) -> bool {
        match &self.error {
            ReadError::Refused(Unreadable::NotFound) => true,
            ReadError::Io(e) => e.kind() == io::ErrorKind::NotFound,
            ReadError::Refused(_) => false,
        }
    }

    /// Why, as the compiler records it for an import; `None` for an IO
    /// error (which stops the load).
    pub fn unreadable(&self) -> Option<Unreadable> {
        match &self.error {
            ReadError::Refused(u) => Some(u.clone()),
            ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound => Some(Unreadable::NotFound),
            ReadError::Io(_) => None,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = escape_text(&self.path.display().to_string());
        let d = match &self.error {
            ReadError::Io(e) => {
                let hint = match e.kind() {
                    io::ErrorKind::NotFound => " (check the path)",
                    io::ErrorKind::PermissionDenied => " (check its permissions)",
                    io::ErrorKind::InvalidData => " (scratch files are UTF-8 text)",
                    _ => "",
                };
                return write!(f, "cannot read {path}: {e}{hint}");
            }
            ReadError::Refused(Unreadable::NotFound) => {
                return write!(f, "cannot read {path}: no such file (check the path)");
            }
            ReadError::Refused(Unreadable::OutsideRoot) => {
                return write!(
                    f,
                    "cannot read {path}: it resolves outside the directory it is read from (a symlink may point only inside it) [{}]",
                    Code::ImportMissing
                );
            }
            ReadError::Refused(Unreadable::NotAFile(what)) => sources::not_a_file(&path, what),
            ReadError::Refused(Unreadable::TooLarge { bytes }) => {
                sources::file_too_large(&path, *bytes)
            }
            ReadError::Refused(Unreadable::SourcesTooLarge) => sources::sources_too_large(&path),
        };
        write!(f, "cannot read {path}: {} [{}]", d.message, d.code)?;
        if let Some(h) = &d.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// What a file type is, for a message: "a directory", "a FIFO", ...
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        "not a regular file"
    }
}

/// Reads the file at `path` (symlinks followed: the user named it), a
/// regular file of at most `cap` bytes.
pub fn read_regular(path: &Path, cap: usize) -> Result<Vec<u8>, FileError> {
    read_opened(path, cap, false)
}

/// Reads `rel` under `root` as [`read_regular`] does, refusing a path that
/// resolves outside `root` (`..`, an absolute symlink, a symlink to a
/// parent) before opening it.
pub fn read_inside(root: &Path, rel: &Path, cap: usize) -> Result<Vec<u8>, FileError> {
    let path = root.join(rel);
    let err = |error| FileError {
        path: path.clone(),
        error,
    };
    let root = std::fs::canonicalize(root).map_err(|e| err(ReadError::Io(e)))?;
    let resolved = match std::fs::canonicalize(&path) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(err(ReadError::Refused(Unreadable::NotFound)));
        }
        Err(e) => return Err(err(ReadError::Io(e))),
    };
    if !resolved.starts_with(&root) {
        return Err(err(ReadError::Refused(Unreadable::OutsideRoot)));
    }
    read_opened(&resolved, cap, true).map_err(|e| FileError {
        path: path.clone(),
        error: e.error,
    })
}

/// [`read_inside`] as UTF-8 text; `Ok(None)` when there is no such file.
pub fn read_text_inside(root: &Path, rel: &Path, cap: usize) -> Result<Option<String>, FileError> {
    match read_inside(root, rel, cap) {
        Ok(bytes) => utf8(root.join(rel), bytes).map(Some),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Bytes as UTF-8 text, or the error naming the file.
pub fn utf8(path: PathBuf, bytes: Vec<u8>) -> Result<String, FileError> {
    String::from_utf8(bytes).map_err(|e| FileError {
        path,
        error: ReadError::Io(io::Error::new(io::ErrorKind::InvalidData, e.utf8_error())),
    })
}

fn read_opened(path: &Path, cap: usize, no_follow: bool) -> Result<Vec<u8>, FileError> {
    let err = |error| FileError {
        path: path.to_path_buf(),
        error,
    };
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if no_follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = match OpenOptions::new().read(true).custom_flags(flags).open(path) {
        Ok(f) => f,
        Err(e) => {
            // A socket cannot be opened (ENXIO), a symlink swapped in after
            // resolving is refused by O_NOFOLLOW (ELOOP): say what it is.
            return Err(match std::fs::symlink_metadata(path) {
                Ok(m) if !m.file_type().is_file() && e.kind() != io::ErrorKind::NotFound => err(
                    ReadError::Refused(Unreadable::NotAFile(kind_of(m.file_type()).to_string())),
                ),
                _ if e.kind() == io::ErrorKind::NotFound => {
                    err(ReadError::Refused(Unreadable::NotFound))
                }
                _ => err(ReadError::Io(e)),
            });
        }
    };
    let meta = file.metadata().map_err(|e| err(ReadError::Io(e)))?;
    if !meta.file_type().is_file() {
        return Err(err(ReadError::Refused(Unreadable::NotAFile(
            kind_of(meta.file_type()).to_string(),
        ))));
    }
    if meta.len() > cap as u64 {
        return Err(err(ReadError::Refused(Unreadable::TooLarge {
            bytes: Some(meta.len()),
        })));
    }
    bounded(file, cap).map_err(err)
}

/// At most `cap` bytes of `file`; a file that grew past it while read is
/// refused having read `cap + 1` bytes.
fn bounded(file: File, cap: usize) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut out)
        .map_err(ReadError::Io)?;
    if out.len() > cap {
        return Err(ReadError::Refused(Unreadable::TooLarge { bytes: None }));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn refused(r: Result<Vec<u8>, FileError>) -> Unreadable {
        match r {
            Err(FileError {
                error: ReadError::Refused(u),
                ..
            }) => u,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_regular_file_inside_is_read() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("t")).unwrap();
        std::fs::write(d.path().join("t/a.scratch"), "x").unwrap();
        std::os::unix::fs::symlink("t/a.scratch", d.path().join("link")).unwrap();
        assert_eq!(
            read_inside(d.path(), Path::new("t/a.scratch"), 10).unwrap(),
            b"x"
        );
        assert_eq!(read_inside(d.path(), Path::new("link"), 10).unwrap(), b"x");
    }

    #[test]
    fn a_symlink_out_of_the_root_is_never_opened() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "root:x:0").unwrap();
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc/passwd", d.path().join("rel")).unwrap();
        for name in ["abs", "rel"] {
            let e = read_inside(d.path(), Path::new(name), 1 << 20).unwrap_err();
            assert!(matches!(
                e.error,
                ReadError::Refused(Unreadable::OutsideRoot)
            ));
            assert!(!e.to_string().contains("root:x"), "{e}");
        }
        // `..` out and back in stays inside; out to a sibling does not.
        std::fs::write(d.path().join("in"), "x").unwrap();
        let up = Path::new("..")
            .join(d.path().file_name().unwrap())
            .join("in");
        assert_eq!(read_inside(d.path(), &up, 10).unwrap(), b"x");
        let sibling = Path::new("..")
            .join(outside.path().file_name().unwrap())
            .join("secret");
        assert_eq!(
            refused(read_inside(d.path(), &sibling, 10)),
            Unreadable::OutsideRoot
        );
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert_eq!(
            refused(read_inside(d.path(), Path::new("fifo"), 10)),
            Unreadable::NotAFile("a FIFO".into())
        );
        assert_eq!(
            refused(read_regular(Path::new("/dev/zero"), 10)),
            Unreadable::NotAFile("a character device".into())
        );
        assert_eq!(
            refused(read_regular(d.path(), 10)),
            Unreadable::NotAFile("a directory".into())
        );
        let sock = d.path().join("sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert_eq!(
            refused(read_regular(&sock, 10)),
            Unreadable::NotAFile("a socket".into())
        );
    }

    #[test]
    fn a_file_over_the_cap_is_refused_with_its_size() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("big"), vec![b'a'; 11]).unwrap();
        assert_eq!(
            refused(read_inside(d.path(), Path::new("big"), 10)),
            Unreadable::TooLarge { bytes: Some(11) }
        );
        assert_eq!(
            read_inside(d.path(), Path::new("big"), 11).unwrap().len(),
            11
        );
    }
}
