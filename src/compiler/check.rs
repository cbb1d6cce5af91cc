//! The checker (in progress): AST to model, all errors in one run.
use super::{Diag, Options, Sources, model};

pub fn check(_sources: &Sources, _options: &Options) -> Result<model::Program, Vec<Diag>> {
    Err(vec![Diag::new("scratch::internal", "the checker is not written yet")])
}

/// The error for `--app NAME` naming no app of the file.
pub fn unknown_app(program: &model::Program, name: &str) -> Diag {
    let names: Vec<&str> = program.apps.iter().map(|a| a.name.node.as_str()).collect();
    Diag::new("scratch::E0300", format!("no app named `{name}` in this file"))
        .help(format!("the apps are: {}", names.join(", ")))
}
