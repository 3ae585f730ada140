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
use reqwest::multipart::Part;
use tokio::io::AsyncReadExt;

use crate::error::{Error, Result};
use crate::progress::Reporter;

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
    /// A file on disk, streamed when sent; its name is the path's file name.
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

    /// Sets the file name the server is told.
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

    /// Checks before any request that the upload can be read: the file exists and is a file.
    pub(crate) fn check(&self) -> Result<()> {
        if let Source::Path(path) = &self.source {
            let meta = std::fs::metadata(path)
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            if !meta.is_file() {
                return Err(Error::invalid(
                    "upload",
                    format!("{} is not a file", path.display()),
                ));
            }
        }
        Ok(())
    }

    /// A multipart part with the content, made anew for each attempt.
    pub(crate) fn part(&self) -> Result<Part> {
        let counted = |stream: BoxStream<'static, std::io::Result<Bytes>>, length| {
            let stream = match &self.progress {
                Some(reporter) => reporter.clone().count_bytes(stream, Some(length)).boxed(),
                None => stream,
            };
            Part::stream_with_length(reqwest::Body::wrap_stream(stream), length)
        };
        let part = match &self.source {
            Source::Bytes(bytes) if self.progress.is_some() => {
                let chunks: Vec<std::io::Result<Bytes>> = bytes
                    .chunks(CHUNK)
                    .map(|c| Ok(bytes.slice_ref(c)))
                    .collect();
                counted(futures::stream::iter(chunks).boxed(), bytes.len() as u64)
            }
            Source::Bytes(bytes) => Part::stream_with_length(bytes.clone(), bytes.len() as u64),
            Source::Path(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
                let length = file
                    .metadata()
                    .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
                    .len();
                counted(read_chunks(tokio::fs::File::from_std(file)).boxed(), length)
            }
            Source::Stream { length, stream } => {
                let taken = stream.lock().unwrap_or_else(|p| p.into_inner()).take();
                let stream = taken.ok_or_else(|| {
                    Error::invalid(
                        "upload",
                        "a streamed upload can be sent only once; use Upload::path to allow retries",
                    )
                })?;
                counted(stream, *length)
            }
        };
        let part = match &self.name {
            Some(name) => part.file_name(name.clone()),
            None => part,
        };
        match &self.mime_type {
            Some(mime) => part
                .mime_str(mime)
                .map_err(|_| Error::invalid("mime type", format!("`{mime}` is not a MIME type"))),
            None => Ok(part),
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
