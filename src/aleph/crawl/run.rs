//! Running the uploads of a directory ingest: folders first, then files, several at once,
//! counting, reporting events and recording each accepted path in the manifest.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use chrono::Utc;
use tokio::task::JoinSet;

use super::manifest::ManifestWriter;
use super::walk::Node;
use super::{
    CrawlEvent, CrawlFailure, CrawlProgress, CrawlReport, EntryKind, ManifestEntry, ProgressFn,
};
use crate::RetryPolicy;
use crate::aleph::ingest::OnRetry;
use crate::aleph::{Collections, IngestMeta};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::RetryEvent;
use crate::upload::Upload;

#[derive(Default)]
pub(super) struct Counters {
    pub(super) files_total: AtomicU64,
    pub(super) bytes_total: AtomicU64,
    pub(super) files_done: AtomicU64,
    pub(super) bytes_done: AtomicU64,
    pub(super) failed: AtomicU64,
}

/// What the upload tasks share.
pub(super) struct Shared {
    pub(super) collections: Collections,
    pub(super) collection: String,
    pub(super) languages: Vec<String>,
    pub(super) index: Option<bool>,
    pub(super) policy: crate::RetryPolicy,
    pub(super) progress: Option<ProgressFn>,
    pub(super) counters: Counters,
    /// Whether content hashes are needed (only for the manifest).
    pub(super) hash: bool,
}

impl Shared {
    pub(super) fn emit(&self, event: &CrawlEvent) {
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
pub(super) struct Run {
    pub(super) shared: Arc<Shared>,
    pub(super) concurrency: usize,
    pub(super) known: HashMap<String, ManifestEntry>,
    pub(super) writer: Option<ManifestWriter>,
    /// Relative path of a folder -> its id, or why it has none.
    pub(super) folder_ids: HashMap<String, std::result::Result<String, String>>,
    pub(super) report: CrawlReport,
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
    pub(super) async fn folders(&mut self, folders: Vec<Node>) {
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
    pub(super) async fn files(&mut self, files: Vec<Node>) {
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
