//! Mappings: how the rows of a table (a CSV or spreadsheet document) become entities.
//!
//! The seed API's single `POST /collections/{id}/mapping` ("load mappings for a collection")
//! became this set of operations on current servers: create the mapping with
//! [`Mappings::create`], which stores it, then [`Mappings::trigger`] to load its entities;
//! [`Mappings::flush`] removes what a mapping loaded.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entities::Entity;
use super::{Listing, de_id, de_opt_id};
use crate::error::{Error, Result};
use crate::transport::Transport;

/// A stored mapping of a table to entities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Mapping {
    /// The mapping's id.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// The collection it belongs to.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub collection_id: Option<String>,
    /// Who made it.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub role_id: Option<String>,
    /// The id of the table entity it reads.
    #[serde(default)]
    pub table_id: Option<String>,
    /// The table entity, resolved.
    #[serde(default)]
    pub table: Option<Box<Entity>>,
    /// The FollowTheMoney mapping query: `{"<key>": {"schema": ..., "keys": [...],
    /// "properties": {...}}}`.
    #[serde(default)]
    pub query: serde_json::Map<String, serde_json::Value>,
    /// The entity set its entities are added to, resolved.
    #[serde(default)]
    pub entityset: Option<serde_json::Value>,
    /// How the last run ended (`successful`, `failed`, `pending`).
    #[serde(default)]
    pub last_run_status: Option<String>,
    /// The error of the last run.
    #[serde(default)]
    pub last_run_err_msg: Option<String>,
    /// When it was created.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the caller may change it.
    #[serde(default)]
    pub writeable: bool,
    /// Links.
    #[serde(default)]
    pub links: BTreeMap<String, crate::SignedUrl>,
}

/// A mapping to create or update: the table entity and the FollowTheMoney mapping query.
///
/// ```
/// use casefile::aleph::NewMapping;
/// use serde_json::json;
///
/// let mapping = NewMapping::new("table-entity-id", json!({
///     "person": {"schema": "Person", "keys": ["id"], "properties": {"name": {"column": "name"}}}
/// }));
/// assert_eq!(mapping.table_id, "table-entity-id");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMapping {
    /// The id of the table entity to read.
    pub table_id: String,
    /// The mapping query (an object of entity mappings).
    pub mapping_query: serde_json::Value,
    /// An entity set to add the entities to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entityset_id: Option<String>,
}

impl NewMapping {
    /// A mapping of `table_id` with `mapping_query`.
    pub fn new(table_id: impl fmt::Display, mapping_query: serde_json::Value) -> Self {
        NewMapping {
            table_id: table_id.to_string(),
            mapping_query,
            entityset_id: None,
        }
    }

    /// Adds the entities to an entity set.
    pub fn entityset(mut self, entityset_id: impl fmt::Display) -> Self {
        self.entityset_id = Some(entityset_id.to_string());
        self
    }

    fn check(&self) -> Result<()> {
        if self.table_id.trim().is_empty() {
            return Err(Error::invalid("table_id", "a mapping needs a table entity"));
        }
        if !self.mapping_query.is_object() {
            return Err(Error::invalid(
                "mapping_query",
                "must be an object of entity mappings",
            ));
        }
        Ok(())
    }
}

/// Mappings: `client.mappings()`.
#[derive(Debug, Clone)]
pub struct Mappings {
    transport: Transport,
}

impl Mappings {
    pub(crate) fn new(transport: Transport) -> Self {
        Mappings { transport }
    }

    /// `GET /collections/{id}/mappings`.
    pub fn list(&self, collection_id: impl fmt::Display) -> ListMappings {
        ListMappings {
            list: Listing::new(
                self.transport.clone(),
                &["collections", &collection_id.to_string(), "mappings"],
                false,
            ),
        }
    }

    /// `POST /collections/{id}/mappings`: stores a mapping (the seed's `mapping` operation is
    /// this followed by [`trigger`](Self::trigger)).
    pub fn create(&self, collection_id: impl fmt::Display, mapping: NewMapping) -> CreateMapping {
        CreateMapping::new(
            self.transport
                .post(&["collections", &collection_id.to_string(), "mappings"])
                .json(&mapping)
                .checked(mapping.check()),
        )
    }

    /// `GET /collections/{id}/mappings/{mapping_id}`.
    pub fn get(
        &self,
        collection_id: impl fmt::Display,
        mapping_id: impl fmt::Display,
    ) -> GetMapping {
        GetMapping::new(self.transport.get(&[
            "collections",
            &collection_id.to_string(),
            "mappings",
            &mapping_id.to_string(),
        ]))
    }

    /// `POST /collections/{id}/mappings/{mapping_id}`: replaces the table and query.
    pub fn update(
        &self,
        collection_id: impl fmt::Display,
        mapping_id: impl fmt::Display,
        mapping: NewMapping,
    ) -> UpdateMapping {
        UpdateMapping::new(
            self.transport
                .post(&[
                    "collections",
                    &collection_id.to_string(),
                    "mappings",
                    &mapping_id.to_string(),
                ])
                .json(&mapping)
                .checked(mapping.check()),
        )
    }

    /// `DELETE /collections/{id}/mappings/{mapping_id}`: deletes the mapping and the entities it
    /// loaded (answers `204`).
    pub fn delete(
        &self,
        collection_id: impl fmt::Display,
        mapping_id: impl fmt::Display,
    ) -> DeleteMapping {
        DeleteMapping::new(self.transport.delete(&[
            "collections",
            &collection_id.to_string(),
            "mappings",
            &mapping_id.to_string(),
        ]))
    }

    /// `POST /collections/{id}/mappings/{mapping_id}/trigger`: loads the entities (answers
    /// `202` with the mapping, now pending).
    pub fn trigger(
        &self,
        collection_id: impl fmt::Display,
        mapping_id: impl fmt::Display,
    ) -> TriggerMapping {
        TriggerMapping::new(self.transport.post(&[
            "collections",
            &collection_id.to_string(),
            "mappings",
            &mapping_id.to_string(),
            "trigger",
        ]))
    }

    /// `POST /collections/{id}/mappings/{mapping_id}/flush`: removes the entities it loaded and
    /// disables it (answers `202`).
    pub fn flush(
        &self,
        collection_id: impl fmt::Display,
        mapping_id: impl fmt::Display,
    ) -> FlushMapping {
        FlushMapping::new(self.transport.post(&[
            "collections",
            &collection_id.to_string(),
            "mappings",
            &mapping_id.to_string(),
            "flush",
        ]))
    }
}

/// Lists a collection's mappings; from [`Mappings::list`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListMappings {
    list: Listing,
}

impl ListMappings {
    /// Only the mappings of this table entity (`filter:table`).
    pub fn table(mut self, table_id: impl fmt::Display) -> Self {
        self.list.push("filter:table".into(), table_id.to_string());
        self
    }

    list_methods!(Mapping);
}

operation! {
    /// Creates a mapping; from [`Mappings::create`].
    CreateMapping => Mapping
}

operation! {
    /// Fetches a mapping; from [`Mappings::get`].
    GetMapping => Mapping
}

operation! {
    /// Updates a mapping; from [`Mappings::update`].
    UpdateMapping => Mapping
}

operation! {
    /// Deletes a mapping; from [`Mappings::delete`].
    DeleteMapping => ()
}

operation! {
    /// Runs a mapping; from [`Mappings::trigger`].
    TriggerMapping => Mapping
}

operation! {
    /// Removes what a mapping loaded; from [`Mappings::flush`].
    FlushMapping => ()
}
