//! `scratchc lock` (in progress).
use std::process::ExitCode;

/// Options of `scratchc lock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// The app.scratch file.
    #[arg(value_name = "FILE", default_value = "app.scratch")]
    pub file: std::path::PathBuf,
}

pub fn run(_args: LockArgs) -> ExitCode {
    eprintln!("scratchc lock: not implemented yet");
    ExitCode::FAILURE
}
