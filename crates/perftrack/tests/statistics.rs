//! Statistics against direct computations: exact fields, exact and sketched percentiles, merges.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use perftrack::{Distribution, LatencyConfig, LatencyTracker, Status, TimeUnit, Timestamp};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution as _, LogNormal};

/// numpy.percentile(values, 100 * q) with the default "linear" method.
fn numpy_linear(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = q * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

fn distribution(values: &[f64], exact_limit: usize) -> Distribution {
    let mut d = Distribution::new(exact_limit);
    for (i, v) in values.iter().enumerate() {
        d.record(*v, Status::Ok, Timestamp::from_unix_nanos(i as i64));
    }
    d
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn known_latencies_give_the_textbook_statistics() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    for ms in [12, 18, 25, 31, 44, 50, 10] {
        tracker.record("retrieval", Duration::from_millis(ms));
    }
    let s = tracker.statistics(Some("retrieval")).unwrap();
    let values = [12.0, 18.0, 25.0, 31.0, 44.0, 50.0, 10.0];
    let mean = values.iter().sum::<f64>() / 7.0;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 7.0).sqrt();
    assert_eq!(s.count, 7);
    assert!(close(s.sum, 190.0, 1e-12));
    assert_eq!((s.min, s.max, s.last), (10.0, 50.0, 10.0));
    assert!(close(s.mean, mean, 1e-12));
    assert!(close(s.stddev, std, 1e-12));
    assert!(close(s.median, 25.0, 1e-12));
    assert!(close(s.p90, numpy_linear(&values, 0.9), 1e-12));
    assert!(close(s.p99, numpy_linear(&values, 0.99), 1e-12));
    assert!(s.percentiles_exact);
    // The original's "median" of an even count was the upper middle value; ours averages.
    tracker.record("even", Duration::from_millis(1));
    tracker.record("even", Duration::from_millis(2));
    assert!(close(
        tracker.statistics(Some("even")).unwrap().median,
        1.5,
        1e-12
    ));
}

#[test]
fn percentiles_of_a_million_log_normal_values_are_within_one_percent() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let log_normal = LogNormal::new(-3.0, 1.0).unwrap();
    let values: Vec<f64> = (0..1_000_000)
        .map(|_| log_normal.sample(&mut rng))
        .collect();
    let d = distribution(&values, 10_000);
    let s = d.statistics(1.0, "s").unwrap();
    assert!(!s.percentiles_exact);
    for (got, q) in [(s.p50, 0.5), (s.p90, 0.9), (s.p95, 0.95), (s.p99, 0.99)] {
        let exact = numpy_linear(&values, q);
        assert!(close(got, exact, 0.01), "p{q}: {got} vs {exact}");
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!(close(s.mean, mean, 1e-9));
}

#[test]
fn merging_two_distributions_equals_recording_everything_into_one() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let a: Vec<f64> = (0..30_000).map(|_| rng.random_range(-5.0..100.0)).collect();
    let b: Vec<f64> = (0..20_000).map(|_| rng.random_range(0.0..1e6)).collect();
    let mut merged = distribution(&a, 10_000);
    merged.merge(&distribution(&b, 10_000));
    let all: Vec<f64> = a.iter().chain(&b).copied().collect();
    let direct = distribution(&all, 10_000);
    let (m, d) = (
        merged.statistics(1.0, "x").unwrap(),
        direct.statistics(1.0, "x").unwrap(),
    );
    assert_eq!(m.count, d.count);
    assert_eq!((m.min, m.max), (d.min, d.max));
    assert!(close(m.sum, d.sum, 1e-9));
    assert!(close(m.mean, d.mean, 1e-9));
    assert!(close(m.stddev, d.stddev, 1e-9));
    // Sketches merge bucket by bucket, so the merged percentiles are identical.
    assert_eq!((m.p50, m.p90, m.p99), (d.p50, d.p90, d.p99));
}

proptest! {
    #[test]
    fn exact_mode_matches_a_direct_computation(values in prop::collection::vec(-1e6f64..1e6, 1..400)) {
        let s = distribution(&values, 10_000).statistics(1.0, "x").unwrap();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        prop_assert_eq!(s.count, values.len() as u64);
        prop_assert_eq!(s.min, values.iter().copied().fold(f64::INFINITY, f64::min));
        prop_assert_eq!(s.max, values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        prop_assert_eq!(s.last, *values.last().unwrap());
        let scale = values.iter().map(|v| v.abs()).fold(1.0, f64::max);
        prop_assert!((s.mean - mean).abs() <= 1e-9 * scale);
        prop_assert!((s.stddev - std).abs() <= 1e-6 * scale);
        for (got, q) in [(s.p50, 0.5), (s.p90, 0.9), (s.p95, 0.95), (s.p99, 0.99)] {
            let exact = numpy_linear(&values, q);
            prop_assert!((got - exact).abs() <= 1e-9 * scale, "p{}: {} vs {}", q, got, exact);
        }
        prop_assert!(s.percentiles_exact);
    }

    #[test]
    fn sketch_mode_is_within_one_percent(values in prop::collection::vec(1e-6f64..1e6, 2..2000)) {
        let s = distribution(&values, 0).statistics(1.0, "x").unwrap();
        prop_assert!(!s.percentiles_exact);
        for (got, q) in [(s.p50, 0.5), (s.p90, 0.9), (s.p95, 0.95), (s.p99, 0.99)] {
            let exact = numpy_linear(&values, q);
            prop_assert!((got - exact).abs() <= 0.01 * exact * (1.0 + 1e-9), "p{}: {} vs {}", q, got, exact);
        }
    }

    #[test]
    fn merge_is_the_same_as_recording_all(a in prop::collection::vec(0f64..1e3, 0..300), b in prop::collection::vec(0f64..1e3, 0..300), limit in 0usize..700) {
        let mut merged = distribution(&a, limit);
        merged.merge(&distribution(&b, limit));
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        let direct = distribution(&all, limit);
        match (merged.statistics(1.0, "x"), direct.statistics(1.0, "x")) {
            (None, None) => {}
            (Some(m), Some(d)) => {
                prop_assert_eq!(m.count, d.count);
                prop_assert_eq!(m.percentiles_exact, d.percentiles_exact);
                prop_assert!((m.mean - d.mean).abs() <= 1e-9 * d.mean.abs().max(1.0));
                if d.percentiles_exact {
                    prop_assert!((m.p90 - d.p90).abs() <= 1e-9 * d.p90.abs().max(1.0));
                } else {
                    prop_assert_eq!(m.p90, d.p90);
                }
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn summaries_survive_serialisation_exactly(values in prop::collection::vec(-1e9f64..1e9, 0..300), limit in 0usize..400) {
        let d = distribution(&values, limit);
        let json = serde_json::to_string(&d).unwrap();
        let mut back: Distribution = serde_json::from_str(&json).unwrap();
        back.set_exact_limit(limit);
        prop_assert_eq!(back.statistics(1.0, "x"), d.statistics(1.0, "x"));
    }
}

/// Values of both signs, zero, and magnitudes from 1e-6 to 1e11: a ratio of 1e17, within the
/// 6·10¹⁷ the sketch spans before it coarsens the smallest magnitudes (`Sketch`'s docs).
fn any_magnitude() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => Just(0.0),
        8 => (-6.0f64..11.0, any::<bool>()).prop_map(|(e, neg)| {
            let v = 10f64.powf(e);
            if neg { -v } else { v }
        }),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        4 => Just(Status::Ok),
        1 => Just(Status::Failed),
        1 => Just(Status::Cancelled),
    ]
}

proptest! {
    #[test]
    fn sketched_percentiles_stay_within_the_bound_for_any_sign_and_magnitude(values in prop::collection::vec(any_magnitude(), 2..1500)) {
        let s = distribution(&values, 0).statistics(1.0, "x").unwrap();
        prop_assert!(!s.percentiles_exact);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for (got, q) in [(s.p50, 0.5), (s.p90, 0.9), (s.p95, 0.95), (s.p99, 0.99)] {
            // Each of the two order statistics around the rank is within the relative accuracy
            // of its bucket, so their interpolation is within it of the larger magnitude.
            let rank = q * (sorted.len() - 1) as f64;
            let (lo, hi) = (sorted[rank.floor() as usize], sorted[rank.ceil() as usize]);
            let bound = perftrack::RELATIVE_ACCURACY * lo.abs().max(hi.abs()) * (1.0 + 1e-9);
            let exact = numpy_linear(&values, q);
            prop_assert!((got - exact).abs() <= bound, "p{}: {} vs {} (bound {})", q, got, exact, bound);
        }
    }

    #[test]
    fn merging_any_parts_equals_recording_everything(
        parts in prop::collection::vec(prop::collection::vec((any_magnitude(), status(), 0i64..1_000), 0..200), 1..5),
        limit in 0usize..500,
    ) {
        let record = |d: &mut Distribution, (v, st, t): (f64, Status, i64)| {
            d.record(v, st, Timestamp::from_unix_nanos(t));
        };
        let mut merged = Distribution::new(limit);
        let mut direct = Distribution::new(limit);
        for part in &parts {
            let mut d = Distribution::new(limit);
            for &m in part {
                record(&mut d, m);
                record(&mut direct, m);
            }
            merged.merge(&d);
        }
        prop_assert_eq!(merged.count(), direct.count());
        match (merged.statistics(1.0, "x"), direct.statistics(1.0, "x")) {
            (None, None) => {}
            (Some(m), Some(d)) => {
                let all: Vec<f64> = parts.iter().flatten().map(|m| m.0).collect();
                let scale = all.iter().map(|v| v.abs()).fold(1e-300, f64::max);
                prop_assert_eq!((m.count, m.failed, m.cancelled), (d.count, d.failed, d.cancelled));
                prop_assert_eq!((m.min, m.max), (d.min, d.max));
                // The last value is the one with the latest timestamp; ties go to the later
                // recording, in both.
                prop_assert_eq!(m.last, d.last);
                prop_assert!((m.sum - d.sum).abs() <= 1e-9 * scale * all.len() as f64);
                prop_assert!((m.mean - d.mean).abs() <= 1e-9 * scale);
                prop_assert!((m.stddev - d.stddev).abs() <= 1e-6 * scale);
                prop_assert_eq!(m.percentiles_exact, d.percentiles_exact);
                if d.percentiles_exact {
                    // The same values in another order: the same sorted values.
                    prop_assert_eq!((m.p50, m.p90, m.p95, m.p99), (d.p50, d.p90, d.p95, d.p99));
                } else {
                    // Sketches merge bucket by bucket: identical to recording everything.
                    prop_assert_eq!((m.p50, m.p90, m.p95, m.p99), (d.p50, d.p90, d.p95, d.p99));
                }
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn tracker_statistics_match_a_direct_computation_in_its_unit(nanos in prop::collection::vec(0u64..10_000_000_000, 1..300), unit_index in 0usize..4) {
        let unit = [TimeUnit::Seconds, TimeUnit::Milliseconds, TimeUnit::Microseconds, TimeUnit::Nanoseconds][unit_index];
        let tracker = LatencyTracker::new(LatencyConfig { time_unit: unit, ..LatencyConfig::default() });
        for &n in &nanos {
            tracker.record("stage", Duration::from_nanos(n));
        }
        let s = tracker.statistics(Some("stage")).unwrap();
        let values: Vec<f64> = nanos.iter().map(|&n| n as f64 / 1e9 * unit.per_second()).collect();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let scale = values.iter().copied().fold(1e-300, f64::max);
        prop_assert_eq!(s.count, nanos.len() as u64);
        prop_assert_eq!(s.unit.as_str(), unit.as_str());
        prop_assert!(close(s.min, values.iter().copied().fold(f64::INFINITY, f64::min), 1e-12));
        prop_assert!(close(s.max, values.iter().copied().fold(0.0, f64::max), 1e-12));
        prop_assert!(close(s.sum, values.iter().sum::<f64>(), 1e-9));
        prop_assert!((s.mean - mean).abs() <= 1e-9 * scale);
        prop_assert!((s.stddev - std).abs() <= 1e-6 * scale);
        prop_assert!(close(s.last, *values.last().unwrap(), 1e-12));
        prop_assert!(s.percentiles_exact);
        for (got, q) in [(s.median, 0.5), (s.p90, 0.9), (s.p95, 0.95), (s.p99, 0.99)] {
            let exact = numpy_linear(&values, q);
            prop_assert!((got - exact).abs() <= 1e-9 * scale, "p{}: {} vs {}", q, got, exact);
        }
    }
}
