//! What `scratchc k8s` and `scratchc compose` share: their options, reading
//! and checking the file, picking the apps and the image each runs from,
//! and printing the YAML with the generator's warnings.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::compiler::check::values;
use crate::compiler::{self, model};
use crate::deploy::{self, Output, Target};

use super::{CompileArgs, inputs, load};

/// Options of `scratchc k8s` and `scratchc compose`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The app.scratch file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only this app (default: every app of the file).
    #[arg(long, value_name = "NAME")]
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

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
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

/// Reads and checks the file, and picks the apps (`--app`, else all) and
/// their images. On failure prints why and gives the exit code (1: errors
/// in the file, 2: bad command line or unreadable file).
pub(super) fn choose(args: &DeployArgs) -> Result<Chosen, ExitCode> {
    let context = inputs::Context::read(&args.file).map_err(|e| usage_error(&e.to_string()))?;
    let build_platform = context
        .build_platform(super::llb::host_platform())
        .map_err(|e| usage_error(&e))?;
    let options = inputs::options(
        &args.compile.build_args,
        &args.compile.platforms,
        build_platform,
    )
    .map_err(|e| usage_error(&e))?;
    if let Some(image) = &args.image {
        values::image_ref(image)
            .map_err(|b| usage_error(&format!("--image {image}: {}; {}", b.message, b.help)))?;
    }
    let sources = load::load(&args.file).map_err(|e| usage_error(&e.to_string()))?;
    let program = match compiler::check(&sources, &options) {
        Ok(p) => p,
        Err(diags) => {
            eprint!("{}", super::check::render(&diags, &sources));
            return Err(ExitCode::FAILURE);
        }
    };
    let apps: Vec<model::App> = match &args.app {
        Some(name) => match program.app(name) {
            Some(a) => vec![a.clone()],
            None => {
                let d = compiler::check::unknown_app(&program, name);
                eprint!("{}", super::check::render(&[d], &sources));
                return Err(ExitCode::FAILURE);
            }
        },
        None => program.apps,
    };
    if args.image.is_some() && apps.len() > 1 {
        let names: Vec<&str> = apps.iter().map(|a| a.name.node.as_str()).collect();
        return Err(usage_error(&format!(
            "--image names one image, and {} has several apps; pick one with --app NAME (apps: {})",
            args.file.display(),
            names.join(", ")
        )));
    }
    let images = apps
        .iter()
        .map(|a| image_for(&a.name.node, args.image.as_deref()))
        .collect();
    Ok(Chosen {
        apps,
        images,
        source: args.file.display().to_string(),
    })
}

/// Prints the warnings on stderr and the YAML on stdout.
pub(super) fn print(out: &Output) -> ExitCode {
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.yaml.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
