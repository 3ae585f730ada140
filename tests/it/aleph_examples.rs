//! The Aleph example programs, run as built binaries against local HTTP servers.
#![cfg(feature = "aleph")]

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Output};

use crate::support::aleph::*;
use crate::support::example;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn run(name: &str, server: &MockServer, args: &[&str]) -> Output {
    let output = Command::new(example(name))
        .args(args)
        .env("ALEPH_URL", server.uri())
        .env("ALEPH_API_KEY", KEY)
        .env_remove("ALEPHCLIENT_HOST")
        .env_remove("ALEPHCLIENT_API_KEY")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Serves a model of one schema at `GET /metadata`, which bulk loads check their entities
/// against before sending them (spec16 §7.3 shape, cut to what these loads use).
async fn serve_model(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/2/metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "ok", "app": {"version": "4.1.6", "ftm_version": "3.5.9"},
            "model": {"schemata": {"Person": {
                "schemata": ["Person"], "extends": [],
                "properties": {"name": {"name": "name", "qname": "Person:name", "type": "name"}}
            }}, "types": {"name": {"label": "Name"}}}
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn aleph_load_sends_10000_entities_in_10_requests_each_entity_once() {
    let server = MockServer::start().await;
    serve_model(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections"))
        .and(query_param("filter:foreign_id", "load-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "ok", "total": 0, "total_type": "eq", "page": 1, "pages": 0,
            "limit": 10, "offset": 0
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("collection_create.json"), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/_bulk"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for i in 0..10_000 {
        writeln!(
            file,
            r#"{{"id":"e-{i}","schema":"Person","properties":{{"name":["Person {i}"]}}}}"#
        )
        .unwrap();
    }
    file.flush().unwrap();

    let output = run(
        "aleph_load",
        &server,
        &[
            "load-test",
            file.path().to_str().unwrap(),
            "--chunk-size",
            "1000",
            "--concurrency",
            "3",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("collection 4"), "{stderr}");
    assert!(
        stderr.contains("10000 entities written in 10 requests"),
        "{stderr}"
    );

    let seen = requests(&server).await;
    let create: Vec<_> = seen
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/api/2/collections")
        .collect();
    assert_eq!(create.len(), 1);
    assert_eq!(
        body(create[0]),
        json!({"label": "load-test", "foreign_id": "load-test"})
    );
    let bulk: Vec<_> = seen
        .iter()
        .filter(|r| r.url.path() == "/api/2/collections/4/_bulk")
        .collect();
    assert_eq!(bulk.len(), 10, "exactly 10 bulk requests");
    let mut ids = HashSet::new();
    for req in &bulk {
        assert_request(req, "POST", "/api/2/collections/4/_bulk", &[]);
        let chunk = body(req);
        let chunk = chunk.as_array().unwrap();
        assert_eq!(chunk.len(), 1000);
        for entity in chunk {
            assert!(
                ids.insert(entity["id"].as_str().unwrap().to_owned()),
                "{} sent twice",
                entity["id"]
            );
        }
    }
    assert_eq!(ids.len(), 10_000);
    assert_eq!(seen.len(), 13, "lookup, create, the model once, 10 chunks");
}

#[tokio::test]
async fn aleph_load_uses_an_existing_collection_with_that_foreign_id() {
    let server = MockServer::start().await;
    serve_model(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("collections_page.json"), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/1/_bulk"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, r#"{{"id":"a","schema":"Person"}}"#).unwrap();
    writeln!(file).unwrap();
    write!(file, r#"{{"id":"b","schema":"Person"}}"#).unwrap();
    file.flush().unwrap();
    let output = run(
        "aleph_load",
        &server,
        &["leak-2026", file.path().to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("collection 1 (Leak 2026)"), "{stderr}");
    assert!(
        stderr.contains("2 entities written in 1 requests"),
        "{stderr}"
    );
    let seen: Vec<_> = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.url.path() != "/api/2/metadata")
        .collect();
    assert_eq!(seen.len(), 2, "no collection created");
    assert_eq!(
        query(&seen[0]),
        pairs(&[("filter:foreign_id", "leak-2026"), ("limit", "10")])
    );
}

#[tokio::test]
async fn aleph_stream_prints_100000_lines() {
    let server = MockServer::start().await;
    let mut body = String::with_capacity(100_000 * 80);
    for i in 0..100_000 {
        body.push_str(&format!(
            "{{\"id\":\"e-{i}\",\"schema\":\"Person\",\"properties\":{{\"name\":[\"Person {i}\"]}},\"collection_id\":1}}\n"
        ));
    }
    Mock::given(method("GET"))
        .and(path("/api/2/collections/1/_stream"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json+stream"))
        .mount(&server)
        .await;
    let output = run("aleph_stream", &server, &["1", "--schema", "Person"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 100_000);
    for (i, line) in lines.iter().enumerate().step_by(9973) {
        let entity: Value = serde_json::from_str(line).unwrap();
        assert_eq!(entity["id"], format!("e-{i}"));
        assert_eq!(entity["properties"]["name"][0], format!("Person {i}"));
    }
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/collections/1/_stream",
        &[("schema", "Person")],
    );
}

#[test]
fn the_examples_explain_themselves_and_refuse_bad_arguments() {
    for name in ["aleph_stream", "aleph_load"] {
        let help = Command::new(example(name)).arg("--help").output().unwrap();
        assert!(help.status.success());
        assert!(String::from_utf8_lossy(&help.stdout).starts_with(&format!("usage: {name}")));
        let bad = Command::new(example(name))
            .arg("--nonsense")
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2));
    }
    let bad = Command::new(example("aleph_load"))
        .args(["x", "y", "--chunk-size", "0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
