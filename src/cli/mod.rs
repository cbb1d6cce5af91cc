//! The command line: argument parsing and dispatch. Each verb lives in a
//! file of its own and is the only place that does its IO.

mod build;
mod check;
mod compose;
mod deploy;
mod dockerfile;
mod fmt;
mod frontend;
mod k8s;
mod llb;
pub mod load;
mod lock;
mod unchanged;
mod verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::client::errors::{BuildError, exit};

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
#[derive(Debug, Args, Clone, Default)]
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
    /// The build context (default: the app file's directory). When the app
    /// file lies inside it, its imports may reach anywhere in it (a
    /// monorepo's shared templates), as `docker buildx build -f FILE DIR`.
    #[arg(long = "context", value_name = "DIR")]
    pub context: Option<PathBuf>,
}

/// Options shared by the verbs that talk to a daemon.
#[derive(Debug, Args, Clone, Default)]
pub struct DaemonArgs {
    /// The daemon: unix:///run/buildkit/buildkitd.sock, tcp://HOST:PORT,
    /// docker+unix:///var/run/docker.sock, docker+tcp://HOST:PORT. Default:
    /// $BUILDKIT_HOST, $DOCKER_HOST, buildkitd's socket, Docker's socket.
    #[arg(long, value_name = "ADDRESS")]
    pub addr: Option<String>,
    /// CA certificate for a TLS daemon.
    #[arg(long, value_name = "FILE")]
    pub tlscacert: Option<PathBuf>,
    /// Client certificate for a TLS daemon.
    #[arg(long, value_name = "FILE")]
    pub tlscert: Option<PathBuf>,
    /// Client key for a TLS daemon.
    #[arg(long, value_name = "FILE")]
    pub tlskey: Option<PathBuf>,
}

impl DaemonArgs {
    /// The daemon these flags (and the environment) name.
    pub fn endpoint(&self) -> Result<crate::client::Endpoint, BuildError> {
        let tls = crate::client::TlsFiles {
            ca: self.tlscacert.clone(),
            cert: self.tlscert.clone(),
            key: self.tlskey.clone(),
        };
        Ok(crate::client::resolve(self.addr.as_deref(), &tls)?)
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to check (a directory: its app.scratch).
    #[arg(value_name = "FILE", default_value = "app.scratch")]
    pub files: Vec<PathBuf>,
    /// The build context, as for `scratchc build --context`.
    #[arg(long = "context", value_name = "DIR")]
    pub context: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Files to format (a directory: its app.scratch).
    #[arg(value_name = "FILE", default_value = "app.scratch")]
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
    /// The app.scratch file (a directory: its app.scratch).
    #[arg(value_name = "FILE", default_value = "app.scratch")]
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
    /// The app.scratch file (a directory: its app.scratch).
    #[arg(value_name = "FILE", default_value = "app.scratch")]
    pub file: PathBuf,
    /// The app to print, when the file has several.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    #[command(flatten)]
    pub compile: CompileArgs,
}

/// How a verb that did not succeed ends.
#[derive(Debug)]
pub enum Failure {
    /// The verb printed its own report (a stale lock, a build that is not
    /// reproducible, files not formatted); exit with this code.
    Reported(u8),
    /// An error to print once, with its exit code.
    Error(BuildError),
}

impl<E: Into<BuildError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Error(e.into())
    }
}

/// Parses the command line and runs the verb. Every failure is printed
/// here, once, and exits with the code of its kind (docs/client.md, "Exit
/// codes").
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Fmt(a) => fmt::run(&a),
        Command::Llb(a) => llb::run(&a),
        Command::Dockerfile(a) => dockerfile::run(&a),
        Command::Build(a) => build::run(&a),
        Command::K8s(a) => k8s::run(&a),
        Command::Compose(a) => compose::run(&a),
        Command::Lock(a) => lock::run(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Frontend => return frontend::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Reported(code)) => ExitCode::from(code),
        Err(Failure::Error(e)) => {
            eprint!("{}", render(&e, std::io::stderr().is_terminal()));
            ExitCode::from(e.exit_code())
        }
    }
}

/// An error as the terminal shows it: diagnostics and failed steps as
/// miette reports (coloured on a terminal), anything else as one line with
/// its help.
pub fn render(e: &BuildError, color: bool) -> String {
    match e {
        BuildError::Diagnostics { diags, sources } => check::render(diags, sources, color),
        BuildError::Step(f) => f.render(color),
        BuildError::Unsupported { what, help } => format!("error: {what}\n  help: {help}\n"),
        BuildError::Cancelled => "\ninterrupted: the build was cancelled\n".to_string(),
        other => format!("error: {other}\n"),
    }
}

/// The async runtime of the verbs that talk to a daemon.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    crate::client::runtime().map_err(|e| {
        Failure::Error(BuildError::Daemon {
            call: "runtime",
            message: format!("cannot start the async runtime: {e}"),
        })
    })
}

/// Writes a verb's output; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(BuildError::Input(crate::client::errors::InputError {
                action: "write to",
                path: "stdout".into(),
                source: e,
            })
            .into())
        }
        _ => Ok(()),
    }
}

/// Exit code of a verb's own "no" (a lock to refresh, a difference found).
const NO: Failure = Failure::Reported(exit::FAILED);
