//! What `scratchc init` reads in one Go source file, without a Go
//! toolchain: the build constraint, the package name, the imports (with
//! the name each is used by in this file), whether it declares a
//! top-level `func main`, and which package-qualified names it uses
//! (`time.LoadLocation`).
//!
//! A small tokenizer, not a parser: comments, strings, raw strings and
//! runes are skipped exactly (so `"time.LoadLocation"` in a string or a
//! comment is no use of it), everything else is identifiers and
//! punctuation. What it cannot see, it does not claim: a package name
//! shadowed by a local variable still counts as the package (rare, and
//! at worst a comment too many in the file `init` writes).

use std::collections::BTreeMap;

/// What one Go file says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoFile {
    /// The `package` clause; empty when the file has none (not Go).
    pub package: String,
    /// The `//go:build` expression, or the `// +build` lines, before the
    /// package clause.
    pub constraint: Constraint,
    /// Import path to the name it is used by here (`_` and `.` as
    /// written), with the 1-based line of the import.
    pub imports: BTreeMap<String, (String, usize)>,
    /// A top-level `func main` is declared.
    pub has_main: bool,
    /// `(import path, name)` used as `pkg.Name`, with the first line.
    pub uses: BTreeMap<(String, String), usize>,
}

/// A file's build constraint, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Constraint {
    /// None: the file is always built.
    #[default]
    None,
    /// A `//go:build` expression.
    Expr(String),
    /// `// +build` lines (each a disjunction; all must hold).
    Lines(Vec<String>),
}

/// One token: its kind and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok<'a> {
    Ident(&'a str),
    /// A string literal's contents (escapes kept as written; import paths
    /// have none).
    Str(&'a str),
    Punct(u8),
    /// A number or a rune: nothing we look at.
    Other,
}

/// Reads one Go file. Never fails: text that is not Go gives an empty
/// package name.
pub fn scan(text: &str) -> GoFile {
    let (header, toks) = tokenize(text);
    let mut file = GoFile {
        constraint: header,
        ..GoFile::default()
    };
    // package NAME
    match (toks.first(), toks.get(1)) {
        (Some((Tok::Ident("package"), _)), Some((Tok::Ident(name), _))) => {
            file.package = (*name).to_string();
        }
        _ => return file,
    }
    let mut i = 2;
    // import decls, each `import SPEC` or `import ( SPEC; ... )`
    loop {
        while matches!(toks.get(i), Some((Tok::Punct(b';'), _))) {
            i += 1;
        }
        if !matches!(toks.get(i), Some((Tok::Ident("import"), _))) {
            break;
        }
        i += 1;
        if matches!(toks.get(i), Some((Tok::Punct(b'('), _))) {
            i += 1;
            while let Some((t, _)) = toks.get(i) {
                if *t == Tok::Punct(b')') {
                    i += 1;
                    break;
                }
                i = import_spec(&toks, i, &mut file);
            }
        } else {
            i = import_spec(&toks, i, &mut file);
        }
    }
    let local: BTreeMap<&str, &str> = file
        .imports
        .iter()
        .filter(|(_, (name, _))| name != "_" && name != ".")
        .map(|(path, (name, _))| (name.as_str(), path.as_str()))
        .collect();
    let mut uses = BTreeMap::new();
    let mut depth = 0usize;
    while i < toks.len() {
        match &toks[i] {
            (Tok::Punct(b'{'), _) => depth += 1,
            (Tok::Punct(b'}'), _) => depth = depth.saturating_sub(1),
            (Tok::Ident("func"), _) if depth == 0 => {
                if let (Some((Tok::Ident("main"), _)), Some((Tok::Punct(b'('), _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    file.has_main = true;
                }
            }
            (Tok::Ident(pkg), line) => {
                let after_dot = i > 0 && toks[i - 1].0 == Tok::Punct(b'.');
                if !after_dot
                    && let Some(path) = local.get(pkg)
                    && let (Some((Tok::Punct(b'.'), _)), Some((Tok::Ident(name), _))) =
                        (toks.get(i + 1), toks.get(i + 2))
                {
                    uses.entry((path.to_string(), name.to_string()))
                        .or_insert(*line);
                }
            }
            _ => {}
        }
        i += 1;
    }
    file.uses = uses;
    file
}

/// One import spec at `i` (`[NAME] "PATH"`); returns the index after it.
fn import_spec(toks: &[(Tok<'_>, usize)], mut i: usize, file: &mut GoFile) -> usize {
    let mut name = None;
    match toks.get(i) {
        Some((Tok::Ident(n), _)) => {
            name = Some((*n).to_string());
            i += 1;
        }
        Some((Tok::Punct(b'.'), _)) => {
            name = Some(".".to_string());
            i += 1;
        }
        _ => {}
    }
    if let Some((Tok::Str(path), line)) = toks.get(i) {
        let path = (*path).to_string();
        let name = name.unwrap_or_else(|| default_name(&path));
        file.imports.insert(path, (name, *line));
        i += 1;
    } else {
        // Not an import spec: step over it so a malformed file ends.
        i += 1;
    }
    while matches!(toks.get(i), Some((Tok::Punct(b';'), _))) {
        i += 1;
    }
    i
}

/// The name an import is used by when none is given: its last path
/// element, without a `/vN` major version or a `.vN` / `-go` style
/// suffix (`gopkg.in/yaml.v3` is `yaml`).
fn default_name(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1
        && parts.last().is_some_and(|l| {
            l.len() > 1 && l.starts_with('v') && l[1..].bytes().all(|b| b.is_ascii_digit())
        })
    {
        parts.pop();
    }
    let last = parts.last().copied().unwrap_or(path);
    let last = last.split('.').next().unwrap_or(last);
    last.trim_start_matches("go-").replace('-', "_")
}

/// Splits `text` into tokens with their lines, and returns the build
/// constraint found in the comments before the first token. Newlines
/// that end a statement become `;` (Go's automatic semicolons, as far as
/// import lists need them).
fn tokenize(text: &str) -> (Constraint, Vec<(Tok<'_>, usize)>) {
    let b = text.as_bytes();
    let mut toks: Vec<(Tok<'_>, usize)> = Vec::new();
    let mut expr = None;
    let mut plus = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                if matches!(
                    toks.last(),
                    Some((
                        Tok::Ident(_) | Tok::Str(_) | Tok::Other | Tok::Punct(b')' | b'}' | b']'),
                        _
                    ))
                ) {
                    toks.push((Tok::Punct(b';'), line));
                }
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = find(b, i, b'\n');
                if toks.is_empty() {
                    let comment = &text[i..end];
                    if let Some(e) = comment.strip_prefix("//go:build ") {
                        expr.get_or_insert_with(|| e.trim().to_string());
                    } else if let Some(e) = comment.strip_prefix("// +build ") {
                        plus.push(e.trim().to_string());
                    }
                }
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                line += text[i..end].bytes().filter(|&c| c == b'\n').count();
                i = end;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(b.len());
                toks.push((Tok::Str(&text[start..end]), line));
                i = end + 1;
            }
            b'`' => {
                let end = find(b, i + 1, b'`');
                let s = &text[i + 1..end];
                toks.push((Tok::Str(s), line));
                line += s.bytes().filter(|&c| c == b'\n').count();
                i = end + 1;
            }
            b'\'' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'\'' && b[j] != b'\n' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                toks.push((Tok::Other, line));
                i = j + 1;
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] >= 0x80)
                {
                    i += 1;
                }
                // Non-ASCII bytes are taken whole, so the slice stays on
                // character boundaries.
                toks.push((Tok::Ident(&text[start..i]), line));
            }
            _ if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_')
                {
                    i += 1;
                }
                toks.push((Tok::Other, line));
            }
            _ => {
                toks.push((Tok::Punct(c), line));
                i += 1;
            }
        }
    }
    let constraint = match (expr, plus.is_empty()) {
        (Some(e), _) => Constraint::Expr(e),
        (None, false) => Constraint::Lines(plus),
        (None, true) => Constraint::None,
    };
    (constraint, toks)
}

/// The index of the next `c` from `from`, or the end.
fn find(b: &[u8], from: usize, c: u8) -> usize {
    b[from.min(b.len())..]
        .iter()
        .position(|&x| x == c)
        .map_or(b.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_main_with_its_imports_and_uses() {
        let f = scan(
            r#"// Copyright
//go:build linux && !cgo

// Package main is the server.
package main

import (
	"fmt"
	h "net/http"
	_ "time/tzdata"
	"gopkg.in/yaml.v3"
	"example.com/x/v2"
)
import "os"

/* time.LoadLocation in a comment is no use */
var s = "os.CreateTemp in a string is none either"

func (s *server) main() {}

func main() {
	loc, _ := time.LoadLocation("Europe/Berlin")
	h.ListenAndServe(":8080", nil)
	f, _ := os.CreateTemp("", `x
y`)
	fmt.Println(loc, f, yaml.Marshal, x.Y, 'a', 1.5e3)
}
"#,
        );
        assert_eq!(f.package, "main");
        assert_eq!(f.constraint, Constraint::Expr("linux && !cgo".into()));
        assert!(f.has_main);
        let names: Vec<(&str, &str)> = f
            .imports
            .iter()
            .map(|(p, (n, _))| (p.as_str(), n.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("example.com/x/v2", "x"),
                ("fmt", "fmt"),
                ("gopkg.in/yaml.v3", "yaml"),
                ("net/http", "h"),
                ("os", "os"),
                ("time/tzdata", "_"),
            ]
        );
        assert_eq!(f.imports["os"].1, 14);
        let uses: Vec<String> = f.uses.keys().map(|(p, n)| format!("{p}.{n}")).collect();
        // `time` is not imported here, so time.LoadLocation is no use of it.
        assert_eq!(
            uses,
            [
                "example.com/x/v2.Y",
                "fmt.Println",
                "gopkg.in/yaml.v3.Marshal",
                "net/http.ListenAndServe",
                "os.CreateTemp"
            ]
        );
        assert_eq!(f.uses[&("os".to_string(), "CreateTemp".to_string())], 24);
    }

    #[test]
    fn methods_and_nested_funcs_are_no_main() {
        let f = scan(
            "package main\n\nfunc (a A) main() {}\nfunc run() { main := func() {}; main() }\n",
        );
        assert!(!f.has_main);
        let f = scan("package tool\nfunc main() {}\n");
        assert_eq!(f.package, "tool");
        assert!(f.has_main);
    }

    #[test]
    fn old_style_constraints_and_no_package() {
        let f = scan("// +build linux darwin\n// +build !cgo\n\npackage main\n");
        assert_eq!(
            f.constraint,
            Constraint::Lines(vec!["linux darwin".into(), "!cgo".into()])
        );
        // A constraint after the package clause is an ordinary comment.
        let f = scan("package main\n//go:build ignore\n");
        assert_eq!(f.constraint, Constraint::None);
        assert_eq!(scan("not go at all {").package, "");
        assert_eq!(scan("").package, "");
        // Unterminated literals end the file, never loop or panic.
        for t in [
            "package main\nvar a = \"x",
            "package main\nvar a = `x",
            "package main\n/* x",
            "package main\nvar r = '\\",
        ] {
            let _ = scan(t);
        }
    }
}
