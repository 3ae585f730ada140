//! What the pipeline tells `tracing` (feature `tracing`): one span per request, retries and
//! rate-limit waits as events inside it. With the feature off every function here is a no-op.
//!
//! The span `casefile.request` has the fields `method`, `route` (the path with ids elided, e.g.
//! `/api/2/collections/{id}/_bulk`), `attempt` (how many times the request was sent), `status`
//! (of the last answer) and `duration_ms` (until the body was read, or for a streamed body until
//! the headers arrived). No header and no query value is ever recorded: the route has no query,
//! and the error text of a failed request shows its URL the way every casefile error does
//! (scheme, host, path and the query's parameter names, values elided, no userinfo), so no
//! credential, token, signature or search term can reach a log.

use std::future::Future;
use std::time::Duration;

use url::Url;

use super::Prepared;
use crate::error::Result;

/// Runs one request's retry loop `fut` inside its span and records how it ended.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(super) async fn request<T>(
    req: &Prepared,
    base: &Url,
    status_of: fn(&T) -> u16,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument;
        use tracing::field::Empty;

        let span = tracing::info_span!(
            "casefile.request",
            method = %req.method,
            route = %route(&req.url, base, req.external),
            attempt = 1u32,
            status = Empty,
            duration_ms = Empty,
        );
        let started = std::time::Instant::now();
        let result = fut.instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(value) => {
                span.record("status", status_of(value));
            }
            Err(e) => {
                if let Some(status) = e.status() {
                    span.record("status", status);
                }
                tracing::debug!(parent: &span, error = %e, "request failed");
            }
        }
        result
    }
    #[cfg(not(feature = "tracing"))]
    fut.await
}

/// Attempt `attempt` failed with `reason` (a status or what broke) and is retried after `wait`.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(super) fn retry(attempt: u32, wait: Duration, reason: &dyn std::fmt::Display) {
    #[cfg(feature = "tracing")]
    {
        tracing::Span::current().record("attempt", attempt + 1);
        tracing::warn!(
            attempt,
            wait_ms = wait.as_millis() as u64,
            reason = %reason,
            "retrying"
        );
    }
}

/// The client-side rate limiter held the request back for `waited`.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(super) fn rate_limited(key: &str, waited: Duration) {
    #[cfg(feature = "tracing")]
    if !waited.is_zero() {
        tracing::info!(
            key,
            waited_ms = waited.as_millis() as u64,
            "rate limit wait"
        );
    }
}

/// The path of `url` with every segment that looks like an id replaced by `{id}`: the segments
/// under the API base are kept only when they are lowercase words (`collections`, `_bulk`,
/// `source_material`); numbers, UUIDs, slugs, hashes and file names are elided. A URL on another
/// host (a presigned download) is shown as `host/{id}/...`.
#[cfg(feature = "tracing")]
fn route(url: &Url, base: &Url, external: bool) -> String {
    let path = url.path();
    let (kept, rest) = match path.strip_prefix(base.path()) {
        Some(rest) if !external => (base.path().to_owned(), rest),
        _ => (
            format!("{}/", url.host_str().unwrap_or_default()),
            path.trim_start_matches('/'),
        ),
    };
    let mut route = kept;
    for (i, segment) in rest.split('/').enumerate() {
        if i > 0 {
            route.push('/');
        }
        let word = (1..=40).contains(&segment.len())
            && segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-');
        route.push_str(if word || segment.is_empty() {
            segment
        } else {
            "{id}"
        });
    }
    route
}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use super::*;

    #[test]
    fn ids_are_elided_from_routes() {
        let base = Url::parse("https://aleph.example.org/api/2/").unwrap();
        let cases = [
            (
                "https://aleph.example.org/api/2/collections/4/_bulk?k=s",
                "/api/2/collections/{id}/_bulk",
            ),
            (
                "https://aleph.example.org/api/2/entities/b2c0104f5c8a1cd9b075",
                "/api/2/entities/{id}",
            ),
            (
                "https://aleph.example.org/api/2/incidents/CIV-AD12H4/comment",
                "/api/2/incidents/{id}/comment",
            ),
            (
                "https://aleph.example.org/api/2/x/e52a9631-e38f-4e77-8c08-38001a80ad36/",
                "/api/2/x/{id}/",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(route(&Url::parse(url).unwrap(), &base, false), expected);
        }
        let presigned = Url::parse("https://s3.example.org/bucket/table-4.csv?sig=x").unwrap();
        assert_eq!(route(&presigned, &base, true), "s3.example.org/bucket/{id}");
    }
}
