//! Files replaced whole: written under a temporary name beside the target
//! and renamed over it, so a reader never sees half a file and a failed
//! write leaves the old one (and no temporary) behind. The one
//! write-then-rename of the code base (`scratchc fmt`, `scratch.lock`,
//! OCI layout files).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Writes `data` to a temporary file next to `path` and renames it over
/// `path`. The temporary has a fresh name (created exclusively, never an
/// existing file) and is removed when any step fails. An existing file's
/// permissions are kept.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let tmp = path.with_file_name(format!(".{name}.scratchc-tmp-{}", &tag[..8]));
    let mut created = false;
    let res = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        created = true;
        f.write_all(data)?;
        if let Ok(meta) = fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if res.is_err() && created {
        let _ = fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_file_and_keeps_its_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(names(d.path()), ["f"]);
    }

    /// The rename fails (the target is a non-empty directory): the error
    /// comes back, the target is untouched, and no temporary is left.
    #[test]
    fn a_failed_rename_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("keep"), "x").unwrap();
        assert!(write_atomic(&p, b"new").is_err());
        assert_eq!(names(d.path()), ["f"]);
        assert_eq!(fs::read(p.join("keep")).unwrap(), b"x");
    }
}
