//! The factory and the one interface every tracker implements.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use perftrack::{
    AnyRecord, AnyTracker, Error, PerformanceTracker, TrackId, get_performance_tracker,
};
use serde_json::json;

const KINDS: [&str; 4] = ["latency", "throughput", "memory", "cpu"];

/// A memory tracker without GPU readings and no background sampling keeps these tests quick.
fn config(kind: &str) -> Option<serde_json::Value> {
    match kind {
        "memory" => Some(json!({"track_gpu": false, "sampling_interval": 0})),
        "cpu" => Some(json!({"sampling_interval": 0})),
        _ => None,
    }
}

/// Runs every method of the trait on one tracker.
fn exercise(tracker: &dyn PerformanceTracker, kind: &str) {
    assert_eq!(tracker.tracker_type(), kind);
    let id = tracker.start_tracking(Some("stage"));
    assert!(tracker.current_value(Some(&id)).is_ok());
    let record = tracker.stop_tracking(&id).unwrap();
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["label"], "stage", "{kind}: {json}");
    assert!(matches!(
        tracker.stop_tracking(&id),
        Err(Error::UnknownTrackId { .. })
    ));
    assert!(matches!(
        tracker.current_value(Some(&TrackId::from("nope"))),
        Err(Error::UnknownTrackId { .. })
    ));

    let stats = tracker.statistics_json(Some("stage"));
    assert!(!stats.is_null(), "{kind}: no statistics after a session");
    assert!(tracker.config_json().is_object());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{kind}.json"));
    tracker.save_metrics(&path).unwrap();
    tracker.reset();
    let empty = tracker.statistics_json(None);
    assert!(
        empty.is_null() || empty.as_object().is_some_and(|o| o.is_empty()),
        "{kind}: {empty}"
    );
    tracker.load_metrics(&path).unwrap();
    assert_eq!(tracker.statistics_json(Some("stage")), stats, "{kind}");

    // The same metrics as text: what the file holds, and read back alike.
    let text = tracker.metrics_json().unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut rendered: serde_json::Value = serde_json::from_str(&text).unwrap();
    rendered["end_time"] = saved["end_time"].clone();
    assert_eq!(rendered, saved, "{kind}");
    tracker.reset();
    tracker.load_metrics_json(&text, "text".as_ref()).unwrap();
    assert_eq!(tracker.statistics_json(Some("stage")), stats, "{kind}");
    let err = tracker
        .load_metrics_json(&text[..text.len() / 2], "half".as_ref())
        .unwrap_err();
    assert!(matches!(err, Error::MalformedFile { .. }), "{kind}: {err}");
    assert!(err.to_string().starts_with("half:"), "{kind}: {err}");
}

#[test]
fn every_tracker_works_through_any_tracker() {
    for kind in KINDS {
        let tracker: AnyTracker = get_performance_tracker(kind, config(kind)).unwrap();
        exercise(&tracker, kind);
        // Clones share their state.
        let clone = tracker.clone();
        let id = clone.start_tracking(None);
        assert!(PerformanceTracker::stop_tracking(&tracker, &id).is_ok());
    }
}

#[test]
fn every_tracker_works_as_a_boxed_trait_object() {
    let trackers: Vec<Box<dyn PerformanceTracker>> = KINDS
        .iter()
        .map(|kind| {
            let any = get_performance_tracker(kind, config(kind)).unwrap();
            let boxed: Box<dyn PerformanceTracker> = match any {
                AnyTracker::Latency(t) => Box::new(t),
                AnyTracker::Throughput(t) => Box::new(t),
                AnyTracker::Memory(t) => Box::new(t),
                AnyTracker::Cpu(t) => Box::new(t),
                other => Box::new(other),
            };
            boxed
        })
        .collect();
    for (tracker, kind) in trackers.iter().zip(KINDS) {
        exercise(tracker.as_ref(), kind);
    }
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<dyn PerformanceTracker>();
}

#[test]
fn records_serialise_exactly_as_the_record_inside() {
    let tracker = get_performance_tracker("latency", None).unwrap();
    let latency = tracker.as_latency().unwrap();
    let typed = latency.track("x").stop();
    let any = AnyRecord::from(typed.clone());
    assert_eq!(
        serde_json::to_string(&any).unwrap(),
        serde_json::to_string(&typed).unwrap()
    );
}

#[test]
fn kinds_are_case_insensitive_and_trimmed_with_the_originals_aliases() {
    for (kind, expected) in [
        ("LATENCY", "latency"),
        ("  Throughput ", "throughput"),
        ("memory_usage", "memory"),
        ("Cpu_Usage", "cpu"),
    ] {
        let tracker = get_performance_tracker(kind, config(expected)).unwrap();
        assert_eq!(tracker.tracker_type(), expected, "{kind}");
    }
}

#[test]
fn unknown_kinds_and_bad_configs_say_what_is_valid() {
    for kind in ["gpu", "", "   ", "latencyy"] {
        let err = get_performance_tracker(kind, None).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, Error::UnknownTrackerType { .. }),
            "{kind}: {message}"
        );
        for valid in KINDS {
            assert!(message.contains(valid), "{kind}: {message}");
        }
    }
    let err = get_performance_tracker("latency", Some(json!({"time_units": "ms"}))).unwrap_err();
    match &err {
        Error::InvalidConfig { key, reason } => {
            assert_eq!(key, "time_units");
            assert!(reason.contains("time_unit"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let err = get_performance_tracker("throughput", Some(json!({"time_unit": "ms"}))).unwrap_err();
    assert!(err.to_string().contains("`time_unit`"), "{err}");
    let err = get_performance_tracker("cpu", Some(json!([1, 2]))).unwrap_err();
    assert!(err.to_string().contains("expected a JSON object"), "{err}");
}
