//! Entities: FollowTheMoney objects (people, companies, documents, ownerships, ...).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::collections::Collection;
use super::{Feature, Known, Listing, de_opt_id};
use crate::error::{Error, Result};
use crate::transport::Transport;

/// The highlighted fragments of a search result, in either server's shape: a list on Aleph 4.1
/// (`aleph/search/result.py`), fragments per field (`content`, `names`, `text`, `translation`)
/// on OpenAleph 5 (openaleph-search `query/highlight.py`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Highlight {
    /// Aleph 4.1: the fragments.
    Fragments(Vec<String>),
    /// OpenAleph 5: the fragments of each field.
    ByField(BTreeMap<String, Vec<String>>),
}

impl Default for Highlight {
    fn default() -> Self {
        Highlight::Fragments(Vec::new())
    }
}

impl Highlight {
    /// Every fragment, whichever the shape (per field: in the order of the fields' names).
    pub fn fragments(&self) -> Vec<&str> {
        match self {
            Highlight::Fragments(all) => all.iter().map(String::as_str).collect(),
            Highlight::ByField(fields) => fields.values().flatten().map(String::as_str).collect(),
        }
    }

    /// The fragments of one field (OpenAleph; Aleph 4.1 does not say which field a fragment
    /// comes from, so none there).
    pub fn field(&self, name: &str) -> &[String] {
        match self {
            Highlight::ByField(fields) => fields.get(name).map_or(&[], Vec::as_slice),
            Highlight::Fragments(_) => &[],
        }
    }

    /// Whether there is no fragment at all.
    pub fn is_empty(&self) -> bool {
        self.fragments().is_empty()
    }
}

/// A FollowTheMoney entity: an id, a schema, and properties that each hold a list of values.
///
/// A value is text, or — where Aleph resolved a reference such as an ownership's `owner` — the
/// referenced entity itself ([`PropertyValue::Entity`]).
///
/// ```
/// use casefile::aleph::Entity;
///
/// let person = Entity::new("Person")
///     .with_id("maria-garcia")
///     .add("name", "Maria García")
///     .add("nationality", "nl");
/// assert_eq!(person.first("name"), Some("Maria García"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The entity's id (Aleph adds a signature: `<id>.<sha1>`).
    #[serde(
        default,
        deserialize_with = "de_opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// The FollowTheMoney schema, e.g. `Person`, `Company`, `Ownership`, `Document`.
    #[serde(default)]
    pub schema: String,
    /// The properties, each a list of values.
    #[serde(default)]
    pub properties: BTreeMap<String, Vec<PropertyValue>>,
    /// A display name, where a server computes one: Aleph 4.1.6 sends none (its entity
    /// answers are cut to `PROXY_INCLUDES`), so don't rely on it; read a property such as
    /// `name` or `title` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The schema and every schema it extends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemata: Vec<String>,
    /// The collection, in search results and single entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<Box<Collection>>,
    /// The collection's id, in streamed entities.
    #[serde(
        default,
        deserialize_with = "de_opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub collection_id: Option<String>,
    /// Links: `self`, `ui`, `expand`, `tags`, and for documents `file`, `pdf`, `csv` (signed
    /// archive URLs; OpenAleph 5.2+ gives these only in `GET /entities/{id}`).
    /// [`Archive::file`](super::Archive::file) downloads a document's file from either server,
    /// checked against its hash.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, crate::SignedUrl>,
    /// Whether the caller may change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writeable: Option<bool>,
    /// The search score, in search results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Highlighted fragments, in search results with highlighting.
    #[serde(default, skip_serializing_if = "Highlight::is_empty")]
    pub highlight: Highlight,
    /// The users' tags on the entity (OpenAleph 5.1 and later, in a taggable collection).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// When it was created.
    #[serde(
        default,
        with = "crate::time::utc_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last changed.
    #[serde(
        default,
        with = "crate::time::utc_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Entity {
    /// An entity of `schema` with no id and no properties.
    pub fn new(schema: impl Into<String>) -> Self {
        Entity {
            schema: schema.into(),
            ..Entity::default()
        }
    }

    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds a text value to a property.
    pub fn add(mut self, property: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties
            .entry(property.into())
            .or_default()
            .push(PropertyValue::Text(value.into()));
        self
    }

    /// The first text value of a property (for a resolved entity value: its id).
    pub fn first(&self, property: &str) -> Option<&str> {
        self.properties
            .get(property)?
            .first()
            .and_then(PropertyValue::as_text)
    }
}

/// One value of a property: text, or a referenced entity the server resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// A value as text (names, dates, countries, ids of other entities, ...).
    Text(String),
    /// A referenced entity, resolved by the server.
    Entity(Box<Entity>),
}

impl PropertyValue {
    /// The text, or for an entity its id.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            PropertyValue::Text(text) => Some(text),
            PropertyValue::Entity(entity) => entity.id.as_deref(),
        }
    }

    /// The resolved entity, if this value is one.
    pub fn as_entity(&self) -> Option<&Entity> {
        match self {
            PropertyValue::Entity(entity) => Some(entity),
            PropertyValue::Text(_) => None,
        }
    }
}

impl From<&str> for PropertyValue {
    fn from(text: &str) -> Self {
        PropertyValue::Text(text.to_owned())
    }
}

impl From<String> for PropertyValue {
    fn from(text: String) -> Self {
        PropertyValue::Text(text)
    }
}

impl From<Entity> for PropertyValue {
    fn from(entity: Entity) -> Self {
        PropertyValue::Entity(Box::new(entity))
    }
}

impl Serialize for PropertyValue {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            PropertyValue::Text(text) => s.serialize_str(text),
            PropertyValue::Entity(entity) => entity.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for PropertyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct ValueVisitor;

        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = PropertyValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an entity")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(PropertyValue::Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(PropertyValue::Text(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(PropertyValue::Text(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(PropertyValue::Text(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
                Ok(PropertyValue::Text(v.to_string()))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
                Ok(PropertyValue::Text(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let entity = Entity::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(PropertyValue::Entity(Box::new(entity)))
            }

            fn visit_seq<A: SeqAccess<'de>>(
                self,
                _: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
            }
        }

        d.deserialize_any(ValueVisitor)
    }
}

/// An entity as Aleph's write endpoints take it: `id`, `schema`, `properties` (a resolved
/// entity value written as its id), plus the collection and foreign id where given.
pub(crate) struct WriteEntity<'a> {
    entity: &'a Entity,
    collection_id: Option<&'a str>,
    foreign_id: Option<&'a str>,
    /// Keep `created_at` / `updated_at` (the bulk endpoint records them).
    dates: bool,
}

impl<'a> From<&'a Entity> for WriteEntity<'a> {
    fn from(entity: &'a Entity) -> Self {
        WriteEntity {
            entity,
            collection_id: None,
            foreign_id: None,
            dates: true,
        }
    }
}

impl Serialize for WriteEntity<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        struct Values<'a>(&'a [PropertyValue]);
        impl Serialize for Values<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|v| match v {
                    PropertyValue::Entity(e) if e.id.is_some() => {
                        Write::Text(e.id.as_deref().unwrap_or_default())
                    }
                    PropertyValue::Entity(e) => Write::Entity(WriteEntity::from(&**e)),
                    PropertyValue::Text(t) => Write::Text(t),
                }))
            }
        }
        enum Write<'a> {
            Text(&'a str),
            Entity(WriteEntity<'a>),
        }
        impl Serialize for Write<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                match self {
                    Write::Text(t) => s.serialize_str(t),
                    Write::Entity(e) => e.serialize(s),
                }
            }
        }
        struct Properties<'a>(&'a BTreeMap<String, Vec<PropertyValue>>);
        impl Serialize for Properties<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, Values(v))))
            }
        }

        let e = self.entity;
        let mut map = s.serialize_map(None)?;
        if let Some(id) = &e.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("schema", &e.schema)?;
        map.serialize_entry("properties", &Properties(&e.properties))?;
        if let Some(collection_id) = self.collection_id {
            map.serialize_entry("collection_id", collection_id)?;
        }
        if let Some(foreign_id) = self.foreign_id {
            map.serialize_entry("foreign_id", foreign_id)?;
        }
        if self.dates {
            for (name, date) in [("created_at", &e.created_at), ("updated_at", &e.updated_at)] {
                if let Some(date) = date {
                    map.serialize_entry(name, &date.to_rfc3339())?;
                }
            }
        }
        map.end()
    }
}

/// Entities: `client.entities()`.
#[derive(Debug, Clone)]
pub struct Entities {
    pub(super) transport: Transport,
    pub(super) known: Known,
}

impl Entities {
    pub(crate) fn new(transport: Transport, known: Known) -> Self {
        Entities { transport, known }
    }

    /// `GET /entities/{id}`.
    pub fn get(&self, id: impl fmt::Display) -> GetEntity {
        GetEntity::new(self.transport.get(&["entities", &id.to_string()]))
    }

    /// `GET /entities`: searches entities across the collections the caller can see.
    ///
    /// Like alephclient, a search with neither [`schema`](SearchEntities::schema) nor
    /// [`schemata`](SearchEntities::schemata) is limited to `filter:schemata=Thing` (things,
    /// not intervals such as ownerships).
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use futures::TryStreamExt;
    /// let companies: Vec<_> = aleph
    ///     .entities()
    ///     .search()
    ///     .query("Meridian")
    ///     .schema("Company")
    ///     .collection("1")
    ///     .stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn search(&self) -> SearchEntities {
        SearchEntities {
            list: Listing::new(self.transport.clone(), &["entities"], true)
                .completed_by(default_schema)
                .long_queries_to("search"),
            known: self.known.clone(),
        }
    }

    /// `POST /entities`: creates `entity` in a collection (its `id` is chosen by the server).
    pub fn create(&self, collection_id: impl fmt::Display, entity: Entity) -> CreateEntity {
        CreateEntity {
            transport: self.transport.clone(),
            collection_id: collection_id.to_string(),
            entity,
            foreign_id: None,
            flags: WriteFlags::default(),
        }
    }

    /// `POST /entities/{id}`: replaces the entity's schema and properties.
    pub fn update(&self, id: impl fmt::Display, entity: Entity) -> UpdateEntity {
        UpdateEntity {
            transport: self.transport.clone(),
            id: id.to_string(),
            entity,
            flags: WriteFlags::default(),
        }
    }

    /// `GET /entities/{id}/entitysets`: the sets (lists, diagrams, ...) the entity has a
    /// judgement in (`aleph/views/entities_api.py` `entitysets`).
    pub fn entity_sets(&self, id: impl fmt::Display) -> super::ListSetsOfEntity {
        super::ListSetsOfEntity::new(self.transport.clone(), &id.to_string())
    }

    /// `DELETE /entities/{id}` (answers `204`).
    pub fn delete(&self, id: impl fmt::Display) -> DeleteEntity {
        DeleteEntity::new(self.transport.delete(&["entities", &id.to_string()]))
    }

    /// `GET /entities/{id}/expand`: the entities connected to this one, per entity-typed
    /// property (see [`ExpandEntity`](super::ExpandEntity)).
    pub fn expand(&self, id: impl fmt::Display) -> super::ExpandEntity {
        super::ExpandEntity::new(self.transport.clone(), id.to_string())
    }

    /// `GET /entities/{id}/tags`: the values of this entity that other entities share.
    pub fn tags(&self, id: impl fmt::Display) -> super::EntityTags {
        let id = id.to_string();
        super::EntityTags::new(self.transport.get(&["entities", &id, "tags"]))
    }

    /// `GET /entities/{id}/similar`: the entities like this one, best first (a search).
    pub fn similar(&self, id: impl fmt::Display) -> super::SimilarEntities {
        super::SimilarEntities::new(self.transport.clone(), &id.to_string())
    }

    /// `POST /match`: the entities that match `entity` (a schema and properties; no need to
    /// store it), best first (see [`MatchEntity`](super::MatchEntity)).
    pub fn matching(&self, entity: Entity) -> super::MatchEntity {
        super::MatchEntity::new(self.transport.clone(), entity)
    }
}

operation! {
    /// Fetches one entity; from [`Entities::get`].
    GetEntity => Entity
}

operation! {
    /// Deletes an entity; from [`Entities::delete`].
    DeleteEntity => ()
}

/// Searches entities; from [`Entities::search`]. A search whose parameters are too long for a
/// URL is sent as a form to `POST /search`, which Aleph reads the same way.
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct SearchEntities {
    list: Listing,
    known: Known,
}

impl SearchEntities {
    search_methods!();

    /// Only entities of exactly this schema (`filter:schema`), repeatable.
    pub fn schema(self, schema: &str) -> Self {
        self.filter("schema", schema)
    }

    /// Only entities of this schema or one extending it (`filter:schemata`), repeatable.
    pub fn schemata(self, schema: &str) -> Self {
        self.filter("schemata", schema)
    }

    /// Only entities of this collection (`filter:collection_id`), repeatable.
    pub fn collection(self, collection_id: impl fmt::Display) -> Self {
        self.filter("collection_id", collection_id.to_string())
    }

    highlight_methods!();

    /// How long a highlighted fragment is, in characters (`highlight_length`, default 120).
    ///
    /// Aleph only: OpenAleph answers any search that has it with a 500 (openaleph-search
    /// `parse/parser.py`), so on OpenAleph the search fails with [`Error::Unsupported`] before
    /// it is sent.
    pub fn highlight_length(mut self, n: u32) -> Self {
        self.list.set("highlight_length", n.to_string());
        self.list.require(self.known.gate(Feature::CustomHighlight));
        self
    }

    /// Highlight matches of `text` rather than of the query (`highlight_text`).
    ///
    /// Aleph only, as [`highlight_length`](Self::highlight_length).
    pub fn highlight_text(mut self, text: impl Into<String>) -> Self {
        self.list.set("highlight_text", text.into());
        self.list.require(self.known.gate(Feature::CustomHighlight));
        self
    }

    /// `POST /search/export`: queues a zip of this search's results (an Excel sheet of the
    /// entities and the files of the documents; at most `EXPORT_MAX_RESULTS`, 100,000 by
    /// default) to be made in the background; needs an API key (`aleph/views/entities_api.py`
    /// `export`, `aleph/logic/export.py` `export_entities`). `.await` queues it,
    /// `.ready().await` waits for it (see [`ReadyExport`](super::ReadyExport)).
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// let export = aleph.entities().search().query("Meridian").schema("Company").export().ready().await?;
    /// aleph.archive().export(&export).save("meridian.zip").await?;
    /// # Ok(()) }
    /// ```
    pub fn export(self) -> super::ExportSearch {
        super::ExportSearch::new(self.list.request_to(&["search", "export"]))
    }

    list_methods!(Entity);
}

/// Like alephclient, a search with no schema filter is limited to `filter:schemata=Thing`
/// (things, not intervals such as ownerships).
fn default_schema(params: &mut Vec<(String, String)>) {
    let has_schema = params
        .iter()
        .any(|(k, _)| k == "filter:schema" || k == "filter:schemata");
    if !has_schema {
        params.push(("filter:schemata".into(), "Thing".into()));
    }
}

#[derive(Debug, Clone, Default, Serialize)]
struct WriteFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    validate: Option<bool>,
}

/// Creates an entity; from [`Entities::create`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct CreateEntity {
    transport: Transport,
    collection_id: String,
    entity: Entity,
    foreign_id: Option<String>,
    flags: WriteFlags,
}

impl CreateEntity {
    /// The caller's own key for the entity.
    pub fn foreign_id(mut self, foreign_id: impl Into<String>) -> Self {
        self.foreign_id = Some(foreign_id.into());
        self
    }

    /// Have the server refuse invalid property values (`validate=true`).
    pub fn validate(mut self, validate: bool) -> Self {
        self.flags.validate = Some(validate);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Entity> {
        check_schema(&self.entity)?;
        let body = WriteEntity {
            entity: &self.entity,
            collection_id: Some(&self.collection_id),
            foreign_id: self.foreign_id.as_deref(),
            dates: false,
        };
        self.transport
            .post(&["entities"])
            .query(&self.flags)
            .json(&body)
            .send()
            .await
    }
}

/// Updates an entity; from [`Entities::update`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct UpdateEntity {
    transport: Transport,
    id: String,
    entity: Entity,
    flags: WriteFlags,
}

impl UpdateEntity {
    /// Have the server refuse invalid property values (`validate=true`).
    pub fn validate(mut self, validate: bool) -> Self {
        self.flags.validate = Some(validate);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Entity> {
        check_schema(&self.entity)?;
        let mut entity = self.entity;
        entity.id = None;
        let collection_id = entity
            .collection_id
            .clone()
            .or_else(|| entity.collection.as_ref().map(|c| c.id.clone()));
        let body = WriteEntity {
            entity: &entity,
            collection_id: collection_id.as_deref(),
            foreign_id: None,
            dates: false,
        };
        self.transport
            .post(&["entities", &self.id])
            .query(&self.flags)
            .json(&body)
            .send()
            .await
    }
}

send_on_await!(CreateEntity => Entity, UpdateEntity => Entity);

fn check_schema(entity: &Entity) -> Result<()> {
    if entity.schema.trim().is_empty() {
        return Err(Error::invalid(
            "entity",
            "an entity needs a schema, e.g. Person",
        ));
    }
    Ok(())
}
