//! What the `tracing` feature records: a span per request with its method, route, attempts,
//! status and duration; retries and rate-limit waits as events; never a secret.
#![cfg(feature = "tracing")]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use casefile::{Auth, RateLimit, RetryPolicy, Transport};
use serde_json::{Value, json};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::util::SubscriberInitExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-5ecret-bearer-value";
const QUERY_KEY: &str = "qk-5ecret-query-value";

/// A writer the subscriber writes into, read back by the test (also used by `hostile_secrets`).
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test]
async fn a_failing_retried_request_is_one_span_with_retry_events_and_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/12345/entities"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>busy</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/roles/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "7"})))
        .mount(&server)
        .await;

    let captured = Captured::default();
    let writer = captured.clone();
    let _guard = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();

    let api = Transport::builder(format!("{}/api/2/", server.uri()))
        .auth(Auth::bearer(TOKEN))
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(2)),
        )
        // Two requests per 200 ms: the third attempt waits for the limiter.
        .rate_limit(RateLimit::new(2, Duration::from_millis(200)))
        .build()
        .unwrap();
    let error = api
        .get(&["collections", "12345", "entities"])
        .query_param("api_key", QUERY_KEY)
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    let me: Value = api.get(&["roles", "me"]).send().await.unwrap();
    assert_eq!(me["id"], "7");

    let log = captured.text();
    let lines: Vec<&str> = log.lines().collect();
    // The failed call: one span, closed once, with its final fields.
    let closed: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("casefile.request{") && l.contains("close"))
        .collect();
    assert_eq!(closed.len(), 2, "one span per request:\n{log}");
    let failed = closed[0];
    for field in [
        "method=GET",
        "route=/api/2/collections/{id}/entities",
        "attempt=3",
        "status=503",
        "duration_ms=",
    ] {
        assert!(failed.contains(field), "`{field}` missing in {failed}");
    }
    let ok = closed[1];
    for field in ["route=/api/2/roles/me", "attempt=1", "status=200"] {
        assert!(ok.contains(field), "`{field}` missing in {ok}");
    }
    // Two retries, each an event inside the request's span.
    let retries: Vec<&&str> = lines.iter().filter(|l| l.contains("retrying")).collect();
    assert_eq!(retries.len(), 2, "{log}");
    for (i, line) in retries.iter().enumerate() {
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains("casefile.request{method=GET"), "{line}");
        assert!(line.contains(&format!("attempt={}", i + 1)), "{line}");
        assert!(line.contains("reason=status 503"), "{line}");
        assert!(line.contains("wait_ms="), "{line}");
    }
    // The limiter held the third attempt back.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("rate limit wait") && l.contains("waited_ms=")),
        "{log}"
    );
    // No credential anywhere: not the bearer token, not the query's key.
    assert!(!log.contains(TOKEN), "the token leaked:\n{log}");
    assert!(!log.contains(QUERY_KEY), "the query key leaked:\n{log}");
    assert!(!log.contains("Bearer"), "{log}");
}
