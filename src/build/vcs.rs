//! What a build knows of the checkout it builds: the commit, whether the
//! tree is dirty, the tag, where the repository lives. The CLI asks git in
//! the context directory ([`Vcs::from_git`]); the frontend has only what
//! buildx sends ([`Vcs::from_attrs`]); both take `--build-arg GIT_*`
//! values over what they found ([`Vcs::take_overrides`]).
//!
//! It becomes the variables `GIT_COMMIT`, `GIT_SHORT_COMMIT`, `GIT_TAG`
//! and `GIT_DIRTY` (always defined, empty when unknown, so an app file
//! that uses them builds anywhere) and the OCI labels
//! `org.opencontainers.image.revision`, `.source` and `.version`
//! (written only when known; a label the file sets wins).
//!
//! Invariant: a function of the checkout. Nothing here reads a clock or
//! the environment, so a clean tree gives the same variables, labels and
//! image digest every time.
//!
//! What buildx sends (checked in buildx v0.13 and v0.29, `build/git.go`):
//! `vcs:revision` (the full commit, `-dirty` appended only when
//! `BUILDX_GIT_CHECK_DIRTY=1`), `vcs:source` (the remote URL of the
//! tracking branch's remote, else `origin`, else `upstream`, credentials
//! stripped) and `vcs:localdir:<local>` (each local directory relative to
//! the repository root), all unless `BUILDX_GIT_INFO=0`. No tag: for
//! `GIT_TAG`, pass `--build-arg GIT_TAG=$(git describe --tags)`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// The variables every build defines.
pub const VARS: [&str; 4] = ["GIT_COMMIT", "GIT_SHORT_COMMIT", "GIT_TAG", "GIT_DIRTY"];

/// How many characters of the commit `GIT_SHORT_COMMIT` keeps: git's
/// default abbreviation, fixed so the CLI (which could ask git for a
/// longer unique prefix) and the frontend (which gets only the full
/// commit) agree.
pub const SHORT: usize = 7;

/// The OCI annotation keys (image-spec `annotations.md`), as labels.
pub const LABEL_REVISION: &str = "org.opencontainers.image.revision";
pub const LABEL_SOURCE: &str = "org.opencontainers.image.source";
pub const LABEL_VERSION: &str = "org.opencontainers.image.version";

/// What is known of the checkout; `None`: unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vcs {
    /// The full commit id of HEAD.
    pub commit: Option<String>,
    /// Its abbreviation, when given apart (`--build-arg GIT_SHORT_COMMIT`);
    /// else the first [`SHORT`] characters of `commit`.
    pub short: Option<String>,
    /// Whether the tree differs from HEAD (untracked files included).
    pub dirty: Option<bool>,
    /// The tag on HEAD, else `git describe --tags` (`v1.2.0-3-gabc1234`).
    pub tag: Option<String>,
    /// The repository's remote URL, without credentials.
    pub source: Option<String>,
}

impl Vcs {
    /// What git says of the checkout holding `dir`; nothing when `dir` is
    /// not in one or git is not installed. Each question is one git
    /// command; a failing one leaves its answer unknown.
    pub fn from_git(dir: &Path) -> Vcs {
        let Some(commit) = git(dir, &["rev-parse", "--verify", "-q", "HEAD"]) else {
            return Vcs::default();
        };
        // A clean tree prints nothing: success with no output.
        let dirty = git_output(dir, &["status", "--porcelain", "--ignore-submodules"])
            .map(|s| !s.trim().is_empty());
        let tag = git(dir, &["describe", "--tags", "--exact-match", "HEAD"])
            .or_else(|| git(dir, &["describe", "--tags", "HEAD"]));
        let source = ["origin", "upstream"]
            .iter()
            .find_map(|r| git(dir, &["remote", "get-url", r]))
            .and_then(|u| source_url(&u));
        Vcs {
            commit: Some(commit),
            short: None,
            dirty,
            tag,
            source,
        }
    }

    /// What buildx sent in the frontend options (see the module docs).
    pub fn from_attrs(raw: &BTreeMap<String, String>) -> Vcs {
        let get = |k: &str| raw.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut vcs = Vcs {
            source: get("vcs:source").and_then(source_url),
            ..Vcs::default()
        };
        if let Some(rev) = get("vcs:revision") {
            match rev.strip_suffix("-dirty") {
                Some(c) => {
                    vcs.commit = Some(c.to_string());
                    vcs.dirty = Some(true);
                }
                None => vcs.commit = Some(rev.to_string()),
            }
        }
        vcs
    }

    /// Takes `GIT_*` values out of the build arguments (they set these
    /// variables, not declared arguments): a CI that knows better, or a
    /// frontend build, says `--build-arg GIT_TAG=v1.2.3`. An empty value
    /// makes it unknown.
    pub fn take_overrides(&mut self, build_args: &mut BTreeMap<String, String>) {
        let mut take = |k: &str| {
            build_args
                .remove(k)
                .map(|v| Some(v).filter(|v| !v.is_empty()))
        };
        if let Some(c) = take("GIT_COMMIT") {
            self.commit = c;
            self.short = None;
        }
        if let Some(s) = take("GIT_SHORT_COMMIT") {
            self.short = s;
        }
        if let Some(t) = take("GIT_TAG") {
            self.tag = t;
        }
        if let Some(d) = take("GIT_DIRTY") {
            self.dirty = d.map(|d| matches!(d.as_str(), "true" | "1" | "yes"));
        }
    }

    /// The `GIT_*` variables, each defined (empty when unknown).
    pub fn vars(&self) -> BTreeMap<String, String> {
        let short = self.short.clone().or_else(|| {
            self.commit
                .as_ref()
                .map(|c| c.chars().take(SHORT).collect())
        });
        let values = [
            self.commit.clone(),
            short,
            self.tag.clone(),
            self.dirty.map(|d| d.to_string()),
        ];
        VARS.iter()
            .zip(values)
            .map(|(k, v)| (k.to_string(), v.unwrap_or_default()))
            .collect()
    }

    /// The OCI labels of what is known.
    pub fn labels(&self) -> BTreeMap<String, String> {
        [
            (LABEL_REVISION, &self.commit),
            (LABEL_SOURCE, &self.source),
            (LABEL_VERSION, &self.tag),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect()
    }
}

/// One line of git's answer, trimmed; `None` when git fails, is missing,
/// or says nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let text = git_output(dir, args)?;
    Some(text.trim_end().to_string()).filter(|s| !s.is_empty())
}

/// git's whole answer (empty when it says nothing); `None` when git fails
/// or is missing.
fn git_output(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        // Never a pager, a prompt for credentials, or the user's
        // replacement objects changing what HEAD means.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()
}

/// What a remote URL gives the `source` label: the URL without
/// credentials ([`strip_credentials`]), or nothing for a remote on this
/// machine (a path, `file://`), which names nothing anyone else can
/// fetch and would put a local path in the image.
pub fn source_url(url: &str) -> Option<String> {
    let remote = match url.split_once("://") {
        Some((scheme, _)) => !scheme.eq_ignore_ascii_case("file"),
        // `user@host:path`, git's scp-like form; a path has no `:` before
        // its first `/`.
        None => url
            .split_once(':')
            .is_some_and(|(host, _)| !host.is_empty() && !host.contains('/')),
    };
    remote.then(|| strip_credentials(url))
}

/// A remote URL without the `user:password@` of an http(s) URL (a token
/// must never reach an image label). SSH forms (`git@host:path`) keep
/// their user, which is no secret.
pub fn strip_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    if !scheme.starts_with("http") {
        return url.to_string();
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn buildx_attributes() {
        let c = "0123456789abcdef0123456789abcdef01234567";
        let v = Vcs::from_attrs(&attrs(&[
            ("vcs:revision", &format!("{c}-dirty")),
            ("vcs:source", "https://x:tok@example.com/acme/app.git"),
        ]));
        assert_eq!(v.commit.as_deref(), Some(c));
        assert_eq!(v.dirty, Some(true));
        assert_eq!(
            v.source.as_deref(),
            Some("https://example.com/acme/app.git")
        );
        let vars = v.vars();
        assert_eq!(vars["GIT_SHORT_COMMIT"], "0123456");
        assert_eq!(vars["GIT_TAG"], "");
        assert_eq!(vars["GIT_DIRTY"], "true");
        let labels = v.labels();
        assert_eq!(labels[LABEL_REVISION], c);
        assert!(!labels.contains_key(LABEL_VERSION));
        // Without the dirty check, dirtiness is unknown.
        let v = Vcs::from_attrs(&attrs(&[("vcs:revision", c)]));
        assert_eq!(v.vars()["GIT_DIRTY"], "");
        assert_eq!(Vcs::from_attrs(&attrs(&[])), Vcs::default());
    }

    #[test]
    fn build_args_override() {
        let mut v = Vcs {
            commit: Some("a".repeat(40)),
            ..Vcs::default()
        };
        let mut args = attrs(&[("GIT_TAG", "v1.2.3"), ("GIT_DIRTY", "false"), ("X", "1")]);
        v.take_overrides(&mut args);
        assert_eq!(args, attrs(&[("X", "1")]));
        let vars = v.vars();
        assert_eq!(vars["GIT_TAG"], "v1.2.3");
        assert_eq!(vars["GIT_DIRTY"], "false");
        assert_eq!(vars["GIT_SHORT_COMMIT"], "aaaaaaa");
        let mut args = attrs(&[("GIT_COMMIT", "")]);
        v.take_overrides(&mut args);
        assert_eq!(v.vars()["GIT_SHORT_COMMIT"], "");
        assert!(!v.labels().contains_key(LABEL_REVISION));
        assert_eq!(v.labels()[LABEL_VERSION], "v1.2.3");
    }

    #[test]
    fn credentials_never_reach_a_label() {
        assert_eq!(
            strip_credentials("https://u:p@h.example/r.git"),
            "https://h.example/r.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:a/b.git"),
            "git@github.com:a/b.git"
        );
        assert_eq!(strip_credentials("ssh://git@h/r"), "ssh://git@h/r");
        assert_eq!(strip_credentials("https://h/p@x"), "https://h/p@x");
    }

    #[test]
    fn a_remote_on_this_machine_is_no_source() {
        for local in [
            "/work/repo",
            "../repo",
            "repo.git",
            "file:///work/repo",
            "./a:b",
        ] {
            assert_eq!(source_url(local), None, "{local}");
        }
        assert_eq!(
            source_url("https://u:p@h.example/r.git").as_deref(),
            Some("https://h.example/r.git")
        );
        assert_eq!(
            source_url("git@github.com:a/b.git").as_deref(),
            Some("git@github.com:a/b.git")
        );
        assert_eq!(
            source_url("ssh://git@h/r").as_deref(),
            Some("ssh://git@h/r")
        );
    }

    #[test]
    fn a_checkout_says_its_commit_tag_and_dirtiness() {
        let d = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(d.path())
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(d.path().join("f"), "x").unwrap();
        git(&["add", "f"]);
        git(&["commit", "-q", "-m", "c"]);
        git(&["tag", "v1.0.0"]);
        let v = Vcs::from_git(d.path());
        assert_eq!(v.commit.as_ref().map(String::len), Some(40));
        assert_eq!(v.tag.as_deref(), Some("v1.0.0"));
        assert_eq!(v.dirty, Some(false), "a clean tree is known clean");
        assert_eq!(v.source, None);
        std::fs::write(d.path().join("g"), "y").unwrap();
        assert_eq!(Vcs::from_git(d.path()).dirty, Some(true));
    }

    #[test]
    fn outside_a_checkout_nothing_is_known() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(Vcs::from_git(d.path()), Vcs::default());
        assert_eq!(Vcs::default().vars()["GIT_COMMIT"], "");
        assert!(Vcs::default().labels().is_empty());
    }
}
