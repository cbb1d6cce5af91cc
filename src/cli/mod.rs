//! The command line: argument parsing and dispatch. Each verb lives in a
//! file of its own and is the only place that does its IO.

mod build;
mod check;
mod compose;
mod deploy;
mod dockerfile;
mod fmt;
mod frontend;
pub mod inputs;
mod k8s;
mod llb;
pub mod load;
mod lock;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Build small, safe container images from a declarative `app.scratch`.
///
/// scratchc compiles an `app.scratch` file to a BuildKit LLB graph: a
/// static build in a builder image, then a final image `FROM scratch` that
/// holds the binary and only what the file asks for. `scratchc build` runs
/// it on a BuildKit daemon (standalone buildkitd or the Docker Engine's).
#[derive(Debug, Parser)]
#[command(
    name = "scratchc",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files for errors without building.
    ///
    /// Parses and checks each FILE (and the templates it imports) and
    /// prints every error found, with its code, location and a hint. Exits 0
    /// when all files are clean, 1 otherwise.
    Check(CheckArgs),
    /// Format files in the canonical style.
    ///
    /// Rewrites each FILE in place (comments kept). With --check, writes
    /// nothing and exits 1 if any file is not formatted.
    Fmt(FmtArgs),
    /// Print the BuildKit LLB definition of an app for one platform.
    ///
    /// `--format pb` writes the binary pb.Definition (what `buildctl build`
    /// reads on stdin); `--format json` a readable dump with op digests.
    Llb(LlbArgs),
    /// Print the equivalent multi-stage Dockerfile of an app.
    ///
    /// For review and migration: the Dockerfile builds the same image as
    /// `scratchc build` for the first target platform.
    Dockerfile(DockerfileArgs),
    /// Build images on a BuildKit daemon.
    Build(Box<build::BuildArgs>),
    /// Print Kubernetes manifests that run the app(s).
    ///
    /// A Deployment per app, and a Service when it has ports, with the
    /// restricted Pod Security Standard's security context: the image's
    /// non-root user, a read-only root, writable emptyDirs for its volumes
    /// and /tmp, no capabilities, no privilege escalation. The
    /// `kubernetes { }` section adds replicas, resources and probes.
    K8s(deploy::DeployArgs),
    /// Print a Compose file that runs the app(s).
    ///
    /// A service per app with the settings of `scratchc k8s`: its user, a
    /// read-only root, a tmpfs at /tmp, named volumes, no capabilities, no
    /// new privileges, its ports, environment and command. It runs the
    /// image `scratchc build` loaded (pull_policy: never).
    Compose(deploy::DeployArgs),
    /// Pin builder images and templates in `scratch.lock`.
    ///
    /// Resolves every builder image of the file on the daemon and writes
    /// their digests and configs, and the digests of the templates used,
    /// to `scratch.lock` next to the file. `scratchc build` then uses the
    /// locked digests and refuses a stale lock.
    Lock(Box<lock::LockArgs>),
    /// Build twice without cache and compare every digest produced.
    ///
    /// Proves the build is bit-for-bit reproducible; prints the first
    /// difference if there is one and exits 1.
    Verify(Box<verify::VerifyArgs>),
    /// Run as a BuildKit gateway frontend (used inside the frontend image).
    #[command(hide = true)]
    Frontend,
}

/// Options shared by the verbs that compile a file.
#[derive(Debug, Args, Clone)]
pub struct CompileArgs {
    /// Set a build argument declared with `build-arg` (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Target platform(s), overriding the file's `platforms` (repeatable or
    /// comma separated), e.g. linux/arm64.
    #[arg(
        long = "platform",
        value_name = "OS/ARCH[/VARIANT]",
        value_delimiter = ','
    )]
    pub platforms: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Files to format.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Do not write; exit 1 and name the files that would change.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LlbFormat {
    /// Binary pb.Definition.
    Pb,
    /// Readable JSON with op digests.
    Json,
}

#[derive(Debug, Args)]
pub struct LlbArgs {
    /// The app.scratch file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The app to lower, when the file has several.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: LlbFormat,
    /// The `local.unique` of the context sources, as a build sets it (the
    /// frontend reports its value in `frontend.scratchc.local.unique`), to
    /// print exactly the definition that build solved.
    #[arg(long, value_name = "ID", hide = true)]
    pub local_unique: Option<String>,
}

#[derive(Debug, Args)]
pub struct DockerfileArgs {
    /// The app.scratch file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The app to print, when the file has several.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    #[command(flatten)]
    pub compile: CompileArgs,
}

/// Parses the command line and runs the verb.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Fmt(a) => fmt::run(&a),
        Command::Llb(a) => llb::run(&a),
        Command::Dockerfile(a) => dockerfile::run(&a),
        Command::Build(a) => build::run(*a),
        Command::K8s(a) => k8s::run(&a),
        Command::Compose(a) => compose::run(&a),
        Command::Lock(a) => lock::run(*a),
        Command::Verify(a) => verify::run(*a),
        Command::Frontend => frontend::run(),
    }
}
