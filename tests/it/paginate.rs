//! The paginator over a real local HTTP server, for each of the four page kinds.

use std::time::Duration;

use casefile::{Error, Page, PageToken, Paginator, RetryPolicy, Transport};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PAGE: u64 = 100;

fn transport(server: &MockServer) -> Transport {
    Transport::builder(server.uri())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn query(req: &Request, name: &str) -> Option<u64> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.trim_start_matches('c').parse().ok())
}

fn items(from: u64, total: u64, size: u64) -> Vec<u64> {
    (from..(from + size).min(total)).collect()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Cursor,
    NextUrl,
    Number,
    Offset,
}

/// Serves `total` numbered items, 100 a page, in the page shape of `kind`.
async fn listing(kind: Kind, total: u64) -> MockServer {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(move |req: &Request| {
            let body = match kind {
                Kind::Cursor => {
                    let from = query(req, "cursor").unwrap_or(0);
                    let next = (from + PAGE < total).then(|| format!("c{}", from + PAGE));
                    json!({"results": items(from, total, PAGE), "next": next, "previous": null})
                }
                Kind::NextUrl => {
                    let from = query(req, "offset").unwrap_or(0);
                    // Built on another host, as Aleph builds it on its UI URL.
                    let next = (from + PAGE < total).then(|| {
                        format!("http://ui.example.invalid/items?offset={}&limit={PAGE}", from + PAGE)
                    });
                    json!({"results": items(from, total, PAGE), "next": next})
                }
                Kind::Number => {
                    let page = query(req, "pageNum").unwrap_or(1);
                    let from = (page - 1) * PAGE;
                    let mut links = vec![json!({"rel": "self", "href": format!("{base}/items?pageNum={page}")})];
                    if from + PAGE < total {
                        links.push(json!({"rel": "next", "href": format!("{base}/items?pageNum={}", page + 1)}));
                    }
                    json!({"totalCount": total, "results": items(from, total, PAGE), "links": links})
                }
                Kind::Offset => {
                    let from = query(req, "offset").unwrap_or(0);
                    json!({"total": total, "results": items(from, total, PAGE), "offset": from, "limit": PAGE})
                }
            };
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    server
}

#[derive(Deserialize)]
struct Listing {
    results: Vec<u64>,
    next: Option<String>,
    #[serde(rename = "totalCount", alias = "total")]
    total: Option<u64>,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    rel: String,
}

/// The paginator a platform module would build for `kind`.
fn paginator(api: Transport, kind: Kind) -> Paginator<u64> {
    Paginator::new(move |token| {
        let request = match &token {
            None => api.get(&["items"]),
            Some(PageToken::Cursor(c)) => api.get(&["items"]).query_param("cursor", c),
            Some(PageToken::NextUrl(url)) => api.get_url(url),
            Some(PageToken::Number { page, size }) => api
                .get(&["items"])
                .query(&[("pageNum", page), ("itemsPerPage", size)]),
            Some(PageToken::Offset { offset, limit }) => api
                .get(&["items"])
                .query(&[("offset", offset), ("limit", limit)]),
            Some(other) => panic!("unexpected token {other:?}"),
        };
        let current = token.clone();
        async move {
            let page: Listing = request.send().await?;
            let next = match kind {
                Kind::Cursor => page.next.map(PageToken::Cursor),
                Kind::NextUrl => page.next.map(|n| PageToken::NextUrl(n.parse().unwrap())),
                Kind::Number => page.links.iter().any(|l| l.rel == "next").then(|| {
                    let page = match current {
                        Some(PageToken::Number { page, .. }) => page,
                        _ => 1,
                    };
                    PageToken::Number {
                        page: page + 1,
                        size: PAGE,
                    }
                }),
                Kind::Offset => {
                    let offset = match current {
                        Some(PageToken::Offset { offset, .. }) => offset,
                        _ => 0,
                    };
                    Some(PageToken::Offset {
                        offset: offset + PAGE,
                        limit: PAGE,
                    })
                }
            };
            Ok(Page {
                items: page.results,
                next,
                total: page.total,
            })
        }
    })
}

#[tokio::test]
async fn every_kind_over_zero_one_and_many_pages() {
    for kind in [Kind::Cursor, Kind::NextUrl, Kind::Number, Kind::Offset] {
        for total in [0u64, 1, 100, 250, 1000] {
            let server = listing(kind, total).await;
            let got: Vec<u64> = paginator(transport(&server), kind)
                .try_collect()
                .await
                .unwrap();
            assert_eq!(got, (0..total).collect::<Vec<_>>(), "{kind:?} over {total}");
            let expected_requests = total.div_ceil(PAGE).max(1) as usize;
            let requests = server.received_requests().await.unwrap().len();
            assert_eq!(
                requests, expected_requests,
                "{kind:?} over {total}: requests"
            );
        }
    }
}

#[tokio::test]
async fn concurrent_pages_keep_order_when_the_server_answers_out_of_order() {
    let total = 1000u64;
    for kind in [Kind::Number, Kind::Offset] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(move |req: &Request| {
                let (from, body) = match kind {
                    Kind::Number => {
                        let page = query(req, "pageNum").unwrap_or(1);
                        let from = (page - 1) * PAGE;
                        let next = from + PAGE < total;
                        let links = if next { json!([{"rel": "next", "href": "x"}]) } else { json!([]) };
                        (from, json!({"totalCount": total, "results": items(from, total, PAGE), "links": links}))
                    }
                    _ => {
                        let from = query(req, "offset").unwrap_or(0);
                        (from, json!({"total": total, "results": items(from, total, PAGE)}))
                    }
                };
                // Later pages answer first.
                let delay = Duration::from_millis(5 * (total - from) / PAGE);
                ResponseTemplate::new(200).set_body_json(body).set_delay(delay)
            })
            .mount(&server)
            .await;
        let got: Vec<u64> = paginator(transport(&server), kind)
            .concurrency(8)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got, (0..total).collect::<Vec<_>>(), "{kind:?}");
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            10,
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_next_url_on_another_host_is_rebased_and_the_other_host_gets_nothing() {
    let other = MockServer::start().await;
    let api = MockServer::start().await;
    let other_url = format!("{}/items?offset=100", other.uri());
    Mock::given(method("GET"))
        .respond_with(move |req: &Request| {
            let from = query(req, "offset").unwrap_or(0);
            let next = (from == 0).then(|| other_url.clone());
            ResponseTemplate::new(200)
                .set_body_json(json!({"results": items(from, 200, PAGE), "next": next}))
        })
        .mount(&api)
        .await;
    let t = Transport::builder(api.uri())
        .auth(casefile::Auth::bearer("s3cret"))
        .build()
        .unwrap();
    let got: Vec<u64> = paginator(t, Kind::NextUrl).try_collect().await.unwrap();
    assert_eq!(got.len(), 200);
    assert!(other.received_requests().await.unwrap().is_empty());
    let requests = api.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("authorization").unwrap() == "Bearer s3cret")
    );
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(|req: &Request| {
            let from = query(req, "cursor").unwrap_or(0);
            ResponseTemplate::new(200)
                .set_body_json(json!({"results": items(from, 1000, PAGE), "next": "c100"}))
        })
        .mount(&server)
        .await;
    let mut stream = paginator(transport(&server), Kind::Cursor);
    let mut ok = 0;
    let mut errors = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => ok += 1,
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(ok, 200, "both pages before the repeat are yielded once");
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(&errors[0], Error::Pagination(m) if m.contains("c100")),
        "{:?}",
        errors[0]
    );
}

#[tokio::test]
async fn a_repeated_offset_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(|_: &Request| {
            // Past the search window Aleph keeps pointing at the same offset.
            ResponseTemplate::new(200).set_body_json(
                json!({"results": [1, 2], "next": "http://h.invalid/items?offset=9999"}),
            )
        })
        .mount(&server)
        .await;
    let results: Vec<Result<u64, Error>> =
        paginator(transport(&server), Kind::NextUrl).collect().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 4);
    assert!(matches!(results.last(), Some(Err(Error::Pagination(_)))));
}

#[tokio::test]
async fn an_error_mid_stream_is_yielded_once_after_the_items_before_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(|req: &Request| {
            let from = query(req, "cursor").unwrap_or(0);
            if from == 200 {
                return ResponseTemplate::new(500).set_body_string("<html>boom</html>");
            }
            ResponseTemplate::new(200).set_body_json(
                json!({"results": items(from, 1000, PAGE), "next": format!("c{}", from + PAGE)}),
            )
        })
        .mount(&server)
        .await;
    let results: Vec<Result<u64, Error>> =
        paginator(transport(&server), Kind::Cursor).collect().await;
    assert_eq!(results.len(), 201);
    let oks: Vec<u64> = results[..200]
        .iter()
        .map(|r| *r.as_ref().unwrap())
        .collect();
    assert_eq!(oks, (0..200).collect::<Vec<_>>());
    let err = results[200].as_ref().unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.api().unwrap().body.contains("boom"));
}

#[tokio::test]
async fn pages_stream_and_first_page() {
    let server = listing(Kind::Offset, 250).await;
    let p = paginator(transport(&server), Kind::Offset);
    let first = p.first_page().await.unwrap();
    assert_eq!((first.items.len(), first.total), (100, Some(250)));
    let sizes: Vec<usize> = p
        .pages()
        .map_ok(|page| page.items.len())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sizes, [100, 100, 50]);
}

#[tokio::test]
async fn dropping_the_stream_stops_fetching() {
    let server = listing(Kind::Cursor, 100_000).await;
    let mut stream = paginator(transport(&server), Kind::Cursor);
    assert_eq!(stream.next().await.unwrap().unwrap(), 0);
    drop(stream);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let requests = server.received_requests().await.unwrap().len();
    // The page being read and at most two ahead of it.
    assert!(requests <= 3, "{requests} requests after drop");
}
