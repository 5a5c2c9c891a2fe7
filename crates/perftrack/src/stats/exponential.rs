//! A distribution as the buckets of OpenTelemetry's base-2 exponential histogram: what an OTLP
//! exporter sends, read from the sketch's grid without re-bucketing.

use serde::Serialize;

/// The magnitude below which a value counts as zero in a sketch; the zero bucket holds every
/// `|x| <= ZERO_THRESHOLD`, the largest `f64` below 10⁻¹² (the sketch counts `|x| < 10⁻¹²` as
/// zero, and OTLP's zero bucket is upper-inclusive).
pub(crate) const ZERO_THRESHOLD: f64 = f64::from_bits(1e-12f64.to_bits() - 1);

/// Contiguous bucket counts of one sign: `counts[i]` values have a magnitude in
/// `(base^(offset+i), base^(offset+i+1)]`, OTLP's `ExponentialHistogramDataPoint.Buckets`.
///
/// ```
/// let buckets = perftrack::BucketCounts { offset: -2, counts: vec![1, 0, 3] };
/// assert_eq!(buckets.counts.iter().sum::<u64>(), 4);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BucketCounts {
    /// The index of the first bucket.
    pub offset: i32,
    /// The count of each bucket from `offset` on; the first and last are non-zero (empty when
    /// the side holds no value).
    pub counts: Vec<u64>,
}

/// A [`Distribution`](crate::Distribution) as a base-2 exponential histogram
/// ([`Distribution::exponential_histogram`](crate::Distribution::exponential_histogram)):
/// OTLP's `ExponentialHistogramDataPoint` without its timestamps and attributes.
///
/// Bucket `i` of a side holds the magnitudes in `(base^i, base^(i+1)]` with
/// `base = 2^(2^-scale)`: upper bounds inclusive, as OTLP defines them and as the sketch counts
/// them, so a value exactly on a bound (a power of two) is in the bucket below it. `count`,
/// `sum`, `min` and `max` are the distribution's exact figures.
///
/// ```
/// use perftrack::{Distribution, Status, Timestamp};
///
/// let mut d = Distribution::new(10);
/// for v in [0.0, 1.0, 1.5, 2.0, -4.0] {
///     d.record(v, Status::Ok, Timestamp::now());
/// }
/// let h = d.exponential_histogram();
/// assert_eq!((h.scale, h.count, h.zero_count, h.sum), (6, 5, 1, 0.5));
/// assert_eq!((h.min, h.max), (Some(-4.0), Some(2.0)));
/// // 1.0 = 2^0 is the upper bound of bucket -1; 2.0 = 2^1 of bucket 63; 1.5 lies between.
/// assert_eq!(h.positive.offset, -1);
/// assert_eq!(h.positive.counts.len(), 65);
/// assert_eq!((h.positive.counts[0], h.positive.counts[64]), (1, 1));
/// // -4.0: magnitude 2^2, the upper bound of bucket 127.
/// assert_eq!((h.negative.offset, h.negative.counts.as_slice()), (127, &[1][..]));
/// assert!(h.exact);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ExponentialHistogram {
    /// The OpenTelemetry scale: `2^scale` buckets per power of two (always 6).
    pub scale: i32,
    /// How many values the distribution holds: `zero_count` plus every bucket's count.
    pub count: u64,
    /// The exact sum of the values.
    pub sum: f64,
    /// The smallest value; `None` when empty.
    pub min: Option<f64>,
    /// The largest value; `None` when empty.
    pub max: Option<f64>,
    /// Values whose magnitude is at most `zero_threshold`.
    pub zero_count: u64,
    /// The largest magnitude counted as zero: the largest `f64` below 10⁻¹².
    pub zero_threshold: f64,
    /// Buckets of the positive values.
    pub positive: BucketCounts,
    /// Buckets of the negative values, by magnitude.
    pub negative: BucketCounts,
    /// Whether every bucket count is exactly the number of values in the bucket's bounds. True
    /// for values recorded or merged in this version, from exact values (at most
    /// `exact_limit`) or the sketch alike, with magnitudes up to 10³⁰⁰; false when the sketch
    /// was read from a file of the older grid (its buckets were moved, not counted), or when a
    /// side spans its full 4096 buckets (values over a ratio of 2⁶⁴: the smallest magnitudes
    /// may have been folded into its lowest bucket).
    pub exact: bool,
}
