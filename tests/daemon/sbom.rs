//! The SBOM attached to every image (issue 13), checked with the tools a
//! user would use: `docker buildx imagetools inspect` against the local
//! registry (`scripts/registry.sh`), `go version -m` of the binary the
//! image holds (the toolchain `scripts/setup.sh` extracts), `pyspdxtools`
//! (spdx-tools from PyPI). A missing daemon, registry or tool fails these
//! tests, never skips them.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::modules::{go_version_m_modules, spdx_modules};
use super::repro::built_digest;
use super::{output, run};

const REGISTRY: &str = "127.0.0.1:5000";
/// A fixed epoch, so every build of a test agrees whatever the clock says.
const EPOCH: &str = "1714557600";

/// scratchc on the engine under test, with the fixed epoch.
fn scratchc() -> Command {
    let mut c = super::scratchc();
    c.env("SOURCE_DATE_EPOCH", EPOCH);
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn require_docker_and_registry() {
    super::require_engine();
    let ok = Command::new("curl")
        .args(["-fsS", "-m", "3", "-o", "/dev/null"])
        .arg(format!("http://{REGISTRY}/v2/"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "no registry on {REGISTRY}: run scripts/registry.sh first"
    );
}

/// The `deps` Go module of tests/fixtures/gobin (three dependencies: a
/// versioned one, one replaced by another module, one by a directory; all
/// vendored, so the build needs no network) with an app.scratch for
/// amd64 and arm64 with the CA bundle. Its go.sum is left out: with
/// nothing to download, the template's `go mod download` step is not run.
fn deps_module(app_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gobin/deps");
    run(Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path()));
    std::fs::remove_file(dir.path().join("go.sum")).unwrap();
    std::fs::write(
        dir.path().join("app.scratch"),
        format!("app deps {{\n  platforms linux/amd64 linux/arm64\n  certs\n{app_extra}}}\n"),
    )
    .unwrap();
    dir
}

/// `scratchc build DIR/app.scratch EXTRA...`.
fn build(dir: &Path, extra: &[&str]) -> Output {
    output(
        scratchc()
            .arg("build")
            .arg(dir.join("app.scratch"))
            .args(["--progress", "plain"])
            .args(extra),
    )
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "scratchc failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// An OCI layout tarball: its image index and the blob of a digest.
struct Oci(scratchc::client::artefacts::ocidiff::Layout);

impl Oci {
    fn open(tar: &Path) -> Oci {
        Oci(
            scratchc::client::artefacts::ocidiff::Layout::from_tar(&std::fs::read(tar).unwrap())
                .unwrap(),
        )
    }

    fn json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.0.blobs[digest]).unwrap()
    }

    fn index(&self) -> Value {
        self.json(&self.0.image_digest().unwrap())
    }

    /// Platform → manifest digest of the images (not the attestations).
    fn images(&self) -> BTreeMap<String, String> {
        self.index()["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["platform"]["os"] != "unknown")
            .map(|m| {
                (
                    scratchc::sbom::attached::platform(&m["platform"]),
                    m["digest"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Manifest digest → predicate types of the attestation manifest
    /// about it.
    fn attestations(&self) -> BTreeMap<String, Vec<String>> {
        self.statements()
            .into_iter()
            .map(|(d, s)| (d, s.into_iter().map(|(t, _)| t).collect()))
            .collect()
    }

    /// Manifest digest → (predicate type, in-toto statement) of each layer
    /// of the attestation manifest about it.
    fn statements(&self) -> BTreeMap<String, Vec<(String, Value)>> {
        let mut out = BTreeMap::new();
        for m in self.index()["manifests"].as_array().unwrap() {
            let a = &m["annotations"];
            if a["vnd.docker.reference.type"] != "attestation-manifest" {
                continue;
            }
            let manifest = self.json(m["digest"].as_str().unwrap());
            let layers = manifest["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    assert_eq!(l["mediaType"], "application/vnd.in-toto+json");
                    let t = l["annotations"]["in-toto.io/predicate-type"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    (t, self.json(l["digest"].as_str().unwrap()))
                })
                .collect();
            out.insert(
                a["vnd.docker.reference.digest"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                layers,
            );
        }
        out
    }

    /// The bytes of `path` in the image `manifest`.
    fn file(&self, manifest: &str, path: &str) -> Vec<u8> {
        use scratchc::client::artefacts::ocidiff;
        let m = self.json(manifest);
        for l in m["layers"].as_array().unwrap() {
            let tar = ocidiff::gunzip(&self.0.blobs[l["digest"].as_str().unwrap()]).unwrap();
            for (entry, body) in ocidiff::read_tar(&tar).unwrap() {
                if entry.path.trim_start_matches("./").trim_start_matches('/') == path {
                    return body;
                }
            }
        }
        panic!("no {path} in {manifest}")
    }
}

/// Where setup.sh extracts the golang:1.24 image's toolchain.
fn go() -> Command {
    let root = std::env::var_os("SCRATCHC_GO_TOOLCHAIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/scratchc/go-1.24"))
        .join("goroot");
    assert!(
        root.join("bin/go").is_file(),
        "no Go toolchain at {}: run scripts/setup.sh",
        root.display()
    );
    let mut c = Command::new(root.join("bin/go"));
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", std::env::temp_dir())
        .env("GOROOT", &root)
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off");
    c
}

/// (module, version) of every dependency `go version -m FILE` lists,
/// replacements resolved to the code that was built (a directory
/// replacement has no version).
fn go_version_m(file: &Path) -> Vec<(String, String)> {
    let out = run(go().arg("version").arg("-m").arg(file));
    go_version_m_modules(&text(&out.stdout))
}

/// `pyspdxtools -i FILE` accepts the document.
fn validate(doc: &Value, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.spdx.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let out = Command::new("pyspdxtools")
        .arg("-i")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run pyspdxtools ({e}): run scripts/setup.sh"));
    assert!(
        out.status.success(),
        "pyspdxtools rejects the {what} SBOM:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `docker buildx imagetools inspect REF --format '{{json .SBOM}}'`:
/// platform → SPDX document.
fn imagetools_sboms(reference: &str) -> BTreeMap<String, Value> {
    let out = run(super::docker().args([
        "buildx",
        "imagetools",
        "inspect",
        reference,
        "--format",
        "{{json .SBOM}}",
    ]));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("imagetools printed no JSON ({e}):\n{}", text(&out.stdout)));
    v.as_object()
        .unwrap_or_else(|| panic!("no SBOM per platform: {v}"))
        .iter()
        .map(|(p, s)| (p.clone(), s["SPDX"].clone()))
        .collect()
}

/// `scratchc sbom ARGS...` as JSON.
fn scratchc_sbom(args: &[&str]) -> Value {
    let out = run(scratchc().arg("sbom").args(args));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The issue's main check: `scratchc build` pushes an image for two
/// platforms to the registry, `imagetools inspect` finds an SPDX SBOM for
/// each, each lists exactly the modules `go version -m` lists for that
/// platform's binary, names the binary with its SHA-256, the CA bundle
/// and the builder image with its digest, and validates; `scratchc sbom`
/// prints the same document from the registry, the OCI tarball of the
/// same build and the Docker Engine.
#[test]
fn cli_image_in_the_registry_has_an_sbom_imagetools_reads_listing_what_go_version_m_lists() {
    require_docker_and_registry();
    let dir = deps_module("");
    let outs = tempfile::tempdir().unwrap();
    let tar = outs.path().join("deps.oci.tar");
    let tag = format!(
        "{REGISTRY}/scratchc-test/sbom-deps:{}",
        uuid::Uuid::new_v4().simple()
    );
    let out = build(
        dir.path(),
        &[
            "-t",
            &tag,
            "--push",
            "-o",
            &format!("type=oci,dest={}", tar.display()),
        ],
    );
    assert_ok(&out);
    let log = text(&out.stderr);
    for p in ["linux/amd64", "linux/arm64"] {
        assert!(
            log.contains(&format!("deps: sbom {p}: sha256:")) && log.contains("3 Go modules"),
            "no SBOM summary for {p}:\n{log}"
        );
    }

    let oci = Oci::open(&tar);
    let images = oci.images();
    assert_eq!(
        images.keys().collect::<Vec<_>>(),
        ["linux/amd64", "linux/arm64"]
    );
    let attested = oci.attestations();
    for digest in images.values() {
        assert_eq!(
            attested.get(digest).map(Vec::as_slice),
            Some(&["https://spdx.dev/Document".to_string()][..]),
            "the attestation manifest of {digest}: {attested:?}"
        );
    }

    let sboms = imagetools_sboms(&tag);
    assert_eq!(
        sboms.keys().collect::<Vec<_>>(),
        ["linux/amd64", "linux/arm64"]
    );
    for (platform, doc) in &sboms {
        validate(doc, platform);
        let binary = oci.file(&images[platform], "usr/bin/deps");
        let bin_file = outs.path().join(platform.replace('/', "_"));
        std::fs::write(&bin_file, &binary).unwrap();
        let listed = go_version_m(&bin_file);
        assert_eq!(listed.len(), 3, "{listed:?}");
        assert_eq!(spdx_modules(doc), listed, "{platform}");

        let files = doc["files"].as_array().unwrap();
        let sha256 = |name: &str| {
            files
                .iter()
                .find(|f| f["fileName"] == name)
                .unwrap_or_else(|| panic!("{platform}: no {name} in {files:?}"))["checksums"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["algorithm"] == "SHA256")
                .unwrap()["checksumValue"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            sha256("./usr/bin/deps"),
            hex::encode(Sha256::digest(&binary))
        );
        let certs = oci.file(&images[platform], "etc/ssl/certs/ca-certificates.crt");
        assert_eq!(
            sha256("./etc/ssl/certs/ca-certificates.crt"),
            hex::encode(Sha256::digest(&certs))
        );
        // The go template's runtime basics (`passwd`, `tmp`) add the user
        // files; /tmp and the home directory are directories, not files.
        let mut names: Vec<&str> = files
            .iter()
            .map(|f| f["fileName"].as_str().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "./etc/group",
                "./etc/passwd",
                "./etc/ssl/certs/ca-certificates.crt",
                "./usr/bin/deps"
            ],
            "{platform}"
        );
        let main = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["primaryPackagePurpose"] == "APPLICATION")
            .unwrap();
        let arch = platform.rsplit('/').next().unwrap();
        let source = main["sourceInfo"].as_str().unwrap();
        assert!(
            source.contains(&format!("build\tGOARCH={arch}\n"))
                && source.contains("build\tCGO_ENABLED=0\n"),
            "{source}"
        );
        let builder = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "docker.io/library/golang")
            .unwrap();
        assert!(
            builder["versionInfo"]
                .as_str()
                .unwrap()
                .starts_with("sha256:"),
            "the builder image has no digest: {builder}"
        );
        assert_eq!(doc["creationInfo"]["created"], "2024-05-01T10:00:00Z");

        // `scratchc sbom` prints the same document from everywhere.
        assert_eq!(
            &scratchc_sbom(&[&tag, "--platform", platform]),
            doc,
            "{platform}: registry"
        );
        assert_eq!(
            &scratchc_sbom(&[tar.to_str().unwrap(), "--platform", platform]),
            doc,
            "{platform}: OCI tarball"
        );
    }
    // This machine's platform when none is named, saying so.
    let out = run(scratchc().args(["sbom", &tag]));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        sboms["linux/amd64"]
    );
    assert!(
        text(&out.stderr).contains("the image also has linux/arm64"),
        "{}",
        text(&out.stderr)
    );

    // From the Docker Engine's image store.
    let name = format!("scratchc-test-sbom:{}", uuid::Uuid::new_v4().simple());
    assert_ok(&build(dir.path(), &["-t", &name]));
    let from_engine = scratchc_sbom(&[&name, "--platform", "linux/arm64"]);
    let _ = super::docker().args(["image", "rm", "-f", &name]).output();
    assert_eq!(from_engine, sboms["linux/arm64"], "the Docker Engine");
}

/// The switch: `--sbom=false` and `sbom false` leave the attestation out
/// (an index with the platform manifests only), `--sbom` puts it back over
/// the file, and `scratchc sbom` says there is none (exit 1). A `docker`
/// tarball goes without unless asked (it would lose its manifest.json),
/// saying so. A `local` output gets the statement as a file beside each
/// platform's files.
#[test]
fn sbom_false_in_the_file_or_on_the_command_line_leaves_it_out() {
    require_docker_and_registry();
    let outs = tempfile::tempdir().unwrap();
    let attestations = |dir: &Path, name: &str, extra: &[&str]| {
        let tar = outs.path().join(name);
        let mut args = vec!["-o".to_string(), format!("type=oci,dest={}", tar.display())];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = build(dir, &args);
        assert_ok(&out);
        let oci = Oci::open(&tar);
        assert_eq!(oci.images().len(), 2, "{name}");
        (tar, oci.attestations().len(), text(&out.stderr))
    };

    let on = deps_module("");
    let (_, n, _) = attestations(on.path(), "default.tar", &[]);
    assert_eq!(n, 2, "on by default: one attestation manifest per platform");
    let (tar, n, log) = attestations(on.path(), "flag-off.tar", &["--sbom=false"]);
    assert_eq!(n, 0, "--sbom=false");
    assert!(!log.contains(": sbom linux/"), "{log}");
    let out = output(scratchc().arg("sbom").arg(&tar));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("holds no SBOM attestation"),
        "{}",
        text(&out.stderr)
    );

    let off = deps_module("  sbom false\n");
    let (_, n, _) = attestations(off.path(), "file-off.tar", &[]);
    assert_eq!(n, 0, "sbom false");
    let (_, n, _) = attestations(off.path(), "file-off-flag-on.tar", &["--sbom"]);
    assert_eq!(n, 2, "--sbom over `sbom false`");

    // A docker tarball keeps its one manifest (and manifest.json, for any
    // `docker load`) unless the SBOM is asked for, and says so.
    let docker = outs.path().join("docker.tar");
    let out = build(
        on.path(),
        &[
            "--platform",
            "linux/amd64",
            "-o",
            &format!("type=docker,dest={}", docker.display()),
        ],
    );
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains("note: no SBOM attached: a docker tarball"),
        "{}",
        text(&out.stderr)
    );
    let list = run(Command::new("tar").arg("-tf").arg(&docker));
    assert!(
        text(&list.stdout).lines().any(|l| l == "manifest.json"),
        "{}",
        text(&list.stdout)
    );

    // A `local` output: the in-toto statement beside each platform's files.
    let local = outs.path().join("local");
    assert_ok(&build(
        on.path(),
        &["-o", &format!("type=local,dest={}", local.display())],
    ));
    for p in ["linux_amd64", "linux_arm64"] {
        let statement: Value =
            serde_json::from_slice(&std::fs::read(local.join(p).join("sbom.spdx.json")).unwrap())
                .unwrap();
        assert_eq!(statement["predicateType"], "https://spdx.dev/Document");
        assert_eq!(statement["predicate"]["spdxVersion"], "SPDX-2.3");
    }
    let doc = scratchc_sbom(&[local.to_str().unwrap(), "--platform", "linux/arm64"]);
    assert_eq!(spdx_modules(&doc).len(), 3);
}

/// Reproducible with the SBOM on: two `--no-cache` builds of the same
/// inputs give the same image index digest, attestations included
/// (`scratchc verify`, which compares two such builds, is run with the
/// SBOM on by `repro::verify_and_a_wiped_cache_give_the_same_digest`).
#[test]
fn two_no_cache_builds_give_the_same_index_digest_with_the_sbom() {
    require_docker_and_registry();
    let dir = deps_module("");
    let outs = tempfile::tempdir().unwrap();
    let digests: Vec<String> = ["a.tar", "b.tar"]
        .iter()
        .map(|name| {
            let tar = outs.path().join(name);
            let out = build(
                dir.path(),
                &[
                    "--no-cache",
                    "-o",
                    &format!("type=oci,dest={}", tar.display()),
                ],
            );
            assert_ok(&out);
            assert_eq!(Oci::open(&tar).attestations().len(), 2, "{name}");
            built_digest(&out)
        })
        .collect();
    assert_eq!(digests[0], digests[1], "two --no-cache builds differ");
}

/// `--provenance mode=max`: BuildKit's SLSA provenance beside the SBOM in
/// each attestation manifest, naming the builder image it used.
#[test]
fn provenance_is_attested_beside_the_sbom_when_asked_for() {
    require_docker_and_registry();
    let dir = deps_module("");
    let outs = tempfile::tempdir().unwrap();
    let tar = outs.path().join("prov.tar");
    let out = build(
        dir.path(),
        &[
            "--provenance",
            "mode=max",
            "-o",
            // Named: BuildKit's in-toto subjects are the image's names
            // (an unnamed output's attestations have none).
            &format!("type=oci,dest={},name=scratchc-test/prov:1", tar.display()),
        ],
    );
    assert_ok(&out);
    let oci = Oci::open(&tar);
    let images = oci.images();
    let statements = oci.statements();
    assert_eq!(statements.len(), 2);
    for (platform, manifest) in &images {
        let types: Vec<&str> = statements[manifest]
            .iter()
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(
            types,
            [
                "https://spdx.dev/Document",
                "https://slsa.dev/provenance/v0.2"
            ],
            "{platform}"
        );
        let provenance = &statements[manifest][1].1;
        assert_eq!(
            provenance["subject"][0]["digest"]["sha256"],
            manifest.trim_start_matches("sha256:"),
            "{platform}: the provenance is about its image"
        );
        let materials = provenance["predicate"]["materials"].to_string();
        assert!(
            materials.contains("pkg:docker/golang@1.24"),
            "{platform}: the builder image is not among the materials: {materials}"
        );
        // mode=max records the definition BuildKit solved.
        let definition = provenance["predicate"]["buildConfig"]["llbDefinition"].to_string();
        assert!(
            definition.contains("\"build\",\"-trimpath\""),
            "{platform}: {definition}"
        );
    }
    let statement = scratchc_sbom(&[
        tar.to_str().unwrap(),
        "--platform",
        "linux/amd64",
        "--format",
        "statement",
    ]);
    assert_eq!(statement["predicateType"], "https://spdx.dev/Document");
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        images["linux/amd64"].trim_start_matches("sha256:")
    );
    let out = output(
        scratchc()
            .args(["build", "--provenance", "mode=full"])
            .arg(dir.path().join("app.scratch")),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// The frontend attaches the same SBOM: `docker buildx build` through the
/// frontend image pushes an index for both platforms whose SBOMs
/// imagetools reads, each listing the binary's modules and valid, and
/// `scratchc build` of the same inputs pushes the very same index.
/// `sbom false` leaves it out through buildx too, and buildx's
/// `--sbom=true` (the `attest:sbom` attribute) puts it back.
#[test]
fn frontend_image_in_the_registry_has_the_sbom_scratchc_build_attaches() {
    require_docker_and_registry();
    super::frontend::require_frontend_image();
    let dir = deps_module("");
    let file = dir.path().join("app.scratch");
    let tag = format!(
        "{REGISTRY}/scratchc-test/sbom-frontend:{}",
        uuid::Uuid::new_v4().simple()
    );
    let outs = tempfile::tempdir().unwrap();
    let meta = outs.path().join("meta.json");
    run(super::frontend::buildx(
        &file,
        dir.path(),
        &[
            "--output",
            &format!("type=image,name={tag},push=true"),
            "--metadata-file",
            meta.to_str().unwrap(),
        ],
    )
    .env("SOURCE_DATE_EPOCH", EPOCH));
    let meta: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    let via_buildx = meta["containerimage.digest"].as_str().unwrap().to_string();

    let sboms = imagetools_sboms(&tag);
    assert_eq!(
        sboms.keys().collect::<Vec<_>>(),
        ["linux/amd64", "linux/arm64"]
    );
    for (platform, doc) in &sboms {
        validate(doc, platform);
        let modules: Vec<String> = spdx_modules(doc).into_iter().map(|(m, _)| m).collect();
        assert_eq!(
            modules,
            ["example.org/greet", "example.org/local", "example.org/new"],
            "{platform}"
        );
    }

    let out = build(dir.path(), &["-t", &tag, "--push"]);
    assert_ok(&out);
    assert_eq!(
        built_digest(&out),
        via_buildx,
        "scratchc build and buildx pushed different indexes"
    );
    assert_eq!(imagetools_sboms(&tag), sboms);

    let off = deps_module("  sbom false\n");
    let attested = |name: &str, extra: &[&str]| {
        let tar = outs.path().join(name);
        let mut args = vec![
            "--output".to_string(),
            format!("type=oci,dest={}", tar.display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&mut super::frontend::buildx(
            &off.path().join("app.scratch"),
            off.path(),
            &args,
        ));
        let oci = Oci::open(&tar);
        assert_eq!(oci.images().len(), 2, "{name}");
        oci.attestations().len()
    };
    assert_eq!(attested("off.tar", &[]), 0, "sbom false through buildx");
    assert_eq!(
        attested("on.tar", &["--sbom=true"]),
        2,
        "buildx --sbom=true over sbom false"
    );
}
