//! Shell completions, from the same clap definitions as the parser.
//!
//! The scripts are clap_complete's environment-driven ones: the shell
//! calls `COMPLETE=<shell> scratchc -- <words...>` at every Tab and
//! scratchc answers from its own command line definition, so verbs and
//! flags are never out of date with the binary installed. Values that
//! depend on a file are completed here: `--app` offers the app names of
//! the FILE on the command line being completed (default `app.scratch`),
//! read leniently (syntax only: a file with check errors still completes).
//!
//! Why dynamic rather than a generated static script: a static script can
//! name the verbs but not the apps of a file, and a bash-only hook would
//! leave the other shells without them.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::OnceLock;

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::{Bash, EnvCompleter, Fish, Powershell, Zsh};

use super::Failure;

/// The variable the completion scripts set (clap_complete's default).
const VAR: &str = "COMPLETE";

/// The shells `scratchc completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Options of `scratchc completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

impl Shell {
    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            Shell::Bash => &Bash,
            Shell::Zsh => &Zsh,
            Shell::Fish => &Fish,
            Shell::Powershell => &Powershell,
        }
    }
}

/// `scratchc completions SHELL`: the script that registers the completion
/// function. It calls `scratchc` by name (found on PATH), so the
/// installed script works for whichever scratchc is installed.
pub fn run(args: &CompletionsArgs) -> Result<(), Failure> {
    let mut buf = Vec::new();
    args.shell
        .completer()
        .write_registration(VAR, "scratchc", "scratchc", "scratchc", &mut buf)
        .map_err(|e| crate::client::errors::BuildError::Daemon {
            call: "completions",
            message: format!("cannot write the script: {e} (a bug in scratchc; please report it)"),
        })?;
    super::write_stdout(&buf)
}

/// The words of the command line being completed, as the script passed
/// them after `--` (set once, before clap_complete runs).
static WORDS: OnceLock<Vec<OsString>> = OnceLock::new();

/// Answers a completion request (`COMPLETE=<shell>` in the environment)
/// and exits; returns at once otherwise.
pub fn from_env() {
    if std::env::var_os(VAR).is_none_or(|v| v.is_empty() || v == "0") {
        return;
    }
    let words: Vec<OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    let _ = WORDS.set(words);
    clap_complete::CompleteEnv::with_factory(super::command)
        .bin("scratchc")
        .completer("scratchc")
        .complete();
}

/// The completer of every `--app`: the app names of the file the command
/// line names.
pub fn apps() -> ArgValueCompleter {
    ArgValueCompleter::new(complete_apps)
}

fn complete_apps(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(words) = WORDS.get() else {
        return Vec::new();
    };
    let Some(file) = file_of(words) else {
        return Vec::new();
    };
    let prefix = current.to_string_lossy();
    app_names(&file)
        .into_iter()
        .filter(|n| n.starts_with(prefix.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The FILE of the command line `words` (the program name first): its
/// `--app` (being typed, or given) left out, the rest parsed leniently by
/// the real definition, so FILE is found wherever it stands and defaults
/// as in a run.
fn file_of(words: &[OsString]) -> Option<PathBuf> {
    let mut kept = Vec::new();
    let mut skip_next = false;
    for w in words {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if w == "--app" {
            skip_next = true;
            continue;
        }
        if w.to_string_lossy().starts_with("--app=") {
            continue;
        }
        kept.push(w.clone());
    }
    let matches = super::command()
        .ignore_errors(true)
        .try_get_matches_from(kept)
        .ok()?;
    let (_, sub) = matches.subcommand()?;
    let file = sub.try_get_one::<PathBuf>("file").ok().flatten()?;
    (!super::load::is_stdin(file)).then(|| file.clone())
}

/// The names of the apps a file defines, in file order; none when it
/// cannot be read or parsed.
pub fn app_names(file: &std::path::Path) -> Vec<String> {
    let path = super::load::app_path(file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let Ok(ast) = crate::compiler::syntax::parse(0, &text) else {
        return Vec::new();
    };
    ast.items
        .iter()
        .filter_map(|item| match &item.kind {
            crate::compiler::ast::ItemKind::Block(b)
                if b.kind == crate::compiler::ast::BlockKind::App =>
            {
                Some(b.name.node.clone())
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn the_file_is_found_wherever_it_stands() {
        assert_eq!(
            file_of(&words("scratchc build x/app.scratch --app ")),
            Some(PathBuf::from("x/app.scratch"))
        );
        assert_eq!(
            file_of(&words("scratchc build --app w --no-cache x.scratch")),
            Some(PathBuf::from("x.scratch"))
        );
        assert_eq!(
            file_of(&words("scratchc k8s --app=we")),
            Some(PathBuf::from("app.scratch"))
        );
        assert_eq!(
            file_of(&words(
                "scratchc build -t a:b --platform linux/amd64 d --app"
            )),
            Some(PathBuf::from("d"))
        );
        assert_eq!(file_of(&words("scratchc llb - --app ")), None);
    }
}
