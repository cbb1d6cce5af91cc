//! Reading a produced binary back from the daemon and checking it
//! ([`super::elf`]) before the image is exported.
//!
//! Runs inside a client-side build, between the per-platform gateway
//! `Solve` and `Return`: `StatFile` gives the size, then `ReadFile` with a
//! range fetches only the header and program headers (one 4 KiB read for a
//! Go binary, a few more for a dynamic one), never the whole binary.
//!
//! Runs as well in the gateway frontend, between its per-platform `Solve`
//! and `Return`, so an image built with `docker buildx build` is checked
//! exactly as one built with `scratchc build`.
//!
//! A client-side build's gateway calls carry the build id header (the
//! frontend's do not need it); this module has its own small client for
//! them so it needs only the channel and the ids.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::Channel;

use super::MAX_MESSAGE_SIZE;
use super::elf::{self, BinaryCheckError, ByteRange, ElfInfo};
use crate::compiler::Platform;
use crate::proto::moby::buildkit::v1::frontend as gw;
use crate::proto::moby::buildkit::v1::frontend::llb_bridge_client::LlbBridgeClient;

/// What can stop the check: the daemon could not give us the file, or the
/// file is wrong for the platform.
#[derive(Debug, thiserror::Error)]
pub enum BinaryError {
    /// The gateway call failed (no such file is the usual one: the build
    /// command did not write `${OUT}`).
    #[error(
        "{platform}: cannot read {path} from the image ({call}: {message})\n  help: the build command must write the binary to ${{OUT}}"
    )]
    Read {
        platform: Platform,
        path: String,
        call: &'static str,
        message: String,
    },
    #[error(transparent)]
    Check(#[from] BinaryCheckError),
    /// The solve itself failed: gateway solves are lazy, so the first read
    /// of the result is where a failing build step shows up. The status
    /// keeps BuildKit's typed details (the failing vertex, its source).
    #[error("{}", .0.message())]
    Solve(Box<tonic::Status>),
}

impl BinaryError {
    /// A failed StatFile/ReadFile: a step failure when the status carries
    /// BuildKit's error details, a read error otherwise.
    fn from_status(platform: &Platform, path: &str, call: &'static str, s: tonic::Status) -> Self {
        if !s.details().is_empty() {
            return BinaryError::Solve(Box::new(s));
        }
        BinaryError::Read {
            platform: platform.clone(),
            path: path.to_string(),
            call,
            message: s.message().to_string(),
        }
    }
}

/// The build id header of a client-side build's gateway calls; `None` in
/// the frontend, whose bridge is already scoped to its build.
#[derive(Clone)]
struct BuildIdHeader(Option<MetadataValue<Ascii>>);

impl Interceptor for BuildIdHeader {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut()
                .insert(super::gateway::BUILD_ID_HEADER, v.clone());
        }
        Ok(req)
    }
}

/// Reads `path` from the solved result `result_ref` of the build
/// `build_ref` and checks it is a static executable for `platform`.
pub async fn check_binary(
    channel: Channel,
    build_ref: &str,
    result_ref: &str,
    path: &str,
    platform: &Platform,
) -> Result<ElfInfo, BinaryError> {
    let header = build_ref.parse().map_err(|_| BinaryError::Read {
        platform: platform.clone(),
        path: path.to_string(),
        call: "setup",
        message: format!("build ref `{build_ref}` is not ASCII"),
    })?;
    check_on(
        channel,
        BuildIdHeader(Some(header)),
        result_ref,
        path,
        platform,
    )
    .await
}

/// [`check_binary`] from inside a gateway frontend: `channel` is the
/// frontend's own LLBBridge connection (stdio), which BuildKit already
/// binds to the build, so the calls carry no build id.
pub async fn check_binary_in_frontend(
    channel: Channel,
    result_ref: &str,
    path: &str,
    platform: &Platform,
) -> Result<ElfInfo, BinaryError> {
    check_on(channel, BuildIdHeader(None), result_ref, path, platform).await
}

async fn check_on(
    channel: Channel,
    header: BuildIdHeader,
    result_ref: &str,
    path: &str,
    platform: &Platform,
) -> Result<ElfInfo, BinaryError> {
    let read_err = |call: &'static str, message: String| BinaryError::Read {
        platform: platform.clone(),
        path: path.to_string(),
        call,
        message,
    };
    let client = LlbBridgeClient::with_interceptor(channel, header)
        .max_decoding_message_size(MAX_MESSAGE_SIZE);
    let stat = client
        .clone()
        .stat_file(gw::StatFileRequest {
            r#ref: result_ref.to_string(),
            path: path.to_string(),
        })
        .await
        .map_err(|s| BinaryError::from_status(platform, path, "LLBBridge.StatFile", s))?
        .into_inner()
        .stat
        .ok_or_else(|| read_err("LLBBridge.StatFile", "no stat in the answer".into()))?;
    // Go's os.FileMode: the type bits are the top ones; a regular file has
    // none of them.
    const TYPE_BITS: u32 = 0xFFF0_0000 & !(1 << 23 | 1 << 22 | 1 << 20);
    if stat.mode & TYPE_BITS != 0 {
        return Err(read_err(
            "LLBBridge.StatFile",
            format!("not a regular file (mode {:#o})", stat.mode),
        ));
    }
    let size = u64::try_from(stat.size).unwrap_or(0);
    let verdict = elf::inspect_with(size, platform, |r: ByteRange| {
        let mut c = client.clone();
        let req = gw::ReadFileRequest {
            r#ref: result_ref.to_string(),
            file_path: path.to_string(),
            range: Some(gw::FileRange {
                offset: i64::try_from(r.offset).unwrap_or(i64::MAX),
                length: i64::try_from(r.len).unwrap_or(i64::MAX),
            }),
        };
        async move { c.read_file(req).await.map(|resp| resp.into_inner().data) }
    })
    .await
    .map_err(|s| BinaryError::from_status(platform, path, "LLBBridge.ReadFile", s))?;
    verdict.map_err(|problem| {
        BinaryError::Check(BinaryCheckError {
            platform: platform.clone(),
            path: path.to_string(),
            problem,
        })
    })
}
