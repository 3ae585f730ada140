//! Hostile identifiers and secret hygiene, through every platform client.
#![cfg(all(feature = "atlos", feature = "aleph", feature = "atlas"))]

use casefile::{Error, RetryPolicy};
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate};

const HOSTILE: &[&str] = &[
    "a/b",
    "..",
    ".",
    "?x=1",
    "#frag",
    "%2F",
    "%2e%2e",
    "sp ace",
    "ünïcødé",
    "../../admin",
    "a\\b",
    "x;y=1",
];

type Call = Box<dyn Fn(String) -> BoxFuture<'static, casefile::Result<()>>>;

/// An operation, the number of path segments its request has, and where the identifier sits.
struct Case {
    name: &'static str,
    segments: usize,
    at: usize,
    call: Call,
}

fn case(name: &'static str, segments: usize, at: usize, call: Call) -> Case {
    Case {
        name,
        segments,
        at,
        call,
    }
}

async fn any_answer() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"status": "error", "message": "no"})),
        )
        .mount(&server)
        .await;
    server
}

/// Each hostile identifier is either refused before sending or arrives as exactly one segment.
/// Returns how many were sent.
async fn check(server: &MockServer, cases: Vec<Case>) -> usize {
    let mut sent = 0;
    for case in cases {
        for &hostile in HOSTILE {
            let before = server.received_requests().await.unwrap().len();
            let result = (case.call)(hostile.to_owned()).await;
            let requests = server.received_requests().await.unwrap();
            if let Err(Error::InvalidInput { .. }) = result {
                assert_eq!(
                    requests.len(),
                    before,
                    "{}({hostile:?}) was refused but sent",
                    case.name
                );
                continue;
            }
            assert_eq!(requests.len(), before + 1, "{}({hostile:?})", case.name);
            sent += 1;
            let url = &requests[before].url;
            let segments: Vec<&str> = url.path_segments().unwrap().collect();
            assert_eq!(
                segments.len(),
                case.segments,
                "{}({hostile:?}) went to {url}",
                case.name
            );
            let decoded = percent_encoding::percent_decode_str(segments[case.at])
                .decode_utf8()
                .unwrap();
            assert_eq!(decoded, hostile, "{}({hostile:?}) went to {url}", case.name);
            assert!(
                url.fragment().is_none(),
                "{}({hostile:?}) went to {url}",
                case.name
            );
            assert!(
                url.query_pairs().all(|(k, _)| k != "x"),
                "{}({hostile:?}) injected a query: {url}",
                case.name
            );
        }
    }
    sent
}

#[tokio::test]
async fn hostile_identifiers_never_change_the_route() {
    let server = any_answer().await;
    let atlos = casefile::atlos::Client::builder()
        .base_url(server.uri())
        .token("t")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let aleph = casefile::aleph::Client::builder()
        .base_url(server.uri())
        .api_key("k")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let atlas = casefile::atlas::Client::builder()
        .base_url(server.uri())
        .token("t")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let uuid = "944117fa-46a9-4cc5-9151-c5d4034c72c1";

    let a = atlos.clone();
    let b = atlos.clone();
    let c = atlos.clone();
    let d = atlos.clone();
    let e = atlos.clone();
    let atlos_cases = vec![
        case(
            "atlos comment(slug)",
            4,
            3,
            Box::new(move |s| {
                let a = a.clone();
                async move { a.incidents().comment(s, "hi").await }.boxed()
            }),
        ),
        case(
            "atlos update_attribute(slug)",
            5,
            3,
            Box::new(move |s| {
                let b = b.clone();
                async move {
                    b.incidents()
                        .update_attribute(s, "status", "Completed")
                        .await
                }
                .boxed()
            }),
        ),
        case(
            "atlos update_attribute(attribute)",
            5,
            4,
            Box::new(move |s| {
                let c = c.clone();
                async move { c.incidents().update_attribute("5HH224", s, "x").await }.boxed()
            }),
        ),
        case(
            "atlos set_metadata(namespace)",
            6,
            5,
            Box::new(move |s| {
                let d = d.clone();
                async move {
                    d.source_material()
                        .set_metadata(uuid, s, json!({}))
                        .await
                        .map(|_| ())
                }
                .boxed()
            }),
        ),
        case(
            "atlos create source material(slug)",
            5,
            4,
            Box::new(move |s| {
                let e = e.clone();
                async move { e.source_material().create(s).await.map(|_| ()) }.boxed()
            }),
        ),
    ];
    assert!(
        check(&server, atlos_cases).await > 0,
        "some atlos identifiers are sent, encoded"
    );

    let (a, b, c, d, e) = (
        aleph.clone(),
        aleph.clone(),
        aleph.clone(),
        aleph.clone(),
        aleph.clone(),
    );
    let aleph_cases = vec![
        case(
            "aleph collections().get",
            4,
            3,
            Box::new(move |s| {
                let a = a.clone();
                async move { a.collections().get(&s).await.map(|_| ()) }.boxed()
            }),
        ),
        case(
            "aleph entities().get",
            4,
            3,
            Box::new(move |s| {
                let b = b.clone();
                async move { b.entities().get(&s).await.map(|_| ()) }.boxed()
            }),
        ),
        case(
            "aleph alerts().delete",
            4,
            3,
            Box::new(move |s| {
                let c = c.clone();
                async move { c.alerts().delete(&s).await }.boxed()
            }),
        ),
        case(
            "aleph mappings().trigger",
            7,
            5,
            Box::new(move |s| {
                let d = d.clone();
                async move { d.mappings().trigger("1", &s).await.map(|_| ()) }.boxed()
            }),
        ),
        case(
            "aleph permissions().get",
            5,
            3,
            Box::new(move |s| {
                let e = e.clone();
                async move { e.permissions().get(&s).await.map(|_| ()) }.boxed()
            }),
        ),
    ];
    assert!(
        check(&server, aleph_cases).await > 0,
        "some aleph identifiers are sent, encoded"
    );

    let (a, b) = (atlas.clone(), atlas.clone());
    let atlas_cases = vec![
        case(
            "atlas attachments().get",
            4,
            3,
            Box::new(move |s| {
                let a = a.clone();
                async move { a.attachments().get(s).await.map(|_| ()) }.boxed()
            }),
        ),
        case(
            "atlas attachments().annotations",
            5,
            3,
            Box::new(move |s| {
                let b = b.clone();
                async move {
                    b.attachments()
                        .annotations(s)
                        .stream()
                        .try_collect::<Vec<_>>()
                        .await
                        .map(|_| ())
                }
                .boxed()
            }),
        ),
    ];
    assert!(
        check(&server, atlas_cases).await > 0,
        "some atlas identifiers are sent, encoded"
    );
}

#[tokio::test]
async fn an_archive_token_cannot_add_query_parameters() {
    let server = any_answer().await;
    let aleph = casefile::aleph::Client::builder()
        .base_url(server.uri())
        .api_key("k")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let _ = aleph
        .archive()
        .download("tok&api_key=stolen#x")
        .send()
        .await;
    let requests = server.received_requests().await.unwrap();
    let pairs: Vec<(String, String)> = requests[0]
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        pairs,
        [("token".to_owned(), "tok&api_key=stolen#x".to_owned())]
    );
}

#[test]
fn no_secret_in_the_debug_of_any_client_builder_or_error() {
    const SECRET: &str = "s3cr3t-7f6e5d4c3b2a";
    let texts = [
        format!("{:?}", casefile::atlos::Client::builder().token(SECRET)),
        format!(
            "{:?}",
            casefile::atlos::Client::builder()
                .token(SECRET)
                .build()
                .unwrap()
        ),
        format!(
            "{:?}",
            casefile::aleph::Client::builder()
                .base_url("https://a.example.org")
                .api_key(SECRET)
        ),
        format!(
            "{:?}",
            casefile::aleph::Client::builder()
                .base_url("https://a.example.org")
                .api_key(SECRET)
                .build()
                .unwrap()
        ),
        format!(
            "{:?}",
            casefile::atlas::Client::builder()
                .base_url("https://a.example.org")
                .token(SECRET)
                .build()
                .unwrap()
        ),
        format!(
            "{:?}",
            casefile::atlas::Client::builder()
                .base_url("https://a.example.org")
                .digest("user", SECRET)
        ),
        format!(
            "{:?}",
            casefile::atlas::Client::builder()
                .base_url("https://a.example.org")
                .digest("user", SECRET)
                .build()
                .unwrap()
        ),
        format!("{:?}", casefile::Auth::bearer(SECRET)),
        format!("{:?}", casefile::Secret::new(SECRET)),
    ];
    for text in &texts {
        assert!(!text.contains(SECRET), "secret in {text}");
    }
}

#[tokio::test]
async fn no_secret_in_errors_from_any_platform() {
    const SECRET: &str = "s3cr3t-7f6e5d4c3b2a";
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "invalid token or token not found"})),
        )
        .mount(&server)
        .await;
    let atlos = casefile::atlos::Client::builder()
        .base_url(server.uri())
        .token(SECRET)
        .build()
        .unwrap();
    let aleph = casefile::aleph::Client::builder()
        .base_url(server.uri())
        .api_key(SECRET)
        .build()
        .unwrap();
    let atlas = casefile::atlas::Client::builder()
        .base_url(server.uri())
        .digest("user", SECRET)
        .build()
        .unwrap();
    let errors = [
        atlos.incidents().list().first_page().await.unwrap_err(),
        aleph.collections().get("1").await.unwrap_err(),
        atlas
            .attachments()
            .get("944117fa-46a9-4cc5-9151-c5d4034c72c1")
            .await
            .unwrap_err(),
    ];
    for err in &errors {
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(SECRET), "secret in {text}");
        }
    }
}
