//! What the driver checks of the standard `go` template's values against
//! the context, before anything runs: the compiler knows nothing about Go,
//! and these checks need the context's `go.mod`.
//!
//! `main` is handed to `go build` as it is, and Go reads a value that does
//! not start with `.` as an import path: `main cmd/web` asks for a package
//! `cmd/web` of the standard library, and the build fails late with "is
//! not in std", at no line of app.scratch. So a value is accepted when it
//! is `.`, a `./` path inside the module, or an import path of the module
//! (its `go.mod`'s `module` line, or below it); in a workspace, any import
//! path whose first element is a domain (the other modules' paths are not
//! read). Anything else is E0224 at the line that set `main`, with the
//! spelling that works.
//!
//! A package that is not `package main` builds, with `-o`, an archive
//! instead of a program; the binary check recognises it
//! (`client::artefacts::elf`) and [`main_span`] places that report on the same line.

use std::collections::BTreeSet;

use super::{Plan, Reader};
use crate::client::errors::BuildError;
use crate::compiler::model::{App, Program};
use crate::compiler::sources::MAX_FILE_BYTES;
use crate::compiler::{Code, Diag, Sources, Span, Spanned};

/// The standard template these checks are about.
pub const TEMPLATE: &str = "go";

/// Checks `main` of every app built with the `go` template (see the module
/// docs); all the problems at once.
pub async fn check_mains<R: Reader>(plan: &Plan, reader: &R) -> Result<(), BuildError> {
    check_program(&plan.program, &plan.sources, reader).await
}

/// [`check_mains`] for a program checked outside a plan (`scratchc check`).
pub async fn check_program<R: Reader>(
    program: &Program,
    sources: &Sources,
    reader: &R,
) -> Result<(), BuildError> {
    let mut diags = Vec::new();
    let mut workspace = None;
    for app in &program.apps {
        let Some((main, module)) = go_params(app) else {
            continue;
        };
        let value = main.node.as_str();
        if (value == "." || value.starts_with("./")) && stays_inside(value) {
            continue;
        }
        if value.starts_with('.') || value.starts_with('/') {
            diags.push(
                Diag::new(Code::MainNotInModule, format!("`main {value}` is outside the module"))
                    .at(main.span, "not a package of the module")
                    .help(format!(
                        "`main` is relative to the module root (`{module}`); write `.` or `./PATH` below it"
                    )),
            );
            continue;
        }
        let go_mod = format!("{}go.mod", prefix(&module));
        let module_path = match reader.read_context(&go_mod).await? {
            Some(data) if data.len() <= MAX_FILE_BYTES => {
                module_line(&String::from_utf8_lossy(&data))
            }
            _ => None,
        };
        if let Some(m) = &module_path
            && (value == m || value.starts_with(&format!("{m}/")))
        {
            continue;
        }
        let in_workspace = match workspace {
            Some(w) => w,
            None => {
                let probe = BTreeSet::from(["go.work".to_string()]);
                let w = !reader.present(&probe).await?.is_empty();
                workspace = Some(w);
                w
            }
        };
        if in_workspace && domain(value) {
            continue;
        }
        diags.push(not_a_package(
            value,
            main.span,
            module_path.as_deref(),
            &module,
        ));
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(BuildError::diagnostics(diags, sources))
    }
}

/// `main` and `module` of an app of the `go` template, with where `main`
/// was set.
fn go_params(app: &App) -> Option<(Spanned<String>, String)> {
    if !app.templates.iter().any(|t| t == TEMPLATE) {
        return None;
    }
    let main = app.params.get("main")?;
    let module = app.params.get("module")?;
    let value = main.node.first()?.clone();
    Some((
        Spanned::new(value, main.span),
        module.node.first().cloned().unwrap_or_else(|| ".".into()),
    ))
}

/// Whether a `.` or `./` path stays inside the module root.
fn stays_inside(value: &str) -> bool {
    let mut depth = 0i32;
    for part in value.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// `dir/` for a module directory, `""` for the context root.
fn prefix(module: &str) -> String {
    let m = module.trim_start_matches("./").trim_end_matches('/');
    if m.is_empty() || m == "." {
        String::new()
    } else {
        format!("{m}/")
    }
}

/// Whether an import path starts with a domain (a dot in its first
/// element), as every path outside the standard library does unless a
/// module chose a bare name.
fn domain(path: &str) -> bool {
    path.split('/')
        .next()
        .is_some_and(|first| first.contains('.'))
}

/// The path of `module` in go.mod text (`module example.com/x`, quoted or
/// not, comments dropped).
pub fn module_line(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|l| {
        let l = l.split("//").next().unwrap_or("").trim();
        let rest = l.strip_prefix("module")?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let p = rest.trim().trim_matches('"');
        (!p.is_empty()).then(|| p.to_string())
    })
}

fn not_a_package(value: &str, span: Span, module_path: Option<&str>, module: &str) -> Diag {
    let message = match module_path {
        Some(m) => {
            format!("`main {value}` is neither `.`, a `./` path, nor a package of module `{m}`")
        }
        None if !domain(value) => format!(
            "`main {value}` is not a `./` path, so Go reads it as the standard-library package `{value}`"
        ),
        None => {
            format!("`main {value}` is not a `./` path, and the module's go.mod cannot be read")
        }
    };
    let fix = match module_path {
        Some(m) => format!(
            "a package of the module is `./{value}` (relative to the module root `{module}`) or `{m}/{value}`"
        ),
        None => format!("write `./{value}`: `main` is relative to the module root (`{module}`)"),
    };
    Diag::new(Code::MainNotInModule, message)
        .at(span, "not a package of the module")
        .help(fix)
}

/// Where a problem with the package built is shown: the line that set
/// `main` when the user's file set it, else `None` (the template's
/// default).
pub fn main_span(app: &App) -> Option<Span> {
    let (main, _) = go_params(app)?;
    (main.span.file == 0).then_some(main.span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_lines() {
        assert_eq!(
            module_line("// c\nmodule example.com/app // x\n\ngo 1.24\n").as_deref(),
            Some("example.com/app")
        );
        assert_eq!(module_line("module \"acme\"\n").as_deref(), Some("acme"));
        assert_eq!(module_line("modules x\n"), None);
        assert_eq!(module_line("go 1.24\n"), None);
    }

    #[test]
    fn relative_values() {
        assert!(stays_inside("."));
        assert!(stays_inside("./cmd/web"));
        assert!(stays_inside("./cmd/../lib"));
        assert!(!stays_inside("./../x"));
        assert_eq!(prefix("."), "");
        assert_eq!(prefix("./svc/api/"), "svc/api/");
        assert!(domain("example.com/x") && !domain("cmd/web"));
    }
}
