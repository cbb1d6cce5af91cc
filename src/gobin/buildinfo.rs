//! Go build info: what `go version -m BINARY` prints, read from the
//! binary's `.go.buildinfo` section.
//!
//! The section starts with a 32-byte header: the magic `\xff Go buildinf:`
//! (14 bytes), the pointer size, and a flags byte (bit 0: big-endian, bit
//! 1: strings inline). Since Go 1.18 the strings are inline: right after
//! the header, the Go version and then the module info, each a uvarint
//! length and its bytes. Before 1.18 the header holds two pointers, each to
//! a Go string header (data pointer, length) elsewhere in the data
//! segment; both formats are read.
//!
//! The module info is the text `debug.BuildInfo.String()` makes, without
//! the `go` line, between two 16-byte sentinels: `path`, `mod`, `dep`,
//! `=>` (a replacement of the module on the line before) and `build`
//! (`key=value`, quoted Go-style when they hold spaces, tabs, quotes or
//! `=`) lines. [`parse_modinfo`] reads it as `debug.ParseBuildInfo` does
//! and [`BuildInfo::go_string`] writes it back the same way, so
//! [`BuildInfo::go_version_m`] prints what `go version -m` does (the tests
//! compare the two on real binaries).

use std::fmt::Write as _;

use super::GoBinError;
use super::elf::{Elf, PF_W, PT_LOAD};
use super::gostr::{quote, quoted_prefix, unquote};
use super::view::{Stop, View};

/// `\xff Go buildinf:`: the first 14 bytes of the section.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";

/// The header is 32 bytes; the section is 16-byte aligned.
const HEADER: u64 = 32;
const ALIGN: u64 = 16;

/// Where to look for the header when there are no section headers: the
/// start of the first writable segment, as `debug/buildinfo` does.
const SCAN: u64 = 64 << 10;

/// Longest version or module info string accepted (a large Kubernetes
/// binary's module info is about 30 KiB).
const MAX_STRING: u64 = 4 << 20;

/// The 16-byte sentinels around the module info.
const INFO_START: usize = 16;
const INFO_END: usize = 16;

/// A module of the build: the main module, a dependency, or what one is
/// replaced by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    /// `v1.2.3`, a pseudo-version, or `(devel)` for the main module built
    /// from a checkout; empty for a directory replacement.
    pub version: String,
    /// `h1:` + base64 SHA-256 of the module's files (Go's dirhash), as in
    /// go.sum; empty when the module came from a vendor directory or a
    /// directory replacement.
    pub sum: String,
    /// `replace` in go.mod: the module the code really came from.
    pub replace: Option<Box<Module>>,
}

impl Module {
    /// The module whose code was built: the replacement when there is one.
    pub fn effective(&self) -> &Module {
        self.replace.as_deref().unwrap_or(self)
    }
}

/// A `build` line: `-tags=netgo`, `CGO_ENABLED=0`, `vcs.revision=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: String,
}

/// The build info of a Go binary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// `go1.24.4` (may carry a suffix such as ` X:boringcrypto`).
    pub go_version: String,
    /// The main package's import path.
    pub path: String,
    /// The main module; `None` for a binary built outside module mode.
    pub main: Option<Module>,
    /// Every module the binary links code from, in go.mod order.
    pub deps: Vec<Module>,
    /// In the order the go command wrote them.
    pub settings: Vec<Setting>,
}

impl BuildInfo {
    /// The value of the last `build` line with this key.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|s| s.key == key)
            .map(|s| s.value.as_str())
    }

    /// The build tags (`-tags=a,b`).
    pub fn tags(&self) -> Vec<&str> {
        self.setting("-tags")
            .map(|t| t.split(',').filter(|t| !t.is_empty()).collect())
            .unwrap_or_default()
    }

    /// What `debug.BuildInfo.String()` returns: the `go` line, then the
    /// module info as the linker embedded it.
    pub fn go_string(&self) -> String {
        let mut out = String::new();
        if !self.go_version.is_empty() {
            let _ = writeln!(out, "go\t{}", self.go_version);
        }
        if !self.path.is_empty() {
            let _ = writeln!(out, "path\t{}", self.path);
        }
        if let Some(m) = &self.main {
            write_module(&mut out, "mod", m);
        }
        for d in &self.deps {
            write_module(&mut out, "dep", d);
        }
        for s in &self.settings {
            let key = if needs_quote_key(&s.key) {
                quote(&s.key)
            } else {
                s.key.clone()
            };
            let value = if needs_quote_value(&s.value) {
                quote(&s.value)
            } else {
                s.value.clone()
            };
            let _ = writeln!(out, "build\t{key}={value}");
        }
        out
    }

    /// Exactly what `go version -m FILE` prints for this binary.
    pub fn go_version_m(&self, file: &str) -> String {
        let mut out = format!("{file}: {}\n", self.go_version);
        let rest = BuildInfo {
            go_version: String::new(),
            ..self.clone()
        }
        .go_string();
        for line in rest.lines() {
            let _ = writeln!(out, "\t{line}");
        }
        out
    }
}

fn write_module(out: &mut String, word: &str, m: &Module) {
    let _ = write!(out, "{word}\t{}\t{}", m.path, m.version);
    match &m.replace {
        None => {
            let _ = writeln!(out, "\t{}", m.sum);
        }
        // Go ends the module's line after its replacement's, which
        // leaves an empty line in the text (and in `go version -m`).
        Some(r) => {
            out.push('\n');
            write_module(out, "=>", r);
            out.push('\n');
        }
    }
}

/// `debug.BuildInfo`'s rule: a key is quoted when empty or holding any of
/// `= \t\r\n"` and backquote.
fn needs_quote_key(k: &str) -> bool {
    k.is_empty() || k.contains(['=', ' ', '\t', '\r', '\n', '"', '`'])
}

/// A value is quoted when holding any of ` \t\r\n"` and backquote.
fn needs_quote_value(v: &str) -> bool {
    v.contains([' ', '\t', '\r', '\n', '"', '`'])
}

/// Reads the module info text (without sentinels), as
/// `debug.ParseBuildInfo` does: unknown lines are skipped, a malformed
/// known line is an error naming its number.
pub fn parse_modinfo(go_version: &str, text: &str) -> Result<BuildInfo, GoBinError> {
    let mut bi = BuildInfo {
        go_version: go_version.to_string(),
        ..BuildInfo::default()
    };
    // Which module a `=>` line replaces: the main one, a dependency, none.
    enum Last {
        None,
        Main,
        Dep,
    }
    let mut last = Last::None;
    let mut rest = text;
    let mut line_no = 0usize;
    while let Some((line, next)) = rest.split_once('\n') {
        rest = next;
        line_no += 1;
        let bad = |why: String| GoBinError::BadModInfo { line: line_no, why };
        if let Some(v) = line.strip_prefix("path\t") {
            bi.path = v.to_string();
        } else if let Some(v) = line.strip_prefix("mod\t") {
            bi.main = Some(module_line(v).map_err(bad)?);
            last = Last::Main;
        } else if let Some(v) = line.strip_prefix("dep\t") {
            bi.deps.push(module_line(v).map_err(bad)?);
            last = Last::Dep;
        } else if let Some(v) = line.strip_prefix("=>\t") {
            let cols: Vec<&str> = v.split('\t').collect();
            let [path, version, sum] = cols[..] else {
                return Err(bad(format!(
                    "a replacement needs 3 columns, found {}",
                    cols.len()
                )));
            };
            let target = match last {
                Last::Main => bi.main.as_mut(),
                Last::Dep => bi.deps.last_mut(),
                Last::None => None,
            }
            .ok_or_else(|| bad("a replacement with no module on the line before".into()))?;
            target.replace = Some(Box::new(Module {
                path: path.into(),
                version: version.into(),
                sum: sum.into(),
                replace: None,
            }));
            last = Last::None;
        } else if let Some(kv) = line.strip_prefix("build\t") {
            bi.settings.push(setting_line(kv).map_err(bad)?);
        }
    }
    // Go keeps an all-empty main module as "none" (and prints no `mod`
    // line for it).
    bi.main = bi.main.filter(|m| *m != Module::default());
    Ok(bi)
}

fn module_line(v: &str) -> Result<Module, String> {
    let cols: Vec<&str> = v.split('\t').collect();
    match cols[..] {
        [path, version] => Ok(Module {
            path: path.into(),
            version: version.into(),
            ..Module::default()
        }),
        [path, version, sum] => Ok(Module {
            path: path.into(),
            version: version.into(),
            sum: sum.into(),
            replace: None,
        }),
        _ => Err(format!(
            "a module line needs 2 or 3 columns, found {}",
            cols.len()
        )),
    }
}

fn setting_line(kv: &str) -> Result<Setting, String> {
    let (key, raw_value) = match kv.as_bytes().first() {
        None => return Err("a build line without `=`".into()),
        Some(b'=') => return Err("a build line without a key".into()),
        Some(b'"' | b'`') => {
            let raw_key = quoted_prefix(kv).ok_or("a badly quoted key")?;
            let after = &kv[raw_key.len()..];
            let value = after
                .strip_prefix('=')
                .ok_or("a quoted key not followed by `=`")?;
            (unquote(raw_key).ok_or("a badly quoted key")?, value)
        }
        Some(_) => {
            let (k, v) = kv.split_once('=').ok_or("a build line without `=`")?;
            if needs_quote_key(k) {
                return Err(format!("the key {k:?} should be quoted"));
            }
            (k.to_string(), v)
        }
    };
    let value = match raw_value.as_bytes().first() {
        Some(b'"' | b'`') => unquote(raw_value).ok_or("a badly quoted value")?,
        _ => {
            if needs_quote_value(raw_value) {
                return Err(format!("the value {raw_value:?} should be quoted"));
            }
            raw_value.to_string()
        }
    };
    Ok(Setting { key, value })
}

/// Finds and reads the build info of an ELF Go binary.
pub(crate) fn read(view: &View, elf: &Elf) -> Result<BuildInfo, Stop> {
    let (base, hint) = locate(view, elf)?;
    // Ask for the whole section at once: the strings follow the header.
    let first = hint
        .clamp(HEADER, MAX_STRING)
        .min(view.size().saturating_sub(base));
    if first > HEADER {
        view.get(base, first, "build info")?;
    }
    let h = view.get(base, HEADER, "build info header")?;
    if &h[..14] != MAGIC {
        return Err(GoBinError::NoBuildInfo.into());
    }
    let ptr = h[14];
    let flags = h[15];
    let (version, modinfo) = if flags & 2 != 0 {
        let (version, next) = varint_string(view, base + HEADER, "Go version")?;
        let (modinfo, _) = varint_string(view, next, "module info")?;
        (version, modinfo)
    } else {
        if ptr != 4 && ptr != 8 {
            return Err(GoBinError::Malformed {
                what: format!("build info pointer size {ptr}"),
            }
            .into());
        }
        let l = super::elf::Layout {
            big_endian: flags & 1 != 0,
            ptr,
        };
        let version_addr = l.word(h, 16);
        let modinfo_addr = l.word(h, 16 + usize::from(ptr));
        (
            pointer_string(view, elf, l, version_addr, "Go version")?,
            pointer_string(view, elf, l, modinfo_addr, "module info")?,
        )
    };
    if version.is_empty() {
        return Err(GoBinError::NoBuildInfo.into());
    }
    let version = String::from_utf8_lossy(&version).into_owned();
    let text = unwrap_modinfo(&modinfo);
    let text = String::from_utf8_lossy(text);
    Ok(parse_modinfo(&version, &text)?)
}

/// The module info between its sentinels; empty when it is not wrapped as
/// the go command wraps it (as `debug/buildinfo` treats it).
fn unwrap_modinfo(raw: &[u8]) -> &[u8] {
    let n = raw.len();
    if n > INFO_START + INFO_END && raw[n - INFO_END - 1] == b'\n' {
        &raw[INFO_START..n - INFO_END]
    } else {
        &[]
    }
}

/// The file offset of the build info header, and how many bytes the
/// section says it has (0 when unknown).
fn locate(view: &View, elf: &Elf) -> Result<(u64, u64), Stop> {
    if let Some(s) = elf.section(".go.buildinfo") {
        return Ok((s.offset, s.size));
    }
    if !elf.sections.is_empty() {
        return Err(GoBinError::NoBuildInfo.into());
    }
    // No section headers: search the start of the first writable segment.
    let seg = elf
        .segments
        .iter()
        .find(|s| s.kind == PT_LOAD && s.flags & PF_W != 0)
        .ok_or(GoBinError::NoBuildInfo)?;
    let len = seg.filesz.min(SCAN);
    let data = view.get(seg.offset, len, "data segment")?;
    let at = data
        .chunks(ALIGN as usize)
        .position(|c| c.starts_with(MAGIC))
        .ok_or(GoBinError::NoBuildInfo)?;
    Ok((seg.offset + at as u64 * ALIGN, 0))
}

/// A uvarint length and that many bytes at `offset`; returns the offset
/// after them too.
fn varint_string(view: &View, offset: u64, what: &'static str) -> Result<(Vec<u8>, u64), Stop> {
    let avail = view.size().saturating_sub(offset).min(10);
    let head = view.get(offset, avail, what)?;
    let mut len: u64 = 0;
    let mut used = None;
    for (i, b) in head.iter().enumerate() {
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            used = Some(i as u64 + 1);
            break;
        }
    }
    let used = used.ok_or(GoBinError::Malformed {
        what: format!("the length of the {what} is not a valid varint"),
    })?;
    if len > MAX_STRING {
        return Err(GoBinError::TooLarge {
            what,
            size: len,
            limit: MAX_STRING,
        }
        .into());
    }
    let start = offset + used;
    let bytes = view.get(start, len, what)?;
    Ok((bytes.to_vec(), start + len))
}

/// A Go string (pointer to a data pointer and a length) at virtual address
/// `addr`: the pre-1.18 layout.
fn pointer_string(
    view: &View,
    elf: &Elf,
    l: super::elf::Layout,
    addr: u64,
    what: &'static str,
) -> Result<Vec<u8>, Stop> {
    let ptr = u64::from(l.ptr);
    let at = elf
        .offset_of(addr, 2 * ptr)
        .ok_or_else(|| unmapped(what, addr))?;
    let header = view.get(at, 2 * ptr, what)?;
    let data = l.word(header, 0);
    let len = l.word(header, usize::from(l.ptr));
    if len > MAX_STRING {
        return Err(GoBinError::TooLarge {
            what,
            size: len,
            limit: MAX_STRING,
        }
        .into());
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    let at = elf
        .offset_of(data, len)
        .ok_or_else(|| unmapped(what, data))?;
    Ok(view.get(at, len, what)?.to_vec())
}

fn unmapped(what: &str, addr: u64) -> Stop {
    Stop::Problem(GoBinError::Malformed {
        what: format!("the {what} points at {addr:#x}, outside the file's segments"),
    })
}

#[cfg(test)]
#[path = "buildinfo_tests.rs"]
mod tests;
