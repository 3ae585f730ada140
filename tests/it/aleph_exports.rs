//! Issue 17, Aleph exports: queue an export of a search (`POST /search/export`) or of a
//! collection's cross-referencing (`POST /collections/{id}/xref.xlsx`), wait for it with a bounded
//! poll of `GET /exports` (neither route answers with the export's id:
//! `aleph/views/entities_api.py` `export`, `aleph/views/xref_api.py` `export`), and download it
//! through `links.download`, checked against its `content_hash` (SHA-1, servicelayer
//! `archive/util.py` `checksum`).
#![cfg(all(feature = "aleph", feature = "testkit"))]

use std::time::Duration;

use casefile::Error;
use casefile::aleph::{Entity, Export, ExportStatus, NewCollection};
use casefile::error::Limit;
use casefile::testkit::{Platform, Sandbox};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::aleph::{client, ok_json, requests};

async fn small() -> Sandbox {
    Sandbox::builder()
        .entities(&[4, 4])
        .incidents(1)
        .attachments(1)
        .start()
        .await
        .unwrap()
}

/// The file of `export`, read whole.
async fn file_of(aleph: &casefile::aleph::Client, export: &Export) -> casefile::Result<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("export");
    aleph.archive().export(export).save(&target).await?;
    Ok(std::fs::read(&target).unwrap())
}

#[tokio::test]
async fn a_search_export_is_waited_for_and_downloaded_verified() {
    let sandbox = small().await;
    let aleph = sandbox.aleph().unwrap();
    let leak = aleph
        .collections()
        .create(NewCollection::new("Exports"))
        .await
        .unwrap();
    for name in ["Meridian Metals", "Meridian Shipping", "Other Ltd"] {
        let company = Entity::new("Company").add("name", name);
        aleph.entities().create(&leak.id, company).await.unwrap();
    }
    let before = sandbox.requests(Platform::Aleph);
    let export = aleph
        .entities()
        .search()
        .query("meridian")
        .collection(&leak.id)
        .export()
        .ready()
        .poll_every(Duration::from_millis(20))
        .await
        .unwrap();
    assert_eq!(export.status, Some(ExportStatus::Successful));
    assert_eq!(export.operation.as_deref(), Some("exportsearch"));
    // Listed before queueing, queued, then listed until done (pending once in the sandbox).
    assert_eq!(sandbox.requests(Platform::Aleph) - before, 4);
    let file = String::from_utf8(file_of(&aleph, &export).await.unwrap()).unwrap();
    assert!(
        file.contains("Meridian Metals") && file.contains("Meridian Shipping"),
        "{file}"
    );
    assert!(!file.contains("Other Ltd"), "{file}");
}

#[tokio::test]
async fn an_xref_export_is_waited_for_and_downloaded_verified() {
    let sandbox = small().await;
    let aleph = sandbox.aleph().unwrap();
    let collections = aleph.collections().list().first_page().await.unwrap();
    let id = &collections.items[0].id;
    let export = aleph.xref().export(id).ready().await.unwrap();
    assert_eq!(export.operation.as_deref(), Some("exportxref"));
    let file = file_of(&aleph, &export).await.unwrap();
    assert!(
        file.starts_with(b"Score\t"),
        "{:?}",
        String::from_utf8_lossy(&file)
    );
}

/// An export whose file is not the one recorded (altered in storage) is refused and not kept;
/// one that is not done, or has no link, is refused before anything is sent.
#[tokio::test]
async fn an_export_is_checked_against_its_content_hash() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"the rep0rt\n".to_vec()))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let export = |status: &str, hash: &str| -> Export {
        serde_json::from_value(json!({
            "id": "9", "operation": "exportsearch", "status": status,
            // `printf 'the report\n' | sha1sum`
            "content_hash": hash,
            "links": {"download": format!("{}/api/2/archive?token=t", server.uri())},
        }))
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("export.zip");
    let sha1 = "31d9d7413d95227306cacaf8f1ae644f2afd35ad";
    let err = aleph
        .archive()
        .export(&export("successful", sha1))
        .save(&target)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }), "{err:?}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    assert_eq!(requests(&server).await.len(), 1);

    for (status, hash) in [("pending", sha1), ("failed", sha1), ("successful", "5b8e")] {
        let err = aleph
            .archive()
            .export(&export(status, hash))
            .send()
            .await
            .unwrap_err();
        crate::support::assert_invalid(&err, "export");
    }
    assert_eq!(
        requests(&server).await.len(),
        1,
        "a refused export was asked for"
    );
}

/// An export that never gets done ends the wait with `Limit::Wait`, after a bounded number of
/// looks; an export the caller already had is not taken for the new one.
#[tokio::test]
async fn the_wait_is_bounded_and_takes_only_a_new_export() {
    let server = MockServer::start().await;
    // Done, but older than the request: it must not be taken.
    let old = json!({"id": "1", "operation": "exportxref", "status": "successful"});
    let new = json!({"id": "2", "operation": "exportxref", "status": "pending"});
    let page = |results: serde_json::Value| {
        json!({"status": "ok", "results": results, "total": 1, "total_type": "eq",
               "limit": 50, "offset": 0, "next": null, "previous": null})
        .to_string()
    };
    Mock::given(method("GET"))
        .and(path("/api/2/exports"))
        .respond_with(ok_json(page(json!([old]))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/exports"))
        .respond_with(ok_json(page(json!([new, old]))))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/7/xref.xlsx"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let err = client(&server)
        .xref()
        .export(7)
        .ready()
        .poll_every(Duration::from_millis(10))
        .timeout(Duration::from_millis(60))
        .await
        .unwrap_err();
    match &err {
        Error::Limit(limit) => {
            assert!(matches!(limit.limit, Limit::Wait { .. }), "{err:?}");
            assert!(!limit.url.contains(crate::support::aleph::KEY));
        }
        other => panic!("expected the wait to end, got {other:?}"),
    }
    assert!(err.is_timeout());
    let polls = requests(&server)
        .await
        .iter()
        .filter(|r| r.url.path() == "/api/2/exports")
        .count();
    // One look before queueing, then at most timeout / interval + 1.
    assert!((2..=8).contains(&polls), "{polls} looks");
}

#[tokio::test]
async fn a_search_export_sends_the_search() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/search/export"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    client(&server)
        .entities()
        .search()
        .query("Meridian")
        .schema("Company")
        .export()
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method.as_str(), "POST");
    let query = crate::support::query(&sent[0]);
    assert!(
        query.contains(&("q".into(), "Meridian".into())),
        "{query:?}"
    );
    assert!(
        query.contains(&("filter:schema".into(), "Company".into())),
        "{query:?}"
    );
}
