//! What a Go binary says about itself: its build info (the modules and
//! settings it was built from, `go version -m`) and the names of the
//! functions it holds (`.gopclntab`), and from those, what it needs from
//! the image at runtime ([`needs`]).
//!
//! Pure: no file, socket or daemon IO. Every reader works on a [`View`] of
//! the bytes read so far and says which ranges it needs next; the build
//! passes its own `read(range)` (BuildKit's gateway `ReadFile` with a
//! range) to [`inspect_with`], which reads only what the answer needs. On a
//! stripped Go binary that is four round trips and, besides the 4 KiB of
//! headers, the build info section and the function-name table (about 5%
//! of a stripped HTTP server; docs/runtime-needs.md has the figures).
//!
//! No input makes these readers panic or loop: malformed files are
//! [`GoBinError`]s, and reads are bounded in rounds and bytes
//! ([`view::MAX_ROUNDS`], [`view::MAX_TOTAL`]).

pub mod buildinfo;
pub mod elf;
pub mod gostr;
pub mod needs;
pub mod symbols;
pub mod view;

use std::future::Future;

pub use buildinfo::{BuildInfo, Module, Setting};
pub use needs::{Finding, Need, Status};
pub use symbols::FuncNames;
pub use view::{ByteRange, ReadStats, View};

use view::{Stop, both, drive, run_whole};

/// Why a binary's Go tables could not be read. Plain data; `Display` is
/// the message, the caller adds the path and platform.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GoBinError {
    #[error("is not an ELF file")]
    NotElf,
    /// No `.go.buildinfo`: not built by the go command (or not Go at all).
    #[error("has no Go build info (not a Go binary, or not built by the go command)")]
    NoBuildInfo,
    /// No `.gopclntab` section.
    #[error("has no Go function table (.gopclntab)")]
    NoPclntab,
    #[error("is truncated: it ends inside the {what}")]
    Truncated { what: &'static str },
    #[error("is malformed: {what}")]
    Malformed { what: String },
    #[error("has Go build info that cannot be parsed: line {line}: {why}")]
    BadModInfo { line: usize, why: String },
    #[error("is not supported: {what}")]
    Unsupported { what: String },
    #[error("claims {size} bytes for {what}, more than the {limit} read at most")]
    TooLarge {
        what: &'static str,
        size: u64,
        limit: u64,
    },
    /// The reader returned fewer bytes than asked (the file changed size,
    /// or the reader is wrong).
    #[error("gave {got} bytes for a read of {asked} at offset {offset}")]
    ShortRead { offset: u64, asked: u64, got: u64 },
    #[error("has tables that never resolve (too many reads)")]
    TooManyReads,
}

/// Everything the build wants from a Go binary. The two parts are read
/// together (their reads share round trips) but fail apart: a binary with
/// build info and a damaged function table still gets an SBOM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoBinary {
    pub build_info: Result<BuildInfo, GoBinError>,
    pub functions: Result<FuncNames, GoBinError>,
}

impl GoBinary {
    /// What the binary needs at runtime ([`needs::analyze`]); `None` when
    /// the function table could not be read.
    pub fn needs(&self) -> Option<Vec<Finding>> {
        let f = self.functions.as_ref().ok()?;
        Some(needs::analyze(self.build_info.as_ref().ok(), f))
    }
}

fn step_all(view: &View) -> Result<GoBinary, Stop> {
    let elf = elf::parse(view)?;
    let (build_info, functions) = both(buildinfo::read(view, &elf), symbols::read(view, &elf))?;
    Ok(GoBinary {
        build_info,
        functions,
    })
}

fn step_buildinfo(view: &View) -> Result<BuildInfo, Stop> {
    buildinfo::read(view, &elf::parse(view)?)
}

fn step_symbols(view: &View) -> Result<FuncNames, Stop> {
    symbols::read(view, &elf::parse(view)?)
}

/// Reads a whole binary held in memory. `Err` only when the ELF headers
/// themselves cannot be read.
pub fn inspect(bytes: &[u8]) -> Result<GoBinary, GoBinError> {
    run_whole(bytes, step_all)
}

/// Reads the build info of a whole binary held in memory.
pub fn build_info(bytes: &[u8]) -> Result<BuildInfo, GoBinError> {
    run_whole(bytes, step_buildinfo)
}

/// Reads the function names of a whole binary held in memory.
pub fn functions(bytes: &[u8]) -> Result<FuncNames, GoBinError> {
    run_whole(bytes, step_symbols)
}

/// [`inspect`] through a range reader: `size` is the file's size (from
/// `StatFile`), `read(range)` returns exactly the bytes of `range`. The
/// ranges of one round are asked for concurrently. The outer `Result` is
/// the reader's own error, the inner one the verdict; the stats say how
/// much was read.
pub async fn inspect_with<F, Fut, E>(
    size: u64,
    read: F,
) -> Result<(Result<GoBinary, GoBinError>, ReadStats), E>
where
    F: FnMut(ByteRange) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, E>>,
{
    drive(size, read, step_all).await
}

/// [`build_info`] through a range reader (three round trips: headers,
/// section names, the build info section), for the SBOM alone.
pub async fn build_info_with<F, Fut, E>(
    size: u64,
    read: F,
) -> Result<(Result<BuildInfo, GoBinError>, ReadStats), E>
where
    F: FnMut(ByteRange) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, E>>,
{
    drive(size, read, step_buildinfo).await
}

/// [`functions`] through a range reader.
pub async fn functions_with<F, Fut, E>(
    size: u64,
    read: F,
) -> Result<(Result<FuncNames, GoBinError>, ReadStats), E>
where
    F: FnMut(ByteRange) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, E>>,
{
    drive(size, read, step_symbols).await
}

#[cfg(test)]
mod testelf;

#[cfg(test)]
#[path = "robustness_tests.rs"]
mod robustness_tests;
