//! The version-2 layout of memory and CPU files, pinned by golden files; the version-1 golden
//! files still load to the same state.
//!
//! Real readings differ on every run, so the histories come from the Python original's files
//! (with their local times written as UTC, so the result does not depend on the time zone),
//! loaded into trackers with a manual clock and saved again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use perftrack::{
    CpuConfig, CpuUsageTracker, ManualClock, MemoryConfig, MemoryUsageTracker, SamplingInterval,
};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// Compares a saved file with its golden copy (rewritten with `PERFTRACK_BLESS=1`).
fn assert_golden(written: &Path, golden: &str) {
    let written = std::fs::read_to_string(written).unwrap();
    let golden_path = data(golden);
    if std::env::var_os("PERFTRACK_BLESS").is_some() {
        std::fs::write(&golden_path, &written).unwrap();
    }
    let expected = std::fs::read_to_string(&golden_path).unwrap();
    assert_eq!(
        written, expected,
        "the {golden} layout changed; if on purpose, update docs/FORMAT.md and rerun with PERFTRACK_BLESS=1"
    );
}

#[test]
fn the_memory_layout_matches_the_golden_file() {
    let config = MemoryConfig {
        track_gpu: false,
        kernel_peak: false,
        sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
        ..Default::default()
    };
    let tracker = MemoryUsageTracker::with_clock(config.clone(), Arc::new(ManualClock::new()));
    tracker
        .load_metrics(&data("fixtures/memory-python-utc.json"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memory.json");
    tracker.save_metrics(&path).unwrap();
    assert_golden(&path, "golden-v2/memory-v2.json");

    for golden in ["golden-v2/memory-v2.json", "golden/memory-v1.json"] {
        let again = MemoryUsageTracker::with_clock(config.clone(), Arc::new(ManualClock::new()));
        again.load_metrics(&data(golden)).unwrap();
        assert_eq!(again.records(), tracker.records());
        assert_eq!(again.statistics(None), tracker.statistics(None));
    }
}

#[test]
fn the_cpu_layout_matches_the_golden_file() {
    let config = CpuConfig {
        sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
        ..Default::default()
    };
    let tracker = CpuUsageTracker::with_clock(config.clone(), Arc::new(ManualClock::new()));
    tracker
        .load_metrics(&data("fixtures/cpu-python-utc.json"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cpu.json");
    tracker.save_metrics(&path).unwrap();
    assert_golden(&path, "golden-v2/cpu-v2.json");

    for golden in ["golden-v2/cpu-v2.json", "golden/cpu-v1.json"] {
        let again = CpuUsageTracker::with_clock(config.clone(), Arc::new(ManualClock::new()));
        again.load_metrics(&data(golden)).unwrap();
        assert_eq!(again.records(), tracker.records());
        assert_eq!(again.statistics(None), tracker.statistics(None));
    }
}
