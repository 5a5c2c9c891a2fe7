//! Throughput metrics files: the golden version-2 layout, label counts, round trips, version-1
//! files, the Python original's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use perftrack::{
    Error, LatencyConfig, LatencyTracker, ManualClock, RateUnit, ThroughputConfig,
    ThroughputTracker,
};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// A tracker with a fixed history, so its file is the same on every run.
fn fixed_tracker() -> ThroughputTracker {
    let clock = Arc::new(ManualClock::new());
    let config = ThroughputConfig::from_json(r#"{"window_size": 2}"#).unwrap();
    let tracker = ThroughputTracker::with_clock(config, clock.clone());
    let id = tracker
        .start_tracking_with_id("index-1", Some("indexing"))
        .unwrap();
    for batch in [64, 64, 22] {
        tracker.record_event(&id, batch).unwrap();
        clock.advance(Duration::from_millis(1_500));
    }
    tracker.stop_tracking(&id).unwrap();
    let instant = tracker.start_tracking_with_id("instant", None).unwrap();
    tracker.record_event(&instant, 3).unwrap();
    tracker.stop_tracking(&instant).unwrap();
    let tokens = tracker
        .start_tracking_with_id("gen-1", Some("tokens"))
        .unwrap();
    tracker.record_event(&tokens, 250).unwrap();
    clock.advance(Duration::from_millis(500));
    tracker.stop_tracking(&tokens).unwrap();
    tracker
}

#[test]
fn the_version_2_layout_matches_the_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("throughput.json");
    fixed_tracker().save_metrics(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    let golden_path = data("golden-v2/throughput-v2.json");
    if std::env::var_os("PERFTRACK_BLESS").is_some() {
        std::fs::write(&golden_path, &written).unwrap();
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap();
    assert_eq!(
        written, golden,
        "the file layout changed; if on purpose, update docs/FORMAT.md and rerun with PERFTRACK_BLESS=1"
    );
}

#[test]
fn save_then_load_round_trips_in_another_unit() {
    let original = fixed_tracker();
    let per_minute = ThroughputTracker::new(ThroughputConfig {
        time_unit: RateUnit::PerMinute,
        ..Default::default()
    });
    let file = per_minute
        .load_metrics(&data("golden-v2/throughput-v2.json"))
        .unwrap();
    assert_eq!(file.version, 2);
    assert_eq!(file.records.len(), 3);
    assert_eq!(file.dropped_records, 0);
    let (s, m) = (
        original.statistics(Some("indexing")).unwrap(),
        per_minute.statistics(Some("indexing")).unwrap(),
    );
    assert_eq!(m.unit, "events/m");
    assert!((m.mean - s.mean * 60.0).abs() < 1e-9);
    let record = &per_minute.records()[0];
    assert!((record.value.unwrap() - original.records()[0].value.unwrap() * 60.0).abs() < 1e-9);

    for golden in ["golden-v2/throughput-v2.json", "golden/throughput-v1.json"] {
        let same = ThroughputTracker::new(ThroughputConfig::default());
        same.load_metrics(&data(golden)).unwrap();
        assert_eq!(same.records(), original.records());
        assert_eq!(same.statistics(None), original.statistics(None));
        assert_eq!(same.statistics_by_label(), original.statistics_by_label());
    }
}

/// Every event counted under a label, by `record` or by sessions.
fn events(tracker: &ThroughputTracker, label: &str) -> Option<u64> {
    Some(tracker.snapshot().labels.get(label)?.events_total)
}

#[test]
fn label_counts_survive_save_load_and_merge() {
    let tracker = ThroughputTracker::new(ThroughputConfig::default());
    tracker.record("queries", 7);
    let mut session = tracker.track("queries");
    session.record(5);
    session.stop();
    assert_eq!(events(&tracker, "queries"), Some(12));
    let text = tracker.metrics_json().unwrap();

    let loaded = ThroughputTracker::new(ThroughputConfig::default());
    loaded.load_metrics_json(&text, "a.json".as_ref()).unwrap();
    assert_eq!(events(&loaded, "queries"), Some(12));
    // Counted on after the load, and saved again with what the file had.
    loaded.record("queries", 1);
    assert_eq!(events(&loaded, "queries"), Some(13));
    let again = ThroughputTracker::new(ThroughputConfig::default());
    again
        .load_metrics_json(&loaded.metrics_json().unwrap(), "b.json".as_ref())
        .unwrap();
    assert_eq!(events(&again, "queries"), Some(13));

    // Merging adds the file's counts to the live ones, twice for two merges.
    again.merge_metrics_json(&text, "a.json".as_ref()).unwrap();
    again.merge_metrics_json(&text, "a.json".as_ref()).unwrap();
    assert_eq!(events(&again, "queries"), Some(37));

    // A label that only `record` counted, with no session, is saved too.
    let counter = ThroughputTracker::new(ThroughputConfig::default());
    counter.record("cache hits", 3);
    let restored = ThroughputTracker::new(ThroughputConfig::default());
    restored
        .load_metrics_json(&counter.metrics_json().unwrap(), "c.json".as_ref())
        .unwrap();
    assert_eq!(events(&restored, "cache hits"), Some(3));
    assert!(restored.statistics(Some("cache hits")).is_none());

    // A reset forgets them.
    restored.reset();
    assert_eq!(events(&restored, "cache hits"), None);
}

#[test]
fn the_python_originals_throughput_file_loads() {
    let tracker = ThroughputTracker::new(ThroughputConfig::default());
    let file = tracker
        .load_metrics(&data("python/throughput.json"))
        .unwrap();
    assert_eq!((file.version, file.records.len()), (0, 2));
    let embedding = tracker.statistics(Some("embedding")).unwrap();
    assert!((embedding.mean - 199.5316056753446).abs() < 1e-9);
    assert_eq!(file.records[0].count, 60);
    assert_eq!(file.records[0].peak_rate, None);
    let batches = tracker.statistics(Some("batch_processing")).unwrap();
    assert!((batches.max - 119.36321466177182).abs() < 1e-9);

    let per_hour = ThroughputTracker::new(ThroughputConfig {
        time_unit: RateUnit::PerHour,
        ..Default::default()
    });
    per_hour
        .load_metrics(&data("python/throughput.json"))
        .unwrap();
    let s = per_hour.statistics(Some("embedding")).unwrap();
    assert!((s.mean - 199.5316056753446 * 3600.0).abs() < 1e-6);
}

#[test]
fn bad_throughput_files_are_clear_errors() {
    let golden = std::fs::read_to_string(data("golden/throughput-v1.json")).unwrap();
    let python = std::fs::read_to_string(data("python/throughput.json")).unwrap();
    let cases = [
        (
            "truncated.json",
            golden[..golden.len() / 3].to_owned(),
            "ends too early",
        ),
        (
            "negative-count.json",
            python.replace("\"count\": 60", "\"count\": -60"),
            "-60",
        ),
        (
            "bad-unit.json",
            golden.replacen(
                "\"unit\": \"events/s\"",
                "\"unit\": \"events/fortnight\"",
                1,
            ),
            "events/fortnight",
        ),
        (
            "latency-file.json",
            std::fs::read_to_string(data("golden/latency-v1.json")).unwrap(),
            "`latency` metrics file",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, contents, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let err = ThroughputTracker::new(ThroughputConfig::default())
            .load_metrics(&path)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains(needle), "{name}: {message}");
    }
    // And the other way round.
    let err = LatencyTracker::new(LatencyConfig::default())
        .load_metrics(&data("golden/throughput-v1.json"))
        .unwrap_err();
    assert!(matches!(err, Error::WrongTrackerType { .. }));
}
