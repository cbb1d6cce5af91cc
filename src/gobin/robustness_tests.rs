//! Hostile input: truncated, garbled and lying files give errors, never a
//! panic, and bounded work; and the range-reader loop reads what the
//! whole-file readers read.

use std::cell::RefCell;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use super::testelf::FakeGo;
use super::*;

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Reads `bytes` through the range loop; also returns the stats.
fn via_ranges(bytes: &[u8]) -> (Result<GoBinary, GoBinError>, ReadStats) {
    let read = |r: ByteRange| {
        let from = usize::try_from(r.offset).unwrap_or(usize::MAX);
        let to = usize::try_from(r.offset + r.len).unwrap_or(usize::MAX);
        let data = bytes.get(from..to).map(<[u8]>::to_vec).unwrap_or_default();
        async move { Ok::<_, Infallible>(data) }
    };
    match futures::executor::block_on(inspect_with(bytes.len() as u64, read)) {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

fn samples() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for ptr in [4, 8] {
        for big in [false, true] {
            for inline in [true, false] {
                out.push(FakeGo::new(ptr, big, inline).bytes());
            }
        }
    }
    out
}

#[test]
fn range_reads_agree_with_whole_file_reads() {
    for bytes in samples() {
        let whole = inspect(&bytes);
        let (ranged, stats) = via_ranges(&bytes);
        assert_eq!(ranged, whole);
        let g = ranged.expect("fake binary reads");
        assert!(g.build_info.is_ok() && g.functions.is_ok(), "{g:?}");
        // Headers; then section names; then build info and the function
        // table header; then the name table. The fake file is small, so
        // 4 KiB reads merge some of those.
        assert!(stats.rounds <= 4, "{stats:?}");
    }
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for bytes in samples() {
        let step = (bytes.len() / 97).max(1);
        for len in (0..bytes.len()).step_by(step) {
            let cut = &bytes[..len];
            let whole = inspect(cut);
            if let Ok(g) = &whole {
                // A cut can leave the headers whole; the parts then fail.
                assert!(g.build_info.is_err() || g.functions.is_err(), "len {len}");
            }
            assert_eq!(via_ranges(cut).0, whole, "len {len}");
        }
    }
}

#[test]
fn random_corruptions_end_in_bounded_time() {
    let start = Instant::now();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let samples = samples();
    let mut answered = 0;
    for round in 0..3000 {
        let mut bytes = samples[round % samples.len()].clone();
        let hits = 1 + rng.below(8);
        for _ in 0..hits {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len());
            match rng.below(4) {
                // A random byte anywhere.
                0 => bytes[at] = rng.next() as u8,
                // A huge or zero word: lengths and offsets that lie.
                1 => {
                    let v = if rng.below(2) == 0 { 0xff } else { 0 };
                    for b in bytes.iter_mut().skip(at).take(8) {
                        *b = v;
                    }
                }
                // Bytes of the headers, where every field matters.
                2 => {
                    let at = rng.below(0x300.min(bytes.len()));
                    bytes[at] = rng.next() as u8;
                }
                _ => bytes.truncate(at),
            }
        }
        let whole = inspect(&bytes);
        let (ranged, stats) = via_ranges(&bytes);
        assert!(stats.rounds <= view::MAX_ROUNDS);
        assert!(stats.bytes <= view::MAX_TOTAL);
        if let (Ok(w), Ok(r)) = (&whole, &ranged) {
            assert_eq!(w, r, "round {round}");
            answered += 1;
        }
    }
    assert!(answered > 0);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "3000 corrupt files took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_reader_that_returns_short_reads_is_an_error() {
    let bytes = FakeGo::new(8, false, true).bytes();
    let calls = RefCell::new(0u32);
    let read = |r: ByteRange| {
        *calls.borrow_mut() += 1;
        let from = r.offset as usize;
        let to = (r.offset + r.len) as usize;
        let mut data = bytes[from..to].to_vec();
        data.pop();
        async move { Ok::<_, Infallible>(data) }
    };
    let (verdict, _) = futures::executor::block_on(inspect_with(bytes.len() as u64, read))
        .unwrap_or_else(|e| match e {});
    assert!(
        matches!(verdict, Err(GoBinError::ShortRead { .. })),
        "{verdict:?}"
    );
    assert_eq!(*calls.borrow(), 1);
}

#[test]
fn reader_errors_pass_through() {
    let read = |_r: ByteRange| async { Err::<Vec<u8>, &str>("gateway down") };
    let got = futures::executor::block_on(inspect_with(10_000, read));
    assert_eq!(got.err(), Some("gateway down"));
}

#[test]
fn a_claimed_huge_name_table_is_refused_before_reading() {
    // A name table end near 4 GiB in a file that says it is that big:
    // the loop refuses it by size, without asking for the bytes.
    let mut f = FakeGo::new(8, false, true);
    f.names = vec!["main.main".into()];
    let mut bytes = f.bytes();
    let pcln = 0x1000;
    // The name table's end (cuOffset) is word 4 after the 8-byte prefix.
    bytes[pcln + 8 + 4 * 8..pcln + 8 + 5 * 8].copy_from_slice(&(40u64 << 20).to_le_bytes());
    let size = bytes.len() as u64;
    let asked = RefCell::new(0u64);
    let read = |r: ByteRange| {
        *asked.borrow_mut() += r.len;
        let from = r.offset as usize;
        let to = ((r.offset + r.len) as usize).min(bytes.len());
        let data = bytes[from..to].to_vec();
        async move { Ok::<_, Infallible>(data) }
    };
    let (verdict, stats) =
        futures::executor::block_on(inspect_with(size, read)).unwrap_or_else(|e| match e {});
    // The table claims more than the section holds: malformed.
    let functions = verdict.expect("elf").functions;
    assert!(
        matches!(functions, Err(GoBinError::Malformed { .. })),
        "{functions:?}"
    );
    assert!(stats.bytes < 64 << 10, "{stats:?}");
}
