//! Multi-arch, the binary check and reproducibility, against the real Docker
//! Engine (BuildKit 0.13, containerd image store) and the local registry
//! (`scripts/registry.sh`). A missing daemon or registry fails these tests:
//! CI starts both before `cargo test`.

// Test helpers panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scratchc::client::artefacts::elf::{self, ElfProblem};
use scratchc::compiler::Platform;

/// The Go toolchain image `scripts/setup.sh` builds locally.
const GO_IMAGE: &str = "golang:1.24";

use super::{docker, require_engine, run, scratchc};

/// A tiny Go module printing its platform, in a fresh temp dir.
fn hello_module() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n)\n\n\
         func main() { fmt.Printf(\"hello from %s/%s\\n\", runtime.GOOS, runtime.GOARCH) }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("go.mod"), "module hello\n\ngo 1.24\n").unwrap();
    dir
}

/// Builds the module in `dir` with the Go image, once per `(name, env)`
/// entry, in one container (the toolchain starts once). Returns the paths.
fn go_build(dir: &Path, builds: &[(&str, &str)]) -> Vec<PathBuf> {
    let script: String = builds
        .iter()
        .map(|(name, env)| {
            format!("env {env} go build -trimpath '-ldflags=-s -buildid=' -o /src/out/{name} . && ")
        })
        .collect::<String>()
        + "chmod -R a+rwX /src/out";
    let mount = format!("{}:/src", dir.display());
    run(docker().args([
        "run",
        "--rm",
        "--network=none",
        "-v",
        &mount,
        "-w",
        "/src",
        GO_IMAGE,
        "sh",
        "-c",
        &script,
    ]));
    builds
        .iter()
        .map(|(n, _)| dir.join("out").join(n))
        .collect()
}

fn plat(s: &str) -> Platform {
    Platform::parse(s).unwrap()
}

/// Real Go binaries, cross-compiled on the amd64 toolchain, pass the check
/// for their own platform and fail it for the others; the arm ones run
/// under qemu's user-mode emulators.
#[test]
fn real_go_binaries_pass_the_elf_check_for_their_platform_only() {
    require_engine();
    let module = hello_module();
    let targets = [
        (
            "amd64",
            "CGO_ENABLED=0 GOOS=linux GOARCH=amd64",
            "linux/amd64",
        ),
        (
            "arm64",
            "CGO_ENABLED=0 GOOS=linux GOARCH=arm64",
            "linux/arm64",
        ),
        (
            "armv7",
            "CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7",
            "linux/arm/v7",
        ),
    ];
    let builds: Vec<(&str, &str)> = targets.iter().map(|(n, e, _)| (*n, *e)).collect();
    let bins = go_build(module.path(), &builds);
    for (bin, (_, _, own)) in bins.iter().zip(&targets) {
        let bytes = std::fs::read(bin).unwrap();
        let info = elf::check(&bytes, &plat(own)).unwrap_or_else(|e| panic!("{own}: {e}"));
        assert!(
            info.interpreter.is_none() && info.needed.is_empty(),
            "{own}: {info:?}"
        );
        for (_, _, other) in &targets {
            if other != own {
                let err = elf::check(&bytes, &plat(other)).unwrap_err();
                assert!(
                    matches!(err, ElfProblem::WrongArch { .. }),
                    "{own} as {other}: {err}"
                );
            }
        }
    }
    // The essay's failure, caught: the amd64 binary in the arm64 image.
    let amd64 = std::fs::read(&bins[0]).unwrap();
    let err = elf::check(&amd64, &plat("linux/arm64")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "is a 64-bit little-endian x86-64 (EM_X86_64) binary, but the platform needs \
         64-bit little-endian AArch64 (EM_AARCH64)"
    );
    // Run them: natively, and under qemu (no binfmt needed when the
    // emulator is called directly).
    let out = run(&mut Command::new(&bins[0]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from linux/amd64\n"
    );
    for (bin, qemu, want) in [
        (&bins[1], "qemu-aarch64-static", "hello from linux/arm64\n"),
        (&bins[2], "qemu-arm-static", "hello from linux/arm\n"),
    ] {
        let out = run(Command::new(qemu).arg(bin));
        assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    }
}

/// `-buildmode=pie` without cgo still links internally against the system
/// loader: a scratch image cannot start it, and the check says so.
#[test]
fn real_dynamically_linked_go_binary_is_refused() {
    require_engine();
    let module = hello_module();
    let bins = go_build(
        module.path(),
        &[(
            "pie",
            "CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS=-buildmode=pie",
        )],
    );
    let bytes = std::fs::read(&bins[0]).unwrap();
    let err = elf::check(&bytes, &plat("linux/amd64")).unwrap_err();
    assert_eq!(
        err,
        ElfProblem::Interpreter {
            path: "/lib64/ld-linux-x86-64.so.2".into()
        }
    );
}

// ---------------------------------------------------------------------
// scratchc build: multi-arch, the check in the build, reproducibility,
// the lock, push and registry cache.

/// Tests that wipe the daemon's build cache take this, so one's wipe does
/// not land in the middle of another's cache export.
pub(crate) static WIPES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The local registry of `scripts/registry.sh`.
pub(crate) const REGISTRY: &str = "127.0.0.1:5000";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Fails (never skips) when the registry is not up.
pub(crate) fn require_registry() {
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

/// A copy of `examples/NAME` in a temp dir (not a git checkout, so the
/// epoch is 0 unless a test sets it).
pub(crate) fn example(name: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// `scratchc build DIR/app.scratch EXTRA...`, output captured.
fn build(dir: &Path, extra: &[&str]) -> Output {
    scratchc()
        .arg("build")
        .arg(dir.join("app.scratch"))
        .args(["--progress", "plain"])
        .args(extra)
        .output()
        .unwrap()
}

pub(crate) fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "scratchc failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Every (platform, binary bytes) of an OCI layout tarball, for `path`.
fn binaries(tar: &Path, path: &str) -> Vec<(String, Vec<u8>)> {
    use scratchc::client::artefacts::ocidiff::{self, Layout};
    let layout = Layout::from_tar(&std::fs::read(tar).unwrap()).unwrap();
    let json = |d: &str| -> serde_json::Value { serde_json::from_slice(&layout.blobs[d]).unwrap() };
    let index = json(&layout.image_digest().unwrap());
    let mut out = Vec::new();
    for m in index["manifests"].as_array().unwrap() {
        if m["annotations"]["vnd.docker.reference.type"] == "attestation-manifest" {
            // The SBOM: in-toto JSON, no layer tarball.
            continue;
        }
        let p = &m["platform"];
        let mut plat = format!(
            "{}/{}",
            p["os"].as_str().unwrap(),
            p["architecture"].as_str().unwrap()
        );
        if let Some(v) = p["variant"].as_str() {
            plat = format!("{plat}/{v}");
        }
        let manifest = json(m["digest"].as_str().unwrap());
        let config = json(manifest["config"]["digest"].as_str().unwrap());
        assert_eq!(config["architecture"], p["architecture"], "{plat}: config");
        for l in manifest["layers"].as_array().unwrap() {
            let blob = &layout.blobs[l["digest"].as_str().unwrap()];
            let tar = ocidiff::gunzip(blob).unwrap();
            for (entry, body) in ocidiff::read_tar(&tar).unwrap() {
                if entry.path.trim_start_matches('/') == path.trim_start_matches('/') {
                    out.push((plat.clone(), body));
                }
            }
        }
    }
    out
}

/// The test: amd64, arm64 and arm/v7 in one OCI index, each
/// manifest's platform right, each binary's ELF machine right, and the
/// arm64 one runs under qemu-aarch64-static.
#[test]
fn multi_arch_index_has_the_right_binary_per_platform() {
    require_engine();
    let dir = example("hello");
    let tar = dir.path().join("hello.oci.tar");
    let out = build(
        dir.path(),
        &[
            "--platform",
            "linux/amd64,linux/arm64,linux/arm/v7",
            "-o",
            &format!("type=oci,dest={}", tar.display()),
        ],
    );
    assert_ok(&out);
    let bins = binaries(&tar, "usr/bin/hello");
    let plats: Vec<&str> = bins.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(plats, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
    for (plat, bytes) in &bins {
        let info = elf::check(bytes, &Platform::parse(plat).unwrap())
            .unwrap_or_else(|e| panic!("{plat}: {e}"));
        let want = elf::expected_for(&Platform::parse(plat).unwrap().arch).unwrap();
        assert_eq!(info.machine, want.machine, "{plat}");
    }
    // The toolchain ran once per platform on the build platform, never
    // emulated: every build step ran on linux/amd64.
    let log = text(&out.stderr);
    assert!(!log.contains("exec format error"), "{log}");
    // BuildKit 0.20+ warns when the result's platforms are not the ones
    // asked for: the `platform` attribute names them all.
    assert!(!log.contains("do not match result platforms"), "{log}");
    // Run the arm64 binary under qemu's user-mode emulator (called
    // directly: no binfmt needed).
    let arm64 = dir.path().join("hello-arm64");
    std::fs::write(&arm64, &bins[1].1).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&arm64, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(Command::new("qemu-aarch64-static")
        .arg(&arm64)
        .arg("-version"));
    assert_eq!(text(&out.stdout), "dev\n");
    // And the arm/v7 one (GOARM=7 from the platform variant).
    let armv7 = dir.path().join("hello-armv7");
    std::fs::write(&armv7, &bins[2].1).unwrap();
    std::fs::set_permissions(&armv7, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(Command::new("qemu-arm-static").arg(&armv7).arg("-version"));
    assert_eq!(text(&out.stdout), "dev\n");
}

/// A build that does not cross-compile (GOARCH pinned to amd64) is caught
/// before export, naming the platform and what was found.
#[test]
fn binary_for_the_wrong_platform_fails_the_build() {
    require_engine();
    let dir = example("hello");
    let file = dir.path().join("app.scratch");
    let src = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        src.replace("app hello {", "app hello {\n  build-env GOARCH=amd64"),
    )
    .unwrap();
    let tar = dir.path().join("out.tar");
    let out = build(
        dir.path(),
        &[
            "--platform",
            "linux/arm64",
            "-o",
            &format!("type=oci,dest={}", tar.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "the build should fail");
    let err = text(&out.stderr);
    // A diagnostic (E0500) at the app's line; its message may be wrapped.
    let flat = err.replace("\n  │ ", " ");
    assert!(
        flat.contains(
            "linux/arm64: /usr/bin/hello is a 64-bit little-endian x86-64 (EM_X86_64) binary, \
             but the platform needs 64-bit little-endian AArch64 (EM_AARCH64)"
        ),
        "{err}"
    );
    assert!(err.contains("scratch::E0500"), "{err}");
    assert!(err.contains("app.scratch:2:1"), "{err}");
    assert!(err.contains("help: cross-compile for the target"), "{err}");
    assert!(!tar.exists() || std::fs::metadata(&tar).unwrap().len() == 0);
}

/// The index digest a build to an OCI tarball reports.
pub(crate) fn built_digest(out: &Output) -> String {
    let err = text(&out.stderr);
    err.lines()
        .rev()
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("sha256:")))
        .unwrap_or_else(|| panic!("no digest in the build output:\n{err}"))
        .trim_end_matches([',', ':'])
        .to_string()
}

/// `scratchc verify` on hello and server: two no-cache builds agree; then,
/// with the daemon's build cache wiped, a third build agrees again.
#[test]
fn verify_and_a_wiped_cache_give_the_same_digest() {
    require_engine();
    let _wipe = WIPES.lock().unwrap_or_else(|e| e.into_inner());
    for name in ["hello", "server"] {
        let dir = example(name);
        let out = scratchc()
            .arg("verify")
            .arg(dir.path().join("app.scratch"))
            .output()
            .unwrap();
        assert_ok(&out);
        let report = text(&out.stdout);
        assert!(report.contains(": reproducible ("), "{report}");
        let image = report
            .lines()
            .find(|l| l.trim_start().starts_with("image "))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no image digest in:\n{report}"))
            .to_string();
        run(docker().args(["builder", "prune", "-af"]));
        let tar = dir.path().join("again.tar");
        let out = build(
            dir.path(),
            &["-o", &format!("type=oci,dest={}", tar.display())],
        );
        assert_ok(&out);
        assert_eq!(
            built_digest(&out),
            image,
            "{name}: after wiping the build cache"
        );
    }
}

/// SOURCE_DATE_EPOCH: the git HEAD commit time of the context, else the
/// environment; a different epoch is a different (but stable) image.
#[test]
fn epoch_comes_from_git_head_and_changes_the_digest() {
    require_engine();
    let dir = example("hello");
    let git = |args: &[&str]| {
        run(Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_DATE", "1700000000 +0000"));
    };
    let outs = tempfile::tempdir().unwrap();
    let tar = outs.path().join("x.tar");
    let dest = format!("type=oci,dest={}", tar.display());
    let zero = build(dir.path(), &["-o", &dest]);
    assert_ok(&zero);
    assert!(
        text(&zero.stderr).contains("hello: epoch 0 (no git HEAD, no $SOURCE_DATE_EPOCH)"),
        "{}",
        text(&zero.stderr)
    );
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "x"]);
    let head = build(dir.path(), &["-o", &dest]);
    assert_ok(&head);
    assert!(
        text(&head.stderr).contains("hello: epoch 1700000000 (the commit time of git HEAD)"),
        "{}",
        text(&head.stderr)
    );
    let env = scratchc()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("build")
        .arg(dir.path().join("app.scratch"))
        .args(["--progress", "plain", "-o", &dest])
        .output()
        .unwrap();
    assert_ok(&env);
    assert_ne!(built_digest(&zero), built_digest(&head));
    assert_eq!(built_digest(&head), built_digest(&env));
}

/// `scratchc lock` pins the builder; a stale lock fails the build with a
/// clear message; `--update-lock` refreshes it.
#[test]
fn lock_pins_builders_and_refuses_a_stale_lock() {
    require_engine();
    let dir = example("hello");
    let file = dir.path().join("app.scratch");
    assert_ok(&scratchc().arg("lock").arg(&file).output().unwrap());
    let lock_path = dir.path().join("scratch.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let digest = run(docker().args(["image", "inspect", "--format", "{{.Id}}", GO_IMAGE]));
    assert!(lock.contains(text(&digest.stdout).trim()), "{lock}");
    let tar = dir.path().join("x.tar");
    let dest = format!("type=oci,dest={}", tar.display());
    let out = build(dir.path(), &["-o", &dest]);
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains("golang:1.24@sha256:"),
        "the build uses the locked digest"
    );
    // Stale: the app now names another builder.
    let src = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        src.replace("app hello {", "app hello {\n  builder golang:1.24.0"),
    )
    .unwrap();
    let out = build(dir.path(), &["-o", &dest]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("scratch.lock is stale"), "{err}");
    assert!(
        err.contains("builder docker.io/library/golang:1.24.0 is not in the lock"),
        "{err}"
    );
    assert!(err.contains("--update-lock"), "{err}");
    // Back to the locked builder: fresh again, `lock --check` agrees.
    std::fs::write(&file, src).unwrap();
    assert_ok(
        &scratchc()
            .args(["lock", "--check"])
            .arg(&file)
            .output()
            .unwrap(),
    );
}

/// Push to the local registry with a registry cache; wipe the daemon's
/// build cache; a build with --cache-from reuses the compile step (CACHED
/// in the progress output) and gives the pushed digest again.
#[test]
fn push_and_registry_cache_survive_a_wiped_daemon() {
    require_engine();
    require_registry();
    let _wipe = WIPES.lock().unwrap_or_else(|e| e.into_inner());
    let dir = example("hello");
    let tag = format!("{REGISTRY}/scratchc-test/hello:{}", std::process::id());
    let cache = format!("type=registry,ref={REGISTRY}/scratchc-test/hello:cache");
    let out = build(
        dir.path(),
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "-t",
            &tag,
            "--push",
            "--cache-to",
            &cache,
            // BuildKit writes the image name into an SBOM attestation, so
            // the pushed index and an unnamed OCI tarball would differ by
            // it; the cache is the subject here.
            "--sbom=false",
        ],
    );
    assert_ok(&out);
    let pushed = built_digest(&out);
    // The registry serves it.
    let manifest = run(Command::new("curl")
        .args([
            "-fsS",
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json",
        ])
        .arg(format!(
            "http://{REGISTRY}/v2/scratchc-test/hello/manifests/{}",
            tag.rsplit(':').next().unwrap()
        )));
    assert!(
        text(&manifest.stdout).contains("linux"),
        "{}",
        text(&manifest.stdout)
    );
    run(docker().args(["builder", "prune", "-af"]));
    let tar = dir.path().join("x.tar");
    let out = build(
        dir.path(),
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "--cache-from",
            &cache,
            "-o",
            &format!("type=oci,dest={}", tar.display()),
            "--sbom=false",
        ],
    );
    assert_ok(&out);
    let log = text(&out.stderr);
    assert!(log.contains("importing cache manifest from"), "{log}");
    for plat in ["linux/amd64", "linux/arm64"] {
        let step = format!("[hello {plat}] build: go -C . build");
        let id = log
            .lines()
            .find(|l| l.contains(&step))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("no compile step for {plat}:\n{log}"));
        // Taken from the cache (CACHED), or not needed at all: BuildKit
        // 0.25 cancels a step whose result a later cached step makes
        // unnecessary. Either way it never ran (no DONE).
        assert!(
            !log.contains(&format!("{id} DONE")),
            "{plat} compile not reused:\n{log}"
        );
    }
    assert_eq!(
        built_digest(&out),
        pushed,
        "same image from the cache as pushed"
    );
}

/// Checks that `dir` is an OCI image layout whose `latest` entry is a cache
/// manifest, and that every blob in it hashes to its name. Returns the
/// manifest's digest and the digests of the layers it lists.
///
/// BuildKit writes the cache manifest in one of two forms: an OCI index
/// listing the layers and the cache config (BuildKit 0.13, and later ones
/// with `image-manifest=false`), or an OCI image manifest whose config is
/// the cache config (the default since BuildKit 0.21; Docker 28.5 writes
/// it). Both are checked the same way.
fn check_cache_layout(dir: &Path) -> (String, Vec<String>) {
    use sha2::Digest as _;
    const CACHE_CONFIG: &str = "application/vnd.buildkit.cacheconfig.v0";
    let sha = |p: &Path| hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()));
    let blob = |d: &str| {
        dir.join("blobs/sha256")
            .join(d.strip_prefix("sha256:").unwrap())
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["blobs", "index.json", "oci-layout"], "no leftovers");
    let layout: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("oci-layout")).unwrap()).unwrap();
    assert_eq!(layout["imageLayoutVersion"], "1.0.0");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["schemaVersion"], 2);
    let tagged: Vec<&serde_json::Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "latest")
        .collect();
    assert_eq!(tagged.len(), 1, "{index}");
    let top = tagged[0];
    let digest = top["digest"].as_str().unwrap().to_string();
    let path = blob(&digest);
    assert_eq!(format!("sha256:{}", sha(&path)), digest);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        top["size"].as_u64().unwrap()
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(top["mediaType"], manifest["mediaType"], "{index}");
    // The blobs it lists (the layers and the cache config), each present
    // with its size.
    let (layers, config): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
        match manifest["mediaType"].as_str().unwrap() {
            "application/vnd.oci.image.index.v1+json" => manifest["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .partition(|m| m["mediaType"] != CACHE_CONFIG),
            "application/vnd.oci.image.manifest.v1+json" => (
                manifest["layers"].as_array().unwrap().iter().collect(),
                vec![&manifest["config"]],
            ),
            other => panic!("a cache manifest of type {other}: {manifest}"),
        };
    assert_eq!(config.len(), 1, "{manifest}");
    assert_eq!(config[0]["mediaType"], CACHE_CONFIG, "{manifest}");
    assert!(!layers.is_empty(), "no layers in {manifest}");
    for m in layers.iter().chain(&config) {
        let p = blob(m["digest"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            m["size"].as_u64().unwrap()
        );
    }
    // Every blob verifies.
    for e in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        assert_eq!(
            sha(&e.path()),
            e.file_name().to_string_lossy(),
            "corrupt blob"
        );
    }
    let layers = layers
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    (digest, layers)
}

/// `--cache-to type=local`: the client serves the directory to the daemon
/// as a content store and tags the cache manifest (an index or an image
/// manifest, as the daemon writes it) in index.json. Then, with
/// the daemon's build cache wiped, `--cache-from type=local` reuses the
/// compile step (CACHED) and gives the same image.
#[test]
fn local_cache_survives_a_wiped_daemon() {
    require_engine();
    let _wipe = WIPES.lock().unwrap_or_else(|e| e.into_inner());
    let dir = example("hello");
    // A binary of its own: images are reproducible, so hello's plain layer
    // may sit in the engine's content store for another image, and a
    // wiped build cache would not need to fetch it.
    let marker = uuid::Uuid::new_v4().simple().to_string();
    std::fs::write(
        dir.path().join("app.scratch"),
        format!("app hello uses go {{\n  ldflags \"-X main.version={marker}\"\n}}\n"),
    )
    .unwrap();
    // Outside the build context, which must not change between builds.
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let first = work.path().join("first.tar");
    let out = build(
        dir.path(),
        &[
            "--cache-to",
            &format!("type=local,dest={},mode=max", cache.display()),
            "-o",
            &format!("type=oci,dest={}", first.display()),
        ],
    );
    assert_ok(&out);
    let log = text(&out.stderr);
    assert!(log.contains("exporting cache to client directory"), "{log}");
    assert!(
        log.contains(&format!("cache {} (latest)", cache.display())),
        "{log}"
    );
    let (manifest, layers) = check_cache_layout(&cache);
    assert!(
        log.contains(&format!("writing cache manifest {manifest}"))
            || log.contains(&format!("writing cache image manifest {manifest}")),
        "{log}"
    );
    let built = built_digest(&out);

    run(docker().args(["builder", "prune", "-af"]));
    let second = work.path().join("second.tar");
    let out = build(
        dir.path(),
        &[
            "--cache-from",
            &format!("type=local,src={}", cache.display()),
            "-o",
            &format!("type=oci,dest={}", second.display()),
        ],
    );
    assert_ok(&out);
    let log = text(&out.stderr);
    assert!(
        log.contains("importing cache manifest from local:"),
        "{log}"
    );
    assert!(!log.contains("warning:"), "{log}");
    let step = "[hello linux/amd64] build: go -C . build";
    let id = log
        .lines()
        .find(|l| l.contains(step))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no compile step:\n{log}"));
    assert!(
        log.contains(&format!("{id} CACHED")),
        "compile not reused:\n{log}"
    );
    // The wiped daemon had to fetch the image layer: from the directory,
    // through the session.
    assert!(
        layers.iter().any(|l| log.contains(&format!("{l} "))),
        "no layer of {layers:?} fetched:\n{log}"
    );
    assert_eq!(built_digest(&out), built, "same image from the cache");
}

/// `--cache-from type=local` with no cache there warns and builds; a broken
/// index.json fails before anything is built.
#[test]
fn local_cache_from_missing_warns_and_from_broken_fails() {
    require_engine();
    let dir = example("hello");
    let work = tempfile::tempdir().unwrap();
    let missing = work.path().join("never-exported");
    let tar = work.path().join("out.tar");
    let out = build(
        dir.path(),
        &[
            "--cache-from",
            &format!("type=local,src={}", missing.display()),
            "-o",
            &format!("type=oci,dest={}", tar.display()),
        ],
    );
    assert_ok(&out);
    let log = text(&out.stderr);
    assert!(
        log.contains("warning: --cache-from type=local: no cache to import:")
            && log.contains("does not exist; building without it"),
        "{log}"
    );
    assert!(!missing.exists(), "an import never creates its directory");

    let broken = work.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("index.json"), "{\"manifests\": 1}").unwrap();
    let tar = work.path().join("never.tar");
    let out = build(
        dir.path(),
        &[
            "--cache-from",
            &format!("type=local,src={}", broken.display()),
            "-o",
            &format!("type=oci,dest={}", tar.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log = text(&out.stderr);
    assert!(log.contains("not an OCI image index"), "{log}");
    assert!(!log.contains("#1 "), "nothing was built:\n{log}");
    assert!(!tar.exists());
}

/// `-t` alone loads into the Docker Engine the very image `-o type=oci`
/// writes: the containerd store gets it from the `image` exporter, not
/// unpacked, with the timestamps rewritten. Two separate no-cache builds
/// (fresh mtimes on every file), one loaded, one exported: the Engine's
/// image ID is the manifest digest of the OCI layout, and the loaded image
/// runs (the Engine unpacks it on container create).
#[test]
fn loaded_image_is_the_oci_image_bit_for_bit() {
    require_engine();
    let dir = example("hello");
    let name = "scratchc-test/repro-load:1";
    let _ = docker().args(["image", "rm", "-f", name]).output();
    assert_ok(&build(dir.path(), &["--no-cache", "-t", name]));
    let tar = dir.path().join("out.tar");
    // The same name: the SBOM attestation's subject names the image, so
    // the name is part of the index digest.
    let out = build(
        dir.path(),
        &[
            "--no-cache",
            "-o",
            &format!("type=oci,dest={},name={name}", tar.display()),
        ],
    );
    assert_ok(&out);
    let index = run(Command::new("tar").arg("-xOf").arg(&tar).arg("index.json")).stdout;
    let index: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let exported = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(built_digest(&out), exported);
    let loaded = run(docker().args(["image", "inspect", "--format", "{{.Id}}", name]));
    assert_eq!(
        text(&loaded.stdout).trim(),
        exported,
        "-t image differs from the OCI one"
    );
    let ran = run(docker().args(["run", "--rm", "--network=none", name, "-version"]));
    assert_eq!(text(&ran.stdout), "dev\n");
    let _ = docker().args(["image", "rm", "-f", name]).output();
}
