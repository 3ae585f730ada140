//! Getting evidence out of Atlos, verified (issue 17, the Atlos part): artifacts downloaded
//! through their signed `access_url` and checked against `file_hash_sha256`, a directory run that
//! a second run completes, uploads skipped when the content is there, the archiver's feed and
//! its marks, and incremental reading from a checkpoint.
//!
//! Against the sandbox (`casefile::testkit`), which serves artifacts with their real SHA-256 on
//! a storage origin that refuses credentials; the tie-breaking of the checkpoint against
//! wiremock. What the real server does is read from atlosdotorg/atlos
//! `platform/lib/platform_web/controllers/api/api_v2_controller.ex` and bellingcat/auto-archiver
//! `src/auto_archiver/modules/atlos_feeder_db_storage/atlos_feeder_db_storage.py`.
#![cfg(all(feature = "atlos", feature = "testkit"))]

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use casefile::atlos::{
    ArtifactOutcome, Checkpoint, Client, IncidentStatus, SourceMaterial, UploadOutcome,
};
use casefile::testkit::{Platform, Sandbox};
use casefile::{Error, RetryPolicy, Upload};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::assert_invalid;

async fn sandbox() -> Sandbox {
    Sandbox::builder().incidents(20).start().await.unwrap()
}

/// A client without retries, so that one injected failure is one failed request.
fn client(s: &Sandbox) -> Client {
    Client::builder()
        .base_url(s.atlos_url())
        .token(s.atlos_token())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new, empty piece of source material on the newest incident.
async fn new_material(atlos: &Client) -> SourceMaterial {
    let incident = atlos.incidents().list().first_page().await.unwrap().items[0].clone();
    atlos
        .source_material()
        .create(&incident.slug)
        .url("https://example.org/evidence")
        .await
        .unwrap()
}

/// Uploads `files` (title, bytes) to `material` and gives the material as it is then.
async fn with_files(atlos: &Client, material: Uuid, files: &[(&str, Vec<u8>)]) -> SourceMaterial {
    let mut last = None;
    for (title, bytes) in files {
        last = Some(
            atlos
                .source_material()
                .upload(material, Upload::bytes("upload.bin", bytes.clone()))
                .title(*title)
                .await
                .unwrap(),
        );
    }
    last.unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every artifact lands under a safe, distinct name with the bytes that were uploaded; names
/// that collide (case aside) get the artifact's id; a second run finds them all in place and
/// sends only the one `GET source_material/:id`.
#[tokio::test]
async fn artifacts_land_verified_under_safe_distinct_names_and_a_second_run_fetches_nothing() {
    let s = sandbox().await;
    let atlos = client(&s);
    let material = new_material(&atlos).await;
    let files = [
        ("photo.jpg", b"first photo".to_vec()),
        (
            "Photo.jpg",
            b"second photo, same name but for case".to_vec(),
        ),
        ("../../.bashrc", b"a hostile title".to_vec()),
    ];
    let material = with_files(&atlos, material.id, &files).await;
    let dir = tempfile::tempdir().unwrap();

    let report = atlos
        .source_material()
        .download_artifacts(material.id, dir.path())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.fetched.len(), 3);
    assert_eq!(
        report.bytes,
        files.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
    );
    let second_id = material.artifacts[1].id.to_string();
    let mut expected = vec![
        "photo.jpg".to_owned(),
        format!("Photo-{}.jpg", &second_id[..8]),
        "_._.._.bashrc".to_owned(),
    ];
    for ((_, bytes), (saved, name)) in files.iter().zip(report.fetched.iter().zip(&expected)) {
        assert_eq!(saved.path, dir.path().join(name));
        assert_eq!(&std::fs::read(&saved.path).unwrap(), bytes);
    }
    expected.sort();
    assert_eq!(files_in(dir.path()), expected);

    let before = s.requests(Platform::Atlos);
    let again = atlos
        .source_material()
        .download_artifacts(material.id, dir.path())
        .await
        .unwrap();
    assert!(again.is_complete(), "{again}");
    assert_eq!((again.fetched.len(), again.unchanged.len()), (0, 3));
    assert_eq!(again.bytes, 0);
    assert_eq!(
        s.requests(Platform::Atlos) - before,
        1,
        "only the GET of the material"
    );
}

/// The storage host refuses a request that carries the API token (as an object store refuses a
/// second auth mechanism), so a download that succeeds sent none.
#[tokio::test]
async fn the_storage_host_refuses_credentials_and_the_download_sends_none() {
    let s = sandbox().await;
    let atlos = client(&s);
    let material = new_material(&atlos).await;
    let material = with_files(&atlos, material.id, &[("a.txt", b"evidence".to_vec())]).await;
    let artifact = &material.artifacts[0];
    let url = artifact.access_url.as_ref().unwrap().expose().to_owned();
    assert_ne!(
        reqwest::Url::parse(&url).unwrap().origin(),
        reqwest::Url::parse(&s.atlos_url()).unwrap().origin()
    );
    let with_token = reqwest::Client::new()
        .get(&url)
        .bearer_auth(s.atlos_token())
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 400);

    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = atlos
        .source_material()
        .download_artifact(artifact)
        .save_in(dir.path(), "a.txt")
        .await
        .unwrap();
    assert_eq!(
        (std::fs::read(path).unwrap(), bytes),
        (b"evidence".to_vec(), 8)
    );
}

/// A stored file altered in storage (same length, the API's hash unchanged) is detected: the
/// single download fails with `Error::Mismatch` and keeps nothing; the directory run lists it
/// as failed with the reason, keeps the intact ones, and is not complete.
#[tokio::test]
async fn a_tampered_artifact_is_detected_and_nothing_is_kept() {
    let s = sandbox().await;
    let atlos = client(&s);
    let material = new_material(&atlos).await;
    let material = with_files(
        &atlos,
        material.id,
        &[
            ("intact.txt", b"intact evidence".to_vec()),
            ("altered.txt", b"evidence someone will alter".to_vec()),
        ],
    )
    .await;
    let altered = &material.artifacts[1];
    assert!(s.tamper_atlos_artifact(&altered.id.to_string()));
    let dir = tempfile::tempdir().unwrap();

    let target = dir.path().join("single.txt");
    let err = atlos
        .source_material()
        .download_artifact(altered)
        .save(&target)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }), "{err:?}");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );

    let report = atlos
        .source_material()
        .download_artifacts(material.id, dir.path())
        .await
        .unwrap();
    assert!(!report.is_complete());
    assert_eq!(report.fetched.len(), 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].id, altered.id);
    assert!(
        report.failed[0]
            .reason
            .contains("does not match its checksum"),
        "{}",
        report.failed[0].reason
    );
    assert_eq!(files_in(dir.path()), ["intact.txt"]);
}

/// A run dropped part-way (its future cancelled after two artifacts) leaves only whole files;
/// the next run fetches exactly the missing ones: one storage request each, plus the `GET` of
/// the material.
#[tokio::test]
async fn a_killed_directory_run_resumes_with_only_the_missing_files() {
    let s = sandbox().await;
    let atlos = client(&s);
    let material = new_material(&atlos).await;
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|n| {
            (
                format!("clip-{n}.mp4"),
                format!("clip {n} ").repeat(500 + n).into_bytes(),
            )
        })
        .collect();
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(t, b)| (t.as_str(), b.clone())).collect();
    let material = with_files(&atlos, material.id, &files).await;
    let dir = tempfile::tempdir().unwrap();

    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let run = {
        let (done, stop) = (done.clone(), stop.clone());
        atlos
            .source_material()
            .download_artifacts(material.id, dir.path())
            .on_artifact(move |outcome| {
                assert!(
                    matches!(outcome, ArtifactOutcome::Fetched(_)),
                    "{outcome:?}"
                );
                if done.fetch_add(1, Ordering::SeqCst) + 1 == 2 {
                    stop.notify_one();
                }
            })
    };
    // `biased`: once notified, the run is dropped before it is polled again; as the run yields
    // between two artifacts, no request of the third is on its way when the next run's
    // requests are counted.
    tokio::select! {
        biased;
        () = stop.notified() => {}
        report = run.send() => panic!("the run was to be dropped, it finished: {report:?}"),
    }
    let whole: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|n| !n.ends_with(".part"))
        .collect();
    assert!((2..6).contains(&whole.len()), "{whole:?}");

    let before = s.requests(Platform::Atlos);
    let report = atlos
        .source_material()
        .download_artifacts(material.id, dir.path())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.unchanged.len(), whole.len());
    assert_eq!(report.fetched.len(), 6 - whole.len());
    assert_eq!(
        s.requests(Platform::Atlos) - before,
        1 + (6 - whole.len()) as u64
    );
    let unchanged: HashSet<String> = report
        .unchanged
        .iter()
        .map(|a| a.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(unchanged, whole.iter().cloned().collect());
    // Every file whole and verified, no `.part` left.
    assert_eq!(files_in(dir.path()).len(), 6, "{:?}", files_in(dir.path()));
    for (title, bytes) in &files {
        assert_eq!(
            sha256_hex(&std::fs::read(dir.path().join(title)).unwrap()),
            sha256_hex(bytes)
        );
    }
}

/// An artifact without a hash or without a URL is refused before any request.
#[tokio::test]
async fn an_artifact_that_cannot_be_verified_is_refused_before_sending() {
    let s = sandbox().await;
    let atlos = client(&s);
    let no_hash: casefile::atlos::Artifact = serde_json::from_value(json!({
        "id": Uuid::new_v4(), "access_url": format!("{}/_storage/atlos/x/y", s.atlos_url()),
    }))
    .unwrap();
    let no_url: casefile::atlos::Artifact = serde_json::from_value(json!({
        "id": Uuid::new_v4(), "file_hash_sha256": sha256_hex(b"x"),
    }))
    .unwrap();
    let before = s.requests(Platform::Atlos);
    for artifact in [&no_hash, &no_url] {
        let err = atlos
            .source_material()
            .download_artifact(artifact)
            .await
            .unwrap_err();
        assert_invalid(&err, "artifact");
    }
    let err = atlos
        .source_material()
        .download_artifacts("not-a-uuid", "unused")
        .await
        .unwrap_err();
    assert_invalid(&err, "id");
    assert_eq!(s.requests(Platform::Atlos), before);
}

/// The same content is uploaded once: the second call reads the material and skips; other
/// content is uploaded.
#[tokio::test]
async fn upload_unless_present_skips_content_already_among_the_artifacts() {
    let s = sandbox().await;
    let atlos = client(&s);
    let material = new_material(&atlos).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.wacz");
    std::fs::write(&file, b"a web archive".repeat(10_000)).unwrap();

    let first = atlos
        .source_material()
        .upload_unless_present(material.id, &file)
        .title("Web archive")
        .await
        .unwrap();
    assert!(first.uploaded());
    assert_eq!(first.material().artifacts.len(), 1);
    let stored = &first.material().artifacts[0];
    assert_eq!(
        stored.file_hash_sha256.as_deref(),
        Some(sha256_hex(&std::fs::read(&file).unwrap()).as_str())
    );

    let before = s.requests(Platform::Atlos);
    let second = atlos
        .source_material()
        .upload_unless_present(material.id, &file)
        .await
        .unwrap();
    match &second {
        UploadOutcome::AlreadyPresent { artifact, .. } => assert_eq!(*artifact, stored.id),
        other => panic!("expected a skip, got {other:?}"),
    }
    assert_eq!(s.requests(Platform::Atlos) - before, 1, "only the GET");

    std::fs::write(&file, b"another archive").unwrap();
    let third = atlos
        .source_material()
        .upload_unless_present(material.id, &file)
        .await
        .unwrap();
    assert!(third.uploaded());
    assert_eq!(third.material().artifacts.len(), 2);
}

/// The feed gives exactly the source material auto-archiver's feeder selects (visible, with a
/// URL, not pending, not processed in the namespace); a `processed` or `failed` mark takes an
/// item out, a mark in another namespace does not.
#[tokio::test]
async fn the_feed_selects_as_auto_archiver_and_its_marks_take_items_out() {
    let s = sandbox().await;
    let atlos = client(&s);
    let all: Vec<SourceMaterial> = atlos
        .source_material()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let wanted: Vec<Uuid> = all
        .iter()
        .filter(|m| {
            let v = serde_json::to_value(m).unwrap();
            v["visibility"] == "visible"
                && v["source_url"].as_str().is_some_and(|u| !u.is_empty())
                && v["status"] != "pending"
                && v["status"] != "processing"
        })
        .map(|m| m.id)
        .collect();
    assert!(
        wanted.len() >= 4 && wanted.len() < all.len(),
        "{} of {}",
        wanted.len(),
        all.len()
    );

    let feed = |ns: &'static str| {
        let atlos = atlos.clone();
        async move {
            atlos
                .source_material()
                .feed(ns)
                .stream()
                .map_ok(|m| m.id)
                .try_collect::<Vec<Uuid>>()
                .await
                .unwrap()
        }
    };
    assert_eq!(feed("casefile-test").await, wanted);

    let sm = atlos.source_material();
    let done = sm
        .mark_processed(wanted[0], "casefile-test", json!({"archived": "ok"}))
        .await
        .unwrap();
    assert_eq!(
        done.metadata_in("casefile-test"),
        Some(&json!({"processed": true, "status": "success", "results": {"archived": "ok"}}))
    );
    let failed = sm
        .mark_failed(wanted[1], "casefile-test", "timed out")
        .await
        .unwrap();
    assert_eq!(
        failed.metadata_in("casefile-test"),
        Some(&json!({"processed": true, "status": "error", "error": "timed out"}))
    );
    sm.mark_processed(wanted[2], "another-archiver", json!(null))
        .await
        .unwrap();

    assert_eq!(feed("casefile-test").await, wanted[2..].to_vec());
    let other = feed("another-archiver").await;
    assert!(!other.contains(&wanted[2]) && other.contains(&wanted[0]));

    let err = sm.feed(" ").stream().next().await.unwrap().unwrap_err();
    assert_invalid(&err, "namespace");
}

/// A sync reads everything once, then exactly what was written since: the new updates, the
/// changed incident; a read with nothing new gives an unchanged checkpoint.
#[tokio::test]
async fn sync_picks_up_exactly_the_new_updates_and_the_changed_incidents() {
    let s = sandbox().await;
    let atlos = client(&s);
    let everything: Vec<_> = atlos.updates().list().stream().try_collect().await.unwrap();

    let mut read = atlos
        .updates()
        .list()
        .changes(&Checkpoint::default())
        .stream();
    let mut first = Vec::new();
    while let Some(update) = read.try_next().await.unwrap() {
        first.push(update);
    }
    assert_eq!(first, everything);
    let updates_cp = read
        .checkpoint()
        .expect("a completed read gives a checkpoint");
    assert_eq!(updates_cp.listing, "updates");

    let slugs: Vec<String> = atlos
        .incidents()
        .list()
        .stream()
        .map_ok(|i| i.slug)
        .try_collect()
        .await
        .unwrap();
    let mut incidents = atlos
        .incidents()
        .list()
        .changes(&Checkpoint::default())
        .stream();
    let mut seen = HashSet::new();
    while let Some(incident) = incidents.try_next().await.unwrap() {
        seen.insert(incident.slug);
    }
    assert_eq!(seen, slugs.iter().cloned().collect());
    let incidents_cp = incidents.checkpoint().unwrap();
    // An older incident than the newest, so that it has to move up to be seen.
    let (commented, changed) = (&slugs[3], &slugs[7]);
    atlos
        .incidents()
        .comment(commented, "Checked against the satellite image")
        .await
        .unwrap();
    atlos
        .incidents()
        .update_attribute(changed, "status", IncidentStatus::Completed)
        .await
        .unwrap();

    let mut read = atlos.updates().list().changes(&updates_cp).stream();
    let mut new = Vec::new();
    while let Some(update) = read.try_next().await.unwrap() {
        new.push(update);
    }
    let kinds: Vec<String> = new.iter().map(|u| u.kind.to_string()).collect();
    assert_eq!(kinds, ["update_attribute", "comment"], "newest first");
    let next_cp = read.checkpoint().unwrap();
    assert_eq!(next_cp.ids, [new[0].id]);

    let mut read = atlos.incidents().list().changes(&incidents_cp).stream();
    let changed_now: Vec<String> = (&mut read).map_ok(|i| i.slug).try_collect().await.unwrap();
    assert_eq!(&changed_now, std::slice::from_ref(changed));
    assert!(read.checkpoint().is_some());

    // Nothing new: nothing read, the same checkpoint back.
    let mut read = atlos.updates().list().changes(&next_cp).stream();
    assert!(read.try_next().await.unwrap().is_none());
    assert_eq!(read.checkpoint(), Some(next_cp));
}

/// A read that breaks on its second page (the server's rate limit, no retries) ends with the
/// error and gives no checkpoint; the same read from the same checkpoint then completes and
/// returns everything again.
#[tokio::test]
async fn a_broken_sync_read_gives_no_checkpoint() {
    let s = Sandbox::builder().incidents(90).start().await.unwrap();
    let atlos = client(&s);
    let total = atlos.updates().list().stream().count().await;
    assert!(total > 100, "two pages needed, {total} updates");

    s.faults().rate_limit(1, Duration::from_secs(3600));
    let mut read = atlos
        .updates()
        .list()
        .changes(&Checkpoint::default())
        .stream();
    let mut items = 0;
    let err = loop {
        match read.next().await {
            Some(Ok(_)) => items += 1,
            Some(Err(e)) => break e,
            None => panic!("the read was to break"),
        }
    };
    assert_eq!(items, 100);
    assert!(matches!(&err, Error::Api(e) if e.status == 429), "{err:?}");
    assert!(read.next().await.is_none());
    assert_eq!(read.checkpoint(), None);

    s.faults().clear();
    let mut read = atlos
        .updates()
        .list()
        .changes(&Checkpoint::default())
        .stream();
    let again = (&mut read).try_collect::<Vec<_>>().await.unwrap();
    assert_eq!(again.len(), total);
    assert!(read.checkpoint().is_some());
}

/// A checkpoint the listing never reaches ends the read with an error once the listing has
/// ended, and a `max_items` bound ends it earlier; a checkpoint of another listing is refused
/// before any request.
#[tokio::test]
async fn an_unmet_checkpoint_ends_in_an_error_not_an_endless_read() {
    let s = sandbox().await;
    let atlos = client(&s);
    let total = atlos.updates().list().stream().count().await;
    let stranger: Checkpoint = serde_json::from_value(json!({
        "listing": "updates", "at": "2001-01-01T00:00:00Z", "ids": [Uuid::new_v4()],
    }))
    .unwrap();

    let mut read = atlos.updates().list().changes(&stranger).stream();
    let mut items = 0;
    let err = loop {
        match read.next().await {
            Some(Ok(_)) => items += 1,
            Some(Err(e)) => break e,
            None => panic!("the read was to fail"),
        }
    };
    assert_eq!(items, total);
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
    assert_eq!(read.checkpoint(), None);

    let mut read = atlos
        .updates()
        .list()
        .changes(&stranger)
        .max_items(5)
        .stream();
    let got: Vec<_> = (&mut read).collect().await;
    assert_eq!(got.len(), 6);
    assert!(matches!(got[5], Err(Error::Pagination(_))), "{:?}", got[5]);
    assert_eq!(read.checkpoint(), None);

    let before = s.requests(Platform::Atlos);
    let err = atlos
        .incidents()
        .list()
        .changes(&stranger)
        .stream()
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert_invalid(&err, "checkpoint");
    assert_eq!(s.requests(Platform::Atlos), before);
}

/// A checkpoint of a filtered incident listing names the listing by a digest of its filters:
/// the search term is neither stored nor shown, and the checkpoint is refused for the
/// unfiltered listing.
#[tokio::test]
async fn a_filtered_checkpoint_keeps_no_search_term_and_fits_only_its_listing() {
    let s = sandbox().await;
    let atlos = client(&s);
    let mut read = atlos
        .incidents()
        .list()
        .query("confidential-lead")
        .changes(&Checkpoint::default())
        .stream();
    while read.try_next().await.unwrap().is_some() {}
    let checkpoint = read.checkpoint().unwrap();
    assert!(
        checkpoint.listing.starts_with("incidents#"),
        "{checkpoint:?}"
    );
    let stored = serde_json::to_string(&checkpoint).unwrap();
    assert!(
        !stored.contains("confidential") && !format!("{checkpoint:?}").contains("confidential")
    );

    let before = s.requests(Platform::Atlos);
    let err = atlos
        .incidents()
        .list()
        .changes(&checkpoint)
        .stream()
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert_invalid(&err, "checkpoint");
    assert_eq!(s.requests(Platform::Atlos), before);
    // The same filters accept it.
    let mut again = atlos
        .incidents()
        .list()
        .query("confidential-lead")
        .changes(&checkpoint)
        .stream();
    assert!(again.try_next().await.unwrap().is_none());
    assert_eq!(again.checkpoint(), Some(checkpoint));
}

fn update(id: Uuid, at: &str) -> serde_json::Value {
    json!({"id": id, "type": "comment", "media_id": Uuid::new_v4(), "explanation": "x", "inserted_at": at})
}

/// The server's times have whole seconds: an update written in the checkpoint's second after
/// the last read (listed after the one already seen, its id being smaller) is still read, and
/// the one already seen is not read twice.
#[tokio::test]
async fn an_update_of_the_checkpoint_second_written_later_is_not_lost() {
    let server = MockServer::start().await;
    let (newer, seen, same_second, older) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    Mock::given(method("GET"))
        .and(path("/api/v2/updates"))
        .and(query_param("slug", "AD12H4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [
                update(newer, "2025-03-01T10:00:05"),
                update(seen, "2025-03-01T10:00:04"),
                update(same_second, "2025-03-01T10:00:04"),
                update(older, "2025-03-01T10:00:03"),
            ],
            "next": null, "previous": null,
        })))
        .expect(1)
        .mount(&server)
        .await;
    let atlos = crate::support::atlos::client(&server);
    let since: Checkpoint = serde_json::from_value(json!({
        "listing": "updates?slug=AD12H4", "at": "2025-03-01T10:00:04Z", "ids": [seen],
    }))
    .unwrap();
    let mut read = atlos
        .updates()
        .list()
        .slug("AD12H4")
        .changes(&since)
        .stream();
    let ids: Vec<Uuid> = (&mut read).map_ok(|u| u.id).try_collect().await.unwrap();
    assert_eq!(ids, [newer, same_second]);
    let next = read.checkpoint().unwrap();
    assert_eq!(next.ids, [newer]);
    assert_eq!(next.at.unwrap().to_rfc3339(), "2025-03-01T10:00:05+00:00");
}
