//! `LatencyRecord`: one finished measurement.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{Status, TimeUnit, Timestamp, TrackId};

/// One finished latency measurement, as `stop_tracking` returns it and metrics files store it.
///
/// It serialises with the Python original's keys (`track_id`, `value`, `timestamp`, `unit`,
/// `label`, `start_time`, `end_time`) plus `status`. `label` is absent for unlabelled
/// measurements and the two times are absent unless `include_timestamps` is set.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker, Status};
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// let record = tracker.track("rerank").stop();
/// assert_eq!(record.label.as_deref(), Some("rerank"));
/// assert_eq!(record.status, Status::Ok);
/// let json = serde_json::to_value(&record)?;
/// assert_eq!(json["unit"], "ms");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyRecord {
    /// The session's id.
    pub track_id: TrackId,
    /// The elapsed time, in `unit`.
    pub value: f64,
    /// When the measurement ended.
    pub timestamp: Timestamp,
    /// The unit of `value`.
    pub unit: TimeUnit,
    /// The label, if the measurement had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Arc<str>>,
    /// When the measurement started (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When the measurement ended (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// How the measured work ended.
    #[serde(default)]
    pub status: Status,
}

impl LatencyRecord {
    /// The elapsed time in seconds.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// # use std::time::Duration;
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.record("io", Duration::from_millis(1500));
    /// assert_eq!(tracker.records()[0].seconds(), 1.5);
    /// ```
    pub fn seconds(&self) -> f64 {
        self.unit.to_seconds(self.value)
    }

    /// The same record with `value` expressed in `unit`.
    pub(crate) fn in_unit(mut self, unit: TimeUnit) -> Self {
        if unit == self.unit {
            return self;
        }
        self.value = unit.from_seconds(self.seconds());
        self.unit = unit;
        self
    }
}

/// A latency record as the Python original wrote it: any unit string, naive local times.
#[derive(Deserialize)]
pub struct PythonLatencyRecord {
    track_id: serde_json::Value,
    value: f64,
    timestamp: Timestamp,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    start_time: Option<Timestamp>,
    #[serde(default)]
    end_time: Option<Timestamp>,
}

impl PythonLatencyRecord {
    /// Converts to a record in `unit`. The original knew exactly `ms`, `us` and `ns`
    /// (case-sensitive) and treated every other unit as seconds; so do we.
    pub(crate) fn into_record(self, unit: TimeUnit) -> LatencyRecord {
        let per_second = match self.unit.as_deref() {
            Some("ms") => 1e3,
            Some("us") => 1e6,
            Some("ns") => 1e9,
            _ => 1.0,
        };
        let track_id = match self.track_id {
            serde_json::Value::String(s) => TrackId::from(s),
            other => TrackId::from(other.to_string()),
        };
        LatencyRecord {
            track_id,
            value: unit.from_seconds(self.value / per_second),
            timestamp: self.timestamp,
            unit,
            label: self.label.filter(|l| !l.is_empty()).map(Arc::from),
            start_time: self.start_time,
            end_time: self.end_time,
            status: Status::Ok,
        }
    }
}
