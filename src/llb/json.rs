//! A readable, stable JSON view of any `pb.Definition` (ours or another
//! client's): one entry per op in definition order with its digest, inputs
//! (`sha256:…#index`), body, platform, metadata and source `lines`
//! (`file:line` or `file:start-end`). Keys keep a fixed order.

use prost::Message;
use serde_json::{Map, Value, json};

use super::marshal::digest;
use crate::proto::pb;

/// Why bytes could not be shown as a definition.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("not a pb.Definition: {0}")]
    Definition(prost::DecodeError),
    #[error("op {index} of the definition is not a pb.Op: {source}")]
    Op {
        index: usize,
        source: prost::DecodeError,
    },
    #[error("could not render JSON: {0}")]
    Json(serde_json::Error),
}

/// Decodes `bytes` as a `pb.Definition` and renders it as pretty JSON.
pub fn dump_bytes(bytes: &[u8]) -> Result<String, DumpError> {
    let def = pb::Definition::decode(bytes).map_err(DumpError::Definition)?;
    dump(&def)
}

/// Renders a decoded definition as pretty JSON (trailing newline included).
pub fn dump(def: &pb::Definition) -> Result<String, DumpError> {
    let v = to_value(def)?;
    let mut s = serde_json::to_string_pretty(&v).map_err(DumpError::Json)?;
    s.push('\n');
    Ok(s)
}

/// The JSON value behind [`dump`].
pub fn to_value(def: &pb::Definition) -> Result<Value, DumpError> {
    let files: Vec<String> = def
        .source
        .as_ref()
        .map(|s| s.infos.iter().map(|i| i.filename.clone()).collect())
        .unwrap_or_default();
    let mut ops = Vec::with_capacity(def.def.len());
    for (index, bytes) in def.def.iter().enumerate() {
        let op =
            pb::Op::decode(bytes.as_slice()).map_err(|source| DumpError::Op { index, source })?;
        let dgst = digest(bytes);
        let mut o = Map::new();
        o.insert("digest".into(), json!(dgst));
        let inputs: Vec<Value> = op
            .inputs
            .iter()
            .map(|i| json!(format!("{}#{}", i.digest, i.index)))
            .collect();
        match &op.op {
            None => {
                o.insert("result".into(), Value::Array(inputs));
            }
            Some(body) => {
                o.insert("inputs".into(), Value::Array(inputs));
                let (kind, v) = body_value(body);
                o.insert(kind.into(), v);
            }
        }
        if let Some(p) = &op.platform {
            o.insert("platform".into(), json!(platform(p)));
        }
        if let Some(md) = def.metadata.get(&dgst) {
            if let Some(n) = md.description.get("llb.customname") {
                o.insert("name".into(), json!(n));
            }
            let other: Map<String, Value> = md
                .description
                .iter()
                .filter(|(k, _)| k.as_str() != "llb.customname")
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            if !other.is_empty() {
                o.insert("description".into(), Value::Object(other));
            }
            if md.ignore_cache {
                o.insert("ignore_cache".into(), json!(true));
            }
            if !md.caps.is_empty() {
                let caps: Vec<&String> = md
                    .caps
                    .iter()
                    .filter(|(_, on)| **on)
                    .map(|(c, _)| c)
                    .collect();
                o.insert("caps".into(), json!(caps));
            }
        }
        if let Some(locs) = def.source.as_ref().and_then(|s| s.locations.get(&dgst)) {
            let mut lines = Vec::new();
            for l in &locs.locations {
                let file = usize::try_from(l.source_index)
                    .ok()
                    .and_then(|i| files.get(i))
                    .map_or("?", String::as_str);
                for r in &l.ranges {
                    let start = r.start.as_ref().map_or(0, |p| p.line);
                    let end = r.end.as_ref().map_or(start, |p| p.line);
                    lines.push(if end > start {
                        json!(format!("{file}:{start}-{end}"))
                    } else {
                        json!(format!("{file}:{start}"))
                    });
                }
            }
            o.insert("lines".into(), Value::Array(lines));
        }
        ops.push(Value::Object(o));
    }
    let mut top = Map::new();
    top.insert("ops".into(), Value::Array(ops));
    if !files.is_empty() {
        top.insert("files".into(), json!(files));
    }
    Ok(Value::Object(top))
}

fn platform(p: &pb::Platform) -> String {
    let mut s = format!("{}/{}", p.os, p.architecture);
    if !p.variant.is_empty() {
        s.push('/');
        s.push_str(&p.variant);
    }
    s
}

fn body_value(body: &pb::op::Op) -> (&'static str, Value) {
    match body {
        pb::op::Op::Source(s) => (
            "source",
            json!({ "identifier": s.identifier, "attrs": s.attrs }),
        ),
        pb::op::Op::Exec(e) => ("exec", exec_value(e)),
        pb::op::Op::File(f) => (
            "file",
            Value::Array(f.actions.iter().map(action_value).collect()),
        ),
        pb::op::Op::Merge(m) => (
            "merge",
            Value::Array(m.inputs.iter().map(|i| json!(i.input)).collect()),
        ),
        pb::op::Op::Diff(d) => (
            "diff",
            json!({
                "lower": d.lower.as_ref().map(|l| l.input),
                "upper": d.upper.as_ref().map(|u| u.input),
            }),
        ),
        pb::op::Op::Build(_) => ("build", json!({})),
    }
}

fn exec_value(e: &pb::ExecOp) -> Value {
    let mut o = Map::new();
    if let Some(m) = &e.meta {
        o.insert("args".into(), json!(m.args));
        o.insert("env".into(), json!(m.env));
        o.insert("cwd".into(), json!(m.cwd));
        if !m.user.is_empty() {
            o.insert("user".into(), json!(m.user));
        }
    }
    let mounts: Vec<Value> = e.mounts.iter().map(mount_value).collect();
    o.insert("mounts".into(), Value::Array(mounts));
    match pb::NetMode::try_from(e.network) {
        Ok(pb::NetMode::Unset) => {}
        Ok(n) => {
            o.insert("network".into(), json!(n.as_str_name()));
        }
        Err(_) => {
            o.insert("network".into(), json!(e.network));
        }
    }
    if !e.secretenv.is_empty() {
        let s: Vec<Value> = e
            .secretenv
            .iter()
            .map(|s| json!({"name": s.name, "id": s.id, "optional": s.optional}))
            .collect();
        o.insert("secretenv".into(), Value::Array(s));
    }
    Value::Object(o)
}

fn mount_value(m: &pb::Mount) -> Value {
    let mut o = Map::new();
    o.insert("dest".into(), json!(m.dest));
    let kind = pb::MountType::try_from(m.mount_type).map_or("unknown", |t| match t {
        pb::MountType::Bind => "bind",
        pb::MountType::Secret => "secret",
        pb::MountType::Ssh => "ssh",
        pb::MountType::Cache => "cache",
        pb::MountType::Tmpfs => "tmpfs",
    });
    o.insert("type".into(), json!(kind));
    if kind == "bind" {
        o.insert(
            "input".into(),
            if m.input < 0 {
                json!("scratch")
            } else {
                json!(m.input)
            },
        );
        if !m.selector.is_empty() {
            o.insert("selector".into(), json!(m.selector));
        }
        if m.readonly {
            o.insert("readonly".into(), json!(true));
        } else {
            o.insert("output".into(), json!(m.output));
        }
    }
    if let Some(c) = &m.cache_opt {
        let sharing = pb::CacheSharingOpt::try_from(c.sharing).map_or("?", |s| s.as_str_name());
        o.insert("cache".into(), json!({"id": c.id, "sharing": sharing}));
    }
    if let Some(t) = &m.tmpfs_opt {
        o.insert("size".into(), json!(t.size));
    }
    if let Some(s) = &m.secret_opt {
        o.insert(
            "secret".into(),
            json!({"id": s.id, "uid": s.uid, "gid": s.gid, "mode": format!("{:o}", s.mode), "optional": s.optional}),
        );
    }
    if let Some(s) = &m.ssh_opt {
        o.insert(
            "ssh".into(),
            json!({"id": s.id, "uid": s.uid, "gid": s.gid, "mode": format!("{:o}", s.mode), "optional": s.optional}),
        );
    }
    Value::Object(o)
}

fn owner_value(o: &Option<pb::ChownOpt>) -> Option<Value> {
    let user = |u: &Option<pb::UserOpt>| match u.as_ref().and_then(|u| u.user.as_ref()) {
        Some(pb::user_opt::User::ById(id)) => id.to_string(),
        Some(pb::user_opt::User::ByName(n)) => n.name.clone(),
        None => String::new(),
    };
    o.as_ref()
        .map(|c| json!(format!("{}:{}", user(&c.user), user(&c.group))))
}

fn mode_value(mode: i32) -> Value {
    if mode < 0 {
        json!("keep")
    } else {
        json!(format!("{mode:04o}"))
    }
}

fn input_value(i: i64) -> Value {
    if i < 0 { json!("scratch") } else { json!(i) }
}

fn action_value(a: &pb::FileAction) -> Value {
    let mut o = Map::new();
    o.insert("input".into(), input_value(a.input));
    match &a.action {
        Some(pb::file_action::Action::Copy(c)) => {
            o.insert("copy_from".into(), input_value(a.secondary_input));
            o.insert("src".into(), json!(c.src));
            o.insert("dest".into(), json!(c.dest));
            o.insert("mode".into(), mode_value(c.mode));
            if let Some(v) = owner_value(&c.owner) {
                o.insert("owner".into(), v);
            }
            let flags: Vec<&str> = [
                (c.follow_symlink, "follow_symlink"),
                (c.dir_copy_contents, "dir_copy_contents"),
                (c.create_dest_path, "create_dest_path"),
                (c.allow_wildcard, "allow_wildcard"),
                (c.allow_empty_wildcard, "allow_empty_wildcard"),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n)
            .collect();
            o.insert("flags".into(), json!(flags));
            if !c.include_patterns.is_empty() {
                o.insert("include".into(), json!(c.include_patterns));
            }
            if !c.exclude_patterns.is_empty() {
                o.insert("exclude".into(), json!(c.exclude_patterns));
            }
        }
        Some(pb::file_action::Action::Mkdir(m)) => {
            o.insert("mkdir".into(), json!(m.path));
            o.insert("mode".into(), mode_value(m.mode));
            o.insert("parents".into(), json!(m.make_parents));
            if let Some(v) = owner_value(&m.owner) {
                o.insert("owner".into(), v);
            }
        }
        Some(pb::file_action::Action::Mkfile(m)) => {
            o.insert("mkfile".into(), json!(m.path));
            o.insert("mode".into(), mode_value(m.mode));
            o.insert("data".into(), json!(String::from_utf8_lossy(&m.data)));
            if let Some(v) = owner_value(&m.owner) {
                o.insert("owner".into(), v);
            }
        }
        Some(pb::file_action::Action::Rm(r)) => {
            o.insert("rm".into(), json!(r.path));
            o.insert("allow_not_found".into(), json!(r.allow_not_found));
        }
        Some(pb::file_action::Action::Symlink(s)) => {
            o.insert("symlink".into(), json!(s.newpath));
            o.insert("target".into(), json!(s.oldpath));
        }
        None => {}
    }
    let timestamp = match &a.action {
        Some(pb::file_action::Action::Copy(c)) => c.timestamp,
        Some(pb::file_action::Action::Mkdir(m)) => m.timestamp,
        Some(pb::file_action::Action::Mkfile(m)) => m.timestamp,
        Some(pb::file_action::Action::Symlink(s)) => s.timestamp,
        _ => -1,
    };
    if timestamp != -1 {
        // Seconds, as SOURCE_DATE_EPOCH is written (the op holds nanoseconds).
        o.insert("mtime".into(), json!(timestamp / 1_000_000_000));
    }
    o.insert("output".into(), json!(a.output));
    Value::Object(o)
}
