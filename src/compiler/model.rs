//! The checked model: what the checker produces and the lowering consumes.
//! Templates are already applied, parameters and build arguments already
//! substituted, defaults filled in. Only the per-platform variables
//! (`${TARGETOS}`, `${TARGETARCH}`, `${TARGETVARIANT}`, `${TARGETPLATFORM}`,
//! `${BUILDOS}`, `${BUILDARCH}`, `${BUILDPLATFORM}`) may remain in the build
//! environment and commands; lowering expands them per target.
//!
//! Lists keep the order the user wrote them in, except where the output
//! format is a map (env and labels keep first-definition order with later
//! definitions replacing values); the lowering sorts where BuildKit or the
//! OCI config want maps.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::platform::Platform;
use super::span::{Span, Spanned};

/// Every app of a file, in file order.
#[derive(Default, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Program {
    pub apps: Vec<App>,
}

impl Program {
    pub fn app(&self, name: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.name.node == name)
    }

    /// The context files whose presence changes the lowering: the plain
    /// paths of every dependency step. Drivers look them up in the context
    /// (a directory, or the client's files through the gateway) and pass
    /// the missing ones as `LowerOptions::absent_files`.
    pub fn context_probes(&self) -> BTreeSet<String> {
        self.apps
            .iter()
            .filter_map(|a| match &a.build {
                Build::Compile(c) => c.deps.as_ref(),
                Build::Prebuilt { .. } => None,
            })
            .flat_map(Deps::probes)
            .map(str::to_string)
            .collect()
    }
}

/// One app: one binary, one image per target platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct App {
    pub name: Spanned<String>,
    /// The span of the whole `app NAME ... { }` block header line.
    pub span: Span,
    /// Template chain applied, nearest first (e.g. `["acme-go", "go"]`).
    pub templates: Vec<String>,
    pub build: Build,
    /// Target platforms, never empty after checking (defaults to the build
    /// platform), no duplicates, in the order written.
    pub platforms: Vec<Spanned<Platform>>,
    pub image: Image,
    /// Build arguments declared by the app or its templates, with the value
    /// in force (the `--build-arg` one, else the default).
    pub build_args: BTreeMap<String, String>,
    /// Whether its images get an SBOM attestation (`sbom`, on by default;
    /// `--sbom` overrides it). Never read by the lowering: the SBOM is
    /// made from the built image, beside it. Left out of the JSON when on.
    #[serde(skip_serializing_if = "is_true")]
    pub sbom: bool,
    /// What only a cluster needs (`kubernetes { ... }`). Never read by the
    /// lowering: it changes no image. Left out of the JSON when empty.
    #[serde(skip_serializing_if = "Kubernetes::is_empty")]
    pub kubernetes: Kubernetes,
    /// `strict`: the build's runtime-need warnings are errors. Never read
    /// by the lowering.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    /// Every yes/no setting in force: the built-in bool keys (`certs`,
    /// `tmp`, ...) and the bool parameters of the app's templates
    /// (`tzdata` of the go template). The build reads it to tell which
    /// needs the user turned down on purpose and which word meets a need;
    /// the lowering never does.
    #[serde(skip)]
    pub switches: BTreeMap<String, Switch>,
}

/// A yes/no setting of an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switch {
    pub on: bool,
    /// The statement in the app's own block that sets it, when there is
    /// one: the user's own decision, not a template's default.
    pub by_app: Option<Span>,
}

impl App {
    /// Whether the app's own block turns `word` off (`certs false`): the
    /// user decided against it.
    pub fn declines(&self, word: &str) -> Option<Span> {
        self.switches
            .get(word)
            .filter(|s| !s.on)
            .and_then(|s| s.by_app)
    }
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The settings of the `kubernetes` sections along the app's chain, merged
/// like any key (the nearest `replicas` wins, `requests`/`limits` merge by
/// resource name, a probe replaces a farther one of the same kind).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Kubernetes {
    pub replicas: Option<Spanned<u32>>,
    /// Resource name (`cpu`, `memory`, `ephemeral-storage`) to quantity,
    /// as written (`100m`, `64Mi`), checked to parse as a quantity.
    pub requests: Vec<Spanned<(String, String)>>,
    pub limits: Vec<Spanned<(String, String)>>,
    /// At most one per kind, each on a declared TCP port of the app.
    pub probes: Vec<Spanned<Probe>>,
}

impl Kubernetes {
    pub fn is_empty(&self) -> bool {
        self == &Kubernetes::default()
    }
}

/// A container probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub kind: ProbeKind,
    pub action: ProbeAction,
    /// A TCP port the app declares with `port`.
    pub port: u16,
    /// `initialDelaySeconds`, `periodSeconds`, `timeoutSeconds`,
    /// `failureThreshold`; `None`: the cluster's default.
    pub delay: Option<u32>,
    pub period: Option<u32>,
    pub timeout: Option<u32>,
    pub failures: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl ProbeKind {
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Startup => "startup",
        }
    }
}

/// How a probe asks the app whether it is well.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ProbeAction {
    /// An HTTP GET of `path` (absolute); any 2xx or 3xx is success.
    Http { path: String },
    /// A TCP connection that opens.
    Tcp,
    /// The gRPC health checking protocol, for `service` (empty: the server).
    Grpc { service: Option<String> },
}

/// Where the app's binary comes from.
// One per app, never in a hot collection: boxing `Compile` would buy
// nothing and make every match on it noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Build {
    /// Compiled in a builder image (the Go template and friends).
    Compile(Compile),
    /// A binary already in the build context (`binary-from PATH`).
    Prebuilt { src: Spanned<String> },
}

/// A compile in a builder image, on the build platform, cross-compiling for
/// the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Compile {
    pub builder: Spanned<ImageRef>,
    /// Absolute path where the build context is mounted (`build-dir`).
    pub dir: String,
    /// Environment for the dependency and build steps, on top of the
    /// builder image's own (`build-env`). Values may hold platform vars.
    pub env: Vec<Spanned<(String, String)>>,
    /// Cache mounts shared by the dependency and build steps (`cache`).
    pub caches: Vec<Spanned<CacheMount>>,
    /// The dependency layer: only these context files, then `run`.
    pub deps: Option<Deps>,
    /// The build command (`build-run`), as exec args (no shell). It must
    /// write the binary to `out`.
    pub run: Spanned<Vec<String>>,
    /// Absolute path of the binary the build writes (`${OUT}`), in a
    /// scratch mount of its own (`/out/<name>`).
    pub out: String,
}

/// The dependency step: copy only `files` from the context (missing ones are
/// skipped), run `run`; its result is cached until those files change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deps {
    pub files: Spanned<Vec<String>>,
    pub run: Spanned<Vec<String>>,
}

impl Deps {
    /// The files that are plain paths; patterns (`*.mod`, `!x`) can't be
    /// looked up and never leave the step out.
    pub fn probes(&self) -> impl Iterator<Item = &str> {
        self.files
            .node
            .iter()
            .map(String::as_str)
            .filter(|f| !f.starts_with('!') && !f.contains(['*', '?', '[', '\\']))
    }

    /// Whether the step runs, given the context files known to be absent:
    /// only when all its files are there. The step is a cache layer, never
    /// needed for the build to work, and a file it names being absent means
    /// there is nothing to fetch (a Go module without `go.sum` has no
    /// dependencies); leaving it out saves a container start.
    pub fn runs(&self, absent: &BTreeSet<String>) -> bool {
        self.probes().all(|f| !absent.contains(f))
    }
}

/// A BuildKit cache mount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CacheMount {
    pub path: String,
    pub id: String,
    pub sharing: Sharing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

pub use crate::image_ref::ImageRef;

/// The final image: a scratch filesystem and its OCI config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Image {
    /// Absolute path of the binary in the image (default `/usr/bin/<name>`).
    pub binary: Spanned<String>,
    /// CA bundle copied from the builder, when `certs` is on.
    pub certs: Option<Spanned<BuilderFile>>,
    /// `/etc/mime.types` copied from the builder, when `mime-types` is on.
    pub mime_types: Option<Spanned<BuilderFile>>,
    /// A writable `/tmp` (mode 1777, root's, empty), when `tmp` is on: the
    /// statement that turns it on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmp: Option<Span>,
    /// `/etc/passwd` and `/etc/group` naming the image user, and its home
    /// directory, when `passwd` is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passwd: Option<Spanned<Passwd>>,
    /// The builder's time zone database copied to `/usr/share/zoneinfo`,
    /// when `zoneinfo` is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<Spanned<BuilderFile>>,
    /// Extra files from the build context.
    pub files: Vec<Spanned<ExtraFile>>,
    pub ports: Vec<Spanned<Port>>,
    /// Absolute paths.
    pub volumes: Vec<Spanned<String>>,
    /// Absolute path.
    pub workdir: Option<Spanned<String>>,
    pub user: Spanned<User>,
    /// Never empty (defaults to `[binary]`).
    pub entrypoint: Spanned<Vec<String>>,
    pub cmd: Option<Spanned<Vec<String>>>,
    /// Runtime environment, `KEY=VALUE` order as written.
    pub env: Vec<Spanned<(String, String)>>,
    pub labels: Vec<Spanned<(String, String)>>,
}

/// A file taken from the builder image into the final image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BuilderFile {
    /// Path in the builder image.
    pub src: String,
    /// Path in the final image.
    pub dest: String,
}

/// The user database of the image: the image user alone, so
/// `user.Current()` and friends find it, and a home directory it owns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Passwd {
    /// The user's name, and its group's unless that is root's.
    pub name: String,
}

impl Passwd {
    /// The name without `passwd NAME`: `root` for uid 0, else `nonroot`
    /// (distroless's and ko's name for 65532).
    pub fn default_name(user: User) -> &'static str {
        if user.uid == 0 { "root" } else { "nonroot" }
    }

    /// The home directory: `/root` for uid 0, else `/home/<name>`.
    pub fn home(&self, user: User) -> String {
        if user.uid == 0 {
            "/root".to_string()
        } else {
            format!("/home/{}", self.name)
        }
    }

    /// `/etc/passwd`: one line, the image user. The gid is the image's
    /// (0 when `user` gives none, what the runtime uses then too), so
    /// the file changes no id the process runs with.
    pub fn passwd_file(&self, user: User) -> String {
        let gid = user.gid.unwrap_or(0);
        format!(
            "{n}:x:{uid}:{gid}:{n}:{home}:/sbin/nologin\n",
            n = self.name,
            uid = user.uid,
            home = self.home(user)
        )
    }

    /// `/etc/group`: one line, the user's group (`root` for gid 0).
    pub fn group_file(&self, user: User) -> String {
        let gid = user.gid.unwrap_or(0);
        let name = if gid == 0 { "root" } else { self.name.as_str() };
        format!("{name}:x:{gid}:\n")
    }
}

/// A file or directory from the build context, placed at `dest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExtraFile {
    /// Relative to the context root, `/`-separated, no `..`.
    pub src: String,
    /// Absolute path in the image.
    pub dest: String,
    /// Permission bits (e.g. 0o644).
    pub mode: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Port {
    pub number: u16,
    pub proto: Proto,
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.proto)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        })
    }
}

/// A numeric user: a scratch image has no /etc/passwd to look names up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub uid: u32,
    pub gid: Option<u32>,
}

impl User {
    /// The default: 65532:65532, the "nonroot" id of distroless, ko and apko.
    pub const NONROOT: User = User {
        uid: 65532,
        gid: Some(65532),
    };
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.uid)?;
        if let Some(g) = self.gid {
            write!(f, ":{g}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(files: &[&str]) -> Deps {
        let s = Span::default();
        Deps {
            files: Spanned::new(files.iter().map(|f| f.to_string()).collect(), s),
            run: Spanned::new(vec!["true".into()], s),
        }
    }

    #[test]
    fn a_deps_step_runs_when_its_files_are_there() {
        let absent = BTreeSet::from(["go.sum".to_string()]);
        assert!(!deps(&["go.mod", "go.sum"]).runs(&absent));
        assert!(deps(&["go.mod"]).runs(&absent));
        assert!(deps(&["go.mod", "go.sum"]).runs(&BTreeSet::new()));
        // Patterns are never looked up, so never leave the step out.
        let d = deps(&["*.sum", "!go.sum", "go.[s]um"]);
        assert_eq!(d.probes().count(), 0);
        assert!(d.runs(&absent));
    }
}
