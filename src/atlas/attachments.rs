//! Attachments: what Atlas sessions produce (reports, tables, plots, captures).

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;

use super::{Annotation, Link, check_id, numbered_head};
use crate::error::{DecodeError, Error, Result, redact_url};
use crate::paginate::{Bounds, Head, PageSource, PageToken, Paginator, Refusal};
use crate::progress::{Progress, Reporter};
use crate::transport::ByteStream;
use crate::transport::{Answer, RequestBuilder, Transport};

/// Items per page when none is chosen.
pub const DEFAULT_PAGE_SIZE: u64 = 100;
/// The most items per page current servers give.
pub const MAX_PAGE_SIZE: u64 = 500;

/// The rate-limit key of downloads from the storage host, so they do not use up the Atlas
/// API's allowance.
const STORAGE_RATE_KEY: &str = "atlas-presigned-storage";

string_enum! {
    /// The file type of an attachment.
    pub enum AttachmentType {
        /// A PDF document.
        Pdf = "pdf",
        /// A CSV table.
        Csv = "csv",
        /// Binary data.
        Bin = "bin",
        /// A PNG image.
        Png = "png",
    }
}

/// An attachment as listings return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attachment {
    /// The attachment's id.
    #[serde(default)]
    pub attachment_id: Option<Uuid>,
    /// The original file name.
    pub attachment_name: String,
    /// The file type.
    pub attachment_type: AttachmentType,
    /// The display title.
    #[serde(default)]
    pub attachment_title: Option<String>,
    /// The description.
    #[serde(default)]
    pub attachment_description: Option<String>,
    /// Where the content comes from.
    #[serde(default)]
    pub attachment_citation: Option<String>,
    /// The session the attachment belongs to.
    #[serde(default)]
    pub attachment_source_session_id: Option<Uuid>,
    /// Who created it: an e-mail address, or `atlas`.
    #[serde(default)]
    pub attachment_created_by: String,
    /// When it was created.
    #[serde(with = "crate::time::utc")]
    pub attachment_created_at: DateTime<Utc>,
    /// Whether the UI shows it.
    pub is_visible: bool,
    /// Link relations, on servers that follow the Atlas linking convention.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// An attachment with its content payload and the storage URL of its file, as
/// [`Attachments::get`] and [`Attachments::update`] return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AttachmentDetails {
    /// The fields a listing shows.
    #[serde(flatten)]
    pub attachment: Attachment,
    /// The structured content (chart data, table data, …), as the server sent it.
    #[serde(default)]
    pub attachment_content: Option<serde_json::Value>,
    /// The storage URL of the file (`s3://…`; use [`Attachments::download`] to fetch it).
    #[serde(default)]
    pub s3_url: Option<String>,
}

/// The answer of [`Attachments::export`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AttachmentExport {
    /// A time-limited signed URL of the file; kept out of `Debug` output.
    #[serde(default)]
    pub presigned_url: Option<crate::SignedUrl>,
}

impl AttachmentExport {
    /// The signed URL, parsed; an error if the server gave none.
    pub fn url(&self) -> Result<Url> {
        let url = self
            .presigned_url
            .as_ref()
            .ok_or_else(|| Error::invalid("presigned_url", "the server gave no download URL"))?;
        url.url()
    }
}

/// The attachments of an Atlas instance, from [`Client::attachments`](super::Client::attachments).
#[derive(Debug, Clone)]
pub struct Attachments {
    transport: Transport,
}

impl Attachments {
    pub(crate) fn new(transport: Transport) -> Self {
        Attachments { transport }
    }

    /// Lists the caller's attachments and those Atlas created in their sessions
    /// (`GET /attachments`).
    ///
    /// ```no_run
    /// # async fn run(atlas: casefile::atlas::Client) -> casefile::Result<()> {
    /// use futures::TryStreamExt;
    /// let since = chrono::Utc::now() - chrono::Duration::days(7);
    /// let recent: Vec<_> = atlas.attachments().list()
    ///     .attachment_type("csv")
    ///     .created_after(since)
    ///     .stream()
    ///     .concurrency(4)
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListAttachments {
        ListAttachments {
            transport: self.transport.clone(),
            query: ListQuery::default(),
            per_page: DEFAULT_PAGE_SIZE,
            bounds: Bounds::default(),
        }
    }

    /// One attachment with its content payload (`GET /attachments/{id}`).
    pub fn get(&self, attachment_id: impl fmt::Display) -> GetAttachment {
        let id = attachment_id.to_string();
        GetAttachment::new(
            self.transport
                .get(&["attachments", &id])
                .checked(check_id("attachment_id", &id)),
        )
    }

    /// Changes an attachment's title, description, citation or visibility
    /// (`PATCH /attachments/{id}`); only the fields set are sent.
    ///
    /// ```no_run
    /// # async fn run(atlas: casefile::atlas::Client) -> casefile::Result<()> {
    /// let id = "e52a9631-e38f-4e77-8c08-38001a80ad36";
    /// // Sends {"attachment_title": "Telemetry", "attachment_citation": null}.
    /// atlas.attachments().update(id).title("Telemetry").clear_citation().await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, attachment_id: impl fmt::Display) -> UpdateAttachment {
        UpdateAttachment {
            transport: self.transport.clone(),
            id: attachment_id.to_string(),
            patch: AttachmentPatch::default(),
        }
    }

    /// A signed download URL of the attachment's file (`POST /attachments/{id}/export`).
    pub fn export(&self, attachment_id: impl fmt::Display) -> ExportAttachment {
        let id = attachment_id.to_string();
        ExportAttachment::new(
            self.transport
                .post(&["attachments", &id, "export"])
                .checked(check_id("attachment_id", &id)),
        )
    }

    /// Downloads the attachment's file: asks for a signed URL, then fetches it from the storage
    /// host without any Atlas credentials.
    ///
    /// ```no_run
    /// # async fn run(atlas: casefile::atlas::Client) -> casefile::Result<()> {
    /// let id = "e52a9631-e38f-4e77-8c08-38001a80ad36";
    /// let bytes = atlas.attachments().download(id).save("table-4.csv").await?;
    /// # Ok(()) }
    /// ```
    pub fn download(&self, attachment_id: impl fmt::Display) -> DownloadAttachment {
        DownloadAttachment {
            transport: self.transport.clone(),
            id: attachment_id.to_string(),
            progress: None,
        }
    }

    /// Lists the annotations of an attachment (`GET /attachments/{id}/annotations`): a listing
    /// like every other, read whether the server answers one bare array (Atlas seed 003,
    /// fixture `annotations_list.json`) or pages it (`{"totalCount", "results", "links"}`, at its
    /// own page size, following its `next` links).
    ///
    /// ```no_run
    /// # async fn run(atlas: casefile::atlas::Client) -> casefile::Result<()> {
    /// use futures::TryStreamExt;
    /// let id = "e52a9631-e38f-4e77-8c08-38001a80ad36";
    /// let annotations: Vec<_> = atlas.attachments().annotations(id).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn annotations(&self, attachment_id: impl fmt::Display) -> ListAnnotations {
        ListAnnotations {
            transport: self.transport.clone(),
            id: attachment_id.to_string(),
            bounds: Bounds::default(),
        }
    }
}

/// The filters of `GET /attachments`, sent as they are.
#[derive(Debug, Clone, Default, Serialize)]
struct ListQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_type: Option<AttachmentType>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::time::utc_option"
    )]
    created_after: Option<DateTime<Utc>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::time::utc_option"
    )]
    created_before: Option<DateTime<Utc>>,
}

/// Which page of a numbered listing.
#[derive(Debug, Serialize)]
pub(crate) struct PageQuery {
    #[serde(rename = "pageNum")]
    pub(crate) page_num: u64,
    #[serde(rename = "itemsPerPage")]
    pub(crate) items_per_page: u64,
}

/// `GET /attachments`, from [`Attachments::list`].
#[derive(Debug, Clone)]
#[must_use = "a listing does nothing until it is streamed"]
pub struct ListAttachments {
    transport: Transport,
    query: ListQuery,
    per_page: u64,
    bounds: Bounds,
}

impl ListAttachments {
    /// Only the attachments of this session.
    pub fn session_id(mut self, session_id: impl fmt::Display) -> Self {
        self.query.session_id = Some(session_id.to_string());
        self
    }

    /// Only attachments of this file type (`pdf`, `csv`, `bin`, …).
    pub fn attachment_type(mut self, attachment_type: impl Into<AttachmentType>) -> Self {
        self.query.attachment_type = Some(attachment_type.into());
        self
    }

    /// Only attachments created strictly after this time (sent as ISO-8601 in UTC, as given).
    ///
    /// Both bounds are exclusive, as the server applies them (the Atlas seed 003 only calls
    /// them "lower bound" and "upper bound"; the server compares strictly): an attachment
    /// created exactly at `time` is not listed. casefile sends the time unchanged
    /// rather than nudging it, because the server's timestamp precision is not published and
    /// a nudged bound would silently let in or leave out other attachments. To include an
    /// attachment created at `time`, pass a time just before it at the precision your
    /// attachments carry (e.g. one second before for the whole-second times Atlas answers
    /// with).
    pub fn created_after(mut self, time: DateTime<Utc>) -> Self {
        self.query.created_after = Some(time);
        self
    }

    /// Only attachments created strictly before this time (sent as ISO-8601 in UTC, as given);
    /// an attachment created exactly at `time` is not listed (see
    /// [`created_after`](Self::created_after)).
    pub fn created_before(mut self, time: DateTime<Utc>) -> Self {
        self.query.created_before = Some(time);
        self
    }

    /// Items per page, 1 to 500 (default 100), on servers that page.
    pub fn page_size(mut self, n: u64) -> Self {
        self.per_page = n;
        self
    }

    /// The client's transport, for the operations built on the listing.
    pub(super) fn transport(&self) -> &Transport {
        &self.transport
    }

    fn check(&self) -> Option<Refusal> {
        if let Some(refusal) = check_page_size(self.per_page) {
            return Some(refusal);
        }
        if self
            .query
            .session_id
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            return Some(Refusal("session_id", "must not be empty".into()));
        }
        if let (Some(after), Some(before)) = (self.query.created_after, self.query.created_before)
            && after >= before
        {
            return Some(Refusal(
                "created_after",
                format!("{after} is not before created_before {before}"),
            ));
        }
        None
    }

    fn paginator(self) -> Paginator<Attachment> {
        let refusal = self.check();
        let bounds = self.bounds;
        let ListAttachments {
            transport,
            query,
            per_page,
            ..
        } = self;
        Paginator::from_source(NumberedPages {
            transport,
            segments: vec!["attachments".into()],
            query,
            per_page: Some(per_page),
        })
        .refused(refusal)
        .bounded(bounds)
    }

    listing_methods!(Attachment, bounds);
}

/// Refuses a page size the server would not give.
fn check_page_size(per_page: u64) -> Option<Refusal> {
    (!(1..=MAX_PAGE_SIZE).contains(&per_page)).then(|| {
        Refusal(
            "page_size",
            format!("must be 1 to {MAX_PAGE_SIZE}, not {per_page}"),
        )
    })
}

/// The pages of a numbered listing at `segments` with `query`, numbered from 1: every Atlas
/// listing. Without a `per_page`, the first page is asked for without numbers (the server's own
/// page size), and the next ones as its `next` link says.
struct NumberedPages<Q> {
    transport: Transport,
    segments: Vec<String>,
    query: Q,
    per_page: Option<u64>,
}

impl<Q> NumberedPages<Q> {
    /// The page number and size `token` names (`None`: the first page, at `per_page` if set).
    fn page(&self, token: Option<&PageToken>) -> Result<Option<PageQuery>> {
        match token {
            None => Ok(self.per_page.map(|size| PageQuery {
                page_num: 1,
                items_per_page: size,
            })),
            Some(&PageToken::Number { page, size }) => Ok(Some(PageQuery {
                page_num: page,
                items_per_page: size,
            })),
            Some(other) => Err(Error::Pagination(format!(
                "a numbered listing was handed {other}"
            ))),
        }
    }
}

impl<Q: Serialize + Send + Sync + 'static> PageSource for NumberedPages<Q> {
    fn request(&self, token: Option<&PageToken>) -> Result<RequestBuilder> {
        let page = self.page(token)?;
        let segments: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        Ok(self
            .transport
            .request(Method::GET, &segments)
            .query(&self.query)
            .query(&page))
    }

    fn head(&self, answer: &Answer, token: Option<&PageToken>) -> Result<Head> {
        let page = self.page(token)?.unwrap_or(PageQuery {
            page_num: 1,
            items_per_page: DEFAULT_PAGE_SIZE,
        });
        numbered_head(answer, page.page_num, page.items_per_page)
    }
}

operation! {
    /// `GET /attachments/{id}`, from [`Attachments::get`].
    GetAttachment => AttachmentDetails
}

/// The body of `PATCH /attachments/{id}`: an absent field is untouched, `Some(None)` is `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct AttachmentPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_title: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_description: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_citation: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_visible: Option<bool>,
}

/// `PATCH /attachments/{id}`, from [`Attachments::update`]. Each field is either set, cleared
/// (sent as `null`), or left untouched (not sent).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent or awaited"]
pub struct UpdateAttachment {
    transport: Transport,
    id: String,
    patch: AttachmentPatch,
}

impl UpdateAttachment {
    /// Sets the display title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.patch.attachment_title = Some(Some(title.into()));
        self
    }

    /// Clears the display title (sends `null`).
    pub fn clear_title(mut self) -> Self {
        self.patch.attachment_title = Some(None);
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.patch.attachment_description = Some(Some(description.into()));
        self
    }

    /// Clears the description (sends `null`).
    pub fn clear_description(mut self) -> Self {
        self.patch.attachment_description = Some(None);
        self
    }

    /// Sets the source citation.
    pub fn citation(mut self, citation: impl Into<String>) -> Self {
        self.patch.attachment_citation = Some(Some(citation.into()));
        self
    }

    /// Clears the source citation (sends `null`).
    pub fn clear_citation(mut self) -> Self {
        self.patch.attachment_citation = Some(None);
        self
    }

    /// Shows or hides the attachment in the UI.
    pub fn visible(mut self, visible: bool) -> Self {
        self.patch.is_visible = Some(visible);
        self
    }

    /// Sends the request; refused before sending when nothing was set.
    pub async fn send(self) -> Result<AttachmentDetails> {
        check_id("attachment_id", &self.id)?;
        if self.patch == AttachmentPatch::default() {
            return Err(Error::invalid(
                "update",
                "nothing to change: set or clear at least one field",
            ));
        }
        self.transport
            .request(Method::PATCH, &["attachments", &self.id])
            .json(&self.patch)
            .send()
            .await
    }
}

operation! {
    /// `POST /attachments/{id}/export`, from [`Attachments::export`].
    ExportAttachment => AttachmentExport
}

/// Export and download of an attachment's file, from [`Attachments::download`]. Awaiting it
/// gives the body as a stream; [`save`](Self::save) writes it to a file.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent or awaited"]
pub struct DownloadAttachment {
    transport: Transport,
    id: String,
    progress: Option<Reporter>,
}

impl DownloadAttachment {
    /// Calls `callback` with the bytes of the file received so far (see [`Progress`]); the total
    /// is the storage host's `Content-Length`.
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Reporter::new(callback));
        self
    }

    /// Asks for the signed URL and starts the download; the body arrives as a stream.
    pub async fn send(self) -> Result<ByteStream> {
        check_id("attachment_id", &self.id)?;
        let export: AttachmentExport = self
            .transport
            .post(&["attachments", &self.id, "export"])
            .send()
            .await?;
        let url = export.url().map_err(|e| {
            let reason = match e {
                Error::InvalidInput { reason, .. } => reason,
                other => other.to_string(),
            };
            let export_url = self
                .transport
                .api_base()
                .join(&format!("attachments/{}/export", self.id));
            Error::from(DecodeError {
                status: 200,
                path: "presigned_url".into(),
                message: reason,
                method: "POST".into(),
                url: export_url.map(|u| redact_url(&u)).unwrap_or_default(),
                // The signed URL is a capability: shown as its Display, without query values.
                body: format!("{export:?}"),
            })
        })?;
        // The signed URL carries its own authorization: no Atlas credentials go to the storage
        // host, and the download does not count against the API's rate limit.
        let stream = self
            .transport
            .get_external(url)
            .rate_key(STORAGE_RATE_KEY)
            .send_stream()
            .await?;
        Ok(stream.report_to(self.progress))
    }

    /// Downloads the file to `path` (through `<path>.part`, renamed when complete and removed
    /// on failure) and returns the number of bytes written. See [`ByteStream::save`].
    pub async fn save(self, path: impl AsRef<Path>) -> Result<u64> {
        self.send().await?.save(path).await
    }

    /// Downloads the file into the directory `dir` under
    /// [`safe_file_name(name)`](crate::safe_file_name), so that a name from the server (an
    /// attachment's `attachment_name`) cannot lead outside `dir`; gives the path and the number
    /// of bytes written. See [`ByteStream::save_in`].
    ///
    /// ```no_run
    /// # async fn run(atlas: casefile::atlas::Client, a: casefile::atlas::Attachment) -> casefile::Result<()> {
    /// if let Some(id) = a.attachment_id {
    ///     // The id keeps two attachments of the same name apart.
    ///     let name = format!("{id}-{}", a.attachment_name);
    ///     let (path, bytes) = atlas.attachments().download(id).save_in("exports", &name).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn save_in(self, dir: impl AsRef<Path>, name: &str) -> Result<(PathBuf, u64)> {
        self.send().await?.save_in(dir, name).await
    }
}

/// `GET /attachments/{id}/annotations`, from [`Attachments::annotations`].
#[derive(Debug, Clone)]
#[must_use = "a listing does nothing until it is streamed"]
pub struct ListAnnotations {
    transport: Transport,
    id: String,
    bounds: Bounds,
}

impl ListAnnotations {
    fn paginator(self) -> Paginator<Annotation> {
        let refusal = check_id("attachment_id", &self.id)
            .err()
            .map(Refusal::from_error);
        Paginator::from_source(NumberedPages {
            segments: vec!["attachments".into(), self.id, "annotations".into()],
            transport: self.transport,
            query: (),
            per_page: None,
        })
        .refused(refusal)
        .bounded(self.bounds)
    }

    listing_methods!(Annotation, bounds);
}

send_on_await!(
    UpdateAttachment => AttachmentDetails,
    DownloadAttachment => ByteStream,
);
