//! One lifecycle test suite, the same test code run against every tracker kind: sessions by id
//! and by guard, discarding, reset, load, merge, the label cap, records and dropped counts.
//! Each kind supplies only how to build it and how to count a label's finished sessions; the
//! status a dropped guard records (normally, and while a panic unwinds) is a parameter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use perftrack::{
    CpuConfig, CpuUsageTracker, Error, GenerationConfig, GenerationTracker, LatencyConfig,
    LatencyTracker, ManualClock, MemoryConfig, MemoryUsageTracker, OVERFLOW_LABEL,
    SamplingInterval, Status, ThroughputConfig, ThroughputTracker, TrackId,
};

/// How long each measured session lasts on the manual clock: more than one tick of the
/// kernel's CPU clock, so that a CPU session has a process figure.
const STEP: Duration = Duration::from_millis(20);

/// No background samples: the suite is about the lifecycle, not the readings.
fn no_sampling() -> SamplingInterval {
    SamplingInterval::from_secs_f64(0.0).unwrap()
}

macro_rules! lifecycle_suite {
    (
        $kind:ident: $tracker:ty,
        make: |$max_labels:ident, $max_records:ident, $clock:ident| $make:expr,
        count: |$t:ident, $label:ident| $count:expr,
        dropped_status: $dropped:expr,
        unwinding_status: $unwinding:expr $(,)?
    ) => {
        mod $kind {
            use super::*;

            type Tracker = $tracker;

            /// A tracker with a manual clock, keeping `max_labels` labels and `max_records`
            /// records.
            fn tracker(max_labels: usize, max_records: usize) -> (Tracker, Arc<ManualClock>) {
                let $clock = Arc::new(ManualClock::new());
                let ($max_labels, $max_records) = (max_labels, max_records);
                let clock = Arc::clone(&$clock);
                ($make, clock)
            }

            /// Finished sessions counted under `label` by the tracker's statistics.
            fn count($t: &Tracker, $label: &str) -> u64 {
                $count
            }

            /// One session under `label`, one [`STEP`] long.
            fn measure(t: &Tracker, clock: &ManualClock, label: &str) {
                let id = t.start_tracking(Some(label));
                clock.advance(STEP);
                t.stop_tracking(&id).unwrap();
            }

            #[test]
            fn sessions_by_id_and_by_guard() {
                let (t, clock) = tracker(100, 1000);
                let id = t.start_tracking(Some("by id"));
                t.start_tracking_with_id("request-1", Some("named"))
                    .unwrap();
                assert!(matches!(
                    t.start_tracking_with_id("request-1", None),
                    Err(Error::DuplicateTrackId { .. })
                ));
                assert_eq!(t.active_sessions(), 2);
                clock.advance(STEP);
                assert_eq!(
                    t.stop_tracking(&id).unwrap().label.as_deref(),
                    Some("by id")
                );
                let named = t.stop_tracking(&TrackId::from("request-1")).unwrap();
                assert_eq!(named.track_id.to_string(), "request-1");
                assert!(matches!(
                    t.stop_tracking(&id),
                    Err(Error::UnknownTrackId { .. })
                ));

                let guard = t.track("guard");
                clock.advance(STEP);
                assert_eq!(guard.stop().status, Status::Ok);
                {
                    let _dropped = t.track("guard");
                    clock.advance(STEP);
                }
                let failed = t.track("guard");
                clock.advance(STEP);
                assert_eq!(failed.stop_with(Status::Failed).status, Status::Failed);

                assert_eq!(t.active_sessions(), 0);
                assert_eq!(
                    (count(&t, "by id"), count(&t, "named"), count(&t, "guard")),
                    (1, 1, 3)
                );
                let statuses: Vec<Status> = t.records().iter().map(|r| r.status).collect();
                assert_eq!(
                    statuses,
                    [Status::Ok, Status::Ok, Status::Ok, $dropped, Status::Failed]
                );
                assert_eq!(t.statistics_by_label().len(), 3);
            }

            #[test]
            fn a_guard_dropped_while_unwinding_records_its_status() {
                let (t, _clock) = tracker(100, 1000);
                let inside = t.clone();
                let result = std::panic::catch_unwind(move || {
                    let _guard = inside.track("panics");
                    panic!("the stage failed");
                });
                assert!(result.is_err());
                assert_eq!(t.records().len(), 1);
                assert_eq!(t.records()[0].status, $unwinding);
                assert_eq!(t.active_sessions(), 0);
            }

            #[test]
            fn discarded_sessions_leave_nothing() {
                let (t, clock) = tracker(100, 1000);
                let id = t.start_tracking(Some("warm-up"));
                clock.advance(STEP);
                t.discard_tracking(&id).unwrap();
                assert!(matches!(
                    t.discard_tracking(&id),
                    Err(Error::UnknownTrackId { .. })
                ));
                t.track("warm-up").discard();
                assert_eq!(t.active_sessions(), 0);
                assert!(t.records().is_empty());
                assert!(t.statistics_by_label().is_empty());
                assert_eq!(t.dropped_records(), 0);
            }

            #[test]
            fn a_reset_ends_sessions_and_starts_afresh() {
                let (t, clock) = tracker(100, 1000);
                measure(&t, &clock, "before");
                let open = t.start_tracking(Some("open"));
                let guard = t.track("guarded");
                t.reset();
                assert_eq!(t.active_sessions(), 0);
                assert!(t.records().is_empty());
                assert!(t.statistics_by_label().is_empty());
                assert!(t.stop_tracking(&open).is_err());
                // A guard of before the reset still returns its record, counted nowhere.
                assert_eq!(guard.stop().label.as_deref(), Some("guarded"));
                assert!(t.records().is_empty());
                measure(&t, &clock, "after");
                assert_eq!((count(&t, "after"), count(&t, "before")), (1, 0));
            }

            #[test]
            fn a_load_replaces_the_state_and_ends_sessions() {
                let (saved, clock) = tracker(100, 1000);
                for _ in 0..3 {
                    measure(&saved, &clock, "x");
                }
                let text = saved.metrics_json().unwrap();
                let (t, clock) = tracker(100, 1000);
                measure(&t, &clock, "mine");
                let open = t.start_tracking(Some("open"));
                let file = t.load_metrics_json(&text, "saved.json".as_ref()).unwrap();
                assert_eq!(file.records.len(), 3);
                assert_eq!(t.active_sessions(), 0);
                assert!(t.stop_tracking(&open).is_err());
                assert_eq!((count(&t, "x"), count(&t, "mine")), (3, 0));
                assert_eq!(t.records().len(), 3);
            }

            #[test]
            fn a_merge_adds_the_file_and_leaves_sessions_running() {
                let (other, clock) = tracker(100, 1000);
                for _ in 0..2 {
                    measure(&other, &clock, "x");
                }
                let text = other.metrics_json().unwrap();
                let (t, clock) = tracker(100, 1000);
                measure(&t, &clock, "x");
                let open = t.start_tracking(Some("x"));
                t.merge_metrics_json(&text, "other.json".as_ref()).unwrap();
                assert_eq!(t.active_sessions(), 1);
                clock.advance(STEP);
                t.stop_tracking(&open).unwrap();
                assert_eq!(count(&t, "x"), 4);
                assert_eq!(t.records().len(), 4);
            }

            #[test]
            fn labels_past_the_cap_share_the_overflow_label() {
                let (t, clock) = tracker(2, 1000);
                for label in ["a", "b", "c", "d"] {
                    measure(&t, &clock, label);
                }
                let labels: Vec<String> = t.statistics_by_label().into_keys().collect();
                assert_eq!(labels, [OVERFLOW_LABEL, "a", "b"]);
                assert_eq!(t.overflowed_labels(), 2);
                assert_eq!(count(&t, OVERFLOW_LABEL), 2);
                // The cap and the count survive a save and a load.
                let (restored, _) = tracker(2, 1000);
                restored
                    .load_metrics_json(&t.metrics_json().unwrap(), "capped.json".as_ref())
                    .unwrap();
                assert_eq!(restored.overflowed_labels(), 2);
            }

            #[test]
            fn records_past_max_records_are_dropped_and_counted() {
                let (t, clock) = tracker(100, 2);
                for _ in 0..5 {
                    measure(&t, &clock, "x");
                }
                assert_eq!((t.records().len(), t.dropped_records()), (2, 3));
                assert_eq!(count(&t, "x"), 5);
                let (restored, _) = tracker(100, 2);
                let file = restored
                    .load_metrics_json(&t.metrics_json().unwrap(), "dropped.json".as_ref())
                    .unwrap();
                assert_eq!(file.dropped_records, 3);
                assert_eq!(restored.dropped_records(), 3);
            }

            #[test]
            fn sessions_past_max_sessions_are_abandoned_counted_and_saved() {
                let (t, clock) = tracker(100, 1000);
                let max = t.config().max_sessions;
                let ids: Vec<TrackId> = (0..max + 3)
                    .map(|_| t.start_tracking(Some("forgotten")))
                    .collect();
                let guard = t.track("guarded");
                assert_eq!(t.abandoned_sessions(), 3);
                // Every id is either still active or says it was abandoned; stopping the
                // active ones leaves no measurement of the abandoned.
                let (mut stopped, mut abandoned) = (0, 0);
                for id in &ids {
                    match t.stop_tracking(id) {
                        Ok(_) => stopped += 1,
                        Err(Error::AbandonedSession { .. }) => abandoned += 1,
                        Err(other) => panic!("{other}"),
                    }
                }
                assert_eq!((stopped, abandoned), (max, 3));
                // A guard is never abandoned.
                clock.advance(STEP);
                guard.stop();
                assert_eq!(count(&t, "guarded"), 1);
                // Saved, loaded and merged like the other counts.
                let text = t.metrics_json().unwrap();
                let (restored, _) = tracker(100, 1000);
                restored
                    .load_metrics_json(&text, "a.json".as_ref())
                    .unwrap();
                assert_eq!(restored.snapshot().abandoned_sessions["forgotten"], 3);
                restored
                    .merge_metrics_json(&text, "a.json".as_ref())
                    .unwrap();
                assert_eq!(restored.abandoned_sessions(), 6);
                restored.reset();
                assert_eq!(restored.abandoned_sessions(), 0);
            }
        }
    };
}

lifecycle_suite! {
    latency: LatencyTracker,
    make: |max_labels, max_records, clock| LatencyTracker::with_clock(
        LatencyConfig { max_labels, max_records, ..Default::default() },
        clock,
    ),
    count: |t, label| t.statistics(Some(label)).map_or(0, |s| s.count),
    dropped_status: Status::Ok,
    unwinding_status: Status::Failed,
}

lifecycle_suite! {
    throughput: ThroughputTracker,
    make: |max_labels, max_records, clock| ThroughputTracker::with_clock(
        ThroughputConfig { max_labels, max_records, ..Default::default() },
        clock,
    ),
    count: |t, label| t.statistics(Some(label)).map_or(0, |s| s.count),
    dropped_status: Status::Ok,
    unwinding_status: Status::Failed,
}

lifecycle_suite! {
    memory: MemoryUsageTracker,
    make: |max_labels, max_records, clock| MemoryUsageTracker::with_clock(
        MemoryConfig {
            max_labels,
            max_records,
            track_gpu: false,
            sampling_interval: no_sampling(),
            ..Default::default()
        },
        clock,
    ),
    count: |t, label| t.statistics(Some(label)).values().map(|s| s.count).max().unwrap_or(0),
    dropped_status: Status::Ok,
    unwinding_status: Status::Failed,
}

lifecycle_suite! {
    cpu: CpuUsageTracker,
    make: |max_labels, max_records, clock| CpuUsageTracker::with_clock(
        CpuConfig {
            max_labels,
            max_records,
            sampling_interval: no_sampling(),
            ..Default::default()
        },
        clock,
    ),
    count: |t, label| t.statistics(Some(label)).values().map(|s| s.count).max().unwrap_or(0),
    dropped_status: Status::Ok,
    unwinding_status: Status::Failed,
}

lifecycle_suite! {
    generation: GenerationTracker,
    make: |max_labels, max_records, clock| GenerationTracker::with_clock(
        GenerationConfig { max_labels, max_records, ..Default::default() },
        clock,
    ),
    count: |t, label| t.statistics(Some(label)).map_or(0, |s| s.requests),
    dropped_status: Status::Cancelled,
    unwinding_status: Status::Failed,
}
