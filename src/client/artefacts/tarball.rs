//! What image an exported OCI or docker tarball holds, read back from the
//! file: its `index.json` entry (the manifest, or the index of a
//! multi-platform image) and, for one manifest, its config digest. The
//! daemon's Solve response names one image per build (the exporters'
//! answers are merged, the last one winning), so each file says for
//! itself which digest it carries.
//!
//! A tarball is read entry by entry with seeks over the data: only
//! `index.json` and the manifest blob are read, each at most
//! [`MAX_JSON`] bytes.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The largest JSON document read from a tarball.
const MAX_JSON: u64 = 4 << 20;

/// The image of a tarball.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarImage {
    /// The `index.json` entry's media type.
    pub media_type: String,
    /// Its digest: the manifest's, or the image index's.
    pub digest: String,
    /// The config digest, when the entry is one manifest.
    pub config: Option<String>,
}

impl TarImage {
    /// Whether the entry is an index of several manifests.
    pub fn is_index(&self) -> bool {
        self.media_type.contains("index") || self.media_type.contains("manifest.list")
    }

    /// Whether it uses Docker's media types rather than OCI's.
    pub fn is_docker(&self) -> bool {
        self.media_type.starts_with("application/vnd.docker.")
    }
}

/// Reads the image of an OCI layout or docker tarball at `path`.
pub fn read_image(path: &Path) -> std::io::Result<TarImage> {
    let mut f = std::fs::File::open(path)?;
    let index: serde_json::Value = serde_json::from_slice(
        &read_entry(&mut f, "index.json")?.ok_or_else(|| invalid("no index.json"))?,
    )?;
    let top = &index["manifests"][0];
    let (Some(media_type), Some(digest)) = (top["mediaType"].as_str(), top["digest"].as_str())
    else {
        return Err(invalid("index.json names no manifest"));
    };
    let mut image = TarImage {
        media_type: media_type.to_string(),
        digest: digest.to_string(),
        config: None,
    };
    if !image.is_index() {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        if let Some(data) = read_entry(&mut f, &format!("blobs/sha256/{hex}"))? {
            let manifest: serde_json::Value = serde_json::from_slice(&data)?;
            image.config = manifest["config"]["digest"].as_str().map(str::to_string);
        }
    }
    Ok(image)
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// The data of the entry named `name` (`./` prefixes ignored), from the
/// start of the file; `None` when the archive has no such entry.
fn read_entry<R: Read + Seek>(r: &mut R, name: &str) -> std::io::Result<Option<Vec<u8>>> {
    r.seek(SeekFrom::Start(0))?;
    let mut header = [0u8; 512];
    let mut long_name: Option<String> = None;
    loop {
        if let Err(e) = r.read_exact(&mut header) {
            return match e.kind() {
                std::io::ErrorKind::UnexpectedEof => Ok(None),
                _ => Err(e),
            };
        }
        if header.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        let size = octal(&header[124..136]).ok_or_else(|| invalid("a tar header's size"))?;
        let padded = size.div_ceil(512) * 512;
        let kind = header[156];
        let entry_name = match long_name.take() {
            Some(n) => n,
            None => {
                let field = |b: &[u8]| {
                    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                    String::from_utf8_lossy(&b[..end]).into_owned()
                };
                let (prefix, base) = (field(&header[345..500]), field(&header[0..100]));
                if prefix.is_empty() || &header[257..262] != b"ustar" {
                    base
                } else {
                    format!("{prefix}/{base}")
                }
            }
        };
        if kind == b'L' && size <= 4096 {
            // GNU long name: the next header's name.
            let mut data = vec![0u8; size as usize];
            r.read_exact(&mut data)?;
            r.seek(SeekFrom::Current((padded - size) as i64))?;
            let end = data.iter().position(|&c| c == 0).unwrap_or(data.len());
            long_name = Some(String::from_utf8_lossy(&data[..end]).into_owned());
            continue;
        }
        let plain = matches!(kind, b'0' | 0);
        if plain && entry_name.trim_start_matches("./") == name {
            if size > MAX_JSON {
                return Err(invalid("an entry too large to be JSON"));
            }
            let mut data = vec![0u8; size as usize];
            r.read_exact(&mut data)?;
            return Ok(Some(data));
        }
        r.seek(SeekFrom::Current(padded as i64))?;
    }
}

/// A tar number field: octal digits, spaces or NULs around them.
fn octal(b: &[u8]) -> Option<u64> {
    let s: String = b
        .iter()
        .map(|&c| c as char)
        .filter(|c| !matches!(c, '\0' | ' '))
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(&s, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ustar archive of `(name, data)` entries.
    fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in entries {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[100..107].copy_from_slice(b"0000644");
            h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    #[test]
    fn reads_the_manifest_and_config_digests() {
        let hex = "a".repeat(64);
        let index = format!(
            r#"{{"manifests":[{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:{hex}"}}]}}"#
        );
        let manifest = br#"{"config":{"digest":"sha256:cfg"}}"#;
        let data = tar(&[
            ("oci-layout", b"{}"),
            (&format!("blobs/sha256/{hex}"), manifest),
            ("index.json", index.as_bytes()),
        ]);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("x.tar");
        std::fs::write(&p, data).unwrap_or_else(|e| panic!("{e}"));
        let img = read_image(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(img.is_docker());
        assert!(!img.is_index());
        assert_eq!(img.digest, format!("sha256:{hex}"));
        assert_eq!(img.config.as_deref(), Some("sha256:cfg"));
        // Not a tarball of an image: an error, never a panic.
        std::fs::write(&p, b"not a tar").unwrap_or_else(|e| panic!("{e}"));
        assert!(read_image(&p).is_err());
        std::fs::write(&p, tar(&[("a", b"b")])).unwrap_or_else(|e| panic!("{e}"));
        assert!(read_image(&p).is_err());
    }
}
