//! The built-in keys: how many values each takes, how definitions along a
//! template chain combine, and where platform variables are allowed.

use std::sync::OnceLock;

/// How definitions of a key combine along the chain (app, template,
/// parent template, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// The nearest definition wins; twice in one block is an error.
    Single,
    /// Definitions accumulate, the farthest ancestor's first.
    List,
    /// `KEY=VALUE` lists; a later KEY replaces an earlier one's value and
    /// keeps the first one's position.
    Map,
}

/// A built-in key.
#[derive(Clone, Copy, Debug)]
pub struct KeyDef {
    pub name: &'static str,
    pub merge: Merge,
    /// Fewest and most args (after expansion); `None`: no upper bound.
    pub min: usize,
    pub max: Option<usize>,
    /// Whether `${TARGETOS}` and friends may appear.
    pub platform: bool,
    /// The argument shape, for help lines.
    pub usage: &'static str,
}

const fn key(
    name: &'static str,
    merge: Merge,
    min: usize,
    max: Option<usize>,
    usage: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        merge,
        min,
        max,
        platform: false,
        usage,
    }
}

const fn platform(mut k: KeyDef) -> KeyDef {
    k.platform = true;
    k
}

use Merge::{List, Map, Single};

/// Every built-in key. `param` and `build-arg` are handled apart (they
/// declare names rather than set values) but live here for the key
/// namespace and suggestions.
pub const KEYS: &[KeyDef] = &[
    key("builder", Single, 1, Some(1), "builder IMAGE"),
    key("build-dir", Single, 1, Some(1), "build-dir /ABS/PATH"),
    platform(key("build-run", Single, 1, None, "build-run ARG...")),
    platform(key("deps-run", Single, 1, None, "deps-run ARG...")),
    key("deps", Single, 1, None, "deps FILE..."),
    key("deps-skip", Single, 1, None, "deps-skip CONTEXT/PATH..."),
    key("deps-with", List, 2, None, "deps-with CONTEXT/PATH FILE..."),
    key(
        "secret",
        List,
        1,
        Some(3),
        "secret ID [target=/ABS/PATH|env=NAME] [required]",
    ),
    key("ssh", List, 0, Some(1), "ssh [ID]"),
    key("binary", Single, 1, Some(1), "binary /ABS/PATH"),
    key(
        "binary-from",
        Single,
        1,
        Some(1),
        "binary-from CONTEXT/PATH",
    ),
    key("certs", Single, 0, Some(1), "certs [true|false]"),
    key("mime-types", Single, 0, Some(1), "mime-types [true|false]"),
    key("sbom", Single, 0, Some(1), "sbom [true|false]"),
    key("tmp", Single, 0, Some(1), "tmp [true|false]"),
    key("passwd", Single, 0, Some(1), "passwd [true|false|NAME]"),
    key("zoneinfo", Single, 0, Some(1), "zoneinfo [true|false]"),
    key(
        "zoneinfo-from",
        Single,
        1,
        Some(1),
        "zoneinfo-from /PATH/IN/BUILDER",
    ),
    key("strict", Single, 0, Some(1), "strict [true|false]"),
    key(
        "certs-from",
        Single,
        1,
        Some(1),
        "certs-from /PATH/IN/BUILDER",
    ),
    key(
        "mime-types-from",
        Single,
        1,
        Some(1),
        "mime-types-from /PATH/IN/BUILDER",
    ),
    key("workdir", Single, 1, Some(1), "workdir /ABS/PATH"),
    key("user", Single, 1, Some(1), "user UID[:GID]"),
    key("entrypoint", Single, 1, None, "entrypoint ARG..."),
    key("cmd", Single, 0, None, "cmd ARG..."),
    key(
        "platforms",
        Single,
        1,
        None,
        "platforms OS/ARCH[/VARIANT]...",
    ),
    key("port", List, 1, None, "port PORT[/tcp|udp|sctp]..."),
    key("volume", List, 1, None, "volume /ABS/PATH..."),
    key("env", Map, 1, None, "env KEY=VALUE..."),
    key("label", Map, 1, None, "label KEY=VALUE..."),
    platform(key("build-env", Map, 1, None, "build-env KEY=VALUE...")),
    key(
        "cache",
        List,
        1,
        Some(3),
        "cache /ABS/PATH [id=ID] [sharing=shared|private|locked]",
    ),
    key(
        "file",
        List,
        2,
        Some(3),
        "file CONTEXT/SRC /ABS/DEST [MODE]",
    ),
    key("build-arg", List, 1, None, "build-arg NAME[=DEFAULT]..."),
    key(
        "param",
        List,
        2,
        None,
        "param NAME string|bool|int|list [DEFAULT]",
    ),
    // A section: takes no values, holds `KUBERNETES` keys. Once per block;
    // its keys merge along the chain like any other key.
    key("kubernetes", Single, 0, Some(0), "kubernetes {"),
];

/// The keys of a `kubernetes { ... }` section: what only the cluster needs.
/// They never change the image (the lowering does not read them).
pub const KUBERNETES: &[KeyDef] = &[
    key("replicas", Single, 1, Some(1), "replicas N"),
    key(
        "requests",
        Map,
        1,
        None,
        "requests cpu=QUANTITY memory=QUANTITY...",
    ),
    key(
        "limits",
        Map,
        1,
        None,
        "limits cpu=QUANTITY memory=QUANTITY...",
    ),
    key(
        "probe",
        List,
        3,
        None,
        "probe liveness|readiness|startup http|tcp|grpc PORT [/PATH] [delay=S] [period=S] [timeout=S] [failures=N] [service=NAME]",
    ),
];

/// The built-in key of this name: the first in [`KEYS`] that has it.
/// (A binary search by length, then bytes, so that most steps compare two
/// numbers: the checker asks once per statement per app.)
pub fn find(name: &str) -> Option<&'static KeyDef> {
    static SORTED: OnceLock<Vec<&'static KeyDef>> = OnceLock::new();
    fn order(k: &str) -> (usize, &[u8]) {
        (k.len(), k.as_bytes())
    }
    let sorted = SORTED.get_or_init(|| {
        let mut keys: Vec<&'static KeyDef> = KEYS.iter().collect();
        // Stable, and the first of equal names kept: as a scan would find.
        keys.sort_by(|a, b| order(a.name).cmp(&order(b.name)));
        keys.dedup_by_key(|k| k.name);
        keys
    });
    let i = sorted
        .binary_search_by(|k| order(k.name).cmp(&order(name)))
        .ok()?;
    sorted.get(i).copied()
}

/// The keys of the section a key opens (`kubernetes`); `None` for the keys
/// that take values.
pub fn section(name: &str) -> Option<&'static [KeyDef]> {
    match name {
        "kubernetes" => Some(KUBERNETES),
        _ => None,
    }
}

/// Names of every built-in key, for suggestions.
pub fn names() -> Vec<&'static str> {
    KEYS.iter().map(|k| k.name).collect()
}

/// The type of a template parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    Str,
    Bool,
    Int,
    List,
}

impl ParamType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => ParamType::Str,
            "bool" => ParamType::Bool,
            "int" => ParamType::Int,
            "list" => ParamType::List,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ParamType::Str => "string",
            ParamType::Bool => "bool",
            ParamType::Int => "int",
            ParamType::List => "list",
        }
    }
}
