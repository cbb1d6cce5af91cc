//! `scratchc frontend` (in progress).
use std::process::ExitCode;

pub fn run() -> ExitCode {
    eprintln!("scratchc frontend: not implemented yet");
    ExitCode::FAILURE
}
