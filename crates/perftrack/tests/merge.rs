//! Merging metrics files into a tracker: the result matches one tracker fed every measurement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use perftrack::{
    Error, LatencyConfig, LatencyTracker, PerformanceTracker, Statistics, ThroughputConfig,
    ThroughputTracker, get_performance_tracker,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// `n` latencies in microseconds, log-uniform between 100 µs and 1 s (a long tail, like real
/// pipeline stages), from a fixed seed.
fn latencies(seed: u64, n: usize) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| 10f64.powf(rng.random_range(2.0..6.0)).round() as u64)
        .collect()
}

fn tracker_of(values: &[u64]) -> LatencyTracker {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    for &us in values {
        tracker.record("retrieval", Duration::from_micros(us));
    }
    tracker
}

/// numpy's default ("linear") percentile of `values` in milliseconds.
fn percentile_ms(values: &[u64], q: f64) -> f64 {
    let mut sorted: Vec<f64> = values.iter().map(|&us| us as f64 / 1000.0).collect();
    sorted.sort_by(f64::total_cmp);
    let rank = q * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Saves two trackers' files, loads the first into a fresh tracker and merges the second.
fn merged(a: &[u64], b: &[u64]) -> LatencyTracker {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.json"), dir.path().join("b.json"));
    tracker_of(a).save_metrics(&pa).unwrap();
    tracker_of(b).save_metrics(&pb).unwrap();
    let tracker = LatencyTracker::new(LatencyConfig::default());
    tracker.load_metrics(&pa).unwrap();
    tracker.merge_metrics(&pb).unwrap();
    tracker
}

fn percentiles(s: &Statistics) -> [f64; 4] {
    [s.p50, s.p90, s.p95, s.p99]
}

#[test]
fn merging_small_files_keeps_percentiles_exact() {
    // 2 × 3,000 values: within the default exact_limit of 10,000.
    let (a, b) = (latencies(1, 3_000), latencies(2, 3_000));
    let all: Vec<u64> = a.iter().chain(&b).copied().collect();
    let got = merged(&a, &b).statistics(Some("retrieval")).unwrap();
    let one = tracker_of(&all).statistics(Some("retrieval")).unwrap();
    assert!(got.percentiles_exact);
    assert_eq!(got.count, 6_000);
    assert_eq!((got.min, got.max), (one.min, one.max));
    // Exact values merged exactly: the same percentiles, to the bit.
    assert_eq!(percentiles(&got), percentiles(&one));
    for (value, q) in percentiles(&got).into_iter().zip([0.5, 0.9, 0.95, 0.99]) {
        assert!((value - percentile_ms(&all, q)).abs() <= 1e-9 * value);
    }
    assert!((got.mean - one.mean).abs() <= 1e-9 * one.mean);
    assert!((got.stddev - one.stddev).abs() <= 1e-9 * one.stddev);
}

#[test]
fn merging_large_files_gives_the_percentiles_of_all_values_within_the_sketch_error() {
    // 2 × 15,000 values: past exact_limit, so the sketches are merged.
    let (a, b) = (latencies(3, 15_000), latencies(4, 15_000));
    let all: Vec<u64> = a.iter().chain(&b).copied().collect();
    let got = merged(&a, &b).statistics(Some("retrieval")).unwrap();
    let one = tracker_of(&all).statistics(Some("retrieval")).unwrap();
    assert!(!got.percentiles_exact);
    assert_eq!(got.count, 30_000);
    assert_eq!((got.min, got.max), (one.min, one.max));
    // A merged sketch holds the same buckets as one fed every value.
    assert_eq!(percentiles(&got), percentiles(&one));
    for (value, q) in percentiles(&got).into_iter().zip([0.5, 0.9, 0.95, 0.99]) {
        let exact = percentile_ms(&all, q);
        eprintln!(
            "p{}: merged {value:.4} ms, exact {exact:.4} ms, relative error {:.4} %",
            q * 100.0,
            (value - exact).abs() / exact * 100.0
        );
        assert!(
            (value - exact).abs() <= perftrack::RELATIVE_ACCURACY * exact,
            "p{}: merged {value} vs exact {exact}",
            q * 100.0
        );
    }
    assert!((got.mean - one.mean).abs() <= 1e-9 * one.mean);
}

#[test]
fn merged_records_stay_within_max_records_and_drops_are_counted() {
    let config = LatencyConfig {
        max_records: 5,
        ..Default::default()
    };
    let a = LatencyTracker::new(config.clone());
    let b = LatencyTracker::new(config.clone());
    for ms in 1..=4 {
        a.record("a", Duration::from_millis(ms));
        b.record("b", Duration::from_millis(10 * ms));
    }
    a.merge_metrics_json(&b.metrics_json().unwrap(), Path::new("b.json"))
        .unwrap();
    let records = a.records();
    let values: Vec<f64> = records.iter().map(|r| r.value).collect();
    // The newest five: the last of a's, then all of b's.
    assert_eq!(values, [4.0, 10.0, 20.0, 30.0, 40.0]);
    assert_eq!(a.dropped_records(), 3);
    assert_eq!(a.statistics(None).unwrap().count, 8);
    assert_eq!(a.statistics_by_label().len(), 2);
}

#[test]
fn merging_respects_the_label_cap() {
    let a = LatencyTracker::new(LatencyConfig {
        max_labels: 2,
        ..Default::default()
    });
    a.record("x", Duration::from_millis(1));
    a.record("y", Duration::from_millis(2));
    let b = LatencyTracker::new(LatencyConfig::default());
    b.record("y", Duration::from_millis(3));
    b.record("z", Duration::from_millis(4));
    b.record("zz", Duration::from_millis(5));
    a.merge_metrics_json(&b.metrics_json().unwrap(), Path::new("b.json"))
        .unwrap();
    let labels: Vec<String> = a.statistics_by_label().into_keys().collect();
    assert_eq!(labels, ["_other", "x", "y"]);
    assert_eq!(a.statistics(Some("y")).unwrap().count, 2);
    assert_eq!(a.statistics(Some("_other")).unwrap().count, 2);
    assert_eq!(a.overflowed_labels(), 2);
}

#[test]
fn merging_another_tracker_type_is_an_error_naming_the_file_and_changes_nothing() {
    let throughput = ThroughputTracker::new(ThroughputConfig::default());
    throughput.record("q", 3);
    let latency = tracker_of(&[100, 200]);
    let before = latency.statistics(None);
    let err = latency
        .merge_metrics_json(&throughput.metrics_json().unwrap(), Path::new("tp.json"))
        .unwrap_err();
    assert!(matches!(err, Error::WrongTrackerType { .. }), "{err}");
    assert!(err.to_string().contains("tp.json"));
    assert_eq!(latency.statistics(None), before);
}

#[test]
fn the_factory_trait_merges_python_files_too() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/python/latency.json");
    let tracker = get_performance_tracker("latency", None).unwrap();
    tracker.load_metrics(&python).unwrap();
    let once = tracker.statistics_json(None)["count"].as_u64().unwrap();
    tracker.merge_metrics(&python).unwrap();
    assert_eq!(tracker.statistics_json(None)["count"], 2 * once);
}
