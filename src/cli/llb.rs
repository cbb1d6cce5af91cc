//! `scratchc llb` (in progress).
use std::process::ExitCode;

pub fn run(_args: &super::LlbArgs) -> ExitCode {
    eprintln!("scratchc llb: not implemented yet");
    ExitCode::FAILURE
}
