//! `scratchc fmt [--check] FILE...`: rewrite files in the canonical layout
//! (atomically, through `client::artefacts::atomic`: a temp file beside it, then a
//! rename), or with `--check` only report the files that would change. A
//! file with syntax errors is left alone and its errors shown. Files are
//! read as `check` reads them (`cli::load`: regular, bounded, inside their
//! directory); a symlink is kept and the file it points to rewritten. `-`
//! formats the standard input to the standard output (with `--check`:
//! nothing written, exit 1 if it would change).

use crate::client::artefacts::atomic::write_atomic;
use crate::client::errors::BuildError;
use crate::compiler::{Sources, fmt};

use super::load;

pub fn run(args: &super::FmtArgs) -> Result<(), super::Failure> {
    super::stdin_at_most_once(&args.files)?;
    let mut ok = true;
    for given in &args.files {
        if load::is_stdin(given) {
            ok &= stdin(args.check)?;
            continue;
        }
        let path = &load::app_path(given);
        let text = match load::read_root(path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
                eprint!("{}", super::render(&load::missing_app_file(path), color));
                ok = false;
                continue;
            }
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
                continue;
            }
        };
        let Some(formatted) = format(&path.display().to_string(), &text) else {
            ok = false;
            continue;
        };
        if formatted == text {
            continue;
        }
        if args.check {
            println!("{}: would be reformatted", super::check::shown(path));
            ok = false;
        } else if let Err(e) = std::fs::canonicalize(path)
            .and_then(|target| write_atomic(&target, formatted.as_bytes()))
        {
            eprintln!("error: cannot write {}: {e}", super::check::shown(path));
            ok = false;
        } else {
            println!("{}: formatted", super::check::shown(path));
        }
    }
    if ok { Ok(()) } else { Err(super::NO) }
}

/// `fmt -`: the standard input, formatted, to the standard output. With
/// `check`, nothing is written and a change is a "no".
fn stdin(check: bool) -> Result<bool, BuildError> {
    let data = load::read_stdin()?;
    let Ok(text) = String::from_utf8(data) else {
        eprintln!(
            "error: cannot read {}: not UTF-8 text (scratch files are UTF-8 text)",
            load::STDIN_NAME
        );
        return Ok(false);
    };
    let Some(formatted) = format(load::STDIN_NAME, &text) else {
        return Ok(false);
    };
    if check {
        if formatted != text {
            println!("{}: would be reformatted", load::STDIN_NAME);
            return Ok(false);
        }
        return Ok(true);
    }
    match super::write_stdout(formatted.as_bytes()) {
        Ok(()) => Ok(true),
        Err(super::Failure::Error(e)) => Err(e),
        Err(super::Failure::Reported(_)) => Ok(false),
    }
}

/// The canonical layout of `text`, or `None` after printing its syntax
/// errors.
fn format(name: &str, text: &str) -> Option<String> {
    match fmt::format_source(text) {
        Ok(f) => Some(f),
        Err(diags) => {
            let sources = Sources::new(name.to_string(), text.to_string());
            let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
            eprint!("{}", super::check::render(&diags, &sources, color));
            eprintln!(
                "{}: not formatted (syntax errors)",
                crate::compiler::excerpt::escape_text(name)
            );
            None
        }
    }
}
