//! What the command line lends a build against what its steps use: the
//! `--secret` and `--ssh` a client serves on its session, and the `secret`
//! and `ssh` statements of the apps built. Checked before anything is
//! sent, so a missing secret is an error at its line, not a step that
//! fails halfway (or, for an optional one, a warning that says the steps
//! will run without it); something given that no step uses is a warning,
//! since it usually means a typo in an id.
//!
//! The frontend cannot make this check: buildx serves the secrets on its
//! own session and the frontend never sees which. There the mounts say
//! what is needed (a required secret or an agent that is missing fails the
//! step, with BuildKit's message).

use std::collections::BTreeSet;

use crate::client::errors::BuildError;
use crate::compiler::model::{App, Build, SecretTarget};
use crate::compiler::{Code, Diag, Sources};

/// The ids the command line gives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Given {
    pub secrets: BTreeSet<String>,
    pub ssh: BTreeSet<String>,
}

/// Checks `apps` against what is `given`; the warnings to print when it
/// may go on.
pub fn check(apps: &[&App], sources: &Sources, given: &Given) -> Result<Vec<String>, BuildError> {
    let mut diags = Vec::new();
    let mut warnings = Vec::new();
    let mut used = Given::default();
    for app in apps {
        let Build::Compile(c) = &app.build else {
            continue;
        };
        let name = &app.name.node;
        for s in &c.secrets {
            let id = &s.node.id;
            used.secrets.insert(id.clone());
            if given.secrets.contains(id) {
                continue;
            }
            if s.node.required {
                diags.push(
                    Diag::new(
                        Code::SecretNotGiven,
                        format!("app `{name}` requires the secret `{id}`, which is not given"),
                    )
                    .at(s.span, "required here")
                    .help(format!(
                        "pass `--secret id={id},src=FILE` (or `env=VAR`); buildx takes the same flag"
                    )),
                );
            } else {
                let place = match &s.node.target {
                    SecretTarget::File(p) => format!("no file {p}"),
                    SecretTarget::Env(v) => format!("no ${v}"),
                };
                let (line, _) = sources.line_col(s.span.file, s.span.start);
                let file = sources.get(s.span.file).map_or("", |f| f.name.as_str());
                warnings.push(format!(
                    "the secret `{id}` ({file}:{line}) is not given: the steps of `{name}` run with {place} (pass --secret id={id},src=FILE)"
                ));
            }
        }
        for a in &c.ssh {
            let id = &a.node.id;
            used.ssh.insert(id.clone());
            if !given.ssh.contains(id) {
                let how = if id == "default" {
                    "pass `--ssh default` (the agent of $SSH_AUTH_SOCK)".to_string()
                } else {
                    format!("pass `--ssh {id}=SOCKET` (an ssh-agent's socket)")
                };
                diags.push(
                    Diag::new(
                        Code::SshNotGiven,
                        format!("app `{name}` uses the SSH agent `{id}`, which is not given"),
                    )
                    .at(a.span, "used here")
                    .help(format!("{how}; buildx takes the same flag")),
                );
            }
        }
    }
    if !diags.is_empty() {
        return Err(BuildError::diagnostics(diags, sources));
    }
    let names: Vec<&str> = apps.iter().map(|a| a.name.node.as_str()).collect();
    let built = names.join(", ");
    for id in given.secrets.difference(&used.secrets) {
        warnings.push(format!(
            "--secret id={id} is given, but no step of {built} uses it (a `secret {id}` statement mounts it)"
        ));
    }
    for id in given.ssh.difference(&used.ssh) {
        warnings.push(format!(
            "--ssh {id} is given, but no step of {built} uses it (an `ssh {id}` statement forwards it)"
        ));
    }
    Ok(warnings)
}
