//! `scratchc build`: build the app(s) of an app.scratch on a BuildKit
//! daemon (the Docker Engine's or a standalone buildkitd).
//!
//! The build itself is [`crate::build`], the code the frontend runs too;
//! this verb supplies the CLI's side: the files on disk, the outputs
//! checked before anything runs, the connection, the session (context,
//! secrets, exports, caches), progress on the terminal, and the summary.
//! Each app is a client-side gateway build (as Go's `client.Build`): one
//! `Control.Solve` whose gateway calls run [`crate::build::solve_app`].
//! Several apps solve one after another, each on its own session.
//!
//! Exit codes: docs/client.md, "Exit codes".

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::build::run::Prepared;
use crate::build::{self, NoCache, Plan, Settings, inputs, lent, record};
use crate::client::Endpoint;
use crate::client::artefacts::destination::{self, ContextGuard, Shape};
use crate::client::artefacts::tarball;
use crate::client::buildkit::cache::{self, Caches, Recorded};
use crate::client::buildkit::exporter::{
    self, DaemonKind, ExportPlan, OutputKind, OutputSpec, Outputs,
};
use crate::client::buildkit::gateway::Caps;
use crate::client::buildkit::progress::{ProgressMode, Reporter};
use crate::client::buildkit::repro;
use crate::client::buildkit::session::{self, LocalDir, SecretSource, SessionConfig};
use crate::client::buildkit::solve::{self, SolveSpec};
use crate::client::errors::{BuildError, UsageError};
use crate::client::inputs::epoch;
use crate::compiler::lower;
use crate::compiler::model::App;
use crate::proto::pb;

use super::load::Disk;
use super::unchanged;
use super::{CompileArgs, DaemonArgs, Failure};

/// Options of `scratchc build`.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// The app.scratch file (a directory: its app.scratch); its directory
    /// is the build context.
    #[arg(value_name = "FILE", default_value = "app.scratch", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// Build only this app (repeatable; default: every app of the file).
    #[arg(long = "app", value_name = "NAME", add = super::complete::apps())]
    pub apps: Vec<String>,
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Image name to load into the Docker Engine (repeatable). Without -t
    /// and --output, each app is loaded as `<app>:latest`. With several
    /// apps, a pattern: `{app}` is each app's name (`registry/{app}:v1`).
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]")]
    pub tags: Vec<String>,
    /// Write the result to files: type=oci|docker|tar|local,dest=PATH
    /// (repeatable; a bare PATH means type=local; `{app}` is the app's
    /// name, needed when several apps are built).
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
    #[arg(long, default_value = "auto", value_parser = progress_modes())]
    pub progress: ProgressMode,
    /// Attach an SBOM to each image (an SPDX attestation made from the
    /// built binary): true or false; without it, each app's `sbom` decides
    /// (on unless the file says `sbom false`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub sbom: Option<bool>,
    /// Ask BuildKit for SLSA provenance: mode=min or mode=max (off by
    /// default: it records the build's start and end times, so the index
    /// digest changes with every build).
    #[arg(long, value_name = "mode=min|mode=max|false")]
    pub provenance: Option<String>,
    /// A secret for `secret` mounts: id=NAME,src=FILE or id=NAME,env=VAR
    /// (repeatable).
    #[arg(long = "secret", value_name = "id=NAME,src=FILE|env=VAR")]
    pub secrets: Vec<String>,
    /// An SSH agent for `ssh` mounts: `default` ($SSH_AUTH_SOCK) or
    /// ID=SOCKET (repeatable).
    #[arg(long = "ssh", value_name = "default|ID=SOCKET")]
    pub ssh: Vec<String>,
    /// Fail (exit 1, nothing exported) when the binary needs something at
    /// runtime the image lacks, instead of warning (as `strict` in the
    /// file does; docs/runtime-needs.md).
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

impl BuildArgs {
    /// The flags of a plain `scratchc build FILE`.
    pub fn for_file(file: PathBuf) -> BuildArgs {
        BuildArgs {
            file,
            apps: Vec::new(),
            compile: CompileArgs::default(),
            tags: Vec::new(),
            outputs: Vec::new(),
            push: false,
            no_cache: false,
            cache_to: Vec::new(),
            cache_from: Vec::new(),
            insecure_registry: false,
            update_lock: false,
            progress: ProgressMode::Auto,
            sbom: None,
            provenance: None,
            secrets: Vec::new(),
            ssh: Vec::new(),
            strict: false,
            daemon: DaemonArgs::default(),
        }
    }
}

pub fn run(args: &BuildArgs) -> Result<(), Failure> {
    let rt = super::runtime()?;
    let result = rt.block_on(async {
        tokio::select! {
            r = build(args) => r,
            _ = tokio::signal::ctrl_c() => Err(BuildError::Cancelled),
        }
    });
    // Dropping the runtime drops the Solve calls (the daemon cancels the
    // job) and the session; give the connection a moment to send the
    // stream resets before the process exits.
    rt.shutdown_timeout(Duration::from_millis(300));
    result.map_err(Failure::Error)
}

/// One app to build, with where its result goes.
struct Job<'a> {
    app: &'a App,
    outputs: Outputs,
    export: ExportPlan,
    /// Where its record is kept, when it may have one.
    slot: Option<unchanged::Slot>,
}

async fn build(args: &BuildArgs) -> Result<(), BuildError> {
    // The command line first: a malformed value needs no file, no daemon.
    for o in &args.outputs {
        exporter::parse_output(o)?;
    }
    let secrets = parse_secrets(&args.secrets)?;
    let provenance = match &args.provenance {
        Some(v) => inputs::provenance(v)?,
        None => None,
    };
    let agents = parse_ssh(&args.ssh, std::env::var_os("SSH_AUTH_SOCK"))?;
    let caches = cache::parse_all(&args.cache_to, &args.cache_from, args.insecure_registry)?;
    let endpoint = args.daemon.endpoint()?;

    // The file, checked offline: its errors need no daemon.
    let disk = Disk::for_args(&args.file, &args.compile, Some("build"))?;
    // SOURCE_DATE_EPOCH: every timestamp in the image is clamped to it.
    let epoch =
        epoch::source_date_epoch(&disk.context).map_err(|e| UsageError::new(e.to_string()))?;
    let settings = Settings {
        build_args: args.compile.build_args()?,
        platforms: inputs::platforms(&args.compile.platforms)?,
        build_platform: inputs::host_platform(),
        no_cache: if args.no_cache {
            NoCache::All
        } else {
            NoCache::Off
        },
        local_unique: Some(inputs::local_unique(&disk.context)),
        epoch: epoch.seconds,
        use_lock: !args.update_lock,
        sbom: args.sbom.or_else(|| {
            let kinds: Vec<OutputSpec> = args
                .outputs
                .iter()
                .filter_map(|o| exporter::parse_output(o).ok())
                .collect();
            build::sbom::off_for_docker_tarball(&kinds)
        }),
        strict: args.strict,
        ..Settings::default()
    };
    let mut plan = disk.plan(settings)?;
    if args.sbom.is_none()
        && plan.settings.sbom == Some(false)
        && plan.program.apps.iter().any(|a| a.sbom)
    {
        eprintln!("note: {}", build::sbom::DOCKER_TARBALL_NOTE);
    }
    let apps: Vec<String> = select_apps(args, &plan)?
        .into_iter()
        .map(str::to_string)
        .collect();
    // Each app's files: `{app}` in --output is its name.
    let mut files_of: BTreeMap<String, Vec<OutputSpec>> = BTreeMap::new();
    for app in &apps {
        let files: Vec<OutputSpec> = args
            .outputs
            .iter()
            .map(|o| exporter::parse_output(&build::apps::expand(o, app)))
            .collect::<Result<_, _>>()?;
        files_of.insert(app.clone(), files);
    }
    let all_files: Vec<OutputSpec> = files_of.values().flatten().cloned().collect();
    check_destinations(&all_files, &caches, &disk, &plan)?;
    // The secrets given against the `secret` statements of the apps built:
    // a required one missing stops here, before the daemon is asked.
    let given = lent::Given {
        secrets: secrets.keys().cloned().collect(),
        ssh: agents.keys().cloned().collect(),
    };
    let built: Vec<&App> = apps.iter().map(|a| plan.app(a)).collect::<Result<_, _>>()?;
    for w in lent::check(&built, &plan.sources, &given)? {
        eprintln!("warning: {w}");
    }

    // What each app makes, and whether the last build to the same place
    // already made it (then nothing is sent to the daemon).
    let context = record::fingerprint_tree(&disk.context, &plan.excludes).ok();
    let is_docker = matches!(
        endpoint,
        Endpoint::DockerUnix(_) | Endpoint::DockerTcp { .. }
    );
    let mut todo = Vec::new();
    for app in &apps {
        let files = files_of.get(app).cloned().unwrap_or_default();
        let app = plan.app(app)?;
        let mut names: Vec<String> = args
            .tags
            .iter()
            .map(|t| build::apps::expand(t, &app.name.node))
            .collect();
        // Without any output, load the image as `<app>:latest` (the Docker
        // Engine only; buildkitd has no image list to look in).
        if names.is_empty() && files.is_empty() && is_docker {
            names.push(format!("{}:latest", app.name.node));
        }
        let outputs = Outputs {
            names,
            push: args.push,
            files,
        };
        // Provenance is a statement about this run: never skipped.
        let slot = context
            .as_ref()
            .filter(|_| provenance.is_none())
            .and_then(|_| {
                unchanged::slot(
                    &endpoint,
                    &disk.file,
                    &plan,
                    app,
                    &outputs,
                    !args.cache_to.is_empty(),
                    args.update_lock,
                )
            });
        if let (Some(s), Some(fp)) = (&slot, &context)
            && let Some(r) = unchanged::unchanged(s, &plan, app, fp).await
        {
            let digest = unchanged::digest(&r)
                .map(|d| format!(" -> {d}"))
                .unwrap_or_default();
            eprintln!(
                "{}: {}{digest}: unchanged since the last build (same sources, same image); nothing sent to the daemon",
                app.name.node,
                destinations(&outputs).join(", ")
            );
            continue;
        }
        todo.push((app.name.node.clone(), outputs, slot));
    }
    if todo.is_empty() {
        return Ok(());
    }

    let channel = crate::client::connect(&endpoint).await?;
    let mut caps = Caps::default();
    caps.add_workers(&solve::list_workers(channel.clone()).await?);
    let daemon = DaemonKind::detect(is_docker, &caps);
    // Builder steps run on the daemon's platform.
    if let Some(p) = caps.build_platform() {
        plan.retarget(p)?;
    }
    if args.update_lock {
        super::lock::relock(&disk, &mut plan, &channel).await?;
    }

    let mut jobs = Vec::new();
    for (app, outputs, slot) in todo {
        let app = plan.app(&app)?;
        let mut export = exporter::plan(
            &outputs,
            daemon,
            plan.platforms(app).len(),
            Some(epoch.seconds),
        )?;
        repro::harden_exporters(&mut export.exporters, daemon, args.insecure_registry);
        exporter::name_docker_tarballs(&mut export, &app.name.node);
        jobs.push(Job {
            app,
            outputs,
            export,
            slot,
        });
    }
    // Local caches: export directories exist before anything runs; each
    // app imports its own index.json entry (tagged per app when the file
    // has several).
    caches.create_export_dirs()?;
    let several = plan.program.apps.len() > 1;
    let app_key = |app: &App| several.then(|| app.name.node.clone());
    let mut job_caches = Vec::new();
    for job in &jobs {
        let c = caches.for_app(app_key(job.app).as_deref())?;
        for w in &c.warnings {
            eprintln!("warning: {w}");
        }
        job_caches.push(c.options);
    }

    // One session per app: the exporters of a solve number from 0, so a
    // session serves one solve's exports. All share the context's key: the
    // daemon keeps one copy of the context for them.
    let base = SessionConfig {
        name: String::new(),
        shared_key: inputs::local_unique(&disk.context),
        dirs: BTreeMap::from([(
            lower::CONTEXT.to_string(),
            LocalDir {
                path: disk.context.clone(),
                excludes: plan.excludes.clone(),
            },
        )]),
        secrets,
        ssh: agents,
        exports: Vec::new(),
        auth: true,
        content_stores: caches.stores(),
    };
    let sessions = futures::future::try_join_all(jobs.iter().map(|job| {
        session::start(
            channel.clone(),
            SessionConfig {
                name: job.app.name.node.clone(),
                exports: job.export.sinks.clone(),
                ..base.clone()
            },
        )
    }))
    .await?;

    let mode = args.progress.resolve(std::io::stderr().is_terminal());
    let mut reporter = Reporter::new(mode, Box::new(std::io::stderr()));
    // The apps solve one after another, their progress on one board: the
    // second finds what the first made in the daemon's cache (the context
    // is synced, not sent again; a shared dependency step is CACHED; the Go
    // build cache mount holds the compiled standard library). Solving them
    // at once was slower: two cold compiles on the same cores, each doing
    // the other's work (docs/benchmarks.md, "Several apps").
    let plan = &plan;
    let (jobs_ref, sessions_ref, epoch_ref) = (&jobs, &sessions, &epoch);
    let solved = solve::with_progress(&mut reporter, |progress| async move {
        let mut solved = Vec::with_capacity(jobs_ref.len());
        for ((job, cache), session) in jobs_ref.iter().zip(job_caches).zip(sessions_ref) {
            let spec = SolveSpec {
                build_ref: solve::new_ref(),
                session_id: session.id.clone(),
                exporters: job.export.exporters.clone(),
                frontend_attrs: frontend_attrs(plan, job.app, epoch_ref, provenance.as_deref()),
                cache,
            };
            solved.push(solve_one(channel.clone(), spec, progress.clone(), plan, job.app).await?);
        }
        Ok(solved)
    })
    .await;
    let solved = match solved {
        Ok(solved) => solved,
        Err((e, defs)) => {
            for s in sessions {
                s.abort().await;
            }
            for s in jobs.iter().filter_map(|j| j.slot.as_ref()) {
                unchanged::forget(s);
            }
            return Err(solve::enrich(e, &reporter, &defs));
        }
    };
    for s in sessions {
        s.close().await?;
    }
    for (job, (resp, prepared, checked)) in jobs.iter().zip(solved) {
        super::needs::print(job.app, &checked, plan, mode);
        summarize(job, &resp, &caches, app_key(job.app).as_deref(), &epoch)?;
        if let (Some(slot), Some(fp)) = (&job.slot, &context) {
            let image = resp.get("containerimage.digest").map(String::as_str);
            unchanged::remember(slot, &prepared, &job.outputs, fp, image).await;
        }
    }
    Ok(())
}

/// The frontend attributes of an app's solve.
fn frontend_attrs(
    plan: &Plan,
    app: &App,
    epoch: &epoch::Epoch,
    provenance: Option<&str>,
) -> BTreeMap<String, String> {
    let platforms: Vec<String> = plan.platforms(app).iter().map(|p| p.id()).collect();
    let mut attrs = BTreeMap::from([
        ("build-arg:SOURCE_DATE_EPOCH".to_string(), epoch.attr()),
        // What BuildKit checks the result against (0.20+ warns on a
        // mismatch).
        ("platform".to_string(), platforms.join(",")),
    ]);
    if let Some(p) = provenance {
        // BuildKit makes it, from what it saw of the build.
        attrs.insert("attest:provenance".to_string(), p.to_string());
    }
    attrs
}

/// One app's client-side build: what the daemon answered, what was sent
/// (for the record) and what the check of its binaries found; on failure
/// the error and the definitions sent (where the failing step is looked
/// up).
async fn solve_one(
    channel: tonic::transport::Channel,
    spec: SolveSpec,
    progress: solve::Progress,
    plan: &Plan,
    app: &App,
) -> Result<(solve::ExporterResponse, Prepared, build::Checked), (BuildError, Vec<pb::Definition>)>
{
    let sent = std::sync::Mutex::new(None::<Prepared>);
    let found = std::sync::Mutex::new(build::Checked::default());
    let (slot, found_slot) = (&sent, &found);
    let body = |gw| async move {
        let prepared = build::run::prepare(&gw, plan, app).await?;
        let result = build::run::solve(&gw, plan, app, &prepared).await;
        if let Ok(mut s) = slot.lock() {
            *s = Some(prepared);
        }
        let (result, checked) = result?;
        if let Ok(mut f) = found_slot.lock() {
            *f = checked;
        }
        Ok(result)
    };
    let solved = solve::solve_job(channel, spec, progress, body).await;
    let prepared = sent.lock().ok().and_then(|mut s| s.take());
    match (solved, prepared) {
        (Ok(resp), Some(prepared)) => {
            let checked = found
                .lock()
                .map(|mut f| std::mem::take(&mut *f))
                .unwrap_or_default();
            Ok((resp, prepared, checked))
        }
        (Ok(_), None) => Err((
            BuildError::Daemon {
                call: "Control.Solve",
                message:
                    "the build ended without solving the app (a bug in scratchc, please report it)"
                        .into(),
            },
            Vec::new(),
        )),
        (Err(e), prepared) => Err((e, prepared.map(|p| p.definitions).unwrap_or_default())),
    }
}

/// `--progress`'s values, from the progress code's own list (which knows
/// nothing of clap).
fn progress_modes() -> impl clap::builder::TypedValueParser<Value = ProgressMode> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        ProgressMode::ALL.map(|(_, name, help)| PossibleValue::new(name).help(help)),
    )
    .map(|s| s.parse().unwrap_or(ProgressMode::Auto))
}

/// Where an app's result goes, for the summary line.
fn destinations(outputs: &Outputs) -> Vec<String> {
    let mut what: Vec<String> = outputs.names.iter().map(|n| format!("image {n}")).collect();
    what.extend(
        outputs
            .files
            .iter()
            .map(|f| format!("{} {}", f.kind, f.dest.display())),
    );
    if what.is_empty() {
        what.push("no output (the result is in the build cache)".into());
    }
    what
}

/// The apps to build: each `--app`, else every app of the file. With
/// several, every -t and --output must hold `{app}` (one name for two
/// images would have the second overwrite the first).
fn select_apps<'a>(args: &'a BuildArgs, plan: &'a Plan) -> Result<Vec<&'a str>, BuildError> {
    let apps = build::apps::select(plan, &args.apps)?;
    build::apps::check_patterns("-t", &args.tags, &apps)?;
    build::apps::check_patterns("--output", &args.outputs, &apps)?;
    Ok(apps.into_iter().map(|a| a.name.node.as_str()).collect())
}

/// Where the results go, checked before anything runs: never the context
/// or a directory holding it, never a source inside it.
fn check_destinations(
    files: &[OutputSpec],
    caches: &Caches,
    disk: &Disk,
    plan: &Plan,
) -> Result<(), BuildError> {
    let guard = Some(ContextGuard {
        dir: &disk.context,
        excludes: &plan.excludes,
    });
    let refuse = |e: destination::DestinationError| UsageError::new(e.to_string());
    for f in files {
        let shape = match f.kind {
            OutputKind::Local => Shape::Dir,
            _ => Shape::File,
        };
        for w in destination::check("--output", &f.dest, shape, guard).map_err(refuse)? {
            eprintln!("warning: {w}");
        }
    }
    for dir in caches.export_dirs() {
        destination::check("--cache-to", dir, Shape::Dir, guard).map_err(refuse)?;
    }
    Ok(())
}

/// The lines printed for a built app: each output with its own digests,
/// then the epoch. The daemon's Solve response merges the exporters'
/// answers (the last one wins), so it speaks only for the store image
/// (`-t`, `--push`: the image exporter always comes last); a tarball is
/// read back for its own (an OCI one and a docker one of the same build
/// differ: Docker's media types make another manifest).
fn summarize(
    job: &Job<'_>,
    resp: &BTreeMap<String, String>,
    caches: &Caches,
    app_key: Option<&str>,
    epoch: &epoch::Epoch,
) -> Result<(), BuildError> {
    let app = &job.app.name.node;
    // One line per platform SBOM first (its digest, what it lists), so
    // the outputs' lines with the image's digests stay the last ones.
    let mut lines: Vec<String> = build::sbom::summary_lines(resp);
    let sboms = lines.len();
    if !job.outputs.names.is_empty() {
        let what = if job.outputs.push { "pushed" } else { "image" };
        lines.push(format!(
            "{what} {} -> {}",
            job.outputs.names.join(", "),
            store_digests(resp)
        ));
    }
    for f in &job.outputs.files {
        let dest = f.dest.display();
        lines.push(match f.kind {
            OutputKind::Oci | OutputKind::Docker => {
                let loads = (f.kind == OutputKind::Docker).then(|| {
                    let names = exporter::docker_tarball_names(&job.outputs.names, app);
                    format!(" (loads as {})", names.join(", "))
                });
                match tarball::read_image(&f.dest) {
                    Ok(img) => format!(
                        "{} {dest}{} -> {}",
                        f.kind,
                        loads.unwrap_or_default(),
                        tar_digests(&img)
                    ),
                    Err(e) => format!("{} {dest} (its digests cannot be read back: {e})", f.kind),
                }
            }
            OutputKind::Tar | OutputKind::Local => format!("{} {dest} (the image's files)", f.kind),
        });
    }
    match caches.record(app_key, resp)? {
        Some(Recorded::Written { dir, tag, .. }) => {
            lines.push(format!("cache {} ({tag})", dir.display()));
        }
        Some(Recorded::Nothing { dir }) => eprintln!(
            "warning: the daemon exported no cache to `{}` (nothing to export); its index.json is unchanged",
            dir.display()
        ),
        None => {}
    }
    if lines.len() == sboms {
        lines.push("no output (the result is in the build cache)".into());
    }
    lines.push(format!("epoch {epoch}"));
    for l in lines {
        eprintln!("{app}: {l}");
    }
    Ok(())
}

/// The digests of the store image from the Solve response: the manifest
/// (or, for several platforms, the index: `containerimage.descriptor`
/// says which) and the config.
fn store_digests(resp: &BTreeMap<String, String>) -> String {
    use base64::Engine as _;
    let Some(digest) = resp.get("containerimage.digest") else {
        return "the daemon returned no digest".into();
    };
    let media_type = resp
        .get("containerimage.descriptor")
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
        .and_then(|d| d["mediaType"].as_str().map(str::to_string))
        .unwrap_or_default();
    let kind = if media_type.contains("index") || media_type.contains("manifest.list") {
        "index"
    } else {
        "manifest"
    };
    match resp.get("containerimage.config.digest") {
        Some(config) if kind == "manifest" => format!("{kind} {digest}, config {config}"),
        _ => format!("{kind} {digest}"),
    }
}

/// The digests a tarball holds, named.
fn tar_digests(img: &tarball::TarImage) -> String {
    let kind = if img.is_index() { "index" } else { "manifest" };
    let docker = if img.is_docker() {
        " (Docker media types)"
    } else {
        ""
    };
    match &img.config {
        Some(c) => format!("{kind} {}{docker}, config {c}", img.digest),
        None => format!("{kind} {}{docker}", img.digest),
    }
}

/// Parses `--secret id=NAME,src=FILE` / `id=NAME,env=VAR`.
fn parse_secrets(values: &[String]) -> Result<BTreeMap<String, SecretSource>, UsageError> {
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
                    return Err(UsageError::new(format!(
                        "--secret `{v}`: `{part}` is not understood"
                    ))
                    .help("write id=NAME,src=FILE or id=NAME,env=VAR"));
                }
            }
        }
        let id = id.ok_or_else(|| UsageError::new(format!("--secret `{v}` has no id=NAME")))?;
        // Like buildx: with neither, the id names an environment variable.
        let source = source.unwrap_or_else(|| SecretSource::Env(id.clone()));
        out.insert(id, source);
    }
    Ok(out)
}

/// Parses `--ssh default` / `--ssh ID` (both the agent of
/// `$SSH_AUTH_SOCK`, given as `auth_sock`) and `--ssh ID=SOCKET`.
fn parse_ssh(
    values: &[String],
    auth_sock: Option<std::ffi::OsString>,
) -> Result<BTreeMap<String, PathBuf>, UsageError> {
    let mut out = BTreeMap::new();
    for v in values {
        let (id, path) = match v.split_once('=') {
            Some((id, p)) if !p.is_empty() => (id, PathBuf::from(p)),
            Some(_) => {
                return Err(UsageError::new(format!("--ssh `{v}` names no socket"))
                    .help("write --ssh ID=SOCKET, or --ssh default for $SSH_AUTH_SOCK"));
            }
            None => match &auth_sock {
                Some(s) if !s.is_empty() => (v.as_str(), PathBuf::from(s)),
                _ => {
                    return Err(UsageError::new(format!(
                        "--ssh {v}: SSH_AUTH_SOCK is not set, so there is no agent to forward"
                    ))
                    .help("start one (`eval $(ssh-agent)` and `ssh-add`), or name its socket: --ssh ID=SOCKET"));
                }
            },
        };
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(UsageError::new(format!("--ssh `{v}`: `{id}` is not an id"))
                .help("an id is letters, digits, `_`, `-` and `.`, e.g. `default` or `github`"));
        }
        out.insert(id.to_string(), path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_agents() {
        let sock = Some(std::ffi::OsString::from("/run/agent.sock"));
        let a = parse_ssh(&["default".into(), "gh=/tmp/gh.sock".into()], sock).unwrap();
        assert_eq!(a["default"], PathBuf::from("/run/agent.sock"));
        assert_eq!(a["gh"], PathBuf::from("/tmp/gh.sock"));
        assert!(parse_ssh(&["default".into()], None).is_err());
        assert!(parse_ssh(&["a b=/x".into()], None).is_err());
        assert!(parse_ssh(&["gh=".into()], None).is_err());
    }

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
