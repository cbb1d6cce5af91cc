//! Running one build on the daemon: `Control.Solve` (no definition, no
//! frontend: a client-side gateway build), `Control.Status` for progress,
//! and the gateway calls of the build itself, all on one connection.
//!
//! Invariants:
//! - Every task spawned here is aborted when the future returned by
//!   [`solve`] is dropped: dropping the build (Ctrl-C) drops the
//!   `Control.Solve` call, which makes BuildKit cancel the job.
//! - The gateway `Return` is sent exactly once, with the result or with
//!   the error; `Control.Solve` then exports, or fails.
//! - A failure is reported with what the board and the definitions know
//!   about the failing step ([`enrich`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

use super::exporter::ExporterEntry;
use super::gateway::Gateway;
use super::progress::{LogRecord, Reporter, StatusRecord, Update, VertexRecord, WarningRecord};
use crate::client::errors::{BuildError, StepFailure, locate_all};
use crate::client::{ClientError, control_client};
use crate::proto::google::rpc::Status as RpcStatus;
use crate::proto::moby::buildkit::v1 as control;
use crate::proto::moby::buildkit::v1::frontend as gw;
use crate::proto::pb;

/// How many log lines of a failed step the error report shows.
pub const ERROR_LOG_LINES: usize = 12;

/// What `Control.Solve` is asked, beside the gateway work.
#[derive(Clone, Debug, Default)]
pub struct SolveSpec {
    /// Unique per build (`Ref`): keys Status and the gateway calls.
    pub build_ref: String,
    /// The session id; empty for a build that needs no session.
    pub session_id: String,
    pub exporters: Vec<ExporterEntry>,
    pub frontend_attrs: BTreeMap<String, String>,
    /// Cache exports and imports (`--cache-to`, `--cache-from`).
    pub cache: Option<control::CacheOptions>,
}

/// What the export answered (`containerimage.digest`, `image.name`...).
pub type ExporterResponse = BTreeMap<String, String>;

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    /// Waits for the task; dropping this future aborts it.
    async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A fresh build ref.
pub fn new_ref() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Runs one client-side build, its progress shown on `reporter`: see
/// [`solve_job`].
pub async fn solve<F, Fut>(
    channel: Channel,
    spec: SolveSpec,
    reporter: &mut Reporter,
    body: F,
) -> Result<ExporterResponse, BuildError>
where
    F: FnOnce(Gateway) -> Fut,
    Fut: Future<Output = Result<gw::Result, BuildError>>,
{
    with_progress(reporter, |progress| {
        solve_job(channel, spec, progress, body)
    })
    .await
}

/// Where a build sends its status records; clones of one [`Progress`]
/// merge several builds on one reporter.
pub type Progress = mpsc::Sender<Update>;

/// Runs `work` with a [`Progress`] whose records `reporter` shows as they
/// arrive, until `work` ends and every clone of the sender is gone; then
/// finishes the reporter.
pub async fn with_progress<W, Fut>(reporter: &mut Reporter, work: W) -> Fut::Output
where
    W: FnOnce(Progress) -> Fut,
    Fut: Future,
{
    let (tx, mut rx) = mpsc::channel::<Update>(64);
    let work = work(tx);
    tokio::pin!(work);
    let mut output = None;
    let mut open = true;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    while output.is_none() || open {
        tokio::select! {
            r = &mut work, if output.is_none() => output = Some(r),
            u = rx.recv(), if open => match u {
                Some(u) => reporter.update(u),
                None => open = false,
            },
            _ = tick.tick() => reporter.tick(),
        }
    }
    reporter.finish();
    output.expect("the loop ends once the work has")
}

/// Runs one client-side build: starts `Control.Solve` and `Control.Status`
/// for `spec.build_ref`, runs `body` with a gateway bound to the build, and
/// returns its result to the daemon. Status records go to `progress` until
/// the status stream ends, at most [`STATUS_TAIL`] after the build.
/// Several run at once on one channel (each with its own build ref and
/// session); the daemon runs a step they share once.
pub async fn solve_job<F, Fut>(
    channel: Channel,
    spec: SolveSpec,
    progress: Progress,
    body: F,
) -> Result<ExporterResponse, BuildError>
where
    F: FnOnce(Gateway) -> Fut,
    Fut: Future<Output = Result<gw::Result, BuildError>>,
{
    let mut ctl = control_client(channel.clone());
    let first = spec.exporters.first();
    let req = control::SolveRequest {
        r#ref: spec.build_ref.clone(),
        definition: None,
        exporter_deprecated: first.map(|e| e.kind.clone()).unwrap_or_default(),
        exporter_attrs_deprecated: first.map(|e| e.attrs.clone()).unwrap_or_default(),
        session: spec.session_id.clone(),
        frontend: String::new(),
        frontend_attrs: spec.frontend_attrs.clone(),
        cache: spec.cache.clone(),
        exporters: spec
            .exporters
            .iter()
            .map(|e| control::Exporter {
                r#type: e.kind.clone(),
                attrs: e.attrs.clone(),
            })
            .collect(),
        ..Default::default()
    };
    let solve_task = AbortOnDrop(tokio::spawn(async move { ctl.solve(req).await }));

    let mut st = control_client(channel.clone());
    let status_ref = spec.build_ref.clone();
    let mut status_task = AbortOnDrop(tokio::spawn(async move {
        let Ok(resp) = st
            .status(control::StatusRequest { r#ref: status_ref })
            .await
        else {
            return;
        };
        let mut stream = resp.into_inner();
        while let Some(Ok(msg)) = stream.next().await {
            if progress.send(convert_status(msg)).await.is_err() {
                break;
            }
        }
    }));

    let imports = spec
        .cache
        .iter()
        .flat_map(|c| c.imports.iter())
        .map(|e| gw::CacheOptionsEntry {
            r#type: e.r#type.clone(),
            attrs: e.attrs.clone(),
        })
        .collect();
    let gateway = Gateway::for_build(channel, &spec.build_ref)?.with_cache_imports(imports);
    let gw2 = gateway.clone();
    let body_fut = async move {
        match body(gw2.clone()).await {
            Ok(result) => {
                gw2.return_result(Ok(result)).await?;
                Ok(())
            }
            Err(e) => {
                let status = RpcStatus {
                    code: tonic::Code::Unknown as i32,
                    message: e.to_string(),
                    details: Vec::new(),
                };
                // The build already failed; a failing Return adds nothing.
                let _ = gw2.return_result(Err(status)).await;
                Err(e)
            }
        }
    };
    let (body_result, solve_result) = tokio::join!(body_fut, solve_task.join());
    // The status stream ends shortly after the job; wait for its last
    // records (the export vertices, the failing step's final logs).
    let _ = tokio::time::timeout(STATUS_TAIL, &mut status_task.0).await;

    let solve_result = match solve_result {
        Ok(r) => r,
        Err(join) => {
            return Err(BuildError::Daemon {
                call: "Control.Solve",
                message: format!("the solve task ended abnormally: {join}"),
            });
        }
    };
    // The body's own error is the most precise (it holds the gateway's
    // typed details); Control.Solve then only repeats it.
    body_result?;
    match solve_result {
        Ok(resp) => Ok(resp.into_inner().exporter_response),
        Err(status) => Err(BuildError::from_status("Control.Solve", &status)),
    }
}

/// How long a build's status stream may take to end after the build.
const STATUS_TAIL: Duration = Duration::from_secs(3);

/// Lists the daemon's workers (labels, platforms) before any build.
pub async fn list_workers(
    channel: Channel,
) -> Result<Vec<crate::proto::moby::buildkit::v1::types::WorkerRecord>, BuildError> {
    let resp = control_client(channel)
        .list_workers(control::ListWorkersRequest::default())
        .await
        .map_err(|s| BuildError::Client(ClientError::rpc("Control.ListWorkers", s)))?;
    Ok(resp.into_inner().record)
}

/// Fills in a step failure from the progress board (the step's name and
/// last lines) and the definitions sent (its app.scratch location). A
/// failure without a vertex digest takes the first failed vertex of the
/// board.
pub fn enrich(err: BuildError, reporter: &Reporter, defs: &[pb::Definition]) -> BuildError {
    let board = &reporter.board;
    let mut failure = match err {
        BuildError::Step(f) => *f,
        BuildError::Daemon { call, message } => match board.failed().next() {
            Some(v) => StepFailure {
                message,
                vertex: Some(v.record.digest.clone()),
                ..StepFailure::default()
            },
            None => return BuildError::Daemon { call, message },
        },
        other => return other,
    };
    let vertex = failure
        .vertex
        .clone()
        .or_else(|| board.failed().next().map(|v| v.record.digest.clone()));
    if let Some(d) = &vertex {
        if let Some(v) = board.vertex(d) {
            if failure.name.is_none() && !v.record.name.is_empty() {
                failure.name = Some(v.record.name.clone());
            }
            if failure.logs.is_empty() {
                let tail = v.tail();
                let skip = tail.len().saturating_sub(ERROR_LOG_LINES);
                failure.logs = tail[skip..].to_vec();
            }
            if !v.record.error.is_empty() && failure.message.is_empty() {
                failure.message = v.record.error.clone();
            }
        }
        // Our own source maps list every place (the app line and the
        // template line); the daemon's detail names only one.
        let mut all = defs
            .iter()
            .map(|def| locate_all(def, d))
            .find(|l| !l.is_empty())
            .unwrap_or_default();
        if !all.is_empty() {
            failure.location = Some(all.remove(0));
            failure.also = all;
        }
    }
    failure.vertex = vertex;
    BuildError::Step(Box::new(failure))
}

fn time(t: Option<prost_types::Timestamp>) -> Option<SystemTime> {
    let t = t?;
    let secs = u64::try_from(t.seconds).ok()?;
    let nanos = u32::try_from(t.nanos).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Converts a `StatusResponse` into the board's types.
pub fn convert_status(m: control::StatusResponse) -> Update {
    Update {
        vertexes: m
            .vertexes
            .into_iter()
            .map(|v| VertexRecord {
                digest: v.digest,
                name: v.name,
                cached: v.cached,
                started: time(v.started),
                completed: time(v.completed),
                error: v.error,
            })
            .collect(),
        statuses: m
            .statuses
            .into_iter()
            .map(|s| StatusRecord {
                vertex: s.vertex,
                id: s.id,
                name: s.name,
                current: s.current,
                total: s.total,
                started: time(s.started),
                completed: time(s.completed),
            })
            .collect(),
        logs: m
            .logs
            .into_iter()
            .map(|l| LogRecord {
                vertex: l.vertex,
                msg: l.msg,
            })
            .collect(),
        warnings: m
            .warnings
            .into_iter()
            .map(|w| WarningRecord {
                vertex: w.vertex,
                short: String::from_utf8_lossy(&w.short).into_owned(),
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "solve_tests.rs"]
mod tests;
