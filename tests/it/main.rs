//! casefile's integration tests, in one binary (one link, one run; `cargo test --test it`).
//!
//! Each module is one subject and keeps the feature gate it needs at its top; `support` holds
//! the helpers several modules share: ready clients for a mock server, fixtures, request capture,
//! `assert_invalid`, the digest-protected server and the example-binary finder.

// Some support helpers serve only the modules of one feature set.
#[allow(dead_code)]
mod support;

mod aleph;
mod aleph_crawl;
mod aleph_examples;
mod aleph_resources;
mod aleph_transfer;
mod atlas;
mod atlos;
mod examples;
mod faults;
mod paginate;
mod progress;
mod quickstart;
mod sandbox;
mod security;
mod tour;
mod tracing;
mod transport;
