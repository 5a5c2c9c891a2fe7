//! The CPU tracker against real work whose size we control: spinning threads and sleeps.
//!
//! These tests measure this process's CPU and threads, and two spinning tests at once would
//! share 2 cores: they live in their own test binary and take turns (a lock).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod common;

use common::{alone, expect_sampler_threads, sampler_threads};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use perftrack::{CpuConfig, CpuUsageTracker, Error, SamplingInterval, TrackId};

fn tracker(interval_s: f64) -> CpuUsageTracker {
    CpuUsageTracker::new(CpuConfig {
        sampling_interval: SamplingInterval::from_secs_f64(interval_s).unwrap(),
        ..Default::default()
    })
}

/// Keeps one core busy for `how_long`.
fn spin(how_long: Duration) -> u64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < how_long {
        n = std::hint::black_box(n.wrapping_add(1));
    }
    n
}

/// `n` named threads spinning for `how_long`, joined.
fn spin_threads(n: usize, how_long: Duration) {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            std::thread::Builder::new()
                .name(format!("spinner-{i}"))
                .spawn(move || spin(how_long))
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn available_cores() -> f64 {
    std::thread::available_parallelism().unwrap().get() as f64
}

#[test]
fn one_spinning_thread_reads_about_one_core() {
    let _alone = alone();
    // The default interval: a thread that ends before the session is seen by the samples.
    let tracker = tracker(0.5);
    let id = tracker.start_tracking(Some("spin"));
    spin_threads(1, Duration::from_secs(1));
    let record = tracker.stop_tracking(&id).unwrap();
    let process = record.value.process.unwrap();
    assert!((85.0..=115.0).contains(&process), "process {process} %");
    // The spinning thread, given a name, used the most CPU.
    let threads = record.threads.unwrap();
    assert_eq!(threads[0].name, "spinner-0", "{threads:?}");
    // Seen at the sample half-way through: a thread that exits is counted up to the last
    // sample before it ended.
    assert!(threads[0].cpu_s >= 0.4, "{threads:?}");
    // Every core the process may use has a figure.
    let cores = record.value.cores;
    assert_eq!(cores.len(), available_cores() as usize);
    let normalized = record.process_normalized.unwrap();
    assert!(record.value.system.unwrap() >= normalized - 10.0);
    let user = record.process_user_s.unwrap();
    let system = record.process_system_s.unwrap();
    assert!((0.8..1.3).contains(&(user + system)), "{user} + {system}");
}

#[test]
fn two_spinning_threads_read_two_cores() {
    let _alone = alone();
    let cores = available_cores();
    if cores < 2.0 {
        eprintln!("skipped: two spinning threads need two cores, this process has {cores}");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI machines have two cores"
        );
        return;
    }
    let tracker = tracker(0.0);
    let id = tracker.start_tracking(Some("two"));
    spin_threads(2, Duration::from_secs(1));
    let record = tracker.stop_tracking(&id).unwrap();
    let process = record.value.process.unwrap();
    assert!((170.0..=230.0).contains(&process), "process {process} %");
    let normalized = record.process_normalized.unwrap();
    // Capped at 100 %: counting in 10 ms ticks can put two busy threads just above 200 %.
    let expected = (process / cores).min(100.0);
    assert!(
        (normalized - expected).abs() < 1e-9,
        "normalized {normalized} %, process {process} % over {cores} cores"
    );
    if cores == 2.0 {
        assert!(
            (85.0..=115.0).contains(&normalized),
            "normalized {normalized} %"
        );
    }
    assert!(record.value.system.unwrap() >= normalized - 10.0);
}

#[test]
fn a_session_that_only_sleeps_reads_almost_nothing() {
    let _alone = alone();
    let tracker = tracker(0.0);
    let id = tracker.start_tracking(Some("sleep"));
    std::thread::sleep(Duration::from_secs(1));
    let record = tracker.stop_tracking(&id).unwrap();
    let process = record.value.process.unwrap();
    assert!(process <= 5.0, "process {process} %");
}

#[test]
fn a_one_second_session_sampled_every_100_ms_has_8_to_12_samples() {
    let _alone = alone();
    let tracker = tracker(0.1);
    let id = tracker.start_tracking(None);
    spin(Duration::from_secs(1));
    let record = tracker.stop_tracking(&id).unwrap();
    let n = record.samples.len();
    assert!((8..=12).contains(&n), "{n} samples");
    // The average is weighted by time, and the peak is at least every sample.
    let peak = record.peak.process.unwrap();
    for s in &record.samples {
        assert!(s.cpu.process.unwrap_or(0.0) <= peak + 1e-9);
    }
    assert!(peak >= record.value.process.unwrap() - 1e-9);
}

#[test]
fn no_sampler_thread_outlives_its_sessions_or_its_tracker() {
    let _alone = alone();
    let before = sampler_threads();
    let tracker = tracker(0.02);
    let id = tracker.start_tracking(None);
    expect_sampler_threads(before + 1, "running with a session");
    tracker.stop_tracking(&id).unwrap();
    expect_sampler_threads(before, "stopped with its last session");
    let _running = tracker.start_tracking(None);
    expect_sampler_threads(before + 1, "running again");
    drop(tracker);
    expect_sampler_threads(before, "stopped when the tracker dropped");
}

/// Not a test of its own: when started by the test below, spins one core until killed.
#[test]
fn spinner() {
    if std::env::var_os("PERFTRACK_SPIN").is_some() {
        spin(Duration::from_secs(30));
    }
}

#[test]
fn a_tracker_watching_a_spinning_child_reads_about_one_core() {
    let _alone = alone();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "spinner", "--test-threads=1"])
        .env("PERFTRACK_SPIN", "1")
        .spawn()
        .unwrap();
    let tracker = CpuUsageTracker::new(CpuConfig {
        pid: Some(child.id()),
        sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
        ..Default::default()
    });
    // Let the child get going, then measure one second of it.
    std::thread::sleep(Duration::from_millis(300));
    let id = tracker.start_tracking(Some("child"));
    std::thread::sleep(Duration::from_secs(1));
    let record = tracker.stop_tracking(&id).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let process = record.value.process.unwrap();
    assert!((85.0..=115.0).contains(&process), "child {process} %");
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
        (r#"{"sampling_interval": -1}"#, "sampling_interval"),
        (r#"{"track_cores": true}"#, "track_cores"),
        (r#"{"pid": "me"}"#, "pid"),
    ] {
        match CpuConfig::from_json(json).unwrap_err() {
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
fn the_python_originals_cpu_file_loads_and_round_trips() {
    let _alone = alone();
    let tracker = tracker(0.0);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/python/cpu.json");
    let file = tracker.load_metrics(&path).unwrap();
    assert_eq!((file.version, file.records.len()), (0, 1));
    let record = &file.records[0];
    assert_eq!(record.value.process, Some(495.3333333333333));
    assert_eq!(record.value.cores.get(1), Some(100.0));
    assert_eq!(record.samples.len(), 3);
    let stats = tracker.statistics(Some("cpu_intensive"));
    assert_eq!(stats["process"].peak, Some(1388.9));

    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("cpu.json");
    tracker.save_metrics(&saved).unwrap();
    let again = self::tracker(0.0);
    assert_eq!(
        again.load_metrics(&saved).unwrap().records,
        tracker.records()
    );
    assert_eq!(again.statistics(None), tracker.statistics(None));
}
