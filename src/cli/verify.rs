//! `scratchc verify`: build every app twice, with no cache, to OCI layout
//! tarballs, and compare every digest produced (the image index, each
//! platform's manifest, config and layers). Identical digests are the proof
//! that the build is reproducible; otherwise the first difference is
//! printed with what differs inside it (`client::ocidiff`) and the exit
//! code is 1.
//!
//! The builds are ordinary `scratchc build` runs (the same flags, the same
//! code path), so what is verified is what users get.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::client::ocidiff::{self, Layout};
use crate::compiler::{self, Options};

use super::{Cli, Command, CompileArgs, load};

/// Options of `scratchc verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The app.scratch file.
    #[arg(value_name = "FILE", default_value = "app.scratch")]
    pub file: PathBuf,
    /// Verify only this app (default: every app of the file).
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Keep the two OCI tarballs in this directory (default: a temporary
    /// directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// The daemon (as for `scratchc build --addr`).
    #[arg(long, value_name = "ADDRESS")]
    pub addr: Option<String>,
}

pub fn run(args: VerifyArgs) -> ExitCode {
    let apps = match app_names(&args) {
        Ok(a) => a,
        Err(code) => return code,
    };
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
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut all_same = true;
    for app in &apps {
        let mut layouts = Vec::new();
        for round in 1..=2 {
            let dest = dir.join(format!("{app}-{round}.oci.tar"));
            eprintln!(
                "verify: {app}: build {round} of 2 (no cache) -> {}",
                dest.display()
            );
            let code = build_once(&args, app, &dest);
            if code != ExitCode::SUCCESS {
                eprintln!("verify: {app}: build {round} failed");
                return code;
            }
            match std::fs::read(&dest)
                .map_err(|e| e.to_string())
                .and_then(|b| Layout::from_tar(&b).map_err(|e| e.to_string()))
            {
                Ok(l) => layouts.push(l),
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", dest.display());
                    return ExitCode::FAILURE;
                }
            }
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
                eprintln!("error: {app}: cannot compare the builds: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if all_same {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Removes a directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The apps to verify: `--app`, or every app of the file.
fn app_names(args: &VerifyArgs) -> Result<Vec<String>, ExitCode> {
    if let Some(a) = &args.app {
        return Ok(vec![a.clone()]);
    }
    let sources = load::load(&args.file).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    let program = compiler::check(&sources, &Options::default()).map_err(|diags| {
        eprint!("{}", compiler::render_plain(&diags, &sources));
        ExitCode::FAILURE
    })?;
    Ok(program.apps.iter().map(|a| a.name.node.clone()).collect())
}

/// One `scratchc build --no-cache` of `app` to an OCI tarball, through the
/// same argument parser as the command line.
fn build_once(args: &VerifyArgs, app: &str, dest: &Path) -> ExitCode {
    let mut argv: Vec<String> = vec![
        "scratchc".into(),
        "build".into(),
        args.file.display().to_string(),
        "--app".into(),
        app.into(),
        "--no-cache".into(),
        "--progress".into(),
        "quiet".into(),
        "--output".into(),
        format!("type=oci,dest={}", dest.display()),
    ];
    for b in &args.compile.build_args {
        argv.push("--build-arg".into());
        argv.push(b.clone());
    }
    for p in &args.compile.platforms {
        argv.push("--platform".into());
        argv.push(p.clone());
    }
    if let Some(a) = &args.addr {
        argv.push("--addr".into());
        argv.push(a.clone());
    }
    match Cli::try_parse_from(&argv) {
        Ok(Cli {
            command: Command::Build(b),
        }) => super::build::run(*b),
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: internal: the verify build's arguments do not parse: {e}");
            ExitCode::FAILURE
        }
    }
}
