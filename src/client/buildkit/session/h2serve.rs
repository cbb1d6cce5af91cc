//! The session's HTTP/2 server, on `h2` directly rather than hyper.
//!
//! Why not hyper: h2 ends a connection (GOAWAY ENHANCE_YOUR_CALM,
//! "too_many_data_frames") when too many *small* DATA frames sit in its
//! receive buffer, a guard against floods that hyper does not let us tune.
//! The daemon's fsutil sends exactly that traffic: one tiny REQ frame per
//! file it wants, or one STAT per entry of an export, often faster than
//! the connection task hands them over (a single read of the pipe can
//! parse thousands of frames before our handlers run). Contexts of a few
//! thousand files failed that way, at random.
//!
//! Here the guard's budget is set so it can never trip while the peer
//! respects flow control: every buffered frame carries at least one byte
//! of flow-controlled payload, so at most [`WINDOW`] frames can be waiting,
//! each counting under 256 against the budget. Memory stays bounded by the
//! window as with any HTTP/2 peer.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt;

/// Receive window of the connection and of each stream (what hyper uses
/// for servers too): large enough that a 32 KiB fsutil DATA never waits for
/// a window update.
const WINDOW: u32 = 1 << 20;

/// Largest frame we accept.
const MAX_FRAME: u32 = 1 << 20;

/// Serves `routes` on `io` until the peer closes the connection or it
/// fails. Each request runs in its own task.
pub async fn serve<T>(io: T, routes: tonic::service::Routes)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut builder = h2::server::Builder::new();
    builder
        .initial_window_size(WINDOW)
        .initial_connection_window_size(WINDOW)
        .max_frame_size(MAX_FRAME)
        .data_frame_budget(WINDOW as usize * 256);
    let Ok(mut conn) = builder.handshake::<T, Bytes>(io).await else {
        return;
    };
    while let Some(Ok((req, respond))) = conn.accept().await {
        tokio::spawn(handle(routes.clone(), req, respond));
    }
}

/// Runs one request through the routes and streams the response back,
/// within the flow control window the peer grants.
async fn handle(
    routes: tonic::service::Routes,
    req: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let (parts, recv) = req.into_parts();
    let req = http::Request::from_parts(
        parts,
        Inbound {
            recv,
            data_done: false,
        },
    );
    let resp = match routes.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, mut body) = resp.into_parts();
    let end = body.is_end_stream();
    let Ok(mut send) = respond.send_response(http::Response::from_parts(parts, ()), end) else {
        return;
    };
    if end {
        return;
    }
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(_) => {
                send.send_reset(h2::Reason::INTERNAL_ERROR);
                return;
            }
        };
        let frame = match frame.into_data() {
            Ok(data) => {
                if send_all(&mut send, data).await.is_err() {
                    return;
                }
                continue;
            }
            Err(f) => f,
        };
        if let Ok(trailers) = frame.into_trailers() {
            let _ = send.send_trailers(trailers);
            return;
        }
    }
    let _ = send.send_data(Bytes::new(), true);
}

/// Sends `data` in pieces as the peer's window allows.
async fn send_all(send: &mut SendStream<Bytes>, mut data: Bytes) -> Result<(), h2::Error> {
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let granted = std::future::poll_fn(|cx| send.poll_capacity(cx)).await;
        let n = match granted {
            Some(Ok(n)) => n,
            Some(Err(e)) => return Err(e),
            None => return Err(h2::Error::from(h2::Reason::CANCEL)),
        };
        if n == 0 {
            continue;
        }
        let piece = data.split_to(n.min(data.len()));
        send.send_data(piece, false)?;
    }
    Ok(())
}

/// A request body over an h2 stream. Capacity is given back as soon as a
/// frame is handed over, so the window reflects what the handlers have
/// taken, not what they have processed.
struct Inbound {
    recv: RecvStream,
    data_done: bool,
}

impl Body for Inbound {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        let this = self.get_mut();
        if !this.data_done {
            match ready!(this.recv.poll_data(cx)) {
                Some(Ok(data)) => {
                    let _ = this.recv.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => this.data_done = true,
            }
        }
        match ready!(this.recv.poll_trailers(cx)) {
            Ok(Some(t)) => Poll::Ready(Some(Ok(Frame::trailers(t)))),
            Ok(None) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.recv.is_end_stream()
    }
}
