//! Sessions started by id and never stopped stay bounded by `max_sessions`: past it the oldest
//! are abandoned, counted, and their ids say so, and the process stops growing. This binary
//! reads its own resident memory, so it holds one test and runs alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use perftrack::{
    Error, LatencyConfig, LatencyTracker, MemoryConfig, MemoryUsageTracker, SamplingInterval,
    TrackId,
};

mod resident;
use resident::rss_kib;

const MIB_IN_KIB: u64 = 1024;

/// Starts `n` sessions with `start` and never stops them; returns the resident memory (KiB)
/// after the first tenth and at the end, and the id of the session started at `keep`.
fn forget(n: usize, keep: usize, start: impl Fn() -> TrackId) -> (u64, u64, TrackId, TrackId) {
    let first = start();
    let mut kept = first.clone();
    let mut after_tenth = 0;
    for i in 1..n {
        let id = start();
        if i == keep {
            kept = id;
        }
        if i + 1 == n / 10 {
            after_tenth = rss_kib().unwrap();
        }
    }
    (after_tenth, rss_kib().unwrap(), first, kept)
}

#[test]
fn forgotten_sessions_are_abandoned_and_memory_stays_flat() {
    if !resident::readable() {
        return;
    }

    // 100,000 latency sessions, 10,000 kept at most.
    let latency = LatencyTracker::new(LatencyConfig {
        max_records: 0,
        ..Default::default()
    });
    let n = 100_000;
    let max = latency.config().max_sessions;
    assert_eq!(max, 10_000);
    let (after_tenth, end, first, late) =
        forget(n, 85_000, || latency.start_tracking(Some("forgotten")));
    assert_eq!(latency.active_sessions(), max);
    assert_eq!(latency.abandoned_sessions(), (n - max) as u64);
    assert_eq!(
        latency.snapshot().abandoned_sessions["forgotten"],
        (n - max) as u64
    );
    assert!(
        end <= after_tenth + 2 * MIB_IN_KIB,
        "latency: {after_tenth} KiB resident after the first tenth, {end} at the end"
    );
    // An id abandoned lately says so; the tracker remembers the last `max` of them only.
    assert!(matches!(
        latency.stop_tracking(&late),
        Err(Error::AbandonedSession { .. })
    ));
    assert!(matches!(
        latency.stop_tracking(&first),
        Err(Error::UnknownTrackId { .. })
    ));
    // Abandoned sessions are not measurements.
    assert!(latency.statistics(None).is_none());
    latency.reset();
    assert_eq!(
        (latency.active_sessions(), latency.abandoned_sessions()),
        (0, 0)
    );

    // 20,000 memory sessions, 1,000 kept at most; each abandoned one stops being sampled.
    let memory = MemoryUsageTracker::new(MemoryConfig {
        sampling_interval: SamplingInterval::from_secs_f64(0.0).unwrap(),
        track_gpu: false,
        max_records: 0,
        ..Default::default()
    });
    let n = 20_000;
    let max = memory.config().max_sessions;
    assert_eq!(max, 1_000);
    let (after_tenth, end, _, late) =
        forget(n, 18_500, || memory.start_tracking(Some("index build")));
    assert_eq!(memory.active_sessions(), max);
    assert_eq!(memory.abandoned_sessions(), (n - max) as u64);
    assert!(
        end <= after_tenth + 2 * MIB_IN_KIB,
        "memory: {after_tenth} KiB resident after the first tenth, {end} at the end"
    );
    assert!(matches!(
        memory.stop_tracking(&late),
        Err(Error::AbandonedSession { .. })
    ));
    assert!(memory.statistics(None).is_empty());
}
