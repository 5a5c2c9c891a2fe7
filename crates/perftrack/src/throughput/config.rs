//! `ThroughputConfig`: the unit rates are reported in and the sliding window.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, RateUnit, Result};

/// The configuration of a [`ThroughputTracker`](crate::ThroughputTracker).
///
/// Its JSON form uses the Python original's key names; unknown keys and bad values are errors
/// that name the key. Every value that deserialises is valid.
///
/// ```
/// use perftrack::{RateUnit, ThroughputConfig};
///
/// let config = ThroughputConfig::from_json(r#"{"time_unit": "m", "window_size": 10}"#)?;
/// assert_eq!(config.time_unit, RateUnit::PerMinute);
/// assert_eq!(config.window_size.as_secs_f64(), 10.0);
///
/// let err = ThroughputConfig::from_json(r#"{"window_size": -1}"#).unwrap_err();
/// assert!(err.to_string().contains("window_size"));
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThroughputConfig {
    /// The key records are saved under in a metrics file's `metrics`. Default `"throughput"`.
    pub metric_name: String,
    /// The unit rates are reported in: events per second (`"s"`, the default), minute (`"m"`)
    /// or hour (`"h"`).
    pub time_unit: RateUnit,
    /// The sliding window current rates are measured over, in seconds whatever `time_unit`
    /// is. Default 60 s.
    pub window_size: WindowSize,
    /// Whether records carry `start_time` and `end_time`. Default `true`.
    pub include_timestamps: bool,
    /// How many recent records the tracker keeps (oldest dropped first; statistics never
    /// depend on them). `0` keeps none. Default `100_000`.
    ///
    /// Each thread pushes into a ring of its stripe (at most `ceil(max_records / stripes)`
    /// and at most 1,024 records), moved whole into a shared log of `max_records` when full;
    /// reads merge them by end time and return the newest `max_records`, so the tracker holds
    /// at most `max_records` plus one ring a stripe (under twice `max_records`).
    pub max_records: usize,
    /// How many session rates a label keeps exactly; percentiles are exact up to this many
    /// sessions and within 0.55 % beyond (8 bytes per value kept). Default `10_000`.
    ///
    /// A label's session rates, and its window of events, are split into stripes, one per
    /// group of threads recording it (the next power of two at least twice the machine's
    /// cores, at most 64, each created when a thread first uses it), merged when read:
    /// statistics are those of every session together, exact while the label holds at most
    /// `exact_limit` rates. The worst case per label is therefore stripes × (8 ×
    /// `exact_limit` bytes + the sketch's bound, 64 KiB), plus a 60-bucket window a stripe.
    pub exact_limit: usize,
    /// How many distinct labels get their own statistics and window; later labels are recorded
    /// under `"_other"` and counted. Default `1_000`.
    pub max_labels: usize,
    /// How many sessions started by id (`start_tracking`, `start_batch`,
    /// `start_tracking_with_id`) may be active at once; past it, an approximately oldest one is
    /// abandoned: it records nothing, counts under its label in `abandoned_sessions`, and its
    /// id gives [`Error::AbandonedSession`](crate::Error::AbandonedSession). Its events stay in
    /// the label's count. Guards do not count. An active session takes about 700 bytes (its own
    /// rate window), and the tracker remembers as many abandoned ids (24 bytes each, plus a
    /// caller-chosen name): at most about 7 MiB with the default. Default `10_000`.
    pub max_sessions: usize,
}

impl Default for ThroughputConfig {
    fn default() -> Self {
        Self {
            metric_name: "throughput".to_owned(),
            time_unit: RateUnit::PerSecond,
            window_size: WindowSize::default(),
            include_timestamps: true,
            max_records: 100_000,
            exact_limit: 10_000,
            max_labels: 1_000,
            max_sessions: 10_000,
        }
    }
}

impl ThroughputConfig {
    /// Reads a configuration from JSON text; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::ThroughputConfig::from_json(r#"{"time_unit": "h"}"#)?;
    /// assert_eq!(config.time_unit, perftrack::RateUnit::PerHour);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        crate::config::from_str(text)
    }

    /// Reads a configuration from a JSON value; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::ThroughputConfig::from_value(serde_json::json!({"window_size": 5}))?;
    /// assert_eq!(config.window_size.as_secs_f64(), 5.0);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        crate::config::from_value(value)
    }
}

/// The length of a sliding window: a positive, finite number of seconds.
///
/// ```
/// use perftrack::WindowSize;
/// use std::time::Duration;
///
/// let window = WindowSize::from_secs_f64(2.5)?;
/// assert_eq!(window.as_duration(), Duration::from_millis(2500));
/// assert!(WindowSize::from_secs_f64(0.0).is_err());
/// assert!(WindowSize::try_from(Duration::ZERO).is_err());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct WindowSize(Duration);

impl WindowSize {
    /// The shortest window: one millisecond.
    pub const MIN: Duration = Duration::from_millis(1);
    /// The longest window: one year.
    pub const MAX: Duration = Duration::from_secs(366 * 24 * 3600);

    /// A window of `seconds`, which must lie between [`MIN`](Self::MIN) and
    /// [`MAX`](Self::MAX).
    ///
    /// ```
    /// assert!(perftrack::WindowSize::from_secs_f64(f64::NAN).is_err());
    /// ```
    pub fn from_secs_f64(seconds: f64) -> Result<Self> {
        Self::check(seconds).map_err(|reason| Error::InvalidConfig {
            key: "window_size".to_owned(),
            reason,
        })
    }

    fn check(seconds: f64) -> std::result::Result<Self, String> {
        let (min, max) = (Self::MIN.as_secs_f64(), Self::MAX.as_secs_f64());
        if seconds.is_finite() && (min..=max).contains(&seconds) {
            Ok(Self(Duration::from_secs_f64(seconds)))
        } else {
            Err(format!(
                "`{seconds}` is not a window size; expected a positive number of seconds from \
                 {min} to {max}"
            ))
        }
    }

    /// The window in seconds.
    ///
    /// ```
    /// assert_eq!(perftrack::WindowSize::default().as_secs_f64(), 60.0);
    /// ```
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }

    /// The window as a duration.
    ///
    /// ```
    /// assert_eq!(perftrack::WindowSize::default().as_duration().as_secs(), 60);
    /// ```
    pub fn as_duration(self) -> Duration {
        self.0
    }
}

impl Default for WindowSize {
    fn default() -> Self {
        Self(Duration::from_secs(60))
    }
}

impl TryFrom<f64> for WindowSize {
    type Error = String;

    fn try_from(seconds: f64) -> std::result::Result<Self, String> {
        Self::check(seconds)
    }
}

impl TryFrom<Duration> for WindowSize {
    type Error = Error;

    fn try_from(window: Duration) -> Result<Self> {
        Self::from_secs_f64(window.as_secs_f64())
    }
}

impl From<WindowSize> for f64 {
    fn from(window: WindowSize) -> f64 {
        window.as_secs_f64()
    }
}
