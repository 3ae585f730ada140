//! Atlas: attachments and annotations, with the Atlas REST conventions.
//!
//! [Atlas](https://arenaphysica.com) is an AI analysis agent whose sessions produce attachments
//! (reports, tables, plots, captures); analysts annotate regions of them. Its API lives under
//! `<instance>/api/v1` and follows the Atlas REST conventions, which this client speaks:
//!
//! - **two ways to sign in**: `Authorization: Bearer <token>`, or HTTP Digest with a username and
//!   an API key (the key never crosses the network; one request per call after the first, a stale
//!   nonce costs one resend);
//! - **numbered pages**: `pageNum` / `itemsPerPage`, with `links` (`rel: next`) and a total, so a
//!   listing can be fetched several pages at once ([`Paginator::concurrency`](crate::Paginator::concurrency));
//!   both the `{"items", "count"}` and the `{"totalCount", "results", "links"}` shapes are read;
//! - **envelopes**: with [`envelope(true)`](ClientBuilder::envelope) every request asks for
//!   `envelope=true` and `{"status", "content"}` answers are unwrapped, an error status inside a
//!   `200` envelope included;
//! - **errors** `{error, reason, detail, errorCode, parameters}` become an
//!   [`ApiError`] with the code and parameters kept; an invalid-field `400` names
//!   the field in [`ApiError::fields`](crate::ApiError::fields);
//! - **a client-side rate limit** of 100 requests a minute by default (the server's limit), so a
//!   long job waits instead of bouncing off `429`s; `429`s that still happen are retried, honouring
//!   `Retry-After`.
//!
//! [`ListAttachments::download_all`] saves every attachment of a listing into a directory: safe
//! names, several at once, through `.part` files, and resumable through a manifest that records
//! each file's SHA-256 (Atlas records none), so a second run fetches only what is missing and
//! a file altered in storage since it was saved is detected ([`DownloadAll`]).
//!
//! ```no_run
//! use casefile::atlas::{BboxContent, BoundingBox, Client};
//! use futures::TryStreamExt;
//!
//! # async fn run() -> casefile::Result<()> {
//! // ATLAS_URL, and ATLAS_TOKEN or ATLAS_USERNAME + ATLAS_API_KEY (digest).
//! let atlas = Client::from_env()?;
//!
//! let mut pdfs = atlas.attachments().list().attachment_type("pdf").stream();
//! while let Some(attachment) = pdfs.try_next().await? {
//!     println!("{} {}", attachment.attachment_created_at, attachment.attachment_name);
//! }
//!
//! let id = "e52a9631-e38f-4e77-8c08-38001a80ad36";
//! atlas.attachments().update(id).title("Telemetry").clear_citation().await?;
//! atlas.attachments().download(id).save("table-4.csv").await?;
//!
//! let page = BboxContent::new(612.0, 792.0, 0)
//!     .bbox(BoundingBox::new("Figure 1", 72.0, 100.0, 200.0, 150.0).tag("kind", "figure"));
//! let annotation = atlas.annotations().create(id, page).await?;
//! println!("annotation {}", annotation.id);
//! # Ok(()) }
//! ```

mod annotations;
mod attachments;
mod download;

use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use url::Url;

pub use annotations::{
    Annotation, AnnotationContent, AnnotationType, Annotations, BboxContent, BoundingBox,
    CreateAnnotation, NewAnnotation, TagValue,
};
pub use attachments::{
    Attachment, AttachmentDetails, AttachmentExport, AttachmentType, Attachments,
    DownloadAttachment, ExportAttachment, GetAttachment, ListAnnotations, ListAttachments,
    UpdateAttachment,
};
pub use download::{
    DownloadAll, DownloadFailure, DownloadReport, MANIFEST_FILE, ManifestRecord, Renamed,
    SavedFile, Verified,
};

use crate::error::{ApiError, Error, ErrorKind, Result};
use crate::paginate::{Head, PageToken, split_page};
use crate::transport::{
    Answer, Auth, ClientBuilder, Dialect, RateLimit, Transport, Unwrapped, setting,
};

/// The API path under the instance root.
const API_PREFIX: &str = "api/v1/";

/// The server's limit, kept on the client side by default: this many requests a minute.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 100;

/// A client of one Atlas instance. Cheap to clone; clones share the connection pool, the digest
/// session and the rate limiter.
///
/// ```no_run
/// use casefile::atlas::Client;
///
/// let atlas = Client::builder()
///     .base_url("https://atlas.example.org")
///     .digest("analyst", "api-key")
///     .build()?;
/// # Ok::<(), casefile::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    transport: Transport,
}

impl Client {
    /// A builder with the Atlas defaults (a client-side limit of 100 requests a minute).
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::new(DIALECT).rate_limit(RateLimit::new(
            DEFAULT_REQUESTS_PER_MINUTE,
            Duration::from_secs(60),
        ))
    }

    /// A client configured from the environment: `ATLAS_URL` (the instance root; the API is
    /// under `/api/v1`) and either `ATLAS_TOKEN` (Bearer) or `ATLAS_USERNAME` + `ATLAS_API_KEY`
    /// (HTTP Digest). Empty variables count as unset; setting both schemes is refused.
    pub fn from_env() -> Result<Client> {
        Self::from_lookup(|name| std::env::var(name).ok())?.build()
    }

    /// The builder [`from_env`](Self::from_env) makes, reading the same variables through
    /// `lookup` (a map, a config file, a test): empty values count as unset. The builder can
    /// still be adjusted before `build()`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder<Client>> {
        let var = |name: &str| setting(&lookup, &[name]);
        let url = var("ATLAS_URL").ok_or_else(|| Error::Config("ATLAS_URL is not set".into()))?;
        let token = var("ATLAS_TOKEN");
        let username = var("ATLAS_USERNAME");
        let api_key = var("ATLAS_API_KEY");
        let builder = Client::builder().base_url(url);
        match (token, username, api_key) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(Error::Config(
                "set either ATLAS_TOKEN or ATLAS_USERNAME + ATLAS_API_KEY, not both".into(),
            )),
            (Some(token), None, None) => Ok(builder.token(token)),
            (None, Some(username), Some(key)) => Ok(builder.digest(username, key)),
            (None, Some(_), None) => Err(Error::Config(
                "ATLAS_USERNAME is set but ATLAS_API_KEY is not".into(),
            )),
            (None, None, Some(_)) => Err(Error::Config(
                "ATLAS_API_KEY is set but ATLAS_USERNAME is not".into(),
            )),
            (None, None, None) => Err(Error::Config(
                "no Atlas credentials: set ATLAS_TOKEN, or ATLAS_USERNAME and ATLAS_API_KEY".into(),
            )),
        }
    }

    /// The underlying transport, for endpoints casefile does not model yet.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// A client whose requests count under the rate-limit key `group` (Atlas counts requests per
    /// group). Clones share one limiter, so two groups used from one client are limited
    /// separately, as the server does.
    pub fn rate_group(&self, group: impl Into<String>) -> Client {
        Client {
            transport: self.transport.rate_group(group),
        }
    }

    handles! {
        /// Attachments: list, get, update, export and download, and their annotations.
        attachments => Attachments,

        /// Annotations: create bounding-box and path annotations.
        annotations => Annotations,
    }
}

impl ClientBuilder<Client> {
    /// Authenticates with `Authorization: Bearer <token>`.
    pub fn token(self, token: impl Into<crate::Secret>) -> Self {
        self.auth(Auth::Bearer(token.into()))
    }

    /// Authenticates with HTTP Digest: the account's username and an API key as the password.
    pub fn digest(self, username: impl Into<String>, api_key: impl Into<crate::Secret>) -> Self {
        self.auth(Auth::digest(username, api_key))
    }

    /// Asks for `envelope=true` answers (`{"status", "content"}`), for networks that hide status
    /// codes or headers. Answers are unwrapped transparently; an error status inside the envelope
    /// is an [`Error::Api`] although HTTP said `200`.
    pub fn envelope(mut self, envelope: bool) -> Self {
        self.dialect = if envelope { ENVELOPE_DIALECT } else { DIALECT };
        self
    }

    /// Builds the client. The base URL is the instance root (`https://atlas.example.org`).
    pub fn build(self) -> Result<Client> {
        Ok(Client {
            transport: self.build_transport(None, API_PREFIX)?,
        })
    }
}

/// How Atlas speaks: plain JSON, with errors classified by their `errorCode`.
const DIALECT: Dialect = Dialect {
    classify,
    query: None,
    unwrap: |body| Unwrapped::Json(0..body.len()),
};

/// Atlas asked for `envelope=true` answers: `{"status": code, "content": entity}` (lists only
/// gain `status`), unwrapped; an error status inside the envelope is a refusal though HTTP said
/// `200`.
const ENVELOPE_DIALECT: Dialect = Dialect {
    classify,
    query: Some(("envelope", "true")),
    unwrap: unwrap_envelope,
};

/// Reads an `envelope=true` answer (see [`ENVELOPE_DIALECT`]). A body that is no envelope is
/// taken whole.
fn unwrap_envelope(body: &[u8]) -> Unwrapped {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        status: Option<u16>,
        #[serde(borrow)]
        content: Option<&'a serde_json::value::RawValue>,
    }
    let whole = 0..body.len();
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        return Unwrapped::Json(whole);
    };
    let content = envelope
        .content
        .and_then(|raw| crate::transport::within(body, raw.get().as_bytes()));
    match envelope.status.filter(|s| *s >= 400) {
        Some(status) => Unwrapped::Refused {
            status,
            body: content.unwrap_or(whole),
            message: None,
        },
        None => Unwrapped::Json(content.unwrap_or(whole)),
    }
}

/// Refines the kind of an Atlas error from its `errorCode`, and names invalid fields.
fn classify(error: &mut ApiError) {
    let Some(code) = error.code.clone() else {
        return;
    };
    match code.as_str() {
        "RATE_LIMITED" | "TOO_MANY_REQUESTS" => error.kind = ErrorKind::RateLimited,
        "RESOURCE_NOT_FOUND" | "NOT_FOUND" => error.kind = ErrorKind::NotFound,
        _ => {}
    }
    // `INVALID_ATTRIBUTE` and its kin name the refused field in `parameters`.
    let names_fields = code.starts_with("INVALID_ATTRIBUTE")
        || code.starts_with("INVALID_FIELD")
        || code.starts_with("ATTRIBUTE_")
        || code.contains("UNKNOWN_FIELD");
    if names_fields && error.status == 400 {
        error.kind = ErrorKind::Validation;
        for field in &error.parameters {
            error
                .fields
                .entry(field.clone())
                .or_insert_with(|| error.message.clone());
        }
    }
}

/// A link relation of the Atlas REST conventions (`{"rel": "next", "href": "https://…"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Link {
    /// The relation: `self`, `next`, `previous`, or an extension relation.
    pub rel: String,
    /// The target URL.
    pub href: String,
}

impl Link {
    /// The first link of `links` with relation `rel`.
    pub fn find<'a>(links: &'a [Link], rel: &str) -> Option<&'a Link> {
        links.iter().find(|l| l.rel == rel)
    }
}

/// One page of a listing as the paginator reads it in its background task, in either shape:
/// `{"items", "count"}` or the Atlas REST `{"totalCount", "results", "links"}` (with
/// `envelope=true` lists only gain `status`). The items are found apart (and counted) by
/// [`numbered_head`], and decoded by the caller of the stream.
#[derive(Deserialize)]
struct NumberedPage {
    #[serde(default)]
    count: Option<u64>,
    #[serde(default, rename = "totalCount")]
    total_count: Option<u64>,
    #[serde(default)]
    links: Vec<Link>,
}

/// Reads a listing page for which `page` of `size` items was asked, or a bare array (a listing
/// the server does not page). A `next` link means another
/// numbered page (its `pageNum` / `itemsPerPage` when the link says, else the following page at
/// the size the server used), so pages can be fetched concurrently.
pub(crate) fn numbered_head(answer: &Answer, page: u64, size: u64) -> Result<Head> {
    // A listing the server does not page: one bare array, the whole of it.
    let json = answer.json();
    if json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let all = 0..json.len();
        let len = answer
            .decode_part::<Vec<IgnoredAny>>(all.clone(), "")?
            .len() as u64;
        return Ok(Head {
            items: Some(all),
            field: "",
            len: Some(len),
            next: None,
            total: Some(len),
        });
    }
    let (body, items) = split_page::<NumberedPage>(answer, &["items", "results"], false)?;
    let at = items.ok_or_else(|| answer.decode_error(".", "missing field `items`".into()))?;
    let received = answer
        .decode_part::<Vec<IgnoredAny>>(at.clone(), "items")?
        .len() as u64;
    let next = Link::find(&body.links, "next").map(|link| {
        let (mut next_page, mut next_size) = (
            page.saturating_add(1),
            if received > 0 { received } else { size },
        );
        let base = Url::parse("http://link.invalid/").ok();
        if let Some(url) = base.and_then(|b| b.join(&link.href).ok()) {
            for (key, value) in url.query_pairs() {
                match (key.as_ref(), value.parse::<u64>()) {
                    ("pageNum", Ok(n)) if n > 0 => next_page = n,
                    ("itemsPerPage", Ok(n)) if n > 0 => next_size = n,
                    _ => {}
                }
            }
        }
        PageToken::Number {
            page: next_page,
            size: next_size,
        }
    });
    // `count` is the total in both known shapes; should a server use it for the page's own
    // length while linking to a next page, it is not taken as the total.
    let total = body.total_count.or(match body.count {
        Some(count) if next.is_none() || count > received => Some(count),
        _ => None,
    });
    Ok(Head {
        items: Some(at),
        field: "items",
        len: Some(received),
        next,
        total,
    })
}

/// Checks an id that goes into a path, naming the argument in the error.
pub(crate) fn check_id(argument: &'static str, id: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::invalid(argument, "must not be empty"));
    }
    crate::path::check_segment(argument, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paginate::Page;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn from_env_reads_either_scheme() {
        let token = Client::from_lookup(env(&[
            ("ATLAS_URL", "https://atlas.example.org"),
            ("ATLAS_TOKEN", "t0k"),
            ("ATLAS_USERNAME", ""),
        ]))
        .unwrap();
        assert!(matches!(token.auth, Auth::Bearer(_)));
        let digest = Client::from_lookup(env(&[
            ("ATLAS_URL", "https://atlas.example.org"),
            ("ATLAS_USERNAME", "analyst"),
            ("ATLAS_API_KEY", "k3y"),
        ]))
        .unwrap();
        assert!(matches!(&digest.auth, Auth::Digest { username, .. } if username == "analyst"));
        let client = digest.build().unwrap();
        assert_eq!(
            client.transport().api_base().as_str(),
            "https://atlas.example.org/api/v1/"
        );
    }

    #[test]
    fn from_env_refuses_missing_or_ambiguous_credentials() {
        let cases: [&'static [(&'static str, &'static str)]; 5] = [
            &[("ATLAS_TOKEN", "t")],
            &[("ATLAS_URL", "https://a.example.org")],
            &[
                ("ATLAS_URL", "https://a.example.org"),
                ("ATLAS_USERNAME", "u"),
            ],
            &[
                ("ATLAS_URL", "https://a.example.org"),
                ("ATLAS_API_KEY", "k"),
            ],
            &[
                ("ATLAS_URL", "https://a.example.org"),
                ("ATLAS_TOKEN", "t"),
                ("ATLAS_USERNAME", "u"),
                ("ATLAS_API_KEY", "k"),
            ],
        ];
        for vars in cases {
            let err = Client::from_lookup(env(vars)).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{vars:?}");
            assert!(!err.to_string().contains("k3y"));
        }
    }

    fn page(body: serde_json::Value, page: u64, size: u64) -> Page<u32> {
        let url = Url::parse("http://atlas.invalid/api/v1/attachments").unwrap();
        let answer = Answer::from_json(url, serde_json::to_vec(&body).unwrap());
        let head = numbered_head(&answer, page, size).unwrap();
        crate::paginate::decode_page(&answer, head).unwrap()
    }

    #[test]
    fn next_links_become_numbered_tokens_and_totals_are_read_carefully() {
        // The server's own page size and number win over what was asked for.
        let p = page(
            serde_json::json!({
                "results": [1, 2, 3], "totalCount": 9,
                "links": [{"rel": "next", "href": "/api/v1/attachments?pageNum=2&itemsPerPage=3"}]
            }),
            1,
            100,
        );
        assert_eq!(p.items, [1, 2, 3]);
        assert_eq!(p.next, Some(PageToken::Number { page: 2, size: 3 }));
        assert_eq!(p.total, Some(9));
        // A next link without numbers: the following page at the size the server used.
        let p = page(
            serde_json::json!({
                "items": [1, 2], "count": 2,
                "links": [{"rel": "next", "href": "https://h.example.org/next?cursor=x"}]
            }),
            4,
            5,
        );
        assert_eq!(p.next, Some(PageToken::Number { page: 5, size: 2 }));
        // `count` equal to the page's length next to a `next` link is not taken as the total.
        assert_eq!(p.total, None);
        // Without links the listing ends with this page; `count` is its total.
        let p = page(serde_json::json!({"items": [1, 2], "count": 2}), 1, 100);
        assert_eq!((p.next, p.total), (None, Some(2)));
    }
}
