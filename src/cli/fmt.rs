//! `scratchc fmt [--check] FILE...`: rewrite files in the canonical layout
//! (atomically, through `client::atomic`: a temp file beside it, then a
//! rename), or with `--check` only report the files that would change. A
//! file with syntax errors is left alone and its errors shown. Files are
//! read as `check` reads them (`cli::load`: regular, bounded, inside their
//! directory); a symlink is kept and the file it points to rewritten.

use crate::client::atomic::write_atomic;
use crate::compiler::{Sources, fmt};

pub fn run(args: &super::FmtArgs) -> Result<(), super::Failure> {
    let mut ok = true;
    for path in &args.files {
        let text = match super::load::read_root(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
                continue;
            }
        };
        let formatted = match fmt::format_source(&text) {
            Ok(f) => f,
            Err(diags) => {
                let sources = Sources::new(path.display().to_string(), text);
                let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
                eprint!("{}", super::check::render(&diags, &sources, color));
                eprintln!(
                    "{}: not formatted (syntax errors)",
                    super::check::shown(path)
                );
                ok = false;
                continue;
            }
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
