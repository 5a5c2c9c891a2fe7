//! Save → load is the identity for every tracker type, on random histories: random labels
//! (beyond `max_labels` too), durations, statuses, counts and record limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use perftrack::{
    CpuConfig, CpuUsageTracker, LatencyConfig, LatencyTracker, ManualClock, MemoryConfig,
    MemoryUsageTracker, SamplingInterval, Status, ThroughputConfig, ThroughputTracker, TimeUnit,
};
use proptest::prelude::*;

/// One finished session of a random history.
#[derive(Clone, Debug)]
struct Session {
    label: Option<u8>,
    micros: u64,
    status: Status,
    /// Events recorded during the session (throughput only).
    events: u64,
    /// Whether the measurement is recorded directly (`record`) instead of through a session.
    direct: bool,
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        4 => Just(Status::Ok),
        1 => Just(Status::Failed),
        1 => Just(Status::Cancelled),
    ]
}

fn session() -> impl Strategy<Value = Session> {
    (
        prop::option::weighted(0.9, 0u8..12),
        0u64..5_000_000,
        status(),
        0u64..1_000,
        any::<bool>(),
    )
        .prop_map(|(label, micros, status, events, direct)| Session {
            label,
            micros,
            status,
            events,
            direct,
        })
}

/// Limits small enough that random histories drop records, overflow labels and leave exact
/// mode.
#[derive(Clone, Debug)]
struct Limits {
    max_records: usize,
    exact_limit: usize,
    max_labels: usize,
}

fn limits() -> impl Strategy<Value = Limits> {
    (0usize..40, 0usize..30, 1usize..8).prop_map(|(max_records, exact_limit, max_labels)| Limits {
        max_records,
        exact_limit,
        max_labels,
    })
}

fn label(s: &Session) -> Option<String> {
    s.label.map(|l| format!("stage-{l}"))
}

fn unit() -> impl Strategy<Value = TimeUnit> {
    prop_oneof![
        Just(TimeUnit::Seconds),
        Just(TimeUnit::Milliseconds),
        Just(TimeUnit::Microseconds),
        Just(TimeUnit::Nanoseconds),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn latency_save_then_load_is_the_identity(history in prop::collection::vec(session(), 0..120), limits in limits(), unit in unit()) {
        let config = LatencyConfig {
            time_unit: unit,
            max_records: limits.max_records,
            exact_limit: limits.exact_limit,
            max_labels: limits.max_labels,
            ..LatencyConfig::default()
        };
        let clock = Arc::new(ManualClock::new());
        let tracker = LatencyTracker::with_clock(config.clone(), clock.clone());
        for s in &history {
            let label = label(s);
            if s.direct {
                tracker.record(label.as_deref().unwrap_or(""), Duration::from_micros(s.micros));
            } else {
                let id = tracker.start_tracking(label.as_deref());
                clock.advance(Duration::from_micros(s.micros));
                tracker.stop_tracking_with_status(&id, s.status).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latency.json");
        tracker.save_metrics(&path).unwrap();
        let loaded = LatencyTracker::new(config);
        let file = loaded.load_metrics(&path).unwrap();
        prop_assert_eq!(loaded.statistics_by_label(), tracker.statistics_by_label());
        prop_assert_eq!(loaded.statistics(None), tracker.statistics(None));
        prop_assert_eq!(loaded.records(), tracker.records());
        prop_assert_eq!(&file.records, &tracker.records());
        prop_assert_eq!(loaded.dropped_records(), tracker.dropped_records());
        prop_assert_eq!(file.dropped_records, tracker.dropped_records());
        prop_assert_eq!(loaded.overflowed_labels(), tracker.overflowed_labels());
        // And the reloaded tracker writes the same file again.
        let again = dir.path().join("again.json");
        loaded.save_metrics(&again).unwrap();
        let (a, b) = (std::fs::read_to_string(&path).unwrap(), std::fs::read_to_string(&again).unwrap());
        prop_assert_eq!(without_times(&a), without_times(&b));
    }

    #[test]
    fn throughput_save_then_load_is_the_identity(history in prop::collection::vec(session(), 0..120), limits in limits()) {
        let config = ThroughputConfig {
            max_records: limits.max_records,
            exact_limit: limits.exact_limit,
            max_labels: limits.max_labels,
            ..ThroughputConfig::default()
        };
        let clock = Arc::new(ManualClock::new());
        let tracker = ThroughputTracker::with_clock(config.clone(), clock.clone());
        for s in &history {
            let label = label(s);
            if s.direct {
                tracker.record(label.as_deref().unwrap_or(""), s.events);
                clock.advance(Duration::from_micros(s.micros));
            } else {
                let id = tracker.start_tracking(label.as_deref());
                clock.advance(Duration::from_micros(s.micros));
                tracker.record_event(&id, s.events).unwrap();
                tracker.stop_tracking_with_status(&id, s.status).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("throughput.json");
        tracker.save_metrics(&path).unwrap();
        let loaded = ThroughputTracker::new(config);
        let file = loaded.load_metrics(&path).unwrap();
        prop_assert_eq!(loaded.statistics_by_label(), tracker.statistics_by_label());
        prop_assert_eq!(loaded.statistics(None), tracker.statistics(None));
        prop_assert_eq!(loaded.records(), tracker.records());
        prop_assert_eq!(&file.records, &tracker.records());
        prop_assert_eq!(loaded.dropped_records(), tracker.dropped_records());
        prop_assert_eq!(loaded.overflowed_labels(), tracker.overflowed_labels());
    }

    #[test]
    fn memory_save_then_load_is_the_identity(history in prop::collection::vec(session(), 0..40), limits in limits()) {
        let config = MemoryConfig {
            track_gpu: false,
            kernel_peak: false,
            sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
            max_records: limits.max_records,
            exact_limit: limits.exact_limit,
            max_labels: limits.max_labels,
            ..MemoryConfig::default()
        };
        let clock = Arc::new(ManualClock::new());
        let tracker = MemoryUsageTracker::with_clock(config.clone(), clock.clone());
        for s in &history {
            let id = tracker.start_tracking(label(s).as_deref());
            clock.advance(Duration::from_micros(s.micros));
            if s.direct {
                tracker.record_sample(&id).unwrap();
            }
            tracker.stop_tracking_with_status(&id, s.status).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.json");
        tracker.save_metrics(&path).unwrap();
        let loaded = MemoryUsageTracker::new(config);
        let file = loaded.load_metrics(&path).unwrap();
        prop_assert_eq!(loaded.statistics_by_label(), tracker.statistics_by_label());
        prop_assert_eq!(loaded.statistics(None), tracker.statistics(None));
        prop_assert_eq!(loaded.records(), tracker.records());
        prop_assert_eq!(&file.records, &tracker.records());
    }

    #[test]
    fn cpu_save_then_load_is_the_identity(history in prop::collection::vec(session(), 0..40), limits in limits()) {
        let config = CpuConfig {
            sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
            max_records: limits.max_records,
            exact_limit: limits.exact_limit,
            max_labels: limits.max_labels,
            ..CpuConfig::default()
        };
        let clock = Arc::new(ManualClock::new());
        let tracker = CpuUsageTracker::with_clock(config.clone(), clock.clone());
        for s in &history {
            let id = tracker.start_tracking(label(s).as_deref());
            clock.advance(Duration::from_micros(s.micros));
            if s.direct {
                tracker.record_sample(&id).unwrap();
            }
            tracker.stop_tracking_with_status(&id, s.status).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cpu.json");
        tracker.save_metrics(&path).unwrap();
        let loaded = CpuUsageTracker::new(config);
        let file = loaded.load_metrics(&path).unwrap();
        prop_assert_eq!(loaded.statistics_by_label(), tracker.statistics_by_label());
        prop_assert_eq!(loaded.statistics(None), tracker.statistics(None));
        prop_assert_eq!(loaded.records(), tracker.records());
        prop_assert_eq!(&file.records, &tracker.records());
    }
}

/// A file's text without its `start_time` and `end_time` lines, which name when it was saved.
fn without_times(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("  \"start_time\"") && !l.starts_with("  \"end_time\""))
        .collect::<Vec<_>>()
        .join("\n")
}
