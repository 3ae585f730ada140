//! A ready Atlos client of a mock server, and the Atlos fixtures.

use casefile::RetryPolicy;
use casefile::atlos::Client;
use serde_json::Value;
use wiremock::MockServer;

/// The API token of [`client`]; Atlos tokens are base64.
pub const TOKEN: &str = "vKx1vOZ0aE5hQ2JmX3d2dXl6QWJDZEVmR2hJaktMbU4=";

/// A client of `server` with [`TOKEN`] and no transport retries (each test counts requests).
pub fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A fixture of `tests/fixtures/atlos/`.
pub fn fixture(name: &str) -> String {
    super::fixture_text(&format!("atlos/{name}"))
}

/// A fixture of `tests/fixtures/atlos/` as JSON.
pub fn fixture_json(name: &str) -> Value {
    super::fixture_json(&format!("atlos/{name}"))
}
