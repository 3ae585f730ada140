//! One error type for every operation of every platform.
//!
//! A server's refusal is [`Error::Api`] carrying an [`ApiError`]: the HTTP status, a classified
//! [`ErrorKind`], the server's own message, code, field errors and `Retry-After`, the method and
//! URL of the request (query values elided) and the start of the body. Everything else that can go
//! wrong has its own variant: the request never got an answer ([`Error::Http`]), the answer was
//! not what the model expects ([`Error::Decode`]), an argument was refused before anything was
//! sent ([`Error::InvalidInput`]), a paginated listing went wrong ([`Error::Pagination`]), a local
//! file failed ([`Error::Io`]), the client was configured wrongly ([`Error::Config`]) or one of
//! the client's limits on size and time stopped the call ([`Error::Limit`]).
//!
//! ```
//! use casefile::{Error, ErrorKind};
//!
//! fn explain(err: &Error) -> &'static str {
//!     match err {
//!         Error::Api(api) if api.kind == ErrorKind::NotFound => "no such thing",
//!         Error::Api(api) if api.kind == ErrorKind::RateLimited => "slow down",
//!         Error::InvalidInput { .. } => "fix the arguments; nothing was sent",
//!         _ if err.is_timeout() => "the server was too slow",
//!         _ => "something else",
//!     }
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How many bytes of a body an error keeps, so that a log line shows what the server said.
pub(crate) const SNIPPET_BYTES: usize = 512;

/// A batch operation that stopped part-way (an Aleph bulk load, say): how far it got, the ids of
/// the items it read but did not do, and why it stopped.
///
/// Items after the failure that were not yet read from the input were not done either; they are
/// not listed (an input may be endless), but [`read`](Self::read) tells how far it was consumed.
#[derive(Debug, thiserror::Error)]
#[error(
    "{operation} stopped after {done} items: {} items were not done (ids: {}); {source}",
    not_done.len(), show_ids(not_done)
)]
#[non_exhaustive]
pub struct PartialError {
    /// What stopped, e.g. `bulk load into collection 4`.
    pub operation: String,
    /// Items done before and while it failed (for a bulk load, entities written).
    pub done: u64,
    /// Requests that succeeded (for a bulk load, chunks).
    pub requests: u64,
    /// Times a request was sent again after a transient failure (each retry counts once).
    pub retries: u64,
    /// Items read from the input.
    pub read: u64,
    /// The ids of the items read but not done (failed or unsent requests).
    pub not_done: Vec<String>,
    /// The items refused before they were sent (an entity that does not fit the server's
    /// model, say), each with its index in the input and the reason.
    pub rejected: Vec<Rejected>,
    /// Why it stopped.
    #[source]
    pub source: Error,
}

/// An item of a batch refused before it was sent: where it was in the input, its id, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejected {
    /// Its position in the input, counting from 0.
    pub index: u64,
    /// Its id, if it has one.
    pub id: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

impl Rejected {
    pub(crate) fn new(index: u64, id: Option<String>, reason: String) -> Self {
        Rejected { index, id, reason }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "item at index {} ({}): {}",
            self.index,
            self.id.as_deref().unwrap_or("no id"),
            self.reason
        )
    }
}

/// The first few `ids`, and how many more there are.
fn show_ids(ids: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(", … {} more", ids.len() - SHOWN));
    }
    text
}

impl From<PartialError> for Error {
    fn from(e: PartialError) -> Self {
        Error::Partial(Box::new(e))
    }
}

/// Everything that can go wrong in casefile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (or an error body where the platform does so with
    /// a success status).
    #[error(transparent)]
    Api(Box<ApiError>),

    /// The request got no complete answer: the connection failed, timed out or broke mid-body.
    #[error(transparent)]
    Http(Box<HttpError>),

    /// The server answered successfully but the body is not what was expected.
    #[error(transparent)]
    Decode(Box<DecodeError>),

    /// A batch operation (an Aleph bulk load, say) stopped part-way: what it did, the ids of the
    /// items it read but did not do, and why. See [`PartialError`].
    #[error(transparent)]
    Partial(Box<PartialError>),

    /// An argument was refused before any request was sent.
    #[error("invalid {argument}: {reason}")]
    InvalidInput {
        /// Which argument, e.g. `"slug"` or `"label"`.
        argument: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// The server does not have what the call needs: a route of the other Aleph (`touch` on
    /// OpenAleph, `mentions` on Aleph 4.1), or one that came in a later release. Nothing was
    /// sent (but `GET /metadata`, to learn which server it is).
    #[error("`{operation}` does not exist on {server}: {instead}")]
    Unsupported {
        /// The operation or parameter, e.g. `"touch"`.
        operation: &'static str,
        /// The server, e.g. `"OpenAleph 5.3.0"`.
        server: String,
        /// What to do instead, or where it exists.
        instead: String,
    },

    /// A download's bytes do not hash to the checksum the platform recorded for them (see
    /// [`ByteStream::verify`](crate::transport::ByteStream::verify)): altered in storage or on
    /// the way. Nothing was kept under the final name.
    #[error("{what}: the body does not match its checksum: expected {expected}, got {actual}")]
    Mismatch {
        /// The request, its URL redacted.
        what: String,
        /// The checksum the platform recorded.
        expected: crate::Checksum,
        /// What the bytes received hash to.
        actual: crate::Checksum,
    },

    /// A paginated listing could not go on, e.g. the server handed out the same cursor twice.
    #[error("pagination stopped: {0}")]
    Pagination(String),

    /// Reading or writing a local file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The client was configured wrongly (bad base URL, `http://` to a remote host, ...).
    #[error("configuration: {0}")]
    Config(String),

    /// A limit of the client stopped the call: an answer larger than
    /// [`max_body_size`](crate::ClientBuilder::max_body_size), a JSON line longer than
    /// [`max_line_length`](crate::ClientBuilder::max_line_length), no data moving for the
    /// [`idle_timeout`](crate::ClientBuilder::idle_timeout), or a call over its
    /// [`total_timeout`](crate::ClientBuilder::total_timeout). See [`LimitError`].
    #[error(transparent)]
    Limit(Box<LimitError>),
}

impl Error {
    /// The API error, when the server refused the request.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::Partial(partial) => partial.source.api(),
            _ => None,
        }
    }

    /// The HTTP status of the answer that caused this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Decode(d) => Some(d.status),
            Error::Partial(partial) => partial.source.status(),
            _ => None,
        }
    }

    /// True when the request timed out: connecting, no data moving for the idle timeout, or
    /// the call's total timeout.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Http(h) => h.kind == HttpErrorKind::Timeout,
            Error::Limit(l) => matches!(
                l.limit,
                Limit::Idle { .. } | Limit::Total { .. } | Limit::Wait { .. }
            ),
            _ => false,
        }
    }

    pub(crate) fn invalid(argument: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            argument,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<HttpError> for Error {
    fn from(e: HttpError) -> Self {
        Error::Http(Box::new(e))
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(Box::new(e))
    }
}

/// What kind of refusal an [`ApiError`] is, whatever status code the platform chose for it.
///
/// Atlos, for instance, answers 401 to everything; casefile reads the message to tell a missing
/// incident ([`ErrorKind::NotFound`]) from a bad token ([`ErrorKind::Unauthorized`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Missing, invalid or expired credentials.
    Unauthorized,
    /// The credentials are fine but do not allow this.
    Forbidden,
    /// The thing does not exist (or is hidden from this caller).
    NotFound,
    /// The request was understood but its content was refused; see [`ApiError::fields`].
    Validation,
    /// Too many requests; see [`ApiError::retry_after`].
    RateLimited,
    /// The request conflicts with existing state (e.g. a duplicate unique value).
    Conflict,
    /// The server failed (5xx).
    Server,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The kind a status code means by itself, before any platform-specific reading of the body.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 | 410 => ErrorKind::NotFound,
            400 | 413 | 415 | 422 => ErrorKind::Validation,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Other,
        }
    }
}

/// A refusal from the server, with everything it said about it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code of the answer.
    pub status: u16,
    /// The classified kind of the refusal.
    pub kind: ErrorKind,
    /// The server's message, or the status phrase when the body had none.
    pub message: String,
    /// The platform's machine-readable error code, e.g. Atlas' `RESOURCE_NOT_FOUND`.
    pub code: Option<String>,
    /// Errors per field, e.g. Aleph's `{"label": "'x' is too short"}`.
    pub fields: BTreeMap<String, String>,
    /// Parameters the server attached to the error (Atlas' `parameters`).
    pub parameters: Vec<String>,
    /// How long the server asked the caller to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// Method of the request that was refused.
    pub method: String,
    /// URL of the request that was refused: scheme, host, port, path and the query's parameter
    /// names, every query value elided (`?q=…`), no userinfo.
    pub url: String,
    /// The first bytes of the body as text.
    pub body: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} answered {}: {}",
            self.method, self.url, self.status, self.message
        )?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        for (field, message) in &self.fields {
            write!(f, "; {field}: {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Reads an error answer in whichever platform's shape it has (Atlos `{"error": msg |
    /// {field: msg}}`, Aleph `{"status": "error", "message", "errors"}`, Atlas `{error, reason,
    /// detail, errorCode, parameters}`, also inside an `envelope=true` body); anything else keeps
    /// the status phrase as message and the start of the body.
    pub(crate) fn from_body(
        status: u16,
        body: &[u8],
        method: &str,
        url: String,
        retry_after: Option<Duration>,
    ) -> ApiError {
        let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let parsed = match parsed.content {
            Some(inner) => *inner,
            None => parsed,
        };
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        };
        let mut fields = BTreeMap::new();
        for map in [&parsed.errors, &parsed.error].into_iter().flatten() {
            if let serde_json::Value::Object(map) = map {
                for (k, v) in map {
                    fields.insert(k.clone(), text(v).unwrap_or_else(|| v.to_string()));
                }
            }
        }
        let message = parsed
            .detail
            .or(parsed.message)
            .or(parsed.error.as_ref().and_then(text))
            .or(parsed.errors.as_ref().and_then(text))
            .or(parsed.reason)
            .unwrap_or_else(|| {
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error")
                    .to_owned()
            });
        ApiError {
            status,
            kind: ErrorKind::from_status(status),
            message,
            code: parsed.error_code,
            fields,
            parameters: parsed
                .parameters
                .unwrap_or_default()
                .iter()
                .map(|v| text(v).unwrap_or_else(|| v.to_string()))
                .collect(),
            retry_after,
            method: method.to_owned(),
            url,
            body: snippet(body),
        }
    }
}

/// Every error body shape of the three platforms, read tolerantly.
#[derive(Debug, Default, serde::Deserialize)]
struct ErrorBody {
    /// Atlos: a message or a field map; Atlas: the status code.
    error: Option<serde_json::Value>,
    /// Aleph.
    message: Option<String>,
    /// Aleph: a field map, or a message for a bad token.
    errors: Option<serde_json::Value>,
    /// Atlas.
    reason: Option<String>,
    /// Atlas.
    detail: Option<String>,
    /// Atlas.
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    /// Atlas.
    parameters: Option<Vec<serde_json::Value>>,
    /// Atlas with `envelope=true`.
    content: Option<Box<ErrorBody>>,
}

/// Why a request got no complete answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// No connection could be made (refused, DNS, TLS).
    Connect,
    /// Connecting took longer than the connect timeout (an idle or total timeout is an
    /// [`Error::Limit`]; [`Error::is_timeout`] covers all three).
    Timeout,
    /// The connection broke while the body was being read.
    Body,
    /// Too many redirects, or a redirect that casefile refuses to follow.
    Redirect,
    /// Anything else the HTTP stack reported.
    Other,
}

/// A request that got no complete answer.
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: {kind:?}: {source}")]
#[non_exhaustive]
pub struct HttpError {
    /// What went wrong.
    pub kind: HttpErrorKind,
    /// Method of the request.
    pub method: String,
    /// URL of the request: scheme, host, port, path and query names, values elided (`?q=…`).
    pub url: String,
    /// The underlying error from the HTTP stack, reached through
    /// [`std::error::Error::source`]: private, so that the HTTP stack casefile uses is not part of
    /// its API.
    #[source]
    source: reqwest::Error,
}

impl HttpError {
    pub(crate) fn new(method: &reqwest::Method, url: &url::Url, source: reqwest::Error) -> Self {
        let kind = if source.is_timeout() {
            HttpErrorKind::Timeout
        } else if source.is_connect() {
            HttpErrorKind::Connect
        } else if source.is_redirect() {
            HttpErrorKind::Redirect
        } else if source.is_body() || source.is_decode() {
            HttpErrorKind::Body
        } else {
            HttpErrorKind::Other
        };
        // reqwest's own Display includes the URL; strip it so no secret query value leaks.
        HttpError {
            kind,
            method: method.to_string(),
            url: redact_url(url),
            source: source.without_url(),
        }
    }
}

/// A success answer whose body did not match the expected shape.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{method} {url} answered {status} with a body that does not decode at `{path}`: {message}; body starts: {body}"
)]
#[non_exhaustive]
pub struct DecodeError {
    /// HTTP status of the answer.
    pub status: u16,
    /// JSON path of the value that failed, e.g. `results[3].attr_status` (`.` for the root).
    pub path: String,
    /// What serde said.
    pub message: String,
    /// Method of the request.
    pub method: String,
    /// URL of the request: scheme, host, port, path and query names, values elided (`?q=…`).
    pub url: String,
    /// The first bytes of the body as text.
    pub body: String,
}

/// A call stopped by one of the client's limits, naming the limit and the setting that raises it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {url}: {limit}")]
#[non_exhaustive]
pub struct LimitError {
    /// Which limit, and its value.
    pub limit: Limit,
    /// Method of the request.
    pub method: String,
    /// URL of the request, secrets removed.
    pub url: String,
}

/// One of the client's limits on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The answer's body is larger than `max` bytes (reading stopped there).
    BodySize {
        /// The limit, in bytes.
        max: u64,
    },
    /// A line of a JSON-lines answer is longer than `max` bytes (reading stopped there).
    LineLength {
        /// The limit, in bytes.
        max: u64,
    },
    /// No byte was sent or received for `after`.
    Idle {
        /// The idle timeout.
        after: std::time::Duration,
    },
    /// The call (every attempt and the waits between them) took longer than `after`.
    Total {
        /// The total timeout.
        after: std::time::Duration,
    },
    /// Work the server queued (an export) was not done after `after` of waiting for it.
    Wait {
        /// How long the call waited.
        after: std::time::Duration,
    },
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::BodySize { max } => write!(
                f,
                "the answer is larger than the limit of {max} bytes; raise it with \
                 ClientBuilder::max_body_size, or read the answer as a stream"
            ),
            Limit::LineLength { max } => write!(
                f,
                "a JSON line is longer than the limit of {max} bytes; raise it with \
                 ClientBuilder::max_line_length"
            ),
            Limit::Idle { after } => write!(
                f,
                "no data moved for {after:?}; raise the limit with ClientBuilder::idle_timeout"
            ),
            Limit::Total { after } => write!(
                f,
                "the call took longer than its total timeout of {after:?}; raise it with \
                 ClientBuilder::total_timeout or RequestBuilder::total_timeout"
            ),
            Limit::Wait { after } => write!(
                f,
                "the server had not done the work after {after:?} of waiting; wait longer \
                 (the call's `timeout`), or look again later"
            ),
        }
    }
}

impl From<LimitError> for Error {
    fn from(e: LimitError) -> Self {
        Error::Limit(Box::new(e))
    }
}

/// The first [`SNIPPET_BYTES`] of a body as text (lossy, cut on a character boundary).
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_BYTES)]);
    let mut text = text.into_owned();
    if body.len() > SNIPPET_BYTES {
        text.push('…');
    }
    text
}

/// The URL as text, safe for any message, log line or `Debug`: scheme, host, port and path, and
/// of the query only the parameter names, each value elided (`?q=…&offset=…`). Userinfo and the
/// fragment never appear.
///
/// The rule does not depend on parameter names: a search term (`q`), an archive `token`, a
/// signature under any spelling and a cursor are all elided alike. Path segments stay (ids in
/// paths are what makes an error useful); a query component without `=` is shown as `…` since it
/// is a bare value, not a name.
pub(crate) fn redact_url(url: &url::Url) -> String {
    if url.cannot_be_a_base() {
        // `data:`, `mailto:` and the like: everything after the scheme is payload.
        return format!("{}:…", url.scheme());
    }
    let mut out = format!("{}://", url.scheme());
    out.push_str(url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(&redact_query(query));
    }
    out
}

/// The names of a query string, each value replaced by `…`.
fn redact_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len().min(256));
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, _)) => {
                out.push_str(name);
                out.push_str("=…");
            }
            None if pair.is_empty() => {}
            None => out.push('…'),
        }
    }
    out
}

/// [`redact_url`] for text that may not even parse as a URL (a base URL given by the caller):
/// what does not parse loses its query and fragment and everything up to its last `@`.
pub(crate) fn redact_url_text(text: &str) -> String {
    if let Ok(url) = url::Url::parse(text) {
        return redact_url(&url);
    }
    let end = text.find(['?', '#']).unwrap_or(text.len());
    let (scheme, rest) = match text[..end].find("://") {
        Some(at) => text[..end].split_at(at + 3),
        None => ("", &text[..end]),
    };
    let rest = match rest.rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let elided = if end < text.len() { "?…" } else { "" };
    format!("{scheme}{rest}{elided}")
}

/// Result alias used throughout casefile.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_value_is_elided_whatever_its_name() {
        let url = url::Url::parse(
            "https://s.example.org:8443/b/f.pdf?X-Amz-Signature=abc&q=secret+terms&offset=20&Sgn=zz&&bare#frag",
        )
        .unwrap();
        assert_eq!(
            redact_url(&url),
            "https://s.example.org:8443/b/f.pdf?X-Amz-Signature=…&q=…&offset=…&Sgn=…&&…"
        );
    }

    #[test]
    fn userinfo_never_appears() {
        for text in [
            "http://user:pw-1@127.0.0.1:8080/api/?k=v",
            "https://user@h.example.org/",
            "http://[::1]:9/x",
        ] {
            let url = url::Url::parse(text).unwrap();
            let shown = redact_url(&url);
            assert!(!shown.contains("user") && !shown.contains("pw-1") && !shown.contains('@'));
            assert!(!shown.contains("=v"), "{shown}");
        }
        assert_eq!(
            redact_url(&url::Url::parse("http://[::1]:9/x").unwrap()),
            "http://[::1]:9/x"
        );
        assert_eq!(
            redact_url(&url::Url::parse("data:text/plain,secret").unwrap()),
            "data:…"
        );
    }

    #[test]
    fn unparseable_text_loses_userinfo_and_query() {
        assert_eq!(
            redact_url_text("http://user:pw@host:99999/p?q=s"),
            "http://host:99999/p?…"
        );
        assert_eq!(redact_url_text("//u:p@ss@h/x#t"), "h/x?…");
        assert_eq!(redact_url_text("u:p@ss@h/x"), "u:…");
        assert_eq!(
            redact_url_text("https://u:pw@h.example.org/a?token=t"),
            "https://h.example.org/a?token=…"
        );
    }

    #[test]
    fn api_error_display_and_debug_show_names_not_values() {
        let url = url::Url::parse(
            "https://user:pw@a.example.org/api/2/entities?q=secret+terms&api_key=k-123",
        )
        .unwrap();
        let error: Error = ApiError::from_body(500, b"{}", "GET", redact_url(&url), None).into();
        for text in [error.to_string(), format!("{error:?}")] {
            for secret in ["secret", "terms", "k-123", "pw", "user"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            assert!(text.contains("q=…") && text.contains("api_key=…"), "{text}");
            assert!(text.contains("a.example.org/api/2/entities"), "{text}");
        }
    }

    #[test]
    fn snippet_is_cut_on_a_char_boundary() {
        let body = "é".repeat(SNIPPET_BYTES);
        let s = snippet(body.as_bytes());
        assert!(s.ends_with('…'));
        assert!(s.chars().count() <= SNIPPET_BYTES);
    }
}
