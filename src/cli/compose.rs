//! `scratchc compose`: print a Compose file with a service for each app,
//! with the same security settings as `scratchc k8s` (see `crate::deploy`).

use std::process::ExitCode;

use crate::deploy::compose;

use super::deploy::{DeployArgs, choose, print};

pub fn run(args: &DeployArgs) -> ExitCode {
    match choose(args) {
        Ok(chosen) => print(&compose::file(&chosen.targets(), &chosen.source)),
        Err(code) => code,
    }
}
