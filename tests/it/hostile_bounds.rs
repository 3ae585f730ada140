//! Bounded time and memory against a hostile server (issue 14): answers larger than the limits,
//! JSON lines that never end, error bodies that never end, servers that stall or trickle, slow
//! uploads, and a `_bulk` chunk that keeps failing. Every server here is local (127.0.0.1), every
//! stream it sends is finite, and peak memory is read from the operating system (`VmHWM` of a
//! child process running only the client).
#![cfg(all(feature = "aleph", feature = "testkit"))]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use bytes::Bytes;
use casefile::aleph::{CrawlEvent, Entity, IngestMeta, NewCollection};
use casefile::error::{Limit, LimitError};
use casefile::testkit::{Platform, Sandbox};
use casefile::{Error, Form, RetryPolicy, Transport, Upload};
use futures::{Stream, StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MIB: u64 = 1024 * 1024;

/// Serves `app` on a free port of 127.0.0.1 and returns its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/")
}

/// `total` bytes of `byte` in chunks of 64 KiB, made only as they are read; `sent` counts what
/// was handed to the connection.
fn lazy_body(
    total: u64,
    byte: u8,
    sent: Arc<AtomicU64>,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    const CHUNK: u64 = 64 * 1024;
    let chunk = Bytes::from(vec![byte; CHUNK as usize]);
    futures::stream::iter(0..total.div_ceil(CHUNK)).map(move |_| {
        sent.fetch_add(CHUNK, Ordering::Relaxed);
        Ok(chunk.clone())
    })
}

/// A transport to `url` that never retries.
fn transport(url: &str) -> casefile::ClientBuilder<Transport> {
    Transport::builder(url).retry(RetryPolicy::none())
}

/// The limit that ended a call, or a panic naming the error.
fn limit_of(err: &Error) -> Limit {
    match err {
        Error::Limit(l) => l.limit,
        other => panic!("not a limit error: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Peak memory, measured in a child process.

/// Set in the child process to the server's URL.
const CHILD_URL: &str = "CASEFILE_HOSTILE_BOUNDS_URL";

/// The peak resident set of this process so far, in bytes (`VmHWM` in `/proc/self/status`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// What the child reports: its peak resident set and the error its call ended with.
fn child_report(err: &Error) {
    println!("CHILD-PEAK {}", peak_rss());
    println!("CHILD-ERROR {err}");
}

/// Runs the test `test` of this binary again, alone, in a child process whose client talks to
/// `url`; returns the child's peak resident set and the error text it printed.
async fn in_child(test: &str, url: &str) -> (u64, String) {
    // The test's name as the harness knows it, whichever binary this file is built into.
    let name = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::{test}"),
        None => test.to_owned(),
    };
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--nocapture", "--test-threads=1"])
        .env(CHILD_URL, url)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tail = |text: &[u8]| {
        let text = String::from_utf8_lossy(&text[text.len().saturating_sub(4000)..]);
        text.into_owned()
    };
    assert!(
        output.status.success(),
        "the child failed: {}\n{}",
        tail(&output.stdout),
        tail(&output.stderr)
    );
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.split_once(prefix).map(|(_, value)| value))
            .unwrap_or_else(|| panic!("the child printed no {prefix}: {stdout}"))
            .to_owned()
    };
    (field("CHILD-PEAK ").parse().unwrap(), field("CHILD-ERROR "))
}

#[tokio::test]
async fn an_oversized_answer_stops_at_the_body_limit_with_bounded_memory() {
    const BODY: u64 = 1024 * MIB;
    const LIMIT: u64 = 16 * MIB;
    if let Ok(url) = std::env::var(CHILD_URL) {
        // The child: only the client lives in this process.
        let t = transport(&url).max_body_size(LIMIT).build().unwrap();
        let err = match t.get(&["big"]).send_bytes().await {
            Ok(body) => panic!("{} bytes read past the limit", body.len()),
            Err(e) => e,
        };
        assert_eq!(limit_of(&err), Limit::BodySize { max: LIMIT });
        return child_report(&err);
    }
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    // A chunked answer: no Content-Length that could warn the client.
    let app = Router::new().route(
        "/big",
        get(move || {
            let sent = counter.clone();
            async move { Body::from_stream(lazy_body(BODY, b'x', sent)) }
        }),
    );
    let url = serve(app).await;
    let (peak, error) = in_child(
        "an_oversized_answer_stops_at_the_body_limit_with_bounded_memory",
        &url,
    )
    .await;
    eprintln!(
        "oversized body: child VmHWM {} MiB with a {} MiB limit; server sent {} MiB of {} MiB",
        peak / MIB,
        LIMIT / MIB,
        sent.load(Ordering::Relaxed) / MIB,
        BODY / MIB
    );
    assert!(
        error.contains(&format!("{LIMIT} bytes")) && error.contains("max_body_size"),
        "the error names the limit and how to raise it: {error}"
    );
    assert!(
        peak < 128 * MIB,
        "peak memory {} MiB for a {} MiB limit",
        peak / MIB,
        LIMIT / MIB
    );
    assert!(sent.load(Ordering::Relaxed) < BODY / 4, "reading stopped");
}

#[tokio::test]
async fn a_json_line_that_never_ends_stops_at_the_line_limit_with_bounded_memory() {
    const BODY: u64 = 1024 * MIB;
    const LIMIT: u64 = 4 * MIB;
    if let Ok(url) = std::env::var(CHILD_URL) {
        let t = transport(&url).max_line_length(LIMIT).build().unwrap();
        let lines = t.get(&["lines"]).send_stream().await.unwrap();
        let mut values = std::pin::pin!(lines.json_lines::<Value>());
        // The first line is fine; the second never ends.
        assert_eq!(values.try_next().await.unwrap(), Some(json!({"n": 1})));
        let err = match values.try_next().await {
            Ok(value) => panic!("a line past the limit was read: {}", value.is_some()),
            Err(e) => e,
        };
        assert_eq!(limit_of(&err), Limit::LineLength { max: LIMIT });
        return child_report(&err);
    }
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let app = Router::new().route(
        "/lines",
        get(move || {
            let sent = counter.clone();
            async move {
                let start =
                    futures::stream::iter([Ok(Bytes::from_static(b"{\"n\": 1}\n{\"s\": \""))]);
                Body::from_stream(start.chain(lazy_body(BODY, b'a', sent)))
            }
        }),
    );
    let url = serve(app).await;
    let (peak, error) = in_child(
        "a_json_line_that_never_ends_stops_at_the_line_limit_with_bounded_memory",
        &url,
    )
    .await;
    eprintln!(
        "endless JSON line: child VmHWM {} MiB with a {} MiB line limit; server sent {} MiB",
        peak / MIB,
        LIMIT / MIB,
        sent.load(Ordering::Relaxed) / MIB
    );
    assert!(
        error.contains("max_line_length"),
        "the error says how to raise the limit: {error}"
    );
    assert!(peak < 96 * MIB, "peak memory {} MiB", peak / MIB);
    assert!(sent.load(Ordering::Relaxed) < BODY / 4, "reading stopped");
}

#[tokio::test]
async fn an_error_body_is_read_only_up_to_64_kib() {
    const BODY: u64 = 1024 * MIB;
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let app = Router::new().route(
        "/fail",
        get(move || {
            let sent = counter.clone();
            async move {
                let body = futures::stream::iter([Ok(Bytes::from_static(
                    b"{\"message\": \"disk full\"}",
                ))])
                .chain(lazy_body(BODY, b' ', sent));
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    Body::from_stream(body),
                )
            }
        }),
    );
    let url = serve(app).await;
    let t = transport(&url).build().unwrap();
    let err = t.get(&["fail"]).send_bytes().await.unwrap_err();
    let api = err.api().expect("the server's error");
    assert_eq!(api.status, 500);
    assert!(
        api.body.starts_with("{\"message\": \"disk full\"}"),
        "{api:?}"
    );
    // Whatever the socket buffers took in, the client stopped far short of the whole body.
    let sent = sent.load(Ordering::Relaxed);
    eprintln!("endless error body: server sent {} MiB", sent / MIB);
    assert!(sent < 64 * MIB, "the server sent {} MiB", sent / MIB);
}

// ---------------------------------------------------------------------------------------------
// Time: idle and total timeouts.

/// A server whose routes stall or trickle: `/silent` never answers, `/stall` sends one chunk and
/// then nothing, `/trickle` sends a byte every 20 ms (for at most 10 s).
async fn slow_server() -> String {
    let app = Router::new()
        .route(
            "/silent",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "too late"
            }),
        )
        .route(
            "/stall",
            get(|| async {
                let first = futures::stream::iter([Ok::<_, Infallible>(Bytes::from_static(
                    b"{\"n\": 1}\n",
                ))]);
                Body::from_stream(first.chain(futures::stream::pending()))
            }),
        )
        .route(
            "/trickle",
            get(|| async {
                let bytes = futures::stream::iter(0..500).then(|_| async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, Infallible>(Bytes::from_static(b" "))
                });
                Body::from_stream(bytes)
            }),
        );
    serve(app).await
}

#[tokio::test]
async fn a_server_that_never_answers_ends_by_the_idle_timeout() {
    let url = slow_server().await;
    let t = transport(&url)
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = t.get(&["silent"]).send_bytes().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        limit_of(&err),
        Limit::Idle {
            after: Duration::from_millis(300)
        }
    );
    assert!(err.to_string().contains("idle_timeout"), "{err}");
}

#[tokio::test]
async fn an_answer_that_stalls_ends_by_the_idle_timeout() {
    let url = slow_server().await;
    let t = transport(&url)
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = t.get(&["stall"]).send_bytes().await.unwrap_err();
    assert!(matches!(limit_of(&err), Limit::Idle { .. }), "{err:?}");
    // Streamed: the line that arrived is delivered, then the stream ends with the error.
    let lines = t.get(&["stall"]).send_stream().await.unwrap();
    let mut values = std::pin::pin!(lines.json_lines::<Value>());
    assert_eq!(values.try_next().await.unwrap(), Some(json!({"n": 1})));
    let err = values.try_next().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn an_answer_that_trickles_forever_ends_by_the_total_timeout() {
    let url = slow_server().await;
    // The trickle never leaves the connection idle for a second, so only the total ends it.
    let t = transport(&url)
        .idle_timeout(Duration::from_secs(5))
        .total_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let err = t.get(&["trickle"]).send_bytes().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        limit_of(&err),
        Limit::Total {
            after: Duration::from_millis(400)
        }
    );
    let stream = t.get(&["trickle"]).send_stream().await.unwrap();
    let read: Result<Vec<Bytes>, Error> = stream.try_collect().await;
    let err = read.unwrap_err();
    assert!(matches!(limit_of(&err), Limit::Total { .. }), "{err:?}");

    // A request can have its own total timeout.
    let t = transport(&url)
        .idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = t
        .get(&["trickle"])
        .total_timeout(Duration::from_millis(300))
        .send_bytes()
        .await
        .unwrap_err();
    assert_eq!(
        limit_of(&err),
        Limit::Total {
            after: Duration::from_millis(300)
        }
    );
}

/// A server that takes an upload whole and says how many bytes its body had.
async fn upload_server() -> String {
    let app = Router::new().route(
        "/upload",
        post(|body: Bytes| async move { axum::Json(json!({"received": body.len()})) }),
    );
    serve(app).await
}

#[tokio::test]
async fn a_slow_upload_that_keeps_moving_is_not_cut() {
    let url = upload_server().await;
    let t = transport(&url)
        .idle_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    // 16 chunks, one every 100 ms: the upload takes four times the idle timeout, but data
    // never stops moving for long.
    let chunks = futures::stream::iter(0..16).then(|_| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, std::io::Error>(Bytes::from(vec![b'u'; 16 * 1024]))
    });
    let answer: Value = t
        .post(&["upload"])
        .multipart(Form::new().file("file", Upload::stream("slow.bin", 16 * 16 * 1024, chunks)))
        .send()
        .await
        .unwrap();
    assert!(answer["received"].as_u64().unwrap() > 16 * 16 * 1024);
}

#[tokio::test]
async fn an_upload_that_stops_moving_ends_by_the_idle_timeout() {
    let url = upload_server().await;
    let t = transport(&url)
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"start"))])
        .chain(futures::stream::pending());
    let err = t
        .post(&["upload"])
        .multipart(Form::new().file("file", Upload::stream("stuck.bin", 1024, chunks)))
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(limit_of(&err), Limit::Idle { .. }), "{err:?}");
    let LimitError { method, .. } = match &err {
        Error::Limit(l) => (**l).clone(),
        _ => unreachable!(),
    };
    assert_eq!(method, "POST");
}

// ---------------------------------------------------------------------------------------------
// One retry loop, one budget per call.

fn people(n: usize) -> Vec<Entity> {
    (0..n)
        .map(|i| {
            serde_json::from_value(json!({
                "id": format!("e-{i}"), "schema": "Person", "properties": {"name": [format!("P{i}")]}
            }))
            .unwrap()
        })
        .collect()
}

fn aleph(url: &str, key: &str, policy: RetryPolicy) -> casefile::aleph::Client {
    casefile::aleph::Client::builder()
        .base_url(url)
        .api_key(key)
        .retry(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_failing_bulk_chunk_is_sent_max_retries_plus_one_times() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/_bulk"))
        .respond_with(ResponseTemplate::new(503).set_body_raw("<html>busy</html>", "text/html"))
        .mount(&server)
        .await;
    let policy = RetryPolicy::default()
        .max_retries(3)
        .base_delay(Duration::from_millis(1));
    let err = aleph(&server.uri(), "k", policy)
        .collections()
        .bulk("4", people(10))
        // Not checked against a model: this mock serves no /metadata.
        .validate(false)
        .await
        .unwrap_err();
    let Error::Partial(bulk) = err else {
        panic!("not a bulk error: {err:?}")
    };
    assert_eq!(bulk.source.status(), Some(503));
    assert_eq!(bulk.retries, 3, "each retry counted once");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3 + 1,
        "max_retries + 1 requests, not the transport's times the bulk loop's"
    );
}

#[tokio::test]
async fn an_ingest_is_retried_only_when_its_foreign_id_makes_it_safe() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/4/ingest"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let policy = RetryPolicy::default()
        .max_retries(2)
        .base_delay(Duration::from_millis(1));
    let client = aleph(&server.uri(), "k", policy);
    let err = client
        .collections()
        .ingest(
            "4",
            Upload::bytes("a.txt", "a"),
            IngestMeta::with_foreign_id("a.txt"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let err = client
        .collections()
        .ingest("4", Upload::bytes("b.txt", "b"), IngestMeta::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "without a foreign id a second send could make a second document"
    );
}

#[tokio::test]
async fn ingest_dir_retries_each_upload_within_the_one_policy() {
    let s = Sandbox::builder().entities(&[1]).start().await.unwrap();
    let policy = RetryPolicy::default()
        .max_retries(2)
        .base_delay(Duration::from_millis(1));
    let client = aleph(&s.aleph_url(), s.aleph_api_key(), policy);
    let id = client
        .collections()
        .create(NewCollection::new("Bounds").foreign_id("bounds"))
        .await
        .unwrap()
        .id;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    std::fs::write(dir.path().join("b.txt"), "b").unwrap();
    let faults = s.faults().clone();
    let retrying = Arc::new(AtomicU64::new(0));
    let seen = retrying.clone();
    let before = s.requests(Platform::Aleph);
    let report = client
        .collections()
        .ingest_dir(&id, dir.path())
        .concurrency(1)
        .progress(move |event, _| match event {
            // From here on every request fails.
            CrawlEvent::Scanned { .. } => faults.fail_next(1_000, 503),
            CrawlEvent::Retrying { .. } => {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        })
        .await
        .unwrap();
    s.faults().clear();
    assert_eq!(report.failed.len(), 2, "{report}");
    for failure in &report.failed {
        assert_eq!(failure.attempts, 3, "{failure:?}");
    }
    assert_eq!(report.retries, 4, "{report}");
    assert_eq!(retrying.load(Ordering::SeqCst), 4);
    assert_eq!(
        s.requests(Platform::Aleph) - before,
        1 + 2 * 3,
        "the collection once, then each file max_retries + 1 times"
    );
}

#[tokio::test]
async fn an_announced_length_over_the_limit_is_refused_before_reading() {
    // The answer announces 1 GiB and then sends nothing: the announcement alone ends the call
    // (waiting for the body would end by the idle timeout instead).
    let app = Router::new().route(
        "/huge",
        get(|| async {
            let body = futures::stream::pending::<Result<Bytes, Infallible>>();
            (
                [(axum::http::header::CONTENT_LENGTH, (1024 * MIB).to_string())],
                Body::from_stream(body),
            )
        }),
    );
    let url = serve(app).await;
    let t = transport(&url)
        .max_body_size(MIB)
        .idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let err = t.get(&["huge"]).send_bytes().await.unwrap_err();
    assert_eq!(limit_of(&err), Limit::BodySize { max: MIB });
}

#[tokio::test]
async fn a_json_body_is_sent_whole_with_its_content_length() {
    // JSON bodies go out in pieces (so the idle clock sees them move) but keep their
    // Content-Length: Aleph's WSGI stack is not asked to read a chunked body.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let t = transport(&server.uri()).build().unwrap();
    let payload: Vec<String> = (0..20_000).map(|i| format!("entity-{i}")).collect();
    t.post(&["bulk"]).json(&payload).send_empty().await.unwrap();
    let received = server.received_requests().await.unwrap();
    let body = &received[0].body;
    assert!(body.len() > 200 * 1024, "several pieces: {}", body.len());
    assert_eq!(
        serde_json::from_slice::<Vec<String>>(body).unwrap(),
        payload
    );
    let header = |name: &str| {
        received[0]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("content-length"), Some(body.len().to_string()));
    assert_eq!(header("transfer-encoding"), None);
}

#[tokio::test]
async fn an_idle_request_is_retried_only_when_it_is_safe_to_send_again() {
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let app = Router::new().route(
        "/silent",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "too late"
        })
        .post(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "too late"
        })
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                counter.fetch_add(1, Ordering::SeqCst);
                next.run(req)
            },
        )),
    );
    let url = serve(app).await;
    let t = Transport::builder(&url)
        .idle_timeout(Duration::from_millis(200))
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = t.get(&["silent"]).send_bytes().await.unwrap_err();
    assert!(matches!(limit_of(&err), Limit::Idle { .. }), "{err:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 3, "a GET is sent again");
    // A POST may have been processed: not sent again unless marked idempotent.
    let err = t.post(&["silent"]).send_bytes().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    let err = t
        .post(&["silent"])
        .idempotent(true)
        .send_bytes()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 7);
}
