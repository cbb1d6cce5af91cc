//! `scratchc init [DIR] [--print]`: a first app.scratch for a Go module.
//! This file does the IO (the walk, the reads, the one write); what to
//! write is [`crate::init`]'s.
//!
//! The walk is `go build ./...`'s: every directory of the module except
//! `vendor/`, `testdata/`, names starting with `_` or `.`, directories
//! holding a `go.mod` of their own (other modules) and symbolic links to
//! directories. The file is written to a temporary name and linked into
//! place, which fails if a file appeared meanwhile: never overwritten.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::client::errors::{BuildError, InputError};
use crate::init::gosrc::{self, GoFile};
use crate::init::{self, InitError, Source, gomod};

use super::Failure;

/// Options of `scratchc init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The module's root directory, where go.mod is.
    #[arg(value_name = "DIR", default_value = ".", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,
    /// Print the file on stdout instead of writing DIR/app.scratch.
    #[arg(long)]
    pub print: bool,
}

/// Directories walked at most: a bound for hostile trees, far above a
/// real module's.
const MAX_DIRS: usize = 20_000;

/// Go files larger than this are skipped (generated tables, not mains).
const MAX_FILE: u64 = 8 << 20;

pub fn run(args: &InitArgs) -> Result<(), Failure> {
    let dir = &args.dir;
    let target = dir.join(crate::build::APP_FILE);
    if !args.print && target.symlink_metadata().is_ok() {
        return Err(BuildError::Precondition {
            what: format!(
                "{} exists, and scratchc init never overwrites a file",
                target.display()
            ),
            help: format!(
                "check it with `scratchc check {0}`, or see what init would write with `scratchc init --print {0}`",
                dir.display()
            ),
        }
        .into());
    }
    let module = read_go_mod(dir)?;
    let mut tree = Tree {
        root: dir.clone(),
        cache: HashMap::new(),
    };
    let dirs = walk(dir);
    let scaffold = init::plan(module, &dirs, &mut tree);
    let text = init::render(&scaffold).map_err(|e| match e {
        InitError::NoMain { module } => BuildError::Precondition {
            what: format!(
                "no main package in the Go module {module} ({})",
                dir.display()
            ),
            help: "scratchc builds programs: a directory whose Go files say `package main` and \
                   declare `func main` (vendor/, testdata/ and directories starting with _ or . \
                   are not searched)"
                .into(),
        },
        InitError::Internal(diags) => BuildError::Daemon {
            call: "init",
            message: format!(
                "the file written does not check (a bug in scratchc; please report it):\n{diags}"
            ),
        },
    })?;
    if args.print {
        return super::write_stdout(text.as_bytes());
    }
    write_new(&target, text.as_bytes())?;
    let apps: Vec<String> = scaffold
        .apps
        .iter()
        .map(|a| format!("{} ({})", a.name, a.main()))
        .collect();
    eprintln!(
        "wrote {}: {} app{}: {}",
        target.display(),
        apps.len(),
        if apps.len() == 1 { "" } else { "s" },
        apps.join(", ")
    );
    let build = if dir == Path::new(".") {
        "scratchc build".to_string()
    } else {
        format!("scratchc build {}", dir.display())
    };
    eprintln!("next: `{build}` builds and loads each app as <app>:latest");
    Ok(())
}

/// DIR/go.mod, parsed; its absence says where the module root is when an
/// ancestor has one.
fn read_go_mod(dir: &Path) -> Result<gomod::GoMod, BuildError> {
    let path = dir.join("go.mod");
    let text = match std::fs::read(&path) {
        Ok(t) => String::from_utf8_lossy(&t).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !dir.is_dir() {
                return Err(InputError {
                    action: "read",
                    path: dir.to_path_buf(),
                    source: if dir.exists() {
                        std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory")
                    } else {
                        e
                    },
                }
                .into());
            }
            let root = std::fs::canonicalize(dir).ok().and_then(|d| {
                d.ancestors()
                    .skip(1)
                    .find(|a| a.join("go.mod").is_file())
                    .map(Path::to_path_buf)
            });
            let help = match root {
                Some(r) => format!(
                    "the module's root is {}: run `scratchc init {}` (the app file sits beside go.mod, which the build needs in its context)",
                    r.display(),
                    r.display()
                ),
                None => "scratchc init starts from a Go module: run `go mod init MODULE-PATH` there first".into(),
            };
            return Err(BuildError::Precondition {
                what: format!("{} has no go.mod", dir.display()),
                help,
            });
        }
        Err(source) => {
            return Err(InputError {
                action: "read",
                path,
                source,
            }
            .into());
        }
    };
    gomod::parse(&text).map_err(|e| BuildError::Precondition {
        what: format!("{}: {e}", path.display()),
        help: "a go.mod starts with `module PATH` (go mod edit -module PATH sets it)".into(),
    })
}

/// The module's directories that hold `.go` files, relative and sorted
/// (the root first), as `go build ./...` walks them.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![String::new()];
    let mut visited = 0;
    while let Some(rel) = todo.pop() {
        visited += 1;
        if visited > MAX_DIRS {
            eprintln!("warning: more than {MAX_DIRS} directories; the rest is not searched");
            break;
        }
        let path = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("warning: cannot read {}: {e}; skipped", path.display());
                continue;
            }
        };
        let mut has_go = false;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let skipped = name == "vendor"
                    || name == "testdata"
                    || name.starts_with('_')
                    || name.starts_with('.')
                    || entry.path().join("go.mod").exists();
                if !skipped {
                    todo.push(if rel.is_empty() {
                        name
                    } else {
                        format!("{rel}/{name}")
                    });
                }
            } else if name.ends_with(".go") {
                has_go = true;
            }
        }
        if has_go {
            out.push(rel);
        }
    }
    out.sort();
    out
}

/// The module on disk, each directory's Go files scanned once.
struct Tree {
    root: PathBuf,
    cache: HashMap<String, Option<Vec<(String, GoFile)>>>,
}

impl Source for Tree {
    fn package(&mut self, dir: &str) -> Option<Vec<(String, GoFile)>> {
        if let Some(hit) = self.cache.get(dir) {
            return hit.clone();
        }
        let files = scan_dir(&self.root.join(dir));
        self.cache.insert(dir.to_string(), files.clone());
        files
    }
}

/// The `.go` files of a directory, scanned (unreadable ones skipped with
/// a warning); `None` when it is no directory.
fn scan_dir(path: &Path) -> Option<Vec<(String, GoFile)>> {
    let entries = std::fs::read_dir(path).ok()?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".go") {
            continue;
        }
        let file = entry.path();
        match read_go(&file) {
            Ok(Some(text)) => files.push((name, gosrc::scan(&text))),
            Ok(None) => {}
            Err(e) => eprintln!("warning: cannot read {}: {e}; skipped", file.display()),
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Some(files)
}

/// A Go file's text; `None` for what is no regular file or too large.
fn read_go(path: &Path) -> std::io::Result<Option<String>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return Ok(None);
    }
    let mut data = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE)
        .read_to_end(&mut data)?;
    Ok(Some(String::from_utf8_lossy(&data).into_owned()))
}

/// Writes `data` to `path`, which must not exist: a temporary file beside
/// it, hard-linked into place (the link fails if `path` appeared
/// meanwhile), then removed.
fn write_new(path: &Path, data: &[u8]) -> Result<(), BuildError> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".app.scratch.init-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create_new(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            BuildError::Precondition {
                what: format!(
                    "{} appeared while scratchc init ran; it was left as it is",
                    path.display()
                ),
                help: "run scratchc init again to see what it would write (--print)".into(),
            }
        } else {
            InputError {
                action: "write",
                path: path.to_path_buf(),
                source,
            }
            .into()
        }
    })
}
