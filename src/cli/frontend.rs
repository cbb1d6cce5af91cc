//! `scratchc frontend`: run as a BuildKit gateway frontend. BuildKit starts
//! it inside the frontend image with the LLBBridge on stdin/stdout, so this
//! verb prints nothing on stdout; its messages go to stderr.

use std::process::ExitCode;

pub fn run() -> ExitCode {
    crate::frontend::main()
}
