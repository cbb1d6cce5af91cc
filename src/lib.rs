//! scratchc: a declarative build language for small, safe container images,
//! compiled to BuildKit LLB.
//!
//! The compiler (`compiler`, `llb`) does no IO: it turns sources into a
//! protobuf definition; `deploy` turns a checked app into Kubernetes and
//! Compose YAML, with no IO either; `init` turns the Go files of a module
//! into a first app file, with no IO either. The client, the frontend and the CLI
//! sit outside them. `platform` and `image_ref` are the leaf types they all
//! share.

pub mod build;
pub mod cli;
pub mod client;
pub mod compiler;
pub mod deploy;
pub mod frontend;
pub mod gobin;
pub mod image_ref;
pub mod init;
pub mod llb;
pub mod platform;
pub mod proto;
pub mod sbom;
