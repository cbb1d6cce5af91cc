//! The BuildKit client: connecting to a daemon (standalone buildkitd or the
//! Docker Engine's embedded BuildKit) and serving the session the daemon
//! calls back on (local files, exports, registry credentials, secrets).
//!
//! This is one of the few places that does IO; the compiler never calls it.
//! Every error is a [`ClientError`] that names what was tried and where.

pub mod artefacts;
pub mod buildkit;
pub mod errors;
pub mod inputs;

use std::path::PathBuf;

pub use buildkit::connect::{Endpoint, TlsFiles, connect, control_client, resolve};

/// Largest gRPC message our clients encode or accept (a big status batch
/// can pass grpc's 4 MiB default). What the daemon accepts from us is
/// smaller: 4 MiB for the Docker Engine and buildkitd before v0.14, which
/// is why definitions are capped when they are made
/// (`compiler::lower::MAX_DEFINITION_BYTES`, docs/security.md).
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// The BuildKit versions the client, the frontend and their tests run
/// against, as `scratchc --version` says. Kept with the compatibility
/// table of docs/client.md ("Compatibility"), which a unit test holds to
/// this text.
pub const TESTED_BUILDKIT: &str = "0.13 (Docker Engine 26.1, buildx 0.13)";

/// The async runtime the CLI verbs and frontend mode run on: two worker
/// threads, IO and timers enabled.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Everything that can go wrong talking to a BuildKit daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon address could not be understood.
    #[error("invalid BuildKit address `{addr}`: {reason}")]
    InvalidAddress {
        /// The address as given.
        addr: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// The daemon could not be reached.
    #[error("cannot connect to {endpoint}: {detail}")]
    Connect {
        /// The endpoint tried (see [`Endpoint`]'s Display).
        endpoint: String,
        /// The underlying failure, with its causes.
        detail: String,
    },
    /// TLS material could not be loaded.
    #[error("TLS setup failed: {detail}")]
    Tls {
        /// What failed, naming the file.
        detail: String,
    },
    /// A local file or directory could not be read or written.
    #[error("{what} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The daemon answered a call with an error.
    #[error("{call} failed: {}: {}", status.code(), status.message())]
    Rpc {
        /// The RPC, e.g. `Control.Session`.
        call: &'static str,
        /// The gRPC status returned.
        status: Box<tonic::Status>,
    },
    /// The session with the daemon failed.
    #[error("session: {0}")]
    Session(String),
    /// A `.dockerignore` pattern cannot be parsed.
    #[error("in `{}`: {error}", file.display())]
    InvalidPattern {
        /// The file holding the pattern.
        file: PathBuf,
        /// The pattern and what is wrong with it.
        error: inputs::patterns::PatternError,
    },
}

impl ClientError {
    /// Wraps a gRPC status from `call`.
    pub fn rpc(call: &'static str, status: tonic::Status) -> Self {
        ClientError::Rpc {
            call,
            status: Box::new(status),
        }
    }

    /// Wraps an IO error on `path`.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ClientError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// Renders an error with its chain of causes, `a: b: c`, for messages that
/// must say why (tonic's transport errors hide the cause otherwise).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    /// `--version` and the docs say the same: the compatibility table of
    /// docs/client.md names the versions of [`super::TESTED_BUILDKIT`].
    #[test]
    fn tested_versions_match_the_compatibility_table() {
        let doc = include_str!("../../docs/client.md");
        let table = doc
            .split("## Compatibility")
            .nth(1)
            .expect("docs/client.md has a Compatibility section");
        assert!(
            table.contains(&format!("`{}`", super::TESTED_BUILDKIT)),
            "docs/client.md, Compatibility, must quote `{}`",
            super::TESTED_BUILDKIT
        );
    }
}
