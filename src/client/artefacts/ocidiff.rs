//! Comparing two OCI image layouts, for `scratchc verify`.
//!
//! Two builds of the same sources must produce the same index digest. When
//! they do not, a bare "digests differ" helps nobody, so this walks both
//! layouts in the same order (index, then per platform: manifest, config,
//! each layer; the attestation manifests too, named after the platform
//! they are about) and reports the first blob that differs, with what
//! differs inside it: the first differing line of a config or of an
//! attestation (an SBOM's in-toto statement, pretty JSON), or the first
//! differing file entry of a layer (path, mode, owner, mtime, size or
//! content), which is usually enough to name the culprit (a timestamp, a
//! build id, an embedded path).
//!
//! Input: the bytes of an OCI layout tarball (what the `oci` exporter
//! writes). No IO; gzip layers are inflated with miniz_oxide.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};

/// A parsed OCI layout: blobs by digest and the top `index.json`.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub index: Vec<u8>,
    pub blobs: BTreeMap<String, Vec<u8>>,
}

/// One entry of a tar stream, the fields a reproducibility diff cares about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarEntry {
    pub path: String,
    pub kind: u8,
    pub mode: u64,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub size: u64,
    pub link: String,
    /// sha256 of the content, hex.
    pub content: String,
}

impl fmt::Display for TarEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} type={} mode={:o} owner={}:{} mtime={} size={} sha256={}",
            self.path,
            self.kind as char,
            self.mode,
            self.uid,
            self.gid,
            self.mtime,
            self.size,
            &self.content[..self.content.len().min(12)]
        )?;
        if !self.link.is_empty() {
            write!(f, " -> {}", self.link)?;
        }
        Ok(())
    }
}

/// A tar stream that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

fn err(s: impl Into<String>) -> FormatError {
    FormatError(s.into())
}

/// An octal (or base-256) numeric tar header field.
fn tar_number(field: &[u8]) -> u64 {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // base-256, big-endian, top bit is the marker
        return field.iter().enumerate().fold(0u64, |acc, (i, b)| {
            let b = if i == 0 { b & 0x7f } else { *b };
            acc.wrapping_shl(8) | u64::from(b)
        });
    }
    let s: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    u64::from_str_radix(s.trim(), 8).unwrap_or(0)
}

fn tar_string(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Parses PAX extended header records (`LEN key=value\n`).
fn pax_records(data: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|b| *b == b' ') else {
            break;
        };
        let len: usize = String::from_utf8_lossy(&rest[..sp]).parse().unwrap_or(0);
        if len <= sp || len > rest.len() {
            break;
        }
        let record = &rest[sp + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|b| *b == b'=') {
            out.insert(
                String::from_utf8_lossy(&record[..eq]).into_owned(),
                String::from_utf8_lossy(&record[eq + 1..]).into_owned(),
            );
        }
        rest = &rest[len..];
    }
    out
}

/// Reads every entry of an uncompressed tar stream, with its content.
pub fn read_tar(data: &[u8]) -> Result<Vec<(TarEntry, Vec<u8>)>, FormatError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let mut pax: BTreeMap<String, String> = BTreeMap::new();
    let mut long_name: Option<String> = None;
    while at + 512 <= data.len() {
        let h = &data[at..at + 512];
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let size = tar_number(&h[124..136]);
        let size_usize =
            usize::try_from(size).map_err(|_| err(format!("tar entry at {at} is too large")))?;
        let body_start = at + 512;
        let body_end = body_start
            .checked_add(size_usize)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| err(format!("tar entry at byte {at} runs past the end")))?;
        let body = &data[body_start..body_end];
        at = body_start + size_usize.div_ceil(512) * 512;
        let kind = h[156];
        match kind {
            b'x' => {
                pax = pax_records(body);
                continue;
            }
            b'g' => continue,
            b'L' => {
                long_name = Some(tar_string(body));
                continue;
            }
            _ => {}
        }
        let mut path = tar_string(&h[0..100]);
        let prefix = tar_string(&h[345..500]);
        if &h[257..262] == b"ustar" && !prefix.is_empty() {
            path = format!("{prefix}/{path}");
        }
        if let Some(n) = long_name.take() {
            path = n;
        }
        if let Some(p) = pax.get("path") {
            path.clone_from(p);
        }
        let pax_num = |k: &str, dflt: u64| {
            pax.get(k)
                .and_then(|v| v.split('.').next().and_then(|s| s.parse().ok()))
                .unwrap_or(dflt)
        };
        let entry = TarEntry {
            path,
            kind: if kind == 0 { b'0' } else { kind },
            mode: tar_number(&h[100..108]),
            uid: pax_num("uid", tar_number(&h[108..116])),
            gid: pax_num("gid", tar_number(&h[116..124])),
            mtime: pax_num("mtime", tar_number(&h[136..148])),
            size,
            link: pax
                .get("linkpath")
                .cloned()
                .unwrap_or_else(|| tar_string(&h[157..257])),
            content: hex::encode(Sha256::digest(body)),
        };
        pax.clear();
        out.push((entry, body.to_vec()));
    }
    Ok(out)
}

/// Inflates a gzip member (RFC 1952); other data is returned as is.
pub fn gunzip(data: &[u8]) -> Result<Vec<u8>, FormatError> {
    if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b {
        return Ok(data.to_vec());
    }
    let flags = data[3];
    let mut at = 10usize;
    if flags & 0x04 != 0 {
        let xlen = usize::from(u16::from_le_bytes([data[at], data[at + 1]]));
        at += 2 + xlen;
    }
    for bit in [0x08u8, 0x10] {
        if flags & bit != 0 {
            let end = data
                .get(at..)
                .and_then(|d| d.iter().position(|b| *b == 0))
                .ok_or_else(|| err("gzip header name/comment runs past the end"))?;
            at += end + 1;
        }
    }
    if flags & 0x02 != 0 {
        at += 2;
    }
    let body = data
        .get(at..)
        .ok_or_else(|| err("gzip header runs past the end"))?;
    miniz_oxide::inflate::decompress_to_vec(body)
        .map_err(|e| err(format!("gzip data is corrupt: {e:?}")))
}

impl Layout {
    /// Reads an OCI layout tarball.
    pub fn from_tar(data: &[u8]) -> Result<Layout, FormatError> {
        let mut layout = Layout::default();
        for (e, body) in read_tar(data)? {
            let path = e.path.trim_start_matches("./");
            if path == "index.json" {
                layout.index = body;
            } else if let Some(hexd) = path.strip_prefix("blobs/sha256/") {
                layout.blobs.insert(format!("sha256:{hexd}"), body);
            }
        }
        if layout.index.is_empty() {
            return Err(err("no index.json: not an OCI layout tarball"));
        }
        Ok(layout)
    }

    fn blob(&self, digest: &str) -> Result<&[u8], FormatError> {
        self.blobs
            .get(digest)
            .map(Vec::as_slice)
            .ok_or_else(|| err(format!("blob {digest} is missing from the layout")))
    }

    /// The digest of the image the layout holds: the one descriptor of
    /// `index.json` (the exporter's `containerimage.digest`).
    pub fn image_digest(&self) -> Result<String, FormatError> {
        let idx: serde_json::Value =
            serde_json::from_slice(&self.index).map_err(|e| err(format!("index.json: {e}")))?;
        idx["manifests"][0]["digest"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| err("index.json has no manifest"))
    }
}

/// Where two layouts first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// What was compared, e.g. `linux/arm64 layer 1`.
    pub at: String,
    pub left: String,
    pub right: String,
    /// What differs inside, when we could tell.
    pub detail: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} != {}", self.at, self.left, self.right)?;
        if let Some(d) = &self.detail {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

/// Every digest a layout holds, in walk order, labelled (`index`,
/// `linux/amd64 manifest`, `linux/amd64 config`, `linux/amd64 layer 0`...).
pub fn digests(layout: &Layout) -> Result<Vec<(String, String)>, FormatError> {
    let mut out = vec![("image".to_string(), layout.image_digest()?)];
    walk(layout, &layout.image_digest()?, "", &mut out)?;
    Ok(out)
}

fn walk(
    layout: &Layout,
    digest: &str,
    label: &str,
    out: &mut Vec<(String, String)>,
) -> Result<(), FormatError> {
    let v: serde_json::Value =
        serde_json::from_slice(layout.blob(digest)?).map_err(|e| err(format!("{digest}: {e}")))?;
    if let Some(manifests) = v["manifests"].as_array() {
        // An attestation manifest (platform unknown/unknown) is named
        // after the platform manifest it is about.
        let platforms: BTreeMap<&str, String> = manifests
            .iter()
            .filter(|m| m["platform"].is_object())
            .map(|m| {
                (
                    m["digest"].as_str().unwrap_or_default(),
                    crate::sbom::attached::platform(&m["platform"]),
                )
            })
            .collect();
        for m in manifests {
            let d = m["digest"].as_str().unwrap_or_default();
            let annotations = &m["annotations"];
            let plat = if annotations["vnd.docker.reference.type"] == "attestation-manifest" {
                let about = annotations["vnd.docker.reference.digest"]
                    .as_str()
                    .unwrap_or_default();
                format!(
                    "attestations of {}",
                    platforms.get(about).map_or(about, String::as_str)
                )
            } else if m["platform"].is_object() {
                crate::sbom::attached::platform(&m["platform"])
            } else {
                annotations["vnd.docker.reference.type"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string()
            };
            out.push((format!("{plat} manifest"), d.to_string()));
            walk(layout, d, &plat, out)?;
        }
    } else if v["config"].is_object() {
        let label = if label.is_empty() { "image" } else { label };
        let cfg = v["config"]["digest"].as_str().unwrap_or_default();
        out.push((format!("{label} config"), cfg.to_string()));
        if let Some(layers) = v["layers"].as_array() {
            for (i, l) in layers.iter().enumerate() {
                let d = l["digest"].as_str().unwrap_or_default();
                out.push((format!("{label} layer {i}"), d.to_string()));
            }
        }
    }
    Ok(())
}

/// The first difference between two layouts, or `None` when every digest
/// matches.
pub fn compare(left: &Layout, right: &Layout) -> Result<Option<Difference>, FormatError> {
    let a = digests(left)?;
    let b = digests(right)?;
    // Walk from the leaves up: the first differing leaf is the cause, the
    // differing index and manifests above it are only its consequence.
    let pairs: Vec<_> = a.iter().zip(b.iter()).collect();
    let first = pairs
        .iter()
        .rev()
        .filter(|((la, da), (lb, db))| la == lb && da != db)
        .map(|(x, _)| x.0.clone())
        .find(|l| l.contains("layer") || l.ends_with("config"));
    let first = match first {
        Some(f) => Some(f),
        None => pairs
            .iter()
            .find(|((la, da), (lb, db))| la != lb || da != db)
            .map(|(x, _)| x.0.clone()),
    };
    let Some(label) = first else {
        if a.len() != b.len() {
            return Ok(Some(Difference {
                at: "layout".into(),
                left: format!("{} blobs", a.len()),
                right: format!("{} blobs", b.len()),
                detail: None,
            }));
        }
        return Ok(None);
    };
    let da = lookup(&a, &label);
    let db = lookup(&b, &label);
    // An attestation's layer is an in-toto statement: JSON, not a tarball.
    let detail = if label.ends_with("config")
        || label.ends_with("manifest")
        || label.starts_with("attestations of")
    {
        first_line_difference(left.blob(&da)?, right.blob(&db)?)
    } else if label.contains("layer") {
        first_entry_difference(left.blob(&da)?, right.blob(&db)?)?
    } else {
        None
    };
    Ok(Some(Difference {
        at: label,
        left: da,
        right: db,
        detail,
    }))
}

fn lookup(list: &[(String, String)], label: &str) -> String {
    list.iter()
        .find(|(l, _)| l == label)
        .map(|(_, d)| d.clone())
        .unwrap_or_default()
}

/// The first differing line of two JSON documents, pretty-printed.
fn first_line_difference(a: &[u8], b: &[u8]) -> Option<String> {
    let pretty = |x: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(x)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| String::from_utf8_lossy(x).into_owned())
    };
    let (pa, pb) = (pretty(a), pretty(b));
    pa.lines()
        .zip(pb.lines())
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("first differing line: `{}` != `{}`", x.trim(), y.trim()))
}

/// The first differing entry of two (possibly gzip) layer tarballs.
fn first_entry_difference(a: &[u8], b: &[u8]) -> Result<Option<String>, FormatError> {
    let ea = read_tar(&gunzip(a)?)?;
    let eb = read_tar(&gunzip(b)?)?;
    for (x, y) in ea.iter().zip(eb.iter()) {
        if x.0 != y.0 {
            return Ok(Some(format!("first differing file: {} != {}", x.0, y.0)));
        }
    }
    if ea.len() != eb.len() {
        return Ok(Some(format!(
            "the layers have {} and {} entries",
            ea.len(),
            eb.len()
        )));
    }
    Ok(Some(
        "same files, different bytes: compression or tar header padding".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ustar header + body, padded.
    fn tar_entry(path: &str, body: &[u8], mtime: u64) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..path.len()].copy_from_slice(path.as_bytes());
        let oct = |v: u64, w: usize| format!("{v:0width$o}\0", width = w - 1).into_bytes();
        h[100..108].copy_from_slice(&oct(0o644, 8));
        h[108..116].copy_from_slice(&oct(0, 8));
        h[116..124].copy_from_slice(&oct(0, 8));
        h[124..136].copy_from_slice(&oct(body.len() as u64, 12));
        h[136..148].copy_from_slice(&oct(mtime, 12));
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        let mut out = h;
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    fn tar(entries: &[(&str, Vec<u8>, u64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (p, b, m) in entries {
            out.extend(tar_entry(p, b, *m));
        }
        out.extend(vec![0u8; 1024]);
        out
    }

    fn digest(b: &[u8]) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(b)))
    }

    /// A one-platform layout with one layer holding `/usr/bin/app`.
    fn layout(app_mtime: u64) -> Vec<u8> {
        layout_with(app_mtime, None)
    }

    /// [`layout`], with an SBOM attestation created at `sbom_created`.
    fn layout_with(app_mtime: u64, sbom_created: Option<&str>) -> Vec<u8> {
        let layer = tar(&[("usr/bin/app", b"\x7fELF...".to_vec(), app_mtime)]);
        let config =
            br#"{"architecture":"arm64","os":"linux","created":"1970-01-01T00:00:00Z"}"#.to_vec();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "config": {"digest": digest(&config), "size": config.len()},
            "layers": [{"digest": digest(&layer), "size": layer.len()}],
        })
        .to_string()
        .into_bytes();
        let mut manifests = vec![serde_json::json!(
            {"digest": digest(&manifest), "platform": {"os": "linux", "architecture": "arm64"}}
        )];
        let mut extra = Vec::new();
        if let Some(created) = sbom_created {
            let statement = serde_json::to_vec_pretty(&serde_json::json!({
                "_type": "https://in-toto.io/Statement/v0.1",
                "predicate": {"spdxVersion": "SPDX-2.3", "creationInfo": {"created": created}},
            }))
            .unwrap();
            let att = serde_json::json!({
                "schemaVersion": 2,
                "config": {"digest": digest(b"{}"), "size": 2},
                "layers": [{"digest": digest(&statement), "size": statement.len()}],
            })
            .to_string()
            .into_bytes();
            manifests.push(serde_json::json!({
                "digest": digest(&att),
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {
                    "vnd.docker.reference.type": "attestation-manifest",
                    "vnd.docker.reference.digest": digest(&manifest),
                },
            }));
            extra = vec![statement, att, b"{}".to_vec()];
        }
        let index = serde_json::json!({"schemaVersion": 2, "manifests": manifests})
            .to_string()
            .into_bytes();
        let top =
            serde_json::json!({"schemaVersion": 2, "manifests": [{"digest": digest(&index)}]})
                .to_string()
                .into_bytes();
        let mut files = vec![("index.json".to_string(), top, 0)];
        for b in [layer, config, manifest, index].into_iter().chain(extra) {
            files.push((format!("blobs/sha256/{}", &digest(&b)[7..]), b, 0));
        }
        let refs: Vec<(&str, Vec<u8>, u64)> = files
            .iter()
            .map(|(p, b, m)| (p.as_str(), b.clone(), *m))
            .collect();
        tar(&refs)
    }

    #[test]
    fn same_layouts_have_no_difference() {
        let a = Layout::from_tar(&layout(0)).unwrap();
        let b = Layout::from_tar(&layout(0)).unwrap();
        assert_eq!(compare(&a, &b).unwrap(), None);
        let labels: Vec<String> = digests(&a).unwrap().into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            labels,
            [
                "image",
                "linux/arm64 manifest",
                "linux/arm64 config",
                "linux/arm64 layer 0"
            ]
        );
    }

    #[test]
    fn names_the_file_whose_mtime_differs() {
        let a = Layout::from_tar(&layout(0)).unwrap();
        let b = Layout::from_tar(&layout(1_700_000_000)).unwrap();
        let d = compare(&a, &b).unwrap().unwrap();
        assert_eq!(d.at, "linux/arm64 layer 0");
        let detail = d.detail.unwrap();
        assert!(
            detail.starts_with("first differing file: usr/bin/app"),
            "{detail}"
        );
        assert!(
            detail.contains("mtime=0 ") && detail.contains("mtime=1700000000 "),
            "{detail}"
        );
    }

    #[test]
    fn walks_attestations_and_names_the_line_that_differs() {
        let a = Layout::from_tar(&layout_with(0, Some("2024-05-01T10:00:00Z"))).unwrap();
        let labels: Vec<String> = digests(&a).unwrap().into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            labels[4..],
            [
                "attestations of linux/arm64 manifest",
                "attestations of linux/arm64 config",
                "attestations of linux/arm64 layer 0"
            ]
        );
        let same = Layout::from_tar(&layout_with(0, Some("2024-05-01T10:00:00Z"))).unwrap();
        assert_eq!(compare(&a, &same).unwrap(), None);
        let b = Layout::from_tar(&layout_with(0, Some("2025-01-01T00:00:00Z"))).unwrap();
        let d = compare(&a, &b).unwrap().unwrap();
        assert_eq!(d.at, "attestations of linux/arm64 layer 0");
        let detail = d.detail.unwrap();
        assert!(detail.contains("2024-05-01T10:00:00Z"), "{detail}");
    }

    #[test]
    fn reads_pax_paths_and_gzip() {
        let mut pax_body = Vec::new();
        let rec = "path=a/very/long/path/name\n";
        let len = rec.len() + 3;
        pax_body.extend(format!("{len} {rec}").into_bytes());
        let mut data = tar_entry("PaxHeader", &pax_body, 0);
        data[156] = b'x';
        data.extend(tar(&[("short", b"x".to_vec(), 5)]));
        let entries = read_tar(&data).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0.path, "a/very/long/path/name");
        // Not gzip: returned unchanged.
        assert_eq!(gunzip(b"plain").unwrap(), b"plain");
    }
}
