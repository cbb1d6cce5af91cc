//! The gateway (LLBBridge): the one client of it, for both sides of a
//! build.
//!
//! - A client-side build (`scratchc build`, as Go's `client.Build`): while
//!   a `Control.Solve` with no definition and no frontend runs, the daemon
//!   forwards LLBBridge calls that carry the metadata
//!   `buildkit-controlapi-buildid: <Ref>` to that build ([`Gateway::for_build`]).
//! - The frontend: BuildKit serves LLBBridge on the frontend's stdin and
//!   stdout, already bound to its build, so calls carry no id
//!   ([`Gateway::for_frontend`]).
//!
//! Through it we read the daemon's capabilities (Ping), resolve builder
//! image configs, solve our definitions, read files of their results
//! ([`Ref`]), and finally `Return` the result with its image config
//! metadata, which the daemon then exports.

use std::collections::{BTreeMap, BTreeSet};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::client::MAX_MESSAGE_SIZE;
use crate::client::errors::BuildError;
use crate::compiler::ImageConfig;
use crate::platform::Platform;
use crate::proto::fsutil::types::Stat;
use crate::proto::google::rpc::Status as RpcStatus;
use crate::proto::moby::buildkit::v1::frontend as gw;
use crate::proto::moby::buildkit::v1::frontend::llb_bridge_client::LlbBridgeClient;
use crate::proto::moby::buildkit::v1::types::WorkerRecord;
use crate::proto::pb;

/// The metadata key that routes gateway calls to a build.
pub const BUILD_ID_HEADER: &str = "buildkit-controlapi-buildid";

/// The worker label present only on the Docker Engine's containerd image
/// store and on buildkitd's workers (absent on the graph-driver store).
pub const SNAPSHOTTER_LABEL: &str = "org.mobyproject.buildkit.worker.snapshotter";
/// The worker label naming the executor (`moby` on the Docker Engine).
pub const EXECUTOR_LABEL: &str = "org.mobyproject.buildkit.worker.executor";

/// Adds the build id to every call of a client-side build; nothing in a
/// frontend, whose connection is the build's own.
#[derive(Clone, Debug)]
pub struct BuildScope(Option<MetadataValue<Ascii>>);

impl Interceptor for BuildScope {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(id) = &self.0 {
            req.metadata_mut().insert(BUILD_ID_HEADER, id.clone());
        }
        Ok(req)
    }
}

/// What the daemon can do, from Ping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// Enabled LLB capabilities (`source.image`, `exec.mount.cache`...).
    pub llb: BTreeSet<String>,
    /// Enabled frontend API capabilities (`solve.base`, `resolveimage`...).
    pub frontend: BTreeSet<String>,
    /// Worker labels (of the first worker).
    pub worker_labels: BTreeMap<String, String>,
    /// Platforms the workers run natively or emulated.
    pub worker_platforms: Vec<Platform>,
}

impl Caps {
    /// Builds the caps from a Ping answer.
    pub fn from_pong(p: &gw::PongResponse) -> Caps {
        let on = |caps: &[crate::proto::moby::buildkit::v1::apicaps::ApiCap]| {
            caps.iter()
                .filter(|c| c.enabled)
                .map(|c| c.id.clone())
                .collect()
        };
        let mut c = Caps {
            llb: on(&p.llb_caps),
            frontend: on(&p.frontend_api_caps),
            ..Caps::default()
        };
        c.add_workers(&p.workers);
        c
    }

    /// Takes labels and platforms from worker records (Ping or ListWorkers).
    pub fn add_workers(&mut self, workers: &[WorkerRecord]) {
        if let Some(w) = workers.first()
            && self.worker_labels.is_empty()
        {
            self.worker_labels = w.labels.clone();
        }
        for w in workers {
            for p in &w.platforms {
                let plat = Platform {
                    os: p.os.clone(),
                    arch: p.architecture.clone(),
                    variant: Some(p.variant.clone()).filter(|v| !v.is_empty()),
                };
                if !self.worker_platforms.contains(&plat) {
                    self.worker_platforms.push(plat);
                }
            }
        }
    }

    /// Whether the Docker Engine runs the graph-driver image store (the
    /// default before the containerd store): its BuildKit worker has labels
    /// but no snapshotter label (buildkitd's workers always have one), exports only `moby`, `local` and `tar`, and
    /// refuses multi-platform results.
    pub fn is_graph_driver_store(&self) -> bool {
        !self.worker_labels.is_empty() && !self.worker_labels.contains_key(SNAPSHOTTER_LABEL)
    }

    /// The first worker platform, the one builder steps run on.
    pub fn build_platform(&self) -> Option<&Platform> {
        self.worker_platforms.first()
    }
}

/// A gateway client bound to one build.
#[derive(Clone, Debug)]
pub struct Gateway {
    client: LlbBridgeClient<InterceptedService<Channel, BuildScope>>,
    /// Cache sources sent with every Solve (`--cache-from`): BuildKit
    /// looks up imported caches per gateway Solve, not per build.
    cache_imports: Vec<gw::CacheOptionsEntry>,
}

/// A result solved on the daemon, and the gateway to read it through.
#[derive(Clone, Debug)]
pub struct Ref {
    gateway: Gateway,
    /// The daemon's id of the result (what `Return` hands back).
    pub id: String,
}

/// An image config resolved by the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The manifest digest the reference resolved to.
    pub digest: String,
    pub config: ImageConfig,
}

impl Gateway {
    /// A gateway client for the client-side build `build_ref` on `channel`.
    pub fn for_build(channel: Channel, build_ref: &str) -> Result<Gateway, BuildError> {
        let value = build_ref.parse().map_err(|_| BuildError::Daemon {
            call: "LLBBridge",
            message: format!(
                "build ref `{build_ref}` is not valid metadata (a bug, please report it)"
            ),
        })?;
        Ok(Self::new(channel, BuildScope(Some(value))))
    }

    /// The gateway of a frontend: BuildKit's connection on stdio.
    pub fn for_frontend(channel: Channel) -> Gateway {
        Self::new(channel, BuildScope(None))
    }

    fn new(channel: Channel, scope: BuildScope) -> Gateway {
        let client = LlbBridgeClient::with_interceptor(channel, scope)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        Gateway {
            client,
            cache_imports: Vec::new(),
        }
    }

    /// The same gateway, importing these caches in every Solve.
    pub fn with_cache_imports(mut self, imports: Vec<gw::CacheOptionsEntry>) -> Gateway {
        self.cache_imports = imports;
        self
    }

    /// Reads the daemon's caps. In a client-side build the daemon waits a
    /// few seconds for the build to register, so this is also the "build
    /// has started" check.
    pub async fn ping(&self) -> Result<Caps, BuildError> {
        let pong = self
            .client
            .clone()
            .ping(gw::PingRequest {})
            .await
            .map_err(|s| BuildError::from_status("LLBBridge.Ping", &s))?
            .into_inner();
        Ok(Caps::from_pong(&pong))
    }

    /// Resolves an image's config for `platform`. `mode` is `local` (the
    /// daemon's image store first, no registry), `default` or `pull`.
    pub async fn resolve_image_config(
        &self,
        reference: &str,
        platform: &Platform,
        mode: &str,
    ) -> Result<ResolvedImage, BuildError> {
        let req = gw::ResolveImageConfigRequest {
            r#ref: reference.to_string(),
            platform: Some(pb::Platform::from(platform)),
            resolve_mode: mode.to_string(),
            log_name: format!("[internal] load metadata for {reference}"),
            ..Default::default()
        };
        let resp = self
            .client
            .clone()
            .resolve_image_config(req)
            .await
            .map_err(|s| BuildError::from_status("LLBBridge.ResolveImageConfig", &s))?
            .into_inner();
        let config = parse_image_config(&resp.config).map_err(|e| BuildError::Daemon {
            call: "LLBBridge.ResolveImageConfig",
            message: format!("the config of {reference} is not valid JSON: {e}"),
        })?;
        Ok(ResolvedImage {
            digest: resp.digest,
            config,
        })
    }

    /// Solves a definition and returns its result. Gateway solves are
    /// lazy: a failing step surfaces when the result is first read. Errors
    /// keep the gRPC details (failing vertex, source range).
    pub async fn solve(&self, def: pb::Definition) -> Result<Ref, BuildError> {
        self.solve_with(def, false).await
    }

    /// Solves a definition now, not lazily: the daemon runs it before
    /// answering (to start work early, e.g. a context transfer).
    pub async fn evaluate(&self, def: pb::Definition) -> Result<Ref, BuildError> {
        self.solve_with(def, true).await
    }

    async fn solve_with(&self, def: pb::Definition, evaluate: bool) -> Result<Ref, BuildError> {
        let req = gw::SolveRequest {
            definition: Some(def),
            allow_result_return: true,
            allow_result_array_ref: true,
            cache_imports: self.cache_imports.clone(),
            evaluate,
            ..Default::default()
        };
        let resp = self
            .client
            .clone()
            .solve(req)
            .await
            .map_err(|s| BuildError::from_status("LLBBridge.Solve", &s))?
            .into_inner();
        let id = match resp.result.and_then(|r| r.result) {
            Some(gw::result::Result::Ref(r)) => r.id,
            Some(gw::result::Result::RefDeprecated(id)) => id,
            _ => resp.r#ref,
        };
        Ok(Ref {
            gateway: self.clone(),
            id,
        })
    }

    /// Shows a warning in the build's progress, on the vertex
    /// `req.digest` (buildx lists the warnings after the build).
    pub async fn warn(&self, req: gw::WarnRequest) -> Result<(), BuildError> {
        self.client
            .clone()
            .warn(req)
            .await
            .map_err(|s| BuildError::from_status("LLBBridge.Warn", &s))?;
        Ok(())
    }

    /// Returns the build's result (or its error) to the daemon. Called
    /// once; the daemon then exports the result. BuildKit takes the first
    /// Return only.
    pub async fn return_result(
        &self,
        result: Result<gw::Result, RpcStatus>,
    ) -> Result<(), BuildError> {
        let req = match result {
            Ok(r) => gw::ReturnRequest {
                result: Some(r),
                error: None,
            },
            Err(e) => gw::ReturnRequest {
                result: None,
                error: Some(e),
            },
        };
        self.client
            .clone()
            .r#return(req)
            .await
            .map_err(|s| BuildError::from_status("LLBBridge.Return", &s))?;
        Ok(())
    }
}

impl Ref {
    /// Reads a whole file; `None` when it does not exist.
    pub async fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, BuildError> {
        match self.read(path, None).await {
            Ok(data) => Ok(Some(data)),
            Err(s) if is_not_found(&s) => Ok(None),
            Err(s) => Err(BuildError::from_status("LLBBridge.ReadFile", &s)),
        }
    }

    /// Reads at most `cap` bytes from the start of a file; `None` when it
    /// does not exist.
    pub async fn read_file_capped(
        &self,
        path: &str,
        cap: u64,
    ) -> Result<Option<Vec<u8>>, BuildError> {
        match self.read_range(path, 0, cap).await {
            Ok(data) => Ok(Some(data)),
            Err(s) if is_not_found(&s) => Ok(None),
            Err(s) => Err(BuildError::from_status("LLBBridge.ReadFile", &s)),
        }
    }

    /// Reads `len` bytes at `offset` of a file (less at its end). The raw
    /// status on failure: a lazy solve's step failure shows up here.
    pub async fn read_range(
        &self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, tonic::Status> {
        let range = gw::FileRange {
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
            length: i64::try_from(len).unwrap_or(i64::MAX),
        };
        self.read(path, Some(range)).await
    }

    async fn read(
        &self,
        path: &str,
        range: Option<gw::FileRange>,
    ) -> Result<Vec<u8>, tonic::Status> {
        let req = gw::ReadFileRequest {
            r#ref: self.id.clone(),
            file_path: path.to_string(),
            range,
        };
        let resp = self.gateway.client.clone().read_file(req).await?;
        Ok(resp.into_inner().data)
    }

    /// A file's metadata; `None` when it does not exist.
    pub async fn stat(&self, path: &str) -> Result<Option<Stat>, BuildError> {
        match self.stat_raw(path).await {
            Ok(st) => Ok(Some(st)),
            Err(s) if is_not_found(&s) => Ok(None),
            Err(s) => Err(BuildError::from_status("LLBBridge.StatFile", &s)),
        }
    }

    /// [`Ref::stat`] with the raw status on failure (see
    /// [`Ref::read_range`]).
    pub async fn stat_raw(&self, path: &str) -> Result<Stat, tonic::Status> {
        let req = gw::StatFileRequest {
            r#ref: self.id.clone(),
            path: path.to_string(),
        };
        let resp = self.gateway.client.clone().stat_file(req).await?;
        resp.into_inner()
            .stat
            .ok_or_else(|| tonic::Status::internal(format!("no stat of {path} in the answer")))
    }

    /// The entries of a directory, matching `include` (a pattern; empty
    /// means all).
    pub async fn read_dir(&self, path: &str, include: &str) -> Result<Vec<Stat>, BuildError> {
        let req = gw::ReadDirRequest {
            r#ref: self.id.clone(),
            dir_path: path.to_string(),
            include_pattern: include.to_string(),
        };
        let resp = self
            .gateway
            .client
            .clone()
            .read_dir(req)
            .await
            .map_err(|s| BuildError::from_status("LLBBridge.ReadDir", &s))?;
        Ok(resp.into_inner().entries)
    }
}

/// Whether a failed read means "no such file" (BuildKit answers with the
/// OS error text, not always with the NotFound code). A status naming a
/// failed vertex is a failed build step, never a missing file.
fn is_not_found(s: &tonic::Status) -> bool {
    (s.code() == tonic::Code::NotFound
        || s.message().contains("no such file or directory")
        || s.message().contains("not found"))
        && crate::client::errors::ErrorDetails::from_status(s)
            .vertex
            .is_none()
}

/// The gateway `Result` for one image: a single `ref` with
/// `containerimage.config`, or, for several platforms (or one with
/// `multi`), `refs` keyed by platform id with `refs.platforms` and one
/// `containerimage.config/<id>` each (what the image exporters read).
/// `parts` are (platform, ref id, config JSON).
pub fn image_result(mut parts: Vec<(Platform, String, Vec<u8>)>, multi: bool) -> gw::Result {
    let mut metadata = BTreeMap::new();
    let to_ref = |id: String| gw::Ref { id, def: None };
    if parts.len() == 1
        && !multi
        && let Some((_, r, config)) = parts.pop()
    {
        metadata.insert("containerimage.config".to_string(), config);
        return gw::Result {
            result: Some(gw::result::Result::Ref(to_ref(r))),
            metadata,
            attestations: BTreeMap::new(),
        };
    }
    let mut refs = BTreeMap::new();
    let mut platforms = Vec::new();
    for (p, r, config) in parts {
        let id = p.id();
        metadata.insert(format!("containerimage.config/{id}"), config);
        let mut plat = serde_json::Map::new();
        plat.insert("architecture".into(), p.arch.clone().into());
        plat.insert("os".into(), p.os.clone().into());
        if let Some(v) = &p.variant {
            plat.insert("variant".into(), v.clone().into());
        }
        platforms.push(serde_json::json!({ "ID": id, "Platform": plat }));
        refs.insert(id, to_ref(r));
    }
    let list = serde_json::json!({ "Platforms": platforms });
    metadata.insert("refs.platforms".to_string(), list.to_string().into_bytes());
    gw::Result {
        result: Some(gw::result::Result::Refs(gw::RefMap { refs })),
        metadata,
        attestations: BTreeMap::new(),
    }
}

/// Reads Env, WorkingDir and User from an OCI image config JSON.
pub fn parse_image_config(json: &[u8]) -> Result<ImageConfig, serde_json::Error> {
    #[derive(serde::Deserialize, Default)]
    struct Inner {
        #[serde(rename = "Env", default)]
        env: Option<Vec<String>>,
        #[serde(rename = "WorkingDir", default)]
        working_dir: Option<String>,
        #[serde(rename = "User", default)]
        user: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Outer {
        #[serde(default)]
        config: Option<Inner>,
    }
    let o: Outer = serde_json::from_slice(json)?;
    let c = o.config.unwrap_or_default();
    Ok(ImageConfig {
        env: c.env.unwrap_or_default(),
        working_dir: c.working_dir.filter(|w| !w.is_empty()),
        user: c.user.filter(|u| !u.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_image_config() {
        let c = parse_image_config(
            br#"{"architecture":"amd64","config":{"Env":["PATH=/usr/local/go/bin:/usr/bin","GOPATH=/go"],"WorkingDir":"/go","User":""}}"#,
        )
        .unwrap();
        assert_eq!(c.env, vec!["PATH=/usr/local/go/bin:/usr/bin", "GOPATH=/go"]);
        assert_eq!(c.working_dir.as_deref(), Some("/go"));
        assert_eq!(c.user, None);
        assert_eq!(parse_image_config(b"{}").unwrap(), ImageConfig::default());
    }

    #[test]
    fn multi_platform_result_metadata() {
        let r = |id: &str| id.to_string();
        let res = image_result(
            vec![
                (Platform::linux_amd64(), r("a"), b"{}".to_vec()),
                (
                    Platform::new("linux", "arm", Some("v7")),
                    r("b"),
                    b"{}".to_vec(),
                ),
            ],
            false,
        );
        let keys: Vec<&String> = res.metadata.keys().collect();
        assert_eq!(
            keys,
            [
                "containerimage.config/linux/amd64",
                "containerimage.config/linux/arm/v7",
                "refs.platforms"
            ]
        );
        assert_eq!(
            String::from_utf8(res.metadata["refs.platforms"].clone()).unwrap(),
            r#"{"Platforms":[{"ID":"linux/amd64","Platform":{"architecture":"amd64","os":"linux"}},{"ID":"linux/arm/v7","Platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}"#
        );
        let one = || vec![(Platform::linux_amd64(), r("a"), b"{}".to_vec())];
        let single = image_result(one(), false);
        assert!(matches!(single.result, Some(gw::result::Result::Ref(_))));
        assert!(single.metadata.contains_key("containerimage.config"));
        // One platform in the multi-platform shape, for `multi-platform=true`.
        let as_map = image_result(one(), true);
        let Some(gw::result::Result::Refs(m)) = as_map.result else {
            panic!("not a map")
        };
        assert_eq!(m.refs["linux/amd64"].id, "a");
        assert!(
            as_map
                .metadata
                .contains_key("containerimage.config/linux/amd64")
        );
    }

    #[test]
    fn graph_driver_detection() {
        let mut c = Caps::default();
        c.worker_labels.insert(EXECUTOR_LABEL.into(), "moby".into());
        assert!(c.is_graph_driver_store());
        c.worker_labels
            .insert(SNAPSHOTTER_LABEL.into(), "overlayfs".into());
        assert!(!c.is_graph_driver_store());
    }
}
