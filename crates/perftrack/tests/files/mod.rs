//! Metrics files the tests write by hand, in the version-1 layout (`docs/FORMAT.md`).

use serde_json::{Value, json};

/// An empty version-1 metrics file of `tracker_type`: no records, no summaries.
pub(crate) fn v1(tracker_type: &str) -> Value {
    json!({
        "format": "perftrack-metrics", "version": 1, "tracker_type": tracker_type,
        "start_time": "2025-01-02T03:04:05Z", "end_time": "2025-01-02T03:04:06Z",
        "config": {}, "metrics": {}, "summaries": {},
        "dropped_records": 0, "overflowed_labels": 0
    })
}

/// An empty version-2 metrics file of `tracker_type`.
#[allow(
    dead_code,
    reason = "not every test binary that shares this module uses it"
)]
pub(crate) fn v2(tracker_type: &str) -> Value {
    let mut file = v1(tracker_type);
    file["version"] = json!(2);
    file["abandoned_sessions"] = json!({});
    file
}

/// The saved form of a distribution of `n` values of 1.0 (bucket key 0 of the positive store).
pub(crate) fn ones(n: u64) -> Value {
    json!({
        "count": n, "failed": 0, "cancelled": 0,
        "sum": n as f64, "min": 1.0, "max": 1.0, "mean": 1.0, "m2": 0.0, "last": 1.0,
        "last_time": "2025-01-02T03:04:05Z",
        "sketch": {
            "relative_accuracy": 0.01, "zero_count": 0,
            "positive": {"offset": 0, "counts": [n]},
            "negative": {"offset": 0, "counts": []}
        }
    })
}
