//! `scratchc check` (in progress).
use std::process::ExitCode;

pub fn run(_args: &super::CheckArgs) -> ExitCode {
    eprintln!("scratchc check: not implemented yet");
    ExitCode::FAILURE
}
