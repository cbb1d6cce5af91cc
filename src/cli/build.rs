//! `scratchc build` (in progress).
use std::process::ExitCode;

/// Options of `scratchc build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The app.scratch file.
    #[arg(value_name = "FILE", default_value = "app.scratch")]
    pub file: std::path::PathBuf,
}

pub fn run(_args: BuildArgs) -> ExitCode {
    eprintln!("scratchc build: not implemented yet");
    ExitCode::FAILURE
}
