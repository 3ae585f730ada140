//! The Atlas client against local HTTP servers: every operation's exact request, the Atlas REST
//! conventions (error body, envelope, numbered pages, 429, client-side rate limit), Bearer and
//! Digest authentication, and the `atlas_export` example.
#![cfg(feature = "atlas")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use casefile::atlas::{
    AnnotationContent, AnnotationType, AttachmentType, BboxContent, BoundingBox, Client,
    NewAnnotation, TagValue,
};
use casefile::{Error, ErrorKind, PageToken, RateLimit, RetryPolicy};
use chrono::{TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::atlas::{TOKEN, client, fixture, fixture_with_status};
use crate::support::digest::{DigestGate, digest_server};
use crate::support::local::{Answer, LocalServer};
use crate::support::{assert_invalid, example, fixture_text, header, quick_retries};

const ID: &str = "e52a9631-e38f-4e77-8c08-38001a80ad36";
const ZERO_ID: &str = "00000000-0000-0000-0000-000000000000";

fn query(req: &Request) -> Vec<(String, String)> {
    req.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn query_value(req: &Request, name: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn body_json(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

/// The one request the server received, asserted to carry the Bearer token.
async fn only_request(server: &MockServer) -> Request {
    let mut all = received(server).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let req = all.remove(0);
    assert_eq!(
        header(&req, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(header(&req, "accept"), Some("application/json"));
    req
}

/// A synthetic attachment number `i`.
fn attachment(i: usize) -> Value {
    json!({
        "attachment_id": format!("00000000-0000-4000-8000-{i:012}"),
        "attachment_name": format!("file-{i}.csv"),
        "attachment_type": "csv",
        "attachment_title": format!("Attachment {i}"),
        "attachment_description": null,
        "attachment_citation": null,
        "attachment_source_session_id": null,
        "attachment_created_by": "atlas",
        "attachment_created_at": "2026-01-12T16:06:42Z",
        "is_visible": true
    })
}

/// A numbered page of `total` synthetic attachments, in the shape of `attachments_paged.json`
/// (`results_shape`: the Atlas REST `{totalCount, results, links}` instead).
fn numbered_page(req: &Request, total: usize, results_shape: bool) -> ResponseTemplate {
    let page: usize = query_value(req, "pageNum").unwrap().parse().unwrap();
    let size: usize = query_value(req, "itemsPerPage").unwrap().parse().unwrap();
    let from = (page - 1) * size;
    let items: Vec<Value> = (from..(from + size).min(total)).map(attachment).collect();
    let link = |p: usize| {
        format!("https://api.example.org/api/v1/attachments?itemsPerPage={size}&pageNum={p}")
    };
    let mut links = vec![json!({"rel": "self", "href": link(page)})];
    if from + size < total {
        links.push(json!({"rel": "next", "href": link(page + 1)}));
    }
    let body = if results_shape {
        json!({"totalCount": total, "results": items, "links": links})
    } else {
        json!({"items": items, "count": total, "totalCount": total, "links": links})
    };
    ResponseTemplate::new(200).set_body_json(body)
}

fn id_of(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

// ---------------------------------------------------------------------------------------------
// Attachments

#[tokio::test]
async fn list_sends_every_filter_and_reads_items_and_count() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/attachments"))
        .respond_with(fixture("attachments_list.json"))
        .mount(&server)
        .await;
    let after = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let before = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 30).unwrap();
    let all: Vec<_> = client(&server)
        .attachments()
        .list()
        .session_id("6555d8f0-00f3-4b62-a169-b2c8da9f3dcd")
        .attachment_type("csv")
        .created_after(after)
        .created_before(before)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 12);
    // `count` is the total: one request, no second page asked for.
    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(req.url.path(), "/api/v1/attachments");
    assert_eq!(
        query(&req),
        [
            ("session_id", "6555d8f0-00f3-4b62-a169-b2c8da9f3dcd"),
            ("attachment_type", "csv"),
            ("created_after", "2026-01-01T00:00:00Z"),
            ("created_before", "2026-12-31T23:59:30Z"),
            ("pageNum", "1"),
            ("itemsPerPage", "100"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    assert!(req.body.is_empty());

    let first = &all[0];
    assert_eq!(first.attachment_id.unwrap().to_string(), ID);
    assert_eq!(first.attachment_type, AttachmentType::Csv);
    assert_eq!(
        first.attachment_title.as_deref(),
        Some("Telemetry capture 4")
    );
    assert_eq!(
        first.attachment_created_at,
        Utc.with_ymd_and_hms(2026, 12, 6, 1, 53, 28).unwrap()
    );
    assert!(first.is_visible);
    let eighth = &all[7];
    assert_eq!(eighth.attachment_type, AttachmentType::Png);
    assert_eq!(eighth.attachment_source_session_id, None);
    assert_eq!(eighth.attachment_created_at.timestamp_subsec_millis(), 181);
    assert_eq!(all[6].attachment_title.as_deref(), Some("Résumé of run 8"));
}

#[tokio::test]
async fn numbered_pages_are_followed_through_next_links() {
    let server = MockServer::start().await;
    // Page 1 is the recorded fixture; pages 2 and 3 continue it.
    Mock::given(method("GET"))
        .and(path("/api/v1/attachments"))
        .respond_with(|req: &Request| match query_value(req, "pageNum").as_deref() {
            Some("1") => fixture("attachments_paged.json"),
            _ => {
                let page: usize = query_value(req, "pageNum").unwrap().parse().unwrap();
                let items: Vec<Value> = ((page - 1) * 5..(page * 5).min(12)).map(attachment).collect();
                let mut links = vec![json!({"rel": "previous", "href": "https://api.example.org/api/v1/attachments?pageNum=1"})];
                if page * 5 < 12 {
                    links.push(json!({"rel": "next", "href": format!("https://api.example.org/api/v1/attachments?itemsPerPage=5&pageNum={}", page + 1)}));
                }
                ResponseTemplate::new(200).set_body_json(json!({"items": items, "count": 12, "totalCount": 12, "links": links}))
            }
        })
        .mount(&server)
        .await;
    let mut pages = client(&server).attachments().list().page_size(5).pages();
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(first.items.len(), 5);
    assert_eq!(first.total, Some(12));
    assert_eq!(first.next, Some(PageToken::Number { page: 2, size: 5 }));
    assert_eq!(first.items[4].attachment_name, "capture-3.bin");
    let rest: Vec<_> = pages.try_collect().await.unwrap();
    assert_eq!(
        rest.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [5, 2]
    );
    assert_eq!(rest[1].next, None);
    assert_eq!(
        rest[1].items[1].attachment_id.unwrap().to_string(),
        id_of(11)
    );

    let asked: Vec<_> = received(&server).await.iter().map(query).collect();
    let expect = |page: &str| {
        vec![
            ("pageNum".to_owned(), page.to_owned()),
            ("itemsPerPage".to_owned(), "5".to_owned()),
        ]
    };
    assert_eq!(asked, [expect("1"), expect("2"), expect("3")]);
}

#[tokio::test]
async fn results_pages_with_a_total_are_fetched_concurrently_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/attachments"))
        .respond_with(|req: &Request| numbered_page(req, 23, true))
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .attachments()
        .list()
        .page_size(5)
        .stream()
        .concurrency(3)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<String> = all
        .iter()
        .map(|a| a.attachment_id.unwrap().to_string())
        .collect();
    assert_eq!(ids, (0..23).map(id_of).collect::<Vec<_>>());
    let mut pages: Vec<String> = received(&server)
        .await
        .iter()
        .map(|r| query_value(r, "pageNum").unwrap())
        .collect();
    pages.sort();
    assert_eq!(pages, ["1", "2", "3", "4", "5"], "each page exactly once");
}

#[tokio::test]
async fn bad_list_arguments_are_refused_before_sending() {
    let server = MockServer::start().await;
    let atlas = client(&server);
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let lists = [
        (atlas.attachments().list().page_size(0), "page_size"),
        (atlas.attachments().list().page_size(501), "page_size"),
        (atlas.attachments().list().session_id(" "), "session_id"),
        (
            atlas
                .attachments()
                .list()
                .created_after(t)
                .created_before(t),
            "created_after",
        ),
    ];
    for (list, expected) in lists {
        let err = list.first_page().await.unwrap_err();
        assert_invalid(&err, expected);
    }
    assert!(
        atlas
            .attachments()
            .list()
            .page_size(500)
            .stream()
            .next()
            .await
            .unwrap()
            .is_err(),
        "no server route: the request went out and failed"
    );
    assert_eq!(
        received(&server).await.len(),
        1,
        "only the valid listing was sent"
    );
}

#[tokio::test]
async fn get_reads_the_content_payload_and_the_storage_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/attachments/{ID}")))
        .respond_with(fixture("attachment_get.json"))
        .mount(&server)
        .await;
    let details = client(&server).attachments().get(ID).await.unwrap();
    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(req.url.path(), format!("/api/v1/attachments/{ID}"));
    assert_eq!(req.url.query(), None);
    assert!(req.body.is_empty());
    assert_eq!(details.attachment.attachment_name, "table-4.csv");
    assert_eq!(
        details.s3_url.as_deref(),
        Some("s3://atlas-bucket/e52a9631-e38f-4e77-8c08-38001a80ad36/table-4.csv")
    );
    let content = details.attachment_content.unwrap();
    assert_eq!(content["columns"][2], "power_dbm");
    assert_eq!(content["rows"][1], json!([0.5, 2.6623, -65.73, "spur"]));
}

#[tokio::test]
async fn ids_are_one_path_segment_and_empty_ids_are_refused() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(fixture("attachment_get.json"))
        .mount(&server)
        .await;
    let atlas = client(&server);
    atlas.attachments().get("a/../b").await.unwrap();
    let err = atlas.attachments().get("").await.unwrap_err();
    assert_invalid(&err, "attachment_id");
    let err = atlas.attachments().export("..").await.unwrap_err();
    assert_invalid(&err, "attachment_id");
    let req = only_request(&server).await;
    assert_eq!(req.url.path(), "/api/v1/attachments/a%2F..%2Fb");
}

#[tokio::test]
async fn update_sends_only_the_fields_set_and_null_for_a_cleared_one() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/v1/attachments/{ID}")))
        .respond_with(fixture("attachment_patch.json"))
        .mount(&server)
        .await;
    let atlas = client(&server);
    let updated = atlas
        .attachments()
        .update(ID)
        .title("Telemetry")
        .clear_citation()
        .await
        .unwrap();
    assert_eq!(
        updated.attachment.attachment_title.as_deref(),
        Some("Telemetry")
    );
    assert_eq!(updated.attachment.attachment_citation, None);
    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "PATCH");
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(
        String::from_utf8(req.body.clone()).unwrap(),
        r#"{"attachment_title":"Telemetry","attachment_citation":null}"#
    );

    atlas
        .attachments()
        .update(ID)
        .visible(false)
        .description("d")
        .clear_title()
        .await
        .unwrap();
    let all = received(&server).await;
    assert_eq!(
        body_json(&all[1]),
        json!({"attachment_title": null, "attachment_description": "d", "is_visible": false})
    );

    let err = atlas.attachments().update(ID).await.unwrap_err();
    assert_invalid(&err, "update");
    assert_eq!(
        received(&server).await.len(),
        2,
        "an empty update is not sent"
    );
}

#[tokio::test]
async fn an_invalid_field_400_names_the_field() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(fixture_with_status("error_invalid_attribute.json", 400))
        .mount(&server)
        .await;
    let err = client(&server)
        .attachments()
        .update(ID)
        .title("x")
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 400);
    assert_eq!(api.kind, ErrorKind::Validation);
    assert_eq!(api.code.as_deref(), Some("INVALID_ATTRIBUTE"));
    assert_eq!(api.parameters, ["colour"]);
    assert_eq!(api.fields["colour"], "Invalid attribute colour specified.");
    assert_eq!(api.method, "PATCH");
    assert!(err.to_string().contains("colour"));
    assert!(!format!("{err:?}").contains(TOKEN));
}

#[tokio::test]
async fn the_error_body_keeps_code_and_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(fixture_with_status("error_not_found.json", 404))
        .mount(&server)
        .await;
    let err = client(&server)
        .attachments()
        .get(ZERO_ID)
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 404);
    assert_eq!(api.kind, ErrorKind::NotFound);
    assert_eq!(
        api.message,
        "No attachment with id 00000000-0000-0000-0000-000000000000 exists."
    );
    assert_eq!(api.code.as_deref(), Some("RESOURCE_NOT_FOUND"));
    assert_eq!(api.parameters, [ZERO_ID]);
    assert!(api.url.ends_with(&format!("/api/v1/attachments/{ZERO_ID}")));
}

#[tokio::test]
async fn envelope_mode_asks_for_envelopes_and_unwraps_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/attachments/{ZERO_ID}")))
        .respond_with(fixture("envelope_not_found.json"))
        .mount(&server)
        .await;
    let get: Value =
        serde_json::from_str(include_str!("../fixtures/atlas/attachment_get.json")).unwrap();
    let list: Value =
        serde_json::from_str(include_str!("../fixtures/atlas/attachments_list.json")).unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/attachments/{ID}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status": 200, "content": get})),
        )
        .mount(&server)
        .await;
    let mut enveloped_list = list.clone();
    enveloped_list["status"] = json!(200);
    Mock::given(method("GET"))
        .and(path("/api/v1/attachments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(enveloped_list))
        .mount(&server)
        .await;
    let atlas = Client::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .envelope(true)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    // HTTP said 200; the envelope said 404.
    let err = atlas.attachments().get(ZERO_ID).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 404);
    assert_eq!(api.kind, ErrorKind::NotFound);
    assert_eq!(api.code.as_deref(), Some("RESOURCE_NOT_FOUND"));
    assert_eq!(api.parameters, [ZERO_ID]);

    let details = atlas.attachments().get(ID).await.unwrap();
    assert_eq!(details.attachment.attachment_name, "table-4.csv");
    let all: Vec<_> = atlas
        .attachments()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 12);

    let seen = received(&server).await;
    assert_eq!(seen.len(), 3);
    for req in &seen {
        assert_eq!(
            query_value(req, "envelope").as_deref(),
            Some("true"),
            "{}",
            req.url
        );
    }
    assert_eq!(seen[0].url.query(), Some("envelope=true"));
}

#[tokio::test]
async fn export_posts_and_returns_the_presigned_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/attachments/{ID}/export")))
        .respond_with(fixture("attachment_export.json"))
        .mount(&server)
        .await;
    let export = client(&server).attachments().export(ID).await.unwrap();
    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.query(), None);
    assert!(req.body.is_empty());
    let url = export.url().unwrap();
    assert_eq!(url.host_str(), Some("storage.example.org"));
    assert_eq!(
        export
            .presigned_url
            .as_ref()
            .map(casefile::SignedUrl::expose),
        Some(
            "https://storage.example.org/atlas/e52a9631-e38f-4e77-8c08-38001a80ad36/table-4.csv?sig=001f249d183115cb722c2758d2b551af"
        )
    );
}

/// An API server whose export answers a presigned URL on `storage`, and the storage server.
async fn api_and_storage() -> (MockServer, MockServer) {
    let api = MockServer::start().await;
    let storage = MockServer::start().await;
    let storage_uri = storage.uri();
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/attachments/{ID}/export")))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200).set_body_json(json!({
                "presigned_url": format!("{storage_uri}/atlas/{ID}/table-4.csv?sig=001f249d")
            }))
        })
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/atlas/{ID}/table-4.csv")))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("t_s,freq_ghz\n0.0,1.733\n", "text/csv"),
        )
        .mount(&storage)
        .await;
    (api, storage)
}

#[tokio::test]
async fn download_fetches_the_presigned_url_without_atlas_credentials() {
    let (api, storage) = api_and_storage().await;
    let atlas = client(&api);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("table-4.csv");
    let written = atlas.attachments().download(ID).save(&file).await.unwrap();
    assert_eq!(written, 23);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "t_s,freq_ghz\n0.0,1.733\n"
    );
    assert!(!dir.path().join("table-4.csv.part").exists());

    // As a stream too.
    let stream = atlas.attachments().download(ID).await.unwrap();
    let bytes: Vec<u8> = stream
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert_eq!(bytes, b"t_s,freq_ghz\n0.0,1.733\n");

    let at_api = received(&api).await;
    assert_eq!(at_api.len(), 2);
    for req in &at_api {
        assert_eq!(req.method.as_str(), "POST");
        assert_eq!(
            header(req, "authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    let at_storage = received(&storage).await;
    assert_eq!(at_storage.len(), 2);
    for req in &at_storage {
        assert!(
            req.headers.get("authorization").is_none(),
            "{:?}",
            req.headers
        );
        assert_eq!(req.url.query(), Some("sig=001f249d"));
    }
}

#[tokio::test]
async fn a_missing_presigned_url_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"presigned_url": null})))
        .mount(&server)
        .await;
    let err = client(&server)
        .attachments()
        .download(ID)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode(d) if d.path == "presigned_url"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Annotations

/// A server that pages annotations as the Atlas REST conventions page lists is followed, at its
/// own page size, to the announced total; the first request names no page (the seed answers a
/// bare array, `annotations_list.json`).
#[tokio::test]
async fn annotations_paged_by_the_server_are_followed_to_the_end() {
    let server = MockServer::start().await;
    let all: Vec<Value> =
        serde_json::from_value(crate::support::fixture_json("atlas/annotations_list.json"))
            .unwrap();
    let route = format!("/api/v1/attachments/{ID}/annotations");
    let second = format!("{route}?pageNum=2&itemsPerPage=2");
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(wiremock::matchers::query_param("pageNum", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": all.len(), "results": all[2..],
            "links": [{"rel": "previous", "href": route}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": all.len(), "results": all[..2],
            "links": [{"rel": "next", "href": second}]
        })))
        .mount(&server)
        .await;
    let annotations: Vec<_> = client(&server)
        .attachments()
        .annotations(ID)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(annotations.len(), all.len());
    let ids: Vec<&str> = all.iter().map(|a| a["uuid"].as_str().unwrap()).collect();
    let got: Vec<&str> = annotations.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(got, ids);
    let queries: Vec<Option<String>> = received(&server)
        .await
        .iter()
        .map(|r| r.url.query().map(str::to_owned))
        .collect();
    assert_eq!(queries, [None, Some("pageNum=2&itemsPerPage=2".to_owned())]);
}

#[tokio::test]
async fn annotations_of_an_attachment_are_typed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/attachments/{ID}/annotations")))
        .respond_with(fixture("annotations_list.json"))
        .mount(&server)
        .await;
    let annotations = client(&server)
        .attachments()
        .annotations(ID)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(req.url.query(), None);
    assert_eq!(annotations.len(), 3);
    let first = &annotations[0];
    assert_eq!(first.id, "e53c1a96-fbf1-4ab5-9782-3409c943ace4");
    assert_eq!(first.attachment_id.unwrap().to_string(), ID);
    assert_eq!(first.annotation_type, AnnotationType::Bbox);
    let bbox = first.annotation_content.as_bbox().unwrap();
    assert_eq!(
        (bbox.page_width, bbox.page_height, bbox.page_number),
        (1920.0, 1080.0, 0)
    );
    assert_eq!(bbox.content.len(), 3);
    assert_eq!(bbox.content[0].label, "Check this");
    assert_eq!(bbox.content[0].x, 425.63);
    assert_eq!(bbox.content[0].tags["kind"], TagValue::Text("spur".into()));
    assert_eq!(bbox.content[2].tags["verified"], TagValue::Bool(true));
    assert!(bbox.check().is_ok());
    assert_eq!(annotations[2].id, "854d11a9-591d-454b-bf3f-aacb50656ac2");
}

#[tokio::test]
async fn create_sends_a_checked_bbox_annotation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/annotations"))
        .respond_with(fixture("annotation_create.json"))
        .mount(&server)
        .await;
    let page = BboxContent::new(612.0, 792.0, 0).bbox(
        BoundingBox::new("Figure 1", 72.0, 100.0, 200.0, 150.0)
            .tag("kind", "figure")
            .tag("verified", false),
    );
    let created = client(&server)
        .annotations()
        .create(ID, page)
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(req.url.query(), None);
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(
        body_json(&req),
        json!({
            "attachment_id": ID,
            "annotation_type": "bbox",
            "annotation_content": {
                "page_width": 612.0,
                "page_height": 792.0,
                "page_number": 0,
                "content": [{
                    "tags": {"kind": "figure", "verified": false},
                    "label": "Figure 1",
                    "x": 72.0, "y": 100.0, "width": 200.0, "height": 150.0
                }]
            }
        })
    );
    // The create answer names the id `annotation_id`.
    assert_eq!(created.id, "854d11a9-591d-454b-bf3f-aacb50656ac2");
    assert_eq!(created.annotation_type, AnnotationType::Bbox);
    let bbox = created.annotation_content.as_bbox().unwrap();
    assert_eq!(bbox.content[0].width, 200.0);
    assert_eq!(
        bbox.content[0].tags["kind"],
        TagValue::Text("figure".into())
    );
}

#[tokio::test]
async fn create_sends_a_path_annotation_as_given() {
    let server = MockServer::start().await;
    let content = json!({
        "page_width": 612, "page_height": 792, "page_number": 2,
        "content": [{"label": "outline", "tags": {"k": "v"}, "points": [[10, 10], [40.5, 60], [12, 80]], "closed": true}]
    });
    let answer = json!({
        "attachment_id": ID,
        "annotation_id": "0b7c2f8e-3f7e-4d55-9d8c-8f1e2a3b4c5d",
        "annotation_type": "path",
        "annotation_content": content,
    });
    Mock::given(method("POST"))
        .and(path("/api/v1/annotations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let created = client(&server)
        .annotations()
        .create(ID, NewAnnotation::Path(content.clone()))
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(
        body_json(&req),
        json!({"attachment_id": ID, "annotation_type": "path", "annotation_content": content})
    );
    assert_eq!(created.annotation_type, AnnotationType::Path);
    assert_eq!(
        created.annotation_content,
        AnnotationContent::Other(content)
    );
    assert_eq!(created.id, "0b7c2f8e-3f7e-4d55-9d8c-8f1e2a3b4c5d");
}

#[tokio::test]
async fn bad_annotations_are_refused_before_sending() {
    let server = MockServer::start().await;
    let atlas = client(&server);
    let good = || BoundingBox::new("ok", 10.0, 10.0, 50.0, 50.0);
    let page = |w: f64, h: f64, b: BoundingBox| BboxContent::new(w, h, 0).bbox(b);
    let cases: Vec<(NewAnnotation, &str)> = vec![
        (page(0.0, 100.0, good()).into(), "page size"),
        (page(100.0, -1.0, good()).into(), "page size"),
        (page(f64::NAN, 100.0, good()).into(), "page size"),
        (BboxContent::new(100.0, 100.0, 0).into(), "content"),
        (
            page(100.0, 100.0, BoundingBox::new(" ", 1.0, 1.0, 5.0, 5.0)).into(),
            "label",
        ),
        (
            page(100.0, 100.0, BoundingBox::new("w", 1.0, 1.0, 0.0, 5.0)).into(),
            "bbox",
        ),
        (
            page(100.0, 100.0, BoundingBox::new("h", 1.0, 1.0, 5.0, -5.0)).into(),
            "bbox",
        ),
        (
            page(
                100.0,
                100.0,
                BoundingBox::new("right", 60.0, 1.0, 50.0, 5.0),
            )
            .into(),
            "bbox",
        ),
        (
            page(100.0, 100.0, BoundingBox::new("below", 1.0, 99.0, 5.0, 5.0)).into(),
            "bbox",
        ),
        (
            page(100.0, 100.0, BoundingBox::new("left", -1.0, 1.0, 5.0, 5.0)).into(),
            "bbox",
        ),
        (
            page(100.0, 100.0, good().tag("n", TagValue::Other(json!(3)))).into(),
            "tags",
        ),
        (NewAnnotation::Path(json!([1, 2])), "annotation_content"),
    ];
    for (annotation, argument) in cases {
        let err = atlas
            .annotations()
            .create(ID, annotation)
            .await
            .unwrap_err();
        assert_invalid(&err, argument);
    }
    let err = atlas
        .annotations()
        .create("", page(100.0, 100.0, good()))
        .await
        .unwrap_err();
    assert_invalid(&err, "attachment_id");
    assert!(received(&server).await.is_empty(), "nothing was sent");
}

// ---------------------------------------------------------------------------------------------
// Rate limits

fn rate_limited_body() -> Value {
    json!({
        "error": 429, "reason": "Too Many Requests",
        "detail": "Too many requests: 100 per minute per group.",
        "errorCode": "RATE_LIMITED", "parameters": []
    })
}

fn rate_limited(retry_after: Option<&str>) -> ResponseTemplate {
    let t = ResponseTemplate::new(429).set_body_json(rate_limited_body());
    match retry_after {
        Some(v) => t.insert_header("Retry-After", v),
        None => t,
    }
}

#[tokio::test]
async fn a_429_is_reported_with_and_without_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path(format!("/api/v1/attachments/{ID}")))
        .respond_with(rate_limited(Some("7")))
        .mount(&server)
        .await;
    Mock::given(path(format!("/api/v1/attachments/{ZERO_ID}")))
        .respond_with(rate_limited(None))
        .mount(&server)
        .await;
    let atlas = client(&server);
    let with = atlas.attachments().get(ID).await.unwrap_err();
    let api = with.api().unwrap();
    assert_eq!(api.kind, ErrorKind::RateLimited);
    assert_eq!(api.code.as_deref(), Some("RATE_LIMITED"));
    assert_eq!(api.retry_after, Some(Duration::from_secs(7)));
    let without = atlas.attachments().get(ZERO_ID).await.unwrap_err();
    let api = without.api().unwrap();
    assert_eq!(api.kind, ErrorKind::RateLimited);
    assert_eq!(api.retry_after, None);
    assert_eq!(api.message, "Too many requests: 100 per minute per group.");
}

// Paused clock: the Retry-After second passes at once, and is measured exactly.
#[tokio::test(start_paused = true)]
async fn a_429_is_retried_even_for_post_with_and_without_retry_after() {
    let server = LocalServer::start(|n| match n {
        0 => Answer::json(429, rate_limited_body().to_string()).header("Retry-After", "1"),
        1 => Answer::json(429, rate_limited_body().to_string()),
        _ => Answer::json(200, fixture_text("atlas/attachment_export.json")),
    })
    .await;
    let atlas = Client::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .retry(quick_retries())
        .build()
        .unwrap();
    let export = atlas.attachments().export(ID).await.unwrap();
    assert!(export.presigned_url.is_some());
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 3, "two 429s, then the answer");
    assert!(arrivals.iter().all(|a| a.line.starts_with("POST ")));
    assert!(arrivals[1].at - arrivals[0].at >= Duration::from_secs(1));
}

// Paused clock: the limiter and the server read the same clock, so the check needs no slack
// for loopback scheduling, and the three windows pass at once.
#[tokio::test(start_paused = true)]
async fn the_client_side_limiter_keeps_a_burst_under_the_rate() {
    let server =
        LocalServer::start(|_| Answer::json(200, fixture_text("atlas/attachment_get.json"))).await;
    let window = Duration::from_millis(300);
    let atlas = Client::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .rate_limit(RateLimit::new(3, window))
        .build()
        .unwrap();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let atlas = atlas.clone();
            tokio::spawn(async move { atlas.attachments().get(ID).await.unwrap() })
        })
        .collect();
    for call in calls {
        call.await.unwrap();
    }
    let times: Vec<_> = server.arrivals().iter().map(|a| a.at).collect();
    assert_eq!(times.len(), 10);
    // No four arrivals within one window.
    for w in times.windows(4) {
        assert!(w[3] - w[0] >= window, "{:?}", w[3] - w[0]);
    }
}

#[test]
fn the_default_limit_is_100_a_minute_and_can_be_turned_off() {
    let limited = Client::builder()
        .base_url("https://atlas.example.org")
        .token(TOKEN)
        .build()
        .unwrap();
    let debug = format!("{:?}", limited.transport());
    assert!(debug.contains("requests: 100, window: 60s"), "{debug}");
    assert!(!debug.contains(TOKEN));
    let free = Client::builder()
        .base_url("https://atlas.example.org")
        .no_rate_limit()
        .build()
        .unwrap();
    assert!(format!("{:?}", free.transport()).contains("rate_limit: None"));
    assert_eq!(
        limited.transport().api_base().as_str(),
        "https://atlas.example.org/api/v1/"
    );
}

// ---------------------------------------------------------------------------------------------
// Digest authentication

fn digest_client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .digest(DigestGate::USER, DigestGate::KEY)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Routes of the Atlas API used by the digest tests.
fn atlas_routes(req: &Request, _: &DigestGate) -> ResponseTemplate {
    match (req.method.as_str(), req.url.path()) {
        ("GET", "/api/v1/attachments") => numbered_page(req, 50, false),
        ("GET", p) if p.ends_with("/annotations") => fixture("annotations_list.json"),
        ("GET", _) => fixture("attachment_get.json"),
        ("PATCH", _) => fixture("attachment_patch.json"),
        ("POST", "/api/v1/annotations") => fixture("annotation_create.json"),
        ("POST", _) => fixture("attachment_export.json"),
        _ => ResponseTemplate::new(405),
    }
}

#[tokio::test]
async fn digest_costs_one_request_per_call_after_the_first() {
    let (server, gate) = digest_server(atlas_routes).await;
    let atlas = digest_client(&server);
    atlas.attachments().get(ID).await.unwrap();
    assert_eq!(gate.requests(), 2, "the challenge, then the signed request");
    for _ in 0..5 {
        atlas.attachments().get(ID).await.unwrap();
    }
    atlas
        .attachments()
        .update(ID)
        .title("Telemetry")
        .await
        .unwrap();
    atlas.attachments().export(ID).await.unwrap();
    atlas
        .attachments()
        .annotations(ID)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let page =
        BboxContent::new(612.0, 792.0, 0).bbox(BoundingBox::new("F", 72.0, 100.0, 200.0, 150.0));
    atlas.annotations().create(ID, page).await.unwrap();
    assert_eq!(
        gate.requests(),
        2 + 9,
        "one request per call after the first"
    );
    assert_eq!(gate.authorized.load(Ordering::SeqCst), 10);
    assert_eq!(
        gate.leaked.load(Ordering::SeqCst),
        0,
        "the API key never travels"
    );
    // The challenge the client answered is the recorded one, with its `+ / =` nonce.
    let seen = received(&server).await;
    let signed = header(&seen[1], "authorization").unwrap();
    assert!(
        signed.contains(r#"nonce="5Pst+jYAIMyCgh+7+6/CrxOY3M1G1nj0eg==""#),
        "{signed}"
    );
    assert!(
        signed.contains("qop=auth") && signed.contains("nc=00000001"),
        "{signed}"
    );
}

#[tokio::test]
async fn a_stale_nonce_mid_listing_costs_exactly_one_extra_request() {
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let (server, gate) = digest_server(move |req, gate| {
        // The server's nonce expires after the fourth page.
        if counter.fetch_add(1, Ordering::SeqCst) == 3 {
            gate.rotate("n2/Xy+k=");
        }
        numbered_page(req, 50, false)
    })
    .await;
    let atlas = digest_client(&server);
    let all: Vec<_> = atlas
        .attachments()
        .list()
        .page_size(5)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|a| a.attachment_id.unwrap().to_string())
            .collect::<Vec<_>>(),
        (0..50).map(id_of).collect::<Vec<_>>()
    );
    assert_eq!(gate.stale_answers.load(Ordering::SeqCst), 1);
    assert_eq!(
        gate.requests(),
        1 + 10 + 1,
        "the first challenge, ten pages, one stale answer"
    );
    let pages: Vec<String> = received(&server)
        .await
        .iter()
        .map(|r| query_value(r, "pageNum").unwrap())
        .collect();
    assert_eq!(
        pages,
        ["1", "1", "2", "3", "4", "5", "5", "6", "7", "8", "9", "10"],
        "page 5 is sent again with the new nonce"
    );
}

#[tokio::test]
async fn a_wrong_api_key_is_unauthorized_after_one_signed_attempt() {
    let (server, gate) = digest_server(atlas_routes).await;
    let atlas = Client::builder()
        .base_url(server.uri())
        .digest(DigestGate::USER, "wrong-key")
        .build()
        .unwrap();
    let err = atlas.attachments().get(ID).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.kind, ErrorKind::Unauthorized);
    assert_eq!(api.code.as_deref(), Some("NOT_ORG_GROUP_CREATOR"));
    assert_eq!(api.message, "You are not authorized for this resource.");
    assert_eq!(gate.requests(), 2);
    assert!(!format!("{err:?}").contains("wrong-key"));
}

#[tokio::test]
async fn download_with_digest_sends_nothing_to_the_storage_host() {
    let storage = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("PNG", "image/png"))
        .mount(&storage)
        .await;
    let storage_uri = storage.uri();
    let (server, gate) = digest_server(move |_, _| {
        ResponseTemplate::new(200).set_body_json(
            json!({"presigned_url": format!("{storage_uri}/f.png?X-Amz-Signature=abc")}),
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let n = digest_client(&server)
        .attachments()
        .download(ID)
        .save(dir.path().join("f.png"))
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(gate.requests(), 2);
    let at_storage = received(&storage).await;
    assert_eq!(at_storage.len(), 1);
    assert!(at_storage[0].headers.get("authorization").is_none());
}

// ---------------------------------------------------------------------------------------------
// The example

fn run_example(server: &MockServer, args: &[&str]) -> std::process::Output {
    std::process::Command::new(example("atlas_export"))
        .args(args)
        .env_remove("ATLAS_TOKEN")
        .env("ATLAS_URL", server.uri())
        .env("ATLAS_USERNAME", DigestGate::USER)
        .env("ATLAS_API_KEY", DigestGate::KEY)
        .output()
        .unwrap()
}

#[tokio::test]
async fn atlas_export_prints_120_lines_against_a_digest_server() {
    let (server, gate) = digest_server(|req, _| numbered_page(req, 120, false)).await;
    let out = run_example(
        &server,
        &[
            "--type",
            "csv",
            "--session",
            "6555d8f0-00f3-4b62-a169-b2c8da9f3dcd",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 120);
    for (i, line) in lines.iter().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[0], id_of(i));
        assert_eq!(fields[1], "csv");
        assert_eq!(fields[3], format!("file-{i}.csv"));
    }
    assert_eq!(gate.requests(), 1 + 2, "the challenge and two pages of 100");
    assert_eq!(gate.authorized.load(Ordering::SeqCst), 2);
    let seen = received(&server).await;
    assert_eq!(
        query_value(&seen[1], "attachment_type").as_deref(),
        Some("csv")
    );
    assert_eq!(
        query_value(&seen[1], "session_id").as_deref(),
        Some("6555d8f0-00f3-4b62-a169-b2c8da9f3dcd")
    );
}

#[tokio::test]
async fn atlas_export_downloads_each_file_into_the_directory() {
    let storage = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(|req: &Request| {
            ResponseTemplate::new(200)
                .set_body_raw(format!("bytes of {}", req.url.path()), "text/csv")
        })
        .mount(&storage)
        .await;
    let storage_uri = storage.uri();
    let (server, gate) = digest_server(move |req, _| match req.method.as_str() {
        "GET" => numbered_page(req, 3, false),
        _ => {
            let id = req.url.path_segments().unwrap().nth(3).unwrap().to_owned();
            ResponseTemplate::new(200)
                .set_body_json(json!({"presigned_url": format!("{storage_uri}/{id}?sig=s")}))
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = run_example(&server, &["--download", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);
    for i in 0..3 {
        let saved = std::fs::read_to_string(dir.path().join(format!("file-{i}.csv"))).unwrap();
        assert_eq!(saved, format!("bytes of /{}", id_of(i)));
    }
    assert_eq!(
        gate.requests(),
        1 + 1 + 1 + 3,
        "challenge, the page printed, the page read by download_all, three exports"
    );
    let at_storage = received(&storage).await;
    assert_eq!(at_storage.len(), 3);
    assert!(
        at_storage
            .iter()
            .all(|r| r.headers.get("authorization").is_none())
    );
}

#[test]
fn atlas_export_prints_help() {
    let out = std::process::Command::new(example("atlas_export"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("--download DIR")
    );
}

#[test]
fn no_secret_in_debug_output() {
    for builder in [
        Client::builder()
            .base_url("https://a.example.org")
            .token(TOKEN),
        Client::builder()
            .base_url("https://a.example.org")
            .digest("analyst", TOKEN),
    ] {
        assert!(!format!("{builder:?}").contains(TOKEN));
        let atlas = builder.build().unwrap();
        assert!(!format!("{atlas:?}").contains(TOKEN));
        assert!(!format!("{:?}", atlas.attachments().list()).contains(TOKEN));
    }
}
