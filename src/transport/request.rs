//! [`RequestBuilder`]: one request being put together, the validated [`Prepared`] request and
//! its re-playable [`Body`], and the `send*` methods that hand it to the [`Transport`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

#[cfg(doc)]
use super::ClientBuilder;
use super::body::ByteStream;
use super::limits::{self, Activity};
use super::retry::{self, RetryEvent, RetryPolicy};
use super::{Answer, Transport};
use crate::error::{Error, Result, redact_url};
use crate::upload::{Form, MultipartBody};

/// What is told before each retry of a request; see [`RequestBuilder::on_retry`].
type RetryHook = Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>;

/// A check that must pass before a request is sent, which may itself have to ask the server
/// something first (an Aleph client learning which server it talks to); see
/// [`RequestBuilder::gated`].
pub(crate) type Gate = Arc<dyn Fn() -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// A request body that can be produced again for each attempt.
#[derive(Clone)]
pub(super) enum Body {
    Empty,
    /// A body of this content type (JSON, a URL-encoded form).
    Bytes(&'static str, Bytes),
    Multipart(Arc<dyn Fn() -> BoxFuture<'static, Result<MultipartBody>> + Send + Sync>),
}

/// A validated request, ready to be sent as many times as needed.
pub(super) struct Prepared {
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) body: Body,
    pub(super) accept: HeaderValue,
    pub(super) rate_key: Option<String>,
    /// Sent without this transport's credentials (a URL on another host).
    pub(super) external: bool,
    /// Safe to send again after the server may have received it.
    pub(super) idempotent: bool,
    /// The body can be produced again (not a one-time stream).
    pub(super) resendable: bool,
    pub(super) retry: Option<RetryPolicy>,
    pub(super) on_retry: Option<RetryHook>,
    pub(super) total: Option<Duration>,
    /// When data last moved (request body sent, answer received).
    pub(super) activity: Arc<Activity>,
}

/// One request being put together; `send` (or a sibling) sends it.
///
/// Building never fails: an invalid path segment or a query that does not serialize is reported
/// by the send call, before anything goes over the network.
///
/// ```no_run
/// # async fn run(api: casefile::Transport) -> casefile::Result<()> {
/// #[derive(serde::Serialize)]
/// struct Filter<'a> {
///     schema: Vec<&'a str>,      // repeated: schema=Person&schema=Company
///     limit: Option<u32>,        // left out when None
/// }
///
/// let found: serde_json::Value = api
///     .get(&["collections", "4", "entities"])  // each segment percent-encoded
///     .query(&Filter { schema: vec!["Person", "Company"], limit: Some(50) })
///     .send()
///     .await?;
/// api.post(&["collections", "4", "touch"]).json(&serde_json::json!({})).send_empty().await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    transport: Transport,
    idempotent: bool,
    method: Method,
    url: Result<Url>,
    body: Result<Body>,
    rate_key: Option<String>,
    pub(super) external: bool,
    resendable: bool,
    retry: Option<RetryPolicy>,
    on_retry: Option<RetryHook>,
    total: Option<Duration>,
    activity: Arc<Activity>,
    gate: Option<Gate>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("url", &self.url.as_ref().map(redact_url).ok())
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    pub(super) fn new(transport: Transport, method: Method, url: Result<Url>) -> Self {
        RequestBuilder {
            idempotent: retry::is_idempotent(&method),
            method,
            url,
            body: Ok(Body::Empty),
            rate_key: transport.rate_key.as_deref().map(str::to_owned),
            transport,
            external: false,
            resendable: true,
            retry: None,
            on_retry: None,
            total: None,
            activity: Activity::new(),
            gate: None,
        }
    }

    /// The transport the request will be sent with.
    #[cfg_attr(not(feature = "aleph"), allow(dead_code))]
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The same request, sent only when `gate` passes; a gate that fails is the send call's
    /// error, and nothing goes over the network (but what the gate itself asks).
    pub(crate) fn gated(mut self, gate: Option<Gate>) -> Self {
        self.gate = gate;
        self
    }

    /// The same request, refused before sending with the error of a failed `check` (an argument
    /// that did not pass): the send call reports it, and nothing goes over the network.
    pub(crate) fn checked(mut self, check: Result<()>) -> Self {
        if let Err(error) = check {
            self.url = Err(error);
        }
        self
    }

    /// Adds the fields of `query` to the query string. Sequences become repeated keys
    /// (`a=1&a=2`); `None` fields are left out.
    pub fn query<Q: Serialize + ?Sized>(mut self, query: &Q) -> Self {
        if let Ok(url) = &mut self.url {
            match serde_html_form::to_string(query) {
                Ok(encoded) if encoded.is_empty() => {}
                Ok(encoded) => {
                    let joined = match url.query() {
                        Some(existing) if !existing.is_empty() => format!("{existing}&{encoded}"),
                        _ => encoded,
                    };
                    url.set_query(Some(&joined));
                }
                Err(e) => self.url = Err(Error::invalid("query", e.to_string())),
            }
        }
        self
    }

    /// Sets (or replaces) one query parameter.
    pub fn query_param(mut self, name: &str, value: &str) -> Self {
        if let Ok(url) = &mut self.url {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != name)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair(name, value);
        }
        self
    }

    /// Sends `body` as JSON.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        self.body = serde_json::to_vec(body)
            .map(|v| Body::Bytes("application/json", Bytes::from(v)))
            .map_err(|e| Error::invalid("body", e.to_string()));
        self
    }

    /// Sends `form` as `application/x-www-form-urlencoded` (sequences become repeated keys, as
    /// in [`query`](Self::query)).
    pub fn form<F: Serialize + ?Sized>(mut self, form: &F) -> Self {
        self.body = serde_html_form::to_string(form)
            .map(|v| Body::Bytes("application/x-www-form-urlencoded", Bytes::from(v)))
            .map_err(|e| Error::invalid("form", e.to_string()));
        self
    }

    /// Sends `form` as `multipart/form-data`: its text fields in order, then its file. The file
    /// is opened when the request is sent (asynchronously), streamed, and re-opened if the
    /// request has to be sent again; a file that cannot be read is an error before anything is
    /// sent. The file's name is encoded so that any multipart parser sees the file part,
    /// whatever characters the name holds: an ASCII-safe `filename` and, where that had to
    /// change the name, the exact name in `filename*` (RFC 8187).
    pub fn multipart(mut self, form: Form) -> Self {
        let Form { fields, file } = form;
        let fields = Arc::new(fields);
        self.resendable = file.as_ref().is_none_or(|(_, upload)| upload.can_resend());
        let file = file.map(|(name, mut upload)| {
            let activity = self.activity.clone();
            upload.on_chunk(move || activity.touch());
            (Arc::<str>::from(name), Arc::new(upload))
        });
        self.body = Ok(Body::Multipart(Arc::new(move || {
            let (fields, file) = (fields.clone(), file.clone());
            Box::pin(async move {
                let file = file.as_ref().map(|(name, upload)| (&**name, &**upload));
                crate::upload::multipart_body(&fields, file).await
            })
        })));
        self
    }

    /// Counts this request under `key` in the client-side rate limiter (e.g. an Atlas group).
    pub fn rate_key(mut self, key: impl Into<String>) -> Self {
        self.rate_key = Some(key.into());
        self
    }

    /// Marks the request as safe to send again after the server may have received it (a
    /// broken connection, an idle timeout, `500/502/503/504`), like a `GET` or a `PUT`, though
    /// its method is `POST`: for instance an upsert by id. `idempotent(false)` makes a `GET`
    /// retried only when nothing reached the server. See [`RetryPolicy`].
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Retries this request with `policy` instead of the transport's.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Calls `hook` before each retry of this request, with the failure and the wait (e.g. to
    /// count retries or show them).
    pub fn on_retry(mut self, hook: impl Fn(&RetryEvent<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// How long this call may take in all, retries and waits included (for
    /// [`send_stream`](Self::send_stream), reading the stream too); replaces the transport's
    /// [`total_timeout`](ClientBuilder::total_timeout).
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total = Some(timeout);
        self
    }

    async fn prepare(self, accept: &'static str) -> Result<(Transport, Prepared)> {
        let mut url = self.url?;
        if let Some(gate) = &self.gate {
            gate().await?;
        }
        if let Some((name, value)) = self.transport.inner.dialect.query
            && !self.external
        {
            url.query_pairs_mut().append_pair(name, value);
        }
        Ok((
            self.transport,
            Prepared {
                method: self.method,
                url,
                body: self.body?,
                accept: HeaderValue::from_static(accept),
                rate_key: self.rate_key,
                external: self.external,
                idempotent: self.idempotent,
                resendable: self.resendable,
                retry: self.retry,
                on_retry: self.on_retry,
                total: self.total,
                activity: self.activity,
            },
        ))
    }

    /// Sends the request and decodes the JSON answer as `T`; an empty answer (`204`) decodes as
    /// `null`, so `send::<()>()` accepts it.
    pub async fn send<T: DeserializeOwned>(self) -> Result<T> {
        let (transport, req) = self.prepare("application/json").await?;
        let (status, body) = transport.execute_full(&req).await?;
        transport.decode(&req, status, &body)
    }

    /// Sends the request and keeps the JSON answer undecoded, for the paginator.
    #[cfg_attr(
        not(any(feature = "atlos", feature = "aleph", feature = "atlas")),
        allow(dead_code)
    )]
    pub(crate) async fn send_answer(self) -> Result<Answer> {
        let (transport, req) = self.prepare("application/json").await?;
        let (status, body) = transport.execute_full(&req).await?;
        let (body, json) = match transport.payload(&req, &body)? {
            Some(at) => (body, at),
            None => (Bytes::from_static(b"null"), 0..4),
        };
        Ok(Answer {
            method: req.method,
            url: req.url,
            status,
            body,
            json,
        })
    }

    /// Sends the request and discards the answer's body (for `204 No Content` operations, and
    /// acknowledgements such as Atlos's `{"success": true}`; a refusal in the body is still an
    /// error).
    pub async fn send_empty(self) -> Result<()> {
        let (transport, req) = self.prepare("application/json").await?;
        let (_, body) = transport.execute_full(&req).await?;
        transport.payload(&req, &body).map(|_| ())
    }

    /// Sends the request and returns the body as bytes, unparsed.
    pub async fn send_bytes(self) -> Result<Bytes> {
        let (transport, req) = self.prepare("*/*").await?;
        Ok(transport.execute_full(&req).await?.1)
    }

    /// Sends the request and returns the body as a stream of bytes as soon as the headers
    /// arrived. Retries cover getting the headers; a body that breaks later, stays idle for the
    /// idle timeout or passes the total timeout ends the stream with an error.
    pub async fn send_stream(self) -> Result<ByteStream> {
        let (transport, req) = self.prepare("*/*").await?;
        let deadline = transport
            .total_timeout(&req)
            .map(|after| (tokio::time::Instant::now() + after, after));
        let response = transport.execute_head(&req, deadline).await?;
        let limits = &transport.inner.limits;
        let content_length = response.content_length();
        let body = limits::guard_stream(response, &req, limits.idle, deadline);
        Ok(ByteStream::new(body, content_length, &req, limits.max_line))
    }
}
