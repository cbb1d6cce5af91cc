//! Ranged reading, sans IO: the bytes of a file read so far, and the loop
//! that asks a caller for more.
//!
//! Every parser of this module is a pure function of a [`View`]: it either
//! answers or stops with the byte ranges it needs next ([`Stop::Need`]).
//! [`drive`] calls the caller's `read(range)` for those ranges (all ranges
//! of one round concurrently), adds the bytes to the view and runs the
//! parser again. Parsers start over on every round; that costs a few
//! microseconds and keeps them straight-line code with no saved state.
//!
//! Work is bounded whatever the input: at most [`MAX_ROUNDS`] rounds and
//! [`MAX_TOTAL`] bytes, each read at most [`MAX_READ`] bytes, so a header
//! that points in circles or claims a 4 GiB table ends in an error.

use std::collections::BTreeMap;
use std::future::Future;

use super::GoBinError;

/// Smallest read: needs close together share one round trip, and a 4 KiB
/// read of a file's start covers the ELF header, the program headers and
/// (in a Go binary) the section headers.
pub const READ_CHUNK: u64 = 4096;

/// Largest single read. Larger needs are split into pieces read in the
/// same round: gRPC messages stay small (BuildKit's gateway answers one
/// `ReadFile` in one message).
pub const MAX_READ: u64 = 1 << 20;

/// Most rounds of reads one [`drive`] makes. A Go binary needs four.
pub const MAX_ROUNDS: u32 = 12;

/// Most bytes one [`drive`] reads in all: far above the function-name table
/// of any real Go binary (Kubernetes' largest binaries have a few MiB).
pub const MAX_TOTAL: u64 = 64 << 20;

/// A byte range of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteRange {
    pub offset: u64,
    pub len: u64,
}

impl ByteRange {
    fn end(self) -> u64 {
        self.offset.saturating_add(self.len)
    }
}

/// How much reading one [`drive`] took: the figures the build can log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Sequential rounds: the round trips a caller waits for.
    pub rounds: u32,
    /// `read` calls (a round's reads run concurrently).
    pub reads: u32,
    /// Bytes read in all.
    pub bytes: u64,
}

/// Why a parser stopped before answering.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Read these ranges, then try again.
    Need(Vec<ByteRange>),
    /// The file cannot give an answer.
    Problem(GoBinError),
}

impl From<GoBinError> for Stop {
    fn from(e: GoBinError) -> Self {
        Stop::Problem(e)
    }
}

/// The parts of a file read so far, and its size. Contiguous or
/// overlapping pieces are merged on insert, so a range read in several
/// pieces is one slice afterwards.
#[derive(Clone, Debug, Default)]
pub struct View {
    size: u64,
    chunks: BTreeMap<u64, Vec<u8>>,
}

impl View {
    /// An empty view of a file of `size` bytes.
    pub fn new(size: u64) -> Self {
        View {
            size,
            chunks: BTreeMap::new(),
        }
    }

    /// A view holding a whole file.
    pub fn whole(bytes: &[u8]) -> Self {
        let mut v = View::new(bytes.len() as u64);
        v.insert(0, bytes.to_vec());
        v
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds bytes read at `offset`, merging with the pieces it touches.
    pub fn insert(&mut self, offset: u64, data: Vec<u8>) {
        let mut start = offset;
        let mut end = offset.saturating_add(data.len() as u64);
        let touching: Vec<u64> = self
            .chunks
            .range(..=end)
            .filter(|(s, d)| s.saturating_add(d.len() as u64) >= start)
            .map(|(s, _)| *s)
            .collect();
        if touching.is_empty() {
            self.chunks.insert(offset, data);
            return;
        }
        for s in &touching {
            let len = self.chunks.get(s).map_or(0, |d| d.len() as u64);
            start = start.min(*s);
            end = end.max(s.saturating_add(len));
        }
        let Ok(total) = usize::try_from(end - start) else {
            return;
        };
        let mut merged = vec![0u8; total];
        // Older pieces first, the new bytes last: they agree anyway.
        for s in touching {
            if let Some(d) = self.chunks.remove(&s) {
                copy_at(&mut merged, s - start, &d);
            }
        }
        copy_at(&mut merged, offset - start, &data);
        self.chunks.insert(start, merged);
    }

    /// `len` bytes at `offset`: [`Stop::Need`] when not read yet, a
    /// truncation error when the range runs past the end of the file.
    pub(crate) fn get(&self, offset: u64, len: u64, what: &'static str) -> Result<&[u8], Stop> {
        let end = offset
            .checked_add(len)
            .filter(|e| *e <= self.size)
            .ok_or(Stop::Problem(GoBinError::Truncated { what }))?;
        if let Some((start, data)) = self.chunks.range(..=offset).next_back() {
            let from = usize::try_from(offset - start).unwrap_or(usize::MAX);
            let to = usize::try_from(end - start).unwrap_or(usize::MAX);
            if let Some(bytes) = data.get(from..to) {
                return Ok(bytes);
            }
        }
        Err(Stop::Need(vec![ByteRange { offset, len }]))
    }

    /// Whether `r` has been read whole.
    fn has(&self, r: ByteRange) -> bool {
        self.get(r.offset, r.len, "range").is_ok()
    }

    /// The reads that cover `needs`: each widened to [`READ_CHUNK`] (within
    /// the file), overlapping ones merged, what is already read dropped,
    /// and anything longer than [`MAX_READ`] split.
    fn plan(&self, needs: &[ByteRange]) -> Vec<ByteRange> {
        let mut wide: Vec<ByteRange> = needs
            .iter()
            .filter(|r| !self.has(**r))
            .map(|r| {
                let end = r
                    .offset
                    .saturating_add(r.len.max(READ_CHUNK))
                    .min(self.size);
                ByteRange {
                    offset: r.offset,
                    len: end.saturating_sub(r.offset),
                }
            })
            .filter(|r| r.len > 0)
            .collect();
        wide.sort();
        let mut merged: Vec<ByteRange> = Vec::new();
        for r in wide {
            match merged.last_mut() {
                Some(last) if r.offset <= last.end() => {
                    last.len = last.end().max(r.end()) - last.offset;
                }
                _ => merged.push(r),
            }
        }
        let mut reads = Vec::new();
        for r in merged {
            let mut at = r.offset;
            while at < r.end() {
                let len = (r.end() - at).min(MAX_READ);
                reads.push(ByteRange { offset: at, len });
                at += len;
            }
        }
        reads
    }
}

fn copy_at(dst: &mut [u8], at: u64, src: &[u8]) {
    let Ok(at) = usize::try_from(at) else { return };
    if let Some(slot) = dst.get_mut(at..at.saturating_add(src.len())) {
        slot.copy_from_slice(src);
    }
}

/// Runs `step` against a whole file held in memory.
pub(crate) fn run_whole<T>(
    bytes: &[u8],
    step: impl Fn(&View) -> Result<T, Stop>,
) -> Result<T, GoBinError> {
    match step(&View::whole(bytes)) {
        Ok(v) => Ok(v),
        Err(Stop::Problem(p)) => Err(p),
        // `get` on a whole file only fails by truncation.
        Err(Stop::Need(_)) => Err(GoBinError::TooManyReads),
    }
}

/// Drives `step` with an async range reader until it answers. `read(r)`
/// returns the bytes of `r` (BuildKit's gateway `ReadFile` with a range,
/// or a local file). The outer `Result` is the reader's own error; the
/// inner one the parser's verdict.
pub(crate) async fn drive<T, F, Fut, E>(
    size: u64,
    mut read: F,
    step: impl Fn(&View) -> Result<T, Stop>,
) -> Result<(Result<T, GoBinError>, ReadStats), E>
where
    F: FnMut(ByteRange) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, E>>,
{
    let mut view = View::new(size);
    let mut stats = ReadStats::default();
    loop {
        let needs = match step(&view) {
            Ok(v) => return Ok((Ok(v), stats)),
            Err(Stop::Problem(p)) => return Ok((Err(p), stats)),
            Err(Stop::Need(n)) => n,
        };
        let reads = view.plan(&needs);
        // No reads: a parser asked for bytes it already has (a bug,
        // reported rather than looped on). Too many rounds: a file whose
        // pointers lead on and on.
        if reads.is_empty() || stats.rounds >= MAX_ROUNDS {
            return Ok((Err(GoBinError::TooManyReads), stats));
        }
        let wanted: u64 = reads.iter().map(|r| r.len).sum();
        if stats.bytes.saturating_add(wanted) > MAX_TOTAL {
            return Ok((
                Err(GoBinError::TooLarge {
                    what: "the tables to read",
                    size: stats.bytes.saturating_add(wanted),
                    limit: MAX_TOTAL,
                }),
                stats,
            ));
        }
        stats.rounds += 1;
        stats.reads += reads.len() as u32;
        let data = futures::future::try_join_all(reads.iter().map(|r| read(*r))).await?;
        for (r, bytes) in reads.iter().zip(data) {
            stats.bytes += bytes.len() as u64;
            if bytes.len() as u64 != r.len {
                return Ok((
                    Err(GoBinError::ShortRead {
                        offset: r.offset,
                        asked: r.len,
                        got: bytes.len() as u64,
                    }),
                    stats,
                ));
            }
            view.insert(r.offset, bytes);
        }
    }
}

/// A part's own answer: its value or why it has none.
pub(crate) type Verdict<T> = Result<T, GoBinError>;

/// Runs two parsers over the same view and gathers the ranges both need,
/// so independent reads share a round. Each part keeps its own verdict.
pub(crate) fn both<A, B>(
    a: Result<A, Stop>,
    b: Result<B, Stop>,
) -> Result<(Verdict<A>, Verdict<B>), Stop> {
    let mut needs = Vec::new();
    let a = settle(a, &mut needs);
    let b = settle(b, &mut needs);
    match (a, b) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(Stop::Need(needs)),
    }
}

/// A part's verdict, or `None` with its needs added to `needs`.
fn settle<T>(r: Result<T, Stop>, needs: &mut Vec<ByteRange>) -> Option<Verdict<T>> {
    match r {
        Ok(v) => Some(Ok(v)),
        Err(Stop::Problem(p)) => Some(Err(p)),
        Err(Stop::Need(n)) => {
            needs.extend(n);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_merges_touching_pieces() {
        let mut v = View::new(100);
        v.insert(10, vec![1; 10]);
        v.insert(30, vec![3; 10]);
        v.insert(20, vec![2; 10]);
        assert_eq!(v.chunks.len(), 1);
        let got = v.get(10, 30, "x").ok().map(<[u8]>::to_vec);
        let mut want = vec![1; 10];
        want.extend([2; 10]);
        want.extend([3; 10]);
        assert_eq!(got, Some(want));
        // Overlap: the union is kept.
        v.insert(35, vec![4; 10]);
        assert_eq!(v.chunks.len(), 1);
        assert_eq!(v.get(40, 5, "x").ok(), Some(&[4u8; 5][..]));
    }

    #[test]
    fn get_past_the_end_is_truncation() {
        let v = View::new(10);
        assert!(matches!(
            v.get(8, 4, "x"),
            Err(Stop::Problem(GoBinError::Truncated { .. }))
        ));
        assert!(matches!(
            v.get(u64::MAX, 4, "x"),
            Err(Stop::Problem(GoBinError::Truncated { .. }))
        ));
        assert!(matches!(v.get(2, 4, "x"), Err(Stop::Need(_))));
    }

    #[test]
    fn plan_widens_merges_and_splits() {
        let v = View::new(10 << 20);
        let reads = v.plan(&[
            ByteRange { offset: 0, len: 10 },
            ByteRange {
                offset: 100,
                len: 10,
            },
            ByteRange {
                offset: 1 << 20,
                len: (3 << 19) + 1,
            },
        ]);
        assert_eq!(
            reads,
            vec![
                ByteRange {
                    offset: 0,
                    len: 4196
                },
                ByteRange {
                    offset: 1 << 20,
                    len: 1 << 20
                },
                ByteRange {
                    offset: 2 << 20,
                    len: (1 << 19) + 1
                },
            ]
        );
        // Clipped to the file.
        let small = View::new(50);
        assert_eq!(
            small.plan(&[ByteRange { offset: 40, len: 1 }]),
            vec![ByteRange {
                offset: 40,
                len: 10
            }]
        );
    }
}
