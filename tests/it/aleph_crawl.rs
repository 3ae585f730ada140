//! Directory ingest (`collections().ingest_dir`) against the sandbox's Aleph server and
//! wiremock, and the `aleph_crawl` example run as a built binary (killed mid-run, then resumed).
#![cfg(all(feature = "aleph", feature = "testkit"))]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::support::aleph::{KEY, client, requests};
use crate::support::example;
use casefile::aleph::{
    Client, CrawlEvent, CrawlReport, Entity, EntryKind, IngestDir, NewCollection, PassReason,
    read_manifest,
};
use casefile::testkit::{Platform, Sandbox};
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A directory holding `files` (relative paths with `/`, created with their folders).
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, content) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

async fn sandbox() -> Sandbox {
    Sandbox::builder().entities(&[1]).start().await.unwrap()
}

/// A new collection in the sandbox.
async fn collection(aleph: &Client, foreign_id: &str) -> String {
    aleph
        .collections()
        .create(NewCollection::new("Crawl test").foreign_id(foreign_id))
        .await
        .unwrap()
        .id
}

async fn entities(aleph: &Client, id: &str) -> Vec<Entity> {
    aleph
        .collections()
        .stream_entities(id)
        .stream()
        .try_collect()
        .await
        .unwrap()
}

fn prop(entity: &Entity, name: &str) -> Option<String> {
    entity
        .properties
        .get(name)
        .and_then(|values| values.first())
        .and_then(|v| v.as_text())
        .map(str::to_owned)
}

/// The entities of a collection by file name (names are unique in these trees).
async fn by_name(aleph: &Client, id: &str) -> BTreeMap<String, Entity> {
    entities(aleph, id)
        .await
        .into_iter()
        .filter_map(|e| prop(&e, "fileName").map(|name| (name, e)))
        .collect()
}

/// Records the paths of the `Uploaded` events of a run.
fn uploaded_paths(crawl: IngestDir) -> (IngestDir, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let crawl = crawl.progress(move |event, _| {
        if let CrawlEvent::Uploaded { path, .. } = event {
            sink.lock().unwrap().push(path.clone());
        }
    });
    (crawl, seen)
}

fn set(paths: &[String]) -> BTreeSet<String> {
    paths.iter().cloned().collect()
}

fn sha256_hex(content: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn nested_tree_uploads_with_parents_foreign_ids_and_a_second_run_uploads_nothing() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let id = collection(&aleph, "crawl-nested").await;
    let files = [
        ("a.txt", "top level"),
        ("docs/b.txt", "in docs"),
        ("docs/2019/c.txt", "in 2019"),
        ("docs/2019/deep/d.txt", "deep down"),
    ];
    let dir = tree(&files);
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let state = tempfile::tempdir().unwrap();
    let manifest = state.path().join("manifest.jsonl");

    let report = aleph
        .collections()
        .ingest_dir(&id, dir.path())
        .manifest(&manifest)
        .language("eng")
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        (report.files_seen, report.uploaded, report.skipped),
        (4, 4, 0)
    );
    assert_eq!((report.folders_seen, report.folders_created), (4, 4));
    let bytes: u64 = files.iter().map(|(_, c)| c.len() as u64).sum();
    assert_eq!((report.bytes_seen, report.bytes_uploaded), (bytes, bytes));

    // The server holds the tree: each folder and file under its parent.
    let all = by_name(&aleph, &id).await;
    let id_of = |name: &str| all[name].id.clone().unwrap();
    let parent = |name: &str| prop(&all[name], "parent");
    for folder in ["docs", "2019", "deep", "empty"] {
        assert_eq!(all[folder].schema, "Folder", "{folder}");
    }
    for file in ["a.txt", "b.txt", "c.txt", "d.txt"] {
        assert_eq!(all[file].schema, "Document", "{file}");
        assert_eq!(prop(&all[file], "language").as_deref(), Some("eng"));
    }
    assert_eq!(parent("docs"), None);
    assert_eq!(parent("empty"), None);
    assert_eq!(parent("a.txt"), None);
    assert_eq!(parent("b.txt"), Some(id_of("docs")));
    assert_eq!(parent("2019"), Some(id_of("docs")));
    assert_eq!(parent("c.txt"), Some(id_of("2019")));
    assert_eq!(parent("deep"), Some(id_of("2019")));
    assert_eq!(parent("d.txt"), Some(id_of("deep")));

    // The manifest lists every path under its foreign id, with the server's ids and hashes.
    let read = read_manifest(&manifest).unwrap();
    assert_eq!((read.unreadable_lines, read.truncated), (0, false));
    let recorded: BTreeMap<String, _> = read
        .entries
        .iter()
        .map(|e| (e.path.clone(), e.clone()))
        .collect();
    let expected: BTreeSet<&str> = [
        "a.txt",
        "docs",
        "docs/b.txt",
        "docs/2019",
        "docs/2019/c.txt",
        "docs/2019/deep",
        "docs/2019/deep/d.txt",
        "empty",
    ]
    .into();
    assert_eq!(
        recorded.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected
    );
    for (rel, content) in files {
        let entry = &recorded[rel];
        let name = rel.rsplit('/').next().unwrap();
        assert_eq!(entry.kind, EntryKind::File);
        assert_eq!(entry.id, id_of(name));
        assert_eq!(entry.size, Some(content.len() as u64));
        assert_eq!(entry.sha256.as_deref(), Some(sha256_hex(content).as_str()));
        assert_eq!(entry.collection, id);
    }
    assert_eq!(recorded["docs/2019/deep"].id, id_of("deep"));
    assert_eq!(recorded["docs/2019/deep"].kind, EntryKind::Folder);

    // Again: nothing is uploaded, no folder is created; one request checks the collection.
    let before = s.requests(Platform::Aleph);
    let again = aleph
        .collections()
        .ingest_dir(&id, dir.path())
        .manifest(&manifest)
        .await
        .unwrap();
    assert!(again.is_complete(), "{again}");
    assert_eq!(
        (again.uploaded, again.skipped, again.bytes_uploaded),
        (0, 4, 0)
    );
    assert_eq!((again.folders_created, again.folders_known), (0, 4));
    assert_eq!(s.requests(Platform::Aleph) - before, 1);
}

/// The `meta` JSON of a multipart ingest request.
fn meta(req: &Request) -> Value {
    let body = String::from_utf8_lossy(&req.body);
    let at = body.find("name=\"meta\"").expect("a meta field");
    let rest = &body[at..];
    let start = rest.find("\r\n\r\n").unwrap() + 4;
    let end = rest[start..].find("\r\n--").unwrap();
    serde_json::from_str(&rest[start..start + end]).unwrap()
}

/// An Aleph double: collection 7 exists; an ingest answers 201 with `id-<foreign_id>`, or 400
/// for the foreign ids in `refuse`.
async fn aleph_double(refuse: &'static [&'static str]) -> MockServer {
    let server = MockServer::start().await;
    let collection =
        json!({"id": "7", "collection_id": "7", "foreign_id": "crawl-x", "label": "Crawl"});
    Mock::given(method("GET"))
        .and(path("/api/2/collections/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(collection.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections"))
        .and(query_param("filter:foreign_id", "crawl-x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "ok", "results": [collection], "total": 1, "total_type": "eq",
            "page": 1, "pages": 1, "limit": 10, "offset": 0
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/7/ingest"))
        .respond_with(move |req: &Request| {
            let foreign_id = meta(req)["foreign_id"].as_str().unwrap().to_owned();
            if refuse.contains(&foreign_id.as_str()) {
                return ResponseTemplate::new(400).set_body_json(
                    json!({"status": "error", "message": "Cannot load parent document"}),
                );
            }
            ResponseTemplate::new(201)
                .set_body_json(json!({"status": "ok", "id": format!("id-{foreign_id}")}))
        })
        .mount(&server)
        .await;
    server
}

fn ingests(all: &[Request]) -> Vec<&Request> {
    all.iter()
        .filter(|r| r.url.path() == "/api/2/collections/7/ingest")
        .collect()
}

#[tokio::test]
async fn requests_carry_parent_ids_foreign_ids_file_names_and_flags_folders_first() {
    let server = aleph_double(&[]).await;
    let dir = tree(&[
        ("z.txt", "last by name"),
        ("one/two/three.txt", "three"),
        ("one/uno.txt", "uno"),
    ]);
    let report = client(&server)
        .collections()
        .ingest_dir("7", dir.path())
        .languages(["deu", "fra"])
        .index(false)
        .concurrency(2)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");

    let all = requests(&server).await;
    assert_eq!(all[0].method.as_str(), "GET");
    assert_eq!(all[0].url.path(), "/api/2/collections/7");
    let sent = ingests(&all);
    assert_eq!(sent.len(), 5);
    let metas: Vec<Value> = sent.iter().map(|r| meta(r)).collect();
    // Folders first, parents before children.
    assert_eq!(
        metas[0],
        json!({"file_name": "one", "foreign_id": "one", "languages": ["deu", "fra"]})
    );
    assert_eq!(
        metas[1],
        json!({"file_name": "two", "foreign_id": "one/two", "parent_id": "id-one", "languages": ["deu", "fra"]})
    );
    let files: BTreeMap<String, Value> = metas[2..]
        .iter()
        .map(|m| (m["foreign_id"].as_str().unwrap().to_owned(), m.clone()))
        .collect();
    assert_eq!(
        files["one/two/three.txt"],
        json!({"file_name": "three.txt", "foreign_id": "one/two/three.txt", "parent_id": "id-one/two", "languages": ["deu", "fra"]})
    );
    assert_eq!(files["one/uno.txt"]["parent_id"], "id-one");
    assert_eq!(
        files["z.txt"],
        json!({"file_name": "z.txt", "foreign_id": "z.txt", "languages": ["deu", "fra"]})
    );
    for (i, req) in sent.iter().enumerate() {
        // Files carry the index flag; folders are not indexed documents.
        let expected = if i < 2 { None } else { Some("index=false") };
        assert_eq!(req.url.query(), expected);
        assert_eq!(
            req.headers.get("authorization").unwrap(),
            &format!("ApiKey {KEY}")
        );
    }
    // Files are sent as file parts with their name and content.
    let three = sent
        .iter()
        .find(|r| meta(r)["foreign_id"] == "one/two/three.txt")
        .unwrap();
    let body = String::from_utf8_lossy(&three.body);
    assert!(
        body.contains("name=\"file\"; filename=\"three.txt\""),
        "{body}"
    );
    assert!(body.contains("\r\n\r\nthree\r\n--"), "{body}");
}

#[tokio::test]
async fn a_run_cut_off_half_way_resumes_uploading_each_remaining_file_once() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let id = collection(&aleph, "crawl-resume").await;
    let owned: Vec<(String, String)> = (0..20)
        .map(|i| {
            (
                format!("part{}/file{i:02}.txt", i % 2),
                format!("content {i}"),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = owned
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let dir = tree(&files);
    let state = tempfile::tempdir().unwrap();
    let manifest = state.path().join("m.jsonl");

    // The server starts failing (503 every time) once 10 files were accepted.
    let faults = s.faults().clone();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let crawl = aleph
        .collections()
        .ingest_dir(&id, dir.path())
        .manifest(&manifest)
        .retry(
            aleph
                .transport()
                .retry_policy()
                .clone()
                .max_retries(1)
                .base_delay(Duration::from_millis(1)),
        )
        .progress(move |event, _| {
            if let CrawlEvent::Uploaded { .. } = event
                && counter.fetch_add(1, Ordering::SeqCst) + 1 == 10
            {
                faults.fail_next(10_000, 503);
            }
        });
    let first = crawl.await.unwrap();
    s.faults().clear();
    assert!(!first.is_complete());
    assert!(first.uploaded >= 10, "{first}");
    assert_eq!(first.uploaded + first.failed.len() as u64, 20, "{first}");
    for failure in &first.failed {
        // A 503, or a broken connection when the server answered before reading the body.
        let reason = &failure.reason;
        assert!(
            reason.contains("503") || reason.contains("sending request"),
            "{failure:?}"
        );
        assert_eq!(failure.attempts, 2, "{failure:?}");
    }
    let failed_first: BTreeSet<String> = first.failed.iter().map(|f| f.path.clone()).collect();

    // A process killed while writing leaves half a line: cut the last record in half.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let last_start = text.trim_end().rfind('\n').map_or(0, |i| i + 1);
    let last: Value = serde_json::from_str(text[last_start..].trim_end()).unwrap();
    let cut_path = last["path"].as_str().unwrap().to_owned();
    let cut_at = last_start + (text.len() - last_start) / 2;
    std::fs::write(&manifest, &text[..cut_at]).unwrap();
    assert!(!failed_first.contains(&cut_path));

    let before = s.requests(Platform::Aleph);
    let (crawl, second_paths) = uploaded_paths(
        aleph
            .collections()
            .ingest_dir(&id, dir.path())
            .manifest(&manifest),
    );
    let second = crawl.await.unwrap();
    assert!(second.is_complete(), "{second}");
    assert_eq!(second.manifest_unreadable_lines, 1);
    // Exactly the files that failed, plus the one whose record was cut off, each once.
    let mut expected = failed_first.clone();
    expected.insert(cut_path);
    let second_paths = second_paths.lock().unwrap().clone();
    assert_eq!(second_paths.len(), expected.len(), "{second_paths:?}");
    assert_eq!(set(&second_paths), expected);
    assert_eq!(second.uploaded, expected.len() as u64);
    assert_eq!(second.skipped, 20 - expected.len() as u64);
    assert_eq!(second.folders_known, 2);
    assert_eq!(
        s.requests(Platform::Aleph) - before,
        1 + expected.len() as u64
    );

    // Every file is on the server once, and the repaired manifest reads cleanly after the cut.
    let documents = entities(&aleph, &id)
        .await
        .into_iter()
        .filter(|e| e.schema == "Document")
        .count();
    assert_eq!(documents, 20);
    let read = read_manifest(&manifest).unwrap();
    assert_eq!((read.unreadable_lines, read.truncated), (1, false));
    let files_recorded: BTreeSet<String> = read
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(files_recorded.len(), 20);
    let third = aleph
        .collections()
        .ingest_dir(&id, dir.path())
        .manifest(&manifest)
        .await
        .unwrap();
    assert_eq!((third.uploaded, third.skipped), (0, 20));
}

#[tokio::test]
async fn a_changed_file_is_uploaded_again_and_a_touched_one_is_not() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let id = collection(&aleph, "crawl-changes").await;
    let dir = tree(&[
        ("a.txt", "alpha"),
        ("b.txt", "bravo"),
        ("c.txt", "abc"),
        ("d.txt", "delta"),
    ]);
    let state = tempfile::tempdir().unwrap();
    let manifest = state.path().join("m.jsonl");
    let run = || {
        aleph
            .collections()
            .ingest_dir(&id, dir.path())
            .manifest(&manifest)
    };
    assert_eq!(run().await.unwrap().uploaded, 4);

    let later = SystemTime::now() + Duration::from_secs(7200);
    let touch = |name: &str| {
        std::fs::File::options()
            .write(true)
            .open(dir.path().join(name))
            .unwrap()
            .set_modified(later)
            .unwrap();
    };
    std::fs::write(dir.path().join("a.txt"), "alpha, longer now").unwrap(); // new size
    std::fs::write(dir.path().join("c.txt"), "xyz").unwrap(); // same size, new content
    touch("c.txt");
    touch("b.txt"); // new time, same content
    let before = s.requests(Platform::Aleph);
    let (crawl, paths) = uploaded_paths(run());
    let report = crawl.await.unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        set(&paths.lock().unwrap()),
        set(&["a.txt".into(), "c.txt".into()])
    );
    assert_eq!((report.uploaded, report.skipped), (2, 2));
    assert_eq!(report.bytes_uploaded, 17 + 3);
    assert_eq!(s.requests(Platform::Aleph) - before, 3);
    let all = by_name(&aleph, &id).await;
    assert_eq!(prop(&all["a.txt"], "fileSize").as_deref(), Some("17"));

    // The touched file's new time was recorded: the next run does not even hash it.
    let read = read_manifest(&manifest).unwrap();
    let b_latest = read
        .entries
        .iter()
        .rev()
        .find(|e| e.path == "b.txt")
        .unwrap();
    let b_time = std::fs::metadata(dir.path().join("b.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(b_latest.mtime, Some(b_time.into()));
    let next = run().await.unwrap();
    assert_eq!((next.uploaded, next.skipped), (0, 4));
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_are_not_followed_by_default_and_never_lead_outside_the_root() {
    use std::os::unix::fs::symlink;
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let dir = tree(&[("a.txt", "alpha"), ("docs/b.txt", "bravo")]);
    let outside = tree(&[("secret.txt", "not for Aleph")]);
    let root = dir.path();
    symlink("a.txt", root.join("link_a.txt")).unwrap();
    symlink(outside.path(), root.join("outside")).unwrap();
    symlink(outside.path().join("secret.txt"), root.join("outside.txt")).unwrap();
    symlink(".", root.join("loop")).unwrap();
    symlink("docs", root.join("alias")).unwrap();
    symlink("missing.txt", root.join("dangling")).unwrap();

    let id = collection(&aleph, "crawl-links").await;
    let (crawl, paths) = uploaded_paths(aleph.collections().ingest_dir(&id, root));
    let report = crawl.await.unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        set(&paths.lock().unwrap()),
        set(&["a.txt".into(), "docs/b.txt".into()])
    );
    let passed: BTreeMap<String, PassReason> = report
        .passed_over
        .iter()
        .map(|p| (p.path.clone(), p.reason))
        .collect();
    for link in [
        "link_a.txt",
        "outside",
        "outside.txt",
        "loop",
        "alias",
        "dangling",
    ] {
        assert_eq!(passed[link], PassReason::Symlink, "{link}");
    }
    assert!(!by_name(&aleph, &id).await.contains_key("secret.txt"));

    // Followed: only inside the root, each folder once, under its real path.
    let id = collection(&aleph, "crawl-links-followed").await;
    let (crawl, paths) = uploaded_paths(
        aleph
            .collections()
            .ingest_dir(&id, root)
            .follow_symlinks(true),
    );
    let report = crawl.await.unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        set(&paths.lock().unwrap()),
        set(&["a.txt".into(), "docs/b.txt".into(), "link_a.txt".into()])
    );
    let passed: BTreeMap<String, PassReason> = report
        .passed_over
        .iter()
        .map(|p| (p.path.clone(), p.reason))
        .collect();
    assert_eq!(passed["outside"], PassReason::OutsideRoot);
    assert_eq!(passed["outside.txt"], PassReason::OutsideRoot);
    assert_eq!(passed["loop"], PassReason::Loop);
    assert_eq!(passed["alias"], PassReason::Loop);
    assert_eq!(passed["dangling"], PassReason::BrokenSymlink);
    assert_eq!(report.folders_created, 1);
    let names = by_name(&aleph, &id).await;
    assert!(!names.contains_key("secret.txt"));
    assert!(names.contains_key("docs"));
}

#[tokio::test]
async fn junk_files_are_passed_over_unless_asked_for() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let files = [
        ("a.txt", "a"),
        (".hidden.txt", "dot files are not junk"),
        (".DS_Store", "x"),
        ("Thumbs.db", "x"),
        ("sub/desktop.ini", "x"),
        ("~$report.docx", "x"),
        ("._a.txt", "x"),
        ("__MACOSX/a.txt", "x"),
    ];
    let dir = tree(&files);
    let id = collection(&aleph, "crawl-junk").await;
    let (crawl, paths) = uploaded_paths(aleph.collections().ingest_dir(&id, dir.path()));
    let report = crawl.await.unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        set(&paths.lock().unwrap()),
        set(&[".hidden.txt".into(), "a.txt".into()])
    );
    let junk: BTreeSet<String> = report
        .passed_over
        .iter()
        .filter(|p| p.reason == PassReason::Junk)
        .map(|p| p.path.clone())
        .collect();
    let expected: BTreeSet<String> = [
        ".DS_Store",
        "Thumbs.db",
        "sub/desktop.ini",
        "~$report.docx",
        "._a.txt",
        "__MACOSX",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(junk, expected);

    let id = collection(&aleph, "crawl-junk-kept").await;
    let report = aleph
        .collections()
        .ingest_dir(&id, dir.path())
        .skip_junk(false)
        .skip_if(|path, _| path == "Thumbs.db")
        .await
        .unwrap();
    assert_eq!(report.uploaded, files.len() as u64 - 1);
    assert_eq!(report.passed_over.len(), 1);
    assert_eq!(report.passed_over[0].reason, PassReason::Filtered);
}

#[tokio::test]
async fn a_transient_failure_is_retried_for_that_file_only() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let id = collection(&aleph, "crawl-retry").await;
    let dir = tree(&[("a.txt", "a"), ("b.txt", "b"), ("c.txt", "c")]);
    let faults = s.faults().clone();
    let retried = Arc::new(Mutex::new(Vec::new()));
    let sink = retried.clone();
    let report = aleph
        .collections()
        .ingest_dir(&id, dir.path())
        .concurrency(1)
        .retry(
            aleph
                .transport()
                .retry_policy()
                .clone()
                .base_delay(Duration::from_millis(1)),
        )
        .progress(move |event, _| match event {
            CrawlEvent::Scanned { .. } => faults.fail_next(2, 502),
            CrawlEvent::Retrying { path, attempt, .. } => {
                sink.lock().unwrap().push((path.clone(), *attempt))
            }
            _ => {}
        })
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!((report.uploaded, report.retries), (3, 2));
    assert_eq!(
        *retried.lock().unwrap(),
        vec![("a.txt".to_owned(), 1), ("a.txt".to_owned(), 2)]
    );
}

#[tokio::test]
async fn a_forbidden_answer_stops_the_run_and_the_rest_is_not_attempted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/7"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "7", "label": "Crawl"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/7/ingest"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"status": "error", "message": "You are not authorized to do this.", "roles": [1, 2]}),
        ))
        .mount(&server)
        .await;
    let files: Vec<(String, &str)> = (0..10).map(|i| (format!("f{i}.txt"), "x")).collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let dir = tree(&files);
    let report = client(&server)
        .collections()
        .ingest_dir("7", dir.path())
        .concurrency(1)
        .await
        .unwrap();
    assert!(!report.is_complete());
    assert!(
        report
            .stopped
            .as_deref()
            .unwrap()
            .contains("not authorized"),
        "{report}"
    );
    assert_eq!((report.failed.len(), report.not_attempted), (1, 9));
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_request() {
    let server = MockServer::start().await;
    let aleph = client(&server);
    let dir = tree(&[("a.txt", "a")]);
    let refused = [
        aleph
            .collections()
            .ingest_dir("7", dir.path())
            .concurrency(0)
            .await,
        aleph
            .collections()
            .ingest_dir("7", dir.path().join("missing"))
            .await,
        aleph
            .collections()
            .ingest_dir("7", dir.path().join("a.txt"))
            .await,
        aleph.collections().ingest_dir("..", dir.path()).await,
    ];
    for outcome in refused {
        assert!(outcome.is_err(), "{outcome:?}");
    }
    assert!(requests(&server).await.is_empty());
}

#[test]
fn the_report_is_complete_only_when_everything_is_in() {
    let complete = CrawlReport::default();
    assert!(complete.is_complete());
    assert!(complete.to_string().ends_with("complete"));
}

// --- The example, run as a built binary -------------------------------------------------------

fn crawl_command(server: &MockServer, dir: &Path, extra: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(example("aleph_crawl"));
    command
        .arg("crawl-x")
        .arg(dir)
        .args(extra)
        .env("ALEPH_URL", server.uri())
        .env("ALEPH_API_KEY", KEY)
        .env_remove("ALEPHCLIENT_HOST")
        .env_remove("ALEPHCLIENT_API_KEY");
    command
}

#[tokio::test]
async fn the_example_exit_status_says_whether_the_run_was_complete() {
    let server = aleph_double(&["bad.txt"]).await;
    let dir = tree(&[("good.txt", "fine"), ("bad.txt", "refused")]);
    let state = tempfile::tempdir().unwrap();
    let manifest = state.path().join("m.jsonl");
    let manifest_arg = manifest.to_str().unwrap();
    let output = crawl_command(&server, dir.path(), &["--manifest", manifest_arg])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("INCOMPLETE"), "{stdout}");
    assert!(stdout.contains("FAILED bad.txt (1 attempts): "), "{stdout}");
    assert!(stdout.contains("Cannot load parent document"), "{stdout}");

    std::fs::remove_file(dir.path().join("bad.txt")).unwrap();
    let before = ingests(&requests(&server).await).len();
    let output = crawl_command(&server, dir.path(), &["--manifest", manifest_arg])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 unchanged"), "{stdout}");
    assert_eq!(ingests(&requests(&server).await).len(), before);

    let usage = crawl_command(&server, dir.path(), &["--concurrency", "0"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test]
async fn the_example_killed_mid_run_resumes_and_ends_with_every_file_once() {
    const FILES: usize = 30;
    const ACCEPTED_BEFORE_HANG: usize = 10;
    let server = MockServer::start().await;
    let collection = json!({"id": "7", "foreign_id": "crawl-x", "label": "Crawl"});
    Mock::given(method("GET"))
        .and(path("/api/2/collections/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(collection.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "ok", "results": [collection], "total": 1, "total_type": "eq",
            "limit": 10, "offset": 0
        })))
        .mount(&server)
        .await;
    // After ten accepted files the server stops answering (until `healthy` is set), so the
    // process is killed with uploads in flight.
    let accepted: Arc<Mutex<Vec<String>>> = Arc::default();
    let healthy = Arc::new(AtomicBool::new(false));
    let (log, ok) = (accepted.clone(), healthy.clone());
    Mock::given(method("POST"))
        .and(path("/api/2/collections/7/ingest"))
        .respond_with(move |req: &Request| {
            let foreign_id = meta(req)["foreign_id"].as_str().unwrap().to_owned();
            let mut log = log.lock().unwrap();
            let is_file = foreign_id.contains('.');
            if is_file && !ok.load(Ordering::SeqCst) && log.len() >= ACCEPTED_BEFORE_HANG {
                return ResponseTemplate::new(201).set_delay(Duration::from_secs(600));
            }
            if is_file {
                log.push(foreign_id.clone());
            }
            ResponseTemplate::new(201)
                .set_body_json(json!({"status": "ok", "id": format!("id-{foreign_id}")}))
        })
        .mount(&server)
        .await;
    let owned: Vec<(String, String)> = (0..FILES)
        .map(|i| {
            (
                format!("box{}/doc{i:02}.txt", i % 3),
                format!("document {i}"),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = owned
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let dir = tree(&files);
    let state = tempfile::tempdir().unwrap();
    let manifest = state.path().join("m.jsonl");
    let manifest_arg = manifest.to_str().unwrap();

    let mut child = crawl_command(
        &server,
        dir.path(),
        &["--manifest", manifest_arg, "--concurrency", "3"],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let recorded_files = || {
        read_manifest(&manifest)
            .unwrap()
            .entries
            .into_iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.path)
            .collect::<BTreeSet<String>>()
    };
    let mut waited = 0;
    while recorded_files().len() < ACCEPTED_BEFORE_HANG {
        assert!(child.try_wait().unwrap().is_none(), "the crawl ended early");
        assert!(waited < 6000, "the crawl did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    // Give the hung uploads time to arrive, then kill the process.
    while requests(&server).await.len() < 1 + 1 + 3 + ACCEPTED_BEFORE_HANG + 3 {
        assert!(waited < 6000, "the hung uploads did not arrive");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before_kill = recorded_files();
    assert_eq!(done_before_kill.len(), ACCEPTED_BEFORE_HANG);
    let accepted_before_kill = accepted.lock().unwrap().len();
    assert_eq!(accepted_before_kill, ACCEPTED_BEFORE_HANG);

    healthy.store(true, Ordering::SeqCst);
    let output = crawl_command(&server, dir.path(), &["--manifest", manifest_arg])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("{} uploaded", FILES - ACCEPTED_BEFORE_HANG)),
        "{stdout}"
    );

    // Every file was accepted exactly once over the two runs; none recorded before the kill
    // was sent again.
    let accepted = accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), FILES, "{accepted:?}");
    assert_eq!(set(&accepted).len(), FILES);
    let after_kill = set(&accepted[ACCEPTED_BEFORE_HANG..]);
    assert!(after_kill.is_disjoint(&done_before_kill));
    assert_eq!(recorded_files().len(), FILES);
}

#[tokio::test]
async fn the_sandbox_takes_a_folder_sent_as_a_plain_form_as_alephclient_sends_it() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let id = collection(&aleph, "crawl-form").await;
    let meta = r#"{"foreign_id": "letters", "file_name": "letters"}"#;
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("meta", meta)
        .finish();
    let answer = reqwest::Client::new()
        .post(format!("{}/api/2/collections/{id}/ingest", s.aleph_url()))
        .header("authorization", format!("ApiKey {}", s.aleph_api_key()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    let all = by_name(&aleph, &id).await;
    assert_eq!(all["letters"].schema, "Folder");
}
