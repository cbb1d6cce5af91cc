//! One HTTP/1.1 GET over a stream already connected (the Docker Engine's
//! unix socket, a plain-HTTP registry), its body read up to a limit: the
//! one request both `engine` and `images` make.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// Why a GET got no answer.
pub enum GetError {
    /// The connection or the request failed.
    Transport(String),
    /// The body was unreadable or longer than the limit.
    Body(String),
}

/// GET `path` on `stream` with `headers` (a `User-Agent` is added): the
/// status and at most `limit` bytes of the body.
pub async fn get<S>(
    stream: S,
    path: &str,
    headers: &[(&str, &str)],
    limit: usize,
) -> Result<(u16, Vec<u8>), GetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let transport = |e: &dyn std::fmt::Display| GetError::Transport(e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| transport(&e))?;
    let driver = tokio::spawn(conn);
    let mut req = hyper::Request::get(path).header("User-Agent", "scratchc");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| transport(&e))?;
    let resp = sender.send_request(req).await.map_err(|e| transport(&e))?;
    let status = resp.status().as_u16();
    let body = http_body_util::Limited::new(resp.into_body(), limit)
        .collect()
        .await
        .map_err(|e| GetError::Body(format!("{e} (at most {limit} bytes are read)")))?
        .to_bytes();
    driver.abort();
    Ok((status, body.to_vec()))
}
