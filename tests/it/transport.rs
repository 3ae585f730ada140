//! The request pipeline against real local HTTP servers: retries, digest, redirects, errors.

use std::sync::Arc;
use std::time::Duration;

use casefile::{Auth, Error, ErrorKind, HttpErrorKind, RateLimit, RetryPolicy, Transport};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::local::{Answer, LocalServer};

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
}

fn client(server: &MockServer, retry: RetryPolicy) -> Transport {
    Transport::builder(server.uri())
        .retry(retry)
        .build()
        .unwrap()
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn a_503_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let v: Value = client(&server, fast_retries())
        .get(&["x"])
        .send()
        .await
        .unwrap();
    assert_eq!(v, json!({"ok": true}));
    assert_eq!(requests(&server).await, 3);
}

// Paused clock: the second of Retry-After passes at once, and is measured exactly.
#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_is_waited_out() {
    let server = LocalServer::start(|n| match n {
        0 => Answer::json(429, "{}").header("Retry-After", "1"),
        _ => Answer::json(200, "1"),
    })
    .await;
    let started = Instant::now();
    // A 429 means the server did not process the request, so even a POST is retried.
    let v: u32 = Transport::builder(server.uri())
        .retry(fast_retries())
        .build()
        .unwrap()
        .post(&["x"])
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(v, 1);
    assert_eq!(server.arrivals().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
}

#[tokio::test]
async fn a_retry_after_over_the_cap_ends_with_the_servers_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3600")
                .set_body_json(json!({"status": "error", "message": "Rate limit exceeded"})),
        )
        .mount(&server)
        .await;
    let err = client(&server, fast_retries())
        .get(&["x"])
        .send::<Value>()
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.kind, ErrorKind::RateLimited);
    assert_eq!(api.retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(api.message, "Rate limit exceeded");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_post_that_got_a_500_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500).set_body_string("<html>Internal Server Error</html>"),
        )
        .mount(&server)
        .await;
    let err = client(&server, fast_retries())
        .post(&["x"])
        .json(&json!({"a": 1}))
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.api().unwrap().kind, ErrorKind::Server);
    assert!(err.api().unwrap().body.contains("Internal Server Error"));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn an_exhausted_retry_budget_ends_with_the_last_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway from proxy"))
        .mount(&server)
        .await;
    let err = client(&server, fast_retries().max_retries(3))
        .get(&["x"])
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(err.to_string().contains("502"));
    assert_eq!(requests(&server).await, 4);
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported_as_connect() {
    // Bind a port, then free it, so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Transport::builder(format!("http://127.0.0.1:{port}/"))
        .retry(fast_retries().max_retries(2))
        .build()
        .unwrap();
    let err = t.get(&["x"]).send::<Value>().await.unwrap_err();
    assert!(
        matches!(&err, Error::Http(h) if h.kind == HttpErrorKind::Connect),
        "{err:?}"
    );
}

// Paused clock: the 200 ms timeout fires long before the answer's 2 s delay, at once.
#[tokio::test(start_paused = true)]
async fn a_read_timeout_is_a_timeout_error() {
    let server = LocalServer::start(|_| Answer::json(200, "1").delay(Duration::from_secs(2))).await;
    let t = Transport::builder(server.uri())
        .read_timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = t.get(&["x"]).send::<Value>().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Listing {
    results: Vec<Item>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Item {
    id: u32,
}

#[tokio::test]
async fn a_decode_error_names_the_field_and_shows_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": [{"id": 1}, {"id": "x"}]})),
        )
        .mount(&server)
        .await;
    let err = client(&server, RetryPolicy::none())
        .get(&["x"])
        .send::<Listing>()
        .await
        .unwrap_err();
    let Error::Decode(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.path, "results[1].id");
    assert!(d.body.starts_with("{\"results\""));
    assert!(err.to_string().contains("results[1].id"));
}

#[tokio::test]
async fn empty_and_html_success_bodies_are_clear_decode_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/empty"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path("/nocontent"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(path("/html"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let t = client(&server, RetryPolicy::none());
    for (p, status) in [("empty", 200), ("nocontent", 204), ("html", 200)] {
        let err = t.get(&[p]).send::<Listing>().await.unwrap_err();
        assert!(
            matches!(&err, Error::Decode(d) if d.status == status),
            "{p}: {err:?}"
        );
    }
    let err = t.get(&["html"]).send::<Listing>().await.unwrap_err();
    assert!(err.to_string().contains("maintenance"));
}

#[tokio::test]
async fn error_bodies_of_each_platform_keep_the_servers_words() {
    let server = MockServer::start().await;
    let cases = [
        (
            "atlos",
            401,
            include_str!("../fixtures/atlos/error_validation.json"),
        ),
        (
            "aleph",
            400,
            include_str!("../fixtures/aleph/error_validation.json"),
        ),
        (
            "aleph_token",
            401,
            include_str!("../fixtures/aleph/error_bad_archive_token.json"),
        ),
        (
            "atlas",
            400,
            include_str!("../fixtures/atlas/error_invalid_attribute.json"),
        ),
    ];
    for (name, status, body) in cases {
        Mock::given(path(format!("/{name}")))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
    }
    let t = client(&server, RetryPolicy::none());
    let err = |name: &'static str| {
        let t = t.clone();
        async move {
            t.get(&[name])
                .send::<Value>()
                .await
                .unwrap_err()
                .api()
                .unwrap()
                .clone()
        }
    };
    let atlos = err("atlos").await;
    assert_eq!(
        atlos.fields["attr_sensitive"],
        "must be an array of strings"
    );
    let aleph = err("aleph").await;
    assert_eq!(aleph.kind, ErrorKind::Validation);
    assert_eq!(aleph.message, "Error during data validation");
    assert_eq!(aleph.fields["label"], "'x' is too short");
    let token = err("aleph_token").await;
    assert_eq!(token.message, "Access token is invalid.");
    assert_eq!(token.kind, ErrorKind::Unauthorized);
    let atlas = err("atlas").await;
    assert_eq!(atlas.message, "Invalid attribute colour specified.");
    assert_eq!(atlas.code.as_deref(), Some("INVALID_ATTRIBUTE"));
    assert_eq!(atlas.parameters, ["colour"]);
}

#[tokio::test]
async fn hostile_segments_stay_one_segment_or_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(null)))
        .mount(&server)
        .await;
    let t = client(&server, RetryPolicy::none());
    for id in ["a/b", "?x=1", "#frag", "%2F", "sp ace", "ü", "..a"] {
        let _: Value = t.get(&["things", id]).send().await.unwrap();
    }
    for id in ["..", ".", ""] {
        let err = t.get(&["things", id]).send::<Value>().await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{id:?}");
    }
    let seen = server.received_requests().await.unwrap();
    assert_eq!(seen.len(), 7, "refused segments send nothing");
    for r in &seen {
        assert_eq!(r.url.path_segments().unwrap().count(), 2, "{}", r.url);
        assert!(
            r.url.query().is_none() && r.url.fragment().is_none(),
            "{}",
            r.url
        );
    }
}

#[tokio::test]
async fn a_redirect_to_another_origin_arrives_without_authorization() {
    let storage = MockServer::start().await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("blob"))
        .mount(&storage)
        .await;
    Mock::given(path("/archive"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{}/blob", storage.uri())),
        )
        .mount(&api)
        .await;
    let t = Transport::builder(api.uri())
        .auth(Auth::api_key("k3y"))
        .build()
        .unwrap();
    let body = t.get(&["archive"]).send_bytes().await.unwrap();
    assert_eq!(&body[..], b"blob");
    assert_eq!(
        api.received_requests().await.unwrap()[0]
            .headers
            .get("authorization")
            .unwrap(),
        "ApiKey k3y"
    );
    let at_storage = storage.received_requests().await.unwrap();
    assert_eq!(at_storage.len(), 1);
    assert!(at_storage[0].headers.get("authorization").is_none());
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
    let err = Transport::builder("http://aleph.example.org")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(m) if m.contains("http://")));
    assert!(
        Transport::builder("http://aleph.example.org")
            .allow_http(true)
            .build()
            .is_ok()
    );
    assert!(Transport::builder("http://localhost:8080").build().is_ok());
    assert!(Transport::builder("http://[::1]:8080").build().is_ok());
    assert!(Transport::builder("ftp://x.example.org").build().is_err());
}

#[test]
fn no_secret_in_debug_output() {
    let secret = "tok-9f8e7d6c5b4a";
    for auth in [
        Auth::bearer(secret),
        Auth::api_key(secret),
        Auth::digest("user", secret),
    ] {
        let builder = Transport::builder("https://x.example.org").auth(auth.clone());
        assert!(!format!("{builder:?}").contains(secret));
        assert!(!format!("{auth:?}").contains(secret));
        let t = builder.build().unwrap();
        assert!(!format!("{t:?}").contains(secret));
    }
}

// Paused clock: the limiter and the server read the same clock, so the check needs no slack
// for loopback jitter, and the three windows pass at once.
#[tokio::test(start_paused = true)]
async fn the_rate_limiter_holds_a_burst_from_many_tasks_to_the_rate() {
    let server = LocalServer::start(|_| Answer::json(200, "1")).await;
    let window = Duration::from_millis(300);
    let t = Transport::builder(server.uri())
        .rate_limit(RateLimit::new(3, window))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.get(&["x"]).send::<u32>().await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let mut times: Vec<_> = server.arrivals().iter().map(|a| a.at).collect();
    times.sort();
    assert_eq!(times.len(), 10);
    // No four arrivals fit in one window.
    for w in times.windows(4) {
        assert!(w[3] - w[0] >= window, "{:?}", w[3] - w[0]);
    }
}

use crate::support::digest::DigestGate;

/// A digest-protected server answering `{"ok": true}` once authorized.
async fn digest_server() -> (MockServer, Arc<DigestGate>) {
    crate::support::digest::digest_server(|_, _| {
        ResponseTemplate::new(200).set_body_json(json!({"ok": true}))
    })
    .await
}

fn digest_client(server: &MockServer, password: &str) -> Transport {
    Transport::builder(server.uri())
        .auth(Auth::digest(DigestGate::USER, password))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn digest_challenges_once_then_costs_one_request_per_call() {
    let (server, state) = digest_server().await;
    let t = digest_client(&server, DigestGate::KEY);
    for i in 0..10 {
        let v: Value = t
            .get(&["attachments"])
            .query(&[("pageNum", i)])
            .send()
            .await
            .unwrap();
        assert_eq!(v["ok"], true);
    }
    assert_eq!(state.requests(), 11, "1 challenge + 10 calls");
}

#[tokio::test]
async fn a_stale_nonce_costs_exactly_one_extra_request() {
    let (server, state) = digest_server().await;
    let t = digest_client(&server, DigestGate::KEY);
    for _ in 0..3 {
        let _: Value = t.get(&["a"]).send().await.unwrap();
    }
    assert_eq!(state.requests(), 4);
    state.rotate("n1/+B==");
    for _ in 0..3 {
        let _: Value = t.get(&["a"]).send().await.unwrap();
    }
    assert_eq!(state.requests(), 8, "one stale answer, then one per call");
}

#[tokio::test]
async fn a_wrong_digest_password_is_unauthorized_after_one_attempt() {
    let (server, state) = digest_server().await;
    let t = Transport::builder(server.uri())
        .auth(Auth::digest(DigestGate::USER, "wrong"))
        .retry(fast_retries())
        .build()
        .unwrap();
    let err = t.get(&["a"]).send::<Value>().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.kind, ErrorKind::Unauthorized);
    assert_eq!(api.message, "You are not authorized for this resource.");
    assert_eq!(state.requests(), 2, "the challenge and one signed attempt");
    assert!(!format!("{err:?}").contains("wrong"));
}

/// A `Form` is sent as its text fields in order, then its one file (a second `file` replaces
/// the first), as a multipart parser reads it.
#[tokio::test]
async fn a_form_sends_its_fields_in_order_then_its_one_file() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let t = Transport::builder(server.uri()).build().unwrap();
    let form = casefile::Form::new()
        .text("meta", "{\"a\":1}")
        .file("file", casefile::Upload::bytes("first.txt", "one"))
        .text("title", "Clip")
        .file("document", casefile::Upload::bytes("second.txt", "two"));
    t.post(&["upload"])
        .multipart(form)
        .send_empty()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let parts = crate::support::multipart_parts(&requests[0]);
    let heads: Vec<&str> = parts.iter().map(|(head, _)| head.as_str()).collect();
    assert_eq!(
        heads,
        [
            "Content-Disposition: form-data; name=\"meta\"",
            "Content-Disposition: form-data; name=\"title\"",
            "Content-Disposition: form-data; name=\"document\"; filename=\"second.txt\"",
        ]
    );
    assert_eq!(parts[0].1, b"{\"a\":1}");
    assert_eq!(parts[2].1, b"two");
}
