//! Trouble on demand: latency, error statuses, rate limiting and bodies cut mid-way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Instant;

use super::Platform;

/// Faults injected into every sandbox server, changeable while the servers run.
///
/// ```no_run
/// # async fn run(sandbox: casefile::testkit::Sandbox) {
/// use std::time::Duration;
///
/// let faults = sandbox.faults();
/// faults.set_latency(Duration::from_millis(20)); // every answer 20 ms late
/// faults.fail_next(3, 503);                      // the next three requests get a 503
/// faults.cut_next(1);                            // the next body stops half-way
/// faults.rate_limit(10, Duration::from_secs(1)); // 429 past 10 requests a second
/// faults.clear();
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    latency_micros: AtomicU64,
    failures: Mutex<VecDeque<u16>>,
    cuts: AtomicU32,
    rate_limit: Mutex<Option<Window>>,
    requests: [AtomicU64; 3],
}

#[derive(Debug)]
struct Window {
    requests: u32,
    length: Duration,
    seen: VecDeque<Instant>,
}

impl Faults {
    /// Delays every answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.inner.latency_micros.store(micros, Ordering::Relaxed);
    }

    /// Answers the next `n` requests with `status` (an HTML body, as a proxy would send; a 429
    /// carries `Retry-After: 1`).
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut failures = self
            .inner
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        failures.extend(std::iter::repeat_n(status, n as usize));
    }

    /// Cuts the body of the next `n` answers half-way, as a dropped connection would.
    pub fn cut_next(&self, n: u32) {
        self.inner.cuts.fetch_add(n, Ordering::Relaxed);
    }

    /// Answers 429 with `Retry-After` to requests past `requests` in any `window` (all platforms
    /// together).
    pub fn rate_limit(&self, requests: u32, window: Duration) {
        *self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Window {
            requests,
            length: window,
            seen: VecDeque::new(),
        });
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.set_latency(Duration::ZERO);
        self.inner
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.inner.cuts.store(0, Ordering::Relaxed);
        *self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub(super) fn requests(&self, platform: Platform) -> u64 {
        self.inner.requests[platform as usize].load(Ordering::Relaxed)
    }

    fn take_failure(&self) -> Option<u16> {
        self.inner
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }

    fn take_cut(&self) -> bool {
        self.inner
            .cuts
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// `Some(wait)` when this request is over the rate limit.
    fn over_rate_limit(&self) -> Option<Duration> {
        let mut limit = self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let window = limit.as_mut()?;
        let now = Instant::now();
        while window
            .seen
            .front()
            .is_some_and(|&t| now.duration_since(t) >= window.length)
        {
            window.seen.pop_front();
        }
        if window.seen.len() < window.requests as usize {
            window.seen.push_back(now);
            return None;
        }
        window.seen.front().map(|&t| t + window.length - now)
    }
}

/// Wraps a platform's router with the faults and its request counter.
pub(super) fn wrap(router: Router, faults: Faults, platform: Platform) -> Router {
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let faults = faults.clone();
            async move { inject(faults, platform, request, next).await }
        },
    ))
}

async fn inject(faults: Faults, platform: Platform, request: Request, next: Next) -> Response {
    faults.inner.requests[platform as usize].fetch_add(1, Ordering::Relaxed);
    let latency = faults.inner.latency_micros.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_micros(latency)).await;
    }
    if let Some(wait) = faults.over_rate_limit() {
        let mut response = html(429, "Too Many Requests");
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        if let Ok(value) = secs.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if let Some(status) = faults.take_failure() {
        let mut response = html(status, "Injected fault");
        if status == 429 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        return response;
    }
    let response = next.run(request).await;
    if !faults.take_cut() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    // The headers and the first half go out; then the connection breaks.
    let cut = async_stream::stream! {
        yield Ok::<_, std::io::Error>(half);
        tokio::time::sleep(Duration::from_millis(20)).await;
        yield Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected: connection dropped"));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from_stream(cut))
}

fn html(status: u16, text: &str) -> Response {
    super::raw(
        status,
        "text/html; charset=utf-8",
        format!("<html><body><h1>{status}</h1><p>{text}</p></body></html>"),
    )
}
