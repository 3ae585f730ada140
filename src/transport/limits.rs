//! The limits of one call: how large an answer may be, how long no data may move, and how long
//! the whole call may take.
//!
//! - **Size.** A body held in memory is read chunk by chunk and the reading stops as soon as it
//!   passes [`max_body_size`](super::ClientBuilder::max_body_size); a `Content-Length` is neither
//!   trusted to be small nor used to allocate more than the limit. An error answer is read only
//!   up to [`ERROR_BODY_MAX`].
//! - **Idle time.** An [`Activity`] clock is touched when an attempt starts, each time a chunk of
//!   the request body is taken for sending, and each time a chunk of the answer arrives. A call
//!   fails with [`Limit::Idle`] only when that clock stands still for the idle timeout, so a slow
//!   upload or download that keeps moving is never cut, however long it takes. (reqwest's own
//!   `read_timeout` is not used: its timer starts with the request and is not reset until the
//!   answer's headers arrive, so it cuts any upload that takes longer, moving or not.)
//! - **Total time.** An optional deadline covers every attempt of a call and the waits between
//!   them; for a streamed answer it also covers reading the stream.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use tokio::time::Instant;

use crate::error::{Error, HttpError, Limit, LimitError, redact_url};

use super::Prepared;

/// How much of an error answer is read (enough for any server's message; the rest is dropped).
pub(crate) const ERROR_BODY_MAX: usize = 64 * 1024;

/// The default [`max_body_size`](super::ClientBuilder::max_body_size): 256 MiB.
pub(crate) const DEFAULT_MAX_BODY: u64 = 256 * 1024 * 1024;

/// The default [`max_line_length`](super::ClientBuilder::max_line_length): 64 MiB.
pub(crate) const DEFAULT_MAX_LINE: u64 = 64 * 1024 * 1024;

/// The largest piece a request body held in memory is handed to the connection in, so that the
/// idle clock sees it move.
const SEND_CHUNK: usize = 64 * 1024;

/// The limits a transport applies to every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_body: u64,
    pub(crate) max_line: u64,
    pub(crate) idle: Option<Duration>,
    pub(crate) total: Option<Duration>,
}

impl Limits {
    /// The error for `limit` reached by `req`.
    pub(crate) fn error(req: &Prepared, limit: Limit) -> Error {
        LimitError {
            limit,
            method: req.method.to_string(),
            url: redact_url(&req.url),
        }
        .into()
    }
}

/// When data last moved in a call.
#[derive(Debug)]
pub(crate) struct Activity {
    origin: Instant,
    /// Nanoseconds from `origin` to the last movement.
    last: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Activity {
            origin: Instant::now(),
            last: AtomicU64::new(0),
        })
    }

    /// Data moved now.
    pub(crate) fn touch(&self) {
        let nanos = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.fetch_max(nanos, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.origin + Duration::from_nanos(self.last.load(Ordering::Relaxed))
    }

    /// Runs `fut`; `None` when no data moved for `idle` before it finished.
    pub(crate) async fn guard<F: Future>(
        &self,
        idle: Option<Duration>,
        fut: F,
    ) -> Option<F::Output> {
        let Some(idle) = idle else {
            return Some(fut.await);
        };
        let mut fut = pin!(fut);
        // Each turn either finishes, fails, or starts after data moved: it ends with the data.
        loop {
            match tokio::time::timeout_at(self.last() + idle, fut.as_mut()).await {
                Ok(out) => return Some(out),
                Err(_) if self.last() + idle <= Instant::now() => return None,
                Err(_) => {}
            }
        }
    }
}

/// Runs `fut` (waiting for the next chunk of an answer); `None` when it took longer than `idle`.
async fn within<F: Future>(idle: Option<Duration>, fut: F) -> Option<F::Output> {
    match idle {
        Some(idle) => tokio::time::timeout(idle, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// Why reading an answer's body stopped.
pub(crate) enum ReadError {
    Http(reqwest::Error),
    Limit(Limit),
}

/// Reads a success answer's body whole, up to `max` bytes, each chunk within the idle timeout.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    max: u64,
    idle: Option<Duration>,
) -> Result<Bytes, ReadError> {
    if response.content_length().is_some_and(|n| n > max) {
        return Err(ReadError::Limit(Limit::BodySize { max }));
    }
    // The announced length, within the limit, is only a hint for the first allocation (pages
    // not written to are not resident); a body longer than announced is still counted below.
    let hint = response.content_length().unwrap_or(0).min(max);
    let mut body = BytesMut::with_capacity(usize::try_from(hint).unwrap_or(0));
    // Each turn adds a chunk or ends: the body is bounded by `max`.
    loop {
        let chunk = within(idle, response.chunk())
            .await
            .ok_or(ReadError::Limit(Limit::Idle {
                after: idle.unwrap_or_default(),
            }))?
            .map_err(ReadError::Http)?;
        let Some(chunk) = chunk else {
            return Ok(body.freeze());
        };
        if (body.len() + chunk.len()) as u64 > max {
            return Err(ReadError::Limit(Limit::BodySize { max }));
        }
        body.extend_from_slice(&chunk);
    }
}

/// Reads at most [`ERROR_BODY_MAX`] bytes of an error answer (what could not be read is left
/// out: the answer is an error either way).
pub(crate) async fn read_error_body(
    response: &mut reqwest::Response,
    idle: Option<Duration>,
) -> Bytes {
    let mut body = BytesMut::new();
    while body.len() < ERROR_BODY_MAX {
        match within(idle, response.chunk()).await {
            Some(Ok(Some(chunk))) => {
                let room = ERROR_BODY_MAX - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    body.freeze()
}

/// An answer's body as a stream, each chunk within the idle timeout (counted from when the
/// reader asks for it) and all of it before `deadline`; past either the stream ends with the
/// error.
pub(crate) fn guard_stream(
    response: reqwest::Response,
    req: &Prepared,
    idle: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
) -> impl Stream<Item = crate::Result<Bytes>> + Send + 'static {
    let (method, url) = (req.method.clone(), req.url.clone());
    let limit_error = {
        let (method, url) = (method.to_string(), redact_url(&url));
        move |limit| {
            Error::from(LimitError {
                limit,
                method: method.clone(),
                url: url.clone(),
            })
        }
    };
    let mut inner = response.bytes_stream().boxed();
    async_stream::try_stream! {
        // Ends when the body does, when it breaks, or at a limit.
        loop {
            let next = within(idle, inner.next());
            let next = match deadline {
                Some((at, after)) => tokio::time::timeout_at(at, next)
                    .await
                    .map_err(|_| limit_error(Limit::Total { after }))?,
                None => next.await,
            };
            let next = next.ok_or_else(|| limit_error(Limit::Idle {
                after: idle.unwrap_or_default(),
            }))?;
            match next {
                None => break,
                Some(chunk) => {
                    yield chunk.map_err(|e| Error::from(HttpError::new(&method, &url, e)))?;
                }
            }
        }
    }
}

/// A request body held in memory, handed to the connection in pieces of [`SEND_CHUNK`] bytes
/// that touch the idle clock as they go. Its exact length is known, so it is sent with a
/// `Content-Length`.
pub(crate) struct SendBody {
    rest: Bytes,
    activity: Arc<Activity>,
}

impl SendBody {
    pub(crate) fn new(bytes: Bytes, activity: Arc<Activity>) -> Self {
        SendBody {
            rest: bytes,
            activity,
        }
    }
}

impl http_body::Body for SendBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.rest.len().min(SEND_CHUNK);
        let piece = self.rest.split_to(n);
        self.activity.touch();
        Poll::Ready(Some(Ok(http_body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    #[test]
    fn a_body_in_memory_goes_out_in_pieces_of_known_length_moving_the_clock() {
        let data = Bytes::from((0..200_000u32).map(|i| i as u8).collect::<Vec<u8>>());
        let activity = Activity::new();
        let mut body = SendBody::new(data.clone(), activity.clone());
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        let mut sent = Vec::new();
        let mut pieces = 0;
        assert_eq!(body.size_hint().exact(), Some(200_000));
        while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
            let piece = frame.into_data().unwrap();
            assert!(piece.len() <= SEND_CHUNK);
            sent.extend_from_slice(&piece);
            pieces += 1;
            assert_eq!(body.size_hint().exact(), Some(200_000 - sent.len() as u64));
            assert!(pieces <= 4, "at most 4 pieces of 64 KiB");
        }
        assert!(body.is_end_stream());
        assert_eq!(sent, data);
        assert_eq!(pieces, 4);
        assert!(activity.last.load(Ordering::Relaxed) > 0, "the clock moved");
    }
}
