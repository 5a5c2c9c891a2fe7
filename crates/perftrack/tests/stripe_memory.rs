//! Striped label summaries do not multiply memory by the number of threads: 1,000 labels
//! recorded from 64 threads take at most twice the resident memory of the same measurements
//! recorded from 2 threads.
//!
//! This binary holds one test on purpose: it reads resident memory, which other tests running
//! in parallel would disturb. Each measurement runs in a child process of its own (this test
//! binary started again with `PERFTRACK_RSS_THREADS` set), so that neither sees the memory the
//! other allocated and freed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use perftrack::{LatencyConfig, LatencyTracker};

const LABELS: usize = 1_000;
/// Measurements per label, split evenly between the threads (exact values: under the default
/// `exact_limit`).
const PER_LABEL: usize = 128;
const ROLE: &str = "PERFTRACK_RSS_THREADS";

mod resident;
use resident::rss_kib;

/// Records `PER_LABEL` measurements under each of `LABELS` labels from `threads` threads, and
/// prints the resident memory before and after (the tracker still alive, the threads joined).
fn child(threads: usize) {
    let before = rss_kib().unwrap();
    let tracker = LatencyTracker::new(LatencyConfig {
        max_records: 0,
        ..Default::default()
    });
    let labels: Vec<String> = (0..LABELS).map(|i| format!("stage-{i}")).collect();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (tracker, labels) = (&tracker, &labels);
            s.spawn(move || {
                for label in labels {
                    // The same values whatever the number of threads: each thread its share.
                    let share = PER_LABEL / threads;
                    for j in t * share..(t + 1) * share {
                        let micros = 100 + j as u64;
                        tracker.record(label, Duration::from_micros(micros));
                    }
                }
            });
        }
    });
    let after = rss_kib().unwrap();
    let count = tracker.statistics(None).unwrap().count;
    assert_eq!(count, (LABELS * PER_LABEL) as u64);
    println!("rss_kib {before} {after}");
}

/// Runs this binary's test again in a child process recording from `threads` threads; returns
/// its resident memory before and after recording.
fn measure(threads: usize) -> (u64, u64) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "memory_for_1000_labels_from_64_threads_is_at_most_twice_that_from_2",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, threads.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child with {threads} threads failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split("rss_kib ").nth(1))
        .expect("the child prints its memory");
    let mut numbers = line.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

#[test]
fn memory_for_1000_labels_from_64_threads_is_at_most_twice_that_from_2() {
    if let Ok(threads) = std::env::var(ROLE) {
        child(threads.parse().unwrap());
        return;
    }
    if !resident::readable() {
        return;
    }
    let (before2, after2) = measure(2);
    let (before64, after64) = measure(64);
    let (grown2, grown64) = (
        after2.saturating_sub(before2),
        after64.saturating_sub(before64),
    );
    eprintln!(
        "resident memory: 2 threads {after2} KiB (grew {grown2} KiB), 64 threads {after64} KiB \
         (grew {grown64} KiB): {:.2}× ({:.2}× grown)",
        after64 as f64 / after2 as f64,
        grown64 as f64 / grown2.max(1) as f64
    );
    assert!(
        after64 <= 2 * after2,
        "64 threads: {after64} KiB, 2 threads: {after2} KiB"
    );
}
