//! [Atlos](https://atlos.org): collaborative investigation of incidents, each with its source
//! material (archived links and uploaded files) and a history of updates and comments.
//!
//! This module covers the project-scoped API v2 (`/api/v2`) as the real server implements it:
//!
//! - [`Client::incidents`]: list with every search filter ([`ListIncidents`]), create, comment,
//!   update one attribute;
//! - [`Client::source_material`]: list, get, create (optionally archived by Atlos), set the
//!   metadata of a namespace, upload a file;
//! - [`Client::updates`]: the history of changes and comments, optionally of one incident;
//! - evidence out, verified: an artifact through its signed `access_url` checked against its
//!   `file_hash_sha256` ([`SourceMaterials::download_artifact`]), all of a source material's
//!   into a directory that a second run completes ([`SourceMaterials::download_artifacts`]),
//!   an upload skipped when the content is there ([`SourceMaterials::upload_unless_present`]),
//!   an archiver's feed and its marks ([`SourceMaterials::feed`]), and incremental reads of
//!   incidents and updates from a stored [`Checkpoint`] ([`ListUpdates::changes`],
//!   [`ListIncidents::changes`]).
//!
//! Listings are streams ([`Paginator`]) over the server's cursors, 100 items a
//! page, the next page fetched while the caller works on the current one.
//!
//! The server answers every refusal with HTTP 401 and `{"error": ...}`; casefile reads the message
//! to give [`ApiError::kind`] its real meaning (a missing incident is
//! [`ErrorKind::NotFound`], a token without the `edit` permission [`ErrorKind::Forbidden`], a
//! bad token [`ErrorKind::Unauthorized`], a refused value [`ErrorKind::Validation`] with the
//! field messages in [`ApiError::fields`]). A listing whose cursor expired (the server says so with
//! HTTP 200) is an error too, not an empty page.
//!
//! ```no_run
//! use casefile::atlos::{Client, IncidentStatus};
//! use futures::TryStreamExt;
//!
//! # async fn run() -> casefile::Result<()> {
//! let atlos = Client::from_env()?; // ATLOS_URL (optional), ATLOS_API_TOKEN
//!
//! let mut todo = atlos.incidents().list().status(IncidentStatus::ToDo).stream();
//! while let Some(incident) = todo.try_next().await? {
//!     println!("{} {}", incident.slug, incident.description);
//! }
//!
//! let material = atlos
//!     .source_material()
//!     .create("CIV-AD12H4")
//!     .url("https://example.org/video.mp4")
//!     .archive(true)
//!     .await?;
//! atlos
//!     .source_material()
//!     .upload(material.id, casefile::Upload::path("clip.mp4"))
//!     .title("Original clip")
//!     .await?;
//! atlos
//!     .incidents()
//!     .update_attribute("AD12H4", "status", IncidentStatus::Completed)
//!     .message("Verified by two sources")
//!     .await?;
//! # Ok(()) }
//! ```

mod evidence;
mod incident_models;
mod incidents;
mod source_material;
mod sync;
mod updates;

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::error::{ApiError, Error, ErrorKind, Result};
use crate::paginate::{Bounds, Head, PageSource, PageToken, Paginator, small_fields, split_page};
use crate::transport::{
    Answer, Auth, ClientBuilder, Dialect, RequestBuilder, Transport, Unwrapped, setting, within,
};

use crate::paginate::Refusal;

pub use evidence::{
    ArchiverFeed, ArtifactFailure, ArtifactOutcome, ArtifactReport, DownloadArtifact,
    DownloadArtifacts, SavedArtifact, UploadOutcome, UploadUnlessPresent, artifact_file_names,
};
pub use incident_models::{
    AttributeType, AttributeValue, CustomAttribute, Incident, IncidentStatus, Location, Project,
    ProjectAttribute, Restriction, Sensitivity,
};
pub use incidents::{
    AddComment, CreateIncident, IncidentSort, Incidents, ListIncidents, UpdateAttribute,
};
pub use source_material::{
    Artifact, ArtifactType, CreateSourceMaterial, GetSourceMaterial, ListSourceMaterial,
    SetMetadata, SourceMaterial, SourceMaterialStatus, SourceMaterials, UploadFile, UploadType,
    Visibility,
};
pub use sync::{Changes, Checkpoint, ReadChanges};
pub use updates::{ListUpdates, RecordedValue, Update, UpdateType, Updates, User};

/// The public Atlos instance.
pub const DEFAULT_URL: &str = "https://platform.atlos.org";

/// A client of one Atlos project (API tokens are project-scoped).
///
/// Cheap to clone: clones share the connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    transport: Transport,
}

impl Client {
    /// A builder: base URL (default [`DEFAULT_URL`]), token, timeouts, retries.
    ///
    /// ```
    /// let atlos = casefile::atlos::Client::builder()
    ///     .base_url("https://atlos.example.org")
    ///     .token("my-project-token")
    ///     .build()?;
    /// # Ok::<(), casefile::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::new(DIALECT)
    }

    /// A client configured from the environment: `ATLOS_URL` (default [`DEFAULT_URL`]) and
    /// `ATLOS_API_TOKEN` (required).
    pub fn from_env() -> Result<Client> {
        Self::from_lookup(|name| std::env::var(name).ok())?.build()
    }

    /// The builder [`from_env`](Self::from_env) makes, reading the same variables through
    /// `lookup` (a map, a config file, a test): empty values count as unset. The builder can
    /// still be adjusted before `build()`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder<Client>> {
        let var = |name: &str| setting(&lookup, &[name]);
        let token = var("ATLOS_API_TOKEN")
            .ok_or_else(|| Error::Config("ATLOS_API_TOKEN is not set".into()))?;
        let mut builder = Client::builder().token(token);
        if let Some(url) = var("ATLOS_URL") {
            builder = builder.base_url(url);
        }
        Ok(builder)
    }

    /// The underlying transport, to call an endpoint this module does not model with the same
    /// credentials, retries and error reading. Paths are relative to `<base>/api/v2/`.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    handles! {
        /// Incidents: list, create, comment, update an attribute.
        incidents => Incidents,

        /// Source material (the archived or uploaded media of incidents).
        source_material => SourceMaterials,

        /// Updates and comments.
        updates => Updates,
    }
}

impl ClientBuilder<Client> {
    /// The project's API token, sent as `Authorization: Bearer <token>`.
    pub fn token(self, token: impl Into<crate::Secret>) -> Self {
        self.auth(Auth::bearer(token))
    }

    /// Builds the client. An API token is required.
    pub fn build(self) -> Result<Client> {
        if matches!(self.auth, Auth::None) {
            return Err(Error::Config(
                "an Atlos client needs an API token (ClientBuilder::token)".into(),
            ));
        }
        Ok(Client {
            transport: self.build_transport(Some(DEFAULT_URL), "api/v2/")?,
        })
    }
}

/// How Atlos speaks (atlosdotorg/atlos
/// `platform/lib/platform_web/controllers/api/api_v2_controller.ex`): a write answers
/// `{"success": true, "result": ...}` or `{"success": true}`, a listing
/// `{"results", "next", "previous"}`, and a refusal `{"error": ...}`, with HTTP 401 and, for a
/// cursor it cannot read, with HTTP 200.
const DIALECT: Dialect = Dialect {
    classify,
    query: None,
    unwrap,
};

/// Reads an Atlos success body (see [`DIALECT`]): the `result` of a write, nothing for an
/// acknowledgement, a listing page whole; an `{"error"}` or `"success": false` is a refusal.
/// A listing page is read from its ends only, its results being decoded by the caller.
fn unwrap(body: &[u8]) -> Unwrapped {
    #[derive(Deserialize)]
    struct Top<'a> {
        #[serde(default)]
        success: Option<bool>,
        #[serde(default)]
        error: Option<IgnoredAny>,
        #[serde(default, borrow)]
        result: Option<&'a RawValue>,
    }
    let whole = 0..body.len();
    let small = small_fields(body, &["results"]);
    let Ok(top) = serde_json::from_slice::<Top>(small.as_deref().unwrap_or(body)) else {
        // Not an object: whoever decodes it says what is wrong.
        return Unwrapped::Json(whole);
    };
    if top.error.is_some() || top.success == Some(false) {
        return Unwrapped::Refused {
            status: 200,
            body: whole,
            message: Some("the server did not report success"),
        };
    }
    match (top.success, top.result) {
        (Some(true), Some(result)) => match within(body, result.get().as_bytes()) {
            Some(at) => Unwrapped::Json(at),
            None => Unwrapped::Json(whole),
        },
        (Some(true), None) => Unwrapped::Nothing,
        _ => Unwrapped::Json(whole),
    }
}

/// Gives an Atlos refusal its kind. The server answers 401 to everything, so the message decides.
fn classify(error: &mut ApiError) {
    if !matches!(error.status, 200 | 401) {
        return;
    }
    // The body carried no message: the transport put the status phrase there.
    let canonical = reqwest::StatusCode::from_u16(error.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        == Some(error.message.as_str());
    if !error.fields.is_empty() {
        error.kind = ErrorKind::Validation;
        if canonical {
            error.message = "the server refused the values".into();
        }
        return;
    }
    let message = error.message.to_ascii_lowercase();
    error.kind = if message.contains("invalid token") || message.contains("token not found") {
        ErrorKind::Unauthorized
    } else if message.contains("not authorized") || error.message == "unauthorized" {
        // "api token not authorized to edit"; a bare lower-case "unauthorized" is the server
        // refusing a token without the permission to create incidents.
        ErrorKind::Forbidden
    } else if message.contains("not found") {
        // "incident not found", "incident not found or unauthorized", "attribute not found"
        ErrorKind::NotFound
    } else if message.contains("not provided")
        || message.contains("unknown attribute")
        || message.contains("pagination")
        || message.contains("invalid")
        || message.contains("must ")
    {
        ErrorKind::Validation
    } else if canonical && error.status == 401 {
        // No Atlos body: a proxy or the server itself refused the credentials.
        ErrorKind::Unauthorized
    } else if error.status == 200 {
        // An error in a 200 answer is never a success; the only known one is a refused cursor.
        ErrorKind::Validation
    } else {
        ErrorKind::Other
    };
}

/// One page of a listing: `{"results": [...], "next": cursor|null, "previous": ...}` (a refused
/// cursor, `{"error"}`, was an error in the dialect); the results are found apart (see
/// [`cursor_head`]).
#[derive(Deserialize)]
struct CursorPage {
    #[serde(default)]
    next: Option<String>,
    /// Seen here only when the quick reading of the dialect missed it (an `error` object after
    /// the results): a page that is both is not read as a page.
    #[serde(default)]
    error: Option<IgnoredAny>,
}

/// Reads an Atlos listing page: where its results are (decoded later, by the caller of the
/// stream) and the next cursor. A page without results is a decode error. Only the ends of the page are read: an Atlos page
/// has no array or object but its results (`{"results", "next", "previous"}` or `{"error"}`,
/// atlosdotorg/atlos `platform/lib/platform_web/controllers/api/api_v2_controller.ex`).
pub(crate) fn cursor_head(answer: &Answer) -> Result<Head> {
    let (page, items) = split_page::<CursorPage>(answer, &["results"], true)?;
    if page.error.is_some() {
        return Err(answer.decode_error(".", "a page with both `results` and `error`".into()));
    }
    let items = items.ok_or_else(|| answer.decode_error(".", "missing field `results`".into()))?;
    Ok(Head {
        items: Some(items),
        field: "results",
        len: None,
        next: page.next.map(PageToken::Cursor),
        total: None,
    })
}

/// A cursor-paginated listing at `segments` with `query`: every Atlos listing.
struct CursorListing<Q> {
    transport: Transport,
    segments: &'static [&'static str],
    query: Q,
}

impl<Q: Serialize + Send + Sync + 'static> PageSource for CursorListing<Q> {
    fn request(&self, token: Option<&PageToken>) -> Result<RequestBuilder> {
        let request = self.transport.get(self.segments).query(&self.query);
        Ok(match token {
            Some(PageToken::Cursor(cursor)) => request.query(&[("cursor", cursor)]),
            _ => request,
        })
    }

    fn head(&self, answer: &Answer, _: Option<&PageToken>) -> Result<Head> {
        cursor_head(answer)
    }
}

/// The stream of a cursor-paginated listing at `segments` with `query`; a `refusal` is its first
/// item, before any request.
fn cursor_listing<T, Q>(
    transport: Transport,
    segments: &'static [&'static str],
    query: Q,
    refusal: Option<Refusal>,
    bounds: Bounds,
) -> Paginator<T>
where
    T: DeserializeOwned + Send + 'static,
    Q: Serialize + Send + Sync + 'static,
{
    Paginator::from_source(CursorListing {
        transport,
        segments,
        query,
    })
    .refused(refusal)
    .bounded(bounds)
}

/// Checks an incident slug: six characters of `[0-9A-Z]`, optionally after a project code and a
/// dash (`CIV-AD12H4`); lower case is accepted, as the server upper-cases it.
fn check_slug(slug: &str) -> Result<()> {
    let code = match slug.split_once('-') {
        Some((prefix, code)) => {
            let prefix_ok = (1..=5).contains(&prefix.len())
                && prefix.bytes().all(|b| b.is_ascii_alphanumeric());
            if !prefix_ok {
                return Err(Error::invalid(
                    "slug",
                    format!(
                        "`{slug}`: the part before `-` must be a project code of 1 to 5 letters or digits"
                    ),
                ));
            }
            code
        }
        None => slug,
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            "slug",
            format!(
                "`{slug}` is not an incident slug (six letters or digits such as `AD12H4`, \
                 optionally after a project code: `CIV-AD12H4`)"
            ),
        ));
    }
    Ok(())
}

/// Checks that `id` is a UUID and returns it in its canonical form.
fn check_uuid(argument: &'static str, id: impl fmt::Display) -> Result<String> {
    let text = id.to_string();
    uuid::Uuid::parse_str(text.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| Error::invalid(argument, format!("`{text}` is not a UUID")))
}

/// A checked value and the check's outcome apart: the value (its default when it was refused)
/// to build the request with, and `Ok(())` or the refusal for [`RequestBuilder::checked`], so the
/// send call reports it.
fn parts<T: Default>(checked: Result<T>) -> (T, Result<()>) {
    match checked {
        Ok(value) => (value, Ok(())),
        Err(refusal) => (T::default(), Err(refusal)),
    }
}

/// Refuses an empty or blank text.
fn check_text(argument: &'static str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(argument, "must not be empty"));
    }
    Ok(())
}

/// `null` read as the type's default (the server writes `null` for empty lists).
fn nullable<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, message: &str) -> ApiError {
        ApiError {
            status,
            kind: ErrorKind::from_status(status),
            message: message.into(),
            code: None,
            fields: std::collections::BTreeMap::new(),
            parameters: vec![],
            retry_after: None,
            method: "GET".into(),
            url: "u".into(),
            body: String::new(),
        }
    }

    #[test]
    fn classifies_every_known_message() {
        let cases = [
            ("invalid token or token not found", ErrorKind::Unauthorized),
            ("incident not found", ErrorKind::NotFound),
            ("incident not found or unauthorized", ErrorKind::NotFound),
            (
                "media version not found or unauthorized",
                ErrorKind::NotFound,
            ),
            ("media not found", ErrorKind::NotFound),
            ("attribute not found", ErrorKind::NotFound),
            ("api token not authorized to edit", ErrorKind::Forbidden),
            (
                "api token not authorized to post comment",
                ErrorKind::Forbidden,
            ),
            (
                "api token not authorized to read updates",
                ErrorKind::Forbidden,
            ),
            ("unauthorized", ErrorKind::Forbidden),
            ("value not provided", ErrorKind::Validation),
            ("message not provided", ErrorKind::Validation),
            ("valid file not provided", ErrorKind::Validation),
            ("unknown attributes: [\"color\"]", ErrorKind::Validation),
            ("Unauthorized", ErrorKind::Unauthorized),
            ("something new", ErrorKind::Other),
        ];
        for (message, kind) in cases {
            let mut e = api(401, message);
            classify(&mut e);
            assert_eq!(e.kind, kind, "{message}");
            assert_eq!(e.message, message);
        }
        let mut e = api(500, "not found");
        classify(&mut e);
        assert_eq!(e.kind, ErrorKind::Server);
    }

    #[test]
    fn slugs() {
        for ok in ["AD12H4", "ad12h4", "CIV-AD12H4", "civ-ad12h4", "ATL-000000"] {
            assert!(check_slug(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "AD12H",
            "AD12H45",
            "AD12H!",
            "-AD12H4",
            "TOOLONG-AD12H4",
            "CIV-",
            " AD12H4",
            "A/12H4",
            "CIV-AD-2H4",
        ] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
    }
}
