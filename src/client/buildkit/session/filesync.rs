//! `moby.filesync.v1.FileSync/DiffCopy`: sending a local directory to the
//! daemon. We are fsutil's *sender*:
//!
//! 1. One STAT per entry (the root itself excluded) in fsutil order:
//!    depth-first pre-order with siblings sorted by byte value, which is
//!    the order of whole paths compared with `/` lower than any byte; every
//!    ancestor comes before its descendants. An empty STAT ends the list.
//! 2. An entry's ID is its position in that list. The daemon sends
//!    `REQ{ID}` for the files it wants, possibly while STATs are still
//!    going, so the walk and the answers run concurrently; each answer is
//!    DATA chunks of at most 32 KiB and an empty DATA.
//! 3. The daemon sends FIN; we answer FIN and end the call.
//!
//! Filtering follows BuildKit: the request's include patterns (plus
//! followpaths and their symlink targets) select, its exclude patterns and
//! the directory's `.dockerignore` drop. A directory that is not itself
//! selected but may hold selected entries is sent only when one is.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

use super::LocalDir;
use super::fsmode;
use crate::client::inputs::patterns::{PatternSet, clean};
use crate::proto::fsutil::types::{Packet, PacketType, Stat};
use crate::proto::moby::filesync::v1::file_sync_server::FileSync;

/// Largest DATA chunk, as fsutil sends.
const CHUNK: usize = 32 * 1024;

/// One entry of a walk, in send order.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkEntry {
    /// The fsutil Stat sent for it.
    pub stat: Stat,
    /// The file to read for REQ, for regular files.
    pub file: Option<PathBuf>,
}

/// Which entries of a directory are sent.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Option<PatternSet>,
    /// Each list excludes on its own (its `!` exceptions re-include only
    /// what that same list excluded).
    excludes: Vec<PatternSet>,
}

enum Decision {
    Send,
    Skip,
    /// Not selected, but something below may be: walk in, send the
    /// directory only if a descendant is sent.
    Maybe,
}

impl Filter {
    /// Builds a filter. `follow` paths are resolved against `root`:
    /// symlink targets inside the root are selected too.
    pub fn new(
        root: &Path,
        include: &[String],
        follow: &[String],
        excludes: &[&[String]],
    ) -> Result<Filter, crate::client::inputs::patterns::PatternError> {
        let mut inc: Vec<String> = include.to_vec();
        for f in follow {
            inc.extend(follow_links(root, f));
        }
        let include = if inc.is_empty() {
            None
        } else {
            Some(PatternSet::new(&inc)?)
        };
        let mut sets = Vec::new();
        for e in excludes {
            let s = PatternSet::new(e)?;
            if !s.is_empty() {
                sets.push(s);
            }
        }
        Ok(Filter {
            include,
            excludes: sets,
        })
    }

    fn decide(&self, path: &str, is_dir: bool) -> Decision {
        let mut maybe = false;
        if let Some(inc) = &self.include
            && !inc.matches(path)
        {
            if is_dir && inc.could_match_below(path) {
                maybe = true;
            } else {
                return Decision::Skip;
            }
        }
        for ex in &self.excludes {
            if ex.matches(path) {
                if is_dir && ex.exception_could_match_below(path) {
                    maybe = true;
                } else {
                    return Decision::Skip;
                }
            }
        }
        if maybe {
            Decision::Maybe
        } else {
            Decision::Send
        }
    }
}

/// `path` and, while it is a symlink inside `root`, its targets (cleaned,
/// root-relative), as fsutil's followpaths does.
fn follow_links(root: &Path, path: &str) -> Vec<String> {
    let mut out = vec![clean(path)];
    let mut cur = clean(path);
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(root.join(&cur)) else {
            break;
        };
        let t = target.to_string_lossy();
        let next = if t.starts_with('/') {
            clean(&t)
        } else {
            let parent = cur.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            clean(&format!("{parent}/{t}"))
        };
        if next.is_empty() || out.contains(&next) {
            break;
        }
        out.push(next.clone());
        cur = next;
    }
    out
}

/// Walks `root` in fsutil order, calling `emit` for each entry to send.
/// `emit` returning false stops the walk (the receiver went away).
pub fn walk_with(
    root: &Path,
    filter: &Filter,
    emit: &mut dyn FnMut(WalkEntry) -> bool,
) -> std::io::Result<()> {
    let mut w = Walk {
        filter,
        pending: Vec::new(),
        links: HashMap::new(),
    };
    w.dir(root, "", emit).map(|_| ())
}

/// Walks `root` and returns every entry that would be sent, in order.
pub fn walk(root: &Path, filter: &Filter) -> std::io::Result<Vec<WalkEntry>> {
    let mut out = Vec::new();
    walk_with(root, filter, &mut |e| {
        out.push(e);
        true
    })?;
    Ok(out)
}

/// State of one walk.
struct Walk<'a> {
    filter: &'a Filter,
    /// Directories walked into but not sent yet (see [`Decision::Maybe`]):
    /// sent, in order, before the first descendant that is sent.
    pending: Vec<WalkEntry>,
    /// First path sent for each (device, inode) of a multiply linked file:
    /// later paths go as hard links to it, as fsutil does.
    links: HashMap<(u64, u64), String>,
}

impl Walk<'_> {
    /// Walks one directory. Returns Ok(false) when `emit` asked to stop.
    fn dir(
        &mut self,
        abs: &Path,
        rel: &str,
        emit: &mut dyn FnMut(WalkEntry) -> bool,
    ) -> std::io::Result<bool> {
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(abs)
            .map_err(|e| annotate(e, abs))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|e| annotate(e, abs))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let child_abs = abs.join(&name);
            let name = name.to_string_lossy();
            let child_rel = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let meta = match std::fs::symlink_metadata(&child_abs) {
                Ok(m) => m,
                // Removed while walking: fsutil skips it too.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(annotate(e, &child_abs)),
            };
            let ft = meta.file_type();
            if is_socket(&meta) {
                continue;
            }
            let decision = self.filter.decide(&child_rel, ft.is_dir());
            match decision {
                Decision::Skip => {}
                Decision::Send => {
                    let mut entry = entry_of(&child_abs, &child_rel, &meta)?;
                    if ft.is_file() && meta.nlink() > 1 {
                        match self.links.get(&(meta.dev(), meta.ino())) {
                            Some(first) => {
                                entry.stat.linkname = first.clone();
                                entry.file = None;
                            }
                            None => {
                                self.links
                                    .insert((meta.dev(), meta.ino()), child_rel.clone());
                            }
                        }
                    }
                    for p in self.pending.drain(..) {
                        if !emit(p) {
                            return Ok(false);
                        }
                    }
                    if !emit(entry) {
                        return Ok(false);
                    }
                    if ft.is_dir() && !self.dir(&child_abs, &child_rel, emit)? {
                        return Ok(false);
                    }
                }
                Decision::Maybe => {
                    let depth = self.pending.len();
                    self.pending.push(entry_of(&child_abs, &child_rel, &meta)?);
                    if !self.dir(&child_abs, &child_rel, emit)? {
                        return Ok(false);
                    }
                    self.pending.truncate(depth);
                }
            }
        }
        Ok(true)
    }
}

fn is_socket(meta: &std::fs::Metadata) -> bool {
    meta.mode() & 0o170_000 == 0o140_000
}

fn annotate(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("`{}`: {e}", path.display()))
}

fn entry_of(abs: &Path, rel: &str, meta: &std::fs::Metadata) -> std::io::Result<WalkEntry> {
    let ft = meta.file_type();
    let linkname = if ft.is_symlink() {
        std::fs::read_link(abs)
            .map_err(|e| annotate(e, abs))?
            .to_string_lossy()
            .into_owned()
    } else {
        String::new()
    };
    let (devmajor, devminor) = if ft.is_block_device() || ft.is_char_device() {
        let rdev = meta.rdev();
        (
            (((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff)) as i64,
            (((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff)) as i64,
        )
    } else {
        (0, 0)
    };
    let stat = Stat {
        path: rel.to_string(),
        mode: fsmode::to_go(meta.mode()),
        uid: meta.uid(),
        gid: meta.gid(),
        size: if ft.is_dir() { 0 } else { meta.size() as i64 },
        mod_time: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        linkname,
        devmajor,
        devminor,
        xattrs: BTreeMap::new(),
    };
    Ok(WalkEntry {
        stat,
        file: ft.is_file().then(|| abs.to_path_buf()),
    })
}

use std::os::unix::fs::FileTypeExt;

/// The FileSync service over the session's directories.
pub struct FileSyncService {
    dirs: BTreeMap<String, LocalDir>,
}

impl FileSyncService {
    pub fn new(dirs: BTreeMap<String, LocalDir>) -> Self {
        FileSyncService { dirs }
    }
}

/// All values of a metadata key, URL-query-unescaped when `<key>-encoded`
/// is set (how BuildKit sends patterns that are not plain ASCII).
fn md_values(md: &MetadataMap, key: &str) -> Vec<String> {
    let encoded = md.get(format!("{key}-encoded").as_str()).is_some();
    md.get_all(key)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| {
            if encoded {
                query_unescape(v)
            } else {
                v.to_string()
            }
        })
        .collect()
}

/// Go's url.QueryUnescape: `+` is a space, `%XX` a byte (a malformed
/// escape is kept as is).
fn query_unescape(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn packet(t: PacketType) -> Packet {
    Packet {
        r#type: t as i32,
        ..Packet::default()
    }
}

type PacketResult = Result<Packet, Status>;

#[tonic::async_trait]
impl FileSync for FileSyncService {
    type DiffCopyStream = ReceiverStream<PacketResult>;
    type TarStreamStream = ReceiverStream<PacketResult>;

    async fn diff_copy(
        &self,
        req: Request<Streaming<Packet>>,
    ) -> Result<Response<Self::DiffCopyStream>, Status> {
        let md = req.metadata();
        let name = md_values(md, "dir-name")
            .into_iter()
            .next()
            .unwrap_or_default();
        let Some(dir) = self.dirs.get(&name) else {
            return Err(Status::not_found(format!(
                "no local directory `{name}` in this session (offered: {})",
                self.dirs.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        };
        let root = dir.path.clone();
        let req_excludes = md_values(md, "exclude-patterns");
        let filter = Filter::new(
            &root,
            &md_values(md, "include-patterns"),
            &md_values(md, "followpaths"),
            &[&dir.excludes, &req_excludes],
        )
        .map_err(|e| Status::invalid_argument(format!("local `{name}`: {e}")))?;

        let (tx, rx) = mpsc::channel::<PacketResult>(64);
        let files: Arc<Mutex<Vec<Option<PathBuf>>>> = Arc::default();

        let walk_tx = tx.clone();
        let walk_files = Arc::clone(&files);
        tokio::task::spawn_blocking(move || {
            let res = walk_with(&root, &filter, &mut |e| {
                if let Ok(mut f) = walk_files.lock() {
                    f.push(e.file);
                }
                let p = Packet {
                    r#type: PacketType::PacketStat as i32,
                    stat: Some(e.stat),
                    ..Packet::default()
                };
                walk_tx.blocking_send(Ok(p)).is_ok()
            });
            let last = match res {
                Ok(()) => Ok(packet(PacketType::PacketStat)),
                Err(e) => Err(Status::internal(format!(
                    "sending `{}`: {e}",
                    root.display()
                ))),
            };
            let _ = walk_tx.blocking_send(last);
        });

        // The daemon's packets are read as they come, whatever the answers
        // are doing: a REQ is a tiny HTTP/2 DATA frame, and frames left
        // unread pile up in the connection's buffer, which h2 bounds (too
        // many small buffered frames and it ends the whole session with
        // GOAWAY ENHANCE_YOUR_CALM). So the reader only queues work; one
        // blocking thread answers it in order.
        let (work_tx, work_rx) = mpsc::unbounded_channel::<Work>();
        let mut inbound = req.into_inner();
        tokio::spawn(async move {
            while let Ok(Some(p)) = inbound.message().await {
                let work = match PacketType::try_from(p.r#type) {
                    Ok(PacketType::PacketReq) => Work::Req(p.id),
                    Ok(PacketType::PacketFin) => Work::Fin,
                    Ok(PacketType::PacketErr) => break,
                    _ => continue,
                };
                let fin = matches!(work, Work::Fin);
                if work_tx.send(work).is_err() || fin {
                    break;
                }
            }
        });
        tokio::task::spawn_blocking(move || answer(work_rx, &files, &tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn tar_stream(
        &self,
        _req: Request<Streaming<Packet>>,
    ) -> Result<Response<Self::TarStreamStream>, Status> {
        Err(Status::unimplemented(
            "scratchc sends local directories with DiffCopy only",
        ))
    }
}

/// What the daemon asked for, in arrival order.
enum Work {
    /// Send the file with this ID.
    Req(u32),
    /// The daemon has everything: answer FIN and end the call.
    Fin,
}

/// Answers the daemon's requests in order, on a blocking thread (file reads
/// are plain blocking reads; one thread for the whole call costs less than
/// a runtime hop per read). Ends at FIN, at the first error (sent to the
/// daemon), or when the daemon goes away.
fn answer(
    mut work: mpsc::UnboundedReceiver<Work>,
    files: &Mutex<Vec<Option<PathBuf>>>,
    tx: &mpsc::Sender<PacketResult>,
) {
    let mut buf = vec![0u8; CHUNK];
    while let Some(w) = work.blocking_recv() {
        let id = match w {
            Work::Req(id) => id,
            Work::Fin => {
                let _ = tx.blocking_send(Ok(packet(PacketType::PacketFin)));
                return;
            }
        };
        let file = files
            .lock()
            .ok()
            .and_then(|f| f.get(id as usize).cloned().flatten());
        let res = match file {
            Some(path) => send_file(tx, id, &path, &mut buf),
            None => Err(Status::invalid_argument(format!(
                "REQ for id {id} which is not a regular file"
            ))),
        };
        if let Err(st) = res {
            let _ = tx.blocking_send(Err(st));
            return;
        }
    }
}

/// Streams one file as DATA chunks and the closing empty DATA. `buf` is
/// the read buffer (its length is the chunk size), reused across files.
fn send_file(
    tx: &mpsc::Sender<PacketResult>,
    id: u32,
    path: &Path,
    buf: &mut [u8],
) -> Result<(), Status> {
    use std::io::Read;
    let err = |e: std::io::Error| Status::internal(format!("reading `{}`: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(err)?;
    loop {
        let n = match f.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(e)),
        };
        let p = Packet {
            r#type: PacketType::PacketData as i32,
            id,
            data: buf[..n].to_vec(),
            ..Packet::default()
        };
        if tx.blocking_send(Ok(p)).is_err() {
            return Err(Status::cancelled("the daemon went away"));
        }
        if n == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(root: &Path, f: &Filter) -> Vec<String> {
        walk(root, f)
            .unwrap()
            .into_iter()
            .map(|e| {
                if e.stat.linkname.is_empty() {
                    e.stat.path
                } else {
                    format!("{} -> {}", e.stat.path, e.stat.linkname)
                }
            })
            .collect()
    }

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, rel).unwrap();
    }

    #[test]
    fn walk_order_is_fsutil_order() {
        let d = tempfile::tempdir().unwrap();
        for f in ["a.b/x", "a/b", "a/c/d", "a-z", "B", "a0"] {
            touch(d.path(), f);
        }
        std::fs::hard_link(d.path().join("B"), d.path().join("zz")).unwrap();
        std::os::unix::fs::symlink("a/b", d.path().join("s")).unwrap();
        // `/` sorts below every byte: a/... before a-z, a.b and a0.
        assert_eq!(
            paths(d.path(), &Filter::default()),
            [
                "B", "a", "a/b", "a/c", "a/c/d", "a-z", "a.b", "a.b/x", "a0", "s -> a/b", "zz -> B"
            ]
        );
        let e = walk(d.path(), &Filter::default()).unwrap();
        assert_eq!(e[0].stat.mode & fsmode::MODE_TYPE, 0);
        assert_eq!(e[1].stat.mode & fsmode::MODE_DIR, fsmode::MODE_DIR);
        assert_eq!(e[1].stat.size, 0);
        assert_eq!(e[2].stat.size, 3);
        assert!(e[2].file.is_some() && e[1].file.is_none());
    }

    #[test]
    fn parents_of_selected_entries_come_first_and_only_when_needed() {
        let d = tempfile::tempdir().unwrap();
        for f in ["x/y/keep.txt", "x/y/drop", "x/other/drop", "top.txt"] {
            touch(d.path(), f);
        }
        let exc = vec!["x".to_string(), "!x/y/keep.txt".to_string()];
        let f = Filter::new(d.path(), &[], &[], &[&exc]).unwrap();
        assert_eq!(paths(d.path(), &f), ["top.txt", "x", "x/y", "x/y/keep.txt"]);
        let f = Filter::new(d.path(), &["**/keep.txt".into()], &[], &[]).unwrap();
        assert_eq!(paths(d.path(), &f), ["x", "x/y", "x/y/keep.txt"]);
    }

    #[test]
    fn followpaths_bring_symlink_targets() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "real/Dockerfile");
        touch(d.path(), "other");
        std::os::unix::fs::symlink("real/Dockerfile", d.path().join("Dockerfile")).unwrap();
        let f = Filter::new(d.path(), &[], &["Dockerfile".into()], &[]).unwrap();
        assert_eq!(
            paths(d.path(), &f),
            ["Dockerfile -> real/Dockerfile", "real", "real/Dockerfile"]
        );
    }

    #[test]
    fn unescapes_like_go() {
        assert_eq!(query_unescape("a+b%2Fc%zz"), "a b/c%zz");
    }
}
