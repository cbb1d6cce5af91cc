//! What a rendered diagnostic shows of a source file: the lines its labels
//! touch (and one line of context around them), each cut to a window and
//! with control characters escaped. miette renders this excerpt, never the
//! file itself.
//!
//! Why: miette reads whole lines and pads label positions with `format!`
//! widths, which panics past 65,535 columns, scans the file from the start
//! for every span, and copies the bytes of a line to the terminal as they
//! are. So every line shown here is at most [`WINDOW_BYTES`] of the file
//! (plus `…` where cut), every control character (C0, DEL, C1) and every
//! invisible bidirectional or zero-width format character is written as
//! `\xNN` or `\u{NNNN}`, and the cost of one diagnostic is bounded by the
//! lines it shows, not by the size of the file.
//!
//! The excerpt keeps the real line numbers and the real column of the
//! primary label: miette asks [`SourceCode::read_span`] for them, and the
//! excerpt answers in the file's terms.

use miette::{LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Bytes of one source line shown at most; a longer line is cut to a
/// window of this size around the first label on it.
pub const WINDOW_BYTES: usize = 120;
/// Bytes kept before the label's start when a line is windowed.
const WINDOW_BEFORE: usize = 40;
/// A label that spans more lines than this is shortened to its first line.
pub const MAX_LABEL_LINES: usize = 8;
/// Characters of a message, label or help line shown at most.
pub const MAX_TEXT_CHARS: usize = 400;

/// One label to show: a byte range of the file, its text, and whether it
/// is the primary one (the header's line:column).
#[derive(Clone, Debug)]
pub struct Label {
    pub start: usize,
    pub end: usize,
    pub text: Option<String>,
    pub primary: bool,
}

/// The excerpt of one file for one diagnostic, ready for miette: chunks of
/// consecutive shown lines, each at its own offset in a virtual text
/// (chunks apart by one byte, so no span crosses two).
#[derive(Debug)]
pub struct Excerpt {
    name: String,
    chunks: Vec<Chunk>,
    /// Virtual offset and real 0-based column of the primary label.
    primary: Option<(usize, usize)>,
}

#[derive(Debug)]
struct Chunk {
    /// Where the chunk starts in the virtual text.
    base: usize,
    /// The 0-based line number of its first line in the file.
    first_line: usize,
    /// Its lines, escaped and windowed, joined by `\n`.
    text: String,
}

/// A shown line: its text and the map from file offsets to text offsets.
struct Shown {
    text: String,
    /// `(file offset, offset in text)` at every char boundary of the
    /// window, in order; the last entry is the window's end.
    map: Vec<(usize, usize)>,
    /// The end of the window in the file.
    end: usize,
}

impl Shown {
    /// The text offset of a file offset, clamped to the window.
    fn at(&self, offset: usize) -> usize {
        let i = self.map.partition_point(|&(o, _)| o <= offset);
        match i.checked_sub(1).and_then(|i| self.map.get(i)) {
            Some(&(_, t)) => t,
            None => self.map.first().map_or(0, |&(_, t)| t),
        }
    }
}

/// Builds the excerpt of `text` (with `line_starts`, the byte offsets where
/// its lines start, `[0, ...]`) for `labels`. Returns it with the labels
/// moved into its coordinates; labels that fall outside every window (a
/// second label far along a long line) are left out.
pub fn excerpt(
    name: &str,
    text: &str,
    line_starts: &[usize],
    labels: &[Label],
) -> (Excerpt, Vec<LabeledSpan>) {
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset).max(1) - 1;
    let line_bounds = |line: usize| -> (usize, usize) {
        let start = line_starts.get(line).copied().unwrap_or(text.len());
        let next = line_starts.get(line + 1).copied().unwrap_or(text.len());
        let mut end = next.max(start);
        let bytes = text.as_bytes();
        if end > start && bytes.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        (start, end)
    };
    // Labels clamped to the text and to char boundaries, long ones cut to
    // their first line.
    let mut labels: Vec<Label> = labels
        .iter()
        .map(|l| {
            let start = floor_boundary(text, l.start.min(text.len()));
            let mut end = floor_boundary(text, l.end.clamp(start, text.len()));
            let (first, last) = (line_of(start), line_of(end));
            if last - first >= MAX_LABEL_LINES {
                end = line_bounds(first).1.max(start);
            }
            Label {
                start,
                end,
                text: l.text.as_deref().map(escape_text),
                primary: l.primary,
            }
        })
        .collect();
    labels.sort_by_key(|l| (!l.primary, l.start));

    // The lines to show: each label's lines and one around them.
    let last_line = line_starts.len().saturating_sub(1);
    let mut lines: Vec<usize> = Vec::new();
    for l in &labels {
        let (a, b) = (line_of(l.start), line_of(l.end));
        lines.extend(a.saturating_sub(1)..=(b + 1).min(last_line));
    }
    lines.sort_unstable();
    lines.dedup();

    // Each line's window: around the first label starting on it (the
    // primary first, as sorted), else its start.
    let mut shown: Vec<(usize, Shown)> = Vec::with_capacity(lines.len());
    for &line in &lines {
        let (start, end) = line_bounds(line);
        let anchor = labels
            .iter()
            .map(|l| l.start)
            .find(|&s| s >= start && s <= end)
            .unwrap_or(start);
        shown.push((line, show_line(text, start, end, anchor)));
    }

    // Chunks of consecutive lines, in a virtual text.
    let mut chunks: Vec<Chunk> = Vec::new();
    // Per shown line: (virtual offset of the line's text start).
    let mut line_base: Vec<usize> = Vec::with_capacity(shown.len());
    let mut next_base = 0;
    for (i, (line, s)) in shown.iter().enumerate() {
        let joins = i > 0 && shown[i - 1].0 + 1 == *line;
        match chunks.last_mut() {
            Some(c) if joins => {
                c.text.push('\n');
                line_base.push(c.base + c.text.len());
                c.text.push_str(&s.text);
            }
            _ => {
                let base = chunks.last().map_or(0, |c| c.base + c.text.len() + 1);
                let base = base.max(next_base);
                line_base.push(base);
                chunks.push(Chunk {
                    base,
                    first_line: *line,
                    text: s.text.clone(),
                });
            }
        }
        next_base = chunks.last().map_or(0, |c| c.base + c.text.len() + 1);
    }

    // A file offset in virtual coordinates, through the line it is on.
    let virtual_at = |offset: usize| -> Option<usize> {
        let line = line_of(offset);
        let i = shown.binary_search_by_key(&line, |(l, _)| *l).ok()?;
        let s = &shown[i].1;
        if offset > s.end && line_bounds(line).1 > s.end {
            return None; // right of the window
        }
        Some(line_base[i] + s.at(offset))
    };
    let mut spans = Vec::with_capacity(labels.len());
    let mut primary = None;
    for l in &labels {
        let Some(vs) = virtual_at(l.start) else {
            continue;
        };
        let ve = virtual_at(l.end).unwrap_or_else(|| {
            // The end is right of its line's window: the end of that window.
            let line = line_of(l.end);
            shown
                .binary_search_by_key(&line, |(x, _)| *x)
                .map_or(vs, |i| line_base[i] + shown[i].1.at(shown[i].1.end))
        });
        let span = SourceSpan::new(vs.into(), ve.saturating_sub(vs));
        if l.primary {
            let (ls, _) = line_bounds(line_of(l.start));
            let col = text.get(ls..l.start).map_or(0, |t| t.chars().count());
            primary = Some((vs, col));
            spans.push(LabeledSpan::new_primary_with_span(l.text.clone(), span));
        } else {
            spans.push(LabeledSpan::new_with_span(l.text.clone(), span));
        }
    }
    (
        Excerpt {
            name: escape_text(name),
            chunks,
            primary,
        },
        spans,
    )
}

/// Line `line` (0-based) of `text` as a diagnostic shows it: windowed
/// around byte `anchor` when long, control characters escaped. For
/// renderers other than miette (the frontend's `errdefs.Source`, which
/// buildx prints line by line).
pub fn shown_line(text: &str, line_starts: &[usize], line: usize, anchor: usize) -> String {
    let start = line_starts.get(line).copied().unwrap_or(text.len());
    let next = line_starts.get(line + 1).copied().unwrap_or(text.len());
    let mut end = next.max(start);
    let bytes = text.as_bytes();
    while end > start && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
        end -= 1;
    }
    show_line(text, start, end, anchor.clamp(start, end)).text
}

/// The window of the line `[start, end)` around `anchor`, escaped.
fn show_line(text: &str, start: usize, end: usize, anchor: usize) -> Shown {
    let (from, to) = if end - start <= WINDOW_BYTES {
        (start, end)
    } else {
        let from = floor_boundary(text, anchor.saturating_sub(WINDOW_BEFORE).max(start));
        let to = floor_boundary(text, (from + WINDOW_BYTES).min(end));
        (from, to)
    };
    let mut out = String::new();
    let mut map = Vec::new();
    if from > start {
        out.push('…');
    }
    for (i, c) in text.get(from..to).unwrap_or("").char_indices() {
        map.push((from + i, out.len()));
        push_escaped(&mut out, c);
    }
    map.push((to, out.len()));
    if to < end {
        out.push('…');
    }
    Shown {
        text: out,
        map,
        end: to,
    }
}

/// The largest char boundary at or before `i`.
fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Whether `c` must not reach a terminal as it is: control characters
/// (they move the cursor, change colours, set titles) and invisible format
/// characters (bidirectional overrides and isolates, zero-width marks),
/// which make the text shown differ from the text read.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

fn push_escaped(out: &mut String, c: char) {
    if c == '\t' || !is_unsafe(c) {
        out.push(c);
    } else if c.is_ascii() {
        out.push_str(&format!("\\x{:02x}", c as u32));
    } else {
        out.push_str(&format!("\\u{{{:04x}}}", c as u32));
    }
}

/// `s` with every unsafe character escaped and newlines kept, cut to
/// [`MAX_TEXT_CHARS`]: for messages, labels and help lines, which quote
/// what the user wrote.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_TEXT_CHARS));
    for (n, c) in s.chars().enumerate() {
        if n == MAX_TEXT_CHARS {
            out.push('…');
            break;
        }
        if c == '\n' {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
    }
    out
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let offset = span.offset();
        let chunk = self
            .chunks
            .iter()
            .rev()
            .find(|c| c.base <= offset)
            .ok_or(MietteError::OutOfBounds)?;
        let local_start = offset - chunk.base;
        if local_start + span.len() > chunk.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let local = SourceSpan::new(local_start.into(), span.len());
        let c = chunk.text.as_str().read_span(&local, before, after)?;
        let column = match self.primary {
            Some((at, col)) if at == offset && before == 0 && after == 0 => col,
            _ => c.column(),
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            SourceSpan::new((chunk.base + c.span().offset()).into(), c.span().len()),
            chunk.first_line + c.line(),
            column,
            c.line_count(),
        )))
    }
}

/// Byte offsets where the lines of `text` start: `[0, after each '\n']`.
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        text.bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .map(|(i, _)| i + 1),
    );
    starts
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn render(text: &str, labels: &[Label]) -> String {
        #[derive(Debug)]
        struct R(Excerpt, Vec<LabeledSpan>);
        impl std::fmt::Display for R {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("test")
            }
        }
        impl std::error::Error for R {}
        impl miette::Diagnostic for R {
            fn source_code(&self) -> Option<&dyn SourceCode> {
                Some(&self.0)
            }
            fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
                Some(Box::new(self.1.iter().cloned()))
            }
        }
        let (e, spans) = excerpt("f", text, &line_starts(text), labels);
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .render_report(&mut out, &R(e, spans))
            .unwrap();
        out
    }

    fn label(start: usize, end: usize) -> Label {
        Label {
            start,
            end,
            text: Some("here".into()),
            primary: true,
        }
    }

    #[test]
    fn a_short_file_shows_as_it_is_with_real_line_numbers() {
        let text = "a\nb\nc\nd bad\ne\nf\n";
        let out = render(text, &[label(8, 11)]);
        assert!(out.contains("[f:4:3]"), "{out}");
        assert!(out.contains(" 3 │ c"), "{out}");
        assert!(out.contains(" 4 │ d bad"), "{out}");
        assert!(out.contains(" 5 │ e"), "{out}");
        assert!(!out.contains(" 2 │"), "{out}");
    }

    #[test]
    fn a_long_line_is_windowed_around_the_label() {
        let text = format!("x {}$bad\n", "y".repeat(70_000));
        let at = text.find('$').unwrap();
        let out = render(&text, &[label(at, at + 4)]);
        assert!(out.contains("[f:1:70003]"), "{out}");
        assert!(out.contains("…yyy"), "{out}");
        assert!(out.contains("$bad"), "{out}");
        assert!(out.lines().all(|l| l.len() < 400), "{out}");
    }

    #[test]
    fn control_characters_are_escaped() {
        let text = "a\x1b[31mb\x07 \u{202e}x \r\n";
        let out = render(text, &[label(0, 1)]);
        assert!(
            !out.chars()
                .any(|c| c == '\x1b' || c == '\x07' || c == '\u{202e}' || c == '\r')
        );
        assert!(out.contains("a\\x1b[31mb\\x07 \\u{202e}x"), "{out}");
    }

    #[test]
    fn labels_far_apart_show_their_own_lines() {
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("line {i}\n"));
        }
        let a = text.find("line 10\n").unwrap();
        let b = text.find("line 900\n").unwrap();
        let out = render(
            &text,
            &[
                label(a, a + 4),
                Label {
                    start: b,
                    end: b + 4,
                    text: Some("there".into()),
                    primary: false,
                },
            ],
        );
        assert!(out.contains("11 │ line 10"), "{out}");
        assert!(out.contains(" 901 │ line 900"), "{out}");
        assert!(!out.contains("line 500"), "{out}");
    }

    /// Two chunks one line apart stay two snippets with their own numbers.
    #[test]
    fn chunks_one_line_apart_render() {
        let text = "l0\nl1\nl2\nl3\nl4\nl5\nl6\n";
        let two = |a: usize, b: usize| {
            render(
                text,
                &[
                    label(a, a + 2),
                    Label {
                        start: b,
                        end: b + 2,
                        text: None,
                        primary: false,
                    },
                ],
            )
        };
        for (a, b) in [(0, 12), (3, 15), (0, 9), (0, 18)] {
            let out = two(a, b);
            assert!(!out.contains("error["), "{out}");
            assert!(out.contains(&format!("│ {}", &text[b..b + 2])), "{out}");
        }
    }

    #[test]
    fn a_label_over_many_lines_is_cut_to_its_first() {
        let text = "x\n".repeat(100);
        let out = render(&text, &[label(0, 150)]);
        assert!(out.lines().count() < 12, "{out}");
    }

    #[test]
    fn offsets_past_the_end_and_inside_chars_do_not_panic() {
        let text = "é\u{1F600}\n";
        for s in 0..12 {
            for e in 0..12 {
                render(text, &[label(s, e)]);
            }
        }
        render("", &[label(0, 0)]);
        render("", &[label(5, 9)]);
    }
}
