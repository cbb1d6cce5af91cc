//! Build progress: merges BuildKit's incremental `Control.Status` records
//! into one board and shows it, live on a terminal or as buildctl-style
//! plain lines.
//!
//! The board is independent of the generated protobuf types (the solve
//! loop converts), so it can be driven by tests and by any other status
//! source. Invariants: a vertex appears once, keyed by digest; later
//! records only fill in or overwrite its fields (BuildKit resends whole
//! vertex records); statuses merge by (vertex, id); logs are appended per
//! vertex and split into lines, a trailing partial line kept until its
//! newline arrives.
//!
//! Order, as buildctl's progressui has it (util/progress/progressui in
//! BuildKit): in the plain form a vertex's sub-statuses, warnings and
//! logs come before its `DONE`, and `DONE` waits while a sub-status of
//! the vertex is still open (a transfer reported done after its vertex);
//! vertices that finish in one update print in the order they finished;
//! `#N` numbers are given in the order vertices are first printed, and
//! leaving a vertex that is still running prints `#N ...`. The live view
//! lists vertices in build order: when each started (or was found
//! cached), not when BuildKit first mentioned it (it announces a whole
//! graph at once).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

/// How many log lines of each vertex the board keeps (for the live view and
/// for the error report of a failed step).
pub const KEPT_LOG_LINES: usize = 20;

/// How progress is shown (`--progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Every mode: its name (as `--progress` takes it) and what it shows.
    pub const ALL: [(ProgressMode, &'static str, &'static str); 4] = [
        (
            ProgressMode::Auto,
            "auto",
            "`tty` when stderr is a terminal, else `plain`",
        ),
        (ProgressMode::Tty, "tty", "A live view redrawn in place"),
        (ProgressMode::Plain, "plain", "buildctl's `#N ...` lines"),
        (ProgressMode::Quiet, "quiet", "Only errors and the result"),
    ];

    /// Resolves `Auto` against whether stderr is a terminal.
    pub fn resolve(self, stderr_is_tty: bool) -> ProgressMode {
        match self {
            ProgressMode::Auto if stderr_is_tty => ProgressMode::Tty,
            ProgressMode::Auto => ProgressMode::Plain,
            m => m,
        }
    }
}

impl std::str::FromStr for ProgressMode {
    type Err = String;

    fn from_str(s: &str) -> Result<ProgressMode, String> {
        ProgressMode::ALL
            .iter()
            .find(|(_, name, _)| *name == s)
            .map(|(m, _, _)| *m)
            .ok_or_else(|| format!("`{s}` is not a progress mode (auto, tty, plain or quiet)"))
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
    pub statuses: BTreeMap<String, StatusRecord>,
    /// The last [`KEPT_LOG_LINES`] complete lines.
    pub lines: VecDeque<String>,
    /// Output after the last newline.
    partial: Vec<u8>,
    /// Its end (`DONE`, `CACHED`, `ERROR`) has been given out.
    ended: bool,
    /// When an update first said it finished (this machine's clock).
    finished_at: Option<Instant>,
}

impl VertexState {
    /// Whether a sub-status is still open (its end waits for it).
    fn open_status(&self) -> bool {
        self.statuses.values().any(|s| s.completed.is_none())
    }

    /// The end event of a finished vertex, once: not while a sub-status
    /// is open, nor within `grace` of when it was seen finished (the
    /// status of a transfer may come in a later update than the vertex's
    /// completion, and its line belongs before `DONE`).
    fn end(&mut self, i: usize, now: Instant, grace: Duration) -> Option<Event> {
        let r = &self.record;
        let finished = r.cached || r.completed.is_some();
        let waited = self
            .finished_at
            .is_some_and(|t| r.cached || now.saturating_duration_since(t) >= grace);
        if self.ended || !finished || !waited || (!r.cached && self.open_status()) {
            return None;
        }
        self.ended = true;
        Some(if !r.error.is_empty() {
            Event::Error(i, r.error.clone())
        } else if r.cached {
            Event::Cached(i)
        } else {
            Event::Done(i)
        })
    }

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
    /// In first-seen order (indices are stable).
    vertices: Vec<VertexState>,
    index: HashMap<String, usize>,
    /// Indices in build order: when each started or was found cached.
    order: Vec<usize>,
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

impl Event {
    /// The vertex the event is about.
    pub fn vertex(&self) -> usize {
        match self {
            Event::Started(i)
            | Event::Lines(i, _)
            | Event::StatusDone(i, _)
            | Event::Cached(i)
            | Event::Done(i)
            | Event::Error(i, _)
            | Event::Warning(i, _) => *i,
        }
    }

    /// Whether it ends its vertex.
    pub fn is_end(&self) -> bool {
        matches!(self, Event::Cached(_) | Event::Done(_) | Event::Error(..))
    }
}

impl Board {
    pub fn new() -> Self {
        Board::default()
    }

    /// Vertices in first-seen order.
    pub fn vertices(&self) -> &[VertexState] {
        &self.vertices
    }

    /// The vertices that started (or were found cached), in that order.
    pub fn in_build_order(&self) -> impl Iterator<Item = &VertexState> {
        self.order.iter().map(|&i| &self.vertices[i])
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
    /// log prints it: per vertex its start, finished sub-statuses,
    /// warnings and log lines, the vertices in the order the update
    /// touched them. Ends come from [`Board::ends`], when due.
    pub fn apply(&mut self, u: Update) -> Vec<Event> {
        let mut touched: Vec<usize> = Vec::new();
        let mut per: HashMap<usize, Vec<Event>> = HashMap::new();
        let mut push = |touched: &mut Vec<usize>, i: usize, e: Option<Event>| {
            let list = per.entry(i).or_insert_with(|| {
                touched.push(i);
                Vec::new()
            });
            if let Some(e) = e {
                list.push(e);
            }
        };
        for v in u.vertexes {
            let i = self.slot(&v.digest);
            let st = &mut self.vertices[i];
            let old = st.record.clone();
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
            let now = st.record.started.is_some() || st.record.cached;
            if now && !seen_before {
                self.order.push(i);
                push(&mut touched, i, Some(Event::Started(i)));
            } else {
                push(&mut touched, i, None);
            }
        }
        for s in u.statuses {
            let i = self.slot(&s.vertex);
            let st = &mut self.vertices[i];
            let done_now = s.completed.is_some()
                && st.statuses.get(&s.id).is_none_or(|o| o.completed.is_none());
            let text = done_now.then(|| status_text(&s));
            st.statuses.insert(s.id.clone(), s);
            push(&mut touched, i, text.map(|t| Event::StatusDone(i, t)));
        }
        for w in u.warnings {
            let i = self.slot(&w.vertex);
            push(&mut touched, i, Some(Event::Warning(i, w.short.clone())));
            self.warnings.push(w);
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
            push(
                &mut touched,
                i,
                (!lines.is_empty()).then_some(Event::Lines(i, lines)),
            );
        }
        let now = Instant::now();
        let mut events = Vec::new();
        for i in touched {
            let v = &mut self.vertices[i];
            if v.finished_at.is_none() && (v.record.cached || v.record.completed.is_some()) {
                v.finished_at = Some(now);
            }
            events.extend(per.remove(&i).unwrap_or_default());
        }
        events
    }

    /// The ends due at `now` ([`VertexState`]'s rules, `grace` after a
    /// vertex was seen finished), in the order the vertices finished.
    pub fn ends(&mut self, now: Instant, grace: Duration) -> Vec<Event> {
        let mut due: Vec<(Option<SystemTime>, Event)> = Vec::new();
        for i in self.order.clone() {
            let v = &mut self.vertices[i];
            if let Some(e) = v.end(i, now, grace) {
                due.push((v.record.completed.or(v.record.started), e));
            }
        }
        due.sort_by_key(|(t, _)| *t);
        due.into_iter().map(|(_, e)| e).collect()
    }

    /// The ends still held back by sub-statuses that never closed, for the
    /// last print of a build.
    pub fn flush(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        for i in self.order.clone() {
            let v = &mut self.vertices[i];
            v.statuses.values_mut().for_each(|s| {
                if s.completed.is_none() {
                    s.completed = v.record.completed;
                }
            });
            if v.finished_at.is_some()
                && let Some(e) = v.end(i, Instant::now(), Duration::ZERO)
            {
                events.push(e);
            }
        }
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

/// A sub-status as buildctl shows it: its id (`transferring context:`,
/// `exporting layers`, a layer digest), bytes, seconds, `done`.
fn status_text(s: &StatusRecord) -> String {
    let mut t = s.id.clone();
    if s.total > 0 {
        t.push_str(&format!(
            " {} / {}",
            human_bytes(s.current),
            human_bytes(s.total)
        ));
    } else if s.current > 0 {
        t.push_str(&format!(" {}", human_bytes(s.current)));
    }
    if let (Some(start), Some(end)) = (s.started, s.completed)
        && let Ok(d) = end.duration_since(start)
        && d.as_secs_f64() > 0.01
    {
        t.push_str(&format!(" {}", secs(d)));
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

/// Prints plain progress lines for events, buildctl style: `#N name`
/// whenever the printer turns to a vertex (with a blank line between
/// blocks, and `#M ...` when it leaves one still running), numbers given
/// in the order vertices are first printed.
#[derive(Debug, Default)]
pub struct PlainPrinter {
    current: Option<usize>,
    numbers: HashMap<usize, usize>,
    printed: bool,
}

impl PlainPrinter {
    pub fn new() -> Self {
        PlainPrinter::default()
    }

    /// Writes the lines for `events` (as returned by [`Board::apply`]).
    /// As buildctl: the vertex being printed goes first when it ended, then
    /// the others that ended, then it (still running), then the rest.
    pub fn print(
        &mut self,
        board: &Board,
        events: &[Event],
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let mut groups: Vec<(usize, Vec<&Event>)> = Vec::new();
        for e in events {
            let i = e.vertex();
            match groups.iter_mut().find(|(g, _)| *g == i) {
                Some((_, list)) => list.push(e),
                None => groups.push((i, vec![e])),
            }
        }
        let ends = |list: &Vec<&Event>| list.iter().any(|e| e.is_end());
        let cur = self.current;
        let rank = |(i, list): &(usize, Vec<&Event>)| match (Some(*i) == cur, ends(list)) {
            (true, true) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (false, false) => 3,
        };
        groups.sort_by_key(rank);
        for e in groups.into_iter().flat_map(|(_, list)| list) {
            let i = e.vertex();
            let Some(v) = board.vertices.get(i) else {
                continue;
            };
            if self.current != Some(i) {
                if let Some(c) = self.current
                    && board.vertices.get(c).is_some_and(|v| !v.ended)
                {
                    writeln!(out, "#{} ...", self.numbers[&c])?;
                }
                if self.printed {
                    writeln!(out)?;
                }
                let next = self.numbers.len() + 1;
                let n = *self.numbers.entry(i).or_insert(next);
                writeln!(out, "#{n} {}", v.record.name)?;
                self.current = Some(i);
                self.printed = true;
            }
            let n = self.numbers[&i];
            match e {
                Event::Started(_) => {}
                Event::Lines(_, lines) => {
                    for l in lines {
                        writeln!(out, "#{n} {l}")?;
                    }
                }
                Event::StatusDone(_, text) => writeln!(out, "#{n} {text}")?,
                Event::Warning(_, msg) => writeln!(out, "#{n} WARN: {msg}")?,
                Event::Cached(_) => writeln!(out, "#{n} CACHED")?,
                Event::Done(_) => {
                    let t = v.elapsed().map(secs).unwrap_or_else(|| "0.0s".into());
                    writeln!(out, "#{n} DONE {t}")?;
                }
                Event::Error(_, msg) => writeln!(out, "#{n} ERROR: {msg}")?,
            }
            if e.is_end() {
                self.current = None;
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
    for v in board.in_build_order() {
        let r = &v.record;
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
    /// Plain events not printed yet: printed at most every
    /// [`PLAIN_INTERVAL`], as buildctl does, so what arrives together
    /// prints in its order.
    pending: Vec<Event>,
    last_print: Option<Instant>,
}

/// How often the plain form prints (buildctl's display rate).
const PLAIN_INTERVAL: Duration = Duration::from_millis(100);

/// How long a finished vertex's `DONE` waits for late sub-statuses.
const END_GRACE: Duration = Duration::from_millis(200);

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
            pending: Vec::new(),
            last_print: None,
        }
    }

    /// Prints the pending plain events and the ends that are due, when the
    /// last print is old enough (or `force`).
    fn print_plain(&mut self, force: bool) {
        let now = Instant::now();
        if !force
            && self
                .last_print
                .is_some_and(|t| now.duration_since(t) < PLAIN_INTERVAL)
        {
            return;
        }
        self.last_print = Some(now);
        let mut events = std::mem::take(&mut self.pending);
        events.extend(self.board.ends(now, END_GRACE));
        let _ = self.plain.print(&self.board, &events, &mut self.out);
    }

    /// Merges an update and shows it. Output errors are ignored: progress
    /// is best effort and must never fail a build.
    pub fn update(&mut self, u: Update) {
        let events = self.board.apply(u);
        match self.mode {
            ProgressMode::Plain | ProgressMode::Auto => {
                self.pending.extend(events);
                self.print_plain(false);
            }
            ProgressMode::Tty => {
                let _ = self
                    .tty
                    .draw(&self.board, terminal_width(), false, &mut self.out);
            }
            ProgressMode::Quiet => {}
        }
    }

    /// Redraws the live view (for the elapsed times while nothing
    /// arrives); prints plain events and ends that came due.
    pub fn tick(&mut self) {
        if matches!(self.mode, ProgressMode::Plain | ProgressMode::Auto) {
            self.print_plain(false);
        }
        if self.mode == ProgressMode::Tty {
            let _ = self
                .tty
                .draw(&self.board, terminal_width(), false, &mut self.out);
        }
    }

    /// Prints the ends sub-statuses held back, and draws the final frame.
    pub fn finish(&mut self) {
        if matches!(self.mode, ProgressMode::Plain | ProgressMode::Auto) {
            self.print_plain(true);
            let events = self.board.flush();
            let _ = self.plain.print(&self.board, &events, &mut self.out);
        }
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
#[path = "progress_tests.rs"]
mod tests;
