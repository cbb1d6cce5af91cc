//! The produced binary read back from the daemon, once per platform, for
//! everything the build wants to know about it beyond the ELF check: what
//! it says about itself as a Go program ([`gobin`]: its build info and
//! function names) and, for the SBOM, its digests.
//!
//! [`read_back`] is the one place that does it: the SBOM
//! ([`super::sbom`]) and the check of the binary's runtime needs
//! ([`super::needs::inspect`], through [`GoBinary::needs`]) take their
//! answers from the same [`ReadBack`], so the binary is stat'ed once and
//! its Go tables are fetched once.
//!
//! Reads are ranged (gateway `ReadFile` with an offset and a length),
//! never the whole file in one message:
//!
//! - the Go tables through [`gobin::inspect_with`]: bounded in rounds and
//!   bytes (the ELF headers, the section names, the build info and the
//!   function-name table, about 5% of a stripped Go binary);
//! - the digests, when asked for, by streaming the file in
//!   [`HASH_CHUNK`]-byte reads, [`HASH_IN_FLIGHT`] at a time, into SHA-1
//!   and SHA-256 at once: memory stays at a few chunks whatever the size.
//!
//! Both run concurrently. Hashing the whole binary costs one pass over its
//! bytes on the daemon's side and on the wire: a tenth to a third of a
//! second for a 2-10 MB binary on a local daemon (docs/benchmarks.md, "The
//! SBOM"). The alternative, a hashing step inside the build, would need
//! a container start and a shell in some image; it was not faster.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::client::buildkit::gateway::Ref;
use crate::compiler::Platform;
use crate::gobin::{self, GoBinary, ReadStats};

/// Bytes per `ReadFile` when hashing: well under the 4 MiB a gRPC peer
/// accepts by default, few enough calls for a large binary.
pub const HASH_CHUNK: u64 = 2 << 20;

/// Hashing reads in flight at once.
pub const HASH_IN_FLIGHT: usize = 3;

/// A file's digests, as the SBOM records them, and what its bytes look
/// like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digests {
    /// Lowercase hex.
    pub sha1: String,
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
    /// It starts with the ELF magic.
    pub elf: bool,
    /// No NUL byte anywhere: text, for SPDX's `fileTypes`.
    pub text: bool,
}

/// What reading one platform's binary back found. Never an error as a
/// whole: each part says why it is missing, and each consumer decides
/// (the SBOM fails the build without digests; a missing Go table is only
/// a note).
#[derive(Clone, Debug)]
pub struct ReadBack {
    pub platform: Platform,
    /// From `StatFile`; `None` when that failed.
    pub size: Option<u64>,
    /// The Go tables, or why not (a failed read: `ReadFile failed: ...`;
    /// not a Go binary: `it has no Go build info ...`).
    pub go: Result<GoBinary, String>,
    /// The digests when asked for, or why not.
    pub digests: Option<Result<Digests, String>>,
    /// The reads of the Go tables, `StatFile` included.
    pub stats: ReadStats,
    /// The reads of hashing.
    pub hash_stats: ReadStats,
    /// Wall time of the Go tables' reads and of hashing (they overlap).
    pub go_elapsed: Duration,
    pub hash_elapsed: Duration,
}

/// Reads `path` of `result` back (see the module docs): its size and Go
/// tables always, its digests when `with_digests` (SHA-1 and SHA-256 of the
/// whole file, for the SBOM).
pub async fn read_back(
    result: &Ref,
    path: &str,
    platform: &Platform,
    with_digests: bool,
) -> ReadBack {
    let mut back = ReadBack {
        platform: platform.clone(),
        size: None,
        go: Err("not read".into()),
        digests: None,
        stats: ReadStats {
            rounds: 1,
            reads: 1,
            bytes: 0,
        },
        hash_stats: ReadStats::default(),
        go_elapsed: Duration::ZERO,
        hash_elapsed: Duration::ZERO,
    };
    let size = match result.stat_raw(path).await {
        Ok(st) => u64::try_from(st.size).unwrap_or(0),
        Err(s) => {
            let why = format!("StatFile failed: {}", s.message());
            back.go = Err(why.clone());
            back.digests = with_digests.then_some(Err(why));
            return back;
        }
    };
    back.size = Some(size);
    let go = async {
        let started = Instant::now();
        let read = |r: gobin::ByteRange| result.read_range(path, r.offset, r.len);
        let answer = match gobin::inspect_with(size, read).await {
            Err(s) => (Err(format!("ReadFile failed: {}", s.message())), None),
            Ok((Err(e), s)) => (Err(format!("it {e}")), Some(s)),
            Ok((Ok(go), s)) => (Ok(go), Some(s)),
        };
        (answer, started.elapsed())
    };
    let digests = async {
        if !with_digests {
            return None;
        }
        let started = Instant::now();
        let d = hash(result, path, size).await;
        Some((d, started.elapsed()))
    };
    let (go, digests) = futures::join!(go, digests);
    let ((verdict, stats), elapsed) = go;
    back.go = verdict;
    if let Some(s) = stats {
        back.stats.rounds += s.rounds;
        back.stats.reads += s.reads;
        back.stats.bytes += s.bytes;
    }
    back.go_elapsed = elapsed;
    if let Some((d, elapsed)) = digests {
        back.hash_elapsed = elapsed;
        back.digests = Some(match d {
            Ok((d, stats)) => {
                back.hash_stats = stats;
                Ok(d)
            }
            Err(why) => Err(why),
        });
    }
    back
}

/// The digests of `path` (`size` bytes, from `StatFile`), streamed in
/// chunks (see the module docs).
pub async fn hash(result: &Ref, path: &str, size: u64) -> Result<(Digests, ReadStats), String> {
    let chunks = size.div_ceil(HASH_CHUNK);
    let reads = futures::stream::iter(0..chunks)
        .map(|i| {
            let offset = i * HASH_CHUNK;
            let len = HASH_CHUNK.min(size - offset);
            async move {
                let data = result
                    .read_range(path, offset, len)
                    .await
                    .map_err(|s| format!("ReadFile failed: {}", s.message()))?;
                if data.len() as u64 != len {
                    return Err(format!(
                        "ReadFile gave {} bytes for {len} at offset {offset} (the file changed under the build?)",
                        data.len()
                    ));
                }
                Ok(data)
            }
        })
        .buffered(HASH_IN_FLIGHT);
    let mut hasher = Hasher::default();
    let mut stats = ReadStats::default();
    futures::pin_mut!(reads);
    while let Some(chunk) = reads.try_next().await? {
        stats.rounds += 1;
        stats.reads += 1;
        stats.bytes += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((hasher.finish(), stats))
}

/// SHA-1, SHA-256 and the text/ELF sniff over a stream of chunks.
#[derive(Default)]
pub struct Hasher {
    sha1: Sha1,
    sha256: Sha256,
    size: u64,
    head: Vec<u8>,
    nul: bool,
}

impl Hasher {
    pub fn update(&mut self, chunk: &[u8]) {
        self.sha1.update(chunk);
        self.sha256.update(chunk);
        self.size += chunk.len() as u64;
        if self.head.len() < 4 {
            let take = (4 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.nul = self.nul || chunk.contains(&0);
    }

    pub fn finish(self) -> Digests {
        Digests {
            sha1: hex::encode(self.sha1.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
            size: self.size,
            elf: self.head == b"\x7fELF",
            text: !self.nul,
        }
    }
}

/// The digests of bytes in memory.
pub fn digests_of(bytes: &[u8]) -> Digests {
    let mut h = Hasher::default();
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_digests_equal_whole_ones() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = digests_of(&data);
        let mut h = Hasher::default();
        for c in data.chunks(333) {
            h.update(c);
        }
        assert_eq!(h.finish(), whole);
        assert_eq!(whole.size, 10_000);
        assert!(!whole.text, "holds a NUL byte");
        assert!(!whole.elf);
    }

    #[test]
    fn sniffs_elf_and_text() {
        let mut h = Hasher::default();
        h.update(b"\x7fE");
        h.update(b"LF\x02\x01");
        let d = h.finish();
        assert!(d.elf);
        let t = digests_of(b"-----BEGIN CERTIFICATE-----\n");
        assert!(t.text && !t.elf);
        assert_eq!(
            digests_of(b"abc").sha1,
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(digests_of(b"").size, 0);
    }
}
