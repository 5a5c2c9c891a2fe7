//! A bounded, mergeable quantile sketch with a relative-error guarantee, on OpenTelemetry's
//! base-2 exponential histogram grid at scale 6.
//!
//! Bucket `i` holds the magnitudes in `(γⁱ, γⁱ⁺¹]` with `γ = 2^(2^-6) = 2^(1/64)`: 64 buckets per
//! power of two, upper bounds inclusive, exactly as OTLP's exponential histogram buckets them, so
//! a store's `offset` and counts are OTLP's `Buckets { offset, bucket_counts }`. The bucket's
//! representative `2LU / (L + U)` (`L = γⁱ`, `U = γⁱ⁺¹`) is within
//! α = (γ − 1) / (γ + 1) ≈ 0.5415 % of every value in it. Negative values use a mirrored store,
//! and values too close to zero to index share one zero bucket. Two sketches merge by adding
//! bucket counts, so a merged sketch is exactly the sketch of all values.
//!
//! Each store keeps at most [`MAX_BINS`] contiguous buckets. That spans a ratio of
//! `γ^4096 = 2^64 ≈ 1.8·10¹⁹` between the smallest and largest magnitude (a nanosecond to 584
//! years); if values ever span more, the buckets nearest zero are folded together, which only
//! coarsens the smallest magnitudes. Memory: at most 2 × 4096 × 8 bytes = 64 KiB.
//!
//! Sketches saved before this grid (DDSketch buckets with α = 1 %) load by moving each old
//! bucket's representative, with its count, into the new grid; such a sketch's quantiles are
//! within `(1 + 0.01)(1 + α) − 1 ≈ 1.547 %`, and it says so ([`Sketch::relative_accuracy`]).

use serde::{Deserialize, Serialize};

use super::exponential::BucketCounts;

/// The relative accuracy α of a sketch built by recording or merging values: every quantile is
/// within α ≈ 0.5415 % of the true value. α = (γ − 1) / (γ + 1) with γ = 2^(1/64), the grid's
/// base; a sketch loaded from an older file may have a wider bound
/// ([`Sketch::relative_accuracy`]).
///
/// ```
/// assert_eq!(perftrack::RELATIVE_ACCURACY, 0.005_415_159_415_902_569);
/// let gamma = 2f64.powf(1.0 / 64.0);
/// assert!((perftrack::RELATIVE_ACCURACY - (gamma - 1.0) / (gamma + 1.0)).abs() < 1e-15);
/// ```
pub const RELATIVE_ACCURACY: f64 = 0.005_415_159_415_902_569;
/// The OpenTelemetry scale of the grid: 2^6 buckets per power of two.
const SCALE: i32 = 6;
/// Buckets per power of two: 2^SCALE.
const BUCKETS_PER_OCTAVE: i32 = 1 << SCALE;
/// The grid's base γ = 2^(2^-6).
#[cfg(test)]
const GAMMA: f64 = 1.010_889_286_051_700_5;
/// 2γ / (γ + 1): scales γⁱ to the representative 2LU / (L + U) of bucket i.
const REPRESENTATIVE: f64 = 1.005_415_159_415_902_6;
/// Magnitudes below this count as zero.
const MIN_INDEXABLE: f64 = 1e-12;
/// Magnitudes above this share the top bucket (no measurement comes near it).
#[cfg(test)]
const MAX_INDEXABLE: f64 = 1e300;
/// The key of [`MIN_INDEXABLE`].
const MIN_KEY: i32 = -2552;
/// The key of `MAX_INDEXABLE` (10³⁰⁰): larger magnitudes share its bucket.
const MAX_KEY: i32 = 63781;
/// The most buckets one store keeps.
const MAX_BINS: usize = 4096;

/// The low 52 bits of an `f64`: its mantissa without the implicit leading 1.
const FRACTION_BITS: u32 = 52;
const FRACTION_MASK: u64 = (1 << FRACTION_BITS) - 1;

/// `BOUNDARIES[j]` is the fraction (the mantissa's low 52 bits) of the smallest `f64` above
/// 2^(j/64), for `j` in `0..64`: a mantissa `m` in `[1, 2)` lies above the grid boundary
/// 2^(j/64) exactly when its fraction is at least `BOUNDARIES[j]`. 2^(j/64) is irrational for
/// `j > 0`, so no `f64` equals it; `BOUNDARIES[0]` is the smallest fraction above 1. A unit test
/// checks every entry in exact integer arithmetic.
#[rustfmt::skip]
const BOUNDARIES: [u64; 64] = [
    0x0000000000001, 0x02c9a3e778061, 0x059b0d3158575, 0x0874518759bc9,
    0x0b5586cf98910, 0x0e3ec32d3d1a3, 0x11301d0125b51, 0x1429aaea92de0,
    0x172b83c7d517b, 0x1a35beb6fcb76, 0x1d4873168b9ab, 0x2063b88628cd7,
    0x2387a6e756239, 0x26b4565e27cde, 0x29e9df51fdee2, 0x2d285a6e4030c,
    0x306fe0a31b716, 0x33c08b2641700, 0x371a7373aa9cb, 0x3a7db34e59ff7,
    0x3dea64c123423, 0x4160a21f72e2a, 0x44e086061892e, 0x486a2b5c13cd1,
    0x4bfdad5362a28, 0x4f9b2769d2ca7, 0x5342b569d4f82, 0x56f4736b527db,
    0x5ab07dd48542a, 0x5e76f15ad2149, 0x6247eb03a5585, 0x6623882552225,
    0x6a09e667f3bcd, 0x6dfb23c651a2f, 0x71f75e8ec5f74, 0x75feb564267c9,
    0x7a11473eb0187, 0x7e2f336cf4e63, 0x82589994cce13, 0x868d99b4492ed,
    0x8ace5422aa0dc, 0x8f1ae99157737, 0x93737b0cdc5e5, 0x97d829fde4e50,
    0x9c49182a3f091, 0xa0c667b5de565, 0xa5503b23e255d, 0xa9e6b5579fdc0,
    0xae89f995ad3ae, 0xb33a2b84f15fb, 0xb7f76f2fb5e47, 0xbcc1e904bc1d3,
    0xc199bdd85529d, 0xc67f12e57d14c, 0xcb720dcef906a, 0xd072d4a07897c,
    0xd5818dcfba488, 0xda9e603db3286, 0xdfc97337b9b5f, 0xe502ee78b3ff7,
    0xea4afa2a490da, 0xefa1bee615a28, 0xf50765b6e4541, 0xfa7c1819e90d9,
];

/// The mantissa's top bits pick one of this many equal cells of `[1, 2)`. A cell (width 1/128)
/// is narrower than the narrowest bucket (2^(1/64) − 1 ≈ 0.0109), so at most one boundary lies
/// inside it.
const CELL_BITS: u32 = 7;
const CELLS: usize = 1 << CELL_BITS;

/// Per cell: how many boundaries lie at or below its start (every mantissa in the cell is above
/// them), and the fraction of the next boundary (`1 << 52`, above every fraction, when none is
/// left). Computed at compile time from [`BOUNDARIES`], which also checks that no cell holds two.
const CELL_BELOW: [u8; CELLS] = cell_tables().0;
const CELL_NEXT: [u64; CELLS] = cell_tables().1;

const fn cell_tables() -> ([u8; CELLS], [u64; CELLS]) {
    let mut below = [0u8; CELLS];
    let mut next = [0u64; CELLS];
    let mut cell = 0;
    while cell < CELLS {
        let start = (cell as u64) << (FRACTION_BITS - CELL_BITS);
        let end = ((cell as u64) + 1) << (FRACTION_BITS - CELL_BITS);
        let mut n = 0;
        while n < BOUNDARIES.len() && BOUNDARIES[n] <= start {
            n += 1;
        }
        below[cell] = n as u8;
        next[cell] = if n < BOUNDARIES.len() {
            BOUNDARIES[n]
        } else {
            1 << FRACTION_BITS
        };
        // The boundary after `next` starts a later cell.
        assert!(n + 1 >= BOUNDARIES.len() || BOUNDARIES[n + 1] >= end);
        cell += 1;
    }
    (below, next)
}

/// The bucket key of a magnitude `m >= MIN_INDEXABLE` (any positive normal `f64` works):
/// `e·64 + ceil(64·log2(f)) − 1` for `m = f·2^e` with `f` in `[1, 2)`, so 2^e itself is the
/// upper bound of bucket `e·64 − 1`. The `ceil(64·log2(f))`, the number of boundaries 2^(j/64)
/// that `f` exceeds, comes exactly from the bits of `f`: a table gives the count up to the
/// start of `f`'s cell and one comparison adds the boundary inside it, with no logarithm and no
/// rounding. Clamped to `MIN_KEY..=MAX_KEY`.
#[inline]
fn key(magnitude: f64) -> i32 {
    let bits = magnitude.to_bits();
    // The biased exponent has 11 bits, so this is in -1023..=1024, and the key far inside i32.
    let exponent = ((bits >> FRACTION_BITS) & 0x7ff) as i32 - 1023;
    let fraction = bits & FRACTION_MASK;
    let cell = (fraction >> (FRACTION_BITS - CELL_BITS)) as usize;
    let above = i32::from(CELL_BELOW[cell]) + i32::from(fraction >= CELL_NEXT[cell]);
    (exponent * BUCKETS_PER_OCTAVE + above - 1).clamp(MIN_KEY, MAX_KEY)
}

/// The representative value of bucket `key`: 2LU / (L + U) = γ^key · 2γ / (γ + 1).
#[inline]
fn value(key: i32) -> f64 {
    (f64::from(key) / f64::from(BUCKETS_PER_OCTAVE)).exp2() * REPRESENTATIVE
}

/// The grid of sketches saved before `scale` (a DDSketch with α = 1 %), read by
/// [`Sketch::from_data`] and moved into the current grid.
mod legacy {
    /// α of the old grid.
    pub(super) const RELATIVE_ACCURACY: f64 = 0.01;
    /// The bound of a sketch moved from the old grid: `(1 + 0.01)(1 + α) − 1` with the current
    /// α (the old representative is within 1 % of a value, the new one within α of it).
    pub(super) const MOVED_RELATIVE_ACCURACY: f64 = 0.015_469_311_010_061_595;
    /// γ = (1 + α) / (1 − α).
    pub(super) const GAMMA: f64 = 1.020_202_020_202_02;
    /// ln γ, as the old grid computed its representatives.
    const LN_GAMMA: f64 = 0.020_000_666_706_669_435;
    /// 2 / (γ + 1): scales γᵏ to the bucket's representative value.
    const REPRESENTATIVE: f64 = 2.0 / (GAMMA + 1.0);
    /// The old keys of 10⁻¹² and 10³⁰⁰.
    pub(super) const MIN_KEY: i32 = -1381;
    pub(super) const MAX_KEY: i32 = 34538;
    /// The most buckets an old store kept.
    pub(super) const MAX_BINS: usize = 2048;

    /// The representative value `2γᵏ / (γ + 1)` of old bucket `key`.
    pub(super) fn value(key: i32) -> f64 {
        (f64::from(key) * LN_GAMMA).exp() * REPRESENTATIVE
    }
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
        self.add_to_bucket(key, n);
        self.total = self.total.saturating_add(n);
    }

    /// Adds one to the bucket of `key` only (the caller adds to `total`), with one
    /// comparison when the key is in the range held.
    #[inline]
    fn add_one_to_bucket(&mut self, key: i32) {
        // A key below the offset wraps to an index past any length.
        let index = key.wrapping_sub(self.offset) as u32 as usize;
        match self.counts.get_mut(index) {
            Some(count) => *count = count.saturating_add(1),
            None => self.add_to_bucket(key, 1),
        }
    }

    /// Adds `n` to the bucket of `key` only: the caller adds to `total`.
    #[inline]
    fn add_to_bucket(&mut self, key: i32, n: u64) {
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
    }

    /// Makes room for a key below the range and returns its index (0 when it had to be folded
    /// into the lowest bucket kept).
    #[cold]
    fn extend_down(&mut self, key: i32) -> usize {
        let span = (self.max_key() - key) as usize + 1;
        let new_offset = if span > MAX_BINS {
            self.max_key() - MAX_BINS as i32 + 1
        } else {
            // Leave an octave of headroom below so a slowly falling minimum does not shift every
            // time.
            (key - BUCKETS_PER_OCTAVE).max(self.max_key() - MAX_BINS as i32 + 1)
        };
        let grow = (self.offset - new_offset) as usize;
        if grow > 0 {
            self.reserve_for(self.counts.len() + grow);
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
        self.reserve_for(len);
        self.counts.resize(len, 0);
        len - 1
    }

    /// Makes room for `len` counts, doubling the capacity as `Vec` would but never past
    /// [`MAX_BINS`], so that a store never holds more than `MAX_BINS × 8` bytes.
    fn reserve_for(&mut self, len: usize) {
        let capacity = self.counts.capacity();
        if len > capacity {
            let target = (2 * capacity).min(MAX_BINS).max(len);
            self.counts.reserve_exact(target - self.counts.len());
        }
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

    /// Checks a saved store against a grid's limits (`max_bins` buckets, keys in `keys`) and
    /// counts its values.
    fn from_data(
        data: StoreData,
        side: &str,
        max_bins: usize,
        keys: std::ops::RangeInclusive<i32>,
    ) -> Result<Self, String> {
        if data.counts.len() > max_bins {
            return Err(format!(
                "sketch {side} store has {} buckets; at most {max_bins} are allowed",
                data.counts.len()
            ));
        }
        let last = i64::from(data.offset) + data.counts.len() as i64 - 1;
        if !data.counts.is_empty() && (data.offset < *keys.start() || last > i64::from(*keys.end()))
        {
            return Err(format!(
                "sketch {side} store covers keys {}..={last}, outside {}..={}",
                data.offset,
                keys.start(),
                keys.end()
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
        // A parser may have grown the vector past its length (by doubling).
        let mut counts = data.counts;
        counts.shrink_to_fit();
        Ok(Self {
            offset: data.offset,
            counts,
            total,
        })
    }

    /// This store of the old grid moved into the current one: each old bucket's representative
    /// goes, with its count, into the bucket of the current grid that holds it.
    fn moved_from_legacy(&self) -> Self {
        let mut moved = Self::default();
        for (old_key, n) in self.buckets() {
            moved.add(key(legacy::value(old_key)), n);
        }
        moved
    }
}

/// A mergeable quantile sketch over `f64` values with [`RELATIVE_ACCURACY`] relative error (or
/// the wider bound of a sketch loaded from an older file: [`relative_accuracy`]).
///
/// Values go into the buckets of OpenTelemetry's base-2 exponential histogram at scale 6: 64
/// buckets per power of two, bucket `i` holding the magnitudes in `(2^(i/64), 2^((i+1)/64)]`.
///
/// [`relative_accuracy`]: Sketch::relative_accuracy
///
/// ```
/// use perftrack::Sketch;
///
/// let mut sketch = Sketch::default();
/// for v in 1..=1000 {
///     sketch.add(f64::from(v));
/// }
/// let p50 = sketch.value_at_rank(499).unwrap();
/// assert!((p50 - 500.0).abs() <= perftrack::RELATIVE_ACCURACY * 500.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sketch {
    zero_count: u64,
    positive: Store,
    negative: Store,
    /// The bound on the relative error of every quantile: [`RELATIVE_ACCURACY`], or wider for
    /// buckets moved from an older grid.
    relative_accuracy: f64,
}

impl Default for Sketch {
    fn default() -> Self {
        Self {
            zero_count: 0,
            positive: Store::default(),
            negative: Store::default(),
            relative_accuracy: RELATIVE_ACCURACY,
        }
    }
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
        self.add_all(std::slice::from_ref(&value));
    }

    /// Adds every value of `values`, as [`add`](Self::add) one by one would (non-finite
    /// values are skipped), with the totals added once for the batch.
    #[inline]
    pub(crate) fn add_all(&mut self, values: &[f64]) {
        let (mut positive, mut negative, mut zero) = (0u64, 0u64, 0u64);
        for &value in values {
            if !value.is_finite() {
                continue;
            }
            if value >= MIN_INDEXABLE {
                self.positive.add_one_to_bucket(key(value));
                positive += 1;
            } else if value <= -MIN_INDEXABLE {
                self.negative.add_one_to_bucket(key(-value));
                negative += 1;
            } else {
                zero += 1;
            }
        }
        self.positive.total = self.positive.total.saturating_add(positive);
        self.negative.total = self.negative.total.saturating_add(negative);
        self.zero_count = self.zero_count.saturating_add(zero);
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

    /// The bound on the relative error of the sketch's quantiles: every
    /// [`value_at_rank`](Self::value_at_rank) is within this fraction of the true order
    /// statistic. [`RELATIVE_ACCURACY`] for a sketch that recorded its values; about 1.547 % for
    /// one loaded from a file written before the current grid (its buckets were moved from the
    /// old 1 % grid, adding both errors); a merge keeps the larger bound of the two.
    ///
    /// ```
    /// let mut sketch = perftrack::Sketch::default();
    /// sketch.add(1.0);
    /// assert_eq!(sketch.relative_accuracy(), perftrack::RELATIVE_ACCURACY);
    /// ```
    pub fn relative_accuracy(&self) -> f64 {
        self.relative_accuracy
    }

    /// Adds every value of `other` to this sketch. Counts saturate at `u64::MAX`. The merged
    /// sketch's [`relative_accuracy`](Self::relative_accuracy) is the larger of the two.
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
        self.relative_accuracy = self.relative_accuracy.max(other.relative_accuracy);
    }

    /// The approximate value of the order statistic at 0-based `rank` (0 is the smallest), or
    /// `None` when `rank >= count()`. It is within
    /// [`relative_accuracy`](Self::relative_accuracy) of the true value.
    ///
    /// ```
    /// let mut sketch = perftrack::Sketch::default();
    /// sketch.add(10.0);
    /// let v = sketch.value_at_rank(0).unwrap();
    /// assert!((v - 10.0).abs() <= perftrack::RELATIVE_ACCURACY * 10.0);
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
        for (v, n) in self.walk() {
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

    /// Every bucket as `(representative value, count)`, in ascending order of value: the
    /// negative store from its largest magnitude down, the zero bucket, the positive store.
    fn walk(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let negatives = self.negative.buckets().rev().map(|(k, n)| (-value(k), n));
        let zeros = std::iter::once((0.0, self.zero_count));
        let positives = self.positive.buckets().map(|(k, n)| (value(k), n));
        negatives.chain(zeros).chain(positives)
    }

    /// Fills `out[i]` with how many values are at most `bounds[i]`; `bounds` must be
    /// ascending and `out` as long. A value counts when its bucket's representative is at
    /// most the bound, so only values within the sketch's relative accuracy α of a bound can be
    /// counted on the wrong side of it: the result lies between the exact counts of values at
    /// most `bound × (1 − α)` and at most `bound / (1 − α)`. One pass over the buckets serves
    /// every bound, and the counts agree with [`value_at_rank`](Self::value_at_rank).
    #[cfg(any(test, feature = "prometheus", feature = "otlp"))]
    pub(crate) fn counts_at_most(&self, bounds: &[f64], out: &mut [u64]) {
        let mut next = 0;
        let mut seen: u64 = 0;
        for (v, n) in self.walk() {
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

    /// The buckets as OTLP's exponential histogram: `(scale, zero_count, positive, negative,
    /// exact)`, where `exact` says whether every count is that of the values in its bucket's
    /// bounds (see [`ExponentialHistogram::exact`](crate::ExponentialHistogram::exact)).
    pub(crate) fn exponential_buckets(&self) -> (i32, u64, BucketCounts, BucketCounts, bool) {
        let side = |store: &Store| {
            let data = store.to_data();
            BucketCounts {
                offset: data.offset,
                counts: data.counts,
            }
        };
        // A store spanning MAX_BINS buckets may have folded its smallest magnitudes into its
        // lowest bucket; below that span it never has.
        let unfolded = |store: &Store| store.counts.len() < MAX_BINS;
        let exact = self.relative_accuracy <= RELATIVE_ACCURACY
            && unfolded(&self.positive)
            && unfolded(&self.negative)
            && self.positive.max_key() < MAX_KEY
            && self.negative.max_key() < MAX_KEY;
        (
            SCALE,
            self.zero_count,
            side(&self.positive),
            side(&self.negative),
            exact,
        )
    }

    /// The saved form: always the current grid (`scale` 6), whatever grid the sketch was loaded
    /// from.
    pub(crate) fn to_data(&self) -> SketchData {
        SketchData {
            scale: Some(SCALE),
            // Written only when wider than the grid's (a sketch moved from the grid before it),
            // so that a file saved again keeps its bound.
            relative_accuracy: (self.relative_accuracy > RELATIVE_ACCURACY)
                .then_some(self.relative_accuracy),
            zero_count: self.zero_count,
            positive: self.positive.to_data(),
            negative: self.negative.to_data(),
        }
    }

    /// Reads a saved sketch: `scale` 6 as it is, or an older sketch (`relative_accuracy` 0.01)
    /// moved into the current grid, with the wider bound that gives.
    pub(crate) fn from_data(data: SketchData) -> Result<Self, String> {
        let (legacy, bound) = match (data.scale, data.relative_accuracy) {
            (Some(SCALE), None) => (false, RELATIVE_ACCURACY),
            // A sketch of this grid whose values came from the grid before: its wider bound.
            (Some(SCALE), Some(a)) if (RELATIVE_ACCURACY..1.0).contains(&a) => (false, a),
            (Some(SCALE), Some(a)) => {
                return Err(format!(
                    "sketch `relative_accuracy` {a} is not a bound of a `scale` {SCALE} sketch; \
                     with `scale` it is at least {RELATIVE_ACCURACY} and below 1"
                ));
            }
            (Some(scale), _) => {
                return Err(format!(
                    "sketch `scale` {scale} is not supported; the only supported scale is {SCALE}"
                ));
            }
            (None, Some(a)) if (a - legacy::RELATIVE_ACCURACY).abs() <= 1e-12 => {
                (true, legacy::MOVED_RELATIVE_ACCURACY)
            }
            (None, Some(a)) => {
                return Err(format!(
                    "sketch `relative_accuracy` {a} is not supported; the only supported value is \
                     {} (sketches written before `scale`), and current sketches have `scale` \
                     {SCALE} instead",
                    legacy::RELATIVE_ACCURACY
                ));
            }
            (None, None) => {
                return Err(format!(
                    "sketch has neither `scale` nor `relative_accuracy`; it needs `scale` \
                     {SCALE} (with a `relative_accuracy` when its bound is wider than the \
                     grid's), or `relative_accuracy` {} alone in sketches written before `scale`",
                    legacy::RELATIVE_ACCURACY
                ));
            }
        };
        let (max_bins, keys) = if legacy {
            (legacy::MAX_BINS, legacy::MIN_KEY..=legacy::MAX_KEY)
        } else {
            (MAX_BINS, MIN_KEY..=MAX_KEY)
        };
        let mut sketch = Self {
            zero_count: data.zero_count,
            positive: Store::from_data(data.positive, "positive", max_bins, keys.clone())?,
            negative: Store::from_data(data.negative, "negative", max_bins, keys)?,
            relative_accuracy: bound,
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
        if legacy {
            sketch.positive = sketch.positive.moved_from_legacy();
            sketch.negative = sketch.negative.moved_from_legacy();
        }
        Ok(sketch)
    }
}

/// The saved form of a [`Sketch`] (see `docs/FORMAT.md`). Written with `scale` (and
/// `relative_accuracy` when the bound is wider than the grid's); read with `scale`, or with
/// `relative_accuracy` alone for the grid before it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SketchData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scale: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) relative_accuracy: Option<f64>,
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
        let gamma = 2f64.powf(1.0 / 64.0);
        assert_eq!(GAMMA, gamma);
        assert_eq!(f64::from(BUCKETS_PER_OCTAVE), 2f64.powi(SCALE));
        assert!((RELATIVE_ACCURACY - (gamma - 1.0) / (gamma + 1.0)).abs() < 1e-17);
        assert!((REPRESENTATIVE - 2.0 * gamma / (gamma + 1.0)).abs() < 1e-15);
        let moved = (1.0 + legacy::RELATIVE_ACCURACY) * (1.0 + RELATIVE_ACCURACY) - 1.0;
        assert!((legacy::MOVED_RELATIVE_ACCURACY - moved).abs() < 1e-15);
        let old_gamma = (1.0 + legacy::RELATIVE_ACCURACY) / (1.0 - legacy::RELATIVE_ACCURACY);
        assert!((legacy::GAMMA - old_gamma).abs() < 1e-15);
        assert_eq!(key(MIN_INDEXABLE), MIN_KEY);
        assert_eq!(key(MAX_INDEXABLE), MAX_KEY);
        assert_eq!(key(f64::MAX), MAX_KEY);
        assert_eq!(key(MIN_INDEXABLE * (1.0 - 1e-3)), MIN_KEY);
        assert!(value(MAX_KEY).is_finite());
        // The old grid's limits, as it computed its keys.
        let old_key = |m: f64| (m.ln() / old_gamma.ln()).ceil() as i32;
        assert_eq!(old_key(MIN_INDEXABLE), legacy::MIN_KEY);
        assert_eq!(old_key(MAX_INDEXABLE), legacy::MAX_KEY);
    }

    /// `M^64` for the integer mantissa `M < 2^53` of a double, as little-endian 64-bit limbs.
    fn pow64(m: u64) -> Vec<u64> {
        let mut x = vec![m];
        for _ in 0..6 {
            let mut square = vec![0u64; 2 * x.len()];
            for (i, &a) in x.iter().enumerate() {
                let mut carry = 0u128;
                for (j, &b) in x.iter().enumerate() {
                    let t = u128::from(a) * u128::from(b) + u128::from(square[i + j]) + carry;
                    square[i + j] = t as u64;
                    carry = t >> 64;
                }
                square[i + x.len()] = carry as u64;
            }
            while square.last() == Some(&0) {
                square.pop();
            }
            x = square;
        }
        x
    }

    /// Whether the mantissa `1 + fraction / 2^52` is above 2^(j/64), decided exactly:
    /// `M / 2^52 > 2^(j/64)` ⇔ `M^64 > 2^(3328 + j)`, and `M^64` is a power of two only for
    /// `fraction == 0`.
    fn above_boundary(fraction: u64, j: u32) -> bool {
        let power = pow64((1 << 52) | fraction);
        let bits = 64 * (power.len() as u32 - 1) + (64 - power[power.len() - 1].leading_zeros());
        let is_power_of_two = power.iter().map(|l| l.count_ones()).sum::<u32>() == 1;
        // M^64 > 2^k ⇔ its bit length is above k + 1, or it is k + 1 and it is not 2^k.
        let k = 52 * 64 + j;
        bits > k + 1 || (bits == k + 1 && !is_power_of_two)
    }

    #[test]
    fn every_boundary_is_the_smallest_double_above_its_power_of_two() {
        for (j, &fraction) in BOUNDARIES.iter().enumerate() {
            let j = j as u32;
            assert!(above_boundary(fraction, j), "boundary {j}");
            assert!(!above_boundary(fraction - 1, j), "boundary {j}");
        }
    }

    #[test]
    fn keys_follow_the_opentelemetry_formula() {
        for e in [-39, -1, 0, 1, 9, 995] {
            let power = 2f64.powi(e);
            // Exact powers of two are the inclusive upper bound of the bucket below.
            assert_eq!(key(power), e * 64 - 1, "2^{e}");
            let (up, down) = (
                f64::from_bits(power.to_bits() + 1),
                f64::from_bits(power.to_bits() - 1),
            );
            assert_eq!(key(up), e * 64, "2^{e} + 1 ulp");
            assert_eq!(key(down), e * 64 - 1, "2^{e} - 1 ulp");
            for (j, &fraction) in BOUNDARIES.iter().enumerate().skip(1) {
                let above = f64::from_bits(power.to_bits() | fraction);
                let at_or_below = f64::from_bits(power.to_bits() | (fraction - 1));
                assert_eq!(key(above), e * 64 + j as i32, "2^({e} + {j}/64) +");
                assert_eq!(
                    key(at_or_below),
                    e * 64 + j as i32 - 1,
                    "2^({e} + {j}/64) -"
                );
            }
        }
        // Away from the boundaries, the textbook formula ceil(64·log2 x) − 1.
        let mut x = MIN_INDEXABLE;
        while x < 1e30 {
            let exact = (x.log2() * 64.0).ceil() as i32 - 1;
            let k = key(x);
            if (x.log2() * 64.0 - (x.log2() * 64.0).round()).abs() > 1e-6 {
                assert_eq!(k, exact, "{x}");
            } else {
                assert!(k.abs_diff(exact) <= 1, "{x}");
            }
            x *= 1.000_731;
        }
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
        // The worst case is at the bucket's two ends.
        for k in [-2000, -1, 0, 1, 640] {
            let (lo, hi) = (
                value(k - 1) / REPRESENTATIVE * GAMMA,
                value(k) / REPRESENTATIVE * GAMMA,
            );
            let v = value(k);
            assert!(((v - lo) / lo - RELATIVE_ACCURACY).abs() < 1e-12);
            assert!(((hi - v) / hi - RELATIVE_ACCURACY).abs() < 1e-12);
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
        assert_eq!(s.positive.counts.len(), MAX_BINS);
        assert_eq!(s.positive.counts.capacity(), MAX_BINS);
        let top = s.value_at_rank(s.count() - 1).unwrap();
        let largest = x / 1.5;
        assert!((top - largest).abs() <= RELATIVE_ACCURACY * largest);
    }

    #[test]
    fn recording_within_the_range_allocates_nothing() {
        let mut s = Sketch::default();
        s.add(1e-3);
        s.add(10.0);
        let (pointer, capacity) = (s.positive.counts.as_ptr(), s.positive.counts.capacity());
        let mut x = 1e-3;
        while x < 10.0 {
            s.add(x);
            x *= 1.001;
        }
        assert_eq!(s.positive.counts.as_ptr(), pointer);
        assert_eq!(s.positive.counts.capacity(), capacity);
    }

    #[test]
    fn data_round_trip_and_validation() {
        let mut s = Sketch::default();
        for v in [0.5, 1.0, 2.0, 0.0, -4.0] {
            s.add(v);
        }
        let data = s.to_data();
        assert_eq!((data.scale, data.relative_accuracy), (Some(6), None));
        let back = Sketch::from_data(data).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.relative_accuracy(), RELATIVE_ACCURACY);
        let mut bad = s.to_data();
        bad.positive.offset = MAX_KEY;
        assert!(Sketch::from_data(bad).is_err());
        let mut bad = s.to_data();
        bad.positive.offset = MIN_KEY - 1;
        assert!(Sketch::from_data(bad).is_err());
        let mut bad = s.to_data();
        bad.positive = StoreData {
            offset: 0,
            counts: vec![1; MAX_BINS + 1],
        };
        let err = Sketch::from_data(bad).unwrap_err();
        assert!(err.contains("at most 4096"), "{err}");
        let mut bad = s.to_data();
        bad.negative.counts = vec![u64::MAX, 1];
        assert!(Sketch::from_data(bad).is_err());
    }

    #[test]
    fn a_moved_sketch_keeps_its_wider_bound_when_saved_again() {
        let mut old = Sketch::default().to_data();
        old.scale = None;
        old.relative_accuracy = Some(legacy::RELATIVE_ACCURACY);
        old.positive = StoreData {
            offset: 100,
            counts: vec![3, 0, 2],
        };
        let moved = Sketch::from_data(old).unwrap();
        assert_eq!(moved.relative_accuracy(), legacy::MOVED_RELATIVE_ACCURACY);
        let saved = moved.to_data();
        assert_eq!(saved.scale, Some(SCALE));
        assert_eq!(
            saved.relative_accuracy,
            Some(legacy::MOVED_RELATIVE_ACCURACY)
        );
        let again = Sketch::from_data(saved).unwrap();
        assert_eq!(again, moved);
        // A sketch of this grid alone writes no bound: the grid's is implied.
        let mut native = Sketch::default();
        native.add(1.0);
        assert_eq!(native.to_data().relative_accuracy, None);
    }

    #[test]
    fn only_scale_6_or_the_old_relative_accuracy_is_read() {
        let s = Sketch::default().to_data();
        let cases = [
            (
                Some(5),
                None,
                "`scale` 5 is not supported; the only supported scale is 6",
            ),
            (
                Some(6),
                Some(0.001),
                "`relative_accuracy` 0.001 is not a bound of a `scale` 6 sketch",
            ),
            (None, None, "neither `scale` nor `relative_accuracy`"),
            (
                None,
                Some(0.02),
                "`relative_accuracy` 0.02 is not supported",
            ),
        ];
        for (scale, relative_accuracy, want) in cases {
            let err = Sketch::from_data(SketchData {
                scale,
                relative_accuracy,
                ..s.clone()
            })
            .unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }

    /// A sketch of the old grid holding `counts` at old keys `offset ..` of the positive store.
    fn old(offset: i32, counts: Vec<u64>) -> SketchData {
        SketchData {
            scale: None,
            relative_accuracy: Some(0.01),
            zero_count: 0,
            positive: StoreData { offset, counts },
            negative: StoreData::default(),
        }
    }

    #[test]
    fn old_sketches_move_into_the_grid_with_the_wider_bound() {
        // The widest old store, at both ends of the old key range.
        for offset in [
            legacy::MIN_KEY,
            legacy::MAX_KEY + 1 - legacy::MAX_BINS as i32,
            0,
        ] {
            let s = Sketch::from_data(old(offset, vec![1; legacy::MAX_BINS])).unwrap();
            assert_eq!(s.count(), legacy::MAX_BINS as u64);
            assert_eq!(s.relative_accuracy(), legacy::MOVED_RELATIVE_ACCURACY);
            assert!(s.positive.counts.len() <= MAX_BINS);
            for rank in 0..s.count() {
                let old_value = legacy::value(offset + rank as i32);
                let got = s.value_at_rank(rank).unwrap();
                assert!(
                    (got - old_value).abs() <= RELATIVE_ACCURACY * old_value * (1.0 + 1e-9)
                        || old_value < MIN_INDEXABLE,
                    "{rank}: {got} vs {old_value}"
                );
            }
            // It saves as a sketch of the current grid, which loads back the same buckets.
            let back = Sketch::from_data(s.to_data()).unwrap();
            assert_eq!(
                (back.positive.clone(), back.count()),
                (s.positive.clone(), s.count())
            );
        }
        // The old limits apply to old sketches.
        let err = Sketch::from_data(old(0, vec![1; legacy::MAX_BINS + 1])).unwrap_err();
        assert!(err.contains("at most 2048"), "{err}");
        assert!(Sketch::from_data(old(legacy::MAX_KEY, vec![1, 1])).is_err());
        assert!(Sketch::from_data(old(legacy::MIN_KEY - 1, vec![1])).is_err());
        assert!(Sketch::from_data(old(0, vec![u64::MAX, 1])).is_err());
    }

    #[test]
    fn exponential_buckets_mirror_negatives_and_say_when_they_are_exact() {
        let mut s = Sketch::default();
        for v in [-1.0, -2.0, -0.75, 0.0, 5e-13, -5e-13, 1e-12, 2.0] {
            s.add(v);
        }
        let (scale, zero, positive, negative, exact) = s.exponential_buckets();
        assert_eq!((scale, zero, exact), (6, 3, true));
        // 10⁻¹² is not zero: it is the lowest index; 2 = 2^1 ends bucket 63.
        assert_eq!(positive.offset, MIN_KEY);
        assert_eq!(positive.offset + positive.counts.len() as i32 - 1, 63);
        assert_eq!(positive.counts.iter().sum::<u64>(), 2);
        // Magnitudes 0.75 (bucket ceil(64·log2 0.75) − 1 = −27), 1 = 2^0 (−1) and 2 (63).
        assert_eq!(negative.offset, -27);
        let at = |i: i32| negative.counts[(i - negative.offset) as usize];
        assert_eq!((at(-27), at(-1), at(63)), (1, 1, 1));
        assert_eq!(negative.counts.iter().sum::<u64>(), 3);
        // The zero bucket is OTLP's `|x| <= zero_threshold`: the largest double below 10⁻¹².
        let threshold = crate::stats::exponential::ZERO_THRESHOLD;
        assert!(threshold < 1e-12 && f64::from_bits(threshold.to_bits() + 1) == 1e-12);

        // Buckets moved from the older grid were not counted value by value.
        let moved = Sketch::from_data(old(0, vec![3])).unwrap();
        assert!(!moved.exponential_buckets().4);
        // A store that reached its 4096 buckets may have folded its smallest magnitudes.
        let mut wide = Sketch::default();
        wide.add(1e-9);
        wide.add(1e12);
        assert!(!wide.exponential_buckets().4);
        let mut narrow = Sketch::default();
        narrow.add(1e-9);
        narrow.add(1e9);
        assert!(narrow.exponential_buckets().4);
    }

    #[test]
    fn a_merge_keeps_the_wider_bound() {
        let moved = Sketch::from_data(old(0, vec![3])).unwrap();
        let mut s = Sketch::default();
        s.add(2.0);
        let mut merged = s.clone();
        merged.merge(&moved);
        assert_eq!(merged.relative_accuracy(), legacy::MOVED_RELATIVE_ACCURACY);
        assert_eq!(merged.count(), 4);
        let mut other_way = moved;
        other_way.merge(&s);
        assert_eq!(other_way.to_data(), merged.to_data());
        assert_eq!(other_way.relative_accuracy(), merged.relative_accuracy());
    }

    /// A sketch of `n` values in bucket `key` of the positive store.
    fn bucket(key: i32, n: u64) -> Sketch {
        Sketch::from_data(SketchData {
            scale: Some(SCALE),
            relative_accuracy: None,
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
        // A value 4096 keys above folds both full buckets into the lowest one kept.
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
