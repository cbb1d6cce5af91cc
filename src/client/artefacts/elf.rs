//! The binary check: does a produced executable really run on its target
//! platform, with nothing but the kernel under it?
//!
//! A scratch image has no loader and no libraries, and nothing in a build
//! stops an amd64 toolchain from quietly writing an x86-64 binary into the
//! arm64 image (the essay's Dockerfile does exactly that with
//! `--platform linux/amd64,linux/arm64`). So before export the client reads
//! each binary back and checks its ELF header against the platform:
//!
//! - the class (32/64-bit), the byte order and `e_machine` match the target
//!   architecture;
//! - `e_type` is an executable (`ET_EXEC`, or `ET_DYN` for static-pie);
//! - there is no `PT_INTERP` (no dynamic loader asked for) and, when there is
//!   a `PT_DYNAMIC` (static-pie has one), it holds no `DT_NEEDED` entry.
//!
//! The arm variant (v5/v6/v7) is not in the ELF header of a Go binary, so it
//! is not checked here: the template sets `GOARM` from `TARGETVARIANT`.
//!
//! No IO: the check is a small "sans-IO" loop. [`inspect`] looks at the
//! bytes it has been given ([`FileView`]) and either answers or says which
//! byte range it needs next ([`Progress::Need`]); the caller reads it (from
//! disk, or from BuildKit's gateway `ReadFile` with a range) and calls again.
//! A Go binary needs one read of the first 4 KiB, two or three for
//! static-pie.

use std::collections::BTreeMap;
use std::fmt;

use crate::platform::Platform;

/// How much to read when a range is needed: one gateway round trip covers
/// the ELF header and every program header of any binary we care about.
pub const READ_CHUNK: u64 = 4096;

/// Upper bound on round trips in [`inspect_with`]: a well-formed file needs
/// at most four (header, interpreter, dynamic section, string table).
const MAX_READS: usize = 16;

/// Longest interpreter path or library name we read.
const MAX_STRING: u64 = 512;

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PT_LOAD: u32 = 1;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;

/// ELF class: the word size of the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Elf32,
    Elf64,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Elf32 => "32-bit",
            Class::Elf64 => "64-bit",
        })
    }
}

/// Byte order of the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

impl fmt::Display for Endian {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        })
    }
}

/// What an architecture's binaries look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub class: Class,
    pub endian: Endian,
    /// `e_machine`.
    pub machine: u16,
}

/// The ELF identity of each architecture in `platform::KNOWN_ARCH`.
pub fn expected_for(arch: &str) -> Option<Expected> {
    use Class::*;
    use Endian::*;
    let (class, endian, machine) = match arch {
        "amd64" => (Elf64, Little, 62),
        "arm64" => (Elf64, Little, 183),
        "arm" => (Elf32, Little, 40),
        "386" => (Elf32, Little, 3),
        "ppc64le" => (Elf64, Little, 21),
        "s390x" => (Elf64, Big, 22),
        "riscv64" => (Elf64, Little, 243),
        "mips64le" => (Elf64, Little, 8),
        "loong64" => (Elf64, Little, 258),
        _ => return None,
    };
    Some(Expected {
        class,
        endian,
        machine,
    })
}

/// A readable name for an `e_machine` value, as `file(1)` would say it.
pub fn machine_name(machine: u16) -> String {
    let name = match machine {
        3 => "Intel 80386 (EM_386)",
        8 => "MIPS (EM_MIPS)",
        21 => "PowerPC64 (EM_PPC64)",
        22 => "IBM S/390 (EM_S390)",
        40 => "ARM (EM_ARM)",
        62 => "x86-64 (EM_X86_64)",
        183 => "AArch64 (EM_AARCH64)",
        243 => "RISC-V (EM_RISCV)",
        258 => "LoongArch (EM_LOONGARCH)",
        other => return format!("machine {other}"),
    };
    name.to_string()
}

/// What the header says about a binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfInfo {
    pub class: Class,
    pub endian: Endian,
    pub machine: u16,
    /// `e_type`: 2 = ET_EXEC, 3 = ET_DYN.
    pub kind: u16,
    /// The `PT_INTERP` path, when there is one.
    pub interpreter: Option<String>,
    /// Whether there is a `PT_DYNAMIC` segment (static-pie has one).
    pub dynamic: bool,
    /// `DT_NEEDED` entries; a name we could not read shows as `#<offset>`.
    pub needed: Vec<String>,
}

impl ElfInfo {
    /// `64-bit little-endian x86-64 (EM_X86_64)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.class,
            self.endian,
            machine_name(self.machine)
        )
    }
}

/// Why a binary is refused. Plain data; `Display` gives the message and the
/// caller adds the platform and the path ([`BinaryCheckError`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfProblem {
    /// The file does not start with `\x7fELF`.
    NotElf { head: Vec<u8> },
    /// The file ends before a structure its header points at.
    Truncated { what: &'static str },
    /// A header field has a value no loader accepts.
    Malformed { what: String },
    /// The platform's architecture has no ELF identity in our table.
    UnknownArch { arch: String },
    /// Class, byte order or machine differ from the platform's.
    WrongArch { expected: Expected, found: ElfInfo },
    /// Not an executable (a relocatable object or a core dump).
    NotExecutable { kind: u16 },
    /// Asks for a dynamic loader, which a scratch image does not have.
    Interpreter { path: String },
    /// Needs shared libraries, which a scratch image does not have.
    NeedsLibraries { libs: Vec<String> },
    /// The reads did not converge (a header that points in circles).
    TooManyReads,
}

impl fmt::Display for ElfProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfProblem::NotElf { head } => {
                let shown: String = head
                    .iter()
                    .map(|b| {
                        if b.is_ascii_graphic() {
                            (*b as char).to_string()
                        } else {
                            format!("\\x{b:02x}")
                        }
                    })
                    .collect();
                write!(f, "is not an ELF executable (it starts with \"{shown}\")")
            }
            ElfProblem::Truncated { what } => {
                write!(f, "is a truncated ELF file (it ends inside the {what})")
            }
            ElfProblem::Malformed { what } => write!(f, "is a malformed ELF file: {what}"),
            ElfProblem::UnknownArch { arch } => {
                write!(
                    f,
                    "cannot be checked: no ELF identity known for arch {arch}"
                )
            }
            ElfProblem::WrongArch { expected, found } => {
                let want = ElfInfo {
                    class: expected.class,
                    endian: expected.endian,
                    machine: expected.machine,
                    kind: found.kind,
                    interpreter: None,
                    dynamic: false,
                    needed: Vec::new(),
                };
                write!(
                    f,
                    "is a {} binary, but the platform needs {}",
                    found.describe(),
                    want.describe()
                )
            }
            ElfProblem::NotExecutable { kind } => {
                write!(f, "is an ELF file of type {kind}, not an executable")
            }
            ElfProblem::Interpreter { path } => write!(
                f,
                "is dynamically linked (it asks for the loader {path}), and a scratch image has none"
            ),
            ElfProblem::NeedsLibraries { libs } => write!(
                f,
                "needs shared libraries ({}), and a scratch image has none",
                libs.join(", ")
            ),
            ElfProblem::TooManyReads => f.write_str("has program headers that never resolve"),
        }
    }
}

impl ElfProblem {
    /// How to fix it, for the `help:` line.
    pub fn hint(&self) -> &'static str {
        match self {
            ElfProblem::WrongArch { .. } => {
                "cross-compile for the target: set GOOS/GOARCH (and GOARM) from \
                 ${TARGETOS}/${TARGETARCH}/${TARGETVARIANT} in the build environment"
            }
            ElfProblem::Interpreter { .. } | ElfProblem::NeedsLibraries { .. } => {
                "link statically: for Go, build with CGO_ENABLED=0"
            }
            ElfProblem::NotElf { .. } | ElfProblem::NotExecutable { .. } => {
                "make the build command write a compiled executable to ${OUT}"
            }
            _ => "check the build command's output",
        }
    }
}

/// A refused binary, with where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{platform}: {path} {problem}\n  help: {}", problem.hint())]
pub struct BinaryCheckError {
    pub platform: Platform,
    pub path: String,
    pub problem: ElfProblem,
}

/// A byte range of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub offset: u64,
    pub len: u64,
}

/// The parts of a file read so far, and its size.
#[derive(Clone, Debug, Default)]
pub struct FileView {
    size: u64,
    chunks: BTreeMap<u64, Vec<u8>>,
}

impl FileView {
    /// An empty view of a file of `size` bytes.
    pub fn new(size: u64) -> Self {
        FileView {
            size,
            chunks: BTreeMap::new(),
        }
    }

    /// A view holding a whole file.
    pub fn whole(bytes: &[u8]) -> Self {
        let mut v = FileView::new(bytes.len() as u64);
        v.insert(0, bytes.to_vec());
        v
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds bytes read at `offset`.
    pub fn insert(&mut self, offset: u64, data: Vec<u8>) {
        self.chunks.insert(offset, data);
    }

    /// The range to read for a need: at least [`READ_CHUNK`] bytes when the
    /// file has them, so that small needs close together share a read.
    pub fn widen(&self, need: ByteRange) -> ByteRange {
        let end = need
            .offset
            .saturating_add(need.len.max(READ_CHUNK))
            .min(self.size);
        ByteRange {
            offset: need.offset,
            len: end.saturating_sub(need.offset),
        }
    }

    /// `len` bytes at `offset`, clipped to the file size; `Err` with the
    /// range when they have not been read yet. A range past the end of the
    /// file is `Truncated`.
    fn get(&self, offset: u64, len: u64, what: &'static str) -> Result<&[u8], Stop> {
        let end = offset
            .checked_add(len)
            .ok_or(Stop::Problem(ElfProblem::Truncated { what }))?;
        if end > self.size {
            return Err(Stop::Problem(ElfProblem::Truncated { what }));
        }
        for (start, data) in self.chunks.range(..=offset).rev() {
            let from = usize::try_from(offset - start).unwrap_or(usize::MAX);
            let to = usize::try_from(end - start).unwrap_or(usize::MAX);
            if let Some(bytes) = data.get(from..to) {
                return Ok(bytes);
            }
        }
        Err(Stop::Need(ByteRange { offset, len }))
    }

    /// A NUL-terminated string at `offset` (at most [`MAX_STRING`] bytes,
    /// and never past the end of the file).
    fn string(&self, offset: u64, what: &'static str) -> Result<String, Stop> {
        if offset >= self.size {
            return Err(Stop::Problem(ElfProblem::Truncated { what }));
        }
        let len = MAX_STRING.min(self.size - offset);
        let bytes = self.get(offset, len, what)?;
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
    }
}

/// Where [`inspect`] stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Read this range (or a wider one, see [`FileView::widen`]), add it to
    /// the view, call again.
    Need(ByteRange),
    Done(ElfInfo),
}

enum Stop {
    Need(ByteRange),
    Problem(ElfProblem),
}

impl From<ElfProblem> for Stop {
    fn from(p: ElfProblem) -> Self {
        Stop::Problem(p)
    }
}

/// Field readers for one class and byte order.
#[derive(Clone, Copy)]
struct Layout {
    class: Class,
    endian: Endian,
}

impl Layout {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [byte(b, at), byte(b, at + 1)];
        match self.endian {
            Endian::Little => u16::from_le_bytes(v),
            Endian::Big => u16::from_be_bytes(v),
        }
    }

    fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [
            byte(b, at),
            byte(b, at + 1),
            byte(b, at + 2),
            byte(b, at + 3),
        ];
        match self.endian {
            Endian::Little => u32::from_le_bytes(v),
            Endian::Big => u32::from_be_bytes(v),
        }
    }

    fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut v = [0u8; 8];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = byte(b, at + i);
        }
        match self.endian {
            Endian::Little => u64::from_le_bytes(v),
            Endian::Big => u64::from_be_bytes(v),
        }
    }

    /// A word: 4 bytes in ELF32, 8 in ELF64.
    fn word(self, b: &[u8], at: usize) -> u64 {
        match self.class {
            Class::Elf32 => u64::from(self.u32(b, at)),
            Class::Elf64 => self.u64(b, at),
        }
    }

    fn header_len(self) -> u64 {
        match self.class {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        }
    }

    fn phdr_len(self) -> u64 {
        match self.class {
            Class::Elf32 => 32,
            Class::Elf64 => 56,
        }
    }

    fn dyn_len(self) -> u64 {
        match self.class {
            Class::Elf32 => 8,
            Class::Elf64 => 16,
        }
    }
}

/// Out-of-range reads give 0; every caller has checked the slice length
/// through [`FileView::get`] first, so this only keeps the code panic-free.
fn byte(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// One program header, the fields we use.
struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// Reads what it can from `view`: the answer, or the next range to read.
pub fn inspect(view: &FileView) -> Result<Progress, ElfProblem> {
    match inspect_inner(view) {
        Ok(info) => Ok(Progress::Done(info)),
        Err(Stop::Need(r)) => Ok(Progress::Need(r)),
        Err(Stop::Problem(p)) => Err(p),
    }
}

fn inspect_inner(view: &FileView) -> Result<ElfInfo, Stop> {
    if view.size < 4 {
        let head = view.get(0, view.size, "ELF identification")?;
        return Err(ElfProblem::NotElf {
            head: head.to_vec(),
        }
        .into());
    }
    let magic = view.get(0, 4, "ELF identification")?;
    if magic != b"\x7fELF" {
        return Err(ElfProblem::NotElf {
            head: magic.to_vec(),
        }
        .into());
    }
    let ident = view.get(0, 16, "ELF identification")?;
    let class = match ident[4] {
        1 => Class::Elf32,
        2 => Class::Elf64,
        c => {
            return Err(ElfProblem::Malformed {
                what: format!("unknown class {c}"),
            }
            .into());
        }
    };
    let endian = match ident[5] {
        1 => Endian::Little,
        2 => Endian::Big,
        d => {
            return Err(ElfProblem::Malformed {
                what: format!("unknown byte order {d}"),
            }
            .into());
        }
    };
    let l = Layout { class, endian };
    let h = view.get(0, l.header_len(), "ELF header")?;
    let kind = l.u16(h, 16);
    let machine = l.u16(h, 18);
    let (phoff, phentsize, phnum) = match class {
        Class::Elf32 => (u64::from(l.u32(h, 28)), l.u16(h, 42), l.u16(h, 44)),
        Class::Elf64 => (l.u64(h, 32), l.u16(h, 54), l.u16(h, 56)),
    };
    let mut info = ElfInfo {
        class,
        endian,
        machine,
        kind,
        interpreter: None,
        dynamic: false,
        needed: Vec::new(),
    };
    if phnum == 0 {
        return Ok(info);
    }
    if u64::from(phentsize) < l.phdr_len() {
        return Err(ElfProblem::Malformed {
            what: format!("program header size {phentsize} is too small"),
        }
        .into());
    }
    let table_len = u64::from(phentsize) * u64::from(phnum);
    let table = view.get(phoff, table_len, "program header table")?;
    let mut segments = Vec::with_capacity(usize::from(phnum));
    for i in 0..usize::from(phnum) {
        let at = i * usize::from(phentsize);
        let seg = match class {
            Class::Elf32 => Segment {
                kind: l.u32(table, at),
                offset: u64::from(l.u32(table, at + 4)),
                vaddr: u64::from(l.u32(table, at + 8)),
                filesz: u64::from(l.u32(table, at + 16)),
            },
            Class::Elf64 => Segment {
                kind: l.u32(table, at),
                offset: l.u64(table, at + 8),
                vaddr: l.u64(table, at + 16),
                filesz: l.u64(table, at + 32),
            },
        };
        segments.push(seg);
    }
    if let Some(interp) = segments.iter().find(|s| s.kind == PT_INTERP) {
        info.interpreter = Some(view.string(interp.offset, "interpreter path")?);
    }
    if let Some(dynamic) = segments.iter().find(|s| s.kind == PT_DYNAMIC) {
        info.dynamic = true;
        info.needed = needed_libraries(view, l, dynamic, &segments)?;
    }
    Ok(info)
}

/// The `DT_NEEDED` names of the dynamic section.
fn needed_libraries(
    view: &FileView,
    l: Layout,
    dynamic: &Segment,
    segments: &[Segment],
) -> Result<Vec<String>, Stop> {
    let table = view.get(dynamic.offset, dynamic.filesz, "dynamic section")?;
    let step = usize::try_from(l.dyn_len()).unwrap_or(16);
    let half = step / 2;
    let mut strtab = None;
    let mut needed = Vec::new();
    for entry in table.chunks_exact(step) {
        let tag = l.word(entry, 0);
        let val = l.word(entry, half);
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed.push(val),
            DT_STRTAB => strtab = Some(val),
            _ => {}
        }
    }
    // DT_STRTAB is an address; the loadable segment holding it gives the
    // file offset. A name we cannot place still counts as a library.
    let base = strtab.and_then(|addr| {
        segments
            .iter()
            .filter(|s| s.kind == PT_LOAD)
            .find(|s| addr >= s.vaddr && addr - s.vaddr < s.filesz)
            .map(|s| s.offset + (addr - s.vaddr))
    });
    let mut names = Vec::with_capacity(needed.len());
    for off in needed {
        match base {
            Some(b) => names.push(view.string(b.saturating_add(off), "dynamic string table")?),
            None => names.push(format!("#{off}")),
        }
    }
    Ok(names)
}

/// Checks what [`inspect`] found against the target platform.
pub fn verify(info: &ElfInfo, platform: &Platform) -> Result<(), ElfProblem> {
    let expected = expected_for(&platform.arch).ok_or_else(|| ElfProblem::UnknownArch {
        arch: platform.arch.clone(),
    })?;
    if info.class != expected.class
        || info.endian != expected.endian
        || info.machine != expected.machine
    {
        return Err(ElfProblem::WrongArch {
            expected,
            found: info.clone(),
        });
    }
    if info.kind != 2 && info.kind != 3 {
        return Err(ElfProblem::NotExecutable { kind: info.kind });
    }
    if let Some(path) = &info.interpreter {
        return Err(ElfProblem::Interpreter { path: path.clone() });
    }
    if !info.needed.is_empty() {
        return Err(ElfProblem::NeedsLibraries {
            libs: info.needed.clone(),
        });
    }
    Ok(())
}

/// Checks a whole file held in memory.
pub fn check(bytes: &[u8], platform: &Platform) -> Result<ElfInfo, ElfProblem> {
    match inspect(&FileView::whole(bytes))? {
        Progress::Done(info) => {
            verify(&info, platform)?;
            Ok(info)
        }
        // A whole file never needs more bytes: `get` reports ranges past the
        // end as truncation.
        Progress::Need(_) => Err(ElfProblem::TooManyReads),
    }
}

/// Drives [`inspect`] with an async range reader (the gateway's `ReadFile`)
/// and checks the result against `platform`. `read(offset, len)` returns the
/// bytes of that range. The outer `Result` is the reader's error, the inner
/// one the verdict.
pub async fn inspect_with<F, Fut, E>(
    size: u64,
    platform: &Platform,
    mut read: F,
) -> Result<Result<ElfInfo, ElfProblem>, E>
where
    F: FnMut(ByteRange) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, E>>,
{
    let mut view = FileView::new(size);
    let mut next = view.widen(ByteRange { offset: 0, len: 0 });
    for _ in 0..MAX_READS {
        let data = read(next).await?;
        view.insert(next.offset, data);
        match inspect(&view) {
            Ok(Progress::Done(info)) => return Ok(verify(&info, platform).map(|()| info)),
            Ok(Progress::Need(r)) => next = view.widen(r),
            Err(p) => return Ok(Err(p)),
        }
    }
    Ok(Err(ElfProblem::TooManyReads))
}

#[cfg(test)]
#[path = "elf_tests.rs"]
mod tests;
