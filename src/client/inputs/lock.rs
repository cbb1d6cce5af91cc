//! `scratch.lock`: the builder images and templates a build is pinned to.
//!
//! A tag such as `golang:1.24` moves (a point release, a rebuilt base), and
//! a template can change with a scratchc upgrade; either changes the image
//! even when the app's sources did not. The lock pins both, so a build is a
//! function of the sources and the lock alone:
//!
//! - each builder image reference, as written in the file (normalised), to
//!   the digest the daemon resolved it to, plus the parts of its config the
//!   lowering inherits (env, working dir, user), so that `scratchc llb` can
//!   print the exact definition offline;
//! - each template file the app imports (stdlib ones included), to the
//!   sha256 of its text;
//! - the build platform the builder configs were resolved for.
//!
//! Format: pretty JSON with sorted keys and a trailing newline, one value
//! per line, so a refresh shows up in review as a small diff. `version`
//! comes first and is checked on read. Example:
//!
//! ```json
//! {
//!   "version": 1,
//!   "build-platform": "linux/amd64",
//!   "builders": {
//!     "docker.io/library/golang:1.24": {
//!       "digest": "sha256:52ce…",
//!       "env": ["GOPATH=/go", "PATH=/usr/lib/go-1.24/bin:…"],
//!       "workdir": "/go",
//!       "user": null
//!     }
//!   },
//!   "templates": {
//!     "go.scratch": "sha256:…"
//!   }
//! }
//! ```
//!
//! Reading and writing the file is the only IO here; everything else is
//! pure so the CLI, the build and the tests share it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::compiler::model::{Build, ImageRef, Program};
use crate::compiler::{ImageConfig, Sources};
use crate::platform::Platform;

/// The lock's file name, next to the app.scratch file.
pub const FILE_NAME: &str = "scratch.lock";

/// The format version this scratchc reads and writes.
pub const VERSION: u32 = 1;

/// The whole lock file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    /// The platform the builder configs were resolved for (`os/arch`).
    #[serde(rename = "build-platform")]
    pub build_platform: String,
    /// Normalised builder reference (no digest) to what it resolved to.
    pub builders: BTreeMap<String, LockedBuilder>,
    /// Template file name (as in the sources) to `sha256:<hex>` of its text.
    pub templates: BTreeMap<String, String>,
}

/// One pinned builder image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedBuilder {
    /// `sha256:<64 hex>`: the manifest (or index) digest.
    pub digest: String,
    /// The image config's `Env`, `KEY=VALUE`, in the image's order.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
}

/// What a build needs pinned, computed from the checked program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub build_platform: Platform,
    /// Normalised builder references, digest left off.
    pub builders: BTreeSet<String>,
    /// Template file name to `sha256:<hex>`.
    pub templates: BTreeMap<String, String>,
}

/// One way a lock no longer matches the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Staleness {
    BuilderNotLocked(String),
    BuilderNoLongerUsed(String),
    TemplateChanged {
        name: String,
        locked: String,
        current: String,
    },
    TemplateNotLocked(String),
    TemplateNoLongerUsed(String),
    BuildPlatform {
        locked: String,
        current: String,
    },
}

impl fmt::Display for Staleness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Staleness::BuilderNotLocked(r) => write!(f, "builder {r} is not in the lock"),
            Staleness::BuilderNoLongerUsed(r) => {
                write!(f, "builder {r} is locked but no longer used")
            }
            Staleness::TemplateChanged {
                name,
                locked,
                current,
            } => write!(f, "template {name} changed: locked {locked}, now {current}"),
            Staleness::TemplateNotLocked(n) => write!(f, "template {n} is not in the lock"),
            Staleness::TemplateNoLongerUsed(n) => {
                write!(f, "template {n} is locked but no longer used")
            }
            Staleness::BuildPlatform { locked, current } => write!(
                f,
                "the lock was resolved for build platform {locked}, this daemon is {current}"
            ),
        }
    }
}

/// Problems with the lock file itself.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    File(#[from] super::userfile::FileError),
    #[error(
        "{} is not a valid lock file: {detail}\n  help: run `scratchc lock` to write it again",
        path.display()
    )]
    Parse { path: PathBuf, detail: String },
    #[error(
        "{} has format version {found}, this scratchc reads version {VERSION}\n  help: run `scratchc lock` to write it again",
        path.display()
    )]
    Version { path: PathBuf, found: u32 },
    #[error("{} is stale:\n{}\n  help: run `scratchc lock`, or build with --update-lock",
        path.display(),
        reasons.iter().map(|r| format!("  - {r}")).collect::<Vec<_>>().join("\n"))]
    Stale {
        path: PathBuf,
        reasons: Vec<Staleness>,
    },
}

/// `sha256:<hex>` of a text.
pub fn sha256_text(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The lock's name beside the app file named `file` (a `/`-separated
/// relative name, as a reader of the build's files takes it).
pub fn name_beside(file: &str) -> String {
    match file.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{FILE_NAME}"),
        None => FILE_NAME.to_string(),
    }
}

/// Where the lock of an app file lives: beside it.
pub fn path_for(app_file: &Path) -> PathBuf {
    match app_file.parent() {
        Some(dir) => dir.join(FILE_NAME),
        None => PathBuf::from(FILE_NAME),
    }
}

/// The key of a builder in the lock: its reference without a digest.
pub fn builder_key(r: &ImageRef) -> String {
    ImageRef {
        digest: None,
        ..r.clone()
    }
    .to_string()
}

/// What the program needs pinned: every builder of every app, every
/// imported file (all sources but the root), and the stdlib files of the
/// templates the apps use (`<stdlib>/go.scratch` defines `go`).
pub fn wanted(program: &Program, sources: &Sources, build_platform: &Platform) -> Wanted {
    let used: BTreeSet<String> = program
        .apps
        .iter()
        .flat_map(|a| a.templates.iter())
        .map(|t| format!("{}{t}.scratch", crate::compiler::stdlib::PREFIX))
        .collect();
    let builders = program
        .apps
        .iter()
        .filter_map(|a| match &a.build {
            Build::Compile(c) => Some(builder_key(&c.builder.node)),
            Build::Prebuilt { .. } => None,
        })
        .collect();
    let templates = sources
        .iter()
        .skip(1)
        .filter(|(_, f)| !crate::compiler::stdlib::is_stdlib(&f.name) || used.contains(&f.name))
        .map(|(_, f)| (f.name.clone(), sha256_text(&f.text)))
        .collect();
    Wanted {
        build_platform: build_platform.clone(),
        builders,
        templates,
    }
}

impl Lock {
    /// A lock for `wanted`, with the builders as resolved.
    pub fn new(wanted: &Wanted, builders: BTreeMap<String, LockedBuilder>) -> Self {
        Lock {
            version: VERSION,
            build_platform: wanted.build_platform.to_string(),
            builders,
            templates: wanted.templates.clone(),
        }
    }

    /// Parses the text of a lock file; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Lock, LockError> {
        // Check the version first, so a future format gets the right message
        // rather than an unknown-field one.
        let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| LockError::Parse {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let found = raw.get("version").and_then(serde_json::Value::as_u64);
        match found {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(LockError::Version {
                    path: path.to_path_buf(),
                    found: u32::try_from(v).unwrap_or(u32::MAX),
                });
            }
            None => {
                return Err(LockError::Parse {
                    path: path.to_path_buf(),
                    detail: "no `version` number".into(),
                });
            }
        }
        let lock: Lock = serde_json::from_value(raw).map_err(|e| LockError::Parse {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        if Platform::parse(&lock.build_platform).is_err() {
            return Err(LockError::Parse {
                path: path.to_path_buf(),
                detail: format!("build-platform `{}` is not a platform", lock.build_platform),
            });
        }
        for (name, b) in &lock.builders {
            if !is_digest(&b.digest) {
                return Err(LockError::Parse {
                    path: path.to_path_buf(),
                    detail: format!("builder {name}: `{}` is not a sha256 digest", b.digest),
                });
            }
        }
        Ok(lock)
    }

    /// The platform the builders were resolved for (checked by
    /// [`Lock::parse`]).
    pub fn platform(&self) -> Option<Platform> {
        Platform::parse(&self.build_platform).ok()
    }

    /// The file text: pretty JSON, keys sorted (BTreeMaps, fields in a fixed
    /// order), a trailing newline.
    pub fn render(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot render lock: {e}\"}}"));
        s.push('\n');
        s
    }

    /// Reads a lock; `Ok(None)` when there is no such file. Read as the
    /// sources are (`userfile`): a regular file inside its directory, at
    /// most `MAX_FILE_BYTES`.
    pub fn read(path: &Path) -> Result<Option<Lock>, LockError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path.file_name().map_or(Path::new(FILE_NAME), Path::new);
        match super::userfile::read_text_inside(
            dir,
            name,
            crate::compiler::sources::MAX_FILE_BYTES,
        )? {
            Some(text) => Lock::parse(&text, path).map(Some),
            None => Ok(None),
        }
    }

    /// Writes the lock, replacing the file in one rename so a reader never
    /// sees half of it.
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        let io = |what, source| LockError::Io {
            what,
            path: path.to_path_buf(),
            source,
        };
        crate::client::artefacts::atomic::write_atomic(path, self.render().as_bytes())
            .map_err(|e| io("write", e))
    }

    /// Every way this lock differs from what the file needs now; empty
    /// means fresh.
    pub fn stale_against(&self, wanted: &Wanted) -> Vec<Staleness> {
        let mut out = Vec::new();
        let current = wanted.build_platform.to_string();
        if self.build_platform != current {
            out.push(Staleness::BuildPlatform {
                locked: self.build_platform.clone(),
                current,
            });
        }
        for b in &wanted.builders {
            if !self.builders.contains_key(b) {
                out.push(Staleness::BuilderNotLocked(b.clone()));
            }
        }
        for b in self.builders.keys() {
            if !wanted.builders.contains(b) {
                out.push(Staleness::BuilderNoLongerUsed(b.clone()));
            }
        }
        for (name, current) in &wanted.templates {
            match self.templates.get(name) {
                None => out.push(Staleness::TemplateNotLocked(name.clone())),
                Some(locked) if locked != current => out.push(Staleness::TemplateChanged {
                    name: name.clone(),
                    locked: locked.clone(),
                    current: current.clone(),
                }),
                Some(_) => {}
            }
        }
        for name in self.templates.keys() {
            if !wanted.templates.contains_key(name) {
                out.push(Staleness::TemplateNoLongerUsed(name.clone()));
            }
        }
        out
    }

    /// [`Lock::stale_against`] as an error, for the build.
    pub fn ensure_fresh(&self, wanted: &Wanted, path: &Path) -> Result<(), LockError> {
        let reasons = self.stale_against(wanted);
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(LockError::Stale {
                path: path.to_path_buf(),
                reasons,
            })
        }
    }

    /// Sets every builder reference of the program to its locked digest
    /// (the tag stays, for the reader: `golang:1.24@sha256:…`). A builder
    /// the file already pins keeps the file's digest.
    pub fn pin(&self, program: &mut Program) {
        for app in &mut program.apps {
            if let Build::Compile(c) = &mut app.build
                && c.builder.node.digest.is_none()
                && let Some(b) = self.builders.get(&builder_key(&c.builder.node))
            {
                c.builder.node.digest = Some(b.digest.clone());
            }
        }
    }

    /// The builder configs for `LowerOptions::builder_configs`, under both
    /// the plain and the pinned reference, so the lowering finds them
    /// whether or not the program was [`Lock::pin`]ned.
    pub fn builder_configs(&self) -> BTreeMap<String, ImageConfig> {
        let mut out = BTreeMap::new();
        for (name, b) in &self.builders {
            let config = ImageConfig {
                env: b.env.clone(),
                working_dir: b.workdir.clone(),
                user: b.user.clone(),
            };
            out.insert(format!("{name}@{}", b.digest), config.clone());
            out.insert(name.clone(), config);
        }
        out
    }
}

/// `sha256:` and 64 lowercase hex digits.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:52ce718d05980000000000000000000000000000000000000000000000000000";

    fn sample() -> Lock {
        let wanted = Wanted {
            build_platform: Platform::linux_amd64(),
            builders: ["docker.io/library/golang:1.24".to_string()].into(),
            templates: [("go.scratch".to_string(), sha256_text("template go {}"))].into(),
        };
        let builder = LockedBuilder {
            digest: D1.into(),
            env: vec![
                "PATH=/usr/lib/go-1.24/bin:/usr/bin:/bin".into(),
                "GOPATH=/go".into(),
            ],
            workdir: Some("/go".into()),
            user: None,
        };
        Lock::new(
            &wanted,
            [("docker.io/library/golang:1.24".to_string(), builder)].into(),
        )
    }

    fn wanted_of(lock: &Lock) -> Wanted {
        Wanted {
            build_platform: Platform::parse(&lock.build_platform).unwrap(),
            builders: lock.builders.keys().cloned().collect(),
            templates: lock.templates.clone(),
        }
    }

    #[test]
    fn renders_sorted_pretty_json_and_reads_it_back() {
        let lock = sample();
        let text = lock.render();
        insta::assert_snapshot!(text, @r#"
        {
          "version": 1,
          "build-platform": "linux/amd64",
          "builders": {
            "docker.io/library/golang:1.24": {
              "digest": "sha256:52ce718d05980000000000000000000000000000000000000000000000000000",
              "env": [
                "PATH=/usr/lib/go-1.24/bin:/usr/bin:/bin",
                "GOPATH=/go"
              ],
              "workdir": "/go",
              "user": null
            }
          },
          "templates": {
            "go.scratch": "sha256:07db2123c82abf45cefd4e01088d3ef7d351571021dec23e4f27938092f0b260"
          }
        }
        "#);
        assert_eq!(Lock::parse(&text, Path::new("scratch.lock")).unwrap(), lock);
    }

    #[test]
    fn fresh_lock_has_no_staleness() {
        let lock = sample();
        assert!(lock.stale_against(&wanted_of(&lock)).is_empty());
    }

    #[test]
    fn names_every_difference() {
        let lock = sample();
        let mut w = wanted_of(&lock);
        w.builders = ["docker.io/library/golang:1.25".to_string()].into();
        w.templates
            .insert("go.scratch".into(), sha256_text("template go { changed }"));
        w.templates.insert("acme.scratch".into(), sha256_text("x"));
        w.build_platform = Platform::parse("linux/arm64").unwrap();
        let err = lock
            .ensure_fresh(&w, Path::new("app/scratch.lock"))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("app/scratch.lock is stale:\n"), "{text}");
        assert!(text.contains("  - builder docker.io/library/golang:1.25 is not in the lock"));
        assert!(
            text.contains("  - builder docker.io/library/golang:1.24 is locked but no longer used")
        );
        assert!(text.contains("  - template acme.scratch is not in the lock"));
        assert!(text.contains("  - template go.scratch changed: locked sha256:"));
        assert!(text.contains("this daemon is linux/arm64"));
        assert!(text.ends_with("help: run `scratchc lock`, or build with --update-lock"));
    }

    #[test]
    fn refuses_other_versions_and_bad_digests() {
        let p = Path::new("scratch.lock");
        let future = r#"{"version": 2, "whatever": true}"#;
        assert!(matches!(
            Lock::parse(future, p),
            Err(LockError::Version { found: 2, .. })
        ));
        let bad = sample().render().replace(D1, "sha256:abc");
        let err = Lock::parse(&bad, p).unwrap_err().to_string();
        assert!(err.contains("`sha256:abc` is not a sha256 digest"), "{err}");
        let extra = sample()
            .render()
            .replace("\"user\": null", "\"user\": null, \"cmd\": []");
        assert!(matches!(
            Lock::parse(&extra, p),
            Err(LockError::Parse { .. })
        ));
        assert!(matches!(Lock::parse("{", p), Err(LockError::Parse { .. })));
    }

    #[test]
    fn configs_under_both_keys() {
        let configs = sample().builder_configs();
        let keys: Vec<&String> = configs.keys().collect();
        assert_eq!(
            keys,
            vec![
                "docker.io/library/golang:1.24",
                &format!("docker.io/library/golang:1.24@{D1}")
            ]
        );
        assert_eq!(
            configs["docker.io/library/golang:1.24"]
                .working_dir
                .as_deref(),
            Some("/go")
        );
    }

    #[test]
    fn write_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("app.scratch"));
        assert_eq!(Lock::read(&path).unwrap(), None);
        sample().write(&path).unwrap();
        assert_eq!(Lock::read(&path).unwrap(), Some(sample()));
    }
}
