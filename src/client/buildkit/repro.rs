//! Reproducible by contract: the exporter attributes that make two builds
//! of the same sources give the same digests, whatever the clock says.
//!
//! The times are set by the build itself: the image's file op stamps every
//! file with SOURCE_DATE_EPOCH and its config carries `created`
//! (`compiler::lower`), so the layer an exporter writes is already the same
//! bytes in every build, through `scratchc build` and through buildx alike.
//! No `rewrite-timestamp`: it would only re-compress the layer (another
//! blob digest for the same files than buildx makes) and forbid `unpack`.
//! What remains here:
//!
//! - `oci-mediatypes=true`: one fixed media type family, whatever the
//!   exporter's default;
//! - `source-date-epoch` (set by the export plan) clamps what BuildKit
//!   itself writes (history entries it adds, the image's creation time in
//!   the containerd store).
//!
//! Attestations (provenance, SBOM) are not requested: provenance records
//! start and finish times and would change the index digest on every
//! build. Pushes to registries that are not on loopback get
//! `registry.insecure=true` only with `--insecure-registry`.

use super::exporter::{DaemonKind, ExporterEntry};
use crate::image_ref::{is_loopback_host, registry_host};

/// Exporters that write image manifests.
fn is_image_exporter(kind: &str) -> bool {
    matches!(kind, "image" | "oci" | "docker" | "moby")
}

/// Adds the reproducibility attributes to every exporter that takes them.
/// The graph-driver store's `moby` exporter reads only `name`, so it is
/// left alone. `insecure`: the user allowed plain HTTP for non-loopback
/// registries.
pub fn harden_exporters(exporters: &mut [ExporterEntry], daemon: DaemonKind, insecure: bool) {
    if daemon == DaemonKind::DockerGraphDriver {
        return;
    }
    for e in exporters {
        if !is_image_exporter(&e.kind) {
            continue;
        }
        if e.kind != "docker" {
            e.attrs
                .entry("oci-mediatypes".into())
                .or_insert_with(|| "true".into());
        }
        let pushes = e.attrs.get("push").is_some_and(|v| v == "true");
        let remote = e
            .attrs
            .get("name")
            .is_some_and(|n| n.split(',').any(|r| !is_loopback_host(registry_host(r))));
        if pushes && insecure && remote {
            e.attrs
                .entry("registry.insecure".into())
                .or_insert_with(|| "true".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn entry(kind: &str, attrs: &[(&str, &str)]) -> ExporterEntry {
        ExporterEntry {
            kind: kind.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn image_exporters_get_oci_media_types_and_no_rewrite() {
        let mut ex = vec![
            entry("oci", &[("source-date-epoch", "0")]),
            entry("local", &[]),
            entry("moby", &[("name", "hello:latest")]),
            entry("docker", &[]),
        ];
        harden_exporters(&mut ex, DaemonKind::DockerContainerd, false);
        assert_eq!(ex[0].attrs["oci-mediatypes"], "true");
        assert!(ex[1].attrs.is_empty());
        assert_eq!(ex[2].attrs["oci-mediatypes"], "true");
        assert!(ex[3].attrs.is_empty(), "docker keeps its media types");
        for e in &ex {
            assert!(!e.attrs.contains_key("rewrite-timestamp"), "{e:?}");
        }
        let mut g = vec![entry("moby", &[("name", "x")])];
        harden_exporters(&mut g, DaemonKind::DockerGraphDriver, false);
        assert_eq!(g[0].attrs.len(), 1);
    }

    #[test]
    fn insecure_push_only_when_asked_and_remote() {
        let push = |name: &str| entry("image", &[("name", name), ("push", "true")]);
        let mut ex = vec![
            push("127.0.0.1:5000/hello:1"),
            push("ci.internal:5000/hello:1"),
        ];
        harden_exporters(&mut ex, DaemonKind::DockerContainerd, true);
        assert!(!ex[0].attrs.contains_key("registry.insecure"));
        assert_eq!(ex[1].attrs["registry.insecure"], "true");
        let mut ex = vec![push("ci.internal:5000/hello:1")];
        harden_exporters(&mut ex, DaemonKind::DockerContainerd, false);
        assert!(!ex[0].attrs.contains_key("registry.insecure"));
    }
}
