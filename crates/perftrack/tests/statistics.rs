//! Statistics against direct computations: exact fields, exact and sketched percentiles, merges.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use perftrack::{Distribution, LatencyConfig, LatencyTracker, Sketch, Status, TimeUnit, Timestamp};
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

/// The largest relative error of the sketch's estimates of the order statistics at 0.1 %
/// steps (and the extremes) of `values`, measured against the exact ones.
fn worst_rank_error(values: &[f64]) -> f64 {
    let mut sketch = Sketch::default();
    for v in values {
        sketch.add(*v);
    }
    assert_eq!(sketch.count(), values.len() as u64);
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let last = sorted.len() - 1;
    (0..=1000)
        .map(|i| i * last / 1000)
        .map(|rank| {
            let exact = sorted[rank];
            let got = sketch.value_at_rank(rank as u64).unwrap();
            (got - exact).abs() / exact.abs()
        })
        .fold(0.0, f64::max)
}

/// The largest relative error of a distribution's sketched p50, p90, p95 and p99, each against
/// the larger magnitude of the two order statistics it interpolates (numpy's "linear"), and
/// against the exact percentile.
fn worst_percentile_error(d: &Distribution, values: &[f64]) -> (f64, f64) {
    let s = d.statistics(1.0, "x").unwrap();
    assert!(!s.percentiles_exact);
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut worst = (0.0f64, 0.0f64);
    for (got, q) in [(s.p50, 0.5), (s.p90, 0.9), (s.p95, 0.95), (s.p99, 0.99)] {
        let rank = q * (sorted.len() - 1) as f64;
        let (lo, hi) = (sorted[rank.floor() as usize], sorted[rank.ceil() as usize]);
        let exact = numpy_linear(values, q);
        worst.0 = worst.0.max((got - exact).abs() / lo.abs().max(hi.abs()));
        worst.1 = worst.1.max((got - exact).abs() / exact.abs());
    }
    worst
}

#[test]
fn percentiles_of_a_million_log_normal_values_are_within_the_relative_accuracy() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let log_normal = LogNormal::new(-3.0, 1.0).unwrap();
    let values: Vec<f64> = (0..1_000_000)
        .map(|_| log_normal.sample(&mut rng))
        .collect();
    let d = distribution(&values, 10_000);
    assert_eq!(d.relative_accuracy(), perftrack::RELATIVE_ACCURACY);
    let (percentiles, _) = worst_percentile_error(&d, &values);
    let ranks = worst_rank_error(&values);
    eprintln!("log-normal: percentiles within {percentiles:e}, order statistics within {ranks:e}");
    assert!(percentiles <= 0.006, "{percentiles}");
    assert!(ranks <= 0.006, "{ranks}");
    assert!(
        ranks <= perftrack::RELATIVE_ACCURACY * (1.0 + 1e-9),
        "{ranks}"
    );
    let s = d.statistics(1.0, "s").unwrap();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!(close(s.mean, mean, 1e-9));
}

#[test]
fn percentiles_of_a_million_values_of_both_signs_are_within_the_relative_accuracy() {
    // 30 % negative, magnitudes log-normal around 1 (and some zeros).
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let log_normal = LogNormal::new(0.0, 2.0).unwrap();
    let values: Vec<f64> = (0..1_000_000)
        .map(|_| {
            let magnitude = log_normal.sample(&mut rng);
            match rng.random_range(0..100) {
                0 => 0.0,
                1..30 => -magnitude,
                _ => magnitude,
            }
        })
        .collect();
    let d = distribution(&values, 10_000);
    let (percentiles, _) = worst_percentile_error(&d, &values);
    let ranks = worst_rank_error(
        &values
            .iter()
            .copied()
            .filter(|v| *v != 0.0)
            .collect::<Vec<_>>(),
    );
    eprintln!("both signs: percentiles within {percentiles:e}, order statistics within {ranks:e}");
    assert!(percentiles <= 0.006, "{percentiles}");
    assert!(ranks <= 0.006, "{ranks}");
    // The zeros are exact.
    let mut sketch = Sketch::default();
    for v in &values {
        sketch.add(*v);
    }
    let zeros = values.iter().filter(|v| **v == 0.0).count() as u64;
    let negatives = values.iter().filter(|v| **v < 0.0).count() as u64;
    assert_eq!(sketch.value_at_rank(negatives), Some(0.0));
    assert_eq!(sketch.value_at_rank(negatives + zeros - 1), Some(0.0));
    assert!(sketch.value_at_rank(negatives + zeros).unwrap() > 0.0);
}

#[test]
fn a_power_of_two_is_the_upper_bound_of_its_bucket() {
    // Bucket i holds (2^(i/64), 2^((i+1)/64)]: 2^e is the top of its bucket, whose
    // representative lies α below it; the next double up starts the next bucket, α above.
    let a = perftrack::RELATIVE_ACCURACY;
    for e in [-30, -10, -1, 0, 1, 3, 20, 60] {
        let power = 2f64.powi(e);
        for (v, want) in [
            (power, power * (1.0 - a)),
            (f64::from_bits(power.to_bits() + 1), power * (1.0 + a)),
            (f64::from_bits(power.to_bits() - 1), power * (1.0 - a)),
            (-power, -power * (1.0 - a)),
        ] {
            let mut sketch = Sketch::default();
            sketch.add(v);
            let got = sketch.value_at_rank(0).unwrap();
            assert!((got - want).abs() <= 1e-14 * power, "{v}: {got} vs {want}");
        }
    }
}

/// The bucket key of `x > 0` in sketches saved before the current grid (DDSketch, α = 1 %).
fn old_key(x: f64) -> i32 {
    (x.ln() / (1.01f64 / 0.99).ln()).ceil() as i32
}

/// The saved form of a distribution of `values` (all magnitudes at least 10⁻¹²) whose sketch is
/// on the grid before the current one, as files written before it hold it.
fn old_summary(values: &[f64]) -> serde_json::Value {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let store = |keys: Vec<i32>| {
        let (Some(&lo), Some(&hi)) = (keys.iter().min(), keys.iter().max()) else {
            return serde_json::json!({"offset": 0, "counts": []});
        };
        let mut counts = vec![0u64; (hi - lo + 1) as usize];
        for k in keys {
            counts[(k - lo) as usize] += 1;
        }
        serde_json::json!({"offset": lo, "counts": counts})
    };
    let positive = values
        .iter()
        .filter(|v| **v > 0.0)
        .map(|v| old_key(*v))
        .collect();
    let negative = values
        .iter()
        .filter(|v| **v < 0.0)
        .map(|v| old_key(-v))
        .collect();
    serde_json::json!({
        "count": values.len(), "failed": 0, "cancelled": 0,
        "sum": values.iter().sum::<f64>(),
        "min": values.iter().copied().fold(f64::INFINITY, f64::min),
        "max": values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "mean": mean,
        "m2": values.iter().map(|v| (v - mean).powi(2)).sum::<f64>(),
        "last": values[values.len() - 1], "last_time": "2025-01-02T03:04:05Z",
        "sketch": {
            "relative_accuracy": 0.01, "zero_count": 0,
            "positive": store(positive), "negative": store(negative),
        }
    })
}

#[test]
fn an_old_sketch_loads_within_its_wider_bound() {
    let bound = 1.01 * (1.0 + perftrack::RELATIVE_ACCURACY) - 1.0;
    assert!((bound - 0.01547).abs() < 1e-5);
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let log_normal = LogNormal::new(-4.0, 1.5).unwrap();
    let positive: Vec<f64> = (0..200_000).map(|_| log_normal.sample(&mut rng)).collect();
    let both: Vec<f64> = positive
        .iter()
        .map(|v| if rng.random_range(0..4) == 0 { -v } else { *v })
        .collect();
    for values in [&positive, &both] {
        let d: Distribution = serde_json::from_value(old_summary(values)).unwrap();
        assert_eq!(d.count(), values.len() as u64);
        assert!((d.relative_accuracy() - bound).abs() < 1e-15);
        let (against_neighbours, against_exact) = worst_percentile_error(&d, values);
        eprintln!(
            "old sketch: percentiles within {against_neighbours:e} ({against_exact:e} of the exact)"
        );
        assert!(
            against_neighbours <= bound * (1.0 + 1e-9),
            "{against_neighbours}"
        );
        // It saves on the current grid, with the same buckets and its wider bound.
        let saved = serde_json::to_value(&d).unwrap();
        assert_eq!(saved["sketch"]["scale"], 6);
        let saved_bound = saved["sketch"]["relative_accuracy"].as_f64().unwrap();
        assert!((saved_bound - bound).abs() < 1e-15, "{saved_bound}");
        let again: Distribution = serde_json::from_value(saved).unwrap();
        assert_eq!(again.statistics(1.0, "x"), d.statistics(1.0, "x"));
        assert_eq!(again.relative_accuracy(), d.relative_accuracy());
        // Merged with a sketch of the current grid, the wider bound stays.
        let mut merged = distribution(&values[..100], 0);
        merged.merge(&d);
        assert_eq!(merged.relative_accuracy(), d.relative_accuracy());
    }
}

#[test]
fn a_sketch_needs_a_supported_scale_or_the_old_relative_accuracy() {
    let summary = |sketch: serde_json::Value| {
        let mut s = old_summary(&[1.5]);
        for (key, value) in sketch.as_object().unwrap() {
            s["sketch"][key] = value.clone();
        }
        s["sketch"]
            .as_object_mut()
            .unwrap()
            .retain(|_, v| !v.is_null());
        serde_json::from_value::<Distribution>(s).map_err(|e| e.to_string())
    };
    assert!(summary(serde_json::json!({})).is_ok());
    assert!(summary(serde_json::json!({"relative_accuracy": null, "scale": 6})).is_ok());
    for (sketch, message) in [
        (
            serde_json::json!({"relative_accuracy": null, "scale": 5}),
            "sketch `scale` 5 is not supported; the only supported scale is 6",
        ),
        (
            serde_json::json!({"relative_accuracy": 0.02}),
            "sketch `relative_accuracy` 0.02 is not supported; the only supported value is 0.01",
        ),
        (
            serde_json::json!({"scale": 6, "relative_accuracy": 0.001}),
            "sketch `relative_accuracy` 0.001 is not a bound of a `scale` 6 sketch",
        ),
        (
            serde_json::json!({"relative_accuracy": null}),
            "sketch has neither `scale` nor `relative_accuracy`",
        ),
    ] {
        let err = summary(sketch.clone()).unwrap_err();
        assert!(err.contains(message), "{sketch}: {err}");
    }
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
    fn sketch_mode_is_within_the_relative_accuracy(values in prop::collection::vec(1e-6f64..1e6, 2..2000)) {
        let s = distribution(&values, 0).statistics(1.0, "x").unwrap();
        prop_assert!(!s.percentiles_exact);
        for (got, q) in [(s.p50, 0.5), (s.p90, 0.9), (s.p95, 0.95), (s.p99, 0.99)] {
            let exact = numpy_linear(&values, q);
            let bound = perftrack::RELATIVE_ACCURACY * exact * (1.0 + 1e-9);
            prop_assert!((got - exact).abs() <= bound, "p{}: {} vs {}", q, got, exact);
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
/// 2⁶⁴ ≈ 1.8·10¹⁹ the sketch spans before it coarsens the smallest magnitudes (`Sketch`'s docs).
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
