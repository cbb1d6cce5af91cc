//! `moby.filesync.v1.FileSend/DiffCopy`: receiving exports.
//!
//! Exporter number i opens this method with metadata
//! `buildkit-attachable-exporter-id: i` (absent means 0). Byte exporters
//! (`tar`, `oci`, `docker`) send `BytesMessage` chunks; the `local`
//! exporter sends fsutil Packets on the same method (we receive: REQ each
//! regular file, write its DATA, FIN). The two message types differ, so
//! this service is written by hand over a pass-through codec and decodes
//! according to the sink.
//!
//! Everything is written to a staging path next to the target
//! ([`destination::stage`]: same file system, so the final renames are
//! atomic, and a killed run's staging is removed by the next export);
//! [`Exports::commit`] moves it in place (a `local` tree merged into an
//! existing directory), [`Exports::discard`] removes it. Several streams
//! may target one `local` sink (one per platform with `platform-split`):
//! they share the staging directory.
//!
//! Runs of zeros in a file's data are skipped rather than written, so a
//! sparse file in the image stays sparse on disk.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{Body, BoxFuture, StdError, http};
use tonic::{Request, Response, Status, Streaming};

use super::ExportSink;
use super::fsmode;
use crate::client::artefacts::destination::{self, Shape, Staged};
use crate::client::{ClientError, MAX_MESSAGE_SIZE};
use crate::proto::fsutil::types::{Packet, PacketType, Stat};
use crate::proto::moby::filesync::v1::BytesMessage;

/// Staging and completion state of every export sink.
pub struct Exports {
    sinks: Vec<ExportSink>,
    state: Mutex<Vec<SinkState>>,
}

#[derive(Default)]
struct SinkState {
    staging: Option<Staged>,
    active: u32,
    done: u32,
    failed: Option<String>,
}

fn target_of(sink: &ExportSink) -> (&Path, Shape) {
    match sink {
        ExportSink::Tar(p) => (p, Shape::File),
        ExportSink::Local(p) => (p, Shape::Dir),
    }
}

impl Exports {
    pub fn new(sinks: Vec<ExportSink>) -> Self {
        let state = sinks.iter().map(|_| SinkState::default()).collect();
        Exports {
            sinks,
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<SinkState>>, Status> {
        self.state
            .lock()
            .map_err(|_| Status::internal("export state poisoned (bug, please report)"))
    }

    /// Starts a stream for exporter `id`: creates the staging path on the
    /// first stream.
    fn begin(&self, id: usize) -> Result<(ExportSink, PathBuf), Status> {
        let Some(sink) = self.sinks.get(id).cloned() else {
            return Err(Status::not_found(format!(
                "no export destination for exporter {id} (the session has {})",
                self.sinks.len()
            )));
        };
        let mut state = self.lock()?;
        let st = &mut state[id];
        if let Some(s) = &st.staging {
            if matches!(sink, ExportSink::Tar(_)) {
                return Err(Status::already_exists(format!(
                    "exporter {id} already sent its file"
                )));
            }
            st.active += 1;
            return Ok((sink, s.path.clone()));
        }
        let (target, shape) = target_of(&sink);
        let staged = destination::stage(target, shape).map_err(|e| {
            Status::internal(format!(
                "preparing the export to `{}`: {e}",
                target.display()
            ))
        })?;
        let path = staged.path.clone();
        st.staging = Some(staged);
        st.active += 1;
        Ok((sink, path))
    }

    fn end(&self, id: usize, res: &Result<(), Status>) {
        if let Ok(mut state) = self.state.lock() {
            let st = &mut state[id];
            st.active = st.active.saturating_sub(1);
            match res {
                Ok(()) => st.done += 1,
                Err(e) => {
                    st.failed.get_or_insert_with(|| e.message().to_string());
                }
            }
        }
    }

    /// Moves every completed export into place and removes failed or
    /// unfinished ones. Returns the first failure.
    pub fn commit(&self) -> Result<(), ClientError> {
        let mut first_err = None;
        let Ok(mut state) = self.state.lock() else {
            return Err(ClientError::Session(
                "export state poisoned (bug, please report)".into(),
            ));
        };
        for (sink, st) in self.sinks.iter().zip(state.iter_mut()) {
            let Some(staged) = st.staging.take() else {
                continue;
            };
            let (target, shape) = target_of(sink);
            let problem = if let Some(f) = &st.failed {
                Some(f.clone())
            } else if st.active > 0 {
                Some("the transfer did not finish before the session closed".to_string())
            } else {
                None
            };
            if let Some(p) = problem {
                staged.discard();
                first_err.get_or_insert(ClientError::Session(format!(
                    "export to `{}` failed: {p}",
                    target.display()
                )));
                continue;
            }
            if let Err(e) = staged.commit(target, shape) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Removes every staging path.
    pub fn discard(&self) {
        if let Ok(mut state) = self.state.lock() {
            for st in state.iter_mut() {
                if let Some(s) = st.staging.take() {
                    s.discard();
                }
            }
        }
    }
}

/// Passes message bytes through unchanged, so one method can carry either
/// BytesMessage or fsutil Packets.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

#[derive(Debug, Clone, Copy, Default)]
pub struct RawEncoder;

#[derive(Debug, Clone, Copy, Default)]
pub struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The hand-written FileSend server (see the module docs).
#[derive(Clone)]
pub struct FileSendServer {
    exports: Arc<Exports>,
}

impl FileSendServer {
    pub fn new(exports: Arc<Exports>) -> Self {
        FileSendServer { exports }
    }
}

impl tonic::server::NamedService for FileSendServer {
    const NAME: &'static str = "moby.filesync.v1.FileSend";
}

struct DiffCopy(Arc<Exports>);

type Frames = ReceiverStream<Result<Bytes, Status>>;

impl tonic::server::StreamingService<Bytes> for DiffCopy {
    type Response = Bytes;
    type ResponseStream = Frames;
    type Future = BoxFuture<Response<Frames>, Status>;
    fn call(&mut self, req: Request<Streaming<Bytes>>) -> Self::Future {
        let exports = Arc::clone(&self.0);
        Box::pin(async move { diff_copy(exports, req).await })
    }
}

impl<B> tower::Service<http::Request<B>> for FileSendServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let exports = Arc::clone(&self.exports);
        if req.uri().path() != "/moby.filesync.v1.FileSend/DiffCopy" {
            return Box::pin(async move {
                Ok(Status::unimplemented("unknown FileSend method").into_http())
            });
        }
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .apply_max_message_size_config(Some(MAX_MESSAGE_SIZE), Some(MAX_MESSAGE_SIZE));
            Ok(grpc.streaming(DiffCopy(exports), req).await)
        })
    }
}

async fn diff_copy(
    exports: Arc<Exports>,
    req: Request<Streaming<Bytes>>,
) -> Result<Response<Frames>, Status> {
    let id = match req.metadata().get("buildkit-attachable-exporter-id") {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .ok_or_else(|| Status::invalid_argument("bad buildkit-attachable-exporter-id"))?,
    };
    let (sink, staging) = exports.begin(id)?;
    let (tx, rx) = mpsc::channel(16);
    let inbound = req.into_inner();
    tokio::spawn(async move {
        let res = match sink {
            ExportSink::Tar(_) => receive_bytes(inbound, &staging).await,
            ExportSink::Local(_) => receive_tree(drain(inbound), &staging, &tx).await,
        };
        exports.end(id, &res);
        if let Err(st) = res {
            let _ = tx.send(Err(st)).await;
        }
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}

fn io_status(what: &str, path: &Path, e: std::io::Error) -> Status {
    Status::internal(format!("{what} `{}`: {e}", path.display()))
}

/// Writes the BytesMessage payloads to `file`, until the daemon half-closes.
async fn receive_bytes(mut inbound: Streaming<Bytes>, file: &Path) -> Result<(), Status> {
    let mut f = tokio::fs::File::create(file)
        .await
        .map_err(|e| io_status("creating", file, e))?;
    while let Some(frame) = inbound.message().await? {
        let msg = BytesMessage::decode(frame)
            .map_err(|e| Status::invalid_argument(format!("bad BytesMessage: {e}")))?;
        f.write_all(&msg.data)
            .await
            .map_err(|e| io_status("writing", file, e))?;
    }
    f.flush().await.map_err(|e| io_status("writing", file, e))?;
    f.sync_all()
        .await
        .map_err(|e| io_status("syncing", file, e))?;
    Ok(())
}

fn send_packet(p: Packet) -> Result<Bytes, Status> {
    Ok(Bytes::from(p.encode_to_vec()))
}

/// A relative, clean path from the daemon, joined under `root`; anything
/// that could escape the root is refused.
fn safe_join(root: &Path, rel: &str) -> Result<PathBuf, Status> {
    let p = Path::new(rel);
    let ok = !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if !ok {
        return Err(Status::invalid_argument(format!(
            "refusing export path `{rel}`"
        )));
    }
    Ok(root.join(p))
}

fn mtime(st: &Stat) -> SystemTime {
    let ns = st.mod_time.max(0) as u64;
    SystemTime::UNIX_EPOCH + Duration::from_nanos(ns)
}

/// Most bytes [`drain`] holds that the tree writer has not taken yet.
const DRAIN_BYTES: u32 = 32 << 20;

/// A received message and its share of [`DRAIN_BYTES`] (freed on drop).
type Drained = Result<(Bytes, tokio::sync::OwnedSemaphorePermit), Status>;

/// Takes the daemon's messages off the connection as they arrive, into a
/// queue. Small messages (an export's STATs) must not wait inside h2: it
/// ends a connection holding too many small unread DATA frames (GOAWAY
/// ENHANCE_YOUR_CALM), and creating files is slower than the daemon sends
/// STATs. The queue holds at most [`DRAIN_BYTES`] (plus one message), so
/// file data the disk cannot keep up with waits in the connection instead;
/// that is large frames, which h2 does not mind.
fn drain(mut inbound: Streaming<Bytes>) -> mpsc::UnboundedReceiver<Drained> {
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(tokio::sync::Semaphore::new(DRAIN_BYTES as usize));
    tokio::spawn(async move {
        loop {
            let item = match inbound.message().await {
                Ok(None) => return,
                Ok(Some(frame)) => {
                    let want = (frame.len() as u32).clamp(1, DRAIN_BYTES);
                    match Arc::clone(&budget).acquire_many_owned(want).await {
                        Ok(permit) => Ok((frame, permit)),
                        Err(_) => return,
                    }
                }
                Err(st) => Err(st),
            };
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// Receives an fsutil tree into `root` (we are fsutil's receiver), from
/// the daemon's messages as [`drain`] queues them.
///
/// Our FIN goes out once every file is written, and the tree is then
/// complete. The daemon answers FIN and ends its call, but an engine that
/// runs several exporters at once (BuildKit 0.25) may reset the stream
/// (CANCEL) before that answer leaves its queue: after our FIN, a reset is
/// the same end as the answer.
async fn receive_tree(
    mut inbound: mpsc::UnboundedReceiver<Drained>,
    root: &Path,
    tx: &mpsc::Sender<Result<Bytes, Status>>,
) -> Result<(), Status> {
    let gone = || Status::cancelled("the daemon went away");
    let mut next_id: u32 = 0;
    let mut stats_done = false;
    let mut fin_sent = false;
    let mut wanted: HashMap<u32, (PathBuf, Stat)> = HashMap::new();
    let mut open: HashMap<u32, (tokio::fs::File, u64)> = HashMap::new();
    let mut dirs: Vec<(PathBuf, Stat)> = Vec::new();
    while let Some(item) = inbound.recv().await {
        let (frame, _permit) = match item {
            Ok(received) => received,
            Err(_) if fin_sent => break,
            Err(st) => return Err(st),
        };
        let p = Packet::decode(frame)
            .map_err(|e| Status::invalid_argument(format!("bad fsutil packet: {e}")))?;
        match PacketType::try_from(p.r#type) {
            Ok(PacketType::PacketStat) => {
                let Some(st) = p.stat.filter(|s| !s.path.is_empty()) else {
                    stats_done = true;
                    if wanted.is_empty() && !fin_sent {
                        tx.send(send_packet(packet(PacketType::PacketFin)))
                            .await
                            .map_err(|_| gone())?;
                        fin_sent = true;
                    }
                    continue;
                };
                let id = next_id;
                next_id += 1;
                let path = safe_join(root, &st.path)?;
                if st.mode & fsmode::MODE_DIR != 0 {
                    match tokio::fs::create_dir(&path).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(io_status("creating", &path, e)),
                    }
                    dirs.push((path, st));
                } else if st.mode & fsmode::MODE_SYMLINK != 0 {
                    tokio::fs::symlink(&st.linkname, &path)
                        .await
                        .map_err(|e| io_status("creating symlink", &path, e))?;
                } else if st.mode & fsmode::MODE_TYPE == 0 {
                    if !st.linkname.is_empty() {
                        let src = safe_join(root, &st.linkname)?;
                        tokio::fs::hard_link(&src, &path)
                            .await
                            .map_err(|e| io_status("creating hard link", &path, e))?;
                    } else {
                        let f = tokio::fs::File::create(&path)
                            .await
                            .map_err(|e| io_status("creating", &path, e))?;
                        open.insert(id, (f, 0));
                        wanted.insert(id, (path, st));
                        let req = Packet {
                            r#type: PacketType::PacketReq as i32,
                            id,
                            ..Packet::default()
                        };
                        tx.send(send_packet(req)).await.map_err(|_| gone())?;
                    }
                }
                // Devices, pipes and sockets are not recreated: an export
                // runs unprivileged and they carry no content.
            }
            Ok(PacketType::PacketData) => {
                let Some((path, st)) = wanted.get(&p.id) else {
                    return Err(Status::invalid_argument(format!(
                        "DATA for id {} that was not requested",
                        p.id
                    )));
                };
                if !p.data.is_empty() {
                    let (f, len) = open
                        .get_mut(&p.id)
                        .ok_or_else(|| Status::internal("file not open (bug, please report)"))?;
                    *len += p.data.len() as u64;
                    if p.data.iter().all(|&b| b == 0) {
                        // A hole: skipped, the file's length is set at its end.
                        f.seek(std::io::SeekFrom::Current(p.data.len() as i64))
                            .await
                            .map_err(|e| io_status("writing", path, e))?;
                    } else {
                        f.write_all(&p.data)
                            .await
                            .map_err(|e| io_status("writing", path, e))?;
                    }
                    continue;
                }
                if let Some((mut f, len)) = open.remove(&p.id) {
                    f.flush().await.map_err(|e| io_status("writing", path, e))?;
                    f.set_len(len)
                        .await
                        .map_err(|e| io_status("writing", path, e))?;
                    let f = f.into_std().await;
                    let perm =
                        std::os::unix::fs::PermissionsExt::from_mode(fsmode::perm_bits(st.mode));
                    f.set_permissions(perm)
                        .map_err(|e| io_status("setting the mode of", path, e))?;
                    f.set_modified(mtime(st))
                        .map_err(|e| io_status("setting the time of", path, e))?;
                }
                wanted.remove(&p.id);
                if stats_done && wanted.is_empty() && !fin_sent {
                    tx.send(send_packet(packet(PacketType::PacketFin)))
                        .await
                        .map_err(|_| gone())?;
                    fin_sent = true;
                }
            }
            Ok(PacketType::PacketFin) => break,
            Ok(PacketType::PacketErr) => {
                return Err(Status::aborted(format!(
                    "the daemon aborted the export: {}",
                    String::from_utf8_lossy(&p.data)
                )));
            }
            _ => {}
        }
    }
    if !fin_sent {
        return Err(Status::aborted(
            "the export stream ended before every file arrived",
        ));
    }
    // Directory modes and times last, deepest first, so writing children
    // neither fails on a read-only directory nor bumps its time.
    for (path, st) in dirs.iter().rev() {
        let perm = std::os::unix::fs::PermissionsExt::from_mode(fsmode::perm_bits(st.mode));
        std::fs::set_permissions(path, perm)
            .map_err(|e| io_status("setting the mode of", path, e))?;
        if let Ok(d) = std::fs::File::open(path) {
            let _ = d.set_modified(mtime(st));
        }
    }
    Ok(())
}

fn packet(t: PacketType) -> Packet {
    Packet {
        r#type: t as i32,
        ..Packet::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escaping_paths() {
        let root = Path::new("/r");
        assert!(safe_join(root, "a/b").is_ok());
        for bad in ["", "../x", "/etc/passwd", "a/../../x", "./a"] {
            assert!(safe_join(root, bad).is_err(), "{bad}");
        }
    }

    /// The daemon's side of a one-file export, as `drain` would queue it,
    /// ending in `end` where the daemon's FIN answer would be.
    fn one_file_export(end: Drained) -> mpsc::UnboundedReceiver<Drained> {
        let budget = Arc::new(tokio::sync::Semaphore::new(16));
        let (tx, rx) = mpsc::unbounded_channel();
        let send = |p: Packet| {
            let permit = Arc::clone(&budget).try_acquire_owned().unwrap();
            tx.send(Ok((Bytes::from(p.encode_to_vec()), permit)))
                .unwrap();
        };
        let stat = |path: &str, mode: u32| Stat {
            path: path.to_string(),
            mode,
            ..Stat::default()
        };
        send(Packet {
            r#type: PacketType::PacketStat as i32,
            stat: Some(stat("hello", 0o755)),
            ..Packet::default()
        });
        send(packet(PacketType::PacketStat));
        for data in [&b"#!ok"[..], b""] {
            send(Packet {
                r#type: PacketType::PacketData as i32,
                id: 0,
                data: data.to_vec(),
                ..Packet::default()
            });
        }
        tx.send(end).unwrap();
        rx
    }

    async fn receive(inbound: mpsc::UnboundedReceiver<Drained>) -> (Result<(), Status>, Vec<i32>) {
        let root = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let res = receive_tree(inbound, root.path(), &tx).await;
        drop(tx);
        let mut sent = Vec::new();
        while let Some(Ok(frame)) = rx.recv().await {
            sent.push(Packet::decode(frame).unwrap().r#type);
        }
        if res.is_ok() {
            assert_eq!(std::fs::read(root.path().join("hello")).unwrap(), b"#!ok");
        }
        (res, sent)
    }

    #[tokio::test]
    async fn a_reset_after_our_fin_ends_the_export_as_the_fin_answer_does() {
        let fin = packet(PacketType::PacketFin).encode_to_vec();
        let permit = Arc::new(tokio::sync::Semaphore::new(1))
            .try_acquire_owned()
            .unwrap();
        let answered = one_file_export(Ok((Bytes::from(fin), permit)));
        let reset = one_file_export(Err(Status::cancelled("stream no longer needed")));
        for inbound in [answered, reset] {
            let (res, sent) = receive(inbound).await;
            assert!(res.is_ok(), "{res:?}");
            let (req, fin) = (PacketType::PacketReq as i32, PacketType::PacketFin as i32);
            assert_eq!(sent, [req, fin]);
        }
    }

    #[tokio::test]
    async fn a_reset_before_our_fin_fails_the_export() {
        let mut inbound = one_file_export(Err(Status::cancelled("unused")));
        // Keep the STATs and the REQ, lose the file's data to a reset.
        let mut early = Vec::new();
        for _ in 0..2 {
            early.push(inbound.try_recv().unwrap());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        for item in early {
            tx.send(item).unwrap();
        }
        tx.send(Err(Status::cancelled("stream no longer needed")))
            .unwrap();
        drop(tx);
        let (res, _) = receive(rx).await;
        let st = res.unwrap_err();
        assert_eq!(st.code(), tonic::Code::Cancelled);
    }
}
