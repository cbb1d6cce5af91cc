//! The BuildKit protocol: everything said to the daemon and answered back.
//!
//! `connect` dials it (buildkitd's socket or TCP with TLS, the Docker
//! Engine's `/grpc` upgrade); `solve` runs `Control.Solve` with its
//! `Control.Status` stream, which `progress` shows; `gateway` is the one
//! LLBBridge client (build-id scoped for the CLI, plain for the frontend),
//! and `binary` reads a produced binary back through its `Ref`; `session`
//! serves what the daemon calls back for (the context, outputs, auth,
//! secrets, SSH agents, local cache stores); `exporter`, `repro` and
//! `cache` turn the user's outputs and cache flags into the attributes of
//! a solve request.
//!
//! What is read from this machine before a build is [`super::inputs`];
//! what a build leaves on it, and the formats read back, [`super::artefacts`].

pub mod binary;
pub mod cache;
pub mod connect;
pub mod exporter;
pub mod gateway;
pub mod progress;
pub mod repro;
pub mod session;
pub mod solve;
