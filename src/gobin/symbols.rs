//! Go's function-name table: which functions a binary holds, read from
//! `.gopclntab`, which the runtime needs for stack traces and so survives
//! `-ldflags=-s -w` (unlike `.symtab`).
//!
//! Since Go 1.16 the table starts with a header (`runtime.pcHeader`):
//!
//! ```text
//! magic u32          0xfffffffa (1.16, 1.17), 0xfffffff0 (1.18, 1.19),
//!                    0xfffffff1 (1.20 and later), in the binary's byte order
//! pad u8, pad u8     zero
//! minLC u8           instruction size quantum: 1, 2 or 4
//! ptrSize u8         4 or 8
//! nfunc, nfiles      ptrSize words
//! textStart          ptrSize word, 1.18 and later only
//! funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset
//!                    ptrSize words, offsets from the table's start
//! ```
//!
//! The name table is the bytes `[funcnameOffset, cuOffset)`: every
//! function's name, NUL-terminated, each once. It also holds the names of
//! functions inlined into others (the inline trees point into it), so a
//! call the compiler inlined away still shows. Reading it whole is the
//! cheapest way to answer "does the binary contain function X": one read,
//! no walk of the function table (which is sorted by address, not name).
//!
//! Tables older than Go 1.16 (magic 0xfffffffb) have no separate name
//! table and are reported as unsupported.

use super::GoBinError;
use super::elf::{Elf, Layout};
use super::view::{Stop, View};

const MAGIC_116: u32 = 0xffff_fffa;
const MAGIC_118: u32 = 0xffff_fff0;
const MAGIC_120: u32 = 0xffff_fff1;
const MAGIC_12: u32 = 0xffff_fffb;

/// Largest name table accepted: far above any real binary's.
const MAX_NAMES: u64 = 48 << 20;

/// Which header layout a table has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PclnVersion {
    /// Go 1.16 and 1.17.
    Go116,
    /// Go 1.18 and 1.19.
    Go118,
    /// Go 1.20 and later.
    Go120,
}

/// The function names of a binary, sorted, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FuncNames {
    pub version: Option<PclnVersion>,
    /// `nfunc` of the header: functions with code (inlined-only ones are
    /// in `names` but not counted here).
    pub nfunc: u64,
    names: Vec<String>,
}

impl FuncNames {
    /// A table from names (tests, and other sources of names).
    pub fn from_names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        let mut names: Vec<String> = names.into_iter().map(Into::into).collect();
        names.sort();
        names.dedup();
        FuncNames {
            version: None,
            nfunc: names.len() as u64,
            names,
        }
    }

    /// Whether a function of exactly this name is in the binary
    /// (`crypto/x509.loadSystemRoots`, `os.(*File).Close`).
    pub fn contains(&self, name: &str) -> bool {
        self.names
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
    }

    /// The names that start with `prefix`, in order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let start = self.names.partition_point(|n| n.as_str() < prefix);
        self.names[start..]
            .iter()
            .map(String::as_str)
            .take_while(move |n| n.starts_with(prefix))
    }

    /// Whether any name starts with `prefix` (`time/tzdata.`).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.with_prefix(prefix).next().is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The header fields we use, with offsets already checked against the
/// table size.
struct Header {
    version: PclnVersion,
    nfunc: u64,
    names: (u64, u64),
}

/// Reads the function names of an ELF Go binary.
pub(crate) fn read(view: &View, elf: &Elf) -> Result<FuncNames, Stop> {
    // PIE and external linking put the table in the relro segment under
    // this longer name.
    let sect = elf
        .section(".gopclntab")
        .or_else(|| elf.section(".data.rel.ro.gopclntab"))
        .ok_or(GoBinError::NoPclntab)?;
    let head_len = 8 + 8 * u64::from(elf.layout.ptr);
    let take = head_len.min(sect.size);
    let head = view.get(sect.offset, take, "function table header")?;
    let h = header(head, sect.size, elf.layout)?;
    let (from, to) = h.names;
    let table = view.get(sect.offset + from, to - from, "function name table")?;
    let mut names: Vec<String> = table
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.sort_unstable();
    names.dedup();
    Ok(FuncNames {
        version: Some(h.version),
        nfunc: h.nfunc,
        names,
    })
}

/// Checks the header and finds the name table in a table of `size` bytes.
fn header(h: &[u8], size: u64, elf: Layout) -> Result<Header, GoBinError> {
    let malformed = |what: String| GoBinError::Malformed { what };
    if h.len() < 8 {
        return Err(GoBinError::Truncated {
            what: "function table header",
        });
    }
    // The byte order is the binary's; the magic tells which one if the
    // ELF header were ever wrong.
    let le = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let be = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let (magic, big_endian) = match (le, be) {
        (m, _) if is_magic(m) => (m, false),
        (_, m) if is_magic(m) => (m, true),
        _ if le == MAGIC_12 || be == MAGIC_12 => {
            return Err(GoBinError::Unsupported {
                what: "a function table from before Go 1.16".into(),
            });
        }
        _ => return Err(malformed(format!("function table magic {le:#010x}"))),
    };
    let version = match magic {
        MAGIC_116 => PclnVersion::Go116,
        MAGIC_118 => PclnVersion::Go118,
        _ => PclnVersion::Go120,
    };
    if h[4] != 0 || h[5] != 0 {
        return Err(malformed(
            "function table header padding is not zero".into(),
        ));
    }
    let quantum = h[6];
    let ptr = h[7];
    if !matches!(quantum, 1 | 2 | 4) || !matches!(ptr, 4 | 8) {
        return Err(malformed(format!(
            "function table quantum {quantum} / pointer size {ptr}"
        )));
    }
    if ptr != elf.ptr {
        return Err(malformed(format!(
            "function table pointer size {ptr} in a {}-bit binary",
            u32::from(elf.ptr) * 8
        )));
    }
    let l = Layout { big_endian, ptr };
    let words_before = if version == PclnVersion::Go116 { 2 } else { 3 };
    let needed = 8 + (words_before + 5) * usize::from(ptr);
    if h.len() < needed {
        return Err(GoBinError::Truncated {
            what: "function table header",
        });
    }
    let word = |i: usize| l.word(h, 8 + i * usize::from(ptr));
    let nfunc = word(0);
    let from = word(words_before);
    let to = word(words_before + 1);
    if from < needed as u64 || from > to || to > size {
        return Err(malformed(format!(
            "function name table [{from:#x}, {to:#x}) outside a table of {size:#x} bytes"
        )));
    }
    if to - from > MAX_NAMES {
        return Err(GoBinError::TooLarge {
            what: "the function name table",
            size: to - from,
            limit: MAX_NAMES,
        });
    }
    Ok(Header {
        version,
        nfunc,
        names: (from, to),
    })
}

fn is_magic(m: u32) -> bool {
    matches!(m, MAGIC_116 | MAGIC_118 | MAGIC_120)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(magic: u32, big: bool, ptr: u8, names: &[&str]) -> Vec<u8> {
        let l = Layout {
            big_endian: big,
            ptr,
        };
        let words = if magic == MAGIC_116 { 7 } else { 8 };
        let head = 8 + words * usize::from(ptr);
        let mut blob: Vec<u8> = names
            .iter()
            .flat_map(|n| [n.as_bytes(), b"\0"].concat())
            .collect();
        let from = head as u64;
        let to = from + blob.len() as u64;
        let mut out = Vec::new();
        let m = if big {
            magic.to_be_bytes()
        } else {
            magic.to_le_bytes()
        };
        out.extend(m);
        out.extend([0, 0, 1, ptr]);
        let first = if magic == MAGIC_116 { 2 } else { 3 };
        for i in 0..words {
            let v = match i {
                0 => names.len() as u64,
                i if i == first => from,
                i if i > first => to,
                _ => 0,
            };
            let bytes = if l.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            if ptr == 8 {
                out.extend(bytes);
            } else if big {
                out.extend(&bytes[4..]);
            } else {
                out.extend(&bytes[..4]);
            }
        }
        out.append(&mut blob);
        out
    }

    fn names_of(t: &[u8], big: bool, ptr: u8) -> Result<Vec<String>, GoBinError> {
        let h = header(
            t,
            t.len() as u64,
            Layout {
                big_endian: big,
                ptr,
            },
        )?;
        let (from, to) = h.names;
        Ok(t[from as usize..to as usize]
            .split(|b| *b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect())
    }

    #[test]
    fn every_header_layout() {
        for magic in [MAGIC_116, MAGIC_118, MAGIC_120] {
            for big in [false, true] {
                for ptr in [4, 8] {
                    let t = table(magic, big, ptr, &["main.main", "runtime.main"]);
                    assert_eq!(
                        names_of(&t, big, ptr).ok(),
                        Some(vec!["main.main".to_string(), "runtime.main".to_string()]),
                        "{magic:#x} big={big} ptr={ptr}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_headers_are_errors() {
        let good = table(MAGIC_120, false, 8, &["a"]);
        let mut t = good.clone();
        t[0..4].copy_from_slice(&MAGIC_12.to_le_bytes());
        assert!(matches!(
            names_of(&t, false, 8),
            Err(GoBinError::Unsupported { .. })
        ));
        let mut t = good.clone();
        t[0] = 0;
        assert!(matches!(
            names_of(&t, false, 8),
            Err(GoBinError::Malformed { .. })
        ));
        let mut t = good.clone();
        t[7] = 4;
        assert!(matches!(
            names_of(&t, false, 8),
            Err(GoBinError::Malformed { .. })
        ));
        // The name table's end past the table.
        let mut t = good.clone();
        t[8 + 4 * 8..8 + 5 * 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            names_of(&t, false, 8),
            Err(GoBinError::Malformed { .. })
        ));
        assert!(matches!(
            names_of(&good[..20], false, 8),
            Err(GoBinError::Truncated { .. })
        ));
    }

    #[test]
    fn lookups() {
        let f = FuncNames::from_names(["time.LoadLocation", "time.Now", "os.TempDir", "time.Now"]);
        assert_eq!(f.len(), 3);
        assert!(f.contains("time.Now"));
        assert!(!f.contains("time.No"));
        assert!(f.has_prefix("time."));
        assert!(!f.has_prefix("time/tzdata."));
        assert_eq!(
            f.with_prefix("time.").collect::<Vec<_>>(),
            vec!["time.LoadLocation", "time.Now"]
        );
    }
}
