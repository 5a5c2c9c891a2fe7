//! What CPU readings cost in a process running 16 threads: one sample with per-core and
//! per-thread readings (what each sampler tick takes), and a whole session.
//!
//! Run with `cargo bench -p perftrack --bench cpu`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use perftrack::{CpuConfig, CpuUsageTracker, SamplingInterval};

fn readings(c: &mut Criterion) {
    // Sixteen parked threads, as in a service with a worker pool.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..15)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::park_timeout(Duration::from_millis(50));
                }
            })
        })
        .collect();

    let tracker = CpuUsageTracker::new(CpuConfig {
        max_records: 0,
        sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
        ..Default::default()
    });
    let mut group = c.benchmark_group("cpu");
    let id = tracker.start_tracking(None);
    group.bench_function("record_sample: process, system, cores, 16 threads", |b| {
        b.iter(|| tracker.record_sample(&id).unwrap())
    });
    tracker.stop_tracking(&id).unwrap();
    group.bench_function("start_tracking + stop_tracking, no sampler", |b| {
        b.iter(|| {
            let id = tracker.start_tracking(Some("stage"));
            tracker.stop_tracking(&id).unwrap()
        })
    });
    let no_threads = CpuUsageTracker::new(CpuConfig {
        max_records: 0,
        track_threads: false,
        sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
        ..Default::default()
    });
    group.bench_function(
        "start_tracking + stop_tracking, no sampler, no threads",
        |b| {
            b.iter(|| {
                let id = no_threads.start_tracking(Some("stage"));
                no_threads.stop_tracking(&id).unwrap()
            })
        },
    );
    group.finish();

    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.thread().unpark();
        w.join().unwrap();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = readings
}
criterion_main!(benches);
