//! Where a build writes on this machine (`--output` files and directories,
//! `--cache-to type=local` directories), and the rules that keep those
//! writes from touching anything the user did not name.
//!
//! Invariants:
//! - Nothing is deleted that the export did not create. A `local` output
//!   into an existing directory is merged: the image's files are added,
//!   files of the same name are replaced (each by one rename), every other
//!   entry stays. A path where the export needs a directory but the
//!   destination holds a file or a symlink is a conflict, found before the
//!   first rename: the export never writes through a symlink.
//! - Before the build starts ([`check`]): a directory destination that is
//!   the build context, holds it, or lies inside it without being excluded
//!   by `.dockerignore` is refused; a file destination only replaces an
//!   empty file or an archive (a previous export), never a source; a
//!   destination that cannot be written is refused.
//! - Exports are staged beside their target (same file system, so the
//!   final renames are atomic) under a name holding a lock file; a run
//!   killed mid-export leaves its staging behind, and the next export to
//!   the same target removes it ([`stage`]), never one whose owner still
//!   runs.

use std::fs::{self, File};
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::client::ClientError;
use crate::client::inputs::patterns::PatternSet;

/// What kind of thing is written at a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A single file (`tar`, `oci`, `docker` outputs): replaced whole.
    File,
    /// A directory (`local` outputs, cache directories): merged into.
    Dir,
}

/// The build context a destination must stay out of.
#[derive(Clone, Copy, Debug)]
pub struct ContextGuard<'a> {
    /// The context directory, canonical.
    pub dir: &'a Path,
    /// Its `.dockerignore` patterns: a destination they exclude is not part
    /// of the context, so writing there cannot touch a source.
    pub excludes: &'a [String],
}

/// Why a destination is refused before the build.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error(
        "{what} `{}` is the build context or contains it: the image's files would be written among your sources\n  help: write it to a directory outside `{}`",
        dest.display(), context.display()
    )]
    HoldsContext {
        what: String,
        dest: PathBuf,
        context: PathBuf,
    },
    #[error(
        "{what} `{}` is inside the build context `{}`: the next build would send it as a source\n  help: add `/{rel}` to {}/.dockerignore, or write it outside the context",
        dest.display(), context.display(), context.display()
    )]
    InsideContext {
        what: String,
        dest: PathBuf,
        context: PathBuf,
        rel: String,
    },
    #[error("{what} `{}` {problem}\n  help: {help}", dest.display())]
    Unusable {
        what: String,
        dest: PathBuf,
        problem: String,
        help: String,
    },
}

/// Checks a destination before anything runs: where it lies against the
/// context, what is there now, and that its directory can be written.
/// `what` names the flag in messages (`--output`, `--cache-to`). Gives the
/// warnings to print: a file written inside the context (allowed, but the
/// next build sends it and so runs its steps again).
pub fn check(
    what: &str,
    dest: &Path,
    shape: Shape,
    context: Option<ContextGuard<'_>>,
) -> Result<Vec<String>, DestinationError> {
    let mut warnings = Vec::new();
    let unusable = |problem: String, help: &str| DestinationError::Unusable {
        what: what.to_string(),
        dest: dest.to_path_buf(),
        problem,
        help: help.to_string(),
    };
    let abs = absolute(dest).map_err(|e| {
        unusable(
            format!("cannot be resolved: {e}"),
            "name a path in an existing, readable directory",
        )
    })?;
    if let Some(ctx) = context {
        if ctx.dir.starts_with(&abs) {
            return Err(DestinationError::HoldsContext {
                what: what.to_string(),
                dest: dest.to_path_buf(),
                context: ctx.dir.to_path_buf(),
            });
        }
        if let Ok(rel) = abs.strip_prefix(ctx.dir) {
            let rel = rel.to_string_lossy().into_owned();
            let ignored = PatternSet::new(ctx.excludes).is_ok_and(|p| excluded(&p, &rel));
            match (ignored, shape) {
                (true, _) => {}
                (false, Shape::Dir) => {
                    return Err(DestinationError::InsideContext {
                        what: what.to_string(),
                        dest: dest.to_path_buf(),
                        context: ctx.dir.to_path_buf(),
                        rel,
                    });
                }
                (false, Shape::File) => warnings.push(format!(
                    "{what} `{}` is inside the build context: the next build sends it as a source and runs its steps again; add `/{rel}` to {}/.dockerignore",
                    dest.display(),
                    ctx.dir.display()
                )),
            }
        }
    }
    match (fs::symlink_metadata(dest), shape) {
        (Ok(m), Shape::Dir) if m.file_type().is_symlink() => {
            return Err(unusable(
                "is a symbolic link; an export never writes through one".into(),
                "name the directory it points to, or another path",
            ));
        }
        (Ok(m), Shape::Dir) if !m.is_dir() => {
            return Err(unusable(
                "is a file, and this output is a directory".into(),
                "name a directory (it is created when missing)",
            ));
        }
        (Ok(m), Shape::File) if m.is_dir() => {
            return Err(unusable(
                "is a directory, and this output is one file".into(),
                "name the file to write, e.g. `dest=out/image.tar`",
            ));
        }
        (Ok(m), Shape::File) if !m.is_file() => {
            return Err(unusable(
                "is not a regular file; an export only replaces a file it wrote".into(),
                "name another path",
            ));
        }
        (Ok(m), Shape::File) if m.len() > 0 && !is_archive(dest) => {
            return Err(unusable(
                "exists and is not an archive: an export only replaces an empty file or a previous export".into(),
                "name a new file, or move this one away first",
            ));
        }
        (Ok(_) | Err(_), _) => {}
    }
    // The staging goes beside the target: its nearest existing ancestor
    // must be a directory we can create entries in.
    let parent = abs.parent().unwrap_or(Path::new("/"));
    let existing = parent
        .ancestors()
        .find(|a| fs::symlink_metadata(a).is_ok())
        .unwrap_or(Path::new("/"));
    if !fs::metadata(existing).is_ok_and(|m| m.is_dir()) {
        return Err(unusable(
            format!(
                "cannot be created: `{}` is not a directory",
                existing.display()
            ),
            "name a path below a directory",
        ));
    }
    probe_writable(existing).map_err(|e| {
        unusable(
            format!("cannot be written: `{}`: {e}", existing.display()),
            "choose a directory you can write to, or fix its permissions",
        )
    })?;
    Ok(warnings)
}

/// Whether the file starts as a tar archive (`ustar` at offset 257) or a
/// gzip stream: what every file export writes.
fn is_archive(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 262];
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    head.starts_with(&[0x1f, 0x8b]) || (n >= 262 && &head[257..262] == b"ustar")
}

/// Whether `.dockerignore` patterns exclude `rel` or one of its parents
/// (a path below an excluded directory is not sent either).
fn excluded(patterns: &PatternSet, rel: &str) -> bool {
    let mut prefix = String::new();
    for part in rel.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if patterns.matches(&prefix) {
            return true;
        }
    }
    false
}

/// `path` made absolute with its existing part resolved (symlinks
/// followed), the rest cleaned lexically: the place a write would land.
fn absolute(path: &Path) -> io::Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut existing = joined.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = fs::canonicalize(existing) {
            let mut out = c;
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(n) => out.push(n),
                    _ => {}
                }
            }
            return Ok(out);
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(p), Some(last)) => {
                rest.push(last);
                existing = p;
            }
            _ => return Ok(joined.clone()),
        }
    }
}

/// Creates and removes a file in `dir`.
fn probe_writable(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".scratchc-probe-{}", short_id()));
    File::create(&probe)?;
    fs::remove_file(&probe)
}

fn short_id() -> String {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    tag[..8].to_string()
}

/// The marker in staging names: `.NAME.scratchc-tmp-XXXXXXXX`.
const STAGING_MARK: &str = ".scratchc-tmp-";

/// An export being received beside its target. The lock file next to it is
/// held for as long as this value lives (the OS drops the lock when the
/// process dies, however it dies).
#[derive(Debug)]
pub struct Staged {
    /// Where the bytes or the tree are written.
    pub path: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

/// Creates the staging place for `target` (a directory for
/// [`Shape::Dir`]; a path to create the file at for [`Shape::File`]),
/// creating the target's parent directories, after removing the stagings
/// of killed runs.
pub fn stage(target: &Path, shape: Shape) -> io::Result<Staged> {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    sweep(target);
    let name = file_name(target);
    let path = parent.join(format!(".{name}{STAGING_MARK}{}", short_id()));
    let lock_path = lock_path(&path);
    let lock = File::create(&lock_path)?;
    lock.try_lock().map_err(|e| match e {
        fs::TryLockError::Error(e) => e,
        fs::TryLockError::WouldBlock => io::Error::other("a fresh lock file is already locked"),
    })?;
    if shape == Shape::Dir
        && let Err(e) = fs::create_dir(&path)
    {
        let _ = fs::remove_file(&lock_path);
        return Err(e);
    }
    Ok(Staged {
        path,
        lock_path,
        _lock: lock,
    })
}

fn file_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into())
}

fn lock_path(staging: &Path) -> PathBuf {
    let mut s = staging.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Removes the stagings for `target` that no running process holds: each
/// has a lock file beside it, locked by its owner until it exits.
fn sweep(target: &Path) {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!(".{}{STAGING_MARK}", file_name(target));
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(staging) = name
            .strip_prefix(&prefix)
            .and_then(|tag| tag.strip_suffix(".lock"))
            .filter(|tag| tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|tag| parent.join(format!("{prefix}{tag}")))
        else {
            continue;
        };
        let lock = e.path();
        let Ok(f) = File::options().write(true).open(&lock) else {
            continue;
        };
        if f.try_lock().is_ok() {
            remove_any(&staging);
            let _ = fs::remove_file(&lock);
        }
    }
}

/// Removes a file or a directory tree; what is already gone is fine.
pub fn remove_any(p: &Path) {
    let _ = match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(_) => Ok(()),
    };
}

impl Staged {
    /// Removes the staging and its lock.
    pub fn discard(self) {
        remove_any(&self.path);
        let _ = fs::remove_file(&self.lock_path);
    }

    /// Moves the export into place: a file replaces `target`; a tree
    /// becomes `target` when it does not exist, or is merged into it.
    pub fn commit(self, target: &Path, shape: Shape) -> Result<(), ClientError> {
        let moved = match (shape, fs::symlink_metadata(target)) {
            (Shape::Dir, Ok(m)) if m.is_dir() => merge(&self.path, target),
            (Shape::Dir, Ok(_)) => Err(ClientError::io(
                "exporting a directory over a file or symlink at",
                target,
                io::Error::from(io::ErrorKind::AlreadyExists),
            )),
            (_, _) => fs::rename(&self.path, target)
                .map_err(|e| ClientError::io("moving the export into place at", target, e)),
        };
        self.discard();
        moved
    }
}

/// Merges the tree at `from` into the existing directory `into`: first
/// every conflict is looked for (nothing moves if there is one), then each
/// directory missing in `into` is moved in whole and each file renamed over
/// its namesake.
fn merge(from: &Path, into: &Path) -> Result<(), ClientError> {
    conflicts(from, into)?;
    move_into(from, into)
}

fn conflicts(from: &Path, into: &Path) -> Result<(), ClientError> {
    let entries = fs::read_dir(from).map_err(|e| ClientError::io("reading the export", from, e))?;
    for e in entries {
        let e = e.map_err(|e| ClientError::io("reading the export", from, e))?;
        let theirs = into.join(e.file_name());
        let Ok(m) = fs::symlink_metadata(&theirs) else {
            continue;
        };
        let ours_is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        let problem = match (ours_is_dir, m.file_type()) {
            (true, t) if t.is_dir() => {
                conflicts(&e.path(), &theirs)?;
                None
            }
            (true, t) if t.is_symlink() => {
                Some("is a symbolic link where the image has a directory")
            }
            (true, _) => Some("is a file where the image has a directory"),
            (false, t) if t.is_dir() => Some("is a directory where the image has a file"),
            (false, _) => None,
        };
        if let Some(p) = problem {
            return Err(ClientError::io(
                "merging the export: nothing was written, because",
                &theirs,
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{p}; move it away or export to an empty directory"),
                ),
            ));
        }
    }
    Ok(())
}

fn move_into(from: &Path, into: &Path) -> Result<(), ClientError> {
    let entries = fs::read_dir(from).map_err(|e| ClientError::io("reading the export", from, e))?;
    for e in entries {
        let e = e.map_err(|e| ClientError::io("reading the export", from, e))?;
        let ours = e.path();
        let theirs = into.join(e.file_name());
        let both_dirs = e.file_type().is_ok_and(|t| t.is_dir())
            && fs::symlink_metadata(&theirs).is_ok_and(|m| m.is_dir());
        if both_dirs {
            move_into(&ours, &theirs)?;
        } else {
            fs::rename(&ours, &theirs)
                .map_err(|e| ClientError::io("moving the export into place at", &theirs, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    }

    fn read(p: &Path) -> String {
        fs::read_to_string(p).unwrap()
    }

    #[test]
    fn the_context_and_its_ancestors_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let ctx = root.path().join("proj");
        fs::create_dir_all(ctx.join("src")).unwrap();
        let ctx = fs::canonicalize(&ctx).unwrap();
        let guard = Some(ContextGuard {
            dir: &ctx,
            excludes: &[],
        });
        for dest in [ctx.clone(), ctx.join(".."), root.path().join("proj/src/..")] {
            let e = check("--output", &dest, Shape::Dir, guard).unwrap_err();
            assert!(
                matches!(e, DestinationError::HoldsContext { .. }),
                "{}: {e}",
                dest.display()
            );
        }
        let e = check("--output", &ctx.join("out"), Shape::Dir, guard).unwrap_err();
        assert!(e.to_string().contains("add `/out` to"), "{e}");
        // A file inside the context is allowed, with a warning.
        let w = check("--output", &ctx.join("a/img.tar"), Shape::File, guard).unwrap();
        assert!(w[0].contains("add `/a/img.tar` to"), "{w:?}");
        // Excluded by .dockerignore (the path or a parent): not a source.
        let ex = ["out".to_string(), "build/".to_string()];
        let guard = Some(ContextGuard {
            dir: &ctx,
            excludes: &ex,
        });
        check("--output", &ctx.join("out"), Shape::Dir, guard).unwrap();
        check("--output", &ctx.join("build/x/img.tar"), Shape::File, guard).unwrap();
        // Beside the context: fine.
        check("--output", &root.path().join("dist"), Shape::Dir, guard).unwrap();
    }

    #[test]
    fn a_context_reached_through_a_symlink_is_still_the_context() {
        let root = tempfile::tempdir().unwrap();
        let ctx = root.path().join("proj");
        fs::create_dir(&ctx).unwrap();
        symlink(&ctx, root.path().join("alias")).unwrap();
        let ctx = fs::canonicalize(&ctx).unwrap();
        let guard = Some(ContextGuard {
            dir: &ctx,
            excludes: &[],
        });
        let e = check("--output", &root.path().join("alias"), Shape::Dir, guard).unwrap_err();
        assert!(matches!(e, DestinationError::HoldsContext { .. }), "{e}");
    }

    #[test]
    fn wrong_kinds_and_unwritable_places_are_refused() {
        let root = tempfile::tempdir().unwrap();
        write(&root.path().join("file"), "x");
        fs::create_dir(root.path().join("dir")).unwrap();
        symlink(root.path().join("dir"), root.path().join("link")).unwrap();
        let c = |p: &str, s| check("--output", &root.path().join(p), s, None);
        assert!(
            c("file", Shape::Dir)
                .unwrap_err()
                .to_string()
                .contains("is a file")
        );
        assert!(
            c("link", Shape::Dir)
                .unwrap_err()
                .to_string()
                .contains("symbolic link")
        );
        assert!(
            c("dir", Shape::File)
                .unwrap_err()
                .to_string()
                .contains("is a directory")
        );
        assert!(
            c("file/x", Shape::Dir)
                .unwrap_err()
                .to_string()
                .contains("not a directory")
        );
        c("dir", Shape::Dir).unwrap();
        c("new/deeper/out", Shape::Dir).unwrap();
        // A file is replaced only when empty or an archive.
        assert!(
            c("file", Shape::File)
                .unwrap_err()
                .to_string()
                .contains("not an archive")
        );
        write(&root.path().join("empty"), "");
        c("empty", Shape::File).unwrap();
        let mut tar = vec![0u8; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        fs::write(root.path().join("old.tar"), &tar).unwrap();
        c("old.tar", Shape::File).unwrap();
        fs::write(root.path().join("old.tar.gz"), [0x1f, 0x8b, 8]).unwrap();
        c("old.tar.gz", Shape::File).unwrap();
        symlink("old.tar", root.path().join("tar-link")).unwrap();
        assert!(
            c("tar-link", Shape::File)
                .unwrap_err()
                .to_string()
                .contains("not a regular file")
        );
        let e = check(
            "--output",
            Path::new("/proc/scratchc-out"),
            Shape::Dir,
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot be written"), "{e}");
        // The probe leaves nothing.
        let mut names: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "dir",
                "empty",
                "file",
                "link",
                "old.tar",
                "old.tar.gz",
                "tar-link"
            ]
        );
    }

    #[test]
    fn a_tree_is_merged_into_an_existing_directory() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        write(&target.join("keep.txt"), "mine");
        write(&target.join("usr/bin/hello"), "old binary");
        write(&target.join("usr/share/doc"), "mine too");
        let s = stage(&target, Shape::Dir).unwrap();
        write(&s.path.join("usr/bin/hello"), "new binary");
        write(&s.path.join("etc/passwd"), "nonroot");
        s.commit(&target, Shape::Dir).unwrap();
        assert_eq!(read(&target.join("keep.txt")), "mine");
        assert_eq!(read(&target.join("usr/share/doc")), "mine too");
        assert_eq!(read(&target.join("usr/bin/hello")), "new binary");
        assert_eq!(read(&target.join("etc/passwd")), "nonroot");
        let names: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out"], "no staging or lock left");
    }

    #[test]
    fn a_conflict_moves_nothing_and_no_symlink_is_written_through() {
        let root = tempfile::tempdir().unwrap();
        let outside = root.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let target = root.path().join("out");
        fs::create_dir(&target).unwrap();
        symlink(&outside, target.join("usr")).unwrap();
        let s = stage(&target, Shape::Dir).unwrap();
        write(&s.path.join("a.txt"), "a");
        write(&s.path.join("usr/bin/hello"), "bin");
        let e = s.commit(&target, Shape::Dir).unwrap_err().to_string();
        assert!(
            e.contains("symbolic link where the image has a directory"),
            "{e}"
        );
        assert!(!target.join("a.txt").exists(), "nothing moved");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_killed_runs_staging_is_swept_but_a_live_one_is_not() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let live = stage(&target, Shape::Dir).unwrap();
        write(&live.path.join("x"), "x");
        // A killed run: its staging and an unlocked lock file.
        let dead = root.path().join(".out.scratchc-tmp-0123abcd");
        write(&dead.join("big"), "leftover");
        File::create(lock_path(&dead)).unwrap();
        // Not ours: a name that only looks alike, without a lock.
        let other = root.path().join(".out.scratchc-tmp-99999999");
        fs::create_dir(&other).unwrap();
        let next = stage(&target, Shape::Dir).unwrap();
        assert!(!dead.exists() && !lock_path(&dead).exists());
        assert!(live.path.join("x").exists(), "a running export is kept");
        assert!(other.exists(), "no lock file, not ours to remove");
        next.discard();
        live.discard();
    }

    #[test]
    fn a_file_replaces_its_target() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("img.tar");
        write(&target, "old");
        let s = stage(&target, Shape::File).unwrap();
        fs::write(&s.path, "new").unwrap();
        s.commit(&target, Shape::File).unwrap();
        assert_eq!(read(&target), "new");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
