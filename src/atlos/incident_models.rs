//! The incident models: what the server answers about incidents (incidents, projects, their
//! attributes and locations) and the attribute values sent back; the operations are in
//! `incidents.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use super::nullable;
use super::source_material::SourceMaterial;
#[cfg(doc)]
use super::{CreateIncident, Incidents};
use crate::error::{Error, Result};

string_enum! {
    /// The status of an incident (the core `status` attribute).
    pub enum IncidentStatus {
        /// Not actively being worked on.
        ToDo = "To Do",
        /// Actively being worked on.
        InProgress = "In Progress",
        /// Stuck, or a second opinion is needed.
        HelpNeeded = "Help Needed",
        /// Ready for a moderator's verification.
        ReadyForReview = "Ready for Review",
        /// Investigation complete (only managers and owners may set it).
        Completed = "Completed",
        /// Will not be completed (only managers and owners may set it).
        Cancelled = "Cancelled",
    }
}

string_enum! {
    /// A sensitivity flag of an incident (the core `sensitive` attribute).
    pub enum Sensitivity {
        /// Nothing sensitive; cannot be combined with the other flags.
        NotSensitive = "Not Sensitive",
        /// Could identify individuals or their location.
        PersonalInformationVisible = "Personal Information Visible",
        /// Violence or other graphic imagery.
        GraphicViolence = "Graphic Violence",
        /// Deleted from its original location.
        DeletedBySource = "Deleted by Source",
        /// A hoax, misinformation, or otherwise deceptive.
        DeceptiveOrMisleading = "Deceptive or Misleading",
    }
}

string_enum! {
    /// An access restriction of an incident (the core `restrictions` attribute).
    pub enum Restriction {
        /// Only managers and owners may edit it.
        Frozen = "Frozen",
        /// Only managers and owners may see it.
        Hidden = "Hidden",
    }
}

string_enum! {
    /// The type of a project's custom attribute.
    pub enum AttributeType {
        /// One of the options.
        Select = "select",
        /// Any number of the options.
        MultiSelect = "multi_select",
        /// Free text.
        Text = "text",
        /// A date, `YYYY-MM-DD`.
        Date = "date",
    }
}

/// A point on the map, read from the server's GeoJSON `Point` (`coordinates: [lon, lat]`).
///
/// Serialized back as the same GeoJSON point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    /// Degrees north, -90 to 90.
    pub latitude: f64,
    /// Degrees east, -180 to 180.
    pub longitude: f64,
}

impl Location {
    /// A location, checked to be on the globe.
    pub fn new(latitude: f64, longitude: f64) -> Result<Location> {
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(Error::invalid(
                "latitude",
                format!("{latitude} is not between -90 and 90"),
            ));
        }
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(Error::invalid(
                "longitude",
                format!("{longitude} is not between -180 and 180"),
            ));
        }
        Ok(Location {
            latitude,
            longitude,
        })
    }

    /// The `lat,lon` form the server reads in search filters and new incidents.
    pub(super) fn to_param(self) -> String {
        format!("{},{}", self.latitude, self.longitude)
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serde_json::json!({"type": "Point", "coordinates": [self.longitude, self.latitude]})
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Point {
            #[serde(rename = "type", default)]
            kind: Option<String>,
            coordinates: Vec<f64>,
        }
        let point = Point::deserialize(d)?;
        if point.kind.as_deref().is_some_and(|k| k != "Point") {
            return Err(serde::de::Error::custom("expected a GeoJSON Point"));
        }
        match point.coordinates[..] {
            [longitude, latitude, ..] => Ok(Location {
                latitude,
                longitude,
            }),
            _ => Err(serde::de::Error::custom(
                "a GeoJSON Point needs [longitude, latitude]",
            )),
        }
    }
}

/// An incident: a documented event, with its attributes and its source material.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Incident {
    /// The incident's UUID.
    pub id: Uuid,
    /// The short identifier used in URLs and in every operation (`AD12H4`).
    pub slug: String,
    /// A short description.
    #[serde(rename = "attr_description", default, deserialize_with = "nullable")]
    pub description: String,
    /// The status.
    #[serde(rename = "attr_status", default)]
    pub status: Option<IncidentStatus>,
    /// Tags.
    #[serde(rename = "attr_tags", default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    /// Sensitivity flags.
    #[serde(rename = "attr_sensitive", default, deserialize_with = "nullable")]
    pub sensitive: Vec<Sensitivity>,
    /// Access restrictions.
    #[serde(rename = "attr_restrictions", default, deserialize_with = "nullable")]
    pub restrictions: Vec<Restriction>,
    /// Further information, e.g. what the source noted.
    #[serde(rename = "attr_more_info", default)]
    pub more_info: Option<String>,
    /// The day the incident took place.
    #[serde(rename = "attr_date", default)]
    pub date: Option<NaiveDate>,
    /// Where the incident took place.
    #[serde(rename = "attr_geolocation", default)]
    pub location: Option<Location>,
    /// How precise [`Incident::location`] is (`Exact`, `Vicinity`, `Locality`).
    #[serde(rename = "attr_geolocation_resolution", default)]
    pub location_precision: Option<String>,
    /// Whether the incident is deleted.
    #[serde(default, deserialize_with = "nullable")]
    pub deleted: bool,
    /// The project the incident belongs to.
    #[serde(default)]
    pub project: Option<Project>,
    /// The incident's source material.
    #[serde(default, deserialize_with = "nullable")]
    pub source_material: Vec<SourceMaterial>,
    /// The values of the project's custom attributes.
    #[serde(default, deserialize_with = "nullable")]
    pub project_attributes: Vec<CustomAttribute>,
    /// When the incident was created.
    #[serde(with = "crate::time::utc")]
    pub inserted_at: DateTime<Utc>,
    /// When the incident was last changed.
    #[serde(with = "crate::time::utc")]
    pub updated_at: DateTime<Utc>,
}

impl Incident {
    /// The value of a custom attribute, by its name or its UUID (`None` when unset or absent).
    pub fn custom_attribute(&self, name_or_id: &str) -> Option<&Value> {
        self.project_attributes
            .iter()
            .find(|a| a.name == name_or_id || a.id.to_string().eq_ignore_ascii_case(name_or_id))
            .map(|a| &a.value)
            .filter(|v| !v.is_null())
    }
}

/// The value of one of a project's custom attributes on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomAttribute {
    /// The attribute's UUID: the name to use in [`Incidents::update_attribute`] and
    /// [`CreateIncident::attribute`].
    pub id: Uuid,
    /// The attribute's label.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// The value: `null`, a string, or a list of strings, depending on the attribute's type.
    #[serde(default)]
    pub value: Value,
}

/// An Atlos project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Project {
    /// The project's UUID.
    pub id: Uuid,
    /// The project's name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// The short code that prefixes slugs in the interface (`CIV` in `CIV-AD12H4`).
    #[serde(default)]
    pub code: Option<String>,
    /// The project's description.
    #[serde(default)]
    pub description: Option<String>,
    /// The project's colour, `#rrggbb`.
    #[serde(default)]
    pub color: Option<String>,
    /// Whether the project is active.
    #[serde(default, deserialize_with = "nullable")]
    pub active: bool,
    /// The project's custom attributes.
    #[serde(default, deserialize_with = "nullable")]
    pub attributes: Vec<ProjectAttribute>,
}

/// The definition of a custom attribute of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProjectAttribute {
    /// The label.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// What the attribute is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The kind of value.
    #[serde(rename = "type", default)]
    pub kind: Option<AttributeType>,
    /// The options of a select or multi-select.
    #[serde(default, deserialize_with = "nullable")]
    pub options: Vec<String>,
}

/// The value of an attribute: text (text, single-select and date attributes) or a list of
/// strings (multi-select attributes).
///
/// ```
/// use casefile::atlos::{AttributeValue, IncidentStatus};
///
/// assert_eq!(AttributeValue::from("Low"), AttributeValue::Text("Low".into()));
/// assert_eq!(AttributeValue::from(IncidentStatus::ToDo), AttributeValue::Text("To Do".into()));
/// assert_eq!(
///     AttributeValue::from(["Airstrike", "Follow-up"]),
///     AttributeValue::List(vec!["Airstrike".into(), "Follow-up".into()]),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A string.
    Text(String),
    /// A list of strings.
    List(Vec<String>),
}

impl From<&str> for AttributeValue {
    fn from(s: &str) -> Self {
        AttributeValue::Text(s.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(s: String) -> Self {
        AttributeValue::Text(s)
    }
}

impl From<NaiveDate> for AttributeValue {
    fn from(d: NaiveDate) -> Self {
        AttributeValue::Text(d.format("%Y-%m-%d").to_string())
    }
}

impl From<IncidentStatus> for AttributeValue {
    fn from(s: IncidentStatus) -> Self {
        AttributeValue::Text(s.as_str().to_owned())
    }
}

impl<S: Into<String>> From<Vec<S>> for AttributeValue {
    fn from(list: Vec<S>) -> Self {
        AttributeValue::List(list.into_iter().map(Into::into).collect())
    }
}

impl<S: Into<String>, const N: usize> From<[S; N]> for AttributeValue {
    fn from(list: [S; N]) -> Self {
        AttributeValue::List(list.into_iter().map(Into::into).collect())
    }
}

impl From<Vec<Sensitivity>> for AttributeValue {
    fn from(list: Vec<Sensitivity>) -> Self {
        AttributeValue::List(list.iter().map(|s| s.as_str().to_owned()).collect())
    }
}
