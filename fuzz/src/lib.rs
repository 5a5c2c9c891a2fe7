//! What each fuzz target does with its input, in one place: the `fuzz_targets/` binaries call
//! these functions, and `crates/perftrack/tests/fuzz_corpus.rs` replays every committed corpus
//! file through the same functions, so the corpora run as regression tests on every CI run.
//!
//! Every function accepts any bytes. Errors are expected and fine; a panic, a hang or an
//! unbounded allocation is a defect. Where an input is accepted, the functions also check that
//! it survives a round trip (save → load, config → JSON → config, unit → name → unit), and a
//! tracker that loaded a file keeps working: it records, merges the same file again and reports
//! statistics (counts near `u64::MAX` saturate; nothing may overflow).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use perftrack::{
    CpuConfig, CpuUsageTracker, LatencyConfig, LatencyTracker, MemoryConfig, MemoryUnit,
    MemoryUsageTracker, PerformanceTracker, RateUnit, SamplingInterval, ThroughputConfig,
    ThroughputTracker, TimeUnit, Timestamp, WindowSize, get_performance_tracker,
};

/// A file in the system's temporary directory that is removed when dropped; unique per call
/// so that tests replaying corpora on several threads never share one.
struct TempFile(PathBuf);

impl TempFile {
    fn new(kind: &str) -> Self {
        // Relaxed: the counter only makes names distinct within this process.
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("perftrack-fuzz-{}-{n}-{kind}.json", std::process::id());
        Self(std::env::temp_dir().join(name))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Loads `data` as a metrics file with each of the four tracker types. Where a load succeeds,
/// the tracker's statistics are read, saved and loaded into a fresh tracker, which must then
/// report the same statistics, records and dropped-record count. The loaded tracker then
/// records (a session, for memory and CPU), merges the same file again and reports statistics
/// and its metrics file, which a fresh tracker then loads or rejects; none of it may panic.
pub fn load_metrics(data: &[u8]) {
    let input = TempFile::new("input");
    if std::fs::write(input.path(), data).is_err() {
        return;
    }
    let saved = TempFile::new("saved");
    // The loading trackers' settings vary with the input's length (without using up any of
    // its bytes): a label cap that merges the file's labels into `"_other"`, no exact values,
    // and another unit to convert to.
    let n = data.len();
    let max_labels = [1_000, 2, 0][n % 3];
    let exact_limit = [10_000, 0][n / 3 % 2];
    let time_unit = [TimeUnit::Milliseconds, TimeUnit::Seconds][n / 6 % 2];
    let memory_unit = [MemoryUnit::MB, MemoryUnit::B][n / 6 % 2];
    let rate_unit = [RateUnit::PerSecond, RateUnit::PerMinute][n / 6 % 2];
    // Trackers that read no GPU, register no process-wide peak hook and sample nothing in the
    // background, so that creating four of them per input, and a session on each, stays cheap;
    // loading does not depend on these settings.
    let no_sampling = SamplingInterval::from_duration(Duration::ZERO);
    let memory = || {
        MemoryUsageTracker::new(MemoryConfig {
            track_gpu: false,
            kernel_peak: false,
            sampling_interval: no_sampling,
            unit: memory_unit,
            max_labels,
            exact_limit,
            ..MemoryConfig::default()
        })
    };
    // Whatever loads is UTF-8 text.
    let text = std::str::from_utf8(data).unwrap_or_default();
    macro_rules! round_trip {
        ($make:expr, $use_after_load:expr) => {{
            let tracker = $make;
            if let Ok(file) = tracker.load_metrics(input.path()) {
                let stats = tracker.statistics_by_label();
                let _ = tracker.statistics(None);
                let records = tracker.records();
                assert_eq!(
                    records, file.records,
                    "load returned other records than it kept"
                );
                tracker
                    .save_metrics(saved.path())
                    .expect("a loaded tracker saves");
                let again = $make;
                let reloaded = again
                    .load_metrics(saved.path())
                    .expect("a saved file loads");
                assert_eq!(
                    again.statistics_by_label(),
                    stats,
                    "save → load changed statistics"
                );
                assert_eq!(again.records(), records, "save → load changed records");
                assert_eq!(reloaded.dropped_records, file.dropped_records);
                // Records, merges the file again and reads statistics.
                $use_after_load(&tracker, text, input.path());
                let _ = tracker.records();
                let merged = tracker.metrics_json().expect("a merged tracker renders");
                // Counts that saturated, or sums that became infinite, make the file one that
                // does not load; either way, no panic.
                let _ = $make.load_metrics_json(&merged, saved.path());
            }
        }};
    }
    round_trip!(
        LatencyTracker::new(LatencyConfig {
            time_unit,
            max_labels,
            exact_limit,
            ..LatencyConfig::default()
        }),
        use_latency
    );
    round_trip!(
        ThroughputTracker::new(ThroughputConfig {
            time_unit: rate_unit,
            max_labels,
            exact_limit,
            ..ThroughputConfig::default()
        }),
        use_throughput
    );
    round_trip!(memory(), use_sampled);
    round_trip!(
        CpuUsageTracker::new(CpuConfig {
            sampling_interval: no_sampling,
            max_labels,
            exact_limit,
            ..CpuConfig::default()
        }),
        use_sampled
    );
}

/// After a load: records two durations, merges `text` again, and checks that the total count
/// is the loaded one twice plus two (saturating at `u64::MAX`).
fn use_latency(tracker: &LatencyTracker, text: &str, source: &Path) {
    let loaded = tracker.statistics(None).map_or(0, |s| s.count);
    tracker.record("fuzz", Duration::from_micros(1500));
    tracker.time("", || ());
    tracker
        .merge_metrics_json(text, source)
        .expect("a file that loads merges");
    let merged = tracker.statistics(None).map_or(0, |s| s.count);
    assert_eq!(
        merged,
        loaded.saturating_add(2).saturating_add(loaded),
        "merging lost or invented measurements"
    );
    let _ = tracker.statistics_by_label();
    let _ = (tracker.dropped_records(), tracker.overflowed_labels());
}

/// After a load: records events and a session, merges `text` again, reads statistics and rates.
fn use_throughput(tracker: &ThroughputTracker, text: &str, source: &Path) {
    tracker.record("fuzz", 3);
    tracker.track("fuzz").record(2);
    tracker
        .merge_metrics_json(text, source)
        .expect("a file that loads merges");
    let _ = (tracker.statistics(None), tracker.statistics_by_label());
    let _ = (tracker.dropped_records(), tracker.overflowed_labels());
    let _ = tracker.current_rate("fuzz");
}

/// After a load of a sampled kind (memory, CPU): one session (no background sampling), `text`
/// merged again, statistics read.
fn use_sampled(tracker: &dyn PerformanceTracker, text: &str, source: &Path) {
    let id = tracker.start_tracking(Some("fuzz"));
    tracker.stop_tracking(&id).expect("a started session stops");
    tracker
        .merge_metrics_json(text, source)
        .expect("a file that loads merges");
    let _ = (
        tracker.statistics_json(None),
        tracker.statistics_json(Some("fuzz")),
    );
}

/// Parses `data` as the JSON configuration of each tracker type, and through the factory for
/// each kind. An accepted configuration must come back unchanged from the JSON the tracker
/// reports (`config_json`), and a latency or throughput tracker built from it must record,
/// report and save a measurement.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = LatencyConfig::from_json(text) {
        let back = LatencyConfig::from_value(serde_json::to_value(&c).expect("serialises"));
        assert_eq!(back.expect("its own JSON parses"), c);
        let tracker = LatencyTracker::new(c);
        tracker.record("fuzz", std::time::Duration::from_micros(1500));
        tracker.time("fuzz", || ());
        // With `max_labels: 0` the label is recorded under `"_other"`; all labels together
        // always hold the two measurements.
        assert_eq!(tracker.statistics(None).map(|s| s.count), Some(2));
        save_and_load(&tracker);
    }
    if let Ok(c) = ThroughputConfig::from_json(text) {
        let back = ThroughputConfig::from_value(serde_json::to_value(&c).expect("serialises"));
        assert_eq!(back.expect("its own JSON parses"), c);
        let tracker = ThroughputTracker::new(c);
        tracker.record("fuzz", 3);
        tracker.track("fuzz").record(2);
        // `record` only feeds the label's rate window; the guard is one measured session.
        assert_eq!(tracker.statistics(None).map(|s| s.count), Some(1));
        save_and_load(&tracker);
    }
    if let Ok(c) = MemoryConfig::from_json(text) {
        let back = MemoryConfig::from_value(serde_json::to_value(&c).expect("serialises"));
        assert_eq!(back.expect("its own JSON parses"), c);
    }
    if let Ok(c) = CpuConfig::from_json(text) {
        let back = CpuConfig::from_value(serde_json::to_value(&c).expect("serialises"));
        assert_eq!(back.expect("its own JSON parses"), c);
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    for kind in ["latency", "throughput", "memory", "cpu"] {
        // Memory and CPU trackers are only built from configurations that watch no other
        // process and read no GPU: building one reads /proc, which is not what is fuzzed here.
        let watches_outside = value.get("pid").is_some_and(|p| !p.is_null())
            || value.get("track_gpu").is_none_or(|g| g != false);
        if matches!(kind, "memory" | "cpu") && watches_outside {
            continue;
        }
        if let Ok(tracker) = get_performance_tracker(kind, Some(value.clone())) {
            let again = get_performance_tracker(kind, Some(tracker.config_json()))
                .expect("a tracker's own configuration builds a tracker");
            assert_eq!(again.config_json(), tracker.config_json());
        }
    }
    // The kind itself is free text too.
    let _ = get_performance_tracker(text, None);
}

/// Saves the tracker's metrics, loads them back, records a session, merges the file again and
/// reads the statistics.
fn save_and_load(tracker: &dyn PerformanceTracker) {
    let file = TempFile::new("config");
    tracker
        .save_metrics(file.path())
        .expect("a tracker with a valid configuration saves");
    tracker
        .load_metrics(file.path())
        .expect("a tracker loads its own file");
    let id = tracker.start_tracking(Some("fuzz"));
    tracker.stop_tracking(&id).expect("a started session stops");
    tracker
        .merge_metrics(file.path())
        .expect("a tracker merges its own file");
    let _ = tracker.statistics_json(None);
}

/// Parses `data` as each unit, a timestamp, a sampling interval and a window size; whatever
/// parses must print as a name that parses back to the same value.
pub fn units(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(unit) = text.parse::<TimeUnit>() {
        assert_eq!(unit.to_string().parse::<TimeUnit>().ok(), Some(unit));
    }
    if let Ok(unit) = text.parse::<RateUnit>() {
        assert_eq!(unit.to_string().parse::<RateUnit>().ok(), Some(unit));
    }
    if let Ok(unit) = text.parse::<MemoryUnit>() {
        assert_eq!(unit.to_string().parse::<MemoryUnit>().ok(), Some(unit));
    }
    if let Ok(t) = text.parse::<Timestamp>() {
        assert_eq!(t.to_string().parse::<Timestamp>().ok(), Some(t));
    }
    if let Ok(seconds) = text.trim().parse::<f64>() {
        if let Ok(i) = SamplingInterval::from_secs_f64(seconds) {
            assert!(i.as_secs_f64() <= SamplingInterval::MAX.as_secs_f64());
        }
        if let Ok(w) = WindowSize::from_secs_f64(seconds) {
            assert!(w.as_duration() >= WindowSize::MIN && w.as_duration() <= WindowSize::MAX);
        }
    }
}
