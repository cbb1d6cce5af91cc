//! One graph node as its `pb.Op`: the op body of each kind (source,
//! exec, file, merge), the caps it needs, and its bytes in the field order
//! BuildKit digests ([`op_bytes`]). The walk in the parent module calls
//! [`encode`] once per node and hashes what it returns.

use std::collections::BTreeMap;

use prost::Message;

use super::{Digest, Op};
use crate::llb::caps::{Cap, Caps};
use crate::llb::graph::{
    Body, CacheSharing, Exec, FileAction, FileOp, MountKind, Network, Node, Output, Owner,
    writable_binds,
};
use crate::platform::Platform;
use crate::proto::pb;

/// An op's bytes, in the field order BuildKit digests: `inputs` (1),
/// `platform` (10), `constraints` (11), then the `op` oneof (exec 2 ...
/// merge 6).
///
/// Since 0.18 BuildKit decodes every op of a definition and names it by
/// the digest of its own re-encoding (`solver/llbsolver/vertex.go`,
/// `recomputeDigests`), made with Go's protobuf library, which writes a
/// message's oneof fields after all its other fields (its "legacy" field
/// order). Progress, error details and its own source-map lookups then
/// carry that digest. Ops written in plain field-number order (as prost
/// writes them) get other digests there than here, and a failing step
/// could not be tied to its app.scratch line. Written in Go's order,
/// every BuildKit (0.13 keeps the bytes as sent) and Go's own LLB client
/// agree with our digests. No other message of an op differs between the
/// two orders: `FileAction`'s oneof has the highest numbers of its
/// message already, `UserOpt` has nothing but its oneof.
pub fn op_bytes(op: &pb::Op) -> Vec<u8> {
    use prost::encoding::message;
    let len = op.encoded_len();
    let mut buf = Vec::with_capacity(len);
    for input in &op.inputs {
        message::encode(1, input, &mut buf);
    }
    if let Some(p) = &op.platform {
        message::encode(10, p, &mut buf);
    }
    if let Some(c) = &op.constraints {
        message::encode(11, c, &mut buf);
    }
    if let Some(o) = &op.op {
        o.encode(&mut buf);
    }
    buf
}

/// A node's op: its bytes, their digest and the caps it needs. `digests`
/// are those of `inputs`, in order.
pub(super) fn encode(node: &Node, inputs: &[Output], digests: &[Digest]) -> Op {
    let pb_inputs = inputs
        .iter()
        .zip(digests)
        .map(|(o, d)| pb::Input {
            digest: d.to_string(),
            index: i64::from(o.index),
        })
        .collect();
    let mut caps = Caps::default();
    let op = match &node.body {
        Body::Source(s) => {
            caps.extend(source_caps(&s.identifier, &s.attrs));
            pb::op::Op::Source(pb::SourceOp {
                identifier: s.identifier.clone(),
                attrs: s.attrs.clone(),
            })
        }
        Body::Exec(e) => pb::op::Op::Exec(exec_op(e, inputs, &mut caps)),
        Body::File(f) => pb::op::Op::File(file_op(f, inputs, &mut caps)),
        Body::Merge(list) => {
            caps.insert(Cap::MergeOp);
            pb::op::Op::Merge(pb::MergeOp {
                inputs: list
                    .iter()
                    .map(|o| pb::MergeInput {
                        input: index_of(inputs, *o),
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
            s.identifier.starts_with("docker-image://") || s.identifier.starts_with("oci-layout://")
        }
        Body::File(_) | Body::Merge(_) => false,
    };
    let platform = if keeps_platform {
        node.platform.as_ref().map(pb::Platform::from)
    } else {
        None
    };
    if platform.is_some() {
        caps.insert(Cap::Platform);
    }
    let pb_op = pb::Op {
        inputs: pb_inputs,
        op: Some(op),
        platform,
        constraints: Some(pb::WorkerConstraints::default()),
    };
    let bytes = op_bytes(&pb_op);
    if node.meta.name.is_some() {
        caps.insert(Cap::MetaDescription);
    }
    if node.meta.ignore_cache {
        caps.insert(Cap::MetaIgnoreCache);
    }
    Op {
        digest: Digest::of(&bytes),
        bytes,
        caps,
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

/// A platform as LLB and the gateway carry it (an absent variant is the
/// empty string). One conversion for the definitions and the gateway's
/// requests alike.
impl From<&Platform> for pb::Platform {
    fn from(p: &Platform) -> pb::Platform {
        pb::Platform {
            architecture: p.arch.clone(),
            os: p.os.clone(),
            variant: p.variant.clone().unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// The caps a daemon must have for a source. Declared so an old daemon
/// fails up front with a clear message instead of ignoring an attribute.
fn source_caps(identifier: &str, attrs: &BTreeMap<String, String>) -> Caps {
    let mut caps = Caps::default();
    if identifier.starts_with("docker-image://") {
        caps.insert(Cap::SourceImage);
        if attrs.contains_key("image.resolvemode") {
            caps.insert(Cap::SourceImageResolveMode);
        }
    } else if identifier.starts_with("local://") {
        caps.insert(Cap::SourceLocal);
        for (attr, cap) in [
            ("local.includepattern", Cap::SourceLocalIncludePatterns),
            ("local.excludepatterns", Cap::SourceLocalExcludePatterns),
            ("local.followpaths", Cap::SourceLocalFollowPaths),
            ("local.sharedkeyhint", Cap::SourceLocalSharedKeyHint),
            ("local.session", Cap::SourceLocalSessionId),
            ("local.unique", Cap::SourceLocalUnique),
            ("local.differ", Cap::SourceLocalDiffer),
        ] {
            if attrs.contains_key(attr) {
                caps.insert(cap);
            }
        }
    } else if identifier.starts_with("git://") {
        caps.insert(Cap::SourceGit);
    } else if identifier.starts_with("https://") || identifier.starts_with("http://") {
        caps.insert(Cap::SourceHttp);
    }
    caps
}

fn exec_op(e: &Exec, inputs: &[Output], caps: &mut Caps) -> pb::ExecOp {
    caps.insert(Cap::ExecMetaBase);
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
                caps.insert(Cap::ExecMountBind);
                pm.mount_type = pb::MountType::Bind as i32;
                pm.input = source.map_or(-1, |o| index_of(inputs, o));
                pm.readonly = *readonly;
                if !*readonly {
                    pm.output = next_output;
                    next_output += 1;
                }
                if let Some(s) = selector {
                    caps.insert(Cap::ExecMountSelector);
                    pm.selector = s.clone();
                }
            }
            MountKind::Cache { id, sharing } => {
                caps.insert(Cap::ExecMountCache);
                caps.insert(Cap::ExecMountCacheSharing);
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
                caps.insert(Cap::ExecMountTmpfs);
                pm.mount_type = pb::MountType::Tmpfs as i32;
                if let Some(s) = size {
                    caps.insert(Cap::ExecMountTmpfsSize);
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
                caps.insert(Cap::ExecMountSecret);
                pm.mount_type = pb::MountType::Secret as i32;
                pm.secret_opt = Some(pb::SecretOpt {
                    id: id.clone(),
                    uid: *uid,
                    gid: *gid,
                    mode: *mode,
                    optional: *optional,
                });
            }
            MountKind::Ssh {
                id,
                uid,
                gid,
                mode,
                optional,
            } => {
                caps.insert(Cap::ExecMountSsh);
                pm.mount_type = pb::MountType::Ssh as i32;
                pm.ssh_opt = Some(pb::SshOpt {
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
        caps.insert(Cap::ExecMetaNetwork);
    }
    if !e.secret_env.is_empty() {
        caps.insert(Cap::ExecSecretEnv);
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

fn file_op(f: &FileOp, inputs: &[Output], caps: &mut Caps) -> pb::FileOp {
    caps.insert(Cap::FileBase);
    let n_inputs = i64::try_from(inputs.len()).unwrap_or(0);
    let ts = f.timestamp.unwrap_or(-1);
    // With a timestamp, a last action stamps the whole result (see
    // `FileOp::timestamp`), so the actions here are not the last.
    let last = if f.timestamp.is_some() {
        usize::MAX
    } else {
        f.actions.len().saturating_sub(1)
    };
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
                    caps.insert(Cap::FileCopyIncludeExcludePatterns);
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
                    timestamp: ts,
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
                timestamp: ts,
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
                timestamp: ts,
            }),
            FileAction::Rm {
                path,
                allow_not_found,
                allow_wildcard,
            } => {
                if *allow_wildcard {
                    caps.insert(Cap::FileRmWildcard);
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
                caps.insert(Cap::FileSymlinkCreate);
                pb::file_action::Action::Symlink(pb::FileActionSymlink {
                    oldpath: target.clone(),
                    newpath: path.clone(),
                    owner: chown(*owner),
                    timestamp: ts,
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
    if f.timestamp.is_some() && !f.actions.is_empty() {
        // The result so far, copied whole onto scratch: a directory copy
        // sets each directory's time after its children are in place.
        let so_far = n_inputs + i64::try_from(f.actions.len()).unwrap_or(1) - 1;
        actions.push(pb::FileAction {
            input: -1,
            secondary_input: so_far,
            output: 0,
            action: Some(pb::file_action::Action::Copy(pb::FileActionCopy {
                src: "/".to_string(),
                dest: "/".to_string(),
                mode: -1,
                dir_copy_contents: true,
                timestamp: ts,
                ..Default::default()
            })),
        });
    }
    pb::FileOp { actions }
}
