//! `scratchc build`: compile the app(s) of an app.scratch and build them on
//! a BuildKit daemon (the Docker Engine's or a standalone buildkitd).
//!
//! The build runs as a client-side gateway build, as Go's `client.Build`:
//! one `Control.Solve` per app, during which we ping the daemon for its
//! caps, resolve the builder images' configs (so builder steps get the
//! image's Env and WorkingDir like a Dockerfile `FROM`), compile with them,
//! solve each platform's definition and return the result with its image
//! config. All apps share one session (context, secrets, outputs).
//!
//! Exit codes: 0 built, 1 the file or the build failed, 2 bad command line,
//! 130 interrupted (the build is cancelled on the daemon).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::client::cache::Recorded;
use crate::client::destination::{self, ContextGuard, Shape};
use crate::client::errors::BuildError;
use crate::client::exporter::{self, DaemonKind, Outputs};
use crate::client::gateway::{self, Caps, Gateway, SolvedRef};
use crate::client::progress::{ProgressMode, Reporter};
use crate::client::session::{self, LocalDir, SecretSource, SessionConfig};
use crate::client::solve::{self, SolveSpec};
use crate::client::{Endpoint, TlsFiles};
use crate::client::{binary, cache, epoch, repro};
use crate::compiler::{self, LowerOptions, Options, Platform, Sources, lower, model};
use crate::proto::pb;

use super::CompileArgs;
use super::{inputs, load};

/// Options of `scratchc build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The app.scratch file; its directory is the build context.
    #[arg(value_name = "FILE", default_value = "app.scratch")]
    pub file: PathBuf,
    /// Build only this app (default: every app of the file).
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Image name to load into the Docker Engine (repeatable). Without -t
    /// and --output, each app is loaded as `<app>:latest`.
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]")]
    pub tags: Vec<String>,
    /// Write the result to files: type=oci|docker|tar|local,dest=PATH
    /// (repeatable; a bare PATH means type=local).
    #[arg(short = 'o', long = "output", value_name = "type=TYPE,dest=PATH")]
    pub outputs: Vec<String>,
    /// Push the image named with -t to its registry.
    #[arg(long)]
    pub push: bool,
    /// Run every step again, ignoring the build cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Export the build cache: type=registry,ref=HOST/REPO:TAG, or
    /// type=local,dest=DIR[,tag=TAG] (an OCI layout directory; index.json
    /// tags it `latest` by default), each with [,mode=min|max] (max by
    /// default); or type=inline (repeatable; a bare REF means
    /// type=registry).
    #[arg(
        long = "cache-to",
        value_name = "type=registry,ref=REF|type=local,dest=DIR"
    )]
    pub cache_to: Vec<String>,
    /// Import a build cache (repeatable): type=registry,ref=HOST/REPO:TAG, or
    /// type=local,src=DIR[,tag=TAG] (a missing DIR or tag is a warning, not
    /// an error).
    #[arg(
        long = "cache-from",
        value_name = "type=registry,ref=REF|type=local,src=DIR"
    )]
    pub cache_from: Vec<String>,
    /// Allow plain HTTP to registries that are not on loopback (pushes and
    /// registry caches). Loopback registries never need it.
    #[arg(long)]
    pub insecure_registry: bool,
    /// Resolve the builder images again and rewrite scratch.lock, instead
    /// of refusing a stale lock.
    #[arg(long)]
    pub update_lock: bool,
    /// How to show progress.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressMode,
    /// A secret for `secret` mounts: id=NAME,src=FILE or id=NAME,env=VAR
    /// (repeatable).
    #[arg(long = "secret", value_name = "id=NAME,src=FILE|env=VAR")]
    pub secrets: Vec<String>,
    /// The daemon: unix:///run/buildkit/buildkitd.sock, tcp://HOST:PORT,
    /// docker+unix:///var/run/docker.sock, docker+tcp://HOST:PORT. Default:
    /// $BUILDKIT_HOST, $DOCKER_HOST, buildkitd's socket, Docker's socket.
    #[arg(long, value_name = "ADDRESS")]
    pub addr: Option<String>,
    /// CA certificate for a TLS daemon.
    #[arg(long, value_name = "FILE")]
    pub tlscacert: Option<PathBuf>,
    /// Client certificate for a TLS daemon.
    #[arg(long, value_name = "FILE")]
    pub tlscert: Option<PathBuf>,
    /// Client key for a TLS daemon.
    #[arg(long, value_name = "FILE")]
    pub tlskey: Option<PathBuf>,
}

/// How the command ends.
enum Failure {
    /// Already printed; exit with this code.
    Exit(ExitCode),
    Build(BuildError),
}

impl From<BuildError> for Failure {
    fn from(e: BuildError) -> Self {
        Failure::Build(e)
    }
}

pub fn run(args: BuildArgs) -> ExitCode {
    let rt = match crate::client::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let color = std::io::stderr().is_terminal();
    let result = rt.block_on(async {
        tokio::select! {
            r = build(&args) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let code = match result {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(Failure::Exit(code))) => code,
        Some(Err(Failure::Build(e))) => report(&e, color),
        None => {
            eprintln!("\ninterrupted: the build was cancelled");
            ExitCode::from(130)
        }
    };
    // Dropping the runtime drops the Solve calls (the daemon cancels the
    // job) and the session; give the connection a moment to send the
    // stream resets before the process exits.
    rt.shutdown_timeout(Duration::from_millis(300));
    code
}

/// Prints a build error and gives its exit code.
fn report(e: &BuildError, color: bool) -> ExitCode {
    match e {
        BuildError::Step(f) => eprint!("{}", f.render(color)),
        BuildError::Unsupported { what, help } => {
            eprintln!("error: {what}\n  help: {help}");
        }
        BuildError::Usage(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
        BuildError::Cancelled => {
            eprintln!("interrupted: the build was cancelled");
            return ExitCode::from(130);
        }
        other => eprintln!("error: {other}"),
    }
    ExitCode::FAILURE
}

fn usage(msg: impl Into<String>) -> Failure {
    Failure::Build(BuildError::Usage(msg.into()))
}

/// A failure that is not the command line's (exit 1), printed at once.
fn fail(msg: String) -> Failure {
    eprintln!("error: {msg}");
    Failure::Exit(ExitCode::FAILURE)
}

/// One app to build, with its outputs.
struct Job {
    app: model::App,
    outputs: Outputs,
}

async fn build(args: &BuildArgs) -> Result<(), Failure> {
    // The build platform is set below, once known (this machine's, then
    // the daemon's).
    let mut options = inputs::options(
        &args.compile.build_args,
        &args.compile.platforms,
        Platform::linux_amd64(),
    )
    .map_err(usage)?;
    let files: Vec<exporter::OutputSpec> = args
        .outputs
        .iter()
        .map(|o| exporter::parse_output(o).map_err(usage))
        .collect::<Result<_, _>>()?;
    let secrets = parse_secrets(&args.secrets).map_err(usage)?;

    let sources = load::load(&args.file).map_err(|e| {
        eprintln!("error: {e}");
        Failure::Exit(ExitCode::from(2))
    })?;
    let context = inputs::context_dir(&args.file);
    let excludes = load::dockerignore(&context).map_err(|e| {
        eprintln!("error: {e}");
        Failure::Exit(ExitCode::from(2))
    })?;

    // Where the results go, checked before anything runs: never the
    // context or a directory holding it, never a source inside it.
    let caches = cache::parse_all(&args.cache_to, &args.cache_from, args.insecure_registry)
        .map_err(usage)?;
    let guard = Some(ContextGuard {
        dir: &context,
        excludes: &excludes,
    });
    for f in &files {
        let shape = match f.kind {
            exporter::OutputKind::Local => Shape::Dir,
            _ => Shape::File,
        };
        let warnings = destination::check("--output", &f.dest, shape, guard)
            .map_err(|e| usage(e.to_string()))?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
    }
    for dir in caches.export_dirs() {
        destination::check("--cache-to", dir, Shape::Dir, guard)
            .map_err(|e| usage(e.to_string()))?;
    }

    // Check offline first: errors in the file need no daemon.
    options.build_platform = super::llb::host_platform();
    let program = check(&sources, &options)?;

    let endpoint = crate::client::resolve(
        args.addr.as_deref(),
        &TlsFiles {
            ca: args.tlscacert.clone(),
            cert: args.tlscert.clone(),
            key: args.tlskey.clone(),
        },
    )
    .map_err(|e| Failure::Build(e.into()))?;
    let channel = crate::client::connect(&endpoint)
        .await
        .map_err(|e| Failure::Build(e.into()))?;
    let mut caps = Caps::default();
    caps.add_workers(&solve::list_workers(channel.clone()).await?);
    let is_docker = matches!(
        endpoint,
        Endpoint::DockerUnix(_) | Endpoint::DockerTcp { .. }
    );
    let daemon = DaemonKind::detect(is_docker, &caps);

    // Builder steps run on the daemon's platform.
    let program = match caps.build_platform() {
        Some(p) if *p != options.build_platform => {
            options.build_platform = p.clone();
            check(&sources, &options)?
        }
        _ => program,
    };
    // scratch.lock: pin the builders to their locked digests and configs,
    // refuse a stale lock (or refresh it with --update-lock).
    let mut program = program;
    let locked = super::lock::apply_lock(
        &args.file,
        args.update_lock,
        &sources,
        &mut program,
        &options.build_platform,
        &channel,
        &endpoint,
    )
    .await?;
    // SOURCE_DATE_EPOCH: every timestamp in the image is clamped to it.
    let epoch = epoch::source_date_epoch(&context)
        .map_err(|e| Failure::Build(BuildError::Usage(e.to_string())))?;
    let apps: Vec<model::App> = match &args.app {
        Some(name) => match program.app(name) {
            Some(a) => vec![a.clone()],
            None => {
                let d = compiler::check::unknown_app(&program, name);
                eprint!("{}", compiler::render_plain(&[d], &sources));
                return Err(Failure::Exit(ExitCode::FAILURE));
            }
        },
        None => program.apps.clone(),
    };
    if apps.is_empty() {
        return Err(usage(format!(
            "{} defines no app; add an `app NAME {{ … }}` block",
            args.file.display()
        )));
    }
    if apps.len() > 1 && (!args.tags.is_empty() || !files.is_empty()) {
        let names: Vec<&str> = apps.iter().map(|a| a.name.node.as_str()).collect();
        return Err(usage(format!(
            "-t and --output name one image, but the file has several apps ({}); pick one with --app NAME, or leave them out to load each app as <app>:latest",
            names.join(", ")
        )));
    }
    let jobs: Vec<Job> = apps
        .into_iter()
        .map(|app| {
            let mut names = args.tags.clone();
            // Without any output, load the image as `<app>:latest` (the
            // Docker Engine only; buildkitd has no image list to look in).
            if names.is_empty() && files.is_empty() && is_docker {
                names.push(format!("{}:latest", app.name.node));
            }
            Job {
                outputs: Outputs {
                    names,
                    push: args.push,
                    files: files.clone(),
                },
                app,
            }
        })
        .collect();

    let mut plans = Vec::new();
    for job in &jobs {
        let platforms = if options.platforms.is_empty() {
            job.app.platforms.len()
        } else {
            options.platforms.len()
        };
        let mut plan = exporter::plan(&job.outputs, daemon, platforms, Some(epoch.seconds))?;
        repro::harden_exporters(&mut plan.exporters, daemon, args.insecure_registry);
        plans.push(plan);
    }
    // Local caches: export directories exist before anything runs; each
    // app imports its own index.json entry (tagged per app when the file
    // has several).
    caches.create_export_dirs().map_err(fail)?;
    let several = program.apps.len() > 1;
    let app_key = |job: &Job| several.then(|| job.app.name.node.clone());
    let mut job_caches = Vec::new();
    for job in &jobs {
        let c = caches.for_app(app_key(job).as_deref()).map_err(fail)?;
        for w in &c.warnings {
            eprintln!("warning: {w}");
        }
        job_caches.push(c.options);
    }

    let session = session::start(
        channel.clone(),
        SessionConfig {
            name: jobs
                .iter()
                .map(|j| j.app.name.node.as_str())
                .collect::<Vec<_>>()
                .join(","),
            shared_key: inputs::local_unique(&context),
            dirs: BTreeMap::from([(
                lower::CONTEXT.to_string(),
                LocalDir {
                    path: context.clone(),
                    excludes: excludes.clone(),
                },
            )]),
            secrets,
            exports: plans.iter().flat_map(|p| p.sinks.clone()).collect(),
            auth: true,
            content_stores: caches.stores(),
        },
    )
    .await
    .map_err(|e| Failure::Build(e.into()))?;

    let mode = args.progress.resolve(std::io::stderr().is_terminal());
    let mut reporter = Reporter::new(mode, Box::new(std::io::stderr()));
    let lower_base = inputs::lower_options(
        excludes,
        args.no_cache,
        Some(inputs::local_unique(&context)),
        locked.as_ref(),
        inputs::absent_files(&context, &program),
    );
    let mut results = Vec::new();
    for ((job, plan), cache) in jobs.iter().zip(plans).zip(job_caches) {
        let spec = SolveSpec {
            build_ref: solve::new_ref(),
            session_id: session.id.clone(),
            exporters: plan.exporters,
            frontend_attrs: BTreeMap::from([(
                "build-arg:SOURCE_DATE_EPOCH".to_string(),
                epoch.attr(),
            )]),
            cache,
        };
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<pb::Definition>::new()));
        let sent2 = std::sync::Arc::clone(&sent);
        // The binary check reads files through the gateway of this build.
        let check = (channel.clone(), spec.build_ref.clone());
        let body =
            |gw: Gateway| build_body(gw, &sources, &options, &lower_base, &job.app, sent2, check);
        match solve::solve(channel.clone(), spec, &mut reporter, body).await {
            Ok(resp) => results.push((job, resp)),
            Err(e) => {
                session.abort().await;
                let defs = sent.lock().map(|d| d.clone()).unwrap_or_default();
                return Err(Failure::Build(solve::enrich(e, &reporter, &defs)));
            }
        }
    }
    session
        .close()
        .await
        .map_err(|e| Failure::Build(e.into()))?;
    for (job, resp) in results {
        let digest = resp
            .get("containerimage.digest")
            .map(|d| format!(" {d}"))
            .unwrap_or_default();
        let mut what: Vec<String> = job
            .outputs
            .names
            .iter()
            .map(|n| format!("image {n}"))
            .collect();
        what.extend(
            job.outputs
                .files
                .iter()
                .map(|f| format!("{} {}", f.kind, f.dest.display())),
        );
        if what.is_empty() {
            what.push("no output (the result is in the build cache)".into());
        }
        match caches
            .record(app_key(job).as_deref(), &resp)
            .map_err(fail)?
        {
            Some(Recorded::Written { dir, tag, .. }) => {
                what.push(format!("cache {} ({tag})", dir.display()));
            }
            Some(Recorded::Nothing { dir }) => eprintln!(
                "warning: the daemon exported no cache to `{}` (nothing to export); its index.json is unchanged",
                dir.display()
            ),
            None => {}
        }
        eprintln!("{}:{digest} -> {}", job.app.name.node, what.join(", "));
    }
    Ok(())
}

/// The gateway part of one app's build: resolve builder configs, compile,
/// solve every platform, and shape the result.
async fn build_body(
    gw: Gateway,
    sources: &Sources,
    options: &Options,
    lower_base: &LowerOptions,
    app: &model::App,
    sent: std::sync::Arc<std::sync::Mutex<Vec<pb::Definition>>>,
    check: (tonic::transport::Channel, String),
) -> Result<crate::proto::moby::buildkit::v1::frontend::Result, BuildError> {
    let caps = gw.ping().await?;
    let mut lower_opts = lower_base.clone();
    if let model::Build::Compile(c) = &app.build
        && !lower_opts
            .builder_configs
            .contains_key(&c.builder.node.to_string())
    {
        let reference = c.builder.node.to_string();
        let platform = caps
            .build_platform()
            .cloned()
            .unwrap_or_else(|| options.build_platform.clone());
        // The local store first (no registry is needed for an image the
        // daemon has), then the daemon's default lookup.
        let resolved = match gw
            .resolve_image_config(&reference, &platform, "local")
            .await
        {
            Ok(r) => Ok(r),
            Err(_) => {
                gw.resolve_image_config(&reference, &platform, "default")
                    .await
            }
        };
        let (_digest, config) = resolved.map_err(|e| BuildError::Daemon {
            call: "LLBBridge.ResolveImageConfig",
            message: format!("cannot find the builder image {reference}: {e}"),
        })?;
        lower_opts.builder_configs.insert(reference, config);
    }
    let platforms: Vec<Platform> = if options.platforms.is_empty() {
        app.platforms.iter().map(|p| p.node.clone()).collect()
    } else {
        options.platforms.clone()
    };
    let mut parts = Vec::new();
    for platform in platforms {
        let target = lower::lower(app, &platform, sources, options, &lower_opts).map_err(|d| {
            BuildError::Daemon {
                call: "compile",
                message: compiler::render_plain(&[d], sources),
            }
        })?;
        let def = <pb::Definition as prost::Message>::decode(target.definition.as_slice()).map_err(
            |e| BuildError::Daemon {
                call: "compile",
                message: format!("the compiled definition does not decode ({e}); a bug in scratchc, please report it"),
            },
        )?;
        if let Ok(mut s) = sent.lock() {
            s.push(def.clone());
        }
        let solved: SolvedRef = gw.solve(def).await?;
        // Before export: the binary must be a static executable for this
        // platform (no amd64 binary in the arm64 image, no loader needed).
        binary::check_binary(
            check.0.clone(),
            &check.1,
            &solved.id,
            &app.image.binary.node,
            &platform,
        )
        .await
        .map_err(|e| match e {
            binary::BinaryError::Solve(s) => BuildError::from_status("LLBBridge.Solve", &s),
            other => BuildError::Daemon {
                call: "binary check",
                message: other.to_string(),
            },
        })?;
        parts.push((platform, solved, target.config));
    }
    Ok(gateway::image_result(parts))
}

fn check(sources: &Sources, options: &Options) -> Result<model::Program, Failure> {
    compiler::check(sources, options).map_err(|diags| {
        eprint!("{}", compiler::render_plain(&diags, sources));
        Failure::Exit(ExitCode::FAILURE)
    })
}

/// Parses `--secret id=NAME,src=FILE` / `id=NAME,env=VAR`.
fn parse_secrets(values: &[String]) -> Result<BTreeMap<String, SecretSource>, String> {
    let mut out = BTreeMap::new();
    for v in values {
        let mut id = None;
        let mut source = None;
        for part in v.split(',') {
            match part.split_once('=') {
                Some(("id", x)) if !x.is_empty() => id = Some(x.to_string()),
                Some(("src" | "source", x)) if !x.is_empty() => {
                    source = Some(SecretSource::File(PathBuf::from(x)))
                }
                Some(("env", x)) if !x.is_empty() => {
                    source = Some(SecretSource::Env(x.to_string()))
                }
                _ => {
                    return Err(format!(
                        "--secret `{v}`: `{part}` is not understood; write id=NAME,src=FILE or id=NAME,env=VAR"
                    ));
                }
            }
        }
        let id = id.ok_or_else(|| format!("--secret `{v}` has no id=NAME"))?;
        // Like buildx: with neither, the id names an environment variable.
        let source = source.unwrap_or_else(|| SecretSource::Env(id.clone()));
        out.insert(id, source);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        let s = parse_secrets(&[
            "id=npm,src=/tmp/t".into(),
            "id=TOKEN".into(),
            "id=a,env=B".into(),
        ])
        .unwrap();
        assert_eq!(s["npm"], SecretSource::File("/tmp/t".into()));
        assert_eq!(s["TOKEN"], SecretSource::Env("TOKEN".into()));
        assert_eq!(s["a"], SecretSource::Env("B".into()));
        assert!(parse_secrets(&["src=/x".into()]).is_err());
        assert!(parse_secrets(&["id=a,foo=b".into()]).is_err());
    }
}
