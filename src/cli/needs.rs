//! What `scratchc build` prints about a built app's runtime needs
//! ([`crate::build::needs`]): the warnings and notes as diagnostics (a
//! warning in every progress mode, notes unless `--progress quiet`), and
//! with `--progress plain` one line per binary saying what the check read.

use std::io::IsTerminal;

use crate::build::{Checked, Plan};
use crate::client::buildkit::progress::ProgressMode;
use crate::compiler::Severity;
use crate::compiler::model::App;

/// Prints the diagnostics of one app's check on stderr.
pub fn print(app: &App, checked: &Checked, plan: &Plan, mode: ProgressMode) {
    if mode == ProgressMode::Plain {
        for i in &checked.inspections {
            eprintln!(
                "runtime needs of {} ({}): {} bytes read in {} round trips, {} ms",
                app.image.binary.node,
                i.platform,
                i.stats.bytes,
                i.stats.rounds,
                i.elapsed.as_millis()
            );
        }
    }
    let shown: Vec<_> = checked
        .diags
        .iter()
        .filter(|d| mode != ProgressMode::Quiet || d.severity >= Severity::Warning)
        .cloned()
        .collect();
    if !shown.is_empty() {
        let color = std::io::stderr().is_terminal();
        eprint!("{}", super::check::render(&shown, &plan.sources, color));
    }
}
