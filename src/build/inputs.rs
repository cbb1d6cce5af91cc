//! What a compile needs besides the sources, derived in one place for
//! every driver: `scratchc build`, `scratchc llb`/`dockerfile` and the
//! BuildKit frontend. The LLB bytes depend on these options, so two drivers
//! that derived them differently would print one definition and solve
//! another.
//!
//! This module sits beside the drivers, not in one of them: the frontend
//! and the CLI both call it and neither depends on the other. It does no
//! IO; each driver reads the lock and `.dockerignore` its own way (files on
//! disk for the CLI, the client's locals for the frontend) and hands the
//! text or parsed values here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::client::errors::UsageError;
use crate::client::inputs::lock::{self, Lock, LockError};
use crate::compiler::model::Program;
use crate::compiler::{LowerOptions, Platform, Sources};

/// The build platform of an offline compile: linux on this machine's
/// architecture (the daemon's own is only known when building).
pub fn host_platform() -> Platform {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    };
    Platform::parse(&format!("linux/{arch}")).unwrap_or_else(|_| Platform::linux_amd64())
}

/// `--build-arg KEY=VALUE` values as a map (a later value wins). The error
/// says which value is wrong and how to write it.
pub fn build_args(values: &[String]) -> Result<BTreeMap<String, String>, UsageError> {
    let mut out = BTreeMap::new();
    for kv in values {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(
                    UsageError::new(format!("--build-arg `{kv}` is not KEY=VALUE"))
                        .help("write e.g. --build-arg VERSION=1.2.3"),
                );
            }
        }
    }
    Ok(out)
}

/// `--platform` values, normalised, repeats dropped (the first one
/// stays first: it is the one `scratchc llb` prints).
pub fn platforms(values: &[String]) -> Result<Vec<Platform>, UsageError> {
    let mut out: Vec<Platform> = Vec::new();
    for p in values {
        let parsed = Platform::parse(p)
            .map_err(|e| UsageError::new(format!("--platform: {}", e.message(p))).help(e.help()))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

/// `--provenance VALUE` as the `attest:provenance` attribute BuildKit
/// reads: `mode=min` or `mode=max` (with any other field BuildKit knows,
/// passed on), `min`/`max` for short, `true` for `mode=min`; `false`
/// means none (`None`).
pub fn provenance(value: &str) -> Result<Option<String>, UsageError> {
    let bad = || {
        UsageError::new(format!("--provenance `{value}` is not understood"))
            .help("write --provenance mode=min, --provenance mode=max, or --provenance=false")
    };
    match value.trim() {
        "false" => return Ok(None),
        "true" | "min" => return Ok(Some("mode=min".into())),
        "max" => return Ok(Some("mode=max".into())),
        _ => {}
    }
    let mut mode = None;
    for field in value.split(',') {
        match field.split_once('=') {
            Some(("mode", m @ ("min" | "max"))) => mode = Some(m),
            Some(("mode", _)) | None => return Err(bad()),
            Some(("disabled", "true")) => return Ok(None),
            Some(("", _)) => return Err(bad()),
            Some(_) => {}
        }
    }
    match mode {
        Some(_) => Ok(Some(value.trim().to_string())),
        None => Ok(Some(format!("mode=min,{}", value.trim()))),
    }
}

/// The lowering options, the same for every driver given the same inputs:
/// the context's `.dockerignore` patterns, `--no-cache`, the `local.unique`
/// of the context sources, the builder configs of `scratch.lock`, and which
/// of the program's `context_probes` the context holds and lacks.
/// Builders the lock does not cover are left for the driver to resolve on
/// the daemon (`scratchc llb`, offline, runs them with the template's
/// `build-env` only).
pub fn lower_options(
    context_excludes: Vec<String>,
    no_cache: bool,
    local_unique: Option<String>,
    lock: Option<&Lock>,
    (present_files, absent_files): (BTreeSet<String>, BTreeSet<String>),
    epoch: u64,
) -> LowerOptions {
    LowerOptions {
        epoch,
        builder_configs: lock.map(Lock::builder_configs).unwrap_or_default(),
        context_excludes,
        no_cache,
        local_unique,
        absent_files,
        present_files,
    }
}

/// Applies a fresh lock to a checked program: its builders are pinned to
/// the locked digests. A stale lock (other builders or templates, another
/// build platform) is an error that lists every difference; `path` only
/// names the lock in it.
pub fn pin(
    lock: &Lock,
    path: &Path,
    program: &mut Program,
    sources: &Sources,
    build_platform: &Platform,
) -> Result<(), LockError> {
    lock.ensure_fresh(&lock::wanted(program, sources, build_platform), path)?;
    lock.pin(program);
    Ok(())
}

/// The id of a context directory: `scratchc build` sends the directory
/// under this session shared key and its `local://` sources carry it as
/// `local.unique`, so the daemon reuses its transfer cache for the same
/// tree and never merges the sources of two different trees.
pub fn local_unique(context: &Path) -> String {
    let h = Sha256::digest(context.to_string_lossy().as_bytes());
    hex::encode(&h[..16])
}

/// A `.dockerignore` pattern that matches exactly `path` (relative to the
/// context): the pattern characters `*`, `?`, `[` and `\\` escaped.
pub fn literal_pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `.dockerignore` text as patterns, in file order: comments and blank
/// lines dropped, surrounding whitespace trimmed. Both drivers parse with
/// this, so a context excludes the same files whichever reads it.
pub fn dockerignore_patterns(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_values() {
        assert_eq!(provenance("mode=max"), Ok(Some("mode=max".into())));
        assert_eq!(provenance("min"), Ok(Some("mode=min".into())));
        assert_eq!(provenance("true"), Ok(Some("mode=min".into())));
        assert_eq!(provenance("false"), Ok(None));
        assert_eq!(provenance("disabled=true"), Ok(None));
        assert_eq!(
            provenance("mode=max,builder-id=ci-7"),
            Ok(Some("mode=max,builder-id=ci-7".into()))
        );
        assert_eq!(
            provenance("builder-id=ci-7"),
            Ok(Some("mode=min,builder-id=ci-7".into()))
        );
        assert!(provenance("mode=full").is_err());
        assert!(provenance("yes").is_err());
    }

    #[test]
    fn command_line_values() {
        let args = build_args(&["A=1".into(), "B=x=y".into(), "A=2".into()]);
        assert_eq!(
            args,
            Ok(BTreeMap::from([
                ("A".to_string(), "2".to_string()),
                ("B".to_string(), "x=y".to_string())
            ]))
        );
        assert!(build_args(&["=1".into()]).is_err());
        assert!(build_args(&["A".into()]).is_err());
        let p = platforms(&[
            "linux/arm64".into(),
            "linux/amd64".into(),
            "linux/arm64/v8".into(),
        ]);
        assert_eq!(
            p,
            Ok(vec![
                Platform::new("linux", "arm64", None),
                Platform::linux_amd64()
            ])
        );
        assert!(platforms(&["plan9".into()]).is_err());
        let e = platforms(&["linux/aarch64".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown architecture `aarch64` in `linux/aarch64`"),
            "{e}"
        );
        assert!(e.contains("write `linux/arm64`"), "{e}");
    }

    #[test]
    fn dockerignore_lines() {
        assert_eq!(
            dockerignore_patterns("# c\n\n  target \n!keep\n"),
            ["target", "!keep"]
        );
    }

    #[test]
    fn local_unique_is_per_directory() {
        let a = local_unique(Path::new("/src/a"));
        assert_eq!(a.len(), 32);
        assert_eq!(a, local_unique(Path::new("/src/a")));
        assert_ne!(a, local_unique(Path::new("/src/b")));
    }
}
