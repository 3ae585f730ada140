//! Cross-referencing: matching a collection's entities against every collection the caller can
//! read, the matches, their Excel export, and the caller's exports.
//!
//! Cross-referencing runs in the background (`POST /collections/{id}/xref` only queues it, and
//! first deletes the collection's earlier results). Its progress is the collection's
//! processing status: [`Collections::status`](crate::aleph::Collections::status) counts the
//! run's tasks (as a stage `xref`) among the collection's, and
//! [`TaskCounts::is_active`](crate::aleph::TaskCounts::is_active) turns false when none is left;
//! meanwhile the matches are a partial set (alephdata/aleph `aleph/views/xref_api.py`
//! `generate`, `aleph/logic/xref.py` `xref_collection`, `aleph/views/collections_api.py`
//! `status`, `aleph/queues.py` `get_status`).
//!
//! ```no_run
//! # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
//! use futures::TryStreamExt;
//!
//! aleph.xref().run("7").await?;
//! while aleph.collections().status("7").await?.tasks.is_active() {
//!     tokio::time::sleep(std::time::Duration::from_secs(5)).await;
//! }
//! let strong: Vec<_> = aleph
//!     .xref()
//!     .matches("7")
//!     .min_score(0.8)
//!     .stream()
//!     .concurrency(4)
//!     .try_collect()
//!     .await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entities::Entity;
use super::entitysets::Judgement;
use super::{Listing, de_id, de_opt_id};
use crate::transport::Transport;

string_enum! {
    /// What cross-referencing matches can be sorted by (`aleph/search/__init__.py`
    /// `XrefQuery.SORT_FIELDS`). Unsorted, the matches come by their score, highest first
    /// (`SORT_DEFAULT`).
    pub enum XrefSort {
        /// The search's relevance: Aleph maps `score` to Elasticsearch's `_score`, not to the
        /// match's score, so it orders only by how well the matches fit a
        /// [`query`](ListXref::query); without one it leaves them in no particular order.
        Score = "score",
        /// How unsure the matching model is (set only by a server running an xref model).
        Doubt = "doubt",
        /// A random number drawn for each match, for sampling.
        Random = "random",
    }
}

string_enum! {
    /// The state of an export (`aleph/model/common.py` `Status.LABEL`).
    pub enum ExportStatus {
        /// Queued or running.
        Pending = "pending",
        /// Done: the file can be downloaded from `links.download`.
        Successful = "successful",
        /// Failed.
        Failed = "failed",
    }
}

/// One cross-referencing match: an entity of the collection and a candidate from any collection
/// the caller can read (`aleph/views/serializers.py` `XrefSerializer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct XrefMatch {
    /// The match's id.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// How alike the two are, 0 to 1. The listing shows only matches above 0.5 unless it is
    /// sorted by doubt or random.
    #[serde(default)]
    pub score: Option<f64>,
    /// How unsure the model is (only with an xref model configured on the server).
    #[serde(default)]
    pub doubt: Option<f64>,
    /// The comparison that scored it, e.g. `ftm-3.5.9`.
    #[serde(default)]
    pub method: Option<String>,
    /// A random number, for sampling (`sort=random`).
    #[serde(default)]
    pub random: Option<u64>,
    /// The schema of the candidate.
    #[serde(default)]
    pub schema: Option<String>,
    /// The collection that was cross-referenced (the candidate's own is in
    /// `candidate.collection`).
    #[serde(default, deserialize_with = "de_opt_id")]
    pub collection_id: Option<String>,
    /// What the caller's team decided about the pair (`no_judgement` when nobody did).
    #[serde(default)]
    pub judgement: Option<Judgement>,
    /// The entity of the collection.
    #[serde(default)]
    pub entity: Option<Entity>,
    /// The candidate it matched (the server's `match` field).
    #[serde(default, rename = "match")]
    pub candidate: Option<Entity>,
    /// Whether the caller may judge the pair (write access to the collection).
    #[serde(default)]
    pub writeable: bool,
    /// When the match was found.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// Links (none today).
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
}

/// The answer to a request the server queued (`{"status": "accepted"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Accepted {
    /// `accepted`.
    #[serde(default)]
    pub status: Option<String>,
}

/// An export of the caller: an Excel file of cross-referencing matches or search results,
/// prepared in the background and kept 30 days (`aleph/model/export.py` `Export.to_dict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Export {
    /// The export's id.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// A title, e.g. `Leak 2026 - Crossreference results`.
    #[serde(default)]
    pub label: Option<String>,
    /// What it exports: `exportxref` or `exportsearch`.
    #[serde(default)]
    pub operation: Option<String>,
    /// The role that asked for it.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub creator_id: Option<String>,
    /// The collection it exports, if one (a number on the wire).
    #[serde(default, deserialize_with = "de_opt_id")]
    pub collection_id: Option<String>,
    /// Whether it is ready, pending or failed.
    #[serde(default)]
    pub status: Option<ExportStatus>,
    /// The file's content hash, once it is ready.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// The file's size in bytes.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// The file's name.
    #[serde(default)]
    pub file_name: Option<String>,
    /// The file's media type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Whether the file was deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Details of the export, when any.
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
    /// When the file will be deleted.
    #[serde(default, with = "crate::time::utc_option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was asked for.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the caller may change it.
    #[serde(default)]
    pub writeable: bool,
    /// `download`: a signed archive URL valid for a day, once the file is ready (a secret; see
    /// [`Archive::download_link`](crate::aleph::Archive::download_link)).
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
}

/// Cross-referencing and exports: `client.xref()`.
#[derive(Debug, Clone)]
pub struct Xref {
    transport: Transport,
}

impl Xref {
    pub(crate) fn new(transport: Transport) -> Self {
        Xref { transport }
    }

    /// `POST /collections/{id}/xref`: queues the cross-referencing of a collection (needs write
    /// access; answers `202`). The collection's earlier matches are deleted first; follow the
    /// run with [`Collections::status`](crate::aleph::Collections::status)
    /// (`aleph/views/xref_api.py` `generate`).
    pub fn run(&self, collection_id: impl fmt::Display) -> RunXref {
        RunXref::new(
            self.transport
                .post(&["collections", &collection_id.to_string(), "xref"]),
        )
    }

    /// `GET /collections/{id}/xref`: the matches of a collection, best first, each with the
    /// pair's judgement (`aleph/views/xref_api.py` `index`, `aleph/search/__init__.py`
    /// `XrefQuery`).
    ///
    /// Only matches scoring above 0.5 are listed, unless the listing is sorted by
    /// [`XrefSort::Doubt`] or [`XrefSort::Random`]. Only candidates in collections the caller
    /// can read are listed. It is a search: it reaches at most 9,999 matches, and ends there
    /// (the [`export`](Self::export) has them all). A page may hold fewer matches than asked
    /// for when an entity was deleted since the run.
    pub fn matches(&self, collection_id: impl fmt::Display) -> ListXref {
        let id = collection_id.to_string();
        ListXref {
            list: Listing::new(self.transport.clone(), &["collections", &id, "xref"], true),
        }
    }

    /// `POST /collections/{id}/xref.xlsx`: queues an Excel file of every match of the
    /// collection (no score cutoff, no 9,999 window). It answers `202` with an empty body: the
    /// export appears in [`exports`](Self::exports) (`aleph/views/xref_api.py` `export`). Use an
    /// API key: Aleph also takes the request anonymously on a public collection, but then makes
    /// an export that nobody can list.
    pub fn export(&self, collection_id: impl fmt::Display) -> ExportXref {
        ExportXref::new(self.transport.post(&[
            "collections",
            &collection_id.to_string(),
            "xref.xlsx",
        ]))
    }

    /// `GET /exports`: the caller's exports that have not expired, newest first (xref and
    /// search exports; needs an API key; `aleph/views/exports_api.py` `index`).
    pub fn exports(&self) -> ListExports {
        ListExports {
            list: Listing::new(self.transport.clone(), &["exports"], false),
        }
    }
}

/// Lists a collection's cross-referencing matches; from [`Xref::matches`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListXref {
    list: Listing,
}

impl ListXref {
    search_methods!();

    /// Sorts by `field`, highest first when `descending` (`sort=<field>:desc`; repeatable, and
    /// as Aleph builds the sort, the **last** one given decides first). Sorting by doubt or
    /// random also lists the matches scoring 0.5 or less.
    pub fn sort_by(mut self, field: XrefSort, descending: bool) -> Self {
        let order = if descending { "desc" } else { "asc" };
        self.list.push("sort".into(), format!("{field}:{order}"));
        self
    }

    /// Only matches scoring at least `score` (`filter:gte:score`).
    pub fn min_score(mut self, score: f64) -> Self {
        self.list.push("filter:gte:score".into(), score.to_string());
        self
    }

    /// Only candidates from this collection (`filter:match_collection_id`; repeatable).
    pub fn match_collection(mut self, collection_id: impl fmt::Display) -> Self {
        self.list.push(
            "filter:match_collection_id".into(),
            collection_id.to_string(),
        );
        self
    }

    /// Only candidates of this schema (`filter:schema`; repeatable).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.list.push("filter:schema".into(), schema.into());
        self
    }

    list_methods!(XrefMatch);
}

/// Lists the caller's exports; from [`Xref::exports`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListExports {
    list: Listing,
}

impl ListExports {
    list_methods!(Export);
}

operation! {
    /// Queues the cross-referencing of a collection; from [`Xref::run`].
    RunXref => Accepted
}

operation! {
    /// Queues the Excel export of a collection's matches; from [`Xref::export`]. `.await`
    /// queues it; [`ready`](Self::ready) also waits for the file.
    ExportXref => ()
}

impl ExportXref {
    /// Queues the export and waits until the server has made it (see [`ReadyExport`]).
    pub fn ready(self) -> ReadyExport {
        ReadyExport::new(self.request, EXPORT_XREF)
    }
}

operation! {
    /// Queues the export of a search's results; from
    /// [`SearchEntities::export`](super::SearchEntities::export). `.await` queues it;
    /// [`ready`](Self::ready) also waits for the file.
    ExportSearch => ()
}

impl ExportSearch {
    /// Queues the export and waits until the server has made it (see [`ReadyExport`]).
    pub fn ready(self) -> ReadyExport {
        ReadyExport::new(self.request, EXPORT_SEARCH)
    }
}

/// The operation of an xref export (`aleph/settings.py` `STAGE_EXPORT_XREF`).
const EXPORT_XREF: &str = "exportxref";
/// The operation of a search export (`aleph/settings.py` `STAGE_EXPORT_SEARCH`).
const EXPORT_SEARCH: &str = "exportsearch";

/// The newest exports [`ReadyExport`] looks at, in each poll: the page size of `GET /exports`.
const EXPORTS_PAGE: u64 = 50;

/// Queues an export and waits, polling `GET /exports` with a bound, until the server has made
/// it; from [`ExportXref::ready`] or [`SearchEntities::export`](super::SearchEntities::export).
///
/// The server answers the request to export with `202` and no id (`aleph/views/xref_api.py`
/// `export`, `aleph/views/entities_api.py` `export`), so the export is recognised as the one of
/// this kind that was not among the caller's newest exports before it was queued. The answer is
/// the export once it is done, [`Successful`](ExportStatus::Successful) or
/// [`Failed`](ExportStatus::Failed); past the [`timeout`](Self::timeout) (default 10 minutes)
/// the call fails with [`Limit::Wait`](crate::error::Limit::Wait). Download it with
/// [`Archive::export`](super::Archive::export), which checks the file against its
/// `content_hash`.
///
/// ```no_run
/// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
/// let export = aleph.xref().export("7").ready().await?;
/// aleph.archive().export(&export).save("matches.xlsx").await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "an export does nothing until it is sent or awaited"]
pub struct ReadyExport {
    queue: crate::transport::RequestBuilder,
    operation: &'static str,
    every: std::time::Duration,
    timeout: std::time::Duration,
}

impl ReadyExport {
    pub(super) fn new(queue: crate::transport::RequestBuilder, operation: &'static str) -> Self {
        ReadyExport {
            queue,
            operation,
            every: std::time::Duration::from_secs(2),
            timeout: std::time::Duration::from_secs(600),
        }
    }

    /// How long to wait between two looks at the exports (default 2 seconds).
    pub fn poll_every(mut self, every: std::time::Duration) -> Self {
        self.every = every;
        self
    }

    /// How long to wait for the export in all (default 10 minutes).
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Queues the export and waits for it.
    pub async fn send(self) -> crate::Result<Export> {
        let ReadyExport {
            queue,
            operation,
            every,
            timeout,
        } = self;
        if every.is_zero() {
            return Err(crate::Error::invalid("poll_every", "must be more than 0"));
        }
        let transport = queue.transport().clone();
        let newest = || async {
            let page: crate::Result<super::ResultSet<Export>> = transport
                .get(&["exports"])
                .query(&[("limit", EXPORTS_PAGE)])
                .send()
                .await;
            page.map(|page| page.results)
        };
        let before: std::collections::BTreeSet<String> =
            newest().await?.into_iter().map(|e| e.id).collect();
        queue.send_empty().await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let made = newest()
                .await?
                .into_iter()
                .find(|e| e.operation.as_deref() == Some(operation) && !before.contains(&e.id));
            if let Some(export) = made
                && matches!(
                    export.status,
                    Some(ExportStatus::Successful | ExportStatus::Failed)
                )
            {
                return Ok(export);
            }
            if tokio::time::Instant::now() + every > deadline {
                let limit = crate::error::Limit::Wait { after: timeout };
                return Err(crate::error::LimitError {
                    limit,
                    method: "GET".into(),
                    url: format!("{}exports", crate::error::redact_url(transport.api_base())),
                }
                .into());
            }
            tokio::time::sleep(every).await;
        }
    }
}

send_on_await!(ReadyExport => Export);
