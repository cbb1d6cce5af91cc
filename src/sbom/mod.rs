//! Software bills of materials for the images scratchc builds, from what
//! the built binary says about itself ([`crate::gobin`]) and the files the
//! image holds.
//!
//! Pure: the caller gathers the inputs ([`SbomInput`]: the Go build info
//! read back from the binary, each image file's digests, the builder
//! image, the epoch) and gets bytes back. Same input, same bytes: every
//! timestamp comes from the epoch and every identifier from digests of the
//! input, so an SBOM attached to an image keeps the image's digest
//! reproducible.

pub mod attached;
pub mod purl;
pub mod spdx;

use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::compiler::model::ImageRef;
use crate::gobin::BuildInfo;

/// What a file in the image is, for SPDX's `fileTypes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    /// An executable (the Go binary).
    Binary,
    /// Text: a CA bundle, /etc/mime.types, /etc/passwd.
    Text,
    /// Anything else (a file from the build context).
    Other,
}

/// One regular file of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFile {
    /// Absolute path in the image: `/usr/bin/app`.
    pub path: String,
    /// Lowercase hex SHA-1 of the contents (SPDX requires one per file).
    pub sha1: String,
    /// Lowercase hex SHA-256 of the contents.
    pub sha256: String,
    pub size: u64,
    pub kind: FileKind,
    /// Where it came from, for the file's comment: "copied from the
    /// builder image's /etc/ssl/certs/ca-certificates.crt".
    pub origin: Option<String>,
}

impl ImageFile {
    /// A file with its digests computed from its contents.
    pub fn of(path: &str, contents: &[u8], kind: FileKind) -> Self {
        ImageFile {
            path: path.to_string(),
            sha1: hex::encode(Sha1::digest(contents)),
            sha256: hex::encode(Sha256::digest(contents)),
            size: contents.len() as u64,
            kind,
            origin: None,
        }
    }

    pub fn with_origin(mut self, origin: &str) -> Self {
        self.origin = Some(origin.to_string());
        self
    }
}

/// A Go program in the image: which file, and its build info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoProgram {
    /// Its path in the image; one of the [`SbomInput::files`].
    pub path: String,
    pub build_info: BuildInfo,
}

/// Everything one platform image's SBOM is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbomInput {
    /// The image's name: its reference when it has one (`registry/app:1.0`),
    /// else the app's name.
    pub name: String,
    /// `linux/amd64`, `linux/arm/v7`.
    pub platform: String,
    /// Every regular file of the image.
    pub files: Vec<ImageFile>,
    pub programs: Vec<GoProgram>,
    /// The image the binary was built in, normalised (`docker.io/library/
    /// golang:1.24@sha256:…`); `None` for a prebuilt binary.
    pub builder: Option<ImageRef>,
    /// Seconds since 1970 (`SOURCE_DATE_EPOCH`): the document's creation
    /// time.
    pub epoch: u64,
    /// The creating tool, `scratchc-0.1.0`.
    pub tool: String,
}

impl SbomInput {
    /// The tool name of this build of scratchc.
    pub fn this_tool() -> String {
        format!("scratchc-{}", env!("CARGO_PKG_VERSION"))
    }
}

/// An input the SBOM cannot be made from. A bug in the caller, not the
/// user: the message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SbomError {
    #[error("SBOM input: file `{path}` has a malformed {algorithm} digest `{value}`")]
    BadDigest {
        path: String,
        algorithm: &'static str,
        value: String,
    },
    #[error("SBOM input: file path `{path}` is not absolute")]
    RelativePath { path: String },
    #[error("SBOM input: file `{path}` is listed twice")]
    DuplicateFile { path: String },
    #[error("SBOM input: the Go program `{path}` is not one of the image's files")]
    UnknownProgram { path: String },
    /// JSON encoding failed: a bug, please report it.
    #[error("cannot encode the SBOM as JSON (a bug in scratchc, please report it): {0}")]
    Encode(String),
}

/// `YYYY-MM-DDThh:mm:ssZ` for seconds since 1970 (UTC).
pub fn rfc3339(epoch: u64) -> String {
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01: count 400-year
/// eras of 146097 days from 0000-03-01, so leap days fall at era ends.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_714_557_600), "2024-05-01T10:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn file_digests() {
        let f = ImageFile::of("/x", b"abc", FileKind::Text);
        assert_eq!(f.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            f.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(f.size, 3);
    }
}
