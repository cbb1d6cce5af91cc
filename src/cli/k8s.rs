//! `scratchc k8s`: print a Deployment (and a Service when the app has
//! ports) for each app, secure by construction (see `crate::deploy`).

use std::process::ExitCode;

use crate::deploy::k8s;

use super::deploy::{DeployArgs, choose, print};

pub fn run(args: &DeployArgs) -> ExitCode {
    let chosen = match choose(args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match k8s::manifests(&chosen.targets(), &chosen.source) {
        Ok(out) => print(&out),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
