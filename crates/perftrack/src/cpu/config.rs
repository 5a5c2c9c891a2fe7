//! `CpuConfig`: which CPU readings to take, how often, and how much to keep.

use serde::{Deserialize, Serialize};

use crate::{Result, SamplingInterval};

/// The configuration of a [`CpuUsageTracker`](crate::CpuUsageTracker).
///
/// Its JSON form uses the Python original's key names; unknown keys and bad values are errors
/// that name the key. A `sampling_interval` below [`MIN_SAMPLING_INTERVAL`] is raised to it:
/// the kernel counts CPU time in 10 ms ticks, so shorter intervals would read mostly 0 % and
/// 200 %.
///
/// Retention is bounded as for memory (see [`MemoryConfig`](crate::MemoryConfig)), by records
/// and by per-label statistics. Records: at most `max_records` of at most `max_samples` samples;
/// a sample takes 72 bytes plus its map of per-core figures (144 bytes up to 11 cores, 528 for
/// 16, 1,536 for 64). Statistics: each of up to `max_labels + 2` labels keeps two summaries
/// (value, peak) of one distribution per reading (`process`, `system` and each core the process
/// may run on), each up to `exact_limit` exact values (8 bytes each) and a sketch of at most
/// 64 KiB, plus 208 bytes of its own. With the defaults and 16 cores, that is at most about
/// 1,000 × 256 × 600 B ≈ 150 MiB of records (with their own fields) plus 1,002 × 2 × 18 ×
/// 145,744 B ≈ 4.9 GiB of statistics; the exact values' vectors grow by doubling, so the memory
/// allocated can be up to about 1.5 times the statistics' share.
///
/// ```
/// use perftrack::CpuConfig;
///
/// let config = CpuConfig::from_json(r#"{"sampling_interval": 0.2, "track_per_core": false}"#)?;
/// assert!(!config.track_per_core);
/// assert!(CpuConfig::from_json(r#"{"sampling_interval": "often"}"#).is_err());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CpuConfig {
    /// The key records are saved under in a metrics file's `metrics`. Default `"cpu_usage"`.
    pub metric_name: String,
    /// Whether readings include each core the process may run on. Default `true`.
    pub track_per_core: bool,
    /// Whether readings include the process (tree). Default `true`.
    pub track_process: bool,
    /// Whether readings include the whole system. Default `true`.
    pub track_system: bool,
    /// Whether records list the busiest threads (Linux). Default `true`.
    pub track_threads: bool,
    /// Seconds between background samples; `0` takes none. Default 0.5.
    pub sampling_interval: SamplingInterval,
    /// Whether records carry `start_time` and `end_time`. Default `true`.
    pub include_timestamps: bool,
    /// The most samples a record keeps; beyond that neighbouring samples are merged (their
    /// time-weighted average). Default `256`.
    pub max_samples: usize,
    /// How many recent records the tracker keeps. Default `1_000`.
    pub max_records: usize,
    /// How many values per reading and label are kept for exact percentiles. Default
    /// `10_000`.
    pub exact_limit: usize,
    /// How many distinct labels get their own statistics. Default `1_000`.
    pub max_labels: usize,
    /// How many sessions started by id (`start_tracking`, `start_tracking_with_id`) may be
    /// active at once; past it, an approximately oldest one is abandoned: it records nothing,
    /// stops being sampled, counts under its label in `abandoned_sessions`, and its id gives
    /// [`Error::AbandonedSession`](crate::Error::AbandonedSession). Guards do not count (they
    /// end when dropped). An active session takes about 1 KiB and its threads' readings, plus
    /// a sample's size (above) for each of at most `max_samples`. Default `1_000`.
    pub max_sessions: usize,
    /// The process to watch; `None` (the default) is this process.
    pub pid: Option<u32>,
    /// Whether `process` adds up the process and all its living descendants. Default `false`.
    pub include_children: bool,
}

/// The shortest background sampling interval: two ticks of the kernel's CPU clock.
pub const MIN_SAMPLING_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

impl Default for CpuConfig {
    fn default() -> Self {
        Self {
            metric_name: "cpu_usage".to_owned(),
            track_per_core: true,
            track_process: true,
            track_system: true,
            track_threads: true,
            sampling_interval: SamplingInterval::from_duration(std::time::Duration::from_millis(
                500,
            )),
            include_timestamps: true,
            max_samples: 256,
            max_records: 1_000,
            exact_limit: 10_000,
            max_labels: 1_000,
            max_sessions: 1_000,
            pid: None,
            include_children: false,
        }
    }
}

impl CpuConfig {
    /// Reads a configuration from JSON text; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::CpuConfig::from_json(r#"{"track_threads": false}"#)?;
    /// assert!(!config.track_threads);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        crate::config::from_str(text)
    }

    /// Reads a configuration from a JSON value; missing keys take their defaults.
    ///
    /// ```
    /// let config = perftrack::CpuConfig::from_value(serde_json::json!({"pid": 1}))?;
    /// assert_eq!(config.pid, Some(1));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        crate::config::from_value(value)
    }
}
