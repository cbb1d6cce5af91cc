//! `scratchc verify` (in progress).
use std::process::ExitCode;

/// Options of `scratchc verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The app.scratch file.
    #[arg(value_name = "FILE", default_value = "app.scratch")]
    pub file: std::path::PathBuf,
}

pub fn run(_args: VerifyArgs) -> ExitCode {
    eprintln!("scratchc verify: not implemented yet");
    ExitCode::FAILURE
}
