//! Multi-arch, the binary check and reproducibility, against the real Docker
//! Engine (BuildKit 0.13, containerd image store) and the local registry
//! (`scripts/registry.sh`). A missing daemon or registry fails these tests:
//! CI starts both before `cargo test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scratchc::client::elf::{self, ElfProblem};
use scratchc::compiler::Platform;

/// The Go toolchain image `scripts/setup.sh` builds locally.
const GO_IMAGE: &str = "golang:1.24";

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Fails (never skips) when the Docker Engine is not up.
fn require_docker() {
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the Docker Engine is not running: run scripts/setup.sh first"
    );
}

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
    run(Command::new("docker").args([
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
    require_docker();
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
    require_docker();
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
