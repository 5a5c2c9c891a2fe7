//! A forgotten guard (`std::mem::forget`) keeps its session's state, never its tracker's
//! sampling thread: once every handle of the tracker is dropped, the thread is gone. A binary
//! of its own, so no other test's threads come and go meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{expect_sampler_threads, sampler_threads};
use perftrack::{CpuConfig, CpuUsageTracker, MemoryConfig, MemoryUsageTracker, SamplingInterval};

/// Live (not exited) threads of this process.
fn threads() -> usize {
    common::live_threads(|_| true)
}

/// Waits (at most 5 s) for the thread count to be `expected`.
fn expect_threads(expected: usize, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads() != expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(threads(), expected, "{why}");
}

#[test]
fn a_forgotten_guard_does_not_keep_the_sampler_running() {
    if !std::path::Path::new("/proc/self/task").exists() {
        eprintln!("skipped: threads are counted from /proc/self/task, which this system lacks");
        return;
    }
    let _alone = common::alone();
    let every_10_ms = SamplingInterval::from_secs_f64(0.01).unwrap();
    let before = threads();
    let samplers = sampler_threads();

    let memory = MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        sampling_interval: every_10_ms,
        ..Default::default()
    });
    let clone = memory.clone();
    std::mem::forget(memory.track("leaked"));
    expect_sampler_threads(samplers + 1, "the forgotten session is sampled");
    drop(memory);
    expect_sampler_threads(samplers + 1, "a clone still holds the tracker");
    drop(clone);
    expect_sampler_threads(samplers, "the memory tracker is dropped");
    expect_threads(before, "back to the threads before the memory tracker");

    let cpu = CpuUsageTracker::new(CpuConfig {
        sampling_interval: every_10_ms,
        ..Default::default()
    });
    std::mem::forget(cpu.track("leaked"));
    let id = cpu.start_tracking(Some("never stopped"));
    expect_sampler_threads(samplers + 1, "the CPU sessions are sampled");
    drop(cpu);
    expect_sampler_threads(samplers, "the CPU tracker is dropped with sessions open");
    expect_threads(before, "back to the threads before the CPU tracker");
    let _ = id;
}
