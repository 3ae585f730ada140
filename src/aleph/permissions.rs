//! Permissions: which roles (users, groups, the public) may read or write a collection.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::{Role, de_opt_id};
use crate::error::Error;
use crate::transport::Transport;

/// One role's access to a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Permission {
    /// The permission's id (missing for groups listed without a permission yet).
    #[serde(default, deserialize_with = "de_opt_id")]
    pub id: Option<String>,
    /// May read.
    #[serde(default)]
    pub read: bool,
    /// May write.
    #[serde(default)]
    pub write: bool,
    /// The role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Whether the caller may see the role.
    #[serde(default)]
    pub writeable: bool,
    /// When it was granted.
    #[serde(default, with = "crate::time::utc_option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed.
    #[serde(default, with = "crate::time::utc_option")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A collection's permissions: `{"total": n, "results": [...]}` (not paged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PermissionsList {
    /// How many there are.
    #[serde(default)]
    pub total: u64,
    /// The permissions, including the caller's groups that have none yet.
    #[serde(default)]
    pub results: Vec<Permission>,
}

/// A change of one role's access. `write` implies `read`: [`PermissionUpdate::new`] and the
/// update operation both make sure a role that may write may also read.
///
/// ```
/// use casefile::aleph::PermissionUpdate;
///
/// let editors = PermissionUpdate::new("4", false, true);
/// assert!(editors.read && editors.write);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionUpdate {
    /// The role's id.
    pub role_id: String,
    /// May read.
    pub read: bool,
    /// May write (and therefore read).
    pub write: bool,
    /// The user's e-mail address: Aleph only grants a user who has no permission yet when it
    /// matches (so that nobody can be added by guessing an id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl PermissionUpdate {
    /// Access for `role_id`; `write` implies `read`.
    pub fn new(role_id: impl fmt::Display, read: bool, write: bool) -> Self {
        PermissionUpdate {
            role_id: role_id.to_string(),
            read: read || write,
            write,
            email: None,
        }
    }

    /// Sets the user's e-mail address (needed to add a user).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
}

/// Permissions: `client.permissions()`.
#[derive(Debug, Clone)]
pub struct Permissions {
    transport: Transport,
}

impl Permissions {
    pub(crate) fn new(transport: Transport) -> Self {
        Permissions { transport }
    }

    /// `GET /collections/{id}/permissions` (needs write access to the collection).
    pub fn get(&self, collection_id: impl fmt::Display) -> GetPermissions {
        GetPermissions::new(self.transport.get(&[
            "collections",
            &collection_id.to_string(),
            "permissions",
        ]))
    }

    /// `POST /collections/{id}/permissions` with a JSON array of changes; answers with all the
    /// permissions. Aleph silently drops changes it does not allow (unknown roles, users
    /// without a matching e-mail, write access for the public).
    pub fn update(
        &self,
        collection_id: impl fmt::Display,
        changes: impl IntoIterator<Item = PermissionUpdate>,
    ) -> UpdatePermissions {
        let changes: Vec<PermissionUpdate> = changes
            .into_iter()
            .map(|mut change| {
                change.read |= change.write;
                change
            })
            .collect();
        let check = match changes.iter().any(|c| c.role_id.trim().is_empty()) {
            true => Err(Error::invalid("role_id", "every change needs a role id")),
            false => Ok(()),
        };
        UpdatePermissions::new(
            self.transport
                .post(&["collections", &collection_id.to_string(), "permissions"])
                .json(&changes)
                .checked(check),
        )
    }
}

operation! {
    /// Fetches a collection's permissions; from [`Permissions::get`].
    GetPermissions => PermissionsList
}

operation! {
    /// Changes a collection's permissions; from [`Permissions::update`].
    UpdatePermissions => PermissionsList
}
