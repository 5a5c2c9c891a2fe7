//! What counting events costs, against one bare `Instant::now()` measured in the same run (every
//! event is time-stamped once, so that is the least it can cost).
//!
//! Run with `cargo bench -p perftrack --bench throughput`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use perftrack::{ThroughputConfig, ThroughputTracker};

fn quiet_tracker() -> ThroughputTracker {
    ThroughputTracker::new(ThroughputConfig {
        max_records: 0,
        ..Default::default()
    })
}

fn counting(c: &mut Criterion) {
    let mut group = c.benchmark_group("throughput");
    group.bench_function("baseline: one Instant::now()", |b| b.iter(Instant::now));
    let tracker = quiet_tracker();
    let id = tracker.start_tracking(Some("queries"));
    group.bench_function("record_event(id, 1)", |b| {
        b.iter(|| tracker.record_event(black_box(&id), 1).unwrap())
    });
    group.bench_function("record(label, 1)", |b| {
        b.iter(|| tracker.record(black_box("queries"), 1))
    });
    let mut guard = tracker.track("tokens");
    group.bench_function("guard.record(1)", |b| b.iter(|| guard.record(black_box(1))));
    drop(guard);

    let full = quiet_tracker();
    for _ in 0..100_000 {
        full.record("queries", 1);
    }
    group.bench_function("current_rate, 100,000 events in the window", |b| {
        b.iter(|| full.current_rate(black_box("queries")).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = counting
}
criterion_main!(benches);
