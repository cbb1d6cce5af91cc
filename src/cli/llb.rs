//! `scratchc llb`: compile one app for one platform and print its LLB, as
//! binary `pb.Definition` (what `buildctl build` reads) or a JSON dump. No
//! daemon is contacted: builder image configs come from
//! `LowerOptions::builder_configs` (empty offline; `scratch.lock` will
//! fill it), so builder steps run with the template's `build-env` only.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::compiler::{self, LowerOptions, Options, Platform, Sources, model};
use crate::llb;

use super::{CompileArgs, LlbArgs, LlbFormat};

/// Everything a verb needs to lower or print one app.
pub(super) struct Prepared {
    pub sources: Sources,
    pub options: Options,
    pub lower: LowerOptions,
    pub app: model::App,
    /// The target: the first `--platform`, else the app's first platform.
    pub platform: Platform,
    /// Whether `--platform` was given.
    pub platform_given: bool,
}

/// The build platform of an offline compile: linux on this machine's
/// architecture (the daemon's own is only known when building).
pub(super) fn host_platform() -> Platform {
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

/// Prints an error about the command line (not the sources) and returns
/// the exit code for it.
fn usage_error(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Reads, checks and selects the app; on failure prints why and gives the
/// exit code (1: errors in the file, 2: bad command line or unreadable file).
pub(super) fn prepare(
    file: &Path,
    app: Option<&str>,
    args: &CompileArgs,
) -> Result<Prepared, ExitCode> {
    let mut options = Options {
        build_platform: host_platform(),
        ..Options::default()
    };
    for kv in &args.build_args {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                options.build_args.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(usage_error(&format!(
                    "--build-arg `{kv}` is not KEY=VALUE; write e.g. --build-arg VERSION=1.2.3"
                )));
            }
        }
    }
    for p in &args.platforms {
        match Platform::parse(p) {
            Ok(p) => options.platforms.push(p),
            Err(e) => {
                return Err(usage_error(&format!(
                    "--platform `{p}` is not a known platform ({e:?}); write os/arch[/variant], e.g. linux/arm64"
                )));
            }
        }
    }
    let sources = match read_sources(file) {
        Ok(s) => s,
        Err(e) => return Err(usage_error(&format!("cannot read {}: {e}", file.display()))),
    };
    let mut program = match compiler::check(&sources, &options) {
        Ok(p) => p,
        Err(diags) => {
            eprint!("{}", compiler::render_plain(&diags, &sources));
            return Err(ExitCode::FAILURE);
        }
    };
    // scratch.lock next to the file, as `scratchc build` and the frontend
    // apply it: builders pinned to the locked digests, their configs taken
    // from the lock, so the printed definition is the one a build solves.
    let lock_path = crate::client::lock::path_for(file);
    let locked = match crate::client::lock::Lock::read(&lock_path) {
        Ok(l) => l,
        Err(e) => return Err(usage_error(&e.to_string())),
    };
    if let Some(l) = &locked {
        let wanted = crate::client::lock::wanted(&program, &sources, &options.build_platform);
        if let Err(e) = l.ensure_fresh(&wanted, &lock_path) {
            eprintln!("error: {e}");
            return Err(ExitCode::FAILURE);
        }
        l.pin(&mut program);
    }
    let chosen = match app {
        Some(name) => program.app(name).cloned().ok_or_else(|| {
            let d = compiler::check::unknown_app(&program, name);
            eprint!("{}", compiler::render_plain(&[d], &sources));
            ExitCode::FAILURE
        })?,
        None => match program.apps.as_slice() {
            [one] => one.clone(),
            [] => {
                eprintln!(
                    "error: {} defines no app; add an `app NAME {{ … }}` block",
                    file.display()
                );
                return Err(ExitCode::FAILURE);
            }
            many => {
                let names: Vec<&str> = many.iter().map(|a| a.name.node.as_str()).collect();
                eprintln!(
                    "error: {} defines several apps; pick one with --app NAME (apps: {})",
                    file.display(),
                    names.join(", ")
                );
                return Err(ExitCode::FAILURE);
            }
        },
    };
    let platform_given = !options.platforms.is_empty();
    let platform = match options.platforms.first() {
        Some(p) => p.clone(),
        None => match chosen.platforms.first() {
            Some(p) => p.node.clone(),
            None => options.build_platform.clone(),
        },
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let lower = LowerOptions {
        context_excludes: read_dockerignore(dir),
        builder_configs: locked
            .as_ref()
            .map(crate::client::lock::Lock::builder_configs)
            .unwrap_or_default(),
        ..LowerOptions::default()
    };
    Ok(Prepared {
        sources,
        options,
        lower,
        app: chosen,
        platform,
        platform_given,
    })
}

/// The root file as the only source (imports are the loader's job, see
/// `load.rs`; until it lands only the stdlib templates resolve).
fn read_sources(file: &Path) -> std::io::Result<Sources> {
    let text = std::fs::read_to_string(file)?;
    let name = file.file_name().map_or_else(
        || "app.scratch".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Sources::new(name, text))
}

/// `.dockerignore` patterns of the context, in file order (comments and
/// blank lines dropped); none when the file is absent.
fn read_dockerignore(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join(".dockerignore")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

pub fn run(args: &LlbArgs) -> ExitCode {
    let mut p = match prepare(&args.file, args.app.as_deref(), &args.compile) {
        Ok(p) => p,
        Err(code) => return code,
    };
    p.lower.local_unique.clone_from(&args.local_unique);
    if args.format == LlbFormat::Pb && std::io::stdout().is_terminal() {
        eprintln!(
            "error: refusing to write binary LLB to a terminal; pipe it (e.g. `| buildctl build`), \
             redirect it to a file, or use --format json"
        );
        return ExitCode::from(2);
    }
    let target = match compiler::lower::lower(&p.app, &p.platform, &p.sources, &p.options, &p.lower)
    {
        Ok(t) => t,
        Err(d) => {
            eprint!("{}", compiler::render_plain(&[d], &p.sources));
            return ExitCode::FAILURE;
        }
    };
    let bytes = match args.format {
        LlbFormat::Pb => target.definition,
        LlbFormat::Json => match llb::json::dump_bytes(&target.definition) {
            Ok(s) => s.into_bytes(),
            Err(e) => {
                eprintln!("error: {e} (a bug in scratchc; please report it)");
                return ExitCode::FAILURE;
            }
        },
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(&bytes).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
