//! A ready Atlas client of a mock server, and the Atlas fixtures as answers.

use casefile::RetryPolicy;
use casefile::atlas::Client;
use wiremock::{MockServer, ResponseTemplate};

/// The Bearer token of [`client`].
pub const TOKEN: &str = "tok-atlas-5e3c";

/// A client of `server` with [`TOKEN`] and no transport retries (each test counts requests).
pub fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A 200 answer with the JSON fixture `tests/fixtures/atlas/<name>`.
pub fn fixture(name: &str) -> ResponseTemplate {
    fixture_with_status(name, 200)
}

/// An answer with `status` and the JSON fixture `tests/fixtures/atlas/<name>`.
pub fn fixture_with_status(name: &str, status: u16) -> ResponseTemplate {
    let body = super::fixture_text(&format!("atlas/{name}"));
    ResponseTemplate::new(status).set_body_raw(body, "application/json")
}
