//! The one way the test binaries run scratchc: a builder around the real
//! executable that starts from the same clean environment every time (no
//! daemon address, no epoch, no colour from the caller's shell), so no
//! test depends on who runs it.

#![allow(dead_code)] // each test binary uses its own part

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

/// What a run of scratchc gave.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A scratchc command line to run.
pub struct Scratchc {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

/// The variables scratchc reads from the environment; a test sets the
/// ones it wants.
const ENV: [&str; 6] = [
    "BUILDKIT_HOST",
    "DOCKER_HOST",
    "SOURCE_DATE_EPOCH",
    "NO_COLOR",
    "SCRATCHC_TEST_DOCKER_HOST",
    "SCRATCHC_CONNECT_TIMEOUT",
];

/// The scratchc executable as a plain [`Command`], with none of the
/// caller's variables scratchc reads and no standard input: for tests
/// that need the process itself (a timeout, a signal, a pipe).
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scratchc"));
    for v in ENV {
        cmd.env_remove(v);
    }
    cmd.stdin(Stdio::null());
    cmd
}

impl Scratchc {
    pub fn new() -> Scratchc {
        Scratchc {
            cmd: command(),
            stdin: None,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Scratchc {
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Scratchc
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Scratchc {
        self.cmd.env(k, v);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Scratchc {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Scratchc {
        self.stdin = Some(data.into());
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Run {
        use std::io::Write;
        if self.stdin.is_some() {
            self.cmd.stdin(Stdio::piped());
        }
        let shown = format!("{:?}", self.cmd);
        let mut child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
        if let (Some(data), Some(mut input)) = (self.stdin.take(), child.stdin.take()) {
            input.write_all(&data).expect("writing stdin");
        }
        let out = child.wait_with_output().expect("waiting for scratchc");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs, and checks the exit code.
    pub fn expect(self, code: i32) -> Run {
        let r = self.run();
        assert_eq!(
            r.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            r.stdout,
            r.stderr
        );
        r
    }
}
