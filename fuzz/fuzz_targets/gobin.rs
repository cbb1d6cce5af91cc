//! Read arbitrary bytes as a Go binary, whole and through the range loop:
//! nothing may panic, and both ways must agree. Also the module info
//! parser on arbitrary text, which must write back what it read.
#![no_main]

use std::convert::Infallible;

use libfuzzer_sys::fuzz_target;
use scratchc::gobin::{self, ByteRange, buildinfo};

fuzz_target!(|data: &[u8]| {
    let whole = gobin::inspect(data);
    let read = |r: ByteRange| {
        let from = r.offset as usize;
        let to = (r.offset + r.len) as usize;
        let bytes = data.get(from..to).map(<[u8]>::to_vec).unwrap_or_default();
        async move { Ok::<_, Infallible>(bytes) }
    };
    let ranged = futures::executor::block_on(gobin::inspect_with(data.len() as u64, read));
    let Ok((ranged, _)) = ranged;
    assert_eq!(whole, ranged, "whole-file and ranged reads differ");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bi) = buildinfo::parse_modinfo("go1.24", text) {
            let again = buildinfo::parse_modinfo(
                "go1.24",
                bi.go_string().trim_start_matches("go\tgo1.24\n"),
            );
            assert_eq!(again.as_ref(), Ok(&bi), "build info does not round-trip");
        }
    }
});
