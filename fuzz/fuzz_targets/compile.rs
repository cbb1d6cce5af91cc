//! Parse, check, lower and format arbitrary input: nothing may panic, and
//! the formatter must be idempotent on whatever parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchc::compiler::{self, Options, Sources, fmt};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sources = Sources::new("app.scratch", text);
    let _ = compiler::check::pending_imports(&sources);
    let _ = compiler::compile(&sources, &Options::default(), &Default::default(), None);
    if let Ok(once) = fmt::format_source(text) {
        match fmt::format_source(&once) {
            Ok(twice) => assert_eq!(once, twice, "fmt is not idempotent"),
            Err(e) => panic!("fmt output does not parse: {e:?}"),
        }
    }
});
