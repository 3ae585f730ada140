//! The archive: the stored files behind document entities (originals, PDF and CSV renditions).

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use super::Entity;
use crate::checksum::Checksum;
use crate::error::{DecodeError, Error, Result, redact_url};
use crate::progress::{Progress, Reporter};
use crate::transport::{ByteStream, RequestBuilder, Transport};

/// One of the files stored for a document: what [`Archive::file`] fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rendition {
    /// The file as it was ingested: `links.file`, the `contentHash` property.
    Original,
    /// The PDF made of it (office documents, e-mails; schema `Pages`): `links.pdf`, `pdfHash`.
    Pdf,
    /// The CSV made of a table (spreadsheets; schema `Table`): `links.csv`, `csvHash`.
    Csv,
}

impl Rendition {
    /// The key of the entity's `links` that holds this file's URL: `file`, `pdf` or `csv`.
    pub fn link(self) -> &'static str {
        match self {
            Rendition::Original => "file",
            Rendition::Pdf => "pdf",
            Rendition::Csv => "csv",
        }
    }

    /// The property that holds this file's hash: `contentHash`, `pdfHash` or `csvHash` (the
    /// `prop` of OpenAleph's `archive/resolve`).
    pub fn property(self) -> &'static str {
        match self {
            Rendition::Original => "contentHash",
            Rendition::Pdf => "pdfHash",
            Rendition::Csv => "csvHash",
        }
    }
}

impl fmt::Display for Rendition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rendition::Original => "original file",
            Rendition::Pdf => "PDF rendition",
            Rendition::Csv => "CSV rendition",
        })
    }
}

/// The archive: `client.archive()`.
///
/// Where a document's files are, and who may fetch them, depends on the server
/// (spec: `aleph/views/serializers.py` `EntitySerializer`, `aleph/views/archive_api.py` of each):
///
/// - **Aleph 4.1** (and OpenAleph up to 5.1) puts `links.file`, `links.pdf` and `links.csv` on
///   every serialization of a document (search hits too). Each is a bearer URL
///   `…/api/2/archive?token=<jwt>`: the token names the file and expires after a day, and no
///   credentials are needed.
/// - **OpenAleph 5.2 and later** put them only on the detail view, `GET /entities/{id}`
///   (`aleph/views/entities_api.py`): search hits and streamed entities have none.
/// - **OpenAleph 5.3.1** (`main`, 2026-07) links to
///   `…/api/2/archive/resolve?entity=<id>&prop=contentHash|pdfHash|csvHash` instead, which checks
///   the caller's own credentials and answers with a freshly signed URL: the storage host's, or
///   an `archive?token=` URL when the storage cannot sign.
///
/// [`Archive::file`] hides all three: it takes the link from the entity, or from its detail view
/// when the entity has none, and follows it as [`Archive::download_link`] does.
///
/// # Where credentials go
///
/// The API key is sent to the configured instance only, never to the host a link names:
///
/// - an archive URL (path `…/api/2/archive` or `…/api/2/archive/resolve`) is **rebased** onto the
///   configured instance, whatever host it names. The server builds these on its public UI URL
///   (`APP_UI_URL`), which may be another host name than the one the client talks to; a link
///   naming a host that is neither (another instance, a tampered link) is rebased the same way,
///   so that host receives nothing at all and the configured instance answers (a `404` if it does
///   not know the entity or token);
/// - a `resolve` URL is asked with `redirect=false`, so that the signed URL comes back as JSON
///   (`{"url": …}`) instead of as a redirect that carries the request further. casefile follows
///   that one answer and no other `resolve` after it;
/// - any other URL (a storage host's signed URL) is fetched without the client's credentials or
///   headers and without a `Referer`, and, being a capability, never over plain `http://` to a
///   remote host (see [`Transport::get_external`](crate::Transport::get_external)). A redirect of
///   the instance to another origin loses the `Authorization` header on the way.
#[derive(Debug, Clone)]
pub struct Archive {
    transport: Transport,
}

impl Archive {
    pub(crate) fn new(transport: Transport) -> Self {
        Archive { transport }
    }

    /// A stored file of the document `entity`, from Aleph 4.1 or OpenAleph 5 alike (see the
    /// [`Archive`] documentation).
    ///
    /// The URL is the entity's `links.file`, `links.pdf` or `links.csv`; an entity that has none
    /// (an OpenAleph 5.2+ search hit, a streamed entity) is first fetched with
    /// `GET /entities/{id}`, whose detail view has them. An entity whose detail view has no such
    /// link has no such file: the download fails with [`Error::InvalidInput`] (argument
    /// `rendition`) naming the entity, before anything else is asked. An entity with neither the
    /// link nor an id is refused before any request.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use casefile::aleph::Rendition;
    /// use futures::TryStreamExt;
    ///
    /// let hits: Vec<_> = aleph
    ///     .entities()
    ///     .search()
    ///     .query("invoice")
    ///     .schema("Pages")
    ///     .max_items(10)
    ///     .stream()
    ///     .try_collect()
    ///     .await?;
    /// for doc in &hits {
    ///     let id = doc.id.as_deref().unwrap_or("unnamed");
    ///     aleph.archive().file(doc, Rendition::Pdf).save_in("pdfs", &format!("{id}.pdf")).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn file(&self, entity: &Entity, rendition: Rendition) -> Download {
        let step = match (entity.links.get(rendition.link()), entity.id.as_deref()) {
            (Some(link), _) => Step::Hop(self.hop(link.expose())),
            (None, Some(id)) if !id.trim().is_empty() => Step::Entity {
                request: self.transport.get(&["entities", id]),
                id: id.to_owned(),
                rendition,
            },
            (None, _) => Step::Hop(Hop::Fetch(self.refused(
                "entity",
                format!(
                    "has no `links.{}` and no id to look it up",
                    rendition.link()
                ),
            ))),
        };
        Download {
            transport: self.transport.clone(),
            step,
            progress: None,
            expected: recorded(entity, rendition),
        }
    }

    /// The file of an export (from [`Xref::exports`](super::Xref::exports) or
    /// [`ReadyExport`](super::ReadyExport)), through its `links.download`, checked against its
    /// `content_hash` (SHA-1) as it arrives. An export that is not
    /// [`Successful`](super::ExportStatus::Successful), or has no download link, is refused
    /// before anything is sent.
    pub fn export(&self, export: &super::Export) -> Download {
        let refused = |reason: String| Hop::Fetch(self.refused("export", reason));
        let hop = match (&export.status, export.links.get("download")) {
            (Some(super::ExportStatus::Successful), Some(link)) => self.hop(link.expose()),
            (status, _) => refused(format!(
                "export {} has no file to download (status {})",
                export.id,
                status.as_ref().map_or("unknown".into(), |s| s.to_string())
            )),
        };
        let expected = export.content_hash.as_deref().map(|hash| {
            Checksum::sha1(hash).map_err(|_| {
                Error::invalid(
                    "export",
                    format!(
                        "its content_hash is not a SHA-1 digest: {:?}",
                        crate::error::snippet(hash.as_bytes())
                    ),
                )
            })
        });
        Download {
            transport: self.transport.clone(),
            step: Step::Hop(hop),
            progress: None,
            expected,
        }
    }

    /// `GET /archive?token=<token>`: the file a signed archive token names.
    ///
    /// The seed API (3.2) named this parameter `claim`; current servers take the signed
    /// `token` found in an entity's links, so the seed's `claim` download is this call.
    pub fn download(&self, token: &str) -> Download {
        let check = match token.trim().is_empty() {
            true => Err(Error::invalid("token", "must not be empty")),
            false => Ok(()),
        };
        let request = self
            .transport
            .get(&["archive"])
            .query(&[("token", token)])
            .checked(check);
        Download {
            transport: self.transport.clone(),
            step: Step::Hop(Hop::Fetch(request)),
            progress: None,
            expected: None,
        }
    }

    /// The file behind a URL from an entity's `links` (`file`, `pdf`, `csv`) or an export's
    /// `links.download`.
    ///
    /// An archive URL (`…/api/2/archive?token=…`, or OpenAleph's
    /// `…/api/2/archive/resolve?entity=…&prop=…`) is asked of the configured instance, with the
    /// client's credentials, whatever host it names; a `resolve` URL is asked with
    /// `redirect=false` and the URL it answers is fetched in turn. Any other http(s) URL (a
    /// storage host's signed URL) is fetched without credentials. See the [`Archive`]
    /// documentation; [`file`](Self::file) finds the link of an entity that has none.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// let doc = aleph.entities().get("b2c0104f5c8a1cd9b075be4b0100000007").await?;
    /// if let Some(link) = doc.links.get("file") {
    ///     // The link is a capability: `expose` hands it only to the download.
    ///     aleph.archive().download_link(link.expose()).save("big-archive.zip").await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn download_link(&self, url: &str) -> Download {
        Download {
            transport: self.transport.clone(),
            step: Step::Hop(self.hop(url)),
            progress: None,
            expected: None,
        }
    }

    /// What fetching `url` takes; see [`Hop`].
    fn hop(&self, url: &str) -> Hop {
        hop(&self.transport, url)
    }

    /// A request that fails, when sent, with `argument` refused for `reason`.
    fn refused(&self, argument: &'static str, reason: String) -> RequestBuilder {
        refused(&self.transport, argument, reason)
    }
}

/// A request that fails, when sent, with `argument` refused for `reason`; nothing is sent.
fn refused(transport: &Transport, argument: &'static str, reason: String) -> RequestBuilder {
    transport
        .get(&["archive"])
        .checked(Err(Error::invalid(argument, reason)))
}

/// Where a file's URL leads.
#[derive(Debug)]
enum Hop {
    /// The file itself: an archive token URL (on the instance) or a signed storage URL.
    Fetch(RequestBuilder),
    /// OpenAleph's `archive/resolve` (on the instance, `redirect=false`): its answer's `url` is
    /// the file. With the URL asked, redacted, for errors.
    Resolve(RequestBuilder, String),
}

/// What a [`Download`] does first.
#[derive(Debug)]
enum Step {
    Hop(Hop),
    /// `GET /entities/{id}` for the entity's `links`.
    Entity {
        request: RequestBuilder,
        id: String,
        rendition: Rendition,
    },
}

/// What kind of URL `url` is, by its path: an archive route of Aleph (under any prefix the
/// instance is served at), or anything else.
enum Kind {
    /// `…/api/2/archive/resolve`.
    Resolve,
    /// `…/api/2/archive`.
    Token,
    /// Elsewhere: storage.
    External,
}

fn kind(url: &Url) -> Kind {
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    match segments.as_slice() {
        [.., "api", "2", "archive", "resolve"] => Kind::Resolve,
        [.., "api", "2", "archive"] => Kind::Token,
        _ => Kind::External,
    }
}

/// What fetching `url` takes: an archive URL goes to the configured instance (rebased, with
/// credentials), a `resolve` one with `redirect=false`; any other http(s) URL goes to its
/// host without credentials. A URL that does not parse, or is not http(s), is refused.
fn hop(transport: &Transport, url: &str) -> Hop {
    let url = match Url::parse(url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        Ok(url) => {
            let reason = format!("`{}` is not an http(s) URL", url.scheme());
            return Hop::Fetch(refused(transport, "url", reason));
        }
        Err(e) => return Hop::Fetch(refused(transport, "url", format!("does not parse: {e}"))),
    };
    match kind(&url) {
        Kind::Resolve => {
            let on_instance = transport.rebase(&url);
            let request = transport
                .get_url(&on_instance)
                .query_param("redirect", "false");
            Hop::Resolve(request, redact_url(&on_instance))
        }
        Kind::Token => Hop::Fetch(transport.get_url(&url)),
        Kind::External => Hop::Fetch(transport.get_external(url)),
    }
}

/// Asks `archive/resolve` (`aleph/views/archive_api.py` `resolve` on OpenAleph) for the file's
/// URL and gives the request that fetches it. The answer's URL is a capability, so it is never
/// shown in an error; a second `resolve` is refused rather than followed.
async fn resolve(
    transport: &Transport,
    request: RequestBuilder,
    asked: &str,
) -> Result<RequestBuilder> {
    let body = request.send_bytes().await?;
    let url = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|answer| answer.get("url")?.as_str().map(str::to_owned));
    let Some(url) = url else {
        return Err(DecodeError {
            status: 200,
            path: "url".into(),
            message: "expected a JSON object with the string `url`".into(),
            method: "GET".into(),
            url: asked.to_owned(),
            body: "(not shown: a resolve answer carries a signed URL)".into(),
        }
        .into());
    };
    match hop(transport, &url) {
        Hop::Resolve(..) => Err(Error::invalid(
            "url",
            format!("{asked} answered with another `archive/resolve` URL; casefile follows one"),
        )),
        Hop::Fetch(request) => Ok(request),
    }
}

/// A file download; from [`Archive::file`], [`Archive::download`] or
/// [`Archive::download_link`].
#[derive(Debug)]
#[must_use = "a download does nothing until it is sent or awaited"]
pub struct Download {
    transport: Transport,
    step: Step,
    progress: Option<Reporter>,
    /// The digest the file must hash to (see [`verify`](Self::verify)).
    expected: Option<Result<Checksum>>,
}

impl Download {
    /// Calls `callback` with the bytes received so far (see [`Progress`]).
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Reporter::new(callback));
        self
    }

    /// Checks the file against `checksum` as it arrives: a file that hashes to anything else
    /// ends with [`Error::Mismatch`](crate::Error::Mismatch), and [`save`](Self::save) keeps
    /// nothing under the final name. [`Archive::file`] checks against the entity's own hash
    /// (`contentHash`, `pdfHash`, `csvHash`, SHA-1 in Aleph's archive) without being asked; an
    /// export's [`content_hash`](super::Export::content_hash) is given here.
    pub fn verify(mut self, checksum: Checksum) -> Self {
        self.expected = Some(Ok(checksum));
        self
    }

    /// The file as a stream of bytes, read as it arrives.
    pub async fn send(self) -> Result<ByteStream> {
        let Download {
            transport,
            step,
            progress,
            mut expected,
        } = self;
        let hop = match step {
            Step::Hop(hop) => hop,
            Step::Entity {
                request,
                id,
                rendition,
            } => {
                let entity: Entity = request.send().await?;
                expected = expected.or_else(|| recorded(&entity, rendition));
                let Some(link) = entity.links.get(rendition.link()) else {
                    return Err(Error::invalid(
                        "rendition",
                        format!(
                            "entity `{id}` has no {rendition}: `GET /entities/{id}` gives no \
                             `links.{}` (no `{}`, or not a document)",
                            rendition.link(),
                            rendition.property()
                        ),
                    ));
                };
                hop(&transport, link.expose())
            }
        };
        let request = match hop {
            Hop::Fetch(request) => request,
            Hop::Resolve(request, asked) => resolve(&transport, request, &asked).await?,
        };
        let expected = expected.transpose()?;
        let mut stream = request.send_stream().await?;
        if let Some(checksum) = expected {
            stream = stream.verify(checksum);
        }
        Ok(stream.report_to(progress))
    }

    /// Writes the file to `path` (through `<path>.part`, renamed when complete and removed on
    /// failure) and returns the number of bytes written. See [`ByteStream::save`].
    pub async fn save(self, path: impl AsRef<Path>) -> Result<u64> {
        self.send().await?.save(path).await
    }

    /// Writes the file into the directory `dir` under
    /// [`safe_file_name(name)`](crate::safe_file_name), so that a name from the server (a
    /// document's `fileName`) cannot lead outside `dir`; gives the path and the number of bytes
    /// written. See [`ByteStream::save_in`].
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
    /// use casefile::aleph::Rendition;
    ///
    /// let doc = aleph.entities().get("b2c0104f5c8a1cd9b075be4b0100000007").await?;
    /// if let (Some(id), Some(name)) = (&doc.id, doc.first("fileName")) {
    ///     // The id keeps two documents of the same name apart.
    ///     let name = format!("{id}-{name}");
    ///     let (path, bytes) = aleph.archive().file(&doc, Rendition::Original).save_in("evidence", &name).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn save_in(self, dir: impl AsRef<Path>, name: &str) -> Result<(PathBuf, u64)> {
        self.send().await?.save_in(dir, name).await
    }
}

send_on_await!(Download => ByteStream);

/// The digest Aleph's archive recorded for `entity`'s `rendition` (its `contentHash`,
/// `pdfHash` or `csvHash`: a SHA-1, servicelayer `archive/util.py` `checksum`), if the entity has
/// one. A value that is not a SHA-1 digest is an error of the download, not a file left
/// unchecked.
fn recorded(entity: &Entity, rendition: Rendition) -> Option<Result<Checksum>> {
    let hash = entity.first(rendition.property())?;
    Some(Checksum::sha1(hash).map_err(|_| {
        Error::invalid(
            "entity",
            format!(
                "its `{}` is not a SHA-1 digest: {:?}",
                rendition.property(),
                crate::error::snippet(hash.as_bytes())
            ),
        )
    }))
}
