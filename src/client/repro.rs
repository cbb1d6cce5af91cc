//! Reproducible by contract: the exporter attributes that make two builds
//! of the same sources give the same digests, whatever the clock says.
//!
//! On top of `source-date-epoch` (set by the export plan from
//! [`super::epoch`]):
//!
//! - `rewrite-timestamp=true` (BuildKit 0.13+): every file in the layers
//!   gets its mtime clamped to the epoch, so directories made at build time
//!   and the binary written by the compiler no longer carry "now";
//! - `oci-mediatypes=true`: one fixed media type family, whatever the
//!   exporter's default.
//!
//! Attestations (provenance, SBOM) are not requested: provenance records
//! start and finish times and would change the index digest on every
//! build. Pushes to registries that are not on loopback get
//! `registry.insecure=true` only with `--insecure-registry`.

use super::cache::{is_loopback_host, registry_host};
use super::exporter::{DaemonKind, ExporterEntry};

/// Exporters that write image manifests (and so can rewrite timestamps).
fn is_image_exporter(kind: &str) -> bool {
    matches!(kind, "image" | "oci" | "docker" | "moby")
}

/// Adds the reproducibility attributes to every exporter that takes them.
///
/// BuildKit refuses `rewrite-timestamp` together with `unpack` (it would
/// have to rewrite the layers after unpacking them). So an exporter that
/// unpacks gets no rewrite unless it pushes, and then `unpack` is dropped
/// (the pushed image is the one that must be reproducible). The export
/// plan never asks for `unpack` on the containerd store: `-t` there uses
/// the `image` exporter with `unpack=false` (the Engine unpacks on
/// container create), so loaded images are bit-for-bit too. Only the
/// Engine's `moby` exporter, which always unpacks, stays without a rewrite
/// (docs/reproducibility.md). The graph-driver store's `moby` exporter
/// reads only `name`, so it is left alone. `insecure`: the user allowed
/// plain HTTP for non-loopback registries.
pub fn harden_exporters(exporters: &mut [ExporterEntry], daemon: DaemonKind, insecure: bool) {
    if daemon == DaemonKind::DockerGraphDriver {
        return;
    }
    for e in exporters {
        if !is_image_exporter(&e.kind) {
            continue;
        }
        let pushes = e.attrs.get("push").is_some_and(|v| v == "true");
        let unpacks = e.kind == "moby" || e.attrs.get("unpack").is_some_and(|v| v == "true");
        if unpacks && pushes && e.kind == "image" {
            e.attrs.insert("unpack".into(), "false".into());
        }
        if !unpacks || pushes {
            e.attrs
                .entry("rewrite-timestamp".into())
                .or_insert_with(|| "true".into());
        }
        if e.kind != "docker" {
            e.attrs
                .entry("oci-mediatypes".into())
                .or_insert_with(|| "true".into());
        }
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
    fn image_exporters_rewrite_timestamps() {
        let mut ex = vec![
            entry("oci", &[("source-date-epoch", "0")]),
            entry("local", &[]),
            entry("moby", &[("name", "hello:latest")]),
        ];
        harden_exporters(&mut ex, DaemonKind::DockerContainerd, false);
        assert_eq!(ex[0].attrs["rewrite-timestamp"], "true");
        assert_eq!(ex[0].attrs["oci-mediatypes"], "true");
        assert!(ex[1].attrs.is_empty());
        // `moby` always unpacks, which BuildKit refuses with a rewrite.
        assert!(!ex[2].attrs.contains_key("rewrite-timestamp"));
        assert_eq!(ex[2].attrs["oci-mediatypes"], "true");
        // The plan's `-t` on the containerd store: not unpacked, rewritten.
        let mut t = vec![entry("image", &[("name", "h:1"), ("unpack", "false")])];
        harden_exporters(&mut t, DaemonKind::DockerContainerd, false);
        assert_eq!(t[0].attrs["rewrite-timestamp"], "true");
        let mut g = vec![entry("moby", &[("name", "x")])];
        harden_exporters(&mut g, DaemonKind::DockerGraphDriver, false);
        assert_eq!(g[0].attrs.len(), 1);
    }

    #[test]
    fn push_drops_unpack_for_the_rewrite() {
        let mut ex = vec![entry(
            "image",
            &[
                ("name", "127.0.0.1:5000/h:1"),
                ("push", "true"),
                ("unpack", "true"),
            ],
        )];
        harden_exporters(&mut ex, DaemonKind::DockerContainerd, false);
        assert_eq!(ex[0].attrs["unpack"], "false");
        assert_eq!(ex[0].attrs["rewrite-timestamp"], "true");
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
        assert_eq!(ex[0].attrs["rewrite-timestamp"], "true");
        assert_eq!(ex[1].attrs["registry.insecure"], "true");
        let mut ex = vec![push("ci.internal:5000/hello:1")];
        harden_exporters(&mut ex, DaemonKind::DockerContainerd, false);
        assert!(!ex[0].attrs.contains_key("registry.insecure"));
    }
}
