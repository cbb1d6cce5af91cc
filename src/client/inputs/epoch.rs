//! SOURCE_DATE_EPOCH: the one timestamp a reproducible build may contain.
//!
//! Every time the image holds (the config's `created`, the history, the
//! mtime of every file, which the image's file op sets) is this
//! value, so two builds of the same sources give the same digests. Where it
//! comes from, first match wins:
//!
//! 1. the `SOURCE_DATE_EPOCH` environment variable (the
//!    reproducible-builds.org convention; CI systems set it);
//! 2. the commit time of the context's git `HEAD`
//!    (`git -C DIR log -1 --format=%ct`): stable for a given commit, and
//!    it moves forward with the code, so images still sort by age;
//! 3. 0 (1970-01-01), when the context is not a git checkout or git is not
//!    installed: still reproducible, just not informative.
//!
//! A malformed environment value is an error, not a silent fallback: a CI
//! that sets it wants it used.

use std::fmt;
use std::path::Path;
use std::process::Command;

/// The environment variable, as every reproducible-builds tool names it.
pub const ENV_VAR: &str = "SOURCE_DATE_EPOCH";

/// The epoch in force and where it came from (shown in `scratchc build`'s
/// summary and in `verify`'s report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Epoch {
    /// Seconds since 1970-01-01 UTC.
    pub seconds: u64,
    pub origin: Origin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Env,
    /// The commit time of HEAD in this directory.
    GitHead,
    /// Neither of the above.
    Default,
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match self.origin {
            Origin::Env => "from $SOURCE_DATE_EPOCH",
            Origin::GitHead => "the commit time of git HEAD",
            Origin::Default => "no git HEAD, no $SOURCE_DATE_EPOCH",
        };
        write!(f, "{} ({origin})", self.seconds)
    }
}

impl Epoch {
    /// The value for exporter and frontend attributes.
    pub fn attr(&self) -> String {
        self.seconds.to_string()
    }
}

/// A `SOURCE_DATE_EPOCH` value that is not a whole number of seconds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "SOURCE_DATE_EPOCH is `{value}`, not a whole number of seconds since 1970\n  help: set it to e.g. `$(git log -1 --format=%ct)`, or unset it to use the commit time of HEAD"
)]
pub struct EpochError {
    pub value: String,
}

/// The epoch for a build of the context `dir`, reading the process
/// environment and, if needed, git.
pub fn source_date_epoch(dir: &Path) -> Result<Epoch, EpochError> {
    let env = std::env::var(ENV_VAR).ok();
    resolve(env.as_deref(), dir)
}

/// [`source_date_epoch`] with the environment value passed in (tests).
/// An empty value counts as unset, as in most shells' `VAR= cmd`.
pub fn resolve(env: Option<&str>, dir: &Path) -> Result<Epoch, EpochError> {
    if let Some(seconds) = parse(env)? {
        return Ok(Epoch {
            seconds,
            origin: Origin::Env,
        });
    }
    Ok(match git_head_time(dir) {
        Some(seconds) => Epoch {
            seconds,
            origin: Origin::GitHead,
        },
        None => Epoch {
            seconds: 0,
            origin: Origin::Default,
        },
    })
}

/// A SOURCE_DATE_EPOCH value as given (an environment variable, buildx's
/// build argument): `None` when unset or empty.
pub fn parse(value: Option<&str>) -> Result<Option<u64>, EpochError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| EpochError {
            value: v.to_string(),
        }),
    }
}

/// The committer time of HEAD, or `None` when `dir` is not in a git work
/// tree, the repository has no commit, or git is missing. Quiet: git's
/// stderr is dropped.
pub fn git_head_time(dir: &Path) -> Option<u64> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "-1", "--format=%ct"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_DATE", "1700000000 +0000")
            .env("GIT_AUTHOR_DATE", "1600000000 +0000")
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn env_wins_and_must_be_a_number() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve(Some("1234"), dir.path()).unwrap();
        assert_eq!((e.seconds, e.origin), (1234, Origin::Env));
        let err = resolve(Some("yesterday"), dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("SOURCE_DATE_EPOCH is `yesterday`")
        );
        assert!(resolve(Some("-5"), dir.path()).is_err());
    }

    #[test]
    fn not_a_repository_is_zero() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve(None, dir.path()).unwrap();
        assert_eq!((e.seconds, e.origin), (0, Origin::Default));
        let e = resolve(Some(""), dir.path()).unwrap();
        assert_eq!(e.seconds, 0);
    }

    #[test]
    fn git_head_commit_time_not_author_time() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        // A repository with no commit yet is not an error either.
        assert_eq!(resolve(None, dir.path()).unwrap().seconds, 0);
        std::fs::write(dir.path().join("main.go"), "package main\n").unwrap();
        git(dir.path(), &["add", "main.go"]);
        git(dir.path(), &["commit", "-q", "-m", "first"]);
        let e = resolve(None, dir.path()).unwrap();
        assert_eq!((e.seconds, e.origin), (1_700_000_000, Origin::GitHead));
        // A subdirectory of the work tree sees the same HEAD.
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(
            resolve(None, &dir.path().join("sub")).unwrap().seconds,
            1_700_000_000
        );
        assert_eq!(e.to_string(), "1700000000 (the commit time of git HEAD)");
    }
}
