//! Updates: the history of an incident (attribute changes, new source material, comments).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use uuid::Uuid;

use super::{Refusal, check_slug, cursor_listing, nullable};
use crate::paginate::{Bounds, Paginator};
use crate::transport::Transport;

string_enum! {
    /// What an update records.
    pub enum UpdateType {
        /// An attribute changed (see [`Update::modified_attribute`]).
        UpdateAttribute = "update_attribute",
        /// The incident was created.
        Create = "create",
        /// Source material was added.
        UploadVersion = "upload_version",
        /// A comment (the text is in [`Update::explanation`]).
        Comment = "comment",
        /// The incident was deleted.
        Delete = "delete",
        /// The incident was restored.
        Undelete = "undelete",
        /// The incident was added to a project.
        AddProject = "add_project",
        /// The incident moved to another project.
        ChangeProject = "change_project",
        /// The incident was removed from a project.
        RemoveProject = "remove_project",
    }
}

/// An Atlos user, as shown on updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user's UUID.
    pub id: Uuid,
    /// The user name.
    #[serde(default, deserialize_with = "nullable")]
    pub username: String,
    /// The user's bio.
    #[serde(default)]
    pub bio: Option<String>,
    /// A short label shown next to the name.
    #[serde(default)]
    pub flair: Option<String>,
}

/// One entry in the history of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Update {
    /// The update's UUID.
    pub id: Uuid,
    /// What it records.
    #[serde(rename = "type")]
    pub kind: UpdateType,
    /// The incident it belongs to (the server's `media_id`).
    #[serde(rename = "media_id", default)]
    pub incident_id: Option<Uuid>,
    /// The source material it concerns (the server's `media_version_id`).
    #[serde(rename = "media_version_id", default)]
    pub source_material_id: Option<Uuid>,
    /// The user who made it; `None` when an API token made it.
    #[serde(default)]
    pub user: Option<User>,
    /// The user's UUID.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// The API token that made it.
    #[serde(default)]
    pub api_token_id: Option<Uuid>,
    /// The attribute changed: a core name or a custom attribute's UUID.
    #[serde(default)]
    pub modified_attribute: Option<String>,
    /// A value of the changed attribute that the server recorded, **before or after** the
    /// change: the server cannot say which (see [`RecordedValue`]). `None` for updates that
    /// change no attribute (comments, creation, ...).
    #[serde(rename = "new_value", default)]
    pub value: Option<RecordedValue>,
    /// The comment, or the explanation given with a change.
    #[serde(default)]
    pub explanation: Option<String>,
    /// Attached files (storage names).
    #[serde(default, deserialize_with = "nullable")]
    pub attachments: Vec<String>,
    /// Signed URLs of the attached files.
    #[serde(default, deserialize_with = "nullable")]
    pub attachment_urls: Vec<String>,
    /// When it was made.
    #[serde(with = "crate::time::utc")]
    pub inserted_at: DateTime<Utc>,
}

/// The value an attribute change carries on the wire (the server's `new_value` key), which is the
/// attribute's value either **before or after** the change.
///
/// The real server stores both the old and the new value, but its JSON encoder writes each of
/// them to the one key `new_value` (atlosdotorg/atlos, `platform/lib/platform/updates/update.ex`,
/// the `Jason.Encoder` implementation), so the answer has no `old_value` and which of the two
/// survives depends on map iteration order, undefined since OTP 26. casefile therefore never
/// calls it the new value: read the incident for the attribute's current value.
///
/// ```
/// use casefile::atlos::RecordedValue;
/// use serde_json::json;
///
/// let value: RecordedValue =
///     serde_json::from_value(json!({"_combined": true, "attr_status": "To Do"})).unwrap();
/// assert_eq!(value.get("attr_status"), Some(&json!("To Do")));
/// assert_eq!(serde_json::to_value(&value).unwrap()["_combined"], true);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Value", into = "Value")]
pub enum RecordedValue {
    /// `{"_combined": true, <key>: value, ...}`: the value of each changed attribute, keyed by
    /// its schema field (`attr_status`, `attr_tags`, ...) or, for a custom attribute, its UUID
    /// (the server's `updates.ex` marks such maps with `_combined`; the marker is not kept
    /// among the attributes here).
    Attributes(serde_json::Map<String, Value>),
    /// Anything else (older updates stored a bare value: a string, a list, ...).
    Other(Value),
}

impl RecordedValue {
    /// The value recorded for one attribute key (`attr_status`, or a custom attribute's UUID);
    /// for [`RecordedValue::Other`], always `None`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            RecordedValue::Attributes(values) => values.get(key),
            RecordedValue::Other(_) => None,
        }
    }
}

impl From<Value> for RecordedValue {
    fn from(value: Value) -> Self {
        match value {
            Value::Object(mut map) if map.get("_combined") == Some(&Value::Bool(true)) => {
                map.remove("_combined");
                RecordedValue::Attributes(map)
            }
            other => RecordedValue::Other(other),
        }
    }
}

impl From<RecordedValue> for Value {
    fn from(value: RecordedValue) -> Self {
        match value {
            RecordedValue::Attributes(mut map) => {
                map.insert("_combined".into(), Value::Bool(true));
                Value::Object(map)
            }
            RecordedValue::Other(other) => other,
        }
    }
}

/// The update operations, from [`Client::updates`](super::Client::updates).
#[derive(Clone, Debug)]
pub struct Updates {
    transport: Transport,
}

impl Updates {
    pub(super) fn new(transport: Transport) -> Self {
        Updates { transport }
    }

    /// `GET updates`: all updates and comments of the project, newest first; with
    /// [`slug`](ListUpdates::slug), those of one incident.
    pub fn list(&self) -> ListUpdates {
        ListUpdates {
            transport: self.transport.clone(),
            query: UpdateQuery { slug: None },
            bounds: Bounds::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct UpdateQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    slug: Option<String>,
}

/// A listing of updates; from [`Updates::list`].
#[derive(Debug, Clone)]
#[must_use = "a listing does nothing until it is streamed"]
pub struct ListUpdates {
    transport: Transport,
    query: UpdateQuery,
    bounds: Bounds,
}

impl ListUpdates {
    /// Only the updates of this incident (`AD12H4` or `CIV-AD12H4`).
    pub fn slug(mut self, slug: impl fmt::Display) -> Self {
        self.query.slug = Some(slug.to_string());
        self
    }

    fn paginator(self) -> Paginator<Update> {
        let refusal = self
            .query
            .slug
            .as_deref()
            .and_then(|slug| check_slug(slug).err())
            .map(Refusal::from_error);
        cursor_listing(
            self.transport,
            &["updates"],
            self.query,
            refusal,
            self.bounds,
        )
    }

    /// The updates made since `since`, newest first (of one incident with
    /// [`slug`](Self::slug)): see [`ReadChanges`](super::ReadChanges).
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client, since: casefile::atlos::Checkpoint) -> casefile::Result<()> {
    /// use futures::TryStreamExt;
    ///
    /// let mut changes = atlos.updates().list().changes(&since).stream();
    /// while let Some(update) = changes.try_next().await? {
    ///     println!("{} {}", update.inserted_at, update.kind);
    /// }
    /// let next = changes.checkpoint(); // `None` if the read did not complete
    /// # Ok(()) }
    /// ```
    pub fn changes(mut self, since: &super::Checkpoint) -> super::ReadChanges<Update> {
        self.bounds = Bounds::default();
        let listing = match &self.query.slug {
            Some(slug) => format!("updates?slug={slug}"),
            None => "updates".to_owned(),
        };
        super::ReadChanges::new(self.paginator(), listing, since, |update| {
            (update.inserted_at, update.id)
        })
    }

    listing_methods!(Update, bounds);
}
