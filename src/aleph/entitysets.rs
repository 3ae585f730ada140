//! Entity sets: lists, network diagrams, timelines and profiles of entities, and the
//! judgements that put an entity in a set or keep it out (`aleph/views/entitysets_api.py`,
//! `aleph/model/entityset.py`).
//!
//! A set holds *items*: an entity and a [`Judgement`] about it. Only the positive items are the
//! set's members ([`EntitySets::entities`]); [`EntitySets::items`] lists every judgement, so an
//! entity judged negative leaves the members but stays among the items.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::collections::Collection;
use super::entities::{Entity, WriteEntity};
use super::{Listing, Role, de_id, de_opt_id};
use crate::error::{Error, Result};
use crate::paginate::Refusal;
use crate::transport::Transport;

string_enum! {
    /// What an entity set is (`EntitySet.TYPES`, `aleph/model/entityset.py`).
    pub enum EntitySetType {
        /// A list of entities.
        List = "list",
        /// A network diagram (with a `layout`).
        Diagram = "diagram",
        /// A timeline of events.
        Timeline = "timeline",
        /// A profile: entities judged to be the same thing.
        Profile = "profile",
    }
}

string_enum! {
    /// A judgement (`Judgement`, `aleph/model/entityset.py`; the values of
    /// `aleph/validation/schema/entityset.yml` `Judgement`): whether an entity belongs in a set,
    /// or, for a pairwise judgement of cross-referencing, whether two entities are the same
    /// thing.
    pub enum Judgement {
        /// The entity belongs in the set.
        Positive = "positive",
        /// The entity does not belong in the set.
        Negative = "negative",
        /// Undecided.
        Unsure = "unsure",
        /// No judgement: setting it removes the item.
        NoJudgement = "no_judgement",
    }
}

/// Refuses a value casefile does not know: the server's schema holds an enum of the known ones.
fn known<T: fmt::Display>(argument: &'static str, value: &T, is_other: bool) -> Result<()> {
    if is_other {
        return Err(Error::invalid(
            argument,
            format!("`{value}` is not one Aleph accepts"),
        ));
    }
    Ok(())
}

fn check_type(set_type: &EntitySetType) -> Result<()> {
    known(
        "type",
        set_type,
        matches!(set_type, EntitySetType::Other(_)),
    )
}

fn check_judgement(judgement: &Judgement) -> Result<()> {
    known(
        "judgement",
        judgement,
        matches!(judgement, Judgement::Other(_)),
    )
}

/// Whether Aleph takes `id` as an entity id (`entity-id` format,
/// `aleph/validation/formats.py`): whatever follows the last `.` (a namespace signature) is
/// dropped, and the rest is ASCII letters, digits, `.` and `-`, starting and ending with a
/// letter or digit (followthemoney `EntityType`).
fn valid_entity_id(id: &str) -> bool {
    let plain = id.rsplit_once('.').map_or(id, |(plain, _)| plain);
    crate::namespace::is_entity_id(plain)
}

/// The checks of `EntityUpdate` (`aleph/validation/schema/entity.yml`): a schema, and an id, when
/// there is one, that Aleph takes (`upsert_entity` refuses others with "Invalid entity ID").
fn check_entity(argument: &'static str, entity: &Entity, id_required: bool) -> Result<()> {
    if entity.schema.trim().is_empty() {
        return Err(Error::invalid(
            argument,
            "an entity needs a schema, e.g. Person",
        ));
    }
    match entity.id.as_deref() {
        Some(id) if !valid_entity_id(id) => Err(Error::invalid(
            argument,
            format!("`{id}` is not an entity id Aleph accepts (letters, digits, `.` and `-`)"),
        )),
        None if id_required => Err(Error::invalid(
            argument,
            "each entity of a new set needs an id",
        )),
        _ => Ok(()),
    }
}

/// An entity as `EntityUpdate` takes it: id, schema and properties, without dates.
fn entity_body(argument: &'static str, entity: &Entity) -> Result<serde_json::Value> {
    let mut body = serde_json::to_value(WriteEntity::from(entity))
        .map_err(|e| Error::invalid(argument, e.to_string()))?;
    if let Some(object) = body.as_object_mut() {
        object.remove("created_at");
        object.remove("updated_at");
    }
    Ok(body)
}

/// A list, diagram, timeline or profile (`EntitySetSerializer`, `aleph/views/serializers.py`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EntitySet {
    /// The set's id (a hex uuid).
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// What it is.
    #[serde(default, rename = "type")]
    pub set_type: Option<EntitySetType>,
    /// Its title.
    #[serde(default)]
    pub label: Option<String>,
    /// A description.
    #[serde(default)]
    pub summary: Option<String>,
    /// A diagram's layout (`DiagramLayout`), as the server keeps it.
    #[serde(default)]
    pub layout: Option<serde_json::Value>,
    /// The id of the role that made it.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub role_id: Option<String>,
    /// The role that made it.
    #[serde(default)]
    pub role: Option<Role>,
    /// The collection it belongs to.
    #[serde(default)]
    pub collection: Option<Box<Collection>>,
    /// `true` in listings, `false` from [`EntitySets::get`].
    #[serde(default)]
    pub shallow: Option<bool>,
    /// Whether the caller may change it (may write its collection).
    #[serde(default)]
    pub writeable: bool,
    /// Links.
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
    /// When it was created.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A judgement about one entity in a set (`EntitySetItemSerializer`,
/// `aleph/views/serializers.py`; `EntitySetItem.to_dict`, `aleph/model/entityset.py`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EntitySetItem {
    /// `<set id>$<entity id>`.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// The set's id.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub entityset_id: Option<String>,
    /// The id of the set's collection.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub entityset_collection_id: Option<String>,
    /// The judgement.
    #[serde(default)]
    pub judgement: Option<Judgement>,
    /// The entity it was compared to, when the judgement came from a comparison.
    #[serde(default)]
    pub compared_to_entity_id: Option<String>,
    /// The id of the role that judged.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub added_by_id: Option<String>,
    /// The entity (absent when the server could not resolve it).
    #[serde(default)]
    pub entity: Option<Box<Entity>>,
    /// The entity's collection.
    #[serde(default)]
    pub collection: Option<Box<Collection>>,
    /// Whether the caller may change the set.
    #[serde(default)]
    pub writeable: bool,
    /// When it was judged (absent for a removal).
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A set to create (`EntitySetCreate`, `aleph/validation/schema/entityset.yml`): a collection,
/// a type and a label are required; a summary, a layout and entities are optional.
///
/// ```
/// use casefile::aleph::{Entity, EntitySetType, NewEntitySet};
///
/// let new = NewEntitySet::new("12", EntitySetType::List, "Directors")
///     .summary("Who runs the shell companies")
///     .entity(Entity::new("Person").with_id("maria-garcia").add("name", "Maria García"));
/// assert_eq!(new.label, "Directors");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NewEntitySet {
    /// The collection the set belongs to (sent as a string, as the schema requires).
    pub collection_id: String,
    /// What it is.
    #[serde(rename = "type")]
    pub set_type: EntitySetType,
    /// Its title.
    pub label: String,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// A diagram's layout (`DiagramLayout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<serde_json::Value>,
    /// Entities written into the collection (their ids signed with its namespace) and added to
    /// the set; each needs an id, a schema and properties.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "write_entities"
    )]
    pub entities: Vec<Entity>,
}

impl NewEntitySet {
    /// A set of `set_type` called `label` in collection `collection_id`.
    pub fn new(
        collection_id: impl fmt::Display,
        set_type: EntitySetType,
        label: impl Into<String>,
    ) -> Self {
        NewEntitySet {
            collection_id: collection_id.to_string(),
            set_type,
            label: label.into(),
            summary: None,
            layout: None,
            entities: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// Sets a diagram's layout.
    pub fn layout(mut self, layout: serde_json::Value) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Adds an entity (with an id) to write into the collection and the set.
    pub fn entity(mut self, entity: Entity) -> Self {
        self.entities.push(entity);
        self
    }

    /// What the server's schema would refuse, refused before sending.
    fn check(&self) -> Result<()> {
        crate::path::check_segment("collection_id", &self.collection_id)?;
        check_type(&self.set_type)?;
        if let Some(layout) = &self.layout
            && !layout.is_object()
        {
            return Err(Error::invalid("layout", "a layout is an object"));
        }
        for entity in &self.entities {
            check_entity("entities", entity, true)?;
        }
        Ok(())
    }
}

/// The entities of a new set as `EntityUpdate` takes them.
fn write_entities<S: serde::Serializer>(
    entities: &[Entity],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let bodies = entities
        .iter()
        .map(|e| entity_body("entities", e))
        .collect::<Result<Vec<_>>>()
        .map_err(serde::ser::Error::custom)?;
    bodies.serialize(s)
}

/// Entity sets: `client.entity_sets()`.
#[derive(Debug, Clone)]
pub struct EntitySets {
    transport: Transport,
}

impl EntitySets {
    pub(crate) fn new(transport: Transport) -> Self {
        EntitySets { transport }
    }

    /// `GET /entitysets`: the sets in the collections the caller can read, most recently changed
    /// first (`aleph/views/entitysets_api.py` `index`).
    pub fn list(&self) -> ListEntitySets {
        ListEntitySets {
            list: Listing::new(self.transport.clone(), &["entitysets"], false),
        }
    }

    /// `POST /entitysets`: creates a set (answers `200`). The collection must be writeable; the
    /// type must be one Aleph knows and each entity needs an id, a schema and properties
    /// (checked before sending). The entities are written into the collection, their ids
    /// signed with its namespace (`aleph/logic/entitysets.py` `create_entityset`).
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use casefile::aleph::{EntitySetType, NewEntitySet};
    /// let list = aleph
    ///     .entity_sets()
    ///     .create(NewEntitySet::new("12", EntitySetType::List, "Directors"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, set: NewEntitySet) -> CreateEntitySet {
        CreateEntitySet::new(
            self.transport
                .post(&["entitysets"])
                .json(&set)
                .checked(set.check()),
        )
    }

    /// `GET /entitysets/{id}` (not shallow). Aleph answers a profile with a redirect to
    /// `/profiles/{id}` on its public URL (`aleph/views/entitysets_api.py` `view`); it is
    /// followed, and the profile decodes as a set whose label is the merged entity's caption
    /// (`ProfileSerializer`, `aleph/logic/profiles.py`).
    pub fn get(&self, id: impl fmt::Display) -> GetEntitySet {
        GetEntitySet::new(self.transport.get(&["entitysets", &id.to_string()]))
    }

    /// `POST /entitysets/{id}`: changes the label, summary, type or layout; what is not set is
    /// kept (`EntitySetUpdate`, `EntitySet.update` in `aleph/model/entityset.py`).
    pub fn update(&self, id: impl fmt::Display) -> UpdateEntitySet {
        UpdateEntitySet {
            transport: self.transport.clone(),
            id: id.to_string(),
            changes: serde_json::Map::new(),
            refusal: None,
        }
    }

    /// `DELETE /entitysets/{id}`: deletes the set and its items (answers `204`).
    pub fn delete(&self, id: impl fmt::Display) -> DeleteEntitySet {
        DeleteEntitySet::new(self.transport.delete(&["entitysets", &id.to_string()]))
    }

    /// `GET /entitysets/{id}/entities`: searches the set's members, the entities judged
    /// positive (`EntitySetItemsQuery`, `aleph/search/__init__.py`; every schema, no schema
    /// filter needed).
    pub fn entities(&self, id: impl fmt::Display) -> SetEntities {
        SetEntities {
            list: Listing::new(
                self.transport.clone(),
                &["entitysets", &id.to_string(), "entities"],
                true,
            ),
        }
    }

    /// `POST /entitysets/{id}/entities`: writes `entity` and adds it to the set as positive
    /// (`aleph/views/entitysets_api.py` `entities_update`). An entity found under its id is
    /// updated where the caller may write it, otherwise only added; an entity not found (or
    /// without an id) is created in the set's collection, its id signed with the collection's
    /// namespace. Answers the entity as stored.
    pub fn add_entity(&self, id: impl fmt::Display, entity: Entity) -> AddEntity {
        AddEntity {
            transport: self.transport.clone(),
            id: id.to_string(),
            entity,
            flags: Vec::new(),
        }
    }

    /// `GET /entitysets/{id}/items`: every judgement in the set, oldest first (positive,
    /// negative and unsure).
    pub fn items(&self, id: impl fmt::Display) -> ListItems {
        ListItems {
            list: Listing::new(
                self.transport.clone(),
                &["entitysets", &id.to_string(), "items"],
                false,
            ),
        }
    }

    /// `POST /entitysets/{id}/items`: judges the entity `entity_id` in the set: adds it
    /// ([`Judgement::Positive`]), changes its judgement, or removes it
    /// ([`Judgement::NoJudgement`]); the same judgement again changes nothing
    /// (`EntitySetItem.save`, `aleph/model/entityset.py`). Answers the item (`200`, also for a
    /// removal).
    pub fn set_item(
        &self,
        id: impl fmt::Display,
        entity_id: impl fmt::Display,
        judgement: Judgement,
    ) -> SetItem {
        SetItem {
            transport: self.transport.clone(),
            id: id.to_string(),
            entity_id: entity_id.to_string(),
            judgement,
            compared_to: None,
        }
    }
}

/// Lists entity sets; from [`EntitySets::list`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListEntitySets {
    list: Listing,
}

impl ListEntitySets {
    /// Only the sets of this collection (`filter:collection_id`), repeatable. Collection ids
    /// are integers; another value is refused before sending (OpenAleph converts each with
    /// `int()` and answers a 500, `aleph/views/entitysets_api.py` `index`).
    pub fn collection(mut self, collection_id: impl fmt::Display) -> Self {
        let id = collection_id.to_string();
        if id.parse::<u64>().is_err() {
            self.list.refusal = Some(Refusal(
                "collection_id",
                format!("a collection id is an integer, got {id:?}"),
            ));
        }
        self.list.push("filter:collection_id".into(), id);
        self
    }

    /// Only sets of this type (`filter:type`), repeatable.
    pub fn set_type(mut self, set_type: EntitySetType) -> Self {
        if let Err(e) = check_type(&set_type) {
            self.list.refusal = Some(Refusal::from_error(e));
        }
        self.list.push("filter:type".into(), set_type.to_string());
        self
    }

    /// Only sets whose label contains `text` (`prefix`, case-insensitive). Aleph matches
    /// nothing with fewer than 3 characters (`query_like`, `aleph/model/common.py`), so a
    /// shorter text is refused before sending.
    pub fn prefix(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        let chars = text.chars().count();
        if chars < 3 {
            self.list.refusal = Some(Refusal(
                "prefix",
                format!("Aleph matches nothing with fewer than 3 characters, got {chars}"),
            ));
        }
        self.list.set("prefix", text);
        self
    }

    list_methods!(EntitySet);
}

/// Lists the sets an entity is in; from
/// [`Entities::entity_sets`](super::Entities::entity_sets).
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListSetsOfEntity {
    list: Listing,
}

impl ListSetsOfEntity {
    pub(crate) fn new(transport: Transport, entity_id: &str) -> Self {
        ListSetsOfEntity {
            list: Listing::new(transport, &["entities", entity_id, "entitysets"], false),
        }
    }

    /// Only sets of this collection (`filter:collection_id`), repeatable.
    pub fn collection(mut self, collection_id: impl fmt::Display) -> Self {
        self.list
            .push("filter:collection_id".into(), collection_id.to_string());
        self
    }

    /// Only sets where the entity has this judgement (`filter:judgement`), repeatable. A value
    /// Aleph does not know is refused before sending (Aleph answers it with a 500).
    pub fn judgement(mut self, judgement: Judgement) -> Self {
        if let Err(e) = check_judgement(&judgement) {
            self.list.refusal = Some(Refusal::from_error(e));
        }
        self.list
            .push("filter:judgement".into(), judgement.to_string());
        self
    }

    /// Only sets of this type (`filter:type`), repeatable.
    pub fn set_type(mut self, set_type: EntitySetType) -> Self {
        if let Err(e) = check_type(&set_type) {
            self.list.refusal = Some(Refusal::from_error(e));
        }
        self.list.push("filter:type".into(), set_type.to_string());
        self
    }

    /// Only sets with exactly this label (`filter:label`), repeatable.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.list.push("filter:label".into(), label.into());
        self
    }

    list_methods!(EntitySet);
}

/// Searches a set's members; from [`EntitySets::entities`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct SetEntities {
    list: Listing,
}

impl SetEntities {
    search_methods!();
    list_methods!(Entity);
}

/// Lists a set's judgements; from [`EntitySets::items`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListItems {
    list: Listing,
}

impl ListItems {
    list_methods!(EntitySetItem);
}

operation! {
    /// Creates a set; from [`EntitySets::create`].
    CreateEntitySet => EntitySet
}

operation! {
    /// Fetches one set; from [`EntitySets::get`].
    GetEntitySet => EntitySet
}

operation! {
    /// Deletes a set; from [`EntitySets::delete`].
    DeleteEntitySet => ()
}

/// Changes a set; from [`EntitySets::update`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct UpdateEntitySet {
    transport: Transport,
    id: String,
    changes: serde_json::Map<String, serde_json::Value>,
    refusal: Option<Error>,
}

impl UpdateEntitySet {
    /// A new title.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.changes.insert("label".into(), label.into().into());
        self
    }

    /// A new description; `None` removes it.
    pub fn summary(mut self, summary: Option<String>) -> Self {
        self.changes.insert("summary".into(), summary.into());
        self
    }

    /// A new type (one Aleph knows, checked before sending).
    pub fn set_type(mut self, set_type: EntitySetType) -> Self {
        if let Err(e) = check_type(&set_type) {
            self.refusal = Some(e);
        }
        self.changes.insert("type".into(), set_type.as_str().into());
        self
    }

    /// A new diagram layout (an object, checked before sending).
    pub fn layout(mut self, layout: serde_json::Value) -> Self {
        if !layout.is_object() {
            self.refusal = Some(Error::invalid("layout", "a layout is an object"));
        }
        self.changes.insert("layout".into(), layout);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<EntitySet> {
        if let Some(refusal) = self.refusal {
            return Err(refusal);
        }
        crate::path::check_segment("id", &self.id)?;
        self.transport
            .post(&["entitysets", &self.id])
            .json(&self.changes)
            .send()
            .await
    }
}

/// Writes an entity and adds it to a set; from [`EntitySets::add_entity`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct AddEntity {
    transport: Transport,
    id: String,
    entity: Entity,
    flags: Vec<(&'static str, String)>,
}

impl AddEntity {
    fn flag(mut self, name: &'static str, value: bool) -> Self {
        self.flags.retain(|(k, _)| *k != name);
        self.flags.push((name, value.to_string()));
        self
    }

    /// Have the server refuse invalid property values (`validate`, default `false`).
    pub fn validate(self, validate: bool) -> Self {
        self.flag("validate", validate)
    }

    /// Index before answering (`sync`, default `true`).
    pub fn sync(self, sync: bool) -> Self {
        self.flag("sync", sync)
    }

    /// Sign the entity-typed property values with the collection's namespace (`sign`, default
    /// `false`).
    pub fn sign(self, sign: bool) -> Self {
        self.flag("sign", sign)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Entity> {
        check_entity("entity", &self.entity, false)?;
        crate::path::check_segment("id", &self.id)?;
        self.transport
            .post(&["entitysets", &self.id, "entities"])
            .query(&self.flags)
            .json(&entity_body("entity", &self.entity)?)
            .send()
            .await
    }
}

/// Judges an entity in a set; from [`EntitySets::set_item`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct SetItem {
    transport: Transport,
    id: String,
    entity_id: String,
    judgement: Judgement,
    compared_to: Option<String>,
}

impl SetItem {
    /// The entity the judgement compared it to (`compared_to_entity_id`).
    pub fn compared_to(mut self, entity_id: impl fmt::Display) -> Self {
        self.compared_to = Some(entity_id.to_string());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<EntitySetItem> {
        check_judgement(&self.judgement)?;
        crate::path::check_segment("id", &self.id)?;
        if self.entity_id.is_empty() {
            return Err(Error::invalid("entity_id", "must not be empty"));
        }
        let mut body = serde_json::json!({
            "entity_id": self.entity_id,
            "judgement": self.judgement.as_str(),
        });
        if let Some(other) = self.compared_to {
            body["compared_to_entity_id"] = other.into();
        }
        self.transport
            .post(&["entitysets", &self.id, "items"])
            .json(&body)
            .send()
            .await
    }
}

send_on_await!(
    UpdateEntitySet => EntitySet,
    AddEntity => Entity,
    SetItem => EntitySetItem,
);
