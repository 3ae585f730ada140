//! Helpers shared by the Aleph test files.

use casefile::RetryPolicy;
use casefile::aleph::Client;
use serde_json::Value;
use wiremock::{MockServer, Request};

pub const KEY: &str = "363af1e2b03b41c6b3adc604956e2f66";

/// A client of `server` with an API key and no transport retries (each test counts requests).
pub fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A fixture of `tests/fixtures/aleph/`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/aleph/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every request the server received.
pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

/// The one request the server received.
pub async fn only_request(server: &MockServer) -> Request {
    let mut all = requests(server).await;
    assert_eq!(all.len(), 1, "expected exactly one request, got {all:?}");
    all.remove(0)
}

/// The decoded query pairs of a request, in order.
pub fn query(req: &Request) -> Vec<(String, String)> {
    req.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `pairs` as owned strings, for comparing with [`query`].
pub fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The JSON body of a request.
pub fn body(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {}",
            String::from_utf8_lossy(&req.body)
        )
    })
}

/// A header of a request as text.
pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Asserts the method, path, query and API key of a request.
pub fn assert_request(req: &Request, method: &str, path: &str, expected_query: &[(&str, &str)]) {
    assert_eq!(req.method.as_str(), method, "method of {}", req.url);
    assert_eq!(req.url.path(), path, "path of {}", req.url);
    assert_eq!(query(req), pairs(expected_query), "query of {}", req.url);
    assert_eq!(
        header(req, "authorization"),
        Some(format!("ApiKey {KEY}").as_str()),
        "authorization of {}",
        req.url
    );
}
