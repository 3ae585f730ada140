//! The sandbox servers behave like the real ones: checked through casefile's own transport, and
//! against the shapes of the real-server fixtures.
#![cfg(feature = "testkit")]

use std::collections::BTreeSet;
use std::time::Duration;

use casefile::testkit::{Platform, Sandbox};
use casefile::{Auth, Error, ErrorKind, Form, HttpErrorKind, RetryPolicy, Transport, Upload};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::assert_invalid;
use crate::support::fixture_json as fixture;

fn api(base: String, prefix: &str, auth: Auth) -> Transport {
    Transport::builder(format!("{base}/{prefix}"))
        .auth(auth)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn atlos(s: &Sandbox) -> Transport {
    api(s.atlos_url(), "api/v2/", Auth::bearer(s.atlos_token()))
}

fn aleph(s: &Sandbox) -> Transport {
    api(s.aleph_url(), "api/2/", Auth::api_key(s.aleph_api_key()))
}

fn atlas(s: &Sandbox) -> Transport {
    let (user, key) = s.atlas_digest();
    api(s.atlas_url(), "api/v1/", Auth::digest(user, key))
}

/// The keys of a JSON object.
fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn atlos_pages_of_100_with_signed_cursors_and_the_real_shapes() {
    let s = Sandbox::builder().incidents(250).start().await.unwrap();
    let t = atlos(&s);
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut request = t.get(&["incidents"]);
        if let Some(c) = &cursor {
            request = request.query_param("cursor", c);
        }
        let page: Value = request.send().await.unwrap();
        pages += 1;
        for incident in page["results"].as_array().unwrap() {
            assert!(seen.insert(incident["slug"].as_str().unwrap().to_owned()));
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // Deleted incidents are listed only when asked for.
    let deleted: Value = t
        .get(&["incidents"])
        .query_param("deleted", "true")
        .send()
        .await
        .unwrap();
    let deleted = deleted["results"].as_array().unwrap();
    assert!(!deleted.is_empty() && deleted.iter().all(|i| i["deleted"] == true));
    assert_eq!(seen.len() + deleted.len(), 250);
    // Every key of the real server's incident is there.
    let real = &fixture("atlos/incidents_page1.json")["results"][0];
    let ours: Value = t.get(&["incidents"]).send().await.unwrap();
    for key in [
        "id",
        "slug",
        "attr_description",
        "attr_status",
        "attr_sensitive",
        "attr_geolocation",
        "inserted_at",
        "project",
        "source_material",
        "versions",
        "project_attributes",
    ] {
        assert!(
            keys(real).contains(key) && keys(&ours["results"][0]).contains(key),
            "{key}"
        );
    }
    // A forged cursor is an error with status 200, as on the real server.
    let forged: Value = t
        .get(&["incidents"])
        .query_param("cursor", "abc.def")
        .send()
        .await
        .unwrap();
    assert_eq!(forged, fixture("atlos/error_bad_cursor_is_200.json"));
}

#[tokio::test]
async fn atlos_refuses_with_401_and_its_error_body() {
    let s = Sandbox::start().await.unwrap();
    let wrong = api(s.atlos_url(), "api/v2/", Auth::bearer("nope"));
    let err = wrong.get(&["incidents"]).send::<Value>().await.unwrap_err();
    assert_eq!(
        err.api().unwrap().message,
        "invalid token or token not found"
    );
    let t = atlos(&s);
    let err = t
        .post(&["add_comment", "ZZZZZZ"])
        .json(&json!({"message": "hi"}))
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.api().unwrap().message.as_str()),
        (Some(401), "incident not found")
    );
    let err = t
        .post(&["incidents", "new"])
        .json(&json!({"description": "x", "sensitive": ["Not Sensitive"], "colour": "red"}))
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(
        err.api().unwrap().message,
        "unknown attributes: [\"colour\"]"
    );
    let err = t
        .post(&["incidents", "new"])
        .json(&json!({"description": "x", "sensitive": "no"}))
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(
        err.api().unwrap().fields["attr_sensitive"],
        "must be an array of strings"
    );
}

#[tokio::test]
async fn atlos_writes_show_up_in_the_next_read() {
    let s = Sandbox::start().await.unwrap();
    let t = atlos(&s);
    let created: Value = t
        .post(&["incidents", "new"])
        .json(&json!({"description": "Sandbox incident", "sensitive": ["Not Sensitive"], "status": "In Progress", "urls": ["https://example.org/v.mp4"]}))
        .send()
        .await
        .unwrap();
    let slug = created["result"]["slug"].as_str().unwrap().to_owned();
    let newest: Value = t.get(&["incidents"]).send().await.unwrap();
    assert_eq!(newest["results"][0]["slug"], slug.as_str());
    let media_id = created["result"]["source_material"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let _: Value = t
        .post(&["source_material", "metadata", &media_id, "my-tool"])
        .json(&json!({"metadata": {"score": 0.9}}))
        .send()
        .await
        .unwrap();
    let upload: Value = t
        .post(&["source_material", "upload", &media_id])
        .multipart(
            Form::new()
                .text("title", "Clip")
                .file("file", Upload::bytes("clip.txt", "frame")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(upload["result"]["artifacts"][0]["title"], "Clip");
    let media: Value = t.get(&["source_material", &media_id]).send().await.unwrap();
    assert_eq!(media["result"]["metadata"]["my-tool"]["score"], 0.9);
    let _: Value = t
        .post(&["update", &format!("civ-{}", slug.to_lowercase()), "status"])
        .json(&json!({"value": "Completed", "message": "verified"}))
        .send()
        .await
        .unwrap();
    let updates: Value = t
        .get(&["updates"])
        .query_param("slug", &slug)
        .send()
        .await
        .unwrap();
    let latest = &updates["results"][0];
    assert_eq!(
        (latest["type"].as_str(), latest["explanation"].as_str()),
        (Some("update_attribute"), Some("verified"))
    );
}

#[tokio::test]
async fn aleph_omits_empty_values_and_builds_next_on_another_origin() {
    let s = Sandbox::start().await.unwrap();
    let t = aleph(&s);
    let page: Value = t
        .get(&["entities"])
        .query(&[
            ("filter:schemata", "Thing"),
            ("filter:collection_id", "2"),
            ("limit", "50"),
        ])
        .send()
        .await
        .unwrap();
    // 1200 entities, every eighth an Ownership: an Interest, not a Thing (followthemoney's
    // schema hierarchy, which `filter:schemata` follows).
    assert_eq!(page["total"], 1050);
    let next: url::Url = page["next"].as_str().unwrap().parse().unwrap();
    assert_ne!(
        next.origin(),
        t.api_base().origin(),
        "next is built on the UI origin"
    );
    assert_eq!(
        next.query_pairs().find(|(k, _)| k == "offset").unwrap().1,
        "50"
    );
    // `previous` is null on the first page, and the envelope keeps it so
    // (`aleph/search/result.py` `QueryResult.to_dict`); only the items leave out empty values.
    assert_eq!(page.get("previous"), Some(&Value::Null));
    let real = fixture("aleph/collections_page.json");
    let ours: Value = t
        .get(&["collections"])
        .query(&[("limit", 2)])
        .send()
        .await
        .unwrap();
    // The fixture's first page leaves out the null `previous` the envelope keeps.
    let mut expected = keys(&real);
    expected.insert("previous".to_owned());
    assert_eq!(expected, keys(&ours));
    // Anonymous callers see only public collections.
    let anonymous = api(s.aleph_url(), "api/2/", Auth::api_key("expired-key"));
    let public: Value = anonymous.get(&["collections"]).send().await.unwrap();
    assert_eq!(public["total"], 2);
    let err = anonymous
        .post(&["collections"])
        .json(&json!({"label": "Mine"}))
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().kind, ErrorKind::Forbidden);
}

#[tokio::test]
async fn aleph_streams_json_lines_and_ingests_then_archives_without_leaking_the_key() {
    let s = Sandbox::start().await.unwrap();
    let t = aleph(&s);
    let lines: Vec<Value> = t
        .get(&["collections", "3", "_stream"])
        .send_stream()
        .await
        .unwrap()
        .json_lines()
        .map(|l| l.unwrap())
        .collect()
        .await;
    assert_eq!(lines.len(), 600);
    let ingested: Value = t
        .post(&["collections", "1", "ingest"])
        .multipart(
            Form::new()
                .text(
                    "meta",
                    json!({"foreign_id": "a/b.txt", "file_name": "b.txt"}).to_string(),
                )
                .file("file", Upload::bytes("b.txt", "leaked words")),
        )
        .send()
        .await
        .unwrap();
    let id = ingested["id"].as_str().unwrap();
    let entity: Value = t.get(&["entities", id]).send().await.unwrap();
    let file_url: url::Url = entity["links"]["file"].as_str().unwrap().parse().unwrap();
    // The archive redirects to a storage host that refuses requests carrying the API key.
    let blob = t.get_url(&file_url).send_bytes().await.unwrap();
    assert_eq!(&blob[..], b"leaked words");
    let folder = t
        .post(&["collections", "1", "ingest"])
        .multipart(Form::new().text("meta", "{}"))
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(
        folder.api().unwrap().message,
        "Directories need to have a foreign_id"
    );
}

// The paused clock is the sandbox's clock too (it runs on this runtime and reads
// `tokio::time::Instant`), so the nonce lives exactly 300 ms however slow the machine is.
#[tokio::test(start_paused = true)]
async fn atlas_digest_costs_one_request_per_call_and_expiring_nonces_go_stale() {
    let s = Sandbox::builder()
        .nonce_lifetime(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let t = atlas(&s);
    for _ in 0..5 {
        let list: Value = t.get(&["attachments"]).send().await.unwrap();
        assert_eq!(list["count"], 60);
    }
    assert_eq!(s.requests(Platform::Atlas), 6);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let _: Value = t.get(&["attachments"]).send().await.unwrap();
    assert_eq!(
        s.requests(Platform::Atlas),
        8,
        "a stale nonce costs one extra request"
    );
    let wrong = api(
        s.atlas_url(),
        "api/v1/",
        Auth::digest(s.atlas_digest().0, "wrong"),
    );
    let err = wrong
        .get(&["attachments"])
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(
        err.api().unwrap().code.as_deref(),
        Some("NOT_ORG_GROUP_CREATOR")
    );
}

#[tokio::test]
async fn atlas_pages_errors_envelope_and_export_match_the_real_shapes() {
    let s = Sandbox::start().await.unwrap();
    let t = atlas(&s);
    let page: Value = t
        .get(&["attachments"])
        .query(&[("itemsPerPage", 25), ("pageNum", 1)])
        .send()
        .await
        .unwrap();
    assert_eq!(keys(&page), keys(&fixture("atlas/attachments_paged.json")));
    assert!(
        page["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "next")
    );
    let id = page["items"][0]["attachment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one: Value = t.get(&["attachments", &id]).send().await.unwrap();
    assert_eq!(keys(&one), keys(&fixture("atlas/attachment_get.json")));
    let err = t
        .patch(&["attachments", &id])
        .json(&json!({"colour": "red"}))
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().parameters, ["colour"]);
    let missing = t
        .get(&["attachments", "00000000-0000-0000-0000-000000000000"])
        .query(&[("envelope", "true")])
        .send_bytes()
        .await
        .unwrap();
    let missing: Value = serde_json::from_slice(&missing).unwrap();
    assert_eq!(
        keys(&missing),
        keys(&fixture("atlas/envelope_not_found.json"))
    );
    let export: Value = t
        .post(&["attachments", &id, "export"])
        .send()
        .await
        .unwrap();
    let url: url::Url = export["presigned_url"].as_str().unwrap().parse().unwrap();
    let bytes = t.get_external(url).send_bytes().await.unwrap();
    assert!(bytes.starts_with(b"casefile sandbox file"));
}

#[tokio::test]
async fn atlas_answers_429_with_retry_after_past_its_rate_limit() {
    let s = Sandbox::builder()
        .atlas_rate_limit(Some((3, Duration::from_secs(60))))
        .start()
        .await
        .unwrap();
    let t = Transport::builder(format!("{}/api/v1/", s.atlas_url()))
        .auth(Auth::bearer(s.atlas_token()))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for _ in 0..3 {
        let _: Value = t.get(&["attachments"]).send().await.unwrap();
    }
    let err = t.get(&["attachments"]).send::<Value>().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.kind, api.code.as_deref()),
        (ErrorKind::RateLimited, Some("RATE_LIMITED"))
    );
    assert!(api.retry_after.is_some());
}

#[tokio::test]
async fn injected_faults_are_survived_by_retries() {
    let s = Sandbox::start().await.unwrap();
    let t = Transport::builder(format!("{}/api/2/", s.aleph_url()))
        .auth(Auth::api_key(s.aleph_api_key()))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    s.faults().fail_next(2, 503);
    let page: Value = t.get(&["collections"]).send().await.unwrap();
    assert_eq!(page["total"], 3);
    s.faults().cut_next(1);
    let page: Value = t.get(&["collections"]).send().await.unwrap();
    assert_eq!(page["total"], 3);
    s.faults().cut_next(1);
    let no_retry = aleph(&s);
    let err = no_retry
        .get(&["collections"])
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Http(h) if h.kind == HttpErrorKind::Body),
        "{err:?}"
    );
    s.faults().set_latency(Duration::from_millis(300));
    let impatient = Transport::builder(format!("{}/api/2/", s.aleph_url()))
        .read_timeout(Duration::from_millis(100))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(
        impatient
            .get(&["collections"])
            .send::<Value>()
            .await
            .unwrap_err()
            .is_timeout()
    );
}

/// Every Atlas write through the typed client, read back from the sandbox.
#[cfg(feature = "atlas")]
#[tokio::test]
async fn atlas_client_round_trips_through_the_sandbox() {
    use casefile::atlas::{AnnotationType, BboxContent, BoundingBox, NewAnnotation};
    use futures::TryStreamExt;

    let s = Sandbox::start().await.unwrap();
    let atlas = s.atlas().unwrap();
    let all: Vec<_> = atlas
        .attachments()
        .list()
        .page_size(25)
        .stream()
        .concurrency(3)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 60);
    let csvs: Vec<_> = atlas
        .attachments()
        .list()
        .attachment_type("csv")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(csvs.len(), 15);
    let id = all[0].attachment_id.unwrap().to_string();

    let updated = atlas
        .attachments()
        .update(&id)
        .title("Renamed in the sandbox")
        .clear_citation()
        .visible(false)
        .await
        .unwrap();
    assert_eq!(
        updated.attachment.attachment_title.as_deref(),
        Some("Renamed in the sandbox")
    );
    let read = atlas.attachments().get(&id).await.unwrap();
    assert_eq!(
        read.attachment.attachment_title.as_deref(),
        Some("Renamed in the sandbox")
    );
    assert_eq!(read.attachment.attachment_citation, None);
    assert!(!read.attachment.is_visible);

    let before = atlas
        .attachments()
        .annotations(&id)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    let page = BboxContent::new(1920.0, 1080.0, 0)
        .bbox(BoundingBox::new("Peak", 100.0, 200.0, 50.0, 40.0).tag("verified", true));
    let created = atlas.annotations().create(&id, page).await.unwrap();
    let path = atlas
        .annotations()
        .create(
            &id,
            NewAnnotation::Path(json!({"points": [[0, 0], [5, 5]]})),
        )
        .await
        .unwrap();
    let after = atlas
        .attachments()
        .annotations(&id)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(after.len(), before + 2);
    assert!(
        after
            .iter()
            .any(|a| a.id == created.id && a.annotation_type == AnnotationType::Bbox)
    );
    assert!(after.iter().any(|a| a.id == path.id));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.bin");
    let written = atlas.attachments().download(&id).save(&file).await.unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().len(), written);
}

/// Every Atlos write through the typed client, read back from the sandbox.
#[cfg(feature = "atlos")]
#[tokio::test]
async fn atlos_client_round_trips_through_the_sandbox() {
    use casefile::atlos::{IncidentStatus, Sensitivity, UpdateType};
    use futures::TryStreamExt;

    let s = Sandbox::builder().incidents(250).start().await.unwrap();
    let atlos = s.atlos().unwrap();
    let all: Vec<_> = atlos
        .incidents()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let deleted: Vec<_> = atlos
        .incidents()
        .list()
        .deleted(true)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len() + deleted.len(), 250);
    let completed: Vec<_> = atlos
        .incidents()
        .list()
        .status(IncidentStatus::Completed)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(
        !completed.is_empty()
            && completed
                .iter()
                .all(|i| i.status == Some(IncidentStatus::Completed))
    );

    let created = atlos
        .incidents()
        .create("Round trip incident", [Sensitivity::NotSensitive])
        .status(IncidentStatus::InProgress)
        .location(50.45, 30.52)
        .url("https://example.org/post/1")
        .await
        .unwrap();
    let newest = atlos.incidents().list().first_page().await.unwrap();
    assert_eq!(newest.items[0].slug, created.slug);
    let location = newest.items[0].location.unwrap();
    assert!((location.latitude - 50.45).abs() < 1e-9 && (location.longitude - 30.52).abs() < 1e-9);

    atlos
        .incidents()
        .comment(&created.slug, "Looked at it")
        .await
        .unwrap();
    atlos
        .incidents()
        .update_attribute(&created.slug, "status", "Completed")
        .message("verified")
        .await
        .unwrap();
    let updates: Vec<_> = atlos
        .updates()
        .list()
        .slug(&created.slug)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(updates[0].kind, UpdateType::UpdateAttribute);
    assert_eq!(updates[0].explanation.as_deref(), Some("verified"));
    assert_eq!(updates[1].explanation.as_deref(), Some("Looked at it"));
    let completed_now: Vec<_> = atlos
        .incidents()
        .list()
        .query("Round trip")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(completed_now[0].status, Some(IncidentStatus::Completed));

    let media = atlos
        .source_material()
        .create(&created.slug)
        .url("https://example.org/v.mp4")
        .archive(true)
        .await
        .unwrap();
    atlos
        .source_material()
        .set_metadata(media.id, "casefile-tests", json!({"checked": true}))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.txt");
    std::fs::write(&clip, b"frame data").unwrap();
    atlos
        .source_material()
        .upload(media.id, Upload::path(&clip))
        .title("Clip")
        .await
        .unwrap();
    let read = atlos.source_material().get(media.id).await.unwrap();
    assert_eq!(
        read.metadata_in("casefile-tests"),
        Some(&json!({"checked": true}))
    );
    assert_eq!(read.artifacts.len(), 1);
    assert_eq!(read.artifacts[0].file_size, Some(10));
    let listed: Vec<_> = atlos
        .source_material()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(listed.iter().any(|m| m.id == media.id));
}

/// Every Aleph write through the typed client, read back from the sandbox.
#[cfg(feature = "aleph")]
#[tokio::test]
async fn aleph_client_round_trips_through_the_sandbox() {
    use casefile::aleph::{
        Category, Entity, IngestMeta, NewCollection, NewMapping, PermissionUpdate,
    };
    use futures::TryStreamExt;

    let s = Sandbox::start().await.unwrap();
    let aleph = s.aleph().unwrap();
    let listed: Vec<_> = aleph
        .collections()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    let found: Vec<_> = aleph
        .entities()
        .search()
        .collection("2")
        .page_size(200)
        .stream()
        .concurrency(4)
        .try_collect()
        .await
        .unwrap();
    // The search names `Thing`; every eighth of the 1200 entities is an Ownership, no Thing.
    assert_eq!(found.len(), 1050);

    let created = aleph
        .collections()
        .create(
            NewCollection::new("Round trip")
                .category(Category::Leak)
                .foreign_id("round-trip"),
        )
        .await
        .unwrap();
    // Found again by its foreign id, not created twice; without a foreign id nothing is sent.
    let again = aleph
        .collections()
        .get_or_create(NewCollection::new("Round trip").foreign_id("round-trip"))
        .await
        .unwrap();
    assert_eq!(again.id, created.id);
    let nothing = aleph
        .collections()
        .find_by_foreign_id("no-such-thing")
        .await
        .unwrap();
    assert!(nothing.is_none());
    let before = s.requests(Platform::Aleph);
    let refused = aleph
        .collections()
        .get_or_create(NewCollection::new("No key"))
        .await
        .unwrap_err();
    assert_invalid(&refused, "foreign_id");
    assert_eq!(s.requests(Platform::Aleph), before);
    assert_eq!(
        aleph.collections().get(&created.id).await.unwrap().label,
        "Round trip"
    );
    aleph
        .collections()
        .update(&created.id, NewCollection::new("Round trip, renamed"))
        .await
        .unwrap();
    assert_eq!(
        aleph.collections().get(&created.id).await.unwrap().label,
        "Round trip, renamed"
    );

    let people: Vec<Entity> = (0..2500)
        .map(|n| {
            Entity::new("Person")
                .with_id(format!("person-{n}"))
                .add("name", format!("Person {n}"))
        })
        .collect();
    let report = aleph
        .collections()
        .bulk(&created.id, people)
        .chunk_size(1000)
        .await
        .unwrap();
    assert_eq!((report.entities, report.chunks), (2500, 3));
    let streamed: Vec<_> = aleph
        .collections()
        .stream_entities(&created.id)
        .schema("Person")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 2500);

    let company = aleph
        .entities()
        .create(
            &created.id,
            Entity::new("Company").add("name", "Meridian Metals"),
        )
        .await
        .unwrap();
    let company_id = company.id.clone().unwrap();
    aleph
        .entities()
        .update(
            &company_id,
            Entity::new("Company").add("name", "Meridian Metals Ltd"),
        )
        .await
        .unwrap();
    assert_eq!(
        aleph
            .entities()
            .get(&company_id)
            .await
            .unwrap()
            .first("name"),
        Some("Meridian Metals Ltd")
    );
    aleph.entities().delete(&company_id).await.unwrap();
    assert_eq!(
        aleph
            .entities()
            .get(&company_id)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );

    let folder = aleph
        .collections()
        .create_folder(&created.id, IngestMeta::with_foreign_id("docs"))
        .await
        .unwrap();
    let file = aleph
        .collections()
        .ingest(
            &created.id,
            Upload::bytes("memo.txt", "the memo"),
            IngestMeta::with_foreign_id("docs/memo.txt").parent_id(&folder),
        )
        .await
        .unwrap();
    let memo = aleph.entities().get(&file).await.unwrap();
    let link = memo.links.get("file").unwrap().clone();
    let bytes = aleph
        .archive()
        .download_link(link.expose())
        .send()
        .await
        .unwrap()
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert_eq!(bytes, b"the memo");

    let alert = aleph.alerts().create("Meridian Metals").await.unwrap();
    assert_eq!(
        aleph.alerts().get(&alert.id).await.unwrap().query,
        "Meridian Metals"
    );
    let alerts: Vec<_> = aleph.alerts().list().stream().try_collect().await.unwrap();
    assert!(alerts.iter().any(|a| a.id == alert.id));
    aleph.alerts().delete(&alert.id).await.unwrap();
    assert!(aleph.alerts().get(&alert.id).await.is_err());

    let mapping = aleph
        .mappings()
        .create(
            &created.id,
            // `_bulk` stored `person-1` under the collection's namespace.
            NewMapping::new(
                casefile::aleph::namespaced_id(created.foreign_id.as_deref().unwrap(), "person-1")
                    .unwrap(),
                json!({"person": {"schema": "Person"}}),
            ),
        )
        .await
        .unwrap();
    aleph
        .mappings()
        .trigger(&created.id, &mapping.id)
        .await
        .unwrap();
    let mappings: Vec<_> = aleph
        .mappings()
        .list(&created.id)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(mappings.len(), 1);
    aleph
        .mappings()
        .flush(&created.id, &mapping.id)
        .await
        .unwrap();
    aleph
        .mappings()
        .delete(&created.id, &mapping.id)
        .await
        .unwrap();
    assert!(
        aleph
            .mappings()
            .get(&created.id, &mapping.id)
            .await
            .is_err()
    );

    aleph
        .permissions()
        .update(&created.id, vec![PermissionUpdate::new("4", false, true)])
        .await
        .unwrap();
    let permissions = aleph.permissions().get(&created.id).await.unwrap();
    let desk = permissions
        .results
        .iter()
        .find(|p| p.role.as_ref().is_some_and(|r| r.id == "4"))
        .unwrap();
    assert!(desk.read && desk.write, "write implies read");

    aleph.collections().reingest(&created.id).await.unwrap();
    aleph.collections().reindex(&created.id).await.unwrap();
    aleph.collections().touch(&created.id).await.unwrap();
    aleph.collections().status(&created.id).await.unwrap();
    aleph.collections().cancel(&created.id).await.unwrap();
    aleph.collections().delete(&created.id).await.unwrap();
    assert_eq!(
        aleph
            .collections()
            .get(&created.id)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
}
