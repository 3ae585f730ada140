//! Decoding a page of each platform's listings from the bytes a server sends, into the typed
//! models, as the transport does it (straight from bytes, no intermediate `serde_json::Value`).
//!
//! `cargo bench --bench decode`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use std::hint::black_box;

#[path = "support/mod.rs"]
mod support;

use casefile::aleph::{Entity, ResultSet};
use casefile::atlas::Attachment;
use casefile::atlos::Incident;

/// The shape of an Atlos listing page (the client's own is private; it has these fields).
#[derive(Deserialize)]
struct AtlosListing {
    results: Option<Vec<Incident>>,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// The `{"items", "count"}` shape of an Atlas listing page.
#[derive(Deserialize)]
struct AtlasListing {
    items: Vec<Attachment>,
    #[serde(default)]
    count: Option<u64>,
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");

    let atlos = support::atlos_page(&support::atlos_items_json(100), Some("c1"));
    group.throughput(Throughput::Bytes(atlos.len() as u64));
    group.bench_function("atlos incidents page of 100", |b| {
        b.iter(|| {
            let page: AtlosListing = serde_json::from_slice(black_box(&atlos)).unwrap();
            assert!(page.error.is_none() && page.next.is_some());
            page.results.unwrap().len()
        })
    });
    // What decoding through a `Value` first would cost: the path the library avoids.
    group.bench_function("atlos incidents page of 100, via Value", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_slice(black_box(&atlos)).unwrap();
            let page: AtlosListing = serde_json::from_value(value).unwrap();
            page.results.unwrap().len()
        })
    });

    let items = serde_json::to_vec(&support::aleph_search_entities(50)).unwrap();
    let aleph = support::aleph_search_page("http://127.0.0.1:1", &items, 0, 50, 5000);
    group.throughput(Throughput::Bytes(aleph.len() as u64));
    group.bench_function("aleph search page of 50", |b| {
        b.iter(|| {
            let page: ResultSet<Entity> = serde_json::from_slice(black_box(&aleph)).unwrap();
            page.results.len()
        })
    });

    let lines = support::aleph_stream_lines(1000);
    group.throughput(Throughput::Bytes(lines.len() as u64));
    group.bench_function("aleph _stream, 1000 lines", |b| {
        b.iter(|| {
            let mut entities = 0;
            for line in black_box(&lines).split(|&b| b == b'\n') {
                if !line.is_empty() {
                    black_box(serde_json::from_slice::<Entity>(line).unwrap());
                    entities += 1;
                }
            }
            entities
        })
    });

    let atlas = support::atlas_page(100);
    group.throughput(Throughput::Bytes(atlas.len() as u64));
    group.bench_function("atlas attachments page of 100", |b| {
        b.iter_batched(
            || atlas.clone(),
            |bytes| {
                let page: AtlasListing = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(page.count, Some(100));
                page.items.len()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
