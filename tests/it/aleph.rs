//! The Aleph client against local HTTP servers: the client, collections, listings and errors.
//! Bulk, streaming, ingest and archive are in `aleph_transfer.rs`; entities, alerts, mappings
//! and permissions in `aleph_resources.rs`; the examples in `aleph_examples.rs`.
#![cfg(feature = "aleph")]

use crate::support::aleph::*;
use crate::support::assert_invalid;
use casefile::aleph::{Category, Client, Frequency, NewCollection, ResultSet};
use casefile::{Error, ErrorKind, PageToken, RetryPolicy};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

#[tokio::test]
async fn requests_carry_the_api_key_under_api_2() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/1"))
        .respond_with(ok_json(fixture("collection_get.json")))
        .mount(&server)
        .await;
    let collection = client(&server).collections().get("1").await.unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "GET", "/api/2/collections/1", &[]);
    assert_eq!(header(&req, "accept"), Some("application/json"));
    assert!(req.body.is_empty());

    assert_eq!(collection.id, "1");
    assert_eq!(collection.collection_id.as_deref(), Some("1"));
    assert_eq!(collection.label, "Leak 2026");
    assert_eq!(collection.category, Some(Category::Leak));
    assert_eq!(collection.frequency, Some(Frequency::Never));
    assert_eq!(collection.countries, ["ua", "cy"]);
    assert_eq!(collection.count, Some(60));
    assert!(collection.secret && collection.writeable && !collection.shallow);
    assert_eq!(
        collection.creator.as_ref().unwrap().name.as_deref(),
        Some("Test Analyst")
    );
    assert_eq!(collection.team.len(), 1);
    assert_eq!(
        collection.links["ui"].expose(),
        "https://aleph.example.org/datasets/1"
    );
    assert_eq!(
        collection.data_updated_at.unwrap().to_rfc3339(),
        "2026-01-02T12:00:00.123456+00:00"
    );
    assert_eq!(collection.status.unwrap().tasks.pending, 0);
    assert_eq!(
        collection.statistics.unwrap()["schema"]["values"]["Person"],
        24
    );
    // Omitted values are defaults, not errors.
    assert_eq!(collection.publisher, None);
}

#[tokio::test]
async fn a_base_url_that_already_ends_in_api_2_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(fixture("status_get.json")))
        .mount(&server)
        .await;
    let aleph = Client::builder()
        .base_url(format!("{}/api/2/", server.uri()))
        .build()
        .unwrap();
    aleph.collections().status("1").await.unwrap();
    let req = only_request(&server).await;
    assert_eq!(req.url.path(), "/api/2/collections/1/status");
    // No key: anonymous, no Authorization header at all.
    assert_eq!(header(&req, "authorization"), None);
}

#[tokio::test]
async fn from_env_reads_aleph_variables_then_alephclients() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(fixture("status_get.json")))
        .mount(&server)
        .await;
    let set = |pairs: &[(&str, Option<&str>)]| {
        for (name, value) in pairs {
            // SAFETY: this is the only test of this binary that touches the environment.
            unsafe {
                match value {
                    Some(v) => std::env::set_var(name, v),
                    None => std::env::remove_var(name),
                }
            }
        }
    };
    let uri = server.uri();
    set(&[
        ("ALEPH_URL", None),
        ("ALEPH_API_KEY", None),
        ("ALEPHCLIENT_HOST", None),
        ("ALEPHCLIENT_API_KEY", None),
    ]);
    assert!(matches!(Client::from_env(), Err(Error::Config(_))));

    // alephclient's variables alone.
    set(&[
        ("ALEPHCLIENT_HOST", Some(&uri)),
        ("ALEPHCLIENT_API_KEY", Some("old-key")),
    ]);
    Client::from_env()
        .unwrap()
        .collections()
        .status("1")
        .await
        .unwrap();
    // casefile's own variables win (an empty one counts as unset).
    set(&[("ALEPH_URL", Some(&uri)), ("ALEPH_API_KEY", Some(KEY))]);
    Client::from_env()
        .unwrap()
        .collections()
        .status("2")
        .await
        .unwrap();
    set(&[("ALEPH_API_KEY", Some(""))]);
    Client::from_env()
        .unwrap()
        .collections()
        .status("3")
        .await
        .unwrap();
    set(&[
        ("ALEPH_URL", None),
        ("ALEPH_API_KEY", None),
        ("ALEPHCLIENT_HOST", None),
        ("ALEPHCLIENT_API_KEY", None),
    ]);

    let seen: Vec<(String, Option<String>)> = requests(&server)
        .await
        .iter()
        .map(|r| {
            (
                r.url.path().to_owned(),
                header(r, "authorization").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "/api/2/collections/1/status".to_owned(),
                Some("ApiKey old-key".to_owned())
            ),
            (
                "/api/2/collections/2/status".to_owned(),
                Some(format!("ApiKey {KEY}"))
            ),
            (
                "/api/2/collections/3/status".to_owned(),
                Some("ApiKey old-key".to_owned())
            ),
        ]
    );
}

#[test]
fn the_api_key_never_shows_in_debug_output() {
    let aleph = Client::builder()
        .base_url("https://aleph.example.org")
        .api_key(KEY);
    assert!(!format!("{aleph:?}").contains(KEY));
    let aleph = aleph.build().unwrap();
    assert!(!format!("{aleph:?}").contains(KEY));
    assert!(!format!("{:?}", aleph.collections()).contains(KEY));
}

#[tokio::test]
async fn listing_collections_sends_text_filters_sort_and_facets() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections"))
        .respond_with(ok_json(fixture("collections_page.json")))
        .mount(&server)
        .await;
    let page = client(&server)
        .collections()
        .list()
        .query("leak")
        .filter("category", "leak")
        .filter("countries", "ua")
        .filter("countries", "cy")
        .sort("label:asc")
        .sort("created_at:desc")
        .facet("category")
        .page_size(2)
        .result_set()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/collections",
        &[
            ("q", "leak"),
            ("sort", "label:asc"),
            ("sort", "created_at:desc"),
            ("facet", "category"),
            ("limit", "2"),
            ("filter:category", "leak"),
            ("filter:countries", "ua"),
            ("filter:countries", "cy"),
        ],
    );
    assert_eq!(page.results.len(), 2);
    assert_eq!(page.total, Some(3));
    assert_eq!(page.total_type.as_deref(), Some("eq"));
    assert_eq!(
        (page.page, page.pages, page.limit, page.offset),
        (Some(1), Some(2), Some(2), Some(0))
    );
    assert_eq!(page.previous, None);
    assert!(page.facets.is_empty());
    let sanctions = &page.results[0];
    assert_eq!(sanctions.category, Some(Category::Sanctions));
    assert_eq!(sanctions.publisher.as_deref(), Some("OpenSanctions"));
    assert!(sanctions.countries.is_empty(), "omitted list is empty");
    assert!(sanctions.shallow);
}

#[test]
fn pages_with_everything_omitted_and_facets_decode() {
    let last: ResultSet<casefile::aleph::Collection> =
        serde_json::from_str(&fixture("collections_page_last.json")).unwrap();
    assert!(
        last.results.is_empty(),
        "the server leaves out an empty results list"
    );
    assert_eq!(last.next, None);
    assert!(last.previous.is_some());
    let page = last.into_page(true);
    assert_eq!(page.next, None);
    assert_eq!(page.total, Some(3));

    let faceted: ResultSet<Value> = serde_json::from_value(json!({
        "status": "ok", "total": 1, "total_type": "eq", "results": [{}],
        "facets": {
            "category": {"filters": ["leak"], "total": 2, "values": [
                {"id": "leak", "label": "Leaks", "count": 1, "active": true},
                {"id": "news", "label": "News archives", "count": 7, "active": false}
            ]},
            "countries": {"filters": []}
        }
    }))
    .unwrap();
    let category = &faceted.facets["category"];
    assert_eq!(category.total, Some(2));
    assert_eq!(category.values[1].id, "news");
    assert_eq!(category.values[1].count, 7);
    assert!(category.values[0].active);
    assert!(faceted.facets["countries"].values.is_empty());
}

#[test]
fn next_tokens_come_from_the_offset_and_limit_of_next_and_respect_the_search_window() {
    let page = |offset: u64, next: Option<&str>, total_type: &str| -> ResultSet<Value> {
        serde_json::from_value(json!({
            "results": [1], "total": 20000, "total_type": total_type, "limit": 5,
            "offset": offset, "next": next
        }))
        .unwrap()
    };
    let next = |offset: u64, limit: u64| {
        format!("https://ui.example.org/api/2/entities?q=x&offset={offset}&limit={limit}")
    };
    // The next link's host is ignored; offset and limit are what counts.
    let p = page(10, Some(&next(15, 5)), "eq").into_page(false);
    assert_eq!(
        p.next,
        Some(PageToken::Offset {
            offset: 15,
            limit: 5
        })
    );
    assert_eq!(p.total, Some(20000));
    // A search caps offset + limit at 9,999, and stops counting exactly at 10,000.
    let p = page(9990, Some(&next(9995, 5)), "gte").into_page(true);
    assert_eq!(
        p.next,
        Some(PageToken::Offset {
            offset: 9995,
            limit: 4
        })
    );
    assert_eq!(p.total, None, "a lower bound is not a total");
    assert_eq!(
        page(9995, Some(&next(9999, 5)), "eq").into_page(true).next,
        None
    );
    assert_eq!(
        page(0, Some(&next(9999, 5)), "eq").into_page(true).total,
        Some(9999)
    );
    // A database listing has no window.
    assert_eq!(
        page(9995, Some(&next(10000, 5)), "eq")
            .into_page(false)
            .next,
        Some(PageToken::Offset {
            offset: 10000,
            limit: 5
        })
    );
    // The same offset again (past the window) or no next: the end.
    assert_eq!(
        page(9999, Some(&next(9999, 0)), "gte").into_page(true).next,
        None
    );
    assert_eq!(
        page(40, Some(&next(40, 5)), "eq").into_page(false).next,
        None
    );
    assert_eq!(page(40, None, "eq").into_page(false).next, None);
}

/// Serves collections 0..total, `limit` a page, with `next` built on `next_host`.
fn collection_pages(total: u64, next_host: String) -> impl Fn(&Request) -> ResponseTemplate {
    move |req: &Request| {
        let get = |name: &str, default: u64| {
            req.url
                .query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(default)
        };
        let (offset, limit) = (get("offset", 0), get("limit", 20));
        let results: Vec<Value> = (offset..(offset + limit).min(total))
            .map(|i| json!({"id": i.to_string(), "label": format!("Collection {i}")}))
            .collect();
        // Like Aleph: next is given while offset + limit <= total, so the last one may be empty.
        let next = (offset + limit <= total).then(|| {
            format!(
                "{next_host}/api/2/collections?offset={}&limit={limit}&filter%3Acategory=leak",
                offset + limit
            )
        });
        let mut body = json!({"status": "ok", "total": total, "total_type": "eq",
            "limit": limit, "offset": offset, "results": results, "next": next});
        if body["results"].as_array().unwrap().is_empty() {
            body.as_object_mut().unwrap().remove("results");
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn a_next_url_on_another_host_is_followed_on_the_configured_host_only() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections"))
        .respond_with(collection_pages(5, other.uri()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&other)
        .await;
    let all: Vec<_> = client(&server)
        .collections()
        .list()
        .filter("category", "leak")
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["0", "1", "2", "3", "4"]);
    assert!(
        requests(&other).await.is_empty(),
        "the other host received a request"
    );
    let seen = requests(&server).await;
    assert_eq!(
        seen.len(),
        3,
        "the total of 5 ends the listing after 3 pages"
    );
    for (req, offset) in seen.iter().zip(["0", "2", "4"]) {
        assert_eq!(
            header(req, "authorization"),
            Some(format!("ApiKey {KEY}").as_str())
        );
        let q = query(req);
        assert!(
            q.contains(&("filter:category".into(), "leak".into())),
            "{q:?}"
        );
        let got_offset = q
            .iter()
            .find(|(k, _)| k == "offset")
            .map(|(_, v)| v.as_str());
        assert_eq!(got_offset, if offset == "0" { None } else { Some(offset) });
    }
}

#[tokio::test]
async fn pages_are_fetched_concurrently_in_order_when_the_total_is_exact() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections"))
        .respond_with(collection_pages(95, "https://aleph.example.org".into()))
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .collections()
        .list()
        .page_size(10)
        .stream()
        .concurrency(4)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<String> = all.into_iter().map(|c| c.id).collect();
    assert_eq!(ids, (0..95).map(|i| i.to_string()).collect::<Vec<_>>());
    let mut offsets: Vec<u64> = requests(&server)
        .await
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "offset")
                .map_or(0, |(_, v)| v.parse().unwrap())
        })
        .collect();
    offsets.sort();
    assert_eq!(
        offsets,
        (0..10).map(|i| i * 10).collect::<Vec<_>>(),
        "each page once"
    );
}

#[tokio::test]
async fn listings_stop_on_an_empty_page_or_a_repeated_offset() {
    // Empty page: a "gte" total cannot end the listing, the empty page does.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections"))
        .respond_with(|req: &Request| {
            let second = req.url.query().unwrap_or("").contains("offset=2");
            let body = if second {
                json!({"status": "ok", "total": 10000, "total_type": "gte", "offset": 2, "limit": 2,
                       "next": "https://aleph.example.org/api/2/collections?offset=4&limit=2"})
            } else {
                json!({"status": "ok", "total": 10000, "total_type": "gte", "offset": 0, "limit": 2,
                       "results": [{"id": "1"}, {"id": "2"}],
                       "next": "https://aleph.example.org/api/2/collections?offset=2&limit=2"})
            };
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .collections()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(requests(&server).await.len(), 2);

    // Past the search window the server points at the same offset forever.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/entities"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "ok", "total": 10000, "total_type": "gte", "offset": 9999, "limit": 0,
            "results": [{"id": "last", "schema": "Thing"}],
            "next": "https://aleph.example.org/api/2/entities?offset=9999&limit=0"
        })))
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .entities()
        .search()
        .offset(9999)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_page_size_out_of_range_is_refused_before_sending() {
    let server = MockServer::start().await;
    let aleph = client(&server);
    for limit in [0, 10_000] {
        let err = aleph
            .collections()
            .list()
            .page_size(limit)
            .result_set()
            .await
            .unwrap_err();
        assert_invalid(&err, "page_size");
        let first = aleph
            .alerts()
            .list()
            .page_size(limit)
            .stream()
            .next()
            .await
            .unwrap();
        assert_invalid(&first.unwrap_err(), "page_size");
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn create_and_update_send_the_metadata_and_check_the_label_first() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections"))
        .respond_with(ok_json(fixture("collection_create.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4"))
        .respond_with(ok_json(fixture("collection_create.json")))
        .mount(&server)
        .await;
    let aleph = client(&server);
    for bad in ["x".to_owned(), " ".to_owned(), "é".repeat(501)] {
        let err = aleph
            .collections()
            .create(NewCollection::new(bad.clone()))
            .await
            .unwrap_err();
        assert_invalid(&err, "label");
        let err = aleph
            .collections()
            .update("4", NewCollection::new(bad))
            .await
            .unwrap_err();
        assert_invalid(&err, "label");
    }
    assert!(requests(&server).await.is_empty());
    // 500 characters of two bytes each are fine: characters are counted, not bytes.
    let created = aleph
        .collections()
        .create(
            NewCollection::new("Leak 2026 (fixtures)")
                .foreign_id("fixtures-1")
                .category(Category::Leak)
                .countries(["ua"])
                .casefile(false),
        )
        .await
        .unwrap();
    assert_eq!(created.id, "4");
    assert_eq!(created.frequency, Some(Frequency::Unknown));
    assert_eq!(created.count, Some(0));
    assert!(created.languages.is_empty() && created.summary.is_none());
    aleph
        .collections()
        .update(
            "4",
            NewCollection::new("é".repeat(500))
                .summary("Renamed")
                .category(Category::OtherMaterial)
                .frequency(Frequency::Weekly)
                .languages(["ukr"]),
        )
        .await
        .unwrap();
    let seen = requests(&server).await;
    assert_request(&seen[0], "POST", "/api/2/collections", &[]);
    assert_eq!(header(&seen[0], "content-type"), Some("application/json"));
    assert_eq!(
        body(&seen[0]),
        json!({"label": "Leak 2026 (fixtures)", "foreign_id": "fixtures-1", "category": "leak",
               "countries": ["ua"], "casefile": false})
    );
    assert_request(&seen[1], "POST", "/api/2/collections/4", &[]);
    assert_eq!(
        body(&seen[1]),
        json!({"label": "é".repeat(500), "summary": "Renamed", "category": "other",
               "frequency": "weekly", "languages": ["ukr"]})
    );
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn delete_reingest_reindex_status_cancel_and_touch() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/4/status"))
        .respond_with(ok_json(
            json!({"finished": 3, "running": 1, "pending": 2, "jobs": [{"job_id": "j1",
                "finished": 3, "running": 1, "pending": 2, "stages": [{"job_id": "j1",
                "stage": "ingest", "finished": 3, "running": 1, "pending": 2}]}]})
            .to_string(),
        ))
        .mount(&server)
        .await;
    let c = client(&server).collections();
    c.delete("4").await.unwrap();
    c.delete("4").sync(false).keep_metadata(true).await.unwrap();
    c.reingest("4").await.unwrap();
    c.reingest("4").index(true).await.unwrap();
    c.reindex("4").flush(true).await.unwrap();
    let status = c.status("4").await.unwrap();
    c.cancel("4").await.unwrap();
    c.touch("4").await.unwrap();

    let t = status.tasks;
    assert_eq!((t.finished, t.running, t.pending), (3, 1, 2));
    assert!(t.is_active());
    assert_eq!(status.jobs[0].stages[0].stage.as_deref(), Some("ingest"));

    let seen = requests(&server).await;
    let expected: [Expected; 8] = [
        ("DELETE", "/api/2/collections/4", &[]),
        (
            "DELETE",
            "/api/2/collections/4",
            &[("sync", "false"), ("keep_metadata", "true")],
        ),
        ("POST", "/api/2/collections/4/reingest", &[]),
        (
            "POST",
            "/api/2/collections/4/reingest",
            &[("index", "true")],
        ),
        ("POST", "/api/2/collections/4/reindex", &[("flush", "true")]),
        ("GET", "/api/2/collections/4/status", &[]),
        ("DELETE", "/api/2/collections/4/status", &[]),
        ("POST", "/api/2/collections/4/touch", &[]),
    ];
    assert_eq!(seen.len(), expected.len());
    for (req, (m, p, q)) in seen.iter().zip(expected) {
        assert_request(req, m, p, q);
        assert!(req.body.is_empty(), "{m} {p} sent a body");
    }

    // What the servers send today: Aleph 4.1.6 its stages at the top (servicelayer
    // `Dataset.get_status`), OpenAleph 5 Procrastinate's counters (`todo`, `doing`, ...), which
    // read as all zeros, an idle collection, before.
    let aleph_416 = json!({"finished": 120, "running": 2, "pending": 37,
        "stages": [{"job_id": "", "stage": "ingest", "pending": 30, "running": 2, "finished": 100}],
        "start_time": "2025-08-01T10:00:00.123456", "last_update": null});
    // openaleph-procrastinate `model.py`: batches -> queues -> tasks, each with the counters.
    let counters = |todo: u64, doing: u64, finished: u64| {
        json!({"todo": todo, "doing": doing, "succeeded": finished, "failed": 0, "aborted": 0,
               "aborting": 0, "cancelled": 0, "finished": finished})
    };
    let queue = |name: &str, todo, doing, finished| {
        let mut q = counters(todo, doing, finished);
        q["name"] = json!(name);
        q["tasks"] = json!([{"name": format!("aleph.procrastinate.tasks.{name}"), "todo": todo}]);
        q
    };
    let openaleph = json!({"todo": 37, "doing": 2, "succeeded": 118, "failed": 2, "aborted": 0,
    "aborting": 0, "cancelled": 0, "total": 159, "active": 39, "finished": 120,
    "remaining_time": "PT1M33S", "took": "PT5M", "name": "collection_12", "batches": [
        {"name": "default", "todo": 30, "doing": 2, "finished": 100,
         "queues": [queue("ingest", 30, 2, 90), queue("index", 0, 0, 10)]},
        {"name": "upload-7", "todo": 7, "finished": 20,
         "queues": [queue("ingest", 7, 0, 20)]}
    ]});
    for (id, body) in [("5", &aleph_416), ("6", &openaleph)] {
        Mock::given(method("GET"))
            .and(path(format!("/api/2/collections/{id}/status")))
            .respond_with(ok_json(body.to_string()))
            .mount(&server)
            .await;
    }
    let status = c.status("5").await.unwrap();
    assert_eq!(status.stages[0].tasks.pending, 30);
    assert!(status.tasks.is_active());
    let aleph_stages = status.stage_counts();
    assert_eq!(aleph_stages.len(), 1);
    assert_eq!(
        (aleph_stages[0].0.as_str(), aleph_stages[0].1.pending),
        ("ingest", 30)
    );
    let status = c.status("6").await.unwrap();
    let t = status.tasks;
    assert_eq!(
        (t.finished, t.running, t.pending, t.failed),
        (120, 2, 37, 2)
    );
    assert!(t.is_active(), "work is going on");
    assert_eq!(status.remaining_time.as_deref(), Some("PT1M33S"));
    // The queues of both batches, added up per stage, in the server's order.
    let stages: Vec<(String, u64, u64, u64)> = status
        .stage_counts()
        .into_iter()
        .map(|(name, t)| (name, t.pending, t.running, t.finished))
        .collect();
    assert_eq!(
        stages,
        [("ingest".into(), 37, 2, 110), ("index".into(), 0, 0, 10)]
    );
}

#[test]
fn the_status_fixture_decodes() {
    let status: casefile::aleph::CollectionStatus =
        serde_json::from_str(&fixture("status_get.json")).unwrap();
    let t = status.tasks;
    assert_eq!((t.finished, t.running, t.pending), (0, 0, 0));
    assert!(!t.is_active());
    assert!(status.jobs.is_empty());
}

#[tokio::test]
async fn ids_stay_one_path_segment_or_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(fixture("collection_get.json")))
        .mount(&server)
        .await;
    let aleph = client(&server);
    for bad in ["", ".", ".."] {
        let err = aleph.collections().get(bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{bad:?}: {err}");
        let err = aleph.mappings().list(bad).result_set().await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{bad:?}: {err}");
    }
    assert!(requests(&server).await.is_empty());
    aleph.collections().get("1/../2?x").await.unwrap();
    let req = only_request(&server).await;
    assert_eq!(req.url.path(), "/api/2/collections/1%2F..%2F2%3Fx");
}

/// A request expected: method, path and query pairs.
type Expected = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// One Aleph error answer and what casefile must make of it.
struct Case {
    status: u16,
    body: String,
    content_type: &'static str,
    kind: ErrorKind,
    message: &'static str,
    fields: &'static [(&'static str, &'static str)],
}

#[tokio::test]
async fn every_error_shape_keeps_the_servers_words() {
    let html = |title: &str| {
        format!("<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>")
    };
    let cases = [
        Case { status: 404, body: fixture("error_not_found.json"), content_type: "application/json",
            kind: ErrorKind::NotFound, message: "This path does not exist.", fields: &[] },
        Case { status: 400, body: fixture("error_validation.json"), content_type: "application/json",
            kind: ErrorKind::Validation, message: "Error during data validation",
            fields: &[("label", "'x' is too short")] },
        Case { status: 401, body: fixture("error_bad_archive_token.json"), content_type: "application/json",
            kind: ErrorKind::Unauthorized, message: "Access token is invalid.", fields: &[] },
        // A bad or expired key makes the caller anonymous: the 403 lists only the guest role.
        Case { status: 403, body: fixture("error_forbidden_anonymous.json"), content_type: "application/json",
            kind: ErrorKind::Unauthorized,
            message: "You are not authorized to do this. (the request was anonymous: no API key was sent, or Aleph did not recognise it; an unknown, expired (keys expire 90 days after they are generated on Aleph 4.1) or regenerated key acts as anonymous instead of being refused)",
            fields: &[] },
        Case { status: 403, body: json!({"status": "error", "message": "You are not authorized to do this.",
                "roles": [1, 2, 3]}).to_string(), content_type: "application/json",
            kind: ErrorKind::Forbidden, message: "You are not authorized to do this.", fields: &[] },
        Case { status: 500, body: json!({"status": "error", "message": "We found 5 results, but could not load them due to a technical problem."}).to_string(),
            content_type: "application/json", kind: ErrorKind::Server,
            message: "We found 5 results, but could not load them due to a technical problem.", fields: &[] },
        Case { status: 413, body: html("413 Request Entity Too Large"), content_type: "text/html",
            kind: ErrorKind::Validation, message: "Payload Too Large", fields: &[] },
        Case { status: 429, body: html("429 Too Many Requests"), content_type: "text/html",
            kind: ErrorKind::RateLimited, message: "Too Many Requests", fields: &[] },
        Case { status: 502, body: html("502 Bad Gateway"), content_type: "text/html",
            kind: ErrorKind::Server, message: "Bad Gateway", fields: &[] },
        Case { status: 504, body: html("504 Gateway Time-out"), content_type: "text/html",
            kind: ErrorKind::Server, message: "Gateway Timeout", fields: &[] },
    ];
    for case in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(case.status)
                    .set_body_raw(case.body.clone(), case.content_type),
            )
            .mount(&server)
            .await;
        let aleph = Client::builder()
            .base_url(server.uri())
            .api_key(KEY)
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let err = aleph.collections().get("1").await.unwrap_err();
        let api = err
            .api()
            .unwrap_or_else(|| panic!("{}: not an API error: {err}", case.status));
        assert_eq!(api.status, case.status);
        assert_eq!(api.kind, case.kind, "{}", case.status);
        assert_eq!(api.message, case.message, "{}", case.status);
        let fields: Vec<(&str, &str)> = api
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(fields, case.fields, "{}", case.status);
        assert_eq!(api.method, "GET");
        assert!(api.url.ends_with("/api/2/collections/1"), "{}", api.url);
        assert!(
            api.body.starts_with(&case.body[..20.min(case.body.len())]),
            "{}",
            case.status
        );
        assert!(!err.to_string().contains(KEY));
    }
}
