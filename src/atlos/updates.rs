//! Updates: the history of an incident (attribute changes, new source material, comments).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
    /// The new value of the attribute (any JSON). The server's `old_value` is unreliable (it
    /// may be missing or carry the new value), so only this one is modelled.
    #[serde(default)]
    pub new_value: Option<Value>,
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
    pub fn slug(mut self, slug: impl Into<String>) -> Self {
        self.query.slug = Some(slug.into());
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

    listing_methods!(Update, bounds);
}
