//! Notifications: what happened in the caller's collections, to its alerts and exports
//! (`aleph/views/notifications_api.py`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Alert, Collection, Entity, Listing, Role, de_id};
use crate::transport::Transport;

string_enum! {
    /// The kind of a notification (`aleph/model/event.py` `Events`).
    pub enum EventName {
        /// A collection was created (param `collection`).
        CreateCollection = "CREATE_COLLECTION",
        /// A document was uploaded (params `document`, `collection`).
        IngestDocument = "INGEST_DOCUMENT",
        /// A mapping generated entities (params `table`, `collection`).
        LoadMapping = "LOAD_MAPPING",
        /// A network diagram was started (params `diagram`, `collection`).
        CreateDiagram = "CREATE_DIAGRAM",
        /// A list, diagram or timeline was created (params `entityset`, `collection`).
        CreateEntityset = "CREATE_ENTITYSET",
        /// An entity matches one of the caller's alerts (params `entity`, `alert`, `role`).
        MatchAlert = "MATCH_ALERT",
        /// A role was given access to a collection (params `collection`, `role`).
        GrantCollection = "GRANT_COLLECTION",
        /// A collection was published (param `collection`).
        PublishCollection = "PUBLISH_COLLECTION",
        /// An export is ready (param `export`).
        CompleteExport = "COMPLETE_EXPORT",
    }
}

/// One notification (`aleph/views/serializers.py` `NotificationSerializer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notification {
    /// The notification's id.
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    /// The role whose action it reports.
    #[serde(default, deserialize_with = "super::de_opt_id")]
    pub actor_id: Option<String>,
    /// Where it was published: `global`, `Role:<id>`, `Collection:<id>`.
    #[serde(default)]
    pub channels: Vec<String>,
    /// When it happened.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// What happened.
    #[serde(default)]
    pub event: Option<NotificationEvent>,
    /// The objects the event names, resolved.
    #[serde(default)]
    pub params: NotificationParams,
}

/// The kind of a notification with its readable form (`aleph/model/event.py` `Event.to_dict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationEvent {
    /// The kind.
    #[serde(default)]
    pub name: Option<EventName>,
    /// A title for the kind, in the server's language (`Alert notifications`).
    #[serde(default)]
    pub title: Option<String>,
    /// A sentence with `{{param}}` placeholders (`{{entity}} matches your alert for
    /// {{alert}}`).
    #[serde(default)]
    pub template: Option<String>,
    /// The params of the kind and what each is (`entity`, `collection`, `alert`, `role`,
    /// `entityset`, `export`).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// The objects a notification names, each resolved by its serializer; a param the server could
/// not resolve (deleted, not readable) is absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationParams {
    /// The role that acted.
    #[serde(default)]
    pub actor: Option<Role>,
    /// The collection.
    #[serde(default)]
    pub collection: Option<Box<Collection>>,
    /// The entity (of an alert match).
    #[serde(default)]
    pub entity: Option<Box<Entity>>,
    /// The uploaded document.
    #[serde(default)]
    pub document: Option<Box<Entity>>,
    /// The table a mapping read.
    #[serde(default)]
    pub table: Option<Box<Entity>>,
    /// The alert that matched.
    #[serde(default)]
    pub alert: Option<Alert>,
    /// The role (given access, or whose alert matched).
    #[serde(default)]
    pub role: Option<Role>,
    /// Any other param (`entityset`, `diagram`, `export`), as the server sent it.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The caller's notifications, newest first; from
/// [`Client::notifications`](super::Client::notifications).
///
/// A search (`SearchQueryParser`): `filter` works on `event`, `actor_id`, `channels`,
/// `created_at` and `params.*`, `facet` on the same; the search text is ignored
/// (`aleph/search/__init__.py` `NotificationsQuery`). Needs a recognised API key.
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct ListNotifications {
    list: Listing,
}

impl ListNotifications {
    pub(crate) fn new(transport: Transport) -> Self {
        ListNotifications {
            list: Listing::new(transport, &["notifications"], true),
        }
    }

    /// Only notifications of this kind (`filter:event`), repeatable.
    pub fn event(self, name: EventName) -> Self {
        self.filter("event", name.as_str())
    }

    filter_methods!();

    list_methods!(Notification);
}
