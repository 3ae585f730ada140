//! [`ClientBuilder`]: the settings every client shares, casefile's defaults for them, and
//! `build_transport`, which checks the base URL and makes the [`Transport`] out of them.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::auth::{Auth, Credentials};
use super::limits::{self, Limits};
use super::rate_limit::{RateLimit, RateLimiter};
use super::retry::RetryPolicy;
use super::{Dialect, Inner, Transport, USER_AGENT};
use crate::error::{Error, Result, redact_url_text};
#[cfg(doc)]
use {super::RequestBuilder, crate::error::Limit};

/// Builds a client: the settings every platform shares, and each platform's credentials.
///
/// `C` is the client it builds: `ClientBuilder<casefile::atlos::Client>` has a `token` method
/// and builds an Atlos client; `ClientBuilder<Transport>` builds a bare transport.
///
/// ```
/// use std::time::Duration;
/// use casefile::{RateLimit, RetryPolicy, Transport};
///
/// let transport = Transport::builder("https://api.example.org/v1/")
///     .connect_timeout(Duration::from_secs(5))
///     .idle_timeout(Duration::from_secs(120))
///     .total_timeout(Duration::from_secs(3600))
///     .max_body_size(1 << 30)
///     .retry(RetryPolicy::none())
///     .rate_limit(RateLimit::new(100, Duration::from_secs(60)))
///     .build()?;
/// # Ok::<(), casefile::Error>(())
/// ```
pub struct ClientBuilder<C> {
    pub(crate) base_url: Option<String>,
    pub(crate) auth: Auth,
    connect_timeout: Duration,
    limits: Limits,
    retry: RetryPolicy,
    rate_limit: Option<RateLimit>,
    allow_http: bool,
    user_agent: Option<String>,
    /// Headers sent on every request to the platform (a session id, say), never to the other
    /// hosts of `get_external`.
    pub(crate) default_headers: reqwest::header::HeaderMap,
    /// How the platform speaks (set by each platform's `Client::builder()`).
    pub(crate) dialect: Dialect,
    /// The Aleph server the client talks to, when the caller said (see `server`).
    #[cfg(feature = "aleph")]
    pub(crate) aleph_server: Option<crate::aleph::Server>,
    _client: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url.as_deref().map(redact_url_text))
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.limits.idle)
            .field("total_timeout", &self.limits.total)
            .field("max_body_size", &self.limits.max_body)
            .field("max_line_length", &self.limits.max_line)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

impl<C> ClientBuilder<C> {
    /// A builder with casefile's defaults for a platform that speaks `dialect`; each platform's
    /// `Client::builder()` starts from it.
    pub(crate) fn new(dialect: Dialect) -> Self {
        ClientBuilder {
            base_url: None,
            auth: Auth::None,
            connect_timeout: Duration::from_secs(10),
            limits: Limits {
                max_body: limits::DEFAULT_MAX_BODY,
                max_line: limits::DEFAULT_MAX_LINE,
                idle: Some(Duration::from_secs(60)),
                total: None,
            },
            retry: RetryPolicy::default(),
            rate_limit: None,
            allow_http: false,
            user_agent: None,
            default_headers: reqwest::header::HeaderMap::new(),
            dialect,
            #[cfg(feature = "aleph")]
            aleph_server: None,
            _client: PhantomData,
        }
    }
}

impl<C> ClientBuilder<C> {
    /// The server's base URL: for a platform client the instance root (e.g.
    /// `https://platform.atlos.org`), the API path is added.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Credentials to send. Platform builders have named shortcuts (`token`, `api_key`, `digest`).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long no data may move before a request fails with a timeout (default 60 s): while a
    /// request body is sent, while the server prepares its answer, and between two chunks of the
    /// answer. A slow upload or download that keeps moving is never cut, however long it takes;
    /// use [`total_timeout`](Self::total_timeout) to bound a whole call. An idle request is
    /// retried like a broken connection (see [`RetryPolicy`]).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle = Some(timeout);
        self
    }

    /// The same as [`idle_timeout`](Self::idle_timeout) (the name reqwest gives it).
    pub fn read_timeout(self, timeout: Duration) -> Self {
        self.idle_timeout(timeout)
    }

    /// How long one call may take in all, every attempt and the waits between them included, and
    /// for a streamed answer the reading of the stream too (default: no limit). Past it the call
    /// ends with [`Limit::Total`], a timeout. A request can have its
    /// own: [`RequestBuilder::total_timeout`].
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.limits.total = Some(timeout);
        self
    }

    /// The largest answer read into memory, in bytes (default 256 MiB): a page, a JSON answer,
    /// [`RequestBuilder::send_bytes`]. Reading stops as soon as an answer passes it, and the
    /// call ends with [`Limit::BodySize`]. Streamed answers
    /// ([`RequestBuilder::send_stream`], downloads to a file) have no size limit.
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.limits.max_body = bytes;
        self
    }

    /// The longest line of a JSON-lines answer, in bytes (default 64 MiB); past it the stream
    /// ends with [`Limit::LineLength`].
    pub fn max_line_length(mut self, bytes: u64) -> Self {
        self.limits.max_line = bytes;
        self
    }

    /// How failed requests are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Keep under a number of requests per window on the client side (off by default for Atlos
    /// and Aleph; Atlas clients default to 100 a minute).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Turns the client-side rate limit off.
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// Allows plain `http://` to hosts other than loopback. Credentials then cross the network
    /// unencrypted; only for servers on a trusted network.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// An application name put in front of casefile's `User-Agent`, e.g. `"my-archiver/1.2"`.
    pub fn user_agent(mut self, application: impl Into<String>) -> Self {
        self.user_agent = Some(application.into());
        self
    }

    /// Builds the transport for an API under `api_prefix` (e.g. `"api/v2/"`) of the base URL.
    pub(crate) fn build_transport(
        self,
        default_base: Option<&str>,
        api_prefix: &'static str,
    ) -> Result<Transport> {
        let base = self
            .base_url
            .as_deref()
            .or(default_base)
            .ok_or_else(|| Error::Config("no base URL was given".into()))?;
        // The base URL may carry `user:password@`: it is shown only through the redaction rule.
        let shown = redact_url_text(base);
        let mut api_base = Url::parse(base)
            .map_err(|e| Error::Config(format!("base URL `{shown}` does not parse: {e}")))?;
        if api_base.cannot_be_a_base() || !matches!(api_base.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base URL `{shown}` must be an http(s) URL"
            )));
        }
        if api_base.scheme() == "http" && !self.allow_http && !is_loopback(&api_base) {
            return Err(Error::Config(format!(
                "refusing plain http:// to {}: credentials would travel unencrypted; \
                 use https:// or allow_http(true)",
                api_base.host_str().unwrap_or("?")
            )));
        }
        if !api_base.path().ends_with('/') {
            let path = format!("{}/", api_base.path());
            api_base.set_path(&path);
        }
        if !api_base.path().ends_with(api_prefix) {
            let path = format!("{}{api_prefix}", api_base.path());
            api_base.set_path(&path);
        }
        api_base.set_query(None);
        api_base.set_fragment(None);

        let allow_http = self.allow_http;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else if attempt.url().scheme() == "http" && !allow_http && !is_loopback(attempt.url())
            {
                attempt.error("refusing a redirect to plain http://")
            } else {
                // reqwest drops Authorization and cookies when the origin changes.
                attempt.follow()
            }
        });
        let user_agent = match &self.user_agent {
            Some(app) => format!("{app} {USER_AGENT}"),
            None => USER_AGENT.to_owned(),
        };
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            // A Referer would hand the previous URL (an archive `token`, search terms) to
            // whichever host a redirect points at.
            .referer(false)
            .connect_timeout(self.connect_timeout)
            .redirect(redirect)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::Config(format!("the HTTP client could not be built: {e}")))?;
        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                api_base,
                api_prefix,
                credentials: Credentials::new(self.auth)?,
                retry: self.retry,
                limits: self.limits,
                limiter: self.rate_limit.map(RateLimiter::new),
                allow_http,
                dialect: self.dialect,
                headers: self.default_headers,
            }),
            rate_key: None,
        })
    }
}

impl ClientBuilder<Transport> {
    /// Builds a bare transport whose paths are relative to the base URL as given.
    pub fn build(self) -> Result<Transport> {
        self.build_transport(None, "")
    }
}

/// The first of the settings `names` that `lookup` (the environment, a map, a config file) has,
/// trimmed; empty values count as unset. For the platforms' `from_lookup`.
#[cfg_attr(
    not(any(feature = "atlos", feature = "aleph", feature = "atlas")),
    allow(dead_code)
)]
pub(crate) fn setting(lookup: &impl Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|name| lookup(name))
        .map(|value| value.trim().to_owned())
        .find(|value| !value.is_empty())
}

pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}
