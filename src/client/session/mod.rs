//! The session: a `Control.Session` stream on which the daemon calls back
//! into the client over HTTP/2 (in progress: API first).

use std::collections::BTreeMap;
use std::path::PathBuf;

use tonic::transport::Channel;

use super::ClientError;

/// What the session offers the daemon.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    /// Session name shown by the daemon (e.g. the app name).
    pub name: String,
    /// Stable per source tree: the daemon keys its transfer cache of local
    /// sources by `name:sharedkeyhint:shared_key`, so reusing it across
    /// builds of one tree makes re-sends incremental.
    pub shared_key: String,
    /// Local directories by local name (`local://NAME` sources).
    pub dirs: BTreeMap<String, LocalDir>,
    /// Secrets by id (`secret` mounts).
    pub secrets: BTreeMap<String, SecretSource>,
    /// Export destinations; index i serves SolveRequest.Exporters\[i\].
    pub exports: Vec<ExportSink>,
    /// Serve registry credentials from the Docker config.
    pub auth: bool,
}

/// A local directory offered as `local://NAME`.
#[derive(Debug, Clone, Default)]
pub struct LocalDir {
    /// The directory.
    pub path: PathBuf,
    /// `.dockerignore` patterns, applied on top of the daemon's per-request
    /// include and exclude patterns.
    pub excludes: Vec<String>,
}

/// Where a secret's value comes from. Values are read when the daemon asks
/// and never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The contents of a file.
    File(PathBuf),
    /// The value of an environment variable.
    Env(String),
}

/// Where an exporter's output goes. Outputs are staged next to the target
/// and moved into place by [`Session::close`]; [`Session::abort`] (or a
/// failed transfer) removes them, so a failed build leaves nothing
/// half-written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportSink {
    /// A file receiving the exporter's byte stream (`tar`, `oci`, `docker`).
    Tar(PathBuf),
    /// A directory receiving the exported tree (`local`); replaced whole.
    Local(PathBuf),
}

/// A running session. Its id goes in `SolveRequest.session`.
#[derive(Debug)]
pub struct Session {
    /// The session id (x-docker-expose-session-uuid).
    pub id: String,
}

/// Opens a session on `channel` and starts serving it. Returns once the
/// daemon has accepted the stream.
pub async fn start(_channel: Channel, _cfg: SessionConfig) -> Result<Session, ClientError> {
    Err(ClientError::Session("not implemented yet".into()))
}

impl Session {
    /// Ends the session and moves completed exports into place.
    pub async fn close(self) -> Result<(), ClientError> {
        Ok(())
    }

    /// Ends the session and discards staged exports (for a failed build).
    pub async fn abort(self) {}
}
