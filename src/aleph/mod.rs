//! Aleph: the data platform for investigations (collections of documents and FollowTheMoney
//! entities), API 2.
//!
//! [`Client`] speaks to an Aleph 4.x server (or an OpenAleph fork) under `<instance>/api/2/`,
//! authenticating with `Authorization: ApiKey <key>`. The resources hang off the client:
//!
//! - [`Client::collections`]: list, get, create, update, delete, reingest, reindex, status,
//!   touch, bulk loading ([`Collections::bulk`]), entity streaming
//!   ([`Collections::stream_entities`]), document ingest ([`Collections::ingest`]) and the
//!   ingest of a whole directory tree, resumable through a manifest
//!   ([`Collections::ingest_dir`]);
//! - [`Client::entities`]: get, search, create, update, delete, and the graph: what an entity
//!   is connected to ([`Entities::expand`]), the values it shares ([`Entities::tags`]), the
//!   entities like it ([`Entities::similar`]) and the matches of an entity one describes
//!   ([`Entities::matching`]);
//! - [`Client::roles`]: find a colleague by e-mail, the caller's groups and profile, API keys;
//! - [`Client::notifications`], [`Client::status`], [`Client::metadata`]: what happened, what
//!   is being processed, and what the server is (version, FollowTheMoney model);
//! - [`Client::entity_sets`]: lists, diagrams, timelines and profiles, their members and
//!   judgements;
//! - [`Client::xref`] (cross-referencing and exports) and [`Client::profiles`] (pairwise
//!   judgements);
//! - [`Client::alerts`], [`Client::mappings`], [`Client::permissions`], [`Client::archive`];
//! - on OpenAleph only (refused on Aleph before sending): the documents like an entity
//!   ([`Entities::more_like_this`]), the entities near it ([`Entities::nearby`]), the documents
//!   that mention it ([`Entities::mentions`]), the entities a document mentions
//!   ([`Entities::percolate`]), an e-mail's thread ([`Entities::thread`]), the documents that
//!   mention any entity of a set ([`Client::screening`]) and users' tags ([`Client::tags`]).
//!
//! Listings are Aleph's offset pages (`{"results", "total", "total_type", "limit", "offset",
//! "next", ...}`). casefile reads the offset and limit of each page's `next` link and asks for
//! that page on the configured base URL itself, so a `next` link the server built on another host
//! (Aleph builds it on its public UI URL) never receives a request. Paging stops when `next` is
//! missing, a page is empty, the total is reached, or a search reaches the end of its window of
//! 9,999 results (past it the server points at the same offset again, with limit 0). Elsewhere a
//! `next` that does not move forward is an error, not an end. When the server says the total is
//! exact (`total_type: "eq"`), a listing that ends with fewer items is an error too, and
//! [`Paginator::concurrency`](crate::Paginator::concurrency) fetches several pages at once; a
//! `"gte"` total is only a lower bound and promises nothing.
//!
//! Every empty value (null, `""`, `[]`, `{}`) is left out of the objects in Aleph's answers
//! (only a listing's envelope keeps `"next": null`, `"previous": null` and `"results": []`),
//! so every field of every model is optional or defaulted.
//!
//! Aleph does not keep the ids of entities written with [`Collections::bulk`] as sent: it signs
//! each one, and each reference to another entity, with the collection's namespace, so that
//! `person-1` is stored as `person-1.<signature>`. [`namespaced_id`] computes the stored id from
//! the collection's `foreign_id`, to read an entity back with [`Entities::get`]. Entity-typed
//! properties (an `Ownership`'s `owner`) come back as the entities they point at
//! ([`PropertyValue::Entity`]), and can be written back as read.
//!
//! ```no_run
//! use casefile::aleph::{Category, Client, NewCollection};
//! use futures::TryStreamExt;
//!
//! # async fn run() -> casefile::Result<()> {
//! let aleph = Client::from_env()?; // ALEPH_URL, ALEPH_API_KEY
//! let leak = aleph
//!     .collections()
//!     .create(NewCollection::new("Leak 2026").category(Category::Leak).foreign_id("leak_2026"))
//!     .await?;
//! let people: Vec<_> = aleph
//!     .collections()
//!     .stream_entities(&leak.id)
//!     .schema("Person")
//!     .stream()
//!     .try_collect()
//!     .await?;
//! println!("{} people in {}", people.len(), leak.label);
//! # Ok(()) }
//! ```

/// The methods of every Aleph list builder (a `list` field holding a [`Listing`]): the page
/// size and offset, `result_set` (the first page with facets), and those of every list builder
/// of every platform (see `listing_methods!`).
macro_rules! list_methods {
    ($item:ty) => {
        /// Items per page (default 20, at most 9,999; a search reaches at most 9,999 results in
        /// all).
        pub fn page_size(mut self, n: u64) -> Self {
            self.list.page_size(n);
            self
        }

        /// Items to skip.
        pub fn offset(mut self, offset: u64) -> Self {
            self.list.offset(offset);
            self
        }

        /// Adds a query parameter casefile does not model (yet), sent as given: e.g.
        /// `.param("facet_significant", "names")` on an OpenAleph server.
        pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.list.push(name.into(), value.into());
            self
        }

        /// Fetches the first page with everything the server said about it (totals, facets,
        /// links); [`first_page`](Self::first_page) has only the items, the next token and the
        /// total.
        pub async fn result_set(self) -> crate::Result<crate::aleph::ResultSet<$item>> {
            self.list.send().await
        }

        fn paginator(self) -> crate::Paginator<$item> {
            self.list.paginator()
        }

        listing_methods!($item, list.bounds);
    };
}

/// The filters, sorting and facets of an Aleph listing that is a search: every parameter of
/// `SearchQueryParser` (alephdata/aleph `aleph/search/parser.py`) that narrows, orders or counts
/// the results.
macro_rules! filter_methods {
    () => {
        /// Only items whose `field` has `value` (`filter:<field>=<value>`), e.g.
        /// `("countries", "ua")`; several values of one field are alternatives.
        pub fn filter(mut self, field: &str, value: impl Into<String>) -> Self {
            self.list.push(format!("filter:{field}"), value.into());
            self
        }

        /// Leaves out items whose `field` has `value` (`exclude:<field>=<value>`).
        pub fn exclude(mut self, field: &str, value: impl Into<String>) -> Self {
            self.list.push(format!("exclude:{field}"), value.into());
            self
        }

        /// Only items that have no value for `field` (`empty:<field>`).
        pub fn empty(mut self, field: &str) -> Self {
            self.list.set(&format!("empty:{field}"), "true".into());
            self
        }

        /// Only items whose `field` is greater than `value` (`filter:gt:<field>`): a date
        /// (`2020`, `2020-05`, `2020-05-17`, `2020-05-17T10:00:00`) or a number.
        pub fn gt(mut self, field: &str, value: impl Into<String>) -> Self {
            self.list.set(&format!("filter:gt:{field}"), value.into());
            self
        }

        /// Only items whose `field` is at least `value` (`filter:gte:<field>`); see
        /// [`gt`](Self::gt).
        pub fn gte(mut self, field: &str, value: impl Into<String>) -> Self {
            self.list.set(&format!("filter:gte:{field}"), value.into());
            self
        }

        /// Only items whose `field` is less than `value` (`filter:lt:<field>`); see
        /// [`gt`](Self::gt).
        pub fn lt(mut self, field: &str, value: impl Into<String>) -> Self {
            self.list.set(&format!("filter:lt:{field}"), value.into());
            self
        }

        /// Only items whose `field` is at most `value` (`filter:lte:<field>`); see
        /// [`gt`](Self::gt).
        pub fn lte(mut self, field: &str, value: impl Into<String>) -> Self {
            self.list.set(&format!("filter:lte:{field}"), value.into());
            self
        }

        /// Sort by a field, `field` or `field:asc|desc`, e.g. `created_at:desc`. Aleph makes the
        /// **last** sort given the first key (`aleph/search/query.py` `get_sort`).
        pub fn sort(mut self, sort: impl Into<String>) -> Self {
            self.list.push("sort".into(), sort.into());
            self
        }

        /// Count the values of a field (`facet=<field>`), e.g. `countries`; the counts are in
        /// [`ResultSet::facets`](crate::aleph::ResultSet::facets) of
        /// [`result_set`](Self::result_set).
        pub fn facet(mut self, field: impl Into<String>) -> Self {
            self.list.push("facet".into(), field.into());
            self
        }

        /// Count the values of a field as `spec` says: how many values, their distinct total,
        /// a date histogram (see [`FacetSpec`](crate::aleph::FacetSpec)).
        pub fn facet_with(
            mut self,
            field: impl Into<String>,
            spec: crate::aleph::FacetSpec,
        ) -> Self {
            let field = field.into();
            self.list.facet(&field, spec);
            self
        }
    };
}

/// The highlighting of an entity search, on both servers: `highlight` and `highlight_count`
/// (Aleph `aleph/search/parser.py`, openaleph-search `parse/parser.py`).
macro_rules! highlight_methods {
    () => {
        /// Include highlighted fragments of the matching text (`highlight`): a list of
        /// fragments on Aleph, fragments per field on OpenAleph (see
        /// [`Highlight`](crate::aleph::Highlight)). The server may have highlighting turned
        /// off (`ALEPH_RESULT_HIGHLIGHT`).
        pub fn highlight(mut self, highlight: bool) -> Self {
            self.list.set("highlight", highlight.to_string());
            self
        }

        /// How many fragments to highlight per field (`highlight_count`, default 3; 0 gives
        /// the whole field).
        pub fn highlight_count(mut self, n: u32) -> Self {
            self.list.set("highlight_count", n.to_string());
            self
        }
    };
}

/// The search parameters of an Aleph search of entities or collections: text and name prefix
/// (`q`, `prefix`), and [`filter_methods!`].
macro_rules! search_methods {
    () => {
        /// Search text (`q`, Aleph's query syntax).
        pub fn query(mut self, text: impl Into<String>) -> Self {
            self.list.set("q", text.into());
            self
        }

        /// Only items whose name starts with `text` (`prefix`).
        pub fn prefix(mut self, text: impl Into<String>) -> Self {
            self.list.set("prefix", text.into());
            self
        }

        filter_methods!();
    };
}

mod alerts;
mod archive;
mod bulk;
mod collections;
pub mod crawl;
mod entities;
mod entitysets;
mod fetch;
mod graph;
mod ingest;
mod mappings;
mod metadata;
mod notifications;
mod openaleph;
mod permissions;
mod profiles;
mod roles;
mod search;
mod server;
mod validate;
mod xref;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use crate::error::{ApiError, Error, ErrorKind, Result};
use crate::paginate::{Bounds, Head, Page, PageSource, PageToken, Paginator, Refusal, split_page};
use crate::transport::{
    Answer, Auth, ClientBuilder, Dialect, Gate, RequestBuilder, Transport, setting,
};

pub use crate::namespace::namespaced_id;
pub use alerts::{Alert, Alerts, CreateAlert, DeleteAlert, GetAlert, ListAlerts};
pub use archive::{Archive, Download, Rendition};
pub use bulk::{BulkLoad, BulkReport, FailedChunk};
pub use collections::{
    BatchStatus, CancelCollection, Category, Collection, CollectionStatus, Collections,
    CreateCollection, DeleteCollection, Frequency, GetCollection, GetStatus, JobStatus,
    ListCollections, NewCollection, QueueStatus, ReindexCollection, ReingestCollection,
    StageStatus, StreamEntities, TaskCounts, TouchCollection, UpdateCollection, is_dataset_name,
};
pub use crawl::{
    CrawlEvent, CrawlFailure, CrawlProgress, CrawlReport, EntryKind, IngestDir, Manifest,
    ManifestEntry, PassReason, PassedOver, is_junk, read_manifest,
};
pub use entities::{
    CreateEntity, DeleteEntity, Entities, Entity, GetEntity, Highlight, PropertyValue,
    SearchEntities, UpdateEntity,
};
pub use entitysets::{
    AddEntity, CreateEntitySet, DeleteEntitySet, EntitySet, EntitySetItem, EntitySetType,
    EntitySets, GetEntitySet, Judgement, ListEntitySets, ListItems, ListSetsOfEntity, NewEntitySet,
    SetEntities, SetItem, UpdateEntitySet,
};
pub use fetch::{
    FETCH_MANIFEST, FetchDir, FetchFailure, FetchProgress, FetchReport, FetchedEntry, Renamed,
};
pub use graph::{
    EntityTags, ExpandEntity, Expansion, Expansions, MAX_EXPAND, MatchEntity, Similar,
    SimilarEntities, Tag, Tags,
};
pub use ingest::{CreateFolder, Ingest, IngestMeta};
pub use mappings::{
    CreateMapping, DeleteMapping, FlushMapping, GetMapping, ListMappings, Mapping, Mappings,
    NewMapping, TriggerMapping, UpdateMapping,
};
pub use metadata::{
    ActiveCollection, AppInfo, AuthInfo, GetMetadata, GetServerStatus, Metadata, Model,
    PropertyType, Schema, SchemaEdge, SchemaProperty, ServerStatus,
};
pub use notifications::{
    EventName, ListNotifications, Notification, NotificationEvent, NotificationParams,
};
pub use openaleph::{
    AddTag, ClearTags, GetThread, ListTagCounts, ListUserTags, MAX_TAG_LENGTH, MAX_THREAD, Mention,
    Mentions, MoreLikeThis, NearbyEntities, NearbyEntity, Percolate, Percolated, RemoveTag,
    Screening, TagCount, Tagging, UserTag,
};
pub use permissions::{
    GetPermissions, Permission, PermissionUpdate, Permissions, PermissionsList, UpdatePermissions,
};
pub use profiles::{
    ExpandProfile, GetProfile, GetProfileTags, ListSimilar, Pairwise, PairwiseResult, Profile,
    Profiles,
};
pub use roles::{
    GenerateApiKey, GetGroups, GetRole, NewApiKey, RoleCounts, Roles, SUGGEST_MIN_PREFIX,
    SuggestRoles, UpdateRole,
};
pub use search::{FacetSpec, Interval};
pub(crate) use server::Known;
pub use server::{Feature, Flavor, Server, Version};
pub use validate::{Invalid, Problem, validate};
pub use xref::{
    Accepted, Export, ExportSearch, ExportStatus, ExportXref, ListExports, ListXref, ReadyExport,
    RunXref, Xref, XrefMatch, XrefSort,
};

/// The API prefix under the instance root.
const API_PREFIX: &str = "api/2/";

/// The largest `offset + limit` Aleph's searches answer (`MAX_PAGE`); later offsets are clamped.
pub const SEARCH_WINDOW: u64 = 9999;

/// A client of one Aleph instance. Cheap to clone (the connection pool is shared).
///
/// ```no_run
/// # fn run() -> casefile::Result<()> {
/// let aleph = casefile::aleph::Client::builder()
///     .base_url("https://aleph.example.org")
///     .api_key("363af1e2b03b41c6b3adc604956e2f66")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    transport: Transport,
    /// Which server this is, and its FollowTheMoney model: fetched once (see [`Client::server`]).
    known: Known,
}

impl ClientBuilder<Client> {
    /// Authenticates with an API key (`Authorization: ApiKey <key>`). Without one the client is
    /// anonymous and sees only public data.
    pub fn api_key(self, key: impl Into<crate::Secret>) -> Self {
        self.auth(Auth::api_key(key))
    }

    /// Says which server the client talks to, so that it never asks (`GET /metadata`) before
    /// an operation that only one of Aleph and OpenAleph has; see [`Client::server`].
    ///
    /// ```
    /// # fn run() -> casefile::Result<()> {
    /// use casefile::aleph::{Client, Server};
    ///
    /// let aleph = Client::builder()
    ///     .base_url("https://openaleph.example.org")
    ///     .server(Server::openaleph("5.3.0"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn server(mut self, server: Server) -> Self {
        self.aleph_server = Some(server);
        self
    }

    /// Builds the client. The base URL is the instance root (`https://aleph.example.org`);
    /// `api/2/` is added unless it is already there.
    ///
    /// Every request of the client carries one random `X-Aleph-Session` id, as alephclient
    /// sends, so that the server files the jobs the client queues (bulk loads, ingests, entity
    /// writes, exports) under one job id (`aleph/views/context.py`, `aleph/views/util.py`
    /// `get_session_id`).
    pub fn build(mut self) -> Result<Client> {
        let session = session_id();
        if let Ok(value) = reqwest::header::HeaderValue::from_str(&session) {
            self.default_headers.insert("x-aleph-session", value);
        }
        let told = self.aleph_server.take();
        let transport = self.build_transport(None, API_PREFIX)?;
        Ok(Client {
            known: Known::new(transport.clone(), told),
            transport,
        })
    }
}

impl Client {
    /// A builder with the shared settings (timeouts, retries, rate limit) and Aleph's API key.
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::new(DIALECT)
    }

    /// A client configured from the environment: the instance from `ALEPH_URL` (or
    /// alephclient's `ALEPHCLIENT_HOST`, or openaleph-client's `OPENALEPH_HOST`) and the key
    /// from `ALEPH_API_KEY` (or `ALEPHCLIENT_API_KEY`, `OPENALEPH_API_KEY`), so the settings of
    /// either official client work as they are. Without a key the client is anonymous.
    pub fn from_env() -> Result<Client> {
        Self::from_lookup(|name| std::env::var(name).ok())?.build()
    }

    /// The builder [`from_env`](Self::from_env) makes, reading the same variables through
    /// `lookup` (a map, a config file, a test): empty values count as unset. The builder can
    /// still be adjusted before `build()`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder<Client>> {
        let var = |names: &[&str]| setting(&lookup, names);
        let url = var(&["ALEPH_URL", "ALEPHCLIENT_HOST", "OPENALEPH_HOST"]).ok_or_else(|| {
            Error::Config(
                "set ALEPH_URL (or ALEPHCLIENT_HOST, OPENALEPH_HOST) to the Aleph instance".into(),
            )
        })?;
        let mut builder = Client::builder().base_url(url);
        if let Some(key) = var(&["ALEPH_API_KEY", "ALEPHCLIENT_API_KEY", "OPENALEPH_API_KEY"]) {
            builder = builder.api_key(key);
        }
        Ok(builder)
    }

    /// The underlying transport, for endpoints casefile does not model.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Collections (datasets and investigations), bulk loading, streaming and ingest. Bulk
    /// loads check their entities against the client's [model](Self::model).
    pub fn collections(&self) -> Collections {
        Collections::new(self.transport.clone(), self.known.clone())
    }

    /// The server's FollowTheMoney model (`GET /metadata`'s `model`), fetched the first time
    /// it is asked for and then kept: every clone of the client and every bulk load shares it.
    /// A failed fetch is not kept; the next call tries again. Check entities with
    /// [`validate`] or [`Model::check`].
    pub async fn model(&self) -> Result<std::sync::Arc<Model>> {
        self.known.model().await
    }

    /// The server the client talks to: as the builder was told
    /// ([`ClientBuilder::server`](crate::ClientBuilder::server)), or as `GET /metadata`
    /// describes it (its `app.version`, and the shape of the answer), fetched the first time
    /// it is needed (with the [model](Self::model)) and then kept.
    ///
    /// Operations that only one of Aleph and OpenAleph has ask it before they send anything,
    /// and fail with [`Error::Unsupported`] on the other.
    pub async fn server(&self) -> Result<Server> {
        self.known.server().await
    }

    /// Entities: get, search, create, update, delete; expand, tags, similar, matching.
    pub fn entities(&self) -> Entities {
        Entities::new(self.transport.clone(), self.known.clone())
    }

    /// Roles and groups: find a colleague, the caller's groups and profile, API keys.
    pub fn roles(&self) -> Roles {
        Roles::new(self.transport.clone(), self.known.clone())
    }

    /// Users' tags on entities of taggable collections (OpenAleph 5.1; refused on Aleph).
    pub fn tags(&self) -> Tagging {
        Tagging::new(self.transport.clone(), self.known.clone())
    }

    /// `GET /screening` (OpenAleph 5.3; refused on Aleph): the documents that mention any
    /// entity of a set, e.g. a sanctions list (see [`Screening`]).
    pub fn screening(&self) -> Screening {
        Screening::new(self.transport.clone(), &self.known)
    }

    handles! {
        /// Lists, diagrams, timelines and profiles of entities, and judgements about their
        /// members.
        entity_sets => EntitySets,

        /// The caller's alerts (saved searches).
        alerts => Alerts,

        /// Mappings that turn a table in a collection into entities.
        mappings => Mappings,

        /// Who may read and write a collection.
        permissions => Permissions,

        /// Downloads of stored files (documents, PDF and CSV renditions).
        archive => Archive,

        /// Cross-referencing: run it, list the matches, export them; the caller's exports.
        xref => Xref,

        /// Profiles and pairwise judgements of matches.
        profiles => Profiles,
    }

    /// `GET /notifications`: what happened in the caller's collections and to its alerts (an
    /// alert's new results arrive as [`EventName::MatchAlert`]), newest first.
    pub fn notifications(&self) -> ListNotifications {
        ListNotifications::new(self.transport.clone())
    }

    /// `GET /status`: the processing status of every collection the caller can read that has
    /// work going on.
    pub fn status(&self) -> GetServerStatus {
        GetServerStatus::new(self.transport.get(&["status"]))
    }

    /// `GET /metadata`: the server's version, categories, FollowTheMoney model and feature flags
    /// (no authentication needed; it does not say who the caller is).
    pub fn metadata(&self) -> GetMetadata {
        GetMetadata::new(self.transport.get(&["metadata"]))
    }
}

/// A random session id, a UUID as alephclient's (`str(uuid4())`).
fn session_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the id is still one per client in practice: the clock's nanoseconds.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// What a `403` of an anonymous caller adds to the server's message.
const ANONYMOUS_HINT: &str = " (the request was anonymous: no API key was sent, or Aleph did \
     not recognise it; an unknown, expired (keys expire 90 days after they are generated on \
     Aleph 4.1) or regenerated key acts as anonymous instead of being refused)";

/// How Aleph speaks: plain JSON, its refusals classified by [`classify`].
const DIALECT: Dialect = Dialect {
    classify,
    ..Dialect::PLAIN
};

/// Refines Aleph errors: a `403` whose body lists at most one role means the request was
/// anonymous: an anonymous caller holds only the `guest` role, a recognised one at least its
/// own and `guest` and `user` (`aleph/logic/authz.py`, `aleph/views/base_api.py`
/// `handle_authz_error`). Aleph does not refuse an unknown key: it serves the request as
/// anonymous (`aleph/views/context.py` `get_authz`; `aleph/model/role.py` `by_api_key`), and
/// on Aleph 4.1 a key expires 90 days after it was generated and stops working when a new one
/// is generated (`aleph/logic/api_keys.py`).
fn classify(error: &mut ApiError) {
    if error.status != 403 {
        return;
    }
    #[derive(Deserialize)]
    struct Forbidden {
        roles: Option<Vec<serde_json::Value>>,
    }
    let anonymous = serde_json::from_str::<Forbidden>(&error.body)
        .ok()
        .and_then(|b| b.roles)
        .is_some_and(|roles| roles.len() <= 1);
    if anonymous {
        error.kind = ErrorKind::Unauthorized;
        error.message.push_str(ANONYMOUS_HINT);
    }
}

/// One page of an Aleph listing, as the server sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResultSet<T> {
    /// The items of this page.
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
    /// How many items the whole listing has (exact or a lower bound, see `total_type`).
    #[serde(default)]
    pub total: Option<u64>,
    /// `"eq"` when `total` is exact, `"gte"` when it is a lower bound (searches stop counting at
    /// 10,000).
    #[serde(default)]
    pub total_type: Option<String>,
    /// The 1-based number of this page.
    #[serde(default)]
    pub page: Option<u64>,
    /// How many pages the listing has.
    #[serde(default)]
    pub pages: Option<u64>,
    /// The page size.
    #[serde(default)]
    pub limit: Option<u64>,
    /// The offset of this page.
    #[serde(default)]
    pub offset: Option<u64>,
    /// The URL of the next page, built on the server's public URL.
    #[serde(default)]
    pub next: Option<String>,
    /// The URL of the previous page.
    #[serde(default)]
    pub previous: Option<String>,
    /// Facet counts, when facets were asked for.
    #[serde(default)]
    pub facets: BTreeMap<String, Facet>,
    /// Related links (e.g. `export` of a search).
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
}

impl<T> ResultSet<T> {
    /// The generic page: items, the offset token of the next page, and the total when exact.
    ///
    /// The next token comes from the offset and limit in `next`, never from its host. It is
    /// `None` when `next` is missing, when it points at this page's offset or before it, and in a
    /// search (`window`) when it is past the search window of [`SEARCH_WINDOW`] results.
    pub fn into_page(self, window: bool) -> Page<T> {
        let this = self.offset.unwrap_or(0);
        let next = offset_token(self.next.as_deref(), self.limit, window)
            .filter(|next| matches!(next, PageToken::Offset { offset, .. } if *offset > this));
        Page {
            items: self.results,
            next,
            total: exact_total(self.total, self.total_type.as_deref(), window),
        }
    }
}

/// A list Aleph answers whole, not paged: `{"total", "results"}` (some routes add `status`):
/// a profile's or an entity's tags and expansion, the collections being processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Unpaged<T> {
    /// How many results the server counted (for an expansion, the sum of the properties'
    /// counts, which may be more than `results` holds).
    #[serde(default)]
    pub total: u64,
    /// The results.
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
}

/// The token of the page a `next` link names: its offset and limit, never its host. `None` when
/// there is no link or no offset in it, when its limit is 0, and in a search (`window`) past the
/// search window: Aleph clamps a search's offset to [`SEARCH_WINDOW`] and its limit so that
/// `offset + limit` stays within it, so past the window `next` keeps pointing at the same offset
/// with limit 0 (alephdata/aleph `aleph/search/parser.py` `SearchQueryParser`,
/// `aleph/search/result.py` `next_url`).
fn offset_token(next: Option<&str>, limit: Option<u64>, window: bool) -> Option<PageToken> {
    let next = Url::parse(next?).ok()?;
    let param = |name: &str| {
        next.query_pairs()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let offset = param("offset")?;
    let mut limit = param("limit").or(limit).unwrap_or(20);
    if limit == 0 {
        return None;
    }
    if window {
        if offset >= SEARCH_WINDOW {
            return None;
        }
        limit = limit.min(SEARCH_WINDOW - offset);
    }
    Some(PageToken::Offset { offset, limit })
}

/// The total when the server says it is exact (`total_type: "eq"`); a search reaches at most
/// [`SEARCH_WINDOW`] of them. `"gte"` is a lower bound (a search stops counting at 10,000), and
/// a server that does not say is not taken at its word either.
fn exact_total(total: Option<u64>, total_type: Option<&str>, window: bool) -> Option<u64> {
    let total = total.filter(|_| total_type == Some("eq"))?;
    Some(if window {
        total.min(SEARCH_WINDOW)
    } else {
        total
    })
}

/// One page of an Aleph listing as the paginator reads it in its background task; the results
/// are found apart (see [`offset_head`]) and decoded by the caller of the stream.
#[derive(Deserialize)]
struct OffsetPage {
    #[serde(default)]
    total: Option<u64>,
    #[serde(default)]
    total_type: Option<String>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    next: Option<String>,
}

/// Reads an Aleph listing page: where its results are, the next offset and the exact total. The
/// page is skimmed whole: Aleph puts `facets` and `links` objects after the results. A
/// `next` that does not move forward is left to the paginator, which refuses it; only the
/// window's end (see [`offset_token`]) ends a listing quietly.
pub(crate) fn offset_head(answer: &Answer, window: bool) -> Result<Head> {
    let (page, items) = split_page::<OffsetPage>(answer, &["results"], false)?;
    Ok(Head {
        items,
        field: "results",
        len: None,
        next: offset_token(page.next.as_deref(), page.limit, window),
        total: exact_total(page.total, page.total_type.as_deref(), window),
    })
}

/// The counts of one facet of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Facet {
    /// The values of this facet that were filtered on.
    #[serde(default)]
    pub filters: Vec<String>,
    /// How many distinct values there are (when `facet_total` was asked for).
    #[serde(default)]
    pub total: Option<u64>,
    /// The most frequent values.
    #[serde(default)]
    pub values: Vec<FacetValue>,
    /// Date intervals, for a date facet.
    #[serde(default)]
    pub intervals: Vec<FacetValue>,
}

/// One value of a facet and how many items have it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FacetValue {
    /// The value.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// A readable label of the value.
    #[serde(default)]
    pub label: Option<serde_json::Value>,
    /// How many items have this value.
    #[serde(default)]
    pub count: u64,
    /// Whether the listing is filtered on this value.
    #[serde(default)]
    pub active: bool,
    /// The category of a collection value (a `collection_id` facet).
    #[serde(default)]
    pub category: Option<String>,
}

/// A user, group or system role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Role {
    /// The role's id.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// `user`, `group` or `system`.
    #[serde(default, rename = "type")]
    pub role_type: Option<String>,
    /// The role's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The role's display label.
    #[serde(default)]
    pub label: Option<String>,
    /// The e-mail address (only shown to the role itself and admins).
    #[serde(default)]
    pub email: Option<String>,
    /// Links, e.g. `self`.
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
    /// Whether the caller may change this role.
    #[serde(default)]
    pub writeable: bool,
    /// The interface language (own role only).
    #[serde(default)]
    pub locale: Option<String>,
    /// Whether the role is an administrator (own role only).
    #[serde(default)]
    pub is_admin: bool,
    /// Whether the notification e-mails are stopped (own role only).
    #[serde(default)]
    pub is_muted: bool,
    /// Whether the role tries features under test (own role only).
    #[serde(default)]
    pub is_tester: bool,
    /// Whether the role has a password (own role only).
    #[serde(default)]
    pub has_password: bool,
    /// Whether the role has an API key (own role only).
    #[serde(default)]
    pub has_api_key: bool,
    /// When the API key stops working (own role only; 90 days after it was generated, none for
    /// a key older than expiry): past it the key silently makes the caller anonymous.
    #[serde(default, with = "crate::time::utc_option")]
    pub api_key_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the role was created (own role only).
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the role was last changed (own role only).
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What the role owns: alerts, entity sets per type, casefiles, exports (`GET /roles/{id}`
    /// of the caller's own role).
    #[serde(default)]
    pub counts: Option<RoleCounts>,
    /// Whether the role may create collections (OpenAleph 5.3 and later, own role only: admins
    /// and members of the instance's investigator group; `None` on servers that do not say).
    ///
    /// OpenAleph also puts the user's API key, in plain text, in its own role; casefile does
    /// not keep it, so that it cannot reach a log through this model.
    #[serde(default)]
    pub is_investigator: Option<bool>,
}

/// The longest query string casefile puts in a URL; a longer search goes as a form. Servers and
/// proxies commonly refuse request lines over 4 or 8 KiB.
const MAX_QUERY_LENGTH: usize = 2048;

/// What a paginated listing needs to fetch any of its pages: the path, the query parameters in
/// order, and whether it is a search (bounded by [`SEARCH_WINDOW`]).
pub(crate) struct Listing {
    transport: Transport,
    segments: Vec<String>,
    /// The query parameters, in the order they were given (filters repeat).
    params: Vec<(String, String)>,
    window: bool,
    /// Completes the parameters before the first request (a default filter, say).
    complete: fn(&mut Vec<(String, String)>),
    /// Where the same search can be sent as a form (`POST /search`) when its parameters are too
    /// long for a URL.
    post_to: Option<&'static str>,
    /// The offset the caller starts at (see [`Listing::offset`]).
    start: u64,
    /// An argument refused while building; reported by `send` and `stream`, before any request.
    refusal: Option<Refusal>,
    /// What the server must have for this listing (a route or parameter of one of Aleph and
    /// OpenAleph), checked before each page is asked for.
    gate: Option<Gate>,
    pub(crate) bounds: Bounds,
}

impl std::fmt::Debug for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The parameters' values are the caller's search terms: only their names are shown.
        let names: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Listing")
            .field("segments", &self.segments)
            .field("params", &names)
            .field("window", &self.window)
            .field("start", &self.start)
            .field("gated", &self.gate.is_some())
            .finish_non_exhaustive()
    }
}

impl Listing {
    /// The listing at `segments`; a `window`ed one is a search.
    pub(crate) fn new(transport: Transport, segments: &[&str], window: bool) -> Self {
        Listing {
            transport,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            params: Vec::new(),
            window,
            complete: |_| {},
            post_to: None,
            start: 0,
            refusal: None,
            gate: None,
            bounds: Bounds::default(),
        }
    }

    /// Makes the listing wait for `gate` before each page (a route or a parameter that only one
    /// of Aleph and OpenAleph has; see `Known::gate`).
    pub(crate) fn require(&mut self, gate: Gate) {
        self.gate = Some(gate);
    }

    /// The same listing, its parameters completed by `complete` before the first request.
    pub(crate) fn completed_by(mut self, complete: fn(&mut Vec<(String, String)>)) -> Self {
        self.complete = complete;
        self
    }

    /// The same listing, sent as a form to `path` when its parameters are too long for a URL
    /// (Aleph reads a search's parameters from a form body too: `request.values` in
    /// `aleph/views/entities_api.py`; a JSON body is ignored).
    pub(crate) fn long_queries_to(mut self, path: &'static str) -> Self {
        self.post_to = Some(path);
        self
    }

    /// Adds a facet on `field` counted as `spec` says, recorded as refused if it asks for
    /// nothing.
    pub(crate) fn facet(&mut self, field: &str, spec: FacetSpec) {
        if let Some(refusal) = spec.check(field) {
            self.refusal = Some(refusal);
        }
        self.params.extend(spec.params(field));
    }

    /// Adds a query parameter (a name may repeat: `filter:countries=ua&filter:countries=cy`).
    pub(crate) fn push(&mut self, name: String, value: String) {
        self.params.push((name, value));
    }

    /// Sets a query parameter that has one value.
    pub(crate) fn set(&mut self, name: &str, value: String) {
        self.params.retain(|(k, _)| k != name);
        self.params.push((name.to_owned(), value));
    }

    /// Sets the page size, recorded as refused if Aleph would not honour it.
    pub(crate) fn page_size(&mut self, limit: u64) {
        if limit == 0 || limit > SEARCH_WINDOW {
            self.refusal = Some(Refusal(
                "page_size",
                format!("must be between 1 and {SEARCH_WINDOW}, got {limit}"),
            ));
        }
        self.set("limit", limit.to_string());
    }

    /// Sets the offset the listing starts at, so that the paginator also counts the items it
    /// should get from there.
    pub(crate) fn offset(&mut self, offset: u64) {
        self.start = offset;
        self.set("offset", offset.to_string());
    }

    fn checked(&self) -> Result<()> {
        if let Some(refusal) = &self.refusal {
            return Err(refusal.error());
        }
        for segment in &self.segments {
            crate::path::check_segment("id", segment)?;
        }
        Ok(())
    }

    fn page_request(&self, token: Option<&PageToken>) -> RequestBuilder {
        let mut params = self.params.clone();
        if let Some(PageToken::Offset { offset, limit }) = token {
            params.retain(|(k, _)| k != "offset" && k != "limit");
            params.push(("offset".into(), offset.to_string()));
            params.push(("limit".into(), limit.to_string()));
        }
        let length: usize = params.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        match self.post_to {
            // A read sent as a form: safe to send again.
            Some(path) if length > MAX_QUERY_LENGTH => {
                self.transport.post(&[path]).form(&params).idempotent(true)
            }
            _ => {
                let segments: Vec<&str> = self.segments.iter().map(String::as_str).collect();
                self.transport.get(&segments).query(&params)
            }
        }
        .gated(self.gate.clone())
    }

    /// A `POST` of `segments` with the listing's parameters (completed) as its query: the same
    /// search handed to another route (`POST /search/export`).
    pub(crate) fn request_to(mut self, segments: &[&str]) -> RequestBuilder {
        let check = self.checked();
        (self.complete)(&mut self.params);
        self.transport
            .post(segments)
            .query(&self.params)
            .checked(check)
            .gated(self.gate)
    }

    /// The first page, as the server sent it.
    pub(crate) async fn send<T: DeserializeOwned>(mut self) -> Result<ResultSet<T>> {
        self.checked()?;
        (self.complete)(&mut self.params);
        self.page_request(None).send().await
    }

    /// Every item of every page.
    pub(crate) fn paginator<T: DeserializeOwned + Send + 'static>(mut self) -> Paginator<T> {
        let refusal = self.checked().err().map(Refusal::from_error);
        (self.complete)(&mut self.params);
        let (start, bounds) = (self.start, self.bounds);
        Paginator::from_source(self)
            .refused(refusal)
            .starting_at(start)
            .bounded(bounds)
    }
}

impl PageSource for Listing {
    fn request(&self, token: Option<&PageToken>) -> Result<RequestBuilder> {
        Ok(self.page_request(token))
    }

    fn head(&self, answer: &Answer, _: Option<&PageToken>) -> Result<Head> {
        offset_head(answer, self.window)
    }
}

/// Aleph writes ids as strings, but some places (the `_stream` lines, old servers) as numbers.
pub(crate) fn de_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(de_opt_id(d)?.unwrap_or_default())
}

/// An optional id written as a string or a number.
pub(crate) fn de_opt_id<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Option::<Id>::deserialize(d)? {
        Some(Id::Text(s)) => Some(s),
        Some(Id::Number(n)) => Some(n.to_string()),
        None => None,
    })
}
