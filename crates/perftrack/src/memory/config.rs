//! `MemoryConfig`: what the memory tracker reads, how often, and how much it keeps.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, MemoryUnit, Result};

/// The configuration of a [`MemoryUsageTracker`](crate::MemoryUsageTracker).
///
/// Its JSON form uses the Python original's key names; unknown keys and bad values are errors
/// that name the key.
///
/// What one tracker retains is bounded however long it runs, by two things (sizes on 64-bit
/// targets):
///
/// - **Records**: at most `max_records` records of at most `max_samples` samples each. A record
///   takes 1,048 bytes and a sample 232, so with the defaults (1,000 records of 256 samples)
///   records take at most about 58 MiB.
/// - **Per-label statistics**: each of up to `max_labels + 2` labels (the unlabelled state and
///   `"_other"` included) keeps three summaries (final value, peak, change) of one distribution
///   per reading, 14 readings. A distribution holds up to `exact_limit` exact values (8 bytes
///   each) and a sketch of at most 64 KiB, plus 208 bytes of its own; once a label has seen more
///   than `exact_limit` sessions its exact values are freed and only the sketch remains.
///
/// The worst case, every label at exactly `exact_limit` sessions with every reading available,
/// is about `max_records × (1,048 + 232 × max_samples) + (max_labels + 2) × 3 × 14 ×
/// (8 × exact_limit + 65,744)` bytes: with the defaults, 1,000 × 60,440 B + 1,002 × 42 ×
/// 145,744 B ≈ 58 MiB + 5.7 GiB ≈ 5.8 GiB, almost all of it per-label statistics. The exact
/// values' vector grows by doubling, so the memory allocated can be higher still (16,384 slots
/// for 10,000 values: about 7.7 GiB with the defaults). The sketch reaches its 64 KiB only for
/// readings that span 2⁶⁴ to 1; real readings span far less. Lower `max_labels` or
/// `exact_limit` to lower the bound; with `exact_limit: 0` the statistics take at most 1,002 ×
/// 42 × 65,744 B ≈ 2.6 GiB with the default `max_labels`. Active sessions add at most
/// `max_sessions` sessions (below).
///
/// ```
/// use perftrack::{MemoryConfig, MemoryUnit};
///
/// let config = MemoryConfig::from_json(r#"{"unit": "GB", "sampling_interval": 0.1}"#)?;
/// assert_eq!(config.unit, MemoryUnit::GB);
/// assert_eq!(config.sampling_interval.as_secs_f64(), 0.1);
/// assert!(MemoryConfig::from_json(r#"{"sampling_interval": -1}"#).is_err());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    /// The key records are saved under in a metrics file's `metrics`. Default
    /// `"memory_usage"`.
    pub metric_name: String,
    /// Whether to read GPU memory through NVML (feature `gpu`). When the GPU cannot be read,
    /// records say why in `gpu_status` and every other reading is still taken. Default `true`.
    pub track_gpu: bool,
    /// The GPU's index. Default `0`.
    pub gpu_device: u32,
    /// The unit of records and statistics (1024-based; see [`MemoryUnit`]). Default `MB`.
    pub unit: MemoryUnit,
    /// Whether records carry `peak`. Default `true`.
    pub track_peak: bool,
    /// Seconds between background samples; `0` takes none (samples can still be taken with
    /// `record_sample`). Default 1.0.
    pub sampling_interval: SamplingInterval,
    /// Whether records carry `start_time` and `end_time`. Default `true`.
    pub include_timestamps: bool,
    /// The most samples a record keeps; beyond that, neighbouring samples are merged into
    /// one that holds the worst value of each reading, so every peak stays. Default `256`.
    pub max_samples: usize,
    /// How many recent records the tracker keeps. Default `1_000`.
    pub max_records: usize,
    /// How many values per reading and label are kept for exact percentiles. Default
    /// `10_000`.
    pub exact_limit: usize,
    /// How many distinct labels get their own statistics; later ones go to `"_other"`.
    /// Default `1_000`.
    pub max_labels: usize,
    /// How many sessions started by id (`start_tracking`, `start_tracking_with_id`) may be
    /// active at once; past it, an approximately oldest one is abandoned: it records nothing,
    /// stops being sampled, counts under its label in `abandoned_sessions`, and its id gives
    /// [`Error::AbandonedSession`](crate::Error::AbandonedSession). Guards do not count (they
    /// end when dropped). An active session takes about 1 KiB plus 232 bytes a sample, at most
    /// `max_samples`: with the defaults at most about 60 MiB. Default `1_000`.
    pub max_sessions: usize,
    /// The process to watch; `None` (the default) is this process.
    pub pid: Option<u32>,
    /// Whether `process_*` readings add up the process and all its descendants. Default
    /// `false`.
    pub include_children: bool,
    /// Whether to fold the kernel's high-water mark of the resident set (Linux `VmHWM`) into
    /// `peak.process_rss`, so a spike between two samples is still seen. The mark is reset
    /// when a session starts (after it was folded into every running session); that also
    /// resets the peak `getrusage` reports for the process. Default `true`.
    pub kernel_peak: bool,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            metric_name: "memory_usage".to_owned(),
            track_gpu: true,
            gpu_device: 0,
            unit: MemoryUnit::MB,
            track_peak: true,
            sampling_interval: SamplingInterval::from_duration(Duration::from_secs(1)),
            include_timestamps: true,
            max_samples: 256,
            max_records: 1_000,
            exact_limit: 10_000,
            max_labels: 1_000,
            max_sessions: 1_000,
            pid: None,
            include_children: false,
            kernel_peak: true,
        }
    }
}

impl MemoryConfig {
    /// Reads a configuration from JSON text; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::MemoryConfig::from_json(r#"{"track_gpu": false}"#)?;
    /// assert!(!config.track_gpu);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        crate::config::from_str(text)
    }

    /// Reads a configuration from a JSON value; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::MemoryConfig::from_value(serde_json::json!({"unit": "KiB"}))?;
    /// assert_eq!(config.unit, perftrack::MemoryUnit::KiB);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        crate::config::from_value(value)
    }
}

/// Time between background samples: zero (no background sampling) or a positive, finite
/// number of seconds.
///
/// ```
/// use perftrack::SamplingInterval;
/// assert!(SamplingInterval::from_secs_f64(0.0)?.is_off());
/// assert!(SamplingInterval::from_secs_f64(-0.5).is_err());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct SamplingInterval(Duration);

impl SamplingInterval {
    /// The longest interval: one day.
    pub const MAX: Duration = Duration::from_secs(24 * 3600);

    /// An interval of `seconds` (0 to one day).
    ///
    /// ```
    /// assert_eq!(perftrack::SamplingInterval::from_secs_f64(0.25)?.as_secs_f64(), 0.25);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_secs_f64(seconds: f64) -> Result<Self> {
        Self::check(seconds).map_err(|reason| Error::InvalidConfig {
            key: "sampling_interval".to_owned(),
            reason,
        })
    }

    /// An interval of `duration`, capped at [`MAX`](Self::MAX).
    ///
    /// ```
    /// use std::time::Duration;
    /// let i = perftrack::SamplingInterval::from_duration(Duration::from_millis(50));
    /// assert_eq!(i.as_duration(), Some(Duration::from_millis(50)));
    /// ```
    pub fn from_duration(duration: Duration) -> Self {
        Self(duration.min(Self::MAX))
    }

    fn check(seconds: f64) -> std::result::Result<Self, String> {
        if seconds.is_finite() && (0.0..=Self::MAX.as_secs_f64()).contains(&seconds) {
            Ok(Self(Duration::from_secs_f64(seconds)))
        } else {
            Err(format!(
                "`{seconds}` is not a sampling interval; expected 0 (no background sampling) or a \
                 positive number of seconds up to {}",
                Self::MAX.as_secs()
            ))
        }
    }

    /// Whether background sampling is off.
    ///
    /// ```
    /// assert!(!perftrack::SamplingInterval::default().is_off());
    /// ```
    pub fn is_off(self) -> bool {
        self.0.is_zero()
    }

    /// The interval in seconds.
    ///
    /// ```
    /// assert_eq!(perftrack::SamplingInterval::default().as_secs_f64(), 1.0);
    /// ```
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }

    /// The interval, or `None` when sampling is off.
    ///
    /// ```
    /// assert_eq!(perftrack::SamplingInterval::from_secs_f64(0.0)?.as_duration(), None);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn as_duration(self) -> Option<Duration> {
        (!self.is_off()).then_some(self.0)
    }
}

impl Default for SamplingInterval {
    fn default() -> Self {
        Self(Duration::from_secs(1))
    }
}

impl TryFrom<f64> for SamplingInterval {
    type Error = String;

    fn try_from(seconds: f64) -> std::result::Result<Self, String> {
        Self::check(seconds)
    }
}

impl From<SamplingInterval> for f64 {
    fn from(interval: SamplingInterval) -> f64 {
        interval.as_secs_f64()
    }
}
