//! The one request pipeline every platform client uses.
//!
//! A [`Transport`] owns the HTTP connection pool, the base URL, the credentials, the retry policy
//! and the optional rate limiter. Every operation of every platform goes through
//! [`RequestBuilder::send`] (or one of its siblings), which
//!
//! 1. waits for the rate limiter, if one is set;
//! 2. signs the request (Bearer, ApiKey, or Digest with a cached challenge);
//! 3. sends it, answering a digest challenge or a stale nonce once;
//! 4. turns an error status into an [`ApiError`] that keeps the server's message;
//! 5. retries what is safe to retry (see [`RetryPolicy`]);
//! 6. decodes the body, naming the JSON path of a value that does not fit.
//!
//! The platform clients are thin layers over this; [`Transport`] is also public so that an
//! endpoint casefile does not model yet can still be called with the same guarantees:
//!
//! ```no_run
//! # async fn run() -> casefile::Result<()> {
//! use casefile::{Auth, Transport};
//!
//! let api = Transport::builder("https://aleph.example.org/api/2/")
//!     .auth(Auth::api_key("secret"))
//!     .build()?;
//! let me: serde_json::Value = api.get(&["roles", "me"]).send().await?;
//! # Ok(()) }
//! ```

mod auth;
pub(crate) mod body;
mod builder;
mod dialect;
pub(crate) mod digest;
mod limits;
mod rate_limit;
mod request;
pub(crate) mod retry;
mod trace;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

pub use auth::{Auth, Secret};
pub use body::ByteStream;
pub use builder::ClientBuilder;
pub(crate) use builder::setting;
pub use rate_limit::RateLimit;
pub(crate) use request::Gate;
pub use request::RequestBuilder;
pub use retry::{RetryEvent, RetryPolicy};

use crate::error::{ApiError, DecodeError, Error, HttpError, Limit, Result, redact_url, snippet};
use auth::Credentials;
use builder::is_loopback;
pub(crate) use dialect::{Dialect, Unwrapped};
use digest::{DigestChallenge, OnChallenge};
use limits::{Limits, ReadError};
use rate_limit::RateLimiter;
use request::{Body, Prepared};
use retry::{Outcome, Retrier};

/// The `User-Agent` casefile sends (an application name can be put in front of it).
pub const USER_AGENT: &str = concat!("casefile/", env!("CARGO_PKG_VERSION"));

/// A configured connection to one API: pool, base URL, credentials, retries, rate limit.
///
/// Cloning is cheap (an `Arc`), and clones share the pool, the digest session and the limiter.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
    /// What this handle's requests count under in the rate limiter; see
    /// [`rate_group`](Self::rate_group).
    rate_key: Option<Arc<str>>,
}

struct Inner {
    http: reqwest::Client,
    api_base: Url,
    api_prefix: &'static str,
    credentials: Credentials,
    retry: RetryPolicy,
    limits: Limits,
    limiter: Option<RateLimiter>,
    /// Plain `http://` to hosts other than loopback was allowed on the builder.
    allow_http: bool,
    dialect: Dialect,
    /// Headers of every request to the platform (not to the hosts of `get_external`).
    headers: reqwest::header::HeaderMap,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("api_base", &redact_url(&self.inner.api_base))
            .field("credentials", &self.inner.credentials)
            .field("retry", &self.inner.retry)
            .field("rate_limit", &self.inner.limiter)
            .field("rate_group", &self.rate_key)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A builder for a bare transport whose paths are relative to `base_url`.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder<Transport> {
        ClientBuilder::new(Dialect::PLAIN).base_url(base_url)
    }

    /// The URL that paths are relative to (ends with `/`).
    pub fn api_base(&self) -> &Url {
        &self.inner.api_base
    }

    /// The retry policy of every request of this transport (a request can have its own:
    /// [`RequestBuilder::retry`]).
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The same transport (pool, credentials, limiter shared) whose requests count under `group`
    /// in the client-side rate limiter, for servers that limit each group of endpoints apart
    /// (Atlas). A request can still name its own: [`RequestBuilder::rate_key`].
    pub fn rate_group(&self, group: impl Into<String>) -> Transport {
        Transport {
            inner: self.inner.clone(),
            rate_key: Some(Arc::from(group.into())),
        }
    }

    /// A request to the path made of `segments`, each percent-encoded as one segment.
    pub fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let url = crate::path::join(&self.inner.api_base, segments);
        RequestBuilder::new(self.clone(), method, url)
    }

    /// A `GET` of the path made of `segments`.
    pub fn get(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::GET, segments)
    }

    /// A `POST` to the path made of `segments`.
    pub fn post(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::POST, segments)
    }

    /// A `PUT` to the path made of `segments`.
    pub fn put(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::PUT, segments)
    }

    /// A `PATCH` of the path made of `segments`.
    pub fn patch(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::PATCH, segments)
    }

    /// A `DELETE` of the path made of `segments`.
    pub fn delete(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::DELETE, segments)
    }

    /// A `GET` of an absolute URL the server handed out (a `next` link). A URL on another origin
    /// is rebased onto this transport's base URL, so credentials never leave for another host.
    pub fn get_url(&self, url: &Url) -> RequestBuilder {
        RequestBuilder::new(self.clone(), Method::GET, Ok(self.rebase(url)))
    }

    /// `url` on this transport's origin: same-origin URLs are kept; for others the part of the
    /// path after the API prefix (or the whole path) and the query are put under the base URL.
    pub(crate) fn rebase(&self, url: &Url) -> Url {
        let base = &self.inner.api_base;
        if url.origin() == base.origin() {
            return url.clone();
        }
        let prefix = format!("/{}", self.inner.api_prefix);
        let mut out = base.clone();
        match url.path().find(&prefix).filter(|_| prefix.len() > 1) {
            Some(at) => {
                let rest = &url.path()[at + prefix.len()..];
                out.set_path(&format!("{}{rest}", base.path()));
            }
            None => out.set_path(url.path()),
        }
        out.set_query(url.query());
        out
    }

    /// A `GET` of a URL on another host (a presigned storage URL) that carries no credentials
    /// of this transport, whatever the URL's origin, but has its timeouts and retries.
    ///
    /// A presigned URL is a capability: whoever sees it can fetch the file. So a plain `http://`
    /// URL to a host other than loopback is refused (unless the builder had
    /// [`allow_http(true)`](ClientBuilder::allow_http)), as a redirect to one is; sending it
    /// fails with [`Error::InvalidInput`] before anything goes over the network.
    pub fn get_external(&self, url: Url) -> RequestBuilder {
        let url = if !matches!(url.scheme(), "http" | "https") {
            Err(Error::invalid(
                "url",
                format!("`{}:` is not an http(s) URL", url.scheme()),
            ))
        } else if url.scheme() == "http" && !self.inner.allow_http && !is_loopback(&url) {
            Err(Error::invalid(
                "url",
                format!(
                    "refusing plain http:// to {}: the signed URL would travel unencrypted; \
                     use https:// or allow_http(true)",
                    url.host_str().unwrap_or("?")
                ),
            ))
        } else {
            Ok(url)
        };
        let mut request = RequestBuilder::new(self.clone(), Method::GET, url);
        request.external = true;
        request
    }

    /// The retry policy for `req`: its own, or this transport's.
    fn policy<'a>(&'a self, req: &'a Prepared) -> &'a RetryPolicy {
        req.retry.as_ref().unwrap_or(&self.inner.retry)
    }

    /// The total timeout of `req`, if it has one.
    fn total_timeout(&self, req: &Prepared) -> Option<Duration> {
        req.total.or(self.inner.limits.total)
    }

    /// Sends `req` with retries, reading the whole body inside the retry loop (so a connection
    /// dropped mid-body is retried like any other interruption), all within the total timeout.
    async fn execute_full(&self, req: &Prepared) -> Result<(StatusCode, Bytes)> {
        let retries = async {
            match self.total_timeout(req) {
                Some(after) => tokio::time::timeout(after, self.retry_full(req))
                    .await
                    .unwrap_or_else(|_| Err(Limits::error(req, Limit::Total { after }))),
                None => self.retry_full(req).await,
            }
        };
        trace::request(req, &self.inner.api_base, |(s, _)| s.as_u16(), retries).await
    }

    /// The retry loop of [`execute_full`](Self::execute_full).
    async fn retry_full(&self, req: &Prepared) -> Result<(StatusCode, Bytes)> {
        let mut retrier = Retrier::new(self.policy(req), req.idempotent);
        let limits = &self.inner.limits;
        loop {
            let failure = match self.attempt(req).await {
                Ok(mut response) => {
                    let status = response.status();
                    match limits::read_body(&mut response, limits.max_body, limits.idle).await {
                        Ok(body) => return Ok((status, body)),
                        Err(ReadError::Http(e)) => Failure::http(req, e),
                        Err(ReadError::Limit(limit)) => Failure::limit(req, limit),
                    }
                }
                Err(failure) => failure,
            };
            wait_or_fail(&mut retrier, failure, req).await?;
        }
    }

    /// Sends `req` with retries and returns as soon as a success status and headers arrived,
    /// before `deadline` (when it took `after`).
    async fn execute_head(
        &self,
        req: &Prepared,
        deadline: Option<(tokio::time::Instant, Duration)>,
    ) -> Result<reqwest::Response> {
        let status = |r: &reqwest::Response| r.status().as_u16();
        let retries = async {
            match deadline {
                Some((at, after)) => tokio::time::timeout_at(at, self.retry_head(req))
                    .await
                    .unwrap_or_else(|_| Err(Limits::error(req, Limit::Total { after }))),
                None => self.retry_head(req).await,
            }
        };
        trace::request(req, &self.inner.api_base, status, retries).await
    }

    /// The retry loop of [`execute_head`](Self::execute_head).
    async fn retry_head(&self, req: &Prepared) -> Result<reqwest::Response> {
        let mut retrier = Retrier::new(self.policy(req), req.idempotent);
        loop {
            match self.attempt(req).await {
                Ok(response) => return Ok(response),
                Err(failure) => wait_or_fail(&mut retrier, failure, req).await?,
            }
        }
    }

    /// One attempt: rate limit, sign, send, answer a digest challenge, read an error body.
    async fn attempt(&self, req: &Prepared) -> Result<reqwest::Response, Failure> {
        let mut challenges_answered = 0;
        // A nonce rotated without `stale` is answered once; a second refusal is the error.
        let mut rotation_answered = false;
        let idle = self.inner.limits.idle;
        loop {
            // Held until the answer's head arrives (or the attempt fails): the slot's window
            // starts then, see `RateLimiter`.
            let mut permit = None;
            if let Some(limiter) = &self.inner.limiter {
                let key = req.rate_key.as_deref().unwrap_or("");
                let (taken, waited) = limiter.acquire(key).await;
                trace::rate_limited(key, waited);
                permit = Some(taken);
            }
            let mut builder = self
                .inner
                .http
                .request(req.method.clone(), req.url.clone())
                .header(ACCEPT, req.accept.clone());
            let mut signed_nonce = None;
            let credentials = match req.external {
                true => &Credentials::None,
                false => {
                    builder = builder.headers(self.inner.headers.clone());
                    &self.inner.credentials
                }
            };
            match credentials {
                Credentials::None => {}
                Credentials::Header(value) => {
                    builder = builder.header(AUTHORIZATION, value.clone())
                }
                Credentials::Digest(digest) => {
                    if let Some((header, nonce)) =
                        digest.header(req.method.as_str(), &request_target(&req.url))
                    {
                        let mut value = HeaderValue::from_str(&header).map_err(|_| {
                            Failure::fatal(Error::Config(
                                "the digest credentials contain characters a header cannot carry"
                                    .into(),
                            ))
                        })?;
                        value.set_sensitive(true);
                        builder = builder.header(AUTHORIZATION, value);
                        signed_nonce = Some(nonce);
                    }
                }
            }
            builder = match &req.body {
                Body::Empty => builder,
                Body::Bytes(content_type, bytes) => builder
                    .header(CONTENT_TYPE, *content_type)
                    .header(CONTENT_LENGTH, bytes.len())
                    .body(reqwest::Body::wrap(limits::SendBody::new(
                        bytes.clone(),
                        req.activity.clone(),
                    ))),
                Body::Multipart(make) => make().await.map_err(Failure::fatal)?.attach(builder),
            };
            // The idle clock runs from here; sending the body and the first chunk of the
            // answer move it on.
            req.activity.touch();
            let response = req
                .activity
                .guard(idle, builder.send())
                .await
                .ok_or_else(|| {
                    Failure::limit(
                        req,
                        Limit::Idle {
                            after: idle.unwrap_or_default(),
                        },
                    )
                })?
                .map_err(|e| Failure::http(req, e))?;
            drop(permit);
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            // Only the configured origin's challenge is ours: a redirect may end on another
            // host (whose 401 never saw our credentials, as reqwest drops them when the origin
            // changes), and its challenge must not replace the one the session signs with.
            if status == StatusCode::UNAUTHORIZED
                && let Credentials::Digest(digest) = credentials
                && challenges_answered < 2
                && response.url().origin() == req.url.origin()
                && let Some(challenge) = DigestChallenge::best(
                    response
                        .headers()
                        .get_all(WWW_AUTHENTICATE)
                        .iter()
                        .filter_map(|v| v.to_str().ok()),
                )
                && digest.on_challenge(challenge, signed_nonce.as_deref(), &mut rotation_answered)
                    == OnChallenge::Resend
            {
                challenges_answered += 1;
                continue;
            }
            let retry_after = retry::retry_after(response.headers());
            let mut response = response;
            let body = limits::read_error_body(&mut response, idle).await;
            let error = self.api_error(req, status.as_u16(), &body, retry_after);
            return Err(Failure::api(error));
        }
    }

    /// The [`ApiError`] for an error answer, read from whichever error shape the body has.
    fn api_error(
        &self,
        req: &Prepared,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> ApiError {
        let mut error = ApiError::from_body(
            status,
            body,
            req.method.as_str(),
            redact_url(&req.url),
            retry_after,
        );
        (self.inner.dialect.classify)(&mut error);
        error
    }

    /// Where the payload of the success `body` of `req` is, as the platform's dialect reads it
    /// (`None`: the body carries none); a refusal in it is the error.
    fn payload(&self, req: &Prepared, body: &[u8]) -> Result<Option<Range<usize>>> {
        match (self.inner.dialect.unwrap)(body) {
            Unwrapped::Json(at) => Ok(Some(at)),
            Unwrapped::Nothing => Ok(None),
            Unwrapped::Refused {
                status,
                body: at,
                message,
            } => {
                let mut error = ApiError::from_body(
                    status,
                    body.get(at).unwrap_or_default(),
                    req.method.as_str(),
                    redact_url(&req.url),
                    None,
                );
                let canonical = StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                if let Some(message) = message
                    && Some(error.message.as_str()) == canonical
                {
                    error.message = message.to_owned();
                }
                (self.inner.dialect.classify)(&mut error);
                Err(error.into())
            }
        }
    }

    /// Decodes the payload of a success body (an empty one as `null`); on failure names the JSON
    /// path and shows the start of the body.
    fn decode<T: DeserializeOwned>(
        &self,
        req: &Prepared,
        status: StatusCode,
        body: &[u8],
    ) -> Result<T> {
        let payload = match self.payload(req, body)? {
            Some(at) => body.get(at).unwrap_or_default(),
            None => b"",
        };
        // An empty answer (`204 No Content`) decodes as `null`: as `()`, say. An error shows
        // the answer as it came.
        let json: &[u8] = match payload.trim_ascii() {
            b"" => b"null",
            _ => payload,
        };
        decode_json(payload, json, "", status, &req.method, &req.url)
    }
}

/// Decodes `part` (all or a piece of the JSON `body`) as `T`. On failure the error names the JSON
/// path, after `field` when `part` is that field's value, and shows the start of `body`.
fn decode_json<'a, T: Deserialize<'a>>(
    body: &[u8],
    part: &'a [u8],
    field: &str,
    status: StatusCode,
    method: &Method,
    url: &Url,
) -> Result<T> {
    if let Ok(value) = serde_json::from_slice(part) {
        return Ok(value);
    }
    // Decode again, slowly, only to say where it failed (after the value, if nothing else).
    let mut de = serde_json::Deserializer::from_slice(part);
    let failure = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => return Ok(value),
            Err(e) => (".".to_owned(), e.to_string()),
        },
        Err(e) => (e.path().to_string(), e.inner().to_string()),
    };
    let (inner, message) = failure;
    let path = match (field, inner.as_str()) {
        ("", _) => inner.clone(),
        (field, ".") => field.to_owned(),
        (field, inner) if inner.starts_with('[') => format!("{field}{inner}"),
        (field, inner) => format!("{field}.{inner}"),
    };
    Err(DecodeError {
        status: status.as_u16(),
        path,
        message,
        method: method.to_string(),
        url: redact_url(url),
        body: snippet(body),
    }
    .into())
}

/// A success answer whose JSON is decoded later, and maybe in pieces: the paginator's background
/// task reads a page's next token from it, and the caller's poll decodes the items.
#[cfg_attr(
    not(any(feature = "atlos", feature = "aleph", feature = "atlas")),
    allow(dead_code)
)]
pub(crate) struct Answer {
    method: Method,
    url: Url,
    status: StatusCode,
    body: Bytes,
    /// Where the payload is in `body`, as the platform's dialect reads it (an Atlas envelope's
    /// content, say).
    json: Range<usize>,
}

#[cfg_attr(
    not(any(feature = "atlos", feature = "aleph", feature = "atlas")),
    allow(dead_code)
)]
impl Answer {
    /// The JSON payload of the answer (an envelope already unwrapped by the dialect).
    pub(crate) fn json(&self) -> &[u8] {
        self.body.get(self.json.clone()).unwrap_or_default()
    }

    /// Decodes the whole JSON as `T`.
    pub(crate) fn decode<'a, T: Deserialize<'a>>(&'a self) -> Result<T> {
        let json = self.json();
        decode_json(json, json, "", self.status, &self.method, &self.url)
    }

    /// Decodes the piece `at` of the JSON (see [`span`](Self::span)), the value of `field`.
    pub(crate) fn decode_part<'a, T: Deserialize<'a>>(
        &'a self,
        at: Range<usize>,
        field: &str,
    ) -> Result<T> {
        let json = self.json();
        let part = json.get(at).unwrap_or_default();
        decode_json(json, part, field, self.status, &self.method, &self.url)
    }

    /// Where `piece`, a slice of [`json`](Self::json) (a borrowed `RawValue`), lies in it.
    pub(crate) fn span(&self, piece: &[u8]) -> Option<Range<usize>> {
        within(self.json(), piece)
    }

    /// A decode error about this answer: `message` at the JSON `path`.
    pub(crate) fn decode_error(&self, path: &str, message: String) -> Error {
        DecodeError {
            status: self.status.as_u16(),
            path: path.to_owned(),
            message,
            method: self.method.to_string(),
            url: redact_url(&self.url),
            body: snippet(self.json()),
        }
        .into()
    }
}

#[cfg(any(test, feature = "fuzzing"))]
impl Answer {
    /// An answer to `GET url` whose body is `json`, for unit tests and fuzzing.
    pub(crate) fn from_json(url: Url, json: impl Into<Bytes>) -> Answer {
        let body = json.into();
        Answer {
            method: Method::GET,
            url,
            status: StatusCode::OK,
            json: 0..body.len(),
            body,
        }
    }
}

/// Where `piece` lies in `whole`, when it is a slice of it.
#[cfg_attr(
    not(any(feature = "atlos", feature = "aleph", feature = "atlas")),
    allow(dead_code)
)]
pub(crate) fn within(whole: &[u8], piece: &[u8]) -> Option<Range<usize>> {
    let start = (piece.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(piece.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The request-target a digest `uri` covers: path and query.
fn request_target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Sleeps before the next attempt, or ends the call with `failure` when it is not to be retried.
async fn wait_or_fail(retrier: &mut Retrier<'_>, failure: Failure, req: &Prepared) -> Result<()> {
    let server_wait = failure.error.api().and_then(|api| api.retry_after);
    match retrier.next_wait(failure.outcome, server_wait) {
        Some(wait) if req.resendable => {
            trace::retry(retrier.retries(), wait, &failure);
            if let Some(hook) = &req.on_retry {
                hook(&RetryEvent {
                    attempt: retrier.retries(),
                    wait,
                    error: &failure.error,
                });
            }
            tokio::time::sleep(wait).await;
            Ok(())
        }
        _ => Err(failure.error),
    }
}

/// Why an attempt failed, and what that means for sending it again.
struct Failure {
    error: Error,
    outcome: Outcome,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Error::Api(e) => write!(f, "status {}", e.status),
            Error::Http(e) => write!(f, "{:?}", e.kind),
            Error::Limit(e) => write!(f, "{}", e.limit),
            e => write!(f, "{e}"),
        }
    }
}

impl Failure {
    fn fatal(error: Error) -> Self {
        Failure {
            error,
            outcome: Outcome::Fatal,
        }
    }

    fn api(error: ApiError) -> Self {
        Failure {
            outcome: Outcome::Status(error.status),
            error: error.into(),
        }
    }

    fn http(req: &Prepared, e: reqwest::Error) -> Self {
        let outcome = if e.is_connect() {
            Outcome::ConnectFailed
        } else {
            Outcome::Interrupted
        };
        Failure {
            error: HttpError::new(&req.method, &req.url, e).into(),
            outcome,
        }
    }

    /// A limit reached: an idle connection is retried like a broken one, a body over the size
    /// limit is not (it would be as large again).
    fn limit(req: &Prepared, limit: Limit) -> Self {
        let outcome = match limit {
            Limit::Idle { .. } => Outcome::Interrupted,
            _ => Outcome::Fatal,
        };
        Failure {
            error: Limits::error(req, limit),
            outcome,
        }
    }
}
