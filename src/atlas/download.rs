//! Every attachment of a listing into a directory: [`ListAttachments::download_all`].
//!
//! Atlas records neither a size nor a digest for an attachment (seed 003: an attachment is its
//! id, name, type, title, description, citation, session, creator, creation time and
//! visibility; `POST /attachments/{id}/export` gives only a `presigned_url`), so there is no
//! platform hash to check a first download against. What can be checked is checked:
//!
//! - the **length**: a body shorter or longer than the storage host's `Content-Length` is an
//!   error, and nothing is kept under the final name;
//! - the **digest of the first download**: its SHA-256 is recorded in the directory's manifest,
//!   and every later download of the same attachment (a file that went missing, was altered
//!   locally, or [`recheck`](DownloadAll::recheck)) must hash to it, or it is refused as
//!   [`Error::Mismatch`] and not kept. Atlas has no way to replace an attachment's file (only
//!   its title, description, citation and visibility can be changed), so a file that no longer
//!   hashes the same was altered in storage.
//!
//! Which of these a saved file passed is in [`SavedFile::verified`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::attachments::{Attachment, Attachments, ListAttachments};
use crate::checksum::{Algorithm, Checksum};
use crate::error::{Error, Result};
use crate::progress::{Progress, Reporter, Unit};

/// The name of the manifest in the download directory. It starts with a dot, which
/// [`safe_file_name`](crate::safe_file_name) never gives, so no attachment can be saved over it.
pub const MANIFEST_FILE: &str = ".casefile-atlas.jsonl";

/// Downloads in flight at once when none is chosen.
const DEFAULT_CONCURRENCY: usize = 4;

/// One line of the manifest ([`MANIFEST_FILE`], JSON lines): an attachment saved completely.
/// A later line of the same id replaces an earlier one; a line that cannot be read (the last
/// line of a killed run) is passed over. No URL is ever recorded: the presigned export URLs are
/// capabilities.
///
/// ```json
/// {"id":"e52a9631-e38f-4e77-8c08-38001a80ad36","name":"table-4.csv","file":"table-4.csv","size":5512,"sha256":"9f86…","at":"2026-01-05T09:00:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestRecord {
    /// The attachment's id.
    pub id: Uuid,
    /// Its `attachment_name`, as the server sent it.
    pub name: String,
    /// The file it was saved as, inside the directory.
    pub file: String,
    /// The file's size in bytes.
    pub size: u64,
    /// The SHA-256 of the file, in lowercase hex.
    pub sha256: String,
    /// When it was saved.
    pub at: DateTime<Utc>,
}

/// What a saved file was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verified {
    /// Its SHA-256 equals the one recorded in the manifest by an earlier run.
    Digest,
    /// Its length equals the storage host's `Content-Length` (Atlas records no digest, and this
    /// was the first download of it).
    Length,
    /// Nothing: the storage host announced no length and no digest was recorded.
    Unchecked,
}

/// An attachment that is now complete in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SavedFile {
    /// The attachment's id.
    pub id: Uuid,
    /// The file name inside the directory.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: Checksum,
    /// Fetched by this run (`false`: found unchanged from an earlier run).
    pub fetched: bool,
    /// What it was checked against.
    pub verified: Verified,
}

/// An attachment saved under another name than its own (made safe), because another
/// attachment already has that name (compared without regard to case) or its `.part` name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Renamed {
    /// The attachment's id.
    pub id: Uuid,
    /// Its `attachment_name`, as the server sent it.
    pub name: String,
    /// The file it is saved as.
    pub file: String,
}

/// An attachment that could not be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadFailure {
    /// The attachment's id (`None` when the server gave none, so it cannot be exported).
    pub id: Option<Uuid>,
    /// Its `attachment_name`, as the server sent it.
    pub name: String,
    /// What went wrong (URLs redacted: never a presigned URL's signature).
    pub reason: String,
    /// Whether the bytes received did not hash to the digest recorded by an earlier run (the
    /// stored file was altered); the earlier copy, if still there, was left as it was.
    pub mismatch: bool,
}

/// What [`DownloadAll`] did. [`is_complete`](Self::is_complete) says whether every attachment
/// listed is now in the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadReport {
    /// Attachments listed (each id once).
    pub listed: u64,
    /// Attachments downloaded by this run.
    pub fetched: u64,
    /// Attachments found complete and unchanged from an earlier run (not requested).
    pub unchanged: u64,
    /// Bytes downloaded by this run.
    pub bytes: u64,
    /// Attachments that could not be saved, with the reason.
    pub failed: Vec<DownloadFailure>,
    /// Every attachment now complete in the directory, in listing order.
    pub files: Vec<SavedFile>,
    /// Attachments saved under another name than their own, and why (see [`Renamed`]).
    pub renamed: Vec<Renamed>,
    /// Lines of the manifest that could not be read (a line cut off by a killed run).
    pub manifest_unreadable_lines: u64,
}

impl DownloadReport {
    /// Whether every attachment listed is in the directory (fetched now or earlier) and nothing
    /// failed.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.fetched + self.unchanged == self.listed
    }
}

impl fmt::Display for DownloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} attachments: {} fetched ({} bytes), {} unchanged, {} failed, {} renamed",
            self.listed,
            self.fetched,
            self.bytes,
            self.unchanged,
            self.failed.len(),
            self.renamed.len(),
        )?;
        f.write_str(if self.is_complete() {
            " — complete"
        } else {
            " — INCOMPLETE"
        })
    }
}

impl ListAttachments {
    /// Downloads every attachment of this listing (with its filters and bounds) into the
    /// directory `dir`, several at once, resumably: see [`DownloadAll`].
    ///
    /// ```no_run
    /// # async fn run(atlas: casefile::atlas::Client) -> casefile::Result<()> {
    /// let report = atlas
    ///     .attachments()
    ///     .list()
    ///     .attachment_type("csv")
    ///     .download_all("exports")
    ///     .concurrency(8)
    ///     .progress(|p| eprint!("\r{} of {:?} attachments", p.done, p.total))
    ///     .await?;
    /// println!("{report}");
    /// for failure in &report.failed {
    ///     eprintln!("{}: {}", failure.name, failure.reason);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn download_all(self, dir: impl AsRef<Path>) -> DownloadAll {
        DownloadAll {
            attachments: Attachments::new(self.transport().clone()),
            list: self,
            dir: dir.as_ref().to_path_buf(),
            concurrency: DEFAULT_CONCURRENCY,
            recheck: false,
            progress: None,
        }
    }
}

/// Downloads every attachment of a listing into a directory; from
/// [`ListAttachments::download_all`]. `.await` runs the whole job and gives a
/// [`DownloadReport`].
///
/// - **The listing first**: the whole listing is read before anything is downloaded (about a
///   hundred bytes per attachment; bound it with
///   [`max_items`](ListAttachments::max_items)), so names are chosen the same way whatever order
///   the server lists in, and the progress total is known.
/// - **Safe names**: each file is named [`safe_file_name(attachment_name)`](crate::safe_file_name),
///   so no name from the server leads outside `dir`. Names are compared without regard to case
///   (and with their `.part` name), so two attachments never share a file on any file system:
///   attachments keep the name the manifest gives them, the others take theirs oldest first
///   (by creation time, then id), and one whose name is taken is saved as
///   `safe_file_name("{id}-{attachment_name}")`; every renaming is in
///   [`DownloadReport::renamed`] and the manifest.
/// - **Verified as far as Atlas allows**: Atlas records neither a size nor a digest for an
///   attachment (seed 003: `GET /attachments` gives id, name, type, title, description,
///   citation, session, creator, creation time and visibility; `POST /attachments/{id}/export`
///   only a `presigned_url`), so a first download is checked against the storage host's
///   `Content-Length` (a body of another length is an error), and its SHA-256 is recorded.
///   Every later download of the attachment (a file gone missing or altered locally, or a
///   [`recheck`](Self::recheck)) must hash to that digest, or it is an [`Error::Mismatch`]
///   failure: Atlas cannot replace an attachment's file (only its title, description,
///   citation and visibility change), so a different file was altered in storage.
///   [`SavedFile::verified`] says which check a file passed.
/// - **Through `.part` files**: each file is written to `NAME.part`, flushed to disk, and
///   renamed to `NAME` only when complete and verified. A failed or dropped download leaves
///   nothing under either name.
/// - **Resumable**: every saved file is appended to the manifest ([`MANIFEST_FILE`] in `dir`,
///   see [`ManifestRecord`]) at once. A later run skips an attachment whose file is there with
///   the recorded size and SHA-256 (without a request), and fetches what is missing or
///   changed; a run that was killed or dropped resumes where it stopped (a file renamed into
///   place just before, whose record was not yet written, is fetched again).
/// - **Capabilities stay secret**: the presigned URLs are fetched without Atlas credentials
///   and appear in no error, no report and no manifest (errors show them without query
///   values).
/// - **Failures are in the report**: a download that fails is recorded with its reason and the
///   others go on. An `Err` means nothing could start: a bad argument, a directory that cannot
///   be created, an unreadable manifest, or a listing that failed.
#[must_use = "a download does nothing until it is sent or awaited"]
pub struct DownloadAll {
    attachments: Attachments,
    list: ListAttachments,
    dir: PathBuf,
    concurrency: usize,
    recheck: bool,
    progress: Option<Reporter>,
}

impl fmt::Debug for DownloadAll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadAll")
            .field("list", &self.list)
            .field("dir", &self.dir)
            .field("concurrency", &self.concurrency)
            .field("recheck", &self.recheck)
            .finish_non_exhaustive()
    }
}

impl DownloadAll {
    /// Downloads in flight at once (default 4; at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Downloads every attachment again, even those complete in the directory, and checks each
    /// against the SHA-256 recorded by the earlier run (default `false`): proof that the files
    /// in Atlas are still those saved. One that differs is a failure with
    /// [`mismatch`](DownloadFailure::mismatch) set, and the saved copy is left as it was.
    pub fn recheck(mut self, recheck: bool) -> Self {
        self.recheck = recheck;
        self
    }

    /// Calls `callback` with the number of attachments handled so far (fetched, unchanged or
    /// failed; [`Unit::Items`]) out of those listed, once with 0 when the listing was read and
    /// then after each. It is called from the task running the job, so it should be quick.
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Reporter::new(callback));
        self
    }

    /// Runs the whole job (see [`DownloadAll`]).
    pub async fn send(self) -> Result<DownloadReport> {
        if self.concurrency == 0 {
            return Err(Error::invalid("concurrency", "must be at least 1"));
        }
        let dir = self.dir.clone();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest = read_manifest(&manifest_path).await?;
        let mut report = DownloadReport {
            manifest_unreadable_lines: manifest.unreadable_lines,
            ..DownloadReport::default()
        };
        let listed: Vec<Attachment> = self.list.stream().try_collect().await?;
        let mut writer = ManifestWriter::open(&manifest_path, manifest.truncated).await?;

        let mut seen = HashSet::new();
        let listed: Vec<Attachment> = listed
            .into_iter()
            .filter(|a| a.attachment_id.is_none_or(|id| seen.insert(id)))
            .collect();
        report.listed = listed.len() as u64;
        let (jobs, failures, renamed) = plan(&listed, &manifest.records);
        report.renamed = renamed;
        let total = Some(report.listed);
        let mut done = 0u64;
        let tell = |done: u64| {
            if let Some(reporter) = &self.progress {
                reporter.report(done, total, Unit::Items);
            }
        };
        tell(0);
        for failure in failures {
            report.failed.push(failure);
            done += 1;
            tell(done);
        }

        let attachments = &self.attachments;
        let recheck = self.recheck;
        let mut outcomes = futures::stream::iter(jobs.into_iter().enumerate())
            .map(|(at, job)| {
                let dir = &dir;
                async move { (at, job.run(attachments, dir, recheck).await) }
            })
            .buffer_unordered(self.concurrency);
        let mut saved: Vec<(usize, SavedFile)> = Vec::new();
        while let Some((at, outcome)) = outcomes.next().await {
            match outcome {
                Outcome::Unchanged(file) => {
                    report.unchanged += 1;
                    saved.push((at, file));
                }
                Outcome::Fetched(file, record) => match writer.append(&record).await {
                    Ok(()) => {
                        report.fetched += 1;
                        report.bytes += file.size;
                        saved.push((at, file));
                    }
                    Err(reason) => report.failed.push(DownloadFailure {
                        id: Some(record.id),
                        name: record.name,
                        reason,
                        mismatch: false,
                    }),
                },
                Outcome::Failed(failure) => report.failed.push(failure),
            }
            done += 1;
            tell(done);
        }
        saved.sort_by_key(|(at, _)| *at);
        report.files = saved.into_iter().map(|(_, file)| file).collect();
        Ok(report)
    }
}

send_on_await!(DownloadAll => DownloadReport);

/// One attachment to bring into the directory.
struct Job {
    id: Uuid,
    name: String,
    file: String,
    /// What the manifest recorded for it, if anything.
    known: Option<ManifestRecord>,
}

enum Outcome {
    Unchanged(SavedFile),
    Fetched(SavedFile, ManifestRecord),
    Failed(DownloadFailure),
}

impl Job {
    async fn run(self, attachments: &Attachments, dir: &Path, recheck: bool) -> Outcome {
        let path = dir.join(&self.file);
        if !recheck
            && let Some(known) = &self.known
            && let Some(file) = self.unchanged(&path, known).await
        {
            return Outcome::Unchanged(file);
        }
        match self.fetch(attachments, &path).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Failed(DownloadFailure {
                id: Some(self.id),
                name: self.name,
                mismatch: matches!(error, Error::Mismatch { .. }),
                reason: error.to_string(),
            }),
        }
    }

    /// The file as an earlier run saved it, if it is still there unchanged: a regular file
    /// (not a link) of the recorded size and SHA-256.
    async fn unchanged(&self, path: &Path, known: &ManifestRecord) -> Option<SavedFile> {
        let meta = tokio::fs::symlink_metadata(path).await.ok()?;
        if !meta.is_file() || meta.len() != known.size {
            return None;
        }
        let actual = Checksum::of_file(Algorithm::Sha256, path).await.ok()?;
        (actual.hex() == known.sha256).then(|| SavedFile {
            id: self.id,
            file: self.file.clone(),
            size: known.size,
            sha256: actual,
            fetched: false,
            verified: Verified::Digest,
        })
    }

    async fn fetch(&self, attachments: &Attachments, path: &Path) -> Result<Outcome> {
        let expected = match &self.known {
            Some(known) => Some(Checksum::sha256(&known.sha256)?),
            None => None,
        };
        let mut stream = attachments.download(self.id).send().await?;
        let announced = stream.content_length().is_some();
        if let Some(expected) = &expected {
            stream = stream.verify(expected.clone());
        }
        let size = stream.save(path).await?;
        let sha256 = match expected {
            Some(expected) => expected,
            None => Checksum::of_file(Algorithm::Sha256, path).await?,
        };
        let verified = match (&self.known, announced) {
            (Some(_), _) => Verified::Digest,
            (None, true) => Verified::Length,
            (None, false) => Verified::Unchecked,
        };
        let record = ManifestRecord {
            id: self.id,
            name: self.name.clone(),
            file: self.file.clone(),
            size,
            sha256: sha256.hex().to_owned(),
            at: Utc::now(),
        };
        let file = SavedFile {
            id: self.id,
            file: self.file.clone(),
            size,
            sha256,
            fetched: true,
            verified,
        };
        Ok(Outcome::Fetched(file, record))
    }
}

/// The names taken in the directory, compared without regard to case; a name also takes its
/// `.part` name, so no download's partial file is another attachment's final one.
#[derive(Default)]
struct Names(HashSet<String>);

impl Names {
    fn taken(&self, file: &str) -> bool {
        let lower = file.to_lowercase();
        self.0.contains(&lower) || self.0.contains(&format!("{lower}.part"))
    }

    fn take(&mut self, file: &str) {
        let lower = file.to_lowercase();
        self.0.insert(format!("{lower}.part"));
        self.0.insert(lower);
    }
}

/// Chooses the file of every listed attachment: those the manifest knows keep their file,
/// the others take theirs oldest first (see [`DownloadAll`]). Gives the jobs in listing order,
/// the attachments that cannot be exported, and the renamings.
fn plan(
    listed: &[Attachment],
    known: &HashMap<Uuid, ManifestRecord>,
) -> (Vec<Job>, Vec<DownloadFailure>, Vec<Renamed>) {
    let mut names = Names::default();
    for record in known.values() {
        names.take(&record.file);
    }
    let mut failures = Vec::new();
    let mut files: HashMap<Uuid, String> = HashMap::new();
    let mut new: Vec<&Attachment> = Vec::new();
    for attachment in listed {
        match attachment.attachment_id {
            None => failures.push(DownloadFailure {
                id: None,
                name: attachment.attachment_name.clone(),
                reason: "the server gave no attachment_id: it cannot be exported".into(),
                mismatch: false,
            }),
            Some(id) => match known.get(&id) {
                Some(record) => {
                    files.insert(id, record.file.clone());
                }
                None => new.push(attachment),
            },
        }
    }
    new.sort_by_key(|a| (a.attachment_created_at, a.attachment_id));
    for attachment in new {
        let Some(id) = attachment.attachment_id else {
            continue;
        };
        let name = &attachment.attachment_name;
        let mut candidates = [
            crate::safe_file_name(name),
            crate::safe_file_name(&format!("{id}-{name}")),
        ]
        .into_iter()
        .chain((2..).map(|n| crate::safe_file_name(&format!("{id}-{n}-{name}"))))
        // Bounded: the candidates differ, and fewer names are taken than this.
        .take(names.0.len() + 3);
        let file = candidates
            .find(|file| !names.taken(file))
            .unwrap_or_else(|| id.to_string());
        names.take(&file);
        files.insert(id, file);
    }
    let mut renamed = Vec::new();
    let jobs = listed
        .iter()
        .filter_map(|attachment| {
            let id = attachment.attachment_id?;
            let file = files.remove(&id)?;
            let name = attachment.attachment_name.clone();
            if file != crate::safe_file_name(&name) {
                renamed.push(Renamed {
                    id,
                    name: name.clone(),
                    file: file.clone(),
                });
            }
            Some(Job {
                id,
                name,
                file,
                known: known.get(&id).cloned(),
            })
        })
        .collect();
    (jobs, failures, renamed)
}

/// What the manifest holds.
struct Manifest {
    records: HashMap<Uuid, ManifestRecord>,
    unreadable_lines: u64,
    truncated: bool,
}

/// Reads the manifest at `path` (missing: empty). A record whose file is not a safe file name
/// (an edited manifest) is unreadable: the manifest names no file outside the directory.
async fn read_manifest(path: &Path) -> Result<Manifest> {
    let lines = crate::manifest::read::<ManifestRecord>(path, |record| {
        crate::safe_file_name(&record.file) == record.file
            && Checksum::sha256(&record.sha256).is_ok()
    })
    .await?;
    Ok(Manifest {
        records: lines.records.into_iter().map(|r| (r.id, r)).collect(),
        unreadable_lines: lines.unreadable,
        truncated: lines.truncated,
    })
}

/// Appends records to the manifest, one flushed line each.
type ManifestWriter = crate::manifest::Writer;

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(id: u128, name: &str, hour: u32) -> Attachment {
        serde_json::from_value(serde_json::json!({
            "attachment_id": Uuid::from_u128(id), "attachment_name": name,
            "attachment_type": "csv", "is_visible": true,
            "attachment_created_at": format!("2026-01-12T{hour:02}:00:00Z"),
        }))
        .unwrap()
    }

    fn files(jobs: &[Job]) -> HashMap<Uuid, String> {
        jobs.iter().map(|j| (j.id, j.file.clone())).collect()
    }

    #[test]
    fn names_do_not_depend_on_the_listing_order_and_known_files_keep_theirs() {
        let listed = vec![
            attachment(3, "a.csv", 3),
            attachment(1, "A.csv", 1),
            attachment(2, "a.csv.part", 2),
            attachment(4, "../a.csv", 4),
        ];
        let (jobs, failures, renamed) = plan(&listed, &HashMap::new());
        assert!(failures.is_empty());
        let chosen = files(&jobs);
        let id = |n: u128| Uuid::from_u128(n);
        // Oldest first: 1 takes `A.csv` and its partial `A.csv.part`, so 2's `a.csv.part` and
        // 3's `a.csv` (the same names in another case) are renamed.
        assert_eq!(chosen[&id(1)], "A.csv");
        assert_eq!(chosen[&id(2)], format!("{}-a.csv.part", id(2)));
        assert_eq!(chosen[&id(3)], format!("{}-a.csv", id(3)));
        assert_eq!(chosen[&id(4)], crate::safe_file_name("../a.csv"));
        assert_eq!(renamed.len(), 2);

        let mut reversed = listed.clone();
        reversed.reverse();
        let (jobs, _, _) = plan(&reversed, &HashMap::new());
        assert_eq!(files(&jobs), chosen);
        // Jobs keep the listing order.
        let order: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
        assert_eq!(order, vec![id(4), id(2), id(1), id(3)]);

        // A file the manifest gives an attachment stays its own, even against an older one.
        let known = HashMap::from([(
            id(3),
            ManifestRecord {
                id: id(3),
                name: "a.csv".into(),
                file: "a.csv".into(),
                size: 1,
                sha256: "0".repeat(64),
                at: Utc::now(),
            },
        )]);
        let (jobs, _, renamed) = plan(&listed, &known);
        let chosen = files(&jobs);
        assert_eq!(chosen[&id(3)], "a.csv");
        assert_eq!(chosen[&id(1)], format!("{}-A.csv", id(1)));
        assert_eq!(chosen[&id(2)], format!("{}-a.csv.part", id(2)));
        assert_eq!(renamed.len(), 2);
    }

    #[test]
    fn an_attachment_without_an_id_is_a_failure_not_a_download() {
        let mut anonymous = attachment(1, "x.csv", 1);
        anonymous.attachment_id = None;
        let (jobs, failures, _) = plan(&[anonymous], &HashMap::new());
        assert!(jobs.is_empty());
        assert_eq!(failures.len(), 1);
        assert!(failures[0].reason.contains("attachment_id"));
    }
}
