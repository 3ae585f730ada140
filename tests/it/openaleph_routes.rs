//! OpenAleph's own routes (issue 20; spec20 §4 "On OpenAleph only"): what casefile sends and
//! decodes for each (wiremock, answers shaped as openaleph/openaleph `aleph/views/entities_api.py`
//! and `aleph/views/tags_api.py` with openaleph-search 5.3.1 write them), that each is refused
//! before sending on Aleph 4.1, and round trips against the sandbox's OpenAleph flavor (and the
//! Aleph flavor's 404 to a client told it is OpenAleph).
#![cfg(all(feature = "aleph", feature = "testkit"))]

use casefile::aleph::{Client, Entity, Flavor, NewCollection, Server};
use casefile::testkit::Sandbox;
use casefile::{Error, RetryPolicy};
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::aleph::{KEY, assert_request, body, client, ok_json, only_request};
use crate::support::{assert_invalid, requests};

/// A client of `server` told that it is OpenAleph `version`.
fn openaleph(server: &MockServer, version: &str) -> Client {
    Client::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .server(Server::openaleph(version))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A search page as `SearchQueryResult.to_dict` writes it on OpenAleph (`aleph/search/result.py`:
/// `query_q`, `filters` and `metrics` beside Aleph's keys).
fn search_page(path: &str, results: Value) -> String {
    let total = results.as_array().map_or(0, Vec::len);
    json!({
        "status": "ok", "results": results, "total": total, "total_type": "eq", "page": 1,
        "limit": 20, "offset": 0, "pages": 1, "next": null, "previous": null,
        "facets": {}, "metrics": {}, "query_text": "", "query_q": null, "filters": {},
        "links": {"self": format!("https://openaleph.example.org/api/2/{path}")},
    })
    .to_string()
}

async fn mount(server: &MockServer, route: &str, answer: ResponseTemplate) {
    Mock::given(path(format!("/api/2/{route}")))
        .respond_with(answer)
        .mount(server)
        .await;
}

fn document(id: &str) -> Value {
    json!({
        "id": id, "schema": "Document", "caption": "Contract",
        "properties": {"title": ["Contract"]},
        "collection": {"id": "12", "label": "Leak", "foreign_id": "leak_2026"},
        "dataset": "collection_12", "score": 7.5, "writeable": false,
        "_sort": [7.5],
    })
}

#[tokio::test]
async fn more_like_this_sends_the_mlt_parameters_and_decodes_entities() {
    let server = MockServer::start().await;
    let mut hit = document("doc-2");
    hit["highlight"] = json!({"content": ["Shipment contract for Meridian Metals"]});
    mount(
        &server,
        "entities/doc-1/more_like_this",
        ok_json(search_page("entities/doc-1/more_like_this", json!([hit]))),
    )
    .await;
    let page = openaleph(&server, "5.3.0")
        .entities()
        .more_like_this("doc-1")
        .mlt_min_word_length(4)
        .mlt_minimum_should_match("30%")
        .mlt_max_query_terms(50)
        .mlt_min_doc_freq(2)
        .mlt_max_doc_freq(100)
        .mlt_min_term_freq(1)
        .filter("schemata", "Document")
        .highlight(true)
        .first_page()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/entities/doc-1/more_like_this",
        &[
            ("mlt_min_word_length", "4"),
            ("mlt_minimum_should_match", "30%"),
            ("mlt_max_query_terms", "50"),
            ("mlt_min_doc_freq", "2"),
            ("mlt_max_doc_freq", "100"),
            ("mlt_min_term_freq", "1"),
            ("filter:schemata", "Document"),
            ("highlight", "true"),
        ],
    );
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id.as_deref(), Some("doc-2"));
    assert_eq!(
        page.items[0].highlight.field("content"),
        ["Shipment contract for Meridian Metals"]
    );
    assert_eq!(page.total, Some(1));
}

#[tokio::test]
async fn nearby_reads_the_distance_the_server_sorted_by() {
    let server = MockServer::start().await;
    let mut near = document("addr-2");
    near["schema"] = json!("Address");
    near["_sort"] = json!([441.8]);
    mount(
        &server,
        "entities/addr-1/nearby",
        ok_json(search_page("entities/addr-1/nearby", json!([near]))),
    )
    .await;
    let hits: Vec<_> = openaleph(&server, "5.0.0")
        .entities()
        .nearby("addr-1")
        .filter("countries", "ua")
        .page_size(5)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/entities/addr-1/nearby",
        &[("filter:countries", "ua"), ("limit", "5")],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].entity.schema, "Address");
    assert_eq!(hits[0].distance_km(), Some(441.8));
}

#[tokio::test]
async fn mentions_sends_the_query_and_synonyms_and_decodes_the_sources() {
    let server = MockServer::start().await;
    let mut hit = document("doc-3");
    hit["mention_sources"] = json!(["person-1"]);
    mount(
        &server,
        "entities/person-1/mentions",
        ok_json(search_page("entities/person-1/mentions", json!([hit]))),
    )
    .await;
    let page = openaleph(&server, "5.3.1-rc3")
        .entities()
        .mentions("person-1")
        .query("contract")
        .synonyms(true)
        .dehydrate(true)
        .include_field("properties.title")
        .first_page()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/entities/person-1/mentions",
        &[
            ("q", "contract"),
            ("synonyms", "true"),
            ("dehydrate", "true"),
            ("include_fields", "properties.title"),
        ],
    );
    assert_eq!(page.items[0].entity.id.as_deref(), Some("doc-3"));
    assert_eq!(page.items[0].mention_sources, ["person-1"]);
}

#[tokio::test]
async fn a_refusal_of_mentions_keeps_the_servers_message() {
    let server = MockServer::start().await;
    // openaleph-search `query/mentions.py` `MentionsQuery`, raised as `BadRequest`.
    let message = "Entity 'doc-1' has no matchable names — MentionsQuery requires a named \
                   entity (Person, Company, ...).";
    mount(
        &server,
        "entities/doc-1/mentions",
        ResponseTemplate::new(400).set_body_raw(
            json!({"status": "error", "message": message}).to_string(),
            "application/json",
        ),
    )
    .await;
    let err = openaleph(&server, "5.3.0")
        .entities()
        .mentions("doc-1")
        .first_page()
        .await
        .unwrap_err();
    match err {
        Error::Api(api) => {
            assert_eq!(api.status, 400);
            assert_eq!(api.message, message);
        }
        other => panic!("expected the server's 400, got {other:?}"),
    }
}

#[tokio::test]
async fn percolate_decodes_surface_forms_and_matched_names() {
    let server = MockServer::start().await;
    let person = json!({
        "id": "person-1", "schema": "Person", "properties": {"name": ["Maria García"]},
        "highlight": {"content": ["signed by <em>Maria García</em> in"]},
        "surface_forms": ["Maria García"], "percolator_match": ["maria garcia"],
    });
    mount(
        &server,
        "entities/doc-1/percolate",
        ok_json(search_page("entities/doc-1/percolate", json!([person]))),
    )
    .await;
    let page = openaleph(&server, "5.3.0")
        .entities()
        .percolate("doc-1")
        .filter("countries", "es")
        .highlight(true)
        .highlight_count(2)
        .first_page()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/entities/doc-1/percolate",
        &[
            ("filter:countries", "es"),
            ("highlight", "true"),
            ("highlight_count", "2"),
        ],
    );
    let hit = &page.items[0];
    assert_eq!(hit.entity.first("name"), Some("Maria García"));
    assert_eq!(hit.surface_forms, ["Maria García"]);
    assert_eq!(hit.percolator_match, ["maria garcia"]);
}

#[tokio::test]
async fn thread_is_one_page_and_says_when_it_was_cut() {
    let server = MockServer::start().await;
    // `QueryResult.to_dict` (no facets), `total_type: "gte"` when the walk was cut.
    let answer = json!({
        "status": "ok", "total": 2, "total_type": "gte", "page": 1, "limit": 2, "offset": 0,
        "pages": 1, "next": null, "previous": null,
        "results": [
            {"id": "mail-1", "schema": "Email", "properties": {"subject": ["Offer"], "messageId": ["m1"]}},
            {"id": "mail-2", "schema": "Email", "properties": {"subject": ["Re: Offer"], "inReplyTo": ["m1"]}},
        ],
    });
    mount(
        &server,
        "entities/mail-2/thread",
        ok_json(answer.to_string()),
    )
    .await;
    let thread = openaleph(&server, "5.3.0")
        .entities()
        .thread("mail-2")
        .limit(2)
        .dehydrate(false)
        .include_field("properties.bodyText")
        .highlight(true)
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/entities/mail-2/thread",
        &[
            ("limit", "2"),
            ("dehydrate", "false"),
            ("include_fields", "properties.bodyText"),
            ("highlight", "true"),
        ],
    );
    let ids: Vec<_> = thread.results.iter().map(|e| e.id.as_deref()).collect();
    assert_eq!(ids, [Some("mail-1"), Some("mail-2")]);
    assert_eq!(thread.total_type.as_deref(), Some("gte"));
}

#[tokio::test]
async fn a_thread_limit_out_of_bounds_is_refused_before_sending() {
    let server = MockServer::start().await;
    let aleph = openaleph(&server, "5.3.0");
    for n in [0, 201] {
        let err = aleph
            .entities()
            .thread("mail-1")
            .limit(n)
            .await
            .unwrap_err();
        assert_invalid(&err, "limit");
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn screening_sends_both_scopes_in_one_query() {
    let server = MockServer::start().await;
    let mut hit = document("doc-4");
    hit["mention_sources"] = json!(["person-1", "person-2"]);
    mount(
        &server,
        "screening",
        ok_json(search_page("screening", json!([hit]))),
    )
    .await;
    let page = openaleph(&server, "5.3.0")
        .screening()
        .source_filter("schema", "Person")
        .source_filter("topics", "sanction")
        .source_exclude("countries", "ru")
        .source_query("Garcia")
        .filter("collection_id", "12")
        .query("contract")
        .first_page()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/screening",
        &[
            ("source:filter:schema", "Person"),
            ("source:filter:topics", "sanction"),
            ("source:exclude:countries", "ru"),
            ("source:q", "Garcia"),
            ("filter:collection_id", "12"),
            ("q", "contract"),
        ],
    );
    assert_eq!(page.items[0].mention_sources, ["person-1", "person-2"]);
}

/// A tag as `TagSerializer` writes it (`aleph/model/tag.py`, `aleph/views/serializers.py`):
/// `collection_id` a number, the entity and role resolved.
fn tag_json() -> Value {
    json!({
        "id": "7", "tag": "follow up", "role_id": "3", "created_at": "2026-06-01T10:00:00.123456",
        "entity_id": "person-1", "collection_id": 12,
        "entity": {"id": "person-1", "schema": "Person", "properties": {"name": ["Maria García"]}},
        "role": {"id": "3", "type": "user", "name": "Test Analyst", "label": "Test Analyst"},
        "writeable": false,
    })
}

fn db_page(results: Value) -> String {
    let total = results.as_array().map_or(0, Vec::len);
    json!({
        "status": "ok", "results": results, "total": total, "total_type": "eq", "page": 1,
        "limit": 20, "offset": 0, "pages": 1, "next": null, "previous": null,
    })
    .to_string()
}

#[tokio::test]
async fn tags_list_add_and_remove_as_the_server_routes_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/tags"))
        .respond_with(ok_json(db_page(json!([
            {"tag": "follow up", "count": 3, "writeable": false},
            {"tag": "checked", "count": 1, "writeable": false},
        ]))))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/tags/person-1"))
        .respond_with(ok_json(db_page(json!([tag_json()]))))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/tags"))
        .respond_with(
            ResponseTemplate::new(201).set_body_raw(tag_json().to_string(), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let tags = openaleph(&server, "5.1.0").tags();

    let counts: Vec<_> = tags.counts(12).stream().try_collect().await.unwrap();
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.tag.as_str(), c.count))
            .collect::<Vec<_>>(),
        [("follow up", 3), ("checked", 1)]
    );
    let on_entity = tags.of_entity("person-1").first_page().await.unwrap();
    let tag = &on_entity.items[0];
    assert_eq!(
        (
            tag.id.as_str(),
            tag.tag.as_str(),
            tag.collection_id.as_deref()
        ),
        ("7", "follow up", Some("12"))
    );
    assert_eq!(tag.role_id.as_deref(), Some("3"));
    assert_eq!(
        tag.entity.as_ref().and_then(|e| e.first("name")),
        Some("Maria García")
    );
    assert!(tag.created_at.is_some());
    let added = tags.add("person-1", "follow up").await.unwrap();
    assert_eq!(added.entity_id.as_deref(), Some("person-1"));
    tags.remove("person-1", "follow up").await.unwrap();
    tags.clear("person-1").await.unwrap();

    let seen = requests(&server).await;
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_request(&seen[0], "GET", "/api/2/tags", &[("collection_id", "12")]);
    assert_request(&seen[1], "GET", "/api/2/tags/person-1", &[]);
    assert_request(&seen[2], "POST", "/api/2/tags", &[]);
    assert_eq!(
        body(&seen[2]),
        json!({"entity_id": "person-1", "tag": "follow up"})
    );
    assert_request(&seen[3], "DELETE", "/api/2/tags/person-1/follow%20up", &[]);
    assert_request(&seen[4], "DELETE", "/api/2/tags/person-1", &[]);
}

#[tokio::test]
async fn tag_arguments_the_server_would_refuse_are_refused_before_sending() {
    let server = MockServer::start().await;
    let tags = openaleph(&server, "5.3.0").tags();
    // `TagCreate`: 1 to 128 characters (`aleph/validation/schema/tag.yml`).
    assert_invalid(&tags.add("person-1", "").await.unwrap_err(), "tag");
    let long = "é".repeat(129);
    assert_invalid(&tags.add("person-1", long).await.unwrap_err(), "tag");
    // Flask's `<tag>` does not match a `/`.
    assert_invalid(&tags.remove("person-1", "a/b").await.unwrap_err(), "tag");
    // `int(collection_id)` fails with a 500 on the server.
    let err = tags.counts("leak").first_page().await.unwrap_err();
    assert_invalid(&err, "collection_id");
    assert!(requests(&server).await.is_empty());
    // 128 characters pass.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201).set_body_raw(tag_json().to_string(), "application/json"),
        )
        .mount(&server)
        .await;
    tags.add("person-1", "é".repeat(128)).await.unwrap();
}

/// Every OpenAleph-only operation, sent through `aleph`; each returns what it failed with.
async fn every_operation(aleph: &Client) -> Vec<(&'static str, Error)> {
    let entities = aleph.entities();
    let tags = aleph.tags();
    vec![
        (
            "more_like_this",
            entities.more_like_this("e").first_page().await.unwrap_err(),
        ),
        (
            "nearby",
            entities.nearby("e").first_page().await.unwrap_err(),
        ),
        (
            "mentions",
            entities.mentions("e").first_page().await.unwrap_err(),
        ),
        (
            "percolate",
            entities.percolate("e").first_page().await.unwrap_err(),
        ),
        ("thread", entities.thread("e").await.unwrap_err()),
        (
            "screening",
            aleph.screening().first_page().await.unwrap_err(),
        ),
        ("tags", tags.counts(1).first_page().await.unwrap_err()),
        ("tags", tags.of_entity("e").first_page().await.unwrap_err()),
        ("tags", tags.add("e", "t").await.unwrap_err()),
        ("tags", tags.remove("e", "t").await.unwrap_err()),
        ("tags", tags.clear("e").await.unwrap_err()),
    ]
}

#[tokio::test]
async fn every_openaleph_route_is_refused_on_aleph_before_sending() {
    let server = MockServer::start().await;
    let aleph = client(&server); // told Aleph 4.1.6
    for (name, err) in every_operation(&aleph).await {
        match err {
            Error::Unsupported {
                operation, server, ..
            } => {
                assert_eq!(operation, name);
                assert_eq!(server, "Aleph 4.1.6");
            }
            other => panic!("{name}: expected Unsupported, got {other:?}"),
        }
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn routes_newer_than_the_openaleph_release_are_refused_before_sending() {
    let server = MockServer::start().await;
    // 5.0 has more_like_this and nearby; tags came in 5.1, the rest in 5.3.
    let aleph = openaleph(&server, "5.0.2");
    let refused: Vec<&str> = every_operation(&aleph)
        .await
        .into_iter()
        .filter_map(|(name, err)| matches!(err, Error::Unsupported { .. }).then_some(name))
        .collect();
    assert_eq!(
        refused,
        [
            "mentions",
            "percolate",
            "thread",
            "screening",
            "tags",
            "tags",
            "tags",
            "tags",
            "tags"
        ]
    );
    // Only the two 5.0 routes reached the server (and got wiremock's 404).
    let paths: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/api/2/entities/e/more_like_this",
            "/api/2/entities/e/nearby"
        ]
    );
}

// --- against the sandbox -----------------------------------------------------------------

async fn sandbox(flavor: Flavor) -> Sandbox {
    Sandbox::builder()
        .aleph_flavor(flavor)
        .entities(&[8, 4])
        .incidents(1)
        .attachments(1)
        .start()
        .await
        .unwrap()
}

/// Writes `entities` into a new collection; returns its id and the entities' ids, in order.
async fn collection_with(aleph: &Client, entities: Vec<Entity>) -> (String, Vec<String>) {
    let collection = aleph
        .collections()
        .create(NewCollection::new("OpenAleph routes"))
        .await
        .unwrap()
        .id;
    let mut ids = Vec::new();
    for entity in entities {
        let written = aleph.entities().create(&collection, entity).await.unwrap();
        ids.push(written.id.unwrap());
    }
    (collection, ids)
}

fn api_status(err: &Error) -> (u16, &str) {
    match err {
        Error::Api(api) => (api.status, api.message.as_str()),
        other => panic!("expected an answer of the server, got {other:?}"),
    }
}

#[tokio::test]
async fn mentions_and_screening_find_the_documents_naming_a_person_in_the_sandbox() {
    let s = sandbox(Flavor::OpenAleph).await;
    let aleph = s.aleph().unwrap();
    let (collection, ids) = collection_with(
        &aleph,
        vec![
            Entity::new("Person").add("name", "Maria García"),
            Entity::new("Person").add("name", "Khan"),
            Entity::new("PlainText").add("title", "Memo").add(
                "bodyText",
                "The contract was signed by maria GARCÍA in Limassol.",
            ),
            Entity::new("PlainText")
                .add("title", "Other memo")
                .add("bodyText", "Nothing about anyone."),
        ],
    )
    .await;
    let (maria, khan, memo) = (&ids[0], &ids[1], &ids[2]);

    let hits: Vec<_> = aleph
        .entities()
        .mentions(maria)
        .highlight(true)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].entity.id.as_deref(), Some(memo.as_str()));
    assert_eq!(hits[0].mention_sources, [maria.as_str()]);
    let fragments = hits[0].entity.highlight.field("content");
    assert!(
        fragments.len() == 1 && fragments[0].contains("signed by <em>maria GARCÍA</em> in"),
        "{fragments:?}"
    );
    // `q` narrows: the memo does not hold "invoice".
    let narrowed = aleph
        .entities()
        .mentions(maria)
        .query("invoice")
        .first_page()
        .await
        .unwrap();
    assert!(narrowed.items.is_empty());

    // One short single-word name is cleaned away (`clean_matching_names`): 400.
    let err = aleph
        .entities()
        .mentions(khan)
        .first_page()
        .await
        .unwrap_err();
    let (status, message) = api_status(&err);
    assert_eq!(status, 400);
    assert!(message.contains("no matchable names after"), "{message}");
    // A document has no names at all.
    let err = aleph
        .entities()
        .mentions(memo)
        .first_page()
        .await
        .unwrap_err();
    let (status, message) = api_status(&err);
    assert_eq!(status, 400);
    assert!(message.contains("requires a named entity"), "{message}");

    // Screening: every Person of the collection is a source.
    let screened = aleph
        .screening()
        .source_filter("schema", "Person")
        .source_filter("collection_id", collection.as_str())
        .filter("collection_id", collection.as_str())
        .first_page()
        .await
        .unwrap();
    assert_eq!(screened.items.len(), 1);
    assert_eq!(screened.items[0].mention_sources, [maria.as_str()]);
    // Anonymous callers are refused.
    let anonymous = Client::builder().base_url(s.aleph_url()).build().unwrap();
    let err = anonymous.screening().first_page().await.unwrap_err();
    assert_eq!(api_status(&err).0, 403);
}

#[tokio::test]
async fn more_like_this_nearby_and_percolate_in_the_sandbox() {
    let s = sandbox(Flavor::OpenAleph).await;
    let aleph = s.aleph().unwrap();
    let (collection, ids) = collection_with(
        &aleph,
        vec![
            Entity::new("PlainText")
                .add("bodyText", "Meridian shipment contract signed in Limassol"),
            Entity::new("PlainText").add("bodyText", "Another shipment contract for Meridian"),
            Entity::new("PlainText").add("bodyText", "Grain prices fell"),
            Entity::new("Address")
                .add("full", "Kyiv")
                .add("latitude", "50.45")
                .add("longitude", "30.52"),
            Entity::new("Address")
                .add("full", "Lviv")
                .add("latitude", "49.84")
                .add("longitude", "24.03"),
            Entity::new("Address")
                .add("full", "Odesa")
                .add("latitude", "46.48")
                .add("longitude", "30.72"),
            Entity::new("Person").add("name", "Maria García"),
        ],
    )
    .await;

    let alike: Vec<_> = aleph
        .entities()
        .more_like_this(&ids[0])
        .filter("collection_id", collection.as_str())
        .stream()
        .try_collect()
        .await
        .unwrap();
    let alike: Vec<_> = alike.iter().map(|e| e.id.clone().unwrap()).collect();
    assert_eq!(alike, [ids[1].clone()]);

    let near: Vec<_> = aleph
        .entities()
        .nearby(&ids[3])
        .stream()
        .try_collect()
        .await
        .unwrap();
    let order: Vec<_> = near.iter().map(|n| n.entity.id.clone().unwrap()).collect();
    assert_eq!(order, [ids[5].clone(), ids[4].clone()]);
    let km: Vec<f64> = near.iter().map(|n| n.distance_km().unwrap()).collect();
    assert!(km[0] < km[1] && (400.0..500.0).contains(&km[0]), "{km:?}");
    // Without a position, nothing is near.
    let none = aleph.entities().nearby(&ids[6]).first_page().await.unwrap();
    assert!(none.items.is_empty());

    // Percolation is off by default: an empty page for a document with text ...
    let percolated = aleph
        .entities()
        .percolate(&ids[0])
        .result_set()
        .await
        .unwrap();
    assert!(percolated.results.is_empty());
    assert_eq!(percolated.total, Some(0));
    // ... and a 400 for an entity that is not a document.
    let err = aleph
        .entities()
        .percolate(&ids[6])
        .first_page()
        .await
        .unwrap_err();
    let (status, message) = api_status(&err);
    assert_eq!(status, 400);
    assert!(message.starts_with("No percolatable fulltext"), "{message}");
}

#[tokio::test]
async fn thread_walks_the_replies_in_the_sandbox() {
    let s = sandbox(Flavor::OpenAleph).await;
    let aleph = s.aleph().unwrap();
    let (collection, ids) = collection_with(
        &aleph,
        vec![
            Entity::new("Email")
                .add("subject", "Offer")
                .add("date", "2026-01-01")
                .add("messageId", "m1")
                .add("bodyText", "Our offer."),
            Entity::new("Email")
                .add("subject", "Re: Offer")
                .add("date", "2026-01-02")
                .add("messageId", "m2")
                .add("inReplyTo", "m1")
                .add("bodyText", "Accepted."),
            Entity::new("Email")
                .add("subject", "Unrelated")
                .add("date", "2026-01-03")
                .add("messageId", "m9"),
            Entity::new("Person").add("name", "Maria García"),
        ],
    )
    .await;
    // A reply to the second one by its id.
    let (root, reply, other, person) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let last = aleph
        .entities()
        .create(
            &collection,
            Entity::new("Email")
                .add("subject", "Re: Re: Offer")
                .add("date", "2026-01-04")
                .add("inReplyToEmail", reply.as_str()),
        )
        .await
        .unwrap()
        .id
        .unwrap();

    let thread = aleph.entities().thread(reply).await.unwrap();
    let order: Vec<_> = thread
        .results
        .iter()
        .map(|e| e.id.clone().unwrap())
        .collect();
    assert_eq!(order, [root.clone(), reply.clone(), last.clone()]);
    assert!(!order.contains(other));
    assert_eq!(thread.total_type.as_deref(), Some("eq"));
    // Dehydrated by default: the subject stays, the body goes.
    assert_eq!(thread.results[0].first("subject"), Some("Offer"));
    assert_eq!(thread.results[0].first("bodyText"), None);
    let full = aleph
        .entities()
        .thread(reply)
        .dehydrate(false)
        .await
        .unwrap();
    assert_eq!(full.results[0].first("bodyText"), Some("Our offer."));
    // Cut to two: "gte".
    let cut = aleph
        .entities()
        .thread(last.as_str())
        .limit(2)
        .await
        .unwrap();
    assert_eq!(cut.results.len(), 2);
    assert_eq!(cut.total_type.as_deref(), Some("gte"));
    // Not a message: 400.
    let err = aleph.entities().thread(person).await.unwrap_err();
    assert_eq!(
        api_status(&err),
        (
            400,
            "Threading is only supported for Email and Message entities"
        )
    );
}

#[tokio::test]
async fn tags_need_a_taggable_collection_in_the_sandbox() {
    let s = sandbox(Flavor::OpenAleph).await;
    let aleph = s.aleph().unwrap();
    let (collection, ids) = collection_with(
        &aleph,
        vec![Entity::new("Person").add("name", "Maria García")],
    )
    .await;
    let tags = aleph.tags();
    let err = tags.counts(&collection).first_page().await.unwrap_err();
    assert_eq!(api_status(&err), (400, "Tagging is disabled"));
    let err = tags.add(&ids[0], "follow up").await.unwrap_err();
    let (status, message) = api_status(&err);
    assert_eq!(status, 400);
    assert!(
        message.starts_with("Could not tag the given entity"),
        "{message}"
    );
    let err = tags.of_entity(&ids[0]).first_page().await.unwrap_err();
    assert_eq!(api_status(&err).0, 400);
    // Listing a collection's tags needs a signed-in caller.
    let anonymous = Client::builder().base_url(s.aleph_url()).build().unwrap();
    let err = anonymous.tags().counts(2).first_page().await.unwrap_err();
    assert_eq!(api_status(&err).0, 403);
}

#[tokio::test]
async fn the_aleph_flavor_answers_404_to_a_client_told_it_is_openaleph() {
    let s = sandbox(Flavor::Aleph).await;
    let aleph = Client::builder()
        .base_url(s.aleph_url())
        .api_key(s.aleph_api_key())
        .server(Server::openaleph("5.3.0"))
        .build()
        .unwrap();
    let person = aleph
        .entities()
        .search()
        .schema("Person")
        .first_page()
        .await
        .unwrap()
        .items
        .remove(0)
        .id
        .unwrap();
    for (name, err) in every_operation(&aleph).await {
        assert_eq!(
            api_status(&err),
            (404, "This path does not exist."),
            "{name}"
        );
    }
    let err = aleph
        .entities()
        .mentions(&person)
        .first_page()
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (404, "This path does not exist."));
}

#[tokio::test]
async fn a_method_no_openaleph_route_takes_is_werkzeugs_405_and_the_aleph_flavor_knows_no_path() {
    let send = |s: &Sandbox, method: reqwest::Method, route: &str| {
        reqwest::Client::new()
            .request(method, format!("{}/api/2/{route}", s.aleph_url()))
            .header("Authorization", format!("ApiKey {}", s.aleph_api_key()))
            .send()
    };
    let open = sandbox(Flavor::OpenAleph).await;
    // `tags_api.py` routes GET and DELETE on `/tags/<entity_id>`; Flask answers the rest 405
    // (HTML: no JSON handler for it), OPTIONS with the methods.
    let response = send(&open, reqwest::Method::PUT, "tags/x").await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(
        response.headers()["allow"].to_str().unwrap(),
        "DELETE, GET, HEAD, OPTIONS"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Method Not Allowed")
    );
    let response = send(&open, reqwest::Method::OPTIONS, "screening")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["allow"].to_str().unwrap(),
        "GET, HEAD, OPTIONS"
    );
    // Aleph 4.1.6 has no such path: its JSON 404, whatever the method.
    let aleph = sandbox(Flavor::Aleph).await;
    for (method, route) in [
        (reqwest::Method::PUT, "tags/x"),
        (reqwest::Method::GET, "screening"),
    ] {
        let response = send(&aleph, method, route).await.unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"status": "error", "message": "This path does not exist."})
        );
    }
}
