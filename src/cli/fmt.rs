//! `scratchc fmt [--check] FILE...`: rewrite files in the canonical layout
//! (atomically: a temp file beside it, then a rename), or with `--check`
//! only report the files that would change. A file with syntax errors is
//! left alone and its errors shown. `-` formats the standard input to the
//! standard output (with `--check`: nothing written, exit 1 if it would
//! change).

use std::io::Write as _;
use std::path::Path;

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
        let path = load::app_path(given);
        let text = match std::fs::read(&path) {
            Ok(t) => match String::from_utf8(t) {
                Ok(t) => t,
                Err(_) => {
                    eprintln!(
                        "error: cannot read {}: not UTF-8 text (scratch files are UTF-8 text)",
                        path.display()
                    );
                    ok = false;
                    continue;
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprint!("{}", super::render(&load::missing_app_file(&path), false));
                ok = false;
                continue;
            }
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
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
            println!("{}: would be reformatted", path.display());
            ok = false;
        } else if let Err(e) = write_atomic(&path, &formatted) {
            eprintln!("error: cannot write {}: {e}", path.display());
            ok = false;
        } else {
            println!("{}: formatted", path.display());
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
            eprintln!("{name}: not formatted (syntax errors)");
            None
        }
    }
}

/// Writes `text` to a temp file in the same directory, then renames it over
/// `path`, so a crash never leaves a half-written file. Keeps permissions.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "scratch".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.fmt-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
