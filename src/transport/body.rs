//! Answers read as they arrive: raw bytes to save, or JSON lines to decode one by one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;

use super::Prepared;
use crate::checksum::Checksum;
use crate::error::{DecodeError, Error, Limit, LimitError, Result, redact_url, snippet};
use crate::progress::{Progress, Reporter};

/// The body of an answer as a stream of byte chunks, read as it arrives.
///
/// ```no_run
/// # async fn run(stream: casefile::transport::ByteStream) -> casefile::Result<()> {
/// let written = stream.save("evidence/report.pdf").await?;
/// println!("{written} bytes");
/// # Ok(()) }
/// ```
pub struct ByteStream {
    inner: BoxStream<'static, Result<Bytes>>,
    content_length: Option<u64>,
    method: String,
    url: String,
    /// The longest JSON line [`json_lines`](Self::json_lines) accepts.
    max_line: u64,
}

impl fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteStream")
            .field("url", &self.url)
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

impl ByteStream {
    /// The body `inner` of the answer to `req` (the transport's limits already applied to it).
    pub(super) fn new(
        inner: impl Stream<Item = Result<Bytes>> + Send + 'static,
        content_length: Option<u64>,
        req: &Prepared,
        max_line: u64,
    ) -> Self {
        ByteStream {
            inner: inner.boxed(),
            content_length,
            method: req.method.to_string(),
            url: redact_url(&req.url),
            max_line,
        }
    }

    /// Calls `callback` with the bytes received so far each time a chunk arrives (and once with
    /// 0 at once); the total is the announced length. Works with [`save`](Self::save),
    /// [`json_lines`](Self::json_lines) and reading the stream directly.
    ///
    /// ```no_run
    /// # async fn run(stream: casefile::transport::ByteStream) -> casefile::Result<()> {
    /// stream
    ///     .progress(|p| eprint!("\r{} of {:?} bytes", p.done, p.total))
    ///     .save("evidence/report.pdf")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn progress(self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.report_to(Some(Reporter::new(callback)))
    }

    /// Counts the bytes as they arrive into `reporter`, if there is one.
    pub(crate) fn report_to(mut self, reporter: Option<Reporter>) -> Self {
        if let Some(reporter) = reporter {
            self.inner = reporter
                .count_bytes(self.inner, self.content_length)
                .boxed();
        }
        self
    }

    /// Checks the body against `expected` as it streams: once the last chunk has arrived, a body
    /// that hashes to anything else ends the stream with [`Error::Mismatch`] instead of ending
    /// it. [`save`](Self::save) then removes what it wrote, so a tampered or truncated file never
    /// sits under the final name.
    ///
    /// ```no_run
    /// # async fn run(stream: casefile::transport::ByteStream) -> casefile::Result<()> {
    /// use casefile::Checksum;
    /// let expected = Checksum::sha1("2ef7bde608ce5404e97d5f042f95f89f1c232871")?;
    /// stream.verify(expected).save("evidence/report.pdf").await?;
    /// # Ok(()) }
    /// ```
    pub fn verify(mut self, expected: Checksum) -> Self {
        let mut inner = std::mem::replace(&mut self.inner, futures::stream::empty().boxed());
        let what = format!("{} {}", self.method, self.url);
        self.inner = async_stream::stream! {
            let mut hasher = expected.algorithm().hasher();
            while let Some(chunk) = inner.next().await {
                match chunk {
                    Ok(bytes) => {
                        hasher.update(&bytes);
                        yield Ok(bytes);
                    }
                    Err(error) => {
                        yield Err(error);
                        return;
                    }
                }
            }
            let actual = hasher.finish();
            if actual != expected {
                yield Err(Error::Mismatch { what, expected, actual });
            }
        }
        .boxed();
        self
    }

    /// The length the server announced, if it did.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Writes the body to `path` and returns the number of bytes written.
    ///
    /// The bytes go to `<path>.part` first (a stale one is removed first, and a symbolic link of
    /// that name is never followed), which is flushed to disk (`sync_all`) and renamed to `path`
    /// only once the body is complete, so an interrupted download never leaves a truncated file
    /// under the final name. On an error, and when the future is dropped before it finished,
    /// the `.part` file is removed: nothing resumes from it.
    ///
    /// `path` is used as given; for a name that comes from a server, use
    /// [`save_in`](Self::save_in).
    pub async fn save(mut self, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        let mut partial = path.as_os_str().to_owned();
        partial.push(".part");
        let partial = PathBuf::from(partial);
        let io = |what: &str, e| Error::io(format!("{what} {}", partial.display()), e);
        match tokio::fs::remove_file(&partial).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("cannot remove the stale", e)),
        }
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .await
            .map_err(|e| io("cannot create", e))?;
        let mut guard = PartFile {
            path: Some(partial.clone()),
        };
        match self.write_to(file, &partial).await {
            Ok(written) => {
                tokio::fs::rename(&partial, path).await.map_err(|e| {
                    Error::io(format!("cannot move into place {}", path.display()), e)
                })?;
                guard.path = None;
                sync_parent(path).await;
                Ok(written)
            }
            Err(e) => {
                guard.remove().await;
                Err(e)
            }
        }
    }

    /// Writes the body into the directory `dir` under [`safe_file_name(name)`](crate::safe_file_name),
    /// as [`save`](Self::save) does, and gives the path it chose and the number of bytes written.
    /// Whatever `name` the server sent (`../../.bashrc`, `/etc/passwd`, `CON`, a name with line
    /// breaks), the file lands directly inside `dir`. A file of that name in `dir` is replaced.
    ///
    /// ```no_run
    /// # async fn run(stream: casefile::transport::ByteStream, name_from_server: &str) -> casefile::Result<()> {
    /// let (path, bytes) = stream.save_in("evidence", name_from_server).await?;
    /// println!("{} ({bytes} bytes)", path.display());
    /// # Ok(()) }
    /// ```
    pub async fn save_in(self, dir: impl AsRef<Path>, name: &str) -> Result<(PathBuf, u64)> {
        let path = dir.as_ref().join(crate::safe_file_name(name));
        let written = self.save(&path).await?;
        Ok((path, written))
    }

    /// Copies the body into `file`, flushes it to disk and checks the announced length.
    async fn write_to(&mut self, mut file: tokio::fs::File, partial: &Path) -> Result<u64> {
        let io = |what: &str, e| Error::io(format!("{what} {}", partial.display()), e);
        let mut written = 0u64;
        while let Some(chunk) = self.inner.next().await {
            let chunk = chunk?;
            file.write_all(&chunk)
                .await
                .map_err(|e| io("cannot write", e))?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(|e| io("cannot write", e))?;
        if let Some(expected) = self.content_length.filter(|&n| n != written) {
            return Err(Error::io(
                format!("{} {} ended early", self.method, self.url),
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{written} of {expected} bytes"),
                ),
            ));
        }
        file.sync_all().await.map_err(|e| io("cannot write", e))?;
        Ok(written)
    }

    /// Decodes the body as JSON lines (one value a line, up to the client's
    /// [`max_line_length`](crate::ClientBuilder::max_line_length); blank lines skipped; the last
    /// line may lack its newline), yielding each value as soon as its line is complete. A line
    /// over the limit ends the stream with [`Limit::LineLength`] as soon as it passes the limit,
    /// so memory stays bounded by the limit whatever the server sends.
    pub fn json_lines<T: DeserializeOwned + Send + 'static>(
        self,
    ) -> impl Stream<Item = Result<T>> + Send + 'static {
        let ByteStream {
            mut inner,
            method,
            url,
            max_line,
            ..
        } = self;
        let too_long = move |method: &str, url: &str| {
            Error::from(LimitError {
                limit: Limit::LineLength { max: max_line },
                method: method.to_owned(),
                url: url.to_owned(),
            })
        };
        async_stream::try_stream! {
            let mut splitter = LineSplitter::default();
            while let Some(chunk) = inner.next().await {
                splitter.push(&chunk?);
                while let Some(line) = splitter.next_line() {
                    if line.len() as u64 > max_line {
                        Err(too_long(&method, &url))?;
                    }
                    yield decode_line(&line, &method, &url)?;
                }
                if splitter.pending() as u64 > max_line {
                    Err(too_long(&method, &url))?;
                }
            }
            if let Some(line) = splitter.finish() {
                if line.len() as u64 > max_line {
                    Err(too_long(&method, &url))?;
                }
                yield decode_line(&line, &method, &url)?;
            }
        }
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// A `.part` file being written: removed when dropped unless it was moved into place.
struct PartFile {
    /// `None` once the file was renamed (or removed).
    path: Option<PathBuf>,
}

impl PartFile {
    /// Removes the file now (after a failure).
    async fn remove(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = tokio::fs::remove_file(&path).await;
        }
    }
}

impl Drop for PartFile {
    /// A download dropped half-way (its future cancelled) leaves no `.part` file behind. The
    /// removal runs on tokio's blocking pool, never on the async worker.
    fn drop(&mut self) {
        let Some(path) = self.path.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(move || {
                    let _ = std::fs::remove_file(path);
                });
            }
            Err(_) => {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Flushes the directory entry of a renamed file to disk, where the system allows it (on
/// Unix); a failure only loses durability, not data already written, so it is not reported.
async fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(dir) = tokio::fs::File::open(dir).await {
            let _ = dir.sync_all().await;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn decode_line<T: DeserializeOwned>(line: &[u8], method: &str, url: &str) -> Result<T> {
    serde_json::from_slice(line).or_else(|_| {
        let mut de = serde_json::Deserializer::from_slice(line);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            Error::from(DecodeError {
                status: 200,
                path: e.path().to_string(),
                message: e.inner().to_string(),
                method: method.to_owned(),
                url: url.to_owned(),
                body: snippet(line),
            })
        })
    })
}

/// Splits bytes arriving in arbitrary chunks into lines, without scanning any byte twice.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buffer: BytesMut,
    /// How far `buffer` is known to hold no newline.
    scanned: usize,
}

impl LineSplitter {
    /// Adds a chunk.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete, non-blank line (without its line ending), if one has arrived.
    pub(crate) fn next_line(&mut self) -> Option<Bytes> {
        loop {
            let Some(at) = memchr::memchr(b'\n', &self.buffer[self.scanned..]) else {
                self.scanned = self.buffer.len();
                return None;
            };
            let line = self.buffer.split_to(self.scanned + at + 1).freeze();
            self.scanned = 0;
            let line = trim(line);
            if !line.is_empty() {
                return Some(line);
            }
        }
    }

    /// How many bytes wait for the end of their line (blank space at its start included).
    pub(crate) fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// The last line when the input ended without a newline.
    pub(crate) fn finish(&mut self) -> Option<Bytes> {
        let line = trim(std::mem::take(&mut self.buffer).freeze());
        self.scanned = 0;
        (!line.is_empty()).then_some(line)
    }
}

/// `line` without surrounding ASCII whitespace (including `\r\n`).
fn trim(line: Bytes) -> Bytes {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    line.slice(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            s.push(chunk);
            while let Some(line) = s.next_line() {
                out.push(String::from_utf8(line.to_vec()).unwrap());
            }
        }
        out.extend(s.finish().map(|l| String::from_utf8(l.to_vec()).unwrap()));
        out
    }

    proptest::proptest! {
        #[test]
        fn lines_split_at_any_chunk_boundaries(
            lines in proptest::collection::vec("[ a-z0-9{}\":,\\[\\]]{0,30}", 0..30),
            cuts in proptest::collection::vec(0usize..2000, 0..12),
            crlf in proptest::prelude::any::<bool>(),
            trailing_newline in proptest::prelude::any::<bool>(),
        ) {
            let newline = if crlf { "\r\n" } else { "\n" };
            let mut body = lines.join(newline);
            if trailing_newline {
                body.push_str(newline);
            }
            let body = body.into_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (body.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for cut in cuts {
                chunks.push(&body[start..cut]);
                start = cut;
            }
            chunks.push(&body[start..]);
            let expected: Vec<String> = lines
                .iter()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect();
            proptest::prop_assert_eq!(split_all(&chunks), expected);
        }
    }

    #[test]
    fn lines_split_at_every_boundary() {
        let body = b"{\"a\":1}\r\n\n  {\"b\":2}\n{\"c\":3}";
        for cut in 0..=body.len() {
            let (x, y) = body.split_at(cut);
            assert_eq!(
                split_all(&[x, y]),
                ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"],
                "cut at {cut}"
            );
        }
    }
}
