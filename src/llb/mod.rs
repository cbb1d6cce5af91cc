//! Our own LLB layer: a typed graph builder (`graph`), its deterministic
//! marshaling to `pb.Definition` (`marshal`, which writes the encoded form
//! by hand with `wire`) and a readable JSON dump of any definition
//! (`json`). No IO.
//!
//! Invariants: nodes only point at earlier nodes (acyclic by
//! construction); the same graph marshals to the same bytes; an op's
//! digest is `sha256:` + hex of its marshaled bytes.

mod caps;
pub mod graph;
pub mod json;
pub mod marshal;
mod wire;

pub use graph::{
    Body, CacheSharing, CopyOpts, Exec, ExecOutputs, FileAction, FileOp, Graph, LlbError,
    LocalOpts, Meta, Mount, MountKind, Network, NodeId, Output, Owner, ResolveMode, SecretEnv,
    Source, SourceRange,
};
pub use marshal::{Marshaler, SourceFileInfo, digest, marshal, marshal_bytes, op_bytes};
