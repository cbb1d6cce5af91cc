//! Several apps of one file in one build: which apps (`--app`, repeatable;
//! none means all), and where each one's image goes when the names on the
//! command line are patterns (`-t registry/{app}:v1`,
//! `-o type=oci,dest=out/{app}.tar`).
//!
//! A name without `{app}` names one image, so it is refused for several
//! apps: two apps would otherwise overwrite each other's tag or file.

use crate::client::errors::{BuildError, UsageError};
use crate::compiler::model::App;

use super::Plan;

/// The placeholder of a name pattern.
pub const APP: &str = "{app}";

/// The apps to build: those named (in the order given, repeats dropped),
/// else every app of the file in file order.
pub fn select<'a>(plan: &'a Plan, names: &[String]) -> Result<Vec<&'a App>, BuildError> {
    if names.is_empty() {
        return Ok(plan.program.apps.iter().collect());
    }
    let mut out: Vec<&App> = Vec::new();
    for n in names {
        let app = plan.app(n)?;
        if !out.iter().any(|a| a.name.node == app.name.node) {
            out.push(app);
        }
    }
    Ok(out)
}

/// Checks that names given on the command line can serve `count` apps:
/// with several, each must hold `{app}`.
pub fn check_patterns(flag: &str, values: &[String], apps: &[&App]) -> Result<(), UsageError> {
    if apps.len() < 2 {
        return Ok(());
    }
    if let Some(v) = values.iter().find(|v| !v.contains(APP)) {
        let names: Vec<&str> = apps.iter().map(|a| a.name.node.as_str()).collect();
        return Err(UsageError::new(format!(
            "{flag} `{v}` names one image, but {} apps are built ({})",
            apps.len(),
            names.join(", ")
        ))
        .help(format!(
            "put {APP} in it (e.g. `{flag} registry.example.com/{APP}:v1`), or pick one with --app NAME"
        )));
    }
    Ok(())
}

/// `value` for `app`: every `{app}` replaced by its name.
pub fn expand(value: &str, app: &str) -> String {
    value.replace(APP, app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(expand("r.example/{app}:v1", "web"), "r.example/web:v1");
        assert_eq!(expand("plain:v1", "web"), "plain:v1");
    }
}
