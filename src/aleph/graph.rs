//! The entity graph and matching: what an entity is connected to (`/expand`), which of its
//! values other entities share (`/tags`), which entities look like it (`/similar`), and the
//! entities that match one the caller describes (`POST /match`). The methods are on
//! [`Entities`](super::Entities).

use serde::{Deserialize, Serialize};

use super::entities::{Entity, WriteEntity};
use super::entitysets::Judgement;
use super::{Listing, ResultSet, Unpaged};
use crate::error::{Error, Result};
use crate::transport::Transport;

/// The most entities `/expand` returns per property (`ALEPH_MAX_EXPAND_ENTITIES`,
/// `aleph/settings.py`).
pub const MAX_EXPAND: u64 = 200;

/// What `GET /entities/{id}/expand` (and a profile's `expand`) answers: per entity-typed
/// property with at least one connected entity, in no particular order, the entities on the
/// other end; `total` is the sum of the properties' counts (`aleph/views/entities_api.py`
/// `expand`).
pub type Expansions = Unpaged<Expansion>;

/// The entities connected to an entity through one property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Expansion {
    /// The property, e.g. `ownershipOwner` (reverse) or `owner` (forward).
    #[serde(default)]
    pub property: String,
    /// How many entities are connected through it; may be more than `entities` holds (the
    /// limit applies per property).
    #[serde(default)]
    pub count: u64,
    /// The connected entities as raw FollowTheMoney objects (`id`, `schema`, `properties`,
    /// `collection_id`): references stay ids, there are no links and no nested collection
    /// (`aleph/logic/expand.py` `expand_proxies`). The far end of an edge entity (the company
    /// behind an ownership) is included.
    #[serde(default)]
    pub entities: Vec<Entity>,
}

/// What `GET /entities/{id}/tags` (and a profile's `tags`) answers: the tags, the most shared
/// first.
pub type Tags = Unpaged<Tag>;

/// A value of an entity (an e-mail, a phone number, a name, an identifier) that other entities
/// have too (`aleph/logic/expand.py` `entity_tags`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// The value's node id, e.g. `email:x@example.org`.
    #[serde(default)]
    pub id: String,
    /// The group of the value's type, e.g. `emails`, `phones`, `names`, `identifiers`: search
    /// for the others with `filter(field, value)`.
    #[serde(default)]
    pub field: String,
    /// The value.
    #[serde(default)]
    pub value: String,
    /// How many other entities have it.
    #[serde(default)]
    pub count: u64,
}

/// An entity like another one, from [`Entities::similar`](super::Entities::similar)
/// (`aleph/views/serializers.py` `SimilarSerializer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Similar {
    /// How alike they are, from 0 to 1 (followthemoney's `compare`).
    #[serde(default)]
    pub score: Option<f64>,
    /// What was decided about the pair in the first entity's collection.
    #[serde(default)]
    pub judgement: Option<Judgement>,
    /// The similar entity.
    #[serde(default)]
    pub entity: Option<Entity>,
    /// Whether the caller may judge the pair.
    #[serde(default)]
    pub writeable: bool,
}

/// Expands an entity; from [`Entities::expand`](super::Entities::expand).
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct ExpandEntity {
    transport: Transport,
    id: String,
    limit: Option<u64>,
    properties: Vec<String>,
}

impl ExpandEntity {
    pub(crate) fn new(transport: Transport, id: String) -> Self {
        ExpandEntity {
            transport,
            id,
            limit: None,
            properties: Vec::new(),
        }
    }

    /// At most `n` entities per property (the server's default is 20, its maximum
    /// [`MAX_EXPAND`]; checked before sending). `0` gives only the counts.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Expands only this property (`filter:property`), repeatable; by default every
    /// entity-typed property.
    pub fn property(mut self, name: impl Into<String>) -> Self {
        self.properties.push(name.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Expansions> {
        // Past the maximum the server cuts silently (`QueryParser` `max_limit`); refusing says so.
        if let Some(n) = self.limit.filter(|n| *n > MAX_EXPAND) {
            return Err(Error::invalid(
                "limit",
                format!("at most {MAX_EXPAND} entities per property, got {n}"),
            ));
        }
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(n) = self.limit {
            query.push(("limit", n.to_string()));
        }
        for property in self.properties {
            query.push(("filter:property", property));
        }
        self.transport
            .get(&["entities", &self.id, "expand"])
            .query(&query)
            .send()
            .await
    }
}

operation! {
    /// Fetches the tags of an entity; from [`Entities::tags`](super::Entities::tags).
    EntityTags => Tags
}

/// The entities like one entity, best first; from
/// [`Entities::similar`](super::Entities::similar).
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct SimilarEntities {
    list: Listing,
}

impl SimilarEntities {
    pub(crate) fn new(transport: Transport, id: &str) -> Self {
        SimilarEntities {
            list: Listing::new(transport, &["entities", id, "similar"], true),
        }
    }

    search_methods!();
    list_methods!(Similar);
}

/// Matches an entity against the entities of the server; from
/// [`Entities::matching`](super::Entities::matching).
///
/// Answers one page, the best matches first (`aleph/views/entities_api.py` `match`); the
/// `score` of each entity is the search engine's, not a 0-to-1 similarity.
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct MatchEntity {
    transport: Transport,
    entity: Entity,
    query: Vec<(String, String)>,
    limit: Option<u64>,
}

impl MatchEntity {
    pub(crate) fn new(transport: Transport, entity: Entity) -> Self {
        MatchEntity {
            transport,
            entity,
            query: Vec::new(),
            limit: None,
        }
    }

    /// Only candidates of this collection (`collection_ids`), repeatable; by default every
    /// collection the caller can read.
    pub fn collection(mut self, collection_id: impl std::fmt::Display) -> Self {
        self.query
            .push(("collection_ids".into(), collection_id.to_string()));
        self
    }

    /// Only candidates whose `field` has `value` (`filter:<field>=<value>`), repeatable.
    pub fn filter(mut self, field: &str, value: impl Into<String>) -> Self {
        self.query.push((format!("filter:{field}"), value.into()));
        self
    }

    /// How many matches (default 20, 1 to 9,999; checked before sending).
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<ResultSet<Entity>> {
        if self.entity.schema.trim().is_empty() {
            return Err(Error::invalid(
                "entity",
                "an entity to match needs a schema, e.g. Person",
            ));
        }
        let mut query = self.query;
        if let Some(n) = self.limit {
            if n == 0 || n > super::SEARCH_WINDOW {
                return Err(Error::invalid(
                    "limit",
                    format!("must be between 1 and {}, got {n}", super::SEARCH_WINDOW),
                ));
            }
            query.push(("limit".into(), n.to_string()));
        }
        self.transport
            .post(&["match"])
            .query(&query)
            .json(&WriteEntity::from(&self.entity))
            .send()
            .await
    }
}

send_on_await!(ExpandEntity => Expansions, MatchEntity => ResultSet<Entity>);
