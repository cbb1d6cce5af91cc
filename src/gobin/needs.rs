//! What a Go binary needs from its image at runtime, from the functions it
//! links: the files a scratch image lacks unless the app file asks for
//! them.
//!
//! Each [`Need`] is triggered by functions that exist in the binary only
//! when something can reach the code that reads the file (the Go linker
//! drops unreachable functions, and inlined calls stay visible through the
//! name table, see [`super::symbols`]). The trigger lists were worked out
//! on Go 1.24 binaries; docs/runtime-needs.md has the table and why each
//! name and not its neighbours:
//!
//! | need | trigger | reads | satisfied inside the binary by |
//! |------|---------|-------|------------------------------|
//! | certs | `crypto/x509.initSystemRoots` | /etc/ssl/certs/ca-certificates.crt, … | `crypto/x509.SetFallbackRoots` (e.g. `golang.org/x/crypto/x509roots/fallback`) |
//! | tzdata | `time.LoadLocation` | /usr/share/zoneinfo/… | `time/tzdata` (import, or `-tags timetzdata`) |
//! | passwd | `os/user.Current`, `Lookup`, `LookupId`, `LookupGroup`, `LookupGroupId`, `(*User).GroupIds` | /etc/passwd, /etc/group | – |
//! | tmp | `os.TempDir` (behind `os.CreateTemp("", …)`, `os.MkdirTemp("", …)`) | $TMPDIR or /tmp | – |
//! | mime-types | `mime.initMime` (behind `TypeByExtension`, `ExtensionsByType`, `AddExtensionType`) | /etc/mime.types, … | – (a built-in table covers common types) |
//!
//! A trigger means the binary *can* do it, not that it will: an HTTP
//! server links the system-root loader through `net/http`'s default
//! client even if it never dials out. The build turns a finding into a
//! warning (with the one-word fix), not an error, unless asked to be
//! strict.

use std::fmt;

use super::{BuildInfo, FuncNames};

/// A runtime need a scratch image does not meet by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// System CA roots for TLS verification.
    Certs,
    /// Time zone data for `time.LoadLocation`.
    Tzdata,
    /// /etc/passwd and /etc/group for user and group lookups.
    Passwd,
    /// A writable temporary directory.
    Tmp,
    /// The MIME type table, /etc/mime.types.
    MimeTypes,
}

impl Need {
    /// Every need, in the order findings are reported.
    pub const ALL: [Need; 5] = [
        Need::Certs,
        Need::Tzdata,
        Need::Passwd,
        Need::Tmp,
        Need::MimeTypes,
    ];

    /// The one-word fix: the statement that meets the need.
    pub fn fix(self) -> &'static str {
        match self {
            Need::Certs => "certs",
            Need::Tzdata => "tzdata",
            Need::Passwd => "passwd",
            Need::Tmp => "tmp",
            Need::MimeTypes => "mime-types",
        }
    }

    /// The need named by its fix word.
    pub fn from_fix(word: &str) -> Option<Need> {
        Need::ALL.into_iter().find(|n| n.fix() == word)
    }

    /// What the binary does, for a warning: "`<binary>` <what>".
    pub fn what(self) -> &'static str {
        match self {
            Need::Certs => "loads the system CA certificates (crypto/x509 system roots)",
            Need::Tzdata => "loads time zones by name (time.LoadLocation)",
            Need::Passwd => "looks up users or groups (os/user)",
            Need::Tmp => "creates temporary files or directories (os.TempDir)",
            Need::MimeTypes => "looks up MIME types by file extension (mime.TypeByExtension)",
        }
    }

    /// The files or directories the Go standard library reads for it
    /// (Go 1.24, Linux), first the one the fix provides.
    pub fn paths(self) -> &'static [&'static str] {
        match self {
            Need::Certs => &[
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/ca-bundle.pem",
                "/etc/pki/tls/cacert.pem",
                "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                "/etc/ssl/cert.pem",
                "/etc/ssl/certs",
                "/etc/pki/tls/certs",
            ],
            Need::Tzdata => &[
                "/usr/share/zoneinfo/",
                "/usr/share/lib/zoneinfo/",
                "/usr/lib/locale/TZ/",
                "/etc/zoneinfo",
            ],
            Need::Passwd => &["/etc/passwd", "/etc/group"],
            Need::Tmp => &["/tmp"],
            Need::MimeTypes => &[
                "/etc/mime.types",
                "/etc/apache2/mime.types",
                "/etc/apache/mime.types",
                "/etc/httpd/conf/mime.types",
                "/usr/local/share/mime/globs2",
                "/usr/share/mime/globs2",
            ],
        }
    }

    /// The functions whose presence means the need: any one of them.
    pub fn triggers(self) -> &'static [&'static str] {
        match self {
            Need::Certs => &["crypto/x509.initSystemRoots"],
            Need::Tzdata => &["time.LoadLocation"],
            Need::Passwd => &[
                "os/user.Current",
                "os/user.Lookup",
                "os/user.LookupId",
                "os/user.LookupGroup",
                "os/user.LookupGroupId",
                "os/user.(*User).GroupIds",
            ],
            Need::Tmp => &["os.TempDir"],
            Need::MimeTypes => &["mime.initMime"],
        }
    }

    /// Functions that show the need is met inside the binary: any one.
    pub fn embedded_by(self) -> &'static [&'static str] {
        match self {
            Need::Certs => &["crypto/x509.SetFallbackRoots"],
            Need::Tzdata => &["time/tzdata.loadFromEmbeddedTZData"],
            Need::Passwd | Need::Tmp | Need::MimeTypes => &[],
        }
    }

    /// Callers worth naming as evidence besides the triggers (the API the
    /// program most likely used), when present.
    fn context(self) -> &'static [&'static str] {
        match self {
            Need::Certs => &[
                "crypto/x509.SystemCertPool",
                "crypto/x509.loadSystemRoots",
                "crypto/tls.(*Conn).verifyServerCertificate",
            ],
            Need::Tzdata => &[],
            Need::Passwd => &["os/user.readColonFile"],
            Need::Tmp => &["os.CreateTemp", "os.MkdirTemp"],
            Need::MimeTypes => &[
                "mime.TypeByExtension",
                "mime.ExtensionsByType",
                "mime.AddExtensionType",
            ],
        }
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.fix())
    }
}

/// Whether the binary meets a need by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// The image must provide it.
    Needed,
    /// The binary carries the data: the evidence (function names, and
    /// `-tags=timetzdata` when the build info shows it).
    Embedded(Vec<String>),
}

/// One need found in a binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub need: Need,
    /// The functions that show it: the triggers found, then the context
    /// functions found.
    pub evidence: Vec<String>,
    pub status: Status,
}

impl Finding {
    /// Whether the image has to provide it (the binary does not).
    pub fn needs_image(&self) -> bool {
        self.status == Status::Needed
    }
}

/// The needs of a binary with these functions, in [`Need::ALL`] order;
/// needs with no trigger present are left out. Build info, when known,
/// adds the build tags as evidence of embedded time zone data.
pub fn analyze(build_info: Option<&BuildInfo>, functions: &FuncNames) -> Vec<Finding> {
    let mut out = Vec::new();
    for need in Need::ALL {
        let mut evidence: Vec<String> = need
            .triggers()
            .iter()
            .filter(|t| functions.contains(t))
            .map(|t| t.to_string())
            .collect();
        if evidence.is_empty() {
            continue;
        }
        evidence.extend(
            need.context()
                .iter()
                .filter(|t| functions.contains(t))
                .map(|t| t.to_string()),
        );
        let mut embedded: Vec<String> = need
            .embedded_by()
            .iter()
            .filter(|t| functions.contains(t))
            .map(|t| t.to_string())
            .collect();
        if need == Need::Tzdata && build_info.is_some_and(|bi| bi.tags().contains(&"timetzdata")) {
            embedded.push("-tags=timetzdata".to_string());
        }
        let status = if embedded.is_empty() {
            Status::Needed
        } else {
            Status::Embedded(embedded)
        };
        out.push(Finding {
            need,
            evidence,
            status,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(names: &[&str]) -> Vec<(Need, bool)> {
        analyze(None, &FuncNames::from_names(names.iter().copied()))
            .into_iter()
            .map(|f| (f.need, f.needs_image()))
            .collect()
    }

    #[test]
    fn each_trigger_alone() {
        for need in Need::ALL {
            for t in need.triggers() {
                assert_eq!(findings(&[t, "main.main"]), vec![(need, true)], "{t}");
            }
        }
        assert_eq!(
            findings(&["main.main", "time.loadLocation", "mime.initMimeUnix"]),
            vec![]
        );
    }

    #[test]
    fn embedded_data_meets_the_need() {
        assert_eq!(
            findings(&[
                "crypto/x509.initSystemRoots",
                "crypto/x509.SetFallbackRoots"
            ]),
            vec![(Need::Certs, false)]
        );
        assert_eq!(
            findings(&["time.LoadLocation", "time/tzdata.loadFromEmbeddedTZData"]),
            vec![(Need::Tzdata, false)]
        );
        let bi = BuildInfo {
            settings: vec![crate::gobin::Setting {
                key: "-tags".into(),
                value: "netgo,timetzdata".into(),
            }],
            ..BuildInfo::default()
        };
        let f = analyze(Some(&bi), &FuncNames::from_names(["time.LoadLocation"]));
        assert_eq!(
            f[0].status,
            Status::Embedded(vec!["-tags=timetzdata".into()])
        );
    }

    #[test]
    fn fix_words_round_trip() {
        for need in Need::ALL {
            assert_eq!(Need::from_fix(need.fix()), Some(need));
            assert!(!need.paths().is_empty());
        }
        assert_eq!(Need::from_fix("nope"), None);
    }
}
