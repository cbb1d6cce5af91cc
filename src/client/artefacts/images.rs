//! Where a built image is read back from, to find its attestations
//! (`scratchc sbom`): an OCI layout directory, an OCI or `docker save`
//! tarball, a `local` or `tar` output (the attestations are files there),
//! the Docker Engine's image store, or a registry.
//!
//! What is opened is decided by what the argument names, in this order:
//! an existing path (a directory: an OCI layout when it has `index.json`,
//! else a `local` output; a file: a tarball, or an in-toto statement or
//! SPDX document in JSON), then an image in the Docker Engine (`docker
//! save` over its HTTP API: on the containerd image store it holds the
//! whole index, attestation manifests included), then the image's
//! registry (Docker Registry HTTP API v2, plain HTTP: loopback registries
//! always, others with `insecure`).
//!
//! Every read is bounded ([`MAX_ARCHIVE`], [`MAX_MANIFEST`],
//! [`MAX_BLOB`]) and every blob is checked against its digest
//! ([`crate::sbom::attached`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::TcpStream;

use super::http1::{self, GetError};
use super::ocidiff::{self, Layout};
use crate::client::ClientError;
use crate::client::inputs::userfile;
use crate::image_ref::{is_loopback_host, registry_host};
use crate::sbom::attached::{self, Attestation, Fetch, Found};

/// The largest tarball read (an OCI layout or `docker save`): it is held
/// in memory. Scratch images are small; this bounds a wrong argument.
pub const MAX_ARCHIVE: usize = 2 << 30;
/// The largest manifest or index read from a registry.
pub const MAX_MANIFEST: usize = 4 << 20;
/// The largest attestation blob read (an SPDX document, a provenance).
pub const MAX_BLOB: usize = 256 << 20;
/// The largest JSON file read as an attestation of a `local` output.
pub const MAX_JSON: usize = 256 << 20;

const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The attestations of an image, and where they were read from.
#[derive(Clone, Debug, Default)]
pub struct Read {
    /// `OCI layout out/`, `the Docker Engine's image hello:latest`...
    pub from: String,
    pub found: Found,
}

/// Why an image could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Nothing of that name: no path, no image in the Engine or registry.
    #[error("`{name}` is {what}")]
    NotFound { name: String, what: String },
    /// A file there, but not one that holds an image or attestations.
    #[error("{}: {why}", path.display())]
    Format { path: PathBuf, why: String },
    #[error(transparent)]
    File(#[from] userfile::FileError),
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The registry answered, but not as the API says.
    #[error("{what}: {why}")]
    Registry { what: String, why: String },
    #[error(transparent)]
    Attached(#[from] attached::AttachedError),
}

/// Opens `arg` (see the module docs). `engine` is the Docker Engine's
/// socket, when there is one to ask.
pub async fn read(arg: &str, engine: Option<&Path>, insecure: bool) -> Result<Read, ImageError> {
    let path = Path::new(arg);
    if path.is_dir() {
        return read_dir(path).await;
    }
    if path.exists() {
        return read_file(path).await;
    }
    if !is_reference(arg) {
        return Err(ImageError::NotFound {
            name: arg.to_string(),
            what: "no file or directory, and not an image name".into(),
        });
    }
    let mut tried = Vec::new();
    if let Some(socket) = engine {
        if let Some(tar) = super::engine::save(socket, arg, MAX_ARCHIVE).await? {
            let layout = Layout::from_tar(&tar).map_err(|e| ImageError::Format {
                path: PathBuf::from(arg),
                why: format!("the Docker Engine's `docker save` of it is not an OCI layout: {e}"),
            })?;
            let found = attached::find(&InMemory(&layout), &layout.index).await?;
            return Ok(Read {
                from: format!("the Docker Engine's image {arg}"),
                found,
            });
        }
        tried.push(format!(
            "not in the Docker Engine (unix://{})",
            socket.display()
        ));
    }
    let host = registry_host(arg);
    if is_loopback_host(host) || insecure {
        let registry = Registry::parse(arg)?;
        if let Some(root) = registry.root().await? {
            let found = attached::find(&registry, &root).await?;
            return Ok(Read {
                from: format!("the registry {host} (plain HTTP)"),
                found,
            });
        }
        tried.push(format!("not in the registry {host}"));
    } else {
        tried.push(format!(
            "not read from {host}: only plain-HTTP registries are read (loopback ones always, others with --insecure-registry)"
        ));
    }
    tried.insert(0, "no file or directory".into());
    Err(ImageError::NotFound {
        name: arg.to_string(),
        what: tried.join(", "),
    })
}

/// Whether `arg` could name an image (`[HOST[:PORT]/]PATH[:TAG][@DIGEST]`)
/// rather than a missing file: what the Engine and registries would
/// refuse, or what only a path looks like (`./x`, `/x`, `x/../y`, an
/// uppercase repository), is not asked about.
fn is_reference(arg: &str) -> bool {
    let (name, _digest) = arg.split_once('@').unwrap_or((arg, ""));
    // The host may have uppercase letters and a port; the path may not.
    let path = match name.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => name,
    };
    let repository = path.rsplit_once(':').map_or(path, |(r, _tag)| r);
    !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/:._-@[]".contains(&b))
        && !arg.starts_with(['/', '.', '-'])
        && !arg.contains("//")
        && repository.split('/').all(|c| {
            !c.is_empty() && !c.starts_with('.') && !c.bytes().any(|b| b.is_ascii_uppercase())
        })
}

/// An OCI layout directory, or a `local` output with attestation files.
async fn read_dir(dir: &Path) -> Result<Read, ImageError> {
    if dir.join("index.json").is_file() {
        let index = userfile::read_regular(&dir.join("index.json"), MAX_MANIFEST)?;
        let found = attached::find(&LayoutDir(dir), &index).await?;
        return Ok(Read {
            from: format!("the OCI layout {}", dir.display()),
            found,
        });
    }
    // A `local` output: `sbom.spdx.json` (one platform) or
    // `linux_amd64/sbom.spdx.json` (platform-split).
    let mut files = Vec::new();
    let mut top = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| ClientError::io("reading", dir, e))? {
        let entry = entry.map_err(|e| ClientError::io("reading", dir, e))?;
        top.push(entry.path());
    }
    top.sort();
    for p in top {
        if p.is_dir() {
            let platform = p
                .file_name()
                .map(|n| n.to_string_lossy().replace('_', "/"))
                .unwrap_or_default();
            files.extend(attestation_files(&p, &platform)?);
        }
    }
    files.extend(attestation_files(dir, "")?);
    if files.is_empty() {
        return Err(ImageError::Format {
            path: dir.to_path_buf(),
            why: "neither an OCI layout (no index.json) nor a `local` output holding attestations (no *.json in-toto statement)".into(),
        });
    }
    Ok(Read {
        from: format!("the local output {}", dir.display()),
        found: Found {
            images: Vec::new(),
            attestations: files,
        },
    })
}

/// The in-toto statements among the `*.json` files of `dir`.
fn attestation_files(dir: &Path, platform: &str) -> Result<Vec<Attestation>, ImageError> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ClientError::io("reading", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names {
        let bytes = userfile::read_regular(&p, MAX_JSON)?;
        if let Some(a) = statement(&bytes, platform) {
            out.push(a);
        }
    }
    Ok(out)
}

/// An in-toto statement (`_type` and `predicateType`), as an attestation.
fn statement(bytes: &[u8], platform: &str) -> Option<Attestation> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let t = v["_type"].as_str()?;
    if !t.starts_with("https://in-toto.io/Statement") {
        return None;
    }
    Some(Attestation {
        platform: platform.to_string(),
        manifest: String::new(),
        predicate_type: v["predicateType"].as_str()?.to_string(),
        statement: v,
    })
}

/// A tarball (an OCI layout, `docker save`, or a `tar` output with
/// attestation files), or one JSON file: an in-toto statement or a bare
/// SPDX document.
async fn read_file(path: &Path) -> Result<Read, ImageError> {
    let bytes = userfile::read_regular(path, MAX_ARCHIVE)?;
    let shown = path.display().to_string();
    if bytes.first() == Some(&b'{') {
        if let Some(a) = statement(&bytes, "") {
            return Ok(Read {
                from: format!("the in-toto statement {shown}"),
                found: Found {
                    images: Vec::new(),
                    attestations: vec![a],
                },
            });
        }
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ImageError::Format {
                path: path.to_path_buf(),
                why: format!("not JSON: {e}"),
            })?;
        if v["spdxVersion"].is_string() {
            return Ok(Read {
                from: format!("the SPDX document {shown}"),
                found: Found {
                    images: Vec::new(),
                    attestations: vec![Attestation {
                        platform: String::new(),
                        manifest: String::new(),
                        predicate_type: crate::build::sbom::PREDICATE_SPDX.into(),
                        statement: serde_json::json!({ "predicate": v }),
                    }],
                },
            });
        }
        return Err(ImageError::Format {
            path: path.to_path_buf(),
            why: "JSON, but neither an in-toto statement nor an SPDX document".into(),
        });
    }
    let entries = ocidiff::read_tar(&bytes).map_err(|e| ImageError::Format {
        path: path.to_path_buf(),
        why: format!("neither JSON nor a tarball: {e}"),
    })?;
    if entries.iter().any(|(e, _)| clean(&e.path) == "index.json") {
        let layout = Layout::from_tar(&bytes).map_err(|e| ImageError::Format {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        let found = attached::find(&InMemory(&layout), &layout.index).await?;
        return Ok(Read {
            from: format!("the OCI layout tarball {shown}"),
            found,
        });
    }
    // A `tar` output: the attestations are files, per platform directory
    // when the output is platform-split.
    let mut found = Found::default();
    for (e, body) in &entries {
        let p = clean(&e.path);
        if !p.ends_with(".json") {
            continue;
        }
        let platform = p
            .rsplit_once('/')
            .map(|(d, _)| d.replace('_', "/"))
            .unwrap_or_default();
        if let Some(a) = statement(body, &platform) {
            found.attestations.push(a);
        }
    }
    if found.attestations.is_empty() {
        return Err(ImageError::Format {
            path: path.to_path_buf(),
            why: "a tarball with neither index.json (an OCI layout) nor an in-toto statement (a `tar` output with attestations)".into(),
        });
    }
    Ok(Read {
        from: format!("the tar output {shown}"),
        found,
    })
}

fn clean(p: &str) -> &str {
    p.trim_start_matches("./")
}

/// Blobs of a layout held in memory.
struct InMemory<'a>(&'a Layout);

impl Fetch for InMemory<'_> {
    async fn manifest(&self, digest: &str) -> Result<Vec<u8>, String> {
        self.blob(digest).await
    }
    async fn blob(&self, digest: &str) -> Result<Vec<u8>, String> {
        self.0
            .blobs
            .get(digest)
            .cloned()
            .ok_or_else(|| format!("blob {digest} is not in the layout"))
    }
}

/// Blobs of a layout directory, read as they are needed.
struct LayoutDir<'a>(&'a Path);

impl Fetch for LayoutDir<'_> {
    async fn manifest(&self, digest: &str) -> Result<Vec<u8>, String> {
        self.blob(digest).await
    }
    async fn blob(&self, digest: &str) -> Result<Vec<u8>, String> {
        let (alg, hex) = digest
            .split_once(':')
            .filter(|(a, h)| !a.contains(['/', '.']) && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| format!("`{digest}` is not a digest"))?;
        let p = self.0.join("blobs").join(alg).join(hex);
        userfile::read_regular(&p, MAX_BLOB).map_err(|e| e.to_string())
    }
}

/// An image in a registry, over plain HTTP (Docker Registry HTTP API v2,
/// anonymous).
struct Registry {
    host: String,
    repository: String,
    /// Tag or digest.
    reference: String,
}

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json";

impl Registry {
    fn parse(reference: &str) -> Result<Registry, ImageError> {
        let host = registry_host(reference).to_string();
        let rest = reference
            .strip_prefix(&format!("{host}/"))
            .unwrap_or(reference);
        let (repository, reference) = match rest.split_once('@') {
            Some((r, d)) => (r.to_string(), d.to_string()),
            None => match rest.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
                _ => (rest.to_string(), "latest".to_string()),
            },
        };
        let repository = if host == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        Ok(Registry {
            host,
            repository,
            reference,
        })
    }

    /// The index (or manifest) the reference names; `None` when the
    /// registry has no such image.
    async fn root(&self) -> Result<Option<Vec<u8>>, ImageError> {
        let path = format!("/v2/{}/manifests/{}", self.repository, self.reference);
        self.get(&path, MAX_MANIFEST).await
    }

    async fn get(&self, path: &str, limit: usize) -> Result<Option<Vec<u8>>, ImageError> {
        let url = format!("http://{}{path}", self.host);
        let fail = |why: String| ImageError::Registry {
            what: format!("GET {url}"),
            why,
        };
        let ask = async {
            let stream = TcpStream::connect(&self.host)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let headers = [("Host", self.host.as_str()), ("Accept", MANIFEST_TYPES)];
            let (status, body) = http1::get(stream, path, &headers, limit)
                .await
                .map_err(|e| match e {
                    GetError::Transport(e) | GetError::Body(e) => fail(e),
                })?;
            match status {
                200 => Ok(Some(body)),
                404 => Ok(None),
                401 => Err(fail(
                    "the registry asks for credentials; only anonymous reads are made".into(),
                )),
                other => Err(fail(format!(
                    "answered {other}: {}",
                    String::from_utf8_lossy(&body).trim()
                ))),
            }
        };
        tokio::time::timeout(HTTP_TIMEOUT, ask)
            .await
            .map_err(|_| fail(format!("no answer in {HTTP_TIMEOUT:?}")))?
    }
}

impl Fetch for Registry {
    async fn manifest(&self, digest: &str) -> Result<Vec<u8>, String> {
        let path = format!("/v2/{}/manifests/{digest}", self.repository);
        match self.get(&path, MAX_MANIFEST).await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(format!("the registry has no manifest {digest}")),
            Err(e) => Err(e.to_string()),
        }
    }
    async fn blob(&self, digest: &str) -> Result<Vec<u8>, String> {
        let path = format!("/v2/{}/blobs/{digest}", self.repository);
        match self.get(&path, MAX_BLOB).await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(format!("the registry has no blob {digest}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The attestations of `predicate_type` by platform (the first of each).
pub fn by_platform<'a>(
    found: &'a Found,
    predicate_type: &'a str,
) -> BTreeMap<&'a str, &'a Attestation> {
    let mut out = BTreeMap::new();
    for a in found.of_type(predicate_type) {
        out.entry(a.platform.as_str()).or_insert(a);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn registry_references() {
        let r = Registry::parse("127.0.0.1:5000/scratchc/hello:1.0").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "scratchc/hello", "1.0")
        );
        let r = Registry::parse("localhost:5000/hello").unwrap();
        assert_eq!(r.reference, "latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Registry::parse(&format!("localhost:5000/hello@{d}")).unwrap();
        assert_eq!(
            (r.repository.as_str(), r.reference.as_str()),
            ("hello", d.as_str())
        );
        let r = Registry::parse("hello:1").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str()),
            ("docker.io", "library/hello")
        );
    }

    #[test]
    fn statements_and_documents_are_told_apart() {
        let s = br#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"spdxVersion":"SPDX-2.3"}}"#;
        let a = statement(s, "linux/amd64").unwrap();
        assert_eq!(a.predicate()["spdxVersion"], "SPDX-2.3");
        assert!(statement(br#"{"spdxVersion":"SPDX-2.3"}"#, "").is_none());
        assert!(is_reference("127.0.0.1:5000/a/b:1"));
        assert!(is_reference("hello:latest"));
        assert!(is_reference("Registry.Example:5000/team/app:V1"));
        for path in [
            "a b",
            "./out",
            "/tmp/x",
            "../x",
            "out/../x",
            "UPPER:case",
            "a//b",
            "",
        ] {
            assert!(!is_reference(path), "{path}");
        }
    }
}
