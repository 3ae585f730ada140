//! Files to upload: from a path (streamed from disk and re-opened for a retry), from bytes in
//! memory, or from any stream of a known length.
//!
//! ```
//! use casefile::Upload;
//!
//! let from_disk = Upload::path("evidence/clip.mp4");
//! let in_memory = Upload::bytes("notes.txt", "seen at 10:42").mime_type("text/plain");
//! assert_eq!(in_memory.name(), Some("notes.txt"));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use tokio::io::AsyncReadExt;

use crate::error::{Error, Result};
use crate::progress::Reporter;

/// A `multipart/form-data` body: text fields in the order given, then at most one file. Sent
/// with [`RequestBuilder::multipart`](crate::RequestBuilder::multipart).
///
/// ```no_run
/// # async fn run(api: casefile::Transport) -> casefile::Result<()> {
/// use casefile::{Form, Upload};
///
/// let form = Form::new()
///     .text("title", "Original clip")
///     .file("file", Upload::path("clip.mp4"));
/// let answer: serde_json::Value = api.post(&["upload"]).multipart(form).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use = "a form is sent with RequestBuilder::multipart"]
pub struct Form {
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) file: Option<(String, Upload)>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Form {
        Form::default()
    }

    /// Adds the text field `name`.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// The file part, named `name`, sent after the text fields; a form carries one file, so
    /// this replaces an earlier one.
    pub fn file(mut self, name: impl Into<String>, upload: Upload) -> Self {
        self.file = Some((name.into(), upload));
        self
    }
}

/// The length of the file at `path` whose metadata is `meta`; an error unless it is a regular
/// file.
fn regular_file(path: &Path, meta: std::io::Result<std::fs::Metadata>) -> Result<u64> {
    let meta = meta.map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(Error::invalid(
            "upload",
            format!("{} is not a file", path.display()),
        ));
    }
    Ok(meta.len())
}

/// How many bytes a file is read in at a time while it is sent.
const CHUNK: usize = 64 * 1024;

/// A file to upload.
pub struct Upload {
    source: Source,
    name: Option<String>,
    mime_type: Option<String>,
    progress: Option<Reporter>,
}

enum Source {
    Path(PathBuf),
    Bytes(Bytes),
    Stream {
        length: u64,
        stream: Mutex<Option<BoxStream<'static, std::io::Result<Bytes>>>>,
    },
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Path(p) => format!("path {}", p.display()),
            Source::Bytes(b) => format!("{} bytes in memory", b.len()),
            Source::Stream { length, .. } => format!("stream of {length} bytes"),
        };
        f.debug_struct("Upload")
            .field("source", &source)
            .field("name", &self.name)
            .field("mime_type", &self.mime_type)
            .finish()
    }
}

impl Upload {
    /// A file on disk, streamed when sent; its name is the path's file name (bytes that are not
    /// UTF-8 are sent as `U+FFFD`). The file is opened, asynchronously, when the request is
    /// sent, and again for each retry.
    pub fn path(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        Upload {
            name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            source: Source::Path(path),
            mime_type: None,
            progress: None,
        }
    }

    /// Bytes in memory, uploaded under `name`.
    pub fn bytes(name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Upload {
            source: Source::Bytes(bytes.into()),
            name: Some(name.into()),
            mime_type: None,
            progress: None,
        }
    }

    /// A stream of exactly `length` bytes, uploaded under `name`. A stream can be sent only once,
    /// so such an upload is not retried.
    pub fn stream(
        name: impl Into<String>,
        length: u64,
        stream: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    ) -> Self {
        Upload {
            source: Source::Stream {
                length,
                stream: Mutex::new(Some(stream.boxed())),
            },
            name: Some(name.into()),
            mime_type: None,
            progress: None,
        }
    }

    /// The file name the server is told.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Sets the file name the server is told. Any characters may be used: they are encoded so
    /// that the server's multipart parser still reads a file part (see
    /// [`RequestBuilder::multipart`](crate::RequestBuilder::multipart)); an empty name is sent
    /// as `upload`.
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the MIME type (default: none sent, the server guesses).
    pub fn mime_type(mut self, mime: impl Into<String>) -> Self {
        self.mime_type = Some(mime.into());
        self
    }

    /// The path, for a file on disk.
    pub fn file_path(&self) -> Option<&Path> {
        match &self.source {
            Source::Path(p) => Some(p),
            _ => None,
        }
    }

    /// Reports the bytes read while the upload is sent (again from 0 on a retry).
    pub(crate) fn report_to(&mut self, reporter: Reporter) {
        self.progress = Some(reporter);
    }

    /// Whether the content can be read again for another attempt (not a one-time stream).
    pub(crate) fn can_resend(&self) -> bool {
        !matches!(self.source, Source::Stream { .. })
    }

    /// Also calls `touch` each time a chunk of the content is taken for sending (the
    /// transport's idle clock), besides the progress callback if there is one.
    pub(crate) fn on_chunk(&mut self, touch: impl Fn() + Send + Sync + 'static) {
        let progress = self.progress.take();
        self.progress = Some(Reporter::new(move |p| {
            touch();
            if let Some(progress) = &progress {
                progress.report(p.done, p.total, p.unit);
            }
        }));
    }

    /// The content and its length, made anew for each attempt. A file is opened and measured
    /// here, asynchronously; a path that is not a readable regular file is an error, before
    /// anything is sent.
    async fn content(&self) -> Result<(BoxStream<'static, std::io::Result<Bytes>>, u64)> {
        let (stream, length) = match &self.source {
            Source::Bytes(bytes) => {
                let chunks: Vec<std::io::Result<Bytes>> = bytes
                    .chunks(CHUNK)
                    .map(|c| Ok(bytes.slice_ref(c)))
                    .collect();
                (futures::stream::iter(chunks).boxed(), bytes.len() as u64)
            }
            Source::Path(path) => {
                // Refused before opening: opening a named pipe would wait for a writer.
                regular_file(path, tokio::fs::metadata(path).await)?;
                // Checked again on the opened file, which is the one sent.
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
                let len = regular_file(path, file.metadata().await)?;
                (read_chunks(file).boxed(), len)
            }
            Source::Stream { length, stream } => {
                let taken = stream.lock().unwrap_or_else(|p| p.into_inner()).take();
                let stream = taken.ok_or_else(|| {
                    Error::invalid(
                        "upload",
                        "a streamed upload can be sent only once; use Upload::path to allow retries",
                    )
                })?;
                (stream, *length)
            }
        };
        let stream = exactly(stream, length);
        let stream = match &self.progress {
            Some(reporter) => reporter.clone().count_bytes(stream, Some(length)).boxed(),
            None => stream.boxed(),
        };
        Ok((stream, length))
    }
}

/// A `multipart/form-data` body (RFC 7578), ready to be attached to a request.
pub(crate) struct MultipartBody {
    content_type: String,
    length: u64,
    body: reqwest::Body,
}

impl MultipartBody {
    /// Sets the body, its `Content-Type` (with the boundary) and its `Content-Length` (WSGI
    /// servers such as Aleph's need the length; the body is never sent chunked).
    pub(crate) fn attach(self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder
            .header(reqwest::header::CONTENT_TYPE, self.content_type)
            .header(reqwest::header::CONTENT_LENGTH, self.length)
            .body(self.body)
    }
}

/// The file name sent when an upload has none (or an empty one): some parsers drop a file part
/// whose `filename` is empty (Plug, which Atlos runs on, skips it) or read a part without one
/// as a plain field (werkzeug, which Aleph runs on), and the file would be lost.
const DEFAULT_FILE_NAME: &str = "upload";

/// Builds the multipart body: the text `fields` in order, then `upload` as the file part named
/// `file_field`. Opens the upload's file (asynchronously); the file is streamed, not read into
/// memory.
///
/// The file part's name is written so that every multipart parser sees a file part with the
/// right name, whatever bytes the name holds:
///
/// - `filename="…"` carries the name with every control character (CR, LF, NUL, ...), `"` and
///   `\` replaced by `_`; letters outside ASCII stay as UTF-8, as browsers send them (the HTML
///   standard's form encoding). Parsers that read only `filename` (multer, which axum uses; Plug,
///   which reads `filename` first) see this one.
/// - when that differs from the name (or the name holds a `%`, which werkzeug's `%22` decoding
///   would change), `filename*=UTF-8''…` (RFC 8187 / RFC 5987) follows with the exact name,
///   percent-encoded; parsers that know it (werkzeug, so Aleph) prefer it. RFC 7578 §4.2 advises
///   against `filename*`, but it is the only way to carry such a name exactly, and a parser that
///   does not know it ignores it.
///
/// Before, a name with CR or LF was written raw into the part header: werkzeug then read the
/// part as a plain field, and Aleph stored an empty folder in place of the file (see
/// `aleph/views/ingest_api.py`: with no file, `content_hash` is `None` and `Document.save` in
/// `aleph/model/document.py` makes the document a `Folder`, even an existing one).
pub(crate) async fn multipart_body(
    fields: &[(String, String)],
    file: Option<(&str, &Upload)>,
) -> Result<MultipartBody> {
    let boundary = boundary();
    let mut head = Vec::new();
    for (name, value) in fields {
        check_field_name(name)?;
        if value.contains(boundary.as_str()) {
            return Err(Error::invalid(
                "multipart",
                format!("the field `{name}` contains the form's boundary"),
            ));
        }
        head.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        head.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        );
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let mut content = None;
    if let Some((file_field, upload)) = file {
        check_field_name(file_field)?;
        head.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        head.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{file_field}\"; {}\r\n",
                file_name_parameters(upload.name().unwrap_or_default())
            )
            .as_bytes(),
        );
        if let Some(mime) = &upload.mime_type {
            check_mime(mime)?;
            head.extend_from_slice(format!("Content-Type: {mime}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        content = Some(upload.content().await?);
    }
    let tail = match content {
        Some(_) => format!("\r\n--{boundary}--\r\n"),
        None => format!("--{boundary}--\r\n"),
    };
    let (file, file_length) = match content {
        Some((stream, length)) => (stream, length),
        None => (futures::stream::empty().boxed(), 0),
    };
    let length = head.len() as u64 + file_length + tail.len() as u64;
    let stream = futures::stream::once(async move { Ok(Bytes::from(head)) })
        .chain(file)
        .chain(futures::stream::once(async move { Ok(Bytes::from(tail)) }));
    Ok(MultipartBody {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        length,
        body: reqwest::Body::wrap_stream(stream),
    })
}

/// The `filename` parameters of a file part's `Content-Disposition` (see [`multipart_body`]).
pub(crate) fn file_name_parameters(name: &str) -> String {
    let name = if name.is_empty() {
        DEFAULT_FILE_NAME
    } else {
        name
    };
    let fallback: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if fallback == name && !name.contains('%') {
        return format!("filename=\"{name}\"");
    }
    let exact = percent_encoding::utf8_percent_encode(name, ATTR_CHAR);
    format!("filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

/// The bytes RFC 8187 §3.2.1 lets stand unencoded in an extended value (`attr-char`).
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A field name goes into a quoted string as it is: one that would need escaping is refused.
fn check_field_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return Err(Error::invalid(
            "multipart",
            format!("{name:?} cannot be a form field name"),
        ));
    }
    Ok(())
}

/// A MIME type is `type/subtype`, optionally with parameters, and nothing that could end the
/// header line.
fn check_mime(mime: &str) -> Result<()> {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let valid = essence
        .split_once('/')
        .is_some_and(|(t, sub)| token(t) && token(sub))
        && !mime.chars().any(char::is_control);
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(
            "mime type",
            format!("`{mime}` is not a MIME type"),
        ))
    }
}

/// A fresh random boundary (RFC 2046 allows up to 70 characters).
fn boundary() -> String {
    let mut bytes = [0u8; 24];
    // Without randomness the boundary is still valid; only its unpredictability is lost, and a
    // field that contains it is refused.
    let _ = getrandom::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("casefile-{hex}")
}

/// `stream`, checked to give exactly `length` bytes: a file that grew or shrank while it was
/// sent is an error, not a body that disagrees with its `Content-Length`.
fn exactly(
    stream: BoxStream<'static, std::io::Result<Bytes>>,
    length: u64,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    async_stream::try_stream! {
        let mut stream = stream;
        let mut sent = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            sent += chunk.len() as u64;
            if sent > length {
                Err(std::io::Error::other(format!(
                    "the upload grew while it was sent: more than {length} bytes"
                )))?;
            }
            yield chunk;
        }
        if sent < length {
            Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("the upload ended after {sent} of {length} bytes"),
            ))?;
        }
    }
}

/// The file's content in chunks of [`CHUNK`] bytes.
fn read_chunks(mut file: tokio::fs::File) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    async_stream::try_stream! {
        loop {
            let mut buffer = bytes::BytesMut::with_capacity(CHUNK);
            let n = file.read_buf(&mut buffer).await?;
            if n == 0 {
                break;
            }
            yield buffer.freeze();
        }
    }
}
