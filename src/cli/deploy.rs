//! What `scratchc k8s` and `scratchc compose` share: their options, reading
//! and checking the file, picking the apps and the image each runs from,
//! and printing the YAML with the generator's warnings.

use std::path::PathBuf;

use crate::client::errors::{BuildError, UsageError};
use crate::compiler::check::values;
use crate::compiler::model;
use crate::deploy::{self, Output, Target};

use super::{CompileArgs, Failure};

/// Options of `scratchc k8s` and `scratchc compose`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The app.scratch file (a directory: its app.scratch; -: the
    /// standard input, imports from the current directory).
    #[arg(value_name = "FILE", default_value = "app.scratch", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// Only this app (default: every app of the file).
    #[arg(long, value_name = "NAME", add = super::complete::apps())]
    pub app: Option<String>,
    /// The image to run (a tag or NAME@sha256:DIGEST). Default:
    /// `<app>:latest`, the name `scratchc build` loads an app under without
    /// -t. With several apps, pick one with --app.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    #[command(flatten)]
    pub compile: CompileArgs,
}

/// The checked apps to deploy, with the file's name for the header.
pub(super) struct Chosen {
    pub apps: Vec<model::App>,
    pub images: Vec<String>,
    pub source: String,
    /// The file and its imports, for diagnostics.
    pub sources: crate::compiler::Sources,
}

impl Chosen {
    pub fn targets(&self) -> Vec<Target<'_>> {
        self.apps
            .iter()
            .zip(&self.images)
            .map(|(app, image)| Target { app, image })
            .collect()
    }
}

/// The image reference an app runs from: `--image` when given, else
/// [`deploy::default_image`], the name `scratchc build` loads the app
/// under when no `-t` is given. Every verb that needs an app's image asks
/// here, so a record of what was built last fits in one place, between the
/// two.
pub(super) fn image_for(app: &str, given: Option<&str>) -> String {
    match given {
        Some(image) => image.to_string(),
        None => deploy::default_image(app),
    }
}

/// Reads and checks the file as `scratchc llb` does (imports, the lock's
/// pins), and picks the apps (`--app`, else all) and their images.
pub(super) fn choose(args: &DeployArgs) -> Result<Chosen, BuildError> {
    if let Some(image) = &args.image {
        values::image_ref(image).map_err(|b| {
            UsageError::new(format!("--image `{image}`: {}", b.message)).help(b.help)
        })?;
    }
    let plan = super::llb::plan(&args.file, &args.compile, None)?;
    let apps: Vec<model::App> = match &args.app {
        Some(name) => vec![plan.app(name)?.clone()],
        None => plan.program.apps.clone(),
    };
    if args.image.is_some() && apps.len() > 1 {
        let names: Vec<&str> = apps.iter().map(|a| a.name.node.as_str()).collect();
        return Err(UsageError::new(format!(
            "--image names one image, and {} has several apps ({})",
            args.file.display(),
            names.join(", ")
        ))
        .help("pick one with --app NAME")
        .into());
    }
    let images = apps
        .iter()
        .map(|a| image_for(&a.name.node, args.image.as_deref()))
        .collect();
    Ok(Chosen {
        apps,
        images,
        source: args.file.display().to_string(),
        sources: plan.sources,
    })
}

/// Prints the warnings on stderr and the YAML on stdout.
pub(super) fn print(out: &Output) -> Result<(), Failure> {
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    super::write_stdout(out.yaml.as_bytes())
}
