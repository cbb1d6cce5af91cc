//! `moby.filesync.v1.Auth`: registry credentials for the daemon, from the
//! Docker client's configuration (`$DOCKER_CONFIG/config.json`, default
//! `~/.docker/config.json`): a credential helper (`credHelpers` for the
//! host, else `credsStore`) run as `docker-credential-NAME get`, then the
//! `auths` entries. No configuration means anonymous access. Only
//! `Credentials` is served: the token methods answer Unimplemented, and the
//! daemon then falls back to Credentials.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status};

use crate::proto::moby::filesync::v1::auth_server::Auth;
use crate::proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse,
    GetTokenAuthorityRequest, GetTokenAuthorityResponse, VerifyTokenAuthorityRequest,
    VerifyTokenAuthorityResponse,
};

/// Docker Hub's key in config.json.
const HUB_KEY: &str = "https://index.docker.io/v1/";

pub struct AuthService {
    config_dir: Option<PathBuf>,
}

impl AuthService {
    /// Uses `DOCKER_CONFIG`, else `~/.docker`.
    pub fn from_env() -> Self {
        let config_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        AuthService { config_dir }
    }

    async fn lookup(&self, host: &str) -> Result<(String, String), Status> {
        let Some(dir) = &self.config_dir else {
            return Ok(Default::default());
        };
        let path = dir.join("config.json");
        let text = match tokio::fs::read_to_string(&path).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
            Err(e) => {
                return Err(Status::internal(format!(
                    "reading `{}`: {e}",
                    path.display()
                )));
            }
        };
        let config: Value = serde_json::from_str(&text).map_err(|e| {
            Status::internal(format!("`{}` is not valid JSON: {e}", path.display()))
        })?;
        credentials_from(&config, host, &|helper, key| run_helper(helper, key)).await
    }
}

/// The config.json key for a registry host.
fn config_key(host: &str) -> String {
    match host {
        "registry-1.docker.io" | "docker.io" | "index.docker.io" => HUB_KEY.to_string(),
        h => h.to_string(),
    }
}

/// `https://host/v1/` and `host` both name `host`.
fn normalize(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

type HelperFut = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<(String, String)>, Status>> + Send>,
>;

/// Resolves credentials for `host` from a parsed config. `helper(name,
/// key)` runs a credential helper.
async fn credentials_from(
    config: &Value,
    host: &str,
    helper: &(dyn Fn(String, String) -> HelperFut + Sync),
) -> Result<(String, String), Status> {
    let key = config_key(host);
    let helper_name = config
        .get("credHelpers")
        .and_then(|h| h.get(&key).or_else(|| h.get(host)))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let Some(name) = helper_name
        && let Some(found) = helper(name.to_string(), key.clone()).await?
    {
        return Ok(found);
    }
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(Default::default());
    };
    let want = normalize(&key);
    let Some(entry) = auths.get(&key).or_else(|| {
        auths
            .iter()
            .find(|(k, _)| normalize(k) == want)
            .map(|(_, v)| v)
    }) else {
        return Ok(Default::default());
    };
    let field = |n: &str| {
        entry
            .get(n)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if !field("identitytoken").is_empty() {
        return Ok((String::new(), field("identitytoken")));
    }
    let auth = field("auth");
    if !auth.is_empty() {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| Status::internal(format!("the `auth` of `{key}` is not base64")))?;
        let s = String::from_utf8_lossy(&decoded);
        let (u, p) = s.split_once(':').unwrap_or((&s, ""));
        return Ok((u.to_string(), p.to_string()));
    }
    Ok((field("username"), field("password")))
}

/// Runs `docker-credential-NAME get` with `key` on stdin. A missing helper
/// or "credentials not found" is no credentials, not an error.
fn run_helper(name: String, key: String) -> HelperFut {
    Box::pin(async move {
        let prog = format!("docker-credential-{name}");
        let child = tokio::process::Command::new(&prog)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(mut child) = child else {
            return Ok(None);
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(key.as_bytes()).await;
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .map_err(|_| Status::deadline_exceeded(format!("{prog} did not answer in 60 s")))?
            .map_err(|e| Status::internal(format!("{prog}: {e}")))?;
        if !out.status.success() {
            return Ok(None);
        }
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|_| Status::internal(format!("{prog} printed invalid JSON")))?;
        let f = |n: &str| v.get(n).and_then(Value::as_str).unwrap_or("").to_string();
        let (user, secret) = (f("Username"), f("Secret"));
        // Helpers store identity tokens with the user `<token>`.
        Ok(Some(if user == "<token>" {
            (String::new(), secret)
        } else {
            (user, secret)
        }))
    })
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn credentials(
        &self,
        req: Request<CredentialsRequest>,
    ) -> Result<Response<CredentialsResponse>, Status> {
        let (username, secret) = self.lookup(&req.into_inner().host).await?;
        Ok(Response::new(CredentialsResponse { username, secret }))
    }

    async fn fetch_token(
        &self,
        _req: Request<FetchTokenRequest>,
    ) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("use Credentials"))
    }

    async fn get_token_authority(
        &self,
        _req: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("use Credentials"))
    }

    async fn verify_token_authority(
        &self,
        _req: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("use Credentials"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_helper(_: String, _: String) -> HelperFut {
        Box::pin(async { Ok(None) })
    }

    #[tokio::test]
    async fn auths_entries_by_host_and_hub_alias() {
        let config = serde_json::json!({
            "auths": {
                "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNzOndvcmQ="},
                "ghcr.io": {"identitytoken": "tok"},
                "http://reg.local:5000/v2/": {"username": "u", "password": "p"}
            }
        });
        let get = |h: &'static str| {
            let c = config.clone();
            async move { credentials_from(&c, h, &no_helper).await.unwrap() }
        };
        assert_eq!(
            get("registry-1.docker.io").await,
            ("user".into(), "pass:word".into())
        );
        assert_eq!(get("ghcr.io").await, (String::new(), "tok".into()));
        assert_eq!(get("reg.local:5000").await, ("u".into(), "p".into()));
        assert_eq!(get("quay.io").await, (String::new(), String::new()));
    }

    #[tokio::test]
    async fn helpers_come_first() {
        let config = serde_json::json!({
            "credsStore": "store",
            "credHelpers": {"gcr.io": "gcloud"},
            "auths": {"gcr.io": {"auth": "eDp5"}}
        });
        let helper = |name: String, key: String| -> HelperFut {
            Box::pin(async move { Ok((name == "gcloud").then(|| (format!("from-{name}"), key))) })
        };
        assert_eq!(
            credentials_from(&config, "gcr.io", &helper).await.unwrap(),
            ("from-gcloud".into(), "gcr.io".into())
        );
    }
}
