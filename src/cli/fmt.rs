//! `scratchc fmt [--check] FILE...`: rewrite files in the canonical layout
//! (atomically: a temp file beside it, then a rename), or with `--check`
//! only report the files that would change. A file with syntax errors is
//! left alone and its errors shown.

use std::io::Write as _;
use std::path::Path;

use crate::compiler::{Sources, fmt};

pub fn run(args: &super::FmtArgs) -> Result<(), super::Failure> {
    let mut ok = true;
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
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
                eprintln!("{}: not formatted (syntax errors)", path.display());
                ok = false;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if args.check {
            println!("{}: would be reformatted", path.display());
            ok = false;
        } else if let Err(e) = write_atomic(path, &formatted) {
            eprintln!("error: cannot write {}: {e}", path.display());
            ok = false;
        } else {
            println!("{}: formatted", path.display());
        }
    }
    if ok { Ok(()) } else { Err(super::NO) }
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
