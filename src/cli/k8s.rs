//! `scratchc k8s`: print a Deployment (and a Service when the app has
//! ports) for each app, secure by construction (see `crate::deploy`).

use crate::client::errors::BuildError;
use crate::compiler::{Code, Diag};
use crate::deploy::k8s;

use super::Failure;
use super::deploy::{DeployArgs, choose, print};

pub fn run(args: &DeployArgs) -> Result<(), Failure> {
    let chosen = choose(args)?;
    let out = k8s::manifests(&chosen.targets(), &chosen.source).map_err(|e| {
        let mut d = Diag::new(Code::K8sName, e.to_string())
            .help("rename the app: Kubernetes names hold at most 63 characters");
        if let Some(app) = chosen.apps.iter().find(|a| a.name.node == e.app) {
            d = d.at(app.name.span, "too long for a Kubernetes name");
        }
        BuildError::diagnostics(vec![d], &chosen.sources)
    })?;
    print(&out)
}
