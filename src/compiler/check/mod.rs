//! The checker: parsed sources to [`model::Program`], every error of every
//! file in one run.
//!
//! Order of work, each step going on past errors where it can:
//! 1. parse every file (a file that does not parse is left out of the rest);
//! 2. check imports (missing, escaping, cyclic, pins);
//! 3. gather templates (all files) and apps (root file only);
//! 4. check each template on its own: parent chain, `param` declarations,
//!    known keys, duplicates — so unused templates are checked too;
//! 5. evaluate each app through its chain into a [`model::App`];
//! 6. refuse `--build-arg`s that no app declares.

// `Diag` is the shared error type of every stage; boxing it here alone would
// buy nothing (lower.rs returns it too).
#![allow(clippy::result_large_err)]

mod acc;
mod app;
mod imports;
pub mod keys;
mod steps;
#[cfg(test)]
mod tests;
pub mod values;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::ast::{Block, BlockKind, File, ItemKind, Stmt, Value};
use super::diagnostic::MAX_DIAGS;
use super::interp::{Budget, nearest, some_names};
use super::span::{FileId, Span, Spanned};
use super::{Code, Diag, Options, Sources, model, sources, stdlib, syntax};
use keys::ParamType;

pub use imports::{pending_imports, pending_imports_since, resolve as resolve_import};

/// Blocks in one chain at most: the app or template itself and the
/// templates it extends. Real chains are a handful deep; the limit keeps
/// the work of checking a block bounded (every block walks its chain).
pub const MAX_CHAIN_DEPTH: usize = 16;

/// A `param` declaration, valid as far as its name and type go.
#[derive(Clone, Debug)]
pub(crate) struct ParamDecl<'a> {
    pub name: String,
    pub ty: ParamType,
    /// The default's values (after name and type); `None` when absent.
    pub default: Option<&'a [Value]>,
    pub span: Span,
    /// Index in the chain of the block declaring it (0: the block itself).
    pub owner: usize,
}

/// Templates by name, with the file they are in.
type Templates<'a> = BTreeMap<&'a str, &'a Block>;

/// Parses and checks all sources.
pub fn check(sources: &Sources, options: &Options) -> Result<model::Program, Vec<Diag>> {
    let mut diags = Vec::new();
    // The user's files are parsed here; the stdlib's come parsed once per
    // process (`stdlib::parsed`).
    let mut own: BTreeMap<FileId, File> = BTreeMap::new();
    let mut parsed: BTreeMap<FileId, &File> = BTreeMap::new();
    // The limits, also for sources a driver built without `add_read`.
    let mut total = 0;
    for (id, f) in sources.iter() {
        if id != 0 && stdlib::is_stdlib(&f.name) {
            continue;
        }
        total += f.text.len();
        if f.text.len() > sources::MAX_FILE_BYTES {
            diags.push(
                sources::file_too_large(&f.name, Some(f.text.len() as u64))
                    .at(Span::new(id, 0, 0), "this file"),
            );
        } else if total > sources::MAX_SOURCES_BYTES {
            diags.push(sources::sources_too_large(&f.name).at(Span::new(id, 0, 0), "this file"));
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    for (id, f) in sources.iter() {
        if let Some(ast) = stdlib::parsed(id, &f.text) {
            parsed.insert(id, ast);
            continue;
        }
        match syntax::parse(id, &f.text) {
            Ok(ast) => {
                own.insert(id, ast);
            }
            // Moved, not copied, when first: a file may give many.
            Err(e) if diags.is_empty() => diags = e,
            Err(e) => diags.extend(e),
        }
    }
    parsed.extend(own.iter().map(|(id, ast)| (*id, ast)));
    imports::check(sources, &parsed, &mut diags);

    let mut templates: Templates<'_> = BTreeMap::new();
    let mut apps: Vec<&Block> = Vec::new();
    // Apps by name, to find a duplicate without scanning every app (only
    // looked up: hashed, a file may hold tens of thousands).
    let mut app_names: HashMap<&str, &Block> = HashMap::new();
    // Stdlib files first, so a user template that reuses a stdlib name is
    // the one reported.
    let mut order: Vec<(FileId, &File)> = parsed.iter().map(|(id, f)| (*id, *f)).collect();
    order.sort_by_key(|(id, _)| {
        (
            !sources.get(*id).is_some_and(|f| stdlib::is_stdlib(&f.name)),
            *id,
        )
    });
    for (id, ast) in order {
        for item in &ast.items {
            let ItemKind::Block(b) = &item.kind else {
                continue;
            };
            match b.kind {
                BlockKind::Template => {
                    if let Some(first) = templates.get(b.name.node.as_str()) {
                        diags.push(
                            Diag::new(Code::DuplicateTemplate, format!("template `{}` is defined twice", b.name.node))
                                .at(b.name.span, "defined again here")
                                .related(first.name.span, "first defined here")
                                .help(if sources.get(first.name.span.file).is_some_and(|f| stdlib::is_stdlib(&f.name)) {
                                    "this name is taken by the standard library; pick another name".to_string()
                                } else {
                                    "template names are global across the file and its imports; rename one".to_string()
                                }),
                        );
                    } else {
                        templates.insert(b.name.node.as_str(), b);
                    }
                }
                BlockKind::App if id != 0 => diags.push(
                    Diag::new(
                        Code::AppInImport,
                        format!("app `{}` is in an imported file", b.name.node),
                    )
                    .at(b.header, "apps belong in the root file")
                    .help(
                        "imported files hold templates only; move the app into the file you build",
                    ),
                ),
                BlockKind::App => {
                    if let Some(first) = app_names.get(b.name.node.as_str()) {
                        diags.push(
                            Diag::new(
                                Code::DuplicateApp,
                                format!("two apps are named `{}`", b.name.node),
                            )
                            .at(b.name.span, "second app with this name")
                            .related(first.name.span, "first app with this name")
                            .help("app names name images and build targets; rename one"),
                        );
                    } else {
                        app_names.insert(&b.name.node, b);
                        apps.push(b);
                    }
                }
            }
        }
    }

    let depths = chain_depths(&templates);
    for t in templates.values() {
        if diags.len() >= MAX_DIAGS {
            break;
        }
        check_template(t, &templates, &depths, &mut diags);
    }

    let mut program = model::Program {
        apps: Vec::with_capacity(apps.len()),
    };
    let budget = Budget::default();
    for a in &apps {
        if diags.len() >= MAX_DIAGS {
            break;
        }
        if let Some(m) = app::eval(a, &templates, &depths, options, &budget, &mut diags) {
            program.apps.push(m);
        }
    }

    if parsed.contains_key(&0) && apps.is_empty() && diags.is_empty() {
        let name = sources.root().map_or("the file", |f| f.name.as_str());
        diags.push(
            Diag::new(Code::NoApps, format!("{name} defines no app"))
                .at(Span::new(0, 0, 0), "no `app` block in this file")
                .help("add one, e.g. `app hello {` ... `}`"),
        );
    }

    for name in options.build_args.keys() {
        let declared = program.apps.iter().any(|a| a.build_args.contains_key(name));
        if !declared && diags.is_empty() {
            let all: Vec<&str> = program
                .apps
                .iter()
                .flat_map(|a| a.build_args.keys().map(String::as_str))
                .collect();
            let help = match nearest(name, &all) {
                Some(n) => {
                    format!("did you mean `{n}`? (build arguments are declared with `build-arg`)")
                }
                None => format!(
                    "declare it with `build-arg {name}` in the app, or drop --build-arg {name}"
                ),
            };
            diags.push(
                Diag::new(
                    Code::UndeclaredArg,
                    format!("--build-arg {name} is not declared by any app"),
                )
                .help(help),
            );
        }
    }

    if diags.is_empty() {
        Ok(program)
    } else {
        // A template in a file that does not parse is unknown to the apps
        // that use it: that follows from the syntax error, reported above.
        if parsed.len() < sources.len() {
            diags.retain(|d| d.code != Code::UnknownTemplate);
        }
        dedupe(&mut diags);
        Err(diags)
    }
}

/// Drops repeated diagnostics (a template used by two apps reports a bad
/// value once), keeping the first's position. By sorting their indices
/// (most compare by span alone), so no message is copied: a file may make
/// a hundred thousand of them.
fn dedupe(diags: &mut Vec<Diag>) {
    fn key(d: &Diag) -> (Option<Span>, Code, &str) {
        (d.span, d.code, d.message.as_str())
    }
    let mut order: Vec<usize> = (0..diags.len()).collect();
    order.sort_unstable_by(|&a, &b| key(&diags[a]).cmp(&key(&diags[b])).then(a.cmp(&b)));
    let mut keep = vec![true; diags.len()];
    for pair in order.windows(2) {
        if let [first, next] = *pair
            && key(&diags[first]) == key(&diags[next])
        {
            keep[next] = false;
        }
    }
    let mut keep = keep.into_iter();
    diags.retain(|_| keep.next().unwrap_or(true));
}

/// Each template's chain depth by name (see [`chain_depths`]). Only ever
/// looked up, never walked, so its order cannot reach an output.
pub(crate) type Depths<'a> = HashMap<&'a str, usize>;

/// The length of every template's chain (itself included), counted up to
/// [`MAX_CHAIN_DEPTH`] + 1; a chain that ends in an unknown template or a
/// cycle counts up to there. Each template is walked once (memoised), over
/// indices: one lookup per template finds its parent, so this is
/// O(n log n) however the templates extend each other.
pub(crate) fn chain_depths<'a>(templates: &Templates<'a>) -> Depths<'a> {
    let names: Vec<&'a str> = templates.keys().copied().collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let parent: Vec<Option<usize>> = templates
        .values()
        .map(|t| {
            let p = t.parent.as_ref()?;
            index.get(p.node.as_str()).copied()
        })
        .collect();
    // 0: not known yet (every depth is at least 1).
    let mut depth = vec![0; names.len()];
    let mut on_path = vec![false; names.len()];
    let mut path: Vec<usize> = Vec::new();
    for start in 0..names.len() {
        // Walk up until a known depth, a missing parent or a cycle; every
        // template on the way gets its depth, so none is walked twice.
        let mut at = Some(start);
        let mut base = 0;
        while let Some(i) = at {
            if depth[i] != 0 {
                base = depth[i];
                break;
            }
            if on_path[i] {
                break; // a cycle: chain() reports it
            }
            on_path[i] = true;
            path.push(i);
            at = parent[i];
        }
        for (k, i) in path.drain(..).rev().enumerate() {
            depth[i] = (base + k + 1).min(MAX_CHAIN_DEPTH + 1);
            on_path[i] = false;
        }
    }
    names.into_iter().zip(depth).collect()
}

/// Whether the chain of a block is too long because of its parent's own
/// chain: then the error is the parent's (or an ancestor's), reported once
/// where the limit is first passed, and the block reports nothing. When
/// this holds, [`chain`] of the block could only fail with
/// [`E_CHAIN_DEPTH`]: the parent's depth counts distinct templates (a
/// cycle stops the count), so at least `MAX_CHAIN_DEPTH + 1` of them
/// follow it, and the block is not one of the first ones (it would close
/// a cycle shorter than that). So the callers skip the walk: a chain of n
/// templates costs n short lookups, not n walks of `MAX_CHAIN_DEPTH`
/// lookups, each building an error to drop.
pub(crate) fn parent_too_deep(block: &Block, depths: &Depths<'_>) -> bool {
    block
        .parent
        .as_ref()
        .and_then(|p| depths.get(p.node.as_str()))
        .is_some_and(|&d| d > MAX_CHAIN_DEPTH)
}

/// The chain of templates above a block, nearest first. `first` is the
/// block's `uses`/`extends`, `fallback` the template used when it has none.
pub(crate) fn chain<'a>(
    block: &'a Block,
    templates: &Templates<'a>,
    fallback: Option<&str>,
) -> Result<Vec<&'a Block>, Diag> {
    let mut out = vec![block];
    let mut next: Option<(&str, Span)> = match &block.parent {
        Some(p) => Some((p.node.as_str(), p.span)),
        None => fallback.map(|f| (f, block.header)),
    };
    let first_link = next.as_ref().map_or(block.header, |(_, s)| *s);
    while let Some((name, span)) = next {
        if out.len() >= MAX_CHAIN_DEPTH {
            return Err(Diag::new(
                Code::ChainDepth,
                format!(
                    "`{}` and the templates it extends are more than {MAX_CHAIN_DEPTH} deep",
                    block.name.node
                ),
            )
            .at(first_link, "the chain starts here")
            .related(span, format!("block {} of the chain", out.len() + 1))
            .help(format!(
                "a block and the templates it extends are at most {MAX_CHAIN_DEPTH}; fold some templates into their parents"
            )));
        }
        let Some(&t) = templates.get(name) else {
            let names: Vec<&str> = templates.keys().copied().collect();
            let help = match nearest(name, &names) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!(
                    "the templates are: {}; import the file that defines it",
                    some_names(&names)
                ),
            };
            return Err(
                Diag::new(Code::UnknownTemplate, format!("unknown template `{name}`"))
                    .at(span, "no template with this name")
                    .help(help),
            );
        };
        // Templates are unique by name: the same block twice is a cycle
        // (a pointer test, at most `MAX_CHAIN_DEPTH` per step).
        if out.iter().any(|b| std::ptr::eq(*b, t)) {
            let names: Vec<&str> = out.iter().map(|b| b.name.node.as_str()).collect();
            return Err(Diag::new(
                Code::TemplateCycle,
                format!("template `{name}` extends itself"),
            )
            .at(span, "closes the cycle")
            .help(format!(
                "{} -> {name}; one template must not extend the other",
                names.join(" -> ")
            )));
        }
        out.push(t);
        next = t.parent.as_ref().map(|p| (p.node.as_str(), p.span));
    }
    Ok(out)
}

/// The `param` declarations of a chain, farthest ancestor first. Errors are
/// reported for the declarations of `chain[0]` only (each template reports
/// its own, once).
pub(crate) fn params<'a>(chain: &[&'a Block], diags: &mut Vec<Diag>) -> Vec<ParamDecl<'a>> {
    let mut out: Vec<ParamDecl<'a>> = Vec::new();
    // Index of each declared name in `out`.
    let mut declared: BTreeMap<String, usize> = BTreeMap::new();
    for (owner, block) in chain.iter().enumerate().rev() {
        let mut report = |d: Diag| {
            if owner == 0 {
                diags.push(d);
            }
        };
        for s in block.stmts.iter().filter(|s| s.key.node == "param") {
            if block.kind == BlockKind::App {
                report(
                    Diag::new(
                        Code::NotHere,
                        "`param` declares a template parameter and is not allowed in an app",
                    )
                    .at(s.key.span, "in an app")
                    .help(
                        "set a parameter of the template by its name instead, e.g. `version 1.24`",
                    ),
                );
                continue;
            }
            let usage = "write `param NAME string|bool|int|list [DEFAULT]`";
            let (Some(n), Some(t)) = (s.values.first(), s.values.get(1)) else {
                report(
                    Diag::new(Code::ParamDecl, "`param` needs a name and a type")
                        .at(s.span, "incomplete")
                        .help(usage),
                );
                continue;
            };
            let Some(name) = n.literal().filter(|n| is_key(n)) else {
                report(
                    Diag::new(
                        Code::ParamDecl,
                        "a parameter name is lowercase letters, digits and `-`",
                    )
                    .at(n.span, "not a parameter name")
                    .help(usage),
                );
                continue;
            };
            let Some(ty) = t.literal().as_deref().and_then(ParamType::parse) else {
                report(
                    Diag::new(Code::ParamDecl, "unknown parameter type")
                        .at(t.span, "not a type")
                        .help("the types are string, bool, int and list"),
                );
                continue;
            };
            if keys::find(&name).is_some() {
                report(
                    Diag::new(
                        Code::ParamClash,
                        format!("parameter `{name}` has the name of a built-in key"),
                    )
                    .at(n.span, "built-in key")
                    .help("parameters and keys share one namespace; pick another name"),
                );
                continue;
            }
            if let Some(prev) = declared.get(&name).and_then(|&i| out.get(i)) {
                report(
                    Diag::new(Code::ParamClash, format!("parameter `{name}` is already declared"))
                        .at(n.span, "declared again")
                        .related(prev.span, "first declared here")
                        .help(format!("to change its value here, write `{name} VALUE` instead of declaring it again")),
                );
                continue;
            }
            let rest = &s.values[2..];
            if rest.len() > 1 && ty != ParamType::List {
                report(
                    Diag::new(
                        Code::ParamDecl,
                        format!("a {} parameter has one default value", ty.name()),
                    )
                    .at(rest[1].span, "extra value")
                    .help("quote the default if it holds spaces"),
                );
                continue;
            }
            declared.insert(name.clone(), out.len());
            out.push(ParamDecl {
                name,
                ty,
                default: if rest.is_empty() { None } else { Some(rest) },
                span: s.span,
                owner,
            });
        }
    }
    out
}

/// Whether `s` has the shape of a key: `[a-z][a-z0-9-]*`.
fn is_key(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '-')
}

/// Checks the keys of one block against the built-ins and the parameters
/// visible from it: unknown keys, single-valued keys set twice, sections
/// opened by keys that take values (and the reverse), and the keys inside
/// each section.
pub(crate) fn check_keys(block: &Block, params: &[ParamDecl<'_>], diags: &mut Vec<Diag>) {
    let mut seen: BTreeMap<&str, &Stmt> = BTreeMap::new();
    let param_names: BTreeSet<&str> = params.iter().map(|p| p.name.as_str()).collect();
    for s in &block.stmts {
        if diags.len() >= MAX_DIAGS {
            return;
        }
        let key = s.key.node.as_str();
        if let Some(inner) = keys::section(key) {
            match &s.section {
                Some(sec) => check_section_keys(key, &sec.stmts, inner, diags),
                None => diags.push(
                    Diag::new(Code::Section, format!("`{key}` opens a section"))
                        .at(s.span, "needs `{` and statements")
                        .help(format!(
                            "write `{key} {{` on its own line, one statement per line, then `}}`; see docs/language.md"
                        )),
                ),
            }
        } else if s.section.is_some()
            && (keys::find(key).is_some() || params.iter().any(|p| p.name == key))
        {
            diags.push(
                Diag::new(Code::Section, format!("`{key}` does not open a section"))
                    .at(s.span, "not a section")
                    .help(format!(
                        "write `{key} VALUE...` on one line; the only section is `kubernetes {{ ... }}`"
                    )),
            );
            continue;
        }
        let single = match keys::find(key) {
            Some(k) => k.merge == keys::Merge::Single,
            None if param_names.contains(key) => true,
            None => {
                let mut names = keys::names();
                names.extend(params.iter().take(2000).map(|p| p.name.as_str()));
                let help = match nearest(key, &names) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => {
                        let ps: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                        if ps.is_empty() {
                            "see docs/language.md for the keys".to_string()
                        } else {
                            format!(
                                "the template parameters here are: {}; see docs/language.md for the keys",
                                some_names(&ps)
                            )
                        }
                    }
                };
                diags.push(
                    Diag::new(Code::UnknownKey, format!("unknown key `{key}`"))
                        .at(s.key.span, "not a key or a parameter here")
                        .help(help),
                );
                continue;
            }
        };
        if single {
            if let (Some(first), Some(_)) = (seen.get(key), &s.section) {
                diags.push(
                    Diag::new(
                        Code::DuplicateKey,
                        format!("a second `{key}` section in this block"),
                    )
                    .at(s.key.span, "opened again here")
                    .related(first.key.span, "first opened here")
                    .help(format!(
                        "a block has one `{key}` section; move these statements into the first"
                    )),
                );
            } else if let Some(first) = seen.get(key) {
                diags.push(
                    Diag::new(
                        Code::DuplicateKey,
                        format!("`{key}` is set twice in this block"),
                    )
                    .at(s.key.span, "set again here")
                    .related(first.key.span, "first set here")
                    .help(format!("`{key}` takes one definition per block; keep one")),
                );
            } else {
                seen.insert(key, s);
            }
        }
    }
}

/// Checks the keys inside a `name { ... }` section against its table:
/// unknown keys (with a suggestion from the table) and single-valued keys
/// set twice.
fn check_section_keys(name: &str, stmts: &[Stmt], table: &[keys::KeyDef], diags: &mut Vec<Diag>) {
    let mut seen: BTreeMap<&str, &Stmt> = BTreeMap::new();
    for s in stmts {
        let key = s.key.node.as_str();
        let Some(def) = table.iter().find(|k| k.name == key) else {
            let names: Vec<&str> = table.iter().map(|k| k.name).collect();
            let help = match nearest(key, &names) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("the keys of a `{name}` section are: {}", names.join(", ")),
            };
            diags.push(
                Diag::new(
                    Code::UnknownKey,
                    format!("unknown key `{key}` in a `{name}` section"),
                )
                .at(s.key.span, format!("not a `{name}` key"))
                .help(help),
            );
            continue;
        };
        if def.merge != keys::Merge::Single {
            continue;
        }
        if let Some(first) = seen.get(key) {
            diags.push(
                Diag::new(
                    Code::DuplicateKey,
                    format!("`{key}` is set twice in this `{name}` section"),
                )
                .at(s.key.span, "set again here")
                .related(first.key.span, "first set here")
                .help(format!(
                    "`{key}` takes one definition per section; keep one"
                )),
            );
        } else {
            seen.insert(key, s);
        }
    }
}

/// Checks one template on its own, whether or not an app uses it.
fn check_template(
    t: &Block,
    templates: &Templates<'_>,
    depths: &Depths<'_>,
    diags: &mut Vec<Diag>,
) {
    if parent_too_deep(t, depths) {
        return;
    }
    let chain = match chain(t, templates, None) {
        Ok(c) => c,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    let params = params(&chain, diags);
    check_keys(t, &params, diags);
}

/// The error for `--app NAME` naming no app of the file.
pub fn unknown_app(program: &model::Program, name: &str) -> Diag {
    let names: Vec<&str> = program.apps.iter().map(|a| a.name.node.as_str()).collect();
    Diag::new(
        Code::NoSuchApp,
        format!("no app named `{name}` in this file"),
    )
    .help(format!("the apps are: {}", names.join(", ")))
}

/// A value with the span of the stmt, used for defaults.
pub(crate) fn spanned<T>(node: T, span: Span) -> Spanned<T> {
    Spanned::new(node, span)
}
