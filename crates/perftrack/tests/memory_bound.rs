//! Memory per label does not grow with the number of measurements.
//!
//! This binary holds one test on purpose: it reads the whole process's resident memory, which
//! other tests running in parallel would disturb.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use perftrack::{LatencyConfig, LatencyTracker};

mod resident;
use resident::rss_kib;

#[test]
fn ten_million_measurements_on_one_label_grow_the_process_by_less_than_one_mib() {
    if !resident::readable() {
        return;
    }
    let tracker = LatencyTracker::new(LatencyConfig {
        max_records: 0,
        ..Default::default()
    });
    // Durations from 1 µs to about 1 s, so the sketch spans the buckets a real stage would.
    let duration = |i: u64| Duration::from_nanos(1_000 + (i * 7_919) % 1_000_000_000);
    // Warm up: pass the exact limit (its values are freed) and touch every bucket once.
    for i in 0..200_000 {
        tracker.record("retrieval", duration(i));
    }
    let before = rss_kib().unwrap();
    for i in 0..10_000_000 {
        if i % 2 == 0 {
            tracker.record("retrieval", duration(i));
        } else {
            let _guard = tracker.track("retrieval");
        }
    }
    let after = rss_kib().unwrap();
    let stats = tracker.statistics(Some("retrieval")).unwrap();
    assert_eq!(stats.count, 10_200_000);
    assert!(
        after.saturating_sub(before) < 1024,
        "grew by {} KiB (from {before} KiB to {after} KiB)",
        after.saturating_sub(before)
    );
}
