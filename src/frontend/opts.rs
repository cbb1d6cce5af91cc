//! What BuildKit tells the frontend: the options buildx (or buildctl) sent,
//! passed as `BUILDKIT_FRONTEND_OPT_<i>=<key>=<value>` environment variables,
//! plus the session id and the workers.
//!
//! Parsing is pure (it takes the variables as a list) so it is tested
//! without a daemon; `from_env` is the one place that reads the process
//! environment.

use std::collections::BTreeMap;

use crate::platform::Platform;

/// Build arguments BuildKit and buildx define themselves. They reach every
/// frontend whether or not the file declares them, so they are never
/// reported as undeclared: `SOURCE_DATE_EPOCH` is applied by the exporter,
/// the `BUILDKIT_*` ones steer the Dockerfile frontend, and the proxy
/// variables are the predefined Dockerfile arguments.
const PREDEFINED_ARGS: &[&str] = &[
    "SOURCE_DATE_EPOCH",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The options of one frontend run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrontendOpts {
    /// Every option as sent, for what is not interpreted below.
    pub raw: BTreeMap<String, String>,
    /// The file to build, relative to the `dockerfile` local
    /// (`filename`, default `app.scratch`).
    pub filename: String,
    /// Name of the local holding the file (`dockerfilekey`, default
    /// `dockerfile`).
    pub dockerfile_local: String,
    /// Name of the local holding the build context (`contextkey`, default
    /// `context`).
    pub context_local: String,
    /// The app to build (`target`).
    pub target: Option<String>,
    /// Target platforms (`platform`, comma separated); empty means the
    /// file's own.
    pub platforms: Vec<String>,
    /// `build-arg:KEY` values the file may declare (predefined ones left
    /// out, see `PREDEFINED_ARGS`).
    pub build_args: BTreeMap<String, String>,
    /// `build-arg:SOURCE_DATE_EPOCH`, as sent.
    pub source_date_epoch: Option<String>,
    /// `image-resolve-mode`: `default`, `pull` or `local`.
    pub image_resolve_mode: Option<String>,
    /// `no-cache`: present with an empty value means every step; otherwise
    /// a comma list of names (apps, for us).
    pub no_cache: Option<Vec<String>>,
    /// `requestid`: a subrequest such as `frontend.targets`.
    pub request_id: Option<String>,
    /// Whether the caller asked for a multi-platform result even for one
    /// platform (`multi-platform`).
    pub multi_platform: bool,
}

/// Where the frontend runs: the session and the workers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    pub opts: FrontendOpts,
    /// `BUILDKIT_SESSION_ID`: the client's session, which holds the locals.
    pub session_id: String,
    /// The first platform of the first worker (`BUILDKIT_WORKERS`): where
    /// builder steps run. `None` when the daemon sent no usable list.
    pub build_platform: Option<Platform>,
}

/// A malformed variable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptsError {
    #[error("BuildKit option {var} is not KEY=VALUE: {value:?}")]
    NotKeyValue { var: String, value: String },
}

impl FrontendOpts {
    /// Interprets `key=value` options.
    pub fn from_map(raw: BTreeMap<String, String>) -> FrontendOpts {
        let get = |k: &str| raw.get(k).filter(|v| !v.is_empty()).cloned();
        let mut build_args = BTreeMap::new();
        for (k, v) in &raw {
            if let Some(name) = k.strip_prefix("build-arg:")
                && !name.starts_with("BUILDKIT_")
                && !PREDEFINED_ARGS.contains(&name)
            {
                build_args.insert(name.to_string(), v.clone());
            }
        }
        let platforms = get("platform")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let no_cache = raw.get("no-cache").map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        });
        let multi_platform = ["multi-platform", "build-arg:BUILDKIT_MULTI_PLATFORM"]
            .iter()
            .any(|k| raw.get(*k).is_some_and(|v| v == "true" || v == "1"));
        FrontendOpts {
            filename: get("filename").unwrap_or_else(|| "app.scratch".to_string()),
            dockerfile_local: get("dockerfilekey").unwrap_or_else(|| "dockerfile".to_string()),
            context_local: get("contextkey").unwrap_or_else(|| "context".to_string()),
            target: get("target"),
            platforms,
            build_args,
            source_date_epoch: get("build-arg:SOURCE_DATE_EPOCH"),
            image_resolve_mode: get("image-resolve-mode"),
            no_cache,
            request_id: get("requestid"),
            multi_platform,
            raw,
        }
    }

    /// Whether `--no-cache` applies to the app named `app`.
    pub fn no_cache_for(&self, app: &str) -> bool {
        self.no_cache
            .as_ref()
            .is_some_and(|names| names.is_empty() || names.iter().any(|n| n == app))
    }
}

impl Environment {
    /// Reads the variables BuildKit sets, from a list of (name, value).
    pub fn from_vars<I>(vars: I) -> Result<Environment, OptsError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut raw = BTreeMap::new();
        let mut session_id = String::new();
        let mut build_platform = None;
        for (name, value) in vars {
            if name.starts_with("BUILDKIT_FRONTEND_OPT_") {
                let Some((k, v)) = value.split_once('=') else {
                    return Err(OptsError::NotKeyValue { var: name, value });
                };
                raw.insert(k.to_string(), v.to_string());
            } else if name == "BUILDKIT_SESSION_ID" {
                session_id = value;
            } else if name == "BUILDKIT_WORKERS" {
                build_platform = first_worker_platform(&value);
            }
        }
        Ok(Environment {
            opts: FrontendOpts::from_map(raw),
            session_id,
            build_platform,
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Environment, OptsError> {
        Environment::from_vars(std::env::vars())
    }
}

/// Whether this process was started by BuildKit as a gateway frontend.
pub fn started_by_buildkit() -> bool {
    std::env::vars_os().any(|(k, _)| {
        k.to_str()
            .is_some_and(|k| k.starts_with("BUILDKIT_FRONTEND_OPT_") || k == "BUILDKIT_SESSION_ID")
    })
}

/// The first platform of the first worker in `BUILDKIT_WORKERS` (a JSON list
/// of `{"ID", "Labels", "Platforms": [{"os", "architecture", "variant"}]}`).
fn first_worker_platform(json: &str) -> Option<Platform> {
    let workers: serde_json::Value = serde_json::from_str(json).ok()?;
    let p = workers.get(0)?.get("Platforms")?.get(0)?;
    let os = p.get("os")?.as_str()?;
    let arch = p.get("architecture")?.as_str()?;
    let mut s = format!("{os}/{arch}");
    if let Some(v) = p
        .get("variant")
        .and_then(|v| v.as_str())
        .filter(|v| !v.is_empty())
    {
        s.push('/');
        s.push_str(v);
    }
    Platform::parse(&s).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    #[test]
    fn reads_what_buildx_sends() {
        let e = env(&[
            ("BUILDKIT_FRONTEND_OPT_0", "filename=app.scratch"),
            (
                "BUILDKIT_FRONTEND_OPT_1",
                "platform=linux/amd64,linux/arm64",
            ),
            ("BUILDKIT_FRONTEND_OPT_2", "build-arg:VERSION=1.2=3"),
            (
                "BUILDKIT_FRONTEND_OPT_3",
                "build-arg:BUILDKIT_SYNTAX=scratchc/frontend:0.1",
            ),
            ("BUILDKIT_FRONTEND_OPT_4", "build-arg:SOURCE_DATE_EPOCH=0"),
            ("BUILDKIT_FRONTEND_OPT_5", "image-resolve-mode=local"),
            ("BUILDKIT_FRONTEND_OPT_6", "no-cache="),
            ("BUILDKIT_FRONTEND_OPT_7", "target=api"),
            ("BUILDKIT_SESSION_ID", "s1"),
            (
                "BUILDKIT_WORKERS",
                r#"[{"ID":"w","Labels":{},"Platforms":[{"architecture":"arm64","os":"linux"},{"architecture":"amd64","os":"linux"}]}]"#,
            ),
            ("PATH", "/bin"),
        ]);
        let o = &e.opts;
        assert_eq!(o.filename, "app.scratch");
        assert_eq!(o.platforms, ["linux/amd64", "linux/arm64"]);
        assert_eq!(o.build_args.len(), 1);
        assert_eq!(o.build_args["VERSION"], "1.2=3");
        assert_eq!(o.source_date_epoch.as_deref(), Some("0"));
        assert_eq!(o.image_resolve_mode.as_deref(), Some("local"));
        assert!(o.no_cache_for("api"));
        assert_eq!(o.target.as_deref(), Some("api"));
        assert_eq!(o.dockerfile_local, "dockerfile");
        assert_eq!(o.context_local, "context");
        assert_eq!(e.session_id, "s1");
        assert_eq!(
            e.build_platform,
            Some(Platform::new("linux", "arm64", None))
        );
    }

    #[test]
    fn defaults_and_selective_no_cache() {
        let e = env(&[("BUILDKIT_FRONTEND_OPT_0", "no-cache=web,api")]);
        assert_eq!(e.opts.filename, "app.scratch");
        assert!(e.opts.no_cache_for("api"));
        assert!(!e.opts.no_cache_for("worker"));
        assert!(e.opts.platforms.is_empty());
        assert_eq!(e.build_platform, None);
        assert!(!env(&[]).opts.no_cache_for("api"));
    }

    #[test]
    fn refuses_a_value_without_equals() {
        let r =
            Environment::from_vars([("BUILDKIT_FRONTEND_OPT_0".to_string(), "oops".to_string())]);
        assert!(matches!(r, Err(OptsError::NotKeyValue { .. })));
    }
}
