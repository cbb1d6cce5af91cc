//! Files replaced whole: written under a temporary name beside the target
//! and renamed over it, so a reader never sees half a file and a failed
//! write leaves the old one (and no temporary) behind.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Writes `data` to a temporary file next to `path` and renames it over
/// `path`.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let tmp = path.with_file_name(format!(".{name}.scratchc-tmp-{}", &tag[..8]));
    let res = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}
