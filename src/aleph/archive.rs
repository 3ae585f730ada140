//! The archive: the stored files behind document entities (originals, PDF and CSV renditions).
//!
//! A document entity's `links.file`, `links.pdf` and `links.csv` are signed URLs of
//! `GET /archive?token=<jwt>`; the token names the file and expires. The server answers with the
//! file, or with a `302` redirect to its storage host (a signed bucket URL). casefile follows
//! the redirect without the API key: credentials never leave for another host.

use std::path::{Path, PathBuf};

use url::Url;

use crate::error::{Error, Result};
use crate::progress::{Progress, Reporter};
use crate::transport::{ByteStream, RequestBuilder, Transport};

/// The archive: `client.archive()`.
#[derive(Debug, Clone)]
pub struct Archive {
    transport: Transport,
}

impl Archive {
    pub(crate) fn new(transport: Transport) -> Self {
        Archive { transport }
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
        Download {
            request: self
                .transport
                .get(&["archive"])
                .query(&[("token", token)])
                .checked(check),
            progress: None,
        }
    }

    /// The file behind a signed URL from an entity's `links` (`file`, `pdf`, `csv`).
    ///
    /// An archive URL (`…/api/2/archive?token=…`) is fetched from the configured instance even
    /// when the server wrote it with another host name; any other URL (a storage host's signed
    /// URL) is fetched without credentials.
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
        let refused = |reason: String| {
            let error = Error::invalid("url", reason);
            self.transport.get(&["archive"]).checked(Err(error))
        };
        let request = match Url::parse(url) {
            Ok(url) if url.path().contains("/api/2/archive") => self.transport.get_url(&url),
            Ok(url) if matches!(url.scheme(), "http" | "https") => self.transport.get_external(url),
            Ok(url) => refused(format!("`{}` is not an http(s) URL", url.scheme())),
            Err(e) => refused(format!("does not parse: {e}")),
        };
        Download {
            request,
            progress: None,
        }
    }
}

/// A file download; from [`Archive::download`] or [`Archive::download_link`].
#[derive(Debug)]
#[must_use = "a download does nothing until it is sent or awaited"]
pub struct Download {
    request: RequestBuilder,
    progress: Option<Reporter>,
}

impl Download {
    /// Calls `callback` with the bytes received so far (see [`Progress`]).
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Reporter::new(callback));
        self
    }

    /// The file as a stream of bytes, read as it arrives.
    pub async fn send(self) -> Result<ByteStream> {
        let stream = self.request.send_stream().await?;
        Ok(stream.report_to(self.progress))
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
    /// let doc = aleph.entities().get("b2c0104f5c8a1cd9b075be4b0100000007").await?;
    /// if let (Some(id), Some(link), Some(name)) =
    ///     (&doc.id, doc.links.get("file"), doc.first("fileName"))
    /// {
    ///     // The id keeps two documents of the same name apart.
    ///     let name = format!("{id}-{name}");
    ///     let (path, bytes) = aleph.archive().download_link(link.expose()).save_in("evidence", &name).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn save_in(self, dir: impl AsRef<Path>, name: &str) -> Result<(PathBuf, u64)> {
        self.send().await?.save_in(dir, name).await
    }
}

send_on_await!(Download => ByteStream);
