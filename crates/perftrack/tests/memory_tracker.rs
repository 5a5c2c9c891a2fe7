//! The memory tracker against real allocations of known size.
//!
//! These tests read this process's memory and threads, so they live in their own test binary
//! and take turns (a lock), or they would disturb each other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod common;

use common::{alone, expect_sampler_threads, sampler_threads};
use std::hint::black_box;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use perftrack::{Error, MemoryConfig, MemoryUnit, MemoryUsageTracker, SamplingInterval, TrackId};

fn tracker(interval_s: f64) -> MemoryUsageTracker {
    MemoryUsageTracker::new(MemoryConfig {
        unit: MemoryUnit::MiB,
        track_gpu: false,
        sampling_interval: SamplingInterval::from_secs_f64(interval_s).unwrap(),
        ..Default::default()
    })
}

/// Allocates `mib` MiB and writes every page, holds it for `hold`, then frees it.
fn allocate(mib: usize, hold: Duration) {
    let buffer = black_box(vec![1u8; mib << 20]);
    std::thread::sleep(hold);
    drop(black_box(buffer));
}

#[test]
fn a_freed_200_mib_buffer_shows_in_the_peak_and_not_in_the_change() {
    let _alone = alone();
    let tracker = tracker(1.0);
    let id = tracker.start_tracking(Some("buffer"));
    allocate(200, Duration::from_millis(20));
    let record = tracker.stop_tracking(&id).unwrap();
    let initial = record.initial.process_rss.unwrap();
    let peak = record.peak.unwrap().process_rss.unwrap();
    let change = record.change.process_rss.unwrap();
    assert!(
        peak >= initial + 190.0,
        "peak {peak} MiB, initial {initial} MiB"
    );
    assert!(change.abs() <= 20.0, "change {change} MiB");
    // Held for 20 ms inside a session sampled once per second: no sample saw it, yet the
    // peak did (the kernel's high-water mark).
    assert!(
        record.samples.is_empty(),
        "{} samples",
        record.samples.len()
    );
}

#[test]
fn a_one_second_session_sampled_every_50_ms_has_15_to_25_samples() {
    let _alone = alone();
    let tracker = tracker(0.05);
    let id = tracker.start_tracking(None);
    std::thread::sleep(Duration::from_secs(1));
    let record = tracker.stop_tracking(&id).unwrap();
    let n = record.samples.len();
    assert!((15..=25).contains(&n), "{n} samples");
    assert!(
        record
            .samples
            .windows(2)
            .all(|w| w[0].timestamp < w[1].timestamp)
    );
    assert!((0.99..1.5).contains(&record.duration.unwrap()));
}

#[test]
fn overlapping_sessions_get_their_own_peaks_and_samples() {
    let _alone = alone();
    let tracker = tracker(0.02);
    let outer = tracker.start_tracking(Some("outer"));
    std::thread::sleep(Duration::from_millis(100));
    let middle = tracker.start_tracking(Some("middle"));
    allocate(120, Duration::from_millis(60));
    let inner = tracker.start_tracking(Some("inner"));
    std::thread::sleep(Duration::from_millis(100));
    let inner = tracker.stop_tracking(&inner).unwrap();
    let middle = tracker.stop_tracking(&middle).unwrap();
    let outer = tracker.stop_tracking(&outer).unwrap();
    let rise = |r: &perftrack::MemoryRecord| {
        r.peak.unwrap().process_rss.unwrap() - r.initial.process_rss.unwrap()
    };
    // The 120 MiB came and went while outer and middle ran, before inner started.
    assert!(rise(&outer) >= 110.0, "outer {}", rise(&outer));
    assert!(rise(&middle) >= 110.0, "middle {}", rise(&middle));
    assert!(rise(&inner) < 50.0, "inner {}", rise(&inner));
    assert!(outer.samples.len() > middle.samples.len());
    assert!(middle.samples.len() > inner.samples.len());
    assert!(!inner.samples.is_empty());
}

#[test]
fn no_sampler_thread_outlives_its_sessions_or_its_tracker() {
    let _alone = alone();
    let before = sampler_threads();
    let tracker = tracker(0.01);
    let a = tracker.start_tracking(None);
    let b = tracker.start_tracking(None);
    expect_sampler_threads(before + 1, "one thread per tracker");
    tracker.stop_tracking(&a).unwrap();
    assert_eq!(sampler_threads(), before + 1, "still one session");
    tracker.stop_tracking(&b).unwrap();
    expect_sampler_threads(before, "stopped with its last session");

    let _running = tracker.start_tracking(None);
    expect_sampler_threads(before + 1, "started again");
    drop(tracker);
    expect_sampler_threads(before, "stopped when the tracker dropped");

    // A panic inside a measured function still ends its session and its sampling.
    let tracker = self::tracker(1.0);
    let t = tracker.clone();
    let every_5_ms = SamplingInterval::from_secs_f64(0.005).unwrap();
    let result = std::panic::catch_unwind(move || {
        t.track_function_memory("boom", Some(every_5_ms), || panic!("model failed to load"))
    });
    assert!(result.is_err());
    assert_eq!(tracker.active_sessions(), 0);
    expect_sampler_threads(before, "stopped after the panic");
    assert_eq!(tracker.records()[0].status, perftrack::Status::Failed);
}

#[test]
fn without_a_gpu_the_record_says_why_and_has_every_other_reading() {
    let _alone = alone();
    let tracker = MemoryUsageTracker::new(MemoryConfig {
        track_gpu: true,
        sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
        ..Default::default()
    });
    let record = tracker.track("gpu?").stop();
    if record.value.gpu_total.is_some() {
        eprintln!("a GPU is readable here; checked that its readings are present instead");
        assert!(record.gpu_status.is_none());
        return;
    }
    let status = record.gpu_status.clone().expect("a reason");
    assert!(!status.is_empty());
    for reading in [
        "process_rss",
        "process_vms",
        "system_total",
        "system_available",
        "system_percent",
    ] {
        assert!(record.value.get(reading).is_some(), "{reading} missing");
    }
    let json = serde_json::to_value(&record).unwrap();
    assert!(
        json["value"].get("gpu_used").is_none(),
        "no fake 0 for the GPU"
    );
}

/// Runs this test binary again as a child that allocates, to be watched by `pid`.
fn spawn_allocator(mib: usize, grandchild_mib: usize) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "allocator", "--nocapture", "--test-threads=1"])
        .env("PERFTRACK_ALLOCATE_MIB", mib.to_string())
        .env("PERFTRACK_GRANDCHILD_MIB", grandchild_mib.to_string());
    if grandchild_mib > 0 {
        // The child leads a process group of its own, which its grandchild joins, so that
        // both are killed together.
        command.process_group(0);
    }
    command.spawn().unwrap()
}

/// Not a test of its own: when started by `spawn_allocator`, allocates and holds memory (and
/// starts a grandchild that does the same), then waits to be killed.
#[test]
fn allocator() {
    let Ok(mib) = std::env::var("PERFTRACK_ALLOCATE_MIB") else {
        return;
    };
    let grandchild = std::env::var("PERFTRACK_GRANDCHILD_MIB").unwrap_or_default();
    let mut child = (grandchild != "0").then(|| spawn_allocator(grandchild.parse().unwrap(), 0));
    let buffer = black_box(vec![1u8; mib.parse::<usize>().unwrap() << 20]);
    std::thread::sleep(Duration::from_secs(30));
    drop(buffer);
    if let Some(child) = child.as_mut() {
        let _ = child.kill();
    }
}

/// Waits until the allocator `pid` (and its grandchild, if any) holds its memory.
fn wait_until_ready(tracker: &MemoryUsageTracker, at_least_mib: f64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let now = tracker.current_value(None).unwrap();
        if now.process_rss.unwrap_or(0.0) >= at_least_mib {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the allocator never reached {at_least_mib} MiB");
}

#[test]
fn a_tracker_watching_a_child_sees_its_300_mib_and_with_children_its_grandchild() {
    let _alone = alone();
    let mut child = spawn_allocator(300, 100);
    let pid = child.id();
    let watch = |include_children| {
        MemoryUsageTracker::new(MemoryConfig {
            unit: MemoryUnit::MiB,
            track_gpu: false,
            pid: Some(pid),
            include_children,
            kernel_peak: false,
            sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
            ..Default::default()
        })
    };
    let alone_tracker = watch(false);
    wait_until_ready(&alone_tracker, 300.0);
    let tree_tracker = watch(true);
    wait_until_ready(&tree_tracker, 400.0);
    let own = alone_tracker
        .current_value(None)
        .unwrap()
        .process_rss
        .unwrap();
    let tree = tree_tracker
        .current_value(None)
        .unwrap()
        .process_rss
        .unwrap();
    // The child's process group holds the child and the grandchild.
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    child.wait().unwrap();
    assert!((300.0..390.0).contains(&own), "child alone: {own} MiB");
    assert!(tree >= own + 95.0, "tree {tree} MiB, child {own} MiB");
}

#[test]
fn bad_ids_configs_and_files_are_clear_errors() {
    let _alone = alone();
    let tracker = tracker(0.0);
    let ghost = TrackId::from("ghost");
    assert!(matches!(
        tracker.stop_tracking(&ghost),
        Err(Error::UnknownTrackId { .. })
    ));
    assert!(matches!(
        tracker.record_sample(&ghost),
        Err(Error::UnknownTrackId { .. })
    ));
    assert!(matches!(
        tracker.current_value(Some(&ghost)),
        Err(Error::UnknownTrackId { .. })
    ));
    for (json, key) in [
        (r#"{"unit": "TB"}"#, "unit"),
        (r#"{"sampling_interval": -0.5}"#, "sampling_interval"),
        (r#"{"sampling_interval": "fast"}"#, "sampling_interval"),
        (r#"{"gpu_device": -1}"#, "gpu_device"),
        (r#"{"sample_interval": 1}"#, "sample_interval"),
    ] {
        match MemoryConfig::from_json(json).unwrap_err() {
            Error::InvalidConfig { key: k, .. } => assert_eq!(k, key, "{json}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    let latency = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/latency-v1.json");
    assert!(matches!(
        tracker.load_metrics(&latency),
        Err(Error::WrongTrackerType { .. })
    ));
}

#[test]
fn the_python_originals_memory_file_loads() {
    let _alone = alone();
    let tracker = MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        ..Default::default()
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/python/memory.json");
    let file = tracker.load_metrics(&path).unwrap();
    assert_eq!(file.version, 0);
    assert_eq!(file.records.len(), 1);
    let record = &file.records[0];
    assert_eq!(record.label.as_deref(), Some("memory_allocation"));
    assert_eq!(record.value.process_rss, Some(17.12890625));
    assert_eq!(record.samples.len(), 3);
    let stats = tracker.statistics(Some("memory_allocation"));
    assert_eq!(stats["process_rss"].last, 17.12890625);
    assert_eq!(stats["system_percent"].unit, "percent");

    // Saved again, it is a version-1 file that loads back the same.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("memory.json");
    tracker.save_metrics(&saved).unwrap();
    let again = MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        ..Default::default()
    });
    assert_eq!(
        again.load_metrics(&saved).unwrap().records,
        tracker.records()
    );
    assert_eq!(again.statistics(None), tracker.statistics(None));
}
