//! What a program's source says it needs from its image at runtime, as
//! far as its imports and calls tell: the source-side twin of
//! [`crate::gobin::needs`], which reads the same needs from a built
//! binary. The needs are the same [`Need`]s; [`needs`] is the one place
//! that maps code to them (extend [`RULES`] and [`MET`] there).
//!
//! A rule is an import, or a package-qualified name (`time.LoadLocation`)
//! seen in the main package or in a package of the module it imports.
//! Dependencies outside the module are not read (they are not on disk
//! without a Go toolchain), so this can miss a need; the binary check
//! after a build sees the rest.

use std::collections::{BTreeMap, BTreeSet};

pub use crate::gobin::needs::Need;

/// Where something was seen: a file of the module (relative, `/`
/// separated) and a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seen {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The code of one program: every import and qualified name used, in its
/// main package and the module's own packages it imports, each with
/// where it was first seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Code {
    pub imports: BTreeMap<String, Seen>,
    pub uses: BTreeMap<(String, String), Seen>,
}

/// A need, and the code that shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub need: Need,
    /// `net/http` or `time.LoadLocation`.
    pub what: String,
    pub seen: Seen,
}

/// One way code shows a need: an import (`name` none) or a name of it.
struct Rule {
    need: Need,
    import: &'static str,
    name: Option<&'static str>,
}

const fn import(need: Need, import: &'static str) -> Rule {
    Rule {
        need,
        import,
        name: None,
    }
}

const fn call(need: Need, import: &'static str, name: &'static str) -> Rule {
    Rule {
        need,
        import,
        name: Some(name),
    }
}

/// The rules, in the order findings are reported within a need.
/// `net/http` alone means certs: its default client verifies servers
/// against the system roots, and the binary check reports every
/// `net/http` program for it (docs/runtime-needs.md).
const RULES: &[Rule] = &[
    import(Need::Certs, "net/http"),
    call(Need::Certs, "crypto/tls", "Dial"),
    call(Need::Certs, "crypto/tls", "DialWithDialer"),
    call(Need::Certs, "crypto/tls", "Client"),
    call(Need::Certs, "crypto/x509", "SystemCertPool"),
    call(Need::MimeTypes, "mime", "TypeByExtension"),
    call(Need::MimeTypes, "mime", "ExtensionsByType"),
    call(Need::MimeTypes, "net/http", "FileServer"),
    call(Need::MimeTypes, "net/http", "FileServerFS"),
    call(Need::MimeTypes, "net/http", "ServeFile"),
    call(Need::MimeTypes, "net/http", "ServeFileFS"),
    call(Need::MimeTypes, "net/http", "ServeContent"),
    call(Need::Tzdata, "time", "LoadLocation"),
    import(Need::Passwd, "os/user"),
    call(Need::Tmp, "os", "CreateTemp"),
    call(Need::Tmp, "os", "MkdirTemp"),
    call(Need::Tmp, "os", "TempDir"),
    call(Need::Tmp, "io/ioutil", "TempFile"),
    call(Need::Tmp, "io/ioutil", "TempDir"),
    import(Need::Tmp, "mime/multipart"),
];

/// Imports that meet a need inside the binary: nothing to add.
const MET: &[(Need, &str)] = &[
    (Need::Certs, "golang.org/x/crypto/x509roots/fallback"),
    (Need::Tzdata, "time/tzdata"),
];

/// The needs `code` shows, each once (its first rule that matched), in
/// [`Need::ALL`] order; needs the code meets itself are left out.
pub fn needs(code: &Code) -> Vec<Found> {
    let met: BTreeSet<Need> = MET
        .iter()
        .filter(|(_, path)| code.imports.contains_key(*path))
        .map(|(need, _)| *need)
        .collect();
    let mut found: BTreeMap<Need, Found> = BTreeMap::new();
    for r in RULES {
        if met.contains(&r.need) || found.contains_key(&r.need) {
            continue;
        }
        let hit = match r.name {
            None => code
                .imports
                .get(r.import)
                .map(|s| (r.import.to_string(), s)),
            Some(name) => code
                .uses
                .get(&(r.import.to_string(), name.to_string()))
                .map(|s| (format!("{}.{name}", last(r.import)), s)),
        };
        if let Some((what, seen)) = hit {
            found.insert(
                r.need,
                Found {
                    need: r.need,
                    what,
                    seen: seen.clone(),
                },
            );
        }
    }
    Need::ALL
        .into_iter()
        .filter_map(|n| found.remove(&n))
        .collect()
}

/// The package name of a standard library import path.
fn last(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(line: usize) -> Seen {
        Seen {
            file: "main.go".into(),
            line,
        }
    }

    fn code(imports: &[&str], uses: &[(&str, &str)]) -> Code {
        Code {
            imports: imports.iter().map(|i| (i.to_string(), seen(3))).collect(),
            uses: uses
                .iter()
                .map(|(p, n)| ((p.to_string(), n.to_string()), seen(9)))
                .collect(),
        }
    }

    #[test]
    fn imports_and_calls_show_needs() {
        let c = code(
            &["net/http", "time", "os", "os/user"],
            &[
                ("net/http", "FileServer"),
                ("time", "LoadLocation"),
                ("os", "CreateTemp"),
            ],
        );
        let got: Vec<(Need, String)> = needs(&c).into_iter().map(|f| (f.need, f.what)).collect();
        assert_eq!(
            got,
            [
                (Need::Certs, "net/http".into()),
                (Need::Tzdata, "time.LoadLocation".into()),
                (Need::Passwd, "os/user".into()),
                (Need::Tmp, "os.CreateTemp".into()),
                (Need::MimeTypes, "http.FileServer".into()),
            ]
        );
    }

    #[test]
    fn what_the_binary_embeds_is_no_need() {
        let c = code(
            &[
                "net/http",
                "time",
                "time/tzdata",
                "golang.org/x/crypto/x509roots/fallback",
            ],
            &[("time", "LoadLocation")],
        );
        assert!(needs(&c).is_empty());
        assert!(needs(&code(&["fmt", "os"], &[("os", "Exit")])).is_empty());
    }
}
