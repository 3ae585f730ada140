//! `ListAttachments::download_all` against the sandbox: every attachment of a listing into a
//! directory, with the right bytes, a manifest that makes a second run (or a dropped one)
//! fetch only what is missing, tampering detected and not kept, hostile names kept inside the
//! directory, and the presigned URLs kept out of errors, reports and the manifest.
#![cfg(all(feature = "atlas", feature = "testkit"))]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use casefile::Error;
use casefile::atlas::{Client, DownloadReport, MANIFEST_FILE, ManifestRecord, Verified};
use casefile::testkit::{Platform, Sandbox};
use futures::TryStreamExt;

use crate::support::assert_invalid;

/// A Bearer client: no digest challenge, so request counts are exact.
fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .base_url(sandbox.atlas_url())
        .token(sandbox.atlas_token())
        .build()
        .unwrap()
}

/// The regular files of a directory (the manifest left out) and their contents.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|name| name != MANIFEST_FILE)
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

fn manifest(dir: &Path) -> Vec<ManifestRecord> {
    std::fs::read_to_string(dir.join(MANIFEST_FILE))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The file each listed attachment was saved as, by id.
fn by_id(report: &DownloadReport) -> BTreeMap<String, String> {
    report
        .files
        .iter()
        .map(|f| (f.id.to_string(), f.file.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attachment_lands_with_its_bytes_and_a_second_run_fetches_nothing() {
    let sandbox = Sandbox::builder().attachments(12).start().await.unwrap();
    let atlas = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();

    let before = sandbox.requests(Platform::Atlas);
    let report = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .concurrency(3)
        .progress(move |p| record.lock().unwrap().push((p.done, p.total)))
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        (report.listed, report.fetched, report.unchanged),
        (12, 12, 0)
    );
    // One listing page, then an export and a storage download per attachment.
    assert_eq!(sandbox.requests(Platform::Atlas) - before, 1 + 12 * 2);
    let saved = files(dir.path());
    assert_eq!(saved.len(), 12);
    let listed: Vec<_> = atlas
        .attachments()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names = by_id(&report);
    let mut total = 0;
    for attachment in &listed {
        let id = attachment.attachment_id.unwrap().to_string();
        let stored = sandbox.atlas_file(&id).unwrap();
        assert_eq!(names[&id], attachment.attachment_name, "safe names stay");
        assert_eq!(saved[&names[&id]], stored, "{id}");
        total += stored.len() as u64;
    }
    assert_eq!(report.bytes, total);
    assert!(
        report
            .files
            .iter()
            .all(|f| f.fetched && f.verified == Verified::Length)
    );
    // The manifest records every file with the digest of its bytes, and no URL.
    let records = manifest(dir.path());
    assert_eq!(records.len(), 12);
    for r in &records {
        assert_eq!(r.sha256, sha256(&saved[&r.file]));
        assert_eq!(r.size, saved[&r.file].len() as u64);
    }
    let progress = seen.lock().unwrap().clone();
    assert_eq!(progress.first(), Some(&(0, Some(12))));
    assert_eq!(progress.last(), Some(&(12, Some(12))));

    // A second run asks only for the listing.
    let before = sandbox.requests(Platform::Atlas);
    let again = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .await
        .unwrap();
    assert_eq!(sandbox.requests(Platform::Atlas) - before, 1);
    assert!(again.is_complete(), "{again}");
    assert_eq!((again.fetched, again.unchanged, again.bytes), (0, 12, 0));
    assert!(
        again
            .files
            .iter()
            .all(|f| !f.fetched && f.verified == Verified::Digest)
    );
    assert_eq!(files(dir.path()), saved);
    assert_eq!(manifest(dir.path()).len(), 12, "nothing appended");

    // The listing's filters apply: only the CSV files, into another directory.
    let csv = tempfile::tempdir().unwrap();
    let report = atlas
        .attachments()
        .list()
        .attachment_type("csv")
        .download_all(csv.path())
        .await
        .unwrap();
    let expected = listed
        .iter()
        .filter(|a| a.attachment_type == "csv".into())
        .count();
    assert!(expected > 0);
    assert_eq!(report.fetched, expected as u64);
    assert!(files(csv.path()).keys().all(|n| n.ends_with(".csv")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_file_is_detected_and_not_kept() {
    let sandbox = Sandbox::builder().attachments(6).start().await.unwrap();
    let atlas = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let first = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .await
        .unwrap();
    assert!(first.is_complete(), "{first}");
    let saved = files(dir.path());
    let (a, b, c) = (&first.files[0], &first.files[1], &first.files[2]);
    let (a_id, b_id) = (a.id.to_string(), b.id.to_string());

    // A's local copy is gone and its stored file was altered (same length, other bytes): the
    // download does not hash to the digest of the first one, and is not kept.
    std::fs::remove_file(dir.path().join(&a.file)).unwrap();
    let mut altered = sandbox.atlas_file(&a_id).unwrap();
    altered[0] ^= 0x20;
    assert!(sandbox.tamper_atlas_file(&a_id, altered));
    // C's local copy was altered: it is fetched again and restored.
    std::fs::write(dir.path().join(&c.file), b"edited locally").unwrap();

    let second = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .await
        .unwrap();
    assert!(!second.is_complete(), "{second}");
    assert_eq!((second.fetched, second.unchanged), (1, 4));
    assert_eq!(second.failed.len(), 1, "{second:?}");
    let failure = &second.failed[0];
    assert_eq!(failure.id, Some(a.id));
    assert!(failure.mismatch, "{}", failure.reason);
    assert!(
        failure.reason.contains("does not match its checksum"),
        "{}",
        failure.reason
    );
    assert!(
        !dir.path().join(&a.file).exists(),
        "nothing under the final name"
    );
    assert!(!dir.path().join(format!("{}.part", a.file)).exists());
    assert_eq!(files(dir.path())[&c.file], saved[&c.file], "C restored");

    // The presigned URL is a capability: its signature is in no error, report or manifest.
    let export = atlas.attachments().export(&a_id).await.unwrap();
    let url = export.url().unwrap();
    let signature = url
        .query_pairs()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let manifest_text = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
    for text in [
        failure.reason.clone(),
        format!("{second:?}"),
        second.to_string(),
        manifest_text,
    ] {
        assert!(!text.contains(&signature), "{text}");
    }

    // A recheck downloads everything again and checks it against the first digests: B's stored
    // file was altered too, while its saved copy stays as it was.
    assert!(sandbox.tamper_atlas_file(&b_id, b"replaced in the bucket".to_vec()));
    let recheck = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .recheck(true)
        .await
        .unwrap();
    let mut failed: Vec<_> = recheck.failed.iter().map(|f| (f.id, f.mismatch)).collect();
    failed.sort();
    let mut expected = vec![(Some(a.id), true), (Some(b.id), true)];
    expected.sort();
    assert_eq!(failed, expected, "{recheck:?}");
    assert_eq!((recheck.fetched, recheck.unchanged), (4, 0));
    assert!(recheck.files.iter().all(|f| f.verified == Verified::Digest));
    assert_eq!(files(dir.path())[&b.file], saved[&b.file], "B's copy kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_run_resumes_fetching_only_what_is_missing() {
    let sandbox = Sandbox::builder().attachments(12).start().await.unwrap();
    let atlas = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let stop = Arc::new(tokio::sync::Notify::new());
    let signal = stop.clone();
    // One download at a time, so that at most one request is in flight when the run is
    // dropped.
    let run = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .concurrency(1)
        .progress(move |p| {
            if p.done >= 5 {
                signal.notify_one();
            }
        });
    tokio::select! {
        report = run => panic!("the run should have been dropped: {:?}", report),
        () = stop.notified() => {}
    }
    let kept = files(dir.path());
    assert!((5..12).contains(&kept.len()), "{}", kept.len());
    assert!(kept.keys().all(|n| !n.ends_with(".part")), "{kept:?}");

    let before = sandbox.requests(Platform::Atlas);
    let resumed = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .await
        .unwrap();
    assert!(resumed.is_complete(), "{resumed}");
    // What the dropped run recorded (at least the five it reported) is not fetched again; a
    // file saved just before the drop but not yet recorded may be.
    assert!(resumed.unchanged >= 5, "{resumed}");
    assert!(resumed.unchanged <= kept.len() as u64, "{resumed}");
    let fetched = resumed.fetched;
    assert_eq!(fetched + resumed.unchanged, 12);
    // The listing, then an export and a download for each missing file only (plus, at most,
    // the one request the dropped run had in flight, if the server counts it late; fetching
    // one more file would cost two).
    let requests = sandbox.requests(Platform::Atlas) - before;
    assert!(
        (1 + 2 * fetched..=2 + 2 * fetched).contains(&requests),
        "{requests} requests for {fetched} files"
    );
    let all = files(dir.path());
    assert_eq!(all.len(), 12);
    for (name, bytes) in &kept {
        assert_eq!(&all[name], bytes);
    }
    for f in &resumed.files {
        assert_eq!(all[&f.file], sandbox.atlas_file(&f.id.to_string()).unwrap());
    }
    // Every file is recorded.
    let recorded: std::collections::BTreeSet<String> =
        manifest(dir.path()).into_iter().map(|r| r.file).collect();
    assert_eq!(recorded, all.keys().cloned().collect());
}

/// Every path under `dir`, relative, with `/` separators.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(
                path.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_stay_inside_the_directory_and_collisions_are_recorded() {
    let sandbox = Sandbox::builder().attachments(0).start().await.unwrap();
    let names = [
        "../../escaped.csv",
        "/tmp/casefile-atlas-absolute.csv",
        "sub/dir/nested.csv",
        "CON",
        "..",
        "Report.csv",
        "report.csv",
        "x.bin.part",
        "x.bin",
        MANIFEST_FILE,
        "line\r\nbreak?.csv",
    ];
    let ids: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| sandbox.add_atlas_attachment(name, format!("content {i}")))
        .collect();
    let atlas = client(&sandbox);
    let outer = tempfile::tempdir().unwrap();
    let target = outer.path().join("exports");
    let report = atlas
        .attachments()
        .list()
        .download_all(&target)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fetched, names.len() as u64);

    let found = tree(outer.path());
    assert_eq!(found.len(), 1 + names.len() + 1, "{found:?}");
    assert!(
        found
            .iter()
            .all(|f| f == "exports" || f.starts_with("exports/")),
        "{found:?}"
    );
    assert!(!Path::new("/tmp/casefile-atlas-absolute.csv").exists());
    let saved = files(&target);
    let by_id = by_id(&report);
    for (i, id) in ids.iter().enumerate() {
        let file = &by_id[id];
        assert!(!file.contains('/') && !file.contains('\\'), "{file}");
        assert_eq!(
            saved[file],
            format!("content {i}").into_bytes(),
            "{}",
            names[i]
        );
    }
    // No two names that differ only in case, no device name, and the manifest is intact.
    let lower: std::collections::BTreeSet<String> =
        saved.keys().map(|n| n.to_lowercase()).collect();
    assert_eq!(lower.len(), saved.len(), "{saved:?}");
    assert!(
        lower.iter().all(|n| n.split('.').next() != Some("con")),
        "{lower:?}"
    );
    assert_eq!(manifest(&target).len(), names.len());
    // The later of two clashing names is renamed (oldest first), and that is recorded.
    let renamed: BTreeMap<String, String> = report
        .renamed
        .iter()
        .map(|r| (r.name.clone(), r.file.clone()))
        .collect();
    assert_eq!(renamed.len(), 2, "{renamed:?}");
    assert_eq!(renamed["report.csv"], format!("{}-report.csv", ids[6]));
    assert_eq!(renamed["x.bin"], format!("{}-x.bin", ids[8]));
    assert_eq!(by_id[&ids[5]], "Report.csv");
    assert_eq!(by_id[&ids[7]], "x.bin.part");
    for record in manifest(&target) {
        assert_eq!(record.file, by_id[&record.id.to_string()]);
    }

    // A second run keeps every name it chose.
    let again = atlas
        .attachments()
        .list()
        .download_all(&target)
        .await
        .unwrap();
    assert_eq!((again.fetched, again.unchanged), (0, names.len() as u64));
    assert_eq!(self::by_id(&again), by_id);
}

#[tokio::test]
async fn a_concurrency_of_zero_is_refused_before_any_request() {
    let sandbox = Sandbox::builder().attachments(2).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = client(&sandbox)
        .attachments()
        .list()
        .download_all(dir.path())
        .concurrency(0)
        .await
        .unwrap_err();
    assert_invalid(&err, "concurrency");
    assert_eq!(sandbox.requests(Platform::Atlas), 0);
    assert!(!dir.path().join(MANIFEST_FILE).exists());
    // And a manifest the run cannot read stops it before any request, too.
    std::fs::create_dir(dir.path().join(MANIFEST_FILE)).unwrap();
    let err = client(&sandbox)
        .attachments()
        .list()
        .download_all(dir.path())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_eq!(sandbox.requests(Platform::Atlas), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_download_is_reported_with_its_reason_and_the_others_go_on() {
    let sandbox = Sandbox::builder().attachments(4).start().await.unwrap();
    let atlas = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let faults = sandbox.faults().clone();
    // One at a time: once the first file is saved, the next request (the second attachment's
    // export) is answered 404 by a proxy.
    let report = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .concurrency(1)
        .progress(move |p| {
            if p.done == 1 {
                faults.fail_next(1, 404);
            }
        })
        .await
        .unwrap();
    assert!(!report.is_complete(), "{report}");
    assert!(report.to_string().ends_with("INCOMPLETE"), "{report}");
    assert_eq!((report.fetched, report.unchanged), (3, 0));
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failure = &report.failed[0];
    assert!(!failure.mismatch);
    assert!(failure.reason.contains("404"), "{}", failure.reason);
    assert_eq!(files(dir.path()).len(), 3);
    assert_eq!(manifest(dir.path()).len(), 3);

    // A process killed while writing a record leaves its line cut off.
    let mut text = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
    text.push_str(r#"{"id":"6b1e"#);
    std::fs::write(dir.path().join(MANIFEST_FILE), text).unwrap();

    // The next run fetches that one only.
    let before = sandbox.requests(Platform::Atlas);
    let again = atlas
        .attachments()
        .list()
        .download_all(dir.path())
        .await
        .unwrap();
    assert!(again.is_complete(), "{again}");
    assert_eq!((again.fetched, again.unchanged), (1, 3));
    assert_eq!(
        again.files.iter().find(|f| f.fetched).map(|f| f.id),
        failure.id
    );
    assert_eq!(sandbox.requests(Platform::Atlas) - before, 1 + 2);
    assert_eq!(again.manifest_unreadable_lines, 1);
    // The cut-off line was ended, so the record after it is on a line of its own.
    let text = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
    let readable = text
        .lines()
        .filter(|l| serde_json::from_str::<ManifestRecord>(l).is_ok())
        .count();
    assert_eq!((readable, text.lines().count()), (4, 5));
}
