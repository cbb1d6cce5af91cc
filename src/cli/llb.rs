//! `scratchc llb`: compile one app for every platform it is built for and
//! print the LLB: a JSON dump per platform, keyed by platform (one
//! object, in the app's platform order), or the binary `pb.Definition`
//! (what `buildctl build` reads) of exactly one platform: a
//! `pb.Definition` holds one graph, so a file with several platforms
//! needs `--platform` to pick one (exit 2 otherwise, listing them).
//!
//! No daemon is contacted, yet the bytes are those `scratchc build` solves
//! for the same file, context and flags: the plan is [`crate::build`]'s,
//! read from the same disk; `scratch.lock` pins the builders and gives
//! their configs and build platform, and the context sources carry the
//! build's `local.unique`. Without a lock, what only the daemon knows is
//! missing: builder steps get the template's `build-env` only (not the
//! image's own env) and run on this machine's platform.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;

use crate::build::{Plan, Settings, inputs};
use crate::client::errors::{BuildError, UsageError};
use crate::client::inputs::epoch;
use crate::compiler::Target;
use crate::compiler::model::App;
use crate::llb;

use super::load::Disk;
use super::{CompileArgs, Failure, LlbArgs, LlbFormat};

/// The plan of an offline verb (`llb`, `dockerfile`): the file's, checked
/// and pinned as a build would, on the lock's build platform or this
/// machine's. `local_unique` overrides the context directory's id.
pub(super) fn plan(
    file: &Path,
    args: &CompileArgs,
    local_unique: Option<&str>,
) -> Result<Plan, BuildError> {
    let disk = Disk::for_args(file, args, None)?;
    // The epoch a build of this directory takes (the environment, else
    // git HEAD, else 0): the image's file op carries it.
    let epoch =
        epoch::source_date_epoch(&disk.context).map_err(|e| UsageError::new(e.to_string()))?;
    let settings = Settings {
        build_args: args.build_args()?,
        platforms: inputs::platforms(&args.platforms)?,
        build_platform: inputs::host_platform(),
        local_unique: Some(
            local_unique.map_or_else(|| inputs::local_unique(&disk.context), str::to_string),
        ),
        epoch: epoch.seconds,
        lock_platform: true,
        ..Settings::default()
    };
    disk.plan(settings)
}

/// The one app a verb works on: `--app`, or the only app of the file.
pub(super) fn one_app<'a>(plan: &'a Plan, name: Option<&str>) -> Result<&'a App, BuildError> {
    if let Some(n) = name {
        return plan.app(n);
    }
    match plan.program.apps.as_slice() {
        [one] => Ok(one),
        many => {
            let names: Vec<&str> = many.iter().map(|a| a.name.node.as_str()).collect();
            Err(UsageError::new(format!(
                "{} defines {} apps ({})",
                plan.settings.file,
                names.len(),
                names.join(", ")
            ))
            .help("pick one with --app NAME")
            .into())
        }
    }
}

/// Every target of the app: its platforms (or `--platform`'s), lowered
/// as the build lowers them, in one graph.
fn targets(plan: &Plan, app: &App) -> Result<Vec<Target>, BuildError> {
    let lower = plan.lower_options(app, BTreeMap::new());
    let targets = plan.targets(app, &lower)?;
    if targets.is_empty() {
        return Err(UsageError::new(format!("app {} has no platform", app.name.node)).into());
    }
    Ok(targets)
}

pub fn run(args: &LlbArgs) -> Result<(), Failure> {
    if args.format == LlbFormat::Pb && std::io::stdout().is_terminal() {
        return Err(UsageError::new("refusing to write binary LLB to a terminal")
            .help("pipe it (e.g. `| buildctl build`), redirect it to a file, or use --format json")
            .into());
    }
    let plan = plan(&args.file, &args.compile, args.local_unique.as_deref())?;
    let app = one_app(&plan, args.app.as_deref())?;
    let targets = targets(&plan, app)?;
    let bytes = match args.format {
        LlbFormat::Pb => match targets.as_slice() {
            [one] => one.definition.clone(),
            many => {
                let ids: Vec<String> = many.iter().map(|t| t.platform.id()).collect();
                return Err(UsageError::new(format!(
                    "--format pb writes one platform's definition, and app {} is built for {} ({})",
                    app.name.node,
                    ids.len(),
                    ids.join(", ")
                ))
                .help(format!(
                    "pick one with --platform (e.g. --platform {}), or use --format json for all",
                    ids[0]
                ))
                .into());
            }
        },
        LlbFormat::Json => json_by_platform(&targets)?.into_bytes(),
    };
    super::write_stdout(&bytes)
}

/// The JSON dumps of `targets`, one object keyed by platform id, in the
/// targets' order.
fn json_by_platform(targets: &[Target]) -> Result<String, BuildError> {
    let bug = |e: &dyn std::fmt::Display| BuildError::Daemon {
        call: "llb",
        message: format!("{e} (a bug in scratchc; please report it)"),
    };
    let mut all = serde_json::Map::new();
    for t in targets {
        let def = <crate::proto::pb::Definition as prost::Message>::decode(t.definition.as_slice())
            .map_err(|e| bug(&e))?;
        all.insert(
            t.platform.id(),
            llb::json::to_value(&def).map_err(|e| bug(&e))?,
        );
    }
    let mut text = serde_json::to_string_pretty(&all).map_err(|e| bug(&e))?;
    text.push('\n');
    Ok(text)
}
