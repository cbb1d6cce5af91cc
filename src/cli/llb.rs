//! `scratchc llb`: compile one app for one platform and print its LLB, as
//! binary `pb.Definition` (what `buildctl build` reads) or a JSON dump.
//!
//! No daemon is contacted, yet the bytes are those `scratchc build` solves
//! for the same file, context and flags: the options come from the same
//! place (`inputs`), imports are loaded the same way, `scratch.lock` pins
//! the builders and gives their configs, and the context sources carry the
//! build's `local.unique`. Without a lock, what only the daemon knows is
//! missing: builder steps get the template's `build-env` only (not the
//! image's own env) and run on this machine's platform.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::compiler::{self, LowerOptions, Options, Platform, Sources, model};
use crate::llb;

use super::{CompileArgs, LlbArgs, LlbFormat, inputs, load};

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

/// Reads the file, its imports and its context (`.dockerignore`,
/// `scratch.lock`), checks it and selects the app, deriving the options
/// exactly as `scratchc build` does (see `inputs`), except what only a
/// daemon knows: without a lock the build platform is this machine's and
/// builders run with the template's `build-env` only. `local_unique` is the
/// `local.unique` to use, by default the context directory's id, as a build
/// sends it. On failure prints why and gives the exit code (1: errors in
/// the file or a stale lock, 2: bad command line or unreadable file).
pub(super) fn prepare(
    file: &Path,
    app: Option<&str>,
    args: &CompileArgs,
    local_unique: Option<&str>,
) -> Result<Prepared, ExitCode> {
    let context = inputs::Context::read(file).map_err(|e| usage_error(&e.to_string()))?;
    let build_platform = context
        .build_platform(host_platform())
        .map_err(|e| usage_error(&e))?;
    let options = inputs::options(&args.build_args, &args.platforms, build_platform)
        .map_err(|e| usage_error(&e))?;
    let sources = load::load(file).map_err(|e| usage_error(&e.to_string()))?;
    let mut program = match compiler::check(&sources, &options) {
        Ok(p) => p,
        Err(diags) => {
            eprint!("{}", compiler::render_plain(&diags, &sources));
            return Err(ExitCode::FAILURE);
        }
    };
    if let Some(l) = &context.lock
        && let Err(e) = inputs::pin(
            l,
            &context.lock_path,
            &mut program,
            &sources,
            &options.build_platform,
        )
    {
        eprintln!("error: {e}\n  help: run `scratchc lock` to update it");
        return Err(ExitCode::FAILURE);
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
    let unique = local_unique.map_or_else(|| inputs::local_unique(&context.dir), str::to_string);
    let absent = inputs::absent_files(&context.dir, &program);
    let lower = inputs::lower_options(
        context.excludes,
        false,
        Some(unique),
        context.lock.as_ref(),
        absent,
    );
    Ok(Prepared {
        sources,
        options,
        lower,
        app: chosen,
        platform,
        platform_given,
    })
}

pub fn run(args: &LlbArgs) -> ExitCode {
    let p = match prepare(
        &args.file,
        args.app.as_deref(),
        &args.compile,
        args.local_unique.as_deref(),
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
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
    if let Err(e) = out.write_all(&bytes).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
