//! Source material: the media of an incident (a link, its archived copies, uploaded files) and
//! its operations (list, get, create, set metadata, upload a file).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::incidents::check_archive_url;
use super::{check_slug, check_text, check_uuid, cursor_listing, nullable, parts};
use crate::Form;
use crate::error::{Error, Result};
use crate::paginate::{Bounds, Paginator};
use crate::transport::{RequestBuilder, Transport};
use crate::upload::Upload;

string_enum! {
    /// Where the archival of a piece of source material stands.
    pub enum SourceMaterialStatus {
        /// Being archived.
        Pending = "pending",
        /// Archived (or nothing to archive).
        Complete = "complete",
        /// Archival failed.
        Error = "error",
    }
}

string_enum! {
    /// How a piece of source material was added.
    pub enum UploadType {
        /// Added by a person (a link or a file), not archived by Atlos.
        UserProvided = "user_provided",
        /// A link Atlos archives itself.
        Direct = "direct",
    }
}

string_enum! {
    /// Who can see a piece of source material.
    pub enum Visibility {
        /// Everyone with access to the incident.
        Visible = "visible",
        /// Hidden by a moderator.
        Hidden = "hidden",
        /// Removed.
        Removed = "removed",
    }
}

string_enum! {
    /// The kind of an artifact (a stored file of a piece of source material).
    pub enum ArtifactType {
        /// A PDF rendering of the page.
        Pdf = "pdf",
        /// The media itself (video, image).
        Media = "media",
        /// A file uploaded through the API or the interface.
        Upload = "upload",
        /// A screenshot of the visible part of the page.
        Viewport = "viewport",
        /// A screenshot of the whole page.
        Fullpage = "fullpage",
        /// A WACZ web archive.
        Wacz = "wacz",
        /// A file fetched directly from the URL.
        DirectFile = "direct_file",
        /// The server's `other` kind.
        Misc = "other",
    }
}

/// A piece of source material of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SourceMaterial {
    /// The UUID, used by [`get`](SourceMaterials::get), [`set_metadata`] and [`upload`].
    ///
    /// [`set_metadata`]: SourceMaterials::set_metadata
    /// [`upload`]: SourceMaterials::upload
    pub id: Uuid,
    /// The incident it belongs to.
    #[serde(default)]
    pub incident_id: Option<Uuid>,
    /// Its number within the incident (1, 2, ...).
    #[serde(default)]
    pub scoped_id: Option<u64>,
    /// The URL it was taken from.
    #[serde(default)]
    pub source_url: Option<String>,
    /// Where archival stands.
    #[serde(default)]
    pub status: Option<SourceMaterialStatus>,
    /// How it was added.
    #[serde(default)]
    pub upload_type: Option<UploadType>,
    /// Who can see it.
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// Metadata by namespace (e.g. `auto-archiver`); other keys may occur.
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Map<String, Value>,
    /// The stored files.
    #[serde(default, deserialize_with = "nullable")]
    pub artifacts: Vec<Artifact>,
    /// When it was added.
    #[serde(with = "crate::time::utc")]
    pub inserted_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(with = "crate::time::utc")]
    pub updated_at: DateTime<Utc>,
}

impl SourceMaterial {
    /// The metadata of one namespace.
    pub fn metadata_in(&self, namespace: &str) -> Option<&Value> {
        self.metadata.get(namespace)
    }
}

/// A stored file of a piece of source material.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Artifact {
    /// The artifact's UUID.
    pub id: Uuid,
    /// What kind of file it is.
    #[serde(rename = "type", default)]
    pub kind: Option<ArtifactType>,
    /// The title given at upload.
    #[serde(default)]
    pub title: Option<String>,
    /// The MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// The size in bytes.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// The SHA-256 of the content, hex.
    #[serde(default)]
    pub file_hash_sha256: Option<String>,
    /// Perceptual hashes (`{"computed": [{"type": "blockhash", "hash": ...}]}`), when computed.
    #[serde(default)]
    pub perceptual_hashes: Option<Value>,
    /// A signed URL to download the file (expires); kept out of `Debug` output.
    #[serde(default)]
    pub access_url: Option<crate::SignedUrl>,
}

/// The source material operations, from
/// [`Client::source_material`](super::Client::source_material).
#[derive(Clone, Debug)]
pub struct SourceMaterials {
    pub(super) transport: Transport,
}

impl SourceMaterials {
    pub(super) fn new(transport: Transport) -> Self {
        SourceMaterials { transport }
    }

    /// `GET source_material`: all source material of the project, newest first.
    pub fn list(&self) -> ListSourceMaterial {
        ListSourceMaterial {
            transport: self.transport.clone(),
            bounds: Bounds::default(),
        }
    }

    /// `GET source_material/:id`: one piece of source material.
    pub fn get(&self, id: impl fmt::Display) -> GetSourceMaterial {
        let (id, check) = parts(check_uuid("id", id));
        GetSourceMaterial::new(self.transport.get(&["source_material", &id]).checked(check))
    }

    /// `POST source_material/new/:slug`: adds source material to an incident (needs the `edit`
    /// permission). Without [`url`](CreateSourceMaterial::url) it is an empty piece to
    /// [`upload`](SourceMaterials::upload) files to.
    pub fn create(&self, slug: impl fmt::Display) -> CreateSourceMaterial {
        CreateSourceMaterial {
            transport: self.transport.clone(),
            slug: slug.to_string(),
            body: NewSourceMaterial {
                url: None,
                archive: None,
            },
        }
    }

    /// `POST source_material/metadata/:id/:namespace`: replaces the metadata of `namespace` with
    /// `value` (any JSON).
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client, id: uuid::Uuid) -> casefile::Result<()> {
    /// let updated = atlos
    ///     .source_material()
    ///     .set_metadata(id, "my-archiver", serde_json::json!({"hash": "ab12", "ok": true}))
    ///     .await?;
    /// assert!(updated.metadata_in("my-archiver").is_some());
    /// # Ok(()) }
    /// ```
    pub fn set_metadata(
        &self,
        id: impl fmt::Display,
        namespace: impl Into<String>,
        value: impl Serialize,
    ) -> SetMetadata {
        let namespace = namespace.into();
        let (id, id_check) = parts(check_uuid("id", id));
        let (value, value_check) = parts(
            serde_json::to_value(value).map_err(|e| Error::invalid("metadata", e.to_string())),
        );
        let check = id_check
            .and_then(|()| check_text("namespace", &namespace))
            .and(value_check);
        SetMetadata::new(
            self.transport
                .post(&["source_material", "metadata", &id, &namespace])
                .json(&serde_json::json!({ "metadata": value }))
                .checked(check),
        )
    }

    /// `POST source_material/upload/:id`: uploads a file (streamed from disk for
    /// [`Upload::path`]) as a new artifact.
    pub fn upload(&self, id: impl fmt::Display, file: Upload) -> UploadFile {
        let (id, check) = parts(check_uuid("id", id));
        UploadFile {
            request: self
                .transport
                .post(&["source_material", "upload", &id])
                .checked(check),
            file,
            title: None,
        }
    }
}

/// A listing of source material; from [`SourceMaterials::list`].
#[derive(Debug, Clone)]
#[must_use = "a listing does nothing until it is streamed"]
pub struct ListSourceMaterial {
    transport: Transport,
    bounds: Bounds,
}

impl ListSourceMaterial {
    fn paginator(self) -> Paginator<SourceMaterial> {
        cursor_listing(self.transport, &["source_material"], (), None, self.bounds)
    }

    listing_methods!(SourceMaterial, bounds);
}

operation! {
    /// Gets one piece of source material; from [`SourceMaterials::get`]. `.await` sends it.
    GetSourceMaterial => SourceMaterial
}

#[derive(Debug, Clone, Serialize)]
struct NewSourceMaterial {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// The server archives only when this is the string `"true"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    archive: Option<&'static str>,
}

/// Adds source material to an incident; from [`SourceMaterials::create`]. `.await` sends it.
#[derive(Debug, Clone)]
#[must_use = "an operation does nothing until it is awaited"]
pub struct CreateSourceMaterial {
    transport: Transport,
    slug: String,
    body: NewSourceMaterial,
}

impl CreateSourceMaterial {
    /// The URL the material comes from.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.body.url = Some(url.into());
        self
    }

    /// Whether Atlos should archive the URL itself (default: no, the caller archives it).
    pub fn archive(mut self, archive: bool) -> Self {
        self.body.archive = archive.then_some("true");
        self
    }

    /// Sends the request and returns the new piece of source material.
    pub async fn send(self) -> Result<SourceMaterial> {
        check_slug(&self.slug)?;
        match (&self.body.url, self.body.archive) {
            (Some(url), Some(_)) => check_archive_url(url)?,
            (Some(url), None) => check_text("url", url)?,
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "archive",
                    "archiving needs a URL (call .url(...))",
                ));
            }
            (None, None) => {}
        }
        let segments = ["source_material", "new", self.slug.as_str()];
        let request = self.transport.post(&segments).json(&self.body);
        request.send().await
    }
}

operation! {
    /// Replaces the metadata of one namespace; from [`SourceMaterials::set_metadata`]. `.await`
    /// sends it.
    SetMetadata => SourceMaterial
}

/// Uploads a file to a piece of source material; from [`SourceMaterials::upload`]. `.await`
/// sends it.
#[derive(Debug)]
#[must_use = "an operation does nothing until it is awaited"]
pub struct UploadFile {
    request: RequestBuilder,
    file: Upload,
    title: Option<String>,
}

impl UploadFile {
    /// A title for the file.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Calls `callback` with the bytes of the file sent so far (see [`Progress`]).
    ///
    /// [`Progress`]: crate::Progress
    pub fn progress(mut self, callback: impl Fn(crate::Progress) + Send + Sync + 'static) -> Self {
        self.file
            .report_to(crate::progress::Reporter::new(callback));
        self
    }

    /// Sends the request and returns the piece of source material with the new artifact.
    pub async fn send(self) -> Result<SourceMaterial> {
        let mut form = Form::new();
        if let Some(title) = self.title {
            form = form.text("title", title);
        }
        self.request
            .multipart(form.file("file", self.file))
            .send()
            .await
    }
}

send_on_await!(
    CreateSourceMaterial => SourceMaterial,
    UploadFile => SourceMaterial,
);
