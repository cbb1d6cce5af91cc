//! The SPDX document's shape and determinism on made-up inputs. Validation
//! with `pyspdxtools` on real binaries' build info: `tests/gobin/sbom.rs`.

use serde_json::Value;

use super::*;
use crate::compiler::model::ImageRef;
use crate::gobin::buildinfo::parse_modinfo;
use crate::sbom::{FileKind, GoProgram, ImageFile, SbomError, SbomInput};

const MODINFO: &str = "path\texample.com/app/cmd/app\n\
mod\texample.com/app\tv1.4.0\th1:mainsum=\n\
dep\texample.org/a\tv0.1.0\th1:aaa+/=\n\
dep\texample.org/b\tv0.2.0\n\
=>\texample.org/b2\tv0.2.1\th1:bbb=\n\
\n\
dep\texample.org/c\tv0.3.0\n\
=>\t../c\t(devel)\t\n\
\n\
build\t-buildmode=exe\n\
build\tCGO_ENABLED=0\n\
build\tGOARCH=amd64\n\
build\tvcs=git\n\
build\tvcs.revision=0123456789abcdef0123456789abcdef01234567\n";

fn input() -> SbomInput {
    let bi = parse_modinfo("go1.24.4", MODINFO).expect("modinfo");
    SbomInput {
        name: "registry.example/app:1.4.0".into(),
        platform: "linux/amd64".into(),
        files: vec![
            ImageFile::of("/usr/bin/app", b"\x7fELF binary", FileKind::Binary),
            ImageFile::of(
                "/etc/ssl/certs/ca-certificates.crt",
                b"certs",
                FileKind::Text,
            )
            .with_origin("copied from the builder image"),
        ],
        programs: vec![GoProgram {
            path: "/usr/bin/app".into(),
            build_info: bi,
        }],
        builder: Some(ImageRef {
            name: "docker.io/library/golang".into(),
            tag: Some("1.24".into()),
            digest: Some(format!("sha256:{}", "0f".repeat(32))),
        }),
        epoch: 1_714_557_600,
        tool: "scratchc-test".into(),
    }
}

fn json(input: &SbomInput) -> Value {
    serde_json::from_str(&document(input).expect("document")).expect("json")
}

fn package<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no package {name}"))
}

fn related(doc: &Value, from: &Value, kind: &str) -> Vec<String> {
    doc["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["spdxElementId"] == *from && r["relationshipType"] == kind)
        .map(|r| {
            r["relatedSpdxElement"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn same_input_same_bytes_and_any_change_a_new_namespace() {
    let a = document(&input()).expect("a");
    assert_eq!(a, document(&input()).expect("b"));
    let doc: Value = serde_json::from_str(&a).expect("json");
    let ns = doc["documentNamespace"].as_str().unwrap_or_default();
    assert!(
        ns.starts_with("https://spdx.org/spdxdocs/scratchc/registry.example-app-1.4.0-"),
        "{ns}"
    );
    let mut other = input();
    other.files[1].sha256 = "1".repeat(64);
    assert_ne!(json(&other)["documentNamespace"], doc["documentNamespace"]);
    let mut later = input();
    later.epoch += 1;
    let later = json(&later);
    assert_ne!(later["documentNamespace"], doc["documentNamespace"]);
    assert_eq!(later["creationInfo"]["created"], "2024-05-01T10:00:01Z");
}

#[test]
fn the_image_describes_files_and_modules() {
    let doc = json(&input());
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2024-05-01T10:00:00Z");
    assert_eq!(doc["creationInfo"]["creators"][0], "Tool: scratchc-test");
    let image = package(&doc, "registry.example/app:1.4.0");
    assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
    assert_eq!(
        related(&doc, &"SPDXRef-DOCUMENT".into(), "DESCRIBES"),
        vec![image["SPDXID"].as_str().unwrap_or_default().to_string()]
    );
    // Files sorted by path, relative, with both digests.
    let names: Vec<&str> = doc["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["fileName"].as_str())
        .collect();
    assert_eq!(
        names,
        vec!["./etc/ssl/certs/ca-certificates.crt", "./usr/bin/app"]
    );
    assert_eq!(doc["files"][1]["checksums"][0]["algorithm"], "SHA1");
    assert_eq!(doc["files"][1]["fileTypes"][0], "BINARY");
    assert_eq!(doc["files"][0]["comment"], "copied from the builder image");
    let contains = related(&doc, &image["SPDXID"], "CONTAINS");
    assert_eq!(contains.len(), 3);

    let main = package(&doc, "example.com/app");
    assert_eq!(main["versionInfo"], "v1.4.0");
    assert!(contains.contains(&main["SPDXID"].as_str().unwrap_or_default().to_string()));
    assert_eq!(
        main["externalRefs"][2]["referenceLocator"],
        "gitoid:commit:sha1:0123456789abcdef0123456789abcdef01234567"
    );
    let info = main["sourceInfo"].as_str().unwrap_or_default();
    assert!(info.contains("build\tCGO_ENABLED=0\n"), "{info}");
    // The binary was generated from its main module.
    assert_eq!(
        related(&doc, &doc["files"][1]["SPDXID"], "GENERATED_FROM"),
        vec![main["SPDXID"].as_str().unwrap_or_default().to_string()]
    );
    // Every dependency and the standard library.
    let deps = related(&doc, &main["SPDXID"], "DEPENDS_ON");
    assert_eq!(deps.len(), 4);
    let a = package(&doc, "example.org/a");
    assert_eq!(
        a["externalRefs"][0]["referenceLocator"],
        "pkg:golang/example.org/a@v0.1.0"
    );
    assert_eq!(a["externalRefs"][1]["referenceType"], "go-sum");
    assert_eq!(a["externalRefs"][1]["referenceLocator"], "h1:aaa+/=");
    assert!(a.get("checksums").is_none());
    let b2 = package(&doc, "example.org/b2");
    assert_eq!(b2["versionInfo"], "v0.2.1");
    assert_eq!(
        b2["comment"],
        "replaces example.org/b v0.2.0 (go.mod replace)"
    );
    let c = package(&doc, "example.org/c");
    assert!(c.get("versionInfo").is_none());
    assert_eq!(
        c["externalRefs"][0]["referenceLocator"],
        "pkg:golang/example.org/c"
    );
    let std = package(&doc, "stdlib");
    assert_eq!(std["versionInfo"], "go1.24.4");
    assert_eq!(
        std["externalRefs"][0]["referenceLocator"],
        "pkg:golang/stdlib@1.24.4"
    );
    let builder = package(&doc, "docker.io/library/golang");
    assert_eq!(
        related(&doc, &builder["SPDXID"], "BUILD_TOOL_OF"),
        vec![image["SPDXID"].as_str().unwrap_or_default().to_string()]
    );
}

#[test]
fn ids_are_unique_and_valid() {
    let doc = json(&input());
    let mut ids: Vec<&str> = doc["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(doc["files"].as_array().into_iter().flatten())
        .filter_map(|e| e["SPDXID"].as_str())
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    for id in ids {
        let rest = id.strip_prefix("SPDXRef-").unwrap_or_default();
        assert!(
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
            "{id}"
        );
    }
}

#[test]
fn two_programs_share_their_common_modules() {
    let mut i = input();
    i.files.push(ImageFile::of(
        "/usr/bin/tool",
        b"other binary",
        FileKind::Binary,
    ));
    let mut second = i.programs[0].clone();
    second.path = "/usr/bin/tool".into();
    i.programs.push(second);
    let doc = json(&i);
    let count = |name: &str| {
        doc["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == name)
            .count()
    };
    assert_eq!(count("example.org/a"), 1);
    assert_eq!(count("stdlib"), 1);
    // One main module package per program.
    assert_eq!(count("example.com/app"), 2);
}

#[test]
fn bad_inputs_are_errors() {
    let mut i = input();
    i.files[0].sha1 = "XYZ".into();
    assert!(matches!(document(&i), Err(SbomError::BadDigest { .. })));
    let mut i = input();
    i.files[1].path = "etc/x".into();
    assert!(matches!(document(&i), Err(SbomError::RelativePath { .. })));
    let mut i = input();
    let again = i.files[0].clone();
    i.files.push(again);
    assert!(matches!(document(&i), Err(SbomError::DuplicateFile { .. })));
    let mut i = input();
    i.programs[0].path = "/nope".into();
    assert!(matches!(
        document(&i),
        Err(SbomError::UnknownProgram { .. })
    ));
}

#[test]
fn an_image_without_files_or_builder() {
    let mut i = input();
    i.files.clear();
    i.programs.clear();
    i.builder = None;
    let doc = json(&i);
    assert_eq!(doc["packages"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["packages"][0]["filesAnalyzed"], false);
    assert!(doc["packages"][0].get("packageVerificationCode").is_none());
}
