//! `scratchc dockerfile`: print the equivalent multi-stage Dockerfile of
//! one app (for review and migration).

use std::io::Write;
use std::process::ExitCode;

use crate::compiler::dockerfile;

use super::DockerfileArgs;
use super::llb::prepare;

pub fn run(args: &DockerfileArgs) -> ExitCode {
    // The same preparation as `scratchc llb`: imports, and builders pinned
    // by scratch.lock, so the Dockerfile's FROM names the locked digest.
    let p = match prepare(&args.file, args.app.as_deref(), &args.compile, None) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let platform = p.platform_given.then_some(&p.platform);
    let text = dockerfile::render(&p.app, platform, &p.options);
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
