//! Many threads recording under one label: every measurement is counted exactly once, the
//! statistics equal those of the same values recorded by one thread, and a merge, a reset or a
//! load running meanwhile loses nothing it should keep and keeps nothing by halves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use perftrack::{
    LatencyConfig, LatencyTracker, Statistics, ThroughputConfig, ThroughputTracker, TrackId,
};

fn quiet() -> LatencyConfig {
    LatencyConfig {
        max_records: 0,
        ..Default::default()
    }
}

#[test]
fn eight_threads_timing_one_label_count_every_guard() {
    let per_thread: u64 = 1_000_000;
    let tracker = LatencyTracker::new(quiet());
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..per_thread {
                    let _guard = tracker.track("retrieval");
                }
            });
        }
    });
    let stats = tracker.statistics(Some("retrieval")).unwrap();
    assert_eq!(stats.count, 8 * per_thread);
    assert_eq!(tracker.dropped_records(), 8 * per_thread);
    assert_eq!(
        tracker.snapshot().labels["retrieval"].count(),
        8 * per_thread
    );
}

/// Durations a thread records: its own pseudo-random sequence, from 1 µs to about 1 s.
fn durations(thread: u64, n: usize) -> Vec<Duration> {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ (thread + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_nanos(1_000 + x % 1_000_000_000)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn assert_same(striped: &Statistics, replayed: &Statistics) {
    assert_eq!(striped.count, replayed.count);
    assert_eq!(striped.percentiles_exact, replayed.percentiles_exact);
    for (name, a, b) in [
        ("min", striped.min, replayed.min),
        ("max", striped.max, replayed.max),
        ("median", striped.median, replayed.median),
        ("p50", striped.p50, replayed.p50),
        ("p90", striped.p90, replayed.p90),
        ("p95", striped.p95, replayed.p95),
        ("p99", striped.p99, replayed.p99),
    ] {
        assert_eq!(a, b, "{name}");
    }
    for (name, a, b) in [
        ("sum", striped.sum, replayed.sum),
        ("mean", striped.mean, replayed.mean),
        ("stddev", striped.stddev, replayed.stddev),
    ] {
        assert!(close(a, b), "{name}: {a} vs {b}");
    }
}

#[test]
fn values_recorded_by_eight_threads_give_the_statistics_of_one_thread_recording_them() {
    // 8 × 1,000 values stay exact (exact_limit 10,000); 8 × 5,000 go to the sketch.
    for per_thread in [1_000, 5_000] {
        let tracker = LatencyTracker::new(quiet());
        let recorded: Vec<Vec<Duration>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..8)
                .map(|t| {
                    let tracker = &tracker;
                    s.spawn(move || {
                        let values = durations(t, per_thread);
                        for &d in &values {
                            tracker.record("retrieval", d);
                        }
                        values
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let replay = LatencyTracker::new(quiet());
        for &d in recorded.iter().flatten() {
            replay.record("retrieval", d);
        }
        let striped = tracker.statistics(Some("retrieval")).unwrap();
        let replayed = replay.statistics(Some("retrieval")).unwrap();
        assert_eq!(striped.percentiles_exact, per_thread == 1_000);
        assert_same(&striped, &replayed);
        assert_same(&tracker.statistics(None).unwrap(), &replayed);
        // A saved file holds the same.
        let loaded = LatencyTracker::new(quiet());
        loaded
            .load_metrics_json(&tracker.metrics_json().unwrap(), Path::new("t.json"))
            .unwrap();
        assert_same(&loaded.statistics(Some("retrieval")).unwrap(), &replayed);
    }
}

/// Runs `work(thread)` on four threads until `admin` (run on this thread once all four have
/// started) returns; returns what each thread's `work` counted.
fn while_four_threads_record(
    work: impl Fn(usize, &AtomicBool) -> u64 + Sync,
    admin: impl FnOnce(),
) -> Vec<u64> {
    let started = Barrier::new(5);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (started, stop, work) = (&started, &stop, &work);
                s.spawn(move || {
                    started.wait();
                    work(t, stop)
                })
            })
            .collect();
        started.wait();
        admin();
        stop.store(true, Ordering::Release);
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn a_merge_while_four_threads_record_loses_nothing() {
    let tracker = LatencyTracker::new(LatencyConfig {
        max_records: 100,
        ..Default::default()
    });
    let file = {
        let other = LatencyTracker::new(LatencyConfig::default());
        for ms in 0..50 {
            other.record("retrieval", Duration::from_millis(ms));
        }
        other.metrics_json().unwrap()
    };
    const MERGES: u64 = 20;
    let done = while_four_threads_record(
        |_, stop| {
            let mut n = 0;
            // A guard held across the merges too: in flight, it still counts.
            let held = tracker.track("retrieval");
            while !stop.load(Ordering::Acquire) {
                let _guard = tracker.track("retrieval");
                n += 1;
            }
            drop(held);
            n + 1
        },
        || {
            for _ in 0..MERGES {
                tracker
                    .merge_metrics_json(&file, Path::new("other.json"))
                    .unwrap();
            }
        },
    );
    let expected = done.iter().sum::<u64>() + MERGES * 50;
    assert_eq!(
        tracker.statistics(Some("retrieval")).unwrap().count,
        expected
    );
    assert_eq!(tracker.records().len(), 100);
    assert_eq!(tracker.dropped_records(), expected - 100);
    // The saved file is consistent (the loader checks records against counts).
    let check = LatencyTracker::new(LatencyConfig::default());
    let loaded = check
        .load_metrics_json(&tracker.metrics_json().unwrap(), Path::new("t.json"))
        .unwrap();
    assert_eq!(loaded.dropped_records, expected - 100);
}

/// Four threads time guards while `replace` (a reset or a load) runs `ROUNDS` times. Returns
/// how many guards started after the last `replace` returned (each thread reads the round
/// before it starts a guard), which must all count, and how many more may count: those that
/// read the round before, and one a thread that read an older round and was held up past the
/// last `replace` before starting its guard.
fn replaced_while_recording(tracker: &LatencyTracker, replace: impl Fn()) -> (u64, u64) {
    const ROUNDS: u64 = 50;
    let round = AtomicU64::new(0);
    let counts = while_four_threads_record(
        |t, stop| {
            let label = ["a", "b", "c", "d"][t];
            let (mut last, mut before) = (0, 0);
            while !stop.load(Ordering::Acquire) {
                let started_in = round.load(Ordering::Acquire);
                drop(tracker.track(label));
                if started_in == ROUNDS {
                    last += 1;
                } else if started_in == ROUNDS - 1 {
                    before += 1;
                }
            }
            // Packed: what the helper returns is one number a thread.
            (last << 32) | before
        },
        || {
            for r in 1..=ROUNDS {
                replace();
                round.store(r, Ordering::Release);
            }
            // Let the threads time guards after the last one.
            while tracker.statistics(None).map_or(0, |s| s.count) < 1_000 {
                std::hint::spin_loop();
            }
        },
    );
    let last = counts.iter().map(|c| c >> 32).sum();
    let before: u64 = counts.iter().map(|c| c & 0xFFFF_FFFF).sum();
    (last, before + 4)
}

/// Every measurement is whole: counts, records and dropped records agree, in the tracker and
/// in a file it saves.
fn assert_consistent(tracker: &LatencyTracker, loaded_records: u64) {
    let by_label: u64 = tracker
        .statistics_by_label()
        .values()
        .map(|s| s.count)
        .sum();
    let all = tracker.statistics(None).unwrap().count;
    assert_eq!(by_label, all);
    let records = tracker.records().len() as u64;
    assert!(records <= 100);
    assert_eq!(tracker.dropped_records(), all - records);
    assert!(loaded_records <= all);
    let check = LatencyTracker::new(LatencyConfig::default());
    check
        .load_metrics_json(&tracker.metrics_json().unwrap(), Path::new("t.json"))
        .unwrap();
    assert_eq!(check.statistics(None).unwrap().count, all);
}

#[test]
fn a_reset_while_four_threads_record_keeps_every_measurement_started_after_it() {
    let tracker = LatencyTracker::new(LatencyConfig {
        max_records: 100,
        ..Default::default()
    });
    let (after, maybe) = replaced_while_recording(&tracker, || tracker.reset());
    let count = tracker.statistics(None).unwrap().count;
    assert!(
        (after..=after + maybe).contains(&count),
        "{count} counted, {after} started after the reset"
    );
    assert_consistent(&tracker, 0);
}

#[test]
fn a_load_while_four_threads_record_keeps_the_file_and_every_measurement_started_after_it() {
    let tracker = LatencyTracker::new(LatencyConfig {
        max_records: 100,
        ..Default::default()
    });
    let file = {
        let other = LatencyTracker::new(LatencyConfig::default());
        for ms in 0..30 {
            other.record("a", Duration::from_millis(ms));
        }
        other.metrics_json().unwrap()
    };
    let (after, maybe) = replaced_while_recording(&tracker, || {
        tracker
            .load_metrics_json(&file, Path::new("file.json"))
            .unwrap();
    });
    let count = tracker.statistics(None).unwrap().count;
    assert!(
        (after + 30..=after + 30 + maybe).contains(&count),
        "{count} counted, {after} started after the load"
    );
    assert_consistent(&tracker, 30);
}

#[test]
fn throughput_counted_from_eight_threads_adds_up_in_rates_totals_and_sessions() {
    let tracker = ThroughputTracker::new(ThroughputConfig::default());
    let id: TrackId = tracker.start_tracking(Some("queries"));
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    tracker.record("queries", 1);
                    tracker.record_event(&id, 2).unwrap();
                }
            });
        }
    });
    let record = tracker.stop_tracking(&id).unwrap();
    assert_eq!(record.count, 160_000);
    let snapshot = tracker.snapshot();
    assert_eq!(snapshot.labels["queries"].events_total, 240_000);
    assert!(tracker.current_rate("queries").unwrap() > 0.0);
    let saved: serde_json::Value = serde_json::from_str(&tracker.metrics_json().unwrap()).unwrap();
    let loaded = ThroughputTracker::new(ThroughputConfig::default());
    loaded
        .load_metrics_json(&saved.to_string(), Path::new("t.json"))
        .unwrap();
    assert_eq!(loaded.snapshot().labels["queries"].events_total, 240_000);
}
