//! Reading a produced binary back from the daemon and checking it
//! ([`crate::client::artefacts::elf`]) before the image is exported, in a client-side build
//! and in the frontend alike (both read through [`Ref`]).
//!
//! `StatFile` gives the size, then `ReadFile` with a range fetches only the
//! header and program headers (one 4 KiB read for a Go binary, a few more
//! for a dynamic one), never the whole binary.

use super::gateway::Ref;
use crate::client::artefacts::elf::{self, BinaryCheckError, ByteRange, ElfInfo};
use crate::platform::Platform;

/// What can stop the check: the daemon could not give us the file, or the
/// file is wrong for the platform.
#[derive(Debug, thiserror::Error)]
pub enum BinaryError {
    /// The gateway call failed (no such file is the usual one: the build
    /// command did not write `${OUT}`).
    #[error(
        "{platform}: cannot read {path} from the image ({call}: {message})\n  help: the build command must write the binary to ${{OUT}}"
    )]
    Read {
        platform: Platform,
        path: String,
        call: &'static str,
        message: String,
    },
    #[error(transparent)]
    Check(#[from] BinaryCheckError),
    /// The solve itself failed: gateway solves are lazy, so the first read
    /// of the result is where a failing build step shows up. The status
    /// keeps BuildKit's typed details (the failing vertex, its source).
    #[error("{}", .0.message())]
    Solve(Box<tonic::Status>),
}

impl BinaryError {
    /// A failed StatFile/ReadFile: a step failure when the status carries
    /// BuildKit's error details, a read error otherwise.
    fn from_status(platform: &Platform, path: &str, call: &'static str, s: tonic::Status) -> Self {
        if !s.details().is_empty() {
            return BinaryError::Solve(Box::new(s));
        }
        BinaryError::Read {
            platform: platform.clone(),
            path: path.to_string(),
            call,
            message: s.message().to_string(),
        }
    }
}

/// Reads `path` from the solved result `result` and checks it is a static
/// executable for `platform`.
pub async fn check_binary(
    result: &Ref,
    path: &str,
    platform: &Platform,
) -> Result<ElfInfo, BinaryError> {
    let read_err = |call: &'static str, message: String| BinaryError::Read {
        platform: platform.clone(),
        path: path.to_string(),
        call,
        message,
    };
    let stat = result
        .stat_raw(path)
        .await
        .map_err(|s| BinaryError::from_status(platform, path, "LLBBridge.StatFile", s))?;
    // Go's os.FileMode: the type bits are the top ones; a regular file has
    // none of them.
    const TYPE_BITS: u32 = 0xFFF0_0000 & !(1 << 23 | 1 << 22 | 1 << 20);
    if stat.mode & TYPE_BITS != 0 {
        return Err(read_err(
            "LLBBridge.StatFile",
            format!("not a regular file (mode {:#o})", stat.mode),
        ));
    }
    let size = u64::try_from(stat.size).unwrap_or(0);
    let verdict = elf::inspect_with(size, platform, |r: ByteRange| {
        result.read_range(path, r.offset, r.len)
    })
    .await
    .map_err(|s| BinaryError::from_status(platform, path, "LLBBridge.ReadFile", s))?;
    verdict.map_err(|problem| {
        BinaryError::Check(BinaryCheckError {
            platform: platform.clone(),
            path: path.to_string(),
            problem,
        })
    })
}
