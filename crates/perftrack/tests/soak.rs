//! A soak test: all four trackers active, their samplers at their shortest intervals, and a
//! steady stream of sessions over more labels than the label cap, for two minutes. Resident
//! memory at the end is within 10 MiB of its value after the first 30 s, and the process has as
//! many threads after the trackers drop as before they were made.
//!
//! Ignored by default (it takes two minutes); `.ci/run` runs it with `--ignored`. This binary
//! holds one test on purpose: it reads the whole process's memory and threads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use perftrack::{
    CpuConfig, CpuUsageTracker, LatencyConfig, LatencyTracker, MIN_SAMPLING_INTERVAL, MemoryConfig,
    MemoryUsageTracker, SamplingInterval, Status, ThroughputConfig, ThroughputTracker,
};

const WARM_UP: Duration = Duration::from_secs(30);
const MEASURED: Duration = Duration::from_secs(90);
const RSS_TOLERANCE_KIB: u64 = 10 * 1024;
/// Distinct labels in the stream: more than `MAX_LABELS`, so the cap is reached (during the
/// warm-up) and the overflow label is used from then on.
const LABELS: usize = 150;
/// Labels with their own statistics. Fewer than the default 1,000 so that every label sees
/// enough measurements for its sketches to cover their range during the warm-up (a sketch
/// grows, up to its bound, as values fall into buckets it has not used yet).
const MAX_LABELS: usize = 100;
/// Records the latency and throughput trackers keep (the memory and CPU trackers keep their
/// default 1,000); every log is full well before the warm-up ends.
const MAX_RECORDS: usize = 10_000;
/// Exact values per label (and reading): small, so that every label's exact values give way to
/// its sketch during the warm-up. With the default 10,000 a label's memory grows (by up to
/// 80 KB per label and reading, as documented) for longer than this test runs.
const EXACT_LIMIT: usize = 100;

/// A line of `/proc/self/status` (`VmRSS`, `Threads`) as a number.
fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_kib() -> u64 {
    status_field("VmRSS:").unwrap()
}

fn threads() -> u64 {
    status_field("Threads:").unwrap()
}

struct Trackers {
    latency: LatencyTracker,
    throughput: ThroughputTracker,
    memory: MemoryUsageTracker,
    cpu: CpuUsageTracker,
}

impl Trackers {
    fn new() -> Self {
        Self {
            latency: LatencyTracker::new(LatencyConfig {
                max_records: MAX_RECORDS,
                exact_limit: EXACT_LIMIT,
                max_labels: MAX_LABELS,
                ..LatencyConfig::default()
            }),
            throughput: ThroughputTracker::new(ThroughputConfig {
                max_records: MAX_RECORDS,
                exact_limit: EXACT_LIMIT,
                max_labels: MAX_LABELS,
                ..ThroughputConfig::default()
            }),
            // The memory sampler has no floor of its own; 1 ms keeps it reading /proc a
            // thousand times a second without taking a whole core.
            memory: MemoryUsageTracker::new(MemoryConfig {
                sampling_interval: SamplingInterval::from_duration(Duration::from_millis(1)),
                exact_limit: EXACT_LIMIT,
                max_labels: MAX_LABELS,
                ..MemoryConfig::default()
            }),
            cpu: CpuUsageTracker::new(CpuConfig {
                sampling_interval: SamplingInterval::from_duration(MIN_SAMPLING_INTERVAL),
                exact_limit: EXACT_LIMIT,
                max_labels: MAX_LABELS,
                ..CpuConfig::default()
            }),
        }
    }
}

fn label(i: u64) -> String {
    format!("document-{}", i % LABELS as u64)
}

#[test]
#[ignore = "a two-minute soak test; .ci/run runs it with --ignored"]
fn four_trackers_under_a_steady_stream_keep_memory_and_threads_flat() {
    if status_field("VmRSS:").is_none() || status_field("Threads:").is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "/proc/self/status is needed to read resident memory and threads"
        );
        eprintln!("skipped: no /proc/self/status on this platform");
        return;
    }
    let threads_before = threads();
    let trackers = Arc::new(Trackers::new());
    let stop = Arc::new(AtomicBool::new(false));
    let sessions = Arc::new(AtomicU64::new(0));

    // Latency and throughput: a fast stream of guards, closures, ids and direct records.
    let fast = {
        let (t, stop, sessions) = (
            Arc::clone(&trackers),
            Arc::clone(&stop),
            Arc::clone(&sessions),
        );
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let label = label(i);
                {
                    let _latency = t.latency.track(&label);
                    let mut tokens = t.throughput.track(&label);
                    tokens.record(i % 17 + 1);
                }
                t.latency.time("retrieval", || std::hint::black_box(i * 3));
                let id = t.latency.start_tracking(Some(&label));
                let status = if i % 10 == 0 {
                    Status::Failed
                } else {
                    Status::Ok
                };
                t.latency.stop_tracking_with_status(&id, status).unwrap();
                t.latency
                    .record("embedding", Duration::from_micros(i % 900));
                t.throughput.record("queries", 1);
                sessions.fetch_add(5, Ordering::Relaxed);
                i += 1;
                if i % 200 == 0 {
                    // A steady stream, not a spin: about 100,000 sessions a second at most.
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        })
    };
    // Memory and CPU: sessions of a few milliseconds, long enough for samples.
    let slow = {
        let (t, stop, sessions) = (
            Arc::clone(&trackers),
            Arc::clone(&stop),
            Arc::clone(&sessions),
        );
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let label = label(i);
                let memory = t.memory.track(&label);
                let cpu = t.cpu.track(&label);
                let buffer = vec![i as u8; 64 * 1024];
                std::thread::sleep(Duration::from_millis(i % 5));
                std::hint::black_box(buffer);
                drop(cpu);
                drop(memory);
                let id = t.memory.start_tracking(Some("index"));
                t.memory.stop_tracking(&id).unwrap();
                sessions.fetch_add(3, Ordering::Relaxed);
                i += 1;
            }
        })
    };

    // Every few seconds, what a service does with its trackers: read statistics and save.
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut rss_warm = None;
    while started.elapsed() < WARM_UP + MEASURED {
        let left = (WARM_UP + MEASURED).saturating_sub(started.elapsed());
        std::thread::sleep(left.min(Duration::from_secs(5)));
        let t = &trackers;
        assert!(!t.latency.statistics_by_label().is_empty());
        let _ = (
            t.throughput.statistics(None),
            t.memory.statistics(None),
            t.cpu.statistics(None),
        );
        t.latency
            .save_metrics(&dir.path().join("latency.json"))
            .unwrap();
        t.throughput
            .save_metrics(&dir.path().join("throughput.json"))
            .unwrap();
        t.memory
            .save_metrics(&dir.path().join("memory.json"))
            .unwrap();
        t.cpu.save_metrics(&dir.path().join("cpu.json")).unwrap();
        eprintln!(
            "{:>5.1} s: {} KiB resident",
            started.elapsed().as_secs_f64(),
            rss_kib()
        );
        if rss_warm.is_none() && started.elapsed() >= WARM_UP {
            rss_warm = Some(rss_kib());
            eprintln!(
                "after {:?}: {} KiB resident, {} sessions",
                started.elapsed(),
                rss_warm.unwrap(),
                sessions.load(Ordering::Relaxed)
            );
        }
    }
    let rss_end = rss_kib();
    let rss_warm = rss_warm.unwrap();
    eprintln!(
        "after {:?}: {rss_end} KiB resident, {} sessions; labels capped: {} lookups overflowed",
        started.elapsed(),
        sessions.load(Ordering::Relaxed),
        trackers.latency.overflowed_labels()
    );
    stop.store(true, Ordering::Relaxed);
    fast.join().unwrap();
    slow.join().unwrap();
    assert!(
        trackers.latency.overflowed_labels() > 0,
        "the stream should have passed the label cap"
    );
    assert_eq!(
        trackers.latency.records().len(),
        MAX_RECORDS,
        "the logs are full"
    );
    drop(trackers);

    assert!(
        rss_end.abs_diff(rss_warm) <= RSS_TOLERANCE_KIB,
        "resident memory went from {rss_warm} KiB after the warm-up to {rss_end} KiB"
    );
    // An exited thread can stay listed for a moment after it was joined.
    let deadline = Instant::now() + Duration::from_secs(2);
    while threads() != threads_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        threads(),
        threads_before,
        "threads after the trackers dropped, against before they were made"
    );
}
