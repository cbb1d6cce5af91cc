//! The ELF structure Go's tables hang off: program headers (to turn a
//! virtual address into a file offset) and named section headers (to find
//! `.go.buildinfo` and `.gopclntab`).
//!
//! `client::artefacts::elf` checks the program headers only; this reads the section
//! headers too. Go's linker reserves the first 4 KiB of every ELF file for
//! the headers, section headers included, so the first read of
//! [`super::view::drive`] covers all of them; `.shstrtab` (the section
//! names, a few hundred bytes) sits at the end of the file and costs one
//! more round trip.

use super::GoBinError;
use super::view::{Stop, View};

/// Longest section name table we read (Go's is about 300 bytes).
const MAX_SHSTRTAB: u64 = 1 << 16;

/// `SHN_XINDEX`: the string table index lives in section 0's `sh_link`.
const SHN_XINDEX: u16 = 0xffff;

pub const PT_LOAD: u32 = 1;
pub const PF_W: u32 = 2;
pub const SHT_NOBITS: u32 = 8;

/// Byte order and word size: how to read a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub big_endian: bool,
    /// Pointer size in bytes: 4 (ELF32) or 8 (ELF64).
    pub ptr: u8,
}

impl Layout {
    pub fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [byte(b, at), byte(b, at + 1)];
        if self.big_endian {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        }
    }

    pub fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [
            byte(b, at),
            byte(b, at + 1),
            byte(b, at + 2),
            byte(b, at + 3),
        ];
        if self.big_endian {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    }

    pub fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut v = [0u8; 8];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = byte(b, at + i);
        }
        if self.big_endian {
            u64::from_be_bytes(v)
        } else {
            u64::from_le_bytes(v)
        }
    }

    /// A pointer-sized word.
    pub fn word(self, b: &[u8], at: usize) -> u64 {
        if self.ptr == 8 {
            self.u64(b, at)
        } else {
            u64::from(self.u32(b, at))
        }
    }
}

/// Out-of-range reads give 0; callers check lengths through
/// [`View::get`] first, so this only keeps the code panic-free.
pub fn byte(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// One program header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
}

/// One section header, with its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub kind: u32,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
}

/// The headers of an ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elf {
    pub layout: Layout,
    pub machine: u16,
    pub segments: Vec<Segment>,
    /// Empty when the file has no section headers (`sstrip`ped).
    pub sections: Vec<Section>,
}

impl Elf {
    /// The first section called `name` that has bytes in the file.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.name == name && s.kind != SHT_NOBITS)
    }

    /// The file offset of virtual address `addr`, when a loadable segment
    /// holds `len` bytes there in the file.
    pub fn offset_of(&self, addr: u64, len: u64) -> Option<u64> {
        self.segments
            .iter()
            .filter(|s| s.kind == PT_LOAD)
            .find(|s| {
                addr >= s.vaddr
                    && addr
                        .checked_add(len)
                        .is_some_and(|end| end <= s.vaddr.saturating_add(s.filesz))
            })
            .map(|s| s.offset + (addr - s.vaddr))
    }
}

/// Reads the ELF header, program headers and section headers with names.
pub(crate) fn parse(view: &View) -> Result<Elf, Stop> {
    if view.size() < 16 {
        return Err(GoBinError::NotElf.into());
    }
    let ident = view.get(0, 16, "ELF identification")?;
    if &ident[..4] != b"\x7fELF" {
        return Err(GoBinError::NotElf.into());
    }
    let ptr = match ident[4] {
        1 => 4u8,
        2 => 8,
        c => return Err(malformed(format!("unknown ELF class {c}"))),
    };
    let big_endian = match ident[5] {
        1 => false,
        2 => true,
        d => return Err(malformed(format!("unknown ELF byte order {d}"))),
    };
    let l = Layout { big_endian, ptr };
    let wide = ptr == 8;
    let h = view.get(0, if wide { 64 } else { 52 }, "ELF header")?;
    let machine = l.u16(h, 18);
    let (phoff, shoff) = if wide {
        (l.u64(h, 32), l.u64(h, 40))
    } else {
        (u64::from(l.u32(h, 28)), u64::from(l.u32(h, 32)))
    };
    let at = if wide { 54 } else { 42 };
    let (phentsize, phnum) = (l.u16(h, at), l.u16(h, at + 2));
    let (shentsize, shnum, shstrndx) = (l.u16(h, at + 4), l.u16(h, at + 6), l.u16(h, at + 8));

    let mut segments = Vec::new();
    if phnum > 0 {
        let min = if wide { 56 } else { 32 };
        if phentsize < min {
            return Err(malformed(format!(
                "program header size {phentsize} is too small"
            )));
        }
        let table = view.get(
            phoff,
            u64::from(phentsize) * u64::from(phnum),
            "program header table",
        )?;
        for i in 0..usize::from(phnum) {
            let e = &table[i * usize::from(phentsize)..];
            segments.push(if wide {
                Segment {
                    kind: l.u32(e, 0),
                    flags: l.u32(e, 4),
                    offset: l.u64(e, 8),
                    vaddr: l.u64(e, 16),
                    filesz: l.u64(e, 32),
                }
            } else {
                Segment {
                    kind: l.u32(e, 0),
                    offset: u64::from(l.u32(e, 4)),
                    vaddr: u64::from(l.u32(e, 8)),
                    filesz: u64::from(l.u32(e, 16)),
                    flags: l.u32(e, 24),
                }
            });
        }
    }

    let mut sections = Vec::new();
    if shnum > 0 && shoff > 0 {
        let min = if wide { 64 } else { 40 };
        if shentsize < min {
            return Err(malformed(format!(
                "section header size {shentsize} is too small"
            )));
        }
        let table = view.get(
            shoff,
            u64::from(shentsize) * u64::from(shnum),
            "section header table",
        )?;
        let mut raw = Vec::with_capacity(usize::from(shnum));
        for i in 0..usize::from(shnum) {
            let e = &table[i * usize::from(shentsize)..];
            // (name offset, type, addr, offset, size, link)
            raw.push(if wide {
                (
                    l.u32(e, 0),
                    l.u32(e, 4),
                    l.u64(e, 16),
                    l.u64(e, 24),
                    l.u64(e, 32),
                    l.u32(e, 40),
                )
            } else {
                (
                    l.u32(e, 0),
                    l.u32(e, 4),
                    u64::from(l.u32(e, 12)),
                    u64::from(l.u32(e, 16)),
                    u64::from(l.u32(e, 20)),
                    l.u32(e, 24),
                )
            });
        }
        let strndx = if shstrndx == SHN_XINDEX {
            raw.first().map_or(0, |r| r.5 as usize)
        } else {
            usize::from(shstrndx)
        };
        let names = match raw.get(strndx) {
            Some(&(_, _, _, off, size, _)) if strndx != 0 => {
                if size > MAX_SHSTRTAB {
                    return Err(GoBinError::TooLarge {
                        what: "the section name table",
                        size,
                        limit: MAX_SHSTRTAB,
                    }
                    .into());
                }
                view.get(off, size, "section name table")?
            }
            _ => &[][..],
        };
        for (name, kind, addr, offset, size, _) in raw {
            sections.push(Section {
                name: c_string(names, name as usize),
                kind,
                addr,
                offset,
                size,
            });
        }
    }
    Ok(Elf {
        layout: l,
        machine,
        segments,
        sections,
    })
}

/// The NUL-terminated string at `at` of `table` ("" when out of range).
pub fn c_string(table: &[u8], at: usize) -> String {
    let Some(rest) = table.get(at..) else {
        return String::new();
    };
    let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

fn malformed(what: String) -> Stop {
    Stop::Problem(GoBinError::Malformed { what })
}
