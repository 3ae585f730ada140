//! The JSON-lines manifest of a directory ingest: its records ([`ManifestEntry`]), reading it
//! back ([`read_manifest`]) and appending to it, one flushed line per accepted path.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::IngestDir;
use crate::error::{Error, Result};

/// Whether a manifest record is about a file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A file, uploaded as a document.
    File,
    /// A directory, created as a folder.
    Folder,
}

/// One line of the manifest: a path that Aleph accepted.
///
/// The manifest is a JSON-lines file: each line is one record, appended (and flushed) as soon as
/// the server accepted the path. A later record of the same path replaces an earlier one. Records
/// of another collection are ignored, so one manifest may serve several collections.
///
/// ```json
/// {"path":"2019/minutes.pdf","kind":"file","collection":"4","size":18231,"mtime":"2019-03-02T10:11:12.123456789Z","sha256":"9f86…","id":"3c5e….ab12","at":"2026-01-05T09:00:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestEntry {
    /// The path relative to the crawled directory, with `/` separators on every system; also the
    /// document's `foreign_id`.
    pub path: String,
    /// File or folder.
    pub kind: EntryKind,
    /// The collection it went into.
    pub collection: String,
    /// The file's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The file's modification time when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<DateTime<Utc>>,
    /// The SHA-256 of the file's content, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The id Aleph gave the document or folder.
    pub id: String,
    /// When the server accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// What [`read_manifest`] found in a manifest file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Manifest {
    /// The records, in file order.
    pub entries: Vec<ManifestEntry>,
    /// Lines that could not be read as a record (typically the last line of a run that was
    /// killed while writing it).
    pub unreadable_lines: u64,
    /// Whether the file ends without a line break (its last line was cut off).
    pub truncated: bool,
}

/// Reads a manifest written by [`IngestDir::manifest`]. A missing file is an empty manifest;
/// unreadable lines (a last line cut off when a process was killed) are counted and passed
/// over.
///
/// This reads the file synchronously: in async code, call it through
/// `tokio::task::spawn_blocking` (as [`IngestDir`] does).
pub fn read_manifest(path: impl AsRef<Path>) -> Result<Manifest> {
    let path = path.as_ref();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
        Err(e) => {
            return Err(Error::io(
                format!("cannot read the manifest {}", path.display()),
                e,
            ));
        }
    };
    let lines = crate::manifest::parse::<ManifestEntry>(&bytes, |_| true);
    Ok(Manifest {
        entries: lines.records,
        unreadable_lines: lines.unreadable,
        truncated: lines.truncated,
    })
}

/// Appends records to the manifest, one flushed line each.
pub(super) type ManifestWriter = crate::manifest::Writer;
