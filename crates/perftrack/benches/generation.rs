//! What a generation request's per-chunk path costs, against bare clock reads in the same run.
//!
//! Run with `cargo bench -p perftrack --bench generation`:
//!
//! - `tokens(1)`: one chunk of one token on a guard that stays open, its gap recorded for the
//!   label's pooled chunk gaps (added to the label 32 at a time), against one bare
//!   `Instant::now()`;
//! - a whole request of 100 chunks (`track`, 100 × `tokens(1)`, `stop`, `max_records: 0`),
//!   against 101 bare `Instant::now()`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use perftrack::{GenerationConfig, GenerationTracker};

fn chunks(c: &mut Criterion) {
    let mut group = c.benchmark_group("generation");
    group.bench_function("baseline: one Instant::now()", |b| b.iter(Instant::now));
    let tracker = GenerationTracker::new(GenerationConfig {
        max_records: 0,
        ..Default::default()
    });
    let mut open = tracker.track("answer");
    group.bench_function("tokens(1) on a guard", |b| {
        b.iter(|| open.tokens(black_box(1)))
    });
    open.discard();
    group.bench_function("baseline: 101 Instant::now()", |b| {
        b.iter(|| {
            for _ in 0..101 {
                black_box(Instant::now());
            }
        })
    });
    group.bench_function("a request of 100 chunks", |b| {
        b.iter(|| {
            let mut request = tracker.track(black_box("answer"));
            for _ in 0..100 {
                request.tokens(black_box(1));
            }
            request.stop()
        })
    });
    group.finish();
}

criterion_group!(benches, chunks);
criterion_main!(benches);
