//! casefile's integration tests, in one binary: `cargo test --all-features --test it`, or one
//! module with `cargo test --all-features --test it atlos::`.
//!
//! Every test talks HTTP to a real server on 127.0.0.1: wiremock, the `testkit` sandbox, or
//! `support::local` for tests on a paused clock. Each module keeps the feature gate it needs at
//! its top; `support` holds what several modules share: ready clients of a mock server,
//! fixtures, request capture, `assert_invalid`, the digest-protected server and the
//! example-binary finder.

// Some support helpers serve only the modules of one feature set.
#[allow(dead_code)]
mod support;

// The core: transport, paginator, failures, tracing, hostile input.
mod checksum;
mod faults;
mod from_lookup;
mod hostile_bounds;
mod hostile_files;
mod hostile_secrets;
mod paginate;
mod paginate_hostile;
mod security;
mod tracing;
mod transport;

// One platform each: every operation's exact request and the real servers' answers.
mod aleph;
mod aleph_crawl;
mod aleph_entitysets;
mod aleph_exports;
mod aleph_fetch;
mod aleph_files;
mod aleph_graph;
mod aleph_resources;
mod aleph_search;
mod aleph_server;
mod aleph_transfer;
mod aleph_validate;
mod aleph_validate_ftm4;
mod aleph_xref;
mod atlas;
mod atlas_download;
mod atlos;
mod atlos_evidence;
mod client_fidelity;
mod openaleph_routes;

// The sandbox, and the examples run as built binaries against it or against wiremock.
mod aleph_examples;
mod examples;
mod openaleph_sandbox;
mod progress;
mod quickstart;
mod sandbox;
mod sandbox_fidelity;
mod sandbox_fidelity_aleph_more;
mod sandbox_fidelity_atlos_atlas;
mod sandbox_server;
mod tour;
