//! What the server is and what it is doing: `GET /metadata` (version, categories, the
//! FollowTheMoney model, feature flags; `aleph/views/base_api.py` `metadata`) and `GET /status`
//! (the collections being processed; `aleph/views/status_api.py`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Collection, StageStatus, TaskCounts, Unpaged};

operation! {
    /// Fetches the server's metadata; from [`Client::metadata`](super::Client::metadata).
    GetMetadata => Metadata
}

operation! {
    /// Fetches the processing status of the server; from
    /// [`Client::status`](super::Client::status).
    GetServerStatus => ServerStatus
}

/// What `GET /metadata` answers: the same for every caller (it has no role and does not tell
/// whether the API key was recognised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// Whether the server is in maintenance (read-only).
    #[serde(default)]
    pub maintenance: bool,
    /// The application: version, title, languages.
    #[serde(default)]
    pub app: AppInfo,
    /// The collection categories, key to label (`leak` → `Leaks`).
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
    /// The update frequencies, key to label.
    #[serde(default)]
    pub frequencies: BTreeMap<String, String>,
    /// The FollowTheMoney model the server validates entities with.
    #[serde(default)]
    pub model: Model,
    /// How one signs in.
    #[serde(default)]
    pub auth: AuthInfo,
    /// Feature flags (`bookmarks` on Aleph; OpenAleph adds `timelines`, `lists`, `diagrams`).
    #[serde(default)]
    pub feature_flags: BTreeMap<String, bool>,
    /// The help pages of the interface, as sent.
    #[serde(default)]
    pub pages: Vec<serde_json::Value>,
    /// The services the instance runs, as sent (OpenAleph only: `translate` and its source
    /// languages).
    #[serde(default)]
    pub services: Option<serde_json::Value>,
    /// The URLs of other services (OpenAleph only: `ftm_assets`, null unless the instance
    /// sets `FTM_ASSETS_URL`).
    #[serde(default)]
    pub service_urls: BTreeMap<String, Option<String>>,
}

impl Metadata {
    /// Whether the answer has what only OpenAleph sends: `feature_flags.timelines`, `lists` or
    /// `diagrams`, `services`, `service_urls`, or a model that has a `version` (FollowTheMoney 4).
    pub(crate) fn looks_like_openaleph(&self) -> bool {
        let flags = ["timelines", "lists", "diagrams"];
        flags.iter().any(|f| self.feature_flags.contains_key(*f))
            || self.services.is_some()
            || !self.service_urls.is_empty()
            || self.model.version.is_some()
    }
}

/// The application part of [`Metadata`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppInfo {
    /// The instance's title.
    #[serde(default)]
    pub title: Option<String>,
    /// The server's version (`4.1.6`; OpenAleph `5.x`).
    #[serde(default)]
    pub version: Option<String>,
    /// The followthemoney version of the model (`3.5.9`).
    #[serde(default)]
    pub ftm_version: Option<String>,
    /// The web interface's URL.
    #[serde(default)]
    pub ui_uri: Option<String>,
    /// A banner shown on every page.
    #[serde(default)]
    pub banner: Option<String>,
    /// Where the interface reads its system messages.
    #[serde(default)]
    pub messages_url: Option<String>,
    /// Whether collections can be published.
    #[serde(default)]
    pub publish: bool,
    /// The logo's URL.
    #[serde(default)]
    pub logo: Option<String>,
    /// The favicon's URL.
    #[serde(default)]
    pub favicon: Option<String>,
    /// The language of this answer's labels (from `Accept-Language`).
    #[serde(default)]
    pub locale: Option<String>,
    /// The interface's languages, code to name.
    #[serde(default)]
    pub locales: BTreeMap<String, String>,
}

/// The sign-in part of [`Metadata`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthInfo {
    /// Whether OAuth sign-in is enabled.
    #[serde(default)]
    pub oauth: bool,
    /// Whether anonymous callers see nothing.
    #[serde(default)]
    pub require_logged_in: bool,
    /// Where one signs in with a password, when allowed.
    #[serde(default)]
    pub password_login_uri: Option<String>,
    /// Where one registers, when allowed.
    #[serde(default)]
    pub registration_uri: Option<String>,
    /// Where OAuth sign-in starts, when enabled.
    #[serde(default)]
    pub oauth_uri: Option<String>,
}

/// The FollowTheMoney model (`followthemoney/model.py` `Model.to_dict`): followthemoney 3.5.9
/// on Aleph 4.1, 4.x on OpenAleph 5 (which adds [`version`](Model::version) and the
/// `maxLength`, `format` and `examples` of properties and types). A type name the client does
/// not know (a future followthemoney's) is kept as it is; [`Model::check`] treats its values as
/// strings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Model {
    /// The FollowTheMoney release of the model (only FollowTheMoney 4 says, so only OpenAleph;
    /// `followthemoney/model.py` `Model.to_dict` 4.x).
    #[serde(default)]
    pub version: Option<String>,
    /// Every schema by name.
    #[serde(default)]
    pub schemata: BTreeMap<String, Schema>,
    /// Every property type by name (`name`, `country`, `entity`, `date`, ...).
    #[serde(default)]
    pub types: BTreeMap<String, PropertyType>,
}

impl Model {
    /// Every property of `schema`, inherited ones included (a schema's
    /// [`properties`](Schema::properties) holds only its own), or `None` for an unknown schema.
    pub fn properties(&self, schema: &str) -> Option<BTreeMap<&str, &SchemaProperty>> {
        let own = self.schemata.get(schema)?;
        let mut all = BTreeMap::new();
        // `schemata` lists the schema and all its ancestors (`Schema.to_dict`).
        let names = own.schemata.iter().map(String::as_str).chain([schema]);
        for name in names {
            if let Some(ancestor) = self.schemata.get(name) {
                for (key, property) in &ancestor.properties {
                    all.insert(key.as_str(), property);
                }
            }
        }
        Some(all)
    }
}

/// One schema of the model (`followthemoney/schema.py` `Schema.to_dict`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Schema {
    /// The label (`Person`).
    #[serde(default)]
    pub label: Option<String>,
    /// The plural label (`People`).
    #[serde(default)]
    pub plural: Option<String>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The schema and every schema it extends, sorted.
    #[serde(default)]
    pub schemata: Vec<String>,
    /// The schemata it extends directly.
    #[serde(default)]
    pub extends: Vec<String>,
    /// Whether entities cannot have this schema (`Thing`, `Interval`).
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
    /// Whether the interface hides it.
    #[serde(default)]
    pub hidden: bool,
    /// Whether only the server makes such entities (pages of a document).
    #[serde(default)]
    pub generated: bool,
    /// Whether its entities are cross-referenced and matched.
    #[serde(default)]
    pub matchable: bool,
    /// Whether it is deprecated.
    #[serde(default)]
    pub deprecated: bool,
    /// Properties the interface shows first.
    #[serde(default)]
    pub featured: Vec<String>,
    /// Properties an entity must have.
    #[serde(default)]
    pub required: Vec<String>,
    /// Properties that make its caption, in order.
    #[serde(default)]
    pub caption: Vec<String>,
    /// For an edge schema (an ownership), the properties at its two ends.
    #[serde(default)]
    pub edge: Option<SchemaEdge>,
    /// For an interval, the properties of its start and end (`temporalExtent`).
    #[serde(default, rename = "temporalExtent")]
    pub temporal_extent: Option<BTreeMap<String, Vec<String>>>,
    /// The properties defined on this schema itself (not the inherited ones; see
    /// [`Model::properties`]).
    #[serde(default)]
    pub properties: BTreeMap<String, SchemaProperty>,
}

/// The two ends of an edge schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchemaEdge {
    /// The property of the source (`owner`).
    #[serde(default)]
    pub source: Option<String>,
    /// The property of the target (`asset`).
    #[serde(default)]
    pub target: Option<String>,
    /// The edge's label.
    #[serde(default)]
    pub label: Option<String>,
    /// Whether the edge has a direction.
    #[serde(default)]
    pub directed: bool,
    /// Properties that make the edge's caption.
    #[serde(default)]
    pub caption: Vec<String>,
}

/// One property of a schema (`followthemoney/property.py` `Property.to_dict`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchemaProperty {
    /// The name (`owner`).
    #[serde(default)]
    pub name: String,
    /// The qualified name (`Ownership:owner`).
    #[serde(default)]
    pub qname: Option<String>,
    /// The label.
    #[serde(default)]
    pub label: Option<String>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The type's name (`name`, `date`, `entity`, ...; see [`Model::types`]).
    #[serde(default, rename = "type")]
    pub type_name: String,
    /// For an entity-typed property, the schema it points at.
    #[serde(default)]
    pub range: Option<String>,
    /// For an entity-typed property, the property on the other side.
    #[serde(default)]
    pub reverse: Option<String>,
    /// Whether it is the reverse side of a reference (not written, computed).
    #[serde(default)]
    pub stub: bool,
    /// Whether it is used for matching.
    #[serde(default)]
    pub matchable: bool,
    /// Whether the interface hides it.
    #[serde(default)]
    pub hidden: bool,
    /// Whether it is deprecated.
    #[serde(default)]
    pub deprecated: bool,
    /// The longest value, in characters, that stores downstream are sized for (followthemoney
    /// 4 only, `maxLength`: the type's unless the property sets its own, `property.py`
    /// `Property.__init__`). followthemoney 4.10's validation measures values against the
    /// *type's* [`max_length`](PropertyType::max_length), not this one (`property.py`
    /// `Property.validate` calls `PropertyType.validate`); see [`Model::check`].
    #[serde(
        default,
        rename = "maxLength",
        deserialize_with = "de_length",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_length: Option<u64>,
    /// The format of an identifier (followthemoney 4 only: `iban`, `bic`, `lei`, `isin`, ...;
    /// `property.py`), which the server's cleaning applies when it stores a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Example values (followthemoney 4 only).
    #[serde(
        default,
        deserialize_with = "de_examples",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub examples: Vec<String>,
}

/// One property type of the model (`followthemoney/types/common.py` `PropertyType.to_dict`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PropertyType {
    /// The label.
    #[serde(default)]
    pub label: Option<String>,
    /// The plural label.
    #[serde(default)]
    pub plural: Option<String>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The group its values are searched under (`names`, `emails`, ...).
    #[serde(default)]
    pub group: Option<String>,
    /// Whether values of this type are used for matching.
    #[serde(default)]
    pub matchable: bool,
    /// Whether values of this type link entities (tags).
    #[serde(default)]
    pub pivot: bool,
    /// For an enumeration (`country`, `language`, `gender`, `topic`), the codes and labels.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// The longest value, in characters, that followthemoney 4's validation accepts
    /// (`maxLength`, `types/common.py` `PropertyType.validate`; 1024 for `string`, 64 for
    /// `identifier`, ...). Absent from followthemoney 3 models.
    #[serde(
        default,
        rename = "maxLength",
        deserialize_with = "de_length",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_length: Option<u64>,
}

/// A `maxLength` as sent: a whole number, or nothing for anything else (a model whose lengths
/// a future followthemoney writes otherwise is still read, its lengths are just not checked).
fn de_length<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.as_ref().and_then(serde_json::Value::as_u64))
}

/// `examples` as sent: strings kept, numbers as their text (followthemoney writes `str(e)`),
/// anything else left out.
fn de_examples<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    let Some(serde_json::Value::Array(items)) = value else {
        return Ok(Vec::new());
    };
    Ok(items
        .into_iter()
        .filter_map(|item| match item {
            serde_json::Value::String(text) => Some(text),
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
        .collect())
}

/// What `GET /status` answers: the collections with work going on (`{"total", "results"}`,
/// not paged). Needs a recognised API key. OpenAleph's counters (`todo`, `doing`, ...) are read
/// by [`TaskCounts`] too.
pub type ServerStatus = Unpaged<ActiveCollection>;

/// The processing status of one collection in [`ServerStatus`]
/// (servicelayer `Dataset.get_status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActiveCollection {
    /// The tasks of every stage.
    #[serde(flatten)]
    pub tasks: TaskCounts,
    /// When the work started.
    #[serde(default, with = "crate::time::utc_option")]
    pub start_time: Option<DateTime<Utc>>,
    /// When a task last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub last_update: Option<DateTime<Utc>>,
    /// The stages (ingest, analyze, index, xref, ...).
    #[serde(default)]
    pub stages: Vec<StageStatus>,
    /// The collection (absent for work without one, shown to admins).
    #[serde(default)]
    pub collection: Option<Box<Collection>>,
}
