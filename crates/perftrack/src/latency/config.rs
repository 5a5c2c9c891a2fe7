//! `LatencyConfig`: what a latency tracker measures in and how much it keeps.

use serde::{Deserialize, Serialize};

use crate::{Result, TimeUnit};

/// The configuration of a [`LatencyTracker`](crate::LatencyTracker).
///
/// Its JSON form uses the Python original's key names; unknown keys and bad values are errors
/// that name the key. Every value that deserialises is valid, so constructing a tracker cannot
/// fail.
///
/// ```
/// use perftrack::{LatencyConfig, TimeUnit};
///
/// let config = LatencyConfig::from_json(r#"{"time_unit": "us"}"#)?;
/// assert_eq!(config.time_unit, TimeUnit::Microseconds);
/// assert_eq!(config.metric_name, "latency");
///
/// let err = LatencyConfig::from_json(r#"{"time_units": "ms"}"#).unwrap_err();
/// assert!(err.to_string().contains("time_unit"));
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatencyConfig {
    /// The key records are saved under in a metrics file's `metrics`. Default `"latency"`.
    pub metric_name: String,
    /// The unit records and statistics report in. Default milliseconds (`"ms"`).
    pub time_unit: TimeUnit,
    /// Whether records carry `start_time` and `end_time`. Default `true`.
    pub include_timestamps: bool,
    /// How many recent records the tracker keeps (oldest dropped first; statistics never
    /// depend on them). `0` keeps none, which makes recording cheapest. Default `100_000`.
    ///
    /// Each thread pushes into a ring of its stripe (at most `ceil(max_records / stripes)`
    /// and at most 1,024 records), moved whole into a shared log of `max_records` when full;
    /// reads merge them by end time and return the newest `max_records`, so the tracker holds
    /// at most `max_records` plus one ring a stripe (under twice `max_records`).
    pub max_records: usize,
    /// How many values a label keeps exactly; percentiles are exact up to this many values
    /// and within 0.55 % beyond (8 bytes per value kept). Default `10_000`.
    ///
    /// A label's values are split into stripes, one per group of threads recording it (the
    /// next power of two at least twice the machine's cores, at most 64, each created when a
    /// thread first uses it), merged when read: statistics are those of every value together,
    /// exact while the label holds at most `exact_limit` values. The worst case per label is
    /// therefore stripes × (8 × `exact_limit` bytes + the sketch's bound, 64 KiB).
    pub exact_limit: usize,
    /// How many distinct labels get their own statistics; later labels are recorded under
    /// `"_other"` and counted, so labels built from unbounded text cannot exhaust memory.
    /// Default `1_000`.
    pub max_labels: usize,
    /// How many sessions started by id (`start_tracking`, `start_tracking_with_id`) may be
    /// active at once; past it, an approximately oldest one is abandoned: it records nothing,
    /// counts under its label in `abandoned_sessions`, and its id gives
    /// [`Error::AbandonedSession`](crate::Error::AbandonedSession). So sessions that are never
    /// stopped cannot grow the process without bound. Guards do not count. An active session
    /// takes about 100 bytes, and the tracker remembers as many abandoned ids (24 bytes each,
    /// plus a caller-chosen name): at most about 1.2 MiB with the default. Default `10_000`.
    pub max_sessions: usize,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        Self {
            metric_name: "latency".to_owned(),
            time_unit: TimeUnit::Milliseconds,
            include_timestamps: true,
            max_records: 100_000,
            exact_limit: 10_000,
            max_labels: 1_000,
            max_sessions: 10_000,
        }
    }
}

impl LatencyConfig {
    /// Reads a configuration from JSON text; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::LatencyConfig::from_json(r#"{"max_records": 0}"#)?;
    /// assert_eq!(config.max_records, 0);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        crate::config::from_str(text)
    }

    /// Reads a configuration from a JSON value; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::LatencyConfig::from_value(serde_json::json!({"time_unit": "s"}))?;
    /// assert_eq!(config.time_unit, perftrack::TimeUnit::Seconds);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        crate::config::from_value(value)
    }
}
