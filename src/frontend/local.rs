//! Small LLB definitions the frontend solves for itself: reading the
//! `dockerfile` local (the app.scratch and its imports) and the context's
//! `.dockerignore`. These are not part of the app's build graph, so they are
//! made here, not by the compiler.

use std::collections::BTreeMap;

use prost::Message;
use sha2::{Digest, Sha256};

use crate::proto::pb;

/// What to take from a local directory of the client's session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalRead<'a> {
    /// The local's name (`dockerfile`, `context`).
    pub name: &'a str,
    /// The client session holding it (`BUILDKIT_SESSION_ID`).
    pub session: &'a str,
    /// Paths to transfer (exact paths, parents kept).
    pub follow_paths: &'a [String],
    /// Include patterns (`.dockerignore` syntax); empty means none.
    pub include: &'a [String],
    /// Keeps this small transfer's cache apart from the full context's.
    pub shared_key_hint: &'a str,
    /// The name shown in the progress output.
    pub progress_name: &'a str,
}

/// The `pb.Definition` of one local source. Like the Dockerfile frontend's
/// own "load build definition" step it uses the `none` differ: the files
/// are a few kilobytes, so copying them whole beats checksumming.
pub fn definition(read: &LocalRead<'_>) -> pb::Definition {
    let mut attrs = BTreeMap::new();
    attrs.insert("local.session".to_string(), read.session.to_string());
    attrs.insert(
        "local.sharedkeyhint".to_string(),
        read.shared_key_hint.to_string(),
    );
    attrs.insert("local.differ".to_string(), "none".to_string());
    let mut caps = BTreeMap::new();
    caps.insert("source.local".to_string(), true);
    caps.insert("source.local.sessionid".to_string(), true);
    caps.insert("source.local.sharedkeyhint".to_string(), true);
    caps.insert("source.local.differ".to_string(), true);
    caps.insert("constraints".to_string(), true);
    caps.insert("meta.description".to_string(), true);
    if !read.follow_paths.is_empty() {
        attrs.insert(
            "local.followpaths".to_string(),
            json_list(read.follow_paths),
        );
        caps.insert("source.local.followpaths".to_string(), true);
    }
    if !read.include.is_empty() {
        attrs.insert("local.includepattern".to_string(), json_list(read.include));
        caps.insert("source.local.includepatterns".to_string(), true);
    }
    let source = pb::Op {
        inputs: Vec::new(),
        op: Some(pb::op::Op::Source(pb::SourceOp {
            identifier: format!("local://{}", read.name),
            attrs,
        })),
        platform: None,
        constraints: Some(pb::WorkerConstraints::default()),
    };
    // In BuildKit's field order, as every op we send (`llb::op_bytes`).
    let source_bytes = crate::llb::op_bytes(&source);
    let digest = digest_of(&source_bytes);
    let terminal = pb::Op {
        inputs: vec![pb::Input {
            digest: digest.clone(),
            index: 0,
        }],
        op: None,
        platform: None,
        constraints: None,
    };
    let mut description = BTreeMap::new();
    description.insert("llb.customname".to_string(), read.progress_name.to_string());
    let mut metadata = BTreeMap::new();
    metadata.insert(
        digest,
        pb::OpMetadata {
            description,
            caps,
            ..Default::default()
        },
    );
    pb::Definition {
        def: vec![source_bytes, terminal.encode_to_vec()],
        metadata,
        source: None,
    }
}

/// `sha256:<hex>` of some bytes: the digest BuildKit gives an op.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_local_read_is_a_source_and_a_terminal() {
        let follow = vec!["app.scratch".to_string()];
        let def = definition(&LocalRead {
            name: "dockerfile",
            session: "s1",
            follow_paths: &follow,
            include: &[],
            shared_key_hint: "scratchc-sources",
            progress_name: "load app.scratch",
        });
        assert_eq!(def.def.len(), 2);
        let src = pb::Op::decode(def.def[0].as_slice()).unwrap();
        let Some(pb::op::Op::Source(s)) = src.op else {
            panic!("not a source")
        };
        assert_eq!(s.identifier, "local://dockerfile");
        assert_eq!(s.attrs["local.followpaths"], r#"["app.scratch"]"#);
        assert_eq!(s.attrs["local.session"], "s1");
        let term = pb::Op::decode(def.def[1].as_slice()).unwrap();
        assert_eq!(term.inputs[0].digest, digest_of(&def.def[0]));
        assert!(def.metadata.contains_key(&term.inputs[0].digest));
    }
}
