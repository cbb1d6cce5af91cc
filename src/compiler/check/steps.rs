//! The settings of the builder steps beyond their command: the dependency
//! step and what the context decides of it (`deps`, `deps-run`,
//! `deps-skip`, `deps-with`), and what the client lends both steps for
//! their run only (`secret`, `ssh`).

// As app.rs: `Diag` is the shared error type of every stage.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use super::acc::{Arg, Set};
use super::values::{self, Bad};
use crate::compiler::model::{
    Deps, DepsWith, SECRETS_DIR, SSH_SOCKET_PREFIX, Secret, SecretTarget, Ssh,
};
use crate::compiler::span::Spanned;
use crate::compiler::{Code, Diag, Span};

/// The id of a secret or an SSH agent: what `--secret id=ID` and
/// `--ssh ID=...` name. Letters, digits, `_`, `-` and `.`, so it reads
/// the same on the command line, in a path and in the definition.
pub(super) fn id(s: &str) -> Result<String, Bad> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !matches!(s, "." | "..");
    if ok {
        Ok(s.to_string())
    } else {
        Err(Bad {
            message: format!("`{s}` is not an id"),
            help: "an id is letters, digits, `_`, `-` and `.` (at most 128), e.g. `netrc`".into(),
        })
    }
}

/// `secret ID [target=PATH|env=NAME] [required]`; `Err` names the arg at
/// fault.
pub(super) fn secret(args: &[String]) -> Result<Secret, (usize, Bad)> {
    let Some(first) = args.first() else {
        return Err((0, bad("`secret` needs an id", "write `secret ID`")));
    };
    let id = id(first).map_err(|b| (0, b))?;
    let mut target = None;
    let mut required = false;
    for (i, a) in args.iter().enumerate().skip(1) {
        let why = match a.split_once('=') {
            _ if a == "required" => {
                required = true;
                continue;
            }
            Some(("required", v)) => match values::boolean(v) {
                Ok(b) => {
                    required = b;
                    continue;
                }
                Err(b) => b,
            },
            Some((k @ ("target" | "env"), v)) if target.is_some() => bad(
                format!("`{k}={v}`: the secret already has a place"),
                "a secret is either a file (`target=PATH`) or a variable (`env=NAME`); write two `secret` statements for both",
            ),
            Some(("target", v)) => match values::abs_path(v) {
                Ok(()) => {
                    target = Some(SecretTarget::File(v.to_string()));
                    continue;
                }
                Err(b) => b,
            },
            Some(("env", v)) => match values::arg_name(v) {
                Ok(n) => {
                    target = Some(SecretTarget::Env(n));
                    continue;
                }
                Err(_) => bad(
                    format!("`{v}` is not an environment variable name"),
                    "names are letters, digits and `_`, not starting with a digit, e.g. `GITHUB_TOKEN`",
                ),
            },
            _ => bad(
                format!("`{a}` is not a secret option"),
                "the options are `target=/ABS/PATH`, `env=NAME` and `required`",
            ),
        };
        return Err((i, why));
    }
    let target = target.unwrap_or_else(|| SecretTarget::File(format!("{SECRETS_DIR}/{id}")));
    Ok(Secret {
        id,
        target,
        required,
    })
}

fn bad(message: impl Into<String>, help: impl Into<String>) -> Bad {
    Bad {
        message: message.into(),
        help: help.into(),
    }
}

/// Checks the args of the keys of this module; `None` for other keys.
pub(super) fn validate(key: &str, args: &[Arg], diags: &mut Vec<Diag>) -> Option<()> {
    let mut report = |b: Bad, span: Span| {
        diags.push(
            Diag::new(Code::BadValue, b.message.clone())
                .at(span, b.message)
                .help(b.help),
        );
    };
    match key {
        "secret" => {
            let plain: Vec<String> = args.iter().map(|(a, _)| a.clone()).collect();
            if let Err((i, b)) = secret(&plain) {
                report(b, args.get(i).map_or(Span::default(), |(_, sp)| *sp));
            }
        }
        "ssh" => {
            for (a, sp) in args {
                if let Err(b) = id(a) {
                    report(b, *sp);
                }
            }
        }
        _ => return None,
    }
    Some(())
}

/// The secrets of the steps, in order; a later one with the same place (the
/// same file, the same variable) replaces an earlier one.
pub(super) fn secrets(sets: &[Set]) -> Vec<Spanned<Secret>> {
    let mut out: Vec<Spanned<Secret>> = Vec::new();
    for set in sets {
        let plain: Vec<String> = set.args.iter().map(|(a, _)| a.clone()).collect();
        let Ok(s) = secret(&plain) else { continue };
        match out.iter_mut().find(|o| o.node.target == s.target) {
            Some(o) => *o = Spanned::new(s, set.span),
            None => out.push(Spanned::new(s, set.span)),
        }
    }
    out
}

/// The SSH agents of the steps: each id once, numbered in order.
pub(super) fn ssh(sets: &[Set]) -> Vec<Spanned<Ssh>> {
    let mut out: Vec<Spanned<Ssh>> = Vec::new();
    for set in sets {
        let id = set
            .args
            .first()
            .map_or_else(|| "default".to_string(), |(a, _)| a.clone());
        if out.iter().any(|o| o.node.id == id) {
            continue;
        }
        let path = format!("{SSH_SOCKET_PREFIX}{}", out.len());
        out.push(Spanned::new(Ssh { id, path }, set.span));
    }
    out
}

/// The dependency step from its statements: `deps` and `deps-run` go
/// together, `deps-skip` and `deps-with` need them. `Err` is reported.
pub(super) fn deps(
    files: Option<&Set>,
    run: Option<Spanned<Vec<String>>>,
    skip: Option<&Set>,
    with: &[Set],
) -> Result<Option<Deps>, Diag> {
    let paths = |set: &Set| -> Vec<String> {
        set.args
            .iter()
            .map(|(a, _)| values::context_path(a).unwrap_or_else(|_| a.clone()))
            .collect()
    };
    let (files, run) = match (files, run) {
        (Some(f), Some(r)) => (f, r),
        (None, None) => {
            let orphan = skip
                .map(|s| (s.span, "deps-skip"))
                .or_else(|| with.first().map(|w| (w.span, "deps-with")));
            return match orphan {
                None => Ok(None),
                Some((span, key)) => Err(Diag::new(
                    Code::Deps,
                    format!("`{key}` without a dependency step"),
                )
                .at(span, "changes a step that is not there")
                .help("add `deps` and `deps-run` (a template usually does), or remove it")),
            };
        }
        (Some(f), None) => {
            return Err(Diag::new(Code::Deps, "`deps` without `deps-run`")
                .at(f.span, "files for a dependency step")
                .help(
                    "add `deps-run` with the command that fetches dependencies, or remove `deps`",
                ));
        }
        (None, Some(r)) => {
            return Err(Diag::new(Code::Deps, "`deps-run` without `deps`")
                .at(r.span, "a dependency step")
                .help("add `deps` with the files the step needs (e.g. `deps go.mod go.sum`)"));
        }
    };
    // A later alternative for the same path replaces an earlier one.
    let mut alternatives: Vec<Spanned<DepsWith>> = Vec::new();
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for w in with {
        let mut all = paths(w);
        let when = all.remove(0);
        let alt = Spanned::new(DepsWith { when, files: all }, w.span);
        match at
            .get(&alt.node.when)
            .and_then(|&i| alternatives.get_mut(i))
        {
            Some(x) => *x = alt,
            None => {
                at.insert(alt.node.when.clone(), alternatives.len());
                alternatives.push(alt);
            }
        }
    }
    Ok(Some(Deps {
        files: Spanned::new(paths(files), files.span),
        run,
        skip: skip.map(|s| Spanned::new(paths(s), s.span)),
        with: alternatives,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn secrets_parse() {
        let s = secret(&strs(&["netrc"])).unwrap();
        assert_eq!(s.target, SecretTarget::File("/run/secrets/netrc".into()));
        assert!(!s.required);
        let s = secret(&strs(&["tok", "env=GH_TOKEN", "required"])).unwrap();
        assert_eq!(s.target, SecretTarget::Env("GH_TOKEN".into()));
        assert!(s.required);
        let s = secret(&strs(&["n", "target=/root/.netrc", "required=false"])).unwrap();
        assert_eq!(s.target, SecretTarget::File("/root/.netrc".into()));
        assert_eq!(secret(&strs(&["a b"])).unwrap_err().0, 0);
        assert_eq!(secret(&strs(&["n", "target=rel"])).unwrap_err().0, 1);
        assert_eq!(secret(&strs(&["n", "env=1X"])).unwrap_err().0, 1);
        assert_eq!(
            secret(&strs(&["n", "env=X", "target=/a"])).unwrap_err().0,
            2
        );
        assert_eq!(secret(&strs(&["n", "mode=0400"])).unwrap_err().0, 1);
        assert!(id("..").is_err() && id("a/b").is_err() && id("").is_err());
        assert!(id("git.acme_1-x").is_ok());
    }
}
