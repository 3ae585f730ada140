//! Entities, alerts, mappings and permissions against local HTTP servers.
#![cfg(feature = "aleph")]

use crate::support::aleph::*;
use crate::support::assert_invalid;
use casefile::aleph::{Entity, NewMapping, PermissionUpdate, PropertyValue};
use casefile::{Error, PageToken};
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn entity_search_sends_text_schema_and_filters_and_decodes_the_fixture() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/entities"))
        .respond_with(ok_json(fixture("entities_search_page.json")))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let page = aleph
        .entities()
        .search()
        .query("garcía")
        .schema("Person")
        .collection("1")
        .filter("countries", "nl")
        .facet("schema")
        .sort("updated_at:desc")
        .highlight(true)
        .page_size(3)
        .result_set()
        .await
        .unwrap();
    // Without a schema, the search is limited to things, as alephclient does.
    let first = aleph
        .entities()
        .search()
        .collection("1")
        .page_size(3)
        .first_page()
        .await
        .unwrap();
    let seen = requests(&server).await;
    assert_request(
        &seen[0],
        "GET",
        "/api/2/entities",
        &[
            ("q", "garcía"),
            ("sort", "updated_at:desc"),
            ("facet", "schema"),
            ("highlight", "true"),
            ("limit", "3"),
            ("filter:schema", "Person"),
            ("filter:collection_id", "1"),
            ("filter:countries", "nl"),
        ],
    );
    assert_request(
        &seen[1],
        "GET",
        "/api/2/entities",
        &[
            ("limit", "3"),
            ("filter:collection_id", "1"),
            ("filter:schemata", "Thing"),
        ],
    );

    assert_eq!(page.total, Some(54));
    assert!(page.links["export"].expose().contains("search/export"));
    let maria = &page.results[0];
    assert_eq!(maria.schema, "Person");
    assert_eq!(maria.caption.as_deref(), Some("Maria García"));
    assert_eq!(maria.schemata, ["Person", "LegalEntity", "Thing"]);
    assert_eq!(maria.first("birthDate"), Some("1998-01-24"));
    assert_eq!(maria.collection.as_ref().unwrap().label, "Leak 2026");
    assert!(
        maria.links["self"]
            .expose()
            .ends_with(maria.id.as_deref().unwrap())
    );
    assert_eq!(maria.writeable, Some(true));
    assert_eq!(first.items.len(), 3);
    assert_eq!(
        first.next,
        Some(PageToken::Offset {
            offset: 3,
            limit: 3
        })
    );
    assert_eq!(first.total, Some(54));
}

#[tokio::test]
async fn entity_get_create_update_and_delete() {
    let server = MockServer::start().await;
    let ownership = json!({
        "id": "own-1.sig", "schema": "Ownership", "caption": "Ownership",
        "properties": {
            "percentage": ["72.47"],
            "owner": [{"id": "p-1.sig", "schema": "Person", "properties": {"name": ["Ann"]}}],
            "asset": ["c-1.sig"]
        },
        "collection": {"id": "1", "label": "Leak 2026"},
        "created_at": "2026-01-01T10:17:08.771273", "updated_at": "2026-01-01T14:46:08.771273"
    });
    Mock::given(method("GET"))
        .and(path("/api/2/entities/own-1.sig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&ownership))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&ownership))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let got = aleph.entities().get("own-1.sig").await.unwrap();
    let owner = got.properties["owner"][0].as_entity().unwrap();
    assert_eq!(owner.first("name"), Some("Ann"));
    assert_eq!(
        got.first("owner"),
        Some("p-1.sig"),
        "an entity value reads as its id"
    );
    assert_eq!(
        got.properties["asset"][0],
        PropertyValue::Text("c-1.sig".into())
    );

    let person = Entity::new("Person")
        .add("name", "Maria García")
        .add("nationality", "nl");
    aleph
        .entities()
        .create("1", person)
        .foreign_id("maria")
        .validate(true)
        .await
        .unwrap();
    aleph
        .entities()
        .update("own-1.sig", got.clone())
        .await
        .unwrap();
    aleph.entities().delete("own-1.sig").await.unwrap();
    let err = aleph
        .entities()
        .create("1", Entity::default())
        .await
        .unwrap_err();
    assert_invalid(&err, "entity");

    let seen = requests(&server).await;
    assert_eq!(seen.len(), 4);
    assert_request(&seen[0], "GET", "/api/2/entities/own-1.sig", &[]);
    assert_request(&seen[1], "POST", "/api/2/entities", &[("validate", "true")]);
    assert_eq!(
        body(&seen[1]),
        json!({"schema": "Person", "properties": {"name": ["Maria García"], "nationality": ["nl"]},
               "collection_id": "1", "foreign_id": "maria"})
    );
    assert_request(&seen[2], "POST", "/api/2/entities/own-1.sig", &[]);
    assert_eq!(
        body(&seen[2]),
        json!({"schema": "Ownership", "collection_id": "1", "properties": {
            "percentage": ["72.47"], "owner": ["p-1.sig"], "asset": ["c-1.sig"]}})
    );
    assert_request(&seen[3], "DELETE", "/api/2/entities/own-1.sig", &[]);
    assert!(seen[3].body.is_empty());
}

#[tokio::test]
async fn alerts_list_create_get_and_delete() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/alerts"))
        .respond_with(ok_json(fixture("alerts_page.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/alerts"))
        .respond_with(ok_json(fixture("alert_create.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/alerts/24"))
        .respond_with(ok_json(fixture("alert_create.json")))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/2/alerts/24"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let aleph = client(&server);
    for bad in [
        "ab".to_owned(),
        "   putin   ".replace("putin", "pu"),
        "x".repeat(101),
    ] {
        let err = aleph.alerts().create(bad).await.unwrap_err();
        assert_invalid(&err, "query");
    }
    assert!(requests(&server).await.is_empty());

    let page = aleph
        .alerts()
        .list()
        .page_size(2)
        .offset(0)
        .result_set()
        .await
        .unwrap();
    let created = aleph.alerts().create("putin").await.unwrap();
    let got = aleph.alerts().get("24").await.unwrap();
    aleph.alerts().delete("24").await.unwrap();
    aleph.alerts().create("ж".repeat(100)).await.unwrap();

    assert_eq!(page.results.len(), 2);
    assert_eq!(page.results[0].query, "coal mine");
    assert_eq!(page.total, Some(23));
    assert_eq!(created.id, "24");
    assert!(created.writeable && created.notified_at.is_none());
    assert_eq!(
        created.created_at.unwrap().to_rfc3339(),
        "2026-11-23T04:08:17.238211+00:00"
    );
    assert_eq!(got, created);
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 5);
    assert_request(
        &seen[0],
        "GET",
        "/api/2/alerts",
        &[("limit", "2"), ("offset", "0")],
    );
    assert_request(&seen[1], "POST", "/api/2/alerts", &[]);
    assert_eq!(body(&seen[1]), json!({"query": "putin"}));
    assert_request(&seen[2], "GET", "/api/2/alerts/24", &[]);
    assert_request(&seen[3], "DELETE", "/api/2/alerts/24", &[]);
    assert_eq!(body(&seen[4]), json!({"query": "ж".repeat(100)}));
}

#[tokio::test]
async fn mappings_list_create_get_update_delete_trigger_and_flush() {
    let server = MockServer::start().await;
    let mapping = json!({
        "id": "7", "collection_id": "1", "role_id": "3", "table_id": "table-1",
        "query": {"person": {"schema": "Person", "keys": ["id"],
                             "properties": {"name": {"column": "name"}}}},
        "last_run_status": "pending", "created_at": "2026-01-01T10:00:00",
        "updated_at": "2026-01-01T10:00:00", "links": {}
    });
    Mock::given(method("GET"))
        .and(path("/api/2/collections/1/mappings"))
        .respond_with(ok_json(fixture("mappings_page.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/1/mappings/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&mapping))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/1/mappings/7/flush"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/1/mappings/7/trigger"))
        .respond_with(ResponseTemplate::new(202).set_body_json(&mapping))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&mapping))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let query = mapping["query"].clone();
    for bad in [
        NewMapping::new("", query.clone()),
        NewMapping::new("table-1", json!([1])),
    ] {
        let err = aleph.mappings().create("1", bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    }
    assert!(requests(&server).await.is_empty());

    let none: Vec<_> = aleph
        .mappings()
        .list("1")
        .table("table-1")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty(), "an empty page with its results left out");
    let created = aleph
        .mappings()
        .create("1", NewMapping::new("table-1", query.clone()))
        .await
        .unwrap();
    let got = aleph.mappings().get("1", "7").await.unwrap();
    aleph
        .mappings()
        .update(
            "1",
            "7",
            NewMapping::new("table-2", query.clone()).entityset("es-1"),
        )
        .await
        .unwrap();
    let triggered = aleph.mappings().trigger("1", "7").await.unwrap();
    aleph.mappings().flush("1", "7").await.unwrap();
    aleph.mappings().delete("1", "7").await.unwrap();

    assert_eq!(created.id, "7");
    assert_eq!(created.table_id.as_deref(), Some("table-1"));
    assert_eq!(created.query["person"]["schema"], "Person");
    assert_eq!(got.last_run_status.as_deref(), Some("pending"));
    assert_eq!(triggered, got);
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 7);
    assert_request(
        &seen[0],
        "GET",
        "/api/2/collections/1/mappings",
        &[("filter:table", "table-1")],
    );
    assert_request(&seen[1], "POST", "/api/2/collections/1/mappings", &[]);
    assert_eq!(
        body(&seen[1]),
        json!({"table_id": "table-1", "mapping_query": query})
    );
    assert_request(&seen[2], "GET", "/api/2/collections/1/mappings/7", &[]);
    assert_request(&seen[3], "POST", "/api/2/collections/1/mappings/7", &[]);
    assert_eq!(
        body(&seen[3]),
        json!({"table_id": "table-2", "mapping_query": query, "entityset_id": "es-1"})
    );
    assert_request(
        &seen[4],
        "POST",
        "/api/2/collections/1/mappings/7/trigger",
        &[],
    );
    assert_request(
        &seen[5],
        "POST",
        "/api/2/collections/1/mappings/7/flush",
        &[],
    );
    assert_request(&seen[6], "DELETE", "/api/2/collections/1/mappings/7", &[]);
    assert!(seen[4..].iter().all(|r| r.body.is_empty()));
}

#[tokio::test]
async fn permissions_get_and_update_where_write_implies_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/1/permissions"))
        .respond_with(ok_json(fixture("permissions_get.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/1/permissions"))
        .respond_with(ok_json(fixture("permissions_get.json")))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let list = aleph.permissions().get("1").await.unwrap();
    assert_eq!(list.total, 5);
    assert_eq!(list.results[0].id.as_deref(), Some("100"));
    assert!(list.results[0].read && list.results[0].write);
    assert_eq!(list.results[1].id, None, "a group without a permission yet");
    assert!(!list.results[1].read);
    assert_eq!(
        list.results[3].role.as_ref().unwrap().role_type.as_deref(),
        Some("system")
    );

    // Even a change built by hand with write but not read is sent with read.
    let by_hand = PermissionUpdate {
        role_id: "5".into(),
        read: false,
        write: true,
        email: None,
    };
    aleph
        .permissions()
        .update(
            "1",
            [
                PermissionUpdate::new("4", false, true),
                by_hand,
                PermissionUpdate::new("2", true, false),
                PermissionUpdate::new("7", false, false).email("ann@example.org"),
            ],
        )
        .await
        .unwrap();
    let err = aleph
        .permissions()
        .update("1", [PermissionUpdate::new(" ", true, false)])
        .await
        .unwrap_err();
    assert_invalid(&err, "role_id");
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    assert_request(&seen[0], "GET", "/api/2/collections/1/permissions", &[]);
    assert_request(&seen[1], "POST", "/api/2/collections/1/permissions", &[]);
    assert_eq!(
        body(&seen[1]),
        json!([
            {"role_id": "4", "read": true, "write": true},
            {"role_id": "5", "read": true, "write": true},
            {"role_id": "2", "read": true, "write": false},
            {"role_id": "7", "read": false, "write": false, "email": "ann@example.org"}
        ])
    );
}
