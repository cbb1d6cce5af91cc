//! `scratchc verify`: build every app twice, with no cache, to OCI layout
//! tarballs, and compare every digest produced (the image index, each
//! platform's manifest, config and layers). Identical digests are the proof
//! that the build is reproducible; otherwise the first difference is
//! printed with what differs inside it (`client::artefacts::ocidiff`) and the exit
//! code is 1.
//!
//! The builds are ordinary `scratchc build` runs (the same flags, the same
//! code path), so what is verified is what users get.

use std::path::{Path, PathBuf};

use crate::build::Settings;
use crate::client::artefacts::ocidiff::{self, Layout};
use crate::client::buildkit::progress::ProgressMode;
use crate::client::errors::{BuildError, InputError};

use super::build::BuildArgs;
use super::load::Disk;
use super::{CompileArgs, DaemonArgs, Failure};

/// Options of `scratchc verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The app.scratch file (a directory: its app.scratch).
    #[arg(value_name = "FILE", default_value = "app.scratch", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// Verify only this app (default: every app of the file).
    #[arg(long, value_name = "NAME", add = super::complete::apps())]
    pub app: Option<String>,
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Keep the two OCI tarballs in this directory (default: a temporary
    /// directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// A secret for `secret` mounts, as for `scratchc build` (repeatable).
    #[arg(long = "secret", value_name = "id=NAME,src=FILE|env=VAR")]
    pub secrets: Vec<String>,
    /// An SSH agent for `ssh` mounts, as for `scratchc build` (repeatable).
    #[arg(long = "ssh", value_name = "default|ID=SOCKET")]
    pub ssh: Vec<String>,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub fn run(args: &VerifyArgs) -> Result<(), Failure> {
    let apps = app_names(args)?;
    // Our own temporary directory (removed on every exit path below by
    // the guard), unless --keep names one.
    let guard;
    let dir: &Path = match &args.keep {
        Some(d) => d,
        None => {
            guard = TempDir(
                std::env::temp_dir()
                    .join(format!("scratchc-verify-{}", uuid::Uuid::new_v4().simple())),
            );
            &guard.0
        }
    };
    std::fs::create_dir_all(dir).map_err(|source| InputError {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut all_same = true;
    for app in &apps {
        let mut layouts = Vec::new();
        for round in 1..=2 {
            let dest = dir.join(format!("{app}-{round}.oci.tar"));
            eprintln!(
                "verify: {app}: build {round} of 2 (no cache) -> {}",
                dest.display()
            );
            super::build::run(&build_once(args, app, &dest))?;
            let layout = std::fs::read(&dest)
                .map_err(|e| e.to_string())
                .and_then(|b| Layout::from_tar(&b).map_err(|e| e.to_string()))
                .map_err(|message| BuildError::Daemon {
                    call: "verify",
                    message: format!("cannot read {}: {message}", dest.display()),
                })?;
            layouts.push(layout);
        }
        let (a, b) = (&layouts[0], &layouts[1]);
        match ocidiff::compare(a, b) {
            Ok(None) => {
                let digests = ocidiff::digests(a).unwrap_or_default();
                println!("{app}: reproducible ({} digests identical)", digests.len());
                for (label, d) in digests {
                    println!("  {label:<28} {d}");
                }
            }
            Ok(Some(diff)) => {
                all_same = false;
                println!("{app}: NOT reproducible");
                println!("  first difference: {diff}");
            }
            Err(e) => {
                return Err(BuildError::Daemon {
                    call: "verify",
                    message: format!("{app}: cannot compare the builds: {e}"),
                }
                .into());
            }
        }
    }
    if all_same { Ok(()) } else { Err(super::NO) }
}

/// Removes a directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The apps to verify: `--app`, or every app of the file.
fn app_names(args: &VerifyArgs) -> Result<Vec<String>, BuildError> {
    let plan =
        Disk::for_args(&args.file, &args.compile, Some("verify"))?.plan(Settings::default())?;
    match &args.app {
        Some(a) => Ok(vec![plan.app(a)?.name.node.clone()]),
        None => Ok(plan
            .program
            .apps
            .iter()
            .map(|a| a.name.node.clone())
            .collect()),
    }
}

/// One `scratchc build --no-cache` of `app` to an OCI tarball: the build
/// verb with the user's compile, secret, SSH and daemon flags.
fn build_once(args: &VerifyArgs, app: &str, dest: &Path) -> BuildArgs {
    BuildArgs {
        apps: vec![app.to_string()],
        compile: args.compile.clone(),
        outputs: vec![format!("type=oci,dest={}", dest.display())],
        no_cache: true,
        progress: ProgressMode::Quiet,
        secrets: args.secrets.clone(),
        ssh: args.ssh.clone(),
        daemon: args.daemon.clone(),
        ..BuildArgs::for_file(args.file.clone())
    }
}
