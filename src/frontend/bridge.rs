//! The few LLBBridge calls the frontend makes, each with the error context
//! that tells the user what was being done.

use std::collections::BTreeMap;

use tonic::transport::Channel;

use crate::proto::google::rpc::Status;
use crate::proto::moby::buildkit::v1::frontend as gw;
use crate::proto::pb;

use super::errors;

/// Largest message either way: a definition or a file can be large.
const MAX_MESSAGE: usize = 64 << 20;

/// The daemon's side of the gateway, as seen from the frontend.
#[derive(Clone, Debug)]
pub struct Bridge {
    client: gw::llb_bridge_client::LlbBridgeClient<Channel>,
    /// The connection itself, for callers with their own client on it
    /// (the binary check reads files with ranges).
    channel: Channel,
}

/// A result to hand back: the ref(s), none for a subrequest's answer, and
/// the metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    pub result: Option<gw::result::Result>,
    pub metadata: BTreeMap<String, Vec<u8>>,
}

impl Bridge {
    pub fn new(channel: Channel) -> Self {
        Bridge {
            client: gw::llb_bridge_client::LlbBridgeClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            channel,
        }
    }

    /// The LLBBridge connection (a cheap clone of the same channel).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Ping: the daemon's gateway and LLB caps. Go frontends call it first;
    /// it also proves the stdio channel works.
    pub async fn ping(&mut self) -> Result<gw::PongResponse, Status> {
        self.client
            .ping(gw::PingRequest::default())
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| errors::from_daemon("cannot reach BuildKit over stdio", &s))
    }

    /// Solves a definition and returns the id of its result ref.
    pub async fn solve(&mut self, def: pb::Definition, what: &str) -> Result<String, Status> {
        let req = gw::SolveRequest {
            definition: Some(def),
            allow_result_return: true,
            ..Default::default()
        };
        let resp = self
            .client
            .solve(req)
            .await
            .map_err(|s| errors::from_daemon(what, &s))?
            .into_inner();
        let id = match resp.result.and_then(|r| r.result) {
            Some(gw::result::Result::Ref(r)) => r.id,
            Some(gw::result::Result::RefDeprecated(id)) => id,
            _ => resp.r#ref,
        };
        Ok(id)
    }

    /// Reads a file from a solved ref; `Ok(None)` when it does not exist.
    /// At most `MAX_FILE_BYTES + 1` bytes are transferred (every file the
    /// frontend reads is a user file held to that limit): more than the
    /// limit means too large, whatever the rest.
    pub async fn read_file(&mut self, r: &str, path: &str) -> Result<Option<Vec<u8>>, Status> {
        let req = gw::ReadFileRequest {
            r#ref: r.to_string(),
            file_path: path.to_string(),
            range: Some(gw::FileRange {
                offset: 0,
                length: crate::compiler::sources::MAX_FILE_BYTES as i64 + 1,
            }),
        };
        match self.client.read_file(req).await {
            Ok(resp) => Ok(Some(resp.into_inner().data)),
            Err(s) if is_not_found(&s) => Ok(None),
            Err(s) => Err(errors::from_daemon(&format!("cannot read {path}"), &s)),
        }
    }

    /// Whether `path` exists in a solved ref (a stat, nothing transferred).
    pub async fn exists(&mut self, r: &str, path: &str) -> Result<bool, Status> {
        let req = gw::StatFileRequest {
            r#ref: r.to_string(),
            path: path.to_string(),
        };
        match self.client.stat_file(req).await {
            Ok(_) => Ok(true),
            Err(s) if is_not_found(&s) => Ok(false),
            Err(s) => Err(errors::from_daemon(&format!("cannot look up {path}"), &s)),
        }
    }

    /// The config JSON of an image, resolved by the daemon.
    pub async fn resolve_image_config(
        &mut self,
        image: &str,
        platform: pb::Platform,
        resolve_mode: &str,
    ) -> Result<Vec<u8>, Status> {
        let req = gw::ResolveImageConfigRequest {
            r#ref: image.to_string(),
            platform: Some(platform),
            resolve_mode: resolve_mode.to_string(),
            log_name: format!("resolve image config for {image}"),
            ..Default::default()
        };
        self.client
            .resolve_image_config(req)
            .await
            .map(|r| r.into_inner().config)
            .map_err(|s| {
                errors::from_daemon(
                    &format!("cannot resolve the config of builder image {image}"),
                    &s,
                )
            })
    }

    /// Hands the outcome back. BuildKit takes the first Return only.
    pub async fn finish(&mut self, outcome: Result<Output, Status>) -> Result<(), tonic::Status> {
        let req = match outcome {
            Ok(out) => gw::ReturnRequest {
                result: Some(gw::Result {
                    result: out.result,
                    metadata: out.metadata,
                }),
                error: None,
            },
            Err(status) => gw::ReturnRequest {
                result: None,
                error: Some(status),
            },
        };
        self.client.r#return(req).await.map(|_| ())
    }
}

/// Whether a ReadFile failure means "no such file" (BuildKit answers with
/// the OS error text, not always with the NotFound code).
fn is_not_found(s: &tonic::Status) -> bool {
    s.code() == tonic::Code::NotFound
        || s.message().contains("no such file or directory")
        || s.message().contains("not found")
}
