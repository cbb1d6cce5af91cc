//! `containerd.services.content.v1.Content`: the content stores behind
//! `--cache-to type=local,dest=DIR` and `--cache-from type=local,src=DIR`.
//!
//! BuildKit's `local` cache exporter and importer do not touch the client's
//! files themselves: they call containerd's content API on the session,
//! with the metadata `buildkit-attachable-store-id: local:DIR` on every call
//! to name the store. Each store here is an OCI image layout directory
//! ([`crate::client::artefacts::ocilayout`]).
//!
//! What the daemon calls (BuildKit 0.13 through containerd 1.7's proxy
//! store), and what we answer:
//!
//! - `Info(digest)`: size and dates of a blob; **NotFound** when absent
//!   (the importer and the proxy reader check existence this way).
//! - `Read(digest, offset, size)`: the bytes in 1 MiB messages; `size` 0
//!   means to the end; an offset past the end is OutOfRange.
//! - `Write` (export): one stream per blob. The first message (a STAT)
//!   carries the ingest `ref`, the expected size (`total`) and digest
//!   (`expected`); a blob already present answers **AlreadyExists**, which
//!   the daemon takes as "done". Then STAT again (the current offset: we
//!   always start at 0), WRITE messages at the current offset (offset 0
//!   starts over, any other offset is OutOfRange), and a COMMIT with the
//!   final size and digest. Every request gets one reply with the offset
//!   reached and the digest of the bytes so far. The bytes go to a
//!   temporary file, are checked on commit (FailedPrecondition on a size
//!   or digest mismatch) and renamed into `blobs/sha256/`. A stream that
//!   ends without a commit leaves nothing. One stream per ref at a time:
//!   another is Unavailable (the daemon retries).
//! - `Status(ref)` / `Abort(ref)`: of a write in progress; NotFound
//!   otherwise (ingests do not outlive their stream, so nothing resumes).
//! - `Update`, `List`, `Delete`, `ListStatuses`: Unimplemented.
//!
//! A store given only to `--cache-from` is read-only: writes are refused.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

use super::ContentStore;
use crate::client::artefacts::ocilayout::{CommitError, Digest, Ingest, Layout};
use crate::proto::containerd::services::content::v1 as api;
use api::content_server::Content;

/// The metadata key that names the store of a call.
pub const STORE_ID_HEADER: &str = "buildkit-attachable-store-id";

/// Largest `data` of one Read reply (as containerd's server).
const READ_CHUNK: usize = 1 << 20;

/// A write in progress, for Status and Abort.
#[derive(Clone, Debug)]
struct IngestState {
    started: SystemTime,
    updated: SystemTime,
    offset: u64,
    total: i64,
    expected: String,
    aborted: bool,
}

type Ingests = Arc<Mutex<HashMap<(String, String), IngestState>>>;

pub struct ContentService {
    stores: BTreeMap<String, ContentStore>,
    ingests: Ingests,
}

impl ContentService {
    pub fn new(stores: BTreeMap<String, ContentStore>) -> Self {
        ContentService {
            stores,
            ingests: Arc::default(),
        }
    }

    /// The store named by the call's metadata.
    fn choose(&self, md: &MetadataMap) -> Result<(String, ContentStore), Status> {
        let Some(id) = md.get(STORE_ID_HEADER) else {
            return Err(Status::invalid_argument(format!(
                "request lacks metadata {STORE_ID_HEADER:?}"
            )));
        };
        let id = id
            .to_str()
            .map_err(|_| Status::invalid_argument(format!("{STORE_ID_HEADER} is not ASCII")))?;
        match self.stores.get(id) {
            Some(s) => Ok((id.to_string(), s.clone())),
            None => Err(Status::not_found(format!("unknown store {id}"))),
        }
    }
}

fn parse_digest(s: &str) -> Result<Digest, Status> {
    Digest::parse(s).map_err(|e| Status::invalid_argument(format!("{s:?} failed validation: {e}")))
}

fn not_found(d: &Digest) -> Status {
    Status::not_found(format!("content digest {d}: not found"))
}

fn internal(what: impl std::fmt::Display) -> Status {
    Status::internal(what.to_string())
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal(format!("content store task failed: {e}")))?
}

/// The blob's size and modification time, or NotFound.
async fn stat_blob(layout: &Layout, d: &Digest) -> Result<(u64, SystemTime), Status> {
    let (layout, d) = (layout.clone(), d.clone());
    blocking(move || match layout.blob(&d) {
        Ok(Some(m)) => Ok((m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH))),
        Ok(None) => Err(not_found(&d)),
        Err(e) => Err(internal(format!(
            "`{}`: {e}",
            layout.blob_path(&d).display()
        ))),
    })
    .await
}

#[tonic::async_trait]
impl Content for ContentService {
    async fn info(
        &self,
        req: Request<api::InfoRequest>,
    ) -> Result<Response<api::InfoResponse>, Status> {
        let (_, store) = self.choose(req.metadata())?;
        let d = parse_digest(&req.get_ref().digest)?;
        let (size, mtime) = stat_blob(&Layout::new(&store.dir), &d).await?;
        Ok(Response::new(api::InfoResponse {
            info: Some(api::Info {
                digest: d.to_string(),
                size: size as i64,
                created_at: Some(mtime.into()),
                updated_at: Some(mtime.into()),
                labels: BTreeMap::new(),
            }),
        }))
    }

    async fn update(
        &self,
        _req: Request<api::UpdateRequest>,
    ) -> Result<Response<api::UpdateResponse>, Status> {
        Err(Status::unimplemented(
            "Content.Update: an OCI layout store has no labels to update",
        ))
    }

    type ListStream = ReceiverStream<Result<api::ListContentResponse, Status>>;

    async fn list(
        &self,
        _req: Request<api::ListContentRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        Err(Status::unimplemented(
            "Content.List is not served by scratchc's cache stores",
        ))
    }

    async fn delete(
        &self,
        _req: Request<api::DeleteContentRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "Content.Delete: scratchc's cache stores are never pruned by the daemon",
        ))
    }

    type ReadStream = ReceiverStream<Result<api::ReadContentResponse, Status>>;

    async fn read(
        &self,
        req: Request<api::ReadContentRequest>,
    ) -> Result<Response<Self::ReadStream>, Status> {
        let (_, store) = self.choose(req.metadata())?;
        let req = req.into_inner();
        let d = parse_digest(&req.digest)?;
        let layout = Layout::new(&store.dir);
        let (blob_size, _) = stat_blob(&layout, &d).await?;
        let blob_size = blob_size as i64;
        let offset = req.offset.max(0);
        if offset > blob_size {
            return Err(Status::out_of_range(format!(
                "read past object length {blob_size} bytes"
            )));
        }
        let len = if req.size <= 0 || offset.saturating_add(req.size) > blob_size {
            blob_size - offset
        } else {
            req.size
        };
        let (tx, rx) = mpsc::channel(2);
        let path = layout.blob_path(&d);
        tokio::task::spawn_blocking(move || {
            let send_err = |s: Status| {
                let _ = tx.blocking_send(Err(s));
            };
            let mut f = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) => return send_err(internal(format!("`{}`: {e}", path.display()))),
            };
            if let Err(e) = f.seek(SeekFrom::Start(offset as u64)) {
                return send_err(internal(format!("`{}`: {e}", path.display())));
            }
            let mut at = offset;
            let end = offset + len;
            while at < end {
                let n = READ_CHUNK.min((end - at) as usize);
                let mut data = vec![0u8; n];
                if let Err(e) = f.read_exact(&mut data) {
                    return send_err(Status::data_loss(format!("`{}`: {e}", path.display())));
                }
                let msg = api::ReadContentResponse { offset: at, data };
                if tx.blocking_send(Ok(msg)).is_err() {
                    return; // the daemon stopped reading
                }
                at += n as i64;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn status(
        &self,
        req: Request<api::StatusRequest>,
    ) -> Result<Response<api::StatusResponse>, Status> {
        let (id, _) = self.choose(req.metadata())?;
        let r = req.into_inner().r#ref;
        let st = self
            .ingests
            .lock()
            .ok()
            .and_then(|m| m.get(&(id, r.clone())).cloned());
        let Some(st) = st else {
            return Err(Status::not_found(format!(
                "could not get status for ref {r:?}: not found"
            )));
        };
        Ok(Response::new(api::StatusResponse {
            status: Some(api::Status {
                started_at: Some(st.started.into()),
                updated_at: Some(st.updated.into()),
                r#ref: r,
                offset: st.offset as i64,
                total: st.total,
                expected: st.expected,
            }),
        }))
    }

    async fn list_statuses(
        &self,
        _req: Request<api::ListStatusesRequest>,
    ) -> Result<Response<api::ListStatusesResponse>, Status> {
        Err(Status::unimplemented(
            "Content.ListStatuses is not served by scratchc's cache stores",
        ))
    }

    type WriteStream = ReceiverStream<Result<api::WriteContentResponse, Status>>;

    async fn write(
        &self,
        req: Request<Streaming<api::WriteContentRequest>>,
    ) -> Result<Response<Self::WriteStream>, Status> {
        let (id, store) = self.choose(req.metadata())?;
        let inbound = req.into_inner();
        let (tx, rx) = mpsc::channel(2);
        let ingests = Arc::clone(&self.ingests);
        tokio::spawn(async move {
            let layout = Layout::new(&store.dir);
            let res = run_write(&id, &store, &layout, &ingests, inbound, &tx).await;
            // Tidy before the last reply, so the directory is clean once
            // the daemon has its answer.
            layout.tidy();
            let last = match res {
                Ok(Some(commit)) => Ok(commit),
                Ok(None) => return,
                Err(status) => Err(status),
            };
            let _ = tx.send(last).await;
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn abort(&self, req: Request<api::AbortRequest>) -> Result<Response<()>, Status> {
        let (id, _) = self.choose(req.metadata())?;
        let r = req.into_inner().r#ref;
        let mut map = self
            .ingests
            .lock()
            .map_err(|_| internal("ingest table poisoned (bug, please report)"))?;
        match map.get_mut(&(id, r.clone())) {
            Some(st) => {
                // The stream holding it sees the flag on its next message
                // and drops the ingest.
                st.aborted = true;
                Ok(Response::new(()))
            }
            None => Err(Status::not_found(format!("ingest ref {r:?}: not found"))),
        }
    }
}

/// Removes the ref from the table of writes in progress when the stream
/// ends, however it ends.
struct Registered<'a> {
    ingests: &'a Ingests,
    key: (String, String),
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        if let Ok(mut m) = self.ingests.lock() {
            m.remove(&self.key);
        }
    }
}

/// One Write stream: see the module docs for the protocol. Returns the
/// reply to a commit, sent by the caller.
async fn run_write(
    id: &str,
    store: &ContentStore,
    layout: &Layout,
    ingests: &Ingests,
    mut inbound: Streaming<api::WriteContentRequest>,
    tx: &mpsc::Sender<Result<api::WriteContentResponse, Status>>,
) -> Result<Option<api::WriteContentResponse>, Status> {
    let Some(mut req) = inbound.message().await? else {
        return Ok(None);
    };
    let r = req.r#ref.clone();
    if r.is_empty() {
        return Err(Status::invalid_argument(
            "first message must have a reference",
        ));
    }
    if !store.writable {
        return Err(Status::failed_precondition(format!(
            "store {id} is only a cache source (--cache-from); it is not written"
        )));
    }
    let key = (id.to_string(), r.clone());
    let started = SystemTime::now();
    {
        let mut map = ingests
            .lock()
            .map_err(|_| internal("ingest table poisoned (bug, please report)"))?;
        if map.contains_key(&key) {
            return Err(Status::unavailable(format!("ref {r} locked")));
        }
        map.insert(
            key.clone(),
            IngestState {
                started,
                updated: started,
                offset: 0,
                total: req.total,
                expected: req.expected.clone(),
                aborted: false,
            },
        );
    }
    let _registered = Registered {
        ingests,
        key: key.clone(),
    };
    let l2 = layout.clone();
    let mut ingest: Ingest = blocking(move || {
        l2.ingest().map_err(|e| {
            internal(format!(
                "cannot create an ingest in `{}`: {e}",
                l2.root().display()
            ))
        })
    })
    .await?;
    let mut total: i64 = 0;
    let mut expected: Option<Digest> = None;
    let mut updated = started;
    loop {
        let aborted = ingests
            .lock()
            .map(|m| m.get(&key).is_some_and(|s| s.aborted))
            .unwrap_or(false);
        if aborted {
            return Err(Status::aborted(format!("ingest ref {r:?} was aborted")));
        }
        if !req.expected.is_empty() {
            let d = parse_digest(&req.expected)?;
            // A blob already there (with the announced size, when known)
            // need not be written again.
            let size = req.total.max(total);
            if let Ok((have, _)) = stat_blob(layout, &d).await
                && (size <= 0 || have as i64 == size)
            {
                return Err(Status::already_exists(format!(
                    "blob with expected digest {d} exists"
                )));
            }
            expected = Some(d);
        }
        if req.total > 0 {
            total = req.total;
        }
        let action = api::WriteAction::try_from(req.action).map_err(|_| {
            Status::invalid_argument(format!("unknown write action {}", req.action))
        })?;
        let mut resp = api::WriteContentResponse {
            action: req.action,
            offset: ingest.offset() as i64,
            ..Default::default()
        };
        match action {
            api::WriteAction::Stat => {
                resp.digest = ingest.digest().to_string();
                resp.started_at = Some(started.into());
                resp.updated_at = Some(updated.into());
                resp.total = total;
            }
            api::WriteAction::Write | api::WriteAction::Commit => {
                let at = ingest.offset() as i64;
                if req.offset < 0 {
                    return Err(Status::invalid_argument(format!(
                        "negative write offset {}",
                        req.offset
                    )));
                }
                if req.offset > 0 && req.offset != at {
                    return Err(Status::out_of_range(format!(
                        "write @{} must occur at current offset {at}",
                        req.offset
                    )));
                }
                let data = std::mem::take(&mut req.data);
                let reset = req.offset == 0 && at > 0;
                if reset || !data.is_empty() {
                    ingest = blocking(move || {
                        if reset {
                            ingest
                                .reset()
                                .map_err(|e| internal(format!("truncate failed: {e}")))?;
                        }
                        ingest
                            .write(&data)
                            .map_err(|e| internal(format!("write failed: {e}")))?;
                        Ok(ingest)
                    })
                    .await?;
                    updated = SystemTime::now();
                }
                resp.offset = ingest.offset() as i64;
                if action == api::WriteAction::Commit {
                    let want_size = (total > 0).then_some(total as u64);
                    let want = expected.clone();
                    let l2 = layout.clone();
                    let got = blocking(move || {
                        ingest
                            .commit(&l2, want_size, want.as_ref())
                            .map_err(|e| match e {
                                CommitError::Io(e) => internal(format!("commit failed: {e}")),
                                other => Status::failed_precondition(other.to_string()),
                            })
                    })
                    .await?;
                    resp.digest = got.to_string();
                    resp.total = total;
                    resp.started_at = Some(started.into());
                    resp.updated_at = Some(updated.into());
                    return Ok(Some(resp));
                }
                resp.digest = ingest.digest().to_string();
            }
        }
        if let Ok(mut m) = ingests.lock()
            && let Some(st) = m.get_mut(&key)
        {
            st.offset = ingest.offset();
            st.updated = updated;
            st.total = total;
            st.expected = expected.as_ref().map(Digest::to_string).unwrap_or_default();
        }
        if tx.send(Ok(resp)).await.is_err() {
            return Ok(None); // the daemon went away; the ingest is dropped
        }
        req = match inbound.message().await? {
            Some(m) => m,
            // Closed without a commit: nothing is kept.
            None => return Ok(None),
        };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use hyper_util::rt::TokioIo;
    use tonic::Code;
    use tonic::transport::{Channel, Endpoint};

    use super::*;
    use crate::client::buildkit::session::h2serve;
    use api::WriteAction::{Commit, Stat, Write};
    use api::content_client::ContentClient;

    /// A client of a content service over an in-memory HTTP/2 connection
    /// (the session's server), with a writable store `local:rw` and a
    /// read-only `local:ro`.
    async fn serve(rw: &std::path::Path, ro: &std::path::Path) -> ContentClient<Channel> {
        let stores = BTreeMap::from([
            (
                "local:rw".to_string(),
                ContentStore {
                    dir: rw.to_path_buf(),
                    writable: true,
                },
            ),
            (
                "local:ro".to_string(),
                ContentStore {
                    dir: ro.to_path_buf(),
                    writable: false,
                },
            ),
        ]);
        let routes = tonic::service::Routes::new(api::content_server::ContentServer::new(
            ContentService::new(stores),
        ));
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        tokio::spawn(h2serve::serve(ours, routes));
        let slot = Arc::new(StdMutex::new(Some(theirs)));
        let connector = tower::service_fn(move |_: http::Uri| {
            let io = slot.lock().ok().and_then(|mut s| s.take());
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("used"))
            }
        });
        let channel = Endpoint::from_static("http://session")
            .connect_with_connector(connector)
            .await
            .unwrap();
        ContentClient::new(channel)
    }

    fn req<T>(msg: T, store: &str) -> Request<T> {
        let mut r = Request::new(msg);
        r.metadata_mut()
            .insert(STORE_ID_HEADER, store.parse().unwrap());
        r
    }

    fn msg(action: api::WriteAction, offset: i64, data: &[u8]) -> api::WriteContentRequest {
        api::WriteContentRequest {
            action: action as i32,
            offset,
            data: data.to_vec(),
            ..Default::default()
        }
    }

    /// Sends `msgs` on one Write stream; the replies, then the error that
    /// ended it (if any).
    async fn write(
        c: &mut ContentClient<Channel>,
        store: &str,
        msgs: Vec<api::WriteContentRequest>,
    ) -> (Vec<api::WriteContentResponse>, Option<Status>) {
        let mut replies = Vec::new();
        let mut stream = match c.write(req(tokio_stream::iter(msgs), store)).await {
            Ok(r) => r.into_inner(),
            Err(s) => return (replies, Some(s)),
        };
        loop {
            match stream.message().await {
                Ok(Some(m)) => replies.push(m),
                Ok(None) => return (replies, None),
                Err(s) => return (replies, Some(s)),
            }
        }
    }

    fn first(r#ref: &str, total: usize, expected: &Digest) -> api::WriteContentRequest {
        api::WriteContentRequest {
            action: Stat as i32,
            r#ref: r#ref.into(),
            total: total as i64,
            expected: expected.to_string(),
            ..Default::default()
        }
    }

    async fn read(
        c: &mut ContentClient<Channel>,
        d: &Digest,
        offset: i64,
        size: i64,
    ) -> Result<Vec<u8>, Status> {
        let mut s = c
            .read(req(
                api::ReadContentRequest {
                    digest: d.to_string(),
                    offset,
                    size,
                },
                "local:rw",
            ))
            .await?
            .into_inner();
        let mut out = Vec::new();
        while let Some(m) = s.message().await? {
            assert_eq!(m.offset, offset + out.len() as i64);
            out.extend(m.data);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn write_then_info_and_read_as_the_daemon_does() {
        let rw = tempfile::tempdir().unwrap();
        let ro = tempfile::tempdir().unwrap();
        let mut c = serve(rw.path(), ro.path()).await;
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let d = Digest::of(&data);
        let info = |d: &Digest, store: &str| {
            req(
                api::InfoRequest {
                    digest: d.to_string(),
                },
                store,
            )
        };
        let e = c.info(info(&d, "local:rw")).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{e:?}");

        // STAT, STAT, WRITE x2 (the second at the offset reached), COMMIT.
        let mut commit = msg(Commit, data.len() as i64, &[]);
        commit.total = data.len() as i64;
        commit.expected = d.to_string();
        let (replies, err) = write(
            &mut c,
            "local:rw",
            vec![
                first("layer-1", data.len(), &d),
                msg(Stat, 0, &[]),
                msg(Write, 0, &data[..1_000_000]),
                msg(Write, 1_000_000, &data[1_000_000..]),
                commit,
            ],
        )
        .await;
        assert!(err.is_none(), "{err:?}");
        let offsets: Vec<i64> = replies.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [0, 0, 1_000_000, 3_000_000, 3_000_000]);
        assert_eq!(replies[0].digest, Digest::of(b"").to_string());
        assert_eq!(replies[0].total, data.len() as i64);
        assert_eq!(
            replies[2].digest,
            Digest::of(&data[..1_000_000]).to_string()
        );
        assert_eq!(replies[4].action, Commit as i32);
        assert_eq!(replies[4].digest, d.to_string());

        let got = c.info(info(&d, "local:rw")).await.unwrap().into_inner();
        assert_eq!(got.info.unwrap().size, data.len() as i64);
        assert_eq!(read(&mut c, &d, 0, 0).await.unwrap(), data);
        assert_eq!(
            read(&mut c, &d, 2_500_000, 100).await.unwrap(),
            &data[2_500_000..2_500_100]
        );
        // Past the end: clamped; beyond it: OutOfRange.
        assert_eq!(
            read(&mut c, &d, 2_999_990, 100).await.unwrap(),
            &data[2_999_990..]
        );
        let e = read(&mut c, &d, 3_000_001, 0).await.unwrap_err();
        assert_eq!(e.code(), Code::OutOfRange);
        // The read-only store is a different directory.
        let e = c.info(info(&d, "local:ro")).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound);

        // Writing it again: AlreadyExists on the first STAT.
        let (replies, err) =
            write(&mut c, "local:rw", vec![first("layer-1", data.len(), &d)]).await;
        assert!(replies.is_empty());
        assert_eq!(err.unwrap().code(), Code::AlreadyExists);
        assert_eq!(
            fs_names(rw.path()),
            ["blobs"],
            "no ingest left behind: {:?}",
            fs_names(rw.path())
        );
    }

    fn fs_names(p: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn bad_writes_are_refused_with_their_codes() {
        let rw = tempfile::tempdir().unwrap();
        let ro = tempfile::tempdir().unwrap();
        let mut c = serve(rw.path(), ro.path()).await;
        let data = b"some blob";
        let d = Digest::of(data);
        let wrong = Digest::of(b"another blob");

        // Wrong digest or size at commit: FailedPrecondition, no blob.
        let mut commit = msg(Commit, data.len() as i64, &[]);
        commit.expected = wrong.to_string();
        let (_, err) = write(
            &mut c,
            "local:rw",
            vec![first("a", 0, &wrong), msg(Write, 0, data), commit],
        )
        .await;
        let err = err.unwrap();
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
        assert!(
            err.message().contains("unexpected commit digest"),
            "{err:?}"
        );
        let mut commit = msg(Commit, 0, data);
        commit.total = 3;
        let (_, err) = write(&mut c, "local:rw", vec![first("b", 0, &d), commit]).await;
        assert_eq!(err.unwrap().code(), Code::FailedPrecondition);
        assert!(!Layout::new(rw.path()).blob_path(&d).exists());

        // A write away from the current offset: OutOfRange.
        let (_, err) = write(
            &mut c,
            "local:rw",
            vec![
                first("c", 0, &d),
                msg(Write, 0, b"abc"),
                msg(Write, 7, b"x"),
            ],
        )
        .await;
        assert_eq!(err.unwrap().code(), Code::OutOfRange);
        // No ref: InvalidArgument. Read-only store: FailedPrecondition.
        let (_, err) = write(&mut c, "local:rw", vec![msg(Stat, 0, &[])]).await;
        assert_eq!(err.unwrap().code(), Code::InvalidArgument);
        let (_, err) = write(&mut c, "local:ro", vec![first("d", 0, &d)]).await;
        assert_eq!(err.unwrap().code(), Code::FailedPrecondition);
        // Closing the stream without a commit keeps nothing.
        let (replies, err) = write(
            &mut c,
            "local:rw",
            vec![first("e", 0, &d), msg(Write, 0, data)],
        )
        .await;
        assert!(err.is_none());
        assert_eq!(replies.len(), 2);
        assert!(!Layout::new(rw.path()).blob_path(&d).exists());
        // A commit may carry the data itself; offset 0 starts over.
        let mut commit = msg(Commit, 0, data);
        commit.expected = d.to_string();
        let (replies, err) = write(
            &mut c,
            "local:rw",
            vec![first("f", 0, &d), msg(Write, 0, b"junk"), commit],
        )
        .await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(replies.last().unwrap().offset, data.len() as i64);
        assert_eq!(
            std::fs::read(Layout::new(rw.path()).blob_path(&d)).unwrap(),
            data
        );

        // Which store: the header is required and must name a known one.
        let info = api::InfoRequest {
            digest: d.to_string(),
        };
        let e = c.info(Request::new(info.clone())).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        let e = c.info(req(info, "local:elsewhere")).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
        let e = c
            .info(req(
                api::InfoRequest {
                    digest: "sha256:nope".into(),
                },
                "local:rw",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        let e = c
            .delete(req(
                api::DeleteContentRequest {
                    digest: d.to_string(),
                },
                "local:rw",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unimplemented);
    }

    #[tokio::test]
    async fn one_stream_per_ref_with_status_and_abort() {
        let rw = tempfile::tempdir().unwrap();
        let ro = tempfile::tempdir().unwrap();
        let mut c = serve(rw.path(), ro.path()).await;
        let d = Digest::of(b"held");
        let (tx, rx) = mpsc::channel(4);
        tx.send(first("held", 4, &d)).await.unwrap();
        tx.send(msg(Write, 0, b"he")).await.unwrap();
        let mut held = c
            .write(req(ReceiverStream::new(rx), "local:rw"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(held.message().await.unwrap().unwrap().offset, 0);
        assert_eq!(held.message().await.unwrap().unwrap().offset, 2);

        let (_, err) = write(&mut c, "local:rw", vec![first("held", 4, &d)]).await;
        assert_eq!(err.unwrap().code(), Code::Unavailable);
        let st = c
            .status(req(
                api::StatusRequest {
                    r#ref: "held".into(),
                },
                "local:rw",
            ))
            .await
            .unwrap()
            .into_inner()
            .status
            .unwrap();
        assert_eq!((st.offset, st.total), (2, 4));
        assert_eq!(st.expected, d.to_string());
        let e = c
            .status(req(
                api::StatusRequest {
                    r#ref: "other".into(),
                },
                "local:rw",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound);

        c.abort(req(
            api::AbortRequest {
                r#ref: "held".into(),
            },
            "local:rw",
        ))
        .await
        .unwrap();
        tx.send(msg(Write, 2, b"ld")).await.unwrap();
        let e = held.message().await.unwrap_err();
        assert_eq!(e.code(), Code::Aborted);
        drop(tx);
        // The ref is free again and nothing was kept.
        let e = c
            .abort(req(
                api::AbortRequest {
                    r#ref: "held".into(),
                },
                "local:rw",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
        assert!(!Layout::new(rw.path()).blob_path(&d).exists());
    }
}
