//! What real Go programs need at runtime, both ways: each need found where
//! the program has it, and no other.

use scratchc::gobin::{self, Need, Status};

use crate::go::Build;

/// (program, needs the image must meet, needs the binary meets itself)
const CASES: &[(&str, &[Need], &[Need])] = &[
    ("plain", &[], &[]),
    ("certs", &[Need::Certs], &[]),
    ("certs-fallback", &[], &[Need::Certs]),
    ("tz", &[Need::Tzdata], &[]),
    ("tz-embed", &[], &[Need::Tzdata]),
    ("user", &[Need::Passwd], &[]),
    ("tmp", &[Need::Tmp], &[]),
    ("mime", &[Need::MimeTypes], &[]),
    ("server", &[Need::Certs, Need::MimeTypes], &[]),
    (
        "all",
        &[
            Need::Certs,
            Need::Tzdata,
            Need::Passwd,
            Need::Tmp,
            Need::MimeTypes,
        ],
        &[],
    ),
];

fn package(name: &str) -> &'static str {
    Box::leak(format!("./cmd/{name}").into_boxed_str())
}

fn split(findings: &[gobin::Finding]) -> (Vec<Need>, Vec<Need>) {
    let image = findings
        .iter()
        .filter(|f| f.needs_image())
        .map(|f| f.need)
        .collect();
    let embedded = findings
        .iter()
        .filter(|f| !f.needs_image())
        .map(|f| f.need)
        .collect();
    (image, embedded)
}

#[test]
fn each_program_needs_what_it_uses_and_nothing_else() {
    for (name, image, embedded) in CASES {
        let path = Build::new("needs", package(name)).stripped().path();
        let g = gobin::inspect(&std::fs::read(&path).unwrap()).unwrap();
        let findings = g.needs().unwrap();
        assert_eq!(
            split(&findings),
            (image.to_vec(), embedded.to_vec()),
            "{name}: {findings:#?}"
        );
        for f in &findings {
            assert!(
                f.need.triggers().contains(&f.evidence[0].as_str()),
                "{name}: {f:?}"
            );
        }
    }
}

#[test]
fn the_timetzdata_tag_embeds_time_zones() {
    let path = Build::new("needs", "./cmd/tz")
        .flags(&["-tags=timetzdata", "-ldflags=-s -w"])
        .path();
    let g = gobin::inspect(&std::fs::read(&path).unwrap()).unwrap();
    let f = g.needs().unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].need, Need::Tzdata);
    assert_eq!(
        f[0].status,
        Status::Embedded(vec![
            "time/tzdata.loadFromEmbeddedTZData".into(),
            "-tags=timetzdata".into()
        ])
    );
}

/// The same program needs the same on every architecture.
#[test]
fn needs_are_the_same_on_every_architecture() {
    for b in [
        Build::new("needs", "./cmd/all").arch("arm64").stripped(),
        Build::new("needs", "./cmd/all")
            .arch("arm")
            .env("GOARM", "7")
            .stripped(),
        Build::new("needs", "./cmd/all").arch("s390x").stripped(),
        Build::new("needs", "./cmd/all")
            .arch("mips")
            .env("GOMIPS", "softfloat")
            .stripped(),
    ] {
        let g = gobin::inspect(&std::fs::read(b.path()).unwrap()).unwrap();
        let (image, embedded) = split(&g.needs().unwrap());
        assert_eq!(image, Need::ALL.to_vec(), "{}", b.goarch);
        assert!(embedded.is_empty());
    }
}
