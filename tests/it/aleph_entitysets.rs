//! Entity sets (lists, diagrams, timelines, profiles), their members and judgements: the exact
//! requests against wiremock, with answers shaped as Aleph 4.1.6 writes them
//! (`aleph/views/entitysets_api.py`, `aleph/views/serializers.py` `EntitySetSerializer` and
//! `EntitySetItemSerializer`, every empty value left out), and round trips on the sandbox.
#![cfg(feature = "aleph")]

use crate::support::aleph::*;
use crate::support::assert_invalid;
use casefile::aleph::{Entity, EntitySetType, Judgement, NewEntitySet};
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SET: &str = "3a5ef5e2c0a34f7b9e2c6d7f0b1a2c3d";

/// A set as `EntitySetSerializer` writes it: `collection_id` replaced by the nested collection,
/// `role` nested, `summary` (null) and `layout` ({}) left out.
fn set_json(shallow: bool) -> Value {
    json!({
        "id": SET, "type": "list", "label": "Directors", "role_id": "3",
        "created_at": "2026-11-29T10:11:12.123456", "updated_at": "2026-11-29T10:11:13",
        "writeable": true, "shallow": shallow,
        "collection": {"id": "12", "collection_id": "12", "foreign_id": "leak", "label": "Leak",
                       "category": "leak", "casefile": true, "count": 3, "writeable": true,
                       "shallow": true, "links": {"self": "http://ui.example/api/2/collections/12"}},
        "role": {"id": "3", "type": "user", "name": "Test Analyst", "label": "Test Analyst",
                 "links": {"self": "http://ui.example/api/2/roles/3"}, "writeable": true,
                 "shallow": true}
    })
}

fn page(results: Vec<Value>, total: u64) -> String {
    json!({"status": "ok", "results": results, "total": total, "total_type": "eq", "page": 1,
           "pages": 1, "limit": 20, "offset": 0, "next": null, "previous": null})
    .to_string()
}

fn item_json(judgement: &str) -> Value {
    json!({
        "id": format!("{SET}$maria.0a1b"), "entityset_id": SET, "entityset_collection_id": 12,
        "judgement": judgement, "added_by_id": 3, "created_at": "2026-11-29T10:12:00",
        "updated_at": "2026-11-29T10:12:00", "writeable": true,
        "entity": {"id": "maria.0a1b", "schema": "Person",
                   "properties": {"name": ["Maria García"]}, "shallow": true, "writeable": true},
        "collection": {"id": "12", "label": "Leak", "writeable": true, "shallow": true}
    })
}

#[tokio::test]
async fn list_sends_collection_type_and_prefix_filters_and_decodes_sets() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/entitysets"))
        .respond_with(ok_json(page(vec![set_json(true)], 1)))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let sets: Vec<_> = aleph
        .entity_sets()
        .list()
        .collection("12")
        .collection(13)
        .set_type(EntitySetType::List)
        .set_type(EntitySetType::Timeline)
        .prefix("Dir")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_request(
        &only_request(&server).await,
        "GET",
        "/api/2/entitysets",
        &[
            ("filter:collection_id", "12"),
            ("filter:collection_id", "13"),
            ("filter:type", "list"),
            ("filter:type", "timeline"),
            ("prefix", "Dir"),
        ],
    );
    assert_eq!(sets.len(), 1);
    let set = &sets[0];
    assert_eq!(set.id, SET);
    assert_eq!(set.set_type, Some(EntitySetType::List));
    assert_eq!(set.label.as_deref(), Some("Directors"));
    assert_eq!(set.summary, None);
    assert_eq!(set.layout, None);
    assert_eq!(set.role_id.as_deref(), Some("3"));
    assert_eq!(
        set.role.as_ref().unwrap().name.as_deref(),
        Some("Test Analyst")
    );
    assert_eq!(set.collection.as_ref().unwrap().id, "12");
    assert_eq!(set.shallow, Some(true));
    assert!(set.writeable);
    assert_eq!(
        set.created_at.unwrap().to_rfc3339(),
        "2026-11-29T10:11:12.123456+00:00"
    );
}

#[tokio::test]
async fn arguments_aleph_would_refuse_are_refused_before_sending() {
    let server = MockServer::start().await;
    let aleph = client(&server);
    let sets = aleph.entity_sets();
    // Aleph's `query_like` matches nothing below 3 characters.
    let err = sets.list().prefix("Di").first_page().await.unwrap_err();
    assert_invalid(&err, "prefix");
    let err = sets
        .list()
        .collection("leak")
        .first_page()
        .await
        .unwrap_err();
    assert_invalid(&err, "collection_id");
    let err = sets
        .list()
        .set_type("folder".into())
        .first_page()
        .await
        .unwrap_err();
    assert_invalid(&err, "type");
    let new = |t: EntitySetType| NewEntitySet::new("12", t, "Directors");
    let err = sets.create(new("folder".into())).await.unwrap_err();
    assert_invalid(&err, "type");
    let err = sets
        .create(NewEntitySet::new("", EntitySetType::List, "Directors"))
        .await
        .unwrap_err();
    assert_invalid(&err, "collection_id");
    let err = sets
        .create(new(EntitySetType::Diagram).layout(json!([1, 2])))
        .await
        .unwrap_err();
    assert_invalid(&err, "layout");
    // `EntitySetCreate.entities`: id, schema and properties each required; the id an entity id.
    for entity in [
        Entity::new("Person").add("name", "No Id"),
        Entity::new("").with_id("p1"),
        Entity::new("Person").with_id("bad id!"),
        Entity::new("Person").with_id("-p1"),
    ] {
        let err = sets
            .create(new(EntitySetType::List).entity(entity))
            .await
            .unwrap_err();
        assert_invalid(&err, "entities");
    }
    let err = sets.add_entity(SET, Entity::new(" ")).await.unwrap_err();
    assert_invalid(&err, "entity");
    let err = sets
        .add_entity(SET, Entity::new("Person").with_id("a b"))
        .await
        .unwrap_err();
    assert_invalid(&err, "entity");
    let err = sets
        .set_item(SET, "maria", "maybe".into())
        .await
        .unwrap_err();
    assert_invalid(&err, "judgement");
    let err = sets
        .set_item(SET, "", Judgement::Positive)
        .await
        .unwrap_err();
    assert_invalid(&err, "entity_id");
    let err = sets
        .update(SET)
        .set_type("folder".into())
        .await
        .unwrap_err();
    assert_invalid(&err, "type");
    let err = sets.update(SET).layout(json!("x")).await.unwrap_err();
    assert_invalid(&err, "layout");
    let err = aleph
        .entities()
        .entity_sets("maria")
        .judgement("maybe".into())
        .first_page()
        .await
        .unwrap_err();
    assert_invalid(&err, "judgement");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn create_get_update_and_delete_send_the_schema_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/entitysets"))
        .respond_with(ok_json(set_json(true).to_string()))
        .mount(&server)
        .await;
    let mut full = set_json(false);
    full["summary"] = json!("Who runs them");
    full["layout"] = json!({"vertices": [], "edges": []});
    Mock::given(method("GET"))
        .and(path(format!("/api/2/entitysets/{SET}")))
        .respond_with(ok_json(full.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/2/entitysets/{SET}")))
        .respond_with(ok_json(full.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/2/entitysets/{SET}")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let sets = aleph.entity_sets();
    let created = sets
        .create(
            NewEntitySet::new(12, EntitySetType::List, "Directors")
                .summary("Who runs them")
                .entity(
                    Entity::new("Person")
                        .with_id("maria")
                        .add("name", "Maria García"),
                ),
        )
        .await
        .unwrap();
    let got = sets.get(SET).await.unwrap();
    let updated = sets
        .update(SET)
        .label("Directors 2026")
        .summary(None)
        .set_type(EntitySetType::Diagram)
        .layout(json!({"vertices": []}))
        .await
        .unwrap();
    sets.delete(SET).await.unwrap();

    assert_eq!(created.id, SET);
    assert_eq!(got.shallow, Some(false));
    assert_eq!(got.summary.as_deref(), Some("Who runs them"));
    assert_eq!(got.layout, Some(json!({"vertices": [], "edges": []})));
    assert_eq!(updated, got);
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 4);
    assert_request(&seen[0], "POST", "/api/2/entitysets", &[]);
    // `collection_id` is a string (the schema's `type: string`).
    assert_eq!(
        body(&seen[0]),
        json!({
            "collection_id": "12", "type": "list", "label": "Directors",
            "summary": "Who runs them",
            "entities": [{"id": "maria", "schema": "Person",
                          "properties": {"name": ["Maria García"]}}]
        })
    );
    assert_request(&seen[1], "GET", &format!("/api/2/entitysets/{SET}"), &[]);
    assert_request(&seen[2], "POST", &format!("/api/2/entitysets/{SET}"), &[]);
    assert_eq!(
        body(&seen[2]),
        json!({"label": "Directors 2026", "summary": null, "type": "diagram",
               "layout": {"vertices": []}})
    );
    assert_request(&seen[3], "DELETE", &format!("/api/2/entitysets/{SET}"), &[]);
}

#[tokio::test]
async fn members_items_judgements_and_the_sets_of_an_entity() {
    let server = MockServer::start().await;
    let member = json!({"id": "maria.0a1b", "schema": "Person",
                        "properties": {"name": ["Maria García"]}, "score": 1.5,
                        "shallow": true, "writeable": true});
    let mut search = serde_json::from_str::<Value>(&page(vec![member.clone()], 1)).unwrap();
    search["facets"] = json!({"schema": {"filters": [], "values": [
        {"id": "Person", "label": "People", "count": 1, "active": false}]}});
    search["query_text"] = json!("*");
    Mock::given(method("GET"))
        .and(path(format!("/api/2/entitysets/{SET}/entities")))
        .respond_with(ok_json(search.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/2/entitysets/{SET}/entities")))
        .respond_with(ok_json(member.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/2/entitysets/{SET}/items")))
        .respond_with(ok_json(page(vec![item_json("negative")], 1)))
        .mount(&server)
        .await;
    // The answer to a removal has no dates (`item_update`).
    let removed = json!({"id": format!("{SET}$maria.0a1b"), "entityset_id": SET,
                         "entityset_collection_id": 12, "judgement": "no_judgement",
                         "writeable": true});
    Mock::given(method("POST"))
        .and(path(format!("/api/2/entitysets/{SET}/items")))
        .respond_with(ok_json(removed.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/entities/maria.0a1b/entitysets"))
        .respond_with(ok_json(page(vec![set_json(true)], 1)))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let sets = aleph.entity_sets();
    let found = sets
        .entities(SET)
        .query("garcía")
        .filter("schema", "Person")
        .facet("schema")
        .sort("name:asc")
        .page_size(5)
        .result_set()
        .await
        .unwrap();
    let added = sets
        .add_entity(
            SET,
            Entity::new("Person")
                .with_id("maria")
                .add("name", "Maria García"),
        )
        .sign(true)
        .sync(false)
        .validate(true)
        .await
        .unwrap();
    let items: Vec<_> = sets.items(SET).stream().try_collect().await.unwrap();
    let gone = sets
        .set_item(SET, "maria.0a1b", Judgement::NoJudgement)
        .compared_to("other.99")
        .await
        .unwrap();
    let of_entity = aleph
        .entities()
        .entity_sets("maria.0a1b")
        .collection(12)
        .judgement(Judgement::Negative)
        .set_type(EntitySetType::List)
        .label("Directors")
        .first_page()
        .await
        .unwrap();

    assert_eq!(found.results[0].id.as_deref(), Some("maria.0a1b"));
    assert_eq!(found.facets["schema"].values[0].count, 1);
    assert_eq!(added.id.as_deref(), Some("maria.0a1b"));
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item.id, format!("{SET}$maria.0a1b"));
    assert_eq!(item.entityset_id.as_deref(), Some(SET));
    assert_eq!(item.entityset_collection_id.as_deref(), Some("12"));
    assert_eq!(item.judgement, Some(Judgement::Negative));
    assert_eq!(item.added_by_id.as_deref(), Some("3"));
    assert_eq!(
        item.entity.as_ref().unwrap().first("name"),
        Some("Maria García")
    );
    assert_eq!(item.collection.as_ref().unwrap().id, "12");
    assert_eq!(gone.judgement, Some(Judgement::NoJudgement));
    assert_eq!(gone.created_at, None);
    assert_eq!(of_entity.items[0].id, SET);

    let seen = requests(&server).await;
    assert_eq!(seen.len(), 5);
    assert_request(
        &seen[0],
        "GET",
        &format!("/api/2/entitysets/{SET}/entities"),
        &[
            ("q", "garcía"),
            ("filter:schema", "Person"),
            ("facet", "schema"),
            ("sort", "name:asc"),
            ("limit", "5"),
        ],
    );
    assert_request(
        &seen[1],
        "POST",
        &format!("/api/2/entitysets/{SET}/entities"),
        &[("sign", "true"), ("sync", "false"), ("validate", "true")],
    );
    assert_eq!(
        body(&seen[1]),
        json!({"id": "maria", "schema": "Person", "properties": {"name": ["Maria García"]}})
    );
    assert_request(
        &seen[2],
        "GET",
        &format!("/api/2/entitysets/{SET}/items"),
        &[],
    );
    assert_request(
        &seen[3],
        "POST",
        &format!("/api/2/entitysets/{SET}/items"),
        &[],
    );
    assert_eq!(
        body(&seen[3]),
        json!({"entity_id": "maria.0a1b", "judgement": "no_judgement",
               "compared_to_entity_id": "other.99"})
    );
    assert_request(
        &seen[4],
        "GET",
        "/api/2/entities/maria.0a1b/entitysets",
        &[
            ("filter:collection_id", "12"),
            ("filter:judgement", "negative"),
            ("filter:type", "list"),
            ("filter:label", "Directors"),
        ],
    );
}

#[tokio::test]
async fn get_of_a_profile_follows_alephs_redirect_to_the_profile() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/2/entitysets/{SET}")))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/api/2/profiles/{SET}", server.uri())),
        )
        .mount(&server)
        .await;
    let mut profile = set_json(false);
    profile["type"] = json!("profile");
    profile["label"] = json!("Maria García");
    profile["entities"] = json!(["maria.0a1b", "garcia.77"]);
    Mock::given(method("GET"))
        .and(path(format!("/api/2/profiles/{SET}")))
        .respond_with(ok_json(profile.to_string()))
        .mount(&server)
        .await;
    let got = client(&server).entity_sets().get(SET).await.unwrap();
    assert_eq!(got.set_type, Some(EntitySetType::Profile));
    assert_eq!(got.label.as_deref(), Some("Maria García"));
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].url.path(), format!("/api/2/profiles/{SET}"));
}

#[tokio::test]
async fn server_errors_keep_the_servers_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/entitysets"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            r#"{"status":"error","message":"This path does not exist."}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .entity_sets()
        .create(NewEntitySet::new("999", EntitySetType::List, "Directors"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("This path does not exist."),
        "{err}"
    );
}

#[cfg(feature = "testkit")]
mod sandbox {
    use super::*;
    use casefile::aleph::NewCollection;
    use casefile::testkit::Sandbox;

    async fn sandbox() -> Sandbox {
        Sandbox::builder().entities(&[3]).start().await.unwrap()
    }

    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn a_list_round_trip_judge_negative_and_delete() {
        let s = sandbox().await;
        let aleph = s.aleph().unwrap();
        let leak = aleph
            .collections()
            .create(NewCollection::new("Lists").foreign_id("lists-2026"))
            .await
            .unwrap();
        let list = aleph
            .entity_sets()
            .create(
                NewEntitySet::new(&leak.id, EntitySetType::List, "Directors").entity(
                    Entity::new("Person")
                        .with_id("maria")
                        .add("name", "Maria García"),
                ),
            )
            .await
            .unwrap();
        assert_eq!(list.set_type, Some(EntitySetType::List));
        assert_eq!(list.collection.as_ref().unwrap().id, leak.id);
        assert_eq!(list.shallow, Some(true));
        // `create_entityset` signs the ids with the collection's namespace.
        let maria = casefile::aleph::namespaced_id("lists-2026", "maria").unwrap();
        let ivan = aleph
            .entity_sets()
            .add_entity(
                &list.id,
                Entity::new("Person")
                    .with_id("ivan")
                    .add("name", "Ivan Petrov"),
            )
            .await
            .unwrap();
        let ivan_id = ivan.id.clone().unwrap();
        assert_eq!(
            Some(ivan_id.clone()),
            casefile::aleph::namespaced_id("lists-2026", "ivan")
        );
        let members = |aleph: casefile::aleph::Client, id: String| async move {
            let mut ids: Vec<String> = aleph
                .entity_sets()
                .entities(&id)
                .stream()
                .try_collect::<Vec<_>>()
                .await
                .unwrap()
                .into_iter()
                .filter_map(|e| e.id)
                .collect();
            ids.sort();
            ids
        };
        // An id found as given is updated where it is, not created again.
        let again = aleph
            .entity_sets()
            .add_entity(
                &list.id,
                Entity::new("Person")
                    .with_id(&maria)
                    .add("name", "Maria García López"),
            )
            .await
            .unwrap();
        assert_eq!(again.id.as_deref(), Some(maria.as_str()));
        assert_eq!(again.first("name"), Some("Maria García López"));
        let mut both = vec![maria.clone(), ivan_id.clone()];
        both.sort();
        assert_eq!(members(aleph.clone(), list.id.clone()).await, both);

        let judged = aleph
            .entity_sets()
            .set_item(&list.id, &ivan_id, Judgement::Negative)
            .await
            .unwrap();
        assert_eq!(judged.judgement, Some(Judgement::Negative));
        assert_eq!(judged.id, format!("{}${ivan_id}", list.id));
        assert_eq!(
            judged.entityset_collection_id.as_deref(),
            Some(leak.id.as_str())
        );
        // Judged negative: no longer a member, still an item.
        assert_eq!(
            members(aleph.clone(), list.id.clone()).await,
            vec![maria.clone()]
        );
        let items: Vec<_> = aleph
            .entity_sets()
            .items(&list.id)
            .stream()
            .try_collect()
            .await
            .unwrap();
        let judgements: Vec<_> = items
            .iter()
            .map(|i| {
                (
                    i.entity.as_ref().and_then(|e| e.id.clone()),
                    i.judgement.clone(),
                )
            })
            .collect();
        assert_eq!(
            judgements,
            vec![
                (Some(maria.clone()), Some(Judgement::Positive)),
                (Some(ivan_id.clone()), Some(Judgement::Negative)),
            ]
        );
        // The entity's sets show the list, also when filtered on the judgement.
        let of_ivan = aleph
            .entities()
            .entity_sets(&ivan_id)
            .judgement(Judgement::Negative)
            .first_page()
            .await
            .unwrap();
        assert_eq!(of_ivan.items.len(), 1);
        assert_eq!(of_ivan.items[0].id, list.id);
        let positive = aleph
            .entities()
            .entity_sets(&ivan_id)
            .judgement(Judgement::Positive)
            .first_page()
            .await
            .unwrap();
        assert!(positive.items.is_empty());

        // Removing the judgement removes the item.
        let removed = aleph
            .entity_sets()
            .set_item(&list.id, &ivan_id, Judgement::NoJudgement)
            .await
            .unwrap();
        assert_eq!(removed.judgement, Some(Judgement::NoJudgement));
        assert_eq!(removed.created_at, None);
        let left = aleph
            .entity_sets()
            .items(&list.id)
            .first_page()
            .await
            .unwrap();
        assert_eq!(left.items.len(), 1);

        let renamed = aleph
            .entity_sets()
            .update(&list.id)
            .label("Directors 2026")
            .summary(Some("Who runs the shells".into()))
            .await
            .unwrap();
        assert_eq!(renamed.label.as_deref(), Some("Directors 2026"));
        assert_eq!(renamed.summary.as_deref(), Some("Who runs the shells"));
        assert_eq!(renamed.shallow, Some(false));
        let listed = aleph
            .entity_sets()
            .list()
            .collection(&leak.id)
            .set_type(EntitySetType::List)
            .prefix("ctors 20")
            .first_page()
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        let none = aleph
            .entity_sets()
            .list()
            .set_type(EntitySetType::Diagram)
            .first_page()
            .await
            .unwrap();
        assert!(none.items.is_empty());

        aleph.entity_sets().delete(&list.id).await.unwrap();
        let err = aleph.entity_sets().get(&list.id).await.unwrap_err();
        assert_eq!(err.status(), Some(404), "{err}");
        let after = aleph
            .entities()
            .entity_sets(&maria)
            .first_page()
            .await
            .unwrap();
        assert!(after.items.is_empty());
    }

    #[tokio::test]
    async fn sets_are_listed_newest_change_first_and_only_where_the_caller_may_read() {
        let s = sandbox().await;
        let aleph = s.aleph().unwrap();
        let leak = aleph
            .collections()
            .create(NewCollection::new("Order"))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (label, kind) in [
            ("Alpha list", EntitySetType::List),
            ("Beta timeline", EntitySetType::Timeline),
            ("Gamma diagram", EntitySetType::Diagram),
        ] {
            let set = aleph
                .entity_sets()
                .create(NewEntitySet::new(&leak.id, kind, label))
                .await
                .unwrap();
            ids.push(set.id);
        }
        let labels = |page: casefile::Page<casefile::aleph::EntitySet>| -> Vec<String> {
            page.items.into_iter().filter_map(|s| s.label).collect()
        };
        let all = aleph.entity_sets().list().first_page().await.unwrap();
        assert_eq!(
            labels(all),
            ["Gamma diagram", "Beta timeline", "Alpha list"]
        );
        // An update is a change: the first set comes first.
        aleph
            .entity_sets()
            .update(&ids[0])
            .label("Alpha list, renamed")
            .await
            .unwrap();
        let all = aleph.entity_sets().list().first_page().await.unwrap();
        assert_eq!(
            labels(all),
            ["Alpha list, renamed", "Gamma diagram", "Beta timeline"]
        );
        let some = aleph
            .entity_sets()
            .list()
            .set_type(EntitySetType::List)
            .set_type(EntitySetType::Diagram)
            .first_page()
            .await
            .unwrap();
        assert_eq!(labels(some), ["Alpha list, renamed", "Gamma diagram"]);
        // `prefix` is a case-insensitive "contains".
        let some = aleph
            .entity_sets()
            .list()
            .prefix("TIMELINE")
            .first_page()
            .await
            .unwrap();
        assert_eq!(labels(some), ["Beta timeline"]);
        // The new collection is secret: an anonymous caller sees none of its sets.
        let anonymous = casefile::aleph::Client::builder()
            .base_url(s.aleph_url())
            .build()
            .unwrap();
        let seen = anonymous.entity_sets().list().first_page().await.unwrap();
        assert!(seen.items.is_empty());
        let err = anonymous.entity_sets().get(&ids[1]).await.unwrap_err();
        assert_eq!(err.status(), Some(403), "{err}");
    }

    #[tokio::test]
    async fn the_sandbox_refuses_as_aleph_does() {
        let s = sandbox().await;
        let aleph = s.aleph().unwrap();
        let leak = aleph
            .collections()
            .create(NewCollection::new("Refusals"))
            .await
            .unwrap();
        let url = |path: &str| format!("{}/api/2/{path}", s.aleph_url());
        let key = format!("ApiKey {}", s.aleph_api_key());
        let post = |path: &str, body: Value| {
            http()
                .post(url(path))
                .header("authorization", key.clone())
                .json(&body)
        };
        // `EntitySetCreate`: required keys at the top level, formats by path.
        let (status, body) = send(post("entitysets", json!({"label": "x"}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["message"], "Error during data validation");
        assert_eq!(
            body["errors"][""],
            "'type' is a required property; 'collection_id' is a required property"
        );
        let (status, body) = send(post(
            "entitysets",
            json!({"label": "x", "type": "folder", "collection_id": 12,
                   "entities": [{"id": "a b", "schema": "Banana"}]}),
        ))
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["errors"]["type"], "'folder' is not a 'entitysettype'");
        assert_eq!(
            body["errors"]["collection_id"],
            "12 is not of type 'string'"
        );
        assert_eq!(
            body["errors"]["entities.0.schema"],
            "'Banana' is not a 'schema'"
        );
        assert_eq!(
            body["errors"]["entities.0.id"],
            "'a b' is not a 'entity-id'"
        );
        assert_eq!(
            body["errors"]["entities.0"],
            "'properties' is a required property"
        );
        // An unknown collection is a 404.
        let (status, body) = send(post(
            "entitysets",
            json!({"label": "x", "type": "list", "collection_id": "9999"}),
        ))
        .await;
        assert_eq!(
            (status, body["message"].as_str()),
            (404, Some("This path does not exist."))
        );
        // Anonymous writes are 403, unknown sets 404.
        let (status, _) = send(
            http()
                .post(url("entitysets"))
                .json(&json!({"label": "x", "type": "list", "collection_id": leak.id})),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _) = send(post("entitysets/nope/items", json!({"entity_id": "x"}))).await;
        assert_eq!(status, 404);
        // A profile is answered with a redirect to `/profiles/{id}`.
        let (status, profile) = send(post(
            "entitysets",
            json!({"label": "Same person", "type": "profile", "collection_id": leak.id}),
        ))
        .await;
        assert_eq!(status, 200, "{profile}");
        assert_eq!(profile["shallow"], true);
        assert!(profile.get("summary").is_none() && profile.get("layout").is_none());
        let response = http()
            .get(url(&format!(
                "entitysets/{}",
                profile["id"].as_str().unwrap()
            )))
            .header("authorization", key.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 302);
        assert!(
            response.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with(&format!(
                    "/api/2/profiles/{}",
                    profile["id"].as_str().unwrap()
                ))
        );
        // An item needs a known judgement, and an entity that exists.
        let id = profile["id"].as_str().unwrap();
        let (status, body) = send(post(
            &format!("entitysets/{id}/items"),
            json!({"entity_id": "x", "judgement": "maybe"}),
        ))
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            body["errors"]["judgement"],
            "'maybe' is not one of ['positive', 'negative', 'unsure', 'no_judgement']"
        );
        let (status, _) = send(post(&format!("entitysets/{id}/items"), json!({}))).await;
        assert_eq!(status, 404);
        // An unknown judgement in the filter of an entity's sets is Aleph's 500.
        let entity = aleph
            .entities()
            .create(&leak.id, Entity::new("Person").add("name", "Ana"))
            .await
            .unwrap();
        let (status, _) = send(
            http()
                .get(url(&format!(
                    "entities/{}/entitysets?filter:judgement=maybe",
                    entity.id.unwrap()
                )))
                .header("authorization", key.clone()),
        )
        .await;
        assert_eq!(status, 500);
        // A method the route does not take is Werkzeug's 405.
        let (status, _) = send(
            http()
                .delete(url("entitysets"))
                .header("authorization", key),
        )
        .await;
        assert_eq!(status, 405);
    }
}
