//! `scratchc build` when nothing changed: if the definitions, the context
//! and the destination are those of the last successful build to the same
//! destination ([`crate::build::record`]), the build says so and does not
//! run. Otherwise, after a build, the record is written for next time.
//!
//! What is compared, in order, each a reason to build when it differs:
//! 1. a record exists for this daemon address, context, app and outputs,
//!    and the build is not `--no-cache`, `--push`, `--update-lock` or a
//!    cache export;
//! 2. the context's metadata fingerprint;
//! 3. each builder the daemon resolved: the engine's id of its tag;
//! 4. the definitions and image configs, lowered again offline with the
//!    recorded builder configs: their digests (the config alone can
//!    change: a git tag's version label);
//! 5. each destination: the engine's id of each image name, the
//!    fingerprint of each file or directory written.
//!
//! Only the Docker Engine can be asked about its images (its HTTP API on a
//! unix socket); on a buildkitd or a TCP Engine, only file outputs are
//! checked, and a build with `-t` always runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::build::record::{self, Builder, Held, Record};
use crate::build::run::Prepared;
use crate::build::{NoCache, Plan};
use crate::client::Endpoint;
use crate::client::artefacts::engine;
use crate::client::buildkit::exporter::Outputs;
use crate::compiler::model::App;

/// Where one app's record is kept, when the build may use one.
pub(super) struct Slot {
    dir: PathBuf,
    key: String,
    /// The Engine's socket, to ask about images.
    socket: Option<PathBuf>,
}

/// The record slot of `app` built to `outputs`, or `None` when this build
/// must run whatever a record says (see the module docs).
pub(super) fn slot(
    endpoint: &Endpoint,
    file: &std::path::Path,
    plan: &Plan,
    app: &App,
    outputs: &Outputs,
    exports_cache: bool,
    update_lock: bool,
) -> Option<Slot> {
    if outputs.push || exports_cache || update_lock || plan.settings.no_cache != NoCache::Off {
        return None;
    }
    let socket = match endpoint {
        Endpoint::DockerUnix(p) => Some(p.clone()),
        _ => None,
    };
    if !outputs.names.is_empty() && socket.is_none() {
        return None;
    }
    let file = std::fs::canonicalize(file).ok()?;
    let mut parts = vec![
        endpoint.to_string(),
        file.display().to_string(),
        app.name.node.clone(),
        // With or without its SBOM, the same definitions make another
        // image index.
        format!("sbom={}", plan.sbom(app)),
    ];
    parts.extend(outputs.names.iter().map(|n| format!("name={n}")));
    for f in &outputs.files {
        let attrs: Vec<String> = f.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(format!(
            "{}:{}:{}",
            f.kind,
            std::path::absolute(&f.dest)
                .unwrap_or_else(|_| f.dest.clone())
                .display(),
            attrs.join(",")
        ));
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    Some(Slot {
        dir: record::store_dir()?,
        key: record::key(&refs),
        socket,
    })
}

/// The record of the last build when nothing changed since it (see the
/// module docs); `None` means build.
pub(super) async fn unchanged(
    slot: &Slot,
    plan: &Plan,
    app: &App,
    context: &str,
) -> Option<Record> {
    let r = record::load(&slot.dir, &slot.key)?;
    if r.context != context {
        return None;
    }
    let mut configs = BTreeMap::new();
    for (image, b) in &r.builders {
        if engine_id(slot, image).await? != b.id {
            return None;
        }
        configs.insert(image.clone(), b.config());
    }
    let lower = plan.lower_options(app, configs);
    let targets = plan.targets(app, &lower).ok()?;
    let digests: Vec<String> = targets.iter().map(made).collect();
    if digests != r.definitions {
        return None;
    }
    for held in &r.outputs {
        let same = match held {
            Held::Image { name, id } => engine_id(slot, name).await.as_ref() == Some(id),
            Held::Path { path, fingerprint } => {
                record::fingerprint_output(path).ok().as_ref() == Some(fingerprint)
            }
        };
        if !same {
            return None;
        }
    }
    Some(r)
}

/// What a target makes, as one digest: its definition and its image
/// config. The config is not in the definition, and it can change alone
/// (a new git tag gives another version label, with `.git` not in the
/// context to say so).
fn made(t: &crate::compiler::Target) -> String {
    let mut bytes = t.definition.clone();
    bytes.extend_from_slice(b"\0config\0");
    bytes.extend_from_slice(&t.config);
    crate::llb::digest(&bytes)
}

/// The engine's id of `image`, when there is an engine to ask and it has
/// the image.
async fn engine_id(slot: &Slot, image: &str) -> Option<String> {
    engine::image_id(slot.socket.as_deref()?, image)
        .await
        .ok()?
}

/// After a successful build: records what it made. A record that cannot
/// be made (the engine does not answer, a destination cannot be read) is
/// simply not written: the next build runs.
pub(super) async fn remember(
    slot: &Slot,
    prepared: &Prepared,
    outputs: &Outputs,
    context: &str,
    image: Option<&str>,
) {
    let made = async {
        let mut builders = BTreeMap::new();
        for (image, config) in &prepared.builders {
            let id = engine_id(slot, image).await?;
            builders.insert(image.clone(), Builder::new(id, config));
        }
        let mut held = Vec::new();
        for name in &outputs.names {
            let id = engine_id(slot, name).await?;
            held.push(Held::Image {
                name: name.clone(),
                id,
            });
        }
        for f in &outputs.files {
            held.push(Held::Path {
                path: std::path::absolute(&f.dest).ok()?,
                fingerprint: record::fingerprint_output(&f.dest).ok()?,
            });
        }
        Some(Record {
            version: record::VERSION,
            definitions: prepared.targets.iter().map(made).collect(),
            builders,
            context: context.to_string(),
            outputs: held,
            image: image.map(str::to_string),
        })
    };
    match made.await {
        Some(r) => {
            let _ = record::save(&slot.dir, &slot.key, &r);
        }
        None => record::forget(&slot.dir, &slot.key),
    }
}

/// Forgets the record of a build that did not finish: what its
/// destination holds is no longer known.
pub(super) fn forget(slot: &Slot) {
    record::forget(&slot.dir, &slot.key);
}

/// The summary line's digest: the one the build reported, as then.
pub(super) fn digest(r: &Record) -> Option<&str> {
    r.image.as_deref()
}
