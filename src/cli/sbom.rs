//! `scratchc sbom`: print the SBOM attached to a built image, read from
//! wherever the image is (see [`crate::client::artefacts::images`]): a file or
//! directory an output wrote, the Docker Engine's image store, or a
//! registry. No other tool needed.
//!
//! Exit codes: 0 printed; 1 nothing of that name, or no SBOM attached;
//! 2 a bad command line (a platform the image does not have); 3 the
//! Engine or the registry could not be asked.

use std::io::Write;
use std::path::PathBuf;

use crate::build::inputs;
use crate::build::sbom::PREDICATE_SPDX;
use crate::client::Endpoint;
use crate::client::artefacts::images::{self, ImageError};
use crate::client::errors::{BuildError, InputError, UsageError};
use crate::sbom::attached::Attestation;

use super::{DaemonArgs, Failure};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SbomFormat {
    /// The SPDX 2.3 JSON document.
    Spdx,
    /// The in-toto statement that carries it (subjects and predicate).
    Statement,
    /// One line per package: purpose, name, version, purl, `h1:` sum.
    Packages,
}

/// Options of `scratchc sbom`.
#[derive(Debug, Clone, clap::Args)]
pub struct SbomArgs {
    /// What to read: an image in the Docker Engine (NAME[:TAG]), an image
    /// in a registry (HOST/NAME:TAG), an OCI layout directory or tarball
    /// (`-o type=oci`), a `local` or `tar` output, or a JSON file.
    #[arg(value_name = "IMAGE|FILE|DIR")]
    pub target: String,
    /// The platform image whose SBOM to print (default: the only one, else
    /// this machine's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    #[arg(long, value_enum, default_value = "spdx")]
    pub format: SbomFormat,
    /// Read plain HTTP from registries that are not on loopback.
    #[arg(long)]
    pub insecure_registry: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub fn run(args: &SbomArgs) -> Result<(), Failure> {
    let platform = match &args.platform {
        Some(p) => Some(inputs::platforms(std::slice::from_ref(p))?.remove(0)),
        None => None,
    };
    let engine = engine_socket(&args.daemon);
    let rt = super::runtime()?;
    let read = rt
        .block_on(images::read(
            &args.target,
            engine.as_deref(),
            args.insecure_registry,
        ))
        .map_err(|e| error(&args.target, e))?;
    let sboms = images::by_platform(&read.found, PREDICATE_SPDX);
    let available: Vec<&str> = sboms.keys().copied().collect();
    if sboms.is_empty() {
        let images: Vec<&str> = read.found.images.iter().map(|(p, _)| p.as_str()).collect();
        let held = if images.is_empty() {
            String::new()
        } else {
            format!(" (it holds images for {})", images.join(", "))
        };
        return Err(input(
            &args.target,
            format!(
                "{} holds no SBOM attestation{held}; was it built with --sbom=false or `sbom false`?",
                read.from
            ),
        ));
    }
    let chosen: &Attestation = match &platform {
        Some(p) => {
            let id = p.id();
            *sboms.get(id.as_str()).ok_or_else(|| {
                UsageError::new(format!(
                    "{} has no SBOM for {id}: it has {}",
                    read.from,
                    available.join(", ")
                ))
                .help("pick one of those with --platform")
            })?
        }
        None if sboms.len() == 1 => sboms
            .values()
            .next()
            .copied()
            .ok_or_else(|| UsageError::new("no SBOM (a bug, please report it)".to_string()))?,
        None => {
            let host = inputs::host_platform().id();
            let Some(a) = sboms.get(host.as_str()) else {
                return Err(UsageError::new(format!(
                    "{} has an SBOM per platform ({}); which one?",
                    read.from,
                    available.join(", ")
                ))
                .help("pick one with --platform")
                .into());
            };
            eprintln!(
                "sbom: {host}'s SBOM (the image also has {}; pick with --platform)",
                available
                    .iter()
                    .filter(|p| **p != host)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            a
        }
    };
    let text = match args.format {
        SbomFormat::Spdx => pretty(chosen.predicate()),
        SbomFormat::Statement => pretty(&chosen.statement),
        SbomFormat::Packages => packages(chosen.predicate()),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            BuildError::Input(InputError {
                action: "write to",
                path: PathBuf::from("standard output"),
                source: e,
            })
        })?;
    Ok(())
}

/// The Docker Engine to ask for local images: `--addr` or the
/// environment when they name an Engine on a unix socket, else Docker's
/// default socket when it is there.
fn engine_socket(daemon: &DaemonArgs) -> Option<PathBuf> {
    if let Ok(Endpoint::DockerUnix(p)) = daemon.endpoint() {
        return Some(p);
    }
    let default = PathBuf::from("/var/run/docker.sock");
    default.exists().then_some(default)
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// `PURPOSE NAME VERSION PURL SUM`, one package a line, in the
/// document's order (the image, the main module, its dependencies, the
/// standard library, the builder).
fn packages(doc: &serde_json::Value) -> String {
    let mut out = String::new();
    for p in doc["packages"].as_array().into_iter().flatten() {
        let refs = p["externalRefs"].as_array();
        let find = |t: &str| {
            refs.into_iter()
                .flatten()
                .find(|r| r["referenceType"] == t)
                .and_then(|r| r["referenceLocator"].as_str())
                .unwrap_or("-")
                .to_string()
        };
        out.push_str(&format!(
            "{:<11} {} {} {} {}\n",
            p["primaryPackagePurpose"].as_str().unwrap_or("-"),
            p["name"].as_str().unwrap_or("-"),
            p["versionInfo"].as_str().unwrap_or("-"),
            find("purl"),
            find("go-sum"),
        ));
    }
    out
}

fn input(target: &str, why: String) -> Failure {
    Failure::Error(BuildError::Input(InputError {
        action: "read the SBOM of",
        path: PathBuf::from(target),
        source: std::io::Error::other(why),
    }))
}

/// A read failure with the exit code of its kind: nothing there or no
/// image in it is 1, an unreachable Engine or registry 3.
fn error(target: &str, e: ImageError) -> Failure {
    match e {
        ImageError::Client(c) => Failure::Error(c.into()),
        ImageError::Registry { .. } => Failure::Error(BuildError::Daemon {
            call: "registry",
            message: e.to_string(),
        }),
        ImageError::File(f) => Failure::Error(f.into()),
        other => input(target, other.to_string()),
    }
}
