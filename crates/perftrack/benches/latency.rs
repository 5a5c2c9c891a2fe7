//! What recording a latency costs, against two bare `Instant::now()` calls measured in the same
//! run (the least any latency measurement can cost).
//!
//! Run with `cargo bench -p perftrack --bench latency`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use perftrack::{Distribution, LatencyConfig, LatencyTracker, Status, Timestamp};

fn quiet_tracker() -> LatencyTracker {
    LatencyTracker::new(LatencyConfig {
        max_records: 0,
        ..Default::default()
    })
}

fn recording(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    group.bench_function("baseline: two Instant::now()", |b| {
        b.iter(|| {
            let start = Instant::now();
            black_box(Instant::now().duration_since(black_box(start)))
        })
    });
    group.bench_function("baseline: Distribution::record", |b| {
        let mut d = Distribution::new(10_000);
        let at = Timestamp::from_unix_nanos(0);
        let mut x = 0.001;
        b.iter(|| {
            x = if x > 1.0 { 0.001 } else { x * 1.0001 };
            d.record(black_box(x), Status::Ok, at)
        })
    });
    let tracker = quiet_tracker();
    group.bench_function("guard with a string label", |b| {
        b.iter(|| {
            let _guard = tracker.track(black_box("retrieval"));
        })
    });
    group.bench_function("start_tracking + stop_tracking", |b| {
        b.iter(|| {
            let id = tracker.start_tracking(Some(black_box("retrieval")));
            tracker.stop_tracking(&id).unwrap()
        })
    });
    group.bench_function("record(label, duration)", |b| {
        b.iter(|| {
            tracker.record(
                black_box("retrieval"),
                black_box(Duration::from_micros(850)),
            )
        })
    });
    let logging = LatencyTracker::new(LatencyConfig::default());
    group.bench_function("guard, keeping 100,000 records", |b| {
        b.iter(|| {
            let _guard = logging.track(black_box("retrieval"));
        })
    });
    group.finish();
}

fn statistics(c: &mut Criterion) {
    let mut group = c.benchmark_group("statistics");
    for (name, n) in [
        ("10,000 values (exact)", 10_000u64),
        ("1,000,000 values (sketch)", 1_000_000),
    ] {
        let tracker = quiet_tracker();
        for i in 0..n {
            tracker.record(
                "retrieval",
                Duration::from_nanos(10_000 + (i * 7_919) % 50_000_000),
            );
        }
        group.bench_function(name, |b| {
            b.iter(|| tracker.statistics(Some("retrieval")).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = recording, statistics
}
criterion_main!(benches);
