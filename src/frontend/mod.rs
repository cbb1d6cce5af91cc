//! The BuildKit gateway frontend: `# syntax=scratchc/frontend:0.1` as the
//! first line of an app.scratch makes `docker buildx build -f app.scratch .`
//! run this code inside the daemon, with no scratchc on the user's side.
//!
//! BuildKit starts the frontend image's entrypoint with the build options in
//! `BUILDKIT_FRONTEND_OPT_<i>` variables and the LLBBridge gRPC service on
//! stdin/stdout ([`stdio`]). The build itself is [`crate::build`], the very
//! code `scratchc build` runs; this module supplies the frontend's IO:
//! - the files come from the client's locals ([`Locals`]: the app file and
//!   its imports from the `dockerfile` local, `.dockerignore` and the
//!   dependency files looked up in the `context` local);
//! - a subrequest (`--print`, `--call`) is answered from the checked plan;
//! - the outcome goes back with `Return`: the image result, or an error
//!   whose details point buildx at the offending lines of app.scratch.
//!
//! Besides the usual result metadata, the result records the SHA-256 of
//! each definition it solved and the `local.unique` of its context sources
//! (the client session id, so concurrent builds of other trees are never
//! merged) under `frontend.scratchc.*` keys
//! ([`crate::build::run::DEFINITION_DIGEST_KEY`]). BuildKit copies them
//! into the build's exporter response, which is how tests compare the
//! definition with `scratchc llb --format pb --local-unique ID`.

pub mod errors;
pub mod local;
pub mod opts;
pub mod stdio;
pub mod subrequest;

use std::collections::{BTreeMap, BTreeSet};

use crate::build::{self, Found, NoCache, Plan, Reader, ResolveMode, Settings};
use crate::client::buildkit::gateway::{Caps, Gateway};
use crate::client::errors::{BuildError, UsageError};
use crate::client::inputs::{epoch, lock};
use crate::compiler::sources::{MAX_FILE_BYTES, Unreadable};
use crate::platform::Platform;
use crate::proto::google::rpc::Status;
use crate::proto::moby::buildkit::v1::frontend as gw;

pub use opts::{Environment, FrontendOpts, started_by_buildkit};

/// The image name the docs, examples and scripts use.
pub const IMAGE: &str = "scratchc/frontend:0.1";

/// Why the frontend could not even report an outcome to BuildKit.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error(transparent)]
    Opts(#[from] opts::OptsError),
    #[error(transparent)]
    Stdio(#[from] stdio::StdioError),
    #[error("BuildKit did not answer: {0}")]
    Gateway(#[from] BuildError),
}

/// A result to hand back: the ref(s), none for a subrequest's answer, and
/// the metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    pub result: Option<gw::result::Result>,
    pub metadata: BTreeMap<String, Vec<u8>>,
    /// In-toto attestations (the SBOM) per platform id.
    pub attestations: BTreeMap<String, gw::Attestations>,
}

/// The process entry of frontend mode (`scratchc frontend`, or the binary
/// started by BuildKit with no arguments): runs [`run`] on a runtime of its
/// own. The exit code only says whether the outcome reached BuildKit: a
/// failed build is reported through BuildKit and still exits 0, as Go
/// frontends do.
pub fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    let rt = match crate::client::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scratchc frontend: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scratchc frontend: {e}");
            ExitCode::FAILURE
        }
    };
    // Reading stdin parks a blocking thread that only returns when the
    // daemon closes the pipe, and the daemon waits for us to exit first:
    // a plain drop of the runtime would wait for that thread forever.
    rt.shutdown_background();
    code
}

/// Whether this process, started with no arguments, should act as the
/// frontend: BuildKit set its variables, or it runs as `/run` (BuildKit's
/// default entrypoint for frontend images).
pub fn wanted_without_args() -> bool {
    let argv0_is_run = std::env::args_os().next().is_some_and(|a| {
        std::path::Path::new(&a)
            .file_name()
            .is_some_and(|n| n == "run")
    });
    std::env::args_os().len() <= 1 && (started_by_buildkit() || argv0_is_run)
}

/// Runs one frontend invocation against the daemon on stdin/stdout. A
/// build failure is reported to BuildKit and is not an error here; only a
/// failure to talk to BuildKit at all is.
pub async fn run() -> Result<(), FrontendError> {
    let env = Environment::from_env()?;
    let channel = stdio::channel().await?;
    let gateway = Gateway::for_frontend(channel);
    let caps = gateway.ping().await?;
    let returned = match build(&gateway, &env, &caps).await {
        Ok(out) => Ok(gw::Result {
            result: out.result,
            metadata: out.metadata,
            attestations: out.attestations,
        }),
        Err(status) => {
            eprintln!("scratchc frontend: {}", status.message);
            Err(status)
        }
    };
    gateway.return_result(returned).await?;
    Ok(())
}

/// The whole build, as an outcome to `Return`: [`crate::build`] with the
/// client's locals as the files; a failure as the status buildx shows.
pub async fn build(gateway: &Gateway, env: &Environment, caps: &Caps) -> Result<Output, Status> {
    let o = &env.opts;
    let solve = async {
        let reader = Locals { gateway, env };
        let loaded = Plan::load(&reader, settings(env, caps)?).await;
        if o.request_id.as_deref() == Some(subrequest::LINT) {
            // A check: the file's diagnostics are the answer, not a failure.
            return match loaded {
                Ok(plan) => Ok(Err(Ok(subrequest::lint(&[], &plan.sources)))),
                Err(BuildError::Diagnostics { diags, sources }) => {
                    Ok(Err(Ok(subrequest::lint(&diags, &sources))))
                }
                Err(e) => Err(e),
            };
        }
        let plan = loaded?;
        if let Some(id) = &o.request_id {
            return Ok(Err(subrequest::answer(
                id,
                &plan.program,
                &plan.sources,
                o.target.as_deref(),
                default_app(&plan),
            )));
        }
        let app = plan.app(app_name(&plan, o)?)?;
        let solved = build::solve_app(gateway, &plan, app).await?;
        warn(gateway, &plan, &solved).await;
        Ok(Ok(solved))
    };
    match solve.await {
        Ok(Ok(solved)) => Ok(Output {
            result: solved.result.result,
            metadata: solved.result.metadata,
            attestations: solved.result.attestations,
        }),
        Ok(Err(Ok(metadata))) => Ok(Output {
            metadata,
            ..Default::default()
        }),
        Ok(Err(Err(unsupported))) => Err(errors::unsupported_subrequest(&unsupported.0)),
        Err(e) => Err(errors::status_of(&e)),
    }
}

/// Shows the warnings of the binary check on the build's progress, on
/// the image vertex of the first platform (buildx lists them after the
/// build). Notes are left out: buildx would count them as warnings. A
/// warning BuildKit refuses is not worth failing the build for.
async fn warn(gateway: &Gateway, plan: &Plan, solved: &build::Solved) {
    let Some(vertex) = solved
        .definitions
        .first()
        .and_then(build::run::image_vertex)
    else {
        return;
    };
    for d in &solved.checked.diags {
        if d.severity == crate::compiler::Severity::Warning {
            let req = errors::warn_request(d, &plan.sources, vertex.clone());
            if let Err(e) = gateway.warn(req).await {
                eprintln!("scratchc frontend: cannot show a warning: {e}");
            }
        }
    }
}

/// The app to build: `target`, else the only app of the file.
fn app_name<'a>(plan: &'a Plan, o: &'a FrontendOpts) -> Result<&'a str, BuildError> {
    if let Some(t) = o.target.as_deref() {
        return Ok(t);
    }
    if let Some(d) = default_app(plan) {
        return Ok(d);
    }
    let names: Vec<&str> = plan
        .program
        .apps
        .iter()
        .map(|a| a.name.node.as_str())
        .collect();
    Err(UsageError::new(format!(
        "{} defines {} apps ({})",
        o.filename,
        names.len(),
        names.join(", ")
    ))
    .help("choose the one to build with --target NAME")
    .into())
}

/// The build settings from what buildx sent, as the CLI sets them from
/// its flags.
fn settings(env: &Environment, caps: &Caps) -> Result<Settings, BuildError> {
    let o = &env.opts;
    let platforms = build::inputs::platforms(&o.platforms)?;
    let build_platform = caps
        .build_platform()
        .cloned()
        .or_else(|| env.build_platform.clone())
        .unwrap_or_else(Platform::linux_amd64);
    let no_cache = match &o.no_cache {
        None => NoCache::Off,
        Some(names) if names.is_empty() => NoCache::All,
        Some(names) => NoCache::Apps(names.iter().cloned().collect()),
    };
    Ok(Settings {
        file: o.filename.clone(),
        build_args: o.build_args.clone(),
        platforms,
        build_platform,
        no_cache,
        // The client's session is this build's own: concurrent builds of
        // other trees (same file, other context) are never merged by the
        // daemon, as `scratchc build` ensures with its directory key.
        local_unique: Some(env.session_id.clone()).filter(|s| !s.is_empty()),
        // buildx passes SOURCE_DATE_EPOCH from its environment; without
        // it the image is still reproducible, at 0 (the frontend cannot
        // read the client's git).
        epoch: epoch::parse(o.source_date_epoch.as_deref())
            .map_err(|e| UsageError::new(e.to_string()))?
            .unwrap_or(0),
        use_lock: true,
        lock_platform: false,
        multi_platform: o.multi_platform,
        // The file's `strict` applies per app; buildx has no flag for it.
        strict: false,
        resolve: if o.image_resolve_mode.as_deref() == Some("pull") {
            ResolveMode::Pull
        } else {
            ResolveMode::LocalFirst
        },
        sbom: o.sbom,
        app_dir: app_dir(o),
        vcs: build::vcs::Vcs::from_attrs(&o.raw),
    })
}

/// Where the app file sits in the context, as `scratchc build --context`
/// knows it: buildx names it only through its git attributes
/// (`vcs:localdir:<local>`, each local relative to the repository root),
/// so a monorepo's imports can reach the whole context in a checkout.
/// `Some("")` when both locals are one directory; `None` when the app file
/// is outside the context or nothing says (imports then stay in its
/// directory, read from the `dockerfile` local).
fn app_dir(o: &FrontendOpts) -> Option<String> {
    let file_dir = o.filename.rsplit_once('/').map_or("", |(d, _)| d);
    let local = |name: &str| o.raw.get(&format!("vcs:localdir:{name}")).cloned();
    let (Some(docs), Some(ctx)) = (local(&o.dockerfile_local), local(&o.context_local)) else {
        // Without them, only the case the locals make plain: one local.
        return (o.dockerfile_local == o.context_local).then(|| file_dir.to_string());
    };
    let parts = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|x| !x.is_empty() && *x != ".")
            .map(str::to_string)
            .collect()
    };
    let (docs, ctx) = (parts(&docs), parts(&ctx));
    if docs.len() < ctx.len() || docs[..ctx.len()] != ctx[..] {
        return None;
    }
    let mut rel = docs[ctx.len()..].to_vec();
    rel.extend(parts(file_dir));
    Some(rel.join("/"))
}

/// The app built when no `target` is given: the only app of the file.
fn default_app(plan: &Plan) -> Option<&str> {
    match plan.program.apps.as_slice() {
        [one] => Some(one.name.node.as_str()),
        _ => None,
    }
}

/// The build's files, read from the client's locals: one small transfer
/// of just the files asked for, then a read (or a stat) of each.
struct Locals<'a> {
    gateway: &'a Gateway,
    env: &'a Environment,
}

impl Locals<'_> {
    async fn transfer(
        &self,
        local: &str,
        paths: &[String],
        key: &str,
        name: &str,
    ) -> Result<crate::client::buildkit::gateway::Ref, BuildError> {
        let def = local::definition(&local::LocalRead {
            name: local,
            session: &self.env.session_id,
            follow_paths: paths,
            include: &[],
            shared_key_hint: key,
            progress_name: name,
        });
        self.gateway.solve(def).await
    }
}

impl Locals<'_> {
    /// Reads files of the `dockerfile` local, in one transfer.
    async fn read(&self, paths: &[String]) -> Result<Vec<Option<Vec<u8>>>, BuildError> {
        self.read_from(&self.env.opts.dockerfile_local, paths).await
    }

    /// Reads files of a local, in one transfer.
    async fn read_from(
        &self,
        local: &str,
        paths: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, BuildError> {
        let o = &self.env.opts;
        let name = format!("load build definition from {}", o.filename);
        let r = self
            .transfer(local, paths, "scratchc-sources", &name)
            .await?;
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            // At most the limit and one byte: more means too large.
            out.push(r.read_file_capped(p, MAX_FILE_BYTES as u64 + 1).await?);
        }
        Ok(out)
    }
}

impl Reader for Locals<'_> {
    async fn read_app(&self) -> Result<(Vec<u8>, Option<Vec<u8>>), BuildError> {
        let o = &self.env.opts;
        let names = [o.filename.clone(), lock::name_beside(&o.filename)];
        let mut files = self.read(&names).await?.into_iter();
        let app = files.next().flatten().ok_or_else(|| {
            UsageError::new(format!(
                "{} not found in the build's `{}` directory",
                o.filename, o.dockerfile_local
            ))
            .help("name the file with -f")
        })?;
        Ok((app, files.next().flatten()))
    }

    async fn read_imports(&self, names: &[String]) -> Result<Vec<Found>, BuildError> {
        // Named relative to the context when the app file is placed in it
        // (`app_dir`), else to the app file's directory in its local. What
        // is not there is not found; what is over the limit is too large.
        let o = &self.env.opts;
        let read = if app_dir(o).is_some() {
            self.read_from(&o.context_local, names).await?
        } else {
            let dir = match o.filename.rsplit_once('/') {
                Some((dir, _)) => format!("{dir}/"),
                None => String::new(),
            };
            let paths: Vec<String> = names.iter().map(|n| format!("{dir}{n}")).collect();
            self.read(&paths).await?
        };
        Ok(read
            .into_iter()
            .map(|f| match f {
                None => Err(Unreadable::NotFound),
                Some(d) if d.len() > MAX_FILE_BYTES => Err(Unreadable::TooLarge { bytes: None }),
                Some(d) => Ok(d),
            })
            .collect())
    }

    async fn read_dockerignore(&self) -> Result<Option<Vec<u8>>, BuildError> {
        let name = ".dockerignore".to_string();
        let r = self
            .transfer(
                &self.env.opts.context_local,
                std::slice::from_ref(&name),
                "scratchc-dockerignore",
                "load .dockerignore",
            )
            .await?;
        r.read_file_capped(&name, MAX_FILE_BYTES as u64 + 1).await
    }

    async fn read_context(&self, path: &str) -> Result<Option<Vec<u8>>, BuildError> {
        let name = path.to_string();
        let r = self
            .transfer(
                &self.env.opts.context_local,
                std::slice::from_ref(&name),
                "scratchc-context-file",
                &format!("load {path}"),
            )
            .await?;
        r.read_file_capped(&name, MAX_FILE_BYTES as u64 + 1).await
    }

    async fn present(&self, paths: &BTreeSet<String>) -> Result<BTreeSet<String>, BuildError> {
        let list: Vec<String> = paths.iter().cloned().collect();
        let r = self
            .transfer(
                &self.env.opts.context_local,
                &list,
                "scratchc-probe",
                "look up dependency files",
            )
            .await?;
        let mut present = BTreeSet::new();
        for p in paths {
            if r.stat(p).await?.is_some() {
                present.insert(p.clone());
            }
        }
        Ok(present)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    #[test]
    fn settings_follow_what_buildx_sent() {
        let e = env(&[
            ("BUILDKIT_FRONTEND_OPT_0", "filename=svc/app.scratch"),
            ("BUILDKIT_FRONTEND_OPT_1", "no-cache=web"),
            ("BUILDKIT_FRONTEND_OPT_2", "image-resolve-mode=pull"),
            ("BUILDKIT_SESSION_ID", "s1"),
        ]);
        let mut caps = Caps::default();
        caps.worker_platforms
            .push(Platform::new("linux", "arm64", None));
        let s = settings(&e, &caps).unwrap();
        assert_eq!(s.file, "svc/app.scratch");
        assert_eq!(s.build_platform, Platform::new("linux", "arm64", None));
        assert!(s.no_cache.applies_to("web") && !s.no_cache.applies_to("api"));
        assert_eq!(s.local_unique.as_deref(), Some("s1"));
        assert_eq!(s.resolve, ResolveMode::Pull);
        let bad = env(&[("BUILDKIT_FRONTEND_OPT_0", "platform=linux/aarch6")]);
        assert!(matches!(settings(&bad, &caps), Err(BuildError::Usage(_))));
    }

    #[test]
    fn the_app_file_is_placed_in_the_context_by_the_git_attributes() {
        let at = |pairs: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = pairs
                .iter()
                .enumerate()
                .map(|(i, (k, v))| (format!("BUILDKIT_FRONTEND_OPT_{i}"), format!("{k}={v}")))
                .collect();
            let e = Environment::from_vars(vars).unwrap();
            app_dir(&e.opts)
        };
        // buildx -f services/web/app.scratch . in a checkout.
        let monorepo = [
            ("filename", "app.scratch"),
            ("vcs:localdir:dockerfile", "services/web"),
            ("vcs:localdir:context", "."),
        ];
        assert_eq!(at(&monorepo).as_deref(), Some("services/web"));
        // The file outside the context: imports stay in its directory.
        let outside = [
            ("filename", "app.scratch"),
            ("vcs:localdir:dockerfile", "deploy"),
            ("vcs:localdir:context", "services/web"),
        ];
        assert_eq!(at(&outside), None);
        // No git attributes: two locals, nothing says where the file is.
        assert_eq!(at(&[("filename", "app.scratch")]), None);
    }
}
