//! Incidents: the four operations (list, create, comment, update an attribute); the models they
//! answer with are in `incident_models.rs`.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use super::incident_models::{
    AttributeValue, Incident, IncidentStatus, Location, Restriction, Sensitivity,
};
use super::{Refusal, check_slug, check_text, check_uuid, cursor_listing};
use crate::error::{Error, Result};
use crate::paginate::{Bounds, Paginator};
use crate::transport::Transport;

/// The order of an incident listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IncidentSort {
    /// Newest created first (the server's default).
    UploadedDesc,
    /// Oldest created first.
    UploadedAsc,
    /// Most recently changed first.
    ModifiedDesc,
    /// Least recently changed first.
    ModifiedAsc,
    /// By description, Z to A.
    DescriptionDesc,
    /// By description, A to Z.
    DescriptionAsc,
    /// By incident date, latest first.
    DateDesc,
    /// By incident date, earliest first.
    DateAsc,
}

impl IncidentSort {
    /// The value as the server spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            IncidentSort::UploadedDesc => "uploaded_desc",
            IncidentSort::UploadedAsc => "uploaded_asc",
            IncidentSort::ModifiedDesc => "modified_desc",
            IncidentSort::ModifiedAsc => "modified_asc",
            IncidentSort::DescriptionDesc => "description_desc",
            IncidentSort::DescriptionAsc => "description_asc",
            IncidentSort::DateDesc => "date_desc",
            IncidentSort::DateAsc => "date_asc",
        }
    }
}

impl fmt::Display for IncidentSort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The incident operations, from [`Client::incidents`](super::Client::incidents).
#[derive(Clone, Debug)]
pub struct Incidents {
    transport: Transport,
}

impl Incidents {
    pub(super) fn new(transport: Transport) -> Self {
        Incidents { transport }
    }

    /// `GET incidents`: every incident of the project, newest first, filtered by the builder's
    /// methods.
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client) -> casefile::Result<()> {
    /// use casefile::atlos::{IncidentSort, IncidentStatus};
    /// use futures::TryStreamExt;
    ///
    /// let recent: Vec<_> = atlos
    ///     .incidents()
    ///     .list()
    ///     .status(IncidentStatus::ToDo)
    ///     .status(IncidentStatus::HelpNeeded)
    ///     .date_min(chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
    ///     .near(50.45, 30.52)
    ///     .radius_km(25)
    ///     .sort(IncidentSort::DateDesc)
    ///     .stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListIncidents {
        ListIncidents {
            transport: self.transport.clone(),
            query: IncidentQuery::default(),
            refusal: None,
            bounds: Bounds::default(),
        }
    }

    /// `POST incidents/new`: creates an incident with a description (at least 8 characters on
    /// the server) and its sensitivity flags (at least one; [`Sensitivity::NotSensitive`] alone
    /// when none applies).
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client) -> casefile::Result<()> {
    /// use casefile::atlos::{IncidentStatus, Sensitivity};
    ///
    /// let incident = atlos
    ///     .incidents()
    ///     .create("Shelling near a school", [Sensitivity::NotSensitive])
    ///     .status(IncidentStatus::ToDo)
    ///     .location(50.45, 30.52)
    ///     .url("https://example.org/post/1")
    ///     .await?;
    /// println!("created {}", incident.slug);
    /// # Ok(()) }
    /// ```
    pub fn create<S: Into<Sensitivity>>(
        &self,
        description: impl Into<String>,
        sensitive: impl IntoIterator<Item = S>,
    ) -> CreateIncident {
        CreateIncident {
            transport: self.transport.clone(),
            body: NewIncident {
                description: description.into(),
                sensitive: sensitive.into_iter().map(Into::into).collect(),
                status: None,
                tags: None,
                more_info: None,
                date: None,
                restrictions: None,
                geolocation: None,
                urls: Vec::new(),
                custom: BTreeMap::new(),
            },
            refusal: None,
        }
    }

    /// `POST add_comment/:slug`: adds a comment (needs the `comment` permission).
    pub fn comment(&self, slug: impl fmt::Display, message: impl Into<String>) -> AddComment {
        AddComment {
            transport: self.transport.clone(),
            slug: slug.to_string(),
            message: message.into(),
        }
    }

    /// `POST update/:slug/:attribute`: sets one attribute (needs the `edit` permission).
    ///
    /// `attribute` is a core attribute's name (`status`, `description`, `tags`, `sensitive`,
    /// `more_info`, `date`, `restrictions`, ...) or a custom attribute's UUID (see
    /// [`Incident::project_attributes`]). The value is text for text, single-select and date
    /// attributes and a list of strings for multi-select ones; for core attributes the shape is
    /// checked before sending.
    ///
    /// `geolocation` is refused before sending ([`Error::InvalidInput`]): the real server
    /// answers success but keeps the stored point, as its changeset rebuilds the point from
    /// the stored one (atlosdotorg/atlos, `lib/platform/material/attribute.ex`
    /// `update_from_virtual_data`). Set the location with [`CreateIncident::location`].
    pub fn update_attribute(
        &self,
        slug: impl fmt::Display,
        attribute: impl Into<String>,
        value: impl Into<AttributeValue>,
    ) -> UpdateAttribute {
        UpdateAttribute {
            transport: self.transport.clone(),
            slug: slug.to_string(),
            attribute: attribute.into(),
            body: UpdateBody {
                value: value.into(),
                message: None,
            },
        }
    }
}

/// The incident search filters, as the server reads them from the query string.
#[derive(Debug, Clone, Default, Serialize)]
struct IncidentQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    #[serde(rename = "attr_status[]", skip_serializing_if = "Vec::is_empty")]
    status: Vec<IncidentStatus>,
    #[serde(rename = "attr_tags[]", skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(rename = "attr_sensitive[]", skip_serializing_if = "Vec::is_empty")]
    sensitive: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attr_date_min: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attr_date_max: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attr_geolocation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attr_geolocation_radius: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_media_versions: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    only_subscribed_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    only_assigned_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_been_edited_by_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sort: Option<IncidentSort>,
}

/// A listing of incidents; from [`Incidents::list`]. Every filter is optional; the list ones
/// (`status`, `tag`, `sensitivity`) can be called several times and match any of the values.
#[derive(Debug, Clone)]
#[must_use = "a listing does nothing until it is streamed"]
pub struct ListIncidents {
    transport: Transport,
    query: IncidentQuery,
    refusal: Option<Refusal>,
    bounds: Bounds,
}

impl ListIncidents {
    fn refuse(&mut self, error: Error) {
        if self.refusal.is_none() {
            self.refusal = Some(Refusal::from_error(error));
        }
    }

    /// Full-text search in the incidents' text (the server reads up to 256 characters).
    pub fn query(mut self, text: impl Into<String>) -> Self {
        self.query.query = Some(text.into());
        self
    }

    /// Only incidents with this status (repeatable: any of the statuses).
    pub fn status(mut self, status: impl Into<IncidentStatus>) -> Self {
        self.query.status.push(status.into());
        self
    }

    /// Only incidents with one of these statuses.
    pub fn statuses<S: Into<IncidentStatus>>(
        mut self,
        statuses: impl IntoIterator<Item = S>,
    ) -> Self {
        self.query
            .status
            .extend(statuses.into_iter().map(Into::into));
        self
    }

    /// Only incidents with this tag (repeatable: any of the tags). `"[Unset]"` matches incidents
    /// without tags.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.query.tags.push(tag.into());
        self
    }

    /// Only incidents with one of these tags.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.query.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Only incidents with this sensitivity flag (repeatable: any of the flags).
    pub fn sensitivity(mut self, flag: impl Into<Sensitivity>) -> Self {
        self.query.sensitive.push(flag.into().as_str().to_owned());
        self
    }

    /// Only incidents without any sensitivity flag set (the server's `[Unset]`).
    pub fn sensitivity_unset(mut self) -> Self {
        self.query.sensitive.push("[Unset]".to_owned());
        self
    }

    /// Only incidents that took place on or after this day.
    pub fn date_min(mut self, day: NaiveDate) -> Self {
        self.query.attr_date_min = Some(day);
        self.check_dates()
    }

    /// Only incidents that took place on or before this day.
    pub fn date_max(mut self, day: NaiveDate) -> Self {
        self.query.attr_date_max = Some(day);
        self.check_dates()
    }

    fn check_dates(mut self) -> Self {
        if let (Some(min), Some(max)) = (self.query.attr_date_min, self.query.attr_date_max)
            && min > max
        {
            self.refuse(Error::invalid(
                "date range",
                format!("{min} is after {max}"),
            ));
        }
        self
    }

    /// Only incidents located near this point (within 10 km unless [`radius_km`] says otherwise).
    ///
    /// [`radius_km`]: ListIncidents::radius_km
    pub fn near(mut self, latitude: f64, longitude: f64) -> Self {
        match Location::new(latitude, longitude) {
            Ok(location) => self.query.attr_geolocation = Some(location.to_param()),
            Err(e) => self.refuse(e),
        }
        self
    }

    /// The radius of [`near`](ListIncidents::near), in kilometres (the server's default is 10).
    pub fn radius_km(mut self, km: u32) -> Self {
        self.query.attr_geolocation_radius = Some(km);
        self
    }

    /// `true`: only incidents without complete, visible source material; `false`: only
    /// incidents with visible source material.
    pub fn no_source_material(mut self, yes: bool) -> Self {
        self.query.no_media_versions = Some(yes);
        self
    }

    /// Only incidents this user (UUID) is subscribed to.
    pub fn subscribed_by(mut self, user_id: impl fmt::Display) -> Self {
        match check_uuid("user id", user_id) {
            Ok(id) => self.query.only_subscribed_id = Some(id),
            Err(e) => self.refuse(e),
        }
        self
    }

    /// Only incidents assigned to this user (UUID).
    pub fn assigned_to(mut self, user_id: impl fmt::Display) -> Self {
        match check_uuid("user id", user_id) {
            Ok(id) => self.query.only_assigned_id = Some(id),
            Err(e) => self.refuse(e),
        }
        self
    }

    /// Only incidents this user (UUID) has changed.
    pub fn edited_by(mut self, user_id: impl fmt::Display) -> Self {
        match check_uuid("user id", user_id) {
            Ok(id) => self.query.has_been_edited_by_id = Some(id),
            Err(e) => self.refuse(e),
        }
        self
    }

    /// `true`: only deleted incidents (by default only incidents that are not deleted).
    pub fn deleted(mut self, yes: bool) -> Self {
        self.query.deleted = Some(yes);
        self
    }

    /// The order (default: newest created first).
    pub fn sort(mut self, sort: IncidentSort) -> Self {
        self.query.sort = Some(sort);
        self
    }

    fn paginator(self) -> Paginator<Incident> {
        let mut refusal = self.refusal;
        if refusal.is_none()
            && self.query.attr_geolocation_radius.is_some()
            && self.query.attr_geolocation.is_none()
        {
            refusal = Some(Refusal(
                "radius_km",
                "needs a point: call near() too".into(),
            ));
        }
        cursor_listing(
            self.transport,
            &["incidents"],
            self.query,
            refusal,
            self.bounds,
        )
    }

    /// The incidents created or changed since `since`, read newest change first with
    /// `sort=modified_desc` (any [`sort`](Self::sort) set is replaced) and with this listing's
    /// filters: see [`ReadChanges`](super::ReadChanges). An incident that changed so as to leave the filters is not
    /// among them; comments do not change an incident (read [`Updates`](super::Updates) for
    /// those).
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client, since: casefile::atlos::Checkpoint) -> casefile::Result<()> {
    /// use futures::TryStreamExt;
    ///
    /// let mut changed = atlos.incidents().list().changes(&since).stream();
    /// while let Some(incident) = changed.try_next().await? {
    ///     println!("{} changed at {}", incident.slug, incident.updated_at);
    /// }
    /// let next = changed.checkpoint(); // store it for the next run
    /// # Ok(()) }
    /// ```
    pub fn changes(mut self, since: &super::Checkpoint) -> super::ReadChanges<Incident> {
        self.query.sort = Some(IncidentSort::ModifiedDesc);
        self.bounds = Bounds::default();
        // The filters may hold a search term, which stays out of the checkpoint (it is stored,
        // shown by `Debug` and named in errors): only a digest of them identifies the listing.
        let filters = serde_html_form::to_string(&self.query).unwrap_or_default();
        let listing = if filters == "sort=modified_desc" {
            "incidents".to_owned()
        } else {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(filters.as_bytes());
            let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("incidents#{short}")
        };
        super::ReadChanges::new(self.paginator(), listing, since, |incident| {
            (incident.updated_at, incident.id)
        })
    }

    listing_methods!(Incident, bounds);
}

/// The body of `incidents/new`: keys are attribute names (custom attributes by UUID).
#[derive(Debug, Clone, Serialize)]
struct NewIncident {
    description: String,
    sensitive: Vec<Sensitivity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<IncidentStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    more_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restrictions: Option<Vec<Restriction>>,
    /// `"lat,lon"`: the server parses it as it parses the location form field.
    #[serde(skip_serializing_if = "Option::is_none")]
    geolocation: Option<String>,
    /// A JSON list; the server archives each URL as new source material.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    urls: Vec<String>,
    #[serde(flatten)]
    custom: BTreeMap<String, AttributeValue>,
}

/// Creates an incident; from [`Incidents::create`]. `.await` sends it.
#[derive(Debug, Clone)]
#[must_use = "an operation does nothing until it is awaited"]
pub struct CreateIncident {
    transport: Transport,
    body: NewIncident,
    refusal: Option<Refusal>,
}

impl CreateIncident {
    fn refuse(&mut self, error: Error) {
        if self.refusal.is_none() {
            self.refusal = Some(Refusal::from_error(error));
        }
    }

    /// The status (the server's default is "To Do", see [`send`](Self::send)).
    pub fn status(mut self, status: impl Into<IncidentStatus>) -> Self {
        self.body.status = Some(status.into());
        self
    }

    /// Tags (needs a token with the `edit` permission).
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.body.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Further information.
    pub fn more_info(mut self, text: impl Into<String>) -> Self {
        self.body.more_info = Some(text.into());
        self
    }

    /// The day the incident took place.
    pub fn date(mut self, day: NaiveDate) -> Self {
        self.body.date = Some(day);
        self
    }

    /// Access restrictions.
    pub fn restrictions<R: Into<Restriction>>(
        mut self,
        restrictions: impl IntoIterator<Item = R>,
    ) -> Self {
        self.body.restrictions = Some(restrictions.into_iter().map(Into::into).collect());
        self
    }

    /// Where the incident took place.
    pub fn location(mut self, latitude: f64, longitude: f64) -> Self {
        match Location::new(latitude, longitude) {
            Ok(location) => self.body.geolocation = Some(location.to_param()),
            Err(e) => self.refuse(e),
        }
        self
    }

    /// Sets a custom attribute, by its UUID (see [`Incident::project_attributes`]).
    pub fn attribute(mut self, id: impl fmt::Display, value: impl Into<AttributeValue>) -> Self {
        match check_uuid("attribute", id) {
            Ok(id) => {
                self.body.custom.insert(id, value.into());
            }
            Err(e) => self.refuse(e),
        }
        self
    }

    /// A URL of source material for Atlos to archive (repeatable).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        match check_archive_url(&url) {
            Ok(()) => self.body.urls.push(url),
            Err(e) => self.refuse(e),
        }
        self
    }

    /// URLs of source material for Atlos to archive.
    pub fn urls<S: Into<String>>(self, urls: impl IntoIterator<Item = S>) -> Self {
        urls.into_iter().fold(self, |this, url| this.url(url))
    }

    /// Sends the request and returns the new incident, as the server stores it.
    ///
    /// Without [`status`](Self::status), the server's answer carries `attr_status: null` while
    /// the database fills in its column default, "To Do" (atlosdotorg/atlos:
    /// `priv/repo/migrations/20231027152750_change_status_default.exs`; the Ecto schema in
    /// `lib/platform/material/media.ex` has no default, so the inserted struct it answers with
    /// keeps `nil`). The returned incident carries that stored status,
    /// [`IncidentStatus::ToDo`], rather than the answer's `None`; no second request is made.
    pub async fn send(self) -> Result<Incident> {
        if let Some(refusal) = &self.refusal {
            return Err(refusal.error());
        }
        check_text("description", &self.body.description)?;
        check_sensitivity(&self.body.sensitive)?;
        let request = self.transport.post(&["incidents", "new"]).json(&self.body);
        let mut incident: Incident = request.send().await?;
        if incident.status.is_none() {
            incident.status = Some(self.body.status.unwrap_or(IncidentStatus::ToDo));
        }
        Ok(incident)
    }
}

/// The server's rule: at least one flag, and "Not Sensitive" only alone.
fn check_sensitivity(flags: &[Sensitivity]) -> Result<()> {
    if flags.is_empty() {
        return Err(Error::invalid(
            "sensitive",
            "at least one flag is required (Sensitivity::NotSensitive when none applies)",
        ));
    }
    if flags.len() > 1 && flags.contains(&Sensitivity::NotSensitive) {
        return Err(Error::invalid(
            "sensitive",
            "\"Not Sensitive\" cannot be combined with other flags",
        ));
    }
    Ok(())
}

/// The server's rule for URLs to archive: a scheme and a host with a dot.
pub(super) fn check_archive_url(url: &str) -> Result<()> {
    let ok = url::Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| h.contains('.'))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "url",
            format!(
                "`{}` is not an http(s) URL with a host name",
                crate::error::redact_url_text(url)
            ),
        ))
    }
}

/// Adds a comment; from [`Incidents::comment`]. `.await` sends it.
#[derive(Debug, Clone)]
#[must_use = "an operation does nothing until it is awaited"]
pub struct AddComment {
    transport: Transport,
    slug: String,
    message: String,
}

impl AddComment {
    /// Sends the request.
    pub async fn send(self) -> Result<()> {
        check_slug(&self.slug)?;
        check_text("message", &self.message)?;
        let segments = ["add_comment", self.slug.as_str()];
        #[derive(Serialize)]
        struct Body<'a> {
            message: &'a str,
        }
        let request = self.transport.post(&segments).json(&Body {
            message: &self.message,
        });
        request.send_empty().await
    }
}

#[derive(Debug, Clone, Serialize)]
struct UpdateBody {
    value: AttributeValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// Sets one attribute of an incident; from [`Incidents::update_attribute`]. `.await` sends it.
#[derive(Debug, Clone)]
#[must_use = "an operation does nothing until it is awaited"]
pub struct UpdateAttribute {
    transport: Transport,
    slug: String,
    attribute: String,
    body: UpdateBody,
}

/// The core attributes the API can set, and whether each takes a list.
const CORE_ATTRIBUTES: &[(&str, bool)] = &[
    ("status", false),
    ("description", false),
    ("date", false),
    ("time", false),
    ("more_info", false),
    ("geolocation_resolution", false),
    ("tags", true),
    ("sensitive", true),
    ("restrictions", true),
    ("assignments", true),
];

/// Core attributes the server has moved to custom attributes; setting them by name crashes it.
const DEPRECATED_ATTRIBUTES: &[&str] = &[
    "general_location",
    "type",
    "impact",
    "equipment",
    "time_of_day",
    "environment",
    "weather",
    "camera_system",
    "civilian_impact",
    "event",
    "casualty",
    "military_infrastructure",
    "weapon",
    "time_recorded",
];

/// Checks the attribute name and that the value has the shape the attribute takes. Returns the
/// name to put in the path.
fn check_attribute(name: &str, value: &AttributeValue) -> Result<String> {
    if let Ok(id) = check_uuid("attribute", name) {
        return Ok(id);
    }
    if name == "geolocation" {
        // `update` puts the value under `attr_geolocation`, but the attribute's changeset
        // rebuilds the point from the virtual `location` field, which it fills from the stored
        // point: the server answers success and keeps the old location (atlosdotorg/atlos,
        // `lib/platform/material.ex` `generate_attribute_change_params`,
        // `lib/platform/material/attribute.ex` `update_from_virtual_data`).
        return Err(Error::invalid(
            "attribute",
            "the server ignores `geolocation` set through this endpoint (it keeps the stored \
             point and still answers success); set the location when creating the incident \
             (CreateIncident::location) or in the Atlos web interface",
        ));
    }
    if DEPRECATED_ATTRIBUTES.contains(&name) {
        return Err(Error::invalid(
            "attribute",
            format!(
                "`{name}` is a retired core attribute; set the project's custom attribute by its \
                 UUID (Incident::project_attributes)"
            ),
        ));
    }
    let Some(&(_, takes_list)) = CORE_ATTRIBUTES.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = CORE_ATTRIBUTES.iter().map(|(n, _)| *n).collect();
        return Err(Error::invalid(
            "attribute",
            format!(
                "`{name}` is neither a core attribute ({}) nor a custom attribute's UUID",
                names.join(", ")
            ),
        ));
    };
    match (value, takes_list) {
        (AttributeValue::Text(_), true) => Err(Error::invalid(
            "value",
            format!("`{name}` takes a list of strings"),
        )),
        (AttributeValue::List(_), false) => Err(Error::invalid(
            "value",
            format!("`{name}` takes a single string"),
        )),
        (AttributeValue::Text(day), false)
            if name == "date"
                && !day.is_empty()
                && NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() =>
        {
            Err(Error::invalid(
                "value",
                format!("`{day}` is not a date (YYYY-MM-DD)"),
            ))
        }
        (AttributeValue::List(flags), true) if name == "sensitive" => check_sensitivity(
            &flags
                .iter()
                .map(|f| Sensitivity::from(f.as_str()))
                .collect::<Vec<_>>(),
        ),
        _ => Ok(()),
    }
    .map(|()| name.to_owned())
}

impl UpdateAttribute {
    /// A comment recorded with the change.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.body.message = Some(message.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<()> {
        check_slug(&self.slug)?;
        let attribute = check_attribute(&self.attribute, &self.body.value)?;
        if let Some(message) = &self.body.message {
            check_text("message", message)?;
        }
        let segments = ["update", self.slug.as_str(), attribute.as_str()];
        let request = self.transport.post(&segments).json(&self.body);
        request.send_empty().await
    }
}

send_on_await!(CreateIncident => Incident, AddComment => (), UpdateAttribute => ());
