//! Which Go files a build for the image would compile: build constraints
//! (`//go:build`, the older `// +build`) and file name suffixes
//! (`_windows.go`, `_linux_arm64.go`), evaluated as `go build` does for
//! linux/amd64 with CGO_ENABLED=0 (the go template's build) and no extra
//! tags. `ignore`, another OS, `cgo` or a custom tag leave a file out.
//!
//! linux/amd64 stands for every target here: `init` only asks "is this a
//! main package" and "what does it import", and a main package that
//! exists for one Linux architecture only is rare enough to be found by
//! hand.

use super::gosrc::Constraint;

/// Every GOOS Go knows (`go tool dist list`, and the reserved ones file
/// names must respect).
const GOOS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];

/// Every GOARCH Go knows (and the reserved ones).
const GOARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// Whether a build tag holds for linux/amd64, CGO_ENABLED=0, the gc
/// toolchain of any Go 1.x release.
fn tag(t: &str) -> bool {
    match t {
        "linux" | "unix" | "amd64" | "gc" => true,
        _ => t
            .strip_prefix("go1.")
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())),
    }
}

/// Whether a file named `name` (its base name) is built: not a test, not
/// hidden from the go tool (`_x.go`, `.x.go`), and no other OS or
/// architecture in its suffix.
pub fn file_name_builds(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".go") else {
        return false;
    };
    if stem.ends_with("_test") || name.starts_with('_') || name.starts_with('.') {
        return false;
    }
    let parts: Vec<&str> = stem.split('_').collect();
    // The first element is the name itself, never a constraint.
    let n = parts.len();
    if n >= 3 && GOOS.contains(&parts[n - 2]) && GOARCH.contains(&parts[n - 1]) {
        return tag(parts[n - 2]) && tag(parts[n - 1]);
    }
    if n >= 2 && (GOOS.contains(&parts[n - 1]) || GOARCH.contains(&parts[n - 1])) {
        return tag(parts[n - 1]);
    }
    true
}

/// Whether a file with this constraint is built. An expression that does
/// not parse leaves the file out, as `go build` refuses it.
pub fn holds(c: &Constraint) -> bool {
    match c {
        Constraint::None => true,
        Constraint::Expr(e) => Expr::new(e).parse().unwrap_or(false),
        // Each line: space-separated alternatives of comma-separated
        // terms, each term a tag or `!tag`; all lines must hold.
        Constraint::Lines(lines) => lines.iter().all(|l| {
            l.split_whitespace().any(|alt| {
                alt.split(',').all(|term| match term.strip_prefix('!') {
                    Some(t) => !tag(t),
                    None => tag(term),
                })
            })
        }),
    }
}

/// A `//go:build` expression: `||`, `&&`, `!`, parentheses, tags.
struct Expr<'a> {
    toks: Vec<&'a str>,
    at: usize,
}

impl<'a> Expr<'a> {
    fn new(text: &'a str) -> Expr<'a> {
        let mut toks = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b' ' | b'\t' => i += 1,
                b'(' | b')' | b'!' => {
                    toks.push(&text[i..i + 1]);
                    i += 1;
                }
                b'&' | b'|' if b.get(i + 1) == Some(&b[i]) => {
                    toks.push(&text[i..i + 2]);
                    i += 2;
                }
                _ => {
                    let start = i;
                    while i < b.len()
                        && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                    {
                        i += 1;
                    }
                    if i == start {
                        // A character no expression holds: unparseable.
                        toks.push("?");
                        i += 1;
                    } else {
                        toks.push(&text[start..i]);
                    }
                }
            }
        }
        Expr { toks, at: 0 }
    }

    fn parse(mut self) -> Option<bool> {
        let v = self.or()?;
        (self.at == self.toks.len()).then_some(v)
    }

    fn or(&mut self) -> Option<bool> {
        let mut v = self.and()?;
        while self.eat("||") {
            v |= self.and()?;
        }
        Some(v)
    }

    fn and(&mut self) -> Option<bool> {
        let mut v = self.not()?;
        while self.eat("&&") {
            v &= self.not()?;
        }
        Some(v)
    }

    fn not(&mut self) -> Option<bool> {
        if self.eat("!") {
            return self.not().map(|v| !v);
        }
        if self.eat("(") {
            let v = self.or()?;
            return self.eat(")").then_some(v);
        }
        let t = *self.toks.get(self.at)?;
        if matches!(t, "(" | ")" | "!" | "&&" | "||" | "?") {
            return None;
        }
        self.at += 1;
        Some(tag(t))
    }

    fn eat(&mut self, t: &str) -> bool {
        let hit = self.toks.get(self.at) == Some(&t);
        if hit {
            self.at += 1;
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(e: &str) -> bool {
        holds(&Constraint::Expr(e.into()))
    }

    #[test]
    fn expressions() {
        assert!(expr("linux"));
        assert!(!expr("ignore"));
        assert!(!expr("windows || darwin"));
        assert!(expr("linux && !cgo"));
        assert!(!expr("cgo"));
        assert!(expr("(darwin || linux) && go1.21"));
        assert!(expr("!windows"));
        assert!(!expr("!(linux && amd64)"));
        assert!(!expr("linux &&"), "unparseable: left out");
        assert!(!expr("linux & amd64"));
        assert!(!expr("(linux"));
        assert!(holds(&Constraint::Lines(vec![
            "linux darwin".into(),
            "!cgo".into()
        ])));
        assert!(!holds(&Constraint::Lines(vec!["ignore".into()])));
        assert!(!holds(&Constraint::Lines(vec!["linux,arm64".into()])));
    }

    #[test]
    fn file_names() {
        assert!(file_name_builds("main.go"));
        assert!(file_name_builds("linux.go"), "the name itself is no suffix");
        assert!(file_name_builds("x_linux.go"));
        assert!(file_name_builds("x_linux_amd64.go"));
        assert!(file_name_builds("x_amd64.go"));
        assert!(!file_name_builds("x_windows.go"));
        assert!(!file_name_builds("x_linux_arm64.go"));
        assert!(!file_name_builds("x_test.go"));
        assert!(!file_name_builds("_x.go"));
        assert!(!file_name_builds(".x.go"));
        assert!(!file_name_builds("x.txt"));
        assert!(file_name_builds("my_server.go"));
    }
}
