//! Build info on hand-made ELF files (every format, word size and byte
//! order) and the module info parser. Real binaries: `tests/gobin/`.

use super::*;
use crate::gobin::testelf::FakeGo;
use crate::gobin::{build_info, inspect};

#[test]
fn every_layout_reads_the_same() {
    for ptr in [4, 8] {
        for big in [false, true] {
            for inline in [true, false] {
                let f = FakeGo::new(ptr, big, inline);
                let bi = build_info(&f.bytes());
                let bi = bi.unwrap_or_else(|e| panic!("ptr={ptr} big={big} inline={inline}: {e}"));
                assert_eq!(bi.go_version, "go1.24.4");
                assert_eq!(bi.path, "example.com/app");
                assert_eq!(bi.deps.len(), 1);
                assert_eq!(bi.deps[0].sum, "h1:abc=");
                assert_eq!(bi.setting("-ldflags"), Some("-s -w"));
            }
        }
    }
}

#[test]
fn without_section_headers_the_data_segment_is_searched() {
    for inline in [true, false] {
        let mut f = FakeGo::new(8, false, inline);
        f.sections = false;
        let g = inspect(&f.bytes()).expect("elf");
        assert_eq!(
            g.build_info.map(|b| b.path),
            Ok("example.com/app".to_string())
        );
        assert_eq!(g.functions, Err(GoBinError::NoPclntab));
    }
}

#[test]
fn a_binary_without_build_info() {
    let mut bytes = FakeGo::new(8, false, true).bytes();
    let at = bytes.windows(14).position(|w| w == MAGIC).expect("magic");
    bytes[at] = b'X';
    assert_eq!(build_info(&bytes), Err(GoBinError::NoBuildInfo));
}

#[test]
fn modinfo_without_sentinels_is_empty() {
    // debug/buildinfo's rule: no newline before the end sentinel, no info.
    assert_eq!(unwrap_modinfo(b"short"), b"");
    let mut raw = vec![0u8; 16];
    raw.extend(b"path\tx\n");
    raw.extend([0u8; 16]);
    assert_eq!(unwrap_modinfo(&raw), b"path\tx\n");
}

const FULL: &str = "path\texample.com/app/cmd/app\n\
mod\texample.com/app\tv1.0.0\th1:main=\n\
dep\texample.org/a\tv0.1.0\th1:aaa=\n\
dep\texample.org/b\tv0.2.0\n\
=>\texample.org/b2\tv0.2.1\th1:bbb=\n\
\n\
dep\texample.org/c\tv0.3.0\n\
=>\t../c\t(devel)\t\n\
\n\
build\t-buildmode=exe\n\
build\t-compiler=gc\n\
build\t-ldflags=\"-s -w -X 'main.v=1 2'\"\n\
build\t\"we=ird\"=\"a\\tb\"\n\
build\tCGO_ENABLED=0\n\
build\tvcs=git\n\
build\tvcs.revision=0123456789abcdef\n\
build\tvcs.time=2024-05-01T10:00:00Z\n\
build\tvcs.modified=false\n";

#[test]
fn parse_and_write_back_are_inverse() {
    let bi = parse_modinfo("go1.24.4", FULL).expect("parses");
    assert_eq!(bi.main.as_ref().map(|m| m.sum.as_str()), Some("h1:main="));
    assert_eq!(bi.deps.len(), 3);
    let b = &bi.deps[1];
    assert_eq!(b.sum, "");
    assert_eq!(b.effective().path, "example.org/b2");
    assert_eq!(b.effective().sum, "h1:bbb=");
    assert_eq!(bi.deps[2].effective().path, "../c");
    assert_eq!(bi.setting("-ldflags"), Some("-s -w -X 'main.v=1 2'"));
    assert_eq!(bi.setting("we=ird"), Some("a\tb"));
    assert_eq!(bi.setting("vcs.revision"), Some("0123456789abcdef"));
    assert_eq!(bi.go_string(), format!("go\tgo1.24.4\n{FULL}"));
    let m = bi.go_version_m("app");
    assert!(
        m.starts_with("app: go1.24.4\n\tpath\texample.com/app/cmd/app\n"),
        "{m}"
    );
    assert!(m.ends_with("\tbuild\tvcs.modified=false\n"), "{m}");
}

#[test]
fn an_empty_main_module_is_none_unless_replaced() {
    let bi = parse_modinfo("go1", "mod\t\t\n").expect("parses");
    assert_eq!(bi.main, None);
    let bi = parse_modinfo("go1", "mod\t\t\n=>\tx\tv1\t\n").expect("parses");
    assert_eq!(
        bi.main.and_then(|m| m.replace).map(|r| r.path),
        Some("x".into())
    );
}

#[test]
fn unknown_lines_are_skipped_like_go() {
    let bi = parse_modinfo("go1.99", "go\tgo1.99\nfuture\tx\npath\tp\n").expect("parses");
    assert_eq!(bi.path, "p");
    // A last line without newline is ignored, as Go does.
    let bi = parse_modinfo("go1", "path\tp\npath\tq").expect("parses");
    assert_eq!(bi.path, "p");
}

#[test]
fn malformed_lines_name_their_number() {
    for (text, line) in [
        ("path\tp\nmod\tonly\n", 2),
        ("dep\ta\tb\tc\td\n", 1),
        ("=>\ta\tb\tc\n", 1),
        ("dep\ta\tv1\n=>\ta\tb\n", 2),
        ("build\t\n", 1),
        ("build\t=v\n", 1),
        ("build\tnoequals\n", 1),
        ("build\tk=a b\n", 1),
        ("build\t\"k\"v\n", 1),
        ("build\tk=\"open\n", 1),
        ("build\tk ey=v\n", 1),
    ] {
        match parse_modinfo("go1", text) {
            Err(GoBinError::BadModInfo { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}
