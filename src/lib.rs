//! # casefile
//!
//! A typed async client for the APIs of three investigation platforms:
//! [Atlos](https://atlos.org) (incidents, source material, updates),
//! [Aleph](https://github.com/alephdata/aleph) (collections, entities, ingest, alerts, mappings,
//! permissions, archive) and Atlas (attachments and annotations, with the Atlas REST conventions:
//! digest auth, numbered pages, envelopes, rate limits).
//!
//! Every platform client stands on the same two pieces:
//!
//! - [`Transport`], the one request pipeline: base URL, credentials (Bearer, ApiKey, or Digest
//!   with a cached challenge), timeouts, retries with backoff ([`RetryPolicy`]), a client-side
//!   rate limit ([`RateLimit`]), percent-encoded paths, and errors that keep what the server said
//!   ([`Error`], [`ApiError`]);
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
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[macro_use]
mod macros;

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
pub mod paginate;
mod path;
pub mod progress;
#[cfg(feature = "testkit")]
pub mod testkit;
#[allow(dead_code)] // used by the platform modules
mod time;
pub mod transport;
mod upload;

pub use error::{ApiError, DecodeError, Error, ErrorKind, HttpError, HttpErrorKind, Result};
pub use paginate::{Page, PageToken, Pages, Paginator};
pub use progress::Progress;
pub use transport::{
    Auth, ClientBuilder, RateLimit, RequestBuilder, RetryPolicy, Secret, Transport,
};
pub use upload::Upload;
