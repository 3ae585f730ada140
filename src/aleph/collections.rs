//! Collections: datasets and investigations (the models, and the [`Collections`] handle's
//! listing, CRUD and actions), and the streaming of a collection's entities. Bulk loading is in
//! `bulk.rs`, document ingest in `ingest.rs`.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::entities::Entity;
use super::{Feature, Listing, Role, Server, de_id, de_opt_id};
use crate::error::{Error, Result};
use crate::transport::Transport;

string_enum! {
    /// What kind of material a collection holds.
    pub enum Category {
        /// News archives.
        News = "news",
        /// Leaks.
        Leak = "leak",
        /// Land registry.
        Land = "land",
        /// Gazettes.
        Gazette = "gazette",
        /// Court archives.
        Court = "court",
        /// Company registries.
        Company = "company",
        /// Sanctions lists.
        Sanctions = "sanctions",
        /// Procurement.
        Procurement = "procurement",
        /// Financial records.
        Finance = "finance",
        /// Grey literature.
        Grey = "grey",
        /// Document libraries.
        Library = "library",
        /// Licenses and concessions.
        License = "license",
        /// Regulatory filings.
        Regulatory = "regulatory",
        /// Persons of interest.
        Poi = "poi",
        /// Customs declarations.
        Customs = "customs",
        /// Population census.
        Census = "census",
        /// Air and maritime registers.
        Transport = "transport",
        /// Investigations (personal datasets).
        Casefile = "casefile",
        /// Other material.
        OtherMaterial = "other",
    }
}

string_enum! {
    /// How often a collection's data is updated.
    pub enum Frequency {
        /// Not known.
        Unknown = "unknown",
        /// Not updated.
        Never = "never",
        /// Daily.
        Daily = "daily",
        /// Weekly.
        Weekly = "weekly",
        /// Monthly.
        Monthly = "monthly",
        /// Annual.
        Annual = "annual",
    }
}

/// A collection: a dataset or an investigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Collection {
    /// The collection's id (a number written as a string).
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// The same id under its other name.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub collection_id: Option<String>,
    /// The caller's own unique key for the collection.
    #[serde(default)]
    pub foreign_id: Option<String>,
    /// The title.
    #[serde(default)]
    pub label: String,
    /// A description.
    #[serde(default)]
    pub summary: Option<String>,
    /// What kind of material it holds.
    #[serde(default)]
    pub category: Option<Category>,
    /// How often its data is updated.
    #[serde(default)]
    pub frequency: Option<Frequency>,
    /// Countries it covers (ISO codes).
    #[serde(default)]
    pub countries: Vec<String>,
    /// Languages of its documents (ISO 639-3 codes).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Who published the data.
    #[serde(default)]
    pub publisher: Option<String>,
    /// The publisher's web site.
    #[serde(default)]
    pub publisher_url: Option<String>,
    /// A page about the data.
    #[serde(default)]
    pub info_url: Option<String>,
    /// Where the data can be downloaded.
    #[serde(default)]
    pub data_url: Option<String>,
    /// An investigation rather than a dataset.
    #[serde(default)]
    pub casefile: bool,
    /// Not public.
    #[serde(default)]
    pub secret: bool,
    /// Marked as especially sensitive.
    #[serde(default)]
    pub restricted: bool,
    /// Cross-referenced against other collections.
    #[serde(default)]
    pub xref: bool,
    /// How many entities it holds.
    #[serde(default)]
    pub count: Option<u64>,
    /// When it was created.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When its metadata last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<DateTime<Utc>>,
    /// When its data last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub data_updated_at: Option<DateTime<Utc>>,
    /// Who created it.
    #[serde(default)]
    pub creator: Option<Role>,
    /// Who works on it.
    #[serde(default)]
    pub team: Vec<Role>,
    /// Links: `self`, `ui`, `xref_export`, `reconcile`.
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
    /// Whether the caller may change it.
    #[serde(default)]
    pub writeable: bool,
    /// A summary form (as in listings) rather than the full record.
    #[serde(default)]
    pub shallow: bool,
    /// Counts of schemata, names, countries, ... (full records only).
    #[serde(default)]
    pub statistics: Option<serde_json::Value>,
    /// Processing status (full records only).
    #[serde(default)]
    pub status: Option<CollectionStatus>,
    /// The dataset name OpenAleph derives from the `foreign_id` (OpenAleph only).
    #[serde(default)]
    pub name: Option<String>,
    /// Whether users may tag its entities (OpenAleph 5.1 and later).
    #[serde(default)]
    pub taggable: bool,
    /// Whether its data lives outside OpenAleph and is read-only to all but admins (OpenAleph
    /// 5.3 and later: `writeable` is then false).
    #[serde(default)]
    pub external: bool,
    /// Whether it holds material produced with AI, and what the owners say about it (OpenAleph
    /// only).
    #[serde(default)]
    pub contains_ai: bool,
    /// The owners' note about AI-produced material (OpenAleph only).
    #[serde(default)]
    pub contains_ai_comment: Option<String>,
}

impl Collection {
    /// The id Aleph will hold for an entity written into this collection with `entity_id` by a
    /// [bulk load](Collections::bulk): Aleph signs bulk-loaded ids, and the references inside
    /// entities, with the collection's namespace (followthemoney `Namespace`, keyed by the
    /// `foreign_id`; see [`namespaced_id`](super::namespaced_id)), so "write, then read back by
    /// my id" reads back by this one. `None` when the collection's `foreign_id` is not known or
    /// `entity_id` is not an id Aleph accepts.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client, leak: casefile::aleph::Collection) -> casefile::Result<()> {
    /// use casefile::aleph::Entity;
    /// let ana = Entity::new("Person").with_id("ana").add("name", "Ana");
    /// aleph.collections().bulk(&leak.id, [ana]).await?;
    /// if let Some(id) = leak.signed_id("ana") {
    ///     let stored = aleph.entities().get(id).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn signed_id(&self, entity_id: &str) -> Option<String> {
        let foreign_id = self.foreign_id.as_deref().filter(|f| !f.is_empty())?;
        crate::namespace::namespaced_id(foreign_id, entity_id)
    }
}

/// The processing status of a collection: its tasks, and its jobs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CollectionStatus {
    /// The tasks of every job.
    #[serde(flatten)]
    pub tasks: TaskCounts,
    /// The stages (ingest, analyze, index, xref, ...): what Aleph 4.1 sends
    /// (servicelayer `Dataset.get_status`, `servicelayer/taskqueue.py`).
    #[serde(default)]
    pub stages: Vec<StageStatus>,
    /// The jobs (one per upload or bulk session), on servers that group stages by job.
    #[serde(default)]
    pub jobs: Vec<JobStatus>,
    /// The batches of queued work, each with its queues (ingest, analyze, index, ...): what
    /// OpenAleph 5 sends instead of stages (openaleph-procrastinate `model.py`).
    #[serde(default)]
    pub batches: Vec<BatchStatus>,
    /// How long the remaining work should take, an ISO 8601 duration such as `PT1M33S`
    /// (OpenAleph only).
    #[serde(default)]
    pub remaining_time: Option<String>,
}

impl CollectionStatus {
    /// The counts per stage of processing (`ingest`, `index`, ...), from either server: Aleph
    /// 4.1's `stages`, or the queues of OpenAleph's batches, added up by name. In the order the
    /// server listed them.
    pub fn stage_counts(&self) -> Vec<(String, TaskCounts)> {
        let mut counts: Vec<(String, TaskCounts)> = Vec::new();
        let stages = self
            .stages
            .iter()
            .chain(self.jobs.iter().flat_map(|job| &job.stages))
            .map(|stage| (stage.stage.clone().unwrap_or_default(), stage.tasks));
        let queues = self
            .batches
            .iter()
            .flat_map(|batch| &batch.queues)
            .map(|queue| (queue.name.clone().unwrap_or_default(), queue.tasks));
        for (name, tasks) in stages.chain(queues) {
            match counts.iter_mut().find(|(known, _)| *known == name) {
                Some((_, sum)) => sum.add(&tasks),
                None => counts.push((name, tasks)),
            }
        }
        counts
    }
}

/// A batch of OpenAleph's queued work and its queues.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BatchStatus {
    /// The batch's name (`default` when the work was queued without one).
    #[serde(default)]
    pub name: Option<String>,
    /// The batch's tasks.
    #[serde(flatten)]
    pub tasks: TaskCounts,
    /// Its queues: `ingest`, `analyze`, `index`, ...
    #[serde(default)]
    pub queues: Vec<QueueStatus>,
}

/// One queue of an OpenAleph batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueueStatus {
    /// The queue's name, e.g. `ingest`.
    #[serde(default)]
    pub name: Option<String>,
    /// The queue's tasks.
    #[serde(flatten)]
    pub tasks: TaskCounts,
}

/// The status of one job of a collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job's id.
    #[serde(default)]
    pub job_id: Option<String>,
    /// The job's tasks.
    #[serde(flatten)]
    pub tasks: TaskCounts,
    /// The job's stages (ingest, analyze, index, ...).
    #[serde(default)]
    pub stages: Vec<StageStatus>,
}

/// The status of one stage of a job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StageStatus {
    /// The job's id.
    #[serde(default)]
    pub job_id: Option<String>,
    /// The stage, e.g. `ingest`.
    #[serde(default)]
    pub stage: Option<String>,
    /// The stage's tasks.
    #[serde(flatten)]
    pub tasks: TaskCounts,
}

/// How many tasks are done, being worked on and waiting, read from either server: Aleph 4.1's
/// `finished` / `running` / `pending` (servicelayer) or OpenAleph 5's `finished` / `doing` /
/// `todo` (openaleph-procrastinate `manage/status.py`, where `finished` counts the succeeded,
/// failed, aborted and cancelled ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskCounts {
    /// Tasks done.
    #[serde(default)]
    pub finished: u64,
    /// Tasks being worked on (OpenAleph: `doing`).
    #[serde(default, alias = "doing")]
    pub running: u64,
    /// Tasks waiting (OpenAleph: `todo`).
    #[serde(default, alias = "todo")]
    pub pending: u64,
    /// Tasks that failed (OpenAleph only; Aleph 4.1 does not count them).
    #[serde(default)]
    pub failed: u64,
}

impl TaskCounts {
    /// Adds `other`'s counts to these (saturating: the counts are the server's).
    fn add(&mut self, other: &TaskCounts) {
        self.finished = self.finished.saturating_add(other.finished);
        self.running = self.running.saturating_add(other.running);
        self.pending = self.pending.saturating_add(other.pending);
        self.failed = self.failed.saturating_add(other.failed);
    }

    /// Whether work is going on: a task running or waiting.
    pub fn is_active(&self) -> bool {
        self.running > 0 || self.pending > 0
    }
}

/// The metadata of a collection to create or update. `label` is required (2 to 500 characters,
/// checked before sending); everything else is optional.
///
/// ```
/// use casefile::aleph::{Category, NewCollection};
///
/// let new = NewCollection::new("Leak 2026")
///     .category(Category::Leak)
///     .foreign_id("leak_2026")
///     .countries(["ua", "cy"]);
/// assert_eq!(new.label, "Leak 2026");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewCollection {
    /// The title (2 to 500 characters).
    pub label: String,
    /// The caller's own unique key (Aleph refuses a duplicate with `400`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_id: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// What kind of material it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// How often its data is updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<Frequency>,
    /// Countries it covers (ISO codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Languages of its documents (ISO 639-3 codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Who published the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// The publisher's web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_url: Option<String>,
    /// A page about the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info_url: Option<String>,
    /// Where the data can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_url: Option<String>,
    /// An investigation rather than a dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub casefile: Option<bool>,
    /// Especially sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted: Option<bool>,
    /// Cross-reference against other collections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xref: Option<bool>,
    /// Whether users may tag its entities (OpenAleph 5.1 and later only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taggable: Option<bool>,
}

impl NewCollection {
    /// Metadata with a title.
    pub fn new(label: impl Into<String>) -> Self {
        NewCollection {
            label: label.into(),
            ..NewCollection::default()
        }
    }

    /// Sets the caller's own unique key. Aleph takes any text; OpenAleph only a dataset name,
    /// lowercase letters and digits joined by single underscores (`leak_2026`, see
    /// [`is_dataset_name`]), and casefile refuses any other there before sending.
    pub fn foreign_id(mut self, foreign_id: impl Into<String>) -> Self {
        self.foreign_id = Some(foreign_id.into());
        self
    }

    /// Sets the description.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// Sets the category.
    pub fn category(mut self, category: Category) -> Self {
        self.category = Some(category);
        self
    }

    /// Sets the update frequency.
    pub fn frequency(mut self, frequency: Frequency) -> Self {
        self.frequency = Some(frequency);
        self
    }

    /// Sets the countries (ISO codes).
    pub fn countries<S: Into<String>>(mut self, countries: impl IntoIterator<Item = S>) -> Self {
        self.countries = countries.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the languages (ISO 639-3 codes).
    pub fn languages<S: Into<String>>(mut self, languages: impl IntoIterator<Item = S>) -> Self {
        self.languages = languages.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the publisher.
    pub fn publisher(mut self, publisher: impl Into<String>) -> Self {
        self.publisher = Some(publisher.into());
        self
    }

    /// Marks it as an investigation (`true`) or a dataset.
    pub fn casefile(mut self, casefile: bool) -> Self {
        self.casefile = Some(casefile);
        self
    }

    /// Lets users tag its entities ([`Client::tags`](super::Client)); OpenAleph 5.1 and
    /// later only, refused on Aleph before sending (openaleph `aleph/model/collection.py`
    /// `taggable`).
    pub fn taggable(mut self, taggable: bool) -> Self {
        self.taggable = Some(taggable);
        self
    }

    /// What only one of the servers takes, checked when the server is known (and only when the
    /// collection has such a thing, so that most never ask).
    fn server_check(&self, known: &super::Known) -> Option<crate::transport::Gate> {
        let foreign_id = self.foreign_id.clone().filter(|id| !is_dataset_name(id));
        let taggable = self.taggable.is_some();
        if foreign_id.is_none() && !taggable {
            return None;
        }
        Some(known.check(move |server| {
            if let Some(id) = &foreign_id {
                check_foreign_id(server, id)?;
            }
            if taggable {
                server.require(Feature::Tagging)?;
            }
            Ok(())
        }))
    }

    fn check(&self) -> Result<()> {
        let chars = self.label.chars().count();
        if !(2..=500).contains(&chars) {
            return Err(Error::invalid(
                "label",
                format!("a collection's label must have 2 to 500 characters, this one has {chars}"),
            ));
        }
        Ok(())
    }
}

/// Whether `text` is a FollowTheMoney dataset name: lowercase ASCII letters and digits in runs
/// joined by single underscores (`leak_2026`), what `normality.slugify_text(text, sep="_")`
/// leaves as it is (followthemoney 4 `dataset/util.py` `dataset_name_check`).
pub fn is_dataset_name(text: &str) -> bool {
    !text.is_empty()
        && text.split('_').all(|run| {
            !run.is_empty()
                && run
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Refuses a foreign id that is not a dataset name on OpenAleph, which answers it with a 400 that
/// does not say why (openaleph `aleph/model/collection.py` `Collection.create` checks it since
/// 5.2; 5.0 and 5.1 refused it too, but only after storing the collection).
fn check_foreign_id(server: &Server, foreign_id: &str) -> Result<()> {
    if server.flavor != super::Flavor::OpenAleph {
        return Ok(());
    }
    let suggestion: String = foreign_id
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| !run.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    Err(Error::invalid(
        "foreign_id",
        format!(
            "{server} takes only lowercase letters and digits joined by single underscores \
             (`{suggestion}`), got `{foreign_id}`"
        ),
    ))
}

/// Collections: `client.collections()`.
#[derive(Debug, Clone)]
pub struct Collections {
    pub(super) transport: Transport,
    /// What the client knows of its server: the model, for bulk loads that validate; which
    /// server it is, for the routes only one has.
    pub(super) known: super::Known,
}

impl Collections {
    pub(crate) fn new(transport: Transport, known: super::Known) -> Self {
        Collections { transport, known }
    }

    /// `GET /collections`: the collections the caller can see, filtered and sorted.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use futures::TryStreamExt;
    /// let leaks: Vec<_> = aleph
    ///     .collections()
    ///     .list()
    ///     .filter("category", "leak")
    ///     .sort("created_at:desc")
    ///     .stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCollections {
        ListCollections {
            list: Listing::new(self.transport.clone(), &["collections"], true),
        }
    }

    /// `GET /collections/{id}`: the full record, with statistics and status.
    pub fn get(&self, id: impl fmt::Display) -> GetCollection {
        GetCollection::new(self.transport.get(&["collections", &id.to_string()]))
    }

    /// `POST /collections`. The label is checked (2 to 500 characters) before sending, and on
    /// OpenAleph the foreign id too (see [`NewCollection::foreign_id`]).
    pub fn create(&self, collection: NewCollection) -> CreateCollection {
        let gate = collection.server_check(&self.known);
        CreateCollection::new(
            self.transport
                .post(&["collections"])
                .json(&collection)
                .checked(collection.check())
                .gated(gate),
        )
    }

    /// The collection whose `foreign_id` is exactly `foreign_id`, if the caller can see one
    /// (`GET /collections?filter:foreign_id=..`).
    pub async fn find_by_foreign_id(&self, foreign_id: &str) -> Result<Option<Collection>> {
        let found = self
            .list()
            .filter("foreign_id", foreign_id)
            .page_size(10)
            .first_page()
            .await?;
        Ok(found
            .items
            .into_iter()
            .find(|c| c.foreign_id.as_deref() == Some(foreign_id)))
    }

    /// The collection with `collection`'s foreign id, created from `collection` when there is
    /// none: what a loader run twice needs. The foreign id is required and the label checked
    /// before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use casefile::aleph::NewCollection;
    ///
    /// let leak = aleph
    ///     .collections()
    ///     .get_or_create(NewCollection::new("Leak 2026").foreign_id("leak_2026"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_or_create(&self, collection: NewCollection) -> Result<Collection> {
        let Some(foreign_id) = collection.foreign_id.clone().filter(|f| !f.is_empty()) else {
            return Err(Error::invalid(
                "foreign_id",
                "get_or_create needs the collection's foreign id",
            ));
        };
        collection.check()?;
        match self.find_by_foreign_id(&foreign_id).await? {
            Some(existing) => Ok(existing),
            None => self.create(collection).await,
        }
    }

    /// `POST /collections/{id}`: replaces the metadata. Aleph requires the label here too.
    pub fn update(&self, id: impl fmt::Display, collection: NewCollection) -> UpdateCollection {
        let gate = collection.server_check(&self.known);
        UpdateCollection::new(
            self.transport
                .post(&["collections", &id.to_string()])
                .json(&collection)
                .checked(collection.check())
                .gated(gate),
        )
    }

    /// `DELETE /collections/{id}`: deletes the collection, or with `keep_metadata(true)` only
    /// empties it.
    pub fn delete(&self, id: impl fmt::Display) -> DeleteCollection {
        DeleteCollection {
            transport: self.transport.clone(),
            id: id.to_string(),
            flags: DeleteFlags::default(),
        }
    }

    /// `POST /collections/{id}/reingest`: processes every document again (answers `202`).
    pub fn reingest(&self, id: impl fmt::Display) -> ReingestCollection {
        ReingestCollection {
            transport: self.transport.clone(),
            id: id.to_string(),
            index: None,
        }
    }

    /// `POST /collections/{id}/reindex`: indexes every entity again (answers `202`).
    pub fn reindex(&self, id: impl fmt::Display) -> ReindexCollection {
        ReindexCollection {
            transport: self.transport.clone(),
            id: id.to_string(),
            flush: None,
        }
    }

    /// `GET /collections/{id}/status`: the processing status.
    pub fn status(&self, id: impl fmt::Display) -> GetStatus {
        GetStatus::new(
            self.transport
                .get(&["collections", &id.to_string(), "status"]),
        )
    }

    /// `DELETE /collections/{id}/status`: cancels the processing (answers `204`).
    pub fn cancel(&self, id: impl fmt::Display) -> CancelCollection {
        CancelCollection::new(
            self.transport
                .delete(&["collections", &id.to_string(), "status"]),
        )
    }

    /// `POST /collections/{id}/touch`: marks the data as updated now (admins; answers `202`).
    ///
    /// Aleph only: OpenAleph has no such route (it dates a collection when it is written to),
    /// so there the call fails with [`Error::Unsupported`](crate::Error::Unsupported) before it
    /// is sent.
    pub fn touch(&self, id: impl fmt::Display) -> TouchCollection {
        let request = self
            .transport
            .post(&["collections", &id.to_string(), "touch"]);
        TouchCollection::new(request.gated(Some(self.known.gate(Feature::Touch))))
    }

    /// `GET /collections/{id}/_stream`: every entity of the collection as JSON lines, decoded as
    /// they arrive. Needs write access to the collection.
    pub fn stream_entities(&self, id: impl fmt::Display) -> StreamEntities {
        StreamEntities {
            transport: self.transport.clone(),
            id: id.to_string(),
            query: StreamQuery::default(),
        }
    }
}

/// The query of `GET /collections`.
/// Lists collections; from [`Collections::list`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListCollections {
    list: Listing,
}

impl ListCollections {
    search_methods!();

    list_methods!(Collection);
}

operation! {
    /// Fetches one collection; from [`Collections::get`].
    GetCollection => Collection
}

operation! {
    /// Creates a collection; from [`Collections::create`].
    CreateCollection => Collection
}

operation! {
    /// Updates a collection; from [`Collections::update`].
    UpdateCollection => Collection
}

operation! {
    /// Fetches a collection's processing status; from [`Collections::status`].
    GetStatus => CollectionStatus
}

operation! {
    /// Cancels a collection's processing; from [`Collections::cancel`].
    CancelCollection => ()
}

operation! {
    /// Marks a collection's data as updated; from [`Collections::touch`].
    TouchCollection => ()
}

#[derive(Debug, Clone, Default, Serialize)]
struct DeleteFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_metadata: Option<bool>,
}

/// Deletes or empties a collection; from [`Collections::delete`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct DeleteCollection {
    transport: Transport,
    id: String,
    flags: DeleteFlags,
}

impl DeleteCollection {
    /// Wait until the deletion is done (the server's default) or return at once (`false`).
    pub fn sync(mut self, sync: bool) -> Self {
        self.flags.sync = Some(sync);
        self
    }

    /// Keep the collection and its metadata, delete only its contents.
    pub fn keep_metadata(mut self, keep: bool) -> Self {
        self.flags.keep_metadata = Some(keep);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<()> {
        self.transport
            .delete(&["collections", &self.id])
            .query(&self.flags)
            .send_empty()
            .await
    }
}

/// Reprocesses every document; from [`Collections::reingest`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct ReingestCollection {
    transport: Transport,
    id: String,
    index: Option<bool>,
}

impl ReingestCollection {
    /// Also index the documents again (`index=true`). OpenAleph ignores it and always indexes
    /// (openaleph `aleph/views/collections_api.py` `reingest`).
    pub fn index(mut self, index: bool) -> Self {
        self.index = Some(index);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<()> {
        #[derive(Serialize)]
        struct Query {
            #[serde(skip_serializing_if = "Option::is_none")]
            index: Option<bool>,
        }
        self.transport
            .post(&["collections", &self.id, "reingest"])
            .query(&Query { index: self.index })
            .send_empty()
            .await
    }
}

/// Reindexes every entity; from [`Collections::reindex`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct ReindexCollection {
    transport: Transport,
    id: String,
    flush: Option<bool>,
}

impl ReindexCollection {
    /// Empty the index of the collection first (`flush=true`).
    pub fn flush(mut self, flush: bool) -> Self {
        self.flush = Some(flush);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<()> {
        #[derive(Serialize)]
        struct Query {
            #[serde(skip_serializing_if = "Option::is_none")]
            flush: Option<bool>,
        }
        self.transport
            .post(&["collections", &self.id, "reindex"])
            .query(&Query { flush: self.flush })
            .send_empty()
            .await
    }
}

send_on_await!(DeleteCollection => (), ReingestCollection => (), ReindexCollection => ());

/// The query of `_stream`.
#[derive(Debug, Clone, Default, Serialize)]
struct StreamQuery {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    include: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    schema: Vec<String>,
}

/// Streams a collection's entities; from [`Collections::stream_entities`].
#[derive(Debug)]
#[must_use = "a stream does nothing until it is polled"]
pub struct StreamEntities {
    transport: Transport,
    id: String,
    query: StreamQuery,
}

impl StreamEntities {
    /// Only entities of this schema (repeatable), e.g. `Person`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.query.schema.push(schema.into());
        self
    }

    /// Only these fields of each entity (repeatable), e.g. `properties`, `schema`.
    pub fn include(mut self, field: impl Into<String>) -> Self {
        self.query.include.push(field.into());
        self
    }

    /// The entities, each as soon as its line arrived. The request is sent on the first poll.
    /// Lines of any length are fine; memory holds one line at a time.
    pub fn stream(self) -> BoxStream<'static, Result<Entity>> {
        let request = self
            .transport
            .get(&["collections", &self.id, "_stream"])
            .query(&self.query);
        futures::stream::once(async move {
            request
                .send_stream()
                .await
                .map(|body| body.json_lines::<Entity>())
        })
        .try_flatten()
        .boxed()
    }
}
