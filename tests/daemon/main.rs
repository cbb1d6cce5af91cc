//! Tests against a real BuildKit daemon (the Docker Engine set up by
//! `scripts/setup.sh`) and the local registry (`scripts/registry.sh`).
//! They fail, never skip, when either is down: CI starts both.

mod build;
mod deploy;
mod frontend;
mod repos;
mod repro;
mod session;
mod unchanged;

use std::process::{Command, Output};

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
