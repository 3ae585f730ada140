//! Roles and groups: finding a colleague to share with, the caller's groups, the caller's own
//! profile, and its API key (`aleph/views/roles_api.py`, `aleph/views/groups_api.py`).

use std::fmt;

use serde::{Deserialize, Deserializer};

use super::{Feature, Known, Listing, ResultSet, Role};
use crate::Secret;
use crate::error::{Error, Result};
use crate::paginate::Refusal;
use crate::transport::Transport;

/// The shortest prefix `GET /roles/_suggest` searches for on Aleph 4.1 (shorter ones answer an
/// empty page with `"status": "error"`, `aleph/views/roles_api.py` `suggest`).
pub const SUGGEST_MIN_PREFIX: usize = 6;

/// Roles and groups: `client.roles()`.
#[derive(Debug, Clone)]
pub struct Roles {
    transport: Transport,
    known: Known,
}

impl Roles {
    pub(crate) fn new(transport: Transport, known: Known) -> Self {
        Roles { transport, known }
    }

    /// `GET /roles/_suggest?prefix=`: finds a colleague's role to share a collection with.
    ///
    /// On Aleph 4.1.6 this is the user whose e-mail address **is** `prefix` (compared without
    /// case; no search by name or part of an address), and `prefix` must have at least
    /// [`SUGGEST_MIN_PREFIX`] characters (checked before sending); OpenAleph also finds a part
    /// of an e-mail address or name (`aleph/views/roles_api.py` `suggest`). The server pages by
    /// 10 whatever the page size. A colleague's role shows only its id, name and label.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// let page = aleph.roles().suggest("dana.reyes@example.org").first_page().await?;
    /// # Ok(()) }
    /// ```
    pub fn suggest(&self, prefix: impl Into<String>) -> SuggestRoles {
        let prefix: String = prefix.into();
        let mut list = Listing::new(self.transport.clone(), &["roles", "_suggest"], false);
        let chars = prefix.trim().chars().count();
        if chars < SUGGEST_MIN_PREFIX {
            list.refusal = Some(Refusal(
                "prefix",
                format!(
                    "Aleph suggests roles for a prefix of at least {SUGGEST_MIN_PREFIX} \
                     characters (a whole e-mail address), this one has {chars}"
                ),
            ));
        }
        list.set("prefix", prefix);
        SuggestRoles { list }
    }

    /// `GET /groups`: the groups the caller belongs to (an admin: every group), by name. Needs
    /// a recognised API key (an anonymous caller gets a 403), so it is also the cheapest way to
    /// check that a key still works.
    pub fn groups(&self) -> GetGroups {
        GetGroups::new(self.transport.get(&["groups"]))
    }

    /// `GET /roles/{id}`: a role the caller belongs to (its own, its groups; an admin: any).
    /// The caller's own role has its e-mail, settings, `api_key_expires_at` and counts; other
    /// users' roles are a 403 even when [`suggest`](Self::suggest) found them.
    pub fn get(&self, id: impl fmt::Display) -> GetRole {
        GetRole::new(self.transport.get(&["roles", &id.to_string()]))
    }

    /// `POST /roles/{id}`: changes the caller's own role (name, locale, notifications, password).
    pub fn update(&self, id: impl fmt::Display) -> UpdateRole {
        UpdateRole {
            transport: self.transport.clone(),
            id: id.to_string(),
            body: RoleUpdate::default(),
        }
    }

    /// `POST /roles/{id}/generate_api_key`: a new API key for the caller's own role, returned
    /// this once. The previous key stops working at once; the new one expires after 90 days
    /// ([`Role::api_key_expires_at`]), and an expired key is not refused but silently makes the
    /// caller anonymous (`aleph/logic/api_keys.py`, `aleph/model/role.py` `by_api_key`).
    ///
    /// Aleph only: OpenAleph has no such route (its keys never expire, and a user reads theirs
    /// as `api_key` in `GET /roles/{own id}`), so there the call fails with
    /// [`Error::Unsupported`](crate::Error::Unsupported) before it is sent.
    pub fn generate_api_key(&self, id: impl fmt::Display) -> GenerateApiKey {
        let id = id.to_string();
        let request = self.transport.post(&["roles", &id, "generate_api_key"]);
        GenerateApiKey::new(request.gated(Some(self.known.gate(Feature::GenerateApiKey))))
    }
}

/// The roles whose e-mail is the prefix; from [`Roles::suggest`].
#[derive(Debug)]
#[must_use = "a listing does nothing until it is sent or streamed"]
pub struct SuggestRoles {
    list: Listing,
}

impl SuggestRoles {
    /// Leaves out this role (`exclude:id`), e.g. the caller's own; repeatable.
    pub fn exclude(mut self, role_id: impl fmt::Display) -> Self {
        self.list.push("exclude:id".into(), role_id.to_string());
        self
    }

    list_methods!(Role);
}

operation! {
    /// Fetches the caller's groups (`{"total", "results"}`, not paged); from [`Roles::groups`].
    GetGroups => ResultSet<Role>
}

operation! {
    /// Fetches a role; from [`Roles::get`].
    GetRole => Role
}

operation! {
    /// Generates an API key; from [`Roles::generate_api_key`].
    GenerateApiKey => NewApiKey
}

/// The caller's role with its new API key, from [`Roles::generate_api_key`]. The key is shown
/// here only; Aleph keeps only its digest.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct NewApiKey {
    /// The role, with `has_api_key` and `api_key_expires_at`.
    #[serde(flatten)]
    pub role: Role,
    /// The new key (use it with `Client::builder().api_key(..)`).
    #[serde(deserialize_with = "de_secret")]
    pub api_key: Secret,
}

fn de_secret<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

/// The fields of `RoleUpdate` (`aleph/validation/schema/role.yml`).
#[derive(Default, serde::Serialize)]
struct RoleUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_muted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_tester: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_secret")]
    password: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_secret")]
    current_password: Option<Secret>,
}

fn ser_secret<S: serde::Serializer>(
    secret: &Option<Secret>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(secret.as_ref().map(Secret::expose).unwrap_or_default())
}

/// Changes the caller's own role; from [`Roles::update`]. Only what is set is sent.
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct UpdateRole {
    transport: Transport,
    id: String,
    body: RoleUpdate,
}

impl fmt::Debug for UpdateRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateRole")
            .field("id", &self.id)
            .field("name", &self.body.name)
            .field("locale", &self.body.locale)
            .field("password", &self.body.password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl UpdateRole {
    /// The display name (at least 4 characters, checked before sending).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.body.name = Some(name.into());
        self
    }

    /// The interface language, one of the server's (`en`, `de`, `fr`, ...; the server refuses
    /// another with "Invalid user locale.").
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.body.locale = Some(locale.into());
        self
    }

    /// Stops (or restarts) the notification e-mails.
    pub fn muted(mut self, muted: bool) -> Self {
        self.body.is_muted = Some(muted);
        self
    }

    /// Opts in to (or out of) features under test.
    pub fn tester(mut self, tester: bool) -> Self {
        self.body.is_tester = Some(tester);
        self
    }

    /// A new password (at least 6 characters, checked before sending), with the current one,
    /// which the server checks ("Incorrect password.").
    pub fn password(mut self, new: impl Into<Secret>, current: impl Into<Secret>) -> Self {
        self.body.password = Some(new.into());
        self.body.current_password = Some(current.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Role> {
        if let Some(name) = &self.body.name {
            let chars = name.chars().count();
            if chars < 4 {
                return Err(Error::invalid(
                    "name",
                    format!("a role's name has at least 4 characters, this one has {chars}"),
                ));
            }
        }
        if let Some(password) = &self.body.password
            && password.expose().chars().count() < 6
        {
            return Err(Error::invalid(
                "password",
                "a password has at least 6 characters",
            ));
        }
        self.transport
            .post(&["roles", &self.id])
            .json(&self.body)
            .send()
            .await
    }
}

send_on_await!(UpdateRole => Role);

/// What a role owns, in `GET /roles/{id}` of the caller's own role
/// (`aleph/logic/roles.py` `get_deep_role`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleCounts {
    /// Alerts.
    #[serde(default)]
    pub alerts: u64,
    /// Entity sets per type (`list`, `diagram`, `timeline`, `profile`).
    #[serde(default)]
    pub entitysets: std::collections::BTreeMap<String, u64>,
    /// Personal datasets (casefiles).
    #[serde(default)]
    pub casefiles: u64,
    /// Exports.
    #[serde(default)]
    pub exports: u64,
}
