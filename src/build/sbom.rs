//! The SBOM of each platform image, made from the image the build just
//! produced and attached to it as an in-toto attestation
//! (docs/supply-chain.md).
//!
//! After a platform's binary passed the ELF check, [`make`]:
//!
//! 1. takes the binary's build info and digests from its [`ReadBack`]
//!    (the one read of the binary, shared with the other checks);
//! 2. walks the image (gateway `ReadDir` from `/`) and hashes every other
//!    regular file (ranged `ReadFile`s, [`readback::hash`]);
//! 3. writes the SPDX 2.3 document ([`crate::sbom::spdx::document`]): the
//!    image, its files with where each came from, the Go modules, the
//!    builder image with its digest;
//! 4. puts it in a one-file result of its own (an LLB `mkfile` on scratch,
//!    stamped with the epoch) and returns the attestation that points at
//!    it: kind in-toto, predicate type `https://spdx.dev/Document`, no
//!    subject (the image exporter names the image manifest it writes).
//!
//! BuildKit then writes it as an attestation manifest beside the platform
//! manifest in the image index (`image`, `oci`, push), or as
//! `sbom.spdx.json` beside a `local` or `tar` output.
//!
//! Invariants: the document is a function of the image's bytes, the build
//! info, the builder's digest, the app's name and the epoch, so it adds no
//! difference between two builds of the same inputs. It is never left out
//! silently: when one is asked for and cannot be made, the build fails.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::readback::{self, Digests, ReadBack};
use crate::client::buildkit::exporter::{OutputKind, OutputSpec};
use crate::client::buildkit::gateway::{Gateway, Ref};
use crate::client::errors::BuildError;
use crate::compiler::Platform;
use crate::compiler::model::{App, Build, ImageRef};
use crate::llb::{FileAction, FileOp, Graph, Meta};
use crate::proto::moby::buildkit::v1::frontend as gw;
use crate::sbom::{FileKind, GoProgram, ImageFile, SbomInput, spdx};

/// The in-toto predicate type of an SPDX document (what `docker buildx
/// imagetools inspect --format '{{json .SBOM}}'` looks for).
pub const PREDICATE_SPDX: &str = "https://spdx.dev/Document";

/// The file name of the document in its result, and beside a `local` or
/// `tar` output.
pub const FILE_NAME: &str = "sbom.spdx.json";

/// The gateway capability a daemon needs to take attestations in a result.
pub const CAP_ATTESTATIONS: &str = "reference.attestations";

/// Result metadata key of a platform's SBOM summary (`/<platform id>`
/// suffixed), a small JSON object: the document's digest, what it lists,
/// what making it read and cost. BuildKit copies `frontend.*` keys into
/// the exporter response, where `scratchc build` reads it for its summary.
pub const SUMMARY_KEY: &str = "frontend.scratchc.sbom";

/// Why a build with a `docker` tarball output attaches no SBOM unless
/// asked to.
pub const DOCKER_TARBALL_NOTE: &str = "no SBOM attached: a docker tarball (-o type=docker) made with one \
     has no manifest.json (an index instead), so only a containerd-store Engine could load it; \
     use -o type=oci to keep the SBOM, or --sbom to attach it anyway";

/// The SBOM setting when the command line gives none and an output is a
/// `docker` tarball: off. With attestations the result is an image index,
/// which BuildKit's docker exporter writes without the `manifest.json`
/// that `docker load` on a graph-driver Engine needs; a tarball meant for
/// any `docker load` keeps its one manifest.
pub fn off_for_docker_tarball(outputs: &[OutputSpec]) -> Option<bool> {
    outputs
        .iter()
        .any(|o| o.kind == OutputKind::Docker)
        .then_some(false)
}

/// The most entries an image walk visits, and how deep: a scratch image
/// holds a handful of files; these only bound a hostile one.
pub const MAX_ENTRIES: usize = 100_000;
pub const MAX_DEPTH: usize = 64;

/// Files hashed at once.
const FILES_IN_FLIGHT: usize = 8;

// Go's os.FileMode type bits, as the gateway's Stat carries them.
const MODE_DIR: u32 = 1 << 31;
const MODE_TYPE: u32 = MODE_DIR
    | 1 << 27 // symlink
    | 1 << 26 // device
    | 1 << 25 // named pipe
    | 1 << 24 // socket
    | 1 << 21 // char device
    | 1 << 19; // irregular

/// One platform's SBOM: the attestation to return and what it says.
#[derive(Clone, Debug)]
pub struct Made {
    pub platform: Platform,
    pub attestation: gw::Attestation,
    pub summary: Summary,
}

/// What one SBOM lists and what making it cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// `sha256:` of the document's bytes.
    pub digest: String,
    pub bytes: usize,
    /// Regular files of the image.
    pub files: usize,
    /// Go modules linked into the binary (the main module and the
    /// standard library left out).
    pub modules: usize,
    /// Bytes read back to hash the image's files.
    pub hashed_bytes: u64,
    /// Milliseconds: hashing the binary, walking and hashing the rest,
    /// the whole step (the binary's Go tables are read meanwhile).
    pub hash_binary_ms: u64,
    pub walk_ms: u64,
    pub total_ms: u64,
}

/// Makes the SBOM of one platform image (see the module docs). `back` is
/// the binary's read back with its digests; `builders` the digests of
/// builder images resolved on the daemon (a locked builder carries its
/// own).
pub async fn make(
    gateway: &Gateway,
    result: &Ref,
    app: &App,
    back: &ReadBack,
    builders: &BTreeMap<String, String>,
    epoch: u64,
) -> Result<Made, BuildError> {
    let started = Instant::now();
    let platform = &back.platform;
    let binary_path = app.image.binary.node.as_str();
    let binary = match &back.digests {
        Some(Ok(d)) => d.clone(),
        Some(Err(why)) => return Err(failed(platform, &format!("{binary_path}: {why}"))),
        None => return Err(failed(platform, "the binary was not hashed (a bug)")),
    };
    let walk_started = Instant::now();
    let (mut files, hashed) = walk(result, app, platform).await?;
    let walk_ms = millis(walk_started.elapsed());
    files.push(image_file(app, binary_path, &binary));
    let programs = match &back.go {
        Ok(go) => match &go.build_info {
            Ok(bi) => vec![GoProgram {
                path: binary_path.to_string(),
                build_info: bi.clone(),
            }],
            Err(_) => Vec::new(),
        },
        Err(_) => Vec::new(),
    };
    let modules = programs.iter().map(|p| p.build_info.deps.len()).sum();
    let input = SbomInput {
        name: app.name.node.clone(),
        platform: platform.id(),
        files,
        programs,
        builder: builder(app, builders),
        epoch,
        tool: SbomInput::this_tool(),
    };
    let document = spdx::document(&input).map_err(|e| failed(platform, &e.to_string()))?;
    let digest = crate::llb::digest(document.as_bytes());
    let name = format!(
        "[{platform}] SBOM {FILE_NAME}: {} files, {modules} Go modules",
        input.files.len()
    );
    let stored = store(gateway, document.as_bytes(), epoch, name).await?;
    let attestation = gw::Attestation {
        kind: gw::AttestationKind::InToto as i32,
        metadata: BTreeMap::from([("reason".to_string(), b"sbom".to_vec())]),
        r#ref: Some(gw::Ref {
            id: stored.id,
            def: None,
        }),
        path: FILE_NAME.to_string(),
        in_toto_predicate_type: PREDICATE_SPDX.to_string(),
        in_toto_subjects: Vec::new(),
    };
    Ok(Made {
        platform: platform.clone(),
        attestation,
        summary: Summary {
            digest,
            bytes: document.len(),
            files: input.files.len(),
            modules,
            hashed_bytes: binary.size + hashed,
            hash_binary_ms: millis(back.hash_elapsed),
            walk_ms,
            total_ms: millis(started.elapsed() + back.hash_elapsed.max(back.go_elapsed)),
        },
    })
}

/// The attestations of a result, keyed as the exporters look them up: by
/// platform id (a single-ref result's id is its config's platform, which
/// is ours).
pub fn attestations(made: &[Made]) -> BTreeMap<String, gw::Attestations> {
    let mut out: BTreeMap<String, gw::Attestations> = BTreeMap::new();
    for m in made {
        out.entry(m.platform.id())
            .or_default()
            .attestation
            .push(m.attestation.clone());
    }
    out
}

/// The summaries as result metadata (see [`SUMMARY_KEY`]).
pub fn summary_metadata(made: &[Made]) -> BTreeMap<String, Vec<u8>> {
    made.iter()
        .map(|m| {
            let json = serde_json::to_vec(&m.summary).unwrap_or_default();
            (format!("{SUMMARY_KEY}/{}", m.platform.id()), json)
        })
        .collect()
}

/// One line per platform SBOM of an exporter response (the summaries
/// [`summary_metadata`] put there), for a build's summary:
/// `sbom linux/amd64: sha256:… (12 files, 7 Go modules, 5.1 MB hashed, 0.21 s)`.
pub fn summary_lines(response: &BTreeMap<String, String>) -> Vec<String> {
    let prefix = format!("{SUMMARY_KEY}/");
    response
        .iter()
        .filter_map(|(k, v)| {
            let platform = k.strip_prefix(&prefix)?;
            let s: serde_json::Value = serde_json::from_str(v).ok()?;
            Some(format!(
                "sbom {platform}: {} ({} files, {} Go modules, {:.1} MB hashed, {:.2} s)",
                s["digest"].as_str()?,
                s["files"].as_u64()?,
                s["modules"].as_u64()?,
                s["hashed_bytes"].as_u64()? as f64 / 1e6,
                s["total_ms"].as_u64()? as f64 / 1e3,
            ))
        })
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn failed(platform: &Platform, why: &str) -> BuildError {
    BuildError::Daemon {
        call: "SBOM",
        message: format!(
            "{platform}: cannot make the SBOM: {why} (build with --sbom=false, or `sbom false` in the app, to go without one)"
        ),
    }
}

/// The builder image with its digest: pinned by the lock, else as the
/// daemon resolved it. `None` for a prebuilt binary.
fn builder(app: &App, resolved: &BTreeMap<String, String>) -> Option<ImageRef> {
    let Build::Compile(c) = &app.build else {
        return None;
    };
    let mut r = c.builder.node.clone();
    if r.digest.is_none() {
        r.digest = resolved.get(&r.to_string()).cloned();
    }
    Some(r)
}

/// Every regular file of the image but the binary, hashed, and the bytes
/// read to hash them. Symlinks and directories are not files to SPDX.
async fn walk(
    result: &Ref,
    app: &App,
    platform: &Platform,
) -> Result<(Vec<ImageFile>, u64), BuildError> {
    let binary = app.image.binary.node.as_str();
    let mut found: Vec<(String, u64)> = Vec::new();
    let mut dirs = vec![("/".to_string(), 0usize)];
    let mut entries = 0usize;
    while let Some((dir, depth)) = dirs.pop() {
        for st in result.read_dir(&dir, "").await? {
            entries += 1;
            if entries > MAX_ENTRIES || depth >= MAX_DEPTH {
                return Err(failed(
                    platform,
                    &format!(
                        "the image holds more than {MAX_ENTRIES} entries or {MAX_DEPTH} levels of directories"
                    ),
                ));
            }
            let name = st.path.rsplit('/').next().unwrap_or(&st.path);
            let path = if dir == "/" {
                format!("/{name}")
            } else {
                format!("{dir}/{name}")
            };
            if st.mode & MODE_DIR != 0 {
                dirs.push((path, depth + 1));
            } else if st.mode & MODE_TYPE == 0 && path != binary {
                found.push((path, u64::try_from(st.size).unwrap_or(0)));
            }
        }
    }
    let hashed: Vec<Result<(ImageFile, u64), BuildError>> = futures::stream::iter(found)
        .map(|(path, size)| async move {
            let (d, stats) = readback::hash(result, &path, size)
                .await
                .map_err(|why| failed(platform, &format!("{path}: {why}")))?;
            Ok((image_file(app, &path, &d), stats.bytes))
        })
        .buffer_unordered(FILES_IN_FLIGHT)
        .collect()
        .await;
    let mut files = Vec::with_capacity(hashed.len());
    let mut bytes = 0;
    for h in hashed {
        let (f, b) = h?;
        bytes += b;
        files.push(f);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, bytes))
}

/// An image file for the SBOM: its kind (the app's binary, else ELF
/// files, else text without NUL bytes) and where it came from.
fn image_file(app: &App, path: &str, d: &Digests) -> ImageFile {
    let kind = if path == app.image.binary.node || d.elf {
        FileKind::Binary
    } else if d.text {
        FileKind::Text
    } else {
        FileKind::Other
    };
    ImageFile {
        path: path.to_string(),
        sha1: d.sha1.clone(),
        sha256: d.sha256.clone(),
        size: d.size,
        kind,
        origin: origin(app, path),
    }
}

/// Where a file of the image came from, in the words of app.scratch.
pub fn origin(app: &App, path: &str) -> Option<String> {
    let image = &app.image;
    if path == image.binary.node {
        return Some(match &app.build {
            Build::Compile(c) => format!(
                "the binary built by `build-run` in the builder image {}",
                c.builder.node
            ),
            Build::Prebuilt { src } => {
                format!("the prebuilt binary `{}` of the build context", src.node)
            }
        });
    }
    for (word, f) in [("certs", &image.certs), ("mime-types", &image.mime_types)] {
        if let Some(f) = f
            && f.node.dest == path
        {
            return Some(format!(
                "copied from the builder image's {} (`{word}`)",
                f.node.src
            ));
        }
    }
    image.files.iter().rev().find_map(|f| {
        let f = &f.node;
        if f.dest == path {
            Some(format!(
                "copied from the build context's {} (`file`)",
                f.src
            ))
        } else {
            let rest = path.strip_prefix(&f.dest)?.strip_prefix('/')?;
            Some(format!(
                "copied from the build context's {}/{rest} (`file`)",
                f.src
            ))
        }
    })
}

/// Puts the document in a result of its own: one file on scratch, stamped
/// with the epoch, named `name` in the progress output.
async fn store(
    gateway: &Gateway,
    document: &[u8],
    epoch: u64,
    name: String,
) -> Result<Ref, BuildError> {
    let mut graph = Graph::new();
    let op = FileOp {
        base: None,
        actions: vec![FileAction::Mkfile {
            path: format!("/{FILE_NAME}"),
            mode: 0o644,
            data: document.to_vec(),
            owner: None,
        }],
        timestamp: Some(
            i64::try_from(epoch)
                .ok()
                .and_then(|s| s.checked_mul(1_000_000_000))
                .unwrap_or(i64::MAX),
        ),
    };
    let meta = Meta {
        name: Some(name),
        ..Meta::default()
    };
    let encode = |e: crate::llb::LlbError| BuildError::Daemon {
        call: "SBOM",
        message: format!("cannot encode the SBOM's definition (a bug, please report it): {e}"),
    };
    let out = graph.file(op, meta).map_err(encode)?;
    let def = crate::llb::marshal(&graph, out, &[]).map_err(encode)?;
    gateway.solve(def).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::{Options, Sources, check};

    fn app(text: &str) -> App {
        let sources = Sources::new("app.scratch", text.to_string());
        let program = check(&sources, &Options::default()).unwrap();
        program.apps[0].clone()
    }

    #[test]
    fn origins_name_the_statement_that_put_each_file() {
        let a = app(
            "app web {\n  certs\n  mime-types\n  file static /srv/static\n  file conf.toml /etc/web.toml\n}\n",
        );
        let o = |p: &str| origin(&a, p);
        assert_eq!(
            o("/usr/bin/web").unwrap(),
            "the binary built by `build-run` in the builder image docker.io/library/golang:1.24"
        );
        assert_eq!(
            o("/etc/ssl/certs/ca-certificates.crt").unwrap(),
            "copied from the builder image's /etc/ssl/certs/ca-certificates.crt (`certs`)"
        );
        assert_eq!(
            o("/etc/mime.types").unwrap(),
            "copied from the builder image's /etc/mime.types (`mime-types`)"
        );
        assert_eq!(
            o("/srv/static/css/a.css").unwrap(),
            "copied from the build context's static/css/a.css (`file`)"
        );
        assert_eq!(
            o("/etc/web.toml").unwrap(),
            "copied from the build context's conf.toml (`file`)"
        );
        assert_eq!(o("/srv/staticx"), None);
        assert_eq!(o("/etc/passwd"), None);
    }

    #[test]
    fn builder_digest_from_the_lock_or_the_daemon() {
        let a = app("app web {\n}\n");
        let digest = format!("sha256:{}", "ab".repeat(32));
        let resolved =
            BTreeMap::from([("docker.io/library/golang:1.24".to_string(), digest.clone())]);
        let b = builder(&a, &resolved).unwrap();
        assert_eq!(b.digest.as_deref(), Some(digest.as_str()));
        assert_eq!(builder(&a, &BTreeMap::new()).unwrap().digest, None);
        let pinned = app(&format!(
            "app web {{\n  builder golang:1.24@sha256:{}\n}}\n",
            "cd".repeat(32)
        ));
        let b = builder(&pinned, &resolved).unwrap();
        assert_eq!(
            b.digest,
            Some(format!("sha256:{}", "cd".repeat(32))),
            "a pinned builder keeps its own digest"
        );
    }

    #[test]
    fn attestations_are_keyed_by_platform() {
        let att = |id: &str| gw::Attestation {
            r#ref: Some(gw::Ref {
                id: id.into(),
                def: None,
            }),
            ..Default::default()
        };
        let made = |p: Platform, id: &str| Made {
            platform: p,
            attestation: att(id),
            summary: Summary::default(),
        };
        let m = attestations(&[
            made(Platform::linux_amd64(), "a"),
            made(Platform::new("linux", "arm", Some("v7")), "b"),
        ]);
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            ["linux/amd64", "linux/arm/v7"]
        );
        assert_eq!(m["linux/arm/v7"].attestation.len(), 1);
    }
}
