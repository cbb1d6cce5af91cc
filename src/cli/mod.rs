//! The command line: argument parsing and dispatch. Each verb lives in a
//! file of its own and is the only place that does its IO.

mod build;
mod check;
mod complete;
mod compose;
mod deploy;
mod dockerfile;
mod fmt;
mod frontend;
mod init;
mod k8s;
mod llb;
pub mod load;
mod lock;
mod man;
mod needs;
mod sbom;
mod unchanged;
mod verify;
pub mod version;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::client::errors::{BuildError, UsageError, exit};

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
    /// Write an app.scratch for the Go module in DIR.
    ///
    /// Reads DIR/go.mod, finds the module's main packages (a `package main`
    /// with a `func main`; vendor/, testdata/ and directories starting with
    /// `_` or `.` are skipped) and writes DIR/app.scratch with one app per
    /// main package, named after its directory, and what the code needs at
    /// runtime as far as its imports tell (CA certificates, the MIME
    /// table). Never overwrites a file; --print writes to stdout instead.
    Init(init::InitArgs),
    /// Check files for errors without building.
    ///
    /// Parses and checks each FILE (and the templates it imports) and
    /// prints every error found, with its code, location and a hint. Exits 0
    /// when all files are clean, 1 otherwise.
    Check(CheckArgs),
    /// Format files in the canonical style.
    ///
    /// Rewrites each FILE in place (comments kept). With --check, writes
    /// nothing and exits 1 if any file is not formatted. `-` formats the
    /// standard input to the standard output.
    Fmt(FmtArgs),
    /// Print the BuildKit LLB definitions of an app, one per platform.
    ///
    /// `--format json` (the default) prints one readable dump with op
    /// digests per platform, keyed by platform; `--format pb` writes the
    /// binary pb.Definition (what `buildctl build` reads on stdin) of one
    /// platform, so a file with several needs --platform to pick one.
    Llb(LlbArgs),
    /// Print the equivalent multi-stage Dockerfile of the app(s).
    ///
    /// For review and migration: `docker buildx build` on it builds the
    /// image `scratchc build` builds, for every platform of the file. Build
    /// arguments stay `ARG`s with their defaults. A file with several apps
    /// gives one Dockerfile with a stage per app, picked with `--target
    /// APP`.
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
    /// Print the SBOM attached to a built image.
    ///
    /// Reads the SPDX document `scratchc build` (or the frontend) attached
    /// to the image, from the Docker Engine, a registry, an OCI layout or
    /// tarball, or a `local`/`tar` output, and prints it (or the packages
    /// it lists, or the whole in-toto statement).
    Sbom(Box<sbom::SbomArgs>),
    /// Print the shell completion script for SHELL.
    ///
    /// The script asks scratchc itself what to complete (verbs, flags, and
    /// the app names of the file on the command line for --app), so it
    /// never goes stale. Load it with e.g. `source <(scratchc completions
    /// bash)`; scripts/setup.sh installs it for bash, zsh and fish.
    Completions(complete::CompletionsArgs),
    /// Print the manual page of scratchc or of one of its verbs (roff).
    ///
    /// `scratchc man | man -l -` shows it; `--dir DIR` writes every page
    /// (scratchc.1, scratchc-build.1, ...) into DIR.
    Man(man::ManArgs),
    /// Run as a BuildKit gateway frontend (used inside the frontend image).
    #[command(hide = true)]
    Frontend,
}

/// Options shared by the verbs that compile a file.
#[derive(Debug, Args, Clone, Default)]
pub struct CompileArgs {
    /// Set a build argument declared with `build-arg` (repeatable). A NAME
    /// alone takes its value from the environment, as docker does; when
    /// NAME is not set there, it is dropped (the file's default applies)
    /// with a warning.
    #[arg(long = "build-arg", value_name = "NAME[=VALUE]")]
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

impl CompileArgs {
    /// The `--build-arg` values as a map, names alone resolved from the
    /// environment ([`resolve_build_args`]); a dropped name is a warning.
    pub fn build_args(&self) -> Result<BTreeMap<String, String>, UsageError> {
        let (values, dropped) = resolve_build_args(&self.build_args, |n| std::env::var(n).ok());
        for name in dropped {
            eprintln!(
                "warning: --build-arg {name}: {name} is not set in the environment; \
                 it is left out and the file's default applies"
            );
        }
        crate::build::inputs::build_args(&values)
    }
}

/// `--build-arg` values with a bare `NAME` (a valid variable name, no
/// `=`) replaced by `NAME=<its value in the environment>`, as docker's
/// CLI does; names the environment lacks are left out (docker drops them
/// silently) and returned so the caller can say so. Other values pass
/// through for [`crate::build::inputs::build_args`] to check.
pub fn resolve_build_args(
    values: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    let mut dropped = Vec::new();
    for v in values {
        let bare = !v.contains('=')
            && v.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !bare {
            out.push(v.clone());
        } else if let Some(value) = env(v) {
            out.push(format!("{v}={value}"));
        } else {
            dropped.push(v.clone());
        }
    }
    (out, dropped)
}

/// Refuses `-` (the standard input) given twice: the second would read
/// nothing.
fn stdin_at_most_once(files: &[PathBuf]) -> Result<(), UsageError> {
    if files.iter().filter(|f| load::is_stdin(f)).count() > 1 {
        return Err(
            UsageError::new("`-` (the standard input) is given more than once")
                .help("the standard input can be read once: give `-` once"),
        );
    }
    Ok(())
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
    /// Files to check (a directory: its app.scratch; -: the standard
    /// input, imports from the current directory).
    #[arg(value_name = "FILE", default_value = "app.scratch", value_hint = clap::ValueHint::FilePath)]
    pub files: Vec<PathBuf>,
    /// The build context, as for `scratchc build --context`.
    #[arg(long = "context", value_name = "DIR")]
    pub context: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Files to format (a directory: its app.scratch; -: the standard
    /// input to the standard output).
    #[arg(value_name = "FILE", default_value = "app.scratch", value_hint = clap::ValueHint::FilePath)]
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
    /// The app.scratch file (a directory: its app.scratch; -: the
    /// standard input, imports from the current directory).
    #[arg(value_name = "FILE", default_value = "app.scratch", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// The app to lower, when the file has several.
    #[arg(long, value_name = "NAME", add = complete::apps())]
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
    /// The app.scratch file (a directory: its app.scratch; -: the
    /// standard input, imports from the current directory).
    #[arg(value_name = "FILE", default_value = "app.scratch", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// Only this app (default: every app of the file, a stage each).
    #[arg(long, value_name = "NAME", add = complete::apps())]
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
    // `COMPLETE=bash scratchc -- WORDS...`: the completion scripts ask
    // here, before anything else is parsed or printed.
    complete::from_env();
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Init(a) => init::run(&a),
        Command::Completions(a) => complete::run(&a),
        Command::Man(a) => man::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Fmt(a) => fmt::run(&a),
        Command::Llb(a) => llb::run(&a),
        Command::Dockerfile(a) => dockerfile::run(&a),
        Command::Build(a) => build::run(&a),
        Command::K8s(a) => k8s::run(&a),
        Command::Compose(a) => compose::run(&a),
        Command::Lock(a) => lock::run(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Sbom(a) => sbom::run(&a),
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

/// The command line's definition: the derive's, with the long version
/// (commit, frontend image, BuildKit versions tested). Parsing, the
/// completions and the manual pages all start here.
pub fn command() -> clap::Command {
    let v = version::text();
    Cli::command().version(v).long_version(v)
}

/// An error as the terminal shows it: diagnostics and failed steps as
/// miette reports (coloured on a terminal), anything else as one line with
/// its help.
pub fn render(e: &BuildError, color: bool) -> String {
    match e {
        BuildError::Diagnostics { diags, sources } => check::render(diags, sources, color),
        BuildError::Step(f) => f.render(color),
        BuildError::Unsupported { what, help } | BuildError::Precondition { what, help } => {
            format!("error: {what}\n  help: {help}\n")
        }
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
