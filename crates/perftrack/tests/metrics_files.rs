//! Metrics files: round trips, the golden version-2 layout, version-1 files, bad files, the
//! Python original's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use perftrack::{Error, LatencyConfig, LatencyTracker, ManualClock, Status, TimeUnit};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// A tracker with a fixed history, so its file is the same on every run.
fn fixed_tracker() -> LatencyTracker {
    let clock = Arc::new(ManualClock::new());
    let tracker = LatencyTracker::with_clock(LatencyConfig::default(), clock.clone());
    for (i, (label, micros)) in [
        ("retrieval", 12_500),
        ("retrieval", 18_250),
        ("generation", 50_000),
    ]
    .into_iter()
    .enumerate()
    {
        let id = tracker
            .start_tracking_with_id(&format!("req-{i}"), Some(label))
            .unwrap();
        clock.advance(Duration::from_micros(micros));
        tracker.stop_tracking(&id).unwrap();
    }
    let unlabelled = tracker.start_tracking_with_id("req-3", None).unwrap();
    clock.advance(Duration::from_micros(10_000));
    tracker.stop_tracking(&unlabelled).unwrap();
    tracker
}

#[test]
fn the_version_2_layout_matches_the_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latency.json");
    fixed_tracker().save_metrics(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    let golden_path = data("golden-v2/latency-v2.json");
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
fn the_golden_files_of_both_versions_load_back_to_the_same_state() {
    let original = fixed_tracker();
    for (golden, version) in [
        ("golden-v2/latency-v2.json", 2),
        ("golden/latency-v1.json", 1),
    ] {
        let loaded = LatencyTracker::new(LatencyConfig::default());
        let file = loaded.load_metrics(&data(golden)).unwrap();
        assert_eq!(file.version, version);
        assert_eq!(file.records, original.records());
        assert_eq!(loaded.records(), original.records());
        // Every label holds its exact values, so even version 1's statistics are exact.
        assert_eq!(loaded.statistics(None), original.statistics(None));
        assert_eq!(loaded.statistics_by_label(), original.statistics_by_label());
    }
}

#[test]
fn save_then_load_round_trips_records_and_statistics_in_another_unit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    let tracker = LatencyTracker::new(LatencyConfig {
        max_records: 50,
        exact_limit: 100,
        ..Default::default()
    });
    for i in 0..500u64 {
        let label = ["embed", "retrieve", "generate"][(i % 3) as usize];
        tracker.record(label, Duration::from_micros(100 + i * 37));
    }
    tracker.track("").stop_with(Status::Failed);
    tracker.save_metrics(&path).unwrap();

    let same = LatencyTracker::new(LatencyConfig {
        exact_limit: 100,
        ..Default::default()
    });
    let file = same.load_metrics(&path).unwrap();
    assert_eq!(file.dropped_records, 451);
    assert_eq!(same.records(), tracker.records());
    assert_eq!(same.statistics(None), tracker.statistics(None));
    assert_eq!(same.statistics_by_label(), tracker.statistics_by_label());
    assert_eq!(same.dropped_records(), 451);

    let in_us = LatencyTracker::new(LatencyConfig {
        time_unit: TimeUnit::Microseconds,
        exact_limit: 100,
        ..Default::default()
    });
    in_us.load_metrics(&path).unwrap();
    let (ms, us) = (
        tracker.statistics(Some("embed")).unwrap(),
        in_us.statistics(Some("embed")).unwrap(),
    );
    assert_eq!(us.unit, "us");
    assert!((us.p90 - ms.p90 * 1000.0).abs() < 1e-6 * us.p90);
    assert!((us.mean - ms.mean * 1000.0).abs() < 1e-6 * us.mean);
    let first = &in_us.records()[0];
    assert_eq!(first.unit, TimeUnit::Microseconds);
    assert!((first.value - tracker.records()[0].value * 1000.0).abs() < 1e-6);
}

#[test]
fn saving_into_a_missing_directory_is_an_io_error_naming_the_path() {
    let tracker = fixed_tracker();
    let err = tracker
        .save_metrics(Path::new("/nonexistent-dir/sub/m.json"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("/nonexistent-dir/sub"), "{err}");
}

/// Writes `contents` to a file and loads it, returning the error.
fn load_error(name: &str, contents: &str) -> (PathBuf, Error, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    let tracker = fixed_tracker();
    let before = tracker.statistics(None);
    let err = tracker.load_metrics(&path).unwrap_err();
    // A failed load changes nothing.
    assert_eq!(tracker.statistics(None), before);
    (path, err, dir)
}

#[test]
fn bad_files_give_clear_errors_naming_the_file() {
    let golden = std::fs::read_to_string(data("golden/latency-v1.json")).unwrap();
    let truncated = &golden[..golden.len() / 2];
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty.json", String::new(), "ends too early"),
        ("truncated.json", truncated.to_owned(), "ends too early"),
        (
            "text.json",
            "latency: 12ms".to_owned(),
            "expected a JSON object",
        ),
        (
            "garbage.json",
            "{ latency: 12ms }".to_owned(),
            "key must be a string",
        ),
        (
            "array.json",
            "[1, 2, 3]".to_owned(),
            "expected a JSON object",
        ),
        (
            "cpu.json",
            golden.replace("\"tracker_type\": \"latency\"", "\"tracker_type\": \"cpu\""),
            "`cpu` metrics file",
        ),
        (
            "future.json",
            golden.replace("\"version\": 1", "\"version\": 7"),
            "version 7 is not supported",
        ),
        (
            "not-ours.json",
            golden.replace("perftrack-metrics", "something-else"),
            "`format`",
        ),
        (
            "bad-summary.json",
            golden.replacen("\"count\": 2", "\"count\": 3", 1),
            "does not match its sketch",
        ),
        (
            "unknown-key.json",
            golden.replacen("\"dropped_records\"", "\"droped_records\"", 1),
            "unknown field",
        ),
        (
            "wrong-metric.json",
            golden.replace(
                "\"metrics\": {\n    \"latency\"",
                "\"metrics\": {\n    \"latncy\"",
            ),
            "`metrics` holds `latncy`",
        ),
        (
            "dropped.json",
            golden.replace("\"dropped_records\": 0", "\"dropped_records\": 5"),
            "`dropped_records` cannot be 5",
        ),
        (
            "no-format.json",
            golden.replace("\"format\": \"perftrack-metrics\",\n", ""),
            "no `format` key",
        ),
        (
            "bad-unit.json",
            golden.replacen("\"unit\": \"ms\"", "\"unit\": \"fortnights\"", 1),
            "fortnights",
        ),
        (
            "v1-abandoned.json",
            golden.replace(
                "\"overflowed_labels\": 0",
                "\"overflowed_labels\": 0,\n  \"abandoned_sessions\": {\"a\": 1}",
            ),
            "`abandoned_sessions` is a version-2 key",
        ),
        (
            "v2-negative-abandoned.json",
            golden.replace("\"version\": 1", "\"version\": 2").replace(
                "\"overflowed_labels\": 0",
                "\"overflowed_labels\": 0,\n  \"abandoned_sessions\": {\"a\": -1}",
            ),
            "invalid value: integer `-1`",
        ),
    ];
    for (name, contents, expected) in cases {
        let (path, err, _dir) = load_error(name, &contents);
        let message = err.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "{name}: {message}"
        );
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[test]
fn parse_errors_carry_line_and_column() {
    let (_, err, _dir) = load_error("bad.json", "{\n  \"tracker_type\": \"latency\",\n  oops\n}");
    match err {
        Error::MalformedFile { line, column, .. } => assert_eq!((line, column), (3, 3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn content_errors_point_at_the_key() {
    let golden = std::fs::read_to_string(data("golden/latency-v1.json")).unwrap();
    let (_, err, _dir) = load_error(
        "dropped.json",
        &golden.replace("\"dropped_records\": 0", "\"dropped_records\": 5"),
    );
    let line = golden
        .lines()
        .position(|l| l.contains("\"dropped_records\""))
        .unwrap()
        + 1;
    match err {
        Error::MalformedFile {
            line: l, column, ..
        } => assert_eq!((l, column), (line, 3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let tracker = fixed_tracker();
    let err = tracker
        .load_metrics(Path::new("/no/such/metrics.json"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(
        err.to_string().starts_with("/no/such/metrics.json: "),
        "{err}"
    );
}

#[test]
fn non_utf8_bytes_are_a_malformed_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("binary.json");
    std::fs::write(&path, b"{\"tracker_type\": \"\xff\xfe\"}").unwrap();
    let err = fixed_tracker().load_metrics(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MalformedFile {
                line: 1,
                column: 19,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_python_originals_latency_file_loads_as_version_0() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let file = tracker.load_metrics(&data("python/latency.json")).unwrap();
    assert_eq!(file.version, 0);
    assert_eq!(file.tracker_type, "LatencyTracker");
    assert_eq!(file.records.len(), 7);
    assert_eq!(file.config["time_unit"], "ms");
    let retrieval = tracker.statistics(Some("retrieval")).unwrap();
    let values = [
        12.167930603027344,
        18.203258514404297,
        25.16317367553711,
        31.199216842651367,
        44.19088363647461,
    ];
    assert_eq!(retrieval.count, 5);
    assert!((retrieval.mean - values.iter().sum::<f64>() / 5.0).abs() < 1e-9);
    assert!((retrieval.median - 25.16317367553711).abs() < 1e-9);
    assert_eq!(tracker.statistics(None).unwrap().count, 7);
    assert_eq!(tracker.statistics_by_label().len(), 2);
    // Naive local times read as local time: the start precedes the file's records.
    let start = file.start_time.unwrap();
    assert!(file.records.iter().all(|r| r.timestamp >= start));

    // In seconds, the same values divided by 1000.
    let in_s = LatencyTracker::new(LatencyConfig {
        time_unit: TimeUnit::Seconds,
        ..Default::default()
    });
    in_s.load_metrics(&data("python/latency.json")).unwrap();
    let s = in_s.statistics(Some("generation")).unwrap();
    assert!((s.max - 0.05019688606262207).abs() < 1e-12);
}

#[test]
fn python_files_of_other_trackers_are_refused_by_name() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    for (file, kind) in [
        ("python/throughput.json", "ThroughputTracker"),
        ("python/memory.json", "MemoryUsageTracker"),
        ("python/cpu.json", "CPUUsageTracker"),
    ] {
        let err = tracker.load_metrics(&data(file)).unwrap_err();
        assert!(
            matches!(&err, Error::WrongTrackerType { found, .. } if found == kind),
            "{err}"
        );
    }
}

#[test]
fn python_units_the_original_did_not_know_mean_seconds() {
    let text = std::fs::read_to_string(data("python/latency.json"))
        .unwrap()
        .replace("\"unit\": \"ms\"", "\"unit\": \"MS\"");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upper.json");
    std::fs::write(&path, text).unwrap();
    let tracker = LatencyTracker::new(LatencyConfig::default());
    tracker.load_metrics(&path).unwrap();
    // "MS" meant seconds to the original, so 50.19... seconds = 50196.88... ms.
    let max = tracker.statistics(Some("generation")).unwrap().max;
    assert!((max - 50_196.88606262207).abs() < 1e-6, "{max}");
}
