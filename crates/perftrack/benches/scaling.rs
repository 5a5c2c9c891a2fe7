//! What recording costs when two threads record at once, against the same work on one thread
//! and against bare clock reads on the same number of threads, measured in the same run.
//!
//! Run with `cargo bench -p perftrack --bench scaling` (about a minute; on a quiet machine with
//! at least two cores, or the two threads share one and the figures mean nothing).
//!
//! Every figure is the time of one measurement per thread, and criterion's `thrpt` line is the
//! measurements per second of all threads together:
//!
//! - `one thread/…`: a latency guard (`track("retrieval")`, dropped at once) with
//!   `max_records: 0` and with the default configuration (which keeps records, so every
//!   measurement also enters the tracker's record-log mutex), against the baseline of two bare
//!   `Instant::now()`; throughput `record("queries", 1)` against one `Instant::now()`.
//! - `two threads/…`: each of two threads does the same in a loop, timing one label or two
//!   distinct labels, and the time is the wall clock of both loops divided by the measurements
//!   each thread made. Compare each figure with the same operation on `one thread` (1× means
//!   the threads did not slow each other; 2× means they took turns) and with the two-thread
//!   baseline of bare clock reads, which shows what the machine itself loses by running two
//!   threads.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use perftrack::{LatencyConfig, LatencyTracker, ThroughputConfig, ThroughputTracker};

/// The labels of the two threads when they time distinct labels.
const LABELS: [&str; 2] = ["retrieval", "rerank"];

fn quiet_tracker() -> LatencyTracker {
    LatencyTracker::new(LatencyConfig {
        max_records: 0,
        ..Default::default()
    })
}

fn logging_tracker() -> LatencyTracker {
    LatencyTracker::new(LatencyConfig::default())
}

/// Two bare clock reads, as a latency measurement makes.
#[inline]
fn two_clock_reads() -> Duration {
    let start = Instant::now();
    black_box(Instant::now().duration_since(black_box(start)))
}

/// Runs `work(thread, iters)` on two threads at once and returns the wall time from when both
/// are ready to start until both are done (thread start-up is not counted).
fn on_two_threads(iters: u64, work: impl Fn(usize, u64) + Sync) -> Duration {
    let ready = Barrier::new(3);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|thread| {
                let (ready, work) = (&ready, &work);
                s.spawn(move || {
                    ready.wait();
                    work(thread, iters);
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        for thread in threads {
            thread.join().unwrap();
        }
        start.elapsed()
    })
}

fn one_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("one thread");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline: two Instant::now()", |b| b.iter(two_clock_reads));
    let quiet = quiet_tracker();
    group.bench_function("latency guard, max_records: 0", |b| {
        b.iter(|| {
            let _guard = quiet.track(black_box("retrieval"));
        })
    });
    let logging = logging_tracker();
    group.bench_function("latency guard, default config", |b| {
        b.iter(|| {
            let _guard = logging.track(black_box("retrieval"));
        })
    });
    group.bench_function("baseline: one Instant::now()", |b| b.iter(Instant::now));
    let throughput = ThroughputTracker::new(ThroughputConfig::default());
    group.bench_function("throughput record(label, 1)", |b| {
        b.iter(|| throughput.record(black_box("queries"), 1))
    });
    group.finish();
}

fn two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("two threads");
    // One iteration is one measurement on each thread.
    group.throughput(Throughput::Elements(2));
    group.bench_function("baseline: two Instant::now()", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, |_, n| {
                for _ in 0..n {
                    two_clock_reads();
                }
            })
        })
    });
    for (config, make) in [
        ("max_records: 0", quiet_tracker as fn() -> LatencyTracker),
        ("default config", logging_tracker),
    ] {
        let tracker = make();
        group.bench_function(format!("latency guard, one label, {config}"), |b| {
            b.iter_custom(|iters| {
                on_two_threads(iters, |_, n| {
                    for _ in 0..n {
                        let _guard = tracker.track(black_box("retrieval"));
                    }
                })
            })
        });
        let tracker = make();
        group.bench_function(format!("latency guard, distinct labels, {config}"), |b| {
            b.iter_custom(|iters| {
                on_two_threads(iters, |thread, n| {
                    let label = LABELS[thread];
                    for _ in 0..n {
                        let _guard = tracker.track(black_box(label));
                    }
                })
            })
        });
    }
    group.bench_function("baseline: one Instant::now()", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, |_, n| {
                for _ in 0..n {
                    black_box(Instant::now());
                }
            })
        })
    });
    let throughput = ThroughputTracker::new(ThroughputConfig::default());
    group.bench_function("throughput record(label, 1), one label", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, |_, n| {
                for _ in 0..n {
                    throughput.record(black_box("queries"), 1);
                }
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = one_thread, two_threads
}
criterion_main!(benches);
