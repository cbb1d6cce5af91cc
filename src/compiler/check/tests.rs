//! The checker's merging and bookkeeping, on small sources: what the
//! faster forms of these (merging maps once, deduplicating by sorting,
//! skipping chains known too deep) must keep exactly.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::compiler::model::Build;

fn check_text(text: &str) -> Result<model::Program, Vec<Diag>> {
    check(&Sources::new("app.scratch", text), &Options::default())
}

/// `(key, value, the text the span covers)` of map entries (the span's
/// text only for the root file's, `text`).
fn entries<'t>(text: &'t str, map: &[Spanned<(String, String)>]) -> Vec<(String, String, &'t str)> {
    map.iter()
        .map(|e| {
            let (k, v) = e.node.clone();
            let at = if e.span.file == 0 {
                &text[e.span.start..e.span.end]
            } else {
                ""
            };
            (k, v, at)
        })
        .collect()
}

#[test]
fn a_map_key_set_again_keeps_its_first_place_and_takes_the_last_value() {
    let text = "template base extends go {\n  env A=1 B=2\n  env A=3\n  label l=1\n}\n\
                app x uses base {\n  env C=4 B=5\n  env C=6\n  label l=2 m=3\n}\n";
    let program = check_text(text).unwrap();
    let image = &program.apps[0].image;
    assert_eq!(
        entries(text, &image.env),
        [
            ("A".into(), "3".into(), "A=3"),
            ("B".into(), "5".into(), "B=5"),
            ("C".into(), "6".into(), "C=6"),
        ]
    );
    assert_eq!(
        entries(text, &image.labels),
        [
            ("l".into(), "2".into(), "l=2"),
            ("m".into(), "3".into(), "m=3")
        ]
    );
    // The go template's build-env, then the app's own, merged alike.
    let text = "app x {\n  build-env GOOS=plan9 X=1\n}\n";
    let program = check_text(text).unwrap();
    let Build::Compile(c) = &program.apps[0].build else {
        panic!("not a compile build")
    };
    let keys: Vec<&str> = c.env.iter().map(|e| e.node.0.as_str()).collect();
    assert_eq!(
        keys,
        [
            "CGO_ENABLED",
            "GOOS",
            "GOARCH",
            "GOARM",
            "GOAMD64",
            "GOARM64",
            "GOCACHE",
            "GOMODCACHE",
            "GOFLAGS",
            "GOPROXY",
            "GOPRIVATE",
            "GONOSUMDB",
            "X"
        ]
    );
    assert_eq!(
        entries(text, &c.env)[1],
        ("GOOS".into(), "plan9".into(), "GOOS=plan9")
    );
}

#[test]
fn repeated_diagnostics_are_dropped_keeping_the_first_in_place() {
    let at = |start: usize| Some(Span::new(0, start, start + 1));
    let d = |code: Code, start: usize, message: &str| {
        let mut d = Diag::new(code, message);
        d.span = at(start);
        d
    };
    let mut diags = vec![
        d(Code::Syntax, 5, "x"),
        d(Code::Syntax, 1, "x"),
        d(Code::Syntax, 5, "x"),
        d(Code::UnknownEscape, 5, "x"),
        d(Code::Syntax, 5, "y"),
        d(Code::Syntax, 1, "x"),
        Diag::new(Code::StrayDollar, "no place"),
        Diag::new(Code::StrayDollar, "no place"),
    ];
    let mut first = diags[0].clone();
    first.help = Some("kept: the first".into());
    diags[0] = first.clone();
    dedupe(&mut diags);
    let kept: Vec<(Code, Option<Span>, &str)> = diags
        .iter()
        .map(|d| (d.code, d.span, d.message.as_str()))
        .collect();
    assert_eq!(
        kept,
        [
            (Code::Syntax, at(5), "x"),
            (Code::Syntax, at(1), "x"),
            (Code::UnknownEscape, at(5), "x"),
            (Code::Syntax, at(5), "y"),
            (Code::StrayDollar, None, "no place"),
        ]
    );
    assert_eq!(diags[0], first);
}

#[test]
fn a_template_used_by_two_apps_reports_its_bad_value_once() {
    let text = "template t extends go {\n  volume rel\n}\napp a uses t {\n}\napp b uses t {\n}\n";
    let diags = check_text(text).unwrap_err();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, Code::NotAbsolute);
}

#[test]
fn a_long_chain_is_reported_once_where_it_passes_the_limit() {
    let mut text = String::from("template t0 extends go {\n}\n");
    for i in 1..40 {
        text.push_str(&format!("template t{i} extends t{} {{\n}}\n", i - 1));
    }
    text.push_str("app a uses t39 {\n}\napp b {\n}\n");
    let diags = check_text(&text).unwrap_err();
    let codes: Vec<Code> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::ChainDepth], "{diags:?}");
    // t14 is 16 deep with go; t15 is the first past the limit.
    let span = diags[0].span.unwrap();
    let header = text.find("template t15 ").unwrap();
    assert!(span.start > header && span.start < header + 40, "{span:?}");
}

#[test]
fn keys_are_found_as_a_scan_finds_them() {
    for k in keys::KEYS {
        let found = keys::find(k.name).unwrap();
        let scanned = keys::KEYS.iter().find(|x| x.name == k.name).unwrap();
        let fields = |k: &keys::KeyDef| (k.name, k.merge, k.min, k.max, k.platform, k.usage);
        assert_eq!(fields(found), fields(scanned));
    }
    for name in ["", "a", "prot", "zz", "volumes", "kubernetes ", "Port"] {
        assert!(keys::find(name).is_none(), "{name}");
    }
}
