//! Helpers shared by the test modules: fixtures, request capture (with multipart parts),
//! `assert_invalid`, quick retries and the example-binary finder here; a ready client of a
//! mock server per platform in `atlos`, `aleph` and `atlas`; a digest-protected server in
//! `digest`; a server on the test's own runtime, for paused-clock tests, in `local`.

#[cfg(feature = "aleph")]
pub mod aleph;
#[cfg(feature = "atlas")]
pub mod atlas;
#[cfg(feature = "atlos")]
pub mod atlos;
pub mod digest;
pub mod local;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use casefile::{Error, RetryPolicy};
use serde_json::Value;
use wiremock::{MockServer, Request};

/// The text of `tests/fixtures/<path>`, e.g. `fixture_text("atlos/incidents_page1.json")`.
pub fn fixture_text(path: &str) -> String {
    let path = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `tests/fixtures/<path>` as JSON.
pub fn fixture_json(path: &str) -> Value {
    serde_json::from_str(&fixture_text(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every request the server received, in order.
pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
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

/// A header of a request as text.
pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The parts of a `multipart/form-data` request: each part's header lines and its content.
pub fn multipart_parts(req: &Request) -> Vec<(String, Vec<u8>)> {
    let content_type = header(req, "content-type").unwrap_or_default();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not multipart/form-data: {content_type}"));
    let delimiter = format!("--{boundary}");
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut parts = Vec::new();
    let mut rest = &req.body[..];
    let start = find(rest, delimiter.as_bytes()).unwrap();
    rest = &rest[start + delimiter.len()..];
    // Each turn consumes a part or panics, so the loop ends with the body.
    while !rest.starts_with(b"--") {
        rest = &rest[2..]; // CRLF after the delimiter
        let end = find(rest, format!("\r\n{delimiter}").as_bytes()).unwrap();
        let part = &rest[..end];
        let split = find(part, b"\r\n\r\n").unwrap();
        parts.push((
            String::from_utf8(part[..split].to_vec()).unwrap(),
            part[split + 4..].to_vec(),
        ));
        rest = &rest[end + 2 + delimiter.len()..];
    }
    parts
}

/// The default retry policy with delays of 1 to 5 ms, for tests that count retries.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
}

/// Asserts that `err` refused `argument` before sending ([`Error::InvalidInput`]).
#[track_caller]
pub fn assert_invalid(err: &Error, argument: &str) {
    match err {
        Error::InvalidInput { argument: a, .. } if *a == argument => {}
        other => panic!("expected `{argument}` to be refused as invalid input, got {other:?}"),
    }
}

/// The built example binary `name` (`cargo test` builds the examples next to the test binaries:
/// target/debug/deps/it-<hash> -> target/debug/examples/<name>).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let binary = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test` (which builds the examples) or `cargo build --examples`",
        binary.display()
    );
    binary
}

/// A command for the example `name` with no platform settings from the caller's environment.
pub fn example_command(name: &str) -> Command {
    let mut command = Command::new(example(name));
    for (var, _) in std::env::vars() {
        if ["ATLOS_", "ALEPH_", "ALEPHCLIENT_", "ATLAS_"]
            .iter()
            .any(|p| var.starts_with(p))
        {
            command.env_remove(var);
        }
    }
    command
}
