//! Finding and dialing a BuildKit daemon.
//!
//! Two kinds of daemon speak the same Control API:
//! - a standalone `buildkitd`, which serves gRPC directly (prior-knowledge
//!   HTTP/2) on a unix socket or a TCP port, usually with mutual TLS;
//! - the Docker Engine, whose embedded BuildKit is reached by `POST /grpc`
//!   with `Upgrade: h2c` on the Engine API; after `101 Switching
//!   Protocols` the same connection carries HTTP/2.
//!
//! [`connect`] returns a tonic [`Channel`] whose connector does whatever
//! dialing, TLS and upgrade the endpoint needs, once per connection, so the
//! rest of the client sees plain gRPC. Addresses are documented in
//! docs/client.md.
//!
//! No wait is unbounded: dialing (socket, TLS, the Docker upgrade) and the
//! daemon's first answer each have [`Timeouts::connect`] (20 s, or
//! `SCRATCHC_CONNECT_TIMEOUT` seconds), and while calls are open the
//! connection is pinged ([`KEEPALIVE_INTERVAL`]) so a daemon that stops
//! answering mid-build ends the build with an error instead of a hang.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tonic::transport::Channel;

use crate::client::{ClientError, MAX_MESSAGE_SIZE, error_chain};
use crate::proto::moby::buildkit::v1::control_client::ControlClient;

/// buildkitd's default socket when run as root.
pub const BUILDKITD_SOCKET: &str = "/run/buildkit/buildkitd.sock";
/// The Docker Engine's default socket.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// The environment variable that overrides [`Timeouts::connect`]
/// (whole seconds, at least 1).
pub const CONNECT_TIMEOUT_ENV: &str = "SCRATCHC_CONNECT_TIMEOUT";
/// Default for [`Timeouts::connect`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// HTTP/2 pings while a call is open. grpc-go servers (buildkitd, the
/// Docker Engine) by default allow a client ping at most every 5 minutes
/// when they have sent nothing since, and close the connection with
/// `too_many_pings` after the third faster one; so the interval stays
/// just over 5 minutes, and pings are sent only while calls are open.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(310);
/// How long a ping may go unanswered before the connection is closed.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How long connecting may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Bounds dialing (socket, TLS handshake, the Docker Engine's upgrade)
    /// and, separately, the daemon's answer to the first call.
    pub connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl Timeouts {
    /// The defaults with `SCRATCHC_CONNECT_TIMEOUT` applied; an error names
    /// the variable when its value is not a whole number of seconds > 0.
    pub fn from_env() -> Result<Timeouts, ClientError> {
        Timeouts::from_value(std::env::var(CONNECT_TIMEOUT_ENV).ok().as_deref())
    }

    fn from_value(v: Option<&str>) -> Result<Timeouts, ClientError> {
        let Some(v) = v.filter(|v| !v.is_empty()) else {
            return Ok(Timeouts::default());
        };
        match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Timeouts {
                connect: Duration::from_secs(n),
            }),
            _ => Err(ClientError::InvalidAddress {
                addr: format!("{CONNECT_TIMEOUT_ENV}={v}"),
                reason: "the connect timeout is a whole number of seconds, at least 1".into(),
            }),
        }
    }
}

/// TLS files for a TCP endpoint. With none set the endpoint is plain TCP.
/// Server certificates are always verified: against `ca` when given, else
/// against the system's CA bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM CA certificate(s) that sign the daemon's certificate.
    pub ca: Option<PathBuf>,
    /// PEM client certificate, for daemons that require client auth.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
}

impl TlsFiles {
    /// Whether any TLS file is set (which turns TLS on).
    pub fn any(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }
}

/// Where the daemon is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// buildkitd on a unix socket (`unix:///run/buildkit/buildkitd.sock`).
    BuildkitUnix(PathBuf),
    /// buildkitd on TCP (`tcp://host:port`), TLS when `tls` is set.
    BuildkitTcp {
        host: String,
        port: u16,
        tls: Option<TlsFiles>,
    },
    /// The Docker Engine on a unix socket (`docker+unix:///var/run/docker.sock`).
    DockerUnix(PathBuf),
    /// The Docker Engine on TCP (`docker+tcp://host:2376`), TLS when set.
    DockerTcp {
        host: String,
        port: u16,
        tls: Option<TlsFiles>,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host_of = |h: &str| {
            if h.contains(':') {
                format!("[{h}]")
            } else {
                h.to_string()
            }
        };
        match self {
            Endpoint::BuildkitUnix(p) => write!(f, "buildkitd at unix://{}", p.display()),
            Endpoint::BuildkitTcp { host, port, tls } => write!(
                f,
                "buildkitd at tcp://{}:{port}{}",
                host_of(host),
                if tls.is_some() { " (TLS)" } else { "" }
            ),
            Endpoint::DockerUnix(p) => write!(f, "the Docker Engine at unix://{}", p.display()),
            Endpoint::DockerTcp { host, port, tls } => write!(
                f,
                "the Docker Engine at tcp://{}:{port}{}",
                host_of(host),
                if tls.is_some() { " (TLS)" } else { "" }
            ),
        }
    }
}

/// Picks the daemon from, in order: `addr` (the `--addr` flag),
/// `BUILDKIT_HOST`, `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` and
/// `DOCKER_CERT_PATH`), buildkitd's default socket if it exists, else the
/// Docker Engine's default socket. `tls` (the `--tls*` flags) overrides TLS
/// files from the environment.
pub fn resolve(addr: Option<&str>, tls: &TlsFiles) -> Result<Endpoint, ClientError> {
    resolve_with(
        addr,
        tls,
        &|k| std::env::var(k).ok().filter(|v| !v.is_empty()),
        &|p| p.exists(),
    )
}

/// [`resolve`] with the environment and the file system passed in, so the
/// rules can be tested without touching either.
pub fn resolve_with(
    addr: Option<&str>,
    tls: &TlsFiles,
    env: &dyn Fn(&str) -> Option<String>,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<Endpoint, ClientError> {
    if let Some(a) = addr {
        if a.trim().is_empty() {
            return Err(ClientError::InvalidAddress {
                addr: a.to_string(),
                reason: "the address is empty; leave --addr out for the default, or give unix:///PATH, tcp://HOST:PORT, docker, docker+unix:///PATH or docker+tcp://HOST:PORT".into(),
            });
        }
        return parse_buildkit_addr(a, tls, env);
    }
    if let Some(a) = env("BUILDKIT_HOST") {
        return parse_buildkit_addr(&a, tls, env);
    }
    if let Some(a) = env("DOCKER_HOST") {
        return parse_docker_host(&a, tls, env);
    }
    if exists(Path::new(BUILDKITD_SOCKET)) {
        return Ok(Endpoint::BuildkitUnix(PathBuf::from(BUILDKITD_SOCKET)));
    }
    Ok(Endpoint::DockerUnix(PathBuf::from(DOCKER_SOCKET)))
}

/// Parses a buildctl-style address (`--addr`, `BUILDKIT_HOST`).
fn parse_buildkit_addr(
    addr: &str,
    tls: &TlsFiles,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidAddress {
        addr: addr.to_string(),
        reason: reason.to_string(),
    };
    if addr == "docker" || addr == "docker://" {
        return match env("DOCKER_HOST") {
            Some(h) => parse_docker_host(&h, tls, env),
            None => Ok(Endpoint::DockerUnix(PathBuf::from(DOCKER_SOCKET))),
        };
    }
    if let Some(path) = addr.strip_prefix("unix://") {
        return unix_path(path).map(Endpoint::BuildkitUnix).ok_or_else(|| {
            invalid(
                "a unix address needs an absolute path, e.g. unix:///run/buildkit/buildkitd.sock",
            )
        });
    }
    if let Some(path) = addr.strip_prefix("docker+unix://") {
        return unix_path(path).map(Endpoint::DockerUnix).ok_or_else(|| {
            invalid(
                "a unix address needs an absolute path, e.g. docker+unix:///var/run/docker.sock",
            )
        });
    }
    if let Some(rest) = addr.strip_prefix("tcp://") {
        let (host, port) = host_port(rest).ok_or_else(|| invalid("expected tcp://HOST:PORT"))?;
        let tls = tls.any().then(|| tls.clone());
        return Ok(Endpoint::BuildkitTcp { host, port, tls });
    }
    if let Some(rest) = addr.strip_prefix("docker+tcp://") {
        let (host, port) =
            host_port(rest).ok_or_else(|| invalid("expected docker+tcp://HOST:PORT"))?;
        let tls = if tls.any() {
            Some(tls.clone())
        } else {
            docker_env_tls(env)
        };
        return Ok(Endpoint::DockerTcp { host, port, tls });
    }
    Err(invalid(
        "use unix:///PATH or tcp://HOST:PORT for buildkitd, docker, docker+unix:///PATH or docker+tcp://HOST:PORT for the Docker Engine",
    ))
}

/// Parses `DOCKER_HOST` (`unix://PATH` or `tcp://HOST:PORT`): always the
/// Docker Engine.
fn parse_docker_host(
    addr: &str,
    tls: &TlsFiles,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidAddress {
        addr: format!("DOCKER_HOST={addr}"),
        reason: reason.to_string(),
    };
    if let Some(path) = addr.strip_prefix("unix://") {
        return unix_path(path)
            .map(Endpoint::DockerUnix)
            .ok_or_else(|| invalid("a unix address needs an absolute path"));
    }
    if let Some(rest) = addr.strip_prefix("tcp://") {
        let (host, port) = host_port(rest).ok_or_else(|| invalid("expected tcp://HOST:PORT"))?;
        let tls = if tls.any() {
            Some(tls.clone())
        } else {
            docker_env_tls(env)
        };
        return Ok(Endpoint::DockerTcp { host, port, tls });
    }
    Err(invalid(
        "scratchc supports unix:// and tcp:// Docker hosts (ssh:// is not supported)",
    ))
}

/// Docker's TLS convention: `DOCKER_TLS_VERIFY` set turns verified TLS on,
/// with `ca.pem`, `cert.pem`, `key.pem` from `DOCKER_CERT_PATH` (default
/// `~/.docker`).
fn docker_env_tls(env: &dyn Fn(&str) -> Option<String>) -> Option<TlsFiles> {
    env("DOCKER_TLS_VERIFY").filter(|v| v != "0")?;
    let dir = env("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".docker")))?;
    Some(TlsFiles {
        ca: Some(dir.join("ca.pem")),
        cert: Some(dir.join("cert.pem")),
        key: Some(dir.join("key.pem")),
    })
}

fn unix_path(path: &str) -> Option<PathBuf> {
    path.starts_with('/').then(|| PathBuf::from(path))
}

/// `host:port` or `[v6]:port`, the port 1 to 65535; a trailing `/` is
/// tolerated. A bare IPv6 address (no brackets), an unclosed `[`, a path
/// or an empty host is refused.
fn host_port(rest: &str) -> Option<(String, u16)> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            if host.is_empty() || !host.contains(':') || host.contains(['[', ']']) {
                return None;
            }
            (host, after.strip_prefix(':')?)
        }
        None => {
            let (host, port) = rest.split_once(':')?;
            if host.is_empty() || host.contains(['[', ']']) {
                return None;
            }
            (host, port)
        }
    };
    if host.contains(['/', '@', '?', '#', ' '])
        || port.is_empty()
        || !port.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    (port != 0).then(|| (host.to_string(), port))
}

/// Connects to the daemon and returns a gRPC channel, with the default
/// timeouts and `SCRATCHC_CONNECT_TIMEOUT` (see [`connect_with`]).
pub async fn connect(ep: &Endpoint) -> Result<Channel, ClientError> {
    connect_with(ep, Timeouts::from_env()?).await
}

/// Connects to the daemon and returns a gRPC channel. The first connection
/// is made at once and the daemon must answer a first call (`Info`; any
/// answer, an error included, will do) within `t.connect`, so an
/// unreachable daemon, or a listener that accepts and never speaks, fails
/// here naming `ep`.
pub async fn connect_with(ep: &Endpoint, t: Timeouts) -> Result<Channel, ClientError> {
    let channel = dial_channel(ep, t).await?;
    let mut probe = control_client(channel.clone());
    let request = crate::proto::moby::buildkit::v1::InfoRequest {};
    match tokio::time::timeout(t.connect, probe.info(request)).await {
        Ok(Ok(_)) => Ok(channel),
        // An answer, even "unimplemented", is a live gRPC server; a broken
        // connection is not.
        Ok(Err(status)) if status.code() != tonic::Code::Unavailable => Ok(channel),
        Ok(Err(status)) => Err(ClientError::Connect {
            endpoint: ep.to_string(),
            detail: format!(
                "the connection failed before the daemon answered: {}",
                status.message()
            ),
        }),
        Err(_) => Err(ClientError::Connect {
            endpoint: ep.to_string(),
            detail: format!(
                "no answer within {}s (is a BuildKit daemon or Docker Engine listening there?); \
                 set {CONNECT_TIMEOUT_ENV}=SECONDS to wait longer",
                t.connect.as_secs()
            ),
        }),
    }
}

/// The channel, its first connection made (dial, TLS, upgrade) within
/// `t.connect`.
async fn dial_channel(ep: &Endpoint, t: Timeouts) -> Result<Channel, ClientError> {
    let tls = match ep {
        Endpoint::BuildkitTcp {
            tls: Some(t), host, ..
        } => Some(tls_connector(t, host, true)?),
        Endpoint::DockerTcp {
            tls: Some(t), host, ..
        } => Some(tls_connector(t, host, false)?),
        _ => None,
    };
    let dialer = Arc::new(Dialer {
        ep: ep.clone(),
        tls,
    });
    let connector = tower::service_fn(move |_uri: http::Uri| {
        let dialer = Arc::clone(&dialer);
        async move { dialer.dial().await.map(TokioIo::new) }
    });
    // The URI only feeds the HTTP/2 :authority header; the connector decides
    // where bytes go.
    let endpoint = tonic::transport::Endpoint::from_static("http://buildkitd")
        .connect_timeout(t.connect)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(false);
    let dial = endpoint.connect_with_connector(connector);
    // The connector's own timeout covers the dial; this one also covers
    // the HTTP/2 handshake that follows it.
    match tokio::time::timeout(t.connect + Duration::from_secs(1), dial).await {
        Ok(r) => r.map_err(|e| ClientError::Connect {
            endpoint: ep.to_string(),
            detail: timeout_hint(error_chain(&e), t),
        }),
        Err(_) => Err(ClientError::Connect {
            endpoint: ep.to_string(),
            detail: timeout_hint("timed out".into(), t),
        }),
    }
}

/// A connect failure's detail, with the way to wait longer when it was
/// the timeout.
fn timeout_hint(detail: String, t: Timeouts) -> String {
    if detail.contains("timed out") || detail.contains("elapsed") {
        format!(
            "{detail} (no connection within {}s; set {CONNECT_TIMEOUT_ENV}=SECONDS to wait longer)",
            t.connect.as_secs()
        )
    } else {
        detail
    }
}

/// A Control client with message limits raised to [`MAX_MESSAGE_SIZE`].
/// Use this rather than `ControlClient::new`: the defaults (4 MiB) are too
/// small for large definitions and status batches.
pub fn control_client(channel: Channel) -> ControlClient<Channel> {
    ControlClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
}

/// Any byte stream a connection can run over.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

struct TlsDial {
    connector: tokio_rustls::TlsConnector,
    server_name: rustls::pki_types::ServerName<'static>,
}

struct Dialer {
    ep: Endpoint,
    tls: Option<TlsDial>,
}

impl Dialer {
    /// Opens one connection ready for HTTP/2: socket, then TLS, then (for
    /// Docker) the h2c upgrade.
    async fn dial(&self) -> std::io::Result<Box<dyn Io>> {
        let with_ctx = |e: std::io::Error, what: &str| {
            std::io::Error::new(e.kind(), format!("{what} {}: {e}", self.ep))
        };
        let raw: Box<dyn Io> = match &self.ep {
            Endpoint::BuildkitUnix(p) | Endpoint::DockerUnix(p) => Box::new(
                UnixStream::connect(p)
                    .await
                    .map_err(|e| with_ctx(e, "dialing"))?,
            ),
            Endpoint::BuildkitTcp { host, port, .. } | Endpoint::DockerTcp { host, port, .. } => {
                let s = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| with_ctx(e, "dialing"))?;
                s.set_nodelay(true)?;
                Box::new(s)
            }
        };
        let stream: Box<dyn Io> = match &self.tls {
            Some(t) => Box::new(
                t.connector
                    .connect(t.server_name.clone(), raw)
                    .await
                    .map_err(|e| with_ctx(e, "TLS handshake with"))?,
            ),
            None => raw,
        };
        match &self.ep {
            Endpoint::DockerUnix(_) | Endpoint::DockerTcp { .. } => docker_upgrade(stream)
                .await
                .map_err(|e| with_ctx(e, "upgrading to gRPC on")),
            _ => Ok(stream),
        }
    }
}

/// Asks the Docker Engine to switch the connection to its BuildKit gRPC
/// server (`POST /grpc`, `Upgrade: h2c`). Bytes read past the response
/// header already belong to HTTP/2 and are replayed first.
pub(crate) async fn docker_upgrade(mut s: Box<dyn Io>) -> std::io::Result<Box<dyn Io>> {
    s.write_all(
        b"POST /grpc HTTP/1.1\r\nHost: docker\r\nUser-Agent: scratchc\r\n\
          Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n",
    )
    .await?;
    s.flush().await?;
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("response header too large"));
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before the upgrade answer (is this a Docker Engine socket?)",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let status = head.lines().next().unwrap_or_default().to_string();
    if status.split_whitespace().nth(1) != Some("101") {
        let body = String::from_utf8_lossy(&buf[end..]);
        return Err(std::io::Error::other(format!(
            "the daemon answered `{status}` instead of 101 Switching Protocols{}",
            if body.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", body.trim())
            }
        )));
    }
    Ok(Box::new(Prefixed {
        prefix: Bytes::copy_from_slice(&buf[end..]),
        inner: s,
    }))
}

/// A stream that yields `prefix` before reading from `inner`.
struct Prefixed {
    prefix: Bytes,
    inner: Box<dyn Io>,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.prefix.has_remaining() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Builds a verifying TLS connector. `h2` selects ALPN `h2` (gRPC servers
/// require it); the Docker Engine speaks HTTP/1.1 first.
fn tls_connector(files: &TlsFiles, host: &str, h2: bool) -> Result<TlsDial, ClientError> {
    let tls_err = |detail: String| ClientError::Tls { detail };
    let mut roots = rustls::RootCertStore::empty();
    let ca_path = files
        .ca
        .clone()
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    for cert in read_pem_certs(&ca_path)? {
        roots
            .add(cert)
            .map_err(|e| tls_err(format!("CA certificate in `{}`: {e}", ca_path.display())))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => {
            let chain = read_pem_certs(cert)?;
            let key_der = read_pem_key(key)?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| tls_err(format!("client certificate `{}`: {e}", cert.display())))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(tls_err(
                "--tlscert and --tlskey must be given together".to_string(),
            ));
        }
    };
    if h2 {
        config.alpn_protocols = vec![b"h2".to_vec()];
    }
    let server_name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| tls_err(format!("server name `{host}`: {e}")))?;
    Ok(TlsDial {
        connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        server_name,
    })
}

fn read_pem_certs(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, ClientError> {
    let data = std::fs::read(path).map_err(|e| ClientError::io("reading TLS file", path, e))?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut data.as_slice()).collect();
    let certs = certs.map_err(|e| ClientError::io("parsing PEM certificates in", path, e))?;
    if certs.is_empty() {
        return Err(ClientError::Tls {
            detail: format!("no PEM certificate in `{}`", path.display()),
        });
    }
    Ok(certs)
}

fn read_pem_key(path: &Path) -> Result<rustls::pki_types::PrivateKeyDer<'static>, ClientError> {
    let data = std::fs::read(path).map_err(|e| ClientError::io("reading TLS key", path, e))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| ClientError::io("parsing PEM key in", path, e))?
        .ok_or_else(|| ClientError::Tls {
            detail: format!("no PEM private key in `{}`", path.display()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn res(
        addr: Option<&str>,
        env: &'static [(&'static str, &'static str)],
        bk: bool,
    ) -> Result<Endpoint, ClientError> {
        resolve_with(addr, &TlsFiles::default(), &env_of(env), &|_| bk)
    }

    #[test]
    fn defaults_prefer_buildkitd_socket_then_docker() {
        assert_eq!(
            res(None, &[], true).unwrap(),
            Endpoint::BuildkitUnix(BUILDKITD_SOCKET.into())
        );
        assert_eq!(
            res(None, &[], false).unwrap(),
            Endpoint::DockerUnix(DOCKER_SOCKET.into())
        );
    }

    #[test]
    fn env_order() {
        let env = &[
            ("BUILDKIT_HOST", "tcp://bk:1234"),
            ("DOCKER_HOST", "unix:///d.sock"),
        ];
        assert!(matches!(
            res(None, env, true).unwrap(),
            Endpoint::BuildkitTcp { port: 1234, .. }
        ));
        assert_eq!(
            res(None, &[("DOCKER_HOST", "unix:///d.sock")], true).unwrap(),
            Endpoint::DockerUnix("/d.sock".into())
        );
        assert_eq!(
            res(Some("unix:///x.sock"), env, true).unwrap(),
            Endpoint::BuildkitUnix("/x.sock".into())
        );
    }

    #[test]
    fn docker_schemes_and_tls_env() {
        assert_eq!(
            res(Some("docker"), &[], true).unwrap(),
            Endpoint::DockerUnix(DOCKER_SOCKET.into())
        );
        assert_eq!(
            res(Some("docker+unix:///s"), &[], true).unwrap(),
            Endpoint::DockerUnix("/s".into())
        );
        let env = &[
            ("DOCKER_HOST", "tcp://10.0.0.1:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/certs"),
        ];
        let ep = res(None, env, true).unwrap();
        assert_eq!(
            ep,
            Endpoint::DockerTcp {
                host: "10.0.0.1".into(),
                port: 2376,
                tls: Some(TlsFiles {
                    ca: Some("/certs/ca.pem".into()),
                    cert: Some("/certs/cert.pem".into()),
                    key: Some("/certs/key.pem".into()),
                })
            }
        );
        assert_eq!(
            ep.to_string(),
            "the Docker Engine at tcp://10.0.0.1:2376 (TLS)"
        );
    }

    #[test]
    fn bad_addresses_say_what_is_accepted() {
        let e = res(Some("ssh://x"), &[], true).unwrap_err().to_string();
        assert!(e.contains("ssh://x") && e.contains("unix:///PATH"), "{e}");
        let e = res(Some("tcp://nohost"), &[], true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tcp://HOST:PORT"), "{e}");
        let e = res(Some("unix://relative"), &[], true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("absolute"), "{e}");
    }

    #[test]
    fn empty_and_malformed_addresses_are_refused() {
        let e = res(Some(""), &[], true).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        assert!(res(Some("  "), &[], true).is_err());
        for bad in [
            "tcp://[::1",
            "tcp://[::1]",
            "tcp://::1:1234",
            "tcp://[]:1",
            "tcp://h:0",
            "tcp://h:99999",
            "tcp://h:",
            "tcp://:1",
            "tcp://h:1/x",
            "tcp://h:+1",
            "tcp://[h]:1",
            "docker+tcp://[::1:2376",
        ] {
            assert!(res(Some(bad), &[], true).is_err(), "{bad} accepted");
        }
        assert_eq!(
            res(Some("tcp://[::1]:1234"), &[], true).unwrap(),
            Endpoint::BuildkitTcp {
                host: "::1".into(),
                port: 1234,
                tls: None
            }
        );
        assert_eq!(
            res(Some("tcp://[::1]:1234/"), &[], true)
                .unwrap()
                .to_string(),
            "buildkitd at tcp://[::1]:1234"
        );
    }

    #[test]
    fn the_connect_timeout_comes_from_the_environment() {
        assert_eq!(Timeouts::from_value(None).unwrap(), Timeouts::default());
        assert_eq!(Timeouts::from_value(Some("")).unwrap(), Timeouts::default());
        assert_eq!(
            Timeouts::from_value(Some("3")).unwrap().connect,
            Duration::from_secs(3)
        );
        for bad in ["0", "-1", "1.5", "x"] {
            let e = Timeouts::from_value(Some(bad)).unwrap_err().to_string();
            assert!(e.contains(CONNECT_TIMEOUT_ENV), "{e}");
        }
    }

    #[test]
    fn tls_flags_turn_tls_on_for_tcp() {
        let tls = TlsFiles {
            ca: Some("/ca.pem".into()),
            ..TlsFiles::default()
        };
        let ep = resolve_with(Some("tcp://h:1"), &tls, &|_| None, &|_| false).unwrap();
        assert_eq!(
            ep,
            Endpoint::BuildkitTcp {
                host: "h".into(),
                port: 1,
                tls: Some(tls)
            }
        );
    }
}
