//! The progress board and its printers on recorded `Control.Status`
//! updates: how vertices, sub-statuses and logs merge, and what the plain
//! and terminal forms print.

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
    let mut ev = board.apply(u);
    ev.extend(board.ends(Instant::now(), Duration::ZERO));
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
                vx("b", "go build"),
                VertexRecord {
                    started: at(0),
                    ..vx("a", "[internal] load context")
                },
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
                id: "transferring context:".into(),
                name: "transferring".into(),
                current: 1234,
                started: at(100),
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
            vertexes: vec![VertexRecord {
                cached: true,
                started: at(500),
                completed: at(500),
                ..vx("c", "copy")
            }],
            logs: vec![LogRecord {
                vertex: "b".into(),
                msg: b"more\n".to_vec(),
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
                completed: at(1650),
                error: "process \"go build\" did not complete successfully: exit code: 1".into(),
                ..vx("b", "go build")
            }],
            ..Update::default()
        },
    );
    // Numbers in print order (b was announced first, a printed
    // first); the cached copy ended while the build ran, so the
    // printer leaves the build (`#2 ...`) and comes back to it.
    assert_eq!(
        text,
        "#1 [internal] load context\n\
         #1 transferring context: 1.23kB 0.1s done\n\
         #1 DONE 0.3s\n\
         \n\
         #2 go build\n\
         #2 compiling\n\
         #2 partial\n\
         #2 ...\n\
         \n\
         #3 copy\n\
         #3 CACHED\n\
         \n\
         #2 go build\n\
         #2 more\n\
         #2 ERROR: process \"go build\" did not complete successfully: exit code: 1\n"
    );
    assert_eq!(b.failed().count(), 1);
    assert_eq!(
        b.vertex("b").unwrap().tail(),
        vec!["compiling", "partial", "more"]
    );
    assert_eq!(b.counts(), (3, 3));
}

/// The order of issue 15: BuildKit reports the vertex complete before
/// the transfer's status; DONE waits for it.
#[test]
fn done_waits_for_an_open_status() {
    let mut b = Board::new();
    let mut p = PlainPrinter::new();
    let transfer = |completed| StatusRecord {
        vertex: "a".into(),
        id: "transferring context:".into(),
        current: 686,
        started: at(0),
        completed,
        ..StatusRecord::default()
    };
    let mut text = plain(
        &mut b,
        &mut p,
        Update {
            vertexes: vec![VertexRecord {
                started: at(0),
                ..vx("a", "[internal] load build context")
            }],
            statuses: vec![transfer(None)],
            ..Update::default()
        },
    );
    text += &plain(
        &mut b,
        &mut p,
        Update {
            vertexes: vec![VertexRecord {
                started: at(0),
                completed: at(5),
                ..vx("a", "[internal] load build context")
            }],
            ..Update::default()
        },
    );
    assert!(!text.contains("DONE"), "{text}");
    text += &plain(
        &mut b,
        &mut p,
        Update {
            statuses: vec![transfer(at(6))],
            ..Update::default()
        },
    );
    assert_eq!(
        text,
        "#1 [internal] load build context\n\
         #1 transferring context: 686B done\n\
         #1 DONE 0.0s\n"
    );
    // Issue 15's case: the transfer's status first arrives after the
    // vertex's completion. DONE waits out the grace, so it comes
    // after the status.
    let mut b = Board::new();
    let mut p = PlainPrinter::new();
    let grace = Duration::from_millis(200);
    let mut ev = b.apply(Update {
        vertexes: vec![VertexRecord {
            started: at(0),
            completed: at(5),
            ..vx("a", "[hello] context")
        }],
        ..Update::default()
    });
    ev.extend(b.ends(Instant::now(), grace));
    ev.extend(b.apply(Update {
        statuses: vec![transfer(at(6))],
        ..Update::default()
    }));
    ev.extend(b.ends(Instant::now() + grace, grace));
    let mut out = Vec::new();
    p.print(&b, &ev, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "#1 [hello] context\n\
         #1 transferring context: 686B done\n\
         #1 DONE 0.0s\n"
    );
    // A status that never closes: its vertex ends with the build.
    let mut b = Board::new();
    b.apply(Update {
        vertexes: vec![VertexRecord {
            started: at(0),
            completed: at(5),
            ..vx("x", "x")
        }],
        statuses: vec![StatusRecord {
            vertex: "x".into(),
            id: "s".into(),
            started: at(0),
            ..StatusRecord::default()
        }],
        ..Update::default()
    });
    assert_eq!(b.flush(), [Event::Done(0)]);
    assert!(b.flush().is_empty(), "once");
}

/// The live view lists steps as they started, not as announced.
#[test]
fn the_live_view_is_in_build_order() {
    let mut b = Board::new();
    b.apply(Update {
        vertexes: vec![
            vx("img", "image"),
            vx("go", "compile"),
            vx("ctx", "context"),
        ],
        ..Update::default()
    });
    for (d, t) in [("ctx", 0), ("go", 10)] {
        b.apply(Update {
            vertexes: vec![VertexRecord {
                started: at(t),
                ..vx(d, "")
            }],
            ..Update::default()
        });
    }
    b.apply(Update {
        vertexes: vec![VertexRecord {
            started: at(20),
            completed: at(20),
            cached: true,
            ..vx("img", "")
        }],
        ..Update::default()
    });
    let rows = render_rows(&b, Duration::from_secs(1), 80, true);
    let names: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r.split_whitespace().last().unwrap_or(""))
        .collect();
    assert!(
        rows[1].contains("context") && rows[2].contains("compile"),
        "{rows:?}"
    );
    assert!(rows[3].contains("CACHED image"), "{rows:?} {names:?}");
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
