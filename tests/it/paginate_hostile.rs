//! Listings against broken or hostile servers (issue 14, "Totals are untrusted", "Incomplete is
//! an error"): totals that lie, listings that stop early, cursors that repeat, offsets and page
//! numbers that go back, listings that never end, fetches that panic, and refused arguments.
//! Each case goes through the public list builders of a real platform client (Atlos cursors,
//! Aleph offsets, Atlas page numbers) where the platform can show it, and through a raw
//! `Paginator`. Servers are wiremock on 127.0.0.1; every loop is bounded.
#![cfg(all(feature = "atlos", feature = "aleph", feature = "atlas"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use casefile::{Error, Page, PageToken, Paginator, RetryPolicy};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Totals a server may claim: the largest number JSON can carry into a `u64`, and two that would
/// cost gigabytes if anything were sized by them.
const HUGE_TOTALS: [u64; 3] = [u64::MAX, 1_000_000_000, 10_000_000];

fn atlos(server: &MockServer) -> casefile::atlos::Client {
    casefile::atlos::Client::builder()
        .base_url(server.uri())
        .token("hostile-test-token")
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn aleph(server: &MockServer) -> casefile::aleph::Client {
    casefile::aleph::Client::builder()
        .base_url(server.uri())
        .api_key("hostile-test-key")
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn atlas(server: &MockServer) -> casefile::atlas::Client {
    casefile::atlas::Client::builder()
        .base_url(server.uri())
        .token("hostile-test-token")
        .retry(RetryPolicy::none())
        .no_rate_limit()
        .build()
        .unwrap()
}

fn param(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn number(request: &Request, name: &str) -> Option<u64> {
    param(request, name).and_then(|v| v.parse().ok())
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// An Atlos update (the smallest Atlos model).
fn update(i: u64) -> Value {
    json!({"id": format!("00000000-0000-4000-8000-{i:012}"), "type": "comment",
           "inserted_at": "2024-04-28T06:51:22"})
}

/// An Atlas attachment.
fn attachment(i: u64) -> Value {
    json!({"attachment_name": format!("table-{i}.csv"), "attachment_type": "csv",
           "attachment_created_at": "2026-01-05T10:00:00Z", "is_visible": true})
}

/// An Aleph alert.
fn alert(i: u64) -> Value {
    json!({"id": i.to_string(), "query": format!("query {i}")})
}

/// Serves `route` with `respond` and counts nothing else.
async fn serve(
    route: &str,
    respond: impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(respond)
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// What a stream gave: its items, and the error it ended with. Reads at most `bound` items (and
/// fails the test past them), and checks that nothing follows an error.
async fn drain<T>(
    stream: impl Stream<Item = casefile::Result<T>>,
    bound: usize,
) -> (Vec<T>, Option<Error>) {
    let mut stream = std::pin::pin!(stream);
    let mut items = Vec::new();
    for _ in 0..=bound {
        match stream.next().await {
            Some(Ok(item)) => items.push(item),
            Some(Err(e)) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after an error"
                );
                return (items, Some(e));
            }
            None => return (items, None),
        }
    }
    panic!("the stream gave more than {bound} items");
}

/// The message of a pagination error, or a failure naming what came instead.
fn pagination(error: Option<Error>) -> String {
    match error {
        Some(Error::Pagination(message)) => message,
        other => panic!("expected a pagination error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Totals are untrusted
// ---------------------------------------------------------------------------------------------

/// An Aleph listing (alerts: a database listing, no search window) of 250 items, 100 a page,
/// claiming `total` and a `next` link on every page.
async fn aleph_lying_total(total: u64) -> MockServer {
    serve("/api/2/alerts", move |request| {
        let offset = number(request, "offset").unwrap_or(0);
        let limit = number(request, "limit").unwrap_or(20);
        let results: Vec<Value> = (offset..(offset + limit).min(250)).map(alert).collect();
        let next = format!(
            "https://ui.example.org/api/2/alerts?offset={}&limit={limit}",
            offset + limit
        );
        ok(
            json!({"status": "ok", "results": results, "total": total, "total_type": "eq",
                  "offset": offset, "limit": limit, "next": next}),
        )
    })
    .await
}

/// An Atlas listing of 250 attachments, 100 a page, claiming `total` and linking a next page
/// from every page.
async fn atlas_lying_total(total: u64) -> MockServer {
    serve("/api/v1/attachments", move |request| {
        let page = number(request, "pageNum").unwrap_or(1);
        let size = number(request, "itemsPerPage").unwrap_or(100);
        let from = (page - 1) * size;
        let items: Vec<Value> = (from..(from + size).min(250)).map(attachment).collect();
        let next = format!(
            "/api/v1/attachments?pageNum={}&itemsPerPage={size}",
            page + 1
        );
        ok(json!({"totalCount": total, "results": items, "links": [{"rel": "next", "href": next}]}))
    })
    .await
}

#[tokio::test]
async fn a_huge_total_with_concurrency_ends_with_an_error_after_the_real_items() {
    for total in HUGE_TOTALS {
        let server = aleph_lying_total(total).await;
        let stream = aleph(&server)
            .alerts()
            .list()
            .page_size(100)
            .stream()
            .concurrency(4);
        let (items, error) = drain(stream, 1_000).await;
        assert_eq!(items.len(), 250, "aleph, total {total}");
        let message = pagination(error);
        assert!(
            message.contains(&total.to_string()) && message.contains("250"),
            "{message}"
        );
        // The first page, the pages up to the empty one, and at most a window of 4 beyond.
        assert!(requests(&server).await <= 8, "aleph, total {total}");

        let server = atlas_lying_total(total).await;
        let stream = atlas(&server)
            .attachments()
            .list()
            .page_size(100)
            .stream()
            .concurrency(4);
        let (items, error) = drain(stream, 1_000).await;
        assert_eq!(items.len(), 250, "atlas, total {total}");
        let message = pagination(error);
        assert!(
            message.contains(&total.to_string()) && message.contains("250"),
            "{message}"
        );
        assert!(requests(&server).await <= 8, "atlas, total {total}");
    }
}

#[tokio::test]
async fn a_huge_total_on_a_raw_paginator_plans_pages_lazily() {
    for total in HUGE_TOTALS {
        let fetched = Arc::new(AtomicU64::new(0));
        let counter = fetched.clone();
        let stream = Paginator::new(move |token| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let offset = match token {
                    Some(PageToken::Offset { offset, .. }) => offset,
                    _ => 0,
                };
                let items: Vec<u64> = (offset..(offset + 100).min(250)).collect();
                let next = Some(PageToken::Offset {
                    offset: offset + 100,
                    limit: 100,
                });
                Ok(Page {
                    items,
                    next,
                    total: Some(total),
                })
            }
        })
        .concurrency(4);
        let (items, error) = drain(stream, 1_000).await;
        assert_eq!(items, (0..250).collect::<Vec<_>>());
        let message = pagination(error);
        assert!(
            message.contains(&total.to_string()) && message.contains("250"),
            "{message}"
        );
        assert!(fetched.load(Ordering::SeqCst) <= 8);
    }
}

#[tokio::test]
async fn a_huge_total_that_is_never_reached_is_bounded_by_max_items() {
    // A server that serves items forever under a huge total: the bound ends it, normally.
    let server = serve("/api/v1/attachments", |request| {
        let page = number(request, "pageNum").unwrap_or(1);
        let size = number(request, "itemsPerPage").unwrap_or(100);
        let from = (page - 1) * size;
        let items: Vec<Value> = (from..from + size).map(attachment).collect();
        ok(json!({"totalCount": u64::MAX, "results": items,
                  "links": [{"rel": "next", "href": format!("/x?pageNum={}", page + 1)}]}))
    })
    .await;
    let stream = atlas(&server)
        .attachments()
        .list()
        .page_size(100)
        .max_items(1_000)
        .stream()
        .concurrency(4);
    let (items, error) = drain(stream, 2_000).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 1_000);
    // Pages are planned only up to the bound.
    assert_eq!(requests(&server).await, 10);
}

// ---------------------------------------------------------------------------------------------
// A panic in the background is an error, never a quiet end
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_panicking_fetch_is_an_error_on_the_stream() {
    // Sequential: the second fetch panics inside the background task.
    let stream = Paginator::new(|token| async move {
        if token.is_some() {
            panic!("a hostile page");
        }
        Ok(Page {
            items: vec![1u64, 2, 3],
            next: Some(PageToken::Cursor("c1".into())),
            total: None,
        })
    });
    let (items, error) = drain(stream, 10).await;
    assert_eq!(items, [1, 2, 3]);
    assert!(pagination(error).contains("panicked"));

    // The fetch function itself panics before it returns a future.
    let stream = Paginator::<u64>::new(|token| {
        assert!(token.is_none(), "a hostile token");
        async move {
            Ok(Page {
                items: vec![7],
                next: Some(PageToken::Cursor("c".into())),
                total: None,
            })
        }
    });
    let (items, error) = drain(stream, 10).await;
    assert_eq!(items, [7]);
    assert!(pagination(error).contains("panicked"));

    // Concurrent: one of the planned pages panics; the pages before it arrive, then the error.
    let stream = Paginator::new(|token| async move {
        let offset = match token {
            Some(PageToken::Offset { offset, .. }) => offset,
            _ => 0,
        };
        if offset == 300 {
            panic!("a hostile page");
        }
        let items: Vec<u64> = (offset..offset + 100).collect();
        Ok(Page {
            items,
            next: Some(PageToken::Offset {
                offset: offset + 100,
                limit: 100,
            }),
            total: Some(1_000),
        })
    })
    .concurrency(4);
    let (items, error) = drain(stream, 2_000).await;
    assert_eq!(items, (0..300).collect::<Vec<_>>());
    assert!(pagination(error).contains("panicked"));
}

// ---------------------------------------------------------------------------------------------
// Incomplete is an error
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_listing_that_ends_before_its_exact_total_is_an_error() {
    // Aleph: "eq" 10, seven items and no next link.
    let server = serve("/api/2/alerts", |_| {
        let results: Vec<Value> = (0..7).map(alert).collect();
        ok(json!({"results": results, "total": 10, "total_type": "eq", "offset": 0, "limit": 20}))
    })
    .await;
    let (items, error) = drain(aleph(&server).alerts().list().stream(), 100).await;
    assert_eq!(items.len(), 7);
    let message = pagination(error);
    assert!(message.contains("10") && message.contains('7'), "{message}");

    // Aleph, concurrently: "eq" 10 in pages of 5, the second page short and the next empty.
    let server = serve("/api/2/alerts", |request| {
        let offset = number(request, "offset").unwrap_or(0);
        let results: Vec<Value> = match offset {
            0 => (0..5).map(alert).collect(),
            5 => (5..7).map(alert).collect(),
            _ => vec![],
        };
        let next = format!("https://ui.example.org/api/2/alerts?offset={}&limit=5", offset + 5);
        ok(json!({"results": results, "total": 10, "total_type": "eq", "offset": offset, "limit": 5, "next": next}))
    })
    .await;
    let stream = aleph(&server)
        .alerts()
        .list()
        .page_size(5)
        .stream()
        .concurrency(4);
    let (items, error) = drain(stream, 100).await;
    assert_eq!(items.len(), 7);
    let message = pagination(error);
    assert!(message.contains("10") && message.contains('7'), "{message}");

    // Atlas: totalCount 10, seven items, no next link.
    let server = serve("/api/v1/attachments", |_| {
        let items: Vec<Value> = (0..7).map(attachment).collect();
        ok(json!({"totalCount": 10, "results": items, "links": []}))
    })
    .await;
    let (items, error) = drain(atlas(&server).attachments().list().stream(), 100).await;
    assert_eq!(items.len(), 7);
    let message = pagination(error);
    assert!(message.contains("10") && message.contains('7'), "{message}");

    // Atlas: an empty page before the total.
    let server = serve("/api/v1/attachments", |request| {
        let page = number(request, "pageNum").unwrap_or(1);
        let items: Vec<Value> = if page == 1 { (0..7).map(attachment).collect() } else { vec![] };
        ok(json!({"totalCount": 10, "results": items,
                  "links": [{"rel": "next", "href": format!("/x?pageNum={}&itemsPerPage=7", page + 1)}]}))
    })
    .await;
    let (items, error) = drain(atlas(&server).attachments().list().stream(), 100).await;
    assert_eq!(items.len(), 7);
    let message = pagination(error);
    assert!(message.contains("10") && message.contains('7'), "{message}");
    assert_eq!(requests(&server).await, 2);

    // A raw paginator.
    let stream = Paginator::new(|_| async {
        Ok(Page {
            items: (0..7u64).collect(),
            next: None,
            total: Some(10),
        })
    });
    let (items, error) = drain(stream, 100).await;
    assert_eq!(items.len(), 7);
    let message = pagination(error);
    assert!(message.contains("10") && message.contains('7'), "{message}");
}

#[tokio::test]
async fn a_listing_that_reaches_its_exact_total_ends_normally() {
    // Aleph's last `next` can lead to an empty page (it is sent while offset + limit <= total).
    let server = serve("/api/2/alerts", |request| {
        let offset = number(request, "offset").unwrap_or(0);
        let results: Vec<Value> = (offset..(offset + 5).min(10)).map(alert).collect();
        let next = format!("https://ui.example.org/api/2/alerts?offset={}&limit=5", offset + 5);
        ok(json!({"results": results, "total": 10, "total_type": "eq", "offset": offset, "limit": 5, "next": next}))
    })
    .await;
    for concurrency in [1, 4] {
        let stream = aleph(&server)
            .alerts()
            .list()
            .page_size(5)
            .stream()
            .concurrency(concurrency);
        let (items, error) = drain(stream, 100).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(items.len(), 10);
    }
    // Starting further in: what is left of the total is expected.
    let (items, error) = drain(
        aleph(&server)
            .alerts()
            .list()
            .page_size(5)
            .offset(5)
            .stream(),
        100,
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 5);
    // A lower bound ("gte") is no promise.
    let server = serve("/api/2/alerts", |_| {
        ok(json!({"results": [alert(1)], "total": 10000, "total_type": "gte", "offset": 0, "limit": 20}))
    })
    .await;
    let (items, error) = drain(aleph(&server).alerts().list().stream(), 100).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 1);
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error() {
    let server = serve("/api/v2/updates", |_| {
        let results: Vec<Value> = (0..3).map(update).collect();
        ok(json!({"results": results, "next": "c1", "previous": null}))
    })
    .await;
    let (items, error) = drain(atlos(&server).updates().list().stream(), 100).await;
    assert_eq!(
        items.len(),
        6,
        "the first page and the one the cursor named, once each"
    );
    let message = pagination(error);
    assert!(message.contains("twice"), "{message}");
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn an_offset_or_page_number_that_goes_back_is_an_error() {
    // Aleph (no exact total): the page at offset 20 points back at offset 0.
    let server = serve("/api/2/alerts", |request| {
        let offset = number(request, "offset").unwrap_or(0);
        let results: Vec<Value> = (offset..offset + 20).map(alert).collect();
        let back = if offset == 0 { 20 } else { 0 };
        ok(json!({"results": results, "total": 10000, "total_type": "gte", "offset": offset, "limit": 20,
                  "next": format!("https://ui.example.org/api/2/alerts?offset={back}&limit=20")}))
    })
    .await;
    let (items, error) = drain(aleph(&server).alerts().list().stream(), 100).await;
    assert_eq!(items.len(), 40);
    let message = pagination(error);
    assert!(message.contains("offset 0"), "{message}");
    assert_eq!(requests(&server).await, 2);

    // Atlas: page 2 links to page 2 again.
    let server = serve("/api/v1/attachments", |request| {
        let page = number(request, "pageNum").unwrap_or(1);
        let items: Vec<Value> = (0..3).map(|i| attachment(page * 10 + i)).collect();
        ok(json!({"results": items, "links": [{"rel": "next", "href": "/x?pageNum=2&itemsPerPage=3"}]}))
    })
    .await;
    let (items, error) = drain(atlas(&server).attachments().list().stream(), 100).await;
    assert_eq!(items.len(), 6);
    let message = pagination(error);
    assert!(message.contains("page 2"), "{message}");
    assert_eq!(requests(&server).await, 2);
}

// ---------------------------------------------------------------------------------------------
// Listings that never end are bounded by the caller
// ---------------------------------------------------------------------------------------------

/// Atlos updates behind unique cursors forever, 30 a page.
async fn endless_atlos() -> MockServer {
    serve("/api/v2/updates", |request| {
        let page: u64 = param(request, "cursor")
            .and_then(|c| c.strip_prefix('c').and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let results: Vec<Value> = (page * 30..page * 30 + 30).map(update).collect();
        ok(json!({"results": results, "next": format!("c{}", page + 1), "previous": null}))
    })
    .await
}

#[tokio::test]
async fn unique_cursors_forever_end_at_max_items() {
    let server = endless_atlos().await;
    let (items, error) = drain(
        atlos(&server).updates().list().max_items(50).stream(),
        1_000,
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 50);
    let ids: std::collections::HashSet<_> = items.iter().map(|u| u.id).collect();
    assert_eq!(ids.len(), 50);
    // The two pages read, and at most two fetched ahead.
    assert!(requests(&server).await <= 4);

    // The same bound on the paginator, and on whole pages.
    let server = endless_atlos().await;
    let pages = atlos(&server)
        .updates()
        .list()
        .stream()
        .max_items(50)
        .pages();
    let (pages, error) = drain(pages, 100).await;
    assert!(error.is_none(), "{error:?}");
    let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, [30, 20]);
}

#[tokio::test]
async fn unique_cursors_forever_end_at_max_pages() {
    let server = endless_atlos().await;
    let (items, error) = drain(atlos(&server).updates().list().max_pages(3).stream(), 1_000).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 90);
    assert_eq!(requests(&server).await, 3);

    // Offsets forever (no total): max_items plans no page past the bound.
    let server = serve("/api/2/alerts", |request| {
        let offset = number(request, "offset").unwrap_or(0);
        let results: Vec<Value> = (offset..offset + 20).map(alert).collect();
        ok(json!({"results": results, "offset": offset, "limit": 20,
                  "next": format!("https://ui.example.org/api/2/alerts?offset={}&limit=20", offset + 20)}))
    })
    .await;
    let (items, error) = drain(aleph(&server).alerts().list().max_items(50).stream(), 1_000).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 50);
    assert_eq!(requests(&server).await, 3);

    // Page numbers under a huge total, fetched concurrently: max_pages caps the plan too.
    let server = atlas_lying_total(u64::MAX).await;
    let stream = atlas(&server)
        .attachments()
        .list()
        .page_size(50)
        .max_pages(3)
        .stream()
        .concurrency(4);
    let (items, error) = drain(stream, 1_000).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 150);
    assert_eq!(requests(&server).await, 3);
}

// ---------------------------------------------------------------------------------------------
// Refused arguments: the first item, before any request
// ---------------------------------------------------------------------------------------------

fn assert_refused<T: std::fmt::Debug>(result: Option<casefile::Result<T>>, argument: &str) {
    match result {
        Some(Err(Error::InvalidInput { argument: a, .. })) => assert_eq!(a, argument),
        other => panic!("expected {argument} to be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_argument_is_the_first_item_and_nothing_is_sent() {
    let server = MockServer::start().await;
    let (atlos, aleph, atlas) = (atlos(&server), aleph(&server), atlas(&server));

    let mut stream = atlos.updates().list().slug("not a slug").stream();
    assert_refused(stream.next().await, "slug");
    assert!(stream.next().await.is_none());
    let mut pages = atlos.updates().list().slug("not a slug").pages();
    assert_refused(pages.next().await, "slug");
    assert!(pages.next().await.is_none());
    assert_refused(
        Some(atlos.updates().list().slug("x").first_page().await),
        "slug",
    );

    let mut stream = aleph.alerts().list().page_size(0).stream();
    assert_refused(stream.next().await, "page_size");
    assert!(stream.next().await.is_none());
    assert_refused(
        Some(aleph.alerts().list().page_size(0).first_page().await),
        "page_size",
    );
    assert_refused(
        Some(
            aleph
                .collections()
                .list()
                .page_size(10_000)
                .result_set()
                .await,
        ),
        "page_size",
    );

    let mut stream = atlas
        .attachments()
        .list()
        .page_size(0)
        .stream()
        .concurrency(4);
    assert_refused(stream.next().await, "page_size");
    assert!(stream.next().await.is_none());
    assert_refused(
        Some(atlas.attachments().list().page_size(501).first_page().await),
        "page_size",
    );

    assert_eq!(requests(&server).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Items decoded on the caller's side keep the decode errors' details
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_bad_item_names_its_field_and_shows_the_body() {
    let server = serve("/api/v2/updates", |_| {
        ok(json!({"results": [update(1), {"id": "not-a-uuid", "type": "comment"}], "next": null}))
    })
    .await;
    let (items, error) = drain(atlos(&server).updates().list().stream(), 10).await;
    assert!(items.is_empty(), "a page is decoded whole");
    match error {
        Some(Error::Decode(e)) => {
            assert_eq!(e.path, "results[1].id", "{e:?}");
            assert!(e.body.contains("not-a-uuid"), "{}", e.body);
            assert!(e.url.contains("/api/v2/updates"), "{}", e.url);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_page_with_more_than_its_items_among_its_fields_is_read_whole() {
    // Another array after the results: the items are still the results, the cursor is followed.
    let server = serve("/api/v2/updates", |request| {
        let body = match param(request, "cursor").as_deref() {
            None => {
                json!({"results": [update(1), update(2)], "extra": [[1], {"x": "]"}], "next": "c1"})
            }
            _ => json!({"results": [update(3)], "extra": [], "next": null}),
        };
        ok(body)
    })
    .await;
    let (items, error) = drain(atlos(&server).updates().list().stream(), 10).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 3);

    // The cursor between the results and another array, in raw bytes (the quick reading of the
    // ends cannot see it): still followed.
    let server = serve("/api/v2/updates", |request| {
        let body = match param(request, "cursor").as_deref() {
            None => format!(
                r#"{{"results": [{}], "next": "c1", "extra": [1]}}"#,
                update(1)
            ),
            _ => format!(
                r#"{{"results": [{}], "next": null, "extra": [1]}}"#,
                update(2)
            ),
        };
        ResponseTemplate::new(200).set_body_raw(body, "application/json")
    })
    .await;
    let (items, error) = drain(atlos(&server).updates().list().stream(), 10).await;
    match error {
        // The background task could not see the cursor: the listing must not end quietly.
        Some(Error::Decode(_)) => assert_eq!(items.len(), 0),
        None => assert_eq!(items.len(), 2),
        other => panic!("{other:?}"),
    }
}
