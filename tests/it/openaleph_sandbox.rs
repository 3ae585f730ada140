//! The sandbox's two Aleph flavors where Aleph 4.1.6 and OpenAleph 5.3.1-rc3 differ (issue 20,
//! /work/wt/spec20-openaleph.md). Each test starts both flavors, checks the raw HTTP answer of
//! each, and where casefile reads it, what casefile reads. Sources: alephdata/aleph at 4.1.6,
//! openaleph/openaleph at `main` (5.3.1-rc3), openaleph-search 5.3.1 and
//! openaleph-procrastinate 5.3.1.
#![cfg(feature = "testkit")]

use casefile::aleph::{Flavor, IngestMeta, NewCollection, Version};
use casefile::testkit::{Platform, Sandbox};
use casefile::{Error, Upload};
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

const FLAVORS: [Flavor; 2] = [Flavor::Aleph, Flavor::OpenAleph];

async fn start(flavor: Flavor) -> Sandbox {
    Sandbox::builder()
        .aleph_flavor(flavor)
        .entities(&[30, 10])
        .incidents(1)
        .attachments(1)
        .start()
        .await
        .unwrap()
}

fn api(s: &Sandbox, path: &str) -> String {
    format!("{}/api/2/{path}", s.aleph_url())
}

async fn send(request: reqwest::RequestBuilder, s: &Sandbox) -> (u16, Value) {
    let response = request
        .header(AUTHORIZATION, format!("ApiKey {}", s.aleph_api_key()))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(s: &Sandbox, path: &str) -> (u16, Value) {
    send(reqwest::Client::new().get(api(s, path)), s).await
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

/// §6: `/metadata` (Aleph `aleph/views/base_api.py` `_metadata_locale`; openaleph the same
/// function, with its additions) and the server casefile reads from it.
#[tokio::test]
async fn metadata_says_which_server_and_serves_its_model() {
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let (status, body) = get(&s, "metadata").await;
        assert_eq!(status, 200);
        let aleph = flavor == Flavor::Aleph;
        let (version, ftm) = if aleph {
            ("4.1.6", "3.5.9")
        } else {
            ("5.3.1-rc3", "4.10.0")
        };
        assert_eq!(body["app"]["version"], version, "{flavor}");
        assert_eq!(body["app"]["ftm_version"], ftm, "{flavor}");
        // followthemoney 4 dumps its version and has `Risk`; 3.5.9 has the `iban` type.
        assert_eq!(
            body["model"]["version"].as_str(),
            (!aleph).then_some("4.10.0")
        );
        assert_eq!(body["model"]["schemata"]["Risk"].is_object(), !aleph);
        assert_eq!(body["model"]["types"]["iban"].is_object(), aleph);
        assert_eq!(
            body["auth"]["role_blocked"]["message"].as_str(),
            aleph.then_some("Your account has been blocked."),
            "{flavor}"
        );
        let flags = if aleph {
            vec!["bookmarks"]
        } else {
            vec!["bookmarks", "diagrams", "lists", "timelines"]
        };
        assert_eq!(keys(&body["feature_flags"]), flags);
        assert_eq!(body["service_urls"].is_object(), !aleph);
        assert_eq!(
            body["services"]["translate"]["source_languages"].is_array(),
            !aleph
        );
        assert_eq!(body["app"]["entity_banner_rules"].is_array(), !aleph);
        // `jsonify` keeps the empty values.
        assert!(body["feedback_urls"]["documents"].is_null());
        assert!(body["app"].as_object().unwrap().contains_key("banner"));

        let client = s.aleph().unwrap();
        let server = client.server().await.unwrap();
        assert_eq!(server.flavor, flavor);
        let expected = if aleph {
            Version::new(4, 1, 6)
        } else {
            Version::new(5, 3, 1)
        };
        assert_eq!(server.version, Some(expected));
        let metadata = client.metadata().await.unwrap();
        assert_eq!(metadata.app.version.as_deref(), Some(version));
        assert_eq!(
            metadata.model.version.as_deref(),
            (!aleph).then_some("4.10.0")
        );
    }
}

/// The name of a seeded person, and a word of it to search for.
async fn a_person(s: &Sandbox) -> (String, String) {
    let (_, page) = get(s, "search?filter:schema=Person&limit=1").await;
    let name = page["results"][0]["properties"]["name"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let word = name.split(' ').next().unwrap().to_owned();
    (name, word)
}

/// §1: the `highlight` of a hit: Aleph flattens the fragments into a list
/// (`aleph/index/util.py` `unpack_result`), OpenAleph keeps them per field (openaleph-search
/// `index/util.py` `unpack_result`), the matched name as is in `names`.
#[tokio::test]
async fn highlights_are_a_list_on_aleph_and_per_field_on_openaleph() {
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let (name, word) = a_person(&s).await;
        let path = format!("search?filter:schema=Person&q={word}&highlight=true");
        let (status, page) = get(&s, &path).await;
        assert_eq!(status, 200, "{page}");
        let hit = &page["results"][0];
        let em = format!("<em>{word}</em>");
        match flavor {
            Flavor::Aleph => {
                let fragments = hit["highlight"].as_array().unwrap();
                assert!(fragments[0].as_str().unwrap().contains(&em), "{hit}");
            }
            _ => {
                let fields = hit["highlight"].as_object().unwrap();
                assert!(fields["text"][0].as_str().unwrap().contains(&em), "{hit}");
                let names = fields["names"].as_array().unwrap();
                assert!(names.iter().any(|n| n == name.as_str()), "{hit}");
            }
        }
        // Without `highlight` there is none.
        let (_, plain) = get(&s, &format!("search?filter:schema=Person&q={word}")).await;
        assert!(plain["results"][0].get("highlight").is_none());

        let client = s.aleph().unwrap();
        let page = client
            .entities()
            .search()
            .schema("Person")
            .query(word.as_str())
            .highlight(true)
            .first_page()
            .await
            .unwrap();
        let fragments = page.items[0].highlight.fragments();
        assert!(
            fragments.iter().any(|f| f.contains(&em)),
            "{flavor}: {fragments:?}"
        );
        assert_eq!(
            page.items[0].highlight.field("names").is_empty(),
            flavor == Flavor::Aleph
        );
    }
}

/// §1: a non-empty `highlight_text` or `highlight_length` makes openaleph-search's
/// `SearchQueryParser` raise while it is built (`parse/parser.py`), a 500 on every search
/// route, `highlight` or not; Aleph honours both. casefile refuses them on OpenAleph before
/// sending.
#[tokio::test]
async fn custom_highlights_are_a_server_error_on_openaleph() {
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let aleph = flavor == Flavor::Aleph;
        for path in [
            "search?filter:schema=Person&highlight_text=maria",
            "entities?filter:schema=Person&highlight=false&highlight_length=50",
            "collections?highlight_text=leak",
            "notifications?highlight_length=10",
        ] {
            let (status, body) = get(&s, path).await;
            if aleph {
                assert_eq!(status, 200, "{path}: {body}");
            } else {
                assert_eq!(status, 500, "{path}");
                assert_eq!(
                    body,
                    json!({"status": "error", "message": "Internal server error."})
                );
            }
        }
        // OpenAleph's own search routes build the parser too (Aleph has no such route).
        let (_, people) = get(&s, "search?filter:schema=Person&limit=1").await;
        let person = people["results"][0]["id"].as_str().unwrap().to_owned();
        let (status, _) = get(
            &s,
            &format!("entities/{person}/mentions?highlight_text=maria"),
        )
        .await;
        assert_eq!(status, if aleph { 404 } else { 500 });
        let (status, _) = get(&s, &format!("entities/{person}/mentions")).await;
        assert_eq!(status, if aleph { 404 } else { 200 });
        // `POST /search` reads them from the form as well; empty ones are no custom highlight.
        let (status, _) = send(
            reqwest::Client::new()
                .post(api(&s, "search"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("filter:schema=Person&highlight_text=ana"),
            &s,
        )
        .await;
        assert_eq!(status, if aleph { 200 } else { 500 });
        let (status, _) = get(&s, "search?filter:schema=Person&highlight_text=").await;
        assert_eq!(status, 200);

        let client = s.aleph().unwrap();
        let before = s.requests(Platform::Aleph);
        let result = client
            .entities()
            .search()
            .schema("Person")
            .highlight(true)
            .highlight_length(80)
            .first_page()
            .await;
        let sent = s.requests(Platform::Aleph) - before;
        if aleph {
            assert!(result.is_ok(), "{result:?}");
            assert_eq!(sent, 2, "GET /metadata, then the search");
        } else {
            assert!(
                matches!(result, Err(Error::Unsupported { .. })),
                "{result:?}"
            );
            assert_eq!(sent, 1, "only GET /metadata");
        }
    }
}

/// §2: the processing status. Aleph 4.1.6 sends servicelayer's counters
/// (`aleph/queues.py` `get_status`), OpenAleph openaleph-procrastinate's `DatasetStatus` with
/// its collection (`aleph/procrastinate/status.py`); both through `jsonify`, nulls kept. An
/// upload keeps the collection busy for a few status reads on both, and casefile reads it busy
/// on both.
#[tokio::test]
async fn status_has_each_servers_shape_and_an_upload_makes_a_collection_busy() {
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let aleph = flavor == Flavor::Aleph;
        let (status, idle) = get(&s, "collections/2/status").await;
        assert_eq!(status, 200);
        if aleph {
            assert_eq!(
                idle,
                json!({"finished": 0, "running": 0, "pending": 0, "stages": [],
                       "start_time": null, "last_update": null})
            );
        } else {
            for (key, value) in [
                ("todo", json!(0)),
                ("doing", json!(0)),
                ("active", json!(0)),
                ("total", json!(0)),
                ("batches", json!([])),
                ("min_ts", Value::Null),
                ("took", Value::Null),
                ("name", json!("collection_2")),
            ] {
                assert_eq!(idle[key], value, "{key}: {idle}");
            }
            assert_eq!(idle["collection"]["id"], "2");
        }
        let (_, all) = get(&s, "status").await;
        assert_eq!(all, json!({"results": [], "total": 0}), "{flavor}");

        let client = s.aleph().unwrap();
        client
            .collections()
            .ingest(
                "2",
                Upload::bytes("memo.txt", "seen at 10:42"),
                IngestMeta::default(),
            )
            .await
            .unwrap();
        let (_, all) = get(&s, "status").await;
        assert_eq!(all["total"], 1, "{all}");
        let busy = &all["results"][0];
        assert_eq!(busy["collection"]["id"], "2");
        if aleph {
            assert_eq!(busy["pending"], 1, "{busy}");
            assert_eq!(busy["stages"][0]["stage"], "ingest");
            assert!(busy["start_time"].is_string());
            assert!(busy.get("todo").is_none());
        } else {
            assert_eq!(busy["todo"], 1, "{busy}");
            assert_eq!(busy["active"], 1);
            let queue = &busy["batches"][0]["queues"][0];
            assert_eq!(busy["batches"][0]["name"], "default");
            assert_eq!(queue["name"], "ingest");
            assert_eq!(queue["tasks"][0]["name"], "ingestors.tasks.ingest");
            assert!(busy["min_ts"].as_str().unwrap().ends_with('Z'));
            assert!(busy["took"].as_str().unwrap().starts_with('P'));
            assert!(busy.get("pending").is_none());
        }
        // The workers got to it: running now, then done.
        let status = client.collections().status("2").await.unwrap();
        assert!(status.tasks.is_active(), "{flavor}: {status:?}");
        assert_eq!(status.tasks.running, 1, "{flavor}: {status:?}");
        // Aleph's stage and OpenAleph's queue read alike.
        let stages = status.stage_counts();
        assert_eq!(stages.len(), 1, "{flavor}: {stages:?}");
        assert_eq!(stages[0].0, "ingest");
        assert_eq!(stages[0].1.running, 1);
        let mut reads = 1;
        while client
            .collections()
            .status("2")
            .await
            .unwrap()
            .tasks
            .is_active()
        {
            reads += 1;
            assert!(reads < 5, "still busy after {reads} reads");
        }
        let (_, all) = get(&s, "status").await;
        assert_eq!(all["total"], 0, "{flavor}: {all}");

        // A re-index is work too, and cancelling forgets it.
        client.collections().reindex("2").await.unwrap();
        assert!(
            client
                .collections()
                .status("2")
                .await
                .unwrap()
                .tasks
                .is_active()
        );
        client.collections().cancel("2").await.unwrap();
        assert!(
            !client
                .collections()
                .status("2")
                .await
                .unwrap()
                .tasks
                .is_active()
        );
    }
}

/// §4: `touch` and `generate_api_key` are gone from OpenAleph (unknown paths, 404 JSON), and
/// the health check moved from `/healthz` to `/api/2/healthz` (openaleph
/// `aleph/views/base_api.py` `healthz`).
#[tokio::test]
async fn routes_gone_from_openaleph_are_unknown_paths() {
    let not_found = json!({"status": "error", "message": "This path does not exist."});
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let aleph = flavor == Flavor::Aleph;
        let http = reqwest::Client::new();
        for request in [
            http.post(api(&s, "collections/2/touch")),
            http.put(api(&s, "collections/2/touch")),
        ] {
            let (status, body) = send(request, &s).await;
            if aleph {
                assert_eq!(status, 202);
            } else {
                assert_eq!((status, &body), (404, &not_found));
            }
        }
        let (status, body) = send(http.post(api(&s, "roles/3/generate_api_key")), &s).await;
        if aleph {
            assert_eq!(status, 200);
            assert!(body["api_key"].is_string());
        } else {
            assert_eq!((status, &body), (404, &not_found));
        }

        let root = http
            .get(format!("{}/healthz", s.aleph_url()))
            .send()
            .await
            .unwrap();
        let under_api = http.get(api(&s, "healthz")).send().await.unwrap();
        let (up, down) = if aleph {
            (root, under_api)
        } else {
            (under_api, root)
        };
        assert_eq!(up.status(), 200, "{flavor}");
        assert_eq!(up.json::<Value>().await.unwrap(), json!({"status": "ok"}));
        assert_eq!(down.status(), 404, "{flavor}");
        assert_eq!(down.json::<Value>().await.unwrap(), not_found);
    }
    // casefile: `touch` is refused on OpenAleph before sending.
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let client = s.aleph().unwrap();
        let result = client.collections().touch("2").await;
        match flavor {
            Flavor::Aleph => assert!(result.is_ok(), "{result:?}"),
            _ => {
                assert!(
                    matches!(result, Err(Error::Unsupported { .. })),
                    "{result:?}"
                );
                assert_eq!(s.requests(Platform::Aleph), 1, "only GET /metadata");
            }
        }
    }
}

/// §5: creating collections. OpenAleph takes only a dataset name as foreign id
/// (`Collection.create`, `dataset_name_check`), both answer a bad or taken one with Werkzeug's
/// generic 400, OpenAleph's collections carry `name`, `contains_ai`, `taggable`, `external`,
/// and its own role says `is_investigator`.
#[tokio::test]
async fn creating_collections_follows_each_servers_rules() {
    let generic = json!({"status": "error",
        "message": "The browser (or proxy) sent a request that this server could not understand."});
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let aleph = flavor == Flavor::Aleph;
        let http = reqwest::Client::new();
        let create = |foreign_id: &str| {
            http.post(api(&s, "collections"))
                .json(&json!({"label": "Leak files", "foreign_id": foreign_id}))
        };
        let (status, body) = send(create("leak-files"), &s).await;
        if aleph {
            assert_eq!(status, 200, "{body}");
            assert!(body.get("name").is_none());
        } else {
            assert_eq!((status, &body), (400, &generic));
        }
        let (status, body) = send(create("leak_files"), &s).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["name"].as_str(), (!aleph).then_some("leak_files"));
        assert_eq!(body["taggable"].as_bool(), (!aleph).then_some(false));
        assert_eq!(body["external"].as_bool(), (!aleph).then_some(false));
        let (status, body) = send(create("leak_files"), &s).await;
        assert_eq!((status, &body), (400, &generic), "a taken foreign id");

        let (_, seeded) = get(&s, "collections/2").await;
        let seeded_id = if aleph {
            "company-registry"
        } else {
            "company_registry"
        };
        assert_eq!(seeded["foreign_id"], seeded_id);
        assert_eq!(seeded["contains_ai"].as_bool(), (!aleph).then_some(false));
        let (_, role) = get(&s, "roles/3").await;
        assert_eq!(role["is_investigator"].as_bool(), (!aleph).then_some(true));

        // casefile refuses a foreign id that is no dataset name on OpenAleph before sending;
        // Aleph takes any text, and answers a taken one (the seed's `leak-2026`) with its 400.
        let client = s.aleph().unwrap();
        let before = s.requests(Platform::Aleph);
        let result = client
            .collections()
            .create(NewCollection::new("Leak 2026").foreign_id("leak-2026"))
            .await;
        let sent = s.requests(Platform::Aleph) - before;
        assert_eq!(
            sent,
            if aleph { 2 } else { 1 },
            "GET /metadata, then the create on Aleph"
        );
        match result {
            Err(Error::Unsupported { .. }) | Err(Error::InvalidInput { .. }) if !aleph => {}
            Err(Error::Api(e)) if aleph => {
                assert_eq!(e.status, 400);
                assert_eq!(e.message, generic["message"]);
            }
            other => panic!("{flavor}: {other:?}"),
        }
        if aleph {
            let created = client
                .collections()
                .create(NewCollection::new("Leak 2027").foreign_id("leak-2027"))
                .await
                .unwrap();
            assert_eq!(created.foreign_id.as_deref(), Some("leak-2027"));
        }
    }
}

/// §7: the own role. Aleph 4.1.6 keeps a digest of the key and says when it expires; OpenAleph
/// returns the key itself (`RoleSerializer`, `Role.to_dict`).
#[tokio::test]
async fn own_role_carries_the_key_on_openaleph_and_its_expiry_on_aleph() {
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let (status, role) = get(&s, "roles/3").await;
        assert_eq!(status, 200);
        match flavor {
            Flavor::Aleph => {
                assert_eq!(role["has_api_key"], true);
                assert!(role["api_key_expires_at"].is_string());
                assert!(role.get("api_key").is_none());
            }
            _ => {
                assert_eq!(role["api_key"], s.aleph_api_key());
                assert!(role.get("has_api_key").is_none());
                assert!(role.get("api_key_expires_at").is_none());
            }
        }
        let read = s.aleph().unwrap().roles().get("3").await.unwrap();
        assert_eq!(read.id, "3");
        assert_eq!(read.has_api_key, flavor == Flavor::Aleph);
        assert_eq!(read.api_key_expires_at.is_some(), flavor == Flavor::Aleph);
    }
}

/// §9: OpenAleph's search envelope adds `query_q`, `filters` and `metrics`
/// (`SearchQueryResult.to_dict`), its hits `caption`, `dataset` and, sorted, `_sort`; its
/// `_stream` lines `caption` and `dataset` (openaleph-search `PROXY_INCLUDES`).
#[tokio::test]
async fn openaleph_search_envelope_and_hits_carry_more() {
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let aleph = flavor == Flavor::Aleph;
        let (status, page) = get(
            &s,
            "search?filter:schema=Person&filter:collection_id=2&sort=created_at:desc&limit=3",
        )
        .await;
        assert_eq!(status, 200);
        let hits = page["results"].as_array().unwrap();
        assert_eq!(hits.len(), 3);
        if aleph {
            for key in ["query_q", "filters", "metrics"] {
                assert!(page.get(key).is_none(), "{key}");
            }
            assert!(hits.iter().all(|h| h.get("caption").is_none()
                && h.get("dataset").is_none()
                && h.get("_sort").is_none()));
        } else {
            assert_eq!(page["query_q"], Value::Null);
            assert_eq!(
                page["filters"],
                json!({"schema": ["Person"], "collection_id": ["2"]})
            );
            assert_eq!(page["metrics"], json!({}));
            for hit in hits {
                assert_eq!(hit["caption"], hit["properties"]["name"][0]);
                assert_eq!(hit["dataset"], "collection_2");
            }
            let sorts: Vec<i64> = hits
                .iter()
                .map(|h| h["_sort"][0].as_i64().unwrap())
                .collect();
            assert!(sorts.windows(2).all(|w| w[0] >= w[1]), "{sorts:?}");
        }
        // Every route that is a search on the server has the extras too.
        for path in [
            "collections?filter:category=company&q=registry",
            "notifications",
        ] {
            let (status, page) = get(&s, path).await;
            assert_eq!(status, 200, "{path}");
            assert!(page["results"].is_array(), "{path}: {page}");
            assert_eq!(page.get("metrics").is_some(), !aleph, "{path}: {page}");
        }
        let (_, collections) = get(&s, "collections?filter:category=company&q=registry").await;
        if !aleph {
            assert_eq!(collections["query_q"], "registry");
            assert_eq!(collections["filters"], json!({"category": ["company"]}));
        }
        // Sorting is honoured on both.
        let created: Vec<&str> = hits
            .iter()
            .map(|h| h["created_at"].as_str().unwrap())
            .collect();
        assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");

        let response = reqwest::Client::new()
            .get(api(&s, "collections/2/_stream"))
            .header(AUTHORIZATION, format!("ApiKey {}", s.aleph_api_key()))
            .send()
            .await
            .unwrap();
        let text = response.text().await.unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first.get("dataset").is_some(), !aleph, "{first}");
        assert_eq!(first.get("caption").is_some(), !aleph, "{first}");
        assert_eq!(first.get("_sort").is_some(), !aleph, "{first}");
        let streamed: Vec<casefile::aleph::Entity> = futures::TryStreamExt::try_collect(
            s.aleph()
                .unwrap()
                .collections()
                .stream_entities("2")
                .stream(),
        )
        .await
        .unwrap();
        assert_eq!(streamed.len(), text.lines().count());
        assert_eq!(streamed[0].caption.is_some(), !aleph);

        // casefile reads the hits on both.
        let page = s
            .aleph()
            .unwrap()
            .entities()
            .search()
            .schema("Person")
            .sort("created_at:desc")
            .first_page()
            .await
            .unwrap();
        assert!(!page.items.is_empty());
        assert_eq!(page.items[0].caption.is_some(), !aleph);
    }
}

/// §12 "Sharing": Aleph 4.1.6 grants a user who holds no permission on the collection only when
/// the change carries that user's e-mail (`aleph/views/permissions_api.py` `update`); OpenAleph
/// dropped the check (openaleph `permissions_api.py` `update`).
#[tokio::test]
async fn sharing_with_a_user_needs_their_email_only_on_aleph() {
    use casefile::aleph::PermissionUpdate;
    let shared_with_dana = |list: &casefile::aleph::PermissionsList| {
        list.results
            .iter()
            .any(|p| p.role.as_ref().is_some_and(|r| r.id == "6") && p.read)
    };
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let client = s.aleph().unwrap();
        let without = client
            .permissions()
            .update("2", [PermissionUpdate::new("6", true, false)])
            .await
            .unwrap();
        assert_eq!(
            shared_with_dana(&without),
            flavor == Flavor::OpenAleph,
            "{flavor}"
        );
        let with = client
            .permissions()
            .update(
                "2",
                [PermissionUpdate::new("6", true, false).email("Dana.Reyes@example.org")],
            )
            .await
            .unwrap();
        assert!(shared_with_dana(&with), "{flavor}");
        // Once she holds one, a change needs no e-mail on Aleph either.
        let (status, body) = send(
            reqwest::Client::new()
                .post(api(&s, "collections/2/permissions"))
                .json(&json!([{"role_id": "6", "read": true, "write": true}])),
            &s,
        )
        .await;
        assert_eq!(status, 200);
        let dana = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["role"]["id"] == "6")
            .unwrap();
        assert_eq!(dana["write"], true, "{flavor}: {body}");
    }
}

/// §13: each flavor checks a written entity's schema against its own model: followthemoney
/// 4.10.0 has `Risk` and no `Assessment`, 3.5.9 the other way round (Aleph
/// `aleph/validation/formats.py` `check_schema`).
#[tokio::test]
async fn each_flavor_checks_schemata_against_its_own_model() {
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let aleph = flavor == Flavor::Aleph;
        for (schema, known) in [("Risk", !aleph), ("Assessment", aleph), ("Person", true)] {
            let (status, body) = send(
                reqwest::Client::new()
                    .post(api(&s, "entities"))
                    .json(&json!({
                        "schema": schema, "collection_id": "2",
                        "properties": {"name": ["Risk of flooding"]},
                    })),
                &s,
            )
            .await;
            if known {
                assert_eq!(status, 200, "{flavor} {schema}: {body}");
                assert_eq!(body["schema"], schema);
            } else {
                assert_eq!(status, 400, "{flavor} {schema}: {body}");
                assert_eq!(
                    body["errors"]["schema"],
                    format!("'{schema}' is not a 'schema'")
                );
            }
        }
    }
}

/// An entity search without a schema: Aleph 4.1.6 refuses it (`aleph/search/__init__.py`
/// `EntitiesQuery.get_index`), openaleph-search searches things (`query/queries.py`
/// `EntitiesQuery.schemata`).
#[tokio::test]
async fn a_search_without_a_schema_is_refused_only_on_aleph() {
    for flavor in FLAVORS {
        let s = start(flavor).await;
        let (status, body) = get(&s, "search?filter:collection_id=2&limit=50").await;
        match flavor {
            Flavor::Aleph => {
                assert_eq!(status, 400);
                assert_eq!(body["message"], "No schema is specified for the query.");
            }
            _ => {
                assert_eq!(status, 200, "{body}");
                let schemata: Vec<&str> = body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["schema"].as_str().unwrap())
                    .collect();
                assert!(schemata.contains(&"Person"), "{schemata:?}");
                assert!(
                    !schemata.contains(&"Ownership"),
                    "not a thing: {schemata:?}"
                );
                // The default is the server's: the next page's URL does not carry it.
                let (_, first) = get(&s, "search?filter:collection_id=2&limit=2").await;
                let next = first["next"].as_str().unwrap();
                assert!(!next.contains("schemata"), "{next}");
            }
        }
    }
}
