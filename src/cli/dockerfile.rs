//! `scratchc dockerfile` (in progress).
use std::process::ExitCode;

pub fn run(_args: &super::DockerfileArgs) -> ExitCode {
    eprintln!("scratchc dockerfile: not implemented yet");
    ExitCode::FAILURE
}
