//! Typed snapshots against what the test recorded: per-label counts and percentiles, epochs
//! across reset, load, merge and recording, throughput windows on a manual clock, and the
//! dropped-record and overflowed-label counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use perftrack::{
    LatencyConfig, LatencyTracker, ManualClock, OVERFLOW_LABEL, Status, ThroughputConfig,
    ThroughputTracker, TimeUnit, WindowSize,
};

/// numpy's default ("linear") percentile of `values`.
fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = q * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

#[test]
fn latency_labels_hold_what_was_recorded_and_agree_with_statistics_by_label() {
    let unit = TimeUnit::Milliseconds;
    let tracker = LatencyTracker::new(LatencyConfig {
        time_unit: unit,
        exact_limit: 100,
        ..Default::default()
    });
    // Three labels in exact mode, one past `exact_limit` (percentiles from the sketch), and
    // unlabelled measurements.
    let mut recorded: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (label, n, step_us) in [
        ("retrieval", 40u64, 250u64),
        ("rerank", 7, 1_000),
        ("generation", 3, 90_000),
        ("embedding", 1_000, 17),
        ("", 5, 3),
    ] {
        for i in 1..=n {
            let us = step_us * ((i * 7) % n + 1);
            tracker.record(label, Duration::from_micros(us));
            recorded.entry(label).or_default().push(us as f64 / 1e6);
        }
    }
    tracker.record_ending(
        "rerank",
        Duration::from_millis(4),
        tracker.now(),
        Status::Failed,
    );
    recorded.get_mut("rerank").unwrap().push(0.004);

    let snapshot = tracker.snapshot();
    let by_label = tracker.statistics_by_label();
    let keys: Vec<&str> = snapshot.labels.keys().map(String::as_str).collect();
    assert_eq!(keys, ["", "embedding", "generation", "rerank", "retrieval"]);
    for (label, values) in &recorded {
        let dist = &snapshot.labels[*label];
        assert_eq!(dist.count(), values.len() as u64, "{label:?}");
        let stats = dist.statistics(unit.per_second(), unit.as_str()).unwrap();
        if !label.is_empty() {
            assert_eq!(stats, by_label[*label], "{label:?}");
        }
        // Durations are in seconds, whatever the tracker's unit.
        let seconds = dist.statistics(1.0, "s").unwrap();
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        assert!((seconds.max - max).abs() < 1e-12, "{label:?}");
        if dist.exact_values().is_some() {
            for (q, got) in [(0.5, seconds.p50), (0.9, seconds.p90), (0.99, seconds.p99)] {
                let want = percentile(values, q);
                assert!(
                    (got - want).abs() < 1e-12,
                    "{label:?} p{q}: {got} vs {want}"
                );
            }
        }
    }
    assert!(snapshot.labels["embedding"].exact_values().is_none());
    assert_eq!(by_label["rerank"].failed, 1);
}

#[test]
fn a_label_whose_measurement_is_running_is_there_and_empty() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let guard = tracker.track("generation");
    assert_eq!(tracker.snapshot().labels["generation"].count(), 0);
    guard.stop();
    assert_eq!(tracker.snapshot().labels["generation"].count(), 1);
}

#[test]
fn the_epoch_changes_on_reset_and_load_and_never_on_merge_or_recording() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let other = LatencyTracker::new(LatencyConfig::default());
    other.record("retrieval", Duration::from_millis(3));
    let file = other.metrics_json().unwrap();
    let source = Path::new("other.json");

    let first = tracker.snapshot();
    tracker.record("retrieval", Duration::from_millis(1));
    tracker.track("retrieval").stop();
    let recorded = tracker.snapshot();
    assert_eq!(recorded.epoch, first.epoch);
    assert_eq!(recorded.labels["retrieval"].count(), 2);

    tracker.merge_metrics_json(&file, source).unwrap();
    let merged = tracker.snapshot();
    assert_eq!(merged.epoch, first.epoch);
    assert_eq!(merged.labels["retrieval"].count(), 3);

    tracker.reset();
    let reset = tracker.snapshot();
    assert_ne!(reset.epoch, merged.epoch);
    assert!(reset.labels.is_empty());

    tracker.load_metrics_json(&file, source).unwrap();
    let loaded = tracker.snapshot();
    assert_ne!(loaded.epoch, reset.epoch);
    assert_ne!(loaded.epoch, merged.epoch);
    assert_eq!(loaded.labels["retrieval"].count(), 1);
    // The file's start is the loaded state's start.
    assert_eq!(loaded.start_time, other.snapshot().start_time);

    // Throughput trackers share the engine's epochs: the same rules.
    let throughput = ThroughputTracker::new(ThroughputConfig::default());
    let before = throughput.snapshot().epoch;
    throughput.record("queries", 1);
    assert_eq!(throughput.snapshot().epoch, before);
    let file = throughput.metrics_json().unwrap();
    throughput.merge_metrics_json(&file, source).unwrap();
    assert_eq!(throughput.snapshot().epoch, before);
    throughput.reset();
    let reset = throughput.snapshot().epoch;
    assert_ne!(reset, before);
    throughput.load_metrics_json(&file, source).unwrap();
    assert_ne!(throughput.snapshot().epoch, reset);
}

#[test]
fn throughput_windows_count_what_was_recorded_at_exact_rates() {
    let clock = Arc::new(ManualClock::new());
    let tracker = ThroughputTracker::with_clock(
        ThroughputConfig {
            window_size: WindowSize::from_secs_f64(10.0).unwrap(),
            ..Default::default()
        },
        clock.clone(),
    );
    // "queries": 5 events a second for 4 s, without sessions.
    tracker.record("queries", 0);
    for _ in 0..4 {
        clock.advance(Duration::from_secs(1));
        tracker.record("queries", 5);
    }
    // "tokens": two sessions of 2 s (30 and 50 events) and 20 events without one.
    for events in [30, 50] {
        let mut session = tracker.track("tokens");
        session.record(events);
        clock.advance(Duration::from_secs(2));
        session.stop();
    }
    tracker.record("tokens", 20);

    // 8 s since "queries" began, 4 s since "tokens" did: both within the 10 s window.
    let snapshot = tracker.snapshot();
    let queries = &snapshot.labels["queries"];
    assert_eq!(queries.events_total, 20);
    assert_eq!(queries.window_events_per_second, Some(20.0 / 8.0));
    assert_eq!(queries.session_rates.count(), 0);
    let tokens = &snapshot.labels["tokens"];
    assert_eq!(tokens.events_total, 100);
    assert_eq!(tokens.window_events_per_second, Some(100.0 / 4.0));
    assert_eq!(
        tracker.current_rate("tokens"),
        tokens.window_events_per_second
    );
    let rates = tokens.session_rates.statistics(1.0, "events/s").unwrap();
    assert_eq!((rates.count, rates.min, rates.max), (2, 15.0, 25.0));
    assert_eq!(rates, tracker.statistics_by_label()["tokens"]);

    // Once the window has passed, the rate is 0 and the totals stay: they are counters.
    clock.advance(Duration::from_secs(30));
    let later = tracker.snapshot();
    assert_eq!(later.epoch, snapshot.epoch);
    assert_eq!(later.labels["queries"].events_total, 20);
    assert_eq!(later.labels["queries"].window_events_per_second, Some(0.0));
    assert_eq!(later.labels["tokens"].events_total, 100);

    // A label used at this very instant has no rate yet.
    tracker.record("fresh", 3);
    let fresh = &tracker.snapshot().labels["fresh"];
    assert_eq!(
        (fresh.events_total, fresh.window_events_per_second),
        (3, None)
    );

    tracker.reset();
    assert!(tracker.snapshot().labels.is_empty());
}

#[test]
fn dropped_records_and_overflowed_labels_match_the_trackers_counts() {
    let latency = LatencyTracker::new(LatencyConfig {
        max_records: 3,
        max_labels: 2,
        ..Default::default()
    });
    for label in ["a", "b", "c", "d", "a", "c"] {
        latency.record(label, Duration::from_millis(1));
    }
    let snapshot = latency.snapshot();
    assert_eq!(snapshot.dropped_records, 3);
    assert_eq!(snapshot.dropped_records, latency.dropped_records());
    // "c", "d" and "c" again went to "_other".
    assert_eq!(snapshot.overflowed_labels, 3);
    assert_eq!(snapshot.overflowed_labels, latency.overflowed_labels());
    assert_eq!(snapshot.labels[OVERFLOW_LABEL].count(), 3);
    let keys: Vec<&str> = snapshot.labels.keys().map(String::as_str).collect();
    assert_eq!(keys, [OVERFLOW_LABEL, "a", "b"]);

    let clock = Arc::new(ManualClock::new());
    let throughput = ThroughputTracker::with_clock(
        ThroughputConfig {
            max_records: 1,
            max_labels: 1,
            ..Default::default()
        },
        clock.clone(),
    );
    for label in ["a", "b", "a"] {
        let mut session = throughput.track(label);
        session.record(10);
        clock.advance(Duration::from_secs(1));
        session.stop();
    }
    // A session with no time has no rate and is in no summary: not counted as dropped.
    throughput.track("a").stop();
    let snapshot = throughput.snapshot();
    assert_eq!(snapshot.dropped_records, 3);
    assert_eq!(snapshot.dropped_records, throughput.dropped_records());
    assert_eq!(snapshot.overflowed_labels, 1);
    assert_eq!(snapshot.overflowed_labels, throughput.overflowed_labels());
    assert_eq!(snapshot.labels[OVERFLOW_LABEL].events_total, 10);
}

#[test]
fn a_snapshot_serialises_with_its_units_in_its_names() {
    let clock = Arc::new(ManualClock::new());
    let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    tracker.record("queries", 4);
    clock.advance(Duration::from_secs(2));
    let json = serde_json::to_value(tracker.snapshot()).unwrap();
    assert_eq!(json["start_time"], "2025-01-01T00:00:00.000000000Z");
    assert_eq!(json["labels"]["queries"]["events_total"], 4);
    assert_eq!(json["labels"]["queries"]["window_events_per_second"], 2.0);
    assert_eq!(json["dropped_records"], 0);
}

#[test]
fn memory_and_cpu_snapshots_count_sessions_per_label_and_match_their_statistics() {
    let off = perftrack::SamplingInterval::from_secs_f64(0.0).unwrap();
    let memory = perftrack::MemoryUsageTracker::new(perftrack::MemoryConfig {
        track_gpu: false,
        sampling_interval: off,
        max_records: 2,
        max_labels: 1,
        ..Default::default()
    });
    let cpu = perftrack::CpuUsageTracker::new(perftrack::CpuConfig {
        sampling_interval: off,
        max_records: 2,
        max_labels: 1,
        ..Default::default()
    });
    for label in ["embed", "embed", "embed", "rerank"] {
        memory.track(label).stop();
        cpu.track(label).stop();
    }
    let m = memory.snapshot();
    assert_eq!(m.labels["embed"].sessions, 3);
    assert_eq!(m.labels[perftrack::OVERFLOW_LABEL].sessions, 1);
    assert_eq!((m.dropped_records, m.overflowed_labels), (2, 1));
    assert_eq!(m.dropped_records, memory.dropped_records());
    let stats = memory.statistics(Some("embed"));
    for (reading, dist) in &m.labels["embed"].value {
        assert_eq!(dist.count(), stats[reading].count, "{reading}");
    }
    let c = cpu.snapshot();
    assert_eq!(c.labels["embed"].sessions, 3);
    assert!(c.labels["embed"].change.is_empty());
    assert_eq!((c.dropped_records, c.overflowed_labels), (2, 1));
    let epoch = c.epoch;
    cpu.reset();
    assert_ne!(cpu.snapshot().epoch, epoch);
    assert!(cpu.snapshot().labels.is_empty());
}
