//! Go string literals as the go command writes them into build info:
//! `strconv.Quote`, `strconv.Unquote` and `strconv.QuotedPrefix`, for
//! double-quoted and backquoted strings.
//!
//! Quoting follows Go's rules for every character the go command can put
//! in a build setting (ASCII, the usual escapes, `\x` for other control
//! bytes, `\u`/`\U` for non-printing characters). Go decides "printing"
//! with its Unicode tables; here it is approximated without them
//! ([`printable`]), which differs only for unassigned code points.

use std::fmt::Write as _;

/// `strconv.Quote`: a double-quoted Go literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint` without its tables: letters, marks, numbers,
/// punctuation, symbols and the ASCII space print; controls, other spaces
/// and the format characters below do not.
fn printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x206f
        | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
        | 0xf0000..=0x10ffff)
}

/// `strconv.QuotedPrefix`: the quoted literal `s` starts with, or `None`
/// when it does not start with a complete, valid one.
pub fn quoted_prefix(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let end = match bytes.first()? {
        b'`' => bytes[1..].iter().position(|b| *b == b'`')? + 2,
        b'"' => {
            let mut i = 1;
            loop {
                match bytes.get(i)? {
                    b'\\' => i += 2,
                    b'"' => break i + 1,
                    b'\n' => return None,
                    _ => i += 1,
                }
            }
        }
        _ => return None,
    };
    let prefix = s.get(..end)?;
    unquote(prefix).map(|_| prefix)
}

/// `strconv.Unquote` for a double-quoted or backquoted literal that is the
/// whole of `s`. Escapes that produce bytes which are not UTF-8 (`\xff`)
/// are kept as U+FFFD.
pub fn unquote(s: &str) -> Option<String> {
    if s.len() < 2 {
        return None;
    }
    if let Some(inner) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        if inner.contains('`') {
            return None;
        }
        // Go drops carriage returns from raw strings.
        return Some(inner.replace('\r', ""));
    }
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' => return None,
            '\\' => {
                let e = chars.next()?;
                match e {
                    'a' => out.push(7),
                    'b' => out.push(8),
                    'f' => out.push(12),
                    'n' => out.push(b'\n'),
                    'r' => out.push(b'\r'),
                    't' => out.push(b'\t'),
                    'v' => out.push(11),
                    '\\' => out.push(b'\\'),
                    '"' => out.push(b'"'),
                    'x' => out.push(u8::try_from(hex(&mut chars, 2)?).ok()?),
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let ch = char::from_u32(hex(&mut chars, n)?)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8)?;
                        for _ in 0..2 {
                            v = v * 8 + chars.next()?.to_digit(8)?;
                        }
                        out.push(u8::try_from(v).ok()?);
                    }
                    _ => return None,
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn hex(chars: &mut std::str::Chars<'_>, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for _ in 0..n {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go() {
        // Expected strings are what Go's strconv.Quote returns.
        assert_eq!(quote("-s -w"), r#""-s -w""#);
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("tab\there\nnl"), r#""tab\there\nnl""#);
        assert_eq!(quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
        assert_eq!(quote("é ü 世界"), "\"é ü 世界\"");
        assert_eq!(quote("\u{a0}\u{200b}"), r#""\u00a0\u200b""#);
        assert_eq!(quote("\u{feff}"), r#""\ufeff""#);
    }

    #[test]
    fn unquote_round_trips_and_rejects() {
        for s in ["", "-X 'main.v=a b'", "a\"b\\c", "\t\n\r", "é\u{1}\u{a0}"] {
            assert_eq!(unquote(&quote(s)).as_deref(), Some(s), "{s:?}");
        }
        assert_eq!(unquote("`raw \\n`").as_deref(), Some("raw \\n"));
        assert_eq!(unquote(r#""\101\x41\u0041""#).as_deref(), Some("AAA"));
        for bad in [
            "\"",
            "\"abc",
            "abc\"",
            r#""\q""#,
            r#""\x4""#,
            r#""\777""#,
            "\"a\nb\"",
        ] {
            assert_eq!(unquote(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn quoted_prefix_stops_at_the_closing_quote() {
        assert_eq!(quoted_prefix(r#""a=b"=c"#), Some(r#""a=b""#));
        assert_eq!(quoted_prefix(r#""a\"b"=c"#), Some(r#""a\"b""#));
        assert_eq!(quoted_prefix("`x`=y"), Some("`x`"));
        assert_eq!(quoted_prefix(r#""open"#), None);
        assert_eq!(quoted_prefix("plain"), None);
        assert_eq!(quoted_prefix("\"\\"), None);
    }
}
