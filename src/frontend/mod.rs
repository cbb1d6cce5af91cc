//! The BuildKit gateway frontend: `# syntax=scratchc/frontend:0.1` as the
//! first line of an app.scratch makes `docker buildx build -f app.scratch .`
//! run this code inside the daemon, with no scratchc on the user's side.
//!
//! BuildKit starts the frontend image's entrypoint with the build options in
//! `BUILDKIT_FRONTEND_OPT_<i>` variables and the LLBBridge gRPC service on
//! stdin/stdout ([`stdio`]). The run:
//! 1. read the app.scratch (and its imports) from the `dockerfile` local,
//!    and `.dockerignore` from the `context` local;
//! 2. check the program; answer a subrequest (`--print targets|outline`)
//!    if one was asked;
//! 3. resolve the builder image's config, compile with
//!    [`crate::compiler::compile`] (the very function `scratchc llb` and
//!    `scratchc build` call, so the definitions are byte-identical for the
//!    same inputs), solve each platform's definition;
//! 4. `Return` the refs and image configs, or an error whose details point
//!    at the offending lines of app.scratch.
//!
//! Besides the usual result metadata, the frontend records the SHA-256 of
//! each definition it solved under `frontend.scratchc.definition.digest`
//! (`/<platform>` suffixed for multi-platform builds) and the `local.unique`
//! of its context sources (the client session id, so concurrent builds of
//! other trees are never merged) under `frontend.scratchc.local.unique`.
//! BuildKit copies `frontend.*` keys into the build's exporter response,
//! which is how tests compare the definition with
//! `scratchc llb --format pb --local-unique ID`.

pub mod bridge;
pub mod errors;
pub mod local;
pub mod opts;
pub mod stdio;
pub mod subrequest;

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;

use crate::client::binary::{self, BinaryError};
use crate::client::gateway::{self, Caps, SolvedRef};
use crate::client::inputs;
use crate::client::lock::{self, Lock};
use crate::compiler::model::{App, Build, Program};
use crate::compiler::sources::{self, MAX_FILE_BYTES, Unreadable};
use crate::compiler::{self, ImageConfig, Options, Platform, Sources, Span, check, lower};
use crate::proto::google::rpc::Status;
use crate::proto::moby::buildkit::v1::frontend as gw;
use crate::proto::pb;

pub use bridge::{Bridge, Output};
pub use opts::{Environment, FrontendOpts, started_by_buildkit};

/// The image name the docs, examples and scripts use.
pub const IMAGE: &str = "scratchc/frontend:0.1";

/// Result metadata key of a definition's SHA-256.
pub const DEFINITION_DIGEST_KEY: &str = "frontend.scratchc.definition.digest";

/// Result metadata key of the `local.unique` the context sources carry
/// (`scratchc llb --local-unique` reproduces the definition with it).
pub const LOCAL_UNIQUE_KEY: &str = "frontend.scratchc.local.unique";

/// Why the frontend could not even report an outcome to BuildKit.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error(transparent)]
    Opts(#[from] opts::OptsError),
    #[error(transparent)]
    Stdio(#[from] stdio::StdioError),
    #[error("BuildKit did not accept the frontend's result: {0}")]
    Return(tonic::Status),
    #[error("{0}")]
    Bridge(String),
}

/// The process entry of frontend mode (`scratchc frontend`, or the binary
/// started by BuildKit with no arguments): runs [`run`] on a runtime of its
/// own. The exit code only says whether the outcome reached BuildKit: a
/// failed build is reported through BuildKit and still exits 0, as Go
/// frontends do.
pub fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    let rt = match crate::client::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scratchc frontend: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scratchc frontend: {e}");
            ExitCode::FAILURE
        }
    };
    // Reading stdin parks a blocking thread that only returns when the
    // daemon closes the pipe, and the daemon waits for us to exit first:
    // a plain drop of the runtime would wait for that thread forever.
    rt.shutdown_background();
    code
}

/// Whether this process, started with no arguments, should act as the
/// frontend: BuildKit set its variables, or it runs as `/run` (BuildKit's
/// default entrypoint for frontend images).
pub fn wanted_without_args() -> bool {
    let argv0_is_run = std::env::args_os().next().is_some_and(|a| {
        std::path::Path::new(&a)
            .file_name()
            .is_some_and(|n| n == "run")
    });
    std::env::args_os().len() <= 1 && (started_by_buildkit() || argv0_is_run)
}

/// Runs one frontend invocation against the daemon on stdin/stdout. A
/// build failure is reported to BuildKit and is not an error here; only a
/// failure to talk to BuildKit at all is.
pub async fn run() -> Result<(), FrontendError> {
    let env = Environment::from_env()?;
    let channel = stdio::channel().await?;
    let mut bridge = Bridge::new(channel);
    let pong = bridge
        .ping()
        .await
        .map_err(|s| FrontendError::Bridge(s.message))?;
    let caps = Caps::from_pong(&pong);
    let outcome = build(&mut bridge, &env, &caps).await;
    if let Err(st) = &outcome {
        eprintln!("scratchc frontend: {}", st.message);
    }
    bridge.finish(outcome).await.map_err(FrontendError::Return)
}

/// The whole build, as an outcome to `Return`. It mirrors `scratchc build`
/// step for step (`cli/build.rs`: the build platform from the workers,
/// builder configs resolved from the local store first, then one
/// `compiler::lower::lower` per platform), so both make the same images.
pub async fn build(bridge: &mut Bridge, env: &Environment, caps: &Caps) -> Result<Output, Status> {
    let o = &env.opts;
    // The sources and `.dockerignore` come from different locals: read
    // them at the same time (each is a round trip to the client).
    let mut other = bridge.clone();
    let (loaded, excludes) = tokio::join!(
        load_sources(bridge, env),
        read_dockerignore(&mut other, env)
    );
    let (sources, lock_text) = loaded?;
    let mut options = compile_options(env)?;
    if let Some(p) = caps.build_platform() {
        options.build_platform = p.clone();
    }
    let mut program = compiler::check(&sources, &options)
        .map_err(|d| errors::diagnostics_status(&d, &sources))?;
    // scratch.lock, as `scratchc build` applies it: refuse a stale lock,
    // pin the builders to their locked digests, take their configs.
    let locked = match &lock_text {
        Some(text) => {
            let name = lock_name(&o.filename);
            let path = std::path::Path::new(&name);
            let l = Lock::parse(text, path)
                .map_err(|e| errors::plain_status(errors::CODE_UNKNOWN, e.to_string()))?;
            inputs::pin(&l, path, &mut program, &sources, &options.build_platform)
                .map_err(|e| errors::plain_status(errors::CODE_UNKNOWN, e.to_string()))?;
            Some(l)
        }
        None => None,
    };
    let default_app = default_app(&program);

    if let Some(id) = &o.request_id {
        let metadata = subrequest::answer(id, &program, &sources, o.target.as_deref(), default_app)
            .map_err(|e| errors::unsupported_subrequest(&e.0))?;
        return Ok(Output {
            metadata,
            ..Default::default()
        });
    }

    let app_name = match (o.target.as_deref(), default_app) {
        (Some(t), _) => t.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            let names: Vec<&str> = program.apps.iter().map(|a| a.name.node.as_str()).collect();
            return Err(errors::plain_status(
                errors::CODE_UNKNOWN,
                format!(
                    "{} defines {} apps ({}); choose the one to build with --target NAME",
                    o.filename,
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
    };
    let Some(app) = program.app(&app_name) else {
        let d = compiler::check::unknown_app(&program, &app_name);
        return Err(errors::diagnostics_status(&[d], &sources));
    };

    // Which dependency files the context lacks, looked up while the
    // builder's config is resolved (both are round trips).
    let mut other = bridge.clone();
    let probes = program.context_probes();
    let (absent, builder) = tokio::join!(
        absent_files(&mut other, env, &probes),
        builder_config(bridge, app, locked.as_ref(), &options.build_platform, o)
    );
    // Derived as `scratchc build` and `scratchc llb` derive them. The
    // client's session is this build's own: concurrent builds of other
    // trees (same file, other context) are never merged by the daemon, as
    // `scratchc build` ensures with its directory key.
    let mut lower_options = inputs::lower_options(
        excludes?,
        o.no_cache_for(&app_name),
        Some(env.session_id.clone()).filter(|s| !s.is_empty()),
        locked.as_ref(),
        absent?,
    );
    if let Some((image, config)) = builder? {
        lower_options.builder_configs.insert(image, config);
    }

    let platforms: Vec<Platform> = if options.platforms.is_empty() {
        app.platforms.iter().map(|p| p.node.clone()).collect()
    } else {
        options.platforms.clone()
    };
    let mut targets = Vec::new();
    for platform in &platforms {
        let t = lower::lower(app, platform, &sources, &options, &lower_options)
            .map_err(|d| errors::diagnostics_status(&[d], &sources))?;
        targets.push(t);
    }
    let mut solves = Vec::new();
    for t in &targets {
        let def = pb::Definition::decode(t.definition.as_slice()).map_err(|e| {
            errors::plain_status(
                errors::CODE_UNKNOWN,
                format!("internal error (a bug, please report it): our own definition does not decode: {e}"),
            )
        })?;
        if def.encode_to_vec() != t.definition {
            return Err(errors::plain_status(
                errors::CODE_UNKNOWN,
                "internal error (a bug, please report it): the definition does not re-encode to the same bytes",
            ));
        }
        let mut b = bridge.clone();
        let what = format!("build {} for {}", t.app, t.platform);
        solves.push(async move { b.solve(def, &what).await });
    }
    let ids = futures::future::try_join_all(solves).await?;
    // Before returning (and so before BuildKit exports anything): each
    // platform's binary must be a static executable for that platform, as
    // `scratchc build` checks it, so buildx cannot ship an amd64 binary in
    // an arm64 image either. Reading the result also runs the lazy solve:
    // a failing build step surfaces here with its own details.
    let checks = targets.iter().zip(&ids).map(|(t, id)| {
        let channel = bridge.channel();
        let sources = &sources;
        async move {
            binary::check_binary_in_frontend(channel, id, &app.image.binary.node, &t.platform)
                .await
                .map_err(|e| binary_status(e, app, &t.platform, sources))
        }
    });
    futures::future::try_join_all(checks).await?;

    let multi = targets.len() > 1 || o.multi_platform;
    let mut out = Output::default();
    if let Some(u) = &lower_options.local_unique {
        out.metadata
            .insert(LOCAL_UNIQUE_KEY.to_string(), u.clone().into_bytes());
    }
    let mut parts = Vec::new();
    for (t, id) in targets.iter().zip(ids) {
        let digest = local::digest_of(&t.definition).into_bytes();
        if multi {
            out.metadata.insert(
                format!("{DEFINITION_DIGEST_KEY}/{}", t.platform.id()),
                digest,
            );
        } else {
            out.metadata
                .insert(DEFINITION_DIGEST_KEY.to_string(), digest);
        }
        parts.push((
            t.platform.clone(),
            SolvedRef { id, def: None },
            t.config.clone(),
        ));
    }
    let shaped = if multi && parts.len() == 1 {
        multi_platform_result(parts)
    } else {
        gateway::image_result(parts)
    };
    out.result = shaped.result;
    out.metadata.extend(shaped.metadata);
    Ok(out)
}

/// The status of a failed binary check. A refused binary or an unreadable
/// one points at the line that makes the binary (see [`binary_span`]); a
/// failing build step keeps BuildKit's own details (its vertex, its line).
fn binary_status(e: BinaryError, app: &App, platform: &Platform, sources: &Sources) -> Status {
    match e {
        BinaryError::Solve(s) => {
            errors::from_daemon(&format!("build {} for {platform}", app.name.node), &s)
        }
        other => errors::spanned_status(other.to_string(), binary_span(app), sources),
    }
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

/// The config of the app's builder image when the lock does not hold it
/// (a locked builder needs no daemon lookup, exactly as in `scratchc
/// build`), keyed as `LowerOptions::builder_configs` wants.
async fn builder_config(
    bridge: &mut Bridge,
    app: &App,
    locked: Option<&Lock>,
    platform: &Platform,
    o: &FrontendOpts,
) -> Result<Option<(String, ImageConfig)>, Status> {
    let Build::Compile(c) = &app.build else {
        return Ok(None);
    };
    let image = c.builder.node.to_string();
    if locked.is_some_and(|l| l.builder_configs().contains_key(&image)) {
        return Ok(None);
    }
    let json = resolve_builder(bridge, &image, platform, o).await?;
    let config = gateway::parse_image_config(&json).map_err(|e| {
        errors::plain_status(
            errors::CODE_UNKNOWN,
            format!("the config of builder image {image} is not valid JSON: {e}"),
        )
    })?;
    Ok(Some((image, config)))
}

/// The files of `probes` the client's context lacks: one small transfer
/// of just those paths, then a stat of each.
async fn absent_files(
    bridge: &mut Bridge,
    env: &Environment,
    probes: &BTreeSet<String>,
) -> Result<BTreeSet<String>, Status> {
    if probes.is_empty() {
        return Ok(BTreeSet::new());
    }
    let follow: Vec<String> = probes.iter().cloned().collect();
    let def = local::definition(&local::LocalRead {
        name: &env.opts.context_local,
        session: &env.session_id,
        follow_paths: &follow,
        include: &[],
        shared_key_hint: "scratchc-probe",
        progress_name: "look up dependency files",
    });
    let r = bridge.solve(def, "cannot read the context").await?;
    let mut absent = BTreeSet::new();
    for f in probes {
        if !bridge.exists(&r, f).await? {
            absent.insert(f.clone());
        }
    }
    Ok(absent)
}

/// The config of a builder image, found as `scratchc build` finds it: the
/// daemon's local store first, then its default lookup; `--pull`
/// (`image-resolve-mode=pull`) goes to the registry directly.
async fn resolve_builder(
    bridge: &mut Bridge,
    image: &str,
    platform: &Platform,
    o: &FrontendOpts,
) -> Result<Vec<u8>, Status> {
    let p = gateway::pb_platform(platform);
    if o.image_resolve_mode.as_deref() == Some("pull") {
        return bridge.resolve_image_config(image, p, "pull").await;
    }
    match bridge.resolve_image_config(image, p.clone(), "local").await {
        Ok(c) => Ok(c),
        Err(_) => bridge.resolve_image_config(image, p, "default").await,
    }
}

/// A one-platform result in the multi-platform shape (`refs` keyed by
/// platform), for `multi-platform=true`.
fn multi_platform_result(parts: Vec<(Platform, SolvedRef, Vec<u8>)>) -> gw::Result {
    let mut metadata = BTreeMap::new();
    let mut refs = BTreeMap::new();
    let mut platforms = Vec::new();
    for (p, r, config) in parts {
        let id = p.id();
        metadata.insert(format!("containerimage.config/{id}"), config);
        let mut plat = serde_json::json!({ "architecture": p.arch, "os": p.os });
        if let Some(v) = &p.variant {
            plat["variant"] = serde_json::Value::String(v.clone());
        }
        platforms.push(serde_json::json!({ "ID": id, "Platform": plat }));
        refs.insert(
            id,
            gw::Ref {
                id: r.id,
                def: None,
            },
        );
    }
    let list = serde_json::json!({ "Platforms": platforms });
    metadata.insert("refs.platforms".to_string(), list.to_string().into_bytes());
    gw::Result {
        result: Some(gw::result::Result::Refs(gw::RefMap { refs })),
        metadata,
    }
}

/// The compile options from the build options, as the CLI would set them
/// from its flags.
fn compile_options(env: &Environment) -> Result<Options, Status> {
    let platforms = inputs::platforms(&env.opts.platforms)
        .map_err(|e| errors::plain_status(errors::CODE_UNKNOWN, e))?;
    Ok(Options {
        build_args: env.opts.build_args.clone(),
        build_platform: env
            .build_platform
            .clone()
            .unwrap_or_else(Platform::linux_amd64),
        platforms,
    })
}

/// The app built when no `target` is given: the only app of the file.
fn default_app(program: &Program) -> Option<&str> {
    match program.apps.as_slice() {
        [one] => Some(one.name.node.as_str()),
        _ => None,
    }
}

/// Reads the root file and, round by round, the files it imports (the
/// compiler says which: `check::pending_imports`), from the `dockerfile`
/// local. Each round transfers only the files named so far.
async fn load_sources(
    bridge: &mut Bridge,
    env: &Environment,
) -> Result<(Sources, Option<String>), Status> {
    let o = &env.opts;
    let mut sources: Option<Sources> = None;
    let mut lock_text = None;
    let lock_name = lock_name(&o.filename);
    let mut wanted = vec![o.filename.clone(), lock_name.clone()];
    // Files already scanned for imports (each parsed once: see
    // `check::pending_imports_since`).
    let mut scanned = 0;
    loop {
        let def = local::definition(&local::LocalRead {
            name: &o.dockerfile_local,
            session: &env.session_id,
            follow_paths: &wanted,
            include: &[],
            shared_key_hint: "scratchc-sources",
            progress_name: &format!("load build definition from {}", o.filename),
        });
        let r = bridge
            .solve(def, &format!("cannot read {}", o.filename))
            .await?;
        match sources.as_mut() {
            None => {
                let Some(data) = bridge.read_file(&r, &o.filename).await? else {
                    return Err(errors::plain_status(
                        errors::CODE_UNKNOWN,
                        format!(
                            "{} not found in the build's `{}` directory; name the file with -f",
                            o.filename, o.dockerfile_local
                        ),
                    ));
                };
                sources = Some(Sources::new(
                    o.filename.clone(),
                    utf8(&o.filename, capped(&o.filename, data)?)?,
                ));
                if let Some(data) = bridge.read_file(&r, &lock_name).await? {
                    lock_text = Some(utf8(&lock_name, capped(&lock_name, data)?)?);
                }
            }
            Some(s) => {
                let pending = check::pending_imports_since(s, scanned);
                scanned = s.len();
                for name in pending {
                    match bridge.read_file(&r, &name).await? {
                        Some(data) if data.len() > MAX_FILE_BYTES => {
                            s.mark_unreadable(name, Unreadable::TooLarge { bytes: None })
                        }
                        Some(data) => {
                            let text = utf8(&name, data)?;
                            // Past the limits it is marked, and reported
                            // at the import.
                            let _ = s.add_read(name, text);
                        }
                        None => s.mark_missing(name),
                    }
                }
            }
        }
        let Some(s) = &sources else {
            return Err(errors::plain_status(
                errors::CODE_UNKNOWN,
                "no sources were read",
            ));
        };
        let next = check::pending_imports_since(s, scanned);
        if next.is_empty() {
            return Ok((sources.unwrap_or_default(), lock_text));
        }
        wanted.extend(next);
    }
}

/// `scratch.lock` next to the file named `filename` (both relative to the
/// `dockerfile` local), as `scratchc build` looks for it.
fn lock_name(filename: &str) -> String {
    match filename.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{}", lock::FILE_NAME),
        None => lock::FILE_NAME.to_string(),
    }
}

/// `data` when within `MAX_FILE_BYTES`; else the error, with its code.
fn capped(name: &str, data: Vec<u8>) -> Result<Vec<u8>, Status> {
    if data.len() <= MAX_FILE_BYTES {
        return Ok(data);
    }
    let d = sources::file_too_large(name, None);
    Err(errors::plain_status(
        errors::CODE_UNKNOWN,
        format!(
            "{} [{}] (help: {})",
            d.message,
            d.code,
            d.help.unwrap_or_default()
        ),
    ))
}

fn utf8(name: &str, data: Vec<u8>) -> Result<String, Status> {
    String::from_utf8(data).map_err(|_| {
        errors::plain_status(
            errors::CODE_UNKNOWN,
            format!("{name} is not UTF-8 text; scratch files are UTF-8"),
        )
    })
}

/// The patterns of the context's `.dockerignore`, in file order.
async fn read_dockerignore(bridge: &mut Bridge, env: &Environment) -> Result<Vec<String>, Status> {
    let o = &env.opts;
    let follow = vec![".dockerignore".to_string()];
    let def = local::definition(&local::LocalRead {
        name: &o.context_local,
        session: &env.session_id,
        follow_paths: &follow,
        include: &[],
        shared_key_hint: "scratchc-dockerignore",
        progress_name: "load .dockerignore",
    });
    let r = bridge.solve(def, "cannot read .dockerignore").await?;
    let Some(data) = bridge.read_file(&r, ".dockerignore").await? else {
        return Ok(Vec::new());
    };
    let data = capped(".dockerignore", data)?;
    Ok(inputs::dockerignore_patterns(&String::from_utf8_lossy(
        &data,
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_sits_next_to_the_file() {
        assert_eq!(lock_name("app.scratch"), "scratch.lock");
        assert_eq!(lock_name("svc/app.scratch"), "svc/scratch.lock");
    }

    #[test]
    fn one_platform_can_be_returned_as_a_platform_map() {
        let r = multi_platform_result(vec![(
            Platform::new("linux", "arm", Some("v7")),
            SolvedRef {
                id: "r1".into(),
                def: None,
            },
            b"{}".to_vec(),
        )]);
        let Some(gw::result::Result::Refs(m)) = r.result else {
            panic!("not a map")
        };
        assert_eq!(m.refs["linux/arm/v7"].id, "r1");
        assert_eq!(
            String::from_utf8(r.metadata["refs.platforms"].clone()).unwrap(),
            r#"{"Platforms":[{"ID":"linux/arm/v7","Platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}"#
        );
        assert!(
            r.metadata
                .contains_key("containerimage.config/linux/arm/v7")
        );
    }
}
