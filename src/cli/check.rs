//! `scratchc check FILE...`: load, parse and check each file; print every
//! diagnostic; exit 1 if any file has one (or cannot be read).

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::compiler::excerpt::escape_text;
use crate::compiler::{self, Diag, Options, Sources};

pub fn run(args: &super::CheckArgs) -> ExitCode {
    let mut ok = true;
    for path in &args.files {
        let sources = match super::load::load(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
                continue;
            }
        };
        match compiler::check(&sources, &Options::default()) {
            Ok(program) => {
                let names: Vec<&str> = program.apps.iter().map(|a| a.name.node.as_str()).collect();
                println!("{}: ok ({})", shown(path), escape_text(&names.join(", ")));
            }
            Err(diags) => {
                eprint!("{}", render(&diags, &sources));
                eprintln!(
                    "{}: {} error{}",
                    shown(path),
                    diags.len(),
                    if diags.len() == 1 { "" } else { "s" }
                );
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A path as the CLI prints it: control characters escaped.
pub fn shown(path: &std::path::Path) -> String {
    escape_text(&path.display().to_string())
}

/// Diagnostics for stderr: coloured on a terminal, plain otherwise.
pub fn render(diags: &[Diag], sources: &Sources) -> String {
    compiler::diagnostic::render(diags, sources, std::io::stderr().is_terminal())
}
