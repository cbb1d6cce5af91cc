//! Evaluating one app through its template chain into a [`model::App`].

// `Diag` is the shared error type of every stage; boxing it here alone would
// buy nothing (lower.rs returns it too).
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::acc::{Acc, Arg, Set};
use super::keys::{self, KeyDef, ParamType};
use super::values::{self, Bad};
use super::{
    Depths, MAX_DIAGS, ParamDecl, Templates, chain, check_keys, params, parent_too_deep, spanned,
    steps,
};
use crate::compiler::ast::{Block, Stmt};
use crate::compiler::interp::{self, Budget, Env, VarValue};
use crate::compiler::model::{
    self, BuilderFile, CacheMount, Compile, ExtraFile, Image, Sharing, User,
};
use crate::compiler::span::{Span, Spanned};
use crate::compiler::{Code, Diag, Options, Platform, stdlib};

/// Evaluates an app; `None` when errors stop it (they are in `diags`).
pub(super) fn eval(
    app: &Block,
    templates: &Templates<'_>,
    depths: &Depths<'_>,
    options: &Options,
    budget: &Budget,
    diags: &mut Vec<Diag>,
) -> Option<model::App> {
    if budget.exhausted() {
        return None; // reported once, where it ran out
    }
    // A template's own chain too deep is reported at the template.
    if parent_too_deep(app, depths) {
        return None;
    }
    let before = diags.len();
    let chain = match chain(app, templates, Some(stdlib::DEFAULT_TEMPLATE)) {
        Ok(c) => c,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let decls = params(&chain, diags);
    check_keys(app, &decls, diags);

    let name = app.name.node.clone();
    let out = format!("/out/{name}");
    let mut base = Env {
        budget: budget.clone(),
        ..Env::default()
    };
    base.vars.insert("NAME".into(), VarValue::Str(name.clone()));
    base.vars.insert("OUT".into(), VarValue::Str(out.clone()));
    // What the driver provides (GIT_COMMIT and friends): usable wherever
    // NAME is, a build argument of the same name wins.
    for (n, v) in &options.vars {
        base.vars.insert(n.clone(), VarValue::Str(v.clone()));
    }
    base.scope_note =
        Some("`build-arg` defaults may only use NAME, OUT and the provided variables (GIT_*)");

    // Build arguments: the nearest default wins, the command line wins
    // over all.
    let mut defaults: BTreeMap<String, Option<String>> = BTreeMap::new();
    for block in chain.iter().rev() {
        for s in stmts(block, "build-arg") {
            for (arg, span) in expand(s, &base, diags) {
                let (n, d) = match arg.split_once('=') {
                    Some((n, d)) => (n.to_string(), Some(d.to_string())),
                    None => (arg.clone(), None),
                };
                if let Err(b) = values::arg_name(&n) {
                    diags.push(bad(Code::BadValue, b, span));
                    continue;
                }
                let slot = defaults.entry(n).or_default();
                if d.is_some() {
                    *slot = d;
                }
            }
        }
    }
    let build_args: BTreeMap<String, String> = defaults
        .into_iter()
        .map(|(n, d)| {
            let v = options
                .build_args
                .get(&n)
                .cloned()
                .or(d)
                .unwrap_or_default();
            (n, v)
        })
        .collect();
    let mut with_args = base.clone();
    for (n, v) in &build_args {
        with_args.vars.insert(n.clone(), VarValue::Str(v.clone()));
    }
    with_args.scope_note =
        Some("parameter values may use build arguments, NAME and OUT, not other parameters");

    // Parameters: the nearest setting wins, else the default.
    let mut param_values: Vec<(&ParamDecl<'_>, VarValue)> = Vec::new();
    let mut params: BTreeMap<String, Spanned<Vec<String>>> = BTreeMap::new();
    // Where the app (or a template) set each parameter, to point errors in
    // a template's statement at the setting that caused them.
    let mut param_settings: BTreeMap<String, Span> = BTreeMap::new();
    // The nearest statement of each key along the chain, with the index of
    // its block: a parameter's setting is the nearest one at or below its
    // declaring block.
    let mut nearest_stmt: BTreeMap<&str, (usize, &Stmt)> = BTreeMap::new();
    for (i, b) in chain.iter().enumerate() {
        for s in &b.stmts {
            nearest_stmt.entry(s.key.node.as_str()).or_insert((i, s));
        }
    }
    for d in &decls {
        if !budget.charge(interp::STATEMENT_COST) {
            over_budget(d.span, diags);
            return None;
        }
        let setting = nearest_stmt
            .get(d.name.as_str())
            .filter(|(i, _)| *i <= d.owner)
            .map(|(_, s)| *s);
        let (args, span) = match (setting, d.default) {
            (Some(s), _) => (expand(s, &with_args, diags), s.span),
            (None, Some(vals)) => {
                let mut args = Vec::with_capacity(vals.len());
                let mut one = Vec::new();
                for v in vals {
                    match interp::expand_into(v, &with_args, &mut one) {
                        Ok(()) => args.extend(one.drain(..).map(|x| (x, v.span))),
                        Err(e) => diags.extend(e),
                    }
                }
                (args, d.span)
            }
            (None, None) => match d.ty {
                ParamType::List => (Vec::new(), d.span),
                ParamType::Bool => (vec![("false".to_string(), d.span)], d.span),
                _ => {
                    let tname = chain.get(d.owner).map_or("", |b| b.name.node.as_str());
                    diags.push(
                        Diag::new(Code::ParamMissing, format!("app `{name}` does not set `{}`, a required parameter of template `{tname}`", d.name))
                            .at(app.header, format!("`{}` is missing", d.name))
                            .related(d.span, "declared here without a default")
                            .help(format!("add `{} VALUE` to the app", d.name)),
                    );
                    continue;
                }
            },
        };
        if let Some(s) = setting {
            param_settings.insert(d.name.clone(), s.span);
        }
        let values = args.iter().map(|(a, _)| a.clone()).collect();
        match typed(d, args, span) {
            Ok(v) => {
                params.insert(d.name.clone(), Spanned::new(values, span));
                param_values.push((d, v));
            }
            Err(e) => diags.push(e),
        }
    }

    // Every other statement, farthest ancestor first; the statements of
    // `kubernetes` sections into an accumulator of their own.
    let mut acc = Acc::default();
    let mut kube = Acc::default();
    for (i, block) in chain.iter().enumerate().rev() {
        let mut env = with_args.clone();
        for (d, v) in &param_values {
            if d.owner >= i {
                if !budget.charge(v.size()) {
                    over_budget(block.header, diags);
                    return None;
                }
                env.vars.insert(d.name.clone(), v.clone());
            }
        }
        env.scope_note =
            Some("a template sees its own parameters and its parents', not its children's");
        for s in &block.stmts {
            if diags.len() >= MAX_DIAGS {
                return None;
            }
            if !budget.charge(interp::STATEMENT_COST) {
                over_budget(s.span, diags);
                return None;
            }
            let Some(def) = keys::find(&s.key.node) else {
                continue;
            };
            if matches!(def.name, "param" | "build-arg") {
                continue;
            }
            if let (Some(table), Some(section)) = (keys::section(def.name), &s.section) {
                for inner in &section.stmts {
                    let Some(def) = table.iter().find(|k| k.name == inner.key.node) else {
                        continue;
                    };
                    if let Some(set) =
                        setting(def, inner, block, &mut env, &param_settings, i, diags)
                    {
                        kube.add(def, set);
                    }
                }
                continue;
            }
            if s.section.is_some() {
                // A section on a key that takes values (reported by check_keys).
                continue;
            }
            if let Some(set) = setting(def, s, block, &mut env, &param_settings, i, diags) {
                acc.add(def, set);
            }
        }
    }

    if diags.len() > before {
        return None;
    }
    let mut model = assemble(app, &chain, &mut acc, build_args, options, out, diags)?;
    model.kubernetes = kubernetes(&mut kube, &model.image.ports, diags)?;
    model.switches = switches(app, &acc, &param_values);
    model.params = params;
    Some(model)
}

/// The built-in keys that turn something on or off.
const SWITCH_KEYS: [&str; 6] = ["certs", "mime-types", "tmp", "passwd", "zoneinfo", "strict"];

/// Every yes/no setting in force (see [`model::App::switches`]): the
/// switch keys and the bool parameters, each with the app's own statement
/// when it sets it.
fn switches(
    app: &Block,
    acc: &Acc,
    params: &[(&ParamDecl<'_>, VarValue)],
) -> BTreeMap<String, model::Switch> {
    let own = |name: &str| stmts(app, name).next().map(|s| s.span);
    let mut out = BTreeMap::new();
    for key in SWITCH_KEYS {
        let set = acc.single(key);
        let on = set.is_some_and(|s| s.args.first().is_none_or(|(a, _)| a != "false"));
        let by_app = own(key).filter(|sp| set.is_some_and(|s| s.span == *sp));
        out.insert(key.to_string(), model::Switch { on, by_app });
    }
    for (d, v) in params {
        if d.ty == ParamType::Bool {
            let on = *v == VarValue::Str("true".into());
            out.insert(
                d.name.clone(),
                model::Switch {
                    on,
                    by_app: own(&d.name),
                },
            );
        }
    }
    out
}

/// One statement's args, expanded, counted and validated (a bad value in
/// a template blamed on the setting of the parameter it used); `None` when
/// it is in error (reported).
fn setting(
    def: &'static KeyDef,
    s: &Stmt,
    block: &Block,
    env: &mut Env,
    param_settings: &BTreeMap<String, Span>,
    depth: usize,
    diags: &mut Vec<Diag>,
) -> Option<Set> {
    env.platform = def.platform;
    let n = diags.len();
    let args = expand(s, env, diags);
    if diags.len() > n {
        return None;
    }
    if args.len() < def.min || def.max.is_some_and(|m| args.len() > m) {
        diags.push(arity(def, args.len(), s));
        return None;
    }
    if !validate(def, &args, diags) {
        if depth > 0 {
            blame_setting(&mut diags[n..], s, block, param_settings);
        }
        return None;
    }
    Some(Set { args, span: s.span })
}

/// The `kubernetes` settings of an app: probes on declared TCP ports only
/// (a nearer probe replaces a farther one of the same kind), no request
/// above its limit. `None` when one is in error (reported).
fn kubernetes(
    kube: &mut Acc,
    ports: &[Spanned<model::Port>],
    diags: &mut Vec<Diag>,
) -> Option<model::Kubernetes> {
    let before = diags.len();
    let replicas = kube.one("replicas").and_then(|r| {
        values::replicas(&r.node)
            .ok()
            .map(|n| Spanned::new(n, r.span))
    });
    let requests = kube.take_pairs("requests");
    let limits = kube.take_pairs("limits");
    for r in &requests {
        let Some(l) = limits.iter().find(|l| l.node.0 == r.node.0) else {
            continue;
        };
        let (Ok(rv), Ok(lv)) = (values::quantity(&r.node.1), values::quantity(&l.node.1)) else {
            continue;
        };
        if rv > lv {
            let name = &r.node.0;
            diags.push(
                Diag::new(
                    Code::RequestOverLimit,
                    format!("the {name} request {} is above its limit {}", r.node.1, l.node.1),
                )
                .at(r.span, "requested here")
                .related(l.span, "limited here")
                .help(format!(
                    "Kubernetes refuses a pod that requests more {name} than its limit; raise the limit or lower the request"
                )),
            );
        }
    }
    let mut probes: Vec<Spanned<model::Probe>> = Vec::new();
    for set in kube.lists("probe") {
        let args: Vec<String> = set.args.iter().map(|(a, _)| a.clone()).collect();
        let Ok(probe) = values::probe(&args) else {
            continue;
        };
        let port_span = set.args.get(2).map_or(set.span, |(_, sp)| *sp);
        let declared = ports.iter().find(|p| p.node.number == probe.port);
        let tcp = ports
            .iter()
            .any(|p| p.node.number == probe.port && p.node.proto == model::Proto::Tcp);
        if !tcp {
            let tcp_ports: Vec<String> = ports
                .iter()
                .filter(|p| p.node.proto == model::Proto::Tcp)
                .map(|p| p.node.number.to_string())
                .collect();
            let help = if tcp_ports.is_empty() {
                format!("declare it with `port {}`, or drop the probe", probe.port)
            } else {
                format!(
                    "probe one of the app's TCP ports ({}), or declare it with `port {}`",
                    tcp_ports.join(", "),
                    probe.port
                )
            };
            let mut d = Diag::new(
                Code::ProbePort,
                match declared {
                    Some(p) => format!(
                        "the {} probe uses port {}, declared only as {}",
                        probe.kind.name(),
                        probe.port,
                        p.node
                    ),
                    None => format!(
                        "the {} probe uses port {}, which the app does not declare",
                        probe.kind.name(),
                        probe.port
                    ),
                },
            )
            .at(port_span, "not a declared TCP port")
            .help(help);
            if let Some(p) = declared {
                d = d.related(p.span, "declared here");
            }
            diags.push(d);
            continue;
        }
        let probe = Spanned::new(probe, set.span);
        match probes.iter_mut().find(|p| p.node.kind == probe.node.kind) {
            Some(p) => *p = probe,
            None => probes.push(probe),
        }
    }
    if diags.len() > before {
        return None;
    }
    Some(model::Kubernetes {
        replicas,
        requests,
        limits,
        probes,
    })
}

/// A bad value in a template statement that uses a parameter is the fault
/// of whoever set the parameter: point there, and say which statement
/// used it.
fn blame_setting(new: &mut [Diag], s: &Stmt, block: &Block, settings: &BTreeMap<String, Span>) {
    let used: Vec<&str> = s
        .values
        .iter()
        .flat_map(|v| &v.parts)
        .filter_map(|p| match p {
            crate::compiler::ast::Part::Var(v) => Some(v.name.as_str()),
            crate::compiler::ast::Part::Text(_) => None,
        })
        .collect();
    let Some((name, at)) = used
        .iter()
        .find_map(|n| settings.get(*n).map(|sp| (*n, *sp)))
    else {
        return;
    };
    if at.file == s.span.file && block.stmts.iter().any(|x| x.span == at) {
        return;
    }
    for d in new {
        let original = d.span;
        d.span = Some(at);
        d.label = format!("`{name}` set here");
        if let Some(o) = original {
            d.related.push((o, "used here".into()));
        }
        let note = format!(
            "the value comes from `{name}`, used by `{}` in template `{}`",
            s.key.node, block.name.node
        );
        d.help = Some(match d.help.take() {
            Some(h) => format!("{h}; {note}"),
            None => note,
        });
    }
}

/// Reports the budget's end once per check (the first app to run out).
fn over_budget(span: Span, diags: &mut Vec<Diag>) {
    if !diags.iter().any(|d| d.code == Code::OverBudget) {
        diags.push(interp::too_much(span));
    }
}

/// The statements of a block with a given key.
fn stmts<'a>(block: &'a Block, key: &'a str) -> impl Iterator<Item = &'a Stmt> + 'a {
    block.stmts.iter().filter(move |s| s.key.node == key)
}

/// Expands a statement's values into args, each with its value's span.
fn expand(s: &Stmt, env: &Env, diags: &mut Vec<Diag>) -> Vec<Arg> {
    let mut out = Vec::with_capacity(s.values.len());
    // One value's args; one vector for all of them.
    let mut args = Vec::new();
    for v in &s.values {
        if diags.len() >= MAX_DIAGS {
            break;
        }
        match interp::expand_into(v, env, &mut args) {
            Ok(()) => out.extend(args.drain(..).map(|a| (a, v.span))),
            Err(e) => {
                for d in e {
                    if d.code == Code::OverBudget {
                        over_budget(v.span, diags);
                    } else {
                        diags.push(d);
                    }
                }
            }
        }
    }
    out
}

fn bad(code: Code, b: Bad, span: Span) -> Diag {
    Diag::new(code, b.message.clone())
        .at(span, b.message)
        .help(b.help)
}

fn arity(def: &KeyDef, got: usize, s: &Stmt) -> Diag {
    let want = match (def.min, def.max) {
        (a, Some(b)) if a == b => format!("{a}"),
        (0, Some(b)) => format!("at most {b}"),
        (a, Some(b)) => format!("{a} to {b}"),
        (a, None) => format!("at least {a}"),
    };
    let plural = if want == "1" { "" } else { "s" };
    Diag::new(
        Code::Arity,
        format!("`{}` takes {want} value{plural}, got {got}", def.name),
    )
    .at(s.span, "wrong number of values")
    .help(format!(
        "write `{}`; quote a value that holds spaces",
        def.usage
    ))
}

/// A parameter's value with its type checked.
fn typed(d: &ParamDecl<'_>, args: Vec<Arg>, span: Span) -> Result<VarValue, Diag> {
    let article = if d.ty == ParamType::Int { "an" } else { "a" };
    let wrong = |what: String, at: Span| {
        Diag::new(
            Code::ParamType,
            format!(
                "`{}` is {article} {} parameter: {what}",
                d.name,
                d.ty.name()
            ),
        )
        .at(at, "wrong type")
        .related(d.span, "declared here")
        .help(match d.ty {
            ParamType::Str => "give one value; quote it if it holds spaces",
            ParamType::Bool => "write `true` or `false` (or the key alone for true)",
            ParamType::Int => "give one whole number",
            ParamType::List => "give any number of values",
        })
    };
    match d.ty {
        ParamType::List => Ok(VarValue::List(args.into_iter().map(|(a, _)| a).collect())),
        ParamType::Bool => match args.as_slice() {
            [] => Ok(VarValue::Str("true".into())),
            [(a, sp)] => values::boolean(a)
                .map(|b| VarValue::Str(b.to_string()))
                .map_err(|_| wrong(format!("`{a}` is not true or false"), *sp)),
            _ => Err(wrong(
                format!("expected one value, got {}", args.len()),
                span,
            )),
        },
        ParamType::Int => match args.as_slice() {
            [(a, sp)] => a
                .parse::<i64>()
                .map(|n| VarValue::Str(n.to_string()))
                .map_err(|_| wrong(format!("`{a}` is not a whole number"), *sp)),
            _ => Err(wrong(
                format!("expected one value, got {}", args.len()),
                span,
            )),
        },
        ParamType::Str => match args.as_slice() {
            [(a, _)] => Ok(VarValue::Str(a.clone())),
            _ => Err(wrong(
                format!("expected one value, got {}", args.len()),
                span,
            )),
        },
    }
}

/// Checks the args of one statement; reports and returns false when bad.
fn validate(def: &KeyDef, args: &[Arg], diags: &mut Vec<Diag>) -> bool {
    let before = diags.len();
    let mut check = |code: Code, r: Result<(), Bad>, span: Span| {
        if let Err(b) = r {
            diags.push(bad(code, b, span));
        }
    };
    match def.name {
        "builder" => {
            for (a, sp) in args {
                match a.split_once('@').map(|(_, d)| values::digest(d)) {
                    Some(Err(b)) => check(Code::BadDigest, Err(b), *sp),
                    _ => check(Code::BadImage, values::image_ref(a).map(|_| ()), *sp),
                }
            }
        }
        "build-dir" | "binary" | "certs-from" | "mime-types-from" | "zoneinfo-from" | "workdir"
        | "volume" => {
            for (a, sp) in args {
                check(Code::NotAbsolute, values::abs_path(a).map(|_| ()), *sp);
            }
        }
        "deps" | "deps-skip" | "deps-with" | "binary-from" => {
            for (a, sp) in args {
                check(Code::ContextPath, values::context_path(a).map(|_| ()), *sp);
            }
        }
        "certs" | "mime-types" | "tmp" | "zoneinfo" | "strict" | "sbom" => {
            for (a, sp) in args {
                check(Code::BadValue, values::boolean(a).map(|_| ()), *sp);
            }
        }
        "passwd" => {
            for (a, sp) in args {
                check(Code::BadValue, values::passwd(a).map(|_| ()), *sp);
            }
        }
        "user" => {
            for (a, sp) in args {
                check(Code::BadUser, values::user(a).map(|_| ()), *sp);
            }
        }
        "port" => {
            for (a, sp) in args {
                check(Code::BadValue, values::port(a).map(|_| ()), *sp);
            }
        }
        "env" | "label" | "build-env" => {
            for (a, sp) in args {
                check(Code::BadValue, values::key_value(a).map(|_| ()), *sp);
            }
        }
        "platforms" => {
            let mut seen: BTreeMap<String, Span> = BTreeMap::new();
            for (a, sp) in args {
                match Platform::parse(a) {
                    Ok(p) => {
                        if let Some(first) = seen.get(&p.to_string()) {
                            diags.push(
                                Diag::new(Code::DuplicatePlatform, format!("platform `{p}` is listed twice"))
                                    .at(*sp, "listed again")
                                    .related(*first, "first listed here")
                                    .help("remove one (platforms are normalised: `linux/arm` is `linux/arm/v7`)"),
                            );
                        } else {
                            seen.insert(p.to_string(), *sp);
                        }
                    }
                    Err(e) => diags.push(platform_error(a, &e, *sp)),
                }
            }
        }
        "cache" => {
            if let Some((a, sp)) = args.first() {
                check(Code::NotAbsolute, values::abs_path(a).map(|_| ()), *sp);
            }
            for (a, sp) in args.iter().skip(1) {
                let r = match a.split_once('=') {
                    Some(("id", v)) if !v.is_empty() => Ok(()),
                    Some(("sharing", v)) => values::sharing(v).map(|_| ()),
                    _ => Err(Bad {
                        message: format!("`{a}` is not a cache option"),
                        help: "the options are `id=ID` and `sharing=shared|private|locked`".into(),
                    }),
                };
                check(Code::BadValue, r, *sp);
            }
        }
        "replicas" => {
            for (a, sp) in args {
                check(Code::BadValue, values::replicas(a).map(|_| ()), *sp);
            }
        }
        "requests" | "limits" => {
            for (a, sp) in args {
                check(Code::BadValue, values::resource(a).map(|_| ()), *sp);
            }
        }
        "probe" => {
            let plain: Vec<String> = args.iter().map(|(a, _)| a.clone()).collect();
            if let Err((i, b)) = values::probe(&plain) {
                let span = args.get(i).map_or(Span::default(), |(_, sp)| *sp);
                check(Code::BadValue, Err(b), span);
            }
        }
        "file" => {
            if let Some((a, sp)) = args.first() {
                check(Code::ContextPath, values::context_path(a).map(|_| ()), *sp);
            }
            if let Some((a, sp)) = args.get(1) {
                check(Code::NotAbsolute, values::abs_path(a).map(|_| ()), *sp);
            }
            if let Some((a, sp)) = args.get(2) {
                check(Code::BadValue, values::mode(a).map(|_| ()), *sp);
            }
        }
        other => {
            steps::validate(other, args, diags);
        }
    }
    diags.len() == before
}

fn platform_error(a: &str, e: &crate::compiler::platform::PlatformError, span: Span) -> Diag {
    Diag::new(Code::BadPlatform, e.message(a))
        .at(span, "malformed platform")
        .help(e.help())
}

/// Builds the model from validated settings, applying defaults.
fn assemble(
    app: &Block,
    chain: &[&Block],
    acc: &mut Acc,
    build_args: BTreeMap<String, String>,
    options: &Options,
    out: String,
    diags: &mut Vec<Diag>,
) -> Option<model::App> {
    let name = &app.name.node;
    let header = app.header;

    let platforms: Vec<Spanned<Platform>> = if !options.platforms.is_empty() {
        let mut ps: Vec<Spanned<Platform>> = Vec::new();
        let mut seen = BTreeSet::new();
        for p in &options.platforms {
            if seen.insert(p.to_string()) {
                ps.push(Spanned::new(p.clone(), header));
            }
        }
        ps
    } else if let Some(set) = acc.single("platforms") {
        set.args
            .iter()
            .filter_map(|(a, sp)| Platform::parse(a).ok().map(|p| Spanned::new(p, *sp)))
            .collect()
    } else {
        vec![Spanned::new(options.build_platform.clone(), header)]
    };

    let build = if let Some(src) = acc.one("binary-from") {
        if let Some(run) = acc.single("build-run") {
            diags.push(
                Diag::new(Code::TwoBuilds, format!("app `{name}` has both `binary-from` and `build-run`"))
                    .at(src.span, "a prebuilt binary")
                    .related(run.span, "a build command")
                    .help("use `binary-from` with a template without a build (e.g. `uses prebuilt`), or drop it"),
            );
            return None;
        }
        let node = values::context_path(&src.node).unwrap_or(src.node);
        model::Build::Prebuilt {
            src: Spanned::new(node, src.span),
        }
    } else {
        let builder = acc.one("builder");
        let run = acc.args("build-run");
        let (Some(builder), Some(run)) = (builder.clone(), run.clone()) else {
            let mut missing = Vec::new();
            if builder.is_none() {
                missing.push("`builder`");
            }
            if run.is_none() {
                missing.push("`build-run`");
            }
            diags.push(
                Diag::new(Code::NoBuild, format!("app `{name}` has no way to get its binary"))
                    .at(header, format!("no {}", missing.join(" or ")))
                    .help("use a template that builds (like `go`, the default), set `builder` and `build-run`, or set `binary-from`"),
            );
            return None;
        };
        let builder = Spanned::new(values::image_ref(&builder.node).ok()?, builder.span);
        let deps = match steps::deps(
            acc.single("deps"),
            acc.args("deps-run"),
            acc.single("deps-skip"),
            acc.lists("deps-with"),
        ) {
            Ok(d) => d,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let caches = acc
            .lists("cache")
            .iter()
            .filter_map(|set| {
                let (path, _) = set.args.first()?;
                let mut c = CacheMount {
                    path: path.clone(),
                    id: path.clone(),
                    sharing: Sharing::Shared,
                };
                for (a, _) in &set.args[1..] {
                    match a.split_once('=') {
                        Some(("id", v)) => c.id = v.to_string(),
                        Some(("sharing", v)) => {
                            c.sharing = values::sharing(v).unwrap_or(Sharing::Shared)
                        }
                        _ => {}
                    }
                }
                Some(Spanned::new(c, set.span))
            })
            .fold(
                (Vec::<Spanned<CacheMount>>::new(), BTreeMap::new()),
                |(mut v, mut at), c| {
                    // A later mount at the same path replaces an earlier one.
                    match at.get(&c.node.path).and_then(|&i| v.get_mut(i)) {
                        Some(x) => *x = c,
                        None => {
                            at.insert(c.node.path.clone(), v.len());
                            v.push(c);
                        }
                    }
                    (v, at)
                },
            )
            .0;
        model::Build::Compile(Compile {
            builder,
            dir: acc
                .one("build-dir")
                .map_or_else(|| "/src".to_string(), |d| d.node),
            env: acc.take_pairs("build-env"),
            caches,
            deps,
            run,
            out,
            secrets: steps::secrets(acc.lists("secret")),
            ssh: steps::ssh(acc.lists("ssh")),
        })
    };

    let binary = acc
        .one("binary")
        .unwrap_or_else(|| spanned(format!("/usr/bin/{name}"), header));

    let builder_file = |flag: &str,
                        from: &str,
                        dest: &str,
                        what: &str|
     -> Result<Option<Spanned<BuilderFile>>, Diag> {
        let Some((true, span)) = acc.flag(flag) else {
            return Ok(None);
        };
        match (&build, acc.one(from)) {
            (model::Build::Compile(_), Some(src)) => Ok(Some(Spanned::new(
                BuilderFile {
                    src: src.node,
                    dest: dest.to_string(),
                },
                span,
            ))),
            (model::Build::Compile(_), None) => Err(Diag::new(
                Code::NoSource,
                format!("`{flag}` is on but no template says where the {what} is"),
            )
            .at(span, format!("needs `{from}`"))
            .help(format!(
                "set `{from} /PATH/IN/BUILDER` (the template usually does)"
            ))),
            (model::Build::Prebuilt { .. }, _) => Err(Diag::new(
                Code::NoSource,
                format!("`{flag}` needs a builder image to copy the {what} from"),
            )
            .at(span, "no builder with `binary-from`")
            .help("a prebuilt binary has no builder image; add the file with `file` instead")),
        }
    };
    let certs = builder_file(
        "certs",
        "certs-from",
        "/etc/ssl/certs/ca-certificates.crt",
        "CA bundle",
    );
    let mime = builder_file(
        "mime-types",
        "mime-types-from",
        "/etc/mime.types",
        "MIME table",
    );
    let zoneinfo = builder_file(
        "zoneinfo",
        "zoneinfo-from",
        "/usr/share/zoneinfo",
        "time zone database",
    );
    let (certs, mime_types, zoneinfo) = match (certs, mime, zoneinfo) {
        (Ok(c), Ok(m), Ok(z)) => (c, m, z),
        (c, m, z) => {
            diags.extend(c.err());
            diags.extend(m.err());
            diags.extend(z.err());
            return None;
        }
    };

    let files = acc
        .lists("file")
        .iter()
        .filter_map(|set| {
            let src = values::context_path(&set.args.first()?.0).ok()?;
            let dest = set.args.get(1)?.0.clone();
            let mode = set
                .args
                .get(2)
                .and_then(|(m, _)| values::mode(m).ok())
                .unwrap_or(0o644);
            Some(Spanned::new(ExtraFile { src, dest, mode }, set.span))
        })
        .collect();
    let mut ports: Vec<Spanned<model::Port>> = Vec::new();
    let mut seen_ports = BTreeSet::new();
    for set in acc.lists("port") {
        for (a, sp) in &set.args {
            if let Ok(p) = values::port(a)
                && seen_ports.insert(p)
            {
                ports.push(Spanned::new(p, *sp));
            }
        }
    }
    // Each path once, where it is first listed. Membership is hashed (a
    // list of 100,000 paths compared byte by byte in a tree was most of a
    // check), and the paths are moved, not copied.
    let listed: Vec<Arg> = acc
        .take_lists("volume")
        .into_iter()
        .flat_map(|set| set.args)
        .collect();
    let first: Vec<bool> = {
        let mut seen = HashSet::with_capacity(listed.len());
        listed
            .iter()
            .map(|(a, _)| seen.insert(a.as_str()))
            .collect()
    };
    let volumes: Vec<Spanned<String>> = listed
        .into_iter()
        .zip(first)
        .filter_map(|((a, sp), first)| first.then(|| Spanned::new(a, sp)))
        .collect();
    let user = acc
        .one("user")
        .and_then(|u| values::user(&u.node).ok().map(|v| Spanned::new(v, u.span)))
        .unwrap_or_else(|| spanned(User::NONROOT, header));
    let tmp = acc.flag("tmp").and_then(|(on, span)| on.then_some(span));
    let passwd = acc.single("passwd").and_then(|set| {
        // `passwd false` (or a bad value, reported) is no passwd; the key
        // alone or `true` the default name.
        let name = match set.args.first() {
            None => None,
            Some((a, _)) => values::passwd(a).ok()??,
        };
        let name = name.unwrap_or_else(|| model::Passwd::default_name(user.node).to_string());
        Some(Spanned::new(model::Passwd { name }, set.span))
    });
    let entrypoint = acc
        .args("entrypoint")
        .unwrap_or_else(|| spanned(vec![binary.node.clone()], header));
    let cmd = acc.args("cmd").filter(|c| !c.node.is_empty());

    Some(model::App {
        name: app.name.clone(),
        span: header,
        templates: chain[1..].iter().map(|b| b.name.node.clone()).collect(),
        build,
        platforms,
        image: Image {
            binary,
            certs,
            mime_types,
            tmp,
            passwd,
            zoneinfo,
            files,
            ports,
            volumes,
            workdir: acc.one("workdir"),
            user,
            entrypoint,
            cmd,
            env: acc.take_pairs("env"),
            labels: with_provided(acc.take_pairs("label"), &options.labels, header),
        },
        build_args,
        sbom: acc.flag("sbom").is_none_or(|(on, _)| on),
        kubernetes: model::Kubernetes::default(),
        params: BTreeMap::new(),
        strict: acc.flag("strict").is_some_and(|(on, _)| on),
        switches: BTreeMap::new(),
    })
}

/// The file's labels, then each label the driver provides (the OCI
/// revision and source of a git checkout) that the file does not set:
/// what the file says wins.
fn with_provided(
    mut labels: Vec<Spanned<(String, String)>>,
    provided: &BTreeMap<String, String>,
    at: Span,
) -> Vec<Spanned<(String, String)>> {
    for (k, v) in provided {
        if !labels.iter().any(|l| &l.node.0 == k) {
            labels.push(Spanned::new((k.clone(), v.clone()), at));
        }
    }
    labels
}
