//! `scratchc compose`: print a Compose file with a service for each app,
//! with the same security settings as `scratchc k8s` (see `crate::deploy`).

use crate::deploy::compose;

use super::Failure;
use super::deploy::{DeployArgs, choose, print};

pub fn run(args: &DeployArgs) -> Result<(), Failure> {
    let chosen = choose(args)?;
    print(&compose::file(&chosen.targets(), &chosen.source))
}
