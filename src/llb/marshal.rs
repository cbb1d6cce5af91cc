//! Graph to `pb.Definition`: post-order from the result, each op marshaled
//! once and keyed by `sha256:<hex>` of its bytes, then the terminal op that
//! names the result. Everything is ordered (inputs by first use, maps as
//! BTreeMaps), so the same graph always gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
use sha2::{Digest, Sha256};

use super::graph::{
    Body, CacheSharing, Exec, FileAction, FileOp, Graph, LlbError, MountKind, Network, NodeId,
    Output, Owner, SourceRange, node_inputs, writable_binds,
};
use crate::compiler::Platform;
use crate::proto::pb;

/// One source file for the source map (`pb.SourceInfo`), borrowed: the
/// text is copied once, into the encoded definition, and only when an op
/// of the definition points into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceFileInfo<'a> {
    pub filename: &'a str,
    pub data: &'a [u8],
    /// E.g. `scratch`; shown by tools that highlight sources.
    pub language: &'a str,
}

/// `"sha256:" + hex(sha256(bytes))`, BuildKit's op digest. Written out by
/// hand: every op of every target gets one, and formatting through
/// `hex::encode` and `format!` cost as much as the hashing itself.
pub fn digest(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let sum = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 2 * sum.len());
    out.push_str("sha256:");
    for b in sum {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// A definition without its source map, and the map's parts: the files
/// (indices into the caller's `files`) that some op points into, in index
/// order, and the locations per op digest, already renumbered to positions
/// in that list.
struct Parts {
    def: pb::Definition,
    used: Vec<usize>,
    locations: BTreeMap<String, pb::Locations>,
}

/// Marshals the part of `graph` that `result` depends on. `files` are the
/// source files that node locations index into; only those that some op
/// points into are embedded (in their order), so a definition carries the
/// text it was made from and nothing else.
pub fn marshal(
    graph: &Graph,
    result: Output,
    files: &[SourceFileInfo<'_>],
) -> Result<pb::Definition, LlbError> {
    let Parts {
        mut def,
        used,
        locations,
    } = parts(graph, result, files)?;
    if !used.is_empty() {
        def.source = Some(pb::Source {
            locations,
            infos: used
                .iter()
                .filter_map(|&i| files.get(i))
                .map(|f| pb::SourceInfo {
                    filename: f.filename.to_string(),
                    data: f.data.to_vec(),
                    definition: None,
                    language: f.language.to_string(),
                })
                .collect(),
        });
    }
    Ok(def)
}

/// Marshals and encodes to bytes: exactly `marshal(..).encode_to_vec()`,
/// but the source texts go straight from `files` into the output instead
/// of being copied into a `pb.Definition` first (with a file of 1,000 apps
/// those copies were most of the time spent per target).
pub fn marshal_bytes(
    graph: &Graph,
    result: Output,
    files: &[SourceFileInfo<'_>],
) -> Result<Vec<u8>, LlbError> {
    let Parts {
        def,
        used,
        locations,
    } = parts(graph, result, files)?;
    if used.is_empty() {
        return Ok(def.encode_to_vec());
    }
    // `pb.Source` is `locations = 1`, `infos = 2`, encoded in that order;
    // with no infos prost writes the locations alone, and the infos follow
    // as prost would write them (empty fields left out, `definition` unset).
    let locs = pb::Source {
        locations,
        infos: Vec::new(),
    };
    let infos: Vec<(&SourceFileInfo<'_>, usize)> = used
        .iter()
        .filter_map(|&i| files.get(i))
        .map(|f| (f, info_len(f)))
        .collect();
    let source_len = locs.encoded_len()
        + infos
            .iter()
            .map(|(_, n)| 1 + encoded_len_varint(*n as u64) + n)
            .sum::<usize>();
    let mut buf = Vec::with_capacity(
        def.encoded_len() + 1 + encoded_len_varint(source_len as u64) + source_len,
    );
    let enc = |e: prost::EncodeError| LlbError::Encode(e.to_string());
    // `encode` writes a message's fields without a length prefix.
    def.encode(&mut buf).map_err(enc)?;
    encode_key(3, WireType::LengthDelimited, &mut buf);
    encode_varint(source_len as u64, &mut buf);
    locs.encode(&mut buf).map_err(enc)?;
    for (f, n) in infos {
        encode_key(2, WireType::LengthDelimited, &mut buf);
        encode_varint(n as u64, &mut buf);
        put_bytes(1, f.filename.as_bytes(), &mut buf);
        put_bytes(2, f.data, &mut buf);
        put_bytes(4, f.language.as_bytes(), &mut buf);
    }
    Ok(buf)
}

/// Encoded length of a `pb.SourceInfo` body (fields 1, 2 and 4).
fn info_len(f: &SourceFileInfo<'_>) -> usize {
    [f.filename.as_bytes(), f.data, f.language.as_bytes()]
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| 1 + encoded_len_varint(b.len() as u64) + b.len())
        .sum()
}

/// A length-delimited field, left out when empty (proto3 defaults).
fn put_bytes(tag: u32, bytes: &[u8], buf: &mut Vec<u8>) {
    if !bytes.is_empty() {
        encode_key(tag, WireType::LengthDelimited, buf);
        encode_varint(bytes.len() as u64, buf);
        buf.extend_from_slice(bytes);
    }
}

fn parts(graph: &Graph, result: Output, files: &[SourceFileInfo<'_>]) -> Result<Parts, LlbError> {
    if !graph.has_output(result) {
        return Err(LlbError::DanglingOutput {
            node: result.node,
            target: result.node,
            index: result.index,
        });
    }
    let mut m = Marshaler {
        graph,
        digests: BTreeMap::new(),
        seen: BTreeSet::new(),
        def: pb::Definition::default(),
        locations: BTreeMap::new(),
        all_caps: BTreeSet::new(),
    };
    let top = m.visit(result.node)?;
    let terminal = pb::Op {
        inputs: vec![pb::Input {
            digest: top,
            index: i64::from(result.index),
        }],
        ..Default::default()
    };
    let bytes = terminal.encode_to_vec();
    let tdigest = digest(&bytes);
    m.def.def.push(bytes);
    // The terminal op carries the union of the caps, as Go's client does.
    m.def.metadata.insert(
        tdigest,
        pb::OpMetadata {
            caps: m
                .all_caps
                .iter()
                .map(|c| ((*c).to_string(), true))
                .collect(),
            ..Default::default()
        },
    );
    // Files some op points into, and their positions in the embedded list.
    let used: Vec<usize> = m
        .locations
        .values()
        .flat_map(|ranges| ranges.iter().map(|r| r.file))
        .filter(|&f| f < files.len())
        .collect::<BTreeSet<usize>>()
        .into_iter()
        .collect();
    let mut locations = BTreeMap::new();
    for (dgst, ranges) in &m.locations {
        let mut by_file: BTreeMap<usize, Vec<pb::Range>> = BTreeMap::new();
        for r in ranges {
            if let Ok(pos) = used.binary_search(&r.file) {
                by_file.entry(pos).or_default().push(range(r));
            }
        }
        let list = by_file
            .into_iter()
            .map(|(pos, ranges)| pb::Location {
                source_index: i32::try_from(pos).unwrap_or(i32::MAX),
                ranges,
            })
            .collect::<Vec<_>>();
        if !list.is_empty() {
            locations.insert(dgst.clone(), pb::Locations { locations: list });
        }
    }
    Ok(Parts {
        def: m.def,
        used,
        locations,
    })
}

fn range(r: &SourceRange) -> pb::Range {
    let pos = |line: u32| pb::Position {
        line: i32::try_from(line).unwrap_or(i32::MAX),
        character: 0,
    };
    pb::Range {
        start: Some(pos(r.start_line)),
        end: Some(pos(r.end_line)),
    }
}

struct Marshaler<'g> {
    graph: &'g Graph,
    /// Digest of each node already marshaled.
    digests: BTreeMap<NodeId, String>,
    /// Digests already in `def` (two nodes may marshal to the same bytes).
    seen: BTreeSet<String>,
    def: pb::Definition,
    locations: BTreeMap<String, BTreeSet<SourceRange>>,
    /// Every cap of every op, for the terminal op.
    all_caps: BTreeSet<&'static str>,
}

impl Marshaler<'_> {
    /// Marshals `id` after its inputs (post-order) and returns its digest.
    fn visit(&mut self, id: NodeId) -> Result<String, LlbError> {
        if let Some(d) = self.digests.get(&id) {
            return Ok(d.clone());
        }
        let node = self.graph.node(id).ok_or(LlbError::DanglingOutput {
            node: id,
            target: id,
            index: 0,
        })?;
        let inputs = node_inputs(&node.body);
        let mut pb_inputs = Vec::with_capacity(inputs.len());
        for o in &inputs {
            // Inputs were checked when the node was added and point at
            // earlier nodes, so this recursion terminates.
            let d = self.visit(o.node)?;
            pb_inputs.push(pb::Input {
                digest: d,
                index: i64::from(o.index),
            });
        }
        let mut caps = BTreeSet::new();
        let op = match &node.body {
            Body::Source(s) => {
                caps.extend(source_caps(&s.identifier, &s.attrs));
                pb::op::Op::Source(pb::SourceOp {
                    identifier: s.identifier.clone(),
                    attrs: s.attrs.clone(),
                })
            }
            Body::Exec(e) => pb::op::Op::Exec(exec_op(e, &inputs, &mut caps)),
            Body::File(f) => pb::op::Op::File(file_op(f, &inputs, &mut caps)),
            Body::Merge(list) => {
                caps.insert("mergeop");
                pb::op::Op::Merge(pb::MergeOp {
                    inputs: list
                        .iter()
                        .map(|o| pb::MergeInput {
                            input: index_of(&inputs, *o),
                        })
                        .collect(),
                })
            }
        };
        // Go's client leaves the platform off ops whose result does not
        // depend on it: file, merge, diff, and sources other than images.
        let keeps_platform = match &node.body {
            Body::Exec(_) => true,
            Body::Source(s) => {
                s.identifier.starts_with("docker-image://")
                    || s.identifier.starts_with("oci-layout://")
            }
            Body::File(_) | Body::Merge(_) => false,
        };
        let platform = if keeps_platform {
            node.platform.as_ref().map(pb_platform)
        } else {
            None
        };
        if platform.is_some() {
            caps.insert("platform");
        }
        let pb_op = pb::Op {
            inputs: pb_inputs,
            op: Some(op),
            platform,
            constraints: Some(pb::WorkerConstraints::default()),
        };
        let bytes = pb_op.encode_to_vec();
        let dgst = digest(&bytes);
        self.digests.insert(id, dgst.clone());

        let mut md = pb::OpMetadata::default();
        if let Some(name) = &node.meta.name {
            md.description
                .insert("llb.customname".to_string(), name.clone());
            caps.insert("meta.description");
        }
        if node.meta.ignore_cache {
            md.ignore_cache = true;
            caps.insert("meta.ignorecache");
        }
        for c in &caps {
            md.caps.insert((*c).to_string(), true);
        }
        self.all_caps.extend(caps);
        let entry = self.def.metadata.entry(dgst.clone()).or_default();
        entry.ignore_cache |= md.ignore_cache;
        entry.description.extend(md.description);
        entry.caps.extend(md.caps);
        self.locations
            .entry(dgst.clone())
            .or_default()
            .extend(node.meta.locations.iter().copied());

        if self.seen.insert(dgst.clone()) {
            self.def.def.push(bytes);
        }
        Ok(dgst)
    }
}

/// Position of `o` in the op's input list; -1 (scratch) if absent, which
/// `node_inputs` rules out for every output the body names.
fn index_of(inputs: &[Output], o: Output) -> i64 {
    inputs
        .iter()
        .position(|i| *i == o)
        .and_then(|p| i64::try_from(p).ok())
        .unwrap_or(-1)
}

pub(crate) fn pb_platform(p: &Platform) -> pb::Platform {
    pb::Platform {
        architecture: p.arch.clone(),
        os: p.os.clone(),
        variant: p.variant.clone().unwrap_or_default(),
        ..Default::default()
    }
}

/// The caps a daemon must have for a source. Declared so an old daemon
/// fails up front with a clear message instead of ignoring an attribute.
fn source_caps(identifier: &str, attrs: &BTreeMap<String, String>) -> Vec<&'static str> {
    let mut caps = Vec::new();
    if identifier.starts_with("docker-image://") {
        caps.push("source.image");
        if attrs.contains_key("image.resolvemode") {
            caps.push("source.image.resolvemode");
        }
    } else if identifier.starts_with("local://") {
        caps.push("source.local");
        for (attr, cap) in [
            ("local.includepattern", "source.local.includepatterns"),
            ("local.excludepatterns", "source.local.excludepatterns"),
            ("local.followpaths", "source.local.followpaths"),
            ("local.sharedkeyhint", "source.local.sharedkeyhint"),
            ("local.session", "source.local.sessionid"),
            ("local.unique", "source.local.unique"),
            ("local.differ", "source.local.differ"),
        ] {
            if attrs.contains_key(attr) {
                caps.push(cap);
            }
        }
    } else if identifier.starts_with("git://") {
        caps.push("source.git");
    } else if identifier.starts_with("https://") || identifier.starts_with("http://") {
        caps.push("source.http");
    }
    caps
}

fn exec_op(e: &Exec, inputs: &[Output], caps: &mut BTreeSet<&'static str>) -> pb::ExecOp {
    caps.insert("exec.meta.base");
    // No cap for `removeMountStubsRecursive`: BuildKit 0.13 (Docker 26)
    // defines `exec.meta.removemountstubs.recursive` but never registers
    // it, so naming it fails the whole solve ("unknown API capability");
    // daemons that do not know the field simply ignore it.
    let mut mounts = Vec::with_capacity(e.mounts.len());
    let mut next_output = 0i64;
    for m in &e.mounts {
        let mut pm = pb::Mount {
            dest: m.dest.clone(),
            input: -1,
            output: -1,
            ..Default::default()
        };
        match &m.kind {
            MountKind::Bind {
                source,
                selector,
                readonly,
            } => {
                caps.insert("exec.mount.bind");
                pm.mount_type = pb::MountType::Bind as i32;
                pm.input = source.map_or(-1, |o| index_of(inputs, o));
                pm.readonly = *readonly;
                if !*readonly {
                    pm.output = next_output;
                    next_output += 1;
                }
                if let Some(s) = selector {
                    caps.insert("exec.mount.selector");
                    pm.selector = s.clone();
                }
            }
            MountKind::Cache { id, sharing } => {
                caps.insert("exec.mount.cache");
                caps.insert("exec.mount.cache.sharing");
                pm.mount_type = pb::MountType::Cache as i32;
                pm.cache_opt = Some(pb::CacheOpt {
                    id: id.clone(),
                    sharing: match sharing {
                        CacheSharing::Shared => pb::CacheSharingOpt::Shared,
                        CacheSharing::Private => pb::CacheSharingOpt::Private,
                        CacheSharing::Locked => pb::CacheSharingOpt::Locked,
                    } as i32,
                });
            }
            MountKind::Tmpfs { size } => {
                caps.insert("exec.mount.tmpfs");
                pm.mount_type = pb::MountType::Tmpfs as i32;
                if let Some(s) = size {
                    caps.insert("exec.mount.tmpfs.size");
                    pm.tmpfs_opt = Some(pb::TmpfsOpt { size: *s });
                }
            }
            MountKind::Secret {
                id,
                uid,
                gid,
                mode,
                optional,
            } => {
                caps.insert("exec.mount.secret");
                pm.mount_type = pb::MountType::Secret as i32;
                pm.secret_opt = Some(pb::SecretOpt {
                    id: id.clone(),
                    uid: *uid,
                    gid: *gid,
                    mode: *mode,
                    optional: *optional,
                });
            }
        }
        mounts.push(pm);
    }
    debug_assert_eq!(
        usize::try_from(next_output).ok(),
        Some(writable_binds(e).count())
    );
    let network = match e.network {
        Network::Sandbox => pb::NetMode::Unset,
        Network::Host => pb::NetMode::Host,
        Network::None => pb::NetMode::None,
    };
    if network != pb::NetMode::Unset {
        caps.insert("exec.meta.network");
    }
    if !e.secret_env.is_empty() {
        caps.insert("exec.secretenv");
    }
    pb::ExecOp {
        meta: Some(pb::Meta {
            args: e.args.clone(),
            env: e.env.clone(),
            cwd: e.cwd.clone(),
            user: e.user.clone(),
            remove_mount_stubs_recursive: true,
            ..Default::default()
        }),
        mounts,
        network: network as i32,
        security: pb::SecurityMode::Sandbox as i32,
        secretenv: e
            .secret_env
            .iter()
            .map(|s| pb::SecretEnv {
                id: s.id.clone(),
                name: s.name.clone(),
                optional: s.optional,
            })
            .collect(),
    }
}

fn chown(o: Option<Owner>) -> Option<pb::ChownOpt> {
    o.map(|o| pb::ChownOpt {
        user: Some(pb::UserOpt {
            user: Some(pb::user_opt::User::ById(o.uid)),
        }),
        group: Some(pb::UserOpt {
            user: Some(pb::user_opt::User::ById(o.gid)),
        }),
    })
}

fn mode(m: u32) -> i32 {
    i32::try_from(m & 0o7777).unwrap_or(0o755)
}

fn file_op(f: &FileOp, inputs: &[Output], caps: &mut BTreeSet<&'static str>) -> pb::FileOp {
    caps.insert("file.base");
    let n_inputs = i64::try_from(inputs.len()).unwrap_or(0);
    let last = f.actions.len().saturating_sub(1);
    let mut actions = Vec::with_capacity(f.actions.len());
    for (k, a) in f.actions.iter().enumerate() {
        let ki = i64::try_from(k).unwrap_or(0);
        // Action k works on the previous action's result (index space:
        // inputs first, then action results), the first on the base.
        let input = if k == 0 {
            f.base.map_or(-1, |b| index_of(inputs, b))
        } else {
            n_inputs + ki - 1
        };
        let mut secondary = -1;
        let action = match a {
            FileAction::Copy {
                from,
                src,
                dest,
                opts,
            } => {
                secondary = from.map_or(-1, |o| index_of(inputs, o));
                if !opts.include_patterns.is_empty() || !opts.exclude_patterns.is_empty() {
                    caps.insert("file.copy.includeexcludepatterns");
                }
                pb::file_action::Action::Copy(pb::FileActionCopy {
                    src: src.clone(),
                    dest: dest.clone(),
                    owner: chown(opts.owner),
                    mode: opts.mode.map_or(-1, mode),
                    follow_symlink: opts.follow_symlink,
                    dir_copy_contents: opts.dir_copy_contents,
                    create_dest_path: opts.create_dest_path,
                    allow_wildcard: opts.allow_wildcard,
                    allow_empty_wildcard: opts.allow_empty_wildcard,
                    timestamp: -1,
                    include_patterns: opts.include_patterns.clone(),
                    exclude_patterns: opts.exclude_patterns.clone(),
                    ..Default::default()
                })
            }
            FileAction::Mkdir {
                path,
                mode: m,
                make_parents,
                owner,
            } => pb::file_action::Action::Mkdir(pb::FileActionMkDir {
                path: path.clone(),
                mode: mode(*m),
                make_parents: *make_parents,
                owner: chown(*owner),
                timestamp: -1,
            }),
            FileAction::Mkfile {
                path,
                mode: m,
                data,
                owner,
            } => pb::file_action::Action::Mkfile(pb::FileActionMkFile {
                path: path.clone(),
                mode: mode(*m),
                data: data.clone(),
                owner: chown(*owner),
                timestamp: -1,
            }),
            FileAction::Rm {
                path,
                allow_not_found,
                allow_wildcard,
            } => {
                if *allow_wildcard {
                    caps.insert("file.rm.wildcard");
                }
                pb::file_action::Action::Rm(pb::FileActionRm {
                    path: path.clone(),
                    allow_not_found: *allow_not_found,
                    allow_wildcard: *allow_wildcard,
                })
            }
            FileAction::Symlink {
                target,
                path,
                owner,
            } => {
                caps.insert("file.symlink.create");
                pb::file_action::Action::Symlink(pb::FileActionSymlink {
                    oldpath: target.clone(),
                    newpath: path.clone(),
                    owner: chown(*owner),
                    timestamp: -1,
                })
            }
        };
        actions.push(pb::FileAction {
            input,
            secondary_input: secondary,
            output: if k == last { 0 } else { -1 },
            action: Some(action),
        });
    }
    pb::FileOp { actions }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::llb::{LocalOpts, Meta};

    fn graph() -> (Graph, Output) {
        let mut g = Graph::new();
        let at = |file, line| Meta {
            name: Some("x".into()),
            locations: vec![SourceRange {
                file,
                start_line: line,
                end_line: line + 1,
            }],
            ..Meta::default()
        };
        let a = g.local("context", &LocalOpts::default(), at(2, 3)).unwrap();
        let opts = LocalOpts {
            include: vec!["go.mod".into()],
            ..LocalOpts::default()
        };
        // Not an input of the result: its file is not embedded.
        g.local("context", &opts, at(0, 1)).unwrap();
        let op = FileOp {
            base: None,
            actions: vec![FileAction::Copy {
                from: Some(a),
                src: "/a".into(),
                dest: "/b".into(),
                opts: Default::default(),
            }],
        };
        let out = g.file(op, at(2, 7)).unwrap();
        (g, out)
    }

    /// The fast encoder writes what prost writes for the full message, and
    /// only the files that an op of the result points into are embedded.
    #[test]
    fn bytes_are_the_encoded_definition() {
        let (g, out) = graph();
        let text = "line 1\nline 2\n".repeat(50);
        let files = [
            SourceFileInfo {
                filename: "unused.scratch",
                data: b"not used",
                language: "scratch",
            },
            SourceFileInfo {
                filename: "also-unused",
                data: b"",
                language: "",
            },
            SourceFileInfo {
                filename: "app.scratch",
                data: text.as_bytes(),
                language: "scratch",
            },
        ];
        let def = marshal(&g, out, &files).unwrap();
        let bytes = marshal_bytes(&g, out, &files).unwrap();
        assert_eq!(bytes, def.encode_to_vec());
        let source = def.source.unwrap();
        assert_eq!(source.infos.len(), 1);
        assert_eq!(source.infos[0].filename, "app.scratch");
        assert!(
            source
                .locations
                .values()
                .flat_map(|l| &l.locations)
                .all(|l| l.source_index == 0)
        );
        // No files: no source map at all.
        let bare = marshal_bytes(&g, out, &[]).unwrap();
        assert!(
            pb::Definition::decode(bare.as_slice())
                .unwrap()
                .source
                .is_none()
        );
    }
}
