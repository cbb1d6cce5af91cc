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
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::ast::{Part, Value};
use super::codes::Code;
use super::diagnostic::Diag;
use super::platform::Platform;

/// The work evaluating apps may do in one check, in bytes: what expanding
/// variables produces (each arg counts one byte more), each variable
/// copied into a block's scope its size, and each statement or parameter
/// evaluated [`STATEMENT_COST`]. A list parameter used many times, or a
/// template with many statements used by many apps, multiplies the text
/// of the file; this bounds the product, so a check stays linear in the
/// size of its sources (about 0.1 s at the limit). Real files use a few
/// percent of it: 1,000 apps on the `go` template use about 2 MiB.
pub const MAX_EXPANSION_BYTES: usize = 8 << 20;
/// What evaluating one statement of a chain for one app costs of the
/// budget, whatever it expands to.
pub const STATEMENT_COST: usize = 64;

/// What is left of [`MAX_EXPANSION_BYTES`] in one check: shared by every
/// scope (`Env`) made during it.
#[derive(Clone, Debug)]
pub struct Budget(Rc<Cell<usize>>);

impl Default for Budget {
    fn default() -> Self {
        Budget(Rc::new(Cell::new(MAX_EXPANSION_BYTES)))
    }
}

impl Budget {
    /// Takes `n` bytes; false (and nothing left) when fewer remain.
    pub fn charge(&self, n: usize) -> bool {
        let left = self.0.get();
        match left.checked_sub(n) {
            Some(rest) => {
                self.0.set(rest);
                true
            }
            None => {
                self.0.set(0);
                false
            }
        }
    }

    pub fn exhausted(&self) -> bool {
        self.0.get() == 0
    }
}

/// The error of a value whose expansion went past the budget.
pub fn too_much(span: super::span::Span) -> Diag {
    Diag::new(
        Code::OverBudget,
        format!(
            "evaluating the apps passes the limit of {} MiB of expanded text",
            MAX_EXPANSION_BYTES >> 20
        ),
    )
    .at(span, "the limit was reached here")
    .help("a list parameter used in many places, or a template with many statements used by many apps, multiplies the file; use fewer copies")
}

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
    /// A list parameter: several args when used as a whole value. Shared:
    /// each block of a chain has it in scope (its size is charged to the
    /// budget each time, as if copied).
    List(Rc<[String]>),
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
    /// The check's expansion budget (shared by the clones of a scope).
    pub budget: Budget,
}

impl VarValue {
    /// The bytes it holds (each item counts one more).
    pub fn size(&self) -> usize {
        match self {
            VarValue::Str(s) => s.len() + 1,
            VarValue::List(items) => items.iter().map(|i| i.len() + 1).sum::<usize>() + 1,
        }
    }
}

/// Expands one value into its args: one, except a value that is exactly a
/// list variable, which gives one arg per element (none when empty). The
/// bytes made are charged to the budget; past it, the error is
/// [`too_much`] (the text made so far is dropped).
pub fn expand(value: &Value, env: &Env) -> Result<Vec<String>, Vec<Diag>> {
    let mut args = Vec::new();
    expand_into(value, env, &mut args)?;
    Ok(args)
}

/// [`expand`], appending the args to `args` (unchanged on error): a
/// caller expanding many values reuses one vector.
pub fn expand_into(value: &Value, env: &Env, args: &mut Vec<String>) -> Result<(), Vec<Diag>> {
    if env.budget.exhausted() {
        return Err(vec![too_much(value.span)]);
    }
    let start = args.len();
    expand_unbounded(value, env, args)?;
    let made = args
        .get(start..)
        .unwrap_or_default()
        .iter()
        .map(|a| a.len() + 1)
        .sum::<usize>();
    if env.budget.charge(made) {
        Ok(())
    } else {
        args.truncate(start);
        Err(vec![too_much(value.span)])
    }
}

/// [`expand_into`] without the budget, each part checked against what is
/// left so one value cannot build more than the budget before it is
/// charged. Appends to `args` only when it succeeds.
fn expand_unbounded(value: &Value, env: &Env, args: &mut Vec<String>) -> Result<(), Vec<Diag>> {
    let mut errors = Vec::new();
    if let [Part::Var(v)] = value.parts.as_slice()
        && v.alt.is_none()
        && let Some(VarValue::List(items)) = env.vars.get(&v.name)
    {
        args.extend(items.iter().map(|i| {
            let mut arg = String::new();
            push_escaped(&mut arg, env, strip(i, v.strip.as_deref()));
            arg
        }));
        return Ok(());
    }
    let mut out = String::new();
    for part in &value.parts {
        if out.len() > MAX_EXPANSION_BYTES {
            return Err(vec![too_much(value.span)]);
        }
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
                            Code::PlatformVar,
                            format!("`${{{}:+…}}`: the conditional form is not for per-platform variables", v.name),
                        )
                        .at(v.span, "per-platform variable")
                        .help("`${NAME:+WORD}` works on template parameters, build arguments, NAME and OUT"),
                    );
                }
                Some(VarValue::Str(s)) => push_escaped(&mut out, env, strip(s, v.strip.as_deref())),
                Some(VarValue::List(items)) => {
                    out.reserve(items.iter().map(|i| i.len() + 1).sum());
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
                                Code::PlatformVar,
                                format!("`${{{}}}` differs per target platform and is not allowed here", v.name),
                            )
                            .at(v.span, "per-platform variable")
                            .help("platform variables are only allowed in `build-env`, `build-run` and `deps-run`"),
                        );
                    }
                }
                None => {
                    let mut names: Vec<&str> = env
                        .vars
                        .keys()
                        .take(MAX_SUGGEST_CANDIDATES)
                        .map(String::as_str)
                        .collect();
                    if env.platform {
                        names.extend(PLATFORM_VARS);
                    }
                    let mut help = match nearest(&v.name, &names) {
                        Some(n) => format!("did you mean `${{{n}}}`?"),
                        None => format!("the variables here are: {}", some_names(&names)),
                    };
                    if let Some(note) = env.scope_note {
                        help.push_str("; ");
                        help.push_str(note);
                    }
                    help.push_str("; write `$$` for a literal `$`");
                    errors.push(
                        Diag::new(Code::UnknownVar, format!("unknown variable `{}`", v.name))
                            .at(v.span, "not defined")
                            .help(help),
                    );
                }
            },
        }
    }
    if errors.is_empty() {
        args.push(out);
        Ok(())
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

/// Words longer than this get no suggestion (and candidates longer than
/// this are not suggested): the edit distance costs the product of the
/// two lengths.
const MAX_SUGGEST_CHARS: usize = 48;
/// Candidates looked at, at most, for one suggestion.
const MAX_SUGGEST_CANDIDATES: usize = 2000;

/// The candidate closest to `word` by edit distance, if close enough to be
/// a likely typo (at most a third of the word's length, at least 1).
/// Bounded work: long words and candidates are skipped, as are candidates
/// whose length alone puts them past the limit, and only the first
/// [`MAX_SUGGEST_CANDIDATES`] are looked at.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let n = word.chars().count();
    if n > MAX_SUGGEST_CHARS {
        return None;
    }
    let limit = (n / 3).max(1);
    candidates
        .iter()
        .take(MAX_SUGGEST_CANDIDATES)
        .filter(|c| c.len() <= MAX_SUGGEST_CHARS * 4 && c.chars().count().abs_diff(n) <= limit)
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Names for a help line: the first 20, then how many more, so a help
/// line stays short however many names a file defines.
pub fn some_names(names: &[&str]) -> String {
    const SHOWN: usize = 20;
    let mut out = names
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
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
