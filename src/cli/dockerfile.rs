//! `scratchc dockerfile`: print the equivalent multi-stage Dockerfile of
//! one app (for review and migration).

use crate::compiler::dockerfile;

use super::llb::{one_app, plan};
use super::{DockerfileArgs, Failure};

pub fn run(args: &DockerfileArgs) -> Result<(), Failure> {
    // The same plan as `scratchc llb`: imports, and builders pinned by
    // scratch.lock, so the Dockerfile's FROM names the locked digest.
    let plan = plan(&args.file, &args.compile, None)?;
    let app = one_app(&plan, args.app.as_deref())?;
    let platform = plan.settings.platforms.first();
    let lower = plan.lower_options(app, std::collections::BTreeMap::new());
    let text = dockerfile::render(app, platform, &lower);
    super::write_stdout(text.as_bytes())
}
