//! The parts of `go.mod` that `scratchc init` uses: the module path (to
//! name apps and follow the module's own imports) and the Go version it
//! asks for (to pick the toolchain image).

/// What a `go.mod` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoMod {
    /// The `module` path.
    pub module: String,
    /// The `go` directive (`1.22`, `1.21.0`), if any.
    pub go: Option<String>,
    /// The `toolchain` directive without its `go` prefix (`1.23.4`).
    pub toolchain: Option<String>,
}

/// Why a `go.mod` is no use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("go.mod line {line}: {message}")]
pub struct GoModError {
    pub line: usize,
    pub message: String,
}

/// Reads a `go.mod`: `module`, `go` and `toolchain` directives; blocks
/// (`require ( ... )`) and other directives are skipped; `//` comments
/// dropped. A file without a module path is an error.
pub fn parse(text: &str) -> Result<GoMod, GoModError> {
    let mut m = GoMod::default();
    let mut in_block = false;
    let mut module_line = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("").trim();
        if in_block {
            in_block = line != ")";
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(verb), rest) = (words.next(), words.collect::<Vec<_>>()) else {
            continue;
        };
        if rest.last() == Some(&"(") {
            in_block = true;
            continue;
        }
        match (verb, rest.as_slice()) {
            ("module", [path]) => {
                m.module = path.trim_matches('"').to_string();
                module_line = n + 1;
            }
            ("module", _) => {
                return Err(GoModError {
                    line: n + 1,
                    message: "`module` takes one path".into(),
                });
            }
            ("go", [v]) => m.go = Some((*v).to_string()),
            ("toolchain", [v]) => m.toolchain = v.strip_prefix("go").map(str::to_string),
            _ => {}
        }
    }
    if m.module.is_empty() {
        return Err(GoModError {
            line: module_line.max(1),
            message: "no `module` path".into(),
        });
    }
    Ok(m)
}

impl GoMod {
    /// The Go release the module needs, as `(major, minor)`: the newer of
    /// `go` and `toolchain`.
    pub fn needs_go(&self) -> Option<(u32, u32)> {
        [&self.go, &self.toolchain]
            .into_iter()
            .flatten()
            .filter_map(|v| release(v))
            .max()
    }

    /// The app name the module path suggests: its last element without a
    /// `/vN` major version suffix.
    pub fn short_name(&self) -> &str {
        let mut parts = self.module.rsplit('/');
        let last = parts.next().unwrap_or(&self.module);
        if is_major(last) {
            parts.next().unwrap_or(last)
        } else {
            last
        }
    }
}

/// `1.22`, `1.21.0`, `1.23rc1` as (major, minor).
pub fn release(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

fn is_major(s: &str) -> bool {
    s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        let m = parse(
            "// comment\nmodule example.com/shop/v2 // trailing\n\ngo 1.22.3\ntoolchain go1.23.4\n\nrequire (\n\tgolang.org/x/sys v0.1.0\n\tmodule x\n)\nrequire a.b/c v1\n",
        )
        .unwrap();
        assert_eq!(m.module, "example.com/shop/v2");
        assert_eq!(m.short_name(), "shop");
        assert_eq!(m.go.as_deref(), Some("1.22.3"));
        assert_eq!(m.needs_go(), Some((1, 23)));
        assert_eq!(
            parse("module \"quoted/path\"\n").unwrap().module,
            "quoted/path"
        );
        assert_eq!(parse("module hello\n").unwrap().short_name(), "hello");
        assert!(parse("go 1.22\n").is_err());
        assert!(parse("module a b\n").is_err());
        assert_eq!(release("1.21rc2"), Some((1, 21)));
        assert_eq!(release("1"), None);
    }
}
