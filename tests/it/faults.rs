//! The fault matrix: what a long unattended job meets, one test a line.

use std::time::{Duration, SystemTime};

use casefile::{Error, HttpErrorKind, Page, PageToken, Paginator, RetryPolicy, Transport};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::local::{Answer, LocalServer};
use crate::support::quick_retries as quick;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Listing {
    results: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Entry {
    id: u64,
    name: String,
}

// Paused clock: the wait passes at once. The date is three seconds ahead on the wall clock
// (whole seconds), so the wait is over one second however slow the machine is, far above the
// 5 ms backoff: a gap of a second shows the date was read.
#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_as_an_http_date_then_success() {
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    let server = LocalServer::start(move |n| match n {
        0 => Answer::json(429, "{}").header("Retry-After", when.clone()),
        _ => Answer::json(200, json!({"ok": 1}).to_string()),
    })
    .await;
    let t = Transport::builder(server.uri())
        .retry(quick())
        .build()
        .unwrap();
    let v: Value = t.get(&["x"]).send().await.unwrap();
    assert_eq!(v["ok"], 1);
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 2);
    assert!(arrivals[1].at - arrivals[0].at >= Duration::from_secs(1));
}

#[tokio::test]
async fn truncated_malformed_html_empty_and_204_bodies_are_clear_errors() {
    let server = MockServer::start().await;
    let cases: [(&str, u16, &str); 5] = [
        (
            "truncated",
            200,
            r#"{"results": [{"id": 1, "name": "a"}, {"id": 2, "na"#,
        ),
        (
            "malformed",
            200,
            r#"{"results": [{"id": 1, "name": "a",}]}"#,
        ),
        (
            "html",
            200,
            "<!DOCTYPE html><html><body>Maintenance</body></html>",
        ),
        ("empty", 200, ""),
        ("nocontent", 204, ""),
    ];
    for (name, status, body) in cases {
        Mock::given(path(format!("/{name}")))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
    }
    let t = Transport::builder(server.uri())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for (name, status, body) in cases {
        let err = t.get(&[name]).send::<Listing>().await.unwrap_err();
        let Error::Decode(d) = &err else {
            panic!("{name}: {err:?}")
        };
        assert_eq!(d.status, status, "{name}");
        assert_eq!(d.body, body, "{name}: the start of the body is kept");
        assert!(d.url.ends_with(name), "{name}");
        assert!(!d.message.is_empty(), "{name}");
    }
    // Where the bad value is known, its path is named.
    let err = t.get(&["malformed"]).send::<Listing>().await.unwrap_err();
    assert!(err.to_string().contains("results"), "{err}");
}

#[tokio::test]
async fn a_non_json_error_page_keeps_its_status_and_text() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(413).set_body_raw(
            "<html><h1>413 Request Entity Too Large</h1>nginx</html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let t = Transport::builder(server.uri()).build().unwrap();
    let err = t.get(&["x"]).send::<Value>().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 413);
    assert_eq!(api.message, "Payload Too Large");
    assert!(api.body.contains("nginx"));
}

#[tokio::test]
async fn secrets_in_a_url_never_reach_an_error_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"status": "error", "message": "gone"})),
        )
        .mount(&server)
        .await;
    let t = Transport::builder(server.uri())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let url = format!(
        "{}/blob?token=SIGNED-JWT-abc&X-Amz-Signature=deadbeef&id=7",
        server.uri()
    )
    .parse()
    .unwrap();
    let err = t.get_external(url).send_bytes().await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(
            !text.contains("SIGNED-JWT-abc") && !text.contains("deadbeef"),
            "{text}"
        );
        // Every value is elided by rule; the names stay to tell what the request was.
        assert!(
            text.contains("/blob?token=…&X-Amz-Signature=…&id=…"),
            "{text}"
        );
    }
}

#[cfg(feature = "testkit")]
mod against_the_sandbox {
    use super::*;
    use casefile::Auth;
    use casefile::testkit::{Platform, Sandbox};

    fn aleph(s: &Sandbox, retry: RetryPolicy) -> Transport {
        Transport::builder(format!("{}/api/2/", s.aleph_url()))
            .auth(Auth::api_key(s.aleph_api_key()))
            .retry(retry)
            .build()
            .unwrap()
    }

    /// Entities of a collection, 100 an offset page, as a platform module pages them.
    fn entities(t: Transport) -> Paginator<String> {
        Paginator::new(move |token| {
            let offset = match token {
                Some(PageToken::Offset { offset, .. }) => offset,
                _ => 0,
            };
            // Aleph refuses an entity search that names no schema.
            let request = t.get(&["entities"]).query(&[
                ("filter:schemata", "Thing".to_owned()),
                ("filter:collection_id", "2".to_owned()),
                ("limit", "100".to_owned()),
                ("offset", offset.to_string()),
            ]);
            async move {
                let page: Value = request.send().await?;
                let items = page["results"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
                    .collect();
                Ok(Page {
                    items,
                    next: Some(PageToken::Offset {
                        offset: offset + 100,
                        limit: 100,
                    }),
                    total: page["total"].as_u64(),
                })
            }
        })
    }

    #[tokio::test]
    async fn a_connection_dropped_mid_body_on_a_get_is_retried_and_every_item_comes_once() {
        let s = Sandbox::start().await.unwrap();
        let t = aleph(&s, quick());
        let mut stream = entities(t);
        let mut ids = Vec::new();
        while let Some(id) = stream.next().await {
            ids.push(id.unwrap());
            if ids.len() == 150 {
                s.faults().cut_next(2);
            }
        }
        // 1200 entities, every eighth an Ownership, which is no Thing.
        assert_eq!(ids.len(), 1050);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 1050, "no item twice");
        assert_eq!(
            s.requests(Platform::Aleph),
            11 + 2,
            "11 pages and 2 retries"
        );
    }

    #[tokio::test]
    async fn a_connection_dropped_on_a_post_is_not_retried() {
        let s = Sandbox::start().await.unwrap();
        let t = aleph(&s, quick());
        s.faults().cut_next(1);
        let err = t
            .post(&["alerts"])
            .json(&json!({"query": "grain"}))
            .send::<Value>()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Http(h) if h.kind == HttpErrorKind::Body),
            "{err:?}"
        );
        assert_eq!(s.requests(Platform::Aleph), 1, "the server saw one request");
    }

    #[tokio::test]
    async fn a_retry_budget_that_runs_out_ends_with_the_last_server_error() {
        let s = Sandbox::start().await.unwrap();
        let t = aleph(&s, quick().max_retries(2));
        s.faults().fail_next(5, 503);
        let err = t.get(&["collections"]).send::<Value>().await.unwrap_err();
        assert_eq!(err.status(), Some(503));
        assert!(err.api().unwrap().body.contains("Injected fault"));
        assert_eq!(s.requests(Platform::Aleph), 3);
    }

    #[tokio::test]
    async fn a_page_that_fails_mid_stream_ends_the_stream_after_one_error() {
        let s = Sandbox::start().await.unwrap();
        let t = aleph(&s, RetryPolicy::none());
        let mut stream = entities(t);
        let (mut ok, mut errors) = (0, 0);
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => {
                    ok += 1;
                    if ok == 250 {
                        s.faults().fail_next(1, 502);
                    }
                }
                Err(e) => {
                    errors += 1;
                    assert_eq!(e.status(), Some(502));
                }
            }
        }
        // Pages fetched ahead before the fault are yielded whole; the failed one ends the stream.
        assert_eq!(errors, 1);
        assert!(ok % 100 == 0 && (300..1200).contains(&ok), "{ok}");
    }
}
