//! Progress callbacks of uploads, downloads and bulk loads, run against the sandbox.
#![cfg(all(
    feature = "testkit",
    feature = "atlos",
    feature = "aleph",
    feature = "atlas"
))]

use std::sync::{Arc, Mutex};

use casefile::aleph::{Entity, IngestMeta, NewCollection};
use casefile::progress::Unit;
use casefile::testkit::Sandbox;
use casefile::{Progress, Upload};
use futures::TryStreamExt;

/// A callback that keeps every report, and the reports it kept.
fn recorder() -> (
    impl Fn(Progress) + Send + Sync + 'static,
    Arc<Mutex<Vec<Progress>>>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    (move |p| keep.lock().unwrap().push(p), seen)
}

/// Reports start at 0, never go back, and end at `total` bytes.
fn assert_bytes(seen: &Mutex<Vec<Progress>>, total: u64) {
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 3, "too few reports: {seen:?}");
    assert_eq!(seen[0].done, 0);
    assert!(seen.windows(2).all(|w| w[0].done <= w[1].done), "{seen:?}");
    let last = seen.last().unwrap();
    assert_eq!(
        (last.done, last.total, last.unit),
        (total, Some(total), Unit::Bytes)
    );
}

const SIZE: usize = 300 * 1024;

fn content() -> Vec<u8> {
    (0..SIZE).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn uploads_report_the_bytes_sent() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clip.bin");
    std::fs::write(&file, content()).unwrap();

    // Atlos: a file from disk, uploaded to a new piece of source material.
    let atlos = sandbox.atlos().unwrap();
    let incident = atlos.incidents().list().first_page().await.unwrap().items[0].clone();
    let media = atlos
        .source_material()
        .create(&incident.slug)
        .url("https://example.org/progress")
        .await
        .unwrap();
    let (callback, seen) = recorder();
    let uploaded = atlos
        .source_material()
        .upload(media.id, Upload::path(&file))
        .progress(callback)
        .await
        .unwrap();
    assert_eq!(uploaded.artifacts[0].file_size, Some(SIZE as u64));
    assert_bytes(&seen, SIZE as u64);

    // Aleph: bytes in memory, ingested.
    let aleph = sandbox.aleph().unwrap();
    let collection = aleph
        .collections()
        .create(NewCollection::new("Progress"))
        .await
        .unwrap();
    let (callback, seen) = recorder();
    aleph
        .collections()
        .ingest(
            &collection.id,
            Upload::bytes("memo.bin", content()),
            IngestMeta::default(),
        )
        .progress(callback)
        .await
        .unwrap();
    assert_bytes(&seen, SIZE as u64);
}

#[tokio::test]
async fn downloads_report_the_bytes_received() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Aleph archive: the document just ingested, saved through the ByteStream.
    let aleph = sandbox.aleph().unwrap();
    let collection = aleph
        .collections()
        .create(NewCollection::new("Progress"))
        .await
        .unwrap();
    let id = aleph
        .collections()
        .ingest(
            &collection.id,
            Upload::bytes("memo.bin", content()),
            IngestMeta::default(),
        )
        .await
        .unwrap();
    let link = aleph.entities().get(&id).await.unwrap().links["file"].clone();
    let (callback, seen) = recorder();
    let path = dir.path().join("memo.bin");
    let written = aleph
        .archive()
        .download_link(link.expose())
        .progress(callback)
        .save(&path)
        .await
        .unwrap();
    assert_eq!(written, SIZE as u64);
    assert_eq!(std::fs::read(&path).unwrap(), content());
    assert_bytes(&seen, SIZE as u64);

    // Atlas: an attachment from the storage host.
    let atlas = sandbox.atlas().unwrap();
    let first = atlas.attachments().list().first_page().await.unwrap().items[0].clone();
    let (callback, seen) = recorder();
    let path = dir.path().join("attachment");
    let written = atlas
        .attachments()
        .download(first.attachment_id.unwrap())
        .progress(callback)
        .save(&path)
        .await
        .unwrap();
    let seen_all = seen.lock().unwrap().clone();
    assert_eq!(seen_all[0].done, 0);
    let last = seen_all.last().unwrap();
    assert_eq!((last.done, last.total), (written, Some(written)));
}

#[tokio::test]
async fn bulk_loads_report_the_entities_written() {
    let sandbox = Sandbox::start().await.unwrap();
    let aleph = sandbox.aleph().unwrap();
    let collection = aleph
        .collections()
        .create(NewCollection::new("Progress"))
        .await
        .unwrap();
    let people: Vec<Entity> = (0..2500)
        .map(|n| Entity::new("Person").with_id(format!("p-{n}")))
        .collect();
    let (callback, seen) = recorder();
    let report = aleph
        .collections()
        .bulk(&collection.id, people)
        .chunk_size(1000)
        .concurrency(2)
        .progress(callback)
        .await
        .unwrap();
    assert_eq!(report.entities, 2500);
    let seen = seen.lock().unwrap().clone();
    let mut done: Vec<u64> = seen.iter().map(|p| p.done).collect();
    done.sort_unstable();
    // One report per chunk; the chunks finish in any order (1000/500/1000 entities).
    assert_eq!(done.len(), 3);
    assert_eq!(done[2], 2500);
    assert!(
        seen.iter()
            .all(|p| p.unit == Unit::Items && p.total.is_none())
    );
    let streamed: Vec<_> = aleph
        .collections()
        .stream_entities(&collection.id)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 2500);
}
