//! The equivalent multi-stage Dockerfile of a file's apps, for review and
//! for migrating away: `docker buildx build --target APP` on it builds
//! the image the LLB of `lower` builds, for every platform (the platform
//! variables keep their Dockerfile meaning, `ARG TARGETOS` ...). Each app
//! is two stages: `APP_build` (the build, on the build platform) and
//! `APP` (the image, `FROM scratch`); stage names cannot collide, as app
//! names hold no `_`.
//!
//! Build arguments stay `ARG`s: the driver checks the program a second
//! time with each argument set to its [`marker`], and every marker found
//! where a Dockerfile expands variables (`FROM`, `ENV`, `LABEL`, a `RUN`
//! in shell form) is written as `${NAME}`, declared by a global `ARG
//! NAME=<value in force>` and an `ARG NAME` in the stage. A marker found
//! where a Dockerfile cannot expand (an exec-form `ENTRYPOINT`/`CMD`, a
//! path of `COPY`/`WORKDIR`/`VOLUME`, `EXPOSE`, `USER`) is reported in
//! [`Rendered::baked`], and the driver renders again with that argument
//! written as its value (see `cli::dockerfile`).
//!
//! Differences that Dockerfiles force, on purpose:
//! - the dependency files are `COPY`ed (a `[x]` wildcard on their last
//!   character makes a missing file skipped, as in the LLB);
//! - the binary is written to `/out` in the build stage (a `WORKDIR /out`
//!   creates it), not to a scratch mount;
//! - the workdir and volumes are made in the build stage under `/image`
//!   and copied over with their owner, since a scratch stage has no shell.
//!
//! The image config differs from scratchc's only where a Dockerfile
//! cannot follow (docs/cli.md, "scratchc dockerfile"): `FROM scratch`
//! sets `PATH` in `Env` and `WorkingDir` `/`, the history has an entry
//! per instruction, and the files are several layers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::interp::PLATFORM_VARS;
use super::model::{self, Build, Sharing};
use crate::llb::Owner;

/// The text that stands for build argument `name` in a program checked
/// for the Dockerfile: plain enough to pass every free-text check, and
/// no real value holds it.
pub fn marker(name: &str) -> String {
    format!("__SCRATCHC_ARG_{name}__")
}

/// The build arguments of a render.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// Every declared argument with its value in force: the `ARG`
    /// defaults, and what a marker not kept live is written as.
    pub values: BTreeMap<String, String>,
    /// The arguments written as `${NAME}` where a Dockerfile expands them.
    pub live: BTreeSet<String>,
    /// The context files found and not found (`LowerOptions::present_files`
    /// and `absent_files`): they decide the dependency step as in the LLB.
    pub present: BTreeSet<String>,
    pub absent: BTreeSet<String>,
}

/// A rendered Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// Live arguments found where a Dockerfile cannot expand them: render
    /// again with these not live.
    pub baked: BTreeSet<String>,
}

/// One piece of a model text: literal text, or a live argument.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Arg(String),
}

/// The state of one render: the arguments, which live ones a stage used,
/// and which had to be baked.
struct Writer<'a> {
    args: &'a Args,
    used: BTreeSet<String>,
    baked: BTreeSet<String>,
}

impl Writer<'_> {
    /// Splits `s` at markers: a live argument's marker becomes a piece of
    /// its own, another's its value. `model_dollars`: the text is a model
    /// text where `$$` is a literal `$` (build steps), so a value put in
    /// is escaped the same way.
    fn pieces(&mut self, s: &str, model_dollars: bool) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(at) = rest.find("__SCRATCHC_ARG_") {
            let after = &rest[at + "__SCRATCHC_ARG_".len()..];
            // The longest declared name followed by the closing `__`
            // (names may hold `_`; markers may stand side by side).
            let found = self
                .args
                .values
                .iter()
                .filter(|(n, _)| {
                    after.starts_with(n.as_str()) && after[n.len()..].starts_with("__")
                })
                .max_by_key(|(n, _)| n.len());
            let Some((name, value)) = found else {
                text.push_str(&rest[..at + 1]);
                rest = &rest[at + 1..];
                continue;
            };
            let end = name.len();
            text.push_str(&rest[..at]);
            if self.args.live.contains(name) {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Arg(name.clone()));
            } else if model_dollars {
                text.push_str(&value.replace('$', "$$"));
            } else {
                text.push_str(value);
            }
            rest = &after[end + 2..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            out.push(Piece::Text(text));
        }
        out
    }

    /// `s` where no variable can be expanded: live arguments in it are
    /// written as their values and reported as baked.
    fn literal(&mut self, s: &str) -> String {
        let mut out = String::new();
        for p in self.pieces(s, false) {
            match p {
                Piece::Text(t) => out.push_str(&t),
                Piece::Arg(name) => {
                    out.push_str(&self.args.values[&name]);
                    self.baked.insert(name);
                }
            }
        }
        out
    }

    /// A double-quoted Dockerfile (and shell) word. `model_dollars`: a
    /// model text whose `${VAR}` platform references stay live and whose
    /// `$$` is a literal `$`; otherwise every `$` is literal. Live
    /// arguments are `${NAME}`.
    fn dquote(&mut self, s: &str, model_dollars: bool) -> String {
        let mut out = String::from("\"");
        for p in self.pieces(s, model_dollars) {
            match p {
                Piece::Text(t) => out.push_str(&escape(&t, model_dollars)),
                Piece::Arg(name) => {
                    let _ = write!(out, "${{{name}}}");
                    self.used.insert(name);
                }
            }
        }
        out.push('"');
        out
    }

    /// A path as one Dockerfile word (quoted only when it needs to be).
    fn word(&mut self, s: &str) -> String {
        word(&self.literal(s))
    }

    /// A JSON array of literal strings (exec form, `VOLUME`).
    fn json_list(&mut self, items: &[String]) -> String {
        let items: Vec<String> = items.iter().map(|i| self.literal(i)).collect();
        json(&items)
    }

    /// Whether `s` holds a live argument.
    fn has_live(&mut self, s: &str, model_dollars: bool) -> bool {
        self.pieces(s, model_dollars)
            .iter()
            .any(|p| matches!(p, Piece::Arg(_)))
    }

    /// A RUN command: JSON exec form when nothing is to be expanded (no
    /// shell involved); otherwise a shell form, so the shell expands the
    /// platform variables and arguments from the stage's ARGs.
    fn run_args(&mut self, args: &[String]) -> String {
        let shell = args
            .iter()
            .any(|a| has_platform_var(a) || self.has_live(a, true));
        if shell {
            args.iter()
                .map(|a| self.dquote(a, true))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            let plain: Vec<String> = args
                .iter()
                .map(|a| self.literal(a).replace("$$", "$"))
                .collect();
            json(&plain)
        }
    }

    /// `${NAME}` for a live argument in an image reference (`FROM`).
    fn image(&mut self, s: &str) -> String {
        let mut out = String::new();
        for p in self.pieces(s, false) {
            match p {
                Piece::Text(t) => out.push_str(&t),
                Piece::Arg(name) => {
                    let _ = write!(out, "${{{name}}}");
                    self.used.insert(name);
                }
            }
        }
        out
    }

    /// The `ARG` line of a stage: the live arguments its body used.
    fn stage_args(&mut self) -> Option<String> {
        let used = std::mem::take(&mut self.used);
        (!used.is_empty())
            .then(|| format!("ARG {}\n", used.into_iter().collect::<Vec<_>>().join(" ")))
    }
}

/// Renders the Dockerfile of `apps` (of `file`), one pair of stages each.
pub fn render(apps: &[&model::App], args: &Args, file: &str) -> Rendered {
    let mut w = Writer {
        args,
        used: BTreeSet::new(),
        baked: BTreeSet::new(),
    };
    let mut stages = String::new();
    for app in apps {
        stages.push_str(&app_stages(&mut w, app));
    }
    let mut d = String::new();
    let names: Vec<&str> = apps.iter().map(|a| a.name.node.as_str()).collect();
    let _ = writeln!(
        d,
        "# Generated by scratchc from {file} ({} {}): a stage per app.",
        if names.len() == 1 { "app" } else { "apps" },
        names.join(", ")
    );
    d.push_str("# Build an app (SOURCE_DATE_EPOCH, as scratchc sets it, stamps its config):\n");
    for app in apps {
        let platforms: Vec<String> = app.platforms.iter().map(|p| p.node.to_string()).collect();
        let _ = writeln!(
            d,
            "#   docker buildx build --target {0} --platform {1} -t {0} .",
            app.name.node,
            platforms.join(",")
        );
    }
    let live: Vec<&String> = args.live.iter().filter(|a| !w.baked.contains(*a)).collect();
    if !live.is_empty() {
        d.push_str("# Build arguments, with the values scratchc would use:\n");
        for name in live {
            let _ = writeln!(d, "ARG {name}={}", escape_default(&args.values[name]));
        }
    }
    d.push_str(&stages);
    Rendered {
        text: d,
        baked: w.baked,
    }
}

/// The two stages of one app.
fn app_stages(w: &mut Writer<'_>, app: &model::App) -> String {
    let name = &app.name.node;
    let build_stage = format!("{name}_build");
    let img = &app.image;
    let dirs = image_dirs(img);
    let mut d = String::new();
    let binary_src = match &app.build {
        Build::Compile(c) => {
            compile_stage(w, &mut d, c, &dirs, &build_stage);
            Some(c.out.clone())
        }
        Build::Prebuilt { .. } => {
            if !dirs.is_empty() {
                // Only for the directories; any small image with a shell works.
                let _ = writeln!(
                    d,
                    "\nFROM --platform=$BUILDPLATFORM docker.io/library/busybox:latest AS {build_stage}"
                );
                dirs_run(w, &mut d, &dirs);
            }
            None
        }
    };

    let mut body = String::new();
    if !dirs.is_empty() {
        let _ = writeln!(body, "COPY --from={build_stage} /image/ /");
    }
    match (&app.build, binary_src) {
        (Build::Prebuilt { src }, _) => {
            let (src, dest) = (w.word(&src.node), w.word(&img.binary.node));
            let _ = writeln!(body, "COPY --chown=0:0 --chmod=0755 {src} {dest}");
        }
        (_, Some(out)) => {
            let (src, dest) = (w.word(&out), w.word(&img.binary.node));
            let _ = writeln!(
                body,
                "COPY --from={build_stage} --chown=0:0 --chmod=0755 {src} {dest}"
            );
        }
        _ => {}
    }
    if let Some(p) = &img.passwd {
        let user = img.user.node;
        for (path, text) in [
            ("/etc/passwd", p.node.passwd_file(user)),
            ("/etc/group", p.node.group_file(user)),
        ] {
            let _ = write!(
                body,
                "COPY --chown=0:0 --chmod=0644 <<EOF {path}\n{text}EOF\n"
            );
        }
    }
    if matches!(app.build, Build::Compile(_)) {
        for f in [&img.certs, &img.mime_types, &img.zoneinfo]
            .into_iter()
            .flatten()
        {
            let (src, dest) = (w.word(&f.node.src), w.word(&f.node.dest));
            let _ = writeln!(body, "COPY --from={build_stage} --chown=0:0 {src} {dest}");
        }
    }
    for f in &img.files {
        let (src, dest) = (w.word(&f.node.src), w.word(&f.node.dest));
        let _ = writeln!(
            body,
            "COPY --chown=0:0 --chmod={:04o} {src} {dest}",
            f.node.mode
        );
    }
    if !img.ports.is_empty() {
        let ports: Vec<String> = img
            .ports
            .iter()
            .map(|p| w.literal(&p.node.to_string()))
            .collect();
        let _ = writeln!(body, "EXPOSE {}", ports.join(" "));
    }
    if !img.volumes.is_empty() {
        let vols: Vec<String> = img.volumes.iter().map(|v| v.node.clone()).collect();
        let _ = writeln!(body, "VOLUME {}", w.json_list(&vols));
    }
    if let Some(wd) = &img.workdir {
        let _ = writeln!(body, "WORKDIR {}", w.word(&wd.node));
    }
    let _ = writeln!(body, "USER {}", w.literal(&img.user.node.to_string()));
    if !img.env.is_empty() {
        let kv: Vec<String> = img
            .env
            .iter()
            .map(|e| format!("{}={}", e.node.0, w.dquote(&e.node.1, false)))
            .collect();
        let _ = writeln!(body, "ENV {}", kv.join(" "));
    }
    for l in &img.labels {
        let (k, v) = (w.dquote(&l.node.0, false), w.dquote(&l.node.1, false));
        let _ = writeln!(body, "LABEL {k}={v}");
    }
    let _ = writeln!(body, "ENTRYPOINT {}", w.json_list(&img.entrypoint.node));
    if let Some(cmd) = &img.cmd {
        let _ = writeln!(body, "CMD {}", w.json_list(&cmd.node));
    }
    let _ = writeln!(d, "\nFROM scratch AS {name}");
    if let Some(a) = w.stage_args() {
        d.push_str(&a);
    }
    d.push_str(&body);
    d
}

fn compile_stage(
    w: &mut Writer<'_>,
    d: &mut String,
    c: &model::Compile,
    dirs: &[(String, Owner, u32)],
    stage: &str,
) {
    let image = w.image(&c.builder.node.to_string());
    // The FROM line's arguments come from the global ARGs; the stage's
    // own ARG line is for its body.
    w.used.clear();
    let _ = writeln!(d, "\nFROM --platform=$BUILDPLATFORM {image} AS {stage}");
    let used: Vec<&str> = PLATFORM_VARS
        .iter()
        .copied()
        .filter(|v| {
            let uses = |s: &str| s.contains(&format!("${{{v}"));
            c.env.iter().any(|e| uses(&e.node.1))
                || c.run.node.iter().any(|a| uses(a))
                || c.deps
                    .as_ref()
                    .is_some_and(|x| x.run.node.iter().any(|a| uses(a)))
        })
        .collect();
    let mut args: Vec<&str> = vec!["TARGETOS", "TARGETARCH", "TARGETVARIANT"];
    for v in used {
        if !args.contains(&v) {
            args.push(v);
        }
    }
    let _ = writeln!(d, "ARG {}", args.join(" "));
    let mut body = String::new();
    dirs_run(w, &mut body, dirs);
    let (out_dir, _) = c.out.rsplit_once('/').unwrap_or(("/out", ""));
    let out_dir = if out_dir.is_empty() { "/" } else { out_dir };
    let _ = writeln!(
        body,
        "# The build writes the binary here.\nWORKDIR {}",
        w.word(out_dir)
    );
    let _ = writeln!(body, "WORKDIR {}", w.word(&c.dir));
    let (target_env, plain_env): (Vec<_>, Vec<_>) = c
        .env
        .iter()
        .map(|e| &e.node)
        .partition(|(_, v)| mentions_target(v));
    env_line(w, &mut body, &plain_env);
    let mut caches: String = c
        .caches
        .iter()
        .map(|m| {
            let sharing = match m.node.sharing {
                Sharing::Shared => "",
                Sharing::Private => ",sharing=private",
                Sharing::Locked => ",sharing=locked",
            };
            format!(
                "--mount=type=cache,target={},id={}{sharing} ",
                w.literal(&m.node.path),
                w.literal(&m.node.id)
            )
        })
        .collect();
    // What the client lends the steps: secrets and SSH agents.
    for s in &c.secrets {
        let required = if s.node.required { ",required" } else { "" };
        let place = match &s.node.target {
            model::SecretTarget::File(t) => format!("target={t}"),
            model::SecretTarget::Env(e) => format!("env={e}"),
        };
        caches.push_str(&format!(
            "--mount=type=secret,id={},{place}{required} ",
            s.node.id
        ));
    }
    for a in &c.ssh {
        caches.push_str(&format!(
            "--mount=type=ssh,id={},target={},required ",
            a.node.id, a.node.path
        ));
    }
    let step = c
        .deps
        .as_ref()
        .and_then(|x| Some((x, x.step(&w.args.present, &w.args.absent)?)));
    if let Some((deps, step)) = step {
        // A pattern in a directory (`**/go.mod`) matches files in many
        // directories, and COPY puts them all in one: only the whole
        // context keeps the layout (the LLB copies exactly those files).
        let spread: Vec<&str> = step
            .files
            .iter()
            .filter(|f| {
                f.rsplit_once('/')
                    .is_some_and(|(dir, _)| dir.contains(['*', '?', '[']))
            })
            .map(String::as_str)
            .collect();
        if spread.is_empty() {
            // Grouped by directory: COPY flattens several sources into one dest.
            let mut by_dir: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for f in step.files {
                let f = w.literal(f);
                let dir = f
                    .rsplit_once('/')
                    .map_or(String::new(), |(p, _)| format!("{p}/"));
                by_dir.entry(dir).or_default().push(optional(&f));
            }
            for (dir, files) in by_dir {
                let _ = writeln!(body, "COPY {} ./{}", files.join(" "), dir);
            }
        } else {
            let _ = writeln!(
                body,
                "# COPY cannot keep the directories of {}: the whole context.\nCOPY . .",
                spread.join(" ")
            );
        }
        if let Some(first) = c.ssh.first() {
            let _ = writeln!(body, "ENV SSH_AUTH_SOCK={}", first.node.path);
        }
        let _ = writeln!(body, "RUN {caches}{}", w.run_args(&deps.run.node));
    } else if let Some(first) = c.ssh.first() {
        let _ = writeln!(body, "ENV SSH_AUTH_SOCK={}", first.node.path);
    }
    env_line(w, &mut body, &target_env);
    body.push_str("COPY . .\n");
    let _ = writeln!(body, "RUN {caches}{}", w.run_args(&c.run.node));
    if let Some(a) = w.stage_args() {
        d.push_str(&a);
    }
    d.push_str(&body);
}

/// The directories of the final image that a `mkdir -p` of their parents
/// would not make as they are (root's, 0755): the user's own (workdir,
/// volumes, home) and /tmp, with owner and mode, sorted. The same set as
/// the LLB's ([`super::lower::image_dirs`]).
fn image_dirs(img: &model::Image) -> Vec<(String, Owner, u32)> {
    let mut dirs: Vec<(String, Owner, u32)> = super::lower::image_dirs(img)
        .into_iter()
        .filter(|(_, (owner, mode))| *owner != ROOT || *mode != 0o755)
        .map(|(p, (owner, mode))| (p, owner, mode))
        .collect();
    if img.tmp.is_some() {
        dirs.push(("/tmp".to_string(), ROOT, 0o1777));
        dirs.sort_by(|a, b| a.0.cmp(&b.0));
    }
    dirs
}

const ROOT: Owner = Owner { uid: 0, gid: 0 };

/// The build-stage `RUN` that makes the image's directories under
/// `/image`, with their owners and modes.
fn dirs_run(w: &mut Writer<'_>, d: &mut String, dirs: &[(String, Owner, u32)]) {
    if dirs.is_empty() {
        return;
    }
    let mut path = |p: &str| word(&format!("/image{}", w.literal(p)));
    let all: Vec<String> = dirs.iter().map(|(p, _, _)| path(p)).collect();
    let mut run = format!("RUN mkdir -p {}", all.join(" "));
    let mut by_owner: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut by_mode: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for (p, owner, mode) in dirs {
        if *owner != ROOT {
            by_owner
                .entry(format!("{}:{}", owner.uid, owner.gid))
                .or_default()
                .push(path(p));
        }
        if *mode != 0o755 {
            by_mode.entry(*mode).or_default().push(path(p));
        }
    }
    for (owner, paths) in by_owner {
        let _ = write!(run, " && chown {owner} {}", paths.join(" "));
    }
    for (mode, paths) in by_mode {
        let _ = write!(run, " && chmod {mode:o} {}", paths.join(" "));
    }
    let _ = writeln!(
        d,
        "# The image's own directories, with their owners and modes.\n{run}"
    );
}

fn env_line(w: &mut Writer<'_>, d: &mut String, env: &[&(String, String)]) {
    if env.is_empty() {
        return;
    }
    let kv: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k}={}", w.dquote(v, true)))
        .collect();
    let _ = writeln!(d, "ENV {}", kv.join(" "));
}

fn mentions_target(v: &str) -> bool {
    ["TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"]
        .iter()
        .any(|t| v.contains(&format!("${{{t}")))
}

/// Whether a model text holds a platform variable (`$$` is a literal `$`).
fn has_platform_var(s: &str) -> bool {
    s.replace("$$", "").contains("${")
}

/// `go.mod` as `go.mo[d]`: a wildcard, so COPY skips it when missing.
fn optional(f: &str) -> String {
    let mut chars: Vec<char> = f.chars().collect();
    match chars.pop() {
        Some(c) if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' => {
            let head: String = chars.into_iter().collect();
            format!("{head}[{c}]")
        }
        _ => f.to_string(),
    }
}

/// The inside of a double-quoted word. With `vars`, `${VAR}` platform
/// references stay live and `$$` is a literal `$`; otherwise every `$` is
/// literal.
fn escape(s: &str, vars: bool) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if vars && rest.starts_with("$$") {
            out.push_str("\\$");
            rest = &rest[2..];
            continue;
        }
        if vars && rest.starts_with("${") {
            out.push('$');
            rest = &rest[1..];
            continue;
        }
        match c {
            '"' | '\\' | '$' | '`' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// An `ARG` default: bare when it is a plain word, else double-quoted.
fn escape_default(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c))
    {
        v.to_string()
    } else {
        format!("\"{}\"", escape(v, false))
    }
}

/// A path as one Dockerfile word (quoted only when it needs to be).
fn word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        json(&[s])
    }
}

fn json<S: serde::Serialize + ?Sized>(v: &S) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(args: &Args) -> Writer<'_> {
        Writer {
            args,
            used: BTreeSet::new(),
            baked: BTreeSet::new(),
        }
    }

    #[test]
    fn quoting() {
        let args = Args::default();
        let mut w = writer(&args);
        assert_eq!(optional("go.sum"), "go.su[m]");
        assert_eq!(
            w.dquote("a${TARGETOS}$$b\"", true),
            "\"a${TARGETOS}\\$b\\\"\""
        );
        assert_eq!(w.dquote("x$y", false), "\"x\\$y\"");
        assert_eq!(
            w.run_args(&["go".into(), "a$$b".into()]),
            "[\"go\",\"a$b\"]"
        );
        assert_eq!(word("/usr/bin/x"), "/usr/bin/x");
        assert_eq!(word("/a b"), "[\"/a b\"]");
        assert_eq!(escape_default("1.2.3"), "1.2.3");
        assert_eq!(escape_default("a b$"), "\"a b\\$\"");
        assert_eq!(escape_default(""), "\"\"");
    }

    #[test]
    fn markers_become_args_where_a_dockerfile_expands_them() {
        let args = Args {
            values: BTreeMap::from([
                ("VERSION".to_string(), "1.$2".to_string()),
                ("GO_VER".to_string(), "1.24".to_string()),
            ]),
            live: BTreeSet::from(["VERSION".to_string()]),
            ..Args::default()
        };
        let mut w = writer(&args);
        let m = marker("VERSION");
        assert_eq!(
            w.run_args(&["go".into(), format!("-X main.v={m}")]),
            "\"go\" \"-X main.v=${VERSION}\""
        );
        assert_eq!(w.dquote(&format!("v{m}"), false), "\"v${VERSION}\"");
        assert_eq!(
            w.image(&format!("golang:{}", marker("GO_VER"))),
            "golang:1.24"
        );
        assert_eq!(w.stage_args().as_deref(), Some("ARG VERSION\n"));
        // A value not kept live is written as it is, escaped for its place.
        assert_eq!(
            w.dquote(&format!("go{}", marker("GO_VER")), true),
            "\"go1.24\""
        );
        assert!(w.baked.is_empty());
        // Where nothing expands: the value, and the argument is reported.
        assert_eq!(w.word(&format!("/srv/{m}")), "[\"/srv/1.$2\"]");
        assert_eq!(w.baked, BTreeSet::from(["VERSION".to_string()]));
        // Not a marker: left alone.
        assert_eq!(
            w.literal("__SCRATCHC_ARG_NOPE__ __SCRATCHC_ARG_x"),
            "__SCRATCHC_ARG_NOPE__ __SCRATCHC_ARG_x"
        );
        // Side by side.
        assert_eq!(
            w.dquote(&format!("{m}{}", marker("GO_VER")), false),
            "\"${VERSION}1.24\""
        );
    }
}
