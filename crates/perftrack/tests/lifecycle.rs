//! Lifecycle regressions: a reset, load or merge never stops the sampling of a session that
//! starts after it, and a merge into a live tracker adds the file's measurements and touches
//! nothing that is running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{alone, expect_sampler_threads, sampler_threads};
use perftrack::{
    CpuConfig, CpuUsageTracker, LatencyConfig, LatencyTracker, ManualClock, MemoryConfig,
    MemoryUsageTracker, SamplingInterval, ThroughputConfig, ThroughputTracker, TrackId,
};

/// Sampling every 50 ms.
fn every_50_ms() -> SamplingInterval {
    SamplingInterval::from_secs_f64(0.05).unwrap()
}

/// What happens between the old session's start and the new one's.
#[derive(Clone, Copy, Debug)]
enum Between {
    Reset,
    Load,
    Merge,
}

const ALL: [Between; 3] = [Between::Reset, Between::Load, Between::Merge];

/// Waits (at most 5 s) until `samples` reports at least 3 samples, and returns the count seen.
fn wait_for_three(samples: impl Fn() -> usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = samples();
        if n >= 3 || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn memory() -> MemoryUsageTracker {
    MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        sampling_interval: every_50_ms(),
        ..Default::default()
    })
}

fn cpu() -> CpuUsageTracker {
    CpuUsageTracker::new(CpuConfig {
        sampling_interval: every_50_ms(),
        ..Default::default()
    })
}

/// For each of reset, load and merge on trackers made by `$make`: a session started after it,
/// while a guard of before it is still open and ends after the start, gets at least 3 samples
/// at 50 ms, and no sampler thread outlives its tracker. (A macro: the memory and CPU trackers
/// share these methods by name, not by a trait.)
macro_rules! sampled_after_reset_load_or_merge {
    ($make:expr) => {{
        let _alone = alone();
        let file = {
            let other = $make;
            other.track("saved").stop();
            other.metrics_json().unwrap()
        };
        let samplers = sampler_threads();
        for between in ALL {
            let tracker = $make;
            let old = tracker.track("old");
            let source: &std::path::Path = "f.json".as_ref();
            match between {
                Between::Reset => tracker.reset(),
                Between::Load => drop(tracker.load_metrics_json(&file, source).unwrap()),
                Between::Merge => drop(tracker.merge_metrics_json(&file, source).unwrap()),
            }
            let id = tracker.start_tracking(Some("new"));
            // The old guard ends after the new session started: it must not stop the new
            // one's sampling.
            drop(old);
            let seen = wait_for_three(|| tracker.samples(&id).map_or(0, |s| s.len()));
            assert!(seen >= 3, "{between:?}: {seen} samples in 5 s at 50 ms");
            assert!(tracker.stop_tracking(&id).unwrap().samples.len() >= 3);
            drop(tracker);
            expect_sampler_threads(samplers, "no sampler outlives its tracker");
        }
    }};
}

#[test]
fn memory_sessions_started_after_a_reset_load_or_merge_are_sampled() {
    sampled_after_reset_load_or_merge!(memory());
}

#[test]
fn cpu_sessions_started_after_a_reset_load_or_merge_are_sampled() {
    sampled_after_reset_load_or_merge!(cpu());
}

#[test]
fn a_session_started_on_another_thread_during_a_reset_is_sampled() {
    let _alone = alone();
    // Many rounds of a reset racing a start: whichever comes first, a session that is active
    // once both returned is sampled.
    let tracker = memory();
    for _ in 0..20 {
        let started = std::thread::scope(|s| {
            let t = tracker.clone();
            let starter = s.spawn(move || t.start_tracking(Some("racing")));
            tracker.reset();
            starter.join().unwrap()
        });
        if tracker.active_sessions() == 1 {
            let seen = wait_for_three(|| tracker.samples(&started).map_or(0, |s| s.len()));
            assert!(seen >= 3, "{seen} samples in 5 s at 50 ms");
            tracker.stop_tracking(&started).unwrap();
        } else {
            // The reset came second and ended it, as documented.
            assert!(tracker.stop_tracking(&started).is_err());
        }
    }
}

/// A file holding `n` latencies under `label`.
fn latency_file(label: &str, n: u64) -> String {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    for i in 0..n {
        tracker.record(label, Duration::from_micros(100 + i));
    }
    tracker.metrics_json().unwrap()
}

#[test]
fn a_merge_while_two_threads_record_and_a_guard_is_open_loses_nothing() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let file = latency_file("stage", 1_000);
    let in_flight = tracker.track("stage");
    std::thread::scope(|s| {
        for _ in 0..2 {
            let t = tracker.clone();
            s.spawn(move || {
                for _ in 0..200_000 {
                    let _guard = t.track("stage");
                }
            });
        }
        let t = tracker.clone();
        s.spawn(move || {
            for _ in 0..20 {
                t.merge_metrics_json(&file, "worker.json".as_ref()).unwrap();
            }
        });
    });
    drop(in_flight);
    let stats = tracker.statistics(Some("stage")).unwrap();
    assert_eq!(stats.count, 2 * 200_000 + 20 * 1_000 + 1);
}

#[test]
fn a_merge_leaves_active_sessions_running() {
    let latency = LatencyTracker::new(LatencyConfig::default());
    let by_id = latency.start_tracking(Some("stage"));
    let named = latency.start_tracking_with_id("request-1", None).unwrap();
    latency
        .merge_metrics_json(&latency_file("stage", 10), "f.json".as_ref())
        .unwrap();
    assert_eq!(latency.active_sessions(), 2);
    latency.stop_tracking(&by_id).unwrap();
    latency.stop_tracking(&TrackId::from("request-1")).unwrap();
    assert_eq!(latency.statistics(Some("stage")).unwrap().count, 11);
    let _ = named;

    let memory = MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
        ..Default::default()
    });
    let id = memory.start_tracking(Some("load"));
    let file = {
        let other = MemoryUsageTracker::new(memory.config().clone());
        other.track("load").stop();
        other.metrics_json().unwrap()
    };
    memory.merge_metrics_json(&file, "f.json".as_ref()).unwrap();
    assert_eq!(memory.active_sessions(), 1);
    memory.stop_tracking(&id).unwrap();
    let stats = memory.statistics(Some("load"));
    assert_eq!(stats["system_total"].count, 2);
}

#[test]
fn a_merge_keeps_throughput_windows_and_counts() {
    let clock = Arc::new(ManualClock::new());
    let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    tracker.record("queries", 0);
    clock.advance(Duration::from_secs(2));
    tracker.record("queries", 30);
    let batch = tracker.start_batch(Some("indexing"));
    tracker.record_batch(&batch, 5).unwrap();
    assert_eq!(tracker.current_rate("queries"), Some(15.0));

    let file = {
        let other_clock = Arc::new(ManualClock::new());
        let other = ThroughputTracker::with_clock(ThroughputConfig::default(), other_clock.clone());
        let id = other.start_batch(Some("queries"));
        other.record_batch(&id, 4).unwrap();
        other_clock.advance(Duration::from_secs(1));
        other.stop_batch(&id).unwrap();
        other.metrics_json().unwrap()
    };
    tracker
        .merge_metrics_json(&file, "f.json".as_ref())
        .unwrap();
    // The window still holds its 30 events over 2 s, and the batch goes on.
    assert_eq!(tracker.current_rate("queries"), Some(15.0));
    tracker.record_batch(&batch, 5).unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(tracker.stop_batch(&batch).unwrap().count, 10);
    assert_eq!(tracker.statistics(Some("queries")).unwrap().count, 1);
}

/// A latency guard holds only a handle to its label's lane. One stopped after its tracker
/// was reset or dropped still returns its whole record (label, duration, unit), and nothing
/// keeps the measurement.
#[test]
fn a_latency_guard_that_outlives_its_state_returns_its_whole_record() {
    use perftrack::{Clock, ManualClock, TimeUnit};
    let clock = Arc::new(ManualClock::new());
    for reset in [true, false] {
        let config = LatencyConfig {
            time_unit: TimeUnit::Microseconds,
            ..LatencyConfig::default()
        };
        let tracker = LatencyTracker::with_clock(config, Arc::clone(&clock) as Arc<dyn Clock>);
        let guard = tracker.track("stage");
        clock.advance(Duration::from_micros(2_500));
        let record = if reset {
            tracker.reset();
            let record = guard.stop();
            assert!(
                tracker.statistics(None).is_none(),
                "a reset state keeps nothing"
            );
            assert!(tracker.records().is_empty());
            record
        } else {
            drop(tracker);
            guard.stop()
        };
        assert_eq!(record.label.as_deref(), Some("stage"), "reset: {reset}");
        assert_eq!(
            (record.value, record.unit),
            (2_500.0, TimeUnit::Microseconds)
        );
        let (start, end) = (record.start_time.unwrap(), record.end_time.unwrap());
        assert_eq!(end.as_unix_nanos() - start.as_unix_nanos(), 2_500_000);
    }
}
