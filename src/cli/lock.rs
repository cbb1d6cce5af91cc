//! `scratchc lock`: resolve every builder image of a file on the daemon and
//! write `scratch.lock` beside it (see `client::inputs::lock` for the format and
//! why). The resolution runs as a small client-side build that only calls
//! the gateway's `ResolveImageConfig` and returns an empty result, so it
//! sees exactly the images and the platform a real build would.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::build::{Plan, Settings, inputs};
use crate::client::buildkit::gateway::{Caps, Gateway};
use crate::client::buildkit::progress::{ProgressMode, Reporter};
use crate::client::buildkit::solve::{self, SolveSpec};
use crate::client::errors::BuildError;
use crate::client::inputs::lock::{self, Lock, LockedBuilder, Wanted};
use crate::proto::moby::buildkit::v1::frontend as gw;

use super::load::Disk;
use super::{DaemonArgs, Failure};

/// Options of `scratchc lock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// The app.scratch file (a directory: its app.scratch).
    #[arg(value_name = "FILE", default_value = "app.scratch", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// Exit 1 if the lock is missing or stale, without writing it (for CI).
    #[arg(long)]
    pub check: bool,
    /// The build context, as for `scratchc build --context` (the imports
    /// of a monorepo's app file may reach anywhere in it).
    #[arg(long = "context", value_name = "DIR")]
    pub context: Option<PathBuf>,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub fn run(args: &LockArgs) -> Result<(), Failure> {
    let rt = super::runtime()?;
    rt.block_on(lock(args))
}

async fn lock(args: &LockArgs) -> Result<(), Failure> {
    let compile = super::CompileArgs {
        context: args.context.clone(),
        ..Default::default()
    };
    let disk = Disk::for_args(&args.file, &compile, Some("lock"))?;
    // The file as it is, the lock left out: it is what gets checked or
    // written.
    let settings = Settings {
        build_platform: inputs::host_platform(),
        use_lock: false,
        ..Settings::default()
    };
    let mut plan = disk.plan(settings)?;
    let endpoint = args.daemon.endpoint()?;
    let channel = crate::client::connect(&endpoint).await?;
    let mut caps = Caps::default();
    caps.add_workers(&solve::list_workers(channel.clone()).await?);
    if let Some(p) = caps.build_platform() {
        plan.retarget(p)?;
    }
    let wanted = lock::wanted(&plan.program, &plan.sources, &plan.settings.build_platform);
    let path = lock::path_for(&disk.file);
    if args.check {
        return match Lock::read(&path)? {
            None => {
                eprintln!(
                    "error: {} does not exist\n  help: run `scratchc lock`",
                    path.display()
                );
                Err(super::NO)
            }
            Some(l) => {
                l.ensure_fresh(&wanted, &path)?;
                eprintln!("{} is up to date", path.display());
                Ok(())
            }
        };
    }
    let old = Lock::read(&path).ok().flatten();
    let new = write(&wanted, &path, &channel).await?;
    for (name, b) in &new.builders {
        let was = old
            .as_ref()
            .and_then(|o| o.builders.get(name))
            .map(|o| o.digest.as_str());
        let note = match was {
            Some(d) if d == b.digest => "",
            Some(_) => " (changed)",
            None => " (new)",
        };
        eprintln!("{name} -> {}{note}", b.digest);
    }
    eprintln!(
        "wrote {} ({} builder(s), {} template(s), build platform {})",
        path.display(),
        new.builders.len(),
        new.templates.len(),
        new.build_platform
    );
    Ok(())
}

/// `scratchc build --update-lock`: resolves the builders of `plan` again,
/// rewrites the lock beside the app file and pins the plan to it.
pub(super) async fn relock(
    disk: &Disk,
    plan: &mut Plan,
    channel: &tonic::transport::Channel,
) -> Result<(), BuildError> {
    let wanted = lock::wanted(&plan.program, &plan.sources, &plan.settings.build_platform);
    let path = lock::path_for(&disk.file);
    let new = write(&wanted, &path, channel).await?;
    eprintln!("wrote {}", path.display());
    plan.pin_to(new)
}

/// Resolves the builders `wanted` names and writes the lock at `path`.
async fn write(
    wanted: &Wanted,
    path: &std::path::Path,
    channel: &tonic::transport::Channel,
) -> Result<Lock, BuildError> {
    let builders = resolve_builders(channel.clone(), wanted).await?;
    let new = Lock::new(wanted, builders);
    new.write(path)?;
    Ok(new)
}

/// Resolves each builder on the daemon's build platform: its local image
/// store first, then the daemon's default lookup (which may pull).
async fn resolve_builders(
    channel: tonic::transport::Channel,
    wanted: &Wanted,
) -> Result<BTreeMap<String, LockedBuilder>, BuildError> {
    let out = std::sync::Mutex::new(BTreeMap::new());
    let slot = &out;
    let body = |g: Gateway| async move {
        for r in &wanted.builders {
            let p = &wanted.build_platform;
            let resolved = match g.resolve_image_config(r, p, "local").await {
                Ok(x) => Ok(x),
                Err(_) => g.resolve_image_config(r, p, "default").await,
            };
            let resolved = resolved.map_err(|e| BuildError::Daemon {
                call: "LLBBridge.ResolveImageConfig",
                message: format!("cannot resolve the builder image {r}: {e}"),
            })?;
            if !lock::is_digest(&resolved.digest) {
                return Err(BuildError::Daemon {
                    call: "LLBBridge.ResolveImageConfig",
                    message: format!(
                        "the daemon gave no digest for {r} (got `{}`)",
                        resolved.digest
                    ),
                });
            }
            let entry = LockedBuilder {
                digest: resolved.digest,
                env: resolved.config.env,
                workdir: resolved.config.working_dir,
                user: resolved.config.user,
            };
            if let Ok(mut m) = slot.lock() {
                m.insert(r.clone(), entry);
            }
        }
        Ok(gw::Result::default())
    };
    let spec = SolveSpec {
        build_ref: solve::new_ref(),
        ..SolveSpec::default()
    };
    let mut reporter = Reporter::new(ProgressMode::Quiet, Box::new(std::io::sink()));
    solve::solve(channel, spec, &mut reporter, body).await?;
    Ok(out.into_inner().unwrap_or_default())
}
