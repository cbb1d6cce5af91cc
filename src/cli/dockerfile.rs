//! `scratchc dockerfile`: print the equivalent Dockerfile of the file's
//! apps (a stage per app) for review and migration, build arguments kept
//! as `ARG`s where a Dockerfile can expand them.
//!
//! Where an argument lands is found by checking the program again with
//! each argument set to its marker ([`dockerfile::marker`]). That is only
//! trusted when it changes nothing else: the Dockerfile rendered from the
//! marked program with every marker written as its value must be the
//! very text rendered from the real program (a `${V#v}` strip, or a value
//! the checker reads, such as a port, would differ or fail). An argument
//! that fails this on its own, or lands where a Dockerfile cannot expand
//! it, is written as its value.

use std::collections::{BTreeMap, BTreeSet};

use crate::build::Plan;
use crate::compiler::dockerfile::{self, Args, Rendered};
use crate::compiler::model::App;

use super::llb::plan;
use super::{DockerfileArgs, Failure};

pub fn run(args: &DockerfileArgs) -> Result<(), Failure> {
    // The same plan as `scratchc llb`: imports, and builders pinned by
    // scratch.lock, so the Dockerfile's FROM names the locked digest.
    let plan = plan(&args.file, &args.compile, None)?;
    let names: Vec<String> = match &args.app {
        Some(n) => vec![plan.app(n)?.name.node.clone()],
        None => plan
            .program
            .apps
            .iter()
            .map(|a| a.name.node.clone())
            .collect(),
    };
    let text = render(&plan, &names);
    super::write_stdout(text.as_bytes())
}

/// The Dockerfile of the apps `names` of `plan`.
fn render(plan: &Plan, names: &[String]) -> String {
    let pick = |p: &Plan| -> Vec<App> {
        names
            .iter()
            .filter_map(|n| p.program.app(n).cloned())
            .collect()
    };
    let real = pick(plan);
    let values: BTreeMap<String, String> = real.iter().flat_map(|a| a.build_args.clone()).collect();
    // One global `ARG` holds one default: an argument whose value differs
    // between the apps is written as each app's value.
    let differs: BTreeSet<String> = values
        .iter()
        .filter(|(n, v)| {
            real.iter()
                .any(|a| a.build_args.get(*n).is_some_and(|x| x != *v))
        })
        .map(|(n, _)| n.clone())
        .collect();
    let file = plan.settings.file.clone();
    let baked_all = |apps: &[App]| {
        let refs: Vec<&App> = apps.iter().collect();
        dockerfile::render(
            &refs,
            &Args {
                values: values.clone(),
                live: BTreeSet::new(),
                present: plan.present.clone(),
                absent: plan.absent.clone(),
            },
            &file,
        )
        .text
    };
    let expected = baked_all(&real);
    // The marked program for `marked`, when it is faithful.
    let faithful = |marked: &BTreeSet<String>| -> Option<Vec<App>> {
        let build_args = values
            .iter()
            .map(|(n, v)| {
                let value = if marked.contains(n) {
                    dockerfile::marker(n)
                } else {
                    v.clone()
                };
                (n.clone(), value)
            })
            .collect();
        let apps = pick(&plan.with_build_args(build_args).ok()?);
        (apps.len() == real.len() && baked_all(&apps) == expected).then_some(apps)
    };
    let all: BTreeSet<String> = values
        .keys()
        .filter(|n| !differs.contains(*n))
        .cloned()
        .collect();
    let (mut live, marked_apps) = match faithful(&all) {
        Some(apps) => (all, apps),
        None => {
            let alone: BTreeSet<String> = all
                .iter()
                .filter(|n| faithful(&BTreeSet::from([(*n).clone()])).is_some())
                .cloned()
                .collect();
            match faithful(&alone) {
                Some(apps) => (alone, apps),
                None => (BTreeSet::new(), real.clone()),
            }
        }
    };
    // Arguments a Dockerfile cannot expand where they land are written as
    // their values; each pass only removes, so this ends.
    let refs: Vec<&App> = marked_apps.iter().collect();
    loop {
        let Rendered { text, baked } = dockerfile::render(
            &refs,
            &Args {
                values: values.clone(),
                live: live.clone(),
                present: plan.present.clone(),
                absent: plan.absent.clone(),
            },
            &file,
        );
        if baked.is_empty() {
            return text;
        }
        live.retain(|n| !baked.contains(n));
    }
}
