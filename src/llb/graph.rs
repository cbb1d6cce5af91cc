//! A typed LLB graph under construction. Nodes are appended, never removed,
//! and may only point at nodes added before them, so the graph is acyclic by
//! construction. Marshaling (`super::marshal`) turns it into `pb.Definition`.

use std::collections::BTreeMap;

use crate::platform::Platform;

/// Index of a node in its [`Graph`].
pub type NodeId = usize;

/// One output of a node: a filesystem. Sources and file/merge ops have one
/// output (0); an exec has one per writable bind mount, in mount order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Output {
    pub node: NodeId,
    pub index: u32,
}

/// Lines of a source file that caused a node (1-based, inclusive), for the
/// definition's source map. `file` is the index in the source infos.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceRange {
    pub file: usize,
    pub start_line: u32,
    pub end_line: u32,
}

/// Per-node metadata: not part of the op bytes, so not of the digest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// The name shown in progress output (`llb.customname`).
    pub name: Option<String>,
    /// Run again even when cached (`--no-cache`).
    pub ignore_cache: bool,
    /// Where in the sources this node comes from.
    pub locations: Vec<SourceRange>,
}

/// How a docker-image source is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveMode {
    /// Registry first, the local store as a fallback (daemon-dependent).
    Default,
    /// Always contact the registry.
    Pull,
    /// Prefer the local store.
    Local,
}

impl ResolveMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResolveMode::Default => "default",
            ResolveMode::Pull => "pull",
            ResolveMode::Local => "local",
        }
    }
}

/// Filters of a `local://` source. Patterns use `.dockerignore` syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalOpts {
    /// Only these paths (parents are kept); empty means everything.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub follow_paths: Vec<String>,
    /// Separates the daemon's transfer caches of differently filtered
    /// copies of the same directory, so they do not evict each other.
    pub shared_key_hint: Option<String>,
    /// `local.unique`: sets apart the sources of different clients' trees.
    /// Without it two concurrent builds of different directories have the
    /// same vertex digest, and BuildKit merges them: one build then gets the
    /// other's files.
    pub unique: Option<String>,
}

/// A leaf node: an identifier such as `docker-image://…` or `local://…`
/// with its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub identifier: String,
    pub attrs: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Network {
    /// The default sandboxed network.
    #[default]
    Sandbox,
    Host,
    None,
}

/// What is mounted at a mount point of an exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// A filesystem: `source` (None = empty scratch), optionally only
    /// `selector` of it. Writable binds produce an output of the exec.
    Bind {
        source: Option<Output>,
        selector: Option<String>,
        readonly: bool,
    },
    /// A persistent cache directory, shared across builds by `id`.
    Cache {
        id: String,
        sharing: CacheSharing,
    },
    Tmpfs {
        size: Option<i64>,
    },
    /// A session secret as a file.
    Secret {
        id: String,
        uid: u32,
        gid: u32,
        mode: u32,
        optional: bool,
    },
    /// A session SSH agent as a socket.
    Ssh {
        id: String,
        uid: u32,
        gid: u32,
        mode: u32,
        optional: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Absolute path in the container.
    pub dest: String,
    pub kind: MountKind,
}

/// A session secret as an environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEnv {
    pub name: String,
    pub id: String,
    pub optional: bool,
}

/// A process run in a container. Exactly one mount must be at `/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exec {
    pub args: Vec<String>,
    /// `KEY=VALUE`, in order.
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub mounts: Vec<Mount>,
    pub network: Network,
    pub secret_env: Vec<SecretEnv>,
}

/// A numeric owner for files written by a file op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

/// Options of a copy; the defaults keep the source's mode and owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyOpts {
    /// Permission bits to set; None keeps the source's.
    pub mode: Option<u32>,
    pub owner: Option<Owner>,
    pub follow_symlink: bool,
    /// When `src` is a directory, copy what it holds rather than itself.
    pub dir_copy_contents: bool,
    pub create_dest_path: bool,
    pub allow_wildcard: bool,
    pub allow_empty_wildcard: bool,
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
}

/// One step of a file op, applied to the result of the previous step (the
/// first one to the op's base).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileAction {
    /// Copies `src` of `from` (None = scratch) to `dest`.
    Copy {
        from: Option<Output>,
        src: String,
        dest: String,
        opts: CopyOpts,
    },
    Mkdir {
        path: String,
        mode: u32,
        make_parents: bool,
        owner: Option<Owner>,
    },
    Mkfile {
        path: String,
        mode: u32,
        data: Vec<u8>,
        owner: Option<Owner>,
    },
    Rm {
        path: String,
        allow_not_found: bool,
        allow_wildcard: bool,
    },
    Symlink {
        target: String,
        path: String,
        owner: Option<Owner>,
    },
}

/// A sequence of file actions on `base` (None = scratch): one vertex, one
/// layer in the final image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileOp {
    pub base: Option<Output>,
    pub actions: Vec<FileAction>,
    /// When set (Unix nanoseconds), every file, directory and link of the
    /// result has this mtime: each action writes with it, and a last copy
    /// of the whole result onto scratch stamps again the directories that
    /// later actions wrote into (writing into a directory moves its mtime
    /// to "now"). The result is then the same bytes in every build.
    pub timestamp: Option<i64>,
}

/// The body of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Source(Source),
    Exec(Exec),
    File(FileOp),
    /// Layers of the inputs stacked in order.
    Merge(Vec<Output>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub body: Body,
    /// Where the node runs; marshaling drops it where BuildKit ignores it.
    pub platform: Option<Platform>,
    pub meta: Meta,
}

/// Why a node was refused. Each is a bug in the caller, reported as data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LlbError {
    #[error("exec `{args}` has no mount at `/`; add a root mount")]
    NoRootMount { args: String },
    #[error("exec has no arguments; give it a command")]
    NoArgs,
    #[error("file op has no actions; add at least one")]
    NoActions,
    #[error("node {node} refers to output {index} of node {target}, which does not exist")]
    DanglingOutput {
        node: NodeId,
        target: NodeId,
        index: u32,
    },
    #[error("merge needs at least one input")]
    EmptyMerge,
    #[error("could not encode LLB: {0}")]
    Encode(String),
}

/// The graph: nodes in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    nodes: Vec<Node>,
}

/// The outputs of an exec: one per writable bind mount, keyed by dest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutputs {
    pub node: NodeId,
    outputs: Vec<(String, Output)>,
}

impl ExecOutputs {
    /// The root filesystem after the run.
    pub fn root(&self) -> Option<Output> {
        self.mount("/")
    }

    /// The contents of the writable mount at `dest` after the run.
    pub fn mount(&self, dest: &str) -> Option<Output> {
        self.outputs
            .iter()
            .find(|(d, _)| d == dest)
            .map(|(_, o)| *o)
    }
}

impl Graph {
    pub fn new() -> Self {
        Graph::default()
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id)
    }

    fn push(&mut self, node: Node) -> Result<NodeId, LlbError> {
        let id = self.nodes.len();
        for o in node_inputs(&node.body) {
            if !self.has_output(o) {
                return Err(LlbError::DanglingOutput {
                    node: id,
                    target: o.node,
                    index: o.index,
                });
            }
        }
        self.nodes.push(node);
        Ok(id)
    }

    /// Whether `o` names an existing output of an existing node.
    pub fn has_output(&self, o: Output) -> bool {
        match self.nodes.get(o.node).map(|n| &n.body) {
            Some(Body::Exec(e)) => (o.index as usize) < writable_binds(e).count(),
            Some(_) => o.index == 0,
            None => false,
        }
    }

    /// A `docker-image://` source. `reference` is a normalised reference
    /// (`docker.io/library/golang:1.24`). `resolve` None leaves the mode to
    /// the daemon's default.
    pub fn image(
        &mut self,
        reference: &str,
        platform: Platform,
        resolve: Option<ResolveMode>,
        meta: Meta,
    ) -> Result<Output, LlbError> {
        let mut attrs = BTreeMap::new();
        if let Some(r) = resolve {
            attrs.insert("image.resolvemode".to_string(), r.as_str().to_string());
        }
        let body = Body::Source(Source {
            identifier: format!("docker-image://{reference}"),
            attrs,
        });
        self.leaf(body, Some(platform), meta)
    }

    /// A `local://` source: a directory the client sends over the session.
    pub fn local(&mut self, name: &str, opts: &LocalOpts, meta: Meta) -> Result<Output, LlbError> {
        let mut attrs = BTreeMap::new();
        let list =
            |v: &[String]| serde_json::to_string(v).map_err(|e| LlbError::Encode(e.to_string()));
        if !opts.include.is_empty() {
            attrs.insert("local.includepattern".to_string(), list(&opts.include)?);
        }
        if !opts.exclude.is_empty() {
            attrs.insert("local.excludepatterns".to_string(), list(&opts.exclude)?);
        }
        if !opts.follow_paths.is_empty() {
            attrs.insert("local.followpaths".to_string(), list(&opts.follow_paths)?);
        }
        if let Some(h) = &opts.shared_key_hint {
            attrs.insert("local.sharedkeyhint".to_string(), h.clone());
        }
        if let Some(u) = &opts.unique {
            attrs.insert("local.unique".to_string(), u.clone());
        }
        let body = Body::Source(Source {
            identifier: format!("local://{name}"),
            attrs,
        });
        self.leaf(body, None, meta)
    }

    /// Any other source (`git://`, `https://`, …).
    pub fn source(
        &mut self,
        source: Source,
        platform: Option<Platform>,
        meta: Meta,
    ) -> Result<Output, LlbError> {
        self.leaf(Body::Source(source), platform, meta)
    }

    fn leaf(
        &mut self,
        body: Body,
        platform: Option<Platform>,
        meta: Meta,
    ) -> Result<Output, LlbError> {
        let node = self.push(Node {
            body,
            platform,
            meta,
        })?;
        Ok(Output { node, index: 0 })
    }

    /// Adds an exec. Its outputs are its writable bind mounts, in order.
    /// Mounts are put in `dest` order (stable), so `/` comes first and a
    /// mount nested in another is set up after it.
    pub fn exec(
        &mut self,
        mut exec: Exec,
        platform: Platform,
        meta: Meta,
    ) -> Result<ExecOutputs, LlbError> {
        exec.mounts.sort_by(|a, b| a.dest.cmp(&b.dest));
        if exec.args.is_empty() {
            return Err(LlbError::NoArgs);
        }
        if !exec
            .mounts
            .iter()
            .any(|m| m.dest == "/" && matches!(m.kind, MountKind::Bind { .. }))
        {
            return Err(LlbError::NoRootMount {
                args: exec.args.join(" "),
            });
        }
        let dests: Vec<String> = writable_binds(&exec).map(|m| m.dest.clone()).collect();
        let node = self.push(Node {
            body: Body::Exec(exec),
            platform: Some(platform),
            meta,
        })?;
        let outputs = dests
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                let index = u32::try_from(i).unwrap_or(u32::MAX);
                (d, Output { node, index })
            })
            .collect();
        Ok(ExecOutputs { node, outputs })
    }

    /// Adds a file op; its single output is the result of the last action.
    pub fn file(&mut self, op: FileOp, meta: Meta) -> Result<Output, LlbError> {
        if op.actions.is_empty() {
            return Err(LlbError::NoActions);
        }
        self.leaf(Body::File(op), None, meta)
    }

    /// Stacks the layers of `inputs` (later ones win).
    pub fn merge(&mut self, inputs: Vec<Output>, meta: Meta) -> Result<Output, LlbError> {
        if inputs.is_empty() {
            return Err(LlbError::EmptyMerge);
        }
        self.leaf(Body::Merge(inputs), None, meta)
    }
}

/// The writable bind mounts of an exec, in mount order: its outputs.
pub(crate) fn writable_binds(e: &Exec) -> impl Iterator<Item = &Mount> {
    e.mounts.iter().filter(|m| {
        matches!(
            m.kind,
            MountKind::Bind {
                readonly: false,
                ..
            }
        )
    })
}

/// The outputs a node reads, in the order they become Op inputs, with
/// duplicates removed (an input used twice is listed once, as Go does).
pub(crate) fn node_inputs(body: &Body) -> Vec<Output> {
    let mut out: Vec<Output> = Vec::new();
    let mut add = |o: Option<Output>| {
        if let Some(o) = o
            && !out.contains(&o)
        {
            out.push(o);
        }
    };
    match body {
        Body::Source(_) => {}
        Body::Exec(e) => {
            for m in &e.mounts {
                if let MountKind::Bind { source, .. } = &m.kind {
                    add(*source);
                }
            }
        }
        Body::File(f) => {
            add(f.base);
            for a in &f.actions {
                if let FileAction::Copy { from, .. } = a {
                    add(*from);
                }
            }
        }
        Body::Merge(inputs) => {
            // Merge inputs are positional: keep duplicates out but order.
            for o in inputs {
                add(Some(*o));
            }
        }
    }
    out
}
