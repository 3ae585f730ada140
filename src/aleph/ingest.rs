//! Document ingest: [`Collections::ingest`] uploads one document with its [`IngestMeta`]
//! ([`Ingest`]), and [`Collections::create_folder`] creates a folder ([`CreateFolder`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::collections::Collections;
use super::de_id;
use crate::Form;
use crate::error::{Error, Result};
use crate::progress::{Progress, Reporter};
use crate::transport::Transport;
use crate::upload::Upload;

/// The metadata of a document to ingest (the multipart `meta` field). All optional; a folder
/// needs `foreign_id`.
///
/// ```
/// use casefile::aleph::IngestMeta;
///
/// let meta = IngestMeta { title: Some("Board minutes".into()), ..IngestMeta::default() }
///     .parent_id("b2c0104f5c8a1cd9b075be4b0100000007");
/// assert!(meta.parent_id.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestMeta {
    /// The file name to record (default: the upload's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The caller's own unique key of the document (required for a folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_id: Option<String>,
    /// The id of the folder or archive it belongs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Who published it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Languages (ISO 639-3 codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Countries (ISO codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// The MIME type (default: detected by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Where the document was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The document's date (`YYYY`, `YYYY-MM-DD`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// When it was authored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authored_at: Option<String>,
    /// When it was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// When it was last modified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
    /// When it was retrieved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieved_at: Option<String>,
    /// The crawler that found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawler: Option<String>,
}

impl IngestMeta {
    /// Metadata with a foreign id (what a folder needs).
    pub fn with_foreign_id(foreign_id: impl Into<String>) -> Self {
        IngestMeta {
            foreign_id: Some(foreign_id.into()),
            ..IngestMeta::default()
        }
    }

    /// Sets the folder or archive it belongs in.
    pub fn parent_id(mut self, parent_id: impl fmt::Display) -> Self {
        self.parent_id = Some(parent_id.to_string());
        self
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

impl Collections {
    /// `POST /collections/{id}/ingest`: uploads a document (streamed multipart: the `meta` JSON
    /// and the `file`) and returns the id of the new document entity. Aleph answers `201`
    /// `{"status": "ok", "id": "<id>.<signature>"}`.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use casefile::{Upload, aleph::IngestMeta};
    /// let id = aleph
    ///     .collections()
    ///     .ingest("4", Upload::path("minutes.pdf"), IngestMeta::default().title("Board minutes"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn ingest(&self, id: impl fmt::Display, upload: Upload, meta: IngestMeta) -> Ingest {
        Ingest {
            transport: self.transport.clone(),
            id: id.to_string(),
            upload: Some(upload),
            meta,
            flags: IngestFlags::default(),
            retry: None,
            on_retry: None,
        }
    }

    /// `POST /collections/{id}/ingest` without a file: creates a folder (its `foreign_id` is
    /// required, checked before sending) and returns its id.
    pub fn create_folder(&self, id: impl fmt::Display, meta: IngestMeta) -> CreateFolder {
        CreateFolder(Ingest {
            transport: self.transport.clone(),
            id: id.to_string(),
            upload: None,
            meta,
            flags: IngestFlags::default(),
            retry: None,
            on_retry: None,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize)]
struct IngestFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<bool>,
}

/// Uploads a document; from [`Collections::ingest`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct Ingest {
    transport: Transport,
    id: String,
    upload: Option<Upload>,
    meta: IngestMeta,
    flags: IngestFlags,
    retry: Option<crate::RetryPolicy>,
    on_retry: Option<OnRetry>,
}

/// Told before each retry of an ingest (for `ingest_dir`'s events and counts).
#[derive(Clone)]
pub(crate) struct OnRetry(
    pub(crate) std::sync::Arc<dyn Fn(&crate::transport::RetryEvent<'_>) + Send + Sync>,
);

impl fmt::Debug for OnRetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnRetry")
    }
}

impl Ingest {
    /// Process the document before answering (`sync=true`; default: queue it).
    pub fn sync(mut self, sync: bool) -> Self {
        self.flags.sync = Some(sync);
        self
    }

    /// Index the document (default `true`).
    pub fn index(mut self, index: bool) -> Self {
        self.flags.index = Some(index);
        self
    }

    /// Retries with `policy` and tells `on_retry` before each retry (for `ingest_dir`).
    pub(crate) fn retried(mut self, policy: crate::RetryPolicy, on_retry: OnRetry) -> Self {
        self.retry = Some(policy);
        self.on_retry = Some(on_retry);
        self
    }

    /// Calls `callback` with the bytes of the file sent so far (see [`Progress`]).
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        if let Some(upload) = &mut self.upload {
            upload.report_to(Reporter::new(callback));
        }
        self
    }

    /// Sends the request and returns the id of the document entity.
    pub async fn send(self) -> Result<String> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(deserialize_with = "de_id")]
            id: String,
        }
        if self.upload.is_none()
            && self
                .meta
                .foreign_id
                .as_deref()
                .is_none_or(|f| f.trim().is_empty())
        {
            return Err(Error::invalid(
                "meta",
                "a folder (an ingest without a file) needs a foreign_id",
            ));
        }
        let meta =
            serde_json::to_string(&self.meta).map_err(|e| Error::invalid("meta", e.to_string()))?;
        // With a foreign id the same request again replaces the same document (Aleph's
        // `Document.save` in `aleph/model/document.py` looks the document up by it), so it may be
        // retried like a `PUT`.
        let idempotent = self
            .meta
            .foreign_id
            .as_deref()
            .is_some_and(|f| !f.trim().is_empty());
        // Without a file the server makes a folder.
        let mut form = Form::new().text("meta", meta);
        if let Some(upload) = self.upload {
            form = form.file("file", upload);
        }
        let mut request = self
            .transport
            .post(&["collections", &self.id, "ingest"])
            .query(&self.flags)
            .multipart(form)
            .idempotent(idempotent);
        if let Some(policy) = self.retry {
            request = request.retry(policy);
        }
        if let Some(hook) = self.on_retry {
            request = request.on_retry(move |event| (hook.0)(event));
        }
        let answer: Answer = request.send().await?;
        Ok(answer.id)
    }
}

/// Creates a folder; from [`Collections::create_folder`].
#[derive(Debug)]
#[must_use = "an operation does nothing until it is sent or awaited"]
pub struct CreateFolder(Ingest);

impl CreateFolder {
    /// Create the folder before answering (`sync=true`).
    pub fn sync(self, sync: bool) -> Self {
        CreateFolder(self.0.sync(sync))
    }

    /// Retries with `policy` and tells `on_retry` before each retry (for `ingest_dir`).
    pub(crate) fn retried(self, policy: crate::RetryPolicy, on_retry: OnRetry) -> Self {
        CreateFolder(self.0.retried(policy, on_retry))
    }

    /// Sends the request and returns the id of the folder entity.
    pub async fn send(self) -> Result<String> {
        self.0.send().await
    }
}

send_on_await!(Ingest => String, CreateFolder => String);
