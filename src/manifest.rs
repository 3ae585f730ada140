//! The JSON-lines manifests of the resumable runs (`ingest_dir`, `fetch_dir`, Atlas
//! `download_all`): read back whole, records that do not read counted rather than fatal, and
//! appended to one flushed line per record, so that a run killed at any moment loses at most the
//! line it was writing.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// What a manifest file holds.
pub(crate) struct Lines<T> {
    /// The records that read, in file order.
    pub(crate) records: Vec<T>,
    /// Lines that did not read as a record (typically the last line of a killed run).
    pub(crate) unreadable: u64,
    /// Whether the file ends without a line break (its last line was cut off).
    pub(crate) truncated: bool,
}

/// Reads the manifest at `path`; a missing one is empty. `keep` refuses a record that read but
/// must not be trusted (counted as unreadable).
pub(crate) async fn read<T: DeserializeOwned>(
    path: &Path,
    keep: impl Fn(&T) -> bool,
) -> Result<Lines<T>> {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(Error::io(
                format!("cannot read the manifest {}", path.display()),
                e,
            ));
        }
    };
    Ok(parse(&bytes, keep))
}

/// The records of a manifest's bytes.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8], keep: impl Fn(&T) -> bool) -> Lines<T> {
    let mut lines = Lines {
        records: Vec::new(),
        unreadable: 0,
        truncated: !bytes.is_empty() && !bytes.ends_with(b"\n"),
    };
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<T>(line) {
            Ok(record) if keep(&record) => lines.records.push(record),
            _ => lines.unreadable += 1,
        }
    }
    lines
}

/// Appends records to a manifest, one flushed line each.
pub(crate) struct Writer {
    file: tokio::fs::File,
    path: PathBuf,
}

impl Writer {
    /// Opens the manifest at `path` for appending (created if missing); a `truncated` one first
    /// gets the line break its cut-off last line lacks, so that the next record starts on a line
    /// of its own.
    pub(crate) async fn open(path: &Path, truncated: bool) -> Result<Writer> {
        let context = || format!("cannot write the manifest {}", path.display());
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .map_err(|e| Error::io(context(), e))?;
        if truncated {
            file.write_all(b"\n")
                .await
                .map_err(|e| Error::io(context(), e))?;
            file.flush().await.map_err(|e| Error::io(context(), e))?;
        }
        Ok(Writer {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends `record` as one line, flushed.
    pub(crate) async fn write<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let context = || format!("cannot write the manifest {}", self.path.display());
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Error::io(context(), std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .await
            .map_err(|e| Error::io(context(), e))?;
        self.file.flush().await.map_err(|e| Error::io(context(), e))
    }

    /// [`write`](Self::write), its error as the reason, for a run's report.
    pub(crate) async fn append<T: Serialize>(
        &mut self,
        record: &T,
    ) -> std::result::Result<(), String> {
        self.write(record).await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    struct Record {
        id: u32,
    }

    #[test]
    fn a_cut_off_line_is_counted_and_the_next_record_starts_on_its_own_line() {
        let lines = parse::<Record>(b"{\"id\":1}\n\n{\"id\":2}\n{\"id\":3", |_| true);
        assert_eq!(lines.records, [Record { id: 1 }, Record { id: 2 }]);
        assert_eq!((lines.unreadable, lines.truncated), (1, true));
        // A record that reads but is not kept counts as unreadable.
        let lines = parse::<Record>(b"{\"id\":1}\n{\"id\":2}\n", |r| r.id != 2);
        assert_eq!(
            (lines.records.len(), lines.unreadable, lines.truncated),
            (1, 1, false)
        );
    }

    #[tokio::test]
    async fn appending_after_a_cut_off_line_loses_only_that_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        std::fs::write(&path, b"{\"id\":1}\n{\"id\":").unwrap();
        let before = read::<Record>(&path, |_| true).await.unwrap();
        let mut writer = Writer::open(&path, before.truncated).await.unwrap();
        writer.write(&Record { id: 3 }).await.unwrap();
        let after = read::<Record>(&path, |_| true).await.unwrap();
        assert_eq!(after.records, [Record { id: 1 }, Record { id: 3 }]);
        assert_eq!((after.unreadable, after.truncated), (1, false));
        // A missing manifest is empty.
        let none = read::<Record>(&dir.path().join("none"), |_| true)
            .await
            .unwrap();
        assert!(none.records.is_empty() && !none.truncated);
    }
}
