//! Getting evidence out of Atlos, verified, and the archiver's side of it: artifacts downloaded
//! through their signed `access_url` and checked against their `file_hash_sha256`, a directory
//! of a source material's artifacts that a second run completes, uploads skipped when the file
//! is already there, and the feed of source material an archiver still has to handle.
//!
//! This is what bellingcat/auto-archiver's Atlos module
//! (`src/auto_archiver/modules/atlos_feeder_db_storage/atlos_feeder_db_storage.py`) does by
//! hand, on the routes of atlosdotorg/atlos
//! `platform/lib/platform_web/controllers/api/api_v2_controller.ex`.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::source_material::{
    Artifact, SetMetadata, SourceMaterial, SourceMaterialStatus, SourceMaterials, Visibility,
};
use super::{check_text, check_uuid};
use crate::checksum::{Algorithm, Checksum};
use crate::error::{Error, Result};
use crate::paginate::Bounds;
use crate::transport::{ByteStream, Transport};
use crate::upload::Upload;

impl SourceMaterials {
    /// Downloads one artifact through its signed `access_url` (no Atlos credentials go to the
    /// storage host), checked as it streams against the artifact's `file_hash_sha256`: awaiting
    /// it gives the body ([`ByteStream::verify`] applied), [`save`](DownloadArtifact::save) and
    /// [`save_in`](DownloadArtifact::save_in) write it and keep nothing on a mismatch
    /// ([`Error::Mismatch`]).
    ///
    /// An artifact without an `access_url` (the server's `media_version_artifact_location` is
    /// `nil` when the file has no location, `material.ex`) or without a well-formed SHA-256 is
    /// refused before any request ([`Error::InvalidInput`]): it could not be verified.
    ///
    /// The URL is signed for six hours (`Uploads.MediaVersionArtifact.url(..., expires_in: 60
    /// * 60 * 6)`, `platform/lib/platform/material.ex`): take the artifact from a fresh
    /// [`get`](SourceMaterials::get).
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client, id: uuid::Uuid) -> casefile::Result<()> {
    /// let material = atlos.source_material().get(id).await?;
    /// for artifact in &material.artifacts {
    ///     let (path, bytes) = atlos
    ///         .source_material()
    ///         .download_artifact(artifact)
    ///         .save_in("evidence", &artifact.id.to_string())
    ///         .await?;
    ///     println!("{} ({bytes} bytes, SHA-256 checked)", path.display());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn download_artifact(&self, artifact: &Artifact) -> DownloadArtifact {
        DownloadArtifact {
            transport: self.transport.clone(),
            artifact: artifact.clone(),
        }
    }

    /// `GET source_material/:id`, then every artifact of it into the directory `dir` (created if
    /// missing), one after the other, each verified as [`download_artifact`] does, under a safe
    /// name (see [`artifact_file_names`]). A file already in `dir` under its name whose SHA-256
    /// matches is left as it is, without a request: a second run, or a run after one that was
    /// killed, fetches only what is missing or different. A failed artifact does not stop the
    /// others: the [`ArtifactReport`] lists it with the reason. A file under an artifact's name
    /// that does not hash to it is replaced by the download, or removed if the download fails,
    /// so that only verified files stay under the artifacts' names.
    ///
    /// [`download_artifact`]: SourceMaterials::download_artifact
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client, id: uuid::Uuid) -> casefile::Result<()> {
    /// let report = atlos.source_material().download_artifacts(id, "evidence/AD12H4").await?;
    /// println!("{report}");
    /// assert!(report.is_complete());
    /// # Ok(()) }
    /// ```
    pub fn download_artifacts(
        &self,
        id: impl fmt::Display,
        dir: impl AsRef<Path>,
    ) -> DownloadArtifacts {
        DownloadArtifacts {
            materials: self.clone(),
            id: check_uuid("id", id),
            dir: dir.as_ref().to_path_buf(),
            on_artifact: None,
        }
    }

    /// Uploads the file at `path` to the source material `id` unless an artifact of it already
    /// has the file's SHA-256 (the file is hashed in pieces, never read whole into memory):
    /// `GET source_material/:id`, then `POST source_material/upload/:id` only when needed. The
    /// [`UploadOutcome`] says which happened. auto-archiver's `upload` makes the same check.
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client, id: uuid::Uuid) -> casefile::Result<()> {
    /// let outcome = atlos
    ///     .source_material()
    ///     .upload_unless_present(id, "archive/page.wacz")
    ///     .title("Web archive")
    ///     .await?;
    /// println!("uploaded: {}", outcome.uploaded());
    /// # Ok(()) }
    /// ```
    pub fn upload_unless_present(
        &self,
        id: impl fmt::Display,
        path: impl AsRef<Path>,
    ) -> UploadUnlessPresent {
        UploadUnlessPresent {
            materials: self.clone(),
            id: check_uuid("id", id),
            path: path.as_ref().to_path_buf(),
            title: None,
        }
    }

    /// The source material an archiver writing to `namespace` still has to handle, as a stream
    /// over `GET source_material` (see [`SourceMaterial::awaits_archiving`] for the selection,
    /// auto-archiver's feeder's). Mark each one done with [`mark_processed`] or
    /// [`mark_failed`], which take it out of the feed.
    ///
    /// [`mark_processed`]: SourceMaterials::mark_processed
    /// [`mark_failed`]: SourceMaterials::mark_failed
    ///
    /// ```no_run
    /// # async fn run(atlos: casefile::atlos::Client) -> casefile::Result<()> {
    /// use futures::TryStreamExt;
    ///
    /// let mut todo = atlos.source_material().feed("my-archiver").stream();
    /// while let Some(material) = todo.try_next().await? {
    ///     let url = material.source_url.clone().unwrap_or_default();
    ///     // ... archive `url` ...
    ///     atlos
    ///         .source_material()
    ///         .mark_processed(material.id, "my-archiver", serde_json::json!({"url": url}))
    ///         .await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn feed(&self, namespace: impl Into<String>) -> ArchiverFeed {
        ArchiverFeed {
            materials: self.clone(),
            namespace: namespace.into(),
            bounds: Bounds::default(),
        }
    }

    /// `POST source_material/metadata/:id/:namespace` with `{"processed": true, "status":
    /// "success", "results": results}`: the mark auto-archiver's `done` writes, which takes the
    /// source material out of the [`feed`](SourceMaterials::feed) of `namespace`.
    pub fn mark_processed(
        &self,
        id: impl fmt::Display,
        namespace: impl Into<String>,
        results: impl Serialize,
    ) -> SetMetadata {
        match serde_json::to_value(results) {
            Ok(results) => self.set_metadata(
                id,
                namespace,
                json!({"processed": true, "status": "success", "results": results}),
            ),
            // `set_metadata` reports the same refusal of the value, before sending.
            Err(_) => self.set_metadata(id, namespace, Unserializable),
        }
    }

    /// `POST source_material/metadata/:id/:namespace` with `{"processed": true, "status":
    /// "error", "error": reason}`: the mark auto-archiver's `failed` writes. The source
    /// material leaves the [`feed`](SourceMaterials::feed) of `namespace` (a failure is not
    /// tried again by itself: clear the namespace with
    /// [`set_metadata`](SourceMaterials::set_metadata) to retry).
    pub fn mark_failed(
        &self,
        id: impl fmt::Display,
        namespace: impl Into<String>,
        reason: impl Into<String>,
    ) -> SetMetadata {
        self.set_metadata(
            id,
            namespace,
            json!({"processed": true, "status": "error", "error": reason.into()}),
        )
    }
}

/// A value that fails to serialize, so that `set_metadata` refuses it as it refuses any.
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> std::result::Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "the results cannot be written as JSON",
        ))
    }
}

impl SourceMaterial {
    /// Whether an archiver writing to `namespace` still has to handle this source material, as
    /// auto-archiver's feeder (`__iter__`) selects it: it is [`Visibility::Visible`], has a
    /// non-empty `source_url`, is not being archived (status neither `pending` nor
    /// `processing`), and `namespace` holds no mark with `"processed": true` (no metadata,
    /// `null`, or anything else in the namespace counts as not handled yet).
    pub fn awaits_archiving(&self, namespace: &str) -> bool {
        let busy = match &self.status {
            Some(SourceMaterialStatus::Pending) => true,
            Some(SourceMaterialStatus::Other(status)) => status == "processing",
            _ => false,
        };
        let processed = self
            .metadata_in(namespace)
            .and_then(|m| m.get("processed"))
            .and_then(Value::as_bool)
            == Some(true);
        self.visibility == Some(Visibility::Visible)
            && self
                .source_url
                .as_deref()
                .is_some_and(|u| !u.trim().is_empty())
            && !busy
            && !processed
    }
}

/// The checksum an artifact announces, or why it has none.
fn recorded_sha256(artifact: &Artifact) -> Result<Checksum> {
    let hex = artifact.file_hash_sha256.as_deref().ok_or_else(|| {
        Error::invalid(
            "artifact",
            format!(
                "artifact {} has no file_hash_sha256: it cannot be verified",
                artifact.id
            ),
        )
    })?;
    Checksum::sha256(hex).map_err(|_| {
        Error::invalid(
            "artifact",
            format!(
                "artifact {} has a file_hash_sha256 that is not a SHA-256",
                artifact.id
            ),
        )
    })
}

/// One artifact's download, from [`SourceMaterials::download_artifact`]. Awaiting it gives the
/// verified body as a stream.
#[derive(Debug, Clone)]
#[must_use = "a download does nothing until it is sent or awaited"]
pub struct DownloadArtifact {
    transport: Transport,
    artifact: Artifact,
}

impl DownloadArtifact {
    /// Starts the download: the body arrives as a stream that ends with [`Error::Mismatch`]
    /// instead of ending if the bytes do not hash to the recorded SHA-256.
    pub async fn send(self) -> Result<ByteStream> {
        let expected = recorded_sha256(&self.artifact)?;
        let url = self.artifact.access_url.as_ref().ok_or_else(|| {
            Error::invalid(
                "artifact",
                format!("artifact {} has no access_url", self.artifact.id),
            )
        })?;
        let url = url.url()?;
        // The signed URL carries its own authorization: `get_external` sends no token.
        let stream = self.transport.get_external(url).send_stream().await?;
        Ok(stream.verify(expected))
    }

    /// Downloads the artifact to `path` (through `<path>.part`, renamed only once complete and
    /// verified) and gives the number of bytes written. See [`ByteStream::save`].
    pub async fn save(self, path: impl AsRef<Path>) -> Result<u64> {
        self.send().await?.save(path).await
    }

    /// Downloads the artifact into `dir` under [`safe_file_name(name)`](crate::safe_file_name)
    /// and gives the path and the number of bytes written. See [`ByteStream::save_in`].
    pub async fn save_in(self, dir: impl AsRef<Path>, name: &str) -> Result<(PathBuf, u64)> {
        self.send().await?.save_in(dir, name).await
    }
}

send_on_await!(DownloadArtifact => ByteStream);

/// The file names [`SourceMaterials::download_artifacts`] gives the artifacts of one source
/// material, in their order: each one's `title`, else the last segment of its `access_url`'s
/// path, else its id, given the URL's extension when it has none, reduced by
/// [`safe_file_name`](crate::safe_file_name). A name already given to an earlier artifact
/// (compared without case, as Windows and macOS do) becomes `<stem>-<first 8 characters of the
/// id><extension>`, or `<stem>-<id><extension>` if that too is taken. Atlos appends artifacts,
/// so the names of the earlier ones stay the same from one run to the next.
///
/// ```
/// # use casefile::atlos::{artifact_file_names, Artifact};
/// let artifacts: Vec<Artifact> = serde_json::from_value(serde_json::json!([
///     {"id": "0b6d8a47-3c4e-4d5f-9a1b-2c3d4e5f6a7b", "title": "clip.mp4"},
///     {"id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "title": "Clip.mp4"},
///     {"id": "11111111-2222-4333-8444-555555555555", "title": "../../.bashrc"},
/// ]))
/// .unwrap();
/// assert_eq!(
///     artifact_file_names(&artifacts),
///     ["clip.mp4", "Clip-9f8e7d6c.mp4", "_._.._.bashrc"]
/// );
/// ```
pub fn artifact_file_names(artifacts: &[Artifact]) -> Vec<String> {
    let mut taken = HashSet::new();
    artifacts
        .iter()
        .map(|artifact| {
            let wanted = crate::safe_file_name(&wanted_name(artifact));
            let id = artifact.id.to_string();
            let (stem, extension) = split_extension(&wanted);
            let candidates = [
                wanted.clone(),
                crate::safe_file_name(&format!("{stem}-{}{extension}", &id[..8])),
                crate::safe_file_name(&format!("{stem}-{id}{extension}")),
            ];
            let chosen = candidates
                .iter()
                .find(|name| !taken.contains(&name.to_lowercase()))
                .cloned()
                // Ids are unique: only a hostile list repeats one. Its id alone is then taken
                // too, so count on: still deterministic, still unique.
                .unwrap_or_else(|| {
                    (2u64..)
                        .map(|n| crate::safe_file_name(&format!("{id}-{n}{extension}")))
                        .find(|name| !taken.contains(&name.to_lowercase()))
                        .unwrap_or_default()
                });
            taken.insert(chosen.to_lowercase());
            chosen
        })
        .collect()
}

/// The name an artifact asks for, before it is made safe.
fn wanted_name(artifact: &Artifact) -> String {
    let from_url = artifact
        .access_url
        .as_ref()
        .and_then(|u| u.url().ok())
        .and_then(|u| {
            let last = u.path_segments()?.next_back()?.to_owned();
            let last = percent_encoding::percent_decode_str(&last)
                .decode_utf8_lossy()
                .into_owned();
            (!last.is_empty()).then_some(last)
        });
    let url_extension = from_url
        .as_deref()
        .map(|n| split_extension(n).1.to_owned())
        .unwrap_or_default();
    let title = artifact
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match (title, from_url) {
        (Some(title), _) if split_extension(title).1.is_empty() => {
            format!("{title}{url_extension}")
        }
        (Some(title), _) => title.to_owned(),
        (None, Some(name)) => name,
        (None, None) => artifact.id.to_string(),
    }
}

/// `name` as stem and extension (`.mp4`; empty when there is none or it is not a short run of
/// letters and digits).
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(at)
            if at > 0
                && (2..=9).contains(&(name.len() - at))
                && name[at + 1..].bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (&name[..at], &name[at..])
        }
        _ => (name, ""),
    }
}

/// One artifact written or found in place by [`SourceMaterials::download_artifacts`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SavedArtifact {
    /// The artifact's id.
    pub id: Uuid,
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// An artifact [`SourceMaterials::download_artifacts`] could not get.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArtifactFailure {
    /// The artifact's id.
    pub id: Uuid,
    /// Where it would have gone.
    pub path: PathBuf,
    /// Why (a mismatch, a refusal of the storage host, a local error, ...).
    pub reason: String,
}

/// What happened to one artifact, as passed to [`DownloadArtifacts::on_artifact`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArtifactOutcome {
    /// Downloaded and verified by this run.
    Fetched(SavedArtifact),
    /// Already in place with the recorded SHA-256: not requested.
    Unchanged(SavedArtifact),
    /// Not downloaded; nothing was kept under its name.
    Failed(ArtifactFailure),
}

/// What [`SourceMaterials::download_artifacts`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArtifactReport {
    /// The source material's artifacts.
    pub artifacts: u64,
    /// Downloaded and verified by this run.
    pub fetched: Vec<SavedArtifact>,
    /// Already in place with the recorded SHA-256.
    pub unchanged: Vec<SavedArtifact>,
    /// Not downloaded, with the reason.
    pub failed: Vec<ArtifactFailure>,
    /// Bytes downloaded by this run.
    pub bytes: u64,
}

impl ArtifactReport {
    /// Whether every artifact is now in the directory, verified.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
            && (self.fetched.len() + self.unchanged.len()) as u64 == self.artifacts
    }
}

impl fmt::Display for ArtifactReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} artifacts: {} fetched ({} bytes), {} unchanged, {} failed",
            self.artifacts,
            self.fetched.len(),
            self.bytes,
            self.unchanged.len(),
            self.failed.len()
        )?;
        for failure in &self.failed {
            write!(f, "; {}: {}", failure.id, failure.reason)?;
        }
        f.write_str(if self.is_complete() {
            " — complete"
        } else {
            " — INCOMPLETE"
        })
    }
}

type OnArtifact = Box<dyn Fn(&ArtifactOutcome) + Send + Sync>;

/// The artifacts of one source material into a directory, from
/// [`SourceMaterials::download_artifacts`]. `.await` runs it.
#[must_use = "a download does nothing until it is sent or awaited"]
pub struct DownloadArtifacts {
    materials: SourceMaterials,
    id: Result<String>,
    dir: PathBuf,
    on_artifact: Option<OnArtifact>,
}

impl fmt::Debug for DownloadArtifacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadArtifacts")
            .field("id", &self.id)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl DownloadArtifacts {
    /// Calls `callback` once for each artifact, when it is done with.
    pub fn on_artifact(
        mut self,
        callback: impl Fn(&ArtifactOutcome) + Send + Sync + 'static,
    ) -> Self {
        self.on_artifact = Some(Box::new(callback));
        self
    }

    /// Runs it. An error is returned only when nothing could start (a refused id, the source
    /// material not readable, the directory not creatable); each artifact's own failure is in
    /// the report.
    pub async fn send(self) -> Result<ArtifactReport> {
        let id = self.id?;
        let material = self.materials.get(&id).await?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| Error::io(format!("cannot create {}", self.dir.display()), e))?;
        let names = artifact_file_names(&material.artifacts);
        let mut report = ArtifactReport {
            artifacts: material.artifacts.len() as u64,
            ..ArtifactReport::default()
        };
        for (artifact, name) in material.artifacts.iter().zip(names) {
            let path = self.dir.join(&name);
            let outcome = fetch_one(&self.materials, artifact, path).await;
            if let Some(callback) = &self.on_artifact {
                callback(&outcome);
            }
            match outcome {
                ArtifactOutcome::Fetched(saved) => {
                    report.bytes += saved.bytes;
                    report.fetched.push(saved);
                }
                ArtifactOutcome::Unchanged(saved) => report.unchanged.push(saved),
                ArtifactOutcome::Failed(failure) => report.failed.push(failure),
            }
            // A caller that drops the run between two artifacts (a timeout, a shutdown) does
            // so before a request of the next one is on its way.
            tokio::task::yield_now().await;
        }
        Ok(report)
    }
}

/// One artifact of [`DownloadArtifacts`]: left alone when `path` already hashes to it, else
/// downloaded and verified.
async fn fetch_one(
    materials: &SourceMaterials,
    artifact: &Artifact,
    path: PathBuf,
) -> ArtifactOutcome {
    let failed = |path: PathBuf, reason: String| {
        ArtifactOutcome::Failed(ArtifactFailure {
            id: artifact.id,
            path,
            reason,
        })
    };
    let expected = match recorded_sha256(artifact) {
        Ok(expected) => expected,
        Err(e) => return failed(path, e.to_string()),
    };
    // A regular file only: a symbolic link or a directory under the name is not ours.
    let present = tokio::fs::symlink_metadata(&path)
        .await
        .ok()
        .filter(|m| m.file_type().is_file());
    if let Some(meta) = present
        && Checksum::of_file(Algorithm::Sha256, &path)
            .await
            .ok()
            .as_ref()
            == Some(&expected)
    {
        return ArtifactOutcome::Unchanged(SavedArtifact {
            id: artifact.id,
            path,
            bytes: meta.len(),
        });
    }
    match materials.download_artifact(artifact).save(&path).await {
        Ok(bytes) => ArtifactOutcome::Fetched(SavedArtifact {
            id: artifact.id,
            path,
            bytes,
        }),
        Err(e) => {
            // A stale file under the name that did not match is not left to pass as evidence.
            if tokio::fs::symlink_metadata(&path)
                .await
                .is_ok_and(|m| m.file_type().is_file())
            {
                let _ = tokio::fs::remove_file(&path).await;
            }
            failed(path, e.to_string())
        }
    }
}

send_on_await!(DownloadArtifacts => ArtifactReport);

/// What [`SourceMaterials::upload_unless_present`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UploadOutcome {
    /// The file was uploaded: the source material with the new artifact.
    Uploaded {
        /// The source material as the upload answered.
        material: SourceMaterial,
        /// The file's SHA-256.
        sha256: Checksum,
    },
    /// An artifact already had the file's SHA-256: nothing was uploaded.
    AlreadyPresent {
        /// The source material as read.
        material: SourceMaterial,
        /// The artifact that has the same content.
        artifact: Uuid,
        /// The file's SHA-256.
        sha256: Checksum,
    },
}

impl UploadOutcome {
    /// Whether this call uploaded the file.
    pub fn uploaded(&self) -> bool {
        matches!(self, UploadOutcome::Uploaded { .. })
    }

    /// The source material, as last read or answered.
    pub fn material(&self) -> &SourceMaterial {
        match self {
            UploadOutcome::Uploaded { material, .. }
            | UploadOutcome::AlreadyPresent { material, .. } => material,
        }
    }
}

/// An upload skipped when the content is already there, from
/// [`SourceMaterials::upload_unless_present`]. `.await` sends it.
#[derive(Debug)]
#[must_use = "an operation does nothing until it is awaited"]
pub struct UploadUnlessPresent {
    materials: SourceMaterials,
    id: Result<String>,
    path: PathBuf,
    title: Option<String>,
}

impl UploadUnlessPresent {
    /// A title for the file, if it is uploaded.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Hashes the file, reads the source material, and uploads the file if no artifact has its
    /// SHA-256.
    pub async fn send(self) -> Result<UploadOutcome> {
        let id = self.id?;
        let sha256 = Checksum::of_file(Algorithm::Sha256, &self.path).await?;
        let material = self.materials.get(&id).await?;
        let present = material.artifacts.iter().find(|a| {
            a.file_hash_sha256
                .as_deref()
                .is_some_and(|h| h.trim().eq_ignore_ascii_case(sha256.hex()))
        });
        if let Some(artifact) = present {
            return Ok(UploadOutcome::AlreadyPresent {
                artifact: artifact.id,
                material,
                sha256,
            });
        }
        let mut upload = self.materials.upload(&id, Upload::path(&self.path));
        if let Some(title) = self.title {
            upload = upload.title(title);
        }
        let material = upload.await?;
        Ok(UploadOutcome::Uploaded { material, sha256 })
    }
}

send_on_await!(UploadUnlessPresent => UploadOutcome);

/// The source material an archiver still has to handle, from [`SourceMaterials::feed`].
#[derive(Debug, Clone)]
#[must_use = "a listing does nothing until it is streamed"]
pub struct ArchiverFeed {
    materials: SourceMaterials,
    namespace: String,
    bounds: Bounds,
}

impl ArchiverFeed {
    /// Ends the feed normally after `n` pieces of source material read from the listing
    /// (selected or not).
    pub fn max_items(mut self, n: u64) -> Self {
        self.bounds.max_items = Some(n);
        self
    }

    /// Ends the feed normally after `n` pages of the listing.
    pub fn max_pages(mut self, n: u64) -> Self {
        self.bounds.max_pages = Some(n);
        self
    }

    /// The selected source material, page after page of `GET source_material`; a listing that
    /// breaks ends the stream with its error. A blank namespace is refused as the first item.
    pub fn stream(self) -> BoxStream<'static, Result<SourceMaterial>> {
        if let Err(refusal) = check_text("namespace", &self.namespace) {
            return futures::stream::once(async move { Err(refusal) }).boxed();
        }
        let namespace = self.namespace;
        let mut listing = self.materials.list();
        if let Some(n) = self.bounds.max_items {
            listing = listing.max_items(n);
        }
        if let Some(n) = self.bounds.max_pages {
            listing = listing.max_pages(n);
        }
        listing
            .stream()
            .filter(move |item| {
                let keep = match item {
                    Ok(material) => material.awaits_archiving(&namespace),
                    Err(_) => true,
                };
                futures::future::ready(keep)
            })
            .boxed()
    }
}
