//! Counts read from metrics files never overflow: a file whose counts cannot be added up is a
//! `MalformedFile` error naming the field, and recording or merging past `u64::MAX` saturates.
//! Each test is about one place that once panicked in a debug build (and wrapped in release).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use perftrack::{
    CpuConfig, CpuUsageTracker, Error, LatencyConfig, LatencyTracker, MemoryConfig,
    MemoryUsageTracker, ThroughputConfig, ThroughputTracker,
};
use serde_json::{Value, json};

mod files;
use files::{ones, v1};

const HALF: u64 = u64::MAX / 2 + 1;

/// A version-1 file of `tracker_type` without records, with `summaries`.
fn file(tracker_type: &str, summaries: Value, dropped: u64, overflowed: u64) -> String {
    let mut file = v1(tracker_type);
    file["summaries"] = summaries;
    file["dropped_records"] = json!(dropped);
    file["overflowed_labels"] = json!(overflowed);
    file.to_string()
}

/// A latency (or throughput) file with one summary of `n` values per label.
fn latency_file(labels: &[(&str, u64)], dropped: u64, overflowed: u64) -> String {
    let summaries: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(label, n)| ((*label).to_owned(), ones(*n)))
        .collect();
    file("latency", Value::Object(summaries), dropped, overflowed)
}

/// A memory (or CPU, with `reading` `"process"`) summary of `n` sessions that each read
/// `reading`.
fn session_summary(n: u64, reading: &str, with_change: bool) -> Value {
    let mut s = json!({"sessions": n, "value": {reading: ones(n)}, "peak": {}});
    if with_change {
        s["change"] = json!({});
    }
    s
}

fn memory_file(labels: &[(&str, u64)], dropped: u64) -> String {
    let summaries: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(label, n)| {
            (
                (*label).to_owned(),
                session_summary(*n, "process_rss", true),
            )
        })
        .collect();
    file("memory", Value::Object(summaries), dropped, 0)
}

fn cpu_file(labels: &[(&str, u64)], dropped: u64) -> String {
    let summaries: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(label, n)| ((*label).to_owned(), session_summary(*n, "process", false)))
        .collect();
    file("cpu", Value::Object(summaries), dropped, 0)
}

fn memory_tracker() -> MemoryUsageTracker {
    MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        kernel_peak: false,
        ..MemoryConfig::default()
    })
}

fn source() -> &'static Path {
    Path::new("crafted.json")
}

/// The message of a `MalformedFile` error.
fn malformed(err: Error) -> String {
    match err {
        Error::MalformedFile { ref message, .. } => message.clone(),
        other => panic!("expected MalformedFile, got {other:?}"),
    }
}

/// The summaries' field `field` of label `label` in a tracker's own metrics file.
fn saved_field(text: &str, label: &str, field: &str) -> u64 {
    let json: Value = serde_json::from_str(text).unwrap();
    json["summaries"][label][field].as_u64().unwrap()
}

#[test]
fn latency_counts_of_two_labels_that_add_past_u64_max_are_rejected() {
    // `dropped_records: 0` is what the total wrapped to (2 × HALF = 2⁶⁴ ≡ 0): in a release
    // build such a file used to load.
    let text = latency_file(&[("a", HALF), ("b", HALF)], 0, 0);
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let message = malformed(tracker.load_metrics_json(&text, source()).unwrap_err());
    assert!(message.contains("`summaries`"), "{message}");
    assert!(message.contains("`b`"), "{message}");
    // The tracker is unchanged.
    assert!(tracker.statistics(None).is_none());
    let throughput = ThroughputTracker::new(ThroughputConfig::default());
    let text = text.replace("\"latency\"", "\"throughput\"");
    let message = malformed(throughput.load_metrics_json(&text, source()).unwrap_err());
    assert!(message.contains("`summaries`"), "{message}");
}

#[test]
fn overflowed_labels_that_cannot_take_the_file_s_measurements_are_rejected() {
    // Loaded with `max_labels: 1`, label `b` is merged into `"_other"` and its one measurement
    // added to `overflowed_labels`.
    let text = latency_file(&[("a", 1), ("b", 1)], 2, u64::MAX);
    let tracker = LatencyTracker::new(LatencyConfig {
        max_labels: 1,
        ..LatencyConfig::default()
    });
    let message = malformed(tracker.load_metrics_json(&text, source()).unwrap_err());
    assert!(message.contains("`overflowed_labels`"), "{message}");
    // Measurements already in `"_other"` (or unlabelled) are never added to it again.
    let text = latency_file(&[("", 1), ("_other", 1)], 2, u64::MAX);
    tracker.load_metrics_json(&text, source()).unwrap();
    assert_eq!(tracker.overflowed_labels(), u64::MAX);
}

#[test]
fn a_file_whose_labels_went_to_other_on_load_saves_a_file_that_loads() {
    // `a` is merged into `"_other"` and its HALF measurements added to `overflowed_labels`:
    // the saved file counts them twice, once in `"_other"` and once there.
    let text = latency_file(&[("a", HALF)], HALF, 0);
    let capped = || {
        LatencyTracker::new(LatencyConfig {
            max_labels: 0,
            ..LatencyConfig::default()
        })
    };
    let tracker = capped();
    tracker.load_metrics_json(&text, source()).unwrap();
    assert_eq!(tracker.overflowed_labels(), HALF);
    let saved = tracker.metrics_json().unwrap();
    let again = capped();
    again.load_metrics_json(&saved, source()).unwrap();
    assert_eq!(again.overflowed_labels(), HALF);
    assert_eq!(again.statistics_by_label(), tracker.statistics_by_label());
}

#[test]
fn overflowed_labels_saturate_when_merged_and_when_counted() {
    let tracker = LatencyTracker::new(LatencyConfig {
        max_labels: 0,
        ..LatencyConfig::default()
    });
    tracker.record("a", Duration::from_millis(1));
    assert_eq!(tracker.overflowed_labels(), 1);
    tracker
        .merge_metrics_json(&latency_file(&[], 0, u64::MAX), source())
        .unwrap();
    assert_eq!(tracker.overflowed_labels(), u64::MAX);
    // One more label past the cap: the count stays, rather than wrapping to 0.
    tracker.record("b", Duration::from_millis(1));
    assert_eq!(tracker.overflowed_labels(), u64::MAX);
    assert_eq!(tracker.statistics(None).unwrap().count, 2);
}

#[test]
fn a_latency_file_near_u64_max_merged_into_recorded_values_saturates() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    for ms in [1, 2, 3] {
        tracker.record("a", Duration::from_millis(ms));
    }
    let text = latency_file(&[("a", u64::MAX - 1)], u64::MAX - 1, 0);
    tracker.merge_metrics_json(&text, source()).unwrap();
    let stats = tracker.statistics(Some("a")).unwrap();
    assert_eq!(stats.count, u64::MAX);
    assert!(!stats.percentiles_exact);
    assert_eq!(tracker.statistics(None).unwrap().count, u64::MAX);
    // Recording more keeps the count where it is.
    tracker.record("a", Duration::from_millis(4));
    assert_eq!(tracker.statistics(Some("a")).unwrap().count, u64::MAX);
    assert_eq!(tracker.dropped_records(), u64::MAX - 4);
    let saved = tracker.metrics_json().unwrap();
    assert_eq!(saved_field(&saved, "a", "count"), u64::MAX);
}

#[test]
fn merging_a_latency_file_twice_saturates_and_the_tracker_still_saves() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let one = latency_file(&[("a", HALF)], HALF, 0);
    tracker.merge_metrics_json(&one, source()).unwrap();
    tracker.merge_metrics_json(&one, source()).unwrap();
    assert_eq!(tracker.statistics(Some("a")).unwrap().count, u64::MAX);
    // Two labels whose counts only together pass u64::MAX: the tracker's total saturates when
    // it saves, and the saved file is rejected on load rather than read with a wrapped total.
    let other = latency_file(&[("b", HALF)], HALF, 0);
    tracker.merge_metrics_json(&other, source()).unwrap();
    assert_eq!(tracker.statistics(None).unwrap().count, u64::MAX);
    assert_eq!(tracker.statistics_by_label().len(), 2);
    let saved = tracker.metrics_json().unwrap();
    let json: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(json["dropped_records"], u64::MAX);
    let fresh = LatencyTracker::new(LatencyConfig::default());
    let message = malformed(fresh.load_metrics_json(&saved, source()).unwrap_err());
    assert!(message.contains("`summaries`"), "{message}");
}

#[test]
fn memory_sessions_of_two_labels_that_add_past_u64_max_are_rejected() {
    let text = memory_file(&[("a", HALF), ("b", HALF)], 0);
    let tracker = memory_tracker();
    let message = malformed(tracker.load_metrics_json(&text, source()).unwrap_err());
    assert!(message.contains("`summaries`"), "{message}");
    assert!(tracker.statistics(None).is_empty());
    let cpu = CpuUsageTracker::new(CpuConfig::default());
    let message = malformed(
        cpu.load_metrics_json(&cpu_file(&[("a", HALF), ("b", HALF)], 0), source())
            .unwrap_err(),
    );
    assert!(message.contains("`summaries`"), "{message}");
}

#[test]
fn merging_a_memory_file_twice_saturates_sessions_and_readings() {
    let tracker = memory_tracker();
    let one = memory_file(&[("a", HALF)], HALF);
    tracker.merge_metrics_json(&one, source()).unwrap();
    tracker.merge_metrics_json(&one, source()).unwrap();
    assert_eq!(tracker.statistics(Some("a"))["process_rss"].count, u64::MAX);
    let saved = tracker.metrics_json().unwrap();
    assert_eq!(saved_field(&saved, "a", "sessions"), u64::MAX);
    // A second label: all sessions together saturate, and the saved file is rejected.
    tracker
        .merge_metrics_json(&memory_file(&[("b", HALF)], HALF), source())
        .unwrap();
    assert_eq!(tracker.statistics(None)["process_rss"].count, u64::MAX);
    let saved = tracker.metrics_json().unwrap();
    let message = malformed(
        memory_tracker()
            .load_metrics_json(&saved, source())
            .unwrap_err(),
    );
    assert!(message.contains("`summaries`"), "{message}");
}

#[test]
fn a_memory_file_near_u64_max_merged_into_a_finished_session_saturates() {
    let tracker = MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        kernel_peak: false,
        sampling_interval: perftrack::SamplingInterval::from_duration(Duration::ZERO),
        ..MemoryConfig::default()
    });
    let id = tracker.start_tracking(Some("a"));
    tracker.stop_tracking(&id).unwrap();
    let text = memory_file(&[("a", u64::MAX)], u64::MAX);
    tracker.merge_metrics_json(&text, source()).unwrap();
    let saved = tracker.metrics_json().unwrap();
    assert_eq!(saved_field(&saved, "a", "sessions"), u64::MAX);
    // Another session after the merge.
    let id = tracker.start_tracking(Some("a"));
    tracker.stop_tracking(&id).unwrap();
    let saved = tracker.metrics_json().unwrap();
    assert_eq!(saved_field(&saved, "a", "sessions"), u64::MAX);
}

#[test]
fn merging_a_cpu_file_twice_saturates_sessions() {
    let tracker = CpuUsageTracker::new(CpuConfig::default());
    let one = cpu_file(&[("a", HALF)], HALF);
    tracker.merge_metrics_json(&one, source()).unwrap();
    tracker.merge_metrics_json(&one, source()).unwrap();
    assert_eq!(tracker.statistics(Some("a"))["process"].count, u64::MAX);
    let saved = tracker.metrics_json().unwrap();
    assert_eq!(saved_field(&saved, "a", "sessions"), u64::MAX);
}

#[test]
fn throughput_counts_near_u64_max_saturate_when_recorded() {
    let tracker = perftrack::ThroughputTracker::new(perftrack::ThroughputConfig::default());
    tracker.record("tokens", u64::MAX);
    tracker.record("tokens", u64::MAX);
    let mut guard = tracker.track("tokens");
    guard.record(u64::MAX);
    guard.record(1);
    // In a debug build a wrap would panic in the session's and the label's windows.
    assert_eq!(guard.stop().count, u64::MAX);
}
