//! What memory readings cost: one full reading (what each sampler tick takes), a sample, and a
//! whole session.
//!
//! Run with `cargo bench -p perftrack --bench memory`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use perftrack::{MemoryConfig, MemoryUsageTracker, SamplingInterval};

fn tracker(interval_s: f64) -> MemoryUsageTracker {
    MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        max_records: 0,
        sampling_interval: SamplingInterval::from_secs_f64(interval_s).unwrap(),
        ..Default::default()
    })
}

fn readings(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory");
    let quiet = tracker(0.0);
    group.bench_function("one reading (a sampler tick's probes, no GPU)", |b| {
        b.iter(|| quiet.current_value(None).unwrap())
    });
    let id = quiet.start_tracking(None);
    group.bench_function("record_sample (reading + timeline + peak)", |b| {
        b.iter(|| quiet.record_sample(&id).unwrap())
    });
    quiet.stop_tracking(&id).unwrap();
    group.bench_function("start_tracking + stop_tracking, no sampler", |b| {
        b.iter(|| {
            let id = quiet.start_tracking(Some("stage"));
            quiet.stop_tracking(&id).unwrap()
        })
    });
    let sampled = tracker(1.0);
    group.bench_function(
        "start_tracking + stop_tracking, sampler started and joined",
        |b| {
            b.iter(|| {
                let id = sampled.start_tracking(Some("stage"));
                sampled.stop_tracking(&id).unwrap()
            })
        },
    );
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = readings
}
criterion_main!(benches);
