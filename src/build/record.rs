//! What the last successful build to a destination made, kept on this
//! machine, so that a build where nothing changed can say so without
//! running anything: the physical limit of a no-change build is a walk of
//! the context's metadata and one question to the engine.
//!
//! A record holds, for one (daemon, context, app, outputs):
//! - the digest of each platform's LLB definition, and the configs of the
//!   builder images it was lowered with (with the engine's id of each tag
//!   then), so the same definitions can be made again offline;
//! - a fingerprint of the context's metadata as sent (the `.dockerignore`
//!   filter applied): every path with its kind, mode, owner, size, mtime
//!   and link target;
//! - what each destination held right after the build: the engine's id of
//!   each image name, or a fingerprint of each file or directory written;
//! - the image digest the build reported, to report it again.
//!
//! Invariant: any doubt means a build. A record that is missing, of
//! another version, or unreadable is no record; the caller compares every
//! part and builds on the first difference (see `cli::unchanged`).
//! Records live in `$SCRATCHC_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/scratchc/builds`, else `~/.cache/scratchc/builds`;
//! deleting them only costs one build.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client::artefacts::atomic;
use crate::client::buildkit::session::{Filter, walk_with};
use crate::compiler::ImageConfig;

/// The format this scratchc reads and writes (3: `definitions` cover the
/// image config too).
pub const VERSION: u32 = 3;

/// The last successful build to one destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub version: u32,
    /// `sha256:` digest of each platform's definition and image config
    /// (`cli::unchanged`), in platform order. (Versions 1 and 2 held the
    /// definition's alone.)
    pub definitions: Vec<String>,
    /// Builder images the daemon resolved (those the lock does not pin).
    pub builders: BTreeMap<String, Builder>,
    /// Fingerprint of the context's metadata ([`fingerprint_tree`]).
    pub context: String,
    /// What the destinations held right after the build.
    pub outputs: Vec<Held>,
    /// The digest the build reported for the image (manifest or index),
    /// shown again when nothing changed.
    pub image: Option<String>,
}

/// A builder image as a build used it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Builder {
    /// The engine's id of the tag when the build ran.
    pub id: String,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
}

impl Builder {
    pub fn new(id: String, config: &ImageConfig) -> Builder {
        Builder {
            id,
            env: config.env.clone(),
            workdir: config.working_dir.clone(),
            user: config.user.clone(),
        }
    }

    pub fn config(&self) -> ImageConfig {
        ImageConfig {
            env: self.env.clone(),
            working_dir: self.workdir.clone(),
            user: self.user.clone(),
        }
    }
}

/// What one destination held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", tag = "kind")]
pub enum Held {
    /// An image name in the engine's store, and the id it pointed to.
    Image { name: String, id: String },
    /// A file or a directory written, and its fingerprint.
    Path { path: PathBuf, fingerprint: String },
}

/// Where records are kept.
pub fn store_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("SCRATCHC_CACHE_DIR") {
        return Some(d);
    }
    let cache = env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))?;
    Some(cache.join("scratchc").join("builds"))
}

/// The record's name for one destination: a digest of everything that
/// names it (the daemon's address, the context, the app, the outputs as
/// given), so another daemon or another output is another record.
pub fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// The record stored under `key`; `None` when there is none, or it cannot
/// be read, or it is of another version.
pub fn load(dir: &Path, key: &str) -> Option<Record> {
    let text = std::fs::read(dir.join(format!("{key}.json"))).ok()?;
    let r: Record = serde_json::from_slice(&text).ok()?;
    (r.version == VERSION).then_some(r)
}

/// Stores `record` under `key` (written whole, then renamed).
pub fn save(dir: &Path, key: &str, record: &Record) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let data = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    atomic::write_atomic(&dir.join(format!("{key}.json")), &data)
}

/// Removes the record under `key` (a build that failed leaves the
/// destination in a state no record describes).
pub fn forget(dir: &Path, key: &str) {
    let _ = std::fs::remove_file(dir.join(format!("{key}.json")));
}

/// A fingerprint of a tree's metadata, as the context transfer walks it
/// (the same filter: `excludes` are `.dockerignore` patterns): every
/// entry's path, mode, owner, size, mtime and link target. Contents are not
/// read: a changed file has a new mtime, and any change is a build.
pub fn fingerprint_tree(root: &Path, excludes: &[String]) -> std::io::Result<String> {
    let filter = Filter::new(root, &[], &[], &[excludes]).map_err(std::io::Error::other)?;
    let mut h = Sha256::new();
    walk_with(root, &filter, &mut |e| {
        let s = &e.stat;
        h.update(s.path.as_bytes());
        h.update([0]);
        for n in [
            i64::from(s.mode),
            i64::from(s.uid),
            i64::from(s.gid),
            s.size,
            s.mod_time,
        ] {
            h.update(n.to_le_bytes());
        }
        h.update(s.linkname.as_bytes());
        h.update([0]);
        true
    })?;
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

/// A fingerprint of what an output wrote at `path`: a directory as
/// [`fingerprint_tree`] with no filter, a file by its inode, size and
/// mtime.
pub fn fingerprint_output(path: &Path) -> std::io::Result<String> {
    let m = std::fs::symlink_metadata(path)?;
    if m.is_dir() {
        return fingerprint_tree(path, &[]);
    }
    Ok(format!(
        "file:{}:{}:{}:{}",
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec()
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            version: VERSION,
            definitions: vec!["sha256:aa".into()],
            builders: BTreeMap::new(),
            context: "sha256:cc".into(),
            outputs: vec![Held::Image {
                name: "docker.io/library/hello:latest".into(),
                id: "sha256:dd".into(),
            }],
            image: Some("sha256:ee".into()),
        }
    }

    #[test]
    fn a_record_round_trips_and_a_bad_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), "k", &record()).unwrap();
        assert_eq!(load(dir.path(), "k"), Some(record()));
        std::fs::write(dir.path().join("k.json"), "{not json").unwrap();
        assert_eq!(load(dir.path(), "k"), None);
        let mut old = record();
        old.version = 0;
        save(dir.path(), "k", &old).unwrap();
        assert_eq!(load(dir.path(), "k"), None);
        forget(dir.path(), "k");
        assert_eq!(load(dir.path(), "missing"), None);
        assert_ne!(key(&["a", "bc"]), key(&["ab", "c"]));
    }

    #[test]
    fn the_fingerprint_sees_metadata_and_honours_the_filter() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("main.go"), "package main").unwrap();
        std::fs::create_dir(root.join("out")).unwrap();
        std::fs::write(root.join("out/junk"), "x").unwrap();
        let ex = vec!["out".to_string()];
        let a = fingerprint_tree(root, &ex).unwrap();
        assert_eq!(a, fingerprint_tree(root, &ex).unwrap());
        // An excluded file changes nothing; a sent one does.
        std::fs::write(root.join("out/junk"), "changed").unwrap();
        assert_eq!(a, fingerprint_tree(root, &ex).unwrap());
        let f = std::fs::File::options()
            .write(true)
            .open(root.join("main.go"))
            .unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_ne!(a, fingerprint_tree(root, &ex).unwrap());
        let file = fingerprint_output(&root.join("main.go")).unwrap();
        std::fs::write(root.join("main.go"), "package main // x").unwrap();
        assert_ne!(file, fingerprint_output(&root.join("main.go")).unwrap());
    }
}
