//! # casefile
//!
//! A typed async client for the APIs of three investigation platforms:
//! [Atlos](https://atlos.org) (incidents, source material, updates),
//! [Aleph](https://github.com/alephdata/aleph) (collections, entities, ingest, alerts, mappings,
//! permissions, archive) and Atlas (attachments and annotations, with the Atlas REST conventions:
//! digest auth, numbered pages, envelopes, rate limits).
//!
//! Typed models, every listing as an async stream, uploads and downloads streamed from and to
//! disk with progress, retries that are safe, a client-side rate limit, and errors that keep what
//! the server said.
//!
//! - [Install](#install)
//! - [Atlos](#atlos), [Aleph](#aleph), [Atlas](#atlas)
//! - [Streams](#streams)
//! - [Errors](#errors)
//! - [Retries and limits](#retries-and-limits)
//! - [Progress](#progress)
//! - [Tracing](#tracing)
//! - [The sandbox in your tests](#the-sandbox-in-your-tests)
//! - [Calling an endpoint casefile does not model](#calling-an-endpoint-casefile-does-not-model)
//!
//! ## Install
//!
//! ```toml
//! [dependencies]
//! casefile = "0.1"      # all three platforms; or pick: default-features = false, features = ["aleph"]
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! futures = "0.3"
//!
//! [dev-dependencies]
//! casefile = { version = "0.1", features = ["testkit"] }   # the sandbox servers, for your tests
//! ```
//!
//! | feature   | default | what it adds |
//! |-----------|---------|--------------|
//! | `atlos`   | yes     | [`atlos`]: incidents, source material, updates |
//! | `aleph`   | yes     | [`aleph`]: collections, entities, ingest, alerts, mappings, permissions, archive |
//! | `atlas`   | yes     | [`atlas`]: attachments and annotations, Bearer or Digest |
//! | `testkit` | no      | `testkit`: in-process sandbox servers of the three APIs |
//! | `tracing` | no      | a [`tracing`](https://docs.rs/tracing) span per request, retries and waits as events |
//!
//! casefile uses rustls (no OpenSSL) and needs a Tokio runtime. Each platform client is built
//! from the environment (`Client::from_env()`) or with its builder.
//!
//! The examples below run against the sandbox (see [the last section](#the-sandbox-in-your-tests));
//! with a real server only the URL and the credentials change.
//!
//! ## Atlos
//!
//! ```
//! # #[cfg(all(feature = "atlos", feature = "testkit"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> casefile::Result<()> {
//! # let sandbox = casefile::testkit::Sandbox::start().await?;
//! # let (url, token) = (sandbox.atlos_url(), sandbox.atlos_token());
//! use casefile::atlos::{Client, IncidentStatus};
//! use futures::TryStreamExt;
//!
//! // Or Client::from_env(): ATLOS_URL (default https://platform.atlos.org), ATLOS_API_TOKEN.
//! let atlos = Client::builder().base_url(url).token(token).build()?;
//! let todo: Vec<_> = atlos
//!     .incidents()
//!     .list()
//!     .status(IncidentStatus::ToDo)
//!     .stream()
//!     .try_collect()
//!     .await?;
//! for incident in todo.iter().take(3) {
//!     atlos.incidents().comment(&incident.slug, "Picked up for review").await?;
//! }
//! # Ok(()) }
//! # #[cfg(not(all(feature = "atlos", feature = "testkit")))]
//! # fn main() {}
//! ```
//!
//! ## Aleph
//!
//! ```
//! # #[cfg(all(feature = "aleph", feature = "testkit"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> casefile::Result<()> {
//! # let sandbox = casefile::testkit::Sandbox::start().await?;
//! # let (url, key) = (sandbox.aleph_url(), sandbox.aleph_api_key());
//! use casefile::aleph::{Category, Client, Entity, NewCollection};
//! use futures::TryStreamExt;
//!
//! // Or Client::from_env(): ALEPH_URL + ALEPH_API_KEY (or alephclient's ALEPHCLIENT_*).
//! let aleph = Client::builder().base_url(url).api_key(key).build()?;
//! let leak = aleph
//!     .collections()
//!     .create(NewCollection::new("Leak 2026").category(Category::Leak))
//!     .await?;
//! let people = (0..2500).map(|n| {
//!     Entity::new("Person").with_id(format!("person-{n}")).add("name", format!("Person {n}"))
//! });
//! let report = aleph.collections().bulk(&leak.id, people).chunk_size(1000).await?;
//! assert_eq!((report.entities, report.chunks), (2500, 3));
//!
//! let back: Vec<Entity> = aleph
//!     .collections()
//!     .stream_entities(&leak.id)
//!     .schema("Person")
//!     .stream()
//!     .try_collect()
//!     .await?;
//! assert_eq!(back.len(), 2500);
//! # Ok(()) }
//! # #[cfg(not(all(feature = "aleph", feature = "testkit")))]
//! # fn main() {}
//! ```
//!
//! ## Atlas
//!
//! ```
//! # #[cfg(all(feature = "atlas", feature = "testkit"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> casefile::Result<()> {
//! # let sandbox = casefile::testkit::Sandbox::start().await?;
//! # let (url, (user, key)) = (sandbox.atlas_url(), sandbox.atlas_digest());
//! # let dir = tempfile::tempdir().map_err(|e| casefile::Error::Config(e.to_string()))?;
//! use casefile::atlas::Client;
//! use futures::TryStreamExt;
//!
//! // Or Client::from_env(): ATLAS_URL, and ATLAS_TOKEN or ATLAS_USERNAME + ATLAS_API_KEY.
//! let atlas = Client::builder().base_url(url).digest(user, key).build()?;
//! let csvs: Vec<_> = atlas
//!     .attachments()
//!     .list()
//!     .attachment_type("csv")
//!     .stream()
//!     .try_collect()
//!     .await?;
//! for attachment in csvs.iter().take(2) {
//!     let Some(id) = attachment.attachment_id else { continue };
//!     // The name comes from the server: `save_in` keeps it inside the directory (see
//!     // `casefile::safe_file_name`), and the id keeps two attachments of one name apart.
//!     let name = format!("{id}-{}", attachment.attachment_name);
//!     let (path, bytes) = atlas.attachments().download(id).save_in(dir.path(), &name).await?;
//!     println!("{} ({bytes} bytes)", path.display());
//! }
//! # Ok(()) }
//! # #[cfg(not(all(feature = "atlas", feature = "testkit")))]
//! # fn main() {}
//! ```
//!
//! ## Streams
//!
//! Every listing builder has `.stream()`, a [`Paginator`]: a `Stream` of
//! `Result<item>` that fetches the next page while the current one is consumed, whatever the
//! platform's paging (cursors, next URLs, page numbers, offsets). `.concurrency(n)` fetches `n`
//! pages at once where the total is known, still handing items over in order; `.pages()` gives
//! whole [`Page`]s; `.first_page()` only the first; `.max_items(n)` / `.max_pages(n)` bound a
//! listing that might never end. A stream never ends quietly on a broken server: a listing that
//! stops short of the exact total it announced, a cursor handed out twice or an offset that goes
//! back ends with [`Error::Pagination`], and no number a server sends sizes memory or plans more
//! than `n` pages ahead. Large answers that are not pages are streamed
//! too: [`ByteStream`](transport::ByteStream) (downloads, saved through a `.part` file) and
//! Aleph's JSON-lines entity stream, decoded line by line in constant memory.
//!
//! ## Errors
//!
//! Every operation returns [`Result<T>`](Result) with one [`Error`] type. A server's refusal is
//! [`Error::Api`] with an [`ApiError`]: the status, a classified [`ErrorKind`], the server's own
//! message and field errors, its `Retry-After`, and the method and URL (the query's values
//! elided, no userinfo). An argument casefile can check is refused with
//! [`Error::InvalidInput`] before anything is sent.
//!
//! ```
//! use casefile::{Error, ErrorKind};
//!
//! fn advice(err: &Error) -> String {
//!     match err {
//!         Error::Api(api) if api.kind == ErrorKind::Unauthorized => "check the token".into(),
//!         Error::Api(api) if api.kind == ErrorKind::RateLimited => {
//!             format!("slow down; the server asks for {:?}", api.retry_after)
//!         }
//!         Error::Api(api) => format!("{}: {}", api.status, api.message),
//!         Error::InvalidInput { argument, reason } => format!("fix {argument}: {reason}"),
//!         other if other.is_timeout() => "the server was too slow".into(),
//!         other => other.to_string(),
//!     }
//! }
//! ```
//!
//! ## Retries and limits
//!
//! A request is sent again only when that cannot do harm: connection failures and `429` for
//! every method, timeouts, dropped bodies and `500/502/503/504` only for idempotent ones, with
//! jittered exponential waits, `Retry-After` honoured up to a cap, and a budget on the total wait
//! ([`RetryPolicy`]). That one loop in the transport does all retrying, also for the operations
//! that are safe to send again though their method is `POST` (an Aleph `_bulk` chunk, an ingest
//! with a `foreign_id`). A client-side [`RateLimit`] keeps a long job under a server's quota
//! instead of bouncing off it (Atlas clients default to the server's 100 requests a minute).
//!
//! Time and memory are bounded whatever the server does: the idle timeout (60 s by default) ends a
//! call when no byte moved in either direction, so a slow upload that keeps moving is never cut;
//! an optional total timeout bounds a whole call with its retries; bodies are read only up to
//! `max_body_size` (256 MiB) and JSON lines up to `max_line_length` (64 MiB), past which the call
//! ends with [`Error::Limit`]. Every platform builder takes the same settings:
//!
//! ```
//! # #[cfg(feature = "aleph")]
//! # fn main() -> casefile::Result<()> {
//! use std::time::Duration;
//! use casefile::{RateLimit, RetryPolicy};
//!
//! let aleph = casefile::aleph::Client::builder()
//!     .base_url("https://aleph.example.org")
//!     .api_key("…")
//!     .retry(RetryPolicy::default().max_retries(8).budget(Duration::from_secs(600)))
//!     .rate_limit(RateLimit::new(30, Duration::from_secs(60)))
//!     .idle_timeout(Duration::from_secs(300))
//!     .user_agent("my-archiver/1.2")
//!     .build()?;
//! # Ok(()) }
//! # #[cfg(not(feature = "aleph"))]
//! # fn main() {}
//! ```
//!
//! ## Progress
//!
//! Uploads, downloads and bulk loads take `.progress(|p| ..)`, called with a [`Progress`] (bytes
//! or items done, and the total when known) as the work goes on; see [`progress`].
//!
//! ```
//! # #[cfg(all(feature = "aleph", feature = "testkit"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> casefile::Result<()> {
//! # let sandbox = casefile::testkit::Sandbox::start().await?;
//! # let aleph = sandbox.aleph()?;
//! use casefile::Upload;
//! use casefile::aleph::{IngestMeta, NewCollection};
//!
//! let docs = aleph.collections().create(NewCollection::new("Documents")).await?;
//! let id = aleph
//!     .collections()
//!     .ingest(&docs.id, Upload::bytes("memo.txt", vec![b'x'; 200_000]), IngestMeta::default())
//!     .progress(|p| eprintln!("{} of {:?} bytes sent", p.done, p.total))
//!     .await?;
//! # Ok(()) }
//! # #[cfg(not(all(feature = "aleph", feature = "testkit")))]
//! # fn main() {}
//! ```
//!
//! ## Tracing
//!
//! With the `tracing` feature every request is a `casefile.request` span with the fields
//! `method`, `route` (the path with ids elided, e.g. `/api/2/collections/{id}/_bulk`),
//! `attempt`, `status` and `duration_ms`; each retry is a `WARN` event (`retrying`, with the
//! attempt, the wait and the reason) and a wait for the client-side rate limit an `INFO` event.
//! Neither headers nor query strings are recorded, so no credential reaches a log. Any
//! subscriber shows them:
//!
//! ```no_run
//! tracing_subscriber::fmt()
//!     .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
//!     .init();
//! ```
//!
//! ## The sandbox in your tests
//!
//! With the `testkit` feature, `casefile::testkit::Sandbox::start()` runs fake servers of all
//! three APIs inside your test process on `127.0.0.1`, seeded with data, with ready clients
//! (`sandbox.atlos()`, `.aleph()`, `.atlas()`) or URLs and credentials to hand to your own code.
//! Writes show up in later reads, and `sandbox.faults()` injects latency, error statuses, `429`s
//! and bodies cut half-way, to see that your job survives them:
//!
//! ```no_run
//! # #[cfg(all(feature = "atlos", feature = "testkit"))]
//! # mod test {
//! use casefile::testkit::Sandbox;
//! use futures::TryStreamExt;
//!
//! #[tokio::test]
//! async fn my_archiver_survives_a_flaky_server() -> casefile::Result<()> {
//!     let sandbox = Sandbox::builder().incidents(300).start().await?;
//!     let atlos = sandbox.atlos()?;
//!     sandbox.faults().fail_next(2, 503); // the next two requests fail; they are retried
//!     let incidents: Vec<_> = atlos.incidents().list().stream().try_collect().await?;
//!     assert!(incidents.len() > 250);
//!     Ok(())
//! }
//! # }
//! ```
//!
//! ## Calling an endpoint casefile does not model
//!
//! Every platform stands on the same two pieces, both public:
//!
//! - [`Transport`], the one request pipeline: base URL, credentials (Bearer, ApiKey, or Digest
//!   with a cached challenge), timeouts, retries with backoff ([`RetryPolicy`]), a client-side
//!   rate limit ([`RateLimit`]), percent-encoded paths, and errors that keep what the server said
//!   ([`Error`], [`ApiError`]). Each client's `transport()` hands out its own;
//! - [`Paginator`], one stream for every listing, fetching ahead of the caller.
//!
//! ```no_run
//! use casefile::{Auth, Page, PageToken, Paginator, Transport};
//! use futures::TryStreamExt;
//!
//! # async fn run() -> casefile::Result<()> {
//! let api = Transport::builder("https://api.example.org/v1/")
//!     .auth(Auth::bearer("token"))
//!     .build()?;
//!
//! #[derive(serde::Deserialize)]
//! struct Listing { results: Vec<serde_json::Value>, next: Option<String> }
//!
//! let items = Paginator::new(move |token| {
//!     let request = api.get(&["items"]);
//!     let request = match token {
//!         Some(PageToken::Cursor(cursor)) => request.query_param("cursor", &cursor),
//!         _ => request,
//!     };
//!     async move {
//!         let page: Listing = request.send().await?;
//!         Ok(Page { items: page.results, next: page.next.map(PageToken::Cursor), total: None })
//!     }
//! });
//! let all: Vec<serde_json::Value> = items.try_collect().await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[macro_use]
mod macros;
mod checksum;
#[cfg(any(feature = "aleph", feature = "atlas"))]
mod manifest;

#[cfg(feature = "aleph")]
pub mod aleph;
#[cfg(feature = "atlas")]
pub mod atlas;
#[cfg(feature = "atlos")]
pub mod atlos;

pub mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(any(feature = "aleph", feature = "testkit"))]
mod namespace;
pub mod paginate;
mod path;
pub mod progress;
mod safe_name;
mod signed_url;
#[cfg(feature = "testkit")]
pub mod testkit;
#[allow(dead_code)] // used by the platform modules
mod time;
pub mod transport;
mod upload;

pub use checksum::{Algorithm, Checksum};
pub use error::{
    ApiError, DecodeError, Error, ErrorKind, HttpError, HttpErrorKind, PartialError, Rejected,
    Result,
};
pub use paginate::{Page, PageToken, Pages, Paginator};
pub use progress::Progress;
pub use safe_name::{MAX_FILE_NAME_BYTES, safe_file_name};
pub use signed_url::SignedUrl;
pub use transport::{
    Auth, ClientBuilder, RateLimit, RequestBuilder, RetryPolicy, Secret, Transport,
};
pub use upload::{Form, Upload};

/// The types of other crates that appear in casefile's API, re-exported so that a user needs no
/// direct dependency (and no matching version) to name them: `Url` (next links, presigned URLs),
/// `Bytes` (downloads, uploads), `Method` (raw [`Transport`] requests), and the `chrono` and
/// `uuid` crates whose dates, times and ids the models hold.
///
/// ```
/// use casefile::reexports::{chrono::NaiveDate, uuid::Uuid};
///
/// let next: casefile::Url = "https://aleph.example.org/api/2/entities?offset=50".parse().unwrap();
/// let day = NaiveDate::from_ymd_opt(2024, 5, 19).unwrap();
/// let id = Uuid::nil();
/// assert_eq!((next.path(), day.to_string(), id.is_nil()), ("/api/2/entities", "2024-05-19".into(), true));
/// ```
pub mod reexports {
    pub use bytes::Bytes;
    pub use chrono;
    pub use reqwest::Method;
    pub use url::Url;
    pub use uuid;
}
pub use reexports::{Bytes, Method, Url};
