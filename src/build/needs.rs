//! What the produced binary needs at runtime, checked against the image
//! before it is exported (docs/runtime-needs.md).
//!
//! After each platform's binary passed the ELF check, it is read back once
//! ([`super::readback::read_back`]): `StatFile` for its size, then the Go tables
//! with ranged `ReadFile`s (the ELF headers, the section names, the build
//! info and the function-name table: about 5% of a stripped Go binary, in
//! four more round trips), and its digests too when the SBOM is on.
//! [`inspect`] takes the needs from those tables; [`report`] turns the
//! needs found into diagnostics at the app's line, each with the one word
//! that meets it:
//!
//! | code | need | the word |
//! |------|------|----------|
//! | W0101 | system CA roots | `certs` |
//! | W0102 | time zones from disk | `tzdata` (go template), `zoneinfo` |
//! | W0103 | user lookups | `passwd` |
//! | W0104 | temporary files | `tmp` |
//! | W0105 (note) | the MIME table | `mime-types` |
//! | W0100 (note) | not analysed | – |
//!
//! Invariants: the analysis never fails a build. A binary it cannot read
//! (not Go, a read error) is a note (W0100), never an error, and only
//! `strict` turns warnings (never notes) into errors. A need is not
//! reported when the image meets it (the word is on, or a `file`, volume
//! or environment variable provides it), when the binary meets it itself
//! (a linked fallback CA bundle, embedded time zones), or when the app's
//! own block turns the word off (`certs false`: the user decided; a
//! template's `false` does not count, its author did not know this app).

use std::collections::BTreeMap;
use std::time::Duration;

use super::readback::ReadBack;
use crate::compiler::model::{App, Build};
use crate::compiler::{Code, Diag, Platform, Severity};
use crate::gobin::{Finding, Need, ReadStats};

/// What one platform's binary said about its needs.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub platform: Platform,
    /// The needs found, or why the binary could not be analysed.
    pub findings: Result<Vec<Finding>, String>,
    /// What the reads cost, the `StatFile` included.
    pub stats: ReadStats,
    pub elapsed: Duration,
}

/// The needs of one platform's binary, from what reading it back found
/// (see [`super::readback`]: the binary is stat'ed and its Go tables fetched once
/// for this check and the SBOM alike). Never fails: a problem is the
/// inspection's `findings` error.
pub fn inspect(back: &ReadBack) -> Inspection {
    let findings = match &back.go {
        Err(why) => Err(why.clone()),
        Ok(go) => match (&go.functions, go.needs()) {
            (_, Some(f)) => Ok(f),
            (Err(e), None) => Err(format!("it {e}")),
            (Ok(_), None) => Err("its function table is unreadable".into()),
        },
    };
    Inspection {
        platform: back.platform.clone(),
        findings,
        stats: back.stats,
        elapsed: back.go_elapsed,
    }
}

/// The warnings (and notes) of an app's inspections, one per need across
/// its platforms, in [`Need::ALL`] order, the notes last. Every warning
/// points at the app's line.
pub fn report(app: &App, inspections: &[Inspection]) -> Vec<Diag> {
    // Each need with the platforms whose binary needs it and the first
    // evidence found.
    let mut needed: BTreeMap<Need, (Vec<&Platform>, Vec<String>)> = BTreeMap::new();
    let mut unread: Vec<(&Platform, &str)> = Vec::new();
    for i in inspections {
        match &i.findings {
            Ok(findings) => {
                for f in findings.iter().filter(|f| f.needs_image()) {
                    let e = needed
                        .entry(f.need)
                        .or_insert_with(|| (Vec::new(), f.evidence.clone()));
                    e.0.push(&i.platform);
                }
            }
            Err(why) => unread.push((&i.platform, why)),
        }
    }
    let binary = &app.image.binary.node;
    let mut out = Vec::new();
    for (need, (platforms, evidence)) in needed {
        if met(app, need) || words(need).iter().any(|w| app.declines(w).is_some()) {
            continue;
        }
        let only = if platforms.len() < inspections.len() {
            let names: Vec<String> = platforms.iter().map(|p| p.to_string()).collect();
            format!(" (on {})", names.join(", "))
        } else {
            String::new()
        };
        let (code, message) = wording(need, binary);
        let mut help = fix(app, need);
        help.push_str(&format!(
            "; `{} false` in the app says it is not needed (found: {})",
            words(need)[0],
            evidence.join(", ")
        ));
        out.push(
            Diag::new(code, format!("{message}{only}"))
                .at(app.span, label(need))
                .help(help),
        );
    }
    // One note per distinct reason, naming the platforms it applies to.
    let mut reasons: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (p, why) in unread {
        reasons.entry(why).or_default().push(p.to_string());
    }
    for (why, platforms) in reasons {
        out.push(
            Diag::new(
                Code::NeedsUnread,
                format!(
                    "the runtime needs of `{binary}` were not checked ({}): {why}",
                    platforms.join(", ")
                ),
            )
            .at(app.span, "this app's binary")
            .help(
                "the build goes on; the check reads Go binaries (their build info and function \
                 names), so a binary from another language is never checked",
            ),
        );
    }
    out
}

/// The warnings as errors, for `strict` (notes are dropped: they never
/// fail a build).
pub fn as_errors(diags: &[Diag]) -> Vec<Diag> {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| {
            let mut e = d.clone().severity(Severity::Error);
            e.help = Some(match e.help.take() {
                Some(h) => format!("{h}; this is an error because the build is strict"),
                None => "this is an error because the build is strict".into(),
            });
            e
        })
        .collect()
}

/// The words that answer a need, the one to suggest first.
fn words(need: Need) -> &'static [&'static str] {
    match need {
        Need::Certs => &["certs"],
        Need::Tzdata => &["tzdata", "zoneinfo"],
        Need::Passwd => &["passwd"],
        Need::Tmp => &["tmp"],
        Need::MimeTypes => &["mime-types"],
    }
}

/// The code of a need (its severity: a warning, or a note for the MIME
/// table) and what the diagnostic says.
fn wording(need: Need, binary: &str) -> (Code, String) {
    match need {
        Need::Certs => (
            Code::NeedsCerts,
            format!(
                "`{binary}` loads the system CA certificates (crypto/x509), but the image has none"
            ),
        ),
        Need::Tzdata => (
            Code::NeedsTzdata,
            format!(
                "`{binary}` loads time zones by name (time.LoadLocation), but the image has no zone database"
            ),
        ),
        Need::Passwd => (
            Code::NeedsPasswd,
            format!(
                "`{binary}` looks up users or groups (os/user), but the image has no /etc/passwd"
            ),
        ),
        Need::Tmp => (
            Code::NeedsTmp,
            format!(
                "`{binary}` creates temporary files or directories (os.TempDir), but the image has no /tmp"
            ),
        ),
        Need::MimeTypes => (
            Code::NeedsMimeTypes,
            format!(
                "`{binary}` looks up MIME types by extension (mime); without /etc/mime.types only \
                 Go's built-in table of common web types answers"
            ),
        ),
    }
}

fn label(need: Need) -> &'static str {
    match need {
        Need::Certs => "its binary verifies TLS servers against the system roots",
        Need::Tzdata => "its binary reads the zone database",
        Need::Passwd => "its binary reads /etc/passwd",
        Need::Tmp => "its binary writes to /tmp",
        Need::MimeTypes => "its binary reads /etc/mime.types when present",
    }
}

/// How to meet a need in this app: the word first.
fn fix(app: &App, need: Need) -> String {
    let compiled = matches!(app.build, Build::Compile(_));
    match need {
        Need::Certs if compiled => {
            "add `certs` (the builder's CA bundle, one file), or link a fallback \
             bundle into the binary (`import _ \"golang.org/x/crypto/x509roots/fallback\"`)"
                .into()
        }
        Need::Certs => "link a fallback bundle into the binary \
             (`import _ \"golang.org/x/crypto/x509roots/fallback\"`), or add a CA bundle with \
             `file CA.pem /etc/ssl/certs/ca-certificates.crt`"
            .into(),
        Need::Tzdata if app.switches.contains_key("tzdata") => {
            "add `tzdata` (Go's zone database built into the binary, no file), or `zoneinfo` \
             (the builder's /usr/share/zoneinfo)"
                .into()
        }
        Need::Tzdata if compiled => "add `zoneinfo` (the builder's /usr/share/zoneinfo), or build \
             with the `timetzdata` tag (`import _ \"time/tzdata\"` does the same)"
            .into(),
        Need::Tzdata => {
            "build the binary with the `timetzdata` tag (or `import _ \"time/tzdata\"`), \
             or add the zone files with `file ZONEINFO/ /usr/share/zoneinfo/`"
                .into()
        }
        Need::Passwd => {
            "add `passwd` (/etc/passwd and /etc/group naming the image user, and its home)".into()
        }
        Need::Tmp => "add `tmp` (an empty /tmp anyone may write to: one directory, no file)".into(),
        Need::MimeTypes if compiled => "add `mime-types` (the builder's /etc/mime.types)".into(),
        Need::MimeTypes => "add a MIME table with `file mime.types /etc/mime.types`".into(),
    }
}

/// Whether the image meets a need by other means than its word: a file the
/// app copies there, a volume, or an environment variable pointing Go
/// elsewhere.
fn met(app: &App, need: Need) -> bool {
    let img = &app.image;
    let env = |key: &str| {
        img.env
            .iter()
            .any(|e| e.node.0 == key && !e.node.1.is_empty())
    };
    let file_in = |paths: &[&str]| {
        img.files
            .iter()
            .any(|f| paths.iter().any(|p| under(&f.node.dest, p)))
    };
    match need {
        Need::Certs => {
            img.certs.is_some()
                || file_in(need.paths())
                || env("SSL_CERT_FILE")
                || env("SSL_CERT_DIR")
        }
        Need::Tzdata => img.zoneinfo.is_some() || file_in(need.paths()) || env("ZONEINFO"),
        Need::Passwd => img.passwd.is_some() || file_in(&["/etc/passwd"]),
        Need::Tmp => {
            img.tmp.is_some()
                || img
                    .volumes
                    .iter()
                    .any(|v| v.node.trim_end_matches('/') == "/tmp")
                || env("TMPDIR")
        }
        Need::MimeTypes => img.mime_types.is_some() || file_in(need.paths()),
    }
}

/// Whether `path` is `dir` or inside it (trailing slashes ignored).
fn under(path: &str, dir: &str) -> bool {
    let (p, d) = (path.trim_end_matches('/'), dir.trim_end_matches('/'));
    p == d || p.strip_prefix(d).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
#[path = "needs_tests.rs"]
mod tests;
