//! One app on the daemon, for the CLI and the frontend alike: resolve the
//! builder's config (unless the lock holds it), lower every platform in
//! one graph, solve the platforms concurrently, check each binary before
//! anything is exported, and shape the result the exporters read.
//!
//! Invariant: a failure names its place. A failing step keeps BuildKit's
//! typed details and gets every app.scratch line our source map ties to
//! its vertex (the app's line first, then the template's); a binary the
//! checks refuse is a diagnostic at the line that makes it.

use std::collections::BTreeMap;

use prost::Message;

use super::readback;
use super::{Plan, ResolveMode, golang, needs, sbom};
use crate::client::artefacts::elf::ElfProblem;
use crate::client::buildkit::binary::{self, BinaryError};
use crate::client::buildkit::gateway::{self, Gateway, Ref};
use crate::client::errors::{BuildError, locate_all};
use crate::compiler::model::{App, Build};
use crate::compiler::{Code, Diag, ImageConfig, Span, Target};
use crate::proto::moby::buildkit::v1::frontend as gw;
use crate::proto::pb;

/// Result metadata key of a definition's SHA-256 (`/<platform>` suffixed
/// for a multi-platform result). BuildKit copies `frontend.*` keys into the
/// exporter response, which is how tests compare the definition a build
/// solved with `scratchc llb`.
pub const DEFINITION_DIGEST_KEY: &str = "frontend.scratchc.definition.digest";

/// Result metadata key of the `local.unique` the context sources carry
/// (`scratchc llb --local-unique` reproduces the definition with it).
pub const LOCAL_UNIQUE_KEY: &str = "frontend.scratchc.local.unique";

/// An app solved on the daemon: the result to return, the definitions
/// that made it, and what the check of its binaries found.
#[derive(Clone, Debug)]
pub struct Solved {
    pub result: gw::Result,
    pub definitions: Vec<pb::Definition>,
    pub checked: Checked,
}

/// What reading the binaries back found beside the ELF check: their
/// runtime needs ([`needs`]).
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Warnings and notes, at the app's line (never errors: under
    /// `strict` the warnings fail the solve instead).
    pub diags: Vec<Diag>,
    /// One per platform, in target order.
    pub inspections: Vec<needs::Inspection>,
}

/// An app lowered for all its platforms, ready to solve.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub targets: Vec<Target>,
    /// The definitions sent, one per target: where a failure is looked up.
    pub definitions: Vec<pb::Definition>,
    /// The `local.unique` the context sources carry.
    pub local_unique: Option<String>,
    /// The configs of the builder images resolved on the daemon (those the
    /// lock does not hold), by reference.
    pub builders: BTreeMap<String, ImageConfig>,
    /// The manifest digests those builder images resolved to, by
    /// reference (for the SBOM).
    pub builder_digests: BTreeMap<String, String>,
}

/// Builds `app` of `plan` through `gateway` (see the module docs):
/// [`prepare`], then [`solve`].
pub async fn solve_app(gateway: &Gateway, plan: &Plan, app: &App) -> Result<Solved, BuildError> {
    let prepared = prepare(gateway, plan, app).await?;
    let (result, checked) = solve(gateway, plan, app, &prepared).await?;
    Ok(Solved {
        result,
        definitions: prepared.definitions,
        checked,
    })
}

/// Resolves the builder's config (unless the lock holds it) and lowers
/// every platform of `app` in one graph.
pub async fn prepare(gateway: &Gateway, plan: &Plan, app: &App) -> Result<Prepared, BuildError> {
    // The context transfer starts while the builder image is resolved: the
    // context op is the same one the build solves next (same digest), so
    // the daemon has it, or is getting it, by then.
    let (resolved, ()) = futures::join!(
        builder_config(gateway, plan, app),
        warm_context(gateway, plan, app)
    );
    let resolved = resolved?;
    let builders: BTreeMap<String, ImageConfig> = resolved
        .iter()
        .map(|(k, r)| (k.clone(), r.config.clone()))
        .collect();
    let builder_digests = resolved.into_iter().map(|(k, r)| (k, r.digest)).collect();
    let lower = plan.lower_options(app, builders.clone());
    let targets = plan.targets(app, &lower)?;
    let mut definitions = Vec::with_capacity(targets.len());
    for t in &targets {
        let def = pb::Definition::decode(t.definition.as_slice()).map_err(|e| BuildError::Daemon {
            call: "compile",
            message: format!(
                "the compiled definition does not decode ({e}); a bug in scratchc, please report it"
            ),
        })?;
        definitions.push(def);
    }
    Ok(Prepared {
        targets,
        definitions,
        local_unique: lower.local_unique,
        builders,
        builder_digests,
    })
}

/// Solves the platforms of a prepared app concurrently, checks each binary
/// before anything is exported (its ELF header, then its runtime needs),
/// reads it back once more ([`readback`]) for the SBOM ([`sbom`]) when
/// the app has one, and shapes the result with its attestations. Under
/// `strict` (the app's or the settings'), a runtime need the image does
/// not meet is an error.
pub async fn solve(
    gateway: &Gateway,
    plan: &Plan,
    app: &App,
    prepared: &Prepared,
) -> Result<(gw::Result, Checked), BuildError> {
    let binary_path = &app.image.binary.node;
    let with_sbom = plan.sbom(app);
    if with_sbom {
        require_attestations(gateway).await?;
    }
    let epoch = plan.settings.epoch;
    let jobs = prepared
        .targets
        .iter()
        .zip(&prepared.definitions)
        .map(|(t, def)| async move {
            let result = gateway
                .solve(def.clone())
                .await
                .map_err(|e| locate(e, def))?;
            // Reading the binary runs the lazy solve: a failing step shows
            // up here, with its details. Before export: the binary must be
            // a static executable for this platform.
            binary::check_binary(&result, binary_path, &t.platform)
                .await
                .map_err(|e| binary_error(e, app, plan, def))?;
            // Read back once: the runtime needs take the Go tables, the
            // SBOM the same tables and the digests.
            let back = readback::read_back(&result, binary_path, &t.platform, with_sbom).await;
            let inspection = needs::inspect(&back);
            let mut made = None;
            if with_sbom {
                let builders = &prepared.builder_digests;
                made = Some(sbom::make(gateway, &result, app, &back, builders, epoch).await?);
            }
            Ok::<(Ref, needs::Inspection, Option<sbom::Made>), BuildError>((
                result, inspection, made,
            ))
        });
    let mut refs = Vec::new();
    let mut inspections = Vec::new();
    let mut made = Vec::new();
    for (r, i, m) in futures::future::try_join_all(jobs).await? {
        refs.push(r);
        inspections.push(i);
        made.extend(m);
    }
    let diags = needs::report(app, &inspections);
    if plan.settings.strict || app.strict {
        let errors = needs::as_errors(&diags);
        if !errors.is_empty() {
            return Err(BuildError::diagnostics(errors, &plan.sources));
        }
    }
    let checked = Checked { diags, inspections };

    let multi = plan.settings.multi_platform;
    let several = prepared.targets.len() > 1 || multi;
    let mut metadata = BTreeMap::new();
    if let Some(u) = &prepared.local_unique {
        metadata.insert(LOCAL_UNIQUE_KEY.to_string(), u.clone().into_bytes());
    }
    let mut parts = Vec::with_capacity(refs.len());
    for (t, r) in prepared.targets.iter().zip(refs) {
        let digest = crate::llb::digest(&t.definition).into_bytes();
        let key = if several {
            format!("{DEFINITION_DIGEST_KEY}/{}", t.platform.id())
        } else {
            DEFINITION_DIGEST_KEY.to_string()
        };
        metadata.insert(key, digest);
        parts.push((t.platform.clone(), r.id, t.config.clone()));
    }
    let mut result = gateway::image_result(parts, multi);
    result.metadata.extend(metadata);
    result.metadata.extend(sbom::summary_metadata(&made));
    result.attestations = sbom::attestations(&made);
    Ok((result, checked))
}

/// The digest of the vertex that makes a definition's result (the image's
/// file op): the input of its terminal op.
pub fn image_vertex(def: &pb::Definition) -> Option<String> {
    let last = pb::Op::decode(def.def.last()?.as_slice()).ok()?;
    last.inputs.first().map(|i| i.digest.clone())
}

/// Fails unless the daemon takes attestations in a result (BuildKit 0.11
/// and later, Docker Engine 23 and later).
async fn require_attestations(gateway: &Gateway) -> Result<(), BuildError> {
    let caps = gateway.ping().await?;
    if caps.frontend.contains(sbom::CAP_ATTESTATIONS) {
        return Ok(());
    }
    Err(BuildError::Unsupported {
        what: format!(
            "this BuildKit cannot store attestations (no `{}` capability), so the image cannot carry its SBOM",
            sbom::CAP_ATTESTATIONS
        ),
        help: "use BuildKit 0.11 or later (Docker Engine 23 or later), or build without the SBOM: \
               --sbom=false, or `sbom false` in the app"
            .into(),
    })
}

/// Solves the app's context source alone, now. Best effort: a failure
/// here shows again, with its details, when the build solves it.
async fn warm_context(gateway: &Gateway, plan: &Plan, app: &App) {
    let lower = plan.lower_options(app, BTreeMap::new());
    let Ok(bytes) =
        crate::compiler::lower::context_definition(app, &plan.sources, &plan.options(), &lower)
    else {
        return;
    };
    if let Ok(def) = pb::Definition::decode(bytes.as_slice()) {
        let _ = gateway.evaluate(def).await;
    }
}

/// Builder images resolved on the daemon during one run, by reference:
/// apps built at once with one builder resolve it once (the first asks,
/// the others wait for its answer).
#[derive(Clone, Debug, Default)]
pub struct Resolved(std::sync::Arc<tokio::sync::Mutex<BTreeMap<String, gateway::ResolvedImage>>>);

/// The config of the app's builder image when the lock does not hold it,
/// keyed as `LowerOptions::builder_configs` wants.
async fn builder_config(
    gateway: &Gateway,
    plan: &Plan,
    app: &App,
) -> Result<BTreeMap<String, gateway::ResolvedImage>, BuildError> {
    let Build::Compile(c) = &app.build else {
        return Ok(BTreeMap::new());
    };
    let image = c.builder.node.to_string();
    if plan
        .lock
        .as_ref()
        .is_some_and(|l| l.builder_configs().contains_key(&image))
    {
        return Ok(BTreeMap::new());
    }
    let mut memo = plan.resolved.0.lock().await;
    if let Some(r) = memo.get(&image) {
        return Ok(BTreeMap::from([(image, r.clone())]));
    }
    let platform = &plan.settings.build_platform;
    let resolved = match plan.settings.resolve {
        ResolveMode::Pull => gateway.resolve_image_config(&image, platform, "pull").await,
        ResolveMode::LocalFirst => match gateway
            .resolve_image_config(&image, platform, "local")
            .await
        {
            Ok(r) => Ok(r),
            Err(_) => {
                gateway
                    .resolve_image_config(&image, platform, "default")
                    .await
            }
        },
    };
    let resolved = resolved.map_err(|e| BuildError::Daemon {
        call: "LLBBridge.ResolveImageConfig",
        message: format!("cannot find the builder image {image}: {e}"),
    })?;
    memo.insert(image.clone(), resolved.clone());
    Ok(BTreeMap::from([(image, resolved)]))
}

/// A step failure with every place our source map ties to its vertex: the
/// daemon's own detail names only one.
fn locate(e: BuildError, def: &pb::Definition) -> BuildError {
    let BuildError::Step(mut f) = e else {
        return e;
    };
    if let Some(v) = &f.vertex {
        let mut all = locate_all(def, v);
        if !all.is_empty() {
            f.location = Some(all.remove(0));
            f.also = all;
        }
    }
    BuildError::Step(f)
}

/// A failed binary check: a failing step keeps its details; a binary that
/// is missing or wrong is a diagnostic at the line that makes it.
fn binary_error(e: BinaryError, app: &App, plan: &Plan, def: &pb::Definition) -> BuildError {
    let (code, label) = match &e {
        BinaryError::Solve(s) => {
            return locate(BuildError::from_status("LLBBridge.ReadFile", s), def);
        }
        BinaryError::Read { .. } => (Code::NoBinary, "this build wrote no binary there"),
        BinaryError::Check(c) if is_archive(&c.problem) => {
            return not_a_main_package(app, plan, &c.path);
        }
        BinaryError::Check(_) => (Code::BinaryMismatch, "this build made the binary"),
    };
    let mut message = e.to_string();
    let help = message
        .split_once("\n  help: ")
        .map(|(m, h)| (m.to_string(), h.to_string()));
    let mut d = Diag::new(code, message.clone());
    if let Some((m, h)) = help {
        message = m;
        d = Diag::new(code, message).help(h);
    }
    let d = d.at(binary_span(app), label);
    BuildError::diagnostics(vec![d], &plan.sources)
}

/// Whether the build wrote an `ar` archive: what `go build -o` makes of a
/// package that is not `package main`.
fn is_archive(p: &ElfProblem) -> bool {
    matches!(p, ElfProblem::NotElf { head } if head.starts_with(b"!<ar"))
}

/// An archive where the binary should be: the package built is a library.
/// Shown at the line that set `main` (the `go` template), else where the
/// binary is made.
fn not_a_main_package(app: &App, plan: &Plan, path: &str) -> BuildError {
    let span = golang::main_span(app).unwrap_or_else(|| binary_span(app));
    let d = Diag::new(
        Code::NotMain,
        format!("the build wrote a package archive to {path}, not a program: the package built is not `package main`"),
    )
    .at(span, "not a main package")
    .help("name the directory of the `package main` that has `func main` (e.g. `main ./cmd/NAME`); a library package builds to an archive");
    BuildError::diagnostics(vec![d], &plan.sources)
}

/// The line of app.scratch a binary problem is shown on: the build command
/// (`build-run`) or the prebuilt binary (`binary-from`) when the user's
/// file sets it, else the `app` line (the command then comes from a
/// template, and a user-set `build-env` or `build-arg` in the app block is
/// the usual cause).
fn binary_span(app: &App) -> Span {
    let own = match &app.build {
        Build::Compile(c) => c.run.span,
        Build::Prebuilt { src } => src.span,
    };
    if own.file == 0 { own } else { app.span }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::client::artefacts::elf::BinaryCheckError;
    use crate::compiler::{Options, Platform, Sources, check};

    /// A binary the build did not write (E0501), one that is wrong (E0500)
    /// and a package archive (E0502): each a diagnostic at the line that
    /// makes the binary, with its help.
    #[test]
    fn binary_problems_are_diagnostics_at_the_line() {
        let text = "app hello {\n  build-run go build -o ${OUT} .\n}\n";
        let sources = Sources::new("app.scratch", text);
        let program = check(&sources, &Options::default()).unwrap();
        let app = program.apps[0].clone();
        let plan = Plan {
            settings: Default::default(),
            sources,
            program,
            lock: None,
            excludes: Vec::new(),
            absent: Default::default(),
            present: Default::default(),
            resolved: Default::default(),
        };
        let line = text.find("build-run").unwrap();
        let platform = Platform::linux_amd64();
        let path = "/usr/bin/hello".to_string();
        let diag = |e: BinaryError| match binary_error(e, &app, &plan, &Default::default()) {
            BuildError::Diagnostics { diags, .. } => diags.into_iter().next().unwrap(),
            other => panic!("not a diagnostic: {other:?}"),
        };
        let missing = diag(BinaryError::Read {
            platform: platform.clone(),
            path: path.clone(),
            call: "LLBBridge.StatFile",
            message: "no such file or directory".into(),
        });
        let check = |problem| {
            diag(BinaryError::Check(BinaryCheckError {
                platform: platform.clone(),
                path: path.clone(),
                problem,
            }))
        };
        let dynamic = check(ElfProblem::Interpreter {
            path: "/lib64/ld-linux-x86-64.so.2".into(),
        });
        let archive = check(ElfProblem::NotElf {
            head: b"!<arch>\n".to_vec(),
        });
        for (d, code) in [
            (&missing, Code::NoBinary),
            (&dynamic, Code::BinaryMismatch),
            (&archive, Code::NotMain),
        ] {
            assert_eq!(d.code, code, "{d:?}");
            assert_eq!(d.span.map(|s| s.start), Some(line), "{d:?}");
            assert!(d.help.is_some(), "{d:?}");
            assert!(!d.message.contains("help:"), "{d:?}");
        }
        assert!(missing.message.contains("/usr/bin/hello"), "{missing:?}");
    }
}
