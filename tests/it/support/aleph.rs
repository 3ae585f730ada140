//! A ready Aleph client of a mock server, the Aleph fixtures, and checks of Aleph requests.

use casefile::RetryPolicy;
use casefile::aleph::{Client, Server};
use serde_json::Value;
use wiremock::{MockServer, Request, ResponseTemplate};

pub use super::{header, pairs, query, requests};

/// The API key of [`client`].
pub const KEY: &str = "363af1e2b03b41c6b3adc604956e2f66";

/// A client of `server` with an API key and no transport retries (each test counts requests),
/// told that the mock is Aleph 4.1.6, so that it never asks `GET /metadata` which server it is
/// (the tests of that build their own client).
pub fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .server(Server::aleph("4.1.6"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A fixture of `tests/fixtures/aleph/`.
pub fn fixture(name: &str) -> String {
    super::fixture_text(&format!("aleph/{name}"))
}

/// A 200 answer with a JSON body.
pub fn ok_json(body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into(), "application/json")
}

/// The one request the server received.
pub async fn only_request(server: &MockServer) -> Request {
    let mut all = requests(server).await;
    assert_eq!(all.len(), 1, "expected exactly one request, got {all:?}");
    all.remove(0)
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

/// Asserts the method, path, query and API key of a request. The query's parameters are
/// compared by name, and the values of a repeated name in order (the order of different names
/// means nothing to the server).
pub fn assert_request(req: &Request, method: &str, path: &str, expected_query: &[(&str, &str)]) {
    let by_name = |mut pairs: Vec<(String, String)>| {
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs
    };
    assert_eq!(req.method.as_str(), method, "method of {}", req.url);
    assert_eq!(req.url.path(), path, "path of {}", req.url);
    assert_eq!(
        by_name(query(req)),
        by_name(pairs(expected_query)),
        "query of {}",
        req.url
    );
    assert_eq!(
        header(req, "authorization"),
        Some(format!("ApiKey {KEY}").as_str()),
        "authorization of {}",
        req.url
    );
}

/// The entity ids of each `_bulk` request among `seen`, in request order.
pub fn bulk_ids(seen: &[Request]) -> Vec<Vec<String>> {
    seen.iter()
        .filter(|r| r.url.path().ends_with("/_bulk"))
        .map(|r| {
            body(r)
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}
