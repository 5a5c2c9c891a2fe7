//! `ThroughputRecord`: one finished session.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{RateUnit, Status, Timestamp, TrackId};

/// One finished throughput session, as `stop_tracking` returns it and metrics files store it.
///
/// It serialises with the Python original's keys (`track_id`, `value`, `count`, `duration`,
/// `timestamp`, `unit`, `label`, `start_time`, `end_time`) plus `peak_rate` and `status`.
///
/// ```
/// use perftrack::{ThroughputConfig, ThroughputTracker};
///
/// let tracker = ThroughputTracker::new(ThroughputConfig::default());
/// let mut guard = tracker.track("tokens");
/// guard.record(128);
/// let record = guard.stop();
/// assert_eq!(record.count, 128);
/// assert_eq!(serde_json::to_value(&record)?["unit"], "events/s");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThroughputRecord {
    /// The session's id.
    pub track_id: TrackId,
    /// Events per `unit`, averaged over the session; `None` (`null`) for a session shorter
    /// than the clock can measure.
    pub value: Option<f64>,
    /// Events recorded in the session.
    pub count: u64,
    /// The session's length in seconds, whatever `unit` is.
    pub duration: f64,
    /// When the session ended.
    pub timestamp: Timestamp,
    /// The unit of `value` and `peak_rate`; written `events/s`, `events/m` or `events/h`.
    #[serde(with = "events_unit")]
    pub unit: RateUnit,
    /// The label, if the session had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Arc<str>>,
    /// When the session started (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When the session ended (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// The highest rate over any whole window (of `window_size`, aligned to the window's
    /// buckets) inside the session, in `unit`; `None` for a session shorter than one window.
    pub peak_rate: Option<f64>,
    /// How the session ended.
    #[serde(default)]
    pub status: Status,
}

impl ThroughputRecord {
    /// The average rate in events per second.
    ///
    /// ```
    /// # use perftrack::{ManualClock, RateUnit, ThroughputConfig, ThroughputTracker};
    /// # use std::{sync::Arc, time::Duration};
    /// let clock = Arc::new(ManualClock::new());
    /// let config = ThroughputConfig { time_unit: RateUnit::PerMinute, ..Default::default() };
    /// let tracker = ThroughputTracker::with_clock(config, clock.clone());
    /// let mut guard = tracker.track("docs");
    /// guard.record(30);
    /// clock.advance(Duration::from_secs(10));
    /// let record = guard.stop();
    /// assert_eq!(record.value, Some(180.0));
    /// assert_eq!(record.per_second(), Some(3.0));
    /// ```
    pub fn per_second(&self) -> Option<f64> {
        self.value.map(|v| v / self.unit.seconds())
    }

    /// The same record with its rates expressed in `unit`.
    pub(crate) fn in_unit(mut self, unit: RateUnit) -> Self {
        if unit != self.unit {
            let scale = unit.seconds() / self.unit.seconds();
            self.value = self.value.map(|v| v * scale);
            self.peak_rate = self.peak_rate.map(|v| v * scale);
            self.unit = unit;
        }
        self
    }
}

/// `RateUnit` written as `events/s`, `events/m` or `events/h`.
mod events_unit {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        unit: &RateUnit,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(unit.events_label())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<RateUnit, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let Some(unit) = text.strip_prefix("events/") else {
            return Err(serde::de::Error::custom(format!(
                "`{text}` is not a rate unit; expected events/s, events/m or events/h"
            )));
        };
        unit.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a rate unit; expected events/s, events/m or events/h"
            ))
        })
    }
}

/// A throughput record as the Python original wrote it.
#[derive(Deserialize)]
pub struct PythonThroughputRecord {
    track_id: serde_json::Value,
    value: f64,
    count: u64,
    duration: f64,
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

impl PythonThroughputRecord {
    /// Converts to a record in `unit`. The original scaled per minute for `events/m`, per hour
    /// for `events/h` and per second for anything else; a session of no duration had the
    /// value 0, which becomes `None`.
    pub(crate) fn into_record(self, unit: RateUnit) -> ThroughputRecord {
        let unit_seconds = match self.unit.as_deref() {
            Some("events/m") => 60.0,
            Some("events/h") => 3600.0,
            _ => 1.0,
        };
        let per_second = (self.duration > 0.0).then_some(self.value / unit_seconds);
        let track_id = match self.track_id {
            serde_json::Value::String(s) => TrackId::from(s),
            other => TrackId::from(other.to_string()),
        };
        ThroughputRecord {
            track_id,
            value: per_second.map(|r| unit.from_per_second(r)),
            count: self.count,
            duration: self.duration,
            timestamp: self.timestamp,
            unit,
            label: self.label.filter(|l| !l.is_empty()).map(Arc::from),
            start_time: self.start_time,
            end_time: self.end_time,
            peak_rate: None,
            status: Status::Ok,
        }
    }
}
