//! Tests against a real BuildKit daemon (a Docker Engine) and the local
//! registry (`scripts/registry.sh`). They fail, never skip, when either is
//! down: CI starts both.
//!
//! The engine under test is the one a docker CLI talks to, and
//! `SCRATCHC_TEST_DOCKER` names that CLI (default: `docker` on PATH, the
//! host's engine set up by `scripts/setup.sh`). Every test honours it:
//! `docker` and `docker buildx` calls run that CLI (and so that engine's
//! own buildx), scratchc gets the CLI's daemon address as `DOCKER_HOST`
//! (with `BUILDKIT_HOST` and `SOURCE_DATE_EPOCH` cleared), and the session
//! tests dial the same socket. The address is the CLI's own answer (`docker
//! context inspect`), so the CLI, buildx and scratchc cannot disagree on the
//! daemon. It must be a unix socket. The second engine of this project,
//! Debian sid's Docker 28.5 with buildx 0.29 (`scripts/sid-engine.sh
//! setup`), has its CLI in `scripts/sid-docker`:
//!
//! ```sh
//! SCRATCHC_TEST_DOCKER=scripts/sid-docker cargo test --test daemon -- --test-threads=1
//! ```
//!
//! `two_engines::` needs more engines: a twin of the engine under test
//! (the same Docker on another "machine"), whose CLI
//! `SCRATCHC_TEST_DOCKER_TWIN` names (`scripts/sid2-docker` after
//! `scripts/sid-engine.sh setup --name sid2`), and the host's engine. It
//! fails without them; `.ci/run` runs it in its sid stage, or leave it out
//! with `--skip two_engines`.

mod build;
#[path = "../common/mod.rs"]
mod common;
mod deploy;
mod dockerfile;
mod frontend;
mod lint;
#[path = "../common/modules.rs"]
mod modules;
mod outputs;
mod quickstart;
mod repos;
mod repro;
mod runtime;
mod sbom;
mod session;
mod two_engines;
mod unchanged;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The variable naming the engine's docker CLI.
pub const ENGINE_VAR: &str = "SCRATCHC_TEST_DOCKER";

/// A Docker Engine, as its CLI sees it.
#[derive(Debug)]
pub struct Engine {
    /// The CLI (an absolute path when it was given as a path).
    pub cli: PathBuf,
    /// `unix:///...`: where the CLI's daemon listens.
    pub host: String,
    /// That socket's path.
    pub socket: PathBuf,
}

impl Engine {
    /// The engine `cli` talks to. Panics with what to do when the CLI
    /// cannot run or names no unix socket (the daemon itself may be down:
    /// [`require_engine`] checks that).
    fn of(cli: &str) -> Engine {
        // Absolute, so tests that change directory still find it; links
        // are kept (scripts/sid2-docker is a link that knows its name).
        let cli = if cli.contains('/') {
            std::path::absolute(cli).unwrap_or_else(|e| panic!("{cli}: {e}"))
        } else {
            PathBuf::from(cli)
        };
        let out = output(Command::new(&cli).args([
            "context",
            "inspect",
            "--format",
            "{{.Endpoints.docker.Host}}",
        ]));
        let host = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success() && !host.is_empty(),
            "{} cannot say which daemon it uses: {}",
            cli.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let socket = host.strip_prefix("unix://").map(PathBuf::from);
        let socket = socket.unwrap_or_else(|| {
            panic!(
                "{}'s daemon is {host}: the daemon tests need a unix socket",
                cli.display()
            )
        });
        Engine { cli, host, socket }
    }

    /// `docker ARGS...` for this engine.
    pub fn docker(&self) -> Command {
        Command::new(&self.cli)
    }

    /// The scratchc binary, building on this engine whatever the caller's
    /// environment says.
    pub fn scratchc(&self) -> Command {
        let mut c = common::command();
        c.env("DOCKER_HOST", &self.host);
        c
    }

    /// Fails (never skips) when the engine does not answer.
    pub fn require(&self) {
        let out = output(
            self.docker()
                .args(["info", "--format", "{{.ServerVersion}}"]),
        );
        assert!(
            out.status.success(),
            "the Docker Engine at {} (CLI {}) is not running: start it with scripts/setup.sh \
             (the host's) or scripts/sid-engine.sh setup (sid's): {}",
            self.host,
            self.cli.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The engine under test: that of `$SCRATCHC_TEST_DOCKER`, else `docker`.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let cli = std::env::var(ENGINE_VAR).unwrap_or_default();
        Engine::of(if cli.is_empty() { "docker" } else { &cli })
    })
}

/// The variable naming the twin's docker CLI (`two_engines::` only).
pub const TWIN_VAR: &str = "SCRATCHC_TEST_DOCKER_TWIN";

/// A second engine of the same version as the one under test: that of
/// `$SCRATCHC_TEST_DOCKER_TWIN`. Panics, saying how to get one, when unset.
pub fn twin_engine() -> &'static Engine {
    static TWIN: OnceLock<Engine> = OnceLock::new();
    TWIN.get_or_init(|| {
        let cli = std::env::var(TWIN_VAR).unwrap_or_default();
        assert!(
            !cli.is_empty(),
            "{TWIN_VAR} is not set: this test needs a second engine of the version under test \
             (bash scripts/sid-engine.sh setup --name sid2; {TWIN_VAR}=scripts/sid2-docker \
             beside {ENGINE_VAR}=scripts/sid-docker), or leave it out with --skip two_engines"
        );
        Engine::of(&cli)
    })
}

/// The host's engine (`docker` on PATH), whatever is under test.
pub fn host_engine() -> &'static Engine {
    static HOST: OnceLock<Engine> = OnceLock::new();
    HOST.get_or_init(|| Engine::of("docker"))
}

/// `docker ARGS...` on the engine under test.
pub fn docker() -> Command {
    engine().docker()
}

/// The scratchc binary, on the engine under test.
pub fn scratchc() -> Command {
    engine().scratchc()
}

/// Fails (never skips) when the engine under test is down.
pub fn require_engine() {
    engine().require();
}

/// Runs a command to completion; panics only when it cannot start.
fn output(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

/// Runs a command that must succeed; a failure shows its output.
fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
