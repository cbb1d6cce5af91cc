//! The Docker Engine's own HTTP API, for two questions: which image a name
//! points to now (a no-change build, `GET /images/{name}/json`, a few
//! milliseconds), and what an image holds, attestations included
//! (`scratchc sbom`, `GET /images/{name}/get`, the `docker save` tarball).
//! Plain HTTP/1.1 over the Engine's unix socket, no BuildKit session.

use std::path::Path;
use std::time::Duration;

use tokio::net::UnixStream;

use super::http1::{self, GetError};
use crate::client::ClientError;

/// How long the Engine may take to answer; a slower one means "do not
/// know", and the caller builds.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The id (`Id`: the image's digest in the Engine's store) of the image
/// `name` on the Engine listening at `socket`; `None` when there is no such
/// image.
pub async fn image_id(socket: &Path, name: &str) -> Result<Option<String>, ClientError> {
    let path = format!("/images/{}/json", path_escape(name));
    let Some(body) = get(socket, &path, TIMEOUT, 1 << 20).await? else {
        return Ok(None);
    };
    #[derive(serde::Deserialize)]
    struct Inspect {
        #[serde(rename = "Id")]
        id: String,
    }
    let i: Inspect = serde_json::from_slice(&body).map_err(|e| ClientError::Connect {
        endpoint: format!("unix://{}", socket.display()),
        detail: format!("GET {path}: {e}"),
    })?;
    Ok(Some(i.id))
}

/// The image `name` as `docker save` writes it (`GET /images/{name}/get`):
/// on the containerd image store, an OCI layout tarball holding the whole
/// index, attestation manifests included. `None` when there is no such
/// image; an error past `limit` bytes.
pub async fn save(socket: &Path, name: &str, limit: usize) -> Result<Option<Vec<u8>>, ClientError> {
    let path = format!("/images/{}/get", path_escape(name));
    get(socket, &path, SAVE_TIMEOUT, limit).await
}

/// How long `docker save` may take: it streams every layer.
const SAVE_TIMEOUT: Duration = Duration::from_secs(120);

/// `GET path` on the Engine: the body of a 200, `None` for a 404, an error
/// otherwise, after `timeout` or past `limit` bytes.
async fn get(
    socket: &Path,
    path: &str,
    timeout: Duration,
    limit: usize,
) -> Result<Option<Vec<u8>>, ClientError> {
    let what = format!("unix://{}", socket.display());
    let fail = |detail: String| ClientError::Connect {
        endpoint: what.clone(),
        detail,
    };
    let ask = async {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let (status, body) = http1::get(stream, path, &[("Host", "docker")], limit)
            .await
            .map_err(|e| match e {
                GetError::Transport(e) => fail(e),
                GetError::Body(e) => fail(format!("GET {path}: {e}")),
            })?;
        match status {
            404 => Ok(None),
            200 => Ok(Some(body)),
            other => Err(fail(format!(
                "GET {path} answered {other}: {}",
                String::from_utf8_lossy(&body).trim()
            ))),
        }
    };
    tokio::time::timeout(timeout, ask)
        .await
        .map_err(|_| fail(format!("no answer to GET {path} in {timeout:?}")))?
}

/// An image name in a URL path: its `/` and `:` are fine (the Engine's
/// route takes the rest of the path), anything outside the characters an
/// image reference holds is percent-encoded.
fn path_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"/:._-@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_readable_in_the_path() {
        assert_eq!(
            path_escape("docker.io/library/hello:latest"),
            "docker.io/library/hello:latest"
        );
        assert_eq!(path_escape("a b?"), "a%20b%3F");
    }
}
