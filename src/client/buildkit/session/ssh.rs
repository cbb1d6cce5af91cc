//! `moby.sshforward.v1.SSH`: the client's SSH agents, forwarded to the
//! build steps that mount them (`ssh` statements, `--ssh ID=SOCKET`).
//!
//! BuildKit listens on a socket inside the step; for each connection a
//! process makes to it, the daemon opens a `ForwardAgent` stream naming
//! the agent in the `buildkit.ssh.id` metadata, and we connect to that
//! agent's socket here and copy bytes both ways until either side ends.
//! The keys never leave the agent: only its protocol crosses (sign
//! requests and their answers), and nothing of it is logged.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::proto::moby::sshforward::v1::ssh_server::Ssh;
use crate::proto::moby::sshforward::v1::{BytesMessage, CheckAgentRequest, CheckAgentResponse};

/// The metadata key naming the agent of a `ForwardAgent` stream.
pub const ID_KEY: &str = "buildkit.ssh.id";

/// The id of an agent a mount names without one.
pub const DEFAULT_ID: &str = "default";

/// The agents the session serves: id to the agent's socket.
pub struct SshService {
    pub agents: BTreeMap<String, PathBuf>,
}

impl SshService {
    fn socket(&self, id: &str) -> Result<&PathBuf, tonic::Status> {
        let id = if id.is_empty() { DEFAULT_ID } else { id };
        self.agents.get(id).ok_or_else(|| {
            tonic::Status::not_found(format!(
                "no SSH agent `{id}` is forwarded by the client (pass --ssh {id}...)"
            ))
        })
    }
}

type Forward = Pin<Box<dyn Stream<Item = Result<BytesMessage, tonic::Status>> + Send>>;

#[tonic::async_trait]
impl Ssh for SshService {
    async fn check_agent(
        &self,
        req: tonic::Request<CheckAgentRequest>,
    ) -> Result<tonic::Response<CheckAgentResponse>, tonic::Status> {
        self.socket(&req.into_inner().id)?;
        Ok(tonic::Response::new(CheckAgentResponse {}))
    }

    type ForwardAgentStream = Forward;

    async fn forward_agent(
        &self,
        req: tonic::Request<tonic::Streaming<BytesMessage>>,
    ) -> Result<tonic::Response<Forward>, tonic::Status> {
        let id = req
            .metadata()
            .get(ID_KEY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(DEFAULT_ID)
            .to_string();
        let path = self.socket(&id)?.clone();
        let conn = tokio::net::UnixStream::connect(&path).await.map_err(|e| {
            tonic::Status::unavailable(format!(
                "cannot reach the SSH agent `{id}` at {}: {e}",
                path.display()
            ))
        })?;
        let (mut rd, mut wr) = conn.into_split();
        let mut inbound = req.into_inner();
        // The daemon's bytes to the agent; the agent's end closes when the
        // daemon ends its side.
        tokio::spawn(async move {
            while let Some(Ok(msg)) = inbound.next().await {
                if wr.write_all(&msg.data).await.is_err() {
                    return;
                }
            }
            let _ = wr.shutdown().await;
        });
        // The agent's bytes to the daemon, until the agent closes.
        let out = async_stream_of(move |tx| async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let msg = BytesMessage {
                            data: buf[..n].to_vec(),
                        };
                        if tx.send(Ok(msg)).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(tonic::Response::new(out))
    }
}

/// A stream fed by a task that sends into it; it ends when the task does.
fn async_stream_of<F, Fut>(task: F) -> Forward
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<BytesMessage, tonic::Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(task(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
