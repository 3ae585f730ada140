//! The Aleph sandbox answers as Aleph 4.1.6 does where a client could come to rely on a
//! difference (issue 15, items 1 to 7). Each test cites the real server's source it was checked
//! against (github.com/alephdata/aleph at the 4.1.6 release, github.com/alephdata/followthemoney).
#![cfg(feature = "testkit")]

use casefile::aleph::{Entity, NewCollection, PropertyValue, namespaced_id};
use casefile::testkit::Sandbox;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

/// A plain HTTP client: these tests look at the server's answers as they are on the wire.
fn http() -> reqwest::Client {
    reqwest::Client::new()
}

fn api(s: &Sandbox, path: &str) -> String {
    format!("{}/api/2/{path}", s.aleph_url())
}

fn key(s: &Sandbox) -> String {
    format!("ApiKey {}", s.aleph_api_key())
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A new collection with `foreign_id`; returns its id.
async fn collection(s: &Sandbox, foreign_id: &str) -> String {
    let aleph = s.aleph().unwrap();
    let created = aleph
        .collections()
        .create(NewCollection::new("Fidelity").foreign_id(foreign_id))
        .await
        .unwrap();
    created.id
}

/// The namespaced id matches the one the real followthemoney package computes:
/// `Namespace("leak-2026").sign("fid-a")` with followthemoney 3.5.9 (the version Aleph 4.1.6
/// pins), `followthemoney/namespace.py`. The vectors were computed with that package in a venv:
/// `python -c 'from followthemoney.namespace import Namespace as N; print(N("leak-2026").sign("fid-a"))'`.
#[test]
fn namespaced_ids_match_followthemoney() {
    assert_eq!(
        namespaced_id("leak-2026", "fid-a").as_deref(),
        Some(FTM_LEAK_FID_A)
    );
    // A previous signature is replaced, not signed again.
    assert_eq!(
        namespaced_id("leak-2026", "fid-a.0123abc").as_deref(),
        Some(FTM_LEAK_FID_A)
    );
    assert_eq!(
        namespaced_id("Ünïcode-ns", "p-1").as_deref(),
        Some(FTM_UNICODE_P_1)
    );
    // `Namespace("fidelity-ns").apply(...)` of the Ownership the bulk test writes.
    assert_eq!(
        namespaced_id("fidelity-ns", "fid-o").as_deref(),
        Some("fid-o.e1e6e7cf93d8c780727677d1ea66134ee20f1140")
    );
    assert_eq!(
        namespaced_id("fidelity-ns", "fid-a").as_deref(),
        Some("fid-a.f3b81043ab3125b6470097cead6a2206c9e338a4")
    );
    assert_eq!(namespaced_id("", "fid-a").as_deref(), Some("fid-a"));
    assert_eq!(namespaced_id("leak-2026", "fid_a"), None);
}

const FTM_LEAK_FID_A: &str = "fid-a.cadd128b54203737e74d02eb0f80c7b9a4a5ba99";
const FTM_UNICODE_P_1: &str = "p-1.20ab94403e8f6e8d9c56de5329eaeb96258d6ad4";

/// Item 1: `_bulk` stores `fid-a` as `fid-a.<hmac>` and signs the references inside entities
/// too (`aleph/logic/processing.py` `bulk_write` → `collection.ns.apply`,
/// `followthemoney/namespace.py` `Namespace.apply`); the id as sent is then a 404.
#[tokio::test]
async fn bulk_namespaces_ids_and_references() {
    let s = Sandbox::start().await.unwrap();
    let aleph = s.aleph().unwrap();
    let id = collection(&s, "fidelity-ns").await;
    let entities = vec![
        Entity::new("Person").with_id("fid-a").add("name", "Ana"),
        Entity::new("Company").with_id("fid-b").add("name", "Bco"),
        Entity::new("Ownership")
            .with_id("fid-o")
            .add("owner", "fid-a")
            .add("asset", "fid-b"),
    ];
    aleph.collections().bulk(&id, entities).await.unwrap();

    let (status, _) = send(
        http()
            .get(api(&s, "entities/fid-a"))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    assert_eq!(status, 404, "the id as sent is not the stored id");

    let signed = namespaced_id("fidelity-ns", "fid-a").unwrap();
    let person = aleph.entities().get(&signed).await.unwrap();
    assert_eq!(person.id.as_deref(), Some(signed.as_str()));
    // The collection says the same: its `signed_id` is the id the server holds.
    let held = aleph.collections().get(&id).await.unwrap();
    assert_eq!(held.signed_id("fid-a").as_deref(), Some(signed.as_str()));
    let by_it = aleph
        .entities()
        .get(held.signed_id("fid-b").unwrap())
        .await
        .unwrap();
    assert_eq!(by_it.first("name"), Some("Bco"));

    let ownership = aleph
        .entities()
        .get(namespaced_id("fidelity-ns", "fid-o").unwrap())
        .await
        .unwrap();
    let owner = ownership.properties["owner"][0].as_text();
    assert_eq!(owner, Some(signed.as_str()), "references are signed too");
    let asset = ownership.properties["asset"][0].as_text();
    assert_eq!(asset, namespaced_id("fidelity-ns", "fid-b").as_deref());

    // Writing the same plain id again replaces the entity rather than adding one.
    let again = vec![Entity::new("Person").with_id("fid-a").add("name", "Ana B")];
    aleph.collections().bulk(&id, again).await.unwrap();
    let person = aleph.entities().get(&signed).await.unwrap();
    assert_eq!(person.first("name"), Some("Ana B"));
}

/// Item 2: an entity search names a schema or is refused (`aleph/search/__init__.py`
/// `EntitiesQuery.get_index`: "No schema is specified for the query.").
#[tokio::test]
async fn entity_search_without_a_schema_is_refused() {
    let s = Sandbox::start().await.unwrap();
    let (status, body) = send(
        http()
            .get(api(&s, "entities"))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "No schema is specified for the query.");

    // casefile's search names `Thing` (every schema) when the caller names none.
    let aleph = s.aleph().unwrap();
    let page = aleph.entities().search().page_size(5).first_page().await;
    assert_eq!(page.map(|p| p.items.len()).ok(), Some(5));

    for filter in ["filter:schema=Person", "filter:schemata=Thing"] {
        let (status, body) = send(
            http()
                .get(format!("{}?{filter}", api(&s, "entities")))
                .header(AUTHORIZATION, key(&s)),
        )
        .await;
        assert_eq!(status, 200, "{filter}");
        assert!(body["total"].as_u64().unwrap() > 0, "{filter}");
    }
}

/// Item 3: entity-typed properties come back as the referenced entities, marked shallow
/// (`aleph/views/serializers.py` `EntitySerializer._serialize` resolves them); the seed data
/// holds Ownerships, and casefile's `Entity` decodes and writes them back.
#[tokio::test]
async fn entity_references_come_back_nested_and_round_trip() {
    let s = Sandbox::start().await.unwrap();
    let (status, body) = send(
        http()
            .get(format!("{}?filter:schema=Ownership", api(&s, "entities")))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    assert_eq!(status, 200);
    let first = &body["results"][0];
    let owner = &first["properties"]["owner"][0];
    assert!(owner.is_object(), "owner is a nested entity: {owner}");
    assert_eq!(owner["schema"], "Person");
    assert_eq!(owner["shallow"], true);
    assert!(owner["id"].is_string());
    assert_eq!(first["properties"]["asset"][0]["schema"], "Company");

    let aleph = s.aleph().unwrap();
    let page = aleph
        .entities()
        .search()
        .schema("Ownership")
        .first_page()
        .await
        .unwrap();
    let ownership = page.items.into_iter().next().unwrap();
    let Some(PropertyValue::Entity(owner)) = ownership.properties["owner"].first() else {
        panic!("owner decodes as an entity: {:?}", ownership.properties);
    };
    assert_eq!(owner.schema, "Person");
    let owner_id = owner.id.clone().unwrap();

    // Written back as read (nested values included), the references survive as references.
    let id = ownership.id.clone().unwrap();
    let mut update = Entity::new("Ownership");
    update.properties = ownership.properties.clone();
    update = update.add("sharesCount", "51");
    aleph.entities().update(&id, update).await.unwrap();
    let back = aleph.entities().get(&id).await.unwrap();
    assert_eq!(back.first("sharesCount"), Some("51"));
    let Some(PropertyValue::Entity(owner)) = back.properties["owner"].first() else {
        panic!("owner still resolves: {:?}", back.properties);
    };
    assert_eq!(owner.id.as_deref(), Some(owner_id.as_str()));
}

/// Item 4: `_stream` needs write access to the collection (`aleph/views/stream_api.py`:
/// `require(request.authz.can(collection_id, request.authz.WRITE))`), its lines are the indexed
/// documents with an integer `collection_id` (`aleph/index/entities.py` `format_proxy`,
/// `PROXY_INCLUDES`), and `include=` picks the fields.
#[tokio::test]
async fn stream_needs_write_access_and_honours_include() {
    let s = Sandbox::builder()
        .entities(&[10, 12])
        .start()
        .await
        .unwrap();
    let stream = api(&s, "collections/2/_stream");

    let (status, _) = send(http().get(&stream)).await;
    assert_eq!(status, 403, "anonymous callers may not stream");

    let text = http()
        .get(&stream)
        .header(AUTHORIZATION, key(&s))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    assert!(
        lines.iter().all(|l| l["collection_id"] == json!(2)),
        "{}",
        lines[0]
    );
    assert!(lines.iter().all(|l| l.get("links").is_none()));

    let text = http()
        .get(format!("{stream}?include=schema"))
        .header(AUTHORIZATION, key(&s))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in text.lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "schema"], "{line}");
    }

    // Read-only on the collection: refused too.
    let (status, _) = send(
        http()
            .post(api(&s, "collections/2/permissions"))
            .header(AUTHORIZATION, key(&s))
            .json(&json!([{"role_id": "3", "read": true, "write": false}])),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(http().get(&stream).header(AUTHORIZATION, key(&s))).await;
    assert_eq!(status, 403, "read-only callers may not stream");
}

/// Item 5: `_bulk` refuses an entity without id (`aleph/logic/processing.py` `bulk_write`:
/// `InvalidData("No ID for entity")`, rendered by `aleph/views/base_api.py`
/// `handle_invalid_data`), and `POST /entities` an unknown schema (`aleph/validation/formats.py`
/// `check_schema` through `aleph/views/util.py` `validate`: `errors.schema`).
#[tokio::test]
async fn bulk_without_id_and_unknown_schemas_are_refused() {
    let s = Sandbox::start().await.unwrap();
    let id = collection(&s, "fidelity-refusals").await;
    let (status, body) = send(
        http()
            .post(api(&s, &format!("collections/{id}/_bulk")))
            .header(AUTHORIZATION, key(&s))
            .json(&json!([{"schema": "Person", "properties": {"name": ["No Id"]}}])),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "No ID for entity");
    assert_eq!(body["errors"]["schema"], "Person");

    let (status, body) = send(
        http()
            .post(api(&s, "entities"))
            .header(AUTHORIZATION, key(&s))
            .json(&json!({"schema": "Persn", "collection_id": id, "properties": {}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"]["schema"], "'Persn' is not a 'schema'");
    assert_eq!(body["message"], "Error during data validation");
}

/// Item 6: list envelopes keep `next`, `previous` and `results` when they are empty
/// (`aleph/search/result.py` `QueryResult.to_dict`).
#[tokio::test]
async fn list_envelopes_keep_empty_links_and_results() {
    let s = Sandbox::start().await.unwrap();
    let id = collection(&s, "fidelity-empty").await;
    for path in [
        format!("collections/{id}/mappings"),
        format!("entities?filter:schema=Person&filter:collection_id={id}"),
    ] {
        let (status, body) = send(http().get(api(&s, &path)).header(AUTHORIZATION, key(&s))).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["results"], json!([]), "{path}: {body}");
        assert_eq!(body.get("next"), Some(&Value::Null), "{path}: {body}");
        assert_eq!(body.get("previous"), Some(&Value::Null), "{path}: {body}");
    }
}

/// Item 7: `Authorization: Token <jwt>` is a session token, refused with 401 when it does not
/// verify (`aleph/views/context.py` `_get_credential_authz`, `aleph/views/base_api.py`
/// `handle_jwt_expired`); any other scheme, or none, carries an API key.
#[tokio::test]
async fn token_scheme_is_a_session_token_and_any_other_an_api_key() {
    let s = Sandbox::start().await.unwrap();
    let secret = api(&s, "collections/1");

    let (status, body) = send(http().get(&secret).header(AUTHORIZATION, "Token not.a.jwt")).await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"], "Access token is invalid.");

    for header in [
        format!("Bearer {}", s.aleph_api_key()),
        s.aleph_api_key().to_owned(),
        key(&s),
    ] {
        let (status, body) = send(http().get(&secret).header(AUTHORIZATION, &header)).await;
        assert_eq!(status, 200, "{header:.8}...");
        assert_eq!(body["foreign_id"], "leak-2026");
    }

    // A header key that matches nobody leaves the `api_key` parameter to decide.
    let (status, _) = send(
        http()
            .get(format!("{secret}?api_key={}", s.aleph_api_key()))
            .header(AUTHORIZATION, "ApiKey wrong"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(http().get(&secret).header(AUTHORIZATION, "ApiKey wrong")).await;
    assert_eq!(status, 403, "an unknown key is anonymous");
}
