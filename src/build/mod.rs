//! The build, written once for every driver.
//!
//! `scratchc build`, `verify`, `lock`, `llb` and `dockerfile` on the command
//! line and the BuildKit frontend inside the daemon all run the same two
//! steps; each supplies only its IO:
//!
//! 1. [`Plan::load`]: read the app file, its imports, `scratch.lock` and
//!    `.dockerignore` through a [`Reader`] (the disk for the CLI, the
//!    client's locals for the frontend), check the program, pin it to the
//!    lock, and look up which dependency files the context lacks. Pure
//!    but for the reader: the same inputs give the same plan anywhere.
//! 2. [`run::solve_app`]: for one app, on a [`Gateway`](crate::client::buildkit::gateway::Gateway)
//!    (build-id scoped for the CLI, stdio for the frontend): resolve the
//!    builder image's config unless the lock holds it, lower all the app's
//!    platforms in one graph ([`compiler::lower::lower_each`]), solve them
//!    concurrently, check each binary, and shape the result the exporters
//!    read.
//!
//! What only a driver knows stays with it: the CLI connects, serves the
//! session, reports progress and writes outputs; the frontend answers
//! subrequests and returns the result to BuildKit.

pub mod apps;
pub mod golang;
pub mod inputs;
pub mod lent;
pub mod needs;
pub mod readback;
pub mod record;
pub mod run;
pub mod sbom;
pub mod vcs;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::client::errors::{BuildError, InputError, UsageError};
use crate::client::inputs::lock::{self, Lock};
use crate::compiler::model::{App, Program};
use crate::compiler::sources::{self, MAX_FILE_BYTES, Unreadable};
use crate::compiler::{self, LowerOptions, Options, Platform, Sources, Target, check};

pub use run::{Checked, Solved, solve_app};

/// The app file's name when none is given.
pub const APP_FILE: &str = "app.scratch";

/// An imported file as a reader found it: its bytes (at most the limit
/// and one byte more), or why not (nothing there, outside the directory,
/// not a regular file); the checker reports the why at the import's line.
pub type Found = Result<Vec<u8>, Unreadable>;

/// Where a build's files come from: the disk for the CLI, the client's
/// locals for the frontend. A reader reads no more than
/// `compiler::sources::MAX_FILE_BYTES` and one byte of any file.
#[allow(async_fn_in_trait)] // driven in place by one task, never spawned
pub trait Reader {
    /// The app file (an error when it cannot be read: there is nothing to
    /// build) and the `scratch.lock` beside it (`None` when absent).
    async fn read_app(&self) -> Result<(Vec<u8>, Option<Vec<u8>>), BuildError>;
    /// Imported files, named relative to the import root (the context when
    /// `Settings::app_dir` places the app file in it, else the app file's
    /// directory), all in one go (the frontend makes one transfer per
    /// call).
    async fn read_imports(&self, names: &[String]) -> Result<Vec<Found>, BuildError>;
    /// The context's `.dockerignore`.
    async fn read_dockerignore(&self) -> Result<Option<Vec<u8>>, BuildError>;
    /// A small file of the context (`go.mod`, to check the Go template's
    /// `main`), at most `MAX_FILE_BYTES` and one byte; `None` when it is
    /// not there or not a regular file.
    async fn read_context(&self, path: &str) -> Result<Option<Vec<u8>>, BuildError>;
    /// Which of `paths` (relative to the context) the context holds:
    /// anything there under that name.
    async fn present(&self, paths: &BTreeSet<String>) -> Result<BTreeSet<String>, BuildError>;
}

/// What the driver decides, beside the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The app file's name in diagnostics (the path as given on the
    /// command line, buildx's `filename`).
    pub file: String,
    /// `--build-arg` values; each must be declared.
    pub build_args: BTreeMap<String, String>,
    /// `--platform` overrides; empty: each app's own.
    pub platforms: Vec<Platform>,
    /// Where builder steps run: the daemon's platform.
    pub build_platform: Platform,
    /// Which apps run every step again.
    pub no_cache: NoCache,
    /// `local.unique` of the context sources (see [`LowerOptions`]).
    pub local_unique: Option<String>,
    /// SOURCE_DATE_EPOCH in seconds: the time of every file in the image
    /// and of its config (see docs/reproducibility.md for where it comes
    /// from on each path).
    pub epoch: u64,
    /// Whether `scratch.lock` pins the build (off for `scratchc lock` and
    /// `--update-lock`, which resolve the builders anew).
    pub use_lock: bool,
    /// Offline (no daemon to ask): builder steps run on the platform the
    /// lock was resolved for, when there is a lock.
    pub lock_platform: bool,
    /// Return even one platform in the multi-platform shape.
    pub multi_platform: bool,
    /// How builder images are looked up on the daemon.
    pub resolve: ResolveMode,
    /// Whether each image gets an SBOM attestation: `--sbom` (CLI),
    /// `attest:sbom` (frontend); `None` lets each app's `sbom` decide (on
    /// unless the file says `sbom false`).
    pub sbom: Option<bool>,
    /// The app file's directory inside the context, when it lies inside
    /// it (`Some("")`: the context is its directory): imports may then
    /// reach anywhere in the context. `None`: the app file is elsewhere
    /// (or the frontend cannot tell), and imports stay in its directory.
    pub app_dir: Option<String>,
    /// What is known of the checkout (the `GIT_*` variables, OCI labels).
    pub vcs: vcs::Vcs,
    /// `--strict`: runtime-need warnings are errors for every app (an
    /// app's own `strict` does the same for it).
    pub strict: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            file: APP_FILE.to_string(),
            build_args: BTreeMap::new(),
            platforms: Vec::new(),
            build_platform: Platform::linux_amd64(),
            no_cache: NoCache::Off,
            local_unique: None,
            epoch: 0,
            use_lock: true,
            lock_platform: false,
            multi_platform: false,
            resolve: ResolveMode::LocalFirst,
            sbom: None,
            app_dir: Some(String::new()),
            vcs: vcs::Vcs::default(),
            strict: false,
        }
    }
}

/// `--no-cache`: off, for every app, or for the apps named (buildx's
/// `--no-cache-filter`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoCache {
    Off,
    All,
    Apps(BTreeSet<String>),
}

impl NoCache {
    /// Whether `app` runs every step again.
    pub fn applies_to(&self, app: &str) -> bool {
        match self {
            NoCache::Off => false,
            NoCache::All => true,
            NoCache::Apps(names) => names.contains(app),
        }
    }
}

/// How a builder image missing from the lock is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveMode {
    /// The daemon's image store first (no registry needed for an image it
    /// has), then its default lookup.
    LocalFirst,
    /// The registry, always (buildx `--pull`).
    Pull,
}

/// A checked build, ready to lower and solve.
#[derive(Clone, Debug)]
pub struct Plan {
    pub settings: Settings,
    pub sources: Sources,
    pub program: Program,
    /// `scratch.lock` beside the app file, applied when `use_lock`.
    pub lock: Option<Lock>,
    /// The context's `.dockerignore` patterns.
    pub excludes: Vec<String>,
    /// Dependency files the context lacks (`LowerOptions::absent_files`).
    pub absent: BTreeSet<String>,
    /// Dependency files the context holds (`LowerOptions::present_files`).
    pub present: BTreeSet<String>,
    /// Builder images resolved on the daemon during this run.
    pub resolved: run::Resolved,
}

impl Plan {
    /// Reads everything through `reader` and checks it (see the module
    /// docs). The lock and `.dockerignore` are read while the sources load.
    pub async fn load<R: Reader>(reader: &R, mut settings: Settings) -> Result<Plan, BuildError> {
        // `--build-arg GIT_*` sets the variables, it declares nothing.
        settings.vcs.take_overrides(&mut settings.build_args);
        let (loaded, ignore) = futures::join!(
            load_sources(reader, &settings.file, settings.app_dir.as_deref()),
            reader.read_dockerignore()
        );
        let (sources, lock_text) = loaded?;
        let lock_name = lock::name_beside(&settings.file);
        let excludes = match ignore? {
            Some(data) if data.len() > MAX_FILE_BYTES => {
                let d = sources::file_too_large(".dockerignore", Some(data.len() as u64));
                return Err(BuildError::diagnostics(vec![d], &Sources::default()));
            }
            Some(data) => inputs::dockerignore_patterns(&String::from_utf8_lossy(&data)),
            None => Vec::new(),
        };
        let lock = match lock_text.filter(|_| settings.use_lock) {
            Some(data) => {
                let text = utf8(&lock_name, data)?;
                Some(Lock::parse(&text, lock_name.as_ref())?)
            }
            None => None,
        };
        if settings.lock_platform
            && let Some(p) = lock.as_ref().and_then(Lock::platform)
        {
            settings.build_platform = p;
        }
        let mut plan = Plan {
            program: Program::default(),
            settings,
            sources,
            lock,
            excludes,
            absent: BTreeSet::new(),
            present: BTreeSet::new(),
            resolved: run::Resolved::default(),
        };
        plan.check()?;
        let probes = plan.program.context_probes();
        if !probes.is_empty() {
            let present = reader.present(&probes).await?;
            plan.absent = probes.difference(&present).cloned().collect();
            plan.present = present.intersection(&probes).cloned().collect();
        }
        golang::check_mains(&plan, reader).await?;
        Ok(plan)
    }

    /// Checks the program for the settings' build platform and pins it to
    /// the lock (a stale lock is an error listing every difference).
    fn check(&mut self) -> Result<(), BuildError> {
        let options = self.options();
        let mut program = compiler::check(&self.sources, &options)
            .map_err(|d| BuildError::diagnostics(d, &self.sources))?;
        if let Some(l) = &self.lock {
            let path = lock::name_beside(&self.settings.file);
            inputs::pin(
                l,
                path.as_ref(),
                &mut program,
                &self.sources,
                &options.build_platform,
            )?;
        }
        self.program = program;
        Ok(())
    }

    /// The plan for builder steps on `platform` (the daemon's, once known):
    /// checked and pinned again when it differs.
    pub fn retarget(&mut self, platform: &Platform) -> Result<(), BuildError> {
        if *platform == self.settings.build_platform {
            return Ok(());
        }
        self.settings.build_platform = platform.clone();
        self.check()
    }

    /// The plan checked again with other build argument values (as
    /// `scratchc dockerfile` checks it with markers to find where each
    /// argument lands).
    pub fn with_build_args(
        &self,
        build_args: BTreeMap<String, String>,
    ) -> Result<Plan, BuildError> {
        let mut plan = self.clone();
        plan.settings.build_args = build_args;
        plan.check()?;
        Ok(plan)
    }

    /// Pins the plan to a lock just written (`--update-lock`).
    pub fn pin_to(&mut self, lock: Lock) -> Result<(), BuildError> {
        self.lock = Some(lock);
        self.settings.use_lock = true;
        self.check()
    }

    /// Whether `app`'s images get an SBOM: the driver's choice, else the
    /// app's own `sbom`.
    pub fn sbom(&self, app: &App) -> bool {
        self.settings.sbom.unwrap_or(app.sbom)
    }

    /// The compile options of the settings.
    pub fn options(&self) -> Options {
        Options {
            build_args: self.settings.build_args.clone(),
            build_platform: self.settings.build_platform.clone(),
            platforms: self.settings.platforms.clone(),
            vars: self.settings.vcs.vars(),
            labels: self.settings.vcs.labels(),
        }
    }

    /// The app named `name` (by `--app`, buildx's `--target`), or an error
    /// that lists the apps.
    pub fn app(&self, name: &str) -> Result<&App, BuildError> {
        self.program.app(name).ok_or_else(|| {
            let d = check::unknown_app(&self.program, name);
            let mut e = UsageError::new(format!("{} ({})", d.message, self.settings.file));
            e.help = d.help;
            e.into()
        })
    }

    /// The platforms `app` is built for: `--platform`, else its own.
    pub fn platforms(&self, app: &App) -> Vec<Platform> {
        if self.settings.platforms.is_empty() {
            app.platforms.iter().map(|p| p.node.clone()).collect()
        } else {
            self.settings.platforms.clone()
        }
    }

    /// The lowering options of `app`, with the builder configs the lock
    /// holds; `builders` adds configs resolved on the daemon.
    pub fn lower_options(
        &self,
        app: &App,
        builders: BTreeMap<String, compiler::ImageConfig>,
    ) -> LowerOptions {
        let mut excludes: Vec<String> = self
            .own_files(app)
            .iter()
            .map(|f| inputs::literal_pattern(f))
            .collect();
        // The user's patterns after ours: a `!app.scratch` there wins.
        excludes.extend(self.excludes.iter().cloned());
        let mut o = inputs::lower_options(
            excludes,
            self.settings.no_cache.applies_to(&app.name.node),
            self.settings.local_unique.clone(),
            self.lock.as_ref(),
            (self.present.clone(), self.absent.clone()),
            self.settings.epoch,
        );
        o.builder_configs.extend(builders);
        o
    }

    /// The build's own files, which the context leaves out so that changing
    /// them (a `label`, `scratchc lock`) never re-runs a step that reads the
    /// context: the app file, the templates it imports, `scratch.lock` and
    /// `.dockerignore`. Named relative to the app file's directory, which
    /// is the context root for `scratchc build` (and for `buildx build -f
    /// app.scratch .`). A file `app` copies with `file` (or a directory
    /// holding it) stays in.
    pub fn own_files(&self, app: &App) -> Vec<String> {
        let base = |p: &str| p.rsplit_once('/').map_or(p, |(_, b)| b).to_string();
        let root = base(&self.settings.file);
        let mut own = vec![
            root.clone(),
            lock::name_beside(&root),
            ".dockerignore".to_string(),
        ];
        own.extend(
            self.sources
                .iter()
                .skip(1)
                .map(|(_, f)| f.name.as_str())
                .filter(|n| !compiler::stdlib::is_stdlib(n))
                .map(str::to_string),
        );
        let copied: Vec<&str> = app
            .image
            .files
            .iter()
            .map(|f| f.node.src.as_str())
            .collect();
        own.retain(|f| {
            !copied
                .iter()
                .any(|c| f == c || f.strip_prefix(c).is_some_and(|r| r.starts_with('/')))
        });
        own.sort();
        own.dedup();
        own
    }

    /// Lowers `app` for every one of its platforms in one graph: the steps
    /// they share are made and encoded once.
    pub fn targets(&self, app: &App, lower: &LowerOptions) -> Result<Vec<Target>, BuildError> {
        let platforms = self.platforms(app);
        let refs: Vec<&Platform> = platforms.iter().collect();
        let options = self.options();
        let mut targets = Vec::with_capacity(refs.len());
        let mut diags = Vec::new();
        for t in compiler::lower::lower_each(app, &refs, &self.sources, &options, lower) {
            match t {
                Ok(t) => targets.push(t),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() {
            Ok(targets)
        } else {
            Err(BuildError::diagnostics(diags, &self.sources))
        }
    }
}

/// Reads the app file (with the lock beside it) and, round by round, the
/// files it imports: the compiler says which ([`check::pending_imports`]).
/// Each round reads only the files named so far. `file` names the app file
/// in diagnostics; `app_dir` is where it sits in the import root
/// ([`Settings::app_dir`]).
pub async fn load_sources<R: Reader>(
    reader: &R,
    file: &str,
    app_dir: Option<&str>,
) -> Result<(Sources, Option<Vec<u8>>), BuildError> {
    let (root, lock) = reader.read_app().await?;
    if root.len() > MAX_FILE_BYTES {
        let d = sources::file_too_large(file, None);
        return Err(BuildError::diagnostics(vec![d], &Sources::default()));
    }
    if let Some(l) = lock.as_ref().filter(|l| l.len() > MAX_FILE_BYTES) {
        let d = sources::file_too_large(&lock::name_beside(file), Some(l.len() as u64));
        return Err(BuildError::diagnostics(vec![d], &Sources::default()));
    }
    let mut sources = Sources::new(file, utf8(file, root)?).with_root_dir(app_dir.unwrap_or(""));
    // Each file is scanned for its imports once (`pending_imports_since`),
    // so a load is linear in the number of files.
    let mut scanned = 0;
    loop {
        let pending = check::pending_imports_since(&sources, scanned);
        scanned = sources.len();
        if pending.is_empty() {
            return Ok((sources, lock));
        }
        let found = reader.read_imports(&pending).await?;
        for (name, f) in pending.into_iter().zip(found) {
            match f {
                Ok(data) => {
                    let text = utf8(&name, data)?;
                    // Past the limits it is marked, and reported at the
                    // import.
                    let _ = sources.add_read(name, text);
                }
                Err(why) => sources.mark_unreadable(name, why),
            }
        }
    }
}

fn utf8(name: &str, data: Vec<u8>) -> Result<String, BuildError> {
    String::from_utf8(data).map_err(|_| {
        InputError {
            action: "read",
            path: PathBuf::from(name),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        }
        .into()
    })
}
