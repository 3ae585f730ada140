//! Validating entities against the server's FollowTheMoney model before a bulk load, the model
//! cached on the client, and bulk loads that go on past a failed chunk (issue 16, "Validate
//! before loading", "Bulk that goes on").
//!
//! What Aleph 4.1.6 would do with each fault: `aleph/logic/processing.py` `bulk_write` and
//! followthemoney 3.5.9 `proxy.py` (an unknown schema or a missing id refuses the whole request;
//! unknown properties and values that do not clean are dropped without a word).
#![cfg(feature = "aleph")]

use crate::support::aleph::*;
use crate::support::assert_invalid;
use casefile::aleph::{Entity, Problem, PropertyValue};
use casefile::{Error, RetryPolicy};
use futures::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The real followthemoney 3.5.9 model, as `GET /metadata` sends it (spec §7.3,
/// `aleph/views/base_api.py` `metadata`).
fn metadata() -> ResponseTemplate {
    let model: Value =
        serde_json::from_str(include_str!("../../src/testkit/ftm-3.5.9.json")).unwrap();
    let body = json!({
        "status": "ok", "maintenance": false,
        "app": {"title": "Aleph", "version": "4.1.6", "ftm_version": "3.5.9"},
        "categories": {}, "frequencies": {}, "pages": [],
        "model": model, "token": null,
        "auth": {"oauth": false, "require_logged_in": false},
        "feature_flags": {"bookmarks": false},
    });
    ResponseTemplate::new(200).set_body_json(body)
}

/// A mock server serving the model (expected `fetches` times) and answering `_bulk` with 204.
async fn server(fetches: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/metadata"))
        .respond_with(metadata())
        .expect(fetches)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/_bulk"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

fn person(i: usize) -> Entity {
    Entity::new("Person")
        .with_id(format!("e-{i}"))
        .add("name", format!("Person {i}"))
        .add("birthDate", "1970-01-31")
        .add("nationality", "de")
}

fn people(n: usize) -> Vec<Entity> {
    (0..n).map(person).collect()
}

/// The `_bulk` requests the server received, as lists of entity ids.
async fn sent_ids(server: &MockServer) -> Vec<Vec<String>> {
    bulk_ids(&requests(server).await)
}

async fn metadata_fetches(server: &MockServer) -> usize {
    requests(server)
        .await
        .iter()
        .filter(|r| r.url.path() == "/api/2/metadata")
        .count()
}

fn partial(err: Error) -> casefile::PartialError {
    match err {
        Error::Partial(partial) => *partial,
        other => panic!("expected Error::Partial, got {other:?}"),
    }
}

/// Ten entities, seven of them bad in a different way each, and two with values the server
/// cleans or keeps (a country name, a number written in words), which are not refused; returns
/// them and the indexes of the bad ones with a word each of their problem's message.
fn mixed() -> (Vec<Entity>, Vec<(u64, &'static str)>) {
    let mut owner_without_id = Entity::new("Ownership").with_id("o-1").add("asset", "e-0");
    owner_without_id.properties.insert(
        "owner".into(),
        vec![PropertyValue::from(Entity::new("Person"))],
    );
    let entities = vec![
        person(0),
        Entity::new("Persn").with_id("typo"),
        Entity::new("Thing").with_id("abstract"),
        Entity::new("Person").add("name", "Nobody"),
        person(4).add("shoeSize", "44"),
        person(5).add("birthDate", "not a date"),
        owner_without_id,
        person(7).add("nationality", "Germany"),
        person(8).add("ownershipOwner", "o-1"),
        Entity::new("Payment")
            .with_id("p-1")
            .add("amount", "twelve"),
    ];
    let bad = vec![
        (1, "unknown schema \"Persn\""),
        (2, "schema \"Thing\" is abstract"),
        (3, "no id"),
        (4, "unknown property \"shoeSize\""),
        (5, "birthDate: \"not a date\" is not a date"),
        (
            6,
            "owner: \"(entity without id)\" is not a nested entity with an entity id",
        ),
        (8, "\"ownershipOwner\" is the reverse of a reference"),
    ];
    (entities, bad)
}

#[tokio::test]
async fn the_model_is_fetched_once_and_shared_by_clones_and_bulk_loads() {
    let server = server(1).await;
    let aleph = client(&server);
    let first = aleph.model().await.unwrap();
    assert!(first.schemata.contains_key("Person"));
    let again = aleph.clone().model().await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "the same cached model"
    );
    aleph.collections().bulk("4", people(3)).await.unwrap();
    aleph
        .collections()
        .bulk_stream("4", futures::stream::iter(people(2)).map(Ok))
        .await
        .unwrap();
    assert_eq!(metadata_fetches(&server).await, 1);
    assert_eq!(sent_ids(&server).await.len(), 2);
}

#[tokio::test]
async fn a_model_that_could_not_be_fetched_is_fetched_again_next_time() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/metadata"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/metadata"))
        .respond_with(metadata())
        .mount(&server)
        .await;
    let aleph = client(&server);
    assert_eq!(aleph.model().await.unwrap_err().status(), Some(503));
    assert!(aleph.model().await.unwrap().schemata.contains_key("Person"));
    aleph.model().await.unwrap();
    assert_eq!(metadata_fetches(&server).await, 2);
}

#[tokio::test]
async fn bulk_sends_nothing_when_any_entity_is_bad_and_reports_every_one_with_its_index() {
    let server = server(1).await;
    let (entities, bad) = mixed();
    let err = client(&server)
        .collections()
        .bulk("4", entities)
        .chunk_size(2)
        .await
        .map_err(partial)
        .unwrap_err();
    assert!(sent_ids(&server).await.is_empty(), "nothing was sent");
    assert_invalid(&err.source, "entities");
    assert!(
        err.source.to_string().contains("7 of 10 entities"),
        "{}",
        err.source
    );
    assert_eq!((err.done, err.requests, err.read), (0, 0, 10));
    let indexes: Vec<u64> = err.rejected.iter().map(|r| r.index).collect();
    assert_eq!(indexes, bad.iter().map(|b| b.0).collect::<Vec<_>>());
    for (rejected, (index, words)) in err.rejected.iter().zip(&bad) {
        assert!(
            rejected.reason.contains(words),
            "entity {index}: {:?} lacks {words:?}",
            rejected.reason
        );
    }
    assert_eq!(err.rejected[0].id.as_deref(), Some("typo"));
    assert_eq!(err.rejected[2].id, None, "the entity without an id");
    // Nothing was written: every entity read is not done.
    assert_eq!(err.not_done.len(), 9, "ten entities, one without an id");
    assert!(err.not_done.contains(&"e-0".to_owned()));
}

#[tokio::test]
async fn validate_lists_every_problem_of_every_entity_without_sending_anything() {
    let server = server(1).await;
    let aleph = client(&server);
    let model = aleph.model().await.unwrap();
    let (entities, bad) = mixed();
    let invalid = casefile::aleph::validate(&model, &entities);
    assert_eq!(
        invalid.iter().map(|i| i.index).collect::<Vec<_>>(),
        bad.iter().map(|b| b.0).collect::<Vec<_>>()
    );
    assert_eq!(
        invalid[0].problems,
        [Problem::UnknownSchema {
            schema: "Persn".into()
        }]
    );
    assert!(matches!(
        &invalid[4].problems[..],
        [Problem::BadValue { property, value, .. }] if property == "birthDate" && value == "not a date"
    ));
    // Two problems at once are both reported.
    let both = person(1)
        .with_id("-bad-")
        .add("shoeSize", "44")
        .add("birthDate", "2021-02-30");
    let problems = model.check(&both);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(matches!(problems[0], Problem::BadId { .. }));
    // Inherited properties are known (name from Thing, jurisdiction from LegalEntity).
    assert!(
        model
            .check(&person(2).add("jurisdiction", "GB").add("alias", "P"))
            .is_empty()
    );
    assert!(sent_ids(&server).await.is_empty());
}

#[tokio::test]
async fn validate_false_sends_entities_the_model_refuses() {
    let server = server(0).await;
    let report = client(&server)
        .collections()
        .bulk("4", vec![person(0).add("shoeSize", "44")])
        .validate(false)
        .await
        .unwrap();
    assert_eq!(report.entities, 1);
    assert_eq!(sent_ids(&server).await, [["e-0"]]);
    assert_eq!(metadata_fetches(&server).await, 0);
}

/// Unchecked, an iterator is read as its chunks are sent, not held whole: a load that stops at
/// its first chunk has read little of a large input.
#[tokio::test]
async fn unchecked_an_iterator_is_read_as_it_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = pulled.clone();
    let input = (0..10_000).map(move |i| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        person(i)
    });
    let err = client(&server)
        .collections()
        .bulk("4", input)
        .validate(false)
        .chunk_size(2)
        .concurrency(1)
        .await
        .map_err(partial)
        .unwrap_err();
    assert_eq!(err.done, 0);
    let pulled = pulled.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        pulled <= 4,
        "read {pulled} of 10,000 entities for one failed chunk"
    );
}

#[tokio::test]
async fn a_bad_streamed_entity_stops_the_load_after_what_was_sent() {
    let server = server(1).await;
    let mut input = people(6);
    input[3] = person(3).add("birthDate", "yesterday");
    let err = client(&server)
        .collections()
        .bulk_stream("4", futures::stream::iter(input).map(Ok))
        .chunk_size(2)
        .concurrency(1)
        .await
        .map_err(partial)
        .unwrap_err();
    assert_invalid(&err.source, "entity");
    assert_eq!(sent_ids(&server).await, [["e-0", "e-1"]]);
    assert_eq!((err.done, err.read), (2, 4));
    assert_eq!(err.not_done, ["e-2", "e-3"], "read into the unsent chunk");
    assert_eq!(err.rejected.len(), 1);
    assert_eq!(err.rejected[0].index, 3);
    assert!(err.rejected[0].reason.contains("yesterday"));
}

#[tokio::test]
async fn keep_going_skips_and_records_bad_streamed_entities() {
    let server = server(1).await;
    let mut input = people(6);
    input[1] = person(1).add("shoeSize", "44");
    input[4] = Entity::new("Company").add("name", "No id Ltd");
    let report = client(&server)
        .collections()
        .bulk_stream("4", futures::stream::iter(input).map(Ok))
        .chunk_size(2)
        .concurrency(1)
        .keep_going(true)
        .await
        .unwrap();
    assert_eq!(sent_ids(&server).await, [["e-0", "e-2"], ["e-3", "e-5"]]);
    assert_eq!((report.entities, report.chunks), (4, 2));
    assert!(!report.is_complete());
    let rejected: Vec<_> = report
        .rejected
        .iter()
        .map(|r| (r.index, r.id.as_deref()))
        .collect();
    assert_eq!(rejected, [(1, Some("e-1")), (4, None)]);
    assert!(report.rejected[0].reason.contains("shoeSize"));
    assert!(report.failed.is_empty());
}

/// A server whose `_bulk` refuses any chunk holding `e-2` with `status` and Aleph's error body
/// (`aleph/views/base_api.py` error handlers: `{"status": "error", "message": ...}`).
async fn refusing_e2(status: u16, message: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/_bulk"))
        .and(body_string_contains("\"e-2\""))
        .respond_with(
            ResponseTemplate::new(status)
                .set_body_json(json!({"status": "error", "message": message})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/_bulk"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn keep_going_records_a_failed_chunk_with_its_ids_and_message_and_writes_the_rest() {
    let server = refusing_e2(400, "No schema for entity.").await;
    let report = client(&server)
        .collections()
        .bulk("4", people(7))
        .validate(false)
        .chunk_size(2)
        .concurrency(1)
        .keep_going(true)
        .await
        .unwrap();
    assert_eq!(
        sent_ids(&server).await,
        [
            vec!["e-0", "e-1"],
            vec!["e-2", "e-3"],
            vec!["e-4", "e-5"],
            vec!["e-6"]
        ]
    );
    assert_eq!((report.entities, report.chunks), (5, 3));
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].ids, ["e-2", "e-3"]);
    assert_eq!(report.failed[0].status, Some(400));
    assert_eq!(report.failed[0].message, "No schema for entity.");
    assert!(!report.is_complete());

    // Without keep_going the same load stops at the failed chunk, as before.
    let server = refusing_e2(400, "No schema for entity.").await;
    let err = client(&server)
        .collections()
        .bulk("4", people(7))
        .validate(false)
        .chunk_size(2)
        .concurrency(1)
        .await
        .map_err(partial)
        .unwrap_err();
    assert_eq!(err.not_done, ["e-2", "e-3"]);
    assert_eq!(sent_ids(&server).await.len(), 2);
}

#[tokio::test]
async fn keep_going_records_a_chunk_that_failed_after_its_retries() {
    let server = refusing_e2(503, "Service unavailable").await;
    let report = client(&server)
        .collections()
        .bulk("4", people(4))
        .validate(false)
        .chunk_size(2)
        .concurrency(1)
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1)),
        )
        .keep_going(true)
        .await
        .unwrap();
    assert_eq!(report.retries, 2);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].ids, ["e-2", "e-3"]);
    assert_eq!(report.failed[0].status, Some(503));
    assert_eq!(report.entities, 2);
    assert_eq!(
        sent_ids(&server).await.len(),
        1 + 3,
        "e-2's chunk sent 3 times"
    );
}

#[tokio::test]
async fn keep_going_still_stops_when_the_write_is_forbidden_and_lists_what_it_set_aside() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("\"e-0\""))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"status": "error", "message": "No ID"})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"status": "error", "message": "No access"})),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .collections()
        .bulk("4", people(6))
        .validate(false)
        .chunk_size(2)
        .concurrency(1)
        .keep_going(true)
        .await
        .map_err(partial)
        .unwrap_err();
    assert_eq!(err.source.status(), Some(403));
    assert_eq!(sent_ids(&server).await.len(), 2, "stopped at the 403");
    assert_eq!(err.done, 0);
    // The chunk set aside by keep_going and the refused one are both not done.
    let mut not_done = err.not_done.clone();
    not_done.sort();
    assert_eq!(not_done, ["e-0", "e-1", "e-2", "e-3"]);
}

#[cfg(feature = "testkit")]
mod sandbox {
    use super::*;
    use casefile::aleph::NewCollection;
    use casefile::testkit::Sandbox;
    use futures::TryStreamExt;

    #[tokio::test]
    async fn the_sandbox_model_refuses_a_bad_birth_date_and_an_unknown_property() {
        let s = Sandbox::builder().start().await.unwrap();
        let aleph = s.aleph().unwrap();
        let id = aleph
            .collections()
            .create(NewCollection::new("Validated"))
            .await
            .unwrap()
            .id;
        let bad = vec![
            person(0),
            person(1).add("birthDate", "not a date"),
            person(2).add("shoeSize", "44"),
        ];
        let model = aleph.model().await.unwrap();
        let invalid = casefile::aleph::validate(&model, &bad);
        assert_eq!(invalid.iter().map(|i| i.index).collect::<Vec<_>>(), [1, 2]);
        assert!(
            invalid[0].to_string().contains("birthDate"),
            "{}",
            invalid[0]
        );
        assert!(
            invalid[1].to_string().contains("shoeSize"),
            "{}",
            invalid[1]
        );

        let err = aleph
            .collections()
            .bulk(&id, bad)
            .await
            .map_err(partial)
            .unwrap_err();
        assert_eq!(
            err.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2]
        );
        let stored: Vec<Entity> = aleph
            .collections()
            .stream_entities(&id)
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert!(stored.is_empty(), "nothing was written: {stored:?}");

        // A valid load goes through, checked against the same model.
        let report = aleph.collections().bulk(&id, people(5)).await.unwrap();
        assert_eq!(report.entities, 5);
        assert!(report.is_complete());
        let stored: Vec<Entity> = aleph
            .collections()
            .stream_entities(&id)
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(stored.len(), 5);
        let birth_dates: Vec<_> = stored
            .iter()
            .flat_map(|e| e.properties.get("birthDate").into_iter().flatten())
            .filter_map(PropertyValue::as_text)
            .collect();
        assert_eq!(birth_dates, ["1970-01-31"; 5]);
    }
}
