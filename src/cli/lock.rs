//! `scratchc lock`: resolve every builder image of a file on the daemon and
//! write `scratch.lock` beside it (see `client::lock` for the format and
//! why). The resolution runs as a small client-side build that only calls
//! the gateway's `ResolveImageConfig` and returns an empty result, so it
//! sees exactly the images and the platform a real build would.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::client::errors::BuildError;
use crate::client::gateway::{Caps, Gateway};
use crate::client::lock::{self, Lock, LockedBuilder, Wanted};
use crate::client::progress::{ProgressMode, Reporter};
use crate::client::solve::{self, SolveSpec};
use crate::client::{Endpoint, TlsFiles};
use crate::compiler::{self, Options, Platform};
use crate::proto::moby::buildkit::v1::frontend as gw;

use super::load;

/// Options of `scratchc lock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// The app.scratch file.
    #[arg(value_name = "FILE", default_value = "app.scratch")]
    pub file: PathBuf,
    /// Exit 1 if the lock is missing or stale, without writing it (for CI).
    #[arg(long)]
    pub check: bool,
    /// The daemon (as for `scratchc build --addr`).
    #[arg(long, value_name = "ADDRESS")]
    pub addr: Option<String>,
}

pub fn run(args: LockArgs) -> ExitCode {
    let rt = match crate::client::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(lock(&args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the file needs pinned, checked on the daemon's build platform.
/// `Err(code)` when the file does not load or check (already printed).
pub fn wanted_for(
    file: &std::path::Path,
    build_platform: &Platform,
) -> Result<(Wanted, compiler::model::Program), ExitCode> {
    let sources = load::load(file).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    let options = Options {
        build_platform: build_platform.clone(),
        ..Options::default()
    };
    let program = compiler::check(&sources, &options).map_err(|diags| {
        eprint!("{}", compiler::render_plain(&diags, &sources));
        ExitCode::FAILURE
    })?;
    Ok((lock::wanted(&program, &sources, build_platform), program))
}

async fn lock(args: &LockArgs) -> Result<ExitCode, BuildError> {
    let endpoint = crate::client::resolve(args.addr.as_deref(), &TlsFiles::default())?;
    let channel = crate::client::connect(&endpoint).await?;
    let mut caps = Caps::default();
    caps.add_workers(&solve::list_workers(channel.clone()).await?);
    let platform = caps
        .build_platform()
        .cloned()
        .unwrap_or_else(super::llb::host_platform);
    let (wanted, _) = match wanted_for(&args.file, &platform) {
        Ok(w) => w,
        Err(code) => return Ok(code),
    };
    let path = lock::path_for(&args.file);
    if args.check {
        let existing = Lock::read(&path).map_err(|e| BuildError::Usage(e.to_string()))?;
        return Ok(match existing {
            None => {
                eprintln!(
                    "error: {} does not exist\n  help: run `scratchc lock`",
                    path.display()
                );
                ExitCode::FAILURE
            }
            Some(l) => match l.ensure_fresh(&wanted, &path) {
                Ok(()) => {
                    eprintln!("{} is up to date", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            },
        });
    }
    let builders = resolve_builders(channel, &wanted, &endpoint).await?;
    let new = Lock::new(&wanted, builders);
    let old = Lock::read(&path).ok().flatten();
    new.write(&path)
        .map_err(|e| BuildError::Usage(e.to_string()))?;
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
    Ok(ExitCode::SUCCESS)
}

/// Resolves each builder on the daemon's build platform: its local image
/// store first, then the daemon's default lookup (which may pull).
pub async fn resolve_builders(
    channel: tonic::transport::Channel,
    wanted: &Wanted,
    _endpoint: &Endpoint,
) -> Result<BTreeMap<String, LockedBuilder>, BuildError> {
    let refs: Vec<String> = wanted.builders.iter().cloned().collect();
    let platform = wanted.build_platform.clone();
    let out = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let out2 = std::sync::Arc::clone(&out);
    let body = move |g: Gateway| async move {
        for r in &refs {
            let resolved = match g.resolve_image_config(r, &platform, "local").await {
                Ok(x) => Ok(x),
                Err(_) => g.resolve_image_config(r, &platform, "default").await,
            };
            let (digest, config) = resolved.map_err(|e| BuildError::Daemon {
                call: "LLBBridge.ResolveImageConfig",
                message: format!("cannot resolve the builder image {r}: {e}"),
            })?;
            if !lock::is_digest(&digest) {
                return Err(BuildError::Daemon {
                    call: "LLBBridge.ResolveImageConfig",
                    message: format!("the daemon gave no digest for {r} (got `{digest}`)"),
                });
            }
            let entry = LockedBuilder {
                digest,
                env: config.env,
                workdir: config.working_dir,
                user: config.user,
            };
            if let Ok(mut m) = out2.lock() {
                m.insert(r.clone(), entry);
            }
        }
        Ok(gw::Result::default())
    };
    let spec = SolveSpec {
        build_ref: solve::new_ref(),
        ..SolveSpec::default()
    };
    let mode = ProgressMode::Quiet.resolve(std::io::stderr().is_terminal());
    let mut reporter = Reporter::new(mode, Box::new(std::io::sink()));
    solve::solve(channel, spec, &mut reporter, body).await?;
    let map = out.lock().map(|m| m.clone()).unwrap_or_default();
    Ok(map)
}

/// The build's use of `scratch.lock`: with no lock, nothing (the builders
/// float on their tags); with a fresh lock, the program's builders are
/// pinned to the locked digests and the locked configs are returned for
/// the lowering; a stale lock is an error unless `--update-lock`, which
/// resolves again and rewrites it (as does `--update-lock` with no lock).
pub(super) async fn apply_lock(
    file: &std::path::Path,
    update: bool,
    sources: &compiler::Sources,
    program: &mut compiler::model::Program,
    build_platform: &Platform,
    channel: &tonic::transport::Channel,
    endpoint: &Endpoint,
) -> Result<Option<Lock>, BuildError> {
    let path = lock::path_for(file);
    let wanted = lock::wanted(program, sources, build_platform);
    let existing = Lock::read(&path).map_err(|e| BuildError::Usage(e.to_string()))?;
    let current = match existing {
        Some(l) if !update => {
            l.ensure_fresh(&wanted, &path)
                .map_err(|e| BuildError::Unsupported {
                    what: e.to_string(),
                    help: "the builder images or templates changed since the lock was written"
                        .into(),
                })?;
            l
        }
        None if !update => return Ok(None),
        _ => {
            let builders = resolve_builders(channel.clone(), &wanted, endpoint).await?;
            let l = Lock::new(&wanted, builders);
            l.write(&path)
                .map_err(|e| BuildError::Usage(e.to_string()))?;
            eprintln!("wrote {}", path.display());
            l
        }
    };
    current.pin(program);
    Ok(Some(current))
}
