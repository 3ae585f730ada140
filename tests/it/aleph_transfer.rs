//! Moving data in and out of Aleph: bulk loads, entity streams, ingest and archive downloads.
#![cfg(feature = "aleph")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::aleph::*;
use crate::support::{assert_invalid, multipart_parts};
use casefile::aleph::{Entity, IngestMeta, PropertyValue};
use casefile::{Error, ErrorKind, RetryPolicy, Upload};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn people(n: usize) -> Vec<Entity> {
    (0..n)
        .map(|i| {
            Entity::new("Person")
                .with_id(format!("e-{i}"))
                .add("name", format!("Person {i}"))
        })
        .collect()
}

#[tokio::test]
async fn bulk_sends_every_entity_once_in_chunks_with_the_flags() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/_bulk"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let report = client(&server)
        .collections()
        .bulk("4", people(2500))
        // Not checked against a model: this mock serves no /metadata.
        .validate(false)
        .chunk_size(1000)
        .concurrency(2)
        .safe(false)
        .clean(false)
        .mutable(true)
        .entityset("es-1")
        .await
        .unwrap();
    assert_eq!(
        (report.entities, report.chunks, report.retries),
        (2500, 3, 0)
    );
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 3);
    for req in &seen {
        assert_request(
            req,
            "POST",
            "/api/2/collections/4/_bulk",
            &[
                ("safe", "false"),
                ("clean", "false"),
                ("mutable", "true"),
                ("entityset_id", "es-1"),
            ],
        );
        assert_eq!(header(req, "content-type"), Some("application/json"));
    }
    let mut sizes: Vec<usize> = bulk_ids(&seen).iter().map(Vec::len).collect();
    sizes.sort();
    assert_eq!(sizes, [500, 1000, 1000]);
    let mut ids: Vec<String> = bulk_ids(&seen).concat();
    ids.sort();
    let mut expected: Vec<String> = (0..2500).map(|i| format!("e-{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected, "every entity exactly once");
    // The write shape: id, schema, properties and nothing the server would not take.
    let first = &body(&seen[0])[0];
    assert_eq!(first.as_object().unwrap().len(), 3, "{first}");
    assert_eq!(first["schema"], "Person");
}

#[tokio::test]
async fn bulk_writes_nested_entity_values_as_their_ids_and_keeps_dates() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let owner: Entity = serde_json::from_value(json!({
        "id": "owner-1", "schema": "Person", "properties": {"name": ["Ann"]}
    }))
    .unwrap();
    let mut ownership = Entity::new("Ownership")
        .with_id("own-1")
        .add("percentage", "72.47");
    ownership
        .properties
        .insert("owner".into(), vec![PropertyValue::from(owner)]);
    ownership.created_at = Some("2026-01-01T10:17:08Z".parse().unwrap());
    client(&server)
        .collections()
        .bulk("4", [ownership])
        // Not checked against a model: this mock serves no /metadata.
        .validate(false)
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert!(query(&req).is_empty(), "no flags unless set");
    assert_eq!(
        body(&req),
        json!([{"id": "own-1", "schema": "Ownership",
                "properties": {"owner": ["owner-1"], "percentage": ["72.47"]},
                "created_at": "2026-01-01T10:17:08+00:00"}])
    );
}

#[tokio::test]
async fn a_chunk_that_met_a_server_error_is_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_raw("<html>busy</html>", "text/html"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let report = client(&server)
        .collections()
        .bulk("4", people(10))
        // Not checked against a model: this mock serves no /metadata.
        .validate(false)
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1)),
        )
        .await
        .unwrap();
    assert_eq!((report.entities, report.chunks, report.retries), (10, 1, 2));
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|r| r.body == seen[0].body),
        "the same chunk each time"
    );
}

/// The bulk failure inside an error.
fn bulk_error(err: Error) -> casefile::PartialError {
    match err {
        Error::Partial(bulk) => *bulk,
        other => panic!("not a bulk error: {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_load_names_the_entities_that_were_not_written() {
    let server = MockServer::start().await;
    // The second chunk always fails; the first is written.
    Mock::given(method("POST"))
        .respond_with(|req: &Request| {
            if String::from_utf8_lossy(&req.body).contains("\"e-1500\"") {
                ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html")
            } else {
                ResponseTemplate::new(204)
            }
        })
        .mount(&server)
        .await;
    let err = client(&server)
        .collections()
        .bulk("4", people(2500))
        // Not checked against a model: this mock serves no /metadata.
        .validate(false)
        .chunk_size(1000)
        .concurrency(1)
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1)),
        )
        .await
        .map_err(bulk_error)
        .unwrap_err();
    assert_eq!(err.done, 1000);
    assert_eq!(err.requests, 1);
    assert_eq!(err.retries, 2);
    assert_eq!(err.read, 2000, "the third chunk was never read");
    let expected: Vec<String> = (1000..2000).map(|i| format!("e-{i}")).collect();
    assert_eq!(err.not_done, expected);
    assert_eq!(err.source.status(), Some(502));
    let text = err.to_string();
    assert!(text.contains("1000 items were not done"), "{text}");
    assert!(
        text.starts_with("bulk load into collection 4 stopped"),
        "{text}"
    );
    assert!(text.contains("e-1000, e-1001"), "{text}");
    assert_eq!(
        requests(&server).await.len(),
        1 + 3,
        "one chunk ok, one sent three times"
    );
    // As a casefile::Error it reports the cause's status and server error.
    let err: Error = err.into();
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.api().unwrap().kind, ErrorKind::Server);
}

#[tokio::test]
async fn a_refused_chunk_is_not_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            json!({"status": "error", "message": "No ID for entity", "errors": {}}).to_string(),
            "application/json",
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .collections()
        .bulk("4", people(3))
        // Not checked against a model: this mock serves no /metadata.
        .validate(false)
        .retry(RetryPolicy::none().base_delay(Duration::from_millis(1)))
        .await
        .map_err(bulk_error)
        .unwrap_err();
    assert_eq!(err.not_done.len(), 3);
    assert_eq!(err.source.api().unwrap().message, "No ID for entity");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn bulk_refuses_bad_entities_and_arguments_before_their_chunk_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let mut entities = people(5);
    entities[3].id = None;
    let err = aleph
        .collections()
        .bulk("4", entities)
        // Not checked against a model: this mock serves no /metadata.
        .validate(false)
        .chunk_size(2)
        .concurrency(1)
        .await
        .map_err(bulk_error)
        .unwrap_err();
    assert_invalid(&err.source, "entity");
    assert_eq!(err.done, 2);
    assert_eq!(
        err.not_done,
        ["e-2"],
        "read into the refused chunk, not sent"
    );
    assert_eq!(requests(&server).await.len(), 1);

    for load in [
        aleph.collections().bulk("4", people(1)).chunk_size(0),
        aleph.collections().bulk("4", people(1)).concurrency(0),
        aleph.collections().bulk("..", people(1)),
    ] {
        let err = load.await.map_err(bulk_error).unwrap_err();
        assert!(matches!(err.source, Error::InvalidInput { .. }), "{err}");
        assert_eq!(err.read, 0);
    }
    // An input stream that fails stops the load after what was sent.
    let input = futures::stream::iter(people(3).into_iter().map(Ok)).chain(futures::stream::iter(
        [Err(Error::Io {
            context: "entities.jsonl line 4".into(),
            source: std::io::ErrorKind::InvalidData.into(),
        })],
    ));
    let err = aleph
        .collections()
        .bulk_stream("4", input)
        // Not checked against a model: this mock serves no /metadata.
        .validate(false)
        .chunk_size(2)
        .concurrency(1)
        .await
        .map_err(bulk_error)
        .unwrap_err();
    assert!(matches!(err.source, Error::Io { .. }));
    assert_eq!((err.done, err.read), (2, 3));
    assert_eq!(err.not_done, ["e-2"]);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn stream_entities_sends_schema_and_include_and_decodes_the_fixture() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/1/_stream"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("stream_sample.jsonl"), "application/json+stream"),
        )
        .mount(&server)
        .await;
    let entities: Vec<Entity> = client(&server)
        .collections()
        .stream_entities("1")
        .schema("Person")
        .schema("Company")
        .include("properties")
        .include("schema")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/collections/1/_stream",
        &[
            ("include", "properties"),
            ("include", "schema"),
            ("schema", "Person"),
            ("schema", "Company"),
        ],
    );
    assert_eq!(entities.len(), 12);
    assert_eq!(entities[0].first("name"), Some("Maria García"));
    assert_eq!(
        entities[0].collection_id.as_deref(),
        Some("1"),
        "a number becomes text"
    );
    assert_eq!(entities[4].schema, "Ownership");
    assert_eq!(entities[7].first("fileSize"), Some("1073741824"));
    assert!(
        entities
            .iter()
            .all(|e| e.id.is_some() && e.created_at.is_some())
    );
}

/// A server that answers `GET /api/2/collections/<cut>/_stream` with `body` sent as two HTTP
/// chunks split at byte `cut`, each written and flushed on its own with a pause between.
async fn split_server(body: &'static [u8]) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().unwrap().push(head);
                let cut: usize = target
                    .split('/')
                    .nth(4)
                    .and_then(|c| c.parse().ok())
                    .unwrap();
                socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json+stream\r\n\
                          Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                    )
                    .await
                    .unwrap();
                for part in [&body[..cut], &body[cut..]] {
                    if part.is_empty() {
                        continue; // an empty chunk would end the body
                    }
                    let mut chunk = format!("{:x}\r\n", part.len()).into_bytes();
                    chunk.extend_from_slice(part);
                    chunk.extend_from_slice(b"\r\n");
                    socket.write_all(&chunk).await.unwrap();
                    socket.flush().await.unwrap();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                socket.write_all(b"0\r\n\r\n").await.unwrap();
                socket.flush().await.unwrap();
            });
        }
    });
    (uri, heads)
}

#[tokio::test]
async fn stream_entities_survives_a_split_at_every_byte() {
    // CRLF endings, a blank line, a multi-byte character, a nested entity, no final newline.
    const BODY: &[u8] = "{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{\"name\":[\"Ann\"]}}\r\n\n\
        {\"id\":\"b\",\"schema\":\"Company\",\"properties\":{\"name\":[\"Bé Ltd\"]}}\n\
        {\"id\":\"c\",\"schema\":\"Ownership\",\"properties\":{\"owner\":[{\"id\":\"a\",\"schema\":\"Person\"}]}}"
        .as_bytes();
    let (uri, heads) = split_server(BODY).await;
    let aleph = casefile::aleph::Client::builder()
        .base_url(uri)
        .api_key(KEY)
        .build()
        .unwrap();
    for cut in 0..=BODY.len() {
        let entities: Vec<Entity> = aleph
            .collections()
            .stream_entities(cut)
            .stream()
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let got: Vec<(&str, &str, Option<&str>)> = entities
            .iter()
            .map(|e| (e.id.as_deref().unwrap(), e.schema.as_str(), e.first("name")))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "Person", Some("Ann")),
                ("b", "Company", Some("Bé Ltd")),
                ("c", "Ownership", None)
            ],
            "cut at {cut}"
        );
        let owner = entities[2].properties["owner"][0].as_entity().unwrap();
        assert_eq!(owner.id.as_deref(), Some("a"), "cut at {cut}");
    }
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), BODY.len() + 1);
    assert!(
        heads
            .iter()
            .all(|h| h.contains(&format!("authorization: ApiKey {KEY}")))
    );
}

#[tokio::test]
async fn stream_entities_reads_very_long_lines_and_reports_errors() {
    let server = MockServer::start().await;
    let long = "x".repeat(3 * 1024 * 1024);
    let body = format!(
        "{}\n{}",
        json!({"id": "long", "schema": "Document", "properties": {"bodyText": [long]}}),
        json!({"id": "short", "schema": "Thing"})
    );
    Mock::given(method("GET"))
        .and(path("/api/2/collections/1/_stream"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/x-ndjson"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/2/_stream"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            fixture("error_forbidden_anonymous.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/3/_stream"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "{\"id\":\"ok\",\"schema\":\"Thing\"}\n{\"id\": [1]}\n",
            "application/json+stream",
        ))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let entities: Vec<Entity> = aleph
        .collections()
        .stream_entities("1")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(entities.len(), 2);
    assert_eq!(
        entities[0].first("bodyText").map(str::len),
        Some(long.len())
    );

    let mut refused = aleph.collections().stream_entities("2").stream();
    let err = refused.next().await.unwrap().unwrap_err();
    assert_eq!(err.api().unwrap().kind, ErrorKind::Unauthorized);
    assert!(refused.next().await.is_none());

    let results: Vec<_> = aleph
        .collections()
        .stream_entities("3")
        .stream()
        .collect()
        .await;
    assert!(results[0].is_ok());
    assert!(
        matches!(&results[1], Err(Error::Decode(d)) if d.path == "id"),
        "{:?}",
        results[1]
    );
}

/// The parts of a multipart body: (headers, content) in order.
#[tokio::test]
async fn ingest_streams_meta_and_file_as_multipart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/ingest"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"status": "ok", "id": "b2c0104f5c8a1cd9.4e0bb800"})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("minutes.txt");
    std::fs::write(&file, "board minutes, 10:42").unwrap();
    let aleph = client(&server);
    let id = aleph
        .collections()
        .ingest(
            "4",
            Upload::path(&file).mime_type("text/plain"),
            IngestMeta::default()
                .title("Board minutes")
                .parent_id("folder-1"),
        )
        .sync(true)
        .index(false)
        .await
        .unwrap();
    assert_eq!(id, "b2c0104f5c8a1cd9.4e0bb800");
    let req = only_request(&server).await;
    assert_request(
        &req,
        "POST",
        "/api/2/collections/4/ingest",
        &[("sync", "true"), ("index", "false")],
    );
    assert!(
        header(&req, "content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    let parts = multipart_parts(&req);
    assert_eq!(parts.len(), 2);
    assert!(parts[0].0.contains("name=\"meta\""), "{}", parts[0].0);
    let meta: Value = serde_json::from_slice(&parts[0].1).unwrap();
    assert_eq!(
        meta,
        json!({"title": "Board minutes", "parent_id": "folder-1"})
    );
    assert!(
        parts[1]
            .0
            .contains("name=\"file\"; filename=\"minutes.txt\""),
        "{}",
        parts[1].0
    );
    assert!(
        parts[1]
            .0
            .to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{}",
        parts[1].0
    );
    assert_eq!(parts[1].1, b"board minutes, 10:42");

    // A missing file is refused before sending.
    let err = aleph
        .collections()
        .ingest(
            "4",
            Upload::path(dir.path().join("missing.pdf")),
            IngestMeta::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_folder_is_meta_only_and_needs_a_foreign_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/ingest"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"status": "ok", "id": "folder.sig"})),
        )
        .mount(&server)
        .await;
    let aleph = client(&server);
    for meta in [
        IngestMeta::default().title("Scans"),
        IngestMeta::with_foreign_id("  "),
    ] {
        let err = aleph
            .collections()
            .create_folder("4", meta)
            .await
            .unwrap_err();
        assert_invalid(&err, "meta");
    }
    assert!(requests(&server).await.is_empty());
    let id = aleph
        .collections()
        .create_folder(
            "4",
            IngestMeta::with_foreign_id("scans/2026").title("Scans"),
        )
        .await
        .unwrap();
    assert_eq!(id, "folder.sig");
    let req = only_request(&server).await;
    assert_request(&req, "POST", "/api/2/collections/4/ingest", &[]);
    let parts = multipart_parts(&req);
    assert_eq!(parts.len(), 1, "no file part");
    let meta: Value = serde_json::from_slice(&parts[0].1).unwrap();
    assert_eq!(meta, json!({"foreign_id": "scans/2026", "title": "Scans"}));
}

#[tokio::test]
async fn archive_downloads_follow_the_storage_redirect_without_the_api_key() {
    let api = MockServer::start().await;
    let storage = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive"))
        .and(query_param("token", "tok.en"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("{}/bucket/64cb544d?X-Amz-Signature=s", storage.uri()),
        ))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive"))
        .and(query_param("token", "bad"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(fixture("error_bad_archive_token.json"), "application/json"),
        )
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/bucket/64cb544d"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"PK\x03\x04 zip bytes".to_vec(), "application/zip"),
        )
        .mount(&storage)
        .await;
    let aleph = client(&api);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("big-archive.zip");

    let written = aleph
        .archive()
        .download("tok.en")
        .save(&target)
        .await
        .unwrap();
    assert_eq!(written, 14);
    assert_eq!(std::fs::read(&target).unwrap(), b"PK\x03\x04 zip bytes");
    // An entity's signed link, written on the server's public host, goes to the configured one.
    let bytes: Vec<u8> = aleph
        .archive()
        .download_link("https://aleph.example.org/api/2/archive?token=tok.en")
        .await
        .unwrap()
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .unwrap();
    assert_eq!(bytes, b"PK\x03\x04 zip bytes");
    // A storage URL is fetched without credentials.
    aleph
        .archive()
        .download_link(&format!(
            "{}/bucket/64cb544d?X-Amz-Signature=s",
            storage.uri()
        ))
        .await
        .unwrap();

    let at_api = requests(&api).await;
    assert_eq!(at_api.len(), 2);
    for req in &at_api {
        assert_request(req, "GET", "/api/2/archive", &[("token", "tok.en")]);
    }
    let at_storage = requests(&storage).await;
    assert_eq!(at_storage.len(), 3);
    assert!(
        at_storage
            .iter()
            .all(|r| header(r, "authorization").is_none())
    );

    let err = aleph
        .archive()
        .download("bad")
        .save(&target)
        .await
        .unwrap_err();
    let api_error = err.api().unwrap();
    assert_eq!(
        (api_error.kind, api_error.message.as_str()),
        (ErrorKind::Unauthorized, "Access token is invalid.")
    );
    assert!(
        !api_error.url.contains("bad"),
        "the token is redacted: {}",
        api_error.url
    );
    for refused in [
        aleph.archive().download(" "),
        aleph.archive().download_link("ftp://x/y"),
        aleph.archive().download_link("not a url"),
    ] {
        assert!(matches!(refused.await, Err(Error::InvalidInput { .. })));
    }
    assert_eq!(requests(&api).await.len(), 3);
    let leftovers: BTreeMap<_, _> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| (e.unwrap().file_name(), ()))
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no .part file left behind: {leftovers:?}"
    );
}
