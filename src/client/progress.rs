//! Build progress: merges BuildKit's incremental `Control.Status` records
//! into one board and shows it, live on a terminal or as buildctl-style
//! plain lines.
//!
//! The board is independent of the generated protobuf types (the solve
//! loop converts), so it can be driven by tests and by any other status
//! source. Invariants: a vertex appears once, keyed by digest, in the order
//! first seen; later records only fill in or overwrite its fields (BuildKit
//! resends whole vertex records); statuses merge by (vertex, id); logs are
//! appended per vertex and split into lines, a trailing partial line kept
//! until its newline arrives.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

/// How many log lines of each vertex the board keeps (for the live view and
/// for the error report of a failed step).
pub const KEPT_LOG_LINES: usize = 20;

/// How progress is shown (`--progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// `tty` when stderr is a terminal, else `plain`.
    Auto,
    /// A live view redrawn in place.
    Tty,
    /// buildctl's `#N ...` lines.
    Plain,
    /// Only errors and the result.
    Quiet,
}

impl ProgressMode {
    /// Resolves `Auto` against whether stderr is a terminal.
    pub fn resolve(self, stderr_is_tty: bool) -> ProgressMode {
        match self {
            ProgressMode::Auto if stderr_is_tty => ProgressMode::Tty,
            ProgressMode::Auto => ProgressMode::Plain,
            m => m,
        }
    }
}

/// One vertex record of a status update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VertexRecord {
    pub digest: String,
    pub name: String,
    pub cached: bool,
    pub started: Option<SystemTime>,
    pub completed: Option<SystemTime>,
    /// Empty when the vertex did not fail.
    pub error: String,
}

/// One sub-status (a transfer, a layer pull) of a vertex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusRecord {
    pub vertex: String,
    pub id: String,
    pub name: String,
    pub current: i64,
    pub total: i64,
    pub started: Option<SystemTime>,
    pub completed: Option<SystemTime>,
}

/// A chunk of a vertex's output (not necessarily whole lines).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRecord {
    pub vertex: String,
    pub msg: Vec<u8>,
}

/// A warning the build raised for a vertex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WarningRecord {
    pub vertex: String,
    pub short: String,
}

/// One `StatusResponse`, converted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    pub vertexes: Vec<VertexRecord>,
    pub statuses: Vec<StatusRecord>,
    pub logs: Vec<LogRecord>,
    pub warnings: Vec<WarningRecord>,
}

/// What the board knows of one vertex.
#[derive(Clone, Debug, Default)]
pub struct VertexState {
    pub record: VertexRecord,
    /// 1-based number in first-seen order (`#N`).
    pub number: usize,
    pub statuses: BTreeMap<String, StatusRecord>,
    /// The last [`KEPT_LOG_LINES`] complete lines.
    pub lines: VecDeque<String>,
    /// Output after the last newline.
    partial: Vec<u8>,
}

impl VertexState {
    /// Wall time between start and completion, if both are known.
    pub fn elapsed(&self) -> Option<Duration> {
        let (s, c) = (self.record.started?, self.record.completed?);
        c.duration_since(s).ok()
    }

    /// The kept lines, plus the partial line if any.
    pub fn tail(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lines.iter().cloned().collect();
        if !self.partial.is_empty() {
            v.push(String::from_utf8_lossy(&self.partial).into_owned());
        }
        v
    }
}

/// The merged state of a build's progress.
#[derive(Clone, Debug, Default)]
pub struct Board {
    vertices: Vec<VertexState>,
    index: HashMap<String, usize>,
    pub warnings: Vec<WarningRecord>,
}

/// Something the plain printer shows, produced while merging an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The vertex was seen started (or cached) for the first time.
    Started(usize),
    /// Complete log lines of a vertex.
    Lines(usize, Vec<String>),
    /// A sub-status finished: its name and progress text.
    StatusDone(usize, String),
    Cached(usize),
    Done(usize),
    Error(usize, String),
    Warning(usize, String),
}

impl Board {
    pub fn new() -> Self {
        Board::default()
    }

    /// Vertices in first-seen order.
    pub fn vertices(&self) -> &[VertexState] {
        &self.vertices
    }

    pub fn vertex(&self, digest: &str) -> Option<&VertexState> {
        self.index.get(digest).map(|&i| &self.vertices[i])
    }

    fn slot(&mut self, digest: &str) -> usize {
        if let Some(&i) = self.index.get(digest) {
            return i;
        }
        let i = self.vertices.len();
        self.vertices.push(VertexState {
            number: i + 1,
            record: VertexRecord {
                digest: digest.to_string(),
                ..VertexRecord::default()
            },
            ..VertexState::default()
        });
        self.index.insert(digest.to_string(), i);
        i
    }

    /// Merges one update and returns what changed, in the order a plain
    /// log should print it.
    pub fn apply(&mut self, u: Update) -> Vec<Event> {
        // Order: starts, then sub-statuses and logs, then completions, so a
        // step's last lines print before its DONE or ERROR.
        let mut events = Vec::new();
        let mut ends = Vec::new();
        for v in u.vertexes {
            let i = self.slot(&v.digest);
            let st = &mut self.vertices[i];
            let old = st.record.clone();
            let newly_started =
                (old.started.is_none() && v.started.is_some()) || (!old.cached && v.cached);
            let seen_before = old.started.is_some() || old.cached;
            st.record = VertexRecord {
                name: if v.name.is_empty() { old.name } else { v.name },
                started: v.started.or(old.started),
                completed: v.completed.or(old.completed),
                error: if v.error.is_empty() {
                    old.error
                } else {
                    v.error
                },
                cached: v.cached || old.cached,
                digest: v.digest,
            };
            let rec = &st.record;
            if newly_started && !seen_before {
                // A cached vertex starts and ends at once: keep its two
                // lines together.
                if rec.cached { &mut ends } else { &mut events }.push(Event::Started(i));
            }
            if rec.cached && !old.cached {
                ends.push(Event::Cached(i));
            } else if rec.completed.is_some() && old.completed.is_none() {
                if !rec.error.is_empty() {
                    ends.push(Event::Error(i, rec.error.clone()));
                } else if !rec.cached {
                    ends.push(Event::Done(i));
                }
            }
        }
        for s in u.statuses {
            let i = self.slot(&s.vertex);
            let st = &mut self.vertices[i];
            let done_now = s.completed.is_some()
                && st.statuses.get(&s.id).is_none_or(|o| o.completed.is_none());
            if done_now {
                events.push(Event::StatusDone(i, status_text(&s)));
            }
            st.statuses.insert(s.id.clone(), s);
        }
        for l in u.logs {
            let i = self.slot(&l.vertex);
            let st = &mut self.vertices[i];
            st.partial.extend_from_slice(&l.msg);
            let mut lines = Vec::new();
            while let Some(pos) = st.partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = st.partial.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1])
                    .trim_end_matches('\r')
                    .to_string();
                st.lines.push_back(text.clone());
                if st.lines.len() > KEPT_LOG_LINES {
                    st.lines.pop_front();
                }
                lines.push(text);
            }
            if !lines.is_empty() {
                events.push(Event::Lines(i, lines));
            }
        }
        for w in u.warnings {
            let i = self.slot(&w.vertex);
            events.push(Event::Warning(i, w.short.clone()));
            self.warnings.push(w);
        }
        events.extend(ends);
        events
    }

    /// The vertices that failed, in first-seen order.
    pub fn failed(&self) -> impl Iterator<Item = &VertexState> {
        self.vertices.iter().filter(|v| !v.record.error.is_empty())
    }

    /// (completed or cached, total) counts for the live header.
    pub fn counts(&self) -> (usize, usize) {
        let done = self
            .vertices
            .iter()
            .filter(|v| v.record.cached || v.record.completed.is_some())
            .count();
        (done, self.vertices.len())
    }
}

/// `name 1.2MB / 3.4MB done` style text for a sub-status.
fn status_text(s: &StatusRecord) -> String {
    // BuildKit often leaves the name empty and says it in the id
    // (`exporting layers`, a layer digest).
    let mut t = if s.name.is_empty() {
        s.id.clone()
    } else {
        s.name.clone()
    };
    if s.total > 0 {
        t.push_str(&format!(
            " {} / {}",
            human_bytes(s.current),
            human_bytes(s.total)
        ));
    } else if s.current > 0 {
        t.push_str(&format!(" {}", human_bytes(s.current)));
    }
    if s.completed.is_some() {
        t.push_str(" done");
    }
    t
}

/// Byte counts the way buildctl shows them (`1.23kB`, `5.50MB`).
pub fn human_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{}B", n as i64)
    } else {
        format!("{v:.2}{}", UNITS[u])
    }
}

/// Seconds with one decimal, as in `DONE 1.2s`.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Prints plain progress lines for events, buildctl style. Consecutive
/// lines of one vertex are grouped; switching vertex prints a blank line.
#[derive(Debug, Default)]
pub struct PlainPrinter {
    last: Option<usize>,
    named: std::collections::HashSet<usize>,
}

impl PlainPrinter {
    pub fn new() -> Self {
        PlainPrinter::default()
    }

    /// Writes the lines for `events` (as returned by [`Board::apply`]).
    pub fn print(
        &mut self,
        board: &Board,
        events: &[Event],
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        for e in events {
            let i = match e {
                Event::Started(i)
                | Event::Lines(i, _)
                | Event::StatusDone(i, _)
                | Event::Cached(i)
                | Event::Done(i)
                | Event::Error(i, _)
                | Event::Warning(i, _) => *i,
            };
            let Some(v) = board.vertices.get(i) else {
                continue;
            };
            let n = v.number;
            if self.last != Some(i) {
                if self.last.is_some() {
                    writeln!(out)?;
                }
                self.last = Some(i);
            }
            // Name a vertex once, on its first line, so no block is a bare
            // name and every `#N` can be looked up above.
            if self.named.insert(i) {
                writeln!(out, "#{n} {}", v.record.name)?;
            }
            match e {
                Event::Started(_) => {}
                Event::Lines(_, lines) => {
                    for l in lines {
                        writeln!(out, "#{n} {l}")?;
                    }
                }
                Event::StatusDone(_, text) => writeln!(out, "#{n} {text}")?,
                Event::Cached(_) => writeln!(out, "#{n} CACHED")?,
                Event::Done(_) => {
                    let t = v.elapsed().map(secs).unwrap_or_else(|| "0.0s".into());
                    writeln!(out, "#{n} DONE {t}")?;
                }
                Event::Error(_, msg) => writeln!(out, "#{n} ERROR: {msg}")?,
                Event::Warning(_, msg) => writeln!(out, "#{n} WARNING: {msg}")?,
            }
        }
        out.flush()
    }
}

/// How many log lines of a running step the live view shows.
const TTY_LOG_LINES: usize = 6;

/// The live view: the whole board redrawn in place, at most every
/// `interval`. Lines are cut to the terminal width so the cursor-up count
/// stays right (a wrapped line would take two rows).
#[derive(Debug)]
pub struct TtyView {
    drawn_rows: usize,
    last_draw: Option<Instant>,
    interval: Duration,
    start: Instant,
}

impl Default for TtyView {
    fn default() -> Self {
        TtyView::new()
    }
}

impl TtyView {
    pub fn new() -> Self {
        TtyView {
            drawn_rows: 0,
            last_draw: None,
            interval: Duration::from_millis(100),
            start: Instant::now(),
        }
    }

    /// Redraws if the last draw is older than the interval (or `force`).
    pub fn draw(
        &mut self,
        board: &Board,
        width: usize,
        force: bool,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let now = Instant::now();
        if !force
            && self
                .last_draw
                .is_some_and(|t| now.duration_since(t) < self.interval)
        {
            return Ok(());
        }
        self.last_draw = Some(now);
        let rows = render_rows(board, now.duration_since(self.start), width, force);
        let mut buf = String::new();
        if self.drawn_rows > 0 {
            buf.push_str(&format!("\x1b[{}A\r", self.drawn_rows));
        }
        for r in &rows {
            buf.push_str("\x1b[2K");
            buf.push_str(r);
            buf.push('\n');
        }
        // Clear rows left over from a taller previous frame.
        for _ in rows.len()..self.drawn_rows {
            buf.push_str("\x1b[2K\n");
        }
        let extra = self.drawn_rows.saturating_sub(rows.len());
        if extra > 0 {
            buf.push_str(&format!("\x1b[{extra}A"));
        }
        self.drawn_rows = rows.len();
        out.write_all(buf.as_bytes())?;
        out.flush()
    }
}

/// The rows of one frame of the live view. `finished` leaves out the log
/// tails (the final frame stays on screen).
pub fn render_rows(board: &Board, elapsed: Duration, width: usize, finished: bool) -> Vec<String> {
    let (done, total) = board.counts();
    let mut rows = vec![format!("[+] Building {} ({done}/{total})", secs(elapsed))];
    let now = SystemTime::now();
    for v in board.vertices() {
        let r = &v.record;
        if r.started.is_none() && !r.cached {
            continue;
        }
        let (state, time) = if r.cached {
            ("CACHED ", String::new())
        } else if !r.error.is_empty() {
            ("ERROR ", v.elapsed().map(secs).unwrap_or_default())
        } else if r.completed.is_some() {
            ("", v.elapsed().map(secs).unwrap_or_default())
        } else {
            let t = r.started.and_then(|s| now.duration_since(s).ok()).map(secs);
            ("", t.unwrap_or_default())
        };
        let left = format!(" => {state}{}", r.name);
        rows.push(fit_row(&left, &time, width));
        let running = r.completed.is_none() && !r.cached;
        if running && !finished {
            for s in v.statuses.values().filter(|s| s.completed.is_none()) {
                rows.push(fit_row(&format!(" => => {}", status_text(s)), "", width));
            }
            let tail = v.tail();
            let skip = tail.len().saturating_sub(TTY_LOG_LINES);
            for l in &tail[skip..] {
                rows.push(fit_row(&format!(" => => # {l}"), "", width));
            }
        }
    }
    rows
}

/// `left` padded so `right` ends at the width, both cut to fit on one row.
fn fit_row(left: &str, right: &str, width: usize) -> String {
    let width = width.max(20);
    let clean: String = left
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let rlen = right.chars().count();
    let room = width.saturating_sub(rlen + 1);
    let mut l: String = clean.chars().take(room).collect();
    let pad = room.saturating_sub(l.chars().count());
    if !right.is_empty() {
        l.push_str(&" ".repeat(pad + 1));
        l.push_str(right);
    }
    l
}

/// Shows progress on stderr in the chosen mode: owns the board, feeds it
/// updates and prints. The board outlives the build so a failure report
/// can read the failing step's name and output.
pub struct Reporter {
    mode: ProgressMode,
    pub board: Board,
    plain: PlainPrinter,
    tty: TtyView,
    out: Box<dyn Write + Send>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("mode", &self.mode)
            .finish()
    }
}

impl Reporter {
    /// A reporter writing to `out` in `mode` (already resolved: not Auto).
    pub fn new(mode: ProgressMode, out: Box<dyn Write + Send>) -> Reporter {
        Reporter {
            mode,
            board: Board::new(),
            plain: PlainPrinter::new(),
            tty: TtyView::new(),
            out,
        }
    }

    /// Merges an update and shows it. Output errors are ignored: progress
    /// is best effort and must never fail a build.
    pub fn update(&mut self, u: Update) {
        let events = self.board.apply(u);
        match self.mode {
            ProgressMode::Plain | ProgressMode::Auto => {
                let _ = self.plain.print(&self.board, &events, &mut self.out);
            }
            ProgressMode::Tty => {
                let _ = self
                    .tty
                    .draw(&self.board, terminal_width(), false, &mut self.out);
            }
            ProgressMode::Quiet => {}
        }
    }

    /// Redraws the live view (for the elapsed times while nothing arrives).
    pub fn tick(&mut self) {
        if self.mode == ProgressMode::Tty {
            let _ = self
                .tty
                .draw(&self.board, terminal_width(), false, &mut self.out);
        }
    }

    /// Draws the final frame.
    pub fn finish(&mut self) {
        if self.mode == ProgressMode::Tty {
            let _ = self
                .tty
                .draw(&self.board, terminal_width(), true, &mut self.out);
        }
    }

    pub fn mode(&self) -> ProgressMode {
        self.mode
    }
}

/// The terminal's width in columns (stderr's), or 100 when unknown.
fn terminal_width() -> usize {
    terminal_size::terminal_size_of(std::io::stderr())
        .map(|(w, _)| usize::from(w.0))
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Option<SystemTime> {
        Some(SystemTime::UNIX_EPOCH + Duration::from_millis(s))
    }

    fn vx(d: &str, name: &str) -> VertexRecord {
        VertexRecord {
            digest: d.into(),
            name: name.into(),
            ..VertexRecord::default()
        }
    }

    fn plain(board: &mut Board, p: &mut PlainPrinter, u: Update) -> String {
        let ev = board.apply(u);
        let mut out = Vec::new();
        p.print(board, &ev, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn merges_and_prints_plain() {
        let mut b = Board::new();
        let mut p = PlainPrinter::new();
        let mut text = String::new();
        text += &plain(
            &mut b,
            &mut p,
            Update {
                vertexes: vec![
                    VertexRecord {
                        started: at(0),
                        ..vx("a", "[internal] load context")
                    },
                    vx("b", "go build"),
                ],
                ..Update::default()
            },
        );
        text += &plain(
            &mut b,
            &mut p,
            Update {
                vertexes: vec![VertexRecord {
                    started: at(0),
                    completed: at(300),
                    ..vx("a", "")
                }],
                statuses: vec![StatusRecord {
                    vertex: "a".into(),
                    id: "t".into(),
                    name: "transferring context:".into(),
                    current: 1234,
                    completed: at(200),
                    ..StatusRecord::default()
                }],
                ..Update::default()
            },
        );
        text += &plain(
            &mut b,
            &mut p,
            Update {
                vertexes: vec![VertexRecord {
                    started: at(400),
                    ..vx("b", "go build")
                }],
                logs: vec![
                    LogRecord {
                        vertex: "b".into(),
                        msg: b"compiling\npart".to_vec(),
                    },
                    LogRecord {
                        vertex: "b".into(),
                        msg: b"ial\n".to_vec(),
                    },
                ],
                ..Update::default()
            },
        );
        text += &plain(
            &mut b,
            &mut p,
            Update {
                vertexes: vec![
                    VertexRecord {
                        started: at(400),
                        completed: at(1650),
                        error: "process \"go build\" did not complete successfully: exit code: 1"
                            .into(),
                        ..vx("b", "go build")
                    },
                    VertexRecord {
                        cached: true,
                        started: at(0),
                        completed: at(0),
                        ..vx("c", "copy")
                    },
                ],
                ..Update::default()
            },
        );
        assert_eq!(
            text,
            "#1 [internal] load context\n\
             #1 transferring context: 1.23kB done\n\
             #1 DONE 0.3s\n\
             \n\
             #2 go build\n\
             #2 compiling\n\
             #2 partial\n\
             #2 ERROR: process \"go build\" did not complete successfully: exit code: 1\n\
             \n\
             #3 copy\n\
             #3 CACHED\n"
        );
        assert_eq!(b.failed().count(), 1);
        assert_eq!(b.vertex("b").unwrap().tail(), vec!["compiling", "partial"]);
        assert_eq!(b.counts(), (3, 3));
    }

    #[test]
    fn keeps_last_lines_only() {
        let mut b = Board::new();
        let msg: String = (0..30).map(|i| format!("line {i}\n")).collect();
        b.apply(Update {
            logs: vec![LogRecord {
                vertex: "x".into(),
                msg: msg.into_bytes(),
            }],
            ..Update::default()
        });
        let tail = b.vertex("x").unwrap().tail();
        assert_eq!(tail.len(), KEPT_LOG_LINES);
        assert_eq!(tail.last().unwrap(), "line 29");
    }

    #[test]
    fn rows_fit_the_width() {
        let mut b = Board::new();
        b.apply(Update {
            vertexes: vec![VertexRecord {
                started: at(0),
                ..vx("a", &"x".repeat(200))
            }],
            logs: vec![LogRecord {
                vertex: "a".into(),
                msg: b"hello\tworld\n".to_vec(),
            }],
            ..Update::default()
        });
        let rows = render_rows(&b, Duration::from_secs(2), 40, false);
        assert_eq!(rows[0], "[+] Building 2.0s (0/1)");
        assert!(rows.iter().all(|r| r.chars().count() <= 40), "{rows:?}");
        assert_eq!(rows[2], " => => # hello world");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(12), "12B");
        assert_eq!(human_bytes(5_500_000), "5.50MB");
    }
}
