use std::process::ExitCode;

fn main() -> ExitCode {
    scratchc::cli::run()
}
