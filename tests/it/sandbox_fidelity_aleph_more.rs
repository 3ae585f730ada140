//! The Aleph sandbox is neither stricter nor poorer than Aleph 4.1.6 (issue 15, "Stricter or
//! poorer than the real server", the Aleph rows). Each test cites the real server's source it
//! was checked against (github.com/alephdata/aleph at the 4.1.6 release; followthemoney 3.5.9,
//! the version it pins, for the schema hierarchy).
#![cfg(feature = "testkit")]

use casefile::aleph::{Entity, NewCollection};
use casefile::testkit::Sandbox;
use reqwest::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn api(s: &Sandbox, path: &str) -> String {
    format!("{}/api/2/{path}", s.aleph_url())
}

fn key(s: &Sandbox) -> String {
    format!("ApiKey {}", s.aleph_api_key())
}

async fn small() -> Sandbox {
    Sandbox::builder()
        .entities(&[30])
        .incidents(1)
        .attachments(1)
        .start()
        .await
        .unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A new collection holding `entities` (written one by one, so they keep the ids the server
/// gives them); returns its id.
async fn collection_with(s: &Sandbox, entities: Vec<Entity>) -> String {
    let aleph = s.aleph().unwrap();
    let id = aleph
        .collections()
        .create(NewCollection::new("Strictness"))
        .await
        .unwrap()
        .id;
    for entity in entities {
        let mut body = serde_json::to_value(&entity).unwrap();
        body["collection_id"] = json!(id);
        let (status, _) = send(
            http()
                .post(api(s, "entities"))
                .header(AUTHORIZATION, key(s))
                .json(&body),
        )
        .await;
        assert_eq!(status, 200);
    }
    id
}

/// The schemata of an entity search's results, sorted.
async fn schemata_found(s: &Sandbox, query: &str) -> Vec<String> {
    let (status, body) = send(
        http()
            .get(format!("{}?{query}&limit=50", api(s, "entities")))
            .header(AUTHORIZATION, key(s)),
    )
    .await;
    assert_eq!(status, 200, "{query}: {body}");
    let mut found: Vec<String> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["schema"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

/// `filter:schemata` reads the indexes of the schema and every schema descending from it
/// (`aleph/search/__init__.py` `EntitiesQuery.get_index` → `aleph/index/indexes.py`
/// `schema_scope` with `expand`; the hierarchy from followthemoney's `schema/*.yaml`), while
/// `filter:schema` reads that schema's index alone and then wins over `filter:schemata`.
#[tokio::test]
async fn schemata_filter_follows_the_schema_hierarchy() {
    let s = small().await;
    let id = collection_with(
        &s,
        vec![
            Entity::new("Person").add("name", "Ana"),
            Entity::new("Company").add("name", "Bco"),
            Entity::new("PublicBody").add("name", "Ministry"),
            Entity::new("Vessel").add("name", "Sea Star"),
            Entity::new("Folder").add("fileName", "box"),
            Entity::new("Pages").add("fileName", "scan.pdf"),
            Entity::new("Email").add("subject", "hi"),
        ],
    )
    .await;
    let c = format!("filter:collection_id={id}");
    assert_eq!(
        schemata_found(&s, &format!("{c}&filter:schemata=LegalEntity")).await,
        ["Company", "Person", "PublicBody"]
    );
    assert_eq!(
        schemata_found(&s, &format!("{c}&filter:schemata=Document")).await,
        ["Email", "Folder", "Pages"]
    );
    // Vessel → Vehicle → Asset; Company is an Asset too.
    assert_eq!(
        schemata_found(&s, &format!("{c}&filter:schemata=Asset")).await,
        ["Company", "Vessel"]
    );
    assert!(
        schemata_found(&s, &format!("{c}&filter:schema=LegalEntity"))
            .await
            .is_empty()
    );
    assert_eq!(
        schemata_found(
            &s,
            &format!("{c}&filter:schema=Person&filter:schemata=Vessel")
        )
        .await,
        ["Person"]
    );
}

/// The names of the Persons in collection `id` that an entity search with `query` finds, sorted.
async fn names(s: &Sandbox, id: &str, query: &str) -> Vec<String> {
    let (status, body) = send(
        http()
            .get(format!(
                "{}?filter:schema=Person&filter:collection_id={id}&{query}",
                api(s, "entities")
            ))
            .header(AUTHORIZATION, key(s)),
    )
    .await;
    assert_eq!(status, 200, "{query}");
    let mut names: Vec<String> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["properties"]["name"][0].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// `filter:properties.<name>` keeps the entities holding one of the values, `exclude:` drops
/// them, `empty:` keeps the entities without the property (`aleph/search/query.py`
/// `get_filters_list` and `get_negative_filters`).
#[tokio::test]
async fn property_filters_and_empties_apply() {
    let s = small().await;
    let id = collection_with(
        &s,
        vec![
            Entity::new("Person")
                .add("name", "Ana")
                .add("nationality", "pt"),
            Entity::new("Person")
                .add("name", "Ben")
                .add("nationality", "de"),
            Entity::new("Person").add("name", "Cy"),
        ],
    )
    .await;
    assert_eq!(
        names(&s, &id, "filter:properties.nationality=pt").await,
        ["Ana"]
    );
    assert_eq!(
        names(
            &s,
            &id,
            "filter:properties.nationality=pt&filter:properties.nationality=de"
        )
        .await,
        ["Ana", "Ben"]
    );
    assert_eq!(
        names(&s, &id, "exclude:properties.nationality=pt").await,
        ["Ben", "Cy"]
    );
    assert_eq!(
        names(&s, &id, "empty:properties.nationality=true").await,
        ["Cy"]
    );
}

/// A search past the result window is cut, not refused: the offset is capped at 9999 and the
/// limit shortened to stay inside it, while the envelope keeps the limit asked for
/// (`aleph/search/parser.py` `SearchQueryParser.__init__`, `aleph/index/util.py` `MAX_PAGE`,
/// `aleph/search/result.py` `QueryResult.to_dict`).
#[tokio::test]
async fn search_window_cuts_the_limit_instead_of_refusing() {
    let s = small().await;
    for (offset, limit) in [(9990, 20), (12000, 50)] {
        let (status, body) = send(
            http()
                .get(format!(
                    "{}?filter:schemata=Thing&offset={offset}&limit={limit}",
                    api(&s, "entities")
                ))
                .header(AUTHORIZATION, key(&s)),
        )
        .await;
        assert_eq!(status, 200, "offset {offset}: {body}");
        assert_eq!(body["offset"], offset.min(9999));
        assert_eq!(body["limit"], limit);
        assert_eq!(body["results"], json!([]));
    }
}

/// `keep_metadata` is read as banal's `as_bool` (`aleph/views/util.py` `get_flag`,
/// `aleph/views/collections_api.py` `delete`): any true spelling empties the collection and
/// keeps it.
#[tokio::test]
async fn keep_metadata_takes_any_true_spelling() {
    let s = small().await;
    for (spelling, kept) in [("yes", true), ("1", true), ("On", true), ("no", false)] {
        let id = collection_with(&s, vec![Entity::new("Person").add("name", "Ana")]).await;
        let (status, _) = send(
            http()
                .delete(format!(
                    "{}?keep_metadata={spelling}",
                    api(&s, &format!("collections/{id}"))
                ))
                .header(AUTHORIZATION, key(&s)),
        )
        .await;
        assert_eq!(status, 204);
        let (status, body) = send(
            http()
                .get(api(&s, &format!("collections/{id}")))
                .header(AUTHORIZATION, key(&s)),
        )
        .await;
        assert_eq!(status == 200, kept, "keep_metadata={spelling}");
        if kept {
            assert_eq!(body["count"], 0, "keep_metadata={spelling} empties it");
        }
    }
}

/// The stream of every collection at once is for admins only (`aleph/views/stream_api.py`:
/// `require(request.authz.is_admin)`), and the sandbox's user is none.
#[tokio::test]
async fn the_all_collections_stream_is_for_admins() {
    let s = small().await;
    for auth in [Some(key(&s)), None] {
        let mut request = http().get(api(&s, "entities/_stream"));
        if let Some(auth) = &auth {
            request = request.header(AUTHORIZATION, auth);
        }
        let (status, body) = send(request).await;
        assert_eq!(status, 403, "signed in: {}", auth.is_some());
        assert_eq!(body["message"], "You are not authorized to do this.");
    }
}

/// A method no route takes is Werkzeug's 405 page with an `Allow` header (Aleph registers no
/// handler for 405, `aleph/views/base_api.py`; routes in `aleph/views/*_api.py`), and OPTIONS
/// answers with the same `Allow`.
#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let s = small().await;
    let cases = [
        (
            reqwest::Method::DELETE,
            "entities",
            "GET, HEAD, OPTIONS, POST, PUT",
        ),
        (reqwest::Method::DELETE, "archive", "GET, HEAD, OPTIONS"),
        (
            reqwest::Method::PATCH,
            "collections",
            "GET, HEAD, OPTIONS, POST, PUT",
        ),
        (reqwest::Method::GET, "collections/1/_bulk", "OPTIONS, POST"),
    ];
    for (method, path, allow) in cases {
        let response = http()
            .request(method.clone(), api(&s, path))
            .header(AUTHORIZATION, key(&s))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(response.headers()[ALLOW], allow, "{method} {path}");
        assert!(
            response.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let options = http()
            .request(reqwest::Method::OPTIONS, api(&s, path))
            .send()
            .await
            .unwrap();
        assert_eq!(options.status().as_u16(), 200, "OPTIONS {path}");
        assert_eq!(options.headers()[ALLOW], allow, "OPTIONS {path}");
    }
}

/// A JSON body that does not parse is Flask's generic 400 (`request.get_json()` in
/// `aleph/views/util.py` `parse_request`, `get_json(force=True)` in `collections_api.py`
/// `bulk`), made JSON by `aleph/views/base_api.py` `handle_bad_request`: no `errors` key.
#[tokio::test]
async fn invalid_json_is_flasks_generic_400() {
    let s = small().await;
    let (status, body) = send(
        http()
            .post(api(&s, "collections"))
            .header(AUTHORIZATION, key(&s))
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"label": "Half"#),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"status": "error", "message": "The browser (or proxy) sent a request that this server could not understand."})
    );
    // `_bulk` reads any body as JSON, whatever its content type.
    let (status, body) = send(
        http()
            .post(api(&s, "collections/1/_bulk"))
            .header(AUTHORIZATION, key(&s))
            .header(CONTENT_TYPE, "text/plain")
            .body("[{"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["message"],
        "The browser (or proxy) sent a request that this server could not understand."
    );
}

/// `GET /archive` without a token fails to decode like a bad token: 401 "Access token is
/// invalid." (`aleph/views/archive_api.py` → `aleph/logic/util.py` `archive_token` →
/// `jwt.decode(None)` raises `DecodeError`, handled in `aleph/views/base_api.py`).
#[tokio::test]
async fn archive_without_token_is_401() {
    let s = small().await;
    let (status, body) = send(http().get(api(&s, "archive"))).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"status": "error", "errors": "Access token is invalid."})
    );
}

/// The objects carry the fields the real serializers send: entity `links.expand` and
/// `links.tags` (`aleph/views/serializers.py` `EntitySerializer`); a single collection its
/// `statistics`, `counts` and `status`, and `shallow: false` (`aleph/logic/collections.py`
/// `get_deep_collection`), while listed collections are `shallow: true`
/// (`CollectionSerializer`).
#[tokio::test]
async fn objects_carry_the_serializers_fields() {
    let s = small().await;
    let id = collection_with(
        &s,
        vec![
            Entity::new("Person").add("name", "Ana"),
            Entity::new("Person").add("name", "Ben"),
            Entity::new("Company").add("name", "Bco"),
        ],
    )
    .await;
    let (_, page) = send(
        http()
            .get(format!(
                "{}?filter:schema=Company&filter:collection_id={id}",
                api(&s, "entities")
            ))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    let company = &page["results"][0];
    let entity_id = company["id"].as_str().unwrap();
    let links = &company["links"];
    assert!(
        links["expand"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/2/entities/{entity_id}/expand")),
        "{links}"
    );
    assert!(
        links["tags"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/2/entities/{entity_id}/tags"))
    );

    let (_, collection) = send(
        http()
            .get(api(&s, &format!("collections/{id}")))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    assert_eq!(
        collection["statistics"]["schema"],
        json!({"total": 2, "values": {"Company": 1, "Person": 2}})
    );
    assert_eq!(collection["status"]["running"], 0);
    assert_eq!(collection["shallow"], false);

    let (_, listed) = send(
        http()
            .get(api(&s, "collections"))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    let listed = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["shallow"], true);
    assert!(listed.get("statistics").is_none());
}

/// Aleph 4.1.6 sends no entity `caption`: entities are read from the index with `_source` cut to
/// `PROXY_INCLUDES` (`aleph/index/entities.py` `ENTITY_SOURCE`, used by
/// `aleph/search/__init__.py` `EntitiesQuery` and `aleph/views/util.py` `get_index_entity`), and
/// `EntitySerializer` adds none. Neither in a search, nor a single entity, nor a nested one.
#[tokio::test]
async fn entities_come_without_a_caption() {
    let s = small().await;
    let (_, page) = send(
        http()
            .get(format!(
                "{}?filter:schemata=Thing&limit=5",
                api(&s, "entities")
            ))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    let results = page["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for entity in results {
        assert!(entity.get("caption").is_none(), "{entity}");
    }
    let id = results[0]["id"].as_str().unwrap();
    let (_, entity) = send(
        http()
            .get(api(&s, &format!("entities/{id}")))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    assert_eq!(entity["id"], id);
    assert!(entity.get("caption").is_none(), "{entity}");

    let (_, ownerships) = send(
        http()
            .get(format!(
                "{}?filter:schema=Ownership&limit=1",
                api(&s, "entities")
            ))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    let owner = &ownerships["results"][0]["properties"]["owner"][0];
    assert!(owner.is_object(), "{owner}");
    assert!(owner.get("caption").is_none(), "{owner}");
}

/// A stored permission carries its `id` (`aleph/model/permission.py` `Permission.to_dict`,
/// kept by `PermissionSerializer`); the placeholders for roles holding none have no id
/// (`aleph/views/permissions_api.py` `index`). A later grant keeps the id.
#[tokio::test]
async fn stored_permissions_carry_their_id() {
    let s = small().await;
    let id = collection_with(&s, Vec::new()).await;
    let path = api(&s, &format!("collections/{id}/permissions"));
    let role = |body: &Value, role: &str| -> Value {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["role"]["id"] == role)
            .unwrap()
            .clone()
    };
    let (_, before) = send(http().get(&path).header(AUTHORIZATION, key(&s))).await;
    assert!(role(&before, "3")["id"].is_string(), "{before}");
    assert!(role(&before, "4").get("id").is_none(), "{before}");

    let grant = |read: bool| json!([{"role_id": "4", "read": read, "write": false}]);
    let (status, granted) = send(
        http()
            .post(&path)
            .header(AUTHORIZATION, key(&s))
            .json(&grant(true)),
    )
    .await;
    assert_eq!(status, 200);
    let first = role(&granted, "4")["id"].clone();
    assert!(first.is_string(), "{granted}");
    let (_, again) = send(
        http()
            .post(&path)
            .header(AUTHORIZATION, key(&s))
            .json(&grant(true)),
    )
    .await;
    assert_eq!(role(&again, "4")["id"], first);
}

/// The archive redirects to storage on another origin than the API and its UI, as real Aleph
/// redirects to its object store (`aleph/views/archive_api.py` `retrieve` →
/// `archive.generate_url`): a client that keeps its API key across the redirect is refused
/// there, as it would be by the real store, and one that drops it gets the file.
#[tokio::test]
async fn archive_redirects_to_storage_on_another_origin() {
    use casefile::{Auth, Form, Transport, Upload};
    let s = small().await;
    let t = Transport::builder(format!("{}/api/2/", s.aleph_url()))
        .auth(Auth::api_key(s.aleph_api_key()))
        .build()
        .unwrap();
    let ingested: Value = t
        .post(&["collections", "1", "ingest"])
        .multipart(
            Form::new()
                .text("meta", json!({"file_name": "n.txt"}).to_string())
                .file("file", Upload::bytes("n.txt", "stored words")),
        )
        .send()
        .await
        .unwrap();
    let id = ingested["id"].as_str().unwrap();
    let (_, entity) = send(
        http()
            .get(api(&s, &format!("entities/{id}")))
            .header(AUTHORIZATION, key(&s)),
    )
    .await;
    let file: url::Url = entity["links"]["file"].as_str().unwrap().parse().unwrap();
    // The link is on the UI origin; ask the API for it.
    let archive = format!("{}/api/2/archive?{}", s.aleph_url(), file.query().unwrap());
    let redirect = http().get(&archive).send().await.unwrap();
    assert_eq!(redirect.status().as_u16(), 302);
    let location: url::Url = redirect.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let api_origin = url::Url::parse(&s.aleph_url()).unwrap().origin();
    assert_ne!(location.origin(), api_origin);
    assert_ne!(location.origin(), file.origin());
    assert_ne!(location.port(), Some(api_origin_port(&s)));

    let (status, _) = send(http().get(location.clone()).header(AUTHORIZATION, key(&s))).await;
    assert_eq!(
        status, 400,
        "the store refuses a request carrying the API key"
    );
    let blob = http().get(location).send().await.unwrap();
    assert_eq!(blob.status().as_u16(), 200);
    assert_eq!(&blob.bytes().await.unwrap()[..], b"stored words");
}

fn api_origin_port(s: &Sandbox) -> u16 {
    url::Url::parse(&s.aleph_url()).unwrap().port().unwrap()
}
