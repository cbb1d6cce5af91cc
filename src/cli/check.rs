//! `scratchc check FILE...`: load, parse and check each file; print every
//! diagnostic; exit 1 if any file has one (or cannot be read). `-` checks
//! the standard input (imports from the current directory).

use std::io::IsTerminal;

use crate::build::{self, golang, vcs};
use crate::client::errors::{BuildError, exit};
use crate::compiler::diagnostic::MAX_DIAGS;
use crate::compiler::excerpt::escape_text;
use crate::compiler::{self, Diag, Options, Sources};

use super::Failure;
use super::load::Disk;

pub fn run(args: &super::CheckArgs) -> Result<(), Failure> {
    super::stdin_at_most_once(&args.files)?;
    let mut worst = None;
    for path in &args.files {
        let mut shown = self::shown(path);
        let checked = check_one(path, args.context.as_deref(), &mut shown);
        match checked {
            Ok(program) => {
                let names: Vec<&str> = program.apps.iter().map(|a| a.name.node.as_str()).collect();
                println!("{shown}: ok ({})", escape_text(&names.join(", ")));
            }
            Err(e) => {
                eprint!("{}", super::render(&e, std::io::stderr().is_terminal()));
                if let BuildError::Diagnostics { diags, .. } = &e {
                    let n = diags.len();
                    // At the cap the stages stopped looking: there may be more.
                    let at_least = if n >= MAX_DIAGS { "at least " } else { "" };
                    let s = if n == 1 { "" } else { "s" };
                    eprintln!("{shown}: {at_least}{n} error{s}");
                }
                worst = worst.max(Some(e.exit_code()));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some(code) => Err(Failure::Reported(code.max(exit::FAILED))),
    }
}

/// Checks one file as a build would before anything runs: the compiler's
/// checks (the `GIT_*` variables defined, empty), then the `go` template's
/// `main` against the context's go.mod.
fn check_one(
    path: &std::path::Path,
    context: Option<&std::path::Path>,
    shown: &mut String,
) -> Result<compiler::model::Program, BuildError> {
    let compile = super::CompileArgs {
        context: context.map(std::path::Path::to_path_buf),
        ..Default::default()
    };
    let disk = Disk::for_args(path, &compile, None)?;
    *shown = escape_text(&disk.name());
    let app_dir = disk.app_dir.clone();
    let (sources, _) =
        futures::executor::block_on(build::load_sources(&disk, shown, app_dir.as_deref()))?;
    let options = Options {
        vars: vcs::Vcs::default().vars(),
        ..Options::default()
    };
    let program =
        compiler::check(&sources, &options).map_err(|d| BuildError::diagnostics(d, &sources))?;
    futures::executor::block_on(golang::check_program(&program, &sources, &disk))?;
    Ok(program)
}

/// A path as the CLI prints it: control characters escaped.
pub fn shown(path: &std::path::Path) -> String {
    escape_text(&path.display().to_string())
}

/// Diagnostics as text: coloured for a terminal, plain otherwise (the one
/// renderer, `compiler::diagnostic::render`).
pub fn render(diags: &[Diag], sources: &Sources, color: bool) -> String {
    compiler::diagnostic::render(diags, sources, color)
}
