//! The transport to BuildKit: one HTTP/2 connection over our stdin and
//! stdout.
//!
//! BuildKit starts the frontend container with its stdin and stdout wired to
//! an in-daemon gRPC server (LLBBridge, Health); the frontend is the HTTP/2
//! client with prior knowledge (no upgrade, no TLS). So stdout belongs to the
//! protocol: nothing else may ever print to it. Logs go to stderr, which the
//! daemon copies into its own log.

use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use tokio::io::{Join, Stdin, Stdout};
use tonic::transport::{Channel, Endpoint, Uri};

/// The duplex byte stream made of the process's stdin and stdout.
pub type StdioStream = Join<Stdin, Stdout>;

/// Why the channel could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    #[error("cannot set up the gRPC channel over stdin/stdout: {0}")]
    Connect(#[from] tonic::transport::Error),
}

/// Opens the gRPC channel to the daemon over stdin/stdout.
///
/// The pipe can carry exactly one connection: the connector hands out the
/// stream once, and any later attempt (a reconnect after the daemon closed
/// the pipe) fails instead of writing to a dead stream.
pub async fn channel() -> Result<Channel, StdioError> {
    let stream = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
    connect(stream).await
}

/// Opens a gRPC channel over any one duplex stream (stdin/stdout in
/// production, an in-memory pipe in tests).
pub async fn connect<S>(stream: S) -> Result<Channel, StdioError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let slot = Arc::new(Mutex::new(Some(stream)));
    // The URI is never dialled; it names the peer in `:authority`, as Go's
    // grpc client does with "localhost".
    let endpoint = Endpoint::from_static("http://localhost");
    let connector = tower::service_fn(move |_: Uri| {
        let slot = Arc::clone(&slot);
        async move {
            let taken = slot.lock().ok().and_then(|mut s| s.take());
            match taken {
                Some(s) => Ok(TokioIo::new(s)),
                None => Err(std::io::Error::new(
                    std::io::ErrorKind::NotConnected,
                    "the stdio connection to BuildKit is closed and cannot be reopened",
                )),
            }
        }
    });
    Ok(endpoint.connect_with_connector(connector).await?)
}
