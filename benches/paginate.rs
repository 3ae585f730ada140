//! The paginator's own cost per item: pages already in memory, so all that is measured is
//! the background task, the bounded channel and handing items out one by one.
//!
//! `cargo bench --bench paginate`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::{StreamExt, TryStreamExt};
use std::hint::black_box;

use casefile::{Page, PageToken, Paginator};

const PAGE: u64 = 100;
const TOTAL: u64 = 100_000;

/// A listing of `0..TOTAL` in pages of `PAGE`, addressed by offset, with the total known.
fn numbers() -> Paginator<u64> {
    Paginator::new(|token| async move {
        let offset = match token {
            Some(PageToken::Offset { offset, .. }) => offset,
            _ => 0,
        };
        let end = (offset + PAGE).min(TOTAL);
        let next = (end < TOTAL).then_some(PageToken::Offset {
            offset: end,
            limit: PAGE,
        });
        Ok(Page {
            items: (offset..end).collect(),
            next,
            total: Some(TOTAL),
        })
    })
}

fn paginate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("paginate");
    group.throughput(Throughput::Elements(TOTAL));
    group.bench_function("items, default stream", |b| {
        b.iter(|| runtime.block_on(numbers().try_fold(0u64, |n, i| async move { Ok(n + i) })))
    });
    group.bench_function("items, concurrency(8)", |b| {
        b.iter(|| {
            runtime.block_on(
                numbers()
                    .concurrency(8)
                    .try_fold(0u64, |n, i| async move { Ok(n + i) }),
            )
        })
    });
    group.bench_function("pages, default stream", |b| {
        b.iter(|| {
            runtime.block_on(
                numbers()
                    .pages()
                    .map(|p| p.map(|p| p.items.len()))
                    .try_fold(0usize, |n, len| async move { Ok(n + len) }),
            )
        })
    });
    // The floor: the same items from a plain stream over the same pages, built in place.
    group.bench_function("plain stream of the same pages", |b| {
        b.iter(|| {
            runtime.block_on(
                futures::stream::iter((0..TOTAL).step_by(PAGE as usize))
                    .map(|offset| futures::stream::iter(offset..(offset + PAGE).min(TOTAL)))
                    .flatten()
                    .fold(0u64, |n, i| async move { n + black_box(i) }),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, paginate);
criterion_main!(benches);
