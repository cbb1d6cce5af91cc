//! `scratchc init`'s thinking, with no IO: from a Go module's `go.mod`
//! and its Go files to a first `app.scratch`.
//!
//! The driver (`cli::init`) walks the module and hands over the
//! directories that may hold a main package; it reads a directory's Go
//! files when [`plan`] asks ([`Source`]), so only the packages a program
//! imports are read beyond the candidates. Then:
//!
//! 1. a main package is a directory whose built files (see
//!    [`constraints`]) say `package main` and declare `func main`;
//! 2. each gets an app named after its directory (the module's name for
//!    the root), made unique and valid (`[a-z][a-z0-9-]*`);
//! 3. its code, with the module's own packages it imports (and vendored
//!    ones), gives the runtime needs ([`needs::needs`]);
//! 4. [`render`] writes the file: a statement for each need the language
//!    has a statement for, a comment for the others, and comments that
//!    point at the reference. The text is checked by the compiler before
//!    it is returned, so `init` never writes a file that `check` refuses.

pub mod constraints;
pub mod gomod;
pub mod gosrc;
pub mod needs;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::compiler::{self, Options, Sources};
use gomod::GoMod;
use gosrc::GoFile;
use needs::{Code, Found, Need, Seen};

/// The Go files of the module's directories, read on demand.
pub trait Source {
    /// The Go files of `dir` (module-relative, `/`-separated, `""` for the
    /// root) with their names, unfiltered; `None` when there is no such
    /// directory.
    fn package(&mut self, dir: &str) -> Option<Vec<(String, GoFile)>>;
}

/// One app to write: a main package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPlan {
    pub name: String,
    /// The package's directory, module-relative (`""` for the root).
    pub dir: String,
    pub needs: Vec<Found>,
}

impl AppPlan {
    /// The `main` value: `./DIR`, or `.` for the root.
    pub fn main(&self) -> String {
        if self.dir.is_empty() {
            ".".into()
        } else {
            format!("./{}", self.dir)
        }
    }
}

/// What `init` found in a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scaffold {
    pub module: GoMod,
    pub apps: Vec<AppPlan>,
}

/// The files of a directory that a linux build compiles.
fn built(files: Vec<(String, GoFile)>) -> Vec<(String, GoFile)> {
    files
        .into_iter()
        .filter(|(name, f)| {
            constraints::file_name_builds(name)
                && constraints::holds(&f.constraint)
                && !f.package.is_empty()
        })
        .collect()
}

/// Finds the main packages among `dirs` (sorted, root first) and what
/// each needs.
pub fn plan(module: GoMod, dirs: &[String], src: &mut impl Source) -> Scaffold {
    let mut mains = Vec::new();
    for dir in dirs {
        let files = built(src.package(dir).unwrap_or_default());
        let is_main = files.iter().any(|(_, f)| f.package == "main")
            && files.iter().any(|(_, f)| f.package == "main" && f.has_main);
        if is_main {
            mains.push(dir.clone());
        }
    }
    let names = app_names(module.short_name(), &mains);
    let apps = mains
        .into_iter()
        .zip(names)
        .map(|(dir, name)| {
            let code = code_of(&module.module, &dir, src);
            AppPlan {
                name,
                needs: needs::needs(&code),
                dir,
            }
        })
        .collect();
    Scaffold { module, apps }
}

/// The most packages one program's imports are followed into: a bound
/// for hostile trees, far above a real module's.
const MAX_PACKAGES: usize = 2_000;

/// The imports and uses of the package in `dir` and of every package of
/// the module (or its vendor directory) it imports, transitively.
fn code_of(module: &str, dir: &str, src: &mut impl Source) -> Code {
    let mut code = Code::default();
    let mut todo = vec![dir.to_string()];
    let mut seen: BTreeSet<String> = BTreeSet::from([dir.to_string()]);
    while let Some(d) = todo.pop() {
        let files = built(src.package(&d).unwrap_or_default());
        for (name, f) in files {
            let file = if d.is_empty() {
                name.clone()
            } else {
                format!("{d}/{name}")
            };
            for (path, (_, line)) in &f.imports {
                code.imports.entry(path.clone()).or_insert_with(|| Seen {
                    file: file.clone(),
                    line: *line,
                });
                let Some(next) = local_dir(module, path, src) else {
                    continue;
                };
                if seen.len() < MAX_PACKAGES && seen.insert(next.clone()) {
                    todo.push(next);
                }
            }
            for (key, line) in &f.uses {
                code.uses.entry(key.clone()).or_insert_with(|| Seen {
                    file: file.clone(),
                    line: *line,
                });
            }
        }
    }
    code
}

/// Where an import's package is in the tree: a package of the module, or
/// a vendored one; `None` for the standard library and dependencies
/// outside (not on disk without a toolchain).
fn local_dir(module: &str, path: &str, src: &mut impl Source) -> Option<String> {
    if path == module {
        return Some(String::new());
    }
    if let Some(rest) = path.strip_prefix(module).and_then(|r| r.strip_prefix('/')) {
        return Some(rest.to_string());
    }
    // Only paths with a dot in the first element are outside the standard
    // library.
    if !path
        .split('/')
        .next()
        .is_some_and(|first| first.contains('.'))
    {
        return None;
    }
    let vendored = format!("vendor/{path}");
    src.package(&vendored).map(|_| vendored)
}

/// A valid app name for each main directory: its last element (the
/// module's name for the root), lower-cased, other characters as `-`;
/// names that collide take more of their path (`tools-api`), then a
/// number.
fn app_names(module_name: &str, dirs: &[String]) -> Vec<String> {
    let elements = |dir: &str| -> Vec<String> {
        if dir.is_empty() {
            vec![module_name.to_string()]
        } else {
            dir.split('/').map(str::to_string).collect()
        }
    };
    let name_of = |dir: &str, take: usize| -> String {
        let els = elements(dir);
        let from = els.len().saturating_sub(take);
        sanitize(&els[from..].join("-"))
    };
    let mut take = vec![1usize; dirs.len()];
    // Widen colliding names until they differ or use their whole path.
    loop {
        let names: Vec<String> = dirs
            .iter()
            .zip(&take)
            .map(|(d, &t)| name_of(d, t))
            .collect();
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for n in &names {
            *count.entry(n).or_default() += 1;
        }
        let mut widened = false;
        for (i, n) in names.iter().enumerate() {
            if count[n.as_str()] > 1 && take[i] < elements(&dirs[i]).len() {
                take[i] += 1;
                widened = true;
            }
        }
        if !widened {
            break;
        }
    }
    let mut used = BTreeSet::new();
    dirs.iter()
        .zip(&take)
        .map(|(d, &t)| {
            let base = name_of(d, t);
            let mut name = base.clone();
            let mut k = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}-{k}");
                k += 1;
            }
            name
        })
        .collect()
}

/// `[a-z][a-z0-9-]*`: lower case, any other character a `-`, no `-` at
/// the ends or twice; a name that would not start with a letter gets
/// `app-` in front.
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    match out.chars().next() {
        None => "app".into(),
        Some(c) if !c.is_ascii_lowercase() => format!("app-{out}"),
        Some(_) => out,
    }
}

/// Whether the language has a statement that meets `need` on its own (a
/// key that may stand alone, as `certs`): then `init` writes it, else a
/// comment. Statements added to the language are picked up here.
pub fn has_statement(need: Need) -> bool {
    check(&format!("app probe {{\n  {}\n}}\n", need.fix())).is_ok()
}

/// Whether the `go` template meets `need` with no statement (its image
/// has `/tmp` and passwd unless told otherwise): `init` then only says
/// so in a comment.
pub fn met_by_default(need: Need) -> bool {
    let sources = Sources::new("init", "app probe {\n}\n".to_string());
    let Ok(program) = compiler::check(&sources, &Options::default()) else {
        return false;
    };
    let Some(app) = program.apps.first() else {
        return false;
    };
    let img = &app.image;
    match need {
        Need::Certs => img.certs.is_some(),
        Need::MimeTypes => img.mime_types.is_some(),
        Need::Tmp => img.tmp.is_some(),
        Need::Passwd => img.passwd.is_some(),
        Need::Tzdata => img.zoneinfo.is_some(),
    }
}

/// The Go release the `go` template builds with by default (the tag of
/// its builder image), read from the standard library itself.
pub fn default_go() -> Option<(u32, u32)> {
    let sources = Sources::new("init", "app probe {\n}\n".to_string());
    let program = compiler::check(&sources, &Options::default()).ok()?;
    match &program.apps.first()?.build {
        compiler::model::Build::Compile(c) => {
            let tag = c.builder.node.to_string();
            gomod::release(tag.rsplit(':').next()?)
        }
        compiler::model::Build::Prebuilt { .. } => None,
    }
}

/// Why `init` wrote nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitError {
    /// The module has no main package.
    NoMain { module: String },
    /// The file written did not check: a bug in `init`.
    Internal(String),
}

/// The `app.scratch` text for `s`, checked by the compiler. A need whose
/// statement does not check (a statement added to the language that
/// needs more than the key alone) is written as a comment instead.
pub fn render(s: &Scaffold) -> Result<String, InitError> {
    if s.apps.is_empty() {
        return Err(InitError::NoMain {
            module: s.module.module.clone(),
        });
    }
    let text = write(s, &has_statement);
    if check(&text).is_ok() {
        return Ok(text);
    }
    let text = write(s, &|_| false);
    check(&text).map_err(InitError::Internal)?;
    Ok(text)
}

fn check(text: &str) -> Result<(), String> {
    let sources = Sources::new(crate::build::APP_FILE, text.to_string());
    compiler::check(&sources, &Options::default())
        .map(|_| ())
        .map_err(|d| compiler::render_plain(&d, &sources))
}

/// The file's text; `statement` says which needs become statements.
fn write(s: &Scaffold, statement: &dyn Fn(Need) -> bool) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "# syntax={}", crate::frontend::IMAGE);
    let _ = writeln!(
        t,
        "# Written by `scratchc init`: one app per main package of the Go module\n\
         # {}. Add what an app needs (port, env, volume, user,\n\
         # platforms): every statement is in docs/language.md (\"Keys\"), the verbs\n\
         # in `man scratchc`. `scratchc check` checks this file; `scratchc build`\n\
         # builds each app and loads it as <app>:latest.",
        s.module.module
    );
    let version = version_line(&s.module);
    for app in &s.apps {
        let _ = writeln!(t, "\napp {} {{", app.name);
        if let Some((line, why)) = &version {
            let _ = writeln!(t, "  # {why}");
            let _ = writeln!(t, "  {line}");
        }
        let _ = writeln!(t, "  main {}", app.main());
        let (met, needs): (Vec<&Found>, Vec<&Found>) =
            app.needs.iter().partition(|f| met_by_default(f.need));
        for f in met {
            let _ = writeln!(
                t,
                "  # {} ({}): the image has {} by default.",
                f.what,
                f.seen,
                f.need.fix()
            );
        }
        let (add, note): (Vec<&Found>, Vec<&Found>) =
            needs.into_iter().partition(|f| statement(f.need));
        for f in add {
            let _ = writeln!(
                t,
                "  # {} ({}) {}.",
                f.what,
                f.seen,
                f.need.what().split(" (").next().unwrap_or(f.need.what())
            );
            let _ = writeln!(t, "  {}", f.need.fix());
        }
        if !note.is_empty() {
            t.push_str("  # Seen in the code, with no statement in scratchc yet:\n");
            for f in note {
                let _ = writeln!(t, "  #   {}: {} ({})", f.need.fix(), f.what, f.seen);
            }
        }
        t.push_str("}\n");
    }
    t
}

/// `version X.Y` when go.mod asks for a newer Go than the template's
/// default image, with why.
fn version_line(m: &GoMod) -> Option<(String, String)> {
    let need = m.needs_go()?;
    let default = default_go()?;
    (need > default).then(|| {
        (
            format!("version {}.{}", need.0, need.1),
            format!(
                "go.mod asks for Go {}.{}; the go template builds with golang:{}.{} unless told",
                need.0, need.1, default.0, default.1
            ),
        )
    })
}

#[cfg(test)]
mod tests;
