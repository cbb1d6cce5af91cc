//! The real Go toolchain, offline: building the fixture programs under
//! `tests/fixtures/gobin/` for any target, and running `go version -m` and
//! `go tool nm` on the results.
//!
//! `scripts/setup.sh` copies the toolchain of the local `golang:1.24` image
//! to /var/cache/scratchc/go-1.24 (override with `SCRATCHC_GO_TOOLCHAIN`);
//! without it every test here fails with that fix. Builds never touch the
//! network: `GOPROXY=off` with `-mod=vendor`, or a `file://` proxy made
//! from `tests/fixtures/gobin/modules/` for real `h1:` sums. Binaries are
//! cached under target/tmp by a digest of the fixture files and the build
//! arguments, so a rerun links nothing; Go's own build cache is shared in
//! /var/cache/scratchc/go-build-cache.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

pub const FIXTURES: &str = "tests/fixtures/gobin";

/// Where setup.sh puts the toolchain.
fn toolchain_dir() -> PathBuf {
    std::env::var_os("SCRATCHC_GO_TOOLCHAIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/scratchc/go-1.24"))
}

/// GOROOT of the extracted toolchain, checked once.
pub fn goroot() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = toolchain_dir().join("goroot");
        let go = root.join("bin/go");
        assert!(
            go.is_file(),
            "no Go toolchain at {}: run `sudo scripts/setup.sh` (it copies the golang:1.24 \
             image's toolchain there), or set SCRATCHC_GO_TOOLCHAIN to a directory whose \
             goroot/ is a Go 1.24 GOROOT",
            go.display()
        );
        root
    })
}

/// A `go` command with a clean, offline environment.
pub fn go(dir: &Path) -> Command {
    let root = goroot();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gobin");
    let mut c = Command::new(root.join("bin/go"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &tmp)
        .env("GOROOT", root)
        .env("GOENV", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-mod=vendor")
        .env("GOPATH", tmp.join("gopath"))
        .env("GOMODCACHE", tmp.join("modcache"))
        .env("GOCACHE", "/var/cache/scratchc/go-build-cache")
        .env("CGO_ENABLED", "0");
    c
}

/// Runs a command, panicking with its output when it fails.
pub fn run(mut c: Command) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One build of a fixture program.
#[derive(Clone, Debug, Default)]
pub struct Build {
    /// The fixture module under tests/fixtures/gobin: `needs`, `deps`.
    pub module: &'static str,
    /// The package to build, relative to the module: `.`, `./cmd/tz`.
    pub package: &'static str,
    /// `amd64`, `arm64`, `arm`, `s390x`, `mips`, …
    pub goarch: &'static str,
    /// GOARM and friends: `("GOARM", "7")`.
    pub env: Vec<(&'static str, &'static str)>,
    /// `go build` flags.
    pub flags: Vec<&'static str>,
    /// Module mode against the file:// proxy (real h1: sums) instead of
    /// the vendor directory.
    pub proxy: bool,
    /// Build inside a fresh git repository (vcs.* settings).
    pub git: bool,
}

impl Build {
    pub fn new(module: &'static str, package: &'static str) -> Self {
        Build {
            module,
            package,
            goarch: "amd64",
            ..Build::default()
        }
    }

    pub fn arch(mut self, goarch: &'static str) -> Self {
        self.goarch = goarch;
        self
    }

    pub fn env(mut self, k: &'static str, v: &'static str) -> Self {
        self.env.push((k, v));
        self
    }

    pub fn flags(mut self, flags: &[&'static str]) -> Self {
        self.flags.extend(flags);
        self
    }

    pub fn stripped(self) -> Self {
        self.flags(&["-trimpath", "-ldflags=-s -w"])
    }

    /// Builds (or reuses) the binary; returns its path.
    pub fn path(&self) -> PathBuf {
        let src = Path::new(FIXTURES).join(self.module);
        // The toolchain's VERSION file is part of the key: a new toolchain
        // rebuilds everything (and a missing one fails here, with the fix).
        let version = std::fs::read(goroot().join("VERSION")).unwrap();
        let mut h = Sha256::new();
        h.update(&version);
        h.update(format!("{self:?}\n"));
        for (rel, bytes) in files(&src) {
            h.update(format!("{rel} {}\n", bytes.len()));
            h.update(&bytes);
        }
        if self.proxy {
            for (rel, bytes) in files(&Path::new(FIXTURES).join("modules")) {
                h.update(format!("modules/{rel} {}\n", bytes.len()));
                h.update(&bytes);
            }
        }
        let key = hex::encode(&h.finalize()[..10]);
        let name = self
            .package
            .trim_start_matches("./")
            .replace(['/', '.'], "-");
        let name = if name.is_empty() {
            self.module.to_string()
        } else {
            name
        };
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("gobin/bin")
            .join(key);
        let out = dir.join(format!("{name}-{}", self.goarch));
        if out.is_file() {
            return out;
        }
        std::fs::create_dir_all(&dir).unwrap();
        let work = tempfile::tempdir().unwrap();
        let tree = work.path().join(self.module);
        copy_tree(&src, &tree);
        let mut c = go(&tree);
        c.env("GOOS", "linux").env("GOARCH", self.goarch);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if self.proxy {
            let proxy = work.path().join("proxy");
            make_proxy(&Path::new(FIXTURES).join("modules"), &proxy);
            // Module mode: sums from go.sum, code from the proxy.
            std::fs::remove_dir_all(tree.join("vendor")).unwrap();
            c.env("GOFLAGS", "-mod=mod")
                .env("GOPROXY", format!("file://{}", proxy.display()))
                .env("GOMODCACHE", work.path().join("modcache"));
        }
        if self.git {
            git_commit(&tree);
        }
        let tmp_out = dir.join(format!(".{name}-{}.tmp{}", self.goarch, std::process::id()));
        c.arg("build")
            .args(&self.flags)
            .arg("-o")
            .arg(&tmp_out)
            .arg(self.package);
        run(c);
        if self.proxy {
            // The module cache is read-only; make it deletable.
            let mut c = go(&tree);
            c.env("GOMODCACHE", work.path().join("modcache"))
                .args(["clean", "-modcache"]);
            run(c);
        }
        std::fs::rename(&tmp_out, &out).unwrap();
        out
    }
}

/// `go version -m FILE`, as the go command prints it.
pub fn go_version_m(file: &Path) -> String {
    let mut c = go(Path::new("."));
    c.arg("version").arg("-m").arg(file);
    run(c)
}

/// The text symbols `go tool nm` lists (`T` and `t`), without the
/// linker-made markers that are no functions.
pub fn nm_functions(file: &Path) -> Vec<String> {
    let mut c = go(Path::new("."));
    c.args(["tool", "nm"]).arg(file);
    run(c)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let _addr = f.next()?;
            let kind = f.next()?;
            let name = f.collect::<Vec<_>>().join(" ");
            (kind == "T" || kind == "t").then_some(name)
        })
        .collect()
}

/// Every file under `dir`, relative path → bytes, sorted.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// A GOPROXY directory (the `file://` protocol) serving every module
/// under `src`, laid out as `<host>/<path>@<version>/`.
fn make_proxy(src: &Path, dst: &Path) {
    let mut modules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (rel, _) in files(src) {
        let dir = Path::new(&rel)
            .parent()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let (path, version) = dir.rsplit_once('@').unwrap();
        let versions = modules.entry(path.to_string()).or_default();
        if !versions.contains(&version.to_string()) {
            versions.push(version.to_string());
        }
    }
    for (path, versions) in modules {
        let at = dst.join(&path).join("@v");
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join("list"), versions.join("\n") + "\n").unwrap();
        for v in versions {
            let base = src.join(format!("{path}@{v}"));
            let mut entries = Vec::new();
            for (rel, bytes) in files(&base) {
                entries.push((format!("{path}@{v}/{rel}"), bytes));
            }
            std::fs::write(
                at.join(format!("{v}.mod")),
                std::fs::read(base.join("go.mod")).unwrap(),
            )
            .unwrap();
            std::fs::write(
                at.join(format!("{v}.info")),
                format!("{{\"Version\":\"{v}\",\"Time\":\"2024-01-01T00:00:00Z\"}}"),
            )
            .unwrap();
            std::fs::write(at.join(format!("{v}.zip")), stored_zip(&entries)).unwrap();
        }
    }
}

/// A zip archive with the entries stored (no compression): what the go
/// command needs of a module zip.
fn stored_zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: usize) {
        out.extend((v as u16).to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: usize) {
        out.extend((v as u32).to_le_bytes());
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let crc = crc32(data) as usize;
        let offset = out.len();
        // Local header: version 2.0, no flags, stored, 1980-01-01 00:00.
        u32le(&mut out, 0x0403_4b50);
        for v in [20, 0, 0, 0, 0x21] {
            u16le(&mut out, v);
        }
        for v in [crc, data.len(), data.len()] {
            u32le(&mut out, v);
        }
        u16le(&mut out, name.len());
        u16le(&mut out, 0);
        out.extend(name.as_bytes());
        out.extend(data);
        u32le(&mut central, 0x0201_4b50);
        for v in [20, 20, 0, 0, 0, 0x21] {
            u16le(&mut central, v);
        }
        for v in [crc, data.len(), data.len()] {
            u32le(&mut central, v);
        }
        for v in [name.len(), 0, 0, 0, 0] {
            u16le(&mut central, v);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend(name.as_bytes());
    }
    let cd_offset = out.len();
    let cd_len = central.len();
    out.extend(central);
    u32le(&mut out, 0x0605_4b50);
    for v in [0, 0, entries.len(), entries.len()] {
        u16le(&mut out, v);
    }
    u32le(&mut out, cd_len);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

/// CRC-32 (IEEE), bit by bit: the archives are a few hundred bytes.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Makes `dir` a git repository with one commit at a fixed time, so the
/// go command records vcs=git, vcs.revision, vcs.time, vcs.modified.
fn git_commit(dir: &Path) {
    let git = |args: &[&str]| {
        let mut c = Command::new("git");
        c.current_dir(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "scratchc test")
            .env("GIT_AUTHOR_EMAIL", "test@scratchc.invalid")
            .env("GIT_COMMITTER_NAME", "scratchc test")
            .env("GIT_COMMITTER_EMAIL", "test@scratchc.invalid")
            .env("GIT_AUTHOR_DATE", "2024-05-01T10:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-05-01T10:00:00Z");
        run(c);
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "fixture"]);
}
