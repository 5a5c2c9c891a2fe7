//! Statistics: the [`Distribution`] each label keeps and the [`Statistics`] it reports.

mod distribution;
mod exponential;
pub(crate) mod readings;
mod serde_impl;
mod sketch;

pub use distribution::Distribution;
pub(crate) use distribution::Summary;
pub use exponential::{BucketCounts, ExponentialHistogram};
pub use sketch::{RELATIVE_ACCURACY, Sketch};

use serde::{Deserialize, Serialize};

/// Summary statistics of one label's measurements (or of all of them), in the tracker's unit.
///
/// `count`, `failed`, `cancelled`, `sum`, `min`, `max`, `mean`, `stddev` (population, as
/// numpy's default) and `last` are exact. The percentiles use numpy's default "linear"
/// definition; they are exact when `percentiles_exact` is true (the label held at most
/// `exact_limit` values) and within the sketch's relative accuracy otherwise:
/// [`RELATIVE_ACCURACY`] ≈ 0.54 %, or about 1.547 % for a sketch read from a file written before
/// the current sketch grid ([`Distribution::relative_accuracy`]).
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker};
/// use std::time::Duration;
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// for ms in [10, 20, 30, 40] {
///     tracker.record("retrieval", Duration::from_millis(ms));
/// }
/// let stats = tracker.statistics(Some("retrieval")).unwrap();
/// assert_eq!(stats.count, 4);
/// assert_eq!(stats.median, 25.0);
/// assert_eq!(stats.unit, "ms");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Number of measurements, whatever their status.
    pub count: u64,
    /// How many of them ended in a panic or error.
    pub failed: u64,
    /// How many of them were cancelled (a future dropped before completing).
    pub cancelled: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// The median (the same as `p50`; the average of the two middle values for an even count).
    pub median: f64,
    /// Population standard deviation.
    pub stddev: f64,
    /// 50th percentile.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// The most recent value.
    pub last: f64,
    /// The unit of every value above.
    pub unit: String,
    /// Whether the percentiles are exact (true) or from the sketch (within its relative
    /// accuracy, [`RELATIVE_ACCURACY`] ≈ 0.54 % for sketches of the current grid).
    pub percentiles_exact: bool,
}

/// numpy's default ("linear") quantile of sorted, non-empty `values` at `q` in `[0, 1]`.
pub(crate) fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = rank - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}
