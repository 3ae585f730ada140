//! Issue 16: the entity graph and matching, roles and API keys, notifications, status and
//! metadata. The exact requests and the decoding of each route against wiremock, with bodies
//! shaped as Aleph 4.1.6 writes them (spec16 §4, §6, §7: `aleph/views/entities_api.py`,
//! `roles_api.py`, `groups_api.py`, `notifications_api.py`, `status_api.py`, `base_api.py`);
//! then round trips against the sandbox.
#![cfg(all(feature = "aleph", feature = "testkit"))]

use casefile::ErrorKind;
use casefile::aleph::{Client, Entity, EventName, Judgement};
use casefile::testkit::Sandbox;
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::aleph::{
    assert_request, body, client, header, ok_json, only_request, requests,
};
use crate::support::assert_invalid;

fn envelope(results: serde_json::Value, total: u64) -> String {
    json!({"status": "ok", "results": results, "total": total, "total_type": "eq", "page": 1,
           "pages": 1, "limit": 20, "offset": 0, "next": null, "previous": null,
           "facets": {}, "query_text": "*"})
    .to_string()
}

// ---------------------------------------------------------------- wiremock: the graph

#[tokio::test]
async fn expand_sends_the_limit_and_properties_and_reads_raw_proxies() {
    let server = MockServer::start().await;
    // `entities_api.py` `expand`: no page envelope; the entities are raw FtM proxies.
    let answer = json!({"status": "ok", "total": 3, "results": [
        {"property": "ownershipOwner", "count": 3, "entities": [
            {"id": "own-1", "schema": "Ownership", "properties": {"owner": ["p-1"], "asset": ["c-1"]},
             "collection_id": "2", "role_id": 3, "mutable": true, "created_at": "2026-01-02T03:04:05"},
            {"id": "c-1", "schema": "Company", "properties": {"name": ["Meridian Metals"]}, "collection_id": "2"}
        ]}
    ]});
    Mock::given(method("GET"))
        .and(path("/api/2/entities/p-1/expand"))
        .respond_with(ok_json(answer.to_string()))
        .mount(&server)
        .await;
    let expanded = client(&server)
        .entities()
        .expand("p-1")
        .limit(2)
        .property("ownershipOwner")
        .property("directorshipDirector")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/entities/p-1/expand",
        &[
            ("limit", "2"),
            ("filter:property", "ownershipOwner"),
            ("filter:property", "directorshipDirector"),
        ],
    );
    assert_eq!(expanded.total, 3);
    let ownership = &expanded.results[0];
    assert_eq!(
        (ownership.property.as_str(), ownership.count),
        ("ownershipOwner", 3)
    );
    assert_eq!(
        ownership.entities.len(),
        2,
        "count may exceed the entities sent"
    );
    assert_eq!(ownership.entities[0].first("owner"), Some("p-1"));
    assert_eq!(ownership.entities[0].collection_id.as_deref(), Some("2"));
    assert_eq!(ownership.entities[1].schema, "Company");
}

#[tokio::test]
async fn expand_refuses_more_than_200_per_property_before_sending() {
    let server = MockServer::start().await;
    let err = client(&server)
        .entities()
        .expand("p-1")
        .limit(201)
        .await
        .unwrap_err();
    assert_invalid(&err, "limit");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn tags_read_their_own_envelope() {
    let server = MockServer::start().await;
    let answer = json!({"status": "ok", "total": 2, "results": [
        {"id": "id:10234567", "field": "identifiers", "value": "10234567", "count": 4},
        {"id": "email:a@example.org", "field": "emails", "value": "a@example.org", "count": 1}
    ]});
    Mock::given(method("GET"))
        .and(path("/api/2/entities/p-1/tags"))
        .respond_with(ok_json(answer.to_string()))
        .mount(&server)
        .await;
    let tags = client(&server).entities().tags("p-1").await.unwrap();
    assert_request(
        &only_request(&server).await,
        "GET",
        "/api/2/entities/p-1/tags",
        &[],
    );
    assert_eq!(tags.total, 2);
    assert_eq!(
        (
            tags.results[0].field.as_str(),
            tags.results[0].value.as_str(),
            tags.results[0].count
        ),
        ("identifiers", "10234567", 4)
    );
}

#[tokio::test]
async fn similar_is_a_search_of_scored_judged_entities() {
    let server = MockServer::start().await;
    let results = json!([
        {"score": 0.83, "judgement": "positive", "writeable": true,
         "entity": {"id": "p-2", "schema": "Person", "properties": {"name": ["Maria Garcia"]}}},
        {"score": 0.61, "judgement": "no_judgement", "writeable": true,
         "entity": {"id": "p-3", "schema": "Person", "properties": {"name": ["María García"]}}}
    ]);
    Mock::given(method("GET"))
        .and(path("/api/2/entities/p-1/similar"))
        .respond_with(ok_json(envelope(results, 2)))
        .mount(&server)
        .await;
    let similar: Vec<_> = client(&server)
        .entities()
        .similar("p-1")
        .filter("collection_id", "2")
        .page_size(5)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_request(
        &only_request(&server).await,
        "GET",
        "/api/2/entities/p-1/similar",
        &[("filter:collection_id", "2"), ("limit", "5")],
    );
    assert_eq!(similar.len(), 2);
    assert_eq!(similar[0].score, Some(0.83));
    assert_eq!(similar[0].judgement, Some(Judgement::Positive));
    assert_eq!(similar[1].judgement, Some(Judgement::NoJudgement));
    assert_eq!(
        similar[1].entity.as_ref().and_then(|e| e.id.as_deref()),
        Some("p-3")
    );
}

#[tokio::test]
async fn match_posts_the_entity_and_names_the_collections_in_the_query() {
    let server = MockServer::start().await;
    let results = json!([{"id": "p-9", "schema": "Person", "score": 12.5,
        "properties": {"name": ["Maria García"]}, "collection": {"id": "3", "label": "Sanctions"}}]);
    Mock::given(method("POST"))
        .and(path("/api/2/match"))
        .respond_with(ok_json(envelope(results, 1)))
        .mount(&server)
        .await;
    let person = Entity::new("Person")
        .add("name", "Maria García")
        .add("nationality", "ua");
    let matches = client(&server)
        .entities()
        .matching(person)
        .collection(2)
        .collection("3")
        .limit(5)
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "POST",
        "/api/2/match",
        &[
            ("collection_ids", "2"),
            ("collection_ids", "3"),
            ("limit", "5"),
        ],
    );
    assert_eq!(
        body(&req),
        json!({"schema": "Person", "properties": {"name": ["Maria García"], "nationality": ["ua"]}})
    );
    assert_eq!(matches.total, Some(1));
    assert_eq!(matches.results[0].score, Some(12.5));
    assert_eq!(
        matches.results[0]
            .collection
            .as_ref()
            .map(|c| c.id.as_str()),
        Some("3")
    );
}

#[tokio::test]
async fn match_refuses_an_entity_without_schema_and_a_zero_limit() {
    let server = MockServer::start().await;
    let aleph = client(&server);
    let err = aleph
        .entities()
        .matching(Entity::new(" "))
        .await
        .unwrap_err();
    assert_invalid(&err, "entity");
    let err = aleph
        .entities()
        .matching(Entity::new("Person"))
        .limit(0)
        .await
        .unwrap_err();
    assert_invalid(&err, "limit");
    assert!(requests(&server).await.is_empty());
}

// ---------------------------------------------------------------- wiremock: roles

#[tokio::test]
async fn suggest_sends_the_prefix_and_exclusions_and_refuses_a_short_prefix() {
    let server = MockServer::start().await;
    let results = json!([{"id": "6", "type": "user", "name": "Dana Reyes", "label": "Dana Reyes",
        "links": {"self": "https://aleph.example.org/api/2/roles/6"}, "writeable": false, "shallow": true}]);
    Mock::given(method("GET"))
        .and(path("/api/2/roles/_suggest"))
        .respond_with(ok_json(envelope(results, 1)))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let err = aleph
        .roles()
        .suggest("dana")
        .first_page()
        .await
        .unwrap_err();
    assert_invalid(&err, "prefix");
    assert!(
        requests(&server).await.is_empty(),
        "a short prefix is refused before sending"
    );

    let page = aleph
        .roles()
        .suggest("dana.reyes@example.org")
        .exclude(3)
        .first_page()
        .await
        .unwrap();
    assert_request(
        &only_request(&server).await,
        "GET",
        "/api/2/roles/_suggest",
        &[("prefix", "dana.reyes@example.org"), ("exclude:id", "3")],
    );
    assert_eq!(page.items[0].id, "6");
    assert_eq!(page.items[0].name.as_deref(), Some("Dana Reyes"));
    assert!(!page.items[0].writeable);
}

#[tokio::test]
async fn groups_read_an_envelope_without_status_or_pages() {
    let server = MockServer::start().await;
    // `groups_api.py` `index`: `{"total", "results"}` only.
    let answer = json!({"total": 2, "results": [
        {"id": "4", "type": "group", "name": "Investigations Desk", "label": "Investigations Desk", "writeable": true, "shallow": true},
        {"id": "5", "type": "group", "name": "Data Team", "label": "Data Team", "writeable": true, "shallow": true}
    ]});
    Mock::given(method("GET"))
        .and(path("/api/2/groups"))
        .respond_with(ok_json(answer.to_string()))
        .mount(&server)
        .await;
    let groups = client(&server).roles().groups().await.unwrap();
    assert_request(&only_request(&server).await, "GET", "/api/2/groups", &[]);
    assert_eq!(groups.total, Some(2));
    let names: Vec<_> = groups
        .results
        .iter()
        .filter_map(|r| r.name.as_deref())
        .collect();
    assert_eq!(names, ["Investigations Desk", "Data Team"]);
}

#[tokio::test]
async fn get_role_reads_the_own_role_with_its_key_expiry_and_counts() {
    let server = MockServer::start().await;
    let answer = json!({"id": "3", "type": "user", "name": "Test Analyst", "label": "Test Analyst",
        "email": "analyst@example.org", "locale": "en", "is_admin": false, "is_muted": true,
        "is_tester": false, "has_password": true, "has_api_key": true,
        "api_key_expires_at": "2026-02-28T04:18:14", "created_at": "2025-01-01T00:00:00",
        "updated_at": "2025-11-30T10:00:00", "links": {"self": "https://a.example.org/api/2/roles/3"},
        "writeable": true, "shallow": false,
        "counts": {"alerts": 3, "entitysets": {"list": 2, "diagram": 1}, "casefiles": 1, "exports": 4}});
    Mock::given(method("GET"))
        .and(path("/api/2/roles/3"))
        .respond_with(ok_json(answer.to_string()))
        .mount(&server)
        .await;
    let role = client(&server).roles().get(3).await.unwrap();
    assert_request(&only_request(&server).await, "GET", "/api/2/roles/3", &[]);
    assert!(role.has_api_key && role.is_muted && !role.is_admin);
    assert_eq!(
        role.api_key_expires_at.map(|t| t.to_rfc3339()),
        Some("2026-02-28T04:18:14+00:00".to_owned())
    );
    let counts = role.counts.unwrap();
    assert_eq!(
        (counts.alerts, counts.entitysets["list"], counts.exports),
        (3, 2, 4)
    );
}

#[tokio::test]
async fn update_role_sends_only_what_is_set_and_checks_it_first() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/roles/3"))
        .respond_with(ok_json(
            json!({"id": "3", "type": "user", "name": "Analyst Two"}).to_string(),
        ))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let err = aleph.roles().update(3).name("Ann").await.unwrap_err();
    assert_invalid(&err, "name");
    let short = aleph.roles().update(3).password("12345", "old-password");
    assert!(!format!("{short:?}").contains("old-password"), "{short:?}");
    assert_invalid(&short.await.unwrap_err(), "password");
    assert!(requests(&server).await.is_empty());

    let role = aleph
        .roles()
        .update(3)
        .name("Analyst Two")
        .locale("de")
        .muted(true)
        .password("new-password", "old-password")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "POST", "/api/2/roles/3", &[]);
    assert_eq!(
        body(&req),
        json!({"name": "Analyst Two", "locale": "de", "is_muted": true,
               "password": "new-password", "current_password": "old-password"})
    );
    assert_eq!(role.name.as_deref(), Some("Analyst Two"));
}

#[tokio::test]
async fn generate_api_key_posts_nothing_and_keeps_the_new_key_secret() {
    let server = MockServer::start().await;
    let answer = json!({"id": "3", "type": "user", "name": "Test Analyst", "has_api_key": true,
        "api_key_expires_at": "2026-02-28T04:18:14", "writeable": true, "shallow": true,
        "api_key": "Xb1-new-key-shown-once"});
    Mock::given(method("POST"))
        .and(path("/api/2/roles/3/generate_api_key"))
        .respond_with(ok_json(answer.to_string()))
        .mount(&server)
        .await;
    let generated = client(&server).roles().generate_api_key(3).await.unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "POST", "/api/2/roles/3/generate_api_key", &[]);
    assert!(req.body.is_empty());
    assert_eq!(generated.role.id, "3");
    assert!(generated.role.api_key_expires_at.is_some());
    assert!(
        !format!("{generated:?}").contains("Xb1-new-key"),
        "{generated:?}"
    );
    // The new key is usable: a client made with it sends it.
    let next = Client::builder()
        .base_url(server.uri())
        .api_key(generated.api_key.clone())
        .build()
        .unwrap();
    let _ = next.roles().get(3).await;
    let all = requests(&server).await;
    assert_eq!(
        header(&all[1], "authorization"),
        Some("ApiKey Xb1-new-key-shown-once")
    );
}

// ---------------------------------------------------------------- wiremock: what happened

#[tokio::test]
async fn notifications_filter_by_event_and_resolve_their_params() {
    let server = MockServer::start().await;
    let results = json!([{
        "id": "n-1", "actor_id": 3, "channels": ["Role:3"], "created_at": "2026-03-01T10:00:00.123456",
        "event": {"name": "MATCH_ALERT", "title": "Alert notifications",
                  "template": "{{entity}} matches your alert for {{alert}}",
                  "params": {"entity": "entity", "alert": "alert", "role": "role"}},
        "params": {"actor": {"id": "3", "type": "user", "name": "Test Analyst"},
                   "entity": {"id": "c-1", "schema": "Company", "properties": {"name": ["Meridian Metals"]}},
                   "alert": {"id": "7", "query": "Meridian Metals"},
                   "role": {"id": "3", "type": "user"},
                   "export": {"id": "9", "label": "xref"}},
        "writeable": false
    }]);
    Mock::given(method("GET"))
        .and(path("/api/2/notifications"))
        .respond_with(ok_json(envelope(results, 1)))
        .mount(&server)
        .await;
    let page = client(&server)
        .notifications()
        .event(EventName::MatchAlert)
        .first_page()
        .await
        .unwrap();
    assert_request(
        &only_request(&server).await,
        "GET",
        "/api/2/notifications",
        &[("filter:event", "MATCH_ALERT")],
    );
    let n = &page.items[0];
    assert_eq!(n.actor_id.as_deref(), Some("3"));
    assert_eq!(
        n.event.as_ref().and_then(|e| e.name.clone()),
        Some(EventName::MatchAlert)
    );
    assert_eq!(
        n.params.entity.as_ref().and_then(|e| e.first("name")),
        Some("Meridian Metals")
    );
    assert_eq!(
        n.params.alert.as_ref().map(|a| a.query.as_str()),
        Some("Meridian Metals")
    );
    assert_eq!(n.params.other["export"]["id"], "9");
}

#[tokio::test]
async fn status_reads_every_active_collection() {
    let server = MockServer::start().await;
    // `status_api.py`: `{"results", "total"}`, no `status` key.
    let answer = json!({"total": 1, "results": [{
        "finished": 10, "running": 1, "pending": 4, "start_time": "2026-03-01T10:00:00",
        "last_update": "2026-03-01T10:05:00",
        "stages": [{"job_id": "3:abc", "stage": "ingest", "pending": 4, "running": 1, "finished": 10}],
        "collection": {"id": "2", "label": "Company Registry Extract"}}]});
    Mock::given(method("GET"))
        .and(path("/api/2/status"))
        .respond_with(ok_json(answer.to_string()))
        .mount(&server)
        .await;
    let status = client(&server).status().await.unwrap();
    assert_request(&only_request(&server).await, "GET", "/api/2/status", &[]);
    let active = &status.results[0];
    assert!(active.tasks.is_active());
    assert_eq!((active.tasks.finished, active.tasks.pending), (10, 4));
    assert_eq!(active.stages[0].stage.as_deref(), Some("ingest"));
    assert_eq!(
        active.collection.as_ref().map(|c| c.label.as_str()),
        Some("Company Registry Extract")
    );
    assert!(active.start_time.is_some());
}

#[tokio::test]
async fn metadata_reads_the_version_and_the_model() {
    let server = MockServer::start().await;
    let answer = json!({"status": "ok", "maintenance": false,
        "app": {"title": "Aleph", "version": "4.1.6", "ftm_version": "3.5.9", "publish": true,
                "locale": "en", "locales": {"en": "English"}},
        "categories": {"leak": "Leaks"}, "frequencies": {"daily": "daily"}, "pages": [],
        "model": {"schemata": {
            "Thing": {"label": "Thing", "schemata": ["Thing"], "abstract": true,
                      "properties": {"name": {"name": "name", "qname": "Thing:name", "label": "Name", "type": "name", "matchable": true}}},
            "Person": {"label": "Person", "plural": "People", "extends": ["LegalEntity"],
                       "schemata": ["LegalEntity", "Person", "Thing"], "matchable": true,
                       "properties": {"birthDate": {"name": "birthDate", "type": "date"}}},
            "LegalEntity": {"label": "Legal entity", "extends": ["Thing"], "schemata": ["LegalEntity", "Thing"],
                       "properties": {"ownershipOwner": {"name": "ownershipOwner", "type": "entity",
                           "range": "Ownership", "reverse": "owner", "stub": true}}}},
            "types": {"country": {"label": "Country", "group": "countries", "values": {"ua": "Ukraine"}}}},
        "token": null, "auth": {"oauth": false, "require_logged_in": false},
        "feature_flags": {"bookmarks": true}});
    Mock::given(method("GET"))
        .and(path("/api/2/metadata"))
        .respond_with(ok_json(answer.to_string()))
        .mount(&server)
        .await;
    let meta = client(&server).metadata().await.unwrap();
    assert_request(&only_request(&server).await, "GET", "/api/2/metadata", &[]);
    assert_eq!(meta.app.version.as_deref(), Some("4.1.6"));
    assert!(meta.feature_flags["bookmarks"]);
    assert!(meta.model.schemata["Thing"].is_abstract);
    assert_eq!(meta.model.types["country"].values["ua"], "Ukraine");
    let person = meta.model.properties("Person").unwrap();
    let names: Vec<_> = person.keys().copied().collect();
    assert_eq!(
        names,
        ["birthDate", "name", "ownershipOwner"],
        "own and inherited"
    );
    assert_eq!(person["ownershipOwner"].range.as_deref(), Some("Ownership"));
    assert!(person["ownershipOwner"].stub);
    assert_eq!(person["name"].type_name, "name");
    assert!(meta.model.properties("Unicorn").is_none());
}

#[tokio::test]
async fn every_request_carries_one_session_id_per_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(&server)
        .await;
    let (one, other) = (client(&server), client(&server));
    one.status().await.unwrap();
    one.roles().groups().await.unwrap();
    other.status().await.unwrap();
    let all = requests(&server).await;
    let ids: Vec<_> = all
        .iter()
        .map(|r| header(r, "x-aleph-session").unwrap_or(""))
        .collect();
    assert_eq!(ids[0].len(), 36, "a UUID: {ids:?}");
    assert_eq!(ids[0], ids[1], "one id per client");
    assert_ne!(ids[0], ids[2], "another client, another id");

    // A signed storage URL on another host gets no session id, as it gets no key.
    let storage = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("blob", "application/octet-stream"))
        .mount(&storage)
        .await;
    let link = format!("{}/blob?sig=abc", storage.uri());
    // The request is made once the headers are in; the body is not needed here.
    drop(one.archive().download_link(&link).await.unwrap());
    let got = requests(&storage).await;
    assert_eq!(got.len(), 1);
    assert_eq!(header(&got[0], "x-aleph-session"), None);
    assert_eq!(header(&got[0], "authorization"), None);
}

#[tokio::test]
async fn a_403_of_an_unrecognised_key_says_keys_expire_and_act_as_anonymous() {
    let server = MockServer::start().await;
    // `base_api.py` `handle_authz_error`: the anonymous caller holds only the guest role.
    Mock::given(method("GET"))
        .and(path("/api/2/groups"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            json!({"status": "error", "message": "You are not authorized to do this.", "roles": [1]}).to_string(),
            "application/json",
        ))
        .mount(&server)
        .await;
    let err = client(&server).roles().groups().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.kind, ErrorKind::Unauthorized);
    assert!(
        api.message
            .starts_with("You are not authorized to do this."),
        "{}",
        api.message
    );
    assert!(
        api.message.contains("expire") && api.message.contains("90 days"),
        "{}",
        api.message
    );
    assert!(api.message.contains("acts as anonymous"), "{}", api.message);
}

// ---------------------------------------------------------------- the sandbox

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .entities(&[24, 40, 24])
        .start()
        .await
        .unwrap()
}

fn bad_key(s: &Sandbox, key: &str) -> Client {
    Client::builder()
        .base_url(s.aleph_url())
        .api_key(key)
        .build()
        .unwrap()
}

#[tokio::test]
async fn sandbox_expands_the_owner_of_an_ownership() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let ownerships: Vec<Entity> = aleph
        .entities()
        .search()
        .schema("Ownership")
        .collection(2)
        .max_items(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ownership = &ownerships[0];
    let owner = ownership.first("owner").unwrap().to_owned();
    let asset = ownership.first("asset").unwrap().to_owned();

    let expanded = aleph.entities().expand(&owner).await.unwrap();
    let by_owner = expanded
        .results
        .iter()
        .find(|e| e.property == "ownershipOwner")
        .unwrap_or_else(|| panic!("no ownershipOwner in {expanded:?}"));
    let ids: Vec<_> = by_owner
        .entities
        .iter()
        .filter_map(|e| e.id.as_deref())
        .collect();
    assert!(ids.contains(&ownership.id.as_deref().unwrap()), "{ids:?}");
    assert!(
        ids.contains(&asset.as_str()),
        "the far end of the edge: {ids:?}"
    );
    // Raw proxies: references stay ids, no links.
    let edge = by_owner
        .entities
        .iter()
        .find(|e| e.schema == "Ownership")
        .unwrap();
    assert_eq!(edge.first("owner"), Some(owner.as_str()));
    assert!(edge.links.is_empty());

    let counts = aleph.entities().expand(&owner).limit(0).await.unwrap();
    let only = counts
        .results
        .iter()
        .find(|e| e.property == "ownershipOwner")
        .unwrap();
    assert_eq!(only.count, by_owner.count);
    assert!(only.entities.is_empty(), "limit 0 gives counts only");
}

#[tokio::test]
async fn sandbox_matches_a_person_by_name() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let people: Vec<Entity> = aleph
        .entities()
        .search()
        .schema("Person")
        .collection(3)
        .max_items(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let name = people[0].first("name").unwrap().to_owned();
    let matches = aleph
        .entities()
        .matching(Entity::new("Person").add("name", name.clone()))
        .collection(3)
        .await
        .unwrap();
    assert!(!matches.results.is_empty());
    assert!(
        matches
            .results
            .iter()
            .all(|e| e.first("name") == Some(name.as_str()))
    );
    assert!(matches.results.iter().any(|e| e.id == people[0].id));
    assert!(matches.results.iter().all(|e| e.score.is_some()));
    // Similar to the person itself: never the person.
    let similar: Vec<_> = aleph
        .entities()
        .similar(people[0].id.as_deref().unwrap())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(
        similar
            .iter()
            .all(|m| m.entity.as_ref().unwrap().id != people[0].id)
    );

    // The server refuses an unknown schema with its validation error.
    let err = aleph
        .entities()
        .matching(Entity::new("Unicorn"))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().kind, ErrorKind::Validation);
}

#[tokio::test]
async fn sandbox_suggests_a_role_by_e_mail() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let page = aleph
        .roles()
        .suggest("Dana.Reyes@example.org")
        .first_page()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        (page.items[0].id.as_str(), page.items[0].writeable),
        ("6", false)
    );
    assert!(
        page.items[0].email.is_none(),
        "a colleague's e-mail is not shown"
    );
    let none = aleph
        .roles()
        .suggest("dana.reyes@")
        .first_page()
        .await
        .unwrap();
    assert!(none.items.is_empty(), "an exact address, not a prefix");
    let me = aleph
        .roles()
        .suggest("analyst@example.org")
        .exclude(3)
        .first_page()
        .await
        .unwrap();
    assert!(me.items.is_empty());
    // Another user's role is not readable, and the 403 is not taken for a bad key.
    let err = aleph.roles().get(6).await.unwrap_err();
    assert_eq!(err.api().unwrap().kind, ErrorKind::Forbidden);
    let groups = aleph.roles().groups().await.unwrap();
    assert_eq!(groups.total, Some(2));
}

#[tokio::test]
async fn sandbox_metadata_has_the_version_and_the_seed_model() {
    let s = sandbox().await;
    let meta = bad_key(&s, "not-a-key").metadata().await.unwrap();
    assert_eq!(meta.app.version.as_deref(), Some("4.1.6"));
    let ownership = meta.model.properties("Ownership").unwrap();
    assert_eq!(ownership["owner"].range.as_deref(), Some("LegalEntity"));
    assert!(
        ownership.contains_key("startDate"),
        "inherited from Interval"
    );
    assert!(meta.model.schemata["Thing"].is_abstract);
    assert!(meta.categories.contains_key("leak"));
}

#[tokio::test]
async fn sandbox_an_unknown_key_is_anonymous_and_a_regenerated_one_too() {
    let s = sandbox().await;
    // `/metadata` answers anyone; `/groups` needs a recognised key.
    let err = bad_key(&s, "no-such-key")
        .roles()
        .groups()
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.kind, ErrorKind::Unauthorized);
    assert!(api.message.contains("90 days"), "{}", api.message);

    let aleph = s.aleph().unwrap();
    let role = aleph.roles().get(3).await.unwrap();
    assert!(role.api_key_expires_at.is_some());
    let generated = aleph.roles().generate_api_key(3).await.unwrap();
    let fresh = Client::builder()
        .base_url(s.aleph_url())
        .api_key(generated.api_key)
        .build()
        .unwrap();
    assert_eq!(fresh.roles().groups().await.unwrap().total, Some(2));
    let err = aleph.roles().groups().await.unwrap_err();
    assert_eq!(
        err.api().unwrap().kind,
        ErrorKind::Unauthorized,
        "the old key stops at once"
    );
}

#[tokio::test]
async fn sandbox_notifications_status_and_role_updates() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let alerts: Vec<_> = aleph
        .notifications()
        .event(EventName::MatchAlert)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let meridian = alerts
        .iter()
        .find(|n| {
            n.params
                .alert
                .as_ref()
                .is_some_and(|a| a.query == "Meridian Metals")
        })
        .unwrap_or_else(|| panic!("no alert match in {alerts:?}"));
    let entity = meridian.params.entity.as_ref().unwrap();
    assert!(entity.first("name").unwrap().contains("Meridian Metals"));
    let all = aleph.notifications().first_page().await.unwrap();
    assert!(all.items.len() > alerts.len());

    assert_eq!(aleph.status().await.unwrap().total, 0);
    let err = bad_key(&s, "nobody").status().await.unwrap_err();
    assert_eq!(err.api().unwrap().kind, ErrorKind::Unauthorized);

    let role = aleph
        .roles()
        .update(3)
        .name("Analyst Two")
        .locale("de")
        .await
        .unwrap();
    assert_eq!(
        (role.name.as_deref(), role.locale.as_deref()),
        (Some("Analyst Two"), Some("de"))
    );
    let err = aleph
        .roles()
        .update(3)
        .password("new-password", "wrong")
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().message, "Incorrect password.");
    let err = aleph.roles().update(3).locale("xx").await.unwrap_err();
    assert_eq!(err.api().unwrap().kind, ErrorKind::Validation);
}

#[tokio::test]
async fn sandbox_tags_and_similar_find_the_others_with_the_same_name() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let people: Vec<Entity> = aleph
        .entities()
        .search()
        .schema("Person")
        .stream()
        .try_collect()
        .await
        .unwrap();
    // A name the seed gave to several people (its 100 names over ~40 people repeat).
    let mut by_name: std::collections::BTreeMap<&str, Vec<&Entity>> = Default::default();
    for p in &people {
        by_name.entry(p.first("name").unwrap()).or_default().push(p);
    }
    let (name, namesakes) = by_name
        .iter()
        .find(|(_, list)| list.len() > 1)
        .unwrap_or_else(|| panic!("no shared name among {} people", people.len()));
    let one = namesakes[0].id.as_deref().unwrap();

    let tags = aleph.entities().tags(one).await.unwrap();
    let tag = tags
        .results
        .iter()
        .find(|t| t.field == "names")
        .unwrap_or_else(|| panic!("no name tag in {tags:?}"));
    assert_eq!(tag.value, *name);
    assert!(
        tag.id.starts_with("name:") && !tag.id.contains(' '),
        "a slug: {}",
        tag.id
    );
    assert_eq!(
        tag.count,
        namesakes.len() as u64 - 1,
        "the others, not the entity itself"
    );

    let similar: Vec<_> = aleph
        .entities()
        .similar(one)
        .stream()
        .try_collect()
        .await
        .unwrap();
    for other in &namesakes[1..] {
        assert!(
            similar
                .iter()
                .any(|m| m.entity.as_ref().unwrap().id == other.id),
            "{:?} is like {one}",
            other.id
        );
    }
    assert!(
        similar
            .iter()
            .all(|m| m.score.is_some_and(|s| s > 0.0 && s <= 1.0))
    );
}
