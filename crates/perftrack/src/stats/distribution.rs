//! One label's measurements: exact moments, exact values while few, and a sketch.

use serde::{Deserialize, Serialize};

use super::exponential::{ExponentialHistogram, ZERO_THRESHOLD};
use super::sketch::{Sketch, SketchData};
use super::{Statistics, exact_quantile};
use crate::{Status, Timestamp};

/// The quantiles every [`Statistics`] reports, in ascending order: p50, p90, p95, p99.
const QUANTILES: [f64; 4] = [0.50, 0.90, 0.95, 0.99];

/// A bounded, mergeable summary of a stream of measurements.
///
/// Count, failed, cancelled, sum, min, max, mean, variance (Welford's M2) and the last value
/// are exact. Percentiles are exact (numpy's default "linear" definition) while the
/// distribution holds at most `exact_limit` values, and within [`RELATIVE_ACCURACY`] (≈ 0.54 %)
/// relative error beyond that, from a [`Sketch`] ([`relative_accuracy`] says which bound holds).
/// Memory: 8 bytes per exact value kept while it keeps them, and a sketch of at most 64 KiB
/// once it no longer does (the sketch is built from the exact values when they go), whatever
/// the number of measurements.
///
/// [`RELATIVE_ACCURACY`]: crate::RELATIVE_ACCURACY
/// [`relative_accuracy`]: Distribution::relative_accuracy
///
/// ```
/// use perftrack::{Distribution, Status, Timestamp};
///
/// let mut d = Distribution::new(10_000);
/// for v in [1.0, 2.0, 3.0, 4.0] {
///     d.record(v, Status::Ok, Timestamp::now());
/// }
/// let stats = d.statistics(1.0, "s").unwrap();
/// assert_eq!(stats.count, 4);
/// assert_eq!(stats.mean, 2.5);
/// assert_eq!(stats.median, 2.5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    count: u64,
    failed: u64,
    cancelled: u64,
    sum: f64,
    min: f64,
    max: f64,
    mean: f64,
    m2: f64,
    last: f64,
    last_time: Timestamp,
    exact_limit: usize,
    /// Every value while `exact_complete`; emptied (and its memory freed) once `count` passes
    /// `exact_limit`.
    exact: Vec<f64>,
    exact_complete: bool,
    /// The values' sketch once the exact values are gone; empty while `exact_complete` (the
    /// exact values are the sketch's source, and it is built from them when they go or when
    /// it is saved), so a label with few values keeps no buckets.
    sketch: Sketch,
}

/// Calls `f(chain, value)` for each finite value in order, `chain` cycling through 0..4: a
/// caller that keeps one accumulator per chain adds four values at a time instead of waiting
/// on each addition.
#[inline]
fn in_four_chains(values: &[f64], mut f: impl FnMut(usize, f64)) {
    let mut fours = values.chunks_exact(4);
    for four in &mut fours {
        for (i, &v) in four.iter().enumerate() {
            if v.is_finite() {
                f(i, v);
            }
        }
    }
    for &v in fours.remainder() {
        if v.is_finite() {
            f(0, v);
        }
    }
}

impl Distribution {
    /// An empty distribution that keeps exact values while it holds at most `exact_limit`.
    ///
    /// ```
    /// let d = perftrack::Distribution::new(100);
    /// assert_eq!(d.count(), 0);
    /// assert!(d.statistics(1.0, "s").is_none());
    /// ```
    pub fn new(exact_limit: usize) -> Self {
        Self {
            count: 0,
            failed: 0,
            cancelled: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
            last: 0.0,
            last_time: Timestamp::from_unix_nanos(i64::MIN),
            exact_limit,
            exact: Vec::new(),
            exact_complete: true,
            sketch: Sketch::default(),
        }
    }

    /// How many measurements were recorded.
    ///
    /// ```
    /// let mut d = perftrack::Distribution::new(10);
    /// d.record(1.0, perftrack::Status::Failed, perftrack::Timestamp::now());
    /// assert_eq!(d.count(), 1);
    /// ```
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Every recorded value, in recording order, while the distribution holds at most
    /// `exact_limit` of them; `None` once percentiles come from the sketch. What a statistical
    /// test between two runs needs.
    ///
    /// ```
    /// use perftrack::{Distribution, Status, Timestamp};
    /// let mut d = Distribution::new(2);
    /// d.record(3.0, Status::Ok, Timestamp::now());
    /// d.record(1.0, Status::Ok, Timestamp::now());
    /// assert_eq!(d.exact_values(), Some(&[3.0, 1.0][..]));
    /// d.record(2.0, Status::Ok, Timestamp::now());
    /// assert_eq!(d.exact_values(), None);
    /// ```
    pub fn exact_values(&self) -> Option<&[f64]> {
        self.exact_complete.then_some(self.exact.as_slice())
    }

    /// The bound on the relative error of the percentiles [`statistics`](Self::statistics)
    /// reports: 0 while the distribution holds all its exact values (the percentiles are
    /// exact), otherwise its sketch's [`Sketch::relative_accuracy`]: [`RELATIVE_ACCURACY`], or
    /// about 1.547 % when the sketch came from a file written before the current sketch grid.
    ///
    /// [`RELATIVE_ACCURACY`]: crate::RELATIVE_ACCURACY
    ///
    /// ```
    /// use perftrack::{Distribution, Status, Timestamp};
    /// let mut d = Distribution::new(1);
    /// d.record(1.0, Status::Ok, Timestamp::now());
    /// assert_eq!(d.relative_accuracy(), 0.0);
    /// d.record(2.0, Status::Ok, Timestamp::now());
    /// assert_eq!(d.relative_accuracy(), perftrack::RELATIVE_ACCURACY);
    /// ```
    pub fn relative_accuracy(&self) -> f64 {
        if self.exact_complete {
            0.0
        } else {
            self.sketch.relative_accuracy()
        }
    }

    /// Records one measurement that ended at `at`. Non-finite values are ignored (a duration
    /// never is one) and the call returns `false`.
    ///
    /// ```
    /// let mut d = perftrack::Distribution::new(10);
    /// assert!(d.record(2.0, perftrack::Status::Ok, perftrack::Timestamp::now()));
    /// assert!(!d.record(f64::NAN, perftrack::Status::Ok, perftrack::Timestamp::now()));
    /// ```
    #[inline]
    pub fn record(&mut self, value: f64, status: Status, at: Timestamp) -> bool {
        if !value.is_finite() {
            return false;
        }
        // Counts saturate: a distribution loaded or merged up to `u64::MAX` stays there.
        self.count = self.count.saturating_add(1);
        match status {
            Status::Ok => {}
            Status::Failed => self.failed = self.failed.saturating_add(1),
            Status::Cancelled => self.cancelled = self.cancelled.saturating_add(1),
        }
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        // Welford's update keeps the variance exact to rounding, unlike a sum of squares.
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
        if at >= self.last_time {
            self.last = value;
            self.last_time = at;
        }
        if self.exact_complete {
            if self.exact.len() < self.exact_limit {
                self.exact.push(value);
                return true;
            }
            self.drop_exact();
        }
        self.sketch.add(value);
        true
    }

    /// Adds a batch of values that ended by `at`, all [`Status::Ok`], as recording them one by
    /// one would (non-finite ones are skipped): the batch's moments are computed in two passes
    /// (one division for the batch) and merged at once (Chan et al.), so a batch costs less
    /// than its values one by one. The last value of the batch becomes `last` if `at` is the
    /// newest time.
    pub(crate) fn record_ok_batch(&mut self, values: &[f64], at: Timestamp) {
        if let Some(&last) = values.iter().rev().find(|v| v.is_finite()) {
            self.record_ok_values(values, last, at);
        }
    }

    /// [`record_ok_batch`](Self::record_ok_batch) with the batch's value of the newest time
    /// given: `last` becomes the distribution's last value if `at` is the newest time it has
    /// seen.
    pub(crate) fn record_ok_values(&mut self, values: &[f64], last: f64, at: Timestamp) {
        let finite = || values.iter().copied().filter(|v| v.is_finite());
        let n = finite().count();
        if n == 0 {
            return;
        }
        // The total is added to value by value, in order, exactly as recording them one by one
        // would; the batch's own sums (four, to shorten the chain of additions) only give its
        // mean.
        let mut running_sum = self.sum;
        let (mut sums, mut mins, mut maxs) = ([0.0; 4], [f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
        in_four_chains(values, |i, v| {
            running_sum += v;
            sums[i] += v;
            mins[i] = mins[i].min(v);
            maxs[i] = maxs[i].max(v);
        });
        let sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);
        let min = mins.iter().copied().fold(f64::INFINITY, f64::min);
        let max = maxs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = sum / n as f64;
        let mut squares = [0.0; 4];
        in_four_chains(values, |i, v| squares[i] += (v - mean) * (v - mean));
        let m2 = (squares[0] + squares[1]) + (squares[2] + squares[3]);
        let (na, nb) = (self.count as f64, n as f64);
        let total = na + nb;
        let delta = mean - self.mean;
        self.mean += delta * nb / total;
        self.m2 += m2 + delta * delta * na * nb / total;
        self.count = self.count.saturating_add(n as u64);
        self.sum = running_sum;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        if at >= self.last_time {
            self.last = last;
            self.last_time = at;
        }
        if self.exact_complete && self.exact.len().saturating_add(n) <= self.exact_limit {
            self.exact.extend(finite());
        } else {
            self.drop_exact();
            self.sketch.add_all(values);
        }
    }

    /// Moves the exact values, if still held, into the sketch and frees them.
    #[cold]
    fn drop_exact(&mut self) {
        if self.exact_complete {
            for &value in &self.exact {
                self.sketch.add(value);
            }
            self.exact = Vec::new();
            self.exact_complete = false;
        }
    }

    /// The sketch of every value: the kept one, or one built from the exact values.
    fn full_sketch(&self) -> std::borrow::Cow<'_, Sketch> {
        if self.exact_complete {
            let mut sketch = Sketch::default();
            for &value in &self.exact {
                sketch.add(value);
            }
            std::borrow::Cow::Owned(sketch)
        } else {
            std::borrow::Cow::Borrowed(&self.sketch)
        }
    }

    /// Adds every measurement of `other`, as if they had been recorded here. Moments merge
    /// exactly (Chan et al.), sketches bucket by bucket, and exact values stay exact while the
    /// total is within this distribution's `exact_limit`. Counts saturate at `u64::MAX`.
    ///
    /// ```
    /// use perftrack::{Distribution, Status, Timestamp};
    /// let (mut a, mut b) = (Distribution::new(10), Distribution::new(10));
    /// a.record(1.0, Status::Ok, Timestamp::now());
    /// b.record(3.0, Status::Ok, Timestamp::now());
    /// a.merge(&b);
    /// assert_eq!(a.statistics(1.0, "s").unwrap().mean, 2.0);
    /// ```
    pub fn merge(&mut self, other: &Distribution) {
        if other.count == 0 {
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        self.mean += delta * nb / n;
        self.m2 += other.m2 + delta * delta * na * nb / n;
        self.count = self.count.saturating_add(other.count);
        self.failed = self.failed.saturating_add(other.failed);
        self.cancelled = self.cancelled.saturating_add(other.cancelled);
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if other.last_time >= self.last_time {
            self.last = other.last;
            self.last_time = other.last_time;
        }
        if self.exact_complete
            && other.exact_complete
            && self.exact.len() + other.exact.len() <= self.exact_limit
        {
            self.exact.extend_from_slice(&other.exact);
        } else {
            self.drop_exact();
            self.sketch.merge(&other.full_sketch());
        }
    }

    /// Changes how many exact values are kept; if more are held, they are dropped and
    /// percentiles come from the sketch.
    ///
    /// ```
    /// let mut d = perftrack::Distribution::new(10);
    /// d.set_exact_limit(0);
    /// d.record(1.0, perftrack::Status::Ok, perftrack::Timestamp::now());
    /// assert!(!d.statistics(1.0, "s").unwrap().percentiles_exact);
    /// ```
    pub fn set_exact_limit(&mut self, exact_limit: usize) {
        self.exact_limit = exact_limit;
        if self.exact.len() > exact_limit {
            self.drop_exact();
        }
    }

    /// The statistics of the recorded values multiplied by `scale` (to convert from the unit
    /// values were recorded in to the unit reported), labelled `unit`; `None` when empty.
    ///
    /// ```
    /// use perftrack::{Distribution, Status, Timestamp};
    /// let mut d = Distribution::new(10);
    /// d.record(0.25, Status::Ok, Timestamp::now());
    /// let stats = d.statistics(1000.0, "ms").unwrap();
    /// assert_eq!((stats.max, stats.unit.as_str()), (250.0, "ms"));
    /// ```
    pub fn statistics(&self, scale: f64, unit: &str) -> Option<Statistics> {
        if self.count == 0 {
            return None;
        }
        let mut q = [0.0; QUANTILES.len()];
        if self.exact_complete {
            let mut sorted = self.exact.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            for (slot, p) in q.iter_mut().zip(QUANTILES) {
                *slot = exact_quantile(&sorted, p);
            }
        } else {
            self.sketch_quantiles(&mut q);
        }
        let variance = (self.m2 / self.count as f64).max(0.0);
        Some(Statistics {
            count: self.count,
            failed: self.failed,
            cancelled: self.cancelled,
            sum: self.sum * scale,
            min: self.min * scale,
            max: self.max * scale,
            mean: self.mean * scale,
            median: q[0] * scale,
            stddev: variance.sqrt() * scale.abs(),
            p50: q[0] * scale,
            p90: q[1] * scale,
            p95: q[2] * scale,
            p99: q[3] * scale,
            last: self.last * scale,
            unit: unit.to_owned(),
            percentiles_exact: self.exact_complete,
        })
    }

    /// Interpolates between the sketch's estimates of the two order statistics around each
    /// quantile's fractional rank, as numpy's "linear" method does between exact ones; each
    /// estimate is within the sketch's relative accuracy of its order statistic, so the result
    /// is within it too.
    fn sketch_quantiles(&self, out: &mut [f64; QUANTILES.len()]) {
        let last_rank = (self.count - 1) as f64;
        let mut ranks = [0u64; 2 * QUANTILES.len()];
        for (i, p) in QUANTILES.iter().enumerate() {
            let r = p * last_rank;
            ranks[2 * i] = r.floor() as u64;
            ranks[2 * i + 1] = (r.ceil() as u64).min(self.count - 1);
        }
        // The sketch walks its buckets once, so it wants the ranks in ascending order.
        let mut order: [usize; 2 * QUANTILES.len()] = std::array::from_fn(|i| i);
        order.sort_unstable_by_key(|&i| ranks[i]);
        let sorted: [u64; 2 * QUANTILES.len()] = std::array::from_fn(|i| ranks[order[i]]);
        let mut found = [0.0; 2 * QUANTILES.len()];
        if !self.sketch.values_at_ranks(&sorted, &mut found) {
            // Unreachable while the sketch holds `count` values (validated on load); fall back
            // to the exact maximum rather than panic.
            found.fill(self.max);
        }
        let mut values = [0.0; 2 * QUANTILES.len()];
        for (slot, &i) in order.iter().enumerate() {
            values[i] = found[slot];
        }
        for (i, p) in QUANTILES.iter().enumerate() {
            let frac = p * last_rank - (ranks[2 * i] as f64);
            let (lo, hi) = (values[2 * i], values[2 * i + 1]);
            out[i] = (lo + (hi - lo) * frac).clamp(self.min, self.max);
        }
    }

    /// The distribution as a base-2 exponential histogram on the sketch's grid (scale 6),
    /// OTLP's exponential histogram data point: exact `count`, `sum`, `min`, `max`, and every
    /// bucket's count exactly the number of values in its bounds (upper-inclusive), whether the
    /// distribution still holds its exact values or only its sketch (see
    /// [`ExponentialHistogram::exact`] for the two cases where it cannot be).
    ///
    /// ```
    /// use perftrack::{Distribution, Status, Timestamp};
    ///
    /// let mut d = Distribution::new(0); // no exact values: the sketch alone
    /// for v in [0.25, 0.25, 0.5] {
    ///     d.record(v, Status::Ok, Timestamp::now());
    /// }
    /// let h = d.exponential_histogram();
    /// // 0.25 = 2^-2 ends bucket -129, 0.5 = 2^-1 ends bucket -65.
    /// assert_eq!(h.positive.offset, -129);
    /// assert_eq!((h.positive.counts[0], h.positive.counts[64]), (2, 1));
    /// assert_eq!((h.count, h.sum, h.max), (3, 1.0, Some(0.5)));
    /// ```
    pub fn exponential_histogram(&self) -> ExponentialHistogram {
        let (scale, zero_count, positive, negative, exact) =
            self.full_sketch().exponential_buckets();
        let some = |v: f64| (self.count > 0).then_some(v);
        ExponentialHistogram {
            scale,
            count: self.count,
            sum: self.sum,
            min: some(self.min),
            max: some(self.max),
            zero_count,
            zero_threshold: ZERO_THRESHOLD,
            positive,
            negative,
            exact,
        }
    }

    /// The exact sum of the recorded values.
    #[cfg(any(test, feature = "prometheus", feature = "otlp"))]
    pub(crate) fn sum(&self) -> f64 {
        self.sum
    }

    /// The exact smallest and largest values; `None` when empty.
    #[cfg(feature = "otlp")]
    pub(crate) fn min_max(&self) -> Option<(f64, f64)> {
        (self.count > 0).then_some((self.min, self.max))
    }

    /// How many measurements failed and how many were cancelled.
    pub(crate) fn failed_cancelled(&self) -> (u64, u64) {
        (self.failed, self.cancelled)
    }

    /// Fills `out[i]` with how many values are at most `bounds[i]` (ascending; `out` as
    /// long): exact while the distribution holds exact values, otherwise from the sketch,
    /// where only values within its relative accuracy of a bound can be counted on the wrong
    /// side of it.
    #[cfg(any(test, feature = "prometheus", feature = "otlp"))]
    pub(crate) fn counts_at_most(&self, bounds: &[f64], out: &mut [u64]) {
        if self.exact_complete {
            let mut sorted = self.exact.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            for (slot, bound) in out.iter_mut().zip(bounds) {
                *slot = sorted.partition_point(|v| v <= bound) as u64;
            }
        } else {
            self.sketch.counts_at_most(bounds, out);
        }
    }

    pub(crate) fn to_summary(&self) -> Summary {
        let some = |v: f64| (self.count > 0).then_some(v);
        Summary {
            count: self.count,
            failed: self.failed,
            cancelled: self.cancelled,
            sum: some(self.sum),
            min: some(self.min),
            max: some(self.max),
            mean: some(self.mean),
            m2: some(self.m2),
            last: some(self.last),
            last_time: (self.count > 0).then_some(self.last_time),
            exact: self.exact_complete.then(|| self.exact.clone()),
            sketch: self.full_sketch().to_data(),
        }
    }

    /// Rebuilds a distribution from its saved form, checking that its parts agree.
    pub(crate) fn from_summary(s: Summary, exact_limit: usize) -> Result<Self, String> {
        let sketch = Sketch::from_data(s.sketch)?;
        if sketch.count() != s.count {
            return Err(format!(
                "summary count {} does not match its sketch's {} values",
                s.count,
                sketch.count()
            ));
        }
        if s.failed
            .checked_add(s.cancelled)
            .is_none_or(|n| n > s.count)
        {
            return Err(format!(
                "summary has {} failed and {} cancelled of only {} measurements",
                s.failed, s.cancelled, s.count
            ));
        }
        let mut d = Self::new(exact_limit);
        d.count = s.count;
        d.failed = s.failed;
        d.cancelled = s.cancelled;
        if s.exact.is_none() {
            // With exact values, the sketch is built from them when needed.
            d.sketch = sketch;
        }
        if s.count > 0 {
            let need = |name: &str, v: Option<f64>| {
                v.filter(|v| v.is_finite()).ok_or_else(|| {
                    format!("summary with count {} lacks a finite `{name}`", s.count)
                })
            };
            d.sum = need("sum", s.sum)?;
            d.min = need("min", s.min)?;
            d.max = need("max", s.max)?;
            d.mean = need("mean", s.mean)?;
            d.m2 = need("m2", s.m2)?;
            d.last = need("last", s.last)?;
            d.last_time = s.last_time.ok_or("summary lacks `last_time`")?;
            if d.min > d.max || d.m2 < 0.0 {
                return Err(format!(
                    "summary is inconsistent: min {} > max {} or m2 {} < 0",
                    d.min, d.max, d.m2
                ));
            }
        }
        match s.exact {
            Some(values) => {
                if values.len() as u64 != s.count {
                    return Err(format!(
                        "summary lists {} exact values for {} measurements",
                        values.len(),
                        s.count
                    ));
                }
                if values.iter().any(|v| *v < d.min || *v > d.max) {
                    return Err("summary has exact values outside its min and max".to_owned());
                }
                d.exact = values;
                d.set_exact_limit(exact_limit);
            }
            None => d.exact_complete = false,
        }
        Ok(d)
    }
}

/// The saved form of a [`Distribution`] (see `docs/FORMAT.md`): what exact statistics and
/// merging need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Summary {
    pub(crate) count: u64,
    pub(crate) failed: u64,
    pub(crate) cancelled: u64,
    pub(crate) sum: Option<f64>,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) mean: Option<f64>,
    pub(crate) m2: Option<f64>,
    pub(crate) last: Option<f64>,
    pub(crate) last_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exact: Option<Vec<f64>>,
    pub(crate) sketch: SketchData,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gives_the_statistics_of_its_values_one_by_one() {
        let at = Timestamp::from_unix_nanos(7);
        for (limit, batches) in [(1000, 5), (40, 5), (0, 3)] {
            let (mut one_by_one, mut batched) =
                (Distribution::new(limit), Distribution::new(limit));
            for b in 0..batches {
                let values: Vec<f64> = (0..17)
                    .map(|i| f64::from(((b * 17 + i) * 7919) % 101) * 1e-3 + 1e-4)
                    .chain([f64::NAN])
                    .collect();
                for &v in &values {
                    one_by_one.record(v, Status::Ok, at);
                }
                batched.record_ok_batch(&values, at);
            }
            let (a, b) = (
                one_by_one.statistics(1.0, "s").unwrap(),
                batched.statistics(1.0, "s").unwrap(),
            );
            assert_eq!(
                (a.count, a.min, a.max, a.last),
                (b.count, b.min, b.max, b.last)
            );
            assert_eq!(
                (a.p50, a.p90, a.p99, a.percentiles_exact),
                (b.p50, b.p90, b.p99, b.percentiles_exact)
            );
            // The sum is added value by value in both: equal to the bit.
            assert_eq!(a.sum, b.sum, "{limit}");
            for (x, y) in [(a.mean, b.mean), (a.stddev, b.stddev)] {
                assert!(
                    (x - y).abs() <= 1e-9 * x.abs().max(1e-12),
                    "{limit}: {x} {y}"
                );
            }
        }
        let mut empty = Distribution::new(10);
        empty.record_ok_batch(&[f64::NAN], at);
        assert_eq!(empty.count(), 0);
    }

    fn t(n: i64) -> Timestamp {
        Timestamp::from_unix_nanos(n)
    }

    #[test]
    fn exact_statistics_match_a_direct_computation() {
        let values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0];
        let mut d = Distribution::new(100);
        for (i, v) in values.iter().enumerate() {
            d.record(*v, Status::Ok, t(i as i64));
        }
        let s = d.statistics(1.0, "ms").unwrap();
        let mean = values.iter().sum::<f64>() / 6.0;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
        assert_eq!(s.count, 6);
        assert_eq!(s.sum, 25.0);
        assert_eq!((s.min, s.max), (1.0, 10.0));
        assert!((s.mean - mean).abs() < 1e-12);
        assert!((s.stddev - var.sqrt()).abs() < 1e-12);
        // numpy.percentile([1,2,3,4,5,10], [50, 90, 95, 99]) = 3.5, 7.5, 8.75, 9.75
        assert!((s.median - 3.5).abs() < 1e-12);
        assert!((s.p90 - 7.5).abs() < 1e-12);
        assert!((s.p95 - 8.75).abs() < 1e-12);
        assert!((s.p99 - 9.75).abs() < 1e-12);
        assert_eq!(s.last, 10.0);
        assert!(s.percentiles_exact);
    }

    #[test]
    fn passing_the_exact_limit_switches_to_the_sketch_and_frees_the_values() {
        let mut d = Distribution::new(3);
        for i in 0..4 {
            d.record(f64::from(i) + 1.0, Status::Ok, t(i64::from(i)));
        }
        assert!(!d.exact_complete);
        assert_eq!(d.exact.capacity(), 0);
        let s = d.statistics(1.0, "s").unwrap();
        assert!(!s.percentiles_exact);
        assert!((s.median - 2.5).abs() <= crate::RELATIVE_ACCURACY * 2.5);
    }

    #[test]
    fn counts_at_most_are_exact_with_exact_values_and_close_with_the_sketch() {
        let values: Vec<f64> = (1..=500).map(|i| f64::from(i) * 0.001).collect();
        let bounds = [0.0005, 0.01, 0.1, 0.25, 0.4999, 1.0];
        let exact: Vec<u64> = bounds
            .iter()
            .map(|b| values.iter().filter(|v| *v <= b).count() as u64)
            .collect();
        for limit in [1000, 10] {
            let mut d = Distribution::new(limit);
            for (i, v) in values.iter().enumerate() {
                d.record(*v, Status::Ok, t(i as i64));
            }
            let mut out = [0; 6];
            d.counts_at_most(&bounds, &mut out);
            if limit == 1000 {
                assert_eq!(out.to_vec(), exact);
            } else {
                for ((got, want), b) in out.iter().zip(&exact).zip(bounds) {
                    // Values are 1 ms apart: within α of a bound lie at most 2αb / 1 ms of them.
                    let slack = (2.0 * crate::RELATIVE_ACCURACY * b / 0.001).ceil() as u64 + 1;
                    assert!(got.abs_diff(*want) <= slack, "{b}: {got} vs {want}");
                }
            }
            assert_eq!(out[5], 500);
            assert!((d.sum() - values.iter().sum::<f64>()).abs() < 1e-9);
        }
    }

    #[test]
    fn last_follows_the_latest_timestamp_across_merges() {
        let mut a = Distribution::new(10);
        let mut b = Distribution::new(10);
        a.record(1.0, Status::Ok, t(10));
        b.record(2.0, Status::Failed, t(5));
        a.merge(&b);
        let s = a.statistics(1.0, "s").unwrap();
        assert_eq!((s.last, s.failed, s.count), (1.0, 1, 2));
    }

    #[test]
    fn summaries_round_trip_and_reject_inconsistency() {
        let mut d = Distribution::new(10);
        for i in 0..5 {
            d.record(f64::from(i), Status::Ok, t(i64::from(i)));
        }
        let back = Distribution::from_summary(d.to_summary(), 10).unwrap();
        assert_eq!(back, d);
        let mut bad = d.to_summary();
        bad.count += 1;
        assert!(Distribution::from_summary(bad, 10).is_err());
        let mut bad = d.to_summary();
        bad.min = None;
        assert!(Distribution::from_summary(bad, 10).is_err());
        let mut bad = d.to_summary();
        bad.exact.as_mut().unwrap().pop();
        assert!(Distribution::from_summary(bad, 10).is_err());
    }

    /// The saved form of `n` values of 1.0, `failed` and `cancelled` of them not ok.
    fn ones(n: u64, failed: u64, cancelled: u64) -> Summary {
        Summary {
            count: n,
            failed,
            cancelled,
            sum: Some(n as f64),
            min: Some(1.0),
            max: Some(1.0),
            mean: Some(1.0),
            m2: Some(0.0),
            last: Some(1.0),
            last_time: Some(t(0)),
            exact: None,
            sketch: SketchData {
                scale: Some(6),
                relative_accuracy: None,
                zero_count: 0,
                // 1.0 = 2^0 is the upper bound of bucket -1.
                positive: super::super::sketch::StoreData {
                    offset: -1,
                    counts: vec![n],
                },
                negative: Default::default(),
            },
        }
    }

    #[test]
    fn merging_and_recording_past_u64_max_saturate() {
        let mut big = Distribution::from_summary(ones(u64::MAX, u64::MAX - 1, 1), 10).unwrap();
        let mut small = Distribution::new(10);
        small.record(2.0, Status::Failed, t(1));
        small.record(3.0, Status::Cancelled, t(2));
        big.merge(&small);
        let s = big.statistics(1.0, "s").unwrap();
        assert_eq!((s.count, s.failed, s.cancelled), (u64::MAX, u64::MAX, 2));
        assert_eq!((s.max, s.last), (3.0, 3.0));
        assert!(s.p99 >= s.min && s.p99 <= s.max);
        big.record(4.0, Status::Failed, t(3));
        big.record(4.0, Status::Cancelled, t(4));
        let s = big.statistics(1.0, "s").unwrap();
        assert_eq!((s.count, s.failed, s.cancelled), (u64::MAX, u64::MAX, 3));
        // Into itself, and the other way round.
        big.merge(&big.clone());
        small.merge(&big);
        for d in [&big, &small] {
            let s = d.statistics(1.0, "s").unwrap();
            assert_eq!((s.count, s.failed), (u64::MAX, u64::MAX));
            assert!(s.median.is_finite() && s.stddev.is_finite());
        }
    }

    #[test]
    fn a_summary_whose_failed_and_cancelled_overflow_is_rejected() {
        let err = Distribution::from_summary(ones(u64::MAX, u64::MAX, 1), 10).unwrap_err();
        assert!(err.contains("failed"), "{err}");
        assert!(Distribution::from_summary(ones(u64::MAX, u64::MAX, 0), 10).is_ok());
    }
}
