//! Fetching a collection or a folder as a directory tree: [`FetchDir`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{Collections, Entity, Rendition, SEARCH_WINDOW};
use crate::error::{Error, Result};

/// The manifest's file name inside the target directory, unless another is given.
pub const FETCH_MANIFEST: &str = ".casefile-fetch.jsonl";

/// The children of a folder asked for a page at a time.
const PAGE: u64 = 500;

/// The most folders deep a walk goes: a server's parent links are not trusted to end.
const MAX_DEPTH: usize = 64;

/// One line of a fetch manifest: a document saved by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FetchedEntry {
    /// The document's entity id.
    pub entity_id: String,
    /// Where it was saved, relative to the target directory, `/`-separated.
    pub path: String,
    /// Its `contentHash` (SHA-1), which the file was checked against.
    pub content_hash: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// A document that could not be fetched, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchFailure {
    /// The document's (or folder's) entity id.
    pub entity_id: String,
    /// Where it was to be saved, relative to the target directory.
    pub path: String,
    /// Why not.
    pub reason: String,
}

/// A document saved under another name than its own, because of another document of the same
/// folder, or a name that could not be used as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Renamed {
    /// The document's entity id.
    pub entity_id: String,
    /// Its name on the server.
    pub name: String,
    /// Where it was saved, relative to the target directory.
    pub path: String,
}

/// What a [`FetchDir`] run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchReport {
    /// Documents found under the root.
    pub files_seen: u64,
    /// Folders found (and created).
    pub folders: u64,
    /// Documents downloaded by this run.
    pub fetched: u64,
    /// Bytes downloaded by this run.
    pub bytes_fetched: u64,
    /// Documents already on disk as the manifest records them.
    pub unchanged: u64,
    /// Documents and folders that could not be fetched, with the reason.
    pub failed: Vec<FetchFailure>,
    /// Documents saved under another name than their own.
    pub renamed: Vec<Renamed>,
}

impl FetchReport {
    /// Whether every document found is on disk (fetched now or by an earlier run), checked,
    /// and nothing failed.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.fetched + self.unchanged == self.files_seen
    }
}

impl fmt::Display for FetchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} documents in {} folders: {} fetched ({} bytes), {} unchanged, {} failed, {} renamed",
            self.files_seen,
            self.folders,
            self.fetched,
            self.bytes_fetched,
            self.unchanged,
            self.failed.len(),
            self.renamed.len()
        )
    }
}

/// How far a [`FetchDir`] run is, for [`FetchDir::progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchProgress {
    /// Documents done (fetched, unchanged or failed).
    pub files_done: u64,
    /// Documents found.
    pub files_total: u64,
    /// Bytes downloaded so far.
    pub bytes: u64,
}

type ProgressHook = Arc<dyn Fn(FetchProgress) + Send + Sync>;

/// A collection, or a folder in it, as a directory tree on disk: what alephclient's `fetchdir`
/// does, verified and resumable.
///
/// [`Collections::fetch_dir`] walks the documents from the root (those without a
/// `properties.parent`, or the children of a given folder) down through each folder's children
/// (`filter:properties.parent=<id>`), recreates the folders, and downloads every document's file
/// through [`Archive::file`](super::Archive::file): from the link where the server gives one,
/// from the entity's detail view where it does not (OpenAleph 5.2+), checked against the
/// entity's `contentHash` as it streams, through a `.part` file. Names come from the server and
/// are reduced to safe file names inside the target; two documents of one folder that would
/// land on the same name are told apart by their ids, the same way on every run, and the
/// renaming is reported.
///
/// What was saved is appended to a manifest (JSON lines: entity id, path, hash, size), so that a
/// second run fetches only what is missing or changed (another `contentHash`, or a file whose
/// size differs) and a killed run resumes. A document that is also a folder of extracted files
/// (an archive, an e-mail with attachments) is fetched as its file, as alephclient does; its
/// children are not walked.
///
/// ```no_run
/// # async fn run(aleph: casefile::aleph::Client) -> casefile::Result<()> {
/// let report = aleph.collections().fetch_dir("4", "evidence").concurrency(4).await?;
/// println!("{report}");
/// assert!(report.is_complete());
/// # Ok(()) }
/// ```
#[must_use = "a fetch does nothing until it is sent or awaited"]
pub struct FetchDir {
    collections: Collections,
    collection_id: String,
    dir: PathBuf,
    root: Option<String>,
    manifest: Option<PathBuf>,
    concurrency: usize,
    progress: Option<ProgressHook>,
}

impl fmt::Debug for FetchDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchDir")
            .field("collection_id", &self.collection_id)
            .field("dir", &self.dir)
            .field("root", &self.root)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Collections {
    /// Fetches the documents of collection `id` into the directory `dir` as their folder tree
    /// (see [`FetchDir`]): `dir` is created if needed.
    pub fn fetch_dir(&self, id: impl fmt::Display, dir: impl AsRef<Path>) -> FetchDir {
        FetchDir {
            collections: self.clone(),
            collection_id: id.to_string(),
            dir: dir.as_ref().to_owned(),
            root: None,
            manifest: None,
            concurrency: 4,
            progress: None,
        }
    }
}

impl FetchDir {
    /// Fetches only what is inside the folder entity `id` (default: the whole collection).
    pub fn folder(mut self, id: impl fmt::Display) -> Self {
        self.root = Some(id.to_string());
        self
    }

    /// Where the manifest is kept (default [`FETCH_MANIFEST`] inside the target directory).
    pub fn manifest(mut self, path: impl AsRef<Path>) -> Self {
        self.manifest = Some(path.as_ref().to_owned());
        self
    }

    /// How many files are downloaded at once (default 4; at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Calls `callback` after each document (fetched, unchanged or failed).
    pub fn progress(mut self, callback: impl Fn(FetchProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    /// Walks the tree, fetches what is missing or changed, and reports.
    pub async fn send(self) -> Result<FetchReport> {
        if self.concurrency == 0 {
            return Err(Error::invalid("concurrency", "must be at least 1"));
        }
        crate::path::check_segment("collection id", &self.collection_id)?;
        let io = |what: &str, path: &Path, e| Error::io(format!("{what} {}", path.display()), e);
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| io("cannot create", &self.dir, e))?;
        let manifest_path = self
            .manifest
            .clone()
            .unwrap_or_else(|| self.dir.join(FETCH_MANIFEST));
        let known = crate::manifest::read::<FetchedEntry>(&manifest_path, |_| true).await?;
        let mut report = FetchReport::default();
        let files = self.walk(&mut report).await?;
        report.files_seen = files.len() as u64;
        let mut writer = crate::manifest::Writer::open(&manifest_path, known.truncated).await?;
        let known: BTreeMap<String, FetchedEntry> = known
            .records
            .into_iter()
            .map(|entry| (entry.entity_id.clone(), entry))
            .collect();
        let archive = super::Archive::new(self.collections.transport.clone());
        let dir = self.dir.clone();
        let total = report.files_seen;
        let mut done = futures::stream::iter(files)
            .map(|file| {
                let (archive, dir) = (archive.clone(), dir.clone());
                let unchanged = known
                    .get(&file.entity.id.clone().unwrap_or_default())
                    .cloned();
                async move {
                    let outcome = fetch_one(&archive, &dir, &file, unchanged).await;
                    (file, outcome)
                }
            })
            .buffer_unordered(self.concurrency);
        let mut files_done = 0;
        while let Some((file, outcome)) = done.next().await {
            files_done += 1;
            match outcome {
                Ok(Outcome::Unchanged) => report.unchanged += 1,
                Ok(Outcome::Fetched(entry)) => {
                    report.fetched += 1;
                    report.bytes_fetched += entry.bytes;
                    // A manifest that cannot be written would make the next run fetch
                    // everything again: the run stops.
                    writer.write(&entry).await?;
                }
                Err(error) => report.failed.push(FetchFailure {
                    entity_id: file.entity.id.clone().unwrap_or_default(),
                    path: file.path.clone(),
                    reason: error.to_string(),
                }),
            }
            if let Some(hook) = &self.progress {
                hook(FetchProgress {
                    files_done,
                    files_total: total,
                    bytes: report.bytes_fetched,
                });
            }
        }
        Ok(report)
    }

    /// Lists the tree breadth first, creating the folders, and gives the documents to fetch,
    /// each with its path.
    async fn walk(&self, report: &mut FetchReport) -> Result<Vec<File>> {
        let mut files = Vec::new();
        let mut folders: Vec<(Option<String>, String, usize)> =
            vec![(self.root.clone(), String::new(), 0)];
        let mut seen = BTreeSet::new();
        while let Some((parent, prefix, depth)) = folders.pop() {
            let children = match self.children(parent.as_deref()).await {
                Ok(children) => children,
                Err(error) => {
                    report.failed.push(FetchFailure {
                        entity_id: parent.unwrap_or_default(),
                        path: prefix,
                        reason: error.to_string(),
                    });
                    continue;
                }
            };
            for (name, entity) in name_children(children, report, &prefix) {
                let Some(id) = entity.id.clone() else {
                    continue;
                };
                // A server whose parent links loop is not followed round again.
                if !seen.insert(id.clone()) {
                    continue;
                }
                let path = join(&prefix, &name);
                if is_file(&entity) {
                    files.push(File { entity, path });
                } else if depth + 1 >= MAX_DEPTH {
                    report.failed.push(FetchFailure {
                        entity_id: id,
                        path,
                        reason: format!("more than {MAX_DEPTH} folders deep"),
                    });
                } else {
                    let target = self.dir.join(&path);
                    tokio::fs::create_dir_all(&target)
                        .await
                        .map_err(|e| Error::io(format!("cannot create {}", target.display()), e))?;
                    report.folders += 1;
                    folders.push((Some(id), path, depth + 1));
                }
            }
        }
        Ok(files)
    }

    /// The documents and folders directly under `parent` (the collection's root when `None`),
    /// all of them: a folder with more than a search can reach is an error, not a quiet cut.
    async fn children(&self, parent: Option<&str>) -> Result<Vec<Entity>> {
        let search = || {
            let entities = super::Entities::new(
                self.collections.transport.clone(),
                self.collections.known.clone(),
            );
            let search = entities
                .search()
                .schemata("Document")
                .collection(&self.collection_id);
            match parent {
                Some(id) => search.filter("properties.parent", id),
                None => search.empty("properties.parent"),
            }
        };
        // The first page says how many there are; the rest, if any, is read from where it ends.
        let first = search().page_size(PAGE).result_set().await?;
        if let Some(total) = first.total
            && total > SEARCH_WINDOW
        {
            return Err(Error::invalid(
                "folder",
                format!(
                    "holds {total} documents, more than a search reaches ({SEARCH_WINDOW}); \
                     fetch its subfolders one by one"
                ),
            ));
        }
        let exact = first
            .total
            .filter(|_| first.total_type.as_deref() == Some("eq"));
        let mut children = first.results;
        if first.next.is_some() && exact.is_none_or(|total| (children.len() as u64) < total) {
            let offset = children.len() as u64;
            let rest: Vec<Entity> = search()
                .page_size(PAGE)
                .offset(offset)
                .stream()
                .try_collect()
                .await?;
            children.extend(rest);
        }
        // A listing cut short is an error, not a folder with fewer documents.
        if let Some(total) = exact
            && (children.len() as u64) < total
        {
            return Err(Error::Pagination(format!(
                "the server counted {total} documents in the folder but listed {}",
                children.len()
            )));
        }
        Ok(children)
    }
}

send_on_await!(FetchDir => FetchReport);

/// A document to fetch and where.
struct File {
    entity: Entity,
    path: String,
}

enum Outcome {
    Fetched(FetchedEntry),
    Unchanged,
}

/// Whether a child is a document to download rather than a folder to walk: one that has a
/// file (`contentHash`), as alephclient tells them apart by `links.file`.
fn is_file(entity: &Entity) -> bool {
    entity.first("contentHash").is_some()
}

/// The children's names on disk: each reduced to a safe file name; where two would be the same
/// (compared without case, for file systems that ignore it), all but the first by id get the
/// id's start before the extension. Deterministic: the same children get the same names.
fn name_children(
    mut children: Vec<Entity>,
    report: &mut FetchReport,
    prefix: &str,
) -> Vec<(String, Entity)> {
    children.sort_by(|a, b| a.id.cmp(&b.id));
    let mut taken: BTreeMap<String, ()> = BTreeMap::new();
    // The manifest's own name is taken in the root.
    if prefix.is_empty() {
        taken.insert(FETCH_MANIFEST.to_lowercase(), ());
    }
    let mut named = Vec::with_capacity(children.len());
    for entity in children {
        let id = entity.id.clone().unwrap_or_default();
        let original = ["fileName", "title", "name"]
            .iter()
            .find_map(|p| entity.first(p))
            .unwrap_or(&id)
            .to_owned();
        let safe = crate::safe_file_name(&original);
        let mut name = safe.clone();
        if taken.contains_key(&name.to_lowercase()) {
            let short: String = id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(12)
                .collect();
            name = match safe.rsplit_once('.') {
                Some((stem, ext)) if !stem.is_empty() => format!("{stem}-{short}.{ext}"),
                _ => format!("{safe}-{short}"),
            };
            name = crate::safe_file_name(&name);
        }
        taken.insert(name.to_lowercase(), ());
        if name != original {
            report.renamed.push(Renamed {
                entity_id: id,
                name: original,
                path: join(prefix, &name),
            });
        }
        named.push((name, entity));
    }
    named
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Fetches one document, unless the manifest shows it on disk as it is on the server.
async fn fetch_one(
    archive: &super::Archive,
    dir: &Path,
    file: &File,
    known: Option<FetchedEntry>,
) -> Result<Outcome> {
    let hash = file
        .entity
        .first("contentHash")
        .unwrap_or_default()
        .to_owned();
    let target = dir.join(&file.path);
    if let Some(entry) = known
        && entry.content_hash == hash
        && entry.path == file.path
        && tokio::fs::metadata(&target)
            .await
            .is_ok_and(|m| m.is_file() && m.len() == entry.bytes)
    {
        return Ok(Outcome::Unchanged);
    }
    let bytes = archive
        .file(&file.entity, Rendition::Original)
        .save(&target)
        .await?;
    Ok(Outcome::Fetched(FetchedEntry {
        entity_id: file.entity.id.clone().unwrap_or_default(),
        path: file.path.clone(),
        content_hash: hash,
        bytes,
    }))
}
