//! `.dockerignore`-style path patterns, as BuildKit applies them to local
//! sources (moby/patternmatcher semantics, implemented on path segments).
//!
//! - Paths and patterns are relative and `/`-separated; patterns are
//!   cleaned (`./a//b/` is `a/b`, a leading `/` is dropped).
//! - In a segment, `*` matches any run of characters, `?` one character,
//!   `[...]` a class (`[^...]` negated, `a-z` ranges), `\` escapes. None of
//!   them crosses a `/`.
//! - A segment `**` matches any number of segments; a trailing `**` matches
//!   at least one (so `dir/**` matches what is inside `dir`, not `dir`).
//!   `**` inside a longer segment is treated like `*`.
//! - A pattern matches a path when it matches the path or one of its
//!   parents (`vendor` matches `vendor/a/b`).
//! - In a list, the last pattern that matches wins; `!pattern` is an
//!   exception that re-includes. An excluded directory is still walked when
//!   an exception could match something below it.

use std::path::Path;

use crate::client::ClientError;

/// A pattern that cannot be parsed (bad `[` class, lone `!`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Star,
    One,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    AnyDirs,
    Glob(Vec<Tok>),
}

/// One compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    exception: bool,
    segs: Vec<Seg>,
}

impl Pattern {
    /// Parses one pattern line (already stripped of comments).
    pub fn parse(line: &str) -> Result<Pattern, PatternError> {
        let err = |reason: &str| PatternError {
            pattern: line.to_string(),
            reason: reason.to_string(),
        };
        let mut text = line.trim();
        let exception = text.starts_with('!');
        if exception {
            text = text[1..].trim();
            if text.is_empty() {
                return Err(err("`!` must be followed by a pattern"));
            }
        }
        let cleaned = clean(text);
        let segs = if cleaned.is_empty() {
            Vec::new()
        } else {
            cleaned
                .split('/')
                .map(|s| parse_segment(s).map_err(|r| err(&r)))
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(Pattern {
            text: cleaned,
            exception,
            segs,
        })
    }

    /// The cleaned pattern, without `!`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this is a `!` exception.
    pub fn is_exception(&self) -> bool {
        self.exception
    }

    /// Matches `path` or one of its parents.
    pub fn matches(&self, path: &[&str]) -> bool {
        if self.segs.is_empty() {
            return false;
        }
        (1..=path.len()).any(|n| match_segs(&self.segs, &path[..n]))
    }

    /// Whether some path strictly below directory `dir` could match.
    pub fn could_match_below(&self, dir: &[&str]) -> bool {
        prefix_segs(&self.segs, dir)
    }
}

/// An ordered pattern list (a `.dockerignore`, or the daemon's patterns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatternSet {
    patterns: Vec<Pattern>,
}

impl PatternSet {
    /// Compiles pattern lines; empty lines are skipped.
    pub fn new<S: AsRef<str>>(lines: &[S]) -> Result<PatternSet, PatternError> {
        let mut patterns = Vec::new();
        for l in lines {
            let l = l.as_ref();
            if l.trim().is_empty() {
                continue;
            }
            let p = Pattern::parse(l)?;
            if !p.segs.is_empty() {
                patterns.push(p);
            }
        }
        Ok(PatternSet { patterns })
    }

    /// Whether there is no pattern at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (relative, `/`-separated) is matched: the last
    /// pattern that matches it or a parent decides.
    pub fn matches(&self, path: &str) -> bool {
        let segs = split(path);
        let mut matched = false;
        for p in &self.patterns {
            if p.exception == matched && p.matches(&segs) {
                matched = !p.exception;
            }
        }
        matched
    }

    /// For a matched (excluded) directory: whether an exception could
    /// re-include something below it, so the walk must go in.
    pub fn exception_could_match_below(&self, dir: &str) -> bool {
        let segs = split(dir);
        self.patterns
            .iter()
            .any(|p| p.exception && p.could_match_below(&segs))
    }

    /// For include lists: whether a non-exception pattern could match
    /// something below `dir`.
    pub fn could_match_below(&self, dir: &str) -> bool {
        let segs = split(dir);
        self.patterns
            .iter()
            .any(|p| !p.exception && p.could_match_below(&segs))
    }
}

/// The pattern lines of a `.dockerignore` text: `#` comments and blank
/// lines dropped, surrounding spaces trimmed.
pub fn parse_dockerignore(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Reads `dir/.dockerignore` (none is no pattern) and checks its patterns.
pub fn read_dockerignore(dir: &Path) -> Result<Vec<String>, ClientError> {
    let path = dir.join(".dockerignore");
    let cap = crate::compiler::sources::MAX_FILE_BYTES;
    let text = match super::userfile::read_text_inside(dir, Path::new(".dockerignore"), cap) {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(Vec::new()),
        Err(e) => {
            return Err(ClientError::io(
                "reading",
                path,
                std::io::Error::other(e.to_string()),
            ));
        }
    };
    let lines = parse_dockerignore(&text);
    PatternSet::new(&lines).map_err(|e| ClientError::InvalidPattern {
        file: path.clone(),
        error: e,
    })?;
    Ok(lines)
}

/// Lexical path cleaning: drops empty and `.` segments, resolves `..`
/// (never above the root), drops a leading `/`.
pub fn clean(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in path.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

fn split(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect()
}

fn parse_segment(s: &str) -> Result<Seg, String> {
    if s == "**" {
        return Ok(Seg::AnyDirs);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
                i += 1;
            }
            '?' => {
                toks.push(Tok::One);
                i += 1;
            }
            '\\' => {
                let c = *chars.get(i + 1).ok_or("a trailing `\\` escapes nothing")?;
                toks.push(Tok::Lit(c));
                i += 2;
            }
            '[' => {
                i += 1;
                let negated = matches!(chars.get(i), Some('^') | Some('!'));
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    let c = match chars.get(i) {
                        None => return Err("`[` is not closed by `]`".to_string()),
                        Some(']') if !ranges.is_empty() => break,
                        Some('\\') => {
                            i += 1;
                            *chars.get(i).ok_or("`[` is not closed by `]`")?
                        }
                        Some(c) => *c,
                    };
                    i += 1;
                    let mut hi = c;
                    if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
                        hi = match chars.get(i + 1) {
                            Some('\\') => {
                                i += 1;
                                *chars.get(i + 1).ok_or("`[` is not closed by `]`")?
                            }
                            Some(c) => *c,
                            None => return Err("`[` is not closed by `]`".to_string()),
                        };
                        i += 2;
                        if hi < c {
                            return Err(format!("range `{c}-{hi}` is reversed"));
                        }
                    }
                    ranges.push((c, hi));
                }
                i += 1;
                toks.push(Tok::Class { negated, ranges });
            }
            c => {
                toks.push(Tok::Lit(c));
                i += 1;
            }
        }
    }
    Ok(Seg::Glob(toks))
}

fn match_glob(toks: &[Tok], s: &[char]) -> bool {
    match toks.split_first() {
        None => s.is_empty(),
        Some((Tok::Star, rest)) => (0..=s.len()).any(|k| match_glob(rest, &s[k..])),
        Some((t, rest)) => match s.split_first() {
            None => false,
            Some((c, srest)) => {
                let ok = match t {
                    Tok::Lit(l) => l == c,
                    Tok::One => true,
                    Tok::Class { negated, ranges } => {
                        ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated
                    }
                    Tok::Star => false,
                };
                ok && match_glob(rest, srest)
            }
        },
    }
}

fn match_seg(seg: &Seg, name: &str) -> bool {
    match seg {
        Seg::AnyDirs => true,
        Seg::Glob(toks) => {
            let chars: Vec<char> = name.chars().collect();
            match_glob(toks, &chars)
        }
    }
}

fn match_segs(pat: &[Seg], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((Seg::AnyDirs, rest)) => {
            if rest.is_empty() {
                // A trailing `**` needs something to match (`dir/**` is
                // the inside of `dir`), unless it is the whole pattern.
                return !path.is_empty();
            }
            (0..=path.len()).any(|k| match_segs(rest, &path[k..]))
        }
        Some((seg, rest)) => {
            !path.is_empty() && match_seg(seg, path[0]) && match_segs(rest, &path[1..])
        }
    }
}

fn prefix_segs(pat: &[Seg], dir: &[&str]) -> bool {
    match (pat.split_first(), dir.split_first()) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some((Seg::AnyDirs, _)), Some(_)) => true,
        (Some((seg, rest)), Some((d, drest))) => match_seg(seg, d) && prefix_segs(rest, drest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lines: &[&str]) -> PatternSet {
        PatternSet::new(lines).unwrap()
    }

    #[test]
    fn globs_stay_in_one_segment() {
        let s = set(&["*.log", "a?c", "[a-c]x", "[^a]y"]);
        assert!(s.matches("x.log"));
        assert!(!s.matches("d/x.log"), "* does not cross /");
        assert!(s.matches("abc") && !s.matches("abbc"));
        assert!(s.matches("bx") && !s.matches("dx"));
        assert!(s.matches("by") && !s.matches("ay"));
    }

    #[test]
    fn double_star() {
        let s = set(&["**/*.tmp"]);
        assert!(s.matches("a.tmp") && s.matches("x/y/a.tmp"));
        let s = set(&["a/**/b"]);
        assert!(s.matches("a/b") && s.matches("a/x/y/b") && !s.matches("b"));
        let s = set(&["dir/**"]);
        assert!(!s.matches("dir") && s.matches("dir/x") && s.matches("dir/x/y"));
    }

    #[test]
    fn parents_match_and_cleaning() {
        let s = set(&["/vendor/", "./a//b"]);
        assert!(s.matches("vendor") && s.matches("vendor/x/y"));
        assert!(s.matches("a/b/c") && !s.matches("a"));
    }

    #[test]
    fn last_match_wins_with_exceptions() {
        let s = set(&["docs", "!docs/keep.md", "*.md"]);
        assert!(s.matches("docs/x.txt"));
        assert!(!s.matches("docs/keep.md") && s.matches("keep.md"));
        assert!(s.matches("readme.md"));
        let s = set(&["docs", "!docs/keep.md"]);
        assert!(!s.matches("docs/keep.md"));
        assert!(s.exception_could_match_below("docs"));
        assert!(!s.exception_could_match_below("other"));
        let s = set(&["*", "!src"]);
        assert!(!s.matches("src/main.go") && s.matches("README"));
    }

    #[test]
    fn includes_can_look_below() {
        let s = set(&["cmd/app/*.go"]);
        assert!(s.could_match_below("cmd") && s.could_match_below("cmd/app"));
        assert!(!s.could_match_below("pkg"));
        assert!(set(&["**/x"]).could_match_below("any/where"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        let e = PatternSet::new(&["[abc"]).unwrap_err();
        assert!(e.to_string().contains("not closed"), "{e}");
        assert!(PatternSet::new(&["!"]).is_err());
    }

    #[test]
    fn dockerignore_text() {
        assert_eq!(
            parse_dockerignore("# c\n\n  *.o \n!keep.o\n"),
            vec!["*.o".to_string(), "!keep.o".to_string()]
        );
    }
}
