//! The routes only OpenAleph 5 has (openaleph/openaleph `aleph/views/entities_api.py` and
//! `aleph/views/tags_api.py`, with the search parameters of openaleph-search 5.3.1
//! `parse/parser.py`): documents like an entity (`more_like_this`), entities near it
//! (`nearby`), the documents that mention it (`mentions`), the entities a document mentions
//! (`percolate`), an e-mail's thread (`thread`), the documents that mention any entity of a set
//! (`screening`), and users' tags on entities (`/tags`).
//!
//! Each one asks the client which server it talks to before it sends anything (see
//! [`Client::server`](super::Client::server)) and fails with
//! [`Error::Unsupported`](crate::Error::Unsupported) on Aleph 4.1, or on an OpenAleph older
//! than the release that brought the route. The UI-only routes (`/collections/{id}/discover`,
//! `/entitysets/{id}/embed`) are left out.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entities::{Entities, Entity};
use super::{Feature, Known, Listing, ResultSet, Role, de_id, de_opt_id};
use crate::error::{Error, Result};
use crate::paginate::Refusal;
use crate::transport::Transport;

/// The parameters every OpenAleph search takes besides the filters (openaleph-search
/// `parse/parser.py` `SearchQueryParser`): highlights, and dehydrated results.
macro_rules! openaleph_methods {
    () => {
        highlight_methods!();

        /// Leave the properties out of the results (`dehydrate`), but those named with
        /// [`include_field`](Self::include_field): a lighter page for a list view.
        pub fn dehydrate(mut self, dehydrate: bool) -> Self {
            self.list.set("dehydrate", dehydrate.to_string());
            self
        }

        /// A field kept in dehydrated results (`include_fields`), repeatable: a property path
        /// (`properties.startDate`) or a type group (`emails`, `names`).
        pub fn include_field(mut self, field: impl Into<String>) -> Self {
            self.list.push("include_fields".into(), field.into());
            self
        }
    };
}

/// An entity near another one, from [`Entities::nearby`], with the distance the server sorted
/// by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NearbyEntity {
    /// The entity.
    #[serde(flatten)]
    pub entity: Entity,
    /// The values Elasticsearch sorted the hit by (`_sort`, kept by openaleph-search
    /// `index/util.py` `unpack_result`): here the plane distance in kilometres.
    #[serde(default, rename = "_sort", skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<serde_json::Value>,
}

impl NearbyEntity {
    /// The distance from the entity asked about, in kilometres, when the server said it.
    pub fn distance_km(&self) -> Option<f64> {
        self.sort.first().and_then(serde_json::Value::as_f64)
    }
}

/// A document that mentions an entity, from [`Entities::mentions`] or [`Client::screening`](
/// super::Client::screening).
///
/// The entity's fields are flattened into the hit; [`Mention::mention_sources`] is what only
/// these routes add, so it is kept here rather than on every [`Entity`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Mention {
    /// The document.
    #[serde(flatten)]
    pub entity: Entity,
    /// The ids of the named entities whose names the document contains (openaleph-search
    /// `query/mentions.py` `_Mentions.search`: the per-entity clauses that fired).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mention_sources: Vec<String>,
}

/// A named entity a document mentions, from [`Entities::percolate`].
///
/// The entity's fields are flattened into the hit; the two lists are what only percolation
/// adds, so they are kept here rather than on every [`Entity`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Percolated {
    /// The entity mentioned.
    #[serde(flatten)]
    pub entity: Entity,
    /// The spans of the document's text that matched, as written there (only with
    /// [`highlight(true)`](Percolate::highlight); openaleph-search `query/queries.py`
    /// `PercolatorQuery.search`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surface_forms: Vec<String>,
    /// The entity's stored names that matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percolator_match: Vec<String>,
}

impl Entities {
    /// `GET /entities/{id}/more_like_this` (OpenAleph 5.0): the documents whose text is most
    /// like this entity's (its text and names), best first; the entity itself and `Page`s are
    /// left out (openaleph-search `query/more_like_this.py`).
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// let page = aleph.entities().more_like_this("doc-1").mlt_min_word_length(4).first_page().await?;
    /// # Ok(()) }
    /// ```
    pub fn more_like_this(&self, id: impl fmt::Display) -> MoreLikeThis {
        MoreLikeThis {
            list: self.openaleph_listing(&id.to_string(), "more_like_this", Feature::MoreLikeThis),
        }
    }

    /// `GET /entities/{id}/nearby` (OpenAleph 5.0): the entities with a position, nearest
    /// first, to an entity with a `latitude` and `longitude` (an `Address`); an entity without
    /// them gives an empty page (openaleph-search `query/queries.py` `GeoDistanceQuery`).
    pub fn nearby(&self, id: impl fmt::Display) -> NearbyEntities {
        NearbyEntities {
            list: self.openaleph_listing(&id.to_string(), "nearby", Feature::Nearby),
        }
    }

    /// `GET /entities/{id}/mentions` (OpenAleph 5.3): the documents whose text contains one
    /// of this entity's names as a phrase, best first (openaleph-search `query/mentions.py`
    /// `MentionsQuery`). A [`query`](Mentions::query) narrows them.
    ///
    /// The server refuses (`400`) an entity with no name it can match: not a named entity, or
    /// only short single-word names (under `OPENALEPH_SEARCH_MATCHING_SINGLE_TOKEN_MIN_LENGTH`,
    /// 10 by default) — "Maria García" matches, "Khan" alone does not.
    pub fn mentions(&self, id: impl fmt::Display) -> Mentions {
        Mentions {
            list: self.openaleph_listing(&id.to_string(), "mentions", Feature::Mentions),
        }
    }

    /// `GET /entities/{id}/percolate` (OpenAleph 5.3): the named entities (people, companies,
    /// ...) whose names appear in this document's text, best first (openaleph-search
    /// `query/queries.py` `PercolatorQuery`).
    ///
    /// Percolation is off unless the server runs with `OPENALEPH_SEARCH_PERCOLATION=1` (and
    /// re-indexed after turning it on); while it is off every document gets an empty page,
    /// which a client cannot tell from "no names found". There is no `beta/percolate` route:
    /// this is the one. A document without text, or an entity that is not a document, is
    /// refused (`400`).
    pub fn percolate(&self, id: impl fmt::Display) -> Percolate {
        Percolate {
            list: self.openaleph_listing(&id.to_string(), "percolate", Feature::Percolate),
        }
    }

    /// `GET /entities/{id}/thread` (OpenAleph 5.3): the whole thread of an `Email` or
    /// `Message` (its ancestors, and every reply to them), the entity itself included, oldest
    /// first, in one answer (`aleph/search/query.py` `MessageThreadQuery`). Another schema is
    /// refused (`400`).
    ///
    /// The server walks the thread whatever the offset, so the thread is one page, not a
    /// listing: at most [`MAX_THREAD`] entities; `total_type: "gte"` says there were more.
    /// The results are dehydrated unless [`dehydrate(false)`](GetThread::dehydrate).
    pub fn thread(&self, id: impl fmt::Display) -> GetThread {
        GetThread {
            transport: self.transport.clone(),
            known: self.known.clone(),
            id: id.to_string(),
            params: Vec::new(),
            limit: None,
        }
    }

    fn openaleph_listing(&self, id: &str, route: &str, feature: Feature) -> Listing {
        let mut list = Listing::new(self.transport.clone(), &["entities", id, route], true);
        list.require(self.known.gate(feature));
        list
    }
}

/// The documents like an entity; from [`Entities::more_like_this`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct MoreLikeThis {
    list: Listing,
}

impl MoreLikeThis {
    search_methods!();
    openaleph_methods!();

    /// A term counts if at least this many documents have it (`mlt_min_doc_freq`, server
    /// default 1).
    pub fn mlt_min_doc_freq(mut self, n: u32) -> Self {
        self.list.set("mlt_min_doc_freq", n.to_string());
        self
    }

    /// A term counts if at most this many documents have it (`mlt_max_doc_freq`, default 500).
    pub fn mlt_max_doc_freq(mut self, n: u32) -> Self {
        self.list.set("mlt_max_doc_freq", n.to_string());
        self
    }

    /// A term counts if the entity's text has it at least this often (`mlt_min_term_freq`,
    /// default 1).
    pub fn mlt_min_term_freq(mut self, n: u32) -> Self {
        self.list.set("mlt_min_term_freq", n.to_string());
        self
    }

    /// At most this many terms of the entity's text are searched for
    /// (`mlt_max_query_terms`, default 200).
    pub fn mlt_max_query_terms(mut self, n: u32) -> Self {
        self.list.set("mlt_max_query_terms", n.to_string());
        self
    }

    /// Shorter words are ignored (`mlt_min_word_length`, default 5).
    pub fn mlt_min_word_length(mut self, n: u32) -> Self {
        self.list.set("mlt_min_word_length", n.to_string());
        self
    }

    /// How many of the terms a document must share (`mlt_minimum_should_match`, Elasticsearch's
    /// syntax: `"10%"` by default, or a count such as `"3"`).
    pub fn mlt_minimum_should_match(mut self, value: impl Into<String>) -> Self {
        self.list.set("mlt_minimum_should_match", value.into());
        self
    }

    list_methods!(Entity);
}

/// The entities near an entity; from [`Entities::nearby`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct NearbyEntities {
    list: Listing,
}

impl NearbyEntities {
    search_methods!();
    openaleph_methods!();
    list_methods!(NearbyEntity);
}

/// The documents that mention an entity; from [`Entities::mentions`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct Mentions {
    list: Listing,
}

impl Mentions {
    search_methods!();
    openaleph_methods!();

    /// Expand names with their known variants (`synonyms`). openaleph-search 5.3.1 reads it
    /// but adds nothing on this route: its text analyzer matches name variants anyway
    /// (`query/mentions.py` `MentionsQuery`).
    pub fn synonyms(mut self, synonyms: bool) -> Self {
        self.list.set("synonyms", synonyms.to_string());
        self
    }

    list_methods!(Mention);
}

/// The named entities a document mentions; from [`Entities::percolate`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct Percolate {
    list: Listing,
}

impl Percolate {
    search_methods!();
    openaleph_methods!();
    list_methods!(Percolated);
}

/// The most entities a thread answers (`MessageThreadQuery.MAX_RESULTS`,
/// openaleph/openaleph `aleph/search/query.py`).
pub const MAX_THREAD: u64 = 200;

/// Fetches an e-mail's or a message's thread; from [`Entities::thread`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct GetThread {
    transport: Transport,
    known: Known,
    id: String,
    params: Vec<(String, String)>,
    limit: Option<u64>,
}

impl GetThread {
    /// At most `n` entities, the entity asked about included (default 20; from 1 to
    /// [`MAX_THREAD`], checked before sending: the server cuts larger values silently).
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Whether to leave out the properties but those a thread view needs (`dehydrate`;
    /// the server dehydrates a thread unless told `false`).
    pub fn dehydrate(mut self, dehydrate: bool) -> Self {
        self.params.retain(|(k, _)| k != "dehydrate");
        self.params
            .push(("dehydrate".into(), dehydrate.to_string()));
        self
    }

    /// A field kept in dehydrated results (`include_fields`), repeatable: a property path
    /// (`properties.bodyText`) or a type group (`emails`).
    pub fn include_field(mut self, field: impl Into<String>) -> Self {
        self.params.push(("include_fields".into(), field.into()));
        self
    }

    /// A preview of each message's text in `highlight.content` (`highlight`).
    pub fn highlight(mut self, highlight: bool) -> Self {
        self.params.retain(|(k, _)| k != "highlight");
        self.params
            .push(("highlight".into(), highlight.to_string()));
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<ResultSet<Entity>> {
        let mut params = self.params;
        if let Some(n) = self.limit {
            if n == 0 || n > MAX_THREAD {
                return Err(Error::invalid(
                    "limit",
                    format!("a thread has 1 to {MAX_THREAD} entities, got {n}"),
                ));
            }
            params.push(("limit".into(), n.to_string()));
        }
        self.transport
            .get(&["entities", &self.id, "thread"])
            .query(&params)
            .gated(Some(self.known.gate(Feature::Thread)))
            .send()
            .await
    }
}

send_on_await!(GetThread => ResultSet<Entity>);

/// The documents that mention any entity of a set (`GET /screening`, OpenAleph 5.3;
/// `aleph/views/entities_api.py` `screening`); from [`Client::screening`](super::Client::screening).
///
/// One query holds two searches: the documents searched (the unprefixed parameters:
/// [`query`](Self::query), [`filter`](Self::filter), ...) and the entities whose names are
/// looked for in them (the `source:` parameters: [`source_filter`](Self::source_filter),
/// [`source_query`](Self::source_query), ...). The server needs a signed-in caller, and refuses
/// (`400`) a source set of more than 10,000 names (openaleph-search `query/mentions.py`
/// `MAX_SOURCE_NAMES`) or too many for one Elasticsearch query: narrow the source then.
///
/// ```no_run
/// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
/// let hits = aleph
///     .screening()
///     .source_filter("schema", "Person")
///     .source_filter("topics", "sanction")
///     .filter("collection_id", "12")
///     .first_page()
///     .await?;
/// for hit in &hits.items {
///     println!("{:?} mentions {:?}", hit.entity.id, hit.mention_sources);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct Screening {
    list: Listing,
}

impl Screening {
    pub(crate) fn new(transport: Transport, known: &Known) -> Self {
        let mut list = Listing::new(transport, &["screening"], true);
        list.require(known.gate(Feature::Screening));
        Screening { list }
    }

    search_methods!();
    openaleph_methods!();

    /// Only entities whose `field` has `value` make the names looked for
    /// (`source:filter:<field>=<value>`), e.g. `("schema", "Person")`, `("dataset", "...")`,
    /// `("topics", "sanction")`; several values of one field are alternatives.
    pub fn source_filter(mut self, field: &str, value: impl Into<String>) -> Self {
        self.list
            .push(format!("source:filter:{field}"), value.into());
        self
    }

    /// Leaves the entities whose `field` has `value` out of the names looked for
    /// (`source:exclude:<field>=<value>`).
    pub fn source_exclude(mut self, field: &str, value: impl Into<String>) -> Self {
        self.list
            .push(format!("source:exclude:{field}"), value.into());
        self
    }

    /// Only entities matching this search text make the names looked for (`source:q`).
    pub fn source_query(mut self, text: impl Into<String>) -> Self {
        self.list.set("source:q", text.into());
        self
    }

    list_methods!(Mention);
}

/// A tag a user put on an entity of a taggable collection (openaleph/openaleph
/// `aleph/model/tag.py` `Tag.to_dict`, `aleph/views/serializers.py` `TagSerializer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserTag {
    /// The tag's id.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// The tag's text.
    #[serde(default)]
    pub tag: String,
    /// The id of the role that put it.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub role_id: Option<String>,
    /// The tagged entity's id.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// The tagged entity's collection.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub collection_id: Option<String>,
    /// When it was put.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// The tagged entity, where the caller may read it.
    #[serde(default)]
    pub entity: Option<Box<Entity>>,
    /// The role that put it.
    #[serde(default)]
    pub role: Option<Role>,
    /// Links (none so far).
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
}

/// A tag of a collection and how many entities carry it, from [`Tagging::counts`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagCount {
    /// The tag's text.
    #[serde(default)]
    pub tag: String,
    /// How many times it was put on the collection's entities.
    #[serde(default)]
    pub count: u64,
}

/// The longest tag (`aleph/validation/schema/tag.yml` `TagCreate`).
pub const MAX_TAG_LENGTH: usize = 128;

/// Users' tags on entities (OpenAleph 5.1; `aleph/views/tags_api.py`): `client.tags()`.
///
/// Only a collection with `taggable: true` can be tagged; on another one the server answers
/// `400` ("Tagging is disabled", or that it could not tag the entity). Not to be confused with
/// [`Entities::tags`], the values an entity shares with others.
#[derive(Debug, Clone)]
pub struct Tagging {
    transport: Transport,
    known: Known,
}

impl Tagging {
    pub(crate) fn new(transport: Transport, known: Known) -> Self {
        Tagging { transport, known }
    }

    /// `GET /tags?collection_id=`: the tags of a collection with their counts, the most used
    /// first (needs a signed-in caller who may read the collection). The id is a number,
    /// checked before sending (the server fails with a 500 on another).
    pub fn counts(&self, collection_id: impl fmt::Display) -> ListTagCounts {
        let collection_id = collection_id.to_string();
        let mut list = Listing::new(self.transport.clone(), &["tags"], false);
        if collection_id.is_empty() || !collection_id.bytes().all(|b| b.is_ascii_digit()) {
            list.refusal = Some(Refusal(
                "collection_id",
                "a collection id is a number".into(),
            ));
        }
        list.set("collection_id", collection_id);
        list.require(self.known.gate(Feature::Tagging));
        ListTagCounts { list }
    }

    /// `GET /tags/{entity_id}`: the tags on an entity, newest first.
    pub fn of_entity(&self, entity_id: impl fmt::Display) -> ListUserTags {
        let entity_id = entity_id.to_string();
        let mut list = Listing::new(self.transport.clone(), &["tags", &entity_id], false);
        list.require(self.known.gate(Feature::Tagging));
        ListUserTags { list }
    }

    /// `POST /tags`: puts `tag` (1 to [`MAX_TAG_LENGTH`] characters, checked before sending) on
    /// an entity. The server answers the tag, the one already there if the caller had put the
    /// same one.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// let tag = aleph.tags().add("person-1.1f2e", "follow-up").await?;
    /// # Ok(()) }
    /// ```
    pub fn add(&self, entity_id: impl fmt::Display, tag: impl Into<String>) -> AddTag {
        let tag = tag.into();
        let length = tag.chars().count();
        let check = if (1..=MAX_TAG_LENGTH).contains(&length) {
            Ok(())
        } else {
            Err(Error::invalid(
                "tag",
                format!("a tag has 1 to {MAX_TAG_LENGTH} characters, this one has {length}"),
            ))
        };
        let body = serde_json::json!({ "entity_id": entity_id.to_string(), "tag": tag });
        AddTag::new(
            self.transport
                .post(&["tags"])
                .json(&body)
                .checked(check)
                .gated(Some(self.known.gate(Feature::Tagging))),
        )
    }

    /// `DELETE /tags/{entity_id}/{tag}`: takes `tag` off an entity, whoever put it (answers
    /// `204`). A tag holding `/` cannot be named in the path (the server's route does not
    /// match it): it is refused before sending; [`clear`](Self::clear) removes it.
    pub fn remove(&self, entity_id: impl fmt::Display, tag: impl AsRef<str>) -> RemoveTag {
        let tag = tag.as_ref();
        let check = if tag.contains('/') {
            Err(Error::invalid(
                "tag",
                "a tag holding `/` cannot be removed alone; clear the entity's tags",
            ))
        } else {
            Ok(())
        };
        RemoveTag::new(
            self.transport
                .delete(&["tags", &entity_id.to_string(), tag])
                .checked(check)
                .gated(Some(self.known.gate(Feature::Tagging))),
        )
    }

    /// `DELETE /tags/{entity_id}`: takes every tag off an entity (answers `204`).
    pub fn clear(&self, entity_id: impl fmt::Display) -> ClearTags {
        ClearTags::new(
            self.transport
                .delete(&["tags", &entity_id.to_string()])
                .gated(Some(self.known.gate(Feature::Tagging))),
        )
    }
}

/// Lists the tags of a collection with their counts; from [`Tagging::counts`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListTagCounts {
    list: Listing,
}

impl ListTagCounts {
    list_methods!(TagCount);
}

/// Lists the tags on an entity; from [`Tagging::of_entity`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListUserTags {
    list: Listing,
}

impl ListUserTags {
    list_methods!(UserTag);
}

operation! {
    /// Puts a tag on an entity; from [`Tagging::add`].
    AddTag => UserTag
}

operation! {
    /// Takes a tag off an entity; from [`Tagging::remove`].
    RemoveTag => ()
}

operation! {
    /// Takes every tag off an entity; from [`Tagging::clear`].
    ClearTags => ()
}
