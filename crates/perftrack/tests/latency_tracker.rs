//! The latency tracker's behaviour: measurements, sessions, guards, closures, futures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use perftrack::{Error, LatencyConfig, LatencyTracker, ManualClock, Status, TimeUnit, TrackId};

fn manual(config: LatencyConfig) -> (LatencyTracker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    (LatencyTracker::with_clock(config, clock.clone()), clock)
}

/// Polls a future to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

#[test]
fn a_50_ms_sleep_measures_50_to_80_ms_and_50_000_to_80_000_us() {
    let ms = LatencyTracker::new(LatencyConfig::default());
    let us = LatencyTracker::new(LatencyConfig {
        time_unit: TimeUnit::Microseconds,
        ..Default::default()
    });
    let id_ms = ms.start_tracking(Some("sleep"));
    let id_us = us.start_tracking(Some("sleep"));
    std::thread::sleep(Duration::from_millis(50));
    let in_us = us.stop_tracking(&id_us).unwrap();
    let in_ms = ms.stop_tracking(&id_ms).unwrap();
    assert!((50.0..80.0).contains(&in_ms.value), "{}", in_ms.value);
    assert_eq!(in_ms.unit, TimeUnit::Milliseconds);
    assert!(
        (50_000.0..80_000.0).contains(&in_us.value),
        "{}",
        in_us.value
    );
    assert_eq!(in_us.unit, TimeUnit::Microseconds);
}

#[test]
fn the_manual_clock_makes_every_form_of_measurement_exact() {
    let (tracker, clock) = manual(LatencyConfig::default());
    let id = tracker.start_tracking(Some("session"));
    clock.advance(Duration::from_millis(7));
    assert_eq!(tracker.current_value(Some(&id)).unwrap(), 7.0);
    assert_eq!(tracker.current_value(None).unwrap(), 7.0);
    assert_eq!(tracker.stop_tracking(&id).unwrap().value, 7.0);

    let guard = tracker.track("guard");
    clock.advance(Duration::from_millis(3));
    drop(guard);

    tracker.time("closure", || clock.advance(Duration::from_millis(5)));
    tracker.record("external", Duration::from_millis(11));
    let wrapped = tracker.wrap("wrapped", |ms: u64| {
        clock.advance(Duration::from_millis(ms))
    });
    wrapped(13);

    let by_label = tracker.statistics_by_label();
    let means: Vec<(String, f64)> = by_label.into_iter().map(|(l, s)| (l, s.mean)).collect();
    assert_eq!(
        means,
        [
            ("closure".to_owned(), 5.0),
            ("external".to_owned(), 11.0),
            ("guard".to_owned(), 3.0),
            ("session".to_owned(), 7.0),
            ("wrapped".to_owned(), 13.0),
        ]
    );
    assert_eq!(tracker.statistics(None).unwrap().sum, 39.0);
}

#[test]
fn records_carry_the_originals_keys_and_rfc3339_times() {
    let (tracker, clock) = manual(LatencyConfig::default());
    let id = tracker
        .start_tracking_with_id("q-1", Some("retrieval"))
        .unwrap();
    clock.advance(Duration::from_micros(1500));
    let record = tracker.stop_tracking(&id).unwrap();
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "track_id": "q-1",
            "value": 1.5,
            "timestamp": "2025-01-01T00:00:00.001500000Z",
            "unit": "ms",
            "label": "retrieval",
            "start_time": "2025-01-01T00:00:00.000000000Z",
            "end_time": "2025-01-01T00:00:00.001500000Z",
            "status": "ok",
        })
    );

    let quiet = LatencyTracker::new(LatencyConfig {
        include_timestamps: false,
        ..Default::default()
    });
    let json = serde_json::to_value(quiet.track("").stop()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["status", "timestamp", "track_id", "unit", "value"]);
}

#[test]
fn unknown_and_duplicate_ids_are_errors_with_the_id() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let err = tracker.stop_tracking(&TrackId::from("nope")).unwrap_err();
    assert!(matches!(err, Error::UnknownTrackId { ref id } if id == "nope"));
    assert!(matches!(
        tracker.current_value(None),
        Err(Error::NoActiveSession)
    ));
    assert!(matches!(
        tracker.current_value(Some(&TrackId::from("nope"))),
        Err(Error::UnknownTrackId { .. })
    ));

    let id = tracker.start_tracking_with_id("dup", None).unwrap();
    let err = tracker
        .start_tracking_with_id("dup", Some("x"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a tracking session with id `dup` is already active"
    );
    // The running session was not overwritten: it still stops, once.
    tracker.stop_tracking(&id).unwrap();
    assert!(tracker.stop_tracking(&id).is_err());
    // And the name is free again.
    tracker.start_tracking_with_id("dup", None).unwrap();
}

#[test]
fn current_value_without_an_id_follows_the_latest_session() {
    let (tracker, clock) = manual(LatencyConfig::default());
    let first = tracker.start_tracking(None);
    clock.advance(Duration::from_millis(10));
    let second = tracker.start_tracking(None);
    clock.advance(Duration::from_millis(1));
    assert_eq!(tracker.current_value(None).unwrap(), 1.0);
    tracker.stop_tracking(&second).unwrap();
    assert_eq!(tracker.current_value(None).unwrap(), 11.0);
    tracker.stop_tracking(&first).unwrap();
}

#[test]
fn an_empty_label_means_no_label() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    tracker.track("").stop();
    let id = tracker.start_tracking(Some(""));
    let record = tracker.stop_tracking(&id).unwrap();
    assert_eq!(record.label, None);
    assert!(tracker.statistics_by_label().is_empty());
    assert_eq!(tracker.statistics(None).unwrap().count, 2);
    assert_eq!(tracker.statistics(Some("")).unwrap().count, 2);
}

#[test]
fn a_panic_still_records_the_latency_as_failed() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let t = tracker.clone();
    let result =
        std::panic::catch_unwind(move || t.time("boom", || panic!("inside the timed work")));
    assert!(result.is_err());
    let wrapped = tracker.wrap("wrapped-boom", |_: ()| -> () { panic!("wrapped") });
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wrapped(()))).is_err());
    let t = tracker.clone();
    let guarded = std::panic::catch_unwind(move || {
        let _guard = t.track("guarded-boom");
        panic!("guarded");
    });
    assert!(guarded.is_err());

    for label in ["boom", "wrapped-boom", "guarded-boom"] {
        let stats = tracker.statistics(Some(label)).unwrap();
        assert_eq!((stats.count, stats.failed), (1, 1), "{label}");
    }
    assert!(tracker.records().iter().all(|r| r.status == Status::Failed));
}

#[test]
fn futures_are_timed_from_first_poll_and_cancellation_is_recorded() {
    let (tracker, clock) = manual(LatencyConfig::default());
    let c = clock.clone();
    let future = tracker.time_async("generate", async move {
        c.advance(Duration::from_millis(20));
        "answer"
    });
    clock.advance(Duration::from_millis(100)); // before the first poll: not counted
    assert_eq!(block_on(future), "answer");
    let done = tracker.statistics(Some("generate")).unwrap();
    assert_eq!((done.count, done.max), (1, 20.0));

    let mut pending = Box::pin(tracker.time_async("stream", std::future::pending::<()>()));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(pending.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_millis(4));
    drop(pending);
    let cancelled = tracker.statistics(Some("stream")).unwrap();
    assert_eq!(
        (cancelled.count, cancelled.cancelled, cancelled.max),
        (1, 1, 4.0)
    );

    // Never polled: nothing to record.
    drop(tracker.time_async("never", async {}));
    assert!(tracker.statistics(Some("never")).is_none());
}

#[test]
fn guards_are_send_static_and_can_cross_threads() {
    fn assert_send_static<T: Send + 'static>(_: &T) {}
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let guard = tracker.track("cross");
    assert_send_static(&guard);
    let future = tracker.time_async("f", async {});
    assert_send_static(&future);
    std::thread::spawn(move || drop(guard)).join().unwrap();
    assert_eq!(tracker.statistics(Some("cross")).unwrap().count, 1);
}

#[test]
fn two_threads_recording_a_million_guards_each_count_exactly_two_million() {
    let tracker = LatencyTracker::new(LatencyConfig {
        max_records: 1_000,
        ..Default::default()
    });
    std::thread::scope(|s| {
        for _ in 0..2 {
            let tracker = &tracker;
            s.spawn(move || {
                for _ in 0..1_000_000 {
                    let _guard = tracker.track("concurrent");
                }
            });
        }
    });
    let stats = tracker.statistics(Some("concurrent")).unwrap();
    assert_eq!(stats.count, 2_000_000);
    assert_eq!(tracker.records().len(), 1_000);
    assert_eq!(tracker.dropped_records(), 1_999_000);
}

#[test]
fn the_record_log_keeps_the_newest_records_oldest_first() {
    let (tracker, clock) = manual(LatencyConfig {
        max_records: 3,
        ..Default::default()
    });
    for ms in 1..=5 {
        tracker.record("x", Duration::from_millis(ms));
        clock.advance(Duration::from_millis(1));
    }
    let values: Vec<f64> = tracker.records().iter().map(|r| r.value).collect();
    assert_eq!(values, [3.0, 4.0, 5.0]);
    assert_eq!(tracker.statistics(None).unwrap().count, 5);
    assert_eq!(tracker.statistics(None).unwrap().last, 5.0);
    assert_eq!(tracker.dropped_records(), 2);

    let none = LatencyTracker::new(LatencyConfig {
        max_records: 0,
        ..Default::default()
    });
    none.record("x", Duration::from_millis(1));
    assert!(none.records().is_empty());
    assert_eq!(none.statistics(None).unwrap().count, 1);
}

#[test]
fn labels_past_max_labels_are_recorded_under_other_and_counted() {
    let tracker = LatencyTracker::new(LatencyConfig {
        max_labels: 3,
        ..Default::default()
    });
    for i in 0..10 {
        tracker.record(&format!("query text {i}"), Duration::from_millis(1));
    }
    let by_label = tracker.statistics_by_label();
    assert_eq!(by_label.len(), 4);
    assert_eq!(by_label["_other"].count, 7);
    assert_eq!(tracker.overflowed_labels(), 7);
    assert_eq!(tracker.statistics(None).unwrap().count, 10);
    assert_eq!(
        tracker.records().last().unwrap().label.as_deref(),
        Some("_other")
    );
}

#[test]
fn reset_discards_statistics_records_sessions_and_measurements_in_flight() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    tracker.time("a", || ());
    let id = tracker.start_tracking(Some("b"));
    let in_flight = tracker.track("c");
    tracker.reset();
    assert!(tracker.statistics(None).is_none());
    assert!(tracker.records().is_empty());
    assert!(matches!(
        tracker.stop_tracking(&id),
        Err(Error::UnknownTrackId { .. })
    ));
    // The guard still reports to its owner but is not kept.
    let record = in_flight.stop();
    assert_eq!(record.label.as_deref(), Some("c"));
    assert!(tracker.statistics(None).is_none());
    // The tracker works as before.
    tracker.time("a", || ());
    assert_eq!(tracker.statistics(Some("a")).unwrap().count, 1);
}

#[test]
fn clones_share_state() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    let clone = tracker.clone();
    let id = clone.start_tracking(None);
    tracker.stop_tracking(&id).unwrap();
    assert_eq!(clone.statistics(None).unwrap().count, 1);
}

#[test]
fn discarded_guards_record_nothing() {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    tracker.track("x").discard();
    assert!(tracker.statistics(None).is_none());
    assert!(tracker.records().is_empty());
}

#[test]
fn a_measurement_recorded_at_a_wall_clock_end_keeps_that_end_and_its_own_duration() {
    let (tracker, clock) = manual(LatencyConfig {
        include_timestamps: true,
        ..LatencyConfig::default()
    });
    clock.advance(Duration::from_secs(3_600));
    // Ended a day before the tracker's clock started, measured elsewhere: neither the clock
    // nor the arrival time enter the record.
    let end: perftrack::Timestamp = "2024-12-31T00:00:00.5Z".parse().unwrap();
    tracker.record_at("remote", Duration::from_micros(1_500), end, Status::Failed);
    tracker.record_at("remote", Duration::from_millis(4), end, Status::Ok);
    let records = tracker.records();
    assert_eq!(records.len(), 2);
    assert_eq!((records[0].value, records[0].status), (1.5, Status::Failed));
    assert_eq!(records[0].timestamp, end);
    assert_eq!(records[0].end_time, Some(end));
    assert_eq!(
        records[0].start_time.unwrap().as_unix_nanos(),
        end.as_unix_nanos() - 1_500_000
    );
    let stats = tracker.statistics(Some("remote")).unwrap();
    assert_eq!((stats.count, stats.failed, stats.sum), (2, 1, 5.5));
}

#[test]
fn sessions_stopped_through_the_ring_count_exactly_what_their_records_say() {
    // With no log, `stop_tracking` sends its measurement through the thread's ring: the
    // statistics must hold exactly the values of the records it returned, from every thread.
    for max_records in [0, 10] {
        let (tracker, clock) = manual(LatencyConfig {
            max_records,
            ..Default::default()
        });
        let values: Vec<f64> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4u64)
                .map(|t| {
                    let (tracker, clock) = (&tracker, &clock);
                    s.spawn(move || {
                        (0..300u64)
                            .map(|i| {
                                let id = tracker.start_tracking(Some("session"));
                                clock.advance(Duration::from_micros(t * 1_000 + i));
                                let record = tracker.stop_tracking(&id).unwrap();
                                assert_eq!(record.track_id, id);
                                assert_eq!(record.label.as_deref(), Some("session"));
                                record.value
                            })
                            .collect::<Vec<f64>>()
                    })
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect()
        });
        let stats = tracker.statistics(Some("session")).unwrap();
        assert_eq!(stats.count, 1200, "{max_records}");
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(0.0, f64::max);
        // Records are in the tracker's unit straight from nanoseconds, statistics scaled from
        // seconds: equal to rounding.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        assert!(
            close(stats.min, min) && close(stats.max, max),
            "{max_records}"
        );
        let sum: f64 = values.iter().sum();
        assert!(close(stats.sum, sum), "{max_records}");
        // A reset ends the sessions: one stopped after it is unknown, and nothing is counted.
        let id = tracker.start_tracking(Some("session"));
        tracker.reset();
        let record = tracker.stop_tracking(&id);
        assert!(
            matches!(record, Err(Error::UnknownTrackId { .. })),
            "{max_records}"
        );
        assert!(
            tracker.statistics(Some("session")).is_none(),
            "{max_records}"
        );
    }
}
