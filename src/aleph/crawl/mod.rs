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

mod manifest;
mod run;
mod walk;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use manifest::{EntryKind, Manifest, ManifestEntry, read_manifest};

use super::Collections;
use crate::RetryPolicy;
use crate::error::{Error, Result};
use manifest::ManifestWriter;
use run::{Counters, Run, Shared};
use walk::Walk;

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
    pub fn ingest_dir(&self, id: impl fmt::Display, root: impl AsRef<Path>) -> IngestDir {
        IngestDir {
            collections: self.clone(),
            collection: id.to_string(),
            root: root.as_ref().to_path_buf(),
            manifest: None,
            concurrency: 4,
            languages: Vec::new(),
            index: None,
            follow_symlinks: false,
            skip_junk: true,
            skip_if: None,
            retry: None,
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
///   broken connection, with the client's [`RetryPolicy`] (growing waits
///   with jitter, `Retry-After` honoured, one budget), or the one given to
///   [`retry`](Self::retry), without holding up the other uploads. Any other
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
    retry: Option<RetryPolicy>,
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
            .field("retry", &self.retry)
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

    /// Retries each upload with `policy` instead of the client's
    /// ([`RetryPolicy`]: attempts, waits, budget, `Retry-After`), e.g.
    /// `client.transport().retry_policy().clone().max_retries(2)`.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
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

        let policy = self
            .retry
            .unwrap_or_else(|| self.collections.transport.retry_policy().clone());
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
