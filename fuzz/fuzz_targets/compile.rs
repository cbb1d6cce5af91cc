//! Parse, check, lower and format arbitrary input, and render whatever
//! errors come out: nothing may panic, the parser must give what pest
//! gives on the grammar (`syntax::parse_reference`), and the formatter
//! must be idempotent on whatever parses. Seeds: `fuzz/seeds/compile/` (the
//! hostile shapes of `tests/shapes`), e.g.
//! `cargo +nightly fuzz run compile fuzz/corpus/compile fuzz/seeds/compile`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchc::compiler::{self, Options, Sources, fmt};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    assert_eq!(
        compiler::syntax::parse(0, text),
        compiler::syntax::parse_reference(0, text),
        "the parser and pest differ"
    );
    let sources = Sources::new("app.scratch", text);
    let _ = compiler::check::pending_imports(&sources);
    if let Err(diags) = compiler::compile(&sources, &Options::default(), &Default::default(), None) {
        let _ = compiler::render_plain(&diags, &sources);
    }
    if let Ok(once) = fmt::format_source(text) {
        match fmt::format_source(&once) {
            Ok(twice) => assert_eq!(once, twice, "fmt is not idempotent"),
            Err(e) => panic!("fmt output does not parse: {e:?}"),
        }
    }
});
