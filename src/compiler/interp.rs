//! Variable interpolation: `${NAME}`, `${NAME#PREFIX}`, `${NAME:+WORD}`
//! and `$$`.
//!
//! Two moments expand variables:
//! - the checker expands template parameters, build arguments, `NAME` and
//!   `OUT` ([`expand`]), once per app;
//! - the lowering expands the per-platform variables ([`expand_platform`]),
//!   once per target platform. They are only allowed in `build-env`,
//!   `build-run` and `deps-run`, so only those model fields hold them.
//!
//! Between the two, such texts are templates again: `${VAR}` is a platform
//! variable and `$$` a literal `$` (the checker doubles every literal `$`),
//! so a `$` that came from a build argument is never expanded twice.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::ast::{Part, Value};
use super::diagnostic::Diag;
use super::platform::Platform;

pub const E_UNKNOWN_VAR: &str = "scratch::E0130";
pub const E_PLATFORM_VAR: &str = "scratch::E0131";

/// The variables that differ per target platform and stay in the model.
pub const PLATFORM_VARS: &[&str] = &[
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
];

/// A variable's value during checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarValue {
    Str(String),
    /// A list parameter: several args when used as a whole value.
    List(Vec<String>),
}

/// The variables in scope for one statement.
#[derive(Clone, Debug, Default)]
pub struct Env {
    pub vars: BTreeMap<String, VarValue>,
    /// Whether the statement may use the platform variables (kept as is).
    pub platform: bool,
    /// Added to the help of an unknown-variable error (why a name that
    /// exists elsewhere is not visible here).
    pub scope_note: Option<&'static str>,
}

/// Expands one value into its args: one, except a value that is exactly a
/// list variable, which gives one arg per element (none when empty).
pub fn expand(value: &Value, env: &Env) -> Result<Vec<String>, Vec<Diag>> {
    let mut errors = Vec::new();
    if let [Part::Var(v)] = value.parts.as_slice()
        && v.alt.is_none()
        && let Some(VarValue::List(items)) = env.vars.get(&v.name)
    {
        return Ok(items
            .iter()
            .map(|i| {
                let mut arg = String::new();
                push_escaped(&mut arg, env, strip(i, v.strip.as_deref()));
                arg
            })
            .collect());
    }
    let mut out = String::new();
    for part in &value.parts {
        match part {
            Part::Text(t) => push_escaped(&mut out, env, t),
            Part::Var(v) => match env.vars.get(&v.name) {
                Some(value) if v.alt.is_some() => {
                    if is_set(value) {
                        push_escaped(&mut out, env, v.alt.as_deref().unwrap_or_default());
                    }
                }
                None if v.alt.is_some() && PLATFORM_VARS.contains(&v.name.as_str()) => {
                    errors.push(
                        Diag::new(
                            E_PLATFORM_VAR,
                            format!("`${{{}:+…}}`: the conditional form is not for per-platform variables", v.name),
                        )
                        .at(v.span, "per-platform variable")
                        .help("`${NAME:+WORD}` works on template parameters, build arguments, NAME and OUT"),
                    );
                }
                Some(VarValue::Str(s)) => push_escaped(&mut out, env, strip(s, v.strip.as_deref())),
                Some(VarValue::List(items)) => {
                    for (k, i) in items.iter().enumerate() {
                        if k > 0 {
                            out.push(' ');
                        }
                        push_escaped(&mut out, env, strip(i, v.strip.as_deref()));
                    }
                }
                None if PLATFORM_VARS.contains(&v.name.as_str()) => {
                    if env.platform {
                        out.push_str("${");
                        out.push_str(&v.name);
                        if let Some(s) = &v.strip {
                            out.push('#');
                            out.push_str(s);
                        }
                        out.push('}');
                    } else {
                        errors.push(
                            Diag::new(
                                E_PLATFORM_VAR,
                                format!("`${{{}}}` differs per target platform and is not allowed here", v.name),
                            )
                            .at(v.span, "per-platform variable")
                            .help("platform variables are only allowed in `build-env`, `build-run` and `deps-run`"),
                        );
                    }
                }
                None => {
                    let mut names: Vec<&str> = env.vars.keys().map(String::as_str).collect();
                    if env.platform {
                        names.extend(PLATFORM_VARS);
                    }
                    let mut help = match nearest(&v.name, &names) {
                        Some(n) => format!("did you mean `${{{n}}}`?"),
                        None => format!("the variables here are: {}", names.join(", ")),
                    };
                    if let Some(note) = env.scope_note {
                        help.push_str("; ");
                        help.push_str(note);
                    }
                    help.push_str("; write `$$` for a literal `$`");
                    errors.push(
                        Diag::new(E_UNKNOWN_VAR, format!("unknown variable `{}`", v.name))
                            .at(v.span, "not defined")
                            .help(help),
                    );
                }
            },
        }
    }
    if errors.is_empty() {
        Ok(vec![out])
    } else {
        Err(errors)
    }
}

/// Expands several values, concatenating their args.
pub fn expand_all(values: &[Value], env: &Env) -> Result<Vec<String>, Vec<Diag>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for v in values {
        match expand(v, env) {
            Ok(args) => out.extend(args),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Whether `${NAME:+WORD}` gives WORD: the value is not empty and not
/// `false` (a bool parameter that is off).
fn is_set(v: &VarValue) -> bool {
    match v {
        VarValue::Str(s) => !s.is_empty() && s != "false",
        VarValue::List(items) => !items.is_empty(),
    }
}

fn strip<'a>(s: &'a str, prefix: Option<&str>) -> &'a str {
    match prefix {
        Some(p) => s.strip_prefix(p).unwrap_or(s),
        None => s,
    }
}

/// Appends `s` to `out`; in texts that keep platform variables, a literal
/// `$` is doubled.
fn push_escaped(out: &mut String, env: &Env, s: &str) {
    if env.platform {
        for (k, piece) in s.split('$').enumerate() {
            if k > 0 {
                out.push_str("$$");
            }
            out.push_str(piece);
        }
    } else {
        out.push_str(s);
    }
}

/// The value of a platform variable for one target, built on `build`.
pub fn platform_var<'a>(
    name: &str,
    target: &'a Platform,
    build: &'a Platform,
) -> Option<Cow<'a, str>> {
    Some(match name {
        "TARGETPLATFORM" => Cow::Owned(target.to_string()),
        "TARGETOS" => Cow::Borrowed(&target.os),
        "TARGETARCH" => Cow::Borrowed(&target.arch),
        "TARGETVARIANT" => Cow::Borrowed(target.variant.as_deref().unwrap_or_default()),
        "BUILDPLATFORM" => Cow::Owned(build.to_string()),
        "BUILDOS" => Cow::Borrowed(&build.os),
        "BUILDARCH" => Cow::Borrowed(&build.arch),
        _ => return None,
    })
}

/// Expands the platform variables of a model text (`build-env` values,
/// `build-run` and `deps-run` args) for one target platform: `${VAR}` and
/// `${VAR#PREFIX}` become their value, `$$` becomes `$`. Anything else is
/// kept as written (the checker let nothing else through).
pub fn expand_platform(text: &str, target: &Platform, build: &Platform) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body_and_tail) = after.strip_prefix('{') {
            match body_and_tail.find('}') {
                Some(end) => {
                    let body = &body_and_tail[..end];
                    let (name, prefix) = match body.split_once('#') {
                        Some((n, p)) => (n, Some(p)),
                        None => (body, None),
                    };
                    match platform_var(name, target, build) {
                        Some(v) => out.push_str(strip(&v, prefix)),
                        None => {
                            out.push_str("${");
                            out.push_str(body);
                            out.push('}');
                        }
                    }
                    rest = &body_and_tail[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// [`expand_platform`] over exec args.
pub fn expand_platform_args(args: &[String], target: &Platform, build: &Platform) -> Vec<String> {
    args.iter()
        .map(|a| expand_platform(a, target, build))
        .collect()
}

/// The candidate closest to `word` by edit distance, if close enough to be
/// a likely typo (at most a third of the word's length, at least 1).
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Edit distance counting insertions, deletions, substitutions and
/// swaps of neighbours (optimal string alignment): `prot` is 1 from `port`.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn platform_expansion() {
        let t = Platform::parse("linux/arm/v7").unwrap();
        let b = Platform::linux_amd64();
        assert_eq!(
            expand_platform("GOARM=${TARGETVARIANT#v}", &t, &b),
            "GOARM=7"
        );
        assert_eq!(
            expand_platform("${TARGETPLATFORM} on ${BUILDARCH}", &t, &b),
            "linux/arm/v7 on amd64"
        );
        assert_eq!(
            expand_platform("a$$b $${TARGETOS}", &t, &b),
            "a$b ${TARGETOS}"
        );
        let a = Platform::parse("linux/arm64").unwrap();
        assert_eq!(
            expand_platform("GOARM=${TARGETVARIANT#v}", &a, &b),
            "GOARM="
        );
    }

    #[test]
    fn nearest_names() {
        assert_eq!(nearest("prot", &["port", "user"]), Some("port"));
        assert_eq!(nearest("zzzz", &["port", "user"]), None);
    }
}
