//! Lowering: one checked app and one target platform to an LLB graph and
//! an OCI image config. This is the essay's multi-stage build, written as a
//! graph:
//!
//! 1. `builder`: the builder image, on the build platform (never emulated:
//!    Go cross-compiles). Its resolve mode is left to the daemon's default;
//!    the client picks how images are found (local store or registry).
//! 2. `deps` (optional; the context decides: see `model::Deps::step`,
//!    left out when a `deps-skip` path is there or one of its files is
//!    known to be absent, the files of a `deps-with` whose path is there
//!    instead of `deps`): only the dependency files of the context
//!    (`local.includepattern`, missing files are simply absent) are
//!    bind-mounted read-only at the build dir, and `deps-run` runs on the
//!    builder's root. Its root result (the module cache included) is a
//!    layer of its own: cached until those files change, and exported with
//!    registry caches. A read-only bind leaves no copy of the files in the
//!    root, and a deps command that writes into the build dir fails loudly
//!    instead of losing its writes. Build-env entries that use `TARGET*`
//!    variables are left out of this step: downloading dependencies does
//!    not depend on the target, so all targets share one dependency layer.
//! 3. `context`: the whole context minus `.dockerignore` patterns.
//! 4. `build`: on the deps result (or the builder), the context read-only at
//!    the build dir, cwd there, a scratch mount holding the output binary,
//!    the cache mounts, env = the builder image's env + build-env with the
//!    platform variables expanded for this target. Both steps also get
//!    what the client lends them for the run (`secret`, `ssh`): mounts and
//!    variables whose values never reach a layer or the definition.
//! 5. `image`: ONE file op from scratch (one layer): the workdir and the
//!    volumes (owned by the image user, so a non-root user can write its
//!    data; their parents by root), the binary (0755, 0:0), the CA bundle
//!    and MIME table from the builder image, extra context files.
//!
//! Source maps tie every op to the statements that caused it.

mod config;

use std::collections::BTreeMap;

use super::interp::expand_platform;
use super::model::{self, Build, SecretTarget, Sharing};
use super::shellwords;
use super::{Code, Diag, LowerOptions, Options, Platform, Sources, Span, Target};
use crate::llb::{
    CacheSharing, CopyOpts, Exec, FileAction, FileOp, Graph, LlbError, LocalOpts, Marshaler, Meta,
    Mount, MountKind, Output, Owner, SecretEnv, SourceFileInfo, SourceRange,
};

pub use config::image_config;

/// The local name of the build context, as BuildKit clients call it.
pub const CONTEXT: &str = "context";
/// `local.sharedkeyhint` of the full context.
pub const CONTEXT_KEY: &str = "context";
/// `local.sharedkeyhint` of the dependency files only: a distinct hint so
/// the daemon keeps both transfers cached side by side.
pub const DEPS_KEY: &str = "context-deps";

/// Lowers one app for one target platform.
#[allow(clippy::result_large_err)] // the signature is the compiler's contract
pub fn lower(
    app: &model::App,
    platform: &Platform,
    sources: &Sources,
    options: &Options,
    lower: &LowerOptions,
) -> Result<Target, Diag> {
    let mut l = Lowerer::new(app, sources, options, lower);
    let result = l.target(platform);
    let files = source_files(sources);
    target(
        app,
        platform,
        result,
        &mut Marshaler::new(&l.g),
        &files,
        lower.epoch,
    )
}

/// Lowers one app for each of `platforms`, in order: each target is what
/// `lower` gives for its platform alone. The steps that do not depend on
/// the target (the builder, the context, the dependency layer unless its
/// command names the target) are made and marshaled once for all of them.
#[allow(clippy::result_large_err)] // as `lower`
pub fn lower_each(
    app: &model::App,
    platforms: &[&Platform],
    sources: &Sources,
    options: &Options,
    lower: &LowerOptions,
) -> Vec<Result<Target, Diag>> {
    let mut l = Lowerer::new(app, sources, options, lower);
    let results: Vec<_> = platforms.iter().map(|p| l.target(p)).collect();
    let files = source_files(sources);
    let mut marshaler = Marshaler::new(&l.g);
    platforms
        .iter()
        .zip(results)
        .map(|(p, result)| target(app, p, result, &mut marshaler, &files, lower.epoch))
        .collect()
}

/// The definition of the app's context source alone: the very op
/// [`lower_each`] makes for it (same bytes, same digest), so a driver can
/// start the context transfer while it still resolves the builder image.
#[allow(clippy::result_large_err)] // as `lower`
pub fn context_definition(
    app: &model::App,
    sources: &Sources,
    options: &Options,
    lower: &LowerOptions,
) -> Result<Vec<u8>, Diag> {
    let mut l = Lowerer::new(app, sources, options, lower);
    let files = source_files(sources);
    l.context()
        .and_then(|ctx| Marshaler::new(&l.g).bytes(ctx, &files))
        .map_err(internal)
}

/// Every file, borrowed; marshaling embeds those the ops point into.
fn source_files(sources: &Sources) -> Vec<SourceFileInfo<'_>> {
    sources
        .iter()
        .map(|(_, f)| SourceFileInfo {
            filename: &f.name,
            data: f.text.as_bytes(),
            language: "scratch",
        })
        .collect()
}

/// One target from the result of its graph: the definition and the image
/// config.
#[allow(clippy::result_large_err)] // as `lower`
fn target(
    app: &model::App,
    platform: &Platform,
    result: Result<Output, LlbError>,
    marshaler: &mut Marshaler<'_>,
    files: &[SourceFileInfo<'_>],
    epoch: u64,
) -> Result<Target, Diag> {
    let definition = result
        .and_then(|out| marshaler.bytes(out, files))
        .map_err(internal)?;
    if definition.len() > MAX_DEFINITION_BYTES {
        return Err(definition_too_large(app, platform, definition.len()));
    }
    let config = image_config(app, platform, epoch)?;
    Ok(Target {
        app: app.name.node.clone(),
        platform: platform.clone(),
        definition,
        config,
    })
}

/// What a BuildKit daemon accepts in one gRPC message: grpc-go's default
/// receive limit, 4 MiB, which the Docker Engine's `/grpc` server (moby's
/// `api/server/router/grpc`, through 26.1 at least) and buildkitd before
/// v0.14 (the control API and the frontend gateway) keep. (BuildKit v0.14
/// raised its own servers to 16 MiB; scratchc holds to the smaller.)
pub const DAEMON_MAX_MESSAGE: usize = 4 << 20;
/// The largest definition sent: [`DAEMON_MAX_MESSAGE`] less room for the
/// rest of the request (the frontend attributes, exporter options).
/// Sources are capped at `sources::MAX_SOURCES_BYTES` (2 MiB) so their
/// text, which the source map embeds, leaves room for the ops.
pub const MAX_DEFINITION_BYTES: usize = DAEMON_MAX_MESSAGE - (64 << 10);

/// The error for a definition past [`MAX_DEFINITION_BYTES`]: said here,
/// with its size and the limit, rather than by the daemon's raw
/// "received message larger than max".
fn definition_too_large(app: &model::App, platform: &Platform, bytes: usize) -> Diag {
    use super::sources::human_bytes;
    Diag::new(
        Code::DefinitionTooLarge,
        format!(
            "the LLB definition of app `{}` for {platform} is {}, more than the {} a BuildKit daemon accepts in one request",
            app.name.node,
            human_bytes(bytes as u64),
            human_bytes(MAX_DEFINITION_BYTES as u64)
        ),
    )
    .at(app.name.span, "this app")
    .help("the definition holds every step and the text of the scratch files it points into; use fewer or smaller values (a list parameter used many times multiplies), or split the app")
}

fn internal(e: LlbError) -> Diag {
    Diag::new(
        Code::Internal,
        format!("internal error while lowering: {e}"),
    )
    .help("this is a bug in scratchc; please report it with the app.scratch that caused it")
}

/// Builds the graph of one target; returns it with its result output.
pub fn build_graph(
    app: &model::App,
    platform: &Platform,
    sources: &Sources,
    options: &Options,
    lower: &LowerOptions,
) -> Result<(Graph, Output), LlbError> {
    let mut l = Lowerer::new(app, sources, options, lower);
    let result = l.target(platform)?;
    Ok((l.g, result))
}

/// Where the final image's binary is copied from.
struct BinarySource {
    from: Output,
    path: String,
    spans: Vec<Span>,
}

/// Lowers the targets of one app into one graph.
struct Lowerer<'a> {
    g: Graph,
    app: &'a model::App,
    build: &'a Platform,
    sources: &'a Sources,
    lower: &'a LowerOptions,
    /// The steps every target shares, made by the first that needs them.
    builder: Option<Output>,
    context: Option<Output>,
    /// The dependency layer, when its command names no target variable.
    deps: Option<Output>,
}

impl<'a> Lowerer<'a> {
    fn new(
        app: &'a model::App,
        sources: &'a Sources,
        options: &'a Options,
        lower: &'a LowerOptions,
    ) -> Self {
        Lowerer {
            g: Graph::new(),
            app,
            build: &options.build_platform,
            sources,
            lower,
            builder: None,
            context: None,
            deps: None,
        }
    }

    fn meta(&self, name: String, spans: &[Span]) -> Meta {
        Meta {
            name: Some(name),
            ignore_cache: self.lower.no_cache,
            locations: spans.iter().map(|s| self.range(*s)).collect(),
        }
    }

    /// The lines a span covers (1-based, inclusive; a trailing newline does
    /// not count as a line of its own).
    fn range(&self, s: Span) -> SourceRange {
        let (start, _) = self.sources.line_col(s.file, s.start);
        let last = if s.end > s.start { s.end - 1 } else { s.start };
        let (end, _) = self.sources.line_col(s.file, last);
        let line = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        SourceRange {
            file: s.file,
            start_line: line(start),
            end_line: line(end.max(start)),
        }
    }

    fn expand(&self, s: &str, target: &Platform) -> String {
        expand_platform(s, target, self.build)
    }

    /// The graph of one target; returns its result, the image's filesystem.
    fn target(&mut self, target: &Platform) -> Result<Output, LlbError> {
        let app = self.app;
        let (binary_from, builder_root) = match &app.build {
            Build::Compile(c) => {
                let (out, builder) = self.compile(c, target)?;
                (out, Some(builder))
            }
            Build::Prebuilt { src } => (
                BinarySource {
                    from: self.context()?,
                    path: absolute(&src.node),
                    spans: vec![src.span],
                },
                None,
            ),
        };
        self.image(binary_from, builder_root, target)
    }

    /// The local source of the whole context, minus `.dockerignore`
    /// patterns.
    fn context(&mut self) -> Result<Output, LlbError> {
        if let Some(ctx) = self.context {
            return Ok(ctx);
        }
        let meta = self.meta(
            format!("[{}] context", self.app.name.node),
            &[self.app.span],
        );
        let ctx = self.g.local(CONTEXT, &self.context_opts(), meta)?;
        self.context = Some(ctx);
        Ok(ctx)
    }

    fn context_opts(&self) -> LocalOpts {
        LocalOpts {
            exclude: self.lower.context_excludes.clone(),
            shared_key_hint: Some(CONTEXT_KEY.to_string()),
            unique: self.lower.local_unique.clone(),
            ..Default::default()
        }
    }

    /// Step 1: the builder image, on the build platform.
    fn builder(&mut self, c: &model::Compile) -> Result<Output, LlbError> {
        if let Some(b) = self.builder {
            return Ok(b);
        }
        let reference = c.builder.node.to_string();
        let meta = self.meta(
            format!("[{}] builder {reference}", self.app.name.node),
            &[c.builder.span],
        );
        let builder = self.g.image(&reference, self.build.clone(), None, meta)?;
        self.builder = Some(builder);
        Ok(builder)
    }

    /// Steps 1 to 4; returns where the binary is and the builder's root.
    fn compile(
        &mut self,
        c: &model::Compile,
        target: &Platform,
    ) -> Result<(BinarySource, Output), LlbError> {
        let name = &self.app.name.node;
        let image_cfg = self.lower.builder_configs.get(&c.builder.node.to_string());
        let builder = self.builder(c)?;

        let base_env: Vec<String> = image_cfg.map(|i| i.env.clone()).unwrap_or_default();
        let user = image_cfg.and_then(|i| i.user.clone()).unwrap_or_default();
        let mut caches: Vec<Mount> = c
            .caches
            .iter()
            .map(|m| Mount {
                dest: m.node.path.clone(),
                kind: MountKind::Cache {
                    id: m.node.id.clone(),
                    sharing: match m.node.sharing {
                        Sharing::Shared => CacheSharing::Shared,
                        Sharing::Private => CacheSharing::Private,
                        Sharing::Locked => CacheSharing::Locked,
                    },
                },
            })
            .collect();

        // What the client lends both steps for their run: secret files and
        // agent sockets as mounts, secret variables, SSH_AUTH_SOCK.
        let lent = Lent::of(c);
        caches.extend(lent.mounts.iter().cloned());
        let mut root = builder;
        let step = c.deps.as_ref().and_then(|d| {
            Some((
                d,
                d.step(&self.lower.present_files, &self.lower.absent_files)?,
            ))
        });
        if let Some((deps, step)) = step {
            // A command that names no target variable is the same for every
            // target, and so is the layer.
            let shared = !deps.run.node.iter().any(|a| mentions_target(a));
            root = match self.deps {
                Some(out) if shared => out,
                _ => {
                    let meta = self.meta(
                        format!("[{name}] context: {}", shellwords::join(step.files)),
                        &[step.span],
                    );
                    let opts = LocalOpts {
                        include: step.files.to_vec(),
                        shared_key_hint: Some(DEPS_KEY.to_string()),
                        unique: self.lower.local_unique.clone(),
                        ..Default::default()
                    };
                    let files = self.g.local(CONTEXT, &opts, meta)?;
                    // Target-independent env only: one dependency layer for
                    // all targets.
                    let mut env_entries: Vec<(String, String)> = lent.env.clone();
                    env_entries.extend(
                        c.env
                            .iter()
                            .filter(|e| !mentions_target(&e.node.1))
                            .map(|e| (e.node.0.clone(), self.expand(&e.node.1, target))),
                    );
                    let mut mounts = root_and_source(root, &c.dir, files);
                    mounts.extend(caches.iter().cloned());
                    let args: Vec<String> = deps
                        .run
                        .node
                        .iter()
                        .map(|a| self.expand(a, target))
                        .collect();
                    let meta = self.meta(
                        format!("[{name}] deps: {}", shellwords::join(&args)),
                        &[deps.run.span],
                    );
                    let exec = Exec {
                        args,
                        env: merge_env(&base_env, &env_entries),
                        cwd: c.dir.clone(),
                        user: user.clone(),
                        mounts,
                        secret_env: lent.secret_env.clone(),
                        ..Default::default()
                    };
                    let outs = self.g.exec(exec, self.build.clone(), meta)?;
                    let out = outs.root().ok_or_else(|| LlbError::NoRootMount {
                        args: deps.run.node.join(" "),
                    })?;
                    if shared {
                        self.deps = Some(out);
                    }
                    out
                }
            };
        }

        let context = self.context()?;
        let (out_dir, out_file) = split_path(&c.out);
        let mut env_entries: Vec<(String, String)> = lent.env.clone();
        env_entries.extend(
            c.env
                .iter()
                .map(|e| (e.node.0.clone(), self.expand(&e.node.1, target))),
        );
        let mut mounts = root_and_source(root, &c.dir, context);
        mounts.push(Mount {
            dest: out_dir.clone(),
            kind: MountKind::Bind {
                source: None,
                selector: None,
                readonly: false,
            },
        });
        mounts.extend(caches);
        let args: Vec<String> = c.run.node.iter().map(|a| self.expand(a, target)).collect();
        let meta = self.meta(
            format!("[{name} {target}] build: {}", shellwords::join(&args)),
            &[c.run.span, self.app.span],
        );
        let exec = Exec {
            args,
            env: merge_env(&base_env, &env_entries),
            cwd: c.dir.clone(),
            user,
            mounts,
            secret_env: lent.secret_env,
            ..Default::default()
        };
        let outs = self.g.exec(exec, self.build.clone(), meta)?;
        let out = outs.mount(&out_dir).ok_or_else(|| LlbError::NoRootMount {
            args: c.run.node.join(" "),
        })?;
        Ok((
            BinarySource {
                from: out,
                path: format!("/{out_file}"),
                spans: vec![c.run.span],
            },
            builder,
        ))
    }

    /// Step 5: the final image's filesystem, one file op from scratch.
    fn image(
        &mut self,
        binary: BinarySource,
        builder: Option<Output>,
        target: &Platform,
    ) -> Result<Output, LlbError> {
        let img = &self.app.image;
        let name = &self.app.name.node;
        let mut spans = vec![self.app.span, img.binary.span];
        spans.extend(binary.spans.iter().copied());
        let mut actions = Vec::new();

        let user = img.user.node;
        spans.extend(img.volumes.iter().map(|v| v.span));
        spans.extend(img.workdir.iter().map(|w| w.span));
        // A writable /tmp first: a copy of scratch's empty root with mode
        // 1777 (a mkdir cannot set the sticky bit: BuildKit masks its mode
        // with 0777), owned by root.
        if let Some(span) = img.tmp {
            spans.push(span);
            actions.push(FileAction::Copy {
                from: None,
                src: "/".to_string(),
                dest: TMP.to_string(),
                opts: CopyOpts {
                    mode: Some(0o1777),
                    owner: Some(ROOT),
                    ..Default::default()
                },
            });
        }
        // Then the directories, each made alone, parents before children
        // (sorted paths), so no mkdir changes an existing one.
        for (path, (owner, mode)) in image_dirs(img) {
            actions.push(FileAction::Mkdir {
                path,
                mode,
                make_parents: false,
                owner: Some(owner),
            });
        }

        actions.push(FileAction::Copy {
            from: Some(binary.from),
            src: binary.path,
            dest: img.binary.node.clone(),
            opts: CopyOpts {
                mode: Some(0o755),
                owner: Some(ROOT),
                create_dest_path: true,
                follow_symlink: true,
                ..Default::default()
            },
        });
        if let Some(p) = &img.passwd {
            spans.push(p.span);
            for (path, text) in [
                (PASSWD, p.node.passwd_file(user)),
                (GROUP, p.node.group_file(user)),
            ] {
                actions.push(FileAction::Mkfile {
                    path: path.to_string(),
                    mode: 0o644,
                    data: text.into_bytes(),
                    owner: Some(ROOT),
                });
            }
        }
        for f in [&img.certs, &img.mime_types, &img.zoneinfo]
            .into_iter()
            .flatten()
        {
            spans.push(f.span);
            if let Some(b) = builder {
                actions.push(FileAction::Copy {
                    from: Some(b),
                    src: f.node.src.clone(),
                    dest: f.node.dest.clone(),
                    opts: CopyOpts {
                        owner: Some(ROOT),
                        create_dest_path: true,
                        follow_symlink: true,
                        ..Default::default()
                    },
                });
            }
        }
        if !img.files.is_empty() {
            let meta = self.meta(format!("[{name}] context"), &[self.app.span]);
            // Same bytes as the build's context source: marshaling merges
            // them. A node of its own all the same: a prebuilt binary comes
            // from that source too, and this op has each as an input.
            let ctx = self.g.local(CONTEXT, &self.context_opts(), meta)?;
            for f in &img.files {
                spans.push(f.span);
                actions.push(FileAction::Copy {
                    from: Some(ctx),
                    src: absolute(&f.node.src),
                    dest: f.node.dest.clone(),
                    opts: CopyOpts {
                        mode: Some(f.node.mode),
                        owner: Some(ROOT),
                        create_dest_path: true,
                        dir_copy_contents: true,
                        ..Default::default()
                    },
                });
            }
        }
        let meta = self.meta(
            format!("[{name} {target}] image: {}", img.binary.node),
            &spans,
        );
        self.g.file(
            FileOp {
                base: None,
                actions,
                timestamp: Some(epoch_nanos(self.lower.epoch)),
            },
            meta,
        )
    }
}

const ROOT: Owner = Owner { uid: 0, gid: 0 };
const TMP: &str = "/tmp";
const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

/// The directories of the image with their owner and mode, sorted (so a
/// parent comes before its children): the user's own (workdir, volumes,
/// the home of `passwd`), and their parents owned by root; `/etc` for
/// `passwd`. `/` and the `/tmp` of `tmp` (made apart) are left out.
pub fn image_dirs(img: &model::Image) -> BTreeMap<String, (Owner, u32)> {
    let user = img.user.node;
    let user_owner = Owner {
        uid: user.uid,
        gid: user.gid.unwrap_or(0),
    };
    let mut leaves: BTreeMap<String, (Owner, u32)> = BTreeMap::new();
    for v in &img.volumes {
        leaves.insert(clean_dir(&v.node), (user_owner, 0o755));
    }
    if let Some(w) = &img.workdir {
        leaves.insert(clean_dir(&w.node), (user_owner, 0o755));
    }
    if let Some(p) = &img.passwd {
        // Private, as useradd makes it; a workdir or volume there keeps it.
        leaves
            .entry(p.node.home(user))
            .or_insert((user_owner, 0o700));
    }
    let mut dirs = BTreeMap::new();
    for l in leaves.keys() {
        let mut p = l.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if p.is_empty() {
                break;
            }
            dirs.insert(p.to_string(), (ROOT, 0o755));
        }
    }
    if img.passwd.is_some() {
        dirs.insert("/etc".to_string(), (ROOT, 0o755));
    }
    dirs.extend(leaves);
    dirs.remove("/");
    if img.tmp.is_some() {
        dirs.remove(TMP);
    }
    dirs
}

/// What the client lends the builder steps for their run only: its
/// secrets and SSH agents. Only ids and places are in the definition;
/// BuildKit asks the session for the values while the step runs and
/// keeps them out of every layer and of the cache key.
struct Lent {
    mounts: Vec<Mount>,
    secret_env: Vec<SecretEnv>,
    /// `SSH_AUTH_SOCK` of the first agent (a `build-env` may override it).
    env: Vec<(String, String)>,
}

impl Lent {
    fn of(c: &model::Compile) -> Lent {
        let mut mounts = Vec::new();
        let mut secret_env = Vec::new();
        for s in &c.secrets {
            let optional = !s.node.required;
            match &s.node.target {
                SecretTarget::File(path) => mounts.push(Mount {
                    dest: path.clone(),
                    kind: MountKind::Secret {
                        id: s.node.id.clone(),
                        uid: 0,
                        gid: 0,
                        mode: 0o400,
                        optional,
                    },
                }),
                SecretTarget::Env(name) => secret_env.push(SecretEnv {
                    name: name.clone(),
                    id: s.node.id.clone(),
                    optional,
                }),
            }
        }
        for a in &c.ssh {
            mounts.push(Mount {
                dest: a.node.path.clone(),
                kind: MountKind::Ssh {
                    id: a.node.id.clone(),
                    uid: 0,
                    gid: 0,
                    mode: 0o600,
                    optional: false,
                },
            });
        }
        let env = c
            .ssh
            .first()
            .map(|a| ("SSH_AUTH_SOCK".to_string(), a.node.path.clone()))
            .into_iter()
            .collect();
        Lent {
            mounts,
            secret_env,
            env,
        }
    }
}

/// SOURCE_DATE_EPOCH as the Unix nanoseconds of a file op's timestamp.
fn epoch_nanos(seconds: u64) -> i64 {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .unwrap_or(i64::MAX)
}

/// Whether a build-env value differs per target platform.
fn mentions_target(v: &str) -> bool {
    const TARGET: [&str; 4] = ["TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"];
    v.match_indices("${")
        .any(|(i, _)| TARGET.iter().any(|t| v[i + 2..].starts_with(t)))
}

/// `base` (`K=V` entries) with `extra` applied: a key already there gets
/// the new value in place, new keys are appended in order.
pub fn merge_env(base: &[String], extra: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(base.len() + extra.len());
    out.extend_from_slice(base);
    for (k, v) in extra {
        let entry = [k.as_str(), "=", v.as_str()].concat();
        // `K=…` or a bare `K`, without building the `K=` prefix.
        let same_key = |e: &String| {
            e.strip_prefix(k.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('='))
        };
        match out.iter_mut().find(|e| same_key(e)) {
            Some(e) => *e = entry,
            None => out.push(entry),
        }
    }
    out
}

/// An exec's first two mounts: `root` writable at `/` and `source`
/// read-only at `dir`.
fn root_and_source(root: Output, dir: &str, source: Output) -> Vec<Mount> {
    vec![
        Mount {
            dest: "/".to_string(),
            kind: MountKind::Bind {
                source: Some(root),
                selector: None,
                readonly: false,
            },
        },
        Mount {
            dest: dir.to_string(),
            kind: MountKind::Bind {
                source: Some(source),
                selector: None,
                readonly: true,
            },
        },
    ]
}

/// `/out/hello` into (`/out`, `hello`); a file at the root uses `/out`.
fn split_path(p: &str) -> (String, String) {
    match p.trim_end_matches('/').rsplit_once('/') {
        Some((dir, file)) if !dir.is_empty() => (dir.to_string(), file.to_string()),
        Some((_, file)) => ("/out".to_string(), file.to_string()),
        None => ("/out".to_string(), p.to_string()),
    }
}

fn absolute(p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

fn clean_dir(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".to_string()
    } else {
        absolute(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_merges_in_place() {
        let base = vec!["PATH=/a".to_string(), "GOPATH=/go".to_string()];
        let extra = vec![
            ("GOPATH".to_string(), "/x".to_string()),
            ("CGO_ENABLED".to_string(), "0".to_string()),
        ];
        assert_eq!(
            merge_env(&base, &extra),
            vec!["PATH=/a", "GOPATH=/x", "CGO_ENABLED=0"]
        );
    }

    #[test]
    fn paths() {
        assert_eq!(split_path("/out/hello"), ("/out".into(), "hello".into()));
        assert!(mentions_target("${TARGETVARIANT#v}"));
        assert!(!mentions_target("${BUILDARCH}"));
        assert_eq!(clean_dir("/data/"), "/data");
        let t = Platform::new("linux", "arm", Some("v7"));
        let b = Platform::linux_amd64();
        assert_eq!(
            expand_platform("GOARM=${TARGETVARIANT#v} $$x ${BUILDARCH}", &t, &b),
            "GOARM=7 $x amd64"
        );
    }
}
