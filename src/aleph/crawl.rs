//! Directory ingest: mirror a folder tree into a collection, resumable through a manifest.
//!
//! [`Collections::ingest_dir`] walks a directory, creates one Aleph folder per directory (parents
//! first) and uploads every file into its folder, several at once. What was accepted is appended
//! to a manifest (JSON lines, one record per path, flushed line by line), so a second run uploads
//! only new or changed files and a run that was killed resumes where it stopped. The
//! [`CrawlReport`] says what was seen, uploaded, skipped and refused, and whether the run was
//! complete.
//!
//! ```no_run
//! # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
//! let report = aleph
//!     .collections()
//!     .ingest_dir("4", "/data/leak")
//!     .manifest("/data/leak.manifest.jsonl")
//!     .concurrency(8)
//!     .language("eng")
//!     .progress(|event, progress| eprintln!("{}/{} {event:?}", progress.files_done, progress.files_total))
//!     .await?;
//! println!("{report}");
//! for failure in &report.failed {
//!     eprintln!("{}: {}", failure.path, failure.reason);
//! }
//! assert!(report.is_complete());
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

use super::ingest::OnRetry;
use super::{Collections, IngestMeta};
use crate::RetryPolicy;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::RetryEvent;
use crate::upload::Upload;

/// File names that operating systems leave behind (compared without regard to case); see
/// [`IngestDir::skip_junk`].
const JUNK_FILES: &[&str] = &[
    ".ds_store",
    "thumbs.db",
    "ehthumbs.db",
    "desktop.ini",
    "icon\r",
];

/// Folder names that operating systems leave behind (compared without regard to case).
const JUNK_FOLDERS: &[&str] = &[
    "$recycle.bin",
    "system volume information",
    ".spotlight-v100",
    ".trashes",
    ".fseventsd",
    ".temporaryitems",
    "__macosx",
];

/// Whether a file or folder name is operating-system litter: `.DS_Store`, `Thumbs.db`,
/// `desktop.ini`, Office lock files (`~$*`), AppleDouble files (`._*`), recycle bins and
/// similar folders.
pub fn is_junk(name: &str, is_folder: bool) -> bool {
    let lower = name.to_lowercase();
    if is_folder {
        JUNK_FOLDERS.contains(&lower.as_str())
    } else {
        JUNK_FILES.contains(&lower.as_str()) || name.starts_with("~$") || name.starts_with("._")
    }
}

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
    let mut manifest = Manifest {
        truncated: !bytes.is_empty() && !bytes.ends_with(b"\n"),
        ..Manifest::default()
    };
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<ManifestEntry>(line) {
            Ok(entry) => manifest.entries.push(entry),
            Err(_) => manifest.unreadable_lines += 1,
        }
    }
    Ok(manifest)
}

/// Why a path of the tree was passed over on purpose (not a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassReason {
    /// Operating-system litter (see [`is_junk`]).
    Junk,
    /// The caller's [`IngestDir::skip_if`] filter said so.
    Filtered,
    /// A symbolic link, and links are not followed.
    Symlink,
    /// A symbolic link that leads outside the crawled directory.
    OutsideRoot,
    /// A symbolic link whose target does not exist.
    BrokenSymlink,
    /// A folder reached a second time through a symbolic link (a loop, or a folder already
    /// crawled under another path).
    Loop,
    /// Not a regular file or folder (a socket, a pipe, a device).
    NotAFile,
    /// The manifest itself, which lies inside the crawled directory.
    Manifest,
}

impl fmt::Display for PassReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PassReason::Junk => "junk file",
            PassReason::Filtered => "filtered out",
            PassReason::Symlink => "symbolic link (not followed)",
            PassReason::OutsideRoot => "symbolic link leading outside the directory",
            PassReason::BrokenSymlink => "broken symbolic link",
            PassReason::Loop => "folder already crawled (symbolic link loop or duplicate)",
            PassReason::NotAFile => "not a regular file",
            PassReason::Manifest => "the manifest itself",
        })
    }
}

/// A path that was passed over on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PassedOver {
    /// The path relative to the crawled directory (`/` separators).
    pub path: String,
    /// Why.
    pub reason: PassReason,
}

/// A path that could not be ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrawlFailure {
    /// The path relative to the crawled directory (`/` separators; `.` for the directory itself).
    pub path: String,
    /// File or folder.
    pub kind: EntryKind,
    /// What went wrong (the server's message, or the local error).
    pub reason: String,
    /// How many times it was tried.
    pub attempts: u32,
}

/// What a directory ingest did. [`is_complete`](Self::is_complete) says whether every file and
/// folder found is now in Aleph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrawlReport {
    /// Files found (not counting those passed over).
    pub files_seen: u64,
    /// Their total size.
    pub bytes_seen: u64,
    /// Files uploaded by this run.
    pub uploaded: u64,
    /// Bytes uploaded by this run.
    pub bytes_uploaded: u64,
    /// Files skipped because the manifest shows them unchanged (same size and modification
    /// time, or same content).
    pub skipped: u64,
    /// Folders found.
    pub folders_seen: u64,
    /// Folders created by this run.
    pub folders_created: u64,
    /// Folders already created by an earlier run (in the manifest).
    pub folders_known: u64,
    /// Uploads sent again after a transient failure.
    pub retries: u64,
    /// Files and folders that could not be ingested, with the reason.
    pub failed: Vec<CrawlFailure>,
    /// Files and folders not attempted because the run stopped early.
    pub not_attempted: u64,
    /// Paths passed over on purpose (junk, symbolic links, ...).
    pub passed_over: Vec<PassedOver>,
    /// Why the run stopped early (an error that every further upload would hit, such as a
    /// revoked API key or a deleted collection, or a manifest that cannot be written).
    pub stopped: Option<String>,
    /// Lines of the manifest that could not be read (a line cut off by a killed run).
    pub manifest_unreadable_lines: u64,
}

impl CrawlReport {
    /// Whether every file and folder found is in Aleph (uploaded now or by an earlier run) and
    /// nothing failed.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
            && self.stopped.is_none()
            && self.not_attempted == 0
            && self.uploaded + self.skipped == self.files_seen
            && self.folders_created + self.folders_known == self.folders_seen
    }
}

impl fmt::Display for CrawlReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} files seen ({} bytes): {} uploaded ({} bytes), {} unchanged, {} failed; \
             {} folders: {} created, {} known; {} retries; {} passed over",
            self.files_seen,
            self.bytes_seen,
            self.uploaded,
            self.bytes_uploaded,
            self.skipped,
            self.failed.len(),
            self.folders_seen,
            self.folders_created,
            self.folders_known,
            self.retries,
            self.passed_over.len(),
        )?;
        if self.not_attempted > 0 {
            write!(f, "; {} not attempted", self.not_attempted)?;
        }
        if let Some(reason) = &self.stopped {
            write!(f, "; stopped: {reason}")?;
        }
        f.write_str(if self.is_complete() {
            " — complete"
        } else {
            " — INCOMPLETE"
        })
    }
}

/// Where a run is, for a progress bar: totals are known once the tree was walked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrawlProgress {
    /// Files to handle.
    pub files_total: u64,
    /// Their total size.
    pub bytes_total: u64,
    /// Files handled (uploaded, unchanged or failed).
    pub files_done: u64,
    /// The size of the files handled.
    pub bytes_done: u64,
    /// Files and folders that failed so far.
    pub failed: u64,
}

/// Something that happened during a run, passed to the [`IngestDir::progress`] callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrawlEvent {
    /// The tree was walked: the totals are known.
    Scanned {
        /// Files found.
        files: u64,
        /// Folders found.
        folders: u64,
        /// Total size of the files.
        bytes: u64,
    },
    /// A folder was created.
    FolderCreated {
        /// Its relative path.
        path: String,
        /// Its id.
        id: String,
    },
    /// A file was uploaded.
    Uploaded {
        /// Its relative path.
        path: String,
        /// Its size.
        bytes: u64,
        /// The document's id.
        id: String,
    },
    /// A file was skipped: the manifest shows it unchanged.
    Skipped {
        /// Its relative path.
        path: String,
        /// Its size.
        bytes: u64,
    },
    /// An upload failed for a reason that may pass; it is sent again after `wait`.
    Retrying {
        /// The relative path.
        path: String,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// How long until the next attempt.
        wait: Duration,
        /// What went wrong.
        error: String,
    },
    /// A file or folder could not be ingested.
    Failed {
        /// The relative path.
        path: String,
        /// Why.
        reason: String,
    },
}

type ProgressFn = Arc<dyn Fn(&CrawlEvent, CrawlProgress) + Send + Sync>;
type SkipFn = Arc<dyn Fn(&str, bool) -> bool + Send + Sync>;

impl Collections {
    /// Ingests a whole directory tree into collection `id`: one folder per directory (created
    /// parents first, `foreign_id` = the relative path), then every file into its folder
    /// (`parent_id` = the folder's id, `foreign_id` = the relative path with `/` separators,
    /// `file_name`, languages), streamed from disk, several at once. See [`IngestDir`].
    ///
    /// Foreign ids are the same as alephclient's `crawldir` gives, so a collection loaded with
    /// `crawldir` can be continued with casefile without duplicates.
    pub fn ingest_dir(&self, id: &str, root: impl AsRef<Path>) -> IngestDir {
        IngestDir {
            collections: self.clone(),
            collection: id.to_owned(),
            root: root.as_ref().to_path_buf(),
            manifest: None,
            concurrency: 4,
            languages: Vec::new(),
            index: None,
            follow_symlinks: false,
            skip_junk: true,
            skip_if: None,
            retries: None,
            retry_delay: None,
            progress: None,
        }
    }
}

/// Ingests a directory tree; from [`Collections::ingest_dir`]. `.await` runs the whole job and
/// gives a [`CrawlReport`].
///
/// - **Resumable**: with a [`manifest`](Self::manifest), every accepted path is recorded (size,
///   modification time, SHA-256, id) and flushed at once; the next run skips files whose size
///   and modification time match (or, when only the time changed, whose content hash matches),
///   uploads new and changed ones, and does not create recorded folders again. A process killed
///   mid-run loses at most the uploads in flight, which the next run sends again; Aleph maps the
///   same `foreign_id` to the same document, so nothing is duplicated.
/// - **Retries**: every upload and folder has a `foreign_id`, so sending it again replaces the
///   same document; its request is marked [idempotent](crate::RequestBuilder::idempotent) and the
///   transport's one retry loop sends it again after `408`, `429`, a `5xx`, an idle timeout or a
///   broken connection, with the client's [`RetryPolicy`](crate::RetryPolicy) (growing waits
///   with jitter, `Retry-After` honoured, one budget), adjusted by [`retries`](Self::retries)
///   and [`retry_delay`](Self::retry_delay), without holding up the other uploads. Any other
///   failure is recorded in the report with the server's message and the run goes on; `401`,
///   `403` and `404` (bad key, no write access, collection gone) stop it, since every further
///   upload would fail the same way.
/// - **Checked before sending**: the directory and the manifest are read, and the collection is
///   fetched once (`GET /collections/{id}`), before anything is uploaded.
/// - **Symbolic links** are not followed unless [`follow_symlinks`](Self::follow_symlinks) is
///   set; followed links never lead outside the directory and never loop.
/// - **Recorded only as a file**: Aleph answers `201 {"status": "ok", "id": …}` for a file and
///   for a folder alike (`aleph/views/ingest_api.py`), and an upload whose file part its parser
///   (werkzeug) does not read as a file is stored as an empty `Folder` under the `foreign_id`
///   (`Document.save` in `aleph/model/document.py`, with no `content_hash`). The answer cannot
///   tell them apart, so casefile makes sure of the request instead: every upload carries a
///   file part that multipart parsers read as one, whatever bytes its name holds (see
///   [`RequestBuilder::multipart`](crate::RequestBuilder::multipart)), and a path is recorded
///   only after a `2xx` with an id. Names that are not valid UTF-8 and read the same as
///   another path (one `foreign_id` for two files) are failures, never uploaded.
///
/// The tree is walked once before uploading, so the totals are known from the start (a few
/// hundred bytes of memory per path).
#[must_use = "a directory ingest does nothing until it is sent or awaited"]
pub struct IngestDir {
    collections: Collections,
    collection: String,
    root: PathBuf,
    manifest: Option<PathBuf>,
    concurrency: usize,
    languages: Vec<String>,
    index: Option<bool>,
    follow_symlinks: bool,
    skip_junk: bool,
    skip_if: Option<SkipFn>,
    retries: Option<u32>,
    retry_delay: Option<Duration>,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for IngestDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestDir")
            .field("collection", &self.collection)
            .field("root", &self.root)
            .field("manifest", &self.manifest)
            .field("concurrency", &self.concurrency)
            .field("languages", &self.languages)
            .field("index", &self.index)
            .field("follow_symlinks", &self.follow_symlinks)
            .field("skip_junk", &self.skip_junk)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl IngestDir {
    /// Records accepted paths in this JSON-lines file and skips what it already lists (created
    /// if missing). Without a manifest every file is uploaded. See [`ManifestEntry`].
    pub fn manifest(mut self, path: impl AsRef<Path>) -> Self {
        self.manifest = Some(path.as_ref().to_path_buf());
        self
    }

    /// Uploads in flight at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// A language of the documents, as a hint for text extraction (ISO 639 code; repeatable).
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.languages.push(language.into());
        self
    }

    /// The languages of the documents (replaces those set before).
    pub fn languages<S: Into<String>>(mut self, languages: impl IntoIterator<Item = S>) -> Self {
        self.languages = languages.into_iter().map(Into::into).collect();
        self
    }

    /// Index the documents once processed (`index=`; the server's default is `true`).
    pub fn index(mut self, index: bool) -> Self {
        self.index = Some(index);
        self
    }

    /// Follows symbolic links (default: not followed, and listed as passed over). A followed
    /// link must lead inside the directory; a folder reached twice is crawled once.
    pub fn follow_symlinks(mut self, follow: bool) -> Self {
        self.follow_symlinks = follow;
        self
    }

    /// Passes over operating-system litter (default `true`): see [`is_junk`].
    pub fn skip_junk(mut self, skip: bool) -> Self {
        self.skip_junk = skip;
        self
    }

    /// Passes over the paths for which `skip(relative_path, is_folder)` is true (a skipped
    /// folder is not entered), e.g. `|path, folder| folder && path.ends_with(".git")`.
    pub fn skip_if(mut self, skip: impl Fn(&str, bool) -> bool + Send + Sync + 'static) -> Self {
        self.skip_if = Some(Arc::new(skip));
        self
    }

    /// How many times one upload is sent again after a transient failure (default: the
    /// client's [`RetryPolicy::max_retries`](crate::RetryPolicy::max_retries)).
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = Some(n);
        self
    }

    /// The bound of the first wait before an upload is sent again; each retry doubles it, with
    /// jitter (default: the client's [`RetryPolicy::base_delay`](crate::RetryPolicy::base_delay)).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = Some(delay);
        self
    }

    /// Calls `f` with every [`CrawlEvent`] and the progress so far (for a progress bar). It is
    /// called from the tasks doing the uploads, so it should be quick.
    pub fn progress(
        mut self,
        f: impl Fn(&CrawlEvent, CrawlProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Runs the whole job. An `Err` means nothing could start (bad arguments, an unreadable
    /// directory or manifest, a collection that cannot be fetched); everything that goes wrong
    /// later is in the report.
    pub async fn send(self) -> Result<CrawlReport> {
        if self.concurrency == 0 {
            return Err(Error::invalid("concurrency", "must be at least 1"));
        }
        crate::path::check_segment("collection id", &self.collection)?;
        // Every file-system call here goes through tokio's blocking pool: a slow disk, a network
        // share or a manifest that is a pipe never stalls the runtime's workers.
        let root = self.root.clone();
        let meta = tokio::fs::metadata(&root)
            .await
            .map_err(|e| Error::io(format!("cannot read {}", root.display()), e))?;
        if !meta.is_dir() {
            return Err(Error::invalid(
                "root",
                format!("{} is not a directory", root.display()),
            ));
        }
        let root_real = tokio::fs::canonicalize(&root)
            .await
            .map_err(|e| Error::io(format!("cannot resolve {}", root.display()), e))?;

        let mut report = CrawlReport::default();
        let mut known: HashMap<String, ManifestEntry> = HashMap::new();
        let mut writer = None;
        let mut manifest_real = None;
        if let Some(path) = &self.manifest {
            let reading = path.clone();
            let manifest = tokio::task::spawn_blocking(move || read_manifest(reading))
                .await
                .map_err(|e| Error::Config(format!("reading the manifest failed: {e}")))??;
            report.manifest_unreadable_lines = manifest.unreadable_lines;
            for entry in manifest.entries {
                if entry.collection == self.collection {
                    known.insert(entry.path.clone(), entry);
                }
            }
            writer = Some(ManifestWriter::open(path, manifest.truncated).await?);
            manifest_real = tokio::fs::canonicalize(path).await.ok();
        }

        // One request before any upload: the collection exists and the key is good.
        self.collections.get(&self.collection).send().await?;

        let walk = Walk {
            root_real: root_real.clone(),
            follow_symlinks: self.follow_symlinks,
            skip_junk: self.skip_junk,
            skip_if: self.skip_if.clone(),
            manifest: manifest_real,
        };
        let tree = tokio::task::spawn_blocking(move || walk.run(&root))
            .await
            .map_err(|e| Error::Config(format!("the directory walk failed: {e}")))?;

        report.files_seen = tree.files.len() as u64;
        report.bytes_seen = tree.files.iter().map(|f| f.size).sum();
        report.folders_seen = tree.folders.len() as u64;
        report.passed_over = tree.passed_over;
        report.failed = tree.failures;

        let mut policy = self.collections.transport.retry_policy().clone();
        if let Some(retries) = self.retries {
            policy = policy.max_retries(retries);
        }
        if let Some(delay) = self.retry_delay {
            policy = policy.base_delay(delay);
        }
        let shared = Arc::new(Shared {
            collections: self.collections.clone(),
            collection: self.collection.clone(),
            languages: self.languages.clone(),
            index: self.index,
            policy,
            progress: self.progress.clone(),
            counters: Counters::default(),
            hash: self.manifest.is_some(),
        });
        shared
            .counters
            .files_total
            .store(report.files_seen, Ordering::Relaxed);
        shared
            .counters
            .bytes_total
            .store(report.bytes_seen, Ordering::Relaxed);
        shared
            .counters
            .failed
            .store(report.failed.len() as u64, Ordering::Relaxed);
        shared.emit(&CrawlEvent::Scanned {
            files: report.files_seen,
            folders: report.folders_seen,
            bytes: report.bytes_seen,
        });

        let mut run = Run {
            shared,
            concurrency: self.concurrency,
            known,
            writer,
            folder_ids: HashMap::new(),
            report,
        };
        run.folders(tree.folders).await;
        run.files(tree.files).await;
        Ok(run.report)
    }
}

send_on_await!(IngestDir => CrawlReport);

/// A directory or file found by the walk.
#[derive(Debug, Clone)]
struct Node {
    /// The relative path with `/` separators (the foreign id).
    rel: String,
    /// The relative path of its folder (`None` at the top).
    parent: Option<String>,
    /// Where to read it.
    path: PathBuf,
    /// Its name.
    name: String,
    size: u64,
    mtime: Option<DateTime<Utc>>,
    depth: usize,
}

#[derive(Debug, Default)]
struct Tree {
    folders: Vec<Node>,
    files: Vec<Node>,
    passed_over: Vec<PassedOver>,
    failures: Vec<CrawlFailure>,
}

struct Walk {
    root_real: PathBuf,
    follow_symlinks: bool,
    skip_junk: bool,
    skip_if: Option<SkipFn>,
    manifest: Option<PathBuf>,
}

impl Walk {
    /// Walks the tree below `root`: folders sorted parents first, files by path.
    fn run(&self, root: &Path) -> Tree {
        let mut tree = Tree::default();
        let mut visited: HashSet<PathBuf> = HashSet::new();
        visited.insert(self.root_real.clone());
        let mut stack: Vec<(PathBuf, Option<String>, usize)> = vec![(root.to_path_buf(), None, 0)];
        // Folders reached through a symbolic link wait until every folder reachable without
        // one was seen, so that a folder is crawled under its real path when it has one.
        let mut deferred: std::collections::VecDeque<Node> = std::collections::VecDeque::new();
        loop {
            let (dir, rel, depth) = match stack.pop() {
                Some(next) => next,
                None => {
                    let Some(link) = deferred.pop_front() else {
                        break;
                    };
                    let real =
                        std::fs::canonicalize(&link.path).unwrap_or_else(|_| link.path.clone());
                    if !visited.insert(real) {
                        tree.passed_over.push(PassedOver {
                            path: link.rel,
                            reason: PassReason::Loop,
                        });
                        continue;
                    }
                    let next = (link.path.clone(), Some(link.rel.clone()), link.depth);
                    tree.folders.push(link);
                    next
                }
            };
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    tree.failures.push(CrawlFailure {
                        path: rel.clone().unwrap_or_else(|| ".".into()),
                        kind: EntryKind::Folder,
                        reason: format!("cannot list the folder: {e}"),
                        attempts: 0,
                    });
                    continue;
                }
            };
            let mut children = Vec::new();
            for entry in entries {
                match entry {
                    Ok(entry) => children.push(entry),
                    Err(e) => tree.failures.push(CrawlFailure {
                        path: rel.clone().unwrap_or_else(|| ".".into()),
                        kind: EntryKind::Folder,
                        reason: format!("cannot read an entry of the folder: {e}"),
                        attempts: 0,
                    }),
                }
            }
            children.sort_by_key(|e| e.file_name());
            for entry in children {
                let name = entry.file_name().to_string_lossy().into_owned();
                let child_rel = match &rel {
                    Some(parent) => format!("{parent}/{name}"),
                    None => name.clone(),
                };
                let pass = |tree: &mut Tree, reason| {
                    tree.passed_over.push(PassedOver {
                        path: child_rel.clone(),
                        reason,
                    })
                };
                let path = entry.path();
                let link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
                let metadata = if link {
                    if !self.follow_symlinks {
                        pass(&mut tree, PassReason::Symlink);
                        continue;
                    }
                    let Ok(target) = std::fs::canonicalize(&path) else {
                        pass(&mut tree, PassReason::BrokenSymlink);
                        continue;
                    };
                    if !target.starts_with(&self.root_real) {
                        pass(&mut tree, PassReason::OutsideRoot);
                        continue;
                    }
                    std::fs::metadata(&target)
                } else {
                    entry.metadata()
                };
                let metadata = match metadata {
                    Ok(m) => m,
                    Err(e) => {
                        tree.failures.push(CrawlFailure {
                            path: child_rel.clone(),
                            kind: EntryKind::File,
                            reason: format!("cannot read its metadata: {e}"),
                            attempts: 0,
                        });
                        continue;
                    }
                };
                let is_folder = metadata.is_dir();
                if self.skip_junk && is_junk(&name, is_folder) {
                    pass(&mut tree, PassReason::Junk);
                    continue;
                }
                if self
                    .skip_if
                    .as_ref()
                    .is_some_and(|f| f(&child_rel, is_folder))
                {
                    pass(&mut tree, PassReason::Filtered);
                    continue;
                }
                if is_folder {
                    let node = Node {
                        rel: child_rel.clone(),
                        parent: rel.clone(),
                        path: path.clone(),
                        name,
                        size: 0,
                        mtime: None,
                        depth: depth + 1,
                    };
                    if link {
                        deferred.push_back(node);
                        continue;
                    }
                    if self.follow_symlinks {
                        // Each real folder is crawled once, whichever way it is reached.
                        visited
                            .insert(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()));
                    }
                    tree.folders.push(node);
                    stack.push((path, Some(child_rel), depth + 1));
                } else if metadata.is_file() {
                    if let Some(manifest) = &self.manifest
                        && std::fs::canonicalize(&path).is_ok_and(|p| p == *manifest)
                    {
                        pass(&mut tree, PassReason::Manifest);
                        continue;
                    }
                    tree.files.push(Node {
                        rel: child_rel,
                        parent: rel.clone(),
                        path,
                        name,
                        size: metadata.len(),
                        mtime: metadata.modified().ok().map(DateTime::<Utc>::from),
                        depth: depth + 1,
                    });
                } else {
                    pass(&mut tree, PassReason::NotAFile);
                }
            }
        }
        tree.folders
            .sort_by(|a, b| a.depth.cmp(&b.depth).then_with(|| a.rel.cmp(&b.rel)));
        tree.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        refuse_ambiguous_paths(&mut tree);
        tree
    }
}

/// Fails every path that another path of the tree shares once its name was made readable.
///
/// A name that is not valid UTF-8 is read with `U+FFFD` in place of the bad bytes, so the
/// names `a<0xFF>.txt` and `a<0xFE>.txt` both become `a\u{FFFD}.txt`: the same `foreign_id`,
/// which Aleph maps to one document, so the second upload would silently replace the first.
/// Both (and, for folders, everything below them) are reported as failures instead; renaming
/// them lets the next run ingest them.
fn refuse_ambiguous_paths(tree: &mut Tree) {
    let mut seen = HashSet::new();
    let ambiguous: HashSet<String> = tree
        .folders
        .iter()
        .chain(&tree.files)
        .filter(|node| !seen.insert(node.rel.as_str()))
        .map(|node| node.rel.clone())
        .collect();
    if ambiguous.is_empty() {
        return;
    }
    let is_ambiguous = |rel: &str| {
        ambiguous.iter().any(|a| {
            rel == a
                || rel
                    .strip_prefix(a.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    let mut refused = Vec::new();
    for (nodes, kind) in [
        (&mut tree.folders, EntryKind::Folder),
        (&mut tree.files, EntryKind::File),
    ] {
        nodes.retain(|node| {
            if is_ambiguous(&node.rel) {
                refused.push(CrawlFailure {
                    path: node.rel.clone(),
                    kind,
                    reason: "its name is not valid UTF-8 and reads the same as another path's \
                             (the same foreign_id); rename one of them"
                        .into(),
                    attempts: 0,
                });
                false
            } else {
                true
            }
        });
    }
    tree.failures.extend(refused);
}

/// Appends records to the manifest, one flushed line each.
struct ManifestWriter {
    file: tokio::fs::File,
    path: PathBuf,
}

impl ManifestWriter {
    async fn open(path: &Path, truncated: bool) -> Result<ManifestWriter> {
        let context = || format!("cannot write the manifest {}", path.display());
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .map_err(|e| Error::io(context(), e))?;
        if truncated {
            // End the cut-off line so that the next record starts on a line of its own.
            file.write_all(b"\n")
                .await
                .map_err(|e| Error::io(context(), e))?;
            file.flush().await.map_err(|e| Error::io(context(), e))?;
        }
        Ok(ManifestWriter {
            file,
            path: path.to_path_buf(),
        })
    }

    async fn append(&mut self, entry: &ManifestEntry) -> std::result::Result<(), String> {
        let mut line = serde_json::to_vec(entry).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let written = async {
            self.file.write_all(&line).await?;
            self.file.flush().await
        };
        written
            .await
            .map_err(|e| format!("cannot write the manifest {}: {e}", self.path.display()))
    }
}

#[derive(Default)]
struct Counters {
    files_total: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
    failed: AtomicU64,
}

/// What the upload tasks share.
struct Shared {
    collections: Collections,
    collection: String,
    languages: Vec<String>,
    index: Option<bool>,
    policy: crate::RetryPolicy,
    progress: Option<ProgressFn>,
    counters: Counters,
    /// Whether content hashes are needed (only for the manifest).
    hash: bool,
}

impl Shared {
    fn emit(&self, event: &CrawlEvent) {
        if let Some(progress) = &self.progress {
            let c = &self.counters;
            let snapshot = CrawlProgress {
                files_total: c.files_total.load(Ordering::Relaxed),
                bytes_total: c.bytes_total.load(Ordering::Relaxed),
                files_done: c.files_done.load(Ordering::Relaxed),
                bytes_done: c.bytes_done.load(Ordering::Relaxed),
                failed: c.failed.load(Ordering::Relaxed),
            };
            progress(event, snapshot);
        }
    }

    fn meta(&self, node: &Node, parent_id: Option<String>) -> IngestMeta {
        IngestMeta {
            file_name: Some(node.name.clone()),
            foreign_id: Some(node.rel.clone()),
            parent_id,
            languages: self.languages.clone(),
            ..IngestMeta::default()
        }
    }

    /// The retry policy of one upload, and a hook that emits [`CrawlEvent::Retrying`] and counts
    /// the retries into `retries`.
    fn retries(self: &Arc<Self>, path: &str, retries: &Arc<AtomicU32>) -> (RetryPolicy, OnRetry) {
        let (shared, path, count) = (self.clone(), path.to_owned(), retries.clone());
        let hook = move |event: &RetryEvent<'_>| {
            count.fetch_add(1, Ordering::Relaxed);
            shared.emit(&CrawlEvent::Retrying {
                path: path.clone(),
                attempt: event.attempt,
                wait: event.wait,
                error: event.error.to_string(),
            });
        };
        (self.policy.clone(), OnRetry(Arc::new(hook)))
    }

    async fn create_folder(self: Arc<Self>, node: Node, parent_id: Option<String>) -> Outcome {
        let retries = Arc::new(AtomicU32::new(0));
        let (policy, on_retry) = self.retries(&node.rel, &retries);
        let mut meta = IngestMeta::with_foreign_id(node.rel.clone());
        meta.file_name = Some(node.name.clone());
        meta.parent_id = parent_id;
        meta.languages = self.languages.clone();
        let result = self
            .collections
            .create_folder(&self.collection, meta)
            .retried(policy, on_retry)
            .send()
            .await;
        Outcome {
            node,
            attempts: retries.load(Ordering::Relaxed) + 1,
            result: result.map(|id| Done::Uploaded { id, sha256: None }),
        }
    }

    async fn upload_file(
        self: Arc<Self>,
        node: Node,
        parent_id: Option<String>,
        previous: Option<ManifestEntry>,
    ) -> Outcome {
        let path = node.path.clone();
        let hashed = match self.hash {
            true => tokio::task::spawn_blocking(move || sha256_file(&path).map(Some)).await,
            false => Ok(Ok(None)),
        };
        let sha256 = match hashed {
            Ok(Ok(hash)) => hash,
            Ok(Err(e)) => {
                return Outcome {
                    node,
                    attempts: 0,
                    result: Err(Error::io("cannot read the file", e)),
                };
            }
            Err(e) => {
                return Outcome {
                    node,
                    attempts: 0,
                    result: Err(Error::Config(format!("hashing failed: {e}"))),
                };
            }
        };
        if let Some(previous) =
            previous.filter(|p| p.size == Some(node.size) && sha256.is_some() && p.sha256 == sha256)
        {
            // Touched but not changed: the same content is already in Aleph.
            return Outcome {
                node,
                attempts: 0,
                result: Ok(Done::Unchanged {
                    id: previous.id,
                    sha256,
                }),
            };
        }
        let retries = Arc::new(AtomicU32::new(0));
        let (policy, on_retry) = self.retries(&node.rel, &retries);
        let upload = Upload::path(&node.path).file_name(node.name.clone());
        let mut request = self
            .collections
            .ingest(&self.collection, upload, self.meta(&node, parent_id))
            .retried(policy, on_retry);
        if let Some(index) = self.index {
            request = request.index(index);
        }
        let result = request.send().await;
        Outcome {
            node,
            attempts: retries.load(Ordering::Relaxed) + 1,
            result: result.map(|id| Done::Uploaded { id, sha256 }),
        }
    }
}

struct Outcome {
    node: Node,
    attempts: u32,
    result: Result<Done>,
}

enum Done {
    Uploaded { id: String, sha256: Option<String> },
    Unchanged { id: String, sha256: Option<String> },
}

/// The state of one run.
struct Run {
    shared: Arc<Shared>,
    concurrency: usize,
    known: HashMap<String, ManifestEntry>,
    writer: Option<ManifestWriter>,
    /// Relative path of a folder -> its id, or why it has none.
    folder_ids: HashMap<String, std::result::Result<String, String>>,
    report: CrawlReport,
}

impl Run {
    /// The id of a node's folder: `Ok(None)` at the top, `Err` when the folder was not created.
    fn parent_id(&self, node: &Node) -> std::result::Result<Option<String>, String> {
        let Some(parent) = &node.parent else {
            return Ok(None);
        };
        match self.folder_ids.get(parent) {
            Some(Ok(id)) => Ok(Some(id.clone())),
            Some(Err(_)) | None => Err(format!("its folder {parent} was not created")),
        }
    }

    fn fail(&mut self, node: &Node, kind: EntryKind, reason: String, attempts: u32) {
        if kind == EntryKind::Folder {
            self.folder_ids
                .insert(node.rel.clone(), Err(reason.clone()));
        } else {
            self.done(node.size);
        }
        self.shared.counters.failed.fetch_add(1, Ordering::Relaxed);
        self.shared.emit(&CrawlEvent::Failed {
            path: node.rel.clone(),
            reason: reason.clone(),
        });
        self.report.failed.push(CrawlFailure {
            path: node.rel.clone(),
            kind,
            reason,
            attempts,
        });
    }

    fn done(&self, bytes: u64) {
        let c = &self.shared.counters;
        c.files_done.fetch_add(1, Ordering::Relaxed);
        c.bytes_done.fetch_add(bytes, Ordering::Relaxed);
    }

    async fn record(&mut self, entry: ManifestEntry) {
        let Some(writer) = &mut self.writer else {
            return;
        };
        if let Err(reason) = writer.append(&entry).await {
            self.report.stopped.get_or_insert(reason);
        }
    }

    fn entry(
        &self,
        node: &Node,
        kind: EntryKind,
        id: String,
        sha256: Option<String>,
    ) -> ManifestEntry {
        let file = kind == EntryKind::File;
        ManifestEntry {
            path: node.rel.clone(),
            kind,
            collection: self.shared.collection.clone(),
            size: file.then_some(node.size),
            mtime: if file { node.mtime } else { None },
            sha256,
            id,
            at: Some(Utc::now()),
        }
    }

    /// Creates the folders, one depth at a time (a folder's parent exists before it).
    async fn folders(&mut self, folders: Vec<Node>) {
        let mut queue = folders.into_iter().peekable();
        while let Some(depth) = queue.peek().map(|f| f.depth) {
            let mut level = Vec::new();
            while let Some(folder) = queue.next_if(|f| f.depth == depth) {
                level.push(folder);
            }
            let mut pending = level.into_iter();
            let mut in_flight = JoinSet::new();
            loop {
                while self.report.stopped.is_none() && in_flight.len() < self.concurrency {
                    let Some(node) = pending.next() else { break };
                    if let Some(known) = self
                        .known
                        .get(&node.rel)
                        .filter(|k| k.kind == EntryKind::Folder)
                    {
                        self.folder_ids
                            .insert(node.rel.clone(), Ok(known.id.clone()));
                        self.report.folders_known += 1;
                        continue;
                    }
                    match self.parent_id(&node) {
                        Ok(parent_id) => {
                            in_flight.spawn(self.shared.clone().create_folder(node, parent_id));
                        }
                        Err(reason) => self.fail(&node, EntryKind::Folder, reason, 0),
                    }
                }
                let Some(joined) = in_flight.join_next().await else {
                    break;
                };
                let Ok(outcome) = joined else { continue };
                self.report.retries += u64::from(outcome.attempts.saturating_sub(1));
                match outcome.result {
                    Ok(Done::Uploaded { id, .. }) | Ok(Done::Unchanged { id, .. }) => {
                        self.report.folders_created += 1;
                        self.folder_ids
                            .insert(outcome.node.rel.clone(), Ok(id.clone()));
                        self.shared.emit(&CrawlEvent::FolderCreated {
                            path: outcome.node.rel.clone(),
                            id: id.clone(),
                        });
                        let entry = self.entry(&outcome.node, EntryKind::Folder, id, None);
                        self.record(entry).await;
                    }
                    Err(e) => self.failed(&outcome.node, EntryKind::Folder, e, outcome.attempts),
                }
            }
            if self.report.stopped.is_some() {
                let rest = pending.count() + queue.by_ref().count();
                self.report.not_attempted += rest as u64;
                return;
            }
        }
    }

    /// Records a failure; an error every further request would hit stops the run.
    fn failed(&mut self, node: &Node, kind: EntryKind, e: Error, attempts: u32) {
        if stops_the_run(&e) {
            self.report.stopped.get_or_insert_with(|| e.to_string());
        }
        self.fail(node, kind, e.to_string(), attempts);
    }

    /// Uploads the files, `concurrency` at once.
    async fn files(&mut self, files: Vec<Node>) {
        let mut pending = files.into_iter();
        let mut in_flight = JoinSet::new();
        loop {
            while self.report.stopped.is_none() && in_flight.len() < self.concurrency {
                let Some(node) = pending.next() else { break };
                let previous = self
                    .known
                    .get(&node.rel)
                    .filter(|k| k.kind == EntryKind::File)
                    .cloned();
                if let Some(previous) = &previous
                    && previous.size == Some(node.size)
                    && previous.mtime.is_some()
                    && previous.mtime == node.mtime
                {
                    self.skipped(&node);
                    continue;
                }
                match self.parent_id(&node) {
                    Ok(parent_id) => {
                        let task = self.shared.clone().upload_file(node, parent_id, previous);
                        in_flight.spawn(task);
                    }
                    Err(reason) => self.fail(&node, EntryKind::File, reason, 0),
                }
            }
            let Some(joined) = in_flight.join_next().await else {
                break;
            };
            let Ok(outcome) = joined else { continue };
            let node = outcome.node;
            self.report.retries += u64::from(outcome.attempts.saturating_sub(1));
            match outcome.result {
                Ok(Done::Uploaded { id, sha256 }) => {
                    self.report.uploaded += 1;
                    self.report.bytes_uploaded += node.size;
                    self.done(node.size);
                    self.shared.emit(&CrawlEvent::Uploaded {
                        path: node.rel.clone(),
                        bytes: node.size,
                        id: id.clone(),
                    });
                    let entry = self.entry(&node, EntryKind::File, id, sha256);
                    self.record(entry).await;
                }
                Ok(Done::Unchanged { id, sha256 }) => {
                    self.skipped(&node);
                    // Record the new modification time, so the next run need not hash it.
                    let entry = self.entry(&node, EntryKind::File, id, sha256);
                    self.record(entry).await;
                }
                Err(e) => self.failed(&node, EntryKind::File, e, outcome.attempts),
            }
        }
        self.report.not_attempted += pending.count() as u64;
    }

    fn skipped(&mut self, node: &Node) {
        self.report.skipped += 1;
        self.done(node.size);
        self.shared.emit(&CrawlEvent::Skipped {
            path: node.rel.clone(),
            bytes: node.size,
        });
    }
}

/// The SHA-256 of a file's content, in hex.
fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// An error that every further upload would hit too: bad key, no write access, no collection.
fn stops_the_run(e: &Error) -> bool {
    e.api().is_some_and(|api| {
        matches!(
            api.kind,
            ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::NotFound
        )
    })
}
