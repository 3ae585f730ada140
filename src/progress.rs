//! Progress of long operations: bytes uploaded or downloaded, entities written.
//!
//! Every operation that moves many bytes or items takes a callback with `.progress(..)`, called
//! with a [`Progress`] each time more is done: uploads ([`atlos` source material
//! upload](crate::atlos::UploadFile::progress), [Aleph ingest](crate::aleph::Ingest::progress)),
//! downloads ([Aleph archive](crate::aleph::Download::progress), [Atlas
//! attachments](crate::atlas::DownloadAttachment::progress), any
//! [`ByteStream`](crate::transport::ByteStream::progress)) and [Aleph bulk
//! loads](crate::aleph::BulkLoad::progress). The callback runs on the task doing the work, so it
//! should be quick: update a progress bar, store a number.
//!
//! ```no_run
//! # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
//! use casefile::{Progress, Upload, aleph::IngestMeta};
//!
//! aleph
//!     .collections()
//!     .ingest("4", Upload::path("minutes.pdf"), IngestMeta::default())
//!     .progress(|p: Progress| match p.total {
//!         Some(total) => eprint!("\r{} of {total} bytes", p.done),
//!         None => eprint!("\r{} bytes", p.done),
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};

/// How far an operation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// How much is done so far (bytes or items, see [`unit`](Self::unit)). An upload or download
    /// that is retried starts again from 0.
    pub done: u64,
    /// How much there is in all, when known (a file's size, a `Content-Length`).
    pub total: Option<u64>,
    /// What is counted.
    pub unit: Unit,
}

/// What a [`Progress`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unit {
    /// Bytes sent or received.
    Bytes,
    /// Items written (entities of a bulk load).
    Items,
}

/// A progress callback, shared by the clones of an operation.
#[derive(Clone)]
pub(crate) struct Reporter {
    callback: Arc<dyn Fn(Progress) + Send + Sync>,
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reporter")
    }
}

impl Reporter {
    pub(crate) fn new(callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        Reporter {
            callback: Arc::new(callback),
        }
    }

    /// Tells the callback that `done` of `total` `unit`s are done.
    pub(crate) fn report(&self, done: u64, total: Option<u64>, unit: Unit) {
        (self.callback)(Progress { done, total, unit });
    }

    /// `stream` with every chunk counted: reports 0 at once, then the bytes passed through.
    pub(crate) fn count_bytes<E>(
        self,
        stream: impl Stream<Item = Result<Bytes, E>> + Send + 'static,
        total: Option<u64>,
    ) -> impl Stream<Item = Result<Bytes, E>> + Send + 'static {
        self.report(0, total, Unit::Bytes);
        let mut done = 0u64;
        stream.inspect_ok(move |chunk| {
            done += chunk.len() as u64;
            self.report(done, total, Unit::Bytes);
        })
    }
}
