//! SPDX 2.3 JSON for one platform image.
//!
//! What the document holds (docs/supply-chain.md explains it for users):
//!
//! - the image as the described package (`primaryPackagePurpose`
//!   CONTAINER), which CONTAINS every file and each Go program's main
//!   module;
//! - every file with its SHA-1 (SPDX requires it) and SHA-256, its path
//!   relative to the image root (`./usr/bin/app`: SPDX file names are
//!   relative), BINARY or TEXT;
//! - per Go program: the main module (APPLICATION), which DEPENDS_ON every
//!   module the binary links (LIBRARY, one package per module version,
//!   shared between programs) and on the standard library
//!   (`pkg:golang/stdlib@1.24.4`); the binary file is GENERATED_FROM its
//!   main module. The main module's `sourceInfo` holds the build settings
//!   as `go version -m` prints them, and a git revision (`vcs.revision`)
//!   becomes a `gitoid:commit:sha1:…` persistent id;
//! - the builder image as a package that is the BUILD_TOOL_OF the image,
//!   with its `pkg:oci` purl when its digest is known.
//!
//! `h1:` sums are recorded as an external reference of category OTHER,
//! type `go-sum`, not as package checksums: SPDX defines a package
//! checksum as the digest of the package file itself, while `h1:` is a
//! SHA-256 over a list of per-file SHA-256s (Go's dirhash) that no
//! downloaded archive hashes to. A checker that recomputed it against the
//! module zip would report a false mismatch; as a reference it is kept
//! verbatim, still machine-readable, and a tool that knows Go can check it
//! against go.sum or the checksum database.
//!
//! A replaced module is recorded as the module whose code was built (the
//! replacement), with a comment naming what it replaces; a module replaced
//! by a directory has no version and no sum, and says so.
//!
//! Determinism: fields are written in a fixed order, packages in input
//! order (the build info's, which go.mod sorts), files by path; every
//! SPDXID is a digest of what it names, and the namespace a digest of the
//! whole document written without it.

use std::collections::BTreeSet;

use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{FileKind, GoProgram, ImageFile, SbomError, SbomInput, purl, rfc3339};
use crate::gobin::{BuildInfo, Module};

const NOASSERTION: &str = "NOASSERTION";
const NAMESPACE_BASE: &str = "https://spdx.org/spdxdocs/scratchc";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<Package>,
    files: Vec<File>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    name: String,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    supplier: &'static str,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_verification_code: Option<VerificationCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    license_concluded: &'static str,
    license_declared: &'static str,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
}

impl Package {
    /// A package with what every package here says alike: no supplier,
    /// download location or licence asserted, its files not analysed, and
    /// nothing else set. Callers add the rest with `..Package::new(..)`;
    /// the JSON keeps the struct's field order whatever the caller's.
    fn new(name: String, spdx_id: String, primary_package_purpose: &'static str) -> Package {
        Package {
            name,
            spdx_id,
            version_info: None,
            supplier: NOASSERTION,
            download_location: NOASSERTION,
            files_analyzed: false,
            package_verification_code: None,
            source_info: None,
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION,
            copyright_text: NOASSERTION,
            description: None,
            comment: None,
            external_refs: Vec::new(),
            primary_package_purpose,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerificationCode {
    package_verification_code_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File {
    file_name: String,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    file_types: Vec<&'static str>,
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
struct Checksum {
    algorithm: &'static str,
    #[serde(rename = "checksumValue")]
    value: String,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord, Clone)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

/// An SPDXID: `SPDXRef-<kind>-` and 16 hex digits of a SHA-256 over the
/// parts that identify the element.
fn spdx_id(kind: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(kind);
    for p in parts {
        h.update([0]);
        h.update(p);
    }
    format!("SPDXRef-{kind}-{}", &hex::encode(h.finalize())[..16])
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check(input: &SbomInput) -> Result<(), SbomError> {
    let mut seen = BTreeSet::new();
    for f in &input.files {
        if !f.path.starts_with('/') {
            return Err(SbomError::RelativePath {
                path: f.path.clone(),
            });
        }
        if !seen.insert(f.path.as_str()) {
            return Err(SbomError::DuplicateFile {
                path: f.path.clone(),
            });
        }
        for (algorithm, value, len) in [("SHA-1", &f.sha1, 40), ("SHA-256", &f.sha256, 64)] {
            if !is_hex(value, len) {
                return Err(SbomError::BadDigest {
                    path: f.path.clone(),
                    algorithm,
                    value: value.clone(),
                });
            }
        }
    }
    for p in &input.programs {
        if !seen.contains(p.path.as_str()) {
            return Err(SbomError::UnknownProgram {
                path: p.path.clone(),
            });
        }
    }
    Ok(())
}

/// The SPDX 2.3 JSON document for `input`, pretty-printed with a final
/// newline. The same input always gives the same bytes.
pub fn document(input: &SbomInput) -> Result<String, SbomError> {
    check(input)?;
    let mut doc = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: format!("{} ({})", input.name, input.platform),
        document_namespace: String::new(),
        creation_info: CreationInfo {
            created: rfc3339(input.epoch),
            creators: vec![format!("Tool: {}", input.tool)],
        },
        packages: Vec::new(),
        files: Vec::new(),
        relationships: Vec::new(),
    };
    let mut rel = Relationships::default();

    let image_id = spdx_id("Image", &[&input.name, &input.platform]);
    rel.add("SPDXRef-DOCUMENT", "DESCRIBES", &image_id);

    let mut files: Vec<&ImageFile> = input.files.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut file_ids = Vec::new();
    for f in &files {
        let id = spdx_id("File", &[&f.path, &f.sha256]);
        rel.add(&image_id, "CONTAINS", &id);
        file_ids.push((f.path.as_str(), id.clone()));
        doc.files.push(File {
            file_name: format!(".{}", f.path),
            spdx_id: id,
            file_types: vec![match f.kind {
                FileKind::Binary => "BINARY",
                FileKind::Text => "TEXT",
                FileKind::Other => "OTHER",
            }],
            checksums: vec![
                Checksum {
                    algorithm: "SHA1",
                    value: f.sha1.clone(),
                },
                Checksum {
                    algorithm: "SHA256",
                    value: f.sha256.clone(),
                },
            ],
            license_concluded: NOASSERTION,
            copyright_text: NOASSERTION,
            comment: f.origin.clone(),
        });
    }

    doc.packages.push(Package {
        files_analyzed: !files.is_empty(),
        package_verification_code: (!files.is_empty()).then(|| VerificationCode {
            package_verification_code_value: verification_code(&files),
        }),
        description: Some(format!(
            "The {} image built by scratchc: a single layer FROM scratch.",
            input.platform
        )),
        ..Package::new(input.name.clone(), image_id.clone(), "CONTAINER")
    });

    let mut listed = BTreeSet::new();
    for program in &input.programs {
        add_program(
            &mut doc,
            &mut rel,
            &mut listed,
            &image_id,
            &file_ids,
            program,
        );
    }

    if let Some(builder) = &input.builder {
        let shown = builder.to_string();
        let id = spdx_id("Builder", &[&shown]);
        doc.packages.push(Package {
            version_info: builder.digest.clone().or_else(|| builder.tag.clone()),
            description: Some(format!("The image the binary was built in: {shown}.")),
            external_refs: purl::oci(builder).map(purl_ref).into_iter().collect(),
            ..Package::new(builder.name.clone(), id.clone(), "CONTAINER")
        });
        rel.add(&id, "BUILD_TOOL_OF", &image_id);
    }
    doc.relationships = rel.list;

    // The namespace: a digest of the document written without one.
    let unnamed = to_json(&doc)?;
    let digest = hex::encode(Sha256::digest(unnamed.as_bytes()));
    doc.document_namespace = format!(
        "{NAMESPACE_BASE}/{}-{digest}",
        purl::encode(&input.name.replace(['/', ':', '@'], "-"))
    );
    to_json(&doc)
}

fn to_json(doc: &Document) -> Result<String, SbomError> {
    let mut s = serde_json::to_string_pretty(doc).map_err(|e| SbomError::Encode(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

/// Relationships in the order added, each once.
#[derive(Default)]
struct Relationships {
    list: Vec<Relationship>,
    seen: BTreeSet<Relationship>,
}

impl Relationships {
    fn add(&mut self, from: &str, kind: &'static str, to: &str) {
        let r = Relationship {
            spdx_element_id: from.to_string(),
            relationship_type: kind,
            related_spdx_element: to.to_string(),
        };
        if self.seen.insert(r.clone()) {
            self.list.push(r);
        }
    }
}

/// SPDX's package verification code: the SHA-1 of the files' SHA-1s,
/// sorted, concatenated as lowercase hex.
fn verification_code(files: &[&ImageFile]) -> String {
    let mut sums: Vec<&str> = files.iter().map(|f| f.sha1.as_str()).collect();
    sums.sort_unstable();
    hex::encode(Sha1::digest(sums.concat().as_bytes()))
}

fn add_program(
    doc: &mut Document,
    rel: &mut Relationships,
    listed: &mut BTreeSet<String>,
    image_id: &str,
    file_ids: &[(&str, String)],
    program: &GoProgram,
) {
    let bi = &program.build_info;
    let main = bi.main.clone().unwrap_or_else(|| Module {
        path: bi.path.clone(),
        ..Module::default()
    });
    let main_id = spdx_id("GoModule", &[&program.path, &main.path, &main.version]);
    let mut refs = vec![purl_ref(purl::golang(&main.path, &main.version))];
    if !main.sum.is_empty() {
        refs.push(sum_ref(&main.sum));
    }
    let git_revision = match bi.setting("vcs") {
        Some("git") => bi.setting("vcs.revision").filter(|r| is_hex(r, 40)),
        _ => None,
    };
    if let Some(rev) = git_revision {
        refs.push(ExternalRef {
            reference_category: "PERSISTENT-ID",
            reference_type: "gitoid",
            reference_locator: format!("gitoid:commit:sha1:{rev}"),
        });
    }
    doc.packages.push(Package {
        version_info: (!main.version.is_empty()).then(|| main.version.clone()),
        source_info: Some(source_info(bi)),
        description: Some(format!(
            "The Go main module of {} (main package {}).",
            program.path, bi.path
        )),
        external_refs: refs,
        ..Package::new(main.path.clone(), main_id.clone(), "APPLICATION")
    });
    rel.add(image_id, "CONTAINS", &main_id);
    if let Some((_, file_id)) = file_ids.iter().find(|(p, _)| *p == program.path) {
        rel.add(file_id, "GENERATED_FROM", &main_id);
    }

    for dep in &bi.deps {
        let (id, package) = module_package(dep);
        rel.add(&main_id, "DEPENDS_ON", &id);
        if listed.insert(id) {
            doc.packages.push(package);
        }
    }

    let std_id = spdx_id("GoStdlib", &[&bi.go_version]);
    rel.add(&main_id, "DEPENDS_ON", &std_id);
    if listed.insert(std_id.clone()) {
        doc.packages.push(Package {
            version_info: Some(bi.go_version.clone()),
            description: Some(format!(
                "The Go standard library and runtime of the {} toolchain, linked into the binary.",
                bi.go_version
            )),
            external_refs: vec![purl_ref(purl::stdlib(&bi.go_version))],
            ..Package::new("stdlib".into(), std_id, "LIBRARY")
        });
    }
}

/// The package for a dependency: the code that was built (a replacement
/// when there is one), with a comment naming what it replaced.
fn module_package(dep: &Module) -> (String, Package) {
    let built = dep.effective();
    let directory = dep.replace.is_some() && !built.version.starts_with('v');
    let (name, version, comment) = match &dep.replace {
        None => (dep.path.clone(), dep.version.clone(), None),
        Some(_) if directory => (
            dep.path.clone(),
            String::new(),
            Some(format!(
                "{} {} replaced by the directory {} (go.mod replace): no version, no sum",
                dep.path, dep.version, built.path
            )),
        ),
        Some(r) => (
            r.path.clone(),
            r.version.clone(),
            Some(format!(
                "replaces {} {} (go.mod replace)",
                dep.path, dep.version
            )),
        ),
    };
    let id = spdx_id("GoModule", &[&name, &version, &built.sum, &built.path]);
    let mut refs = vec![purl_ref(purl::golang(&name, &version))];
    if !built.sum.is_empty() {
        refs.push(sum_ref(&built.sum));
    }
    let package = Package {
        version_info: (!version.is_empty()).then_some(version),
        comment,
        external_refs: refs,
        ..Package::new(name, id.clone(), "LIBRARY")
    };
    (id, package)
}

fn purl_ref(p: String) -> ExternalRef {
    ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: p,
    }
}

fn sum_ref(sum: &str) -> ExternalRef {
    ExternalRef {
        reference_category: "OTHER",
        reference_type: "go-sum",
        reference_locator: sum.to_string(),
    }
}

/// The toolchain and the `build` lines of `go version -m`.
fn source_info(bi: &BuildInfo) -> String {
    let settings = BuildInfo {
        go_version: bi.go_version.clone(),
        settings: bi.settings.clone(),
        ..BuildInfo::default()
    };
    format!(
        "built by the go command; its build info (go version -m):\n{}",
        settings.go_string()
    )
}

#[cfg(test)]
#[path = "spdx_tests.rs"]
mod tests;
