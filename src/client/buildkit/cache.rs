//! `--cache-to` / `--cache-from`: BuildKit's cache exports and imports
//! (`SolveRequest.Cache`), so CI runners with empty daemons reuse each
//! other's steps.
//!
//! Accepted forms (the buildx ones):
//!
//! - `type=registry,ref=HOST/REPO:TAG[,mode=min|max][,KEY=VALUE...]`, or a
//!   bare `HOST/REPO:TAG`: cache manifests in a registry. Exports default
//!   to `mode=max` (every step, not only the final image's layers): the
//!   step worth reusing is the compile, which is not in the final image.
//! - `type=inline` (export only): cache metadata inside the pushed image's
//!   config; import it with `type=registry,ref=THE_IMAGE`.
//! - `type=local,dest=DIR[,tag=T][,mode=min|max][,...]` (export) and
//!   `type=local,src=DIR[,tag=T][,digest=sha256:...]` (import): the cache
//!   in an OCI image layout directory on the client (`blobs/sha256/`,
//!   `index.json`, `oci-layout`), e.g. one a CI system saves and restores
//!   between runs. `mode=max` by default too.
//!
//! How `type=local` works: BuildKit does not write the directory itself. It
//! calls containerd's content API on the client's session, naming the
//! store `local:DIR` (the `dest`/`src` attribute as sent, which is why we
//! make it absolute), and the client serves the directory
//! (`session/content.rs`, [`crate::client::artefacts::ocilayout`]). After the build,
//! the Solve response's `cache.manifest` is the descriptor of the cache
//! manifest; the client checks that it and the blobs it lists are in DIR
//! and tags it in `index.json` (`org.opencontainers.image.ref.name` = the
//! tag, default `latest`; the entry that had the tag is replaced). For an
//! import, the client reads the tagged entry of `index.json` and passes its
//! digest (BuildKit requires `digest`). A missing DIR, `index.json` or tag
//! is a warning and the build runs without that cache (as buildx does); a
//! malformed `index.json` or a tagged blob that is missing is an error.
//!
//! - When the file defines several apps, each app's cache is its own entry,
//!   tagged `TAG-APP` (e.g. `latest-api`), for export and import alike: each
//!   app is a separate solve with its own cache manifest.
//! - Blobs are written as the daemon sends them, each verified and renamed
//!   into place; `index.json` changes only after a successful build. A
//!   failed build may leave new blobs in DIR, never an index that points at
//!   a partial cache. Old blobs are never removed: to keep DIR from growing,
//!   export to a fresh directory and replace the old one (as with buildx).
//! - One `type=local` export per build: BuildKit 0.13 reports one cache
//!   manifest per solve. It is sent last, so with a registry export beside
//!   it the reported manifest is the local one.
//!
//! Plain HTTP: loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`)
//! are plain HTTP by the daemon's own rules; any other host gets
//! `registry.insecure=true` only when `--insecure-registry` asks for it.
//!
//! What is never exported: cache mounts (`cache /root/.cache/go-build`).
//! BuildKit keeps them in the daemon only; see docs/reproducibility.md for
//! how scratchc lays out the Go caches so the expensive parts still travel.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::session::ContentStore;
use crate::client::artefacts::ocilayout::{self, Digest, Found, Layout};
use crate::client::errors::UsageError;
use crate::image_ref::{is_loopback_host, registry_host};
use crate::proto::moby::buildkit::v1 as control;

/// The Solve response key holding the cache manifest's descriptor (JSON).
pub const MANIFEST_KEY: &str = "cache.manifest";

/// The `index.json` tag when none is given.
pub const DEFAULT_TAG: &str = "latest";

/// Export or import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    To,
    From,
}

impl Direction {
    fn flag(self) -> &'static str {
        match self {
            Direction::To => "--cache-to",
            Direction::From => "--cache-from",
        }
    }
}

/// One parsed cache option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheSpec {
    pub kind: String,
    /// What BuildKit gets.
    pub attrs: BTreeMap<String, String>,
    /// For `type=local`: what the client does with the directory.
    pub local: Option<LocalCache>,
}

/// The client's side of a `type=local` cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCache {
    /// Absolute; the store id is `local:` + this path.
    pub dir: PathBuf,
    /// The `index.json` tag (`tag=`, default `latest`).
    pub tag: String,
}

impl LocalCache {
    /// The content store id BuildKit asks the session for.
    pub fn store_id(&self) -> String {
        format!("local:{}", self.dir.display())
    }

    /// The tag of `app`'s entry: the tag itself, or `TAG-APP` when the
    /// file defines several apps (`app` is then `Some`).
    pub fn tag_for(&self, app: Option<&str>) -> String {
        match app {
            Some(a) => format!("{}-{a}", self.tag),
            None => self.tag.clone(),
        }
    }
}

/// `mode=max` unless given; only `min` and `max` are accepted.
fn default_mode(
    attrs: &mut BTreeMap<String, String>,
    flag: &str,
    value: &str,
) -> Result<(), String> {
    attrs.entry("mode".into()).or_insert_with(|| "max".into());
    match attrs.get("mode").map(String::as_str) {
        Some("min" | "max") => Ok(()),
        other => Err(format!(
            "{flag} `{value}`: mode must be min or max, not {}",
            other.unwrap_or("")
        )),
    }
}

/// Parses one `--cache-to` / `--cache-from` value. `type=local` paths are
/// made absolute against the current directory.
fn parse(value: &str, dir: Direction, insecure: bool) -> Result<CacheSpec, String> {
    let flag = dir.flag();
    if value.is_empty() {
        return Err(format!("empty {flag} value"));
    }
    let mut attrs = BTreeMap::new();
    let mut kind = None;
    if !value.contains('=') {
        kind = Some("registry".to_string());
        attrs.insert("ref".to_string(), value.to_string());
    } else {
        for part in value.split(',') {
            let Some((k, v)) = part.split_once('=') else {
                return Err(format!(
                    "`{part}` in {flag} `{value}` is not key=value; write e.g. type=registry,ref=HOST/REPO:cache"
                ));
            };
            if k == "type" {
                kind = Some(v.to_string());
            } else {
                attrs.insert(k.to_string(), v.to_string());
            }
        }
    }
    let kind = kind.ok_or_else(|| format!("{flag} `{value}` has no type=registry|local|inline"))?;
    let mut local = None;
    match (kind.as_str(), dir) {
        ("registry", _) => {
            let Some(r) = attrs.get("ref").filter(|r| !r.is_empty()) else {
                return Err(format!(
                    "{flag} `{value}`: type=registry needs ref=HOST/REPO:TAG"
                ));
            };
            let host = registry_host(r).to_string();
            if dir == Direction::To {
                default_mode(&mut attrs, flag, value)?;
            }
            if insecure && !is_loopback_host(&host) {
                attrs
                    .entry("registry.insecure".into())
                    .or_insert_with(|| "true".into());
            }
        }
        ("inline", Direction::To) => {}
        ("inline", Direction::From) => {
            return Err(format!(
                "{flag} type=inline is not a source: import an inline cache with type=registry,ref=IMAGE"
            ));
        }
        ("local", _) => {
            let (key, other, other_flag) = match dir {
                Direction::To => ("dest", "src", "--cache-from"),
                Direction::From => ("src", "dest", "--cache-to"),
            };
            if attrs.contains_key(other) {
                return Err(format!(
                    "{flag} `{value}`: {other}= is for {other_flag}; write type=local,{key}=DIR"
                ));
            }
            let Some(path) = attrs.get(key).filter(|p| !p.is_empty()) else {
                return Err(format!("{flag} `{value}`: type=local needs {key}=DIR"));
            };
            let abs = std::path::absolute(path)
                .map_err(|e| format!("{flag} `{value}`: cannot make `{path}` absolute: {e}"))?;
            let Some(abs_str) = abs.to_str().map(str::to_string) else {
                return Err(format!(
                    "{flag} `{value}`: the path `{}` is not UTF-8",
                    abs.display()
                ));
            };
            attrs.insert(key.to_string(), abs_str);
            // The tag is the client's business: it names the index.json entry.
            let tag = attrs
                .remove("tag")
                .unwrap_or_else(|| DEFAULT_TAG.to_string());
            if tag.is_empty() || tag.contains(char::is_whitespace) {
                return Err(format!("{flag} `{value}`: tag= must be a non-empty word"));
            }
            match dir {
                Direction::To => default_mode(&mut attrs, flag, value)?,
                Direction::From => {
                    if let Some(d) = attrs.get("digest") {
                        Digest::parse(d).map_err(|e| format!("{flag} `{value}`: {e}"))?;
                    }
                }
            }
            local = Some(LocalCache { dir: abs, tag });
        }
        (other, _) => {
            return Err(format!(
                "{flag} `{value}`: unknown cache type `{other}`; scratchc supports registry, local and inline"
            ));
        }
    }
    Ok(CacheSpec { kind, attrs, local })
}

/// Every `--cache-to` and `--cache-from` of a build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caches {
    /// In the order sent; the `type=local` one last.
    pub exports: Vec<CacheSpec>,
    pub imports: Vec<CacheSpec>,
}

/// Parses the flags of a build.
pub fn parse_all(to: &[String], from: &[String], insecure: bool) -> Result<Caches, UsageError> {
    parse_each(to, from, insecure).map_err(UsageError::new)
}

fn parse_each(to: &[String], from: &[String], insecure: bool) -> Result<Caches, String> {
    let exports = to
        .iter()
        .map(|v| parse(v, Direction::To, insecure))
        .collect::<Result<Vec<_>, _>>()?;
    let imports = from
        .iter()
        .map(|v| parse(v, Direction::From, insecure))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut exports, locals): (Vec<_>, Vec<_>) =
        exports.into_iter().partition(|s| s.local.is_none());
    if locals.len() > 1 {
        return Err(
            "only one --cache-to type=local per build: BuildKit reports one cache manifest per build"
                .into(),
        );
    }
    // BuildKit keeps the last exporter's manifest in the response.
    exports.extend(locals);
    Ok(Caches { exports, imports })
}

/// A local cache directory that cannot be used (missing blobs, a broken
/// `index.json`, a directory that cannot be made): what and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CacheError(pub String);

impl From<String> for CacheError {
    fn from(s: String) -> Self {
        CacheError(s)
    }
}

/// What [`Caches::record`] did with a build's cache manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// `index.json` of `dir` now tags `digest` as `tag`.
    Written {
        dir: PathBuf,
        tag: String,
        digest: String,
    },
    /// The daemon exported no cache (nothing to export); `index.json` of
    /// `dir` is unchanged.
    Nothing { dir: PathBuf },
}

/// `SolveRequest.Cache` for one app, and what could not be imported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppCache {
    pub options: Option<control::CacheOptions>,
    /// One line per `--cache-from type=local` that has no cache to import.
    pub warnings: Vec<String>,
}

fn entry(s: &CacheSpec) -> control::CacheOptionsEntry {
    control::CacheOptionsEntry {
        r#type: s.kind.clone(),
        attrs: s.attrs.clone(),
    }
}

fn local_export(s: &CacheSpec) -> Option<&LocalCache> {
    s.local.as_ref()
}

impl Caches {
    /// The session's content stores: one per local directory, writable when
    /// it is exported to.
    pub fn stores(&self) -> BTreeMap<String, ContentStore> {
        let mut stores = BTreeMap::new();
        for (specs, writable) in [(&self.exports, true), (&self.imports, false)] {
            for l in specs.iter().filter_map(local_export) {
                stores.entry(l.store_id()).or_insert_with(|| ContentStore {
                    dir: l.dir.clone(),
                    writable,
                });
            }
        }
        stores
    }

    /// The `type=local` directories the cache is exported to.
    pub fn export_dirs(&self) -> impl Iterator<Item = &std::path::Path> {
        self.exports
            .iter()
            .filter_map(local_export)
            .map(|l| l.dir.as_path())
    }

    /// Creates the export directories before the build (as buildctl
    /// does), so an unusable one fails before anything runs.
    pub fn create_export_dirs(&self) -> Result<(), CacheError> {
        for l in self.exports.iter().filter_map(local_export) {
            std::fs::create_dir_all(&l.dir).map_err(|e| {
                format!(
                    "--cache-to type=local: cannot create `{}`: {e}",
                    l.dir.display()
                )
            })?;
        }
        Ok(())
    }

    /// The cache options of one app's solve: local imports get the digest
    /// of their tagged `index.json` entry, or are left out with a warning
    /// when there is none. `app` is the app's name when the file defines
    /// several apps (see [`LocalCache::tag_for`]).
    pub fn for_app(&self, app: Option<&str>) -> Result<AppCache, CacheError> {
        let mut warnings = Vec::new();
        let mut imports = Vec::new();
        for spec in &self.imports {
            let Some(l) = &spec.local else {
                imports.push(entry(spec));
                continue;
            };
            let shown = l.dir.display();
            let mut attrs = spec.attrs.clone();
            if attrs.contains_key("digest") {
                if !l.dir.is_dir() {
                    warnings.push(format!(
                        "--cache-from type=local: `{shown}` does not exist; building without it"
                    ));
                    continue;
                }
            } else {
                let tag = l.tag_for(app);
                match Layout::new(&l.dir)
                    .find(&tag)
                    .map_err(|e| format!("--cache-from type=local,src={shown}: {e}"))?
                {
                    Found::Missing(why) => {
                        warnings.push(format!(
                            "--cache-from type=local: no cache to import: {why}; building without it"
                        ));
                        continue;
                    }
                    Found::Tagged { digest, .. } => {
                        attrs.insert("digest".into(), digest.to_string());
                    }
                }
            }
            imports.push(control::CacheOptionsEntry {
                r#type: spec.kind.clone(),
                attrs,
            });
        }
        let exports: Vec<_> = self.exports.iter().map(entry).collect();
        let options = (!exports.is_empty() || !imports.is_empty()).then(|| control::CacheOptions {
            exports,
            imports,
            ..Default::default()
        });
        Ok(AppCache { options, warnings })
    }

    /// After a successful solve of `app` (as in [`Caches::for_app`]):
    /// checks that the cache manifest the daemon reported, and every blob it
    /// lists, is in the local export directory, then tags it in
    /// `index.json`. `None` without a local export.
    pub fn record(
        &self,
        app: Option<&str>,
        response: &BTreeMap<String, String>,
    ) -> Result<Option<Recorded>, CacheError> {
        let Some(l) = self.exports.iter().find_map(local_export) else {
            return Ok(None);
        };
        let Some(json) = response.get(MANIFEST_KEY) else {
            return Ok(Some(Recorded::Nothing { dir: l.dir.clone() }));
        };
        let shown = l.dir.display();
        let desc: Value = serde_json::from_str(json)
            .map_err(|e| format!("the daemon's {MANIFEST_KEY} is not JSON ({e}): {json}"))?;
        let (digest, size) = ocilayout::descriptor_target(&desc)
            .map_err(|e| format!("the daemon's {MANIFEST_KEY} `{json}`: {e}"))?;
        let layout = Layout::new(&l.dir);
        check_manifest(&layout, &digest, size)
            .map_err(|e| format!("--cache-to type=local,dest={shown}: {e}"))?;
        let tag = l.tag_for(app);
        layout
            .put(&tag, &desc)
            .map_err(|e| format!("--cache-to type=local,dest={shown}: {e}"))?;
        Ok(Some(Recorded::Written {
            dir: l.dir.clone(),
            tag,
            digest: digest.to_string(),
        }))
    }
}

/// The manifest blob hashes to its digest and has `size` bytes, and every
/// blob it lists is there with its size.
fn check_manifest(layout: &Layout, digest: &Digest, size: u64) -> Result<(), String> {
    let have = layout.verify_blob(digest).map_err(|e| {
        format!("the cache manifest {digest} the daemon reported is not usable here: {e}")
    })?;
    if have != size {
        return Err(format!(
            "the cache manifest {digest} has {have} bytes here, the daemon reported {size}"
        ));
    }
    let path = layout.blob_path(digest);
    let text = std::fs::read(&path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let manifest: Value = serde_json::from_slice(&text)
        .map_err(|e| format!("the cache manifest {digest} is not JSON: {e}"))?;
    let mut children: Vec<&Value> = Vec::new();
    for key in ["manifests", "layers"] {
        if let Some(a) = manifest.get(key).and_then(Value::as_array) {
            children.extend(a);
        }
    }
    children.extend(manifest.get("config"));
    for child in children {
        let (d, n) = ocilayout::descriptor_target(child)
            .map_err(|e| format!("the cache manifest {digest}: {e}"))?;
        match layout.blob(&d) {
            Ok(Some(m)) if m.len() == n => {}
            Ok(Some(m)) => {
                return Err(format!(
                    "blob {d} has {} bytes, the cache manifest says {n}",
                    m.len()
                ));
            }
            Ok(None) => {
                return Err(format!(
                    "blob {d} of the cache manifest {digest} is missing"
                ));
            }
            Err(e) => return Err(format!("`{}`: {e}", layout.blob_path(&d).display())),
        }
    }
    Ok(())
}

/// Whether an inline cache export was asked for: the image exporter must
/// then carry the cache metadata (BuildKit reads the export entry itself;
/// this is for messages and tests).
pub fn wants_inline(c: &control::CacheOptions) -> bool {
    c.exports.iter().any(|e| e.r#type == "inline")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(
        to: &[String],
        from: &[String],
        insecure: bool,
    ) -> Result<Option<control::CacheOptions>, String> {
        let caches = parse_all(to, from, insecure).map_err(|e| e.to_string())?;
        Ok(caches.for_app(None).map_err(|e| e.0)?.options)
    }

    #[test]
    fn registry_defaults_to_mode_max_on_export() {
        let s = parse(
            "type=registry,ref=127.0.0.1:5000/hello:cache",
            Direction::To,
            false,
        )
        .unwrap();
        assert_eq!(s.kind, "registry");
        assert_eq!(s.attrs["mode"], "max");
        assert!(!s.attrs.contains_key("registry.insecure"));
        assert_eq!(s.local, None);
        let s = parse("127.0.0.1:5000/hello:cache", Direction::From, false).unwrap();
        assert_eq!(s.attrs["ref"], "127.0.0.1:5000/hello:cache");
        assert!(!s.attrs.contains_key("mode"));
        let s = parse(
            "type=registry,ref=r.example/x:c,mode=min",
            Direction::To,
            false,
        )
        .unwrap();
        assert_eq!(s.attrs["mode"], "min");
        assert!(
            parse(
                "type=registry,ref=r.example/x:c,mode=all",
                Direction::To,
                false
            )
            .is_err()
        );
    }

    #[test]
    fn insecure_only_when_asked_and_not_for_loopback() {
        let s = parse(
            "type=registry,ref=ci.internal:5000/c:1",
            Direction::To,
            true,
        )
        .unwrap();
        assert_eq!(s.attrs["registry.insecure"], "true");
        let s = parse(
            "type=registry,ref=ci.internal:5000/c:1",
            Direction::To,
            false,
        )
        .unwrap();
        assert!(!s.attrs.contains_key("registry.insecure"));
        let s = parse("type=registry,ref=localhost:5000/c:1", Direction::To, true).unwrap();
        assert!(!s.attrs.contains_key("registry.insecure"));
    }

    #[test]
    fn inline_and_unknown() {
        let c = options(&["type=inline".into()], &[], false)
            .unwrap()
            .unwrap();
        assert!(wants_inline(&c));
        assert!(parse("type=inline", Direction::From, false).is_err());
        assert!(parse("type=s3,bucket=x", Direction::To, false).is_err());
        assert!(parse("ref=x", Direction::To, false).is_err());
        assert_eq!(options(&[], &[], false).unwrap(), None);
    }

    #[test]
    fn local_paths_are_absolute_and_the_tag_stays_on_the_client() {
        let s = parse("type=local,dest=/tmp/c", Direction::To, false).unwrap();
        assert_eq!(s.kind, "local");
        assert_eq!(s.attrs["dest"], "/tmp/c");
        assert_eq!(s.attrs["mode"], "max");
        let l = s.local.unwrap();
        assert_eq!(l.dir, PathBuf::from("/tmp/c"));
        assert_eq!(l.tag, "latest");
        assert_eq!(l.store_id(), "local:/tmp/c");
        assert_eq!(l.tag_for(None), "latest");
        assert_eq!(l.tag_for(Some("api")), "latest-api");

        let s = parse(
            "type=local,dest=rel/cache,tag=ci,mode=min,compression=zstd",
            Direction::To,
            false,
        )
        .unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(PathBuf::from(&s.attrs["dest"]), cwd.join("rel/cache"));
        assert!(!s.attrs.contains_key("tag"));
        assert_eq!(s.attrs["mode"], "min");
        assert_eq!(s.attrs["compression"], "zstd");
        assert_eq!(s.local.unwrap().tag, "ci");

        let s = parse("type=local,src=./c", Direction::From, false).unwrap();
        assert_eq!(PathBuf::from(&s.attrs["src"]), cwd.join("c"));
        assert!(!s.attrs.contains_key("mode"));

        for (bad, dir, why) in [
            ("type=local", Direction::To, "needs dest=DIR"),
            ("type=local,dest=", Direction::To, "needs dest=DIR"),
            (
                "type=local,src=/c",
                Direction::To,
                "src= is for --cache-from",
            ),
            (
                "type=local,dest=/c",
                Direction::From,
                "dest= is for --cache-to",
            ),
            (
                "type=local,dest=/c,mode=all",
                Direction::To,
                "mode must be min or max",
            ),
            ("type=local,dest=/c,tag=", Direction::To, "tag= must be"),
            (
                "type=local,src=/c,digest=sha256:xyz",
                Direction::From,
                "not a sha256 digest",
            ),
        ] {
            let e = parse(bad, dir, false).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn one_local_export_sent_last_and_stores_per_directory() {
        let c = parse_all(
            &[
                "type=local,dest=/c".into(),
                "type=registry,ref=127.0.0.1:5000/x:c".into(),
            ],
            &["type=local,src=/c".into(), "type=local,src=/old".into()],
            false,
        )
        .unwrap();
        assert_eq!(c.exports[0].kind, "registry");
        assert_eq!(c.exports[1].kind, "local");
        let stores = c.stores();
        assert_eq!(
            stores.keys().collect::<Vec<_>>(),
            ["local:/c", "local:/old"]
        );
        assert!(stores["local:/c"].writable, "exported to: writable");
        assert!(!stores["local:/old"].writable, "import only: read-only");
        let e = parse_all(
            &["type=local,dest=/a".into(), "type=local,dest=/b".into()],
            &[],
            false,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("only one --cache-to type=local"),
            "{e}"
        );
    }

    /// A cache layout as BuildKit leaves it: a layer, a config and an index
    /// listing both; returns the index's descriptor JSON.
    fn fake_cache(layout: &Layout, layer: &[u8]) -> String {
        let put = |data: &[u8]| {
            let mut ing = layout.ingest().unwrap();
            ing.write(data).unwrap();
            ing.commit(layout, None, None).unwrap()
        };
        let config = br#"{"layers":[],"records":[]}"#;
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": ocilayout::INDEX_MEDIA_TYPE,
            "manifests": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                 "digest": put(layer).to_string(), "size": layer.len()},
                {"mediaType": "application/vnd.buildkit.cacheconfig.v0",
                 "digest": put(config).to_string(), "size": config.len()},
            ],
        })
        .to_string();
        let d = put(index.as_bytes());
        serde_json::json!({
            "mediaType": ocilayout::INDEX_MEDIA_TYPE,
            "digest": d.to_string(),
            "size": index.len(),
        })
        .to_string()
    }

    /// A cache as BuildKit 0.21+ writes it by default: an OCI image
    /// manifest whose config is the cache config; returns its descriptor.
    fn fake_image_manifest_cache(layout: &Layout, layer: &[u8]) -> String {
        let put = |data: &[u8]| {
            let mut ing = layout.ingest().unwrap();
            ing.write(data).unwrap();
            ing.commit(layout, None, None).unwrap()
        };
        let config = br#"{"layers":[],"records":[]}"#;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.buildkit.cacheconfig.v0",
                       "digest": put(config).to_string(), "size": config.len()},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                 "digest": put(layer).to_string(), "size": layer.len()},
            ],
        })
        .to_string();
        let d = put(manifest.as_bytes());
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": d.to_string(),
            "size": manifest.len(),
        })
        .to_string()
    }

    /// The image-manifest form is recorded and imported like an index,
    /// and refused the same way when a blob it lists is missing.
    #[test]
    fn a_cache_written_as_an_image_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let c = parse_all(&[format!("type=local,dest={}", root.display())], &[], false).unwrap();
        let layout = Layout::new(&root);
        let desc = fake_image_manifest_cache(&layout, b"layer");
        let digest = ocilayout::descriptor_target(&serde_json::from_str(&desc).unwrap())
            .unwrap()
            .0
            .to_string();
        let resp = BTreeMap::from([(MANIFEST_KEY.to_string(), desc)]);
        assert!(matches!(
            c.record(None, &resp).unwrap(),
            Some(Recorded::Written { digest: d, .. }) if d == digest
        ));
        let from = parse_all(&[], &[format!("type=local,src={}", root.display())], false).unwrap();
        let imports = from.for_app(None).unwrap().options.unwrap().imports;
        assert_eq!(imports[0].attrs["digest"], digest);

        let other = tempfile::tempdir().unwrap();
        let c = parse_all(
            &[format!("type=local,dest={}", other.path().display())],
            &[],
            false,
        )
        .unwrap();
        let layout = Layout::new(other.path());
        let desc = fake_image_manifest_cache(&layout, b"another layer");
        let layer = Digest::parse(&format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"another layer"))
        ))
        .unwrap();
        std::fs::remove_file(layout.blob_path(&layer)).unwrap();
        let resp = BTreeMap::from([(MANIFEST_KEY.to_string(), desc)]);
        let e = c.record(None, &resp).unwrap_err();
        assert!(e.0.contains("is missing"), "{e}");
        assert!(!other.path().join("index.json").exists());
    }

    #[test]
    fn export_then_import_through_index_json() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        let flag = format!("type=local,dest={}", root.display());
        let c = parse_all(&[flag], &[], false).unwrap();
        c.create_export_dirs().unwrap();
        assert!(root.is_dir());
        let layout = Layout::new(&root);
        let desc = fake_cache(&layout, b"layer one");
        let digest = ocilayout::descriptor_target(&serde_json::from_str(&desc).unwrap())
            .unwrap()
            .0
            .to_string();

        // No cache.manifest: nothing recorded.
        assert_eq!(
            c.record(None, &BTreeMap::new()).unwrap(),
            Some(Recorded::Nothing { dir: root.clone() })
        );
        assert!(!root.join("index.json").exists());
        let resp = BTreeMap::from([(MANIFEST_KEY.to_string(), desc.clone())]);
        assert_eq!(
            c.record(None, &resp).unwrap(),
            Some(Recorded::Written {
                dir: root.clone(),
                tag: "latest".into(),
                digest: digest.clone(),
            })
        );
        assert!(root.join("oci-layout").is_file());

        // The import finds it by tag and sends the digest.
        let from = parse_all(&[], &[format!("type=local,src={}", root.display())], false).unwrap();
        let app = from.for_app(None).unwrap();
        assert!(app.warnings.is_empty(), "{:?}", app.warnings);
        let imports = app.options.unwrap().imports;
        assert_eq!(imports.len(), 1);
        assert_eq!(imports[0].r#type, "local");
        assert_eq!(imports[0].attrs["digest"], digest);
        assert_eq!(imports[0].attrs["src"], root.to_str().unwrap());

        // Several apps: per-app tags, for export and import alike.
        let other = fake_cache(&layout, b"layer two");
        assert!(matches!(
            c.record(Some("api"), &BTreeMap::from([(MANIFEST_KEY.to_string(), other)])).unwrap(),
            Some(Recorded::Written { tag, .. }) if tag == "latest-api"
        ));
        let api = from.for_app(Some("api")).unwrap().options.unwrap();
        assert_ne!(api.imports[0].attrs["digest"], digest);
        let web = from.for_app(Some("web")).unwrap();
        assert_eq!(web.options, None);
        assert!(
            web.warnings[0].contains("no entry tagged `latest-web`"),
            "{:?}",
            web.warnings
        );
        assert_eq!(
            layout.read_index().unwrap().unwrap()["manifests"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn record_refuses_a_manifest_that_is_not_in_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let c = parse_all(
            &[format!("type=local,dest={}", dir.path().display())],
            &[],
            false,
        )
        .unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let desc = fake_cache(&Layout::new(elsewhere.path()), b"layer");
        let resp = BTreeMap::from([(MANIFEST_KEY.to_string(), desc.clone())]);
        let e = c.record(None, &resp).unwrap_err();
        assert!(e.to_string().contains("not usable here"), "{e}");
        // The manifest is there but a blob it lists is not.
        let layout = Layout::new(dir.path());
        let desc = fake_cache(&layout, b"layer");
        let index: Value = serde_json::from_slice(
            &std::fs::read(
                layout.blob_path(
                    &ocilayout::descriptor_target(&serde_json::from_str(&desc).unwrap())
                        .unwrap()
                        .0,
                ),
            )
            .unwrap(),
        )
        .unwrap();
        let layer = ocilayout::descriptor_target(&index["manifests"][0])
            .unwrap()
            .0;
        std::fs::remove_file(layout.blob_path(&layer)).unwrap();
        let resp = BTreeMap::from([(MANIFEST_KEY.to_string(), desc)]);
        let e = c.record(None, &resp).unwrap_err();
        assert!(e.to_string().contains("is missing"), "{e}");
        assert!(!dir.path().join("index.json").exists());
        let e = c
            .record(
                None,
                &BTreeMap::from([(MANIFEST_KEY.to_string(), "nope".to_string())]),
            )
            .unwrap_err();
        assert!(e.to_string().contains("is not JSON"), "{e}");
    }

    #[test]
    fn missing_caches_warn_and_malformed_ones_fail() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nothing-here");
        let c = parse_all(
            &[],
            &[format!("type=local,src={}", missing.display())],
            false,
        )
        .unwrap();
        let app = c.for_app(None).unwrap();
        assert_eq!(app.options, None);
        assert!(
            app.warnings[0].contains("does not exist"),
            "{:?}",
            app.warnings
        );
        // An empty directory (a fresh CI cache) warns too.
        let c = parse_all(
            &[],
            &[format!("type=local,src={}", dir.path().display())],
            false,
        )
        .unwrap();
        assert!(c.for_app(None).unwrap().warnings[0].contains("no index.json"));
        // Other imports still go through.
        let c = parse_all(
            &[],
            &[
                format!("type=local,src={}", missing.display()),
                "127.0.0.1:5000/x:cache".into(),
            ],
            false,
        )
        .unwrap();
        let app = c.for_app(None).unwrap();
        assert_eq!(app.options.unwrap().imports.len(), 1);
        // A malformed index.json is an error.
        std::fs::write(dir.path().join("index.json"), "[]").unwrap();
        let c = parse_all(
            &[],
            &[format!("type=local,src={}", dir.path().display())],
            false,
        )
        .unwrap();
        let e = c.for_app(None).unwrap_err();
        assert!(e.to_string().contains("not an OCI image index"), "{e}");
        // An explicit digest skips index.json.
        let d = Digest::of(b"x");
        let c = parse_all(
            &[],
            &[format!(
                "type=local,src={},digest={d}",
                dir.path().display()
            )],
            false,
        )
        .unwrap();
        let imports = c.for_app(None).unwrap().options.unwrap().imports;
        assert_eq!(imports[0].attrs["digest"], d.to_string());
    }
}
