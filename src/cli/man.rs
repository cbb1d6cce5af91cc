//! `scratchc man [VERB] [--dir DIR]`: manual pages in roff, made by
//! clap_mangen from the same definitions as the parser and `--help`, so
//! the three never disagree.

use std::path::{Path, PathBuf};

use clap_mangen::Man;

use crate::client::errors::{BuildError, InputError, UsageError};

use super::Failure;

/// Options of `scratchc man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The verb whose page to print (default: the page of scratchc itself).
    #[arg(value_name = "VERB")]
    pub verb: Option<String>,
    /// Write every page (scratchc.1, scratchc-VERB.1 for each verb) into
    /// DIR instead of printing one. Pages already there are replaced.
    #[arg(long, value_name = "DIR", conflicts_with = "verb", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

pub fn run(args: &ManArgs) -> Result<(), Failure> {
    let mut root = super::command().disable_help_subcommand(true);
    root.build();
    if let Some(dir) = &args.dir {
        for (name, page) in pages(&root)? {
            write(&dir.join(name), &page)?;
        }
        return Ok(());
    }
    let cmd = match &args.verb {
        None => root,
        Some(verb) => visible(&root)
            .find(|c| c.get_name() == verb)
            .cloned()
            .ok_or_else(|| {
                let verbs: Vec<&str> = visible(&root).map(|c| c.get_name()).collect();
                UsageError::new(format!("scratchc has no verb `{verb}`"))
                    .help(format!("the verbs are: {}", verbs.join(", ")))
            })?,
    };
    super::write_stdout(&render(cmd)?)
}

/// The verbs with a page: every one but the hidden `frontend`.
fn visible(root: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    root.get_subcommands().filter(|c| !c.is_hide_set())
}

/// Every page, with its file name: scratchc.1 first, then one per verb.
fn pages(root: &clap::Command) -> Result<Vec<(String, Vec<u8>)>, BuildError> {
    let mut out = vec![("scratchc.1".to_string(), render(root.clone())?)];
    for sub in visible(root) {
        out.push((
            format!("scratchc-{}.1", sub.get_name()),
            render(sub.clone())?,
        ));
    }
    Ok(out)
}

/// One page. The source line carries the plain version: the long one
/// (commit, frontend image) spans lines, which a title line cannot. The
/// date is the commit's, so the same source gives the same pages.
fn render(cmd: clap::Command) -> Result<Vec<u8>, BuildError> {
    let mut buf = Vec::new();
    let date = match env!("SCRATCHC_GIT_DATE") {
        "" => "unknown date",
        d => d,
    };
    Man::new(cmd)
        .date(date)
        .source(format!("scratchc {}", env!("CARGO_PKG_VERSION")))
        .manual("scratchc manual")
        .render(&mut buf)
        .map_err(|e| BuildError::Daemon {
            call: "man",
            message: format!("cannot render the page: {e} (a bug in scratchc; please report it)"),
        })?;
    Ok(buf)
}

fn write(path: &Path, data: &[u8]) -> Result<(), BuildError> {
    crate::client::artefacts::atomic::write_atomic(path, data).map_err(|source| {
        InputError {
            action: "write",
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}
