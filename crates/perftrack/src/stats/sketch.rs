//! A bounded, mergeable quantile sketch with a relative-error guarantee (the DDSketch scheme).
//!
//! A value `x > 0` falls into bucket `k = ceil(ln x / ln γ)` with `γ = (1 + α) / (1 − α)`; the
//! bucket's representative `2γᵏ / (γ + 1)` is within `α·x` of every value in it. Negative values
//! use a mirrored store, and values too close to zero to index share one zero bucket. Two
//! sketches merge by adding bucket counts, so a merged sketch is exactly the sketch of all values.
//!
//! Each store keeps at most [`MAX_BINS`] contiguous buckets. That spans a ratio of
//! `γ^2048 ≈ 6·10¹⁷` between the smallest and largest magnitude (a nanosecond to nineteen
//! years); if values ever span more, the buckets nearest zero are folded together, which only
//! coarsens the smallest magnitudes. Memory: at most 2 × 2048 × 8 bytes = 32 KiB.

use serde::{Deserialize, Serialize};

/// The relative accuracy α of every sketch: quantiles are within 1 % of the true value.
///
/// ```
/// assert_eq!(perftrack::RELATIVE_ACCURACY, 0.01);
/// ```
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// γ = (1 + α) / (1 − α).
const GAMMA: f64 = 1.020_202_020_202_02;
/// 1 / ln γ, precomputed (a unit test checks it against the formula).
const INV_LN_GAMMA: f64 = 49.998_333_288_886_78;
/// ln γ, precomputed.
const LN_GAMMA: f64 = 0.020_000_666_706_669_435;
/// 2 / (γ + 1): scales γᵏ to the bucket's representative value.
const REPRESENTATIVE: f64 = 2.0 / (GAMMA + 1.0);
/// Magnitudes below this count as zero.
const MIN_INDEXABLE: f64 = 1e-12;
/// Magnitudes above this share the top bucket (no measurement comes near it).
const MAX_INDEXABLE: f64 = 1e300;
/// The key of [`MIN_INDEXABLE`].
const MIN_KEY: i32 = -1381;
/// The key of [`MAX_INDEXABLE`].
const MAX_KEY: i32 = 34538;
/// The most buckets one store keeps.
const MAX_BINS: usize = 2048;

/// The bucket key of a magnitude `m >= MIN_INDEXABLE`.
#[inline]
fn key(magnitude: f64) -> i32 {
    let m = magnitude.min(MAX_INDEXABLE);
    // The product lies in [MIN_KEY - 1, MAX_KEY], far inside i32. `f64::ceil` is a libm call on
    // baseline x86-64, so round up by hand: truncate, then step up if something was cut off.
    let x = m.ln() * INV_LN_GAMMA;
    let truncated = x as i32;
    let ceil = truncated + i32::from(f64::from(truncated) < x);
    ceil.clamp(MIN_KEY, MAX_KEY)
}

/// The representative value of bucket `key`.
#[inline]
fn value(key: i32) -> f64 {
    (f64::from(key) * LN_GAMMA).exp() * REPRESENTATIVE
}

/// Contiguous bucket counts for keys `offset .. offset + counts.len()`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Store {
    offset: i32,
    counts: Vec<u64>,
    total: u64,
}

impl Store {
    fn max_key(&self) -> i32 {
        self.offset + self.counts.len() as i32 - 1
    }

    #[inline]
    fn add(&mut self, key: i32, n: u64) {
        if self.counts.is_empty() {
            self.offset = key;
            self.counts.push(0);
        }
        let index = if key < self.offset {
            self.extend_down(key)
        } else if key > self.max_key() {
            self.extend_up(key)
        } else {
            (key - self.offset) as usize
        };
        // Counts saturate at `u64::MAX` rather than wrap (only merges of loaded sketches get
        // there).
        self.counts[index] = self.counts[index].saturating_add(n);
        self.total = self.total.saturating_add(n);
    }

    /// Makes room for a key below the range and returns its index (0 when it had to be folded
    /// into the lowest bucket kept).
    #[cold]
    fn extend_down(&mut self, key: i32) -> usize {
        let span = (self.max_key() - key) as usize + 1;
        let new_offset = if span > MAX_BINS {
            self.max_key() - MAX_BINS as i32 + 1
        } else {
            // Leave some headroom below so a slowly falling minimum does not shift every time.
            (key - 32).max(self.max_key() - MAX_BINS as i32 + 1)
        };
        let grow = (self.offset - new_offset) as usize;
        if grow > 0 {
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = new_offset;
        }
        (key.max(self.offset) - self.offset) as usize
    }

    /// Makes room for a key above the range, folding the lowest buckets if the range would pass
    /// `MAX_BINS`, and returns the key's index.
    #[cold]
    fn extend_up(&mut self, key: i32) -> usize {
        let span = (key - self.offset) as usize + 1;
        if span > MAX_BINS {
            let new_offset = key - MAX_BINS as i32 + 1;
            let fold = ((new_offset - self.offset) as usize).min(self.counts.len());
            let folded = self.counts.drain(..fold).fold(0, u64::saturating_add);
            self.offset = new_offset;
            if self.counts.is_empty() {
                self.counts.push(0);
            }
            self.counts[0] = self.counts[0].saturating_add(folded);
        }
        let len = (key - self.offset) as usize + 1;
        self.counts.resize(len, 0);
        len - 1
    }

    fn merge(&mut self, other: &Store) {
        for (i, &n) in other.counts.iter().enumerate() {
            if n > 0 {
                self.add(other.offset + i as i32, n);
            }
        }
    }

    /// `(key, count)` for non-empty buckets, ascending by key.
    fn buckets(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, &n)| (self.offset + i as i32, n))
    }

    fn to_data(&self) -> StoreData {
        let first = self.counts.iter().position(|&n| n > 0);
        let last = self.counts.iter().rposition(|&n| n > 0);
        match (first, last) {
            (Some(first), Some(last)) => StoreData {
                offset: self.offset + first as i32,
                counts: self.counts[first..=last].to_vec(),
            },
            _ => StoreData::default(),
        }
    }

    fn from_data(data: StoreData, side: &str) -> Result<Self, String> {
        if data.counts.len() > MAX_BINS {
            return Err(format!(
                "sketch {side} store has {} buckets; at most {MAX_BINS} are allowed",
                data.counts.len()
            ));
        }
        let last = i64::from(data.offset) + data.counts.len() as i64 - 1;
        if !data.counts.is_empty() && (data.offset < MIN_KEY || last > i64::from(MAX_KEY)) {
            return Err(format!(
                "sketch {side} store covers keys {}..={last}, outside {MIN_KEY}..={MAX_KEY}",
                data.offset
            ));
        }
        let mut total: u64 = 0;
        for &n in &data.counts {
            total = total.checked_add(n).ok_or_else(|| {
                format!(
                    "sketch `{side}` store's `counts` add up to more than {}",
                    u64::MAX
                )
            })?;
        }
        Ok(Self {
            offset: data.offset,
            counts: data.counts,
            total,
        })
    }
}

/// A mergeable quantile sketch over `f64` values with [`RELATIVE_ACCURACY`] relative error.
///
/// ```
/// use perftrack::Sketch;
///
/// let mut sketch = Sketch::default();
/// for v in 1..=1000 {
///     sketch.add(f64::from(v));
/// }
/// let p50 = sketch.value_at_rank(499).unwrap();
/// assert!((p50 - 500.0).abs() <= 0.01 * 500.0);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sketch {
    zero_count: u64,
    positive: Store,
    negative: Store,
}

impl Sketch {
    /// Adds one value. Non-finite values are ignored.
    ///
    /// ```
    /// let mut sketch = perftrack::Sketch::default();
    /// sketch.add(-3.0);
    /// sketch.add(f64::NAN);
    /// assert_eq!(sketch.count(), 1);
    /// ```
    #[inline]
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if value >= MIN_INDEXABLE {
            self.positive.add(key(value), 1);
        } else if value <= -MIN_INDEXABLE {
            self.negative.add(key(-value), 1);
        } else {
            self.zero_count = self.zero_count.saturating_add(1);
        }
    }

    /// How many values the sketch holds (at most `u64::MAX`: counts saturate).
    ///
    /// ```
    /// assert_eq!(perftrack::Sketch::default().count(), 0);
    /// ```
    pub fn count(&self) -> u64 {
        self.zero_count
            .saturating_add(self.positive.total)
            .saturating_add(self.negative.total)
    }

    /// Adds every value of `other` to this sketch. Counts saturate at `u64::MAX`.
    ///
    /// ```
    /// use perftrack::Sketch;
    /// let (mut a, mut b) = (Sketch::default(), Sketch::default());
    /// a.add(1.0);
    /// b.add(2.0);
    /// a.merge(&b);
    /// assert_eq!(a.count(), 2);
    /// ```
    pub fn merge(&mut self, other: &Sketch) {
        self.zero_count = self.zero_count.saturating_add(other.zero_count);
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
    }

    /// The approximate value of the order statistic at 0-based `rank` (0 is the smallest), or
    /// `None` when `rank >= count()`.
    ///
    /// ```
    /// let mut sketch = perftrack::Sketch::default();
    /// sketch.add(10.0);
    /// let v = sketch.value_at_rank(0).unwrap();
    /// assert!((v - 10.0).abs() <= 0.1);
    /// ```
    pub fn value_at_rank(&self, rank: u64) -> Option<f64> {
        let mut out = [0.0];
        self.values_at_ranks(&[rank], &mut out).then_some(out[0])
    }

    /// Fills `out[i]` with the value at `ranks[i]`; `ranks` must be ascending. Returns false if
    /// a rank is out of range. One pass over the buckets serves every rank.
    pub(crate) fn values_at_ranks(&self, ranks: &[u64], out: &mut [f64]) -> bool {
        let mut next = 0;
        let mut seen: u64 = 0;
        let negatives = self.negative.buckets().rev().map(|(k, n)| (-value(k), n));
        let zeros = std::iter::once((0.0, self.zero_count));
        let positives = self.positive.buckets().map(|(k, n)| (value(k), n));
        for (v, n) in negatives.chain(zeros).chain(positives) {
            seen = seen.saturating_add(n);
            while next < ranks.len() && ranks[next] < seen {
                out[next] = v;
                next += 1;
            }
            if next == ranks.len() {
                break;
            }
        }
        next == ranks.len()
    }

    /// Fills `out[i]` with how many values are at most `bounds[i]`; `bounds` must be
    /// ascending and `out` as long. A value counts when its bucket's representative is at
    /// most the bound, so only values within [`RELATIVE_ACCURACY`] of a bound can be counted
    /// on the wrong side of it: the result lies between the exact counts of values at most
    /// `bound × (1 − α)` and at most `bound / (1 − α)`. One pass over the buckets serves
    /// every bound, and the counts agree with [`value_at_rank`](Self::value_at_rank).
    #[cfg(any(test, feature = "prometheus"))]
    pub(crate) fn counts_at_most(&self, bounds: &[f64], out: &mut [u64]) {
        let negatives = self.negative.buckets().rev().map(|(k, n)| (-value(k), n));
        let zeros = std::iter::once((0.0, self.zero_count));
        let positives = self.positive.buckets().map(|(k, n)| (value(k), n));
        let mut next = 0;
        let mut seen: u64 = 0;
        for (v, n) in negatives.chain(zeros).chain(positives) {
            while next < bounds.len() && bounds[next] < v {
                out[next] = seen;
                next += 1;
            }
            seen = seen.saturating_add(n);
        }
        for slot in out.iter_mut().take(bounds.len()).skip(next) {
            *slot = seen;
        }
    }

    pub(crate) fn to_data(&self) -> SketchData {
        SketchData {
            relative_accuracy: RELATIVE_ACCURACY,
            zero_count: self.zero_count,
            positive: self.positive.to_data(),
            negative: self.negative.to_data(),
        }
    }

    pub(crate) fn from_data(data: SketchData) -> Result<Self, String> {
        if (data.relative_accuracy - RELATIVE_ACCURACY).abs() > 1e-12 {
            return Err(format!(
                "sketch relative_accuracy {} is not supported (this build uses {RELATIVE_ACCURACY})",
                data.relative_accuracy
            ));
        }
        let sketch = Self {
            zero_count: data.zero_count,
            positive: Store::from_data(data.positive, "positive")?,
            negative: Store::from_data(data.negative, "negative")?,
        };
        sketch
            .zero_count
            .checked_add(sketch.positive.total)
            .and_then(|n| n.checked_add(sketch.negative.total))
            .ok_or_else(|| {
                format!(
                    "sketch `zero_count` and store `counts` add up to more than {}",
                    u64::MAX
                )
            })?;
        Ok(sketch)
    }
}

/// The saved form of a [`Sketch`] (see `docs/FORMAT.md`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SketchData {
    pub(crate) relative_accuracy: f64,
    pub(crate) zero_count: u64,
    pub(crate) positive: StoreData,
    pub(crate) negative: StoreData,
}

/// The saved form of one store: counts of keys `offset ..`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreData {
    pub(crate) offset: i32,
    pub(crate) counts: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_their_formulas() {
        let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
        assert!((GAMMA - gamma).abs() < 1e-15);
        assert!((LN_GAMMA - gamma.ln()).abs() < 1e-15);
        assert!((INV_LN_GAMMA - 1.0 / gamma.ln()).abs() < 1e-12);
        assert_eq!(key(MIN_INDEXABLE), MIN_KEY);
        assert_eq!(key(MAX_INDEXABLE), MAX_KEY);
        assert!(value(MAX_KEY).is_finite());
    }

    #[test]
    fn every_value_is_within_the_relative_accuracy_of_its_bucket() {
        let mut x = MIN_INDEXABLE;
        while x < 1e30 {
            let v = value(key(x));
            assert!(
                (v - x).abs() <= RELATIVE_ACCURACY * x * (1.0 + 1e-9),
                "{x} -> {v}"
            );
            x *= 1.0037;
        }
    }

    #[test]
    fn ranks_walk_negatives_zero_and_positives_in_order() {
        let mut s = Sketch::default();
        for v in [-5.0, 0.0, 3.0, -1.0, 7.0] {
            s.add(v);
        }
        let mut out = [0.0; 5];
        assert!(s.values_at_ranks(&[0, 1, 2, 3, 4], &mut out));
        let exact = [-5.0, -1.0, 0.0, 3.0, 7.0];
        for (got, want) in out.iter().zip(exact) {
            assert!(
                (got - want).abs() <= RELATIVE_ACCURACY * f64::abs(want),
                "{got} vs {want}"
            );
        }
        assert!(!s.values_at_ranks(&[5], &mut out[..1]));
    }

    #[test]
    fn counts_at_most_err_only_within_the_accuracy_of_a_bound() {
        let values: Vec<f64> = (0..2000).map(|i| 0.0005 * 1.003f64.powi(i)).collect();
        let mut s = Sketch::default();
        for v in &values {
            s.add(*v);
        }
        s.add(0.0);
        s.add(-2.0);
        let bounds = [-1.0, 0.0, 0.001, 0.0025, 0.01, 0.1, 1.0, 100.0];
        let mut out = [0; 8];
        s.counts_at_most(&bounds, &mut out);
        let exact = |b: f64| {
            values.iter().filter(|v| **v <= b).count() as u64
                + u64::from(b >= 0.0)
                + u64::from(b >= -2.0)
        };
        for (b, got) in bounds.iter().zip(out) {
            let (lo, hi) = if *b > 0.0 {
                (
                    exact(b * (1.0 - RELATIVE_ACCURACY)),
                    exact(b / (1.0 - RELATIVE_ACCURACY)),
                )
            } else {
                (exact(*b), exact(*b))
            };
            assert!(
                lo <= got && got <= hi,
                "bound {b}: {got} not in {lo}..={hi}"
            );
        }
        assert_eq!(out[7], s.count());
        // Consistent with the rank queries: the value at rank `count_at_most - 1` is within
        // the bound.
        for (b, n) in bounds.iter().zip(out) {
            if n > 0 {
                assert!(s.value_at_rank(n - 1).unwrap() <= *b);
            }
        }
    }

    #[test]
    fn the_store_stays_bounded_and_keeps_the_largest_values_accurate() {
        let mut s = Sketch::default();
        let mut x = 1e-9;
        while x < 1e250 {
            s.add(x);
            x *= 1.5;
        }
        assert!(s.positive.counts.len() <= MAX_BINS);
        let top = s.value_at_rank(s.count() - 1).unwrap();
        let largest = x / 1.5;
        assert!((top - largest).abs() <= RELATIVE_ACCURACY * largest);
    }

    #[test]
    fn data_round_trip_and_validation() {
        let mut s = Sketch::default();
        for v in [0.5, 1.0, 2.0, 0.0, -4.0] {
            s.add(v);
        }
        let back = Sketch::from_data(s.to_data()).unwrap();
        assert_eq!(back.to_data(), s.to_data());
        let mut bad = s.to_data();
        bad.positive.offset = MAX_KEY;
        assert!(Sketch::from_data(bad).is_err());
        let mut bad = s.to_data();
        bad.relative_accuracy = 0.02;
        assert!(Sketch::from_data(bad).is_err());
        let mut bad = s.to_data();
        bad.negative.counts = vec![u64::MAX, 1];
        assert!(Sketch::from_data(bad).is_err());
    }

    /// A sketch of `n` values in bucket `key` of the positive store.
    fn bucket(key: i32, n: u64) -> Sketch {
        Sketch::from_data(SketchData {
            relative_accuracy: RELATIVE_ACCURACY,
            zero_count: 0,
            positive: StoreData {
                offset: key,
                counts: vec![n],
            },
            negative: StoreData::default(),
        })
        .unwrap()
    }

    #[test]
    fn merged_and_folded_counts_saturate() {
        let mut s = bucket(0, u64::MAX);
        s.merge(&bucket(10, u64::MAX));
        let mut zero = Sketch::default();
        zero.add(0.0);
        zero.add(-1.0);
        s.merge(&zero);
        assert_eq!(s.count(), u64::MAX);
        assert_eq!(s.positive.total, u64::MAX);
        // A value 2048 keys above folds both full buckets into the lowest one kept.
        s.add(value(MAX_BINS as i32 + 20));
        assert_eq!(s.positive.counts[0], u64::MAX);
        s.add(0.0);
        assert_eq!(s.count(), u64::MAX);
        let mut out = [0.0; 3];
        assert!(s.values_at_ranks(&[0, 1, u64::MAX - 1], &mut out));
        assert!(out[0] < 0.0 && out[1] == 0.0 && out[2] > 0.0);
        let mut counts = [0; 2];
        s.counts_at_most(&[0.0, f64::MAX], &mut counts);
        assert_eq!(counts, [3, u64::MAX]);
    }
}
