//! The session: a `Control.Session` stream on which the daemon calls back
//! into the client.
//!
//! The stream is a byte pipe (`BytesMessage` chunks) carrying HTTP/2 in
//! which the *daemon* is the client. We run an HTTP/2 server (h2, see
//! [`h2serve`], with tonic routes) on one end of an in-memory duplex and pump the other end
//! to and from the gRPC stream. Served methods are advertised in the
//! stream's metadata; the daemon calls nothing else.
//!
//! Services (see docs/client.md): Health (always), FileSync (local dirs),
//! FileSend (exports), Auth (registry credentials), Secrets, SSH (agents,
//! `ssh.rs`), Content (`type=local` build caches).

mod auth;
mod content;
mod filesend;
mod filesync;
mod fsmode;
mod h2serve;
mod ssh;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use crate::client::{ClientError, MAX_MESSAGE_SIZE};
use crate::proto::containerd::services::content::v1::content_server::ContentServer;
use crate::proto::grpc::health::v1::health_check_response::ServingStatus;
use crate::proto::grpc::health::v1::health_server::{Health, HealthServer};
use crate::proto::grpc::health::v1::{HealthCheckRequest, HealthCheckResponse};
use crate::proto::moby::buildkit::secrets::v1::secrets_server::{Secrets, SecretsServer};
use crate::proto::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use crate::proto::moby::buildkit::v1::BytesMessage;
use crate::proto::moby::filesync::v1::auth_server::AuthServer;
use crate::proto::moby::filesync::v1::file_sync_server::FileSyncServer;
use crate::proto::moby::sshforward::v1::ssh_server::SshServer;

pub use content::STORE_ID_HEADER;
pub use filesync::{Filter, WalkEntry, walk, walk_with};

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
    /// SSH agents' sockets by id (`ssh` mounts).
    pub ssh: BTreeMap<String, PathBuf>,
    /// Export destinations; index i serves SolveRequest.Exporters\[i\].
    pub exports: Vec<ExportSink>,
    /// Serve registry credentials from the Docker config.
    pub auth: bool,
    /// Content stores by store id (`local:DIR`), for `type=local` cache
    /// exports and imports (see [`crate::client::buildkit::cache`]).
    pub content_stores: BTreeMap<String, ContentStore>,
}

/// An OCI image layout directory the daemon reads cache blobs from and, when
/// `writable`, writes them to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentStore {
    pub dir: PathBuf,
    pub writable: bool,
}

/// A local directory offered as `local://NAME`.
#[derive(Debug, Clone, Default)]
pub struct LocalDir {
    /// The directory.
    pub path: PathBuf,
    /// `.dockerignore` patterns, applied on top of the daemon's per-request
    /// include and exclude patterns (see [`crate::client::inputs::patterns::read_dockerignore`]).
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
    /// A directory receiving the exported tree (`local`); merged into an
    /// existing directory (see [`crate::client::artefacts::destination`]).
    Local(PathBuf),
}

/// A running session. Its id goes in `SolveRequest.session`. Close it with
/// [`Session::close`] after a successful solve, or [`Session::abort`].
pub struct Session {
    /// The session id (x-docker-expose-session-uuid).
    pub id: String,
    server: JoinHandle<()>,
    pump: JoinHandle<()>,
    exports: Arc<filesend::Exports>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// containerd's content service, advertised whole as Go's session
/// advertises a registered service; the methods a cache never needs answer
/// Unimplemented.
const CONTENT_METHODS: [&str; 9] = [
    "/containerd.services.content.v1.Content/Info",
    "/containerd.services.content.v1.Content/Update",
    "/containerd.services.content.v1.Content/List",
    "/containerd.services.content.v1.Content/Delete",
    "/containerd.services.content.v1.Content/Read",
    "/containerd.services.content.v1.Content/Status",
    "/containerd.services.content.v1.Content/ListStatuses",
    "/containerd.services.content.v1.Content/Write",
    "/containerd.services.content.v1.Content/Abort",
];

/// Adds a service to the routes and its methods to what is advertised,
/// in one step, so the two lists cannot disagree.
macro_rules! serve {
    ($served:expr, $methods:expr, $service:expr) => {{
        $served.0.extend($methods);
        $served.1 = $served.1.add_service($service);
    }};
}

/// The services a session serves for `cfg`: the gRPC methods advertised
/// to the daemon and the routes that answer them.
fn services(
    cfg: &SessionConfig,
    exports: &Arc<filesend::Exports>,
) -> (Vec<&'static str>, tonic::service::Routes) {
    let mut served = (
        vec!["/grpc.health.v1.Health/Check"],
        tonic::service::Routes::new(HealthServer::new(HealthService)),
    );
    serve!(
        served,
        ["/moby.buildkit.secrets.v1.Secrets/GetSecret"],
        SecretsServer::new(SecretsService {
            secrets: cfg.secrets.clone(),
        })
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
    );
    if !cfg.ssh.is_empty() {
        serve!(
            served,
            [
                "/moby.sshforward.v1.SSH/CheckAgent",
                "/moby.sshforward.v1.SSH/ForwardAgent",
            ],
            SshServer::new(ssh::SshService {
                agents: cfg.ssh.clone(),
            })
        );
    }
    if !cfg.dirs.is_empty() {
        serve!(
            served,
            [
                "/moby.filesync.v1.FileSync/DiffCopy",
                "/moby.filesync.v1.FileSync/TarStream",
            ],
            FileSyncServer::new(filesync::FileSyncService::new(cfg.dirs.clone()))
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE)
        );
    }
    if !cfg.exports.is_empty() {
        serve!(
            served,
            ["/moby.filesync.v1.FileSend/DiffCopy"],
            filesend::FileSendServer::new(Arc::clone(exports))
        );
    }
    if cfg.auth {
        serve!(
            served,
            [
                "/moby.filesync.v1.Auth/Credentials",
                "/moby.filesync.v1.Auth/FetchToken",
                "/moby.filesync.v1.Auth/GetTokenAuthority",
                "/moby.filesync.v1.Auth/VerifyTokenAuthority",
            ],
            AuthServer::new(auth::AuthService::from_env())
        );
    }
    if !cfg.content_stores.is_empty() {
        serve!(
            served,
            CONTENT_METHODS,
            ContentServer::new(content::ContentService::new(cfg.content_stores.clone()))
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE)
        );
    }
    served
}

/// Opens a session on `channel` and starts serving it. Returns once the
/// daemon has accepted the stream; the session then runs in the background
/// until closed.
pub async fn start(channel: Channel, cfg: SessionConfig) -> Result<Session, ClientError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let exports = Arc::new(filesend::Exports::new(cfg.exports.clone()));
    let (methods, routes) = services(&cfg, &exports);

    // `ours` carries the HTTP/2 server; `theirs` is pumped to the stream.
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    // The connection ends when the daemon or `close` ends the stream.
    let server = tokio::spawn(h2serve::serve(ours, routes));
    let (mut rd, mut wr) = tokio::io::split(theirs);
    // Our server's output, chunked into BytesMessages for the stream.
    let (tx, rx) = tokio::sync::mpsc::channel::<BytesMessage>(16);
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let msg = BytesMessage {
                        data: buf[..n].to_vec(),
                    };
                    if tx.send(msg).await.is_err() {
                        break;
                    }
                }
            }
        }
    });

    let mut req = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    let md = req.metadata_mut();
    md.insert("x-docker-expose-session-uuid", ascii_value(&id));
    md.insert("x-docker-expose-session-name", ascii_value(&cfg.name));
    md.insert(
        "x-docker-expose-session-sharedkey",
        ascii_value(&cfg.shared_key),
    );
    for m in methods {
        md.append(
            "x-docker-expose-session-grpc-method",
            MetadataValue::from_static(m),
        );
    }
    let mut client = crate::client::control_client(channel);
    let resp = match tokio::time::timeout(Duration::from_secs(30), client.session(req)).await {
        Ok(Ok(r)) => r,
        Ok(Err(status)) => {
            server.abort();
            reader.abort();
            return Err(ClientError::rpc("Control.Session", status));
        }
        Err(_) => {
            server.abort();
            reader.abort();
            return Err(ClientError::Session(
                "the daemon did not accept the session within 30 s".into(),
            ));
        }
    };
    let mut inbound = resp.into_inner();
    // The daemon's bytes are taken off the stream as they arrive and queued
    // for our server, never left in the connection: a REQ (or a STAT of an
    // export) is a tiny message, and h2 ends a connection that holds too
    // many small DATA frames unread (GOAWAY ENHANCE_YOUR_CALM,
    // "too_many_data_frames") when the task reading it falls behind. The
    // outer connection's limits cannot be tuned through tonic. The queue
    // stays small anyway: what the daemon may send is bounded by the flow
    // control windows of the HTTP/2 connection inside.
    let (in_tx, mut in_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(data) = in_rx.recv().await {
            if wr.write_all(&data).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let pump = tokio::spawn(async move {
        while let Some(Ok(msg)) = inbound.next().await {
            if in_tx.send(msg.data).is_err() {
                break;
            }
        }
        drop(in_tx);
        let _ = writer.await;
        reader.abort();
    });
    Ok(Session {
        id,
        server,
        pump,
        exports,
    })
}

/// Metadata values must be visible ASCII; anything else becomes `_`.
fn ascii_value(s: &str) -> MetadataValue<tonic::metadata::Ascii> {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean
        .parse()
        .unwrap_or_else(|_| MetadataValue::from_static("_"))
}

impl Session {
    /// Ends the session and moves completed exports into place. Fails if an
    /// export transfer failed (its staging is removed).
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.stop().await;
        self.exports.commit()
    }

    /// Ends the session and discards staged exports (for a failed build).
    pub async fn abort(mut self) {
        self.stop().await;
        self.exports.discard();
    }

    async fn stop(&mut self) {
        self.server.abort();
        // Aborting the server drops its end of the pipe: the outbound
        // stream ends, the daemon closes its side, and the pump returns.
        // A daemon that does not answer is not waited for long.
        if tokio::time::timeout(Duration::from_secs(5), &mut self.pump)
            .await
            .is_err()
        {
            self.pump.abort();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.server.abort();
        self.pump.abort();
        self.exports.discard();
    }
}

/// `grpc.health.v1.Health`: always SERVING while the session runs.
struct HealthService;

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        _req: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        Ok(tonic::Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }
}

/// `moby.buildkit.secrets.v1.Secrets`: values are read on demand and never
/// logged or put in error messages.
struct SecretsService {
    secrets: BTreeMap<String, SecretSource>,
}

#[tonic::async_trait]
impl Secrets for SecretsService {
    async fn get_secret(
        &self,
        req: tonic::Request<GetSecretRequest>,
    ) -> Result<tonic::Response<GetSecretResponse>, tonic::Status> {
        let id = req.into_inner().id;
        let data = match self.secrets.get(&id) {
            None => {
                return Err(tonic::Status::not_found(format!(
                    "secret `{id}` is not provided by the client"
                )));
            }
            Some(SecretSource::Env(var)) => match std::env::var_os(var) {
                Some(v) => v.into_encoded_bytes(),
                None => {
                    return Err(tonic::Status::not_found(format!(
                        "secret `{id}`: environment variable {var} is not set"
                    )));
                }
            },
            Some(SecretSource::File(path)) => tokio::fs::read(path).await.map_err(|e| {
                tonic::Status::not_found(format!(
                    "secret `{id}`: cannot read `{}`: {e}",
                    path.display()
                ))
            })?,
        };
        Ok(tonic::Response::new(GetSecretResponse { data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served_methods(cfg: &SessionConfig) -> Vec<&'static str> {
        services(cfg, &Arc::new(filesend::Exports::new(cfg.exports.clone()))).0
    }

    #[test]
    fn content_service_is_advertised_only_with_stores() {
        let mut cfg = SessionConfig::default();
        assert!(
            !served_methods(&cfg)
                .iter()
                .any(|m| m.starts_with("/containerd."))
        );
        cfg.content_stores.insert(
            "local:/c".into(),
            ContentStore {
                dir: "/c".into(),
                writable: true,
            },
        );
        let m = served_methods(&cfg);
        for want in CONTENT_METHODS {
            assert!(m.contains(&want), "{want} missing from {m:?}");
        }
        assert!(m.contains(&"/containerd.services.content.v1.Content/Write"));
    }
}
