//! The throughput tracker's behaviour, with a manual clock where time matters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use perftrack::{
    Error, ManualClock, RateUnit, Status, ThroughputConfig, ThroughputTracker, TrackId,
};

fn manual(config: ThroughputConfig) -> (ThroughputTracker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    (ThroughputTracker::with_clock(config, clock.clone()), clock)
}

fn in_unit(unit: RateUnit) -> ThroughputConfig {
    ThroughputConfig {
        time_unit: unit,
        ..Default::default()
    }
}

#[test]
fn a_thousand_events_at_100_per_second_read_100_per_s_6000_per_m_360000_per_h() {
    for (unit, expected) in [
        (RateUnit::PerSecond, 100.0),
        (RateUnit::PerMinute, 6_000.0),
        (RateUnit::PerHour, 360_000.0),
    ] {
        let (tracker, clock) = manual(in_unit(unit));
        let id = tracker.start_tracking(Some("queries"));
        for _ in 0..1_000 {
            clock.advance(Duration::from_millis(10));
            tracker.record_event(&id, 1).unwrap();
        }
        let now = tracker.current_value(Some(&id)).unwrap();
        assert!((now - expected).abs() < 1e-6 * expected, "{unit:?}: {now}");
        let label = tracker.current_rate("queries").unwrap();
        assert!(
            (label - expected).abs() < 1e-6 * expected,
            "{unit:?}: {label}"
        );
        let record = tracker.stop_tracking(&id).unwrap();
        assert_eq!(record.count, 1_000);
        assert_eq!(record.duration, 10.0);
        assert_eq!(record.unit, unit);
        assert!((record.value.unwrap() - expected).abs() < 1e-9 * expected);
        let stats = tracker.statistics(Some("queries")).unwrap();
        assert!((stats.mean - expected).abs() < 1e-9 * expected);
        assert_eq!(stats.unit, unit.events_label());
    }
}

#[test]
fn after_a_quiet_window_the_rate_is_zero() {
    let (tracker, clock) = manual(ThroughputConfig::default());
    let id = tracker.start_tracking(Some("tokens"));
    tracker.record_event(&id, 500).unwrap();
    clock.advance(Duration::from_secs(30));
    assert!(tracker.current_value(Some(&id)).unwrap() > 0.0);
    clock.advance(Duration::from_secs(61));
    assert_eq!(tracker.current_value(Some(&id)).unwrap(), 0.0);
    assert_eq!(tracker.current_rate("tokens"), Some(0.0));
}

#[test]
fn sessions_with_the_same_label_keep_separate_counts_and_share_the_label_window() {
    let (tracker, clock) = manual(ThroughputConfig::default());
    let a = tracker.start_tracking(Some("embedding"));
    let b = tracker.start_tracking(Some("embedding"));
    // The original wiped the shared queue on every unlabelled start; unlabelled sessions
    // here are as independent as labelled ones.
    let c = tracker.start_tracking(None);
    let d = tracker.start_tracking(None);
    tracker.record_event(&a, 10).unwrap();
    tracker.record_event(&b, 30).unwrap();
    tracker.record_event(&c, 7).unwrap();
    tracker.record_event(&d, 1).unwrap();
    tracker.record("embedding", 60);
    clock.advance(Duration::from_secs(1));
    assert_eq!(tracker.current_value(Some(&a)).unwrap(), 10.0);
    assert_eq!(tracker.current_value(Some(&b)).unwrap(), 30.0);
    assert_eq!(tracker.current_rate("embedding"), Some(100.0));
    assert_eq!(tracker.current_rate(""), Some(8.0));
    assert_eq!(tracker.stop_tracking(&a).unwrap().count, 10);
    assert_eq!(tracker.stop_tracking(&b).unwrap().count, 30);
    assert_eq!(tracker.stop_tracking(&c).unwrap().count, 7);
    assert_eq!(tracker.stop_tracking(&d).unwrap().count, 1);
}

#[test]
fn one_fresh_event_is_bounded_by_its_count_over_the_elapsed_time() {
    let (tracker, clock) = manual(ThroughputConfig::default());
    let id = tracker.start_tracking(None);
    clock.advance(Duration::from_millis(250));
    tracker.record_event(&id, 1).unwrap();
    let rate = tracker.current_value(Some(&id)).unwrap();
    assert!(rate <= 1.0 / 0.25, "{rate}");
    assert_eq!(rate, 4.0);
}

#[test]
fn the_peak_rate_catches_a_burst_in_a_slow_session() {
    let config = ThroughputConfig {
        window_size: perftrack::WindowSize::from_secs_f64(60.0).unwrap(),
        ..Default::default()
    };
    let (tracker, clock) = manual(config);
    let mut guard = tracker.track("documents");
    for second in 0..300 {
        guard.record(1);
        if second == 120 {
            guard.record(1_200); // a burst: 1,200 documents in one second
        }
        clock.advance(Duration::from_secs(1));
    }
    let record = guard.stop();
    let average = record.value.unwrap();
    let peak = record.peak_rate.unwrap();
    assert!((average - 1_500.0 / 300.0).abs() < 1e-9, "{average}");
    // The busiest minute holds the burst and 60 steady documents.
    assert!((peak - 1_260.0 / 60.0).abs() < 1e-9, "{peak}");
    assert!(peak > 4.0 * average);

    // A session shorter than one window has no peak.
    let short = tracker.track("documents");
    clock.advance(Duration::from_secs(30));
    assert_eq!(short.stop().peak_rate, None);
}

#[test]
fn a_session_shorter_than_the_clock_has_a_count_and_no_rate() {
    let (tracker, _clock) = manual(ThroughputConfig::default());
    let id = tracker.start_tracking(Some("instant"));
    tracker.record_event(&id, 5).unwrap();
    let record = tracker.stop_tracking(&id).unwrap();
    assert_eq!(
        (record.count, record.value, record.duration),
        (5, None, 0.0)
    );
    let json = serde_json::to_value(&record).unwrap();
    assert!(json["value"].is_null());
    // It has no rate to count in the statistics.
    assert!(tracker.statistics(Some("instant")).is_none());
    assert_eq!(tracker.current_rate("instant"), None);
}

#[test]
fn two_threads_recording_a_million_events_each_on_one_session_count_two_million() {
    let tracker = ThroughputTracker::new(ThroughputConfig::default());
    let id = tracker.start_tracking(Some("parallel"));
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (tracker, id) = (&tracker, &id);
            s.spawn(move || {
                for _ in 0..1_000_000 {
                    tracker.record_event(id, 1).unwrap();
                }
            });
        }
    });
    let record = tracker.stop_tracking(&id).unwrap();
    assert_eq!(record.count, 2_000_000);
}

#[test]
fn a_panicking_function_is_recorded_as_failed_and_the_panic_goes_on() {
    let tracker = ThroughputTracker::new(ThroughputConfig::default());
    let t = tracker.clone();
    let result = std::panic::catch_unwind(move || {
        t.track_function_throughput(
            "embedding",
            |v: &Vec<u8>| v.len() as u64,
            || -> Vec<u8> { panic!("the embedding service went away") },
        )
    });
    let payload = result.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the embedding service went away")
    );
    let records = tracker.records();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].status, records[0].count), (Status::Failed, 0));
    assert_eq!(tracker.active_sessions(), 0);
}

#[test]
fn guards_count_and_stop_on_drop() {
    let (tracker, clock) = manual(ThroughputConfig::default());
    {
        let mut guard = tracker.track("tokens");
        guard.record(40);
        clock.advance(Duration::from_secs(2));
    }
    let record = &tracker.records()[0];
    assert_eq!((record.count, record.value), (40, Some(20.0)));
    assert_eq!(record.label.as_deref(), Some("tokens"));
}

#[test]
fn unknown_ids_and_bad_configs_are_clear_errors() {
    let tracker = ThroughputTracker::new(ThroughputConfig::default());
    let ghost = TrackId::from("ghost");
    for err in [
        tracker.record_event(&ghost, 1).unwrap_err(),
        tracker.stop_tracking(&ghost).unwrap_err(),
        tracker.current_value(Some(&ghost)).unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::UnknownTrackId { ref id } if id == "ghost"),
            "{err}"
        );
    }
    assert!(matches!(
        tracker.current_value(None),
        Err(Error::NoActiveSession)
    ));

    for (json, key, needle) in [
        (
            r#"{"time_unit": "ms"}"#,
            "time_unit",
            "`ms` is not a rate unit",
        ),
        (
            r#"{"window_size": 0}"#,
            "window_size",
            "positive number of seconds",
        ),
        (r#"{"window_size": -3}"#, "window_size", "`-3`"),
        (r#"{"window_size": "60"}"#, "window_size", "expected f64"),
        (r#"{"windowsize": 60}"#, "windowsize", "window_size"),
    ] {
        match ThroughputConfig::from_json(json).unwrap_err() {
            Error::InvalidConfig { key: k, reason } => {
                assert_eq!(k, key, "{json}");
                assert!(reason.contains(needle), "{json}: {reason}");
            }
            other => panic!("{json}: {other:?}"),
        }
    }
}

#[test]
fn reset_clears_windows_sessions_and_statistics() {
    let (tracker, clock) = manual(ThroughputConfig::default());
    let id = tracker.start_tracking(Some("q"));
    tracker.record("q", 3);
    clock.advance(Duration::from_secs(1));
    tracker.track("q").stop();
    tracker.reset();
    assert!(tracker.stop_tracking(&id).is_err());
    assert_eq!(tracker.current_rate("q"), None);
    assert!(tracker.statistics(None).is_none());
    assert!(tracker.records().is_empty());
}
