//! Collections: datasets and investigations, and what goes into them (bulk entities, streamed
//! entities, ingested documents).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::entities::{Entity, WriteEntity};
use super::{Listing, Role, de_id, de_opt_id};
use crate::error::{Error, Result};
use crate::progress::{Progress, Reporter, Unit};
use crate::transport::Transport;
use crate::upload::Upload;

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
}

/// The processing status of a collection: tasks finished, running and pending.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectionStatus {
    /// Tasks done.
    #[serde(default)]
    pub finished: u64,
    /// Tasks being worked on.
    #[serde(default)]
    pub running: u64,
    /// Tasks waiting.
    #[serde(default)]
    pub pending: u64,
    /// The jobs (one per upload or bulk session).
    #[serde(default)]
    pub jobs: Vec<JobStatus>,
}

/// The status of one job of a collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    /// The job's id.
    #[serde(default)]
    pub job_id: Option<String>,
    /// Tasks done.
    #[serde(default)]
    pub finished: u64,
    /// Tasks being worked on.
    #[serde(default)]
    pub running: u64,
    /// Tasks waiting.
    #[serde(default)]
    pub pending: u64,
    /// The job's stages (ingest, analyze, index, ...).
    #[serde(default)]
    pub stages: Vec<StageStatus>,
}

/// The status of one stage of a job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageStatus {
    /// The job's id.
    #[serde(default)]
    pub job_id: Option<String>,
    /// The stage, e.g. `ingest`.
    #[serde(default)]
    pub stage: Option<String>,
    /// Tasks done.
    #[serde(default)]
    pub finished: u64,
    /// Tasks being worked on.
    #[serde(default)]
    pub running: u64,
    /// Tasks waiting.
    #[serde(default)]
    pub pending: u64,
}

/// The metadata of a collection to create or update. `label` is required (2 to 500 characters,
/// checked before sending); everything else is optional.
///
/// ```
/// use casefile::aleph::{Category, NewCollection};
///
/// let new = NewCollection::new("Leak 2026")
///     .category(Category::Leak)
///     .foreign_id("leak-2026")
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
}

impl NewCollection {
    /// Metadata with a title.
    pub fn new(label: impl Into<String>) -> Self {
        NewCollection {
            label: label.into(),
            ..NewCollection::default()
        }
    }

    /// Sets the caller's own unique key.
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

/// The metadata of a document to ingest (the multipart `meta` field). All optional; a folder
/// needs `foreign_id`.
///
/// ```
/// use casefile::aleph::IngestMeta;
///
/// let meta = IngestMeta { title: Some("Board minutes".into()), ..IngestMeta::default() }
///     .parent_id("b2c0104f5c8a1cd9b075be4b0100000007");
/// assert!(meta.parent_id.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestMeta {
    /// The file name to record (default: the upload's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The caller's own unique key of the document (required for a folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_id: Option<String>,
    /// The id of the folder or archive it belongs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Who published it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Languages (ISO 639-3 codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Countries (ISO codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// The MIME type (default: detected by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Where the document was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The document's date (`YYYY`, `YYYY-MM-DD`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// When it was authored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authored_at: Option<String>,
    /// When it was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// When it was last modified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
    /// When it was retrieved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieved_at: Option<String>,
    /// The crawler that found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawler: Option<String>,
}

impl IngestMeta {
    /// Metadata with a foreign id (what a folder needs).
    pub fn with_foreign_id(foreign_id: impl Into<String>) -> Self {
        IngestMeta {
            foreign_id: Some(foreign_id.into()),
            ..IngestMeta::default()
        }
    }

    /// Sets the folder or archive it belongs in.
    pub fn parent_id(mut self, parent_id: impl Into<String>) -> Self {
        self.parent_id = Some(parent_id.into());
        self
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// Collections: `client.collections()`.
#[derive(Debug, Clone)]
pub struct Collections {
    pub(super) transport: Transport,
}

impl Collections {
    pub(crate) fn new(transport: Transport) -> Self {
        Collections { transport }
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
            list: Listing::new(
                self.transport.clone(),
                &["collections"],
                CollectionQuery::default(),
                true,
            ),
        }
    }

    /// `GET /collections/{id}`: the full record, with statistics and status.
    pub fn get(&self, id: &str) -> GetCollection {
        GetCollection::new(Ok(self.transport.get(&["collections", id])))
    }

    /// `POST /collections`. The label is checked (2 to 500 characters) before sending.
    pub fn create(&self, collection: NewCollection) -> CreateCollection {
        CreateCollection::new(
            collection
                .check()
                .map(|()| self.transport.post(&["collections"]).json(&collection)),
        )
    }

    /// The collection whose `foreign_id` is exactly `foreign_id`, if the caller can see one
    /// (`GET /collections?filter:foreign_id=..`).
    pub async fn find_by_foreign_id(&self, foreign_id: &str) -> Result<Option<Collection>> {
        let found = self
            .list()
            .filter("foreign_id", foreign_id)
            .limit(10)
            .send()
            .await?;
        Ok(found
            .results
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
    ///     .get_or_create(NewCollection::new("Leak 2026").foreign_id("leak-2026"))
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
    pub fn update(&self, id: &str, collection: NewCollection) -> UpdateCollection {
        UpdateCollection::new(
            collection
                .check()
                .map(|()| self.transport.post(&["collections", id]).json(&collection)),
        )
    }

    /// `DELETE /collections/{id}`: deletes the collection, or with `keep_metadata(true)` only
    /// empties it.
    pub fn delete(&self, id: &str) -> DeleteCollection {
        DeleteCollection {
            transport: self.transport.clone(),
            id: id.to_owned(),
            flags: DeleteFlags::default(),
        }
    }

    /// `POST /collections/{id}/reingest`: processes every document again (answers `202`).
    pub fn reingest(&self, id: &str) -> ReingestCollection {
        ReingestCollection {
            transport: self.transport.clone(),
            id: id.to_owned(),
            index: None,
        }
    }

    /// `POST /collections/{id}/reindex`: indexes every entity again (answers `202`).
    pub fn reindex(&self, id: &str) -> ReindexCollection {
        ReindexCollection {
            transport: self.transport.clone(),
            id: id.to_owned(),
            flush: None,
        }
    }

    /// `GET /collections/{id}/status`: the processing status.
    pub fn status(&self, id: &str) -> GetStatus {
        GetStatus::new(Ok(self.transport.get(&["collections", id, "status"])))
    }

    /// `DELETE /collections/{id}/status`: cancels the processing (answers `204`).
    pub fn cancel(&self, id: &str) -> CancelCollection {
        CancelCollection::new(Ok(self.transport.delete(&["collections", id, "status"])))
    }

    /// `POST /collections/{id}/touch`: marks the data as updated now (admins; answers `202`).
    pub fn touch(&self, id: &str) -> TouchCollection {
        TouchCollection::new(Ok(self.transport.post(&["collections", id, "touch"])))
    }

    /// `POST /collections/{id}/_bulk`: writes `entities` in chunks (1000 by default), several
    /// chunks at once. See [`BulkLoad`].
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client, entities: Vec<casefile::aleph::Entity>) -> casefile::Result<()> {
    /// let report = aleph.collections().bulk("4", entities).chunk_size(500).await?;
    /// println!("{} entities in {} requests", report.entities, report.chunks);
    /// # Ok(()) }
    /// ```
    pub fn bulk<I>(&self, id: &str, entities: I) -> BulkLoad
    where
        I: IntoIterator<Item = Entity>,
        I::IntoIter: Send + 'static,
    {
        self.bulk_stream(id, futures::stream::iter(entities.into_iter().map(Ok)))
    }

    /// Like [`Collections::bulk`] for entities that arrive as a stream (read from a file, from
    /// another collection's [`stream_entities`](Collections::stream_entities), ...). An error
    /// in the stream stops the load; what was written is in the [`BulkError`].
    pub fn bulk_stream<S>(&self, id: &str, entities: S) -> BulkLoad
    where
        S: Stream<Item = Result<Entity>> + Send + 'static,
    {
        BulkLoad {
            transport: self.transport.clone(),
            id: id.to_owned(),
            entities: entities.boxed(),
            chunk_size: 1000,
            concurrency: 4,
            retries: None,
            retry_delay: None,
            flags: BulkFlags::default(),
            progress: None,
        }
    }

    /// `GET /collections/{id}/_stream`: every entity of the collection as JSON lines, decoded as
    /// they arrive. Needs write access to the collection.
    pub fn stream_entities(&self, id: &str) -> StreamEntities {
        StreamEntities {
            transport: self.transport.clone(),
            id: id.to_owned(),
            query: StreamQuery::default(),
        }
    }

    /// `POST /collections/{id}/ingest`: uploads a document (streamed multipart: the `meta` JSON
    /// and the `file`) and returns the id of the new document entity. Aleph answers `201`
    /// `{"status": "ok", "id": "<id>.<signature>"}`.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use casefile::{Upload, aleph::IngestMeta};
    /// let id = aleph
    ///     .collections()
    ///     .ingest("4", Upload::path("minutes.pdf"), IngestMeta::default().title("Board minutes"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn ingest(&self, id: &str, upload: Upload, meta: IngestMeta) -> Ingest {
        Ingest {
            transport: self.transport.clone(),
            id: id.to_owned(),
            upload: Some(upload),
            meta,
            flags: IngestFlags::default(),
            retry: None,
            on_retry: None,
        }
    }

    /// `POST /collections/{id}/ingest` without a file: creates a folder (its `foreign_id` is
    /// required, checked before sending) and returns its id.
    pub fn create_folder(&self, id: &str, meta: IngestMeta) -> CreateFolder {
        CreateFolder(Ingest {
            transport: self.transport.clone(),
            id: id.to_owned(),
            upload: None,
            meta,
            flags: IngestFlags::default(),
            retry: None,
            on_retry: None,
        })
    }
}

/// The query of `GET /collections`.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct CollectionQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sort: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    facet: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
}

/// Lists collections; from [`Collections::list`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListCollections {
    list: Listing<CollectionQuery>,
}

impl ListCollections {
    /// Search text (`q`).
    pub fn query(mut self, text: impl Into<String>) -> Self {
        self.list.query.q = Some(text.into());
        self
    }

    /// Only collections whose `field` has `value` (`filter:<field>=<value>`), e.g.
    /// `("category", "leak")`, `("countries", "ua")`, `("foreign_id", "leak-2026")`. Repeat for
    /// several values.
    pub fn filter(mut self, field: &str, value: impl Into<String>) -> Self {
        self.list.filter(field, &value.into());
        self
    }

    /// Sort by a field, `field` or `field:asc|desc` (repeatable), e.g. `created_at:desc`.
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.list.query.sort.push(sort.into());
        self
    }

    /// Count the values of a field (`facet=<field>`), e.g. `category` or `countries`; the counts
    /// are in [`ResultSet::facets`](super::ResultSet::facets) of [`send`](Self::send).
    pub fn facet(mut self, field: impl Into<String>) -> Self {
        self.list.query.facet.push(field.into());
        self
    }

    /// Items per page (default 20, at most 9,999).
    pub fn limit(mut self, limit: u64) -> Self {
        self.list.check_limit(limit);
        self.list.query.limit = Some(limit);
        self
    }

    /// Items to skip.
    pub fn offset(mut self, offset: u64) -> Self {
        self.list.query.offset = Some(offset);
        self.list.offset(offset);
        self
    }

    list_methods!(Collection);
}

send_on_await!(ListCollections => super::ResultSet<Collection>);

operation! {
    /// Fetches one collection; from [`Collections::get`].
    GetCollection => Collection, json
}

operation! {
    /// Creates a collection; from [`Collections::create`].
    CreateCollection => Collection, json
}

operation! {
    /// Updates a collection; from [`Collections::update`].
    UpdateCollection => Collection, json
}

operation! {
    /// Fetches a collection's processing status; from [`Collections::status`].
    GetStatus => CollectionStatus, json
}

operation! {
    /// Cancels a collection's processing; from [`Collections::cancel`].
    CancelCollection, empty
}

operation! {
    /// Marks a collection's data as updated; from [`Collections::touch`].
    TouchCollection, empty
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
    /// Also index the documents again (`index=true`).
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

/// The query flags of `_bulk`.
#[derive(Debug, Clone, Default, Serialize)]
struct BulkFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    safe: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clean: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mutable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entityset_id: Option<String>,
}

/// Writes entities into a collection in chunks; from [`Collections::bulk`].
///
/// Each chunk is one `POST /collections/{id}/_bulk` of a JSON array of entities; up to
/// [`concurrency`](Self::concurrency) chunks are in flight at once. A `_bulk` write is an upsert
/// by entity id (Aleph's `bulk_write` in `aleph/logic/processing.py` puts each entity into the
/// collection's store under its id), so its request is marked
/// [idempotent](crate::RequestBuilder::idempotent): a chunk that failed with a server error
/// (5xx), an idle timeout or a broken connection is sent again by the transport's one retry loop,
/// with the client's [`RetryPolicy`](crate::RetryPolicy) (attempts, waits, budget,
/// `Retry-After`), which [`retries`](Self::retries) and [`retry_delay`](Self::retry_delay) can
/// adjust for this load. Every entity needs an `id` (Aleph refuses the whole chunk otherwise);
/// one without is refused before its chunk is sent.
///
/// `.await` gives a [`BulkReport`] or an [`Error::Bulk`] whose [`BulkError`] lists the ids of the entities that
/// were not written.
#[must_use = "a bulk load does nothing until it is sent or awaited"]
pub struct BulkLoad {
    transport: Transport,
    id: String,
    entities: BoxStream<'static, Result<Entity>>,
    chunk_size: usize,
    concurrency: usize,
    retries: Option<u32>,
    retry_delay: Option<Duration>,
    flags: BulkFlags,
    progress: Option<Reporter>,
}

impl fmt::Debug for BulkLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkLoad")
            .field("collection", &self.id)
            .field("chunk_size", &self.chunk_size)
            .field("concurrency", &self.concurrency)
            .field("retries", &self.retries)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

/// What a bulk load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkReport {
    /// Entities written.
    pub entities: u64,
    /// Chunks (requests) that succeeded.
    pub chunks: u64,
    /// Times a chunk was sent again after a transient failure (each retry counts once).
    pub retries: u64,
}

/// A bulk load that stopped: what was written, which entities were not, and why.
///
/// Entities after the failure that were not yet read from the input were not sent either; they
/// are not listed (a stream may be endless), but `read` tells how far the input was consumed.
#[derive(Debug, thiserror::Error)]
#[error(
    "bulk load into collection {collection} stopped after writing {} entities: {} entities were not written (ids: {}); {source}",
    written.entities, not_written.len(), show_ids(not_written)
)]
#[non_exhaustive]
pub struct BulkError {
    /// The collection.
    pub collection: String,
    /// What was written before and while the load failed.
    pub written: BulkReport,
    /// The ids of the entities that were read but not written (failed or unsent chunks).
    pub not_written: Vec<String>,
    /// How many entities were read from the input.
    pub read: u64,
    /// Why it stopped.
    #[source]
    pub source: Error,
}

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

impl From<BulkError> for Error {
    fn from(e: BulkError) -> Self {
        Error::Bulk(Box::new(e))
    }
}

impl BulkLoad {
    /// Entities per request (default 1000, as alephclient).
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk_size = n;
        self
    }

    /// Requests in flight at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// How many times a chunk may be sent again after a server error, an idle timeout or a
    /// broken connection (default: the client's [`RetryPolicy::max_retries`](crate::RetryPolicy::max_retries)).
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = Some(n);
        self
    }

    /// The bound of the first wait before a chunk is sent again; each retry doubles it, with
    /// jitter (default: the client's [`RetryPolicy::base_delay`](crate::RetryPolicy::base_delay)).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = Some(delay);
        self
    }

    /// `safe=false` keeps file checksums (`contentHash`) on the entities so that they link to
    /// documents already in the archive (admins only; the server ignores it for others).
    ///
    /// This is the seed API's `unsafe=true`: current servers call it `safe=false`, so
    /// `.safe(false)` is how casefile offers it.
    pub fn safe(mut self, safe: bool) -> Self {
        self.flags.safe = Some(safe);
        self
    }

    /// `clean=false` skips the server's cleaning of property values, for data already clean
    /// (admins only).
    pub fn clean(mut self, clean: bool) -> Self {
        self.flags.clean = Some(clean);
        self
    }

    /// `mutable=true` lets users edit the written entities in the UI.
    pub fn mutable(mut self, mutable: bool) -> Self {
        self.flags.mutable = Some(mutable);
        self
    }

    /// Also adds every written entity to this entity set (list, diagram, timeline).
    pub fn entityset(mut self, entityset_id: impl Into<String>) -> Self {
        self.flags.entityset_id = Some(entityset_id.into());
        self
    }

    /// Calls `callback` with the number of entities written so far each time a chunk is
    /// written ([`Unit::Items`](crate::progress::Unit::Items); the total is unknown, the input
    /// being a stream).
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Reporter::new(callback));
        self
    }

    /// Sends every chunk and reports what was written.
    pub async fn send(self) -> Result<BulkReport> {
        let BulkLoad {
            transport,
            id,
            mut entities,
            chunk_size,
            concurrency,
            retries,
            retry_delay,
            flags,
            progress,
        } = self;
        let mut written = BulkReport::default();
        let mut not_written = Vec::new();
        let mut read = 0u64;
        let fail = |source, written, not_written, read| BulkError {
            collection: id.clone(),
            written,
            not_written,
            read,
            source,
        };
        if chunk_size == 0 || concurrency == 0 {
            let what = if chunk_size == 0 {
                "chunk size"
            } else {
                "concurrency"
            };
            let source = Error::invalid("bulk", format!("the {what} must be at least 1"));
            return Err(fail(source, written, not_written, read).into());
        }
        if let Err(source) = crate::path::check_segment("collection id", &id) {
            return Err(fail(source, written, not_written, read).into());
        }
        let mut policy = transport.retry_policy().clone();
        if let Some(retries) = retries {
            policy = policy.max_retries(retries);
        }
        if let Some(delay) = retry_delay {
            policy = policy.base_delay(delay);
        }
        let chunk = std::sync::Arc::new(ChunkSender {
            transport,
            id: id.clone(),
            flags,
            policy,
        });
        let mut in_flight = tokio::task::JoinSet::new();
        let mut failure: Option<Error> = None;
        let mut input_done = false;
        loop {
            // Keep `concurrency` chunks in flight while the input lasts and nothing failed.
            while !input_done && failure.is_none() && in_flight.len() < concurrency {
                let mut batch = Vec::with_capacity(chunk_size.min(1024));
                let mut ids = Vec::with_capacity(chunk_size.min(1024));
                while batch.len() < chunk_size {
                    match entities.next().await {
                        Some(Ok(entity)) => {
                            read += 1;
                            let schema_ok = !entity.schema.trim().is_empty();
                            match entity.id.as_deref().filter(|i| !i.is_empty() && schema_ok) {
                                Some(entity_id) => {
                                    ids.push(entity_id.to_owned());
                                    batch.push(entity);
                                }
                                None => {
                                    failure = Some(Error::invalid(
                                        "entity",
                                        format!(
                                            "entity #{read} ({}) lacks an id or a schema; \
                                             Aleph refuses the whole chunk for it",
                                            entity.id.as_deref().unwrap_or("no id")
                                        ),
                                    ));
                                    break;
                                }
                            }
                        }
                        Some(Err(e)) => {
                            failure = Some(e);
                            break;
                        }
                        None => {
                            input_done = true;
                            break;
                        }
                    }
                }
                if failure.is_some() {
                    // The entities read into this chunk are not sent.
                    not_written.extend(ids);
                    input_done = true;
                } else if !batch.is_empty() {
                    let chunk = chunk.clone();
                    in_flight.spawn(async move {
                        let outcome = chunk.send(&batch).await;
                        (ids, outcome)
                    });
                }
            }
            let Some(joined) = in_flight.join_next().await else {
                break;
            };
            match joined {
                Ok((ids, Ok(retried))) => {
                    written.entities += ids.len() as u64;
                    written.chunks += 1;
                    written.retries += retried;
                    if let Some(progress) = &progress {
                        progress.report(written.entities, None, Unit::Items);
                    }
                }
                Ok((ids, Err((retried, e)))) => {
                    written.retries += retried;
                    not_written.extend(ids);
                    failure.get_or_insert(e);
                }
                Err(e) => {
                    failure.get_or_insert(Error::Config(format!("a bulk chunk task failed: {e}")));
                }
            }
        }
        match failure {
            None => Ok(written),
            Some(source) => Err(fail(source, written, not_written, read).into()),
        }
    }
}

send_on_await!(BulkLoad => BulkReport);

/// Sends one chunk; the transport retries it.
struct ChunkSender {
    transport: Transport,
    id: String,
    flags: BulkFlags,
    policy: crate::RetryPolicy,
}

impl ChunkSender {
    /// Sends `batch`; returns how many retries it took, and the error if it failed.
    async fn send(&self, batch: &[Entity]) -> std::result::Result<u64, (u64, Error)> {
        let body: Vec<WriteEntity<'_>> = batch.iter().map(WriteEntity::from).collect();
        let body = serde_json::value::to_raw_value(&body)
            .map_err(|e| (0, Error::invalid("entities", e.to_string())))?;
        let retries = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = retries.clone();
        let result = self
            .transport
            .post(&["collections", &self.id, "_bulk"])
            .query(&self.flags)
            .json(&body)
            // An upsert by entity id: the same chunk again writes the same entities.
            .idempotent(true)
            .retry(self.policy.clone())
            .on_retry(move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .send_empty()
            .await;
        let retries = retries.load(std::sync::atomic::Ordering::Relaxed);
        result.map(|()| retries).map_err(|e| (retries, e))
    }
}

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

#[derive(Debug, Clone, Default, Serialize)]
struct IngestFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<bool>,
}

/// Uploads a document; from [`Collections::ingest`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct Ingest {
    transport: Transport,
    id: String,
    upload: Option<Upload>,
    meta: IngestMeta,
    flags: IngestFlags,
    retry: Option<crate::RetryPolicy>,
    on_retry: Option<OnRetry>,
}

/// Told before each retry of an ingest (for `ingest_dir`'s events and counts).
#[derive(Clone)]
pub(crate) struct OnRetry(
    pub(crate) std::sync::Arc<dyn Fn(&crate::transport::RetryEvent<'_>) + Send + Sync>,
);

impl fmt::Debug for OnRetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnRetry")
    }
}

impl Ingest {
    /// Process the document before answering (`sync=true`; default: queue it).
    pub fn sync(mut self, sync: bool) -> Self {
        self.flags.sync = Some(sync);
        self
    }

    /// Index the document (default `true`).
    pub fn index(mut self, index: bool) -> Self {
        self.flags.index = Some(index);
        self
    }

    /// Retries with `policy` and tells `on_retry` before each retry (for `ingest_dir`).
    pub(crate) fn retried(mut self, policy: crate::RetryPolicy, on_retry: OnRetry) -> Self {
        self.retry = Some(policy);
        self.on_retry = Some(on_retry);
        self
    }

    /// Calls `callback` with the bytes of the file sent so far (see [`Progress`]).
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        if let Some(upload) = &mut self.upload {
            upload.report_to(Reporter::new(callback));
        }
        self
    }

    /// Sends the request and returns the id of the document entity.
    pub async fn send(self) -> Result<String> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(deserialize_with = "de_id")]
            id: String,
        }
        if self.upload.is_none()
            && self
                .meta
                .foreign_id
                .as_deref()
                .is_none_or(|f| f.trim().is_empty())
        {
            return Err(Error::invalid(
                "meta",
                "a folder (an ingest without a file) needs a foreign_id",
            ));
        }
        let meta =
            serde_json::to_string(&self.meta).map_err(|e| Error::invalid("meta", e.to_string()))?;
        // With a foreign id the same request again replaces the same document (Aleph's
        // `Document.save` in `aleph/model/document.py` looks the document up by it), so it may be
        // retried like a `PUT`.
        let idempotent = self
            .meta
            .foreign_id
            .as_deref()
            .is_some_and(|f| !f.trim().is_empty());
        let mut request = self
            .transport
            .post(&["collections", &self.id, "ingest"])
            .query(&self.flags)
            .multipart(vec![("meta".to_owned(), meta)], "file", self.upload)
            .idempotent(idempotent);
        if let Some(policy) = self.retry {
            request = request.retry(policy);
        }
        if let Some(hook) = self.on_retry {
            request = request.on_retry(move |event| (hook.0)(event));
        }
        let answer: Answer = request.send().await?;
        Ok(answer.id)
    }
}

/// Creates a folder; from [`Collections::create_folder`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct CreateFolder(Ingest);

impl CreateFolder {
    /// Create the folder before answering (`sync=true`).
    pub fn sync(self, sync: bool) -> Self {
        CreateFolder(self.0.sync(sync))
    }

    /// Retries with `policy` and tells `on_retry` before each retry (for `ingest_dir`).
    pub(crate) fn retried(self, policy: crate::RetryPolicy, on_retry: OnRetry) -> Self {
        CreateFolder(self.0.retried(policy, on_retry))
    }

    /// Sends the request and returns the id of the folder entity.
    pub async fn send(self) -> Result<String> {
        self.0.send().await
    }
}

send_on_await!(Ingest => String, CreateFolder => String);
