//! `scratchc fmt` (in progress).
use std::process::ExitCode;

pub fn run(_args: &super::FmtArgs) -> ExitCode {
    eprintln!("scratchc fmt: not implemented yet");
    ExitCode::FAILURE
}
