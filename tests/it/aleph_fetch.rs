//! Issue 17, Aleph: a collection as a directory tree on disk (`Collections::fetch_dir`), what
//! alephclient's `fetchdir` does (`alephclient/fetchdir.py`: roots by
//! `empty:properties.parent`, children by `filter:properties.parent`), verified against each
//! document's `contentHash` and resumable through a manifest; on both sandbox flavors (OpenAleph
//! 5.2+ search hits carry no file links: openaleph `aleph/views/serializers.py`).
#![cfg(all(feature = "aleph", feature = "testkit"))]

use std::collections::BTreeMap;
use std::path::Path;

use casefile::Upload;
use casefile::aleph::{Client, FETCH_MANIFEST, Flavor, IngestMeta, NewCollection};
use casefile::testkit::{Platform, Sandbox};

const TREE: &[(&str, &[u8])] = &[
    ("report.txt", b"the report\n"),
    ("evidence/photo-notes.txt", b"notes on the photo\n"),
    ("evidence/2024/ledger.csv", b"date,amount\n2024-01-02,100\n"),
    ("evidence/2024/empty.txt", b""),
];

async fn sandbox(flavor: Flavor) -> Sandbox {
    Sandbox::builder()
        .aleph_flavor(flavor)
        .entities(&[3])
        .incidents(1)
        .attachments(1)
        .start()
        .await
        .unwrap()
}

/// A collection holding [`TREE`] (ingested with `ingest_dir`) and a second `report.txt` in its
/// root, with other bytes.
async fn collection_with_tree(aleph: &Client) -> String {
    let id = aleph
        .collections()
        .create(NewCollection::new("Tree"))
        .await
        .unwrap()
        .id;
    let (source, manifest) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (path, bytes) in TREE {
        let path = source.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let report = aleph
        .collections()
        .ingest_dir(&id, source.path())
        .manifest(manifest.path().join("ingest.jsonl"))
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    aleph
        .collections()
        .ingest(
            &id,
            Upload::bytes("report.txt", b"another report\n".to_vec()),
            IngestMeta::with_foreign_id("second/report.txt"),
        )
        .await
        .unwrap();
    id
}

/// Every file under `dir` (but the manifest), by `/`-separated relative path.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    // Bounded: the tree is a handful of folders.
    for _ in 0..100 {
        let Some(next) = stack.pop() else { break };
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if relative != FETCH_MANIFEST {
                    found.insert(relative, std::fs::read(&path).unwrap());
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn a_collection_comes_back_as_its_tree_on_either_server() {
    for flavor in [Flavor::Aleph, Flavor::OpenAleph] {
        let sandbox = sandbox(flavor).await;
        let aleph = sandbox.aleph().unwrap();
        let id = collection_with_tree(&aleph).await;
        let target = tempfile::tempdir().unwrap();
        let report = aleph
            .collections()
            .fetch_dir(&id, target.path())
            .await
            .unwrap();
        assert!(
            report.is_complete(),
            "{flavor:?}: {report} {:?}",
            report.failed
        );
        assert_eq!(
            (report.files_seen, report.folders),
            (5, 2),
            "{flavor:?}: {report}"
        );
        let got = files_under(target.path());
        for (path, bytes) in TREE {
            assert_eq!(
                got.get(*path).map(Vec::as_slice),
                Some(*bytes),
                "{flavor:?} {path}"
            );
        }
        // The second `report.txt` of the root is told apart by its id, and reported.
        assert_eq!(report.renamed.len(), 1, "{flavor:?}: {:?}", report.renamed);
        let renamed = &report.renamed[0];
        assert_eq!(renamed.name, "report.txt");
        let other = got.get(&renamed.path).expect("the renamed file");
        let first = got.get("report.txt").unwrap();
        assert_ne!(other, first);
        let both: Vec<&[u8]> = vec![first, other];
        assert!(both.contains(&&b"another report\n"[..]) && both.contains(&&b"the report\n"[..]));
    }
}

#[tokio::test]
async fn a_second_run_fetches_only_what_is_missing_or_changed() {
    let sandbox = sandbox(Flavor::Aleph).await;
    let aleph = sandbox.aleph().unwrap();
    let id = collection_with_tree(&aleph).await;
    let target = tempfile::tempdir().unwrap();
    let first = aleph
        .collections()
        .fetch_dir(&id, target.path())
        .await
        .unwrap();
    assert_eq!(first.fetched, 5);

    let again = aleph
        .collections()
        .fetch_dir(&id, target.path())
        .await
        .unwrap();
    assert_eq!((again.fetched, again.unchanged), (0, 5), "{again}");
    assert!(again.is_complete());

    // A file lost or altered on disk is fetched again, and only it.
    std::fs::remove_file(target.path().join("evidence/photo-notes.txt")).unwrap();
    std::fs::write(target.path().join("evidence/2024/ledger.csv"), b"changed").unwrap();
    let third = aleph
        .collections()
        .fetch_dir(&id, target.path())
        .await
        .unwrap();
    assert_eq!((third.fetched, third.unchanged), (2, 3), "{third}");
    assert_eq!(
        files_under(target.path())["evidence/2024/ledger.csv"],
        b"date,amount\n2024-01-02,100\n"
    );
}

#[tokio::test]
async fn a_killed_run_resumes_where_it_stopped() {
    let sandbox = sandbox(Flavor::OpenAleph).await;
    let aleph = sandbox.aleph().unwrap();
    let id = collection_with_tree(&aleph).await;
    let target = tempfile::tempdir().unwrap();
    // Killed after the first document: the future is dropped mid-run.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let run = aleph
        .collections()
        .fetch_dir(&id, target.path())
        .concurrency(1)
        .progress(move |p| {
            if p.files_done == 1
                && let Some(tx) = tx.lock().unwrap().take()
            {
                let _ = tx.send(());
            }
        });
    tokio::select! {
        report = run.send() => panic!("the run was not stopped: {report:?}"),
        _ = rx => {}
    }
    let saved = files_under(target.path()).len();
    assert!((1..5).contains(&saved), "{saved} files after the kill");
    // No half-written file is left under a final name: everything on disk is whole.
    for (path, bytes) in files_under(target.path()) {
        let expected = TREE.iter().find(|(p, _)| *p == path).map(|(_, b)| *b);
        if let Some(expected) = expected {
            assert_eq!(bytes, expected, "{path}");
        }
    }

    let before = sandbox.requests(Platform::Aleph);
    let resumed = aleph
        .collections()
        .fetch_dir(&id, target.path())
        .await
        .unwrap();
    assert!(resumed.is_complete(), "{resumed}");
    assert_eq!(resumed.unchanged, 1, "{resumed}");
    assert_eq!(resumed.fetched, 4, "{resumed}");
    assert_eq!(files_under(target.path()).len(), 5);
    assert!(sandbox.requests(Platform::Aleph) > before);
}

/// A document whose file does not hash to its `contentHash` is reported failed, and nothing is
/// left under its name or in the manifest: the next run tries it again.
#[tokio::test]
async fn a_tampered_file_is_reported_and_not_kept() {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let doc = json!({"id": "doc-1", "schema": "PlainText", "collection_id": "4",
        "properties": {"fileName": ["report.txt"],
                       // `printf 'the report\n' | sha1sum`
                       "contentHash": ["31d9d7413d95227306cacaf8f1ae644f2afd35ad"]},
        "links": {"file": format!("{}/api/2/archive?token=t", server.uri())}});
    let page = json!({"status": "ok", "results": [doc], "total": 1, "total_type": "eq",
        "limit": 500, "offset": 0, "next": null, "previous": null});
    Mock::given(method("GET"))
        .and(path("/api/2/entities"))
        .respond_with(crate::support::aleph::ok_json(page.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"the rep0rt\n".to_vec()))
        .mount(&server)
        .await;
    let aleph = crate::support::aleph::client(&server);
    let target = tempfile::tempdir().unwrap();
    let report = aleph
        .collections()
        .fetch_dir(4, target.path())
        .await
        .unwrap();
    assert!(!report.is_complete());
    assert_eq!((report.files_seen, report.fetched), (1, 0));
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0]
            .reason
            .contains("does not match its checksum"),
        "{:?}",
        report.failed
    );
    assert!(files_under(target.path()).is_empty());
    let manifest = std::fs::read_to_string(target.path().join(FETCH_MANIFEST)).unwrap();
    assert!(manifest.is_empty(), "{manifest}");
    // The root's one page was asked for once.
    let searches = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/2/entities")
        .count();
    assert_eq!(searches, 1);
}

/// A folder whose listing ends before the total the server counted is a failure, not a folder
/// with fewer documents.
#[tokio::test]
async fn a_folder_listed_short_of_its_total_is_a_failure() {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer};

    let server = MockServer::start().await;
    let doc = json!({"id": "doc-1", "schema": "PlainText", "properties": {"fileName": ["a.txt"],
        "contentHash": ["31d9d7413d95227306cacaf8f1ae644f2afd35ad"]}});
    let page = json!({"status": "ok", "results": [doc], "total": 3, "total_type": "eq",
        "limit": 500, "offset": 0, "next": null, "previous": null});
    Mock::given(method("GET"))
        .and(path("/api/2/entities"))
        .respond_with(crate::support::aleph::ok_json(page.to_string()))
        .mount(&server)
        .await;
    let target = tempfile::tempdir().unwrap();
    let report = crate::support::aleph::client(&server)
        .collections()
        .fetch_dir(4, target.path())
        .await
        .unwrap();
    assert!(!report.is_complete());
    assert_eq!((report.files_seen, report.failed.len()), (0, 1), "{report}");
    assert!(
        report.failed[0].reason.contains("counted 3"),
        "{:?}",
        report.failed
    );
}

/// The same against the sandbox, on both servers: a document altered in the archive
/// (`Sandbox::tamper_aleph_file`) fails the run for that document only, and is not kept; the
/// others land.
#[tokio::test]
async fn a_document_altered_in_the_archive_is_detected_on_either_server() {
    // `printf 'notes on the photo\n' | sha1sum`
    let photo_notes = "500913cd7aa30d3c111a6a81c8d789d03865d94c";
    for flavor in [Flavor::Aleph, Flavor::OpenAleph] {
        let sandbox = sandbox(flavor).await;
        let aleph = sandbox.aleph().unwrap();
        let id = collection_with_tree(&aleph).await;
        assert!(sandbox.tamper_aleph_file(photo_notes), "no such file");
        let target = tempfile::tempdir().unwrap();
        let report = aleph
            .collections()
            .fetch_dir(&id, target.path())
            .await
            .unwrap();
        assert!(!report.is_complete());
        assert_eq!(
            (report.fetched, report.failed.len()),
            (4, 1),
            "{flavor:?}: {report}"
        );
        assert_eq!(report.failed[0].path, "evidence/photo-notes.txt");
        assert!(
            report.failed[0].reason.contains(photo_notes),
            "{:?}",
            report.failed
        );
        let got = files_under(target.path());
        assert!(!got.contains_key("evidence/photo-notes.txt"), "{flavor:?}");
        assert_eq!(got.len(), 4);
    }
}
