//! Profiles: the entity sets that say several entities are one real-world thing, built from
//! pairwise judgements of cross-referencing matches (alephdata/aleph
//! `aleph/views/profiles_api.py`, `aleph/logic/profiles.py`).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::collections::Collection;
use super::entities::Entity;
use super::entitysets::Judgement;
use super::graph::{Expansions, Similar, Tags};
use super::{Listing, de_id, de_opt_id};
use crate::error::Error;
use crate::transport::{RequestBuilder, Transport};

/// The most entities `expand` returns per property (`ALEPH_MAX_EXPAND_ENTITIES`).
const MAX_EXPAND: u64 = 200;

/// The answer to a pairwise judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PairwiseResult {
    /// `ok`.
    #[serde(default)]
    pub status: Option<String>,
    /// The profile of the entity the match was judged into; `None` when the judgement was
    /// [`Judgement::NoJudgement`] (the pair was removed).
    #[serde(default, deserialize_with = "de_opt_id")]
    pub profile_id: Option<String>,
}

/// A profile: entities judged to be one thing, merged (`aleph/views/serializers.py`
/// `ProfileSerializer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The profile's id (an entity set id).
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// `profile` (the server answers for any entity set id).
    #[serde(default, rename = "type")]
    pub set_type: Option<String>,
    /// The caption of the merged entity.
    #[serde(default)]
    pub label: Option<String>,
    /// A description.
    #[serde(default)]
    pub summary: Option<String>,
    /// The role that made it.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub role_id: Option<String>,
    /// The collection it belongs to (the judged entity's).
    #[serde(default)]
    pub collection: Option<Collection>,
    /// The entities judged positive, merged into one (its id is the profile's).
    #[serde(default)]
    pub merged: Option<Entity>,
    /// The ids of the entities merged.
    #[serde(default)]
    pub entities: Vec<String>,
    /// Whether the caller may change it.
    #[serde(default)]
    pub writeable: bool,
    /// A summary form rather than the full record.
    #[serde(default)]
    pub shallow: bool,
    /// When it was made.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Profiles and pairwise judgements: `client.profiles()`.
#[derive(Debug, Clone)]
pub struct Profiles {
    transport: Transport,
}

impl Profiles {
    pub(crate) fn new(transport: Transport) -> Self {
        Profiles { transport }
    }

    /// `POST /profiles/_pairwise`: judges whether `match_id` is the same thing as `entity_id`
    /// (e.g. a cross-referencing match). The entity's collection must be writeable and the two
    /// schemata compatible (else `400`). A judgement the server does not know is refused before
    /// sending (`aleph/views/profiles_api.py` `pairwise`, `aleph/logic/profiles.py`
    /// `decide_pairwise`).
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use casefile::aleph::Judgement;
    /// let judged = aleph.profiles().pairwise("e1", "m1", Judgement::Positive).await?;
    /// # Ok(()) }
    /// ```
    pub fn pairwise(
        &self,
        entity_id: impl fmt::Display,
        match_id: impl fmt::Display,
        judgement: Judgement,
    ) -> Pairwise {
        let (entity_id, match_id) = (entity_id.to_string(), match_id.to_string());
        let check = if entity_id.is_empty() {
            Err(Error::invalid("entity_id", "must not be empty"))
        } else if match_id.is_empty() {
            Err(Error::invalid("match_id", "must not be empty"))
        } else if let Judgement::Other(other) = &judgement {
            Err(Error::invalid(
                "judgement",
                format!("`{other}` is not one of positive, negative, unsure, no_judgement"),
            ))
        } else {
            Ok(())
        };
        let body = serde_json::json!({"entity_id": entity_id, "match_id": match_id, "judgement": judgement});
        Pairwise::new(
            self.transport
                .post(&["profiles", "_pairwise"])
                .json(&body)
                .checked(check),
        )
    }

    /// `GET /profiles/{id}`: the profile with its merged entity (`aleph/views/profiles_api.py`
    /// `view`).
    pub fn get(&self, profile_id: impl fmt::Display) -> GetProfile {
        GetProfile::new(self.transport.get(&["profiles", &profile_id.to_string()]))
    }

    /// `GET /profiles/{id}/tags`: values of the merged entity that other entities have too,
    /// most shared first (`aleph/views/profiles_api.py` `tags`).
    pub fn tags(&self, profile_id: impl fmt::Display) -> GetProfileTags {
        GetProfileTags::new(
            self.transport
                .get(&["profiles", &profile_id.to_string(), "tags"]),
        )
    }

    /// `GET /profiles/{id}/similar`: entities like the merged one, not yet in the profile (a
    /// search: at most 9,999; `aleph/views/profiles_api.py` `similar`).
    pub fn similar(&self, profile_id: impl fmt::Display) -> ListSimilar {
        let id = profile_id.to_string();
        ListSimilar {
            list: Listing::new(self.transport.clone(), &["profiles", &id, "similar"], true),
        }
    }

    /// `GET /profiles/{id}/expand`: the entities linked to the profile's entities, per property
    /// (`aleph/views/profiles_api.py` `expand`).
    pub fn expand(&self, profile_id: impl fmt::Display) -> ExpandProfile {
        ExpandProfile {
            transport: self.transport.clone(),
            id: profile_id.to_string(),
            properties: Vec::new(),
            limit: None,
        }
    }
}

/// Lists the entities similar to a profile; from [`Profiles::similar`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListSimilar {
    list: Listing,
}

impl ListSimilar {
    search_methods!();

    list_methods!(Similar);
}

/// Expands a profile; from [`Profiles::expand`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct ExpandProfile {
    transport: Transport,
    id: String,
    properties: Vec<String>,
    limit: Option<u64>,
}

impl ExpandProfile {
    /// Only this property (`filter:property`; repeatable), e.g. `ownershipOwner`.
    pub fn property(mut self, property: impl Into<String>) -> Self {
        self.properties.push(property.into());
        self
    }

    /// At most `n` entities per property (default 20, at most 200; 0 counts only).
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    fn request(&self) -> crate::Result<RequestBuilder> {
        let mut query: Vec<(&str, String)> = self
            .properties
            .iter()
            .map(|p| ("filter:property", p.clone()))
            .collect();
        if let Some(limit) = self.limit {
            if limit > MAX_EXPAND {
                return Err(Error::invalid(
                    "limit",
                    format!("must be at most {MAX_EXPAND}, got {limit}"),
                ));
            }
            query.push(("limit", limit.to_string()));
        }
        Ok(self
            .transport
            .get(&["profiles", &self.id, "expand"])
            .query(&query))
    }

    /// Sends the request.
    pub async fn send(self) -> crate::Result<Expansions> {
        self.request()?.send().await
    }
}

send_on_await!(ExpandProfile => Expansions);

operation! {
    /// Judges a pair of entities; from [`Profiles::pairwise`].
    Pairwise => PairwiseResult
}

operation! {
    /// Fetches a profile; from [`Profiles::get`].
    GetProfile => Profile
}

operation! {
    /// Fetches a profile's tags; from [`Profiles::tags`].
    GetProfileTags => Tags
}
