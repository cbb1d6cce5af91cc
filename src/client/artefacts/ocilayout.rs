//! An OCI image layout directory (`oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`), as the `type=local` build cache keeps it.
//!
//! - Blobs are content-addressed and written once: an [`Ingest`] is a
//!   temporary file under `ingest/`, hashed as it is written, checked
//!   against the expected size and digest on commit, then made read-only
//!   and renamed into `blobs/sha256/`. A blob never exists half-written.
//! - `index.json` names manifests by tag (the
//!   `org.opencontainers.image.ref.name` annotation); [`Layout::put`]
//!   replaces the entry of one tag and keeps the others, and writes the file
//!   to a temporary name first, so a reader sees the old or the new index.
//! - Only sha256 digests are accepted (what BuildKit writes).
//!
//! Synchronous and free of gRPC: the session's content service
//! (`session/content.rs`) drives it from blocking tasks.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::atomic::write_atomic;

/// The annotation that tags an entry of `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The media type of an OCI image index.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The content of the `oci-layout` file.
pub const LAYOUT_FILE: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A text that is not a sha256 digest, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` {why}")]
pub struct DigestError {
    pub value: String,
    why: &'static str,
}

/// A descriptor (an `index.json` entry) that does not say what it points at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    #[error("the descriptor is not a JSON object")]
    NotAnObject,
    #[error("the descriptor has no digest")]
    NoDigest,
    #[error("the descriptor has no size")]
    NoSize,
    #[error(transparent)]
    Digest(#[from] DigestError),
}

/// What went wrong with a layout directory or one of its files: the
/// action and the path of a failed read or write, or what a file holds
/// that the layout does not allow.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}`: {what}", path.display())]
    Invalid { path: PathBuf, what: String },
}

impl LayoutError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LayoutError {
        let path = path.to_path_buf();
        move |source| LayoutError::Io {
            action,
            path,
            source,
        }
    }

    fn invalid(path: &Path, what: impl std::fmt::Display) -> LayoutError {
        LayoutError::Invalid {
            path: path.to_path_buf(),
            what: what.to_string(),
        }
    }
}

/// A sha256 digest (`sha256:` and 64 lowercase hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let refuse = |why| DigestError {
            value: s.to_string(),
            why,
        };
        let Some((algo, hex)) = s.split_once(':') else {
            return Err(refuse("is not a digest (expected sha256:<64 hex digits>)"));
        };
        if algo != "sha256" {
            return Err(refuse(
                "has a digest algorithm that is not supported (only sha256)",
            ));
        }
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(refuse(
                "is not a sha256 digest (expected 64 lowercase hex digits)",
            ));
        }
        Ok(Digest(hex.to_string()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(h: Sha256) -> Digest {
        Digest(hex::encode(h.finalize()))
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

/// Why a commit was refused.
#[derive(Debug)]
pub enum CommitError {
    /// The ingest holds `got` bytes, `want` were announced.
    Size {
        got: u64,
        want: u64,
    },
    /// The ingest's digest is not the announced one.
    Digest {
        got: Digest,
        want: Digest,
    },
    Io(io::Error),
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitError::Size { got, want } => {
                write!(f, "unexpected commit size {got}, expected {want}")
            }
            CommitError::Digest { got, want } => {
                write!(f, "unexpected commit digest {got}, expected {want}")
            }
            CommitError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for CommitError {
    fn from(e: io::Error) -> Self {
        CommitError::Io(e)
    }
}

/// What [`Layout::find`] found for a tag.
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    /// The entry of the tag, whose blob exists with the entry's size.
    Tagged { digest: Digest, descriptor: Value },
    /// No cache here: why (the directory or index.json is missing, or has
    /// no entry with the tag).
    Missing(String),
}

/// An OCI image layout rooted at a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `blobs/sha256/<hex>`.
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(d.hex())
    }

    /// The metadata of a committed blob; `None` when there is none.
    pub fn blob(&self, d: &Digest) -> io::Result<Option<fs::Metadata>> {
        match fs::metadata(self.blob_path(d)) {
            Ok(m) if m.is_file() => Ok(Some(m)),
            Ok(_) => Err(io::Error::other(format!(
                "`{}` is not a regular file",
                self.blob_path(d).display()
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Hashes a committed blob again; its size when it matches its name.
    pub fn verify_blob(&self, d: &Digest) -> Result<u64, LayoutError> {
        let path = self.blob_path(d);
        let mut f = File::open(&path).map_err(LayoutError::io("open", &path))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf).map_err(LayoutError::io("read", &path))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            n += k as u64;
        }
        let got = Digest::from_hasher(h);
        if &got != d {
            return Err(LayoutError::invalid(
                &path,
                format!("holds {got}, not {d}: the blob is corrupt"),
            ));
        }
        Ok(n)
    }

    /// Starts writing a blob: a fresh temporary file under `ingest/`.
    pub fn ingest(&self) -> io::Result<Ingest> {
        let dir = self.root.join("ingest");
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let path = dir.join(tag);
        let mut tries = 0;
        let file = loop {
            fs::create_dir_all(&dir)?;
            match File::options().write(true).create_new(true).open(&path) {
                // Another write's [`Layout::tidy`] removed the directory
                // in between: make it again.
                Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 3 => tries += 1,
                other => break other?,
            }
        };
        Ok(Ingest {
            path,
            file: Some(file),
            hasher: Sha256::new(),
            offset: 0,
        })
    }

    /// Removes `ingest/` when no write is using it (a write starting at the
    /// same time makes it again).
    pub fn tidy(&self) {
        let _ = fs::remove_dir(self.root.join("ingest"));
    }

    /// `index.json`, checked to be an image index; `None` when the file
    /// does not exist.
    pub fn read_index(&self) -> Result<Option<Value>, LayoutError> {
        let path = self.root.join("index.json");
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LayoutError::io("read", &path)(e)),
        };
        let index: Value = serde_json::from_slice(&text)
            .map_err(|e| LayoutError::invalid(&path, format!("not valid JSON: {e}")))?;
        check_index(&index).map_err(|e| LayoutError::invalid(&path, e))?;
        Ok(Some(index))
    }

    /// The entry tagged `tag`, with its blob checked to exist with the
    /// entry's size. A missing directory, index or tag is [`Found::Missing`];
    /// a malformed index or a missing blob is an error.
    pub fn find(&self, tag: &str) -> Result<Found, LayoutError> {
        match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(LayoutError::invalid(&self.root, "not a directory")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Found::Missing(format!(
                    "`{}` does not exist",
                    self.root.display()
                )));
            }
            Err(e) => return Err(LayoutError::io("read", &self.root)(e)),
        }
        let Some(index) = self.read_index()? else {
            return Ok(Found::Missing(format!(
                "`{}` has no index.json",
                self.root.display()
            )));
        };
        let entries = manifests(&index);
        let Some(entry) = entries.iter().rev().find(|m| tag_of(m) == Some(tag)) else {
            let tags: Vec<&str> = entries.iter().filter_map(|m| tag_of(m)).collect();
            let known = if tags.is_empty() {
                "it has no tagged entries".to_string()
            } else {
                format!("its tags: {}", tags.join(", "))
            };
            return Ok(Found::Missing(format!(
                "`{}/index.json` has no entry tagged `{tag}` ({known})",
                self.root.display()
            )));
        };
        let index_json = self.root.join("index.json");
        let (digest, size) = descriptor_target(entry)
            .map_err(|e| LayoutError::invalid(&index_json, format!("tag `{tag}`: {e}")))?;
        match self.blob(&digest) {
            Ok(Some(m)) if m.len() == size => Ok(Found::Tagged {
                digest,
                descriptor: entry.clone(),
            }),
            Ok(Some(m)) => Err(LayoutError::invalid(
                &self.blob_path(&digest),
                format!(
                    "has {} bytes, but index.json says {size} for tag `{tag}`",
                    m.len()
                ),
            )),
            Ok(None) => Err(LayoutError::invalid(
                &index_json,
                format!(
                    "tags {digest} as `{tag}`, but `{}` is missing",
                    self.blob_path(&digest).display()
                ),
            )),
            Err(e) => Err(LayoutError::io("read", &self.blob_path(&digest))(e)),
        }
    }

    /// Tags `descriptor` as `tag` in `index.json` (replacing the entry that
    /// had the tag) and writes `oci-layout`. Both files are replaced by
    /// rename.
    pub fn put(&self, tag: &str, descriptor: &Value) -> Result<(), LayoutError> {
        fs::create_dir_all(&self.root).map_err(LayoutError::io("create", &self.root))?;
        let layout = self.root.join("oci-layout");
        if fs::read(&layout).ok().as_deref() != Some(LAYOUT_FILE) {
            write_atomic(&layout, LAYOUT_FILE).map_err(LayoutError::io("write", &layout))?;
        }
        let path = self.root.join("index.json");
        let mut index = self.read_index()?.unwrap_or_else(empty_index);
        set_tag(&mut index, tag, descriptor).map_err(|e| LayoutError::invalid(&path, e))?;
        let mut text = serde_json::to_vec(&index).map_err(|e| LayoutError::invalid(&path, e))?;
        text.push(b'\n');
        write_atomic(&path, &text).map_err(LayoutError::io("write", &path))
    }
}

/// A blob being written. Dropped without [`Ingest::commit`], its temporary
/// file is removed.
#[derive(Debug)]
pub struct Ingest {
    path: PathBuf,
    file: Option<File>,
    hasher: Sha256,
    offset: u64,
}

impl Ingest {
    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The digest of the bytes written so far.
    pub fn digest(&self) -> Digest {
        Digest::from_hasher(self.hasher.clone())
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the ingest is closed"))
    }

    /// Appends `data`.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file()?.write_all(data)?;
        self.hasher.update(data);
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Starts over from offset 0.
    pub fn reset(&mut self) -> io::Result<()> {
        let f = self.file()?;
        f.set_len(0)?;
        io::Seek::seek(f, io::SeekFrom::Start(0))?;
        self.hasher = Sha256::new();
        self.offset = 0;
        Ok(())
    }

    /// Checks the size (`total`, when given) and the digest (`expected`,
    /// when given), then moves the bytes to `blobs/sha256/<digest>` of
    /// `layout`, read-only. A blob of that digest and size already there is
    /// kept (it has the same bytes) and this ingest is dropped.
    pub fn commit(
        mut self,
        layout: &Layout,
        total: Option<u64>,
        expected: Option<&Digest>,
    ) -> Result<Digest, CommitError> {
        if let Some(want) = total
            && want != self.offset
        {
            return Err(CommitError::Size {
                got: self.offset,
                want,
            });
        }
        let got = self.digest();
        if let Some(want) = expected
            && *want != got
        {
            return Err(CommitError::Digest {
                got,
                want: want.clone(),
            });
        }
        let file = self.file.take().ok_or_else(|| io::Error::other("closed"))?;
        file.sync_all()?;
        drop(file);
        let target = layout.blob_path(&got);
        if layout.blob(&got)?.is_some_and(|m| m.len() == self.offset) {
            return Ok(got);
        }
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir)?;
        }
        set_read_only(&self.path)?;
        fs::rename(&self.path, &target)?;
        Ok(got)
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.file = None;
        let _ = fs::remove_file(&self.path);
    }
}

fn set_read_only(path: &Path) -> io::Result<()> {
    let mut perms = fs::metadata(path)?.permissions();
    perms.set_readonly(true);
    fs::set_permissions(path, perms)
}

/// A new, empty image index.
pub fn empty_index() -> Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [],
    })
}

/// Whether `index` has the shape of an image index: an object whose
/// `manifests`, when present, is an array of objects.
fn check_index(index: &Value) -> Result<(), String> {
    let Some(obj) = index.as_object() else {
        return Err("not an OCI image index (not a JSON object)".into());
    };
    match obj.get("manifests") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(a)) if a.iter().all(Value::is_object) => Ok(()),
        Some(_) => Err("not an OCI image index (`manifests` is not a list of descriptors)".into()),
    }
}

fn manifests(index: &Value) -> Vec<Value> {
    index
        .get("manifests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn tag_of(desc: &Value) -> Option<&str> {
    desc.get("annotations")?.get(REF_NAME)?.as_str()
}

/// The digest and size a descriptor points at.
pub fn descriptor_target(desc: &Value) -> Result<(Digest, u64), DescriptorError> {
    let digest = desc
        .get("digest")
        .and_then(Value::as_str)
        .ok_or(DescriptorError::NoDigest)?;
    let digest = Digest::parse(digest)?;
    let size = desc
        .get("size")
        .and_then(Value::as_u64)
        .ok_or(DescriptorError::NoSize)?;
    Ok((digest, size))
}

/// Puts `descriptor`, annotated with `tag`, into `index`: entries that had
/// the tag are removed, the others kept in order, the new one appended.
fn set_tag(index: &mut Value, tag: &str, descriptor: &Value) -> Result<(), String> {
    check_index(index)?;
    descriptor_target(descriptor).map_err(|e| e.to_string())?;
    let mut desc = descriptor.clone();
    let Some(d) = desc.as_object_mut() else {
        return Err(DescriptorError::NotAnObject.to_string());
    };
    let annotations = d
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    if let Some(a) = annotations.as_object_mut() {
        a.insert(REF_NAME.to_string(), Value::String(tag.to_string()));
    }
    let Some(obj) = index.as_object_mut() else {
        return Err("not an OCI image index".into());
    };
    obj.entry("schemaVersion").or_insert(Value::from(2));
    let mut kept: Vec<Value> = manifests(&Value::Object(obj.clone()))
        .into_iter()
        .filter(|m| tag_of(m) != Some(tag))
        .collect();
    kept.push(desc);
    obj.insert("manifests".into(), Value::Array(kept));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(b: &[u8]) -> String {
        Digest::of(b).hex().to_string()
    }

    #[test]
    fn digests() {
        let d = Digest::of(b"");
        assert_eq!(
            d.to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(Digest::parse(&d.to_string().to_uppercase()).is_err());
        assert!(
            Digest::parse(&format!("sha512:{}", d.hex()))
                .unwrap_err()
                .to_string()
                .contains("only sha256")
        );
        assert!(Digest::parse(d.hex()).is_err());
    }

    #[test]
    fn ingest_commits_verified_blobs_only() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let data = b"hello, cache";
        let want = Digest::of(data);

        let mut ing = layout.ingest().unwrap();
        ing.write(&data[..5]).unwrap();
        assert_eq!(ing.offset(), 5);
        assert_eq!(ing.digest(), Digest::of(&data[..5]));
        ing.write(&data[5..]).unwrap();
        let got = ing
            .commit(&layout, Some(data.len() as u64), Some(&want))
            .unwrap();
        assert_eq!(got, want);
        let path = layout.blob_path(&want);
        assert_eq!(fs::read(&path).unwrap(), data);
        assert!(fs::metadata(&path).unwrap().permissions().readonly());
        assert_eq!(layout.verify_blob(&want).unwrap(), data.len() as u64);
        // Nothing left in ingest/.
        assert_eq!(fs::read_dir(dir.path().join("ingest")).unwrap().count(), 0);
        layout.tidy();
        assert!(!dir.path().join("ingest").exists());

        // A wrong digest or size is refused and leaves no blob and no temp.
        let other = Digest::of(b"something else");
        let mut ing = layout.ingest().unwrap();
        ing.write(data).unwrap();
        let e = ing.commit(&layout, None, Some(&other)).unwrap_err();
        assert!(matches!(e, CommitError::Digest { .. }), "{e}");
        assert!(layout.blob(&other).unwrap().is_none());
        let mut ing = layout.ingest().unwrap();
        ing.write(data).unwrap();
        let e = ing.commit(&layout, Some(3), None).unwrap_err();
        assert!(
            e.to_string()
                .contains("unexpected commit size 12, expected 3")
        );
        assert_eq!(fs::read_dir(dir.path().join("ingest")).unwrap().count(), 0);

        // Reset starts over; a second commit of the same bytes keeps the blob.
        let mut ing = layout.ingest().unwrap();
        ing.write(b"garbage").unwrap();
        ing.reset().unwrap();
        assert_eq!(ing.offset(), 0);
        ing.write(data).unwrap();
        assert_eq!(ing.commit(&layout, None, None).unwrap(), want);
        assert_eq!(fs::read(&path).unwrap(), data);

        // A dropped ingest leaves nothing.
        let mut ing = layout.ingest().unwrap();
        ing.write(b"abandoned").unwrap();
        drop(ing);
        assert_eq!(fs::read_dir(dir.path().join("ingest")).unwrap().count(), 0);
    }

    #[test]
    fn verify_detects_a_corrupt_blob() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let d = Digest::of(b"right");
        fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        fs::write(layout.blob_path(&d), b"wrong").unwrap();
        assert!(
            layout
                .verify_blob(&d)
                .unwrap_err()
                .to_string()
                .contains("corrupt")
        );
    }

    fn desc(data: &[u8]) -> Value {
        serde_json::json!({
            "mediaType": INDEX_MEDIA_TYPE,
            "digest": Digest::of(data).to_string(),
            "size": data.len(),
        })
    }

    #[test]
    fn set_tag_replaces_only_its_own_entry() {
        let mut index = empty_index();
        set_tag(&mut index, "latest", &desc(b"one")).unwrap();
        set_tag(&mut index, "other", &desc(b"two")).unwrap();
        set_tag(&mut index, "latest", &desc(b"three")).unwrap();
        let m = index["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0]["annotations"][REF_NAME], "other");
        assert_eq!(m[0]["digest"], format!("sha256:{}", hex_of(b"two")));
        assert_eq!(m[1]["annotations"][REF_NAME], "latest");
        assert_eq!(m[1]["digest"], format!("sha256:{}", hex_of(b"three")));
        assert_eq!(m[1]["mediaType"], INDEX_MEDIA_TYPE);
        assert_eq!(index["schemaVersion"], 2);

        // Untagged entries and other fields of the index are kept; an
        // index without schemaVersion gets one.
        let mut index = serde_json::json!({
            "manifests": [{"digest": Digest::of(b"x").to_string(), "size": 1}],
            "annotations": {"keep": "me"},
        });
        set_tag(&mut index, "latest", &desc(b"y")).unwrap();
        assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
        assert_eq!(index["annotations"]["keep"], "me");
        assert_eq!(index["schemaVersion"], 2);

        // Bad descriptors and indexes are refused.
        assert!(set_tag(&mut empty_index(), "t", &serde_json::json!({"size": 1})).is_err());
        assert!(set_tag(&mut serde_json::json!({"manifests": 3}), "t", &desc(b"a")).is_err());
        assert!(set_tag(&mut serde_json::json!([]), "t", &desc(b"a")).is_err());
    }

    fn commit(layout: &Layout, data: &[u8]) -> Digest {
        let mut ing = layout.ingest().unwrap();
        ing.write(data).unwrap();
        ing.commit(layout, None, None).unwrap()
    }

    #[test]
    fn put_then_find() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        let layout = Layout::new(&root);
        assert!(
            matches!(layout.find("latest").unwrap(), Found::Missing(m) if m.contains("does not exist"))
        );
        fs::create_dir(&root).unwrap();
        assert!(
            matches!(layout.find("latest").unwrap(), Found::Missing(m) if m.contains("no index.json"))
        );

        let d1 = commit(&layout, b"manifest one");
        layout.put("latest", &desc(b"manifest one")).unwrap();
        assert_eq!(fs::read(root.join("oci-layout")).unwrap(), LAYOUT_FILE);
        let Found::Tagged { digest, descriptor } = layout.find("latest").unwrap() else {
            panic!("not found");
        };
        assert_eq!(digest, d1);
        assert_eq!(descriptor["annotations"][REF_NAME], "latest");
        match layout.find("v2").unwrap() {
            Found::Missing(m) => assert!(m.contains("its tags: latest"), "{m}"),
            other => panic!("{other:?}"),
        }

        // Re-tagging keeps one entry per tag; no temporary files remain.
        let d2 = commit(&layout, b"manifest two");
        layout.put("latest", &desc(b"manifest two")).unwrap();
        layout.put("v1", &desc(b"manifest one")).unwrap();
        let index = layout.read_index().unwrap().unwrap();
        assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
        assert!(
            matches!(layout.find("latest").unwrap(), Found::Tagged { digest, .. } if digest == d2)
        );
        let mut names: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["blobs", "index.json", "ingest", "oci-layout"]);
    }

    #[test]
    fn malformed_layouts_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        fs::write(dir.path().join("index.json"), "{not json").unwrap();
        assert!(
            layout
                .find("latest")
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
        fs::write(dir.path().join("index.json"), r#"{"manifests": {}}"#).unwrap();
        assert!(
            layout
                .find("latest")
                .unwrap_err()
                .to_string()
                .contains("not an OCI image index")
        );
        // Tagged, but the blob is missing, or has another size.
        let mut index = empty_index();
        set_tag(&mut index, "latest", &desc(b"gone")).unwrap();
        fs::write(dir.path().join("index.json"), index.to_string()).unwrap();
        assert!(
            layout
                .find("latest")
                .unwrap_err()
                .to_string()
                .contains("is missing")
        );
        commit(&layout, b"gone");
        assert!(matches!(
            layout.find("latest").unwrap(),
            Found::Tagged { .. }
        ));
        let mut index = empty_index();
        let mut d = desc(b"gone");
        d["size"] = Value::from(99);
        set_tag(&mut index, "latest", &d).unwrap();
        fs::write(dir.path().join("index.json"), index.to_string()).unwrap();
        assert!(
            layout
                .find("latest")
                .unwrap_err()
                .to_string()
                .contains("index.json says 99")
        );
        // A bad digest in the tagged entry.
        fs::write(
            dir.path().join("index.json"),
            format!(r#"{{"manifests":[{{"digest":"md5:x","size":1,"annotations":{{"{REF_NAME}":"latest"}}}}]}}"#),
        )
        .unwrap();
        assert!(
            layout
                .find("latest")
                .unwrap_err()
                .to_string()
                .contains("only sha256")
        );
        // The directory is a file.
        let file = dir.path().join("f");
        fs::write(&file, "").unwrap();
        assert!(
            Layout::new(&file)
                .find("latest")
                .unwrap_err()
                .to_string()
                .contains("not a directory")
        );
    }
}
