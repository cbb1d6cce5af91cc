//! The OCI image config of a target (`containerimage.config`): platform,
//! runtime config, an empty layer list (the exporter fills in `diff_ids`).
//! No timestamps (`created`, `history`), so the same app gives the same
//! bytes; keys in a fixed order, and only keys that have values.

use serde_json::{Map, Value, json};

use super::super::model;
use super::super::{Diag, Platform};

/// The image config JSON of `app` for `platform`.
#[allow(clippy::result_large_err)] // Diag is the compiler's one error type
pub fn image_config(app: &model::App, platform: &Platform) -> Result<Vec<u8>, Diag> {
    let img = &app.image;
    let mut cfg = Map::new();
    cfg.insert("Entrypoint".into(), json!(img.entrypoint.node));
    if let Some(cmd) = &img.cmd {
        cfg.insert("Cmd".into(), json!(cmd.node));
    }
    if !img.env.is_empty() {
        let env: Vec<String> = img
            .env
            .iter()
            .map(|e| format!("{}={}", e.node.0, e.node.1))
            .collect();
        cfg.insert("Env".into(), json!(env));
    }
    if !img.ports.is_empty() {
        let ports: Map<String, Value> = img
            .ports
            .iter()
            .map(|p| (p.node.to_string(), json!({})))
            .collect();
        cfg.insert("ExposedPorts".into(), Value::Object(ports));
    }
    if !img.volumes.is_empty() {
        let vols: Map<String, Value> = img
            .volumes
            .iter()
            .map(|v| (v.node.clone(), json!({})))
            .collect();
        cfg.insert("Volumes".into(), Value::Object(vols));
    }
    if let Some(w) = &img.workdir {
        cfg.insert("WorkingDir".into(), json!(w.node));
    }
    cfg.insert("User".into(), json!(img.user.node.to_string()));
    if !img.labels.is_empty() {
        let labels: Map<String, Value> = img
            .labels
            .iter()
            .map(|l| (l.node.0.clone(), json!(l.node.1)))
            .collect();
        cfg.insert("Labels".into(), Value::Object(labels));
    }

    let mut top = Map::new();
    top.insert("architecture".into(), json!(platform.arch));
    top.insert("os".into(), json!(platform.os));
    if let Some(v) = &platform.variant {
        top.insert("variant".into(), json!(v));
    }
    top.insert("config".into(), Value::Object(cfg));
    top.insert("rootfs".into(), json!({"type": "layers", "diff_ids": []}));
    // One history entry for the one layer. Without it the exporter writes
    // its own, whose `created_by` names where the layer came from (the
    // step, or "imported sha256:..." when it was restored from a registry
    // cache): the same image would then get a different config digest
    // depending on the state of the build cache. `created` is left out;
    // the exporter sets it to SOURCE_DATE_EPOCH.
    top.insert(
        "history".into(),
        json!([{"created_by": format!("scratchc: app {} for {platform}", app.name.node), "comment": "scratchc"}]),
    );
    serde_json::to_vec(&Value::Object(top)).map_err(|e| {
        Diag::new(
            "scratch::internal",
            format!("could not write the image config: {e}"),
        )
        .help("this is a bug in scratchc; please report it")
    })
}
