//! Finding the attestations of an image again, wherever it is stored: an
//! OCI image index lists, beside each platform's manifest, an attestation
//! manifest (platform `unknown/unknown`, annotations
//! `vnd.docker.reference.type: attestation-manifest` and
//! `vnd.docker.reference.digest: <the platform manifest>`), whose layers
//! are in-toto statements, each annotated with its
//! `in-toto.io/predicate-type`. That is how BuildKit stores them and how
//! `docker buildx imagetools inspect` reads them.
//!
//! No IO: the caller's [`Fetch`] gets manifests and blobs by digest (an
//! OCI layout, a tarball, the Docker Engine, a registry), and every blob
//! is checked against its digest before it is read.

use sha2::{Digest, Sha256};

/// Where manifests and blobs come from. Registries serve manifests and
/// blobs on different routes; a layout has both in `blobs/`.
#[allow(async_fn_in_trait)] // driven in place, never spawned
pub trait Fetch {
    async fn manifest(&self, digest: &str) -> Result<Vec<u8>, String>;
    async fn blob(&self, digest: &str) -> Result<Vec<u8>, String>;
}

/// One attestation of one platform image.
#[derive(Clone, Debug, PartialEq)]
pub struct Attestation {
    /// `linux/amd64`, `linux/arm/v7`.
    pub platform: String,
    /// The platform image manifest it is about.
    pub manifest: String,
    /// `https://spdx.dev/Document`, `https://slsa.dev/provenance/v0.2`.
    pub predicate_type: String,
    /// The in-toto statement (its `predicate` is the document).
    pub statement: serde_json::Value,
}

impl Attestation {
    /// The attested document: the statement's predicate.
    pub fn predicate(&self) -> &serde_json::Value {
        &self.statement["predicate"]
    }
}

/// What a walk found: every platform image, and the attestations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Found {
    /// (platform, manifest digest) of every image manifest, in index order.
    pub images: Vec<(String, String)>,
    pub attestations: Vec<Attestation>,
}

impl Found {
    /// The attestations of `predicate_type`.
    pub fn of_type<'a>(&'a self, predicate_type: &'a str) -> impl Iterator<Item = &'a Attestation> {
        self.attestations
            .iter()
            .filter(move |a| a.predicate_type == predicate_type)
    }
}

/// Why the attestations could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachedError {
    #[error("{what} is not JSON: {why}")]
    NotJson { what: String, why: String },
    #[error("{digest}: its content has the digest {actual}")]
    DigestMismatch { digest: String, actual: String },
    #[error("{0}")]
    Fetch(String),
    #[error("image indexes nested more than {MAX_DEPTH} deep")]
    TooDeep,
}

/// How deep indexes may nest (an OCI layout's index.json points at the
/// image index, which points at manifests).
pub const MAX_DEPTH: usize = 4;

const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
const PREDICATE_TYPE: &str = "in-toto.io/predicate-type";

/// Walks from `root` (an index or `index.json`, or a single manifest,
/// which has no attestations) and reads every attestation layer.
pub async fn find<F: Fetch>(fetch: &F, root: &[u8]) -> Result<Found, AttachedError> {
    let mut found = Found::default();
    let mut pending: Vec<(serde_json::Value, usize)> = vec![(json("the index", root)?, 0)];
    let mut attestation_manifests: Vec<(String, String)> = Vec::new();
    while let Some((index, depth)) = pending.pop() {
        let Some(manifests) = index["manifests"].as_array() else {
            continue;
        };
        for m in manifests {
            let digest = m["digest"].as_str().unwrap_or_default().to_string();
            let annotations = &m["annotations"];
            if annotations[REFERENCE_TYPE] == "attestation-manifest" {
                let about = annotations[REFERENCE_DIGEST]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                attestation_manifests.push((digest, about));
            } else if is_index(m) {
                if depth + 1 > MAX_DEPTH {
                    return Err(AttachedError::TooDeep);
                }
                let bytes = get(fetch, &digest, true).await?;
                pending.push((json(&digest, &bytes)?, depth + 1));
            } else if m["platform"].is_object() {
                found.images.push((platform(&m["platform"]), digest));
            }
        }
    }
    for (digest, about) in attestation_manifests {
        let platform = found
            .images
            .iter()
            .find(|(_, d)| *d == about)
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| "unknown".to_string());
        let manifest = json(&digest, &get(fetch, &digest, true).await?)?;
        for layer in manifest["layers"].as_array().into_iter().flatten() {
            let Some(predicate_type) = layer["annotations"][PREDICATE_TYPE].as_str() else {
                continue;
            };
            let d = layer["digest"].as_str().unwrap_or_default();
            let statement = json(d, &get(fetch, d, false).await?)?;
            found.attestations.push(Attestation {
                platform: platform.clone(),
                manifest: about.clone(),
                predicate_type: predicate_type.to_string(),
                statement,
            });
        }
    }
    Ok(found)
}

/// A manifest or blob, checked against its digest.
async fn get<F: Fetch>(fetch: &F, digest: &str, manifest: bool) -> Result<Vec<u8>, AttachedError> {
    let bytes = if manifest {
        fetch.manifest(digest).await
    } else {
        fetch.blob(digest).await
    }
    .map_err(AttachedError::Fetch)?;
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    if digest.starts_with("sha256:") && actual != digest {
        return Err(AttachedError::DigestMismatch {
            digest: digest.to_string(),
            actual,
        });
    }
    Ok(bytes)
}

fn is_index(descriptor: &serde_json::Value) -> bool {
    matches!(
        descriptor["mediaType"].as_str(),
        Some(
            "application/vnd.oci.image.index.v1+json"
                | "application/vnd.docker.distribution.manifest.list.v2+json"
        )
    )
}

fn json(what: &str, bytes: &[u8]) -> Result<serde_json::Value, AttachedError> {
    serde_json::from_slice(bytes).map_err(|e| AttachedError::NotJson {
        what: what.to_string(),
        why: e.to_string(),
    })
}

/// `os/arch[/variant]` of an OCI platform object.
pub fn platform(p: &serde_json::Value) -> String {
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().unwrap_or("?"),
        p["architecture"].as_str().unwrap_or("?")
    );
    if let Some(v) = p["variant"].as_str().filter(|v| !v.is_empty()) {
        s.push('/');
        s.push_str(v);
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Blobs in memory, as a layout holds them.
    #[derive(Default)]
    struct Blobs(BTreeMap<String, Vec<u8>>);

    impl Blobs {
        fn add(&mut self, v: serde_json::Value) -> (String, usize) {
            let bytes = serde_json::to_vec(&v).unwrap();
            let d = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
            let n = bytes.len();
            self.0.insert(d.clone(), bytes);
            (d, n)
        }
    }

    impl Fetch for Blobs {
        async fn manifest(&self, digest: &str) -> Result<Vec<u8>, String> {
            self.blob(digest).await
        }
        async fn blob(&self, digest: &str) -> Result<Vec<u8>, String> {
            self.0.get(digest).cloned().ok_or(format!("no {digest}"))
        }
    }

    /// An OCI layout as BuildKit's `oci` exporter writes it: index.json →
    /// image index → (platform manifest, attestation manifest → statement).
    fn layout(blobs: &mut Blobs, statement: serde_json::Value) -> Vec<u8> {
        let (image, _) = blobs.add(serde_json::json!({"schemaVersion": 2, "layers": []}));
        let (layer, _) = blobs.add(statement);
        let (att, _) = blobs.add(serde_json::json!({
            "schemaVersion": 2,
            "layers": [{
                "mediaType": "application/vnd.in-toto+json",
                "digest": layer,
                "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}
            }]
        }));
        let (index, _) = blobs.add(serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image,
                 "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": att,
                 "platform": {"os": "unknown", "architecture": "unknown"},
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                 "vnd.docker.reference.digest": image}}
            ]
        }));
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": index}]
        }))
        .unwrap()
    }

    #[test]
    fn finds_the_sbom_of_each_platform() {
        let mut blobs = Blobs::default();
        let root = layout(
            &mut blobs,
            serde_json::json!({"predicateType": "https://spdx.dev/Document",
                               "predicate": {"spdxVersion": "SPDX-2.3"}}),
        );
        let found = futures::executor::block_on(find(&blobs, &root)).unwrap();
        assert_eq!(found.images.len(), 1);
        assert_eq!(found.images[0].0, "linux/arm/v7");
        let sboms: Vec<_> = found.of_type("https://spdx.dev/Document").collect();
        assert_eq!(sboms.len(), 1);
        assert_eq!(sboms[0].platform, "linux/arm/v7");
        assert_eq!(sboms[0].manifest, found.images[0].1);
        assert_eq!(sboms[0].predicate()["spdxVersion"], "SPDX-2.3");
    }

    #[test]
    fn a_blob_that_does_not_match_its_digest_is_refused() {
        let mut blobs = Blobs::default();
        let root = layout(&mut blobs, serde_json::json!({"predicate": {}}));
        for v in blobs.0.values_mut() {
            if v.starts_with(b"{\"predicate\"") {
                v.push(b' ');
            }
        }
        let e = futures::executor::block_on(find(&blobs, &root)).unwrap_err();
        assert!(matches!(e, AttachedError::DigestMismatch { .. }), "{e}");
    }

    #[test]
    fn an_image_without_attestations_has_none() {
        let mut blobs = Blobs::default();
        let (image, _) = blobs.add(serde_json::json!({"schemaVersion": 2}));
        let root = serde_json::to_vec(&serde_json::json!({"manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image,
             "platform": {"os": "linux", "architecture": "amd64"}}]}))
        .unwrap();
        let found = futures::executor::block_on(find(&blobs, &root)).unwrap();
        assert_eq!(found.images.len(), 1);
        assert!(found.attestations.is_empty());
        assert!(futures::executor::block_on(find(&blobs, b"not json")).is_err());
    }
}
