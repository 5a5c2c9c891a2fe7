//! The Mann–Whitney U test (Wilcoxon rank-sum): do two samples come from the same
//! distribution, or does one tend to hold larger values? Two-sided. With a side of fewer than
//! [`EXACT_BELOW`] values and no ties, the p-value is exact (U's distribution counted over
//! every ordering of the pooled values); otherwise the normal approximation with the tie
//! correction and a continuity correction.

/// The test's outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct MannWhitney {
    /// U of the first sample: how many pairs (a, b) have a > b, ties counting one half.
    pub(crate) u: f64,
    /// The standard score of `u` under the null hypothesis (continuity-corrected).
    pub(crate) z: f64,
    /// The two-sided p-value.
    pub(crate) p_value: f64,
}

/// Below this many values on a side, and without ties, the p-value is exact: the normal
/// approximation is rough there (for 5 against 5 completely apart it gives 0.012 where the
/// exact value is 2/252 = 0.0079).
pub(crate) const EXACT_BELOW: usize = 8;

/// Tests samples `a` and `b` (neither empty). All values equal gives `z = 0`, `p = 1`.
pub(crate) fn test(a: &[f64], b: &[f64]) -> MannWhitney {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let n = n1 + n2;
    // Pool the samples, remembering which each value came from, and rank them.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i + 1;
        while j < pooled.len() && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        // Tied values share the mean of ranks i+1 ..= j (1-based).
        let rank = (i + 1 + j) as f64 / 2.0;
        let from_a = pooled[i..j].iter().filter(|(_, in_a)| *in_a).count() as f64;
        rank_sum_a += rank * from_a;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if variance <= 0.0 || !variance.is_finite() {
        return MannWhitney {
            u,
            z: 0.0,
            p_value: 1.0,
        };
    }
    let diff = u - mean;
    // The continuity correction moves U half a step toward the mean.
    let corrected = (diff.abs() - 0.5).max(0.0).copysign(diff);
    let z = corrected / variance.sqrt();
    let small = a.len().min(b.len()) < EXACT_BELOW;
    let p_value = if small && tie_term == 0.0 {
        exact_p_value(a.len(), b.len(), u)
    } else {
        (2.0 * normal_upper_tail(z.abs())).min(1.0)
    };
    MannWhitney { u, z, p_value }
}

/// The exact two-sided p-value of U = `u` (a whole number without ties) for samples of `m`
/// and `n` values: twice the smaller tail of U's distribution, at most 1.
fn exact_p_value(m: usize, n: usize, u: f64) -> f64 {
    let counts = u_counts(m, n);
    let total: f64 = counts.iter().sum();
    let k = u.round() as usize;
    let lower: f64 = counts[..=k.min(m * n)].iter().sum();
    let upper: f64 = counts[k.min(m * n)..].iter().sum();
    (2.0 * lower.min(upper) / total).min(1.0)
}

/// How many orderings of `m` values of one sample and `n` of the other give U = 0, 1, …,
/// m·n: with f(i, j) the counts for i and j values, f(i, j)[k] = f(i − 1, j)[k − j] +
/// f(i, j − 1)[k] (the largest value is from the first sample, adding j to U, or from the
/// second, adding nothing).
fn u_counts(m: usize, n: usize) -> Vec<f64> {
    // table[j] holds f(i, j) for the current i.
    let mut table: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
    for i in 1..=m {
        let mut row: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        row.push(vec![1.0]);
        for j in 1..=n {
            let mut counts = vec![0.0; i * j + 1];
            for (k, c) in table[j].iter().enumerate() {
                counts[k + j] += c;
            }
            for (k, c) in row[j - 1].iter().enumerate() {
                counts[k] += c;
            }
            row.push(counts);
        }
        table = row;
    }
    table.swap_remove(n)
}

/// P(Z > z) for a standard normal Z.
pub(crate) fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, with relative error below 1.2e-7 everywhere (the
/// Chebyshev fit of Press et al., *Numerical Recipes*, §6.2).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_computed_case_with_ties() {
        // a = [1, 2, 3, 4, 5], b = [3, 6, 7, 8, 9, 10].
        // Pooled ranks: 1→1, 2→2, 3,3→3.5 each, 4→5, 5→6, 6..10→7..11.
        // R_a = 1 + 2 + 3.5 + 5 + 6 = 17.5; U_a = 17.5 - 5·6/2 = 2.5.
        // Mean 5·6/2 = 15. One tie of two values: Σ(t³ - t) = 6.
        // Variance = 30/12 · (12 - 6/(11·10)) = 2.5 · 11.945454… = 29.863636…
        // z = (2.5 - 15 + 0.5) / √29.863636 = -12 / 5.464763 = -2.195887
        // p = 2 · P(Z > 2.195887) = erfc(2.195887 / √2) = 0.028100.
        let r = test(&[1.0, 2.0, 3.0, 4.0, 5.0], &[3.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(r.u, 2.5);
        assert!((r.z - (-2.195_887)).abs() < 1e-6, "z = {}", r.z);
        assert!((r.p_value - 0.028_100).abs() < 1e-6, "p = {}", r.p_value);
        // Swapping the samples mirrors U and keeps p.
        let s = test(&[3.0, 6.0, 7.0, 8.0, 9.0, 10.0], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.u, 30.0 - 2.5);
        assert!((s.p_value - r.p_value).abs() < 1e-12);
    }

    #[test]
    fn small_samples_without_ties_get_the_exact_p_value() {
        // 5 against 5 completely apart: 2 of the C(10, 5) = 252 orderings are as extreme.
        let r = test(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(r.u, 0.0);
        assert!((r.p_value - 2.0 / 252.0).abs() < 1e-12, "p = {}", r.p_value);
        // 3 against 4, U = 1: orderings with U ≤ 1 are 2 of C(7, 3) = 35 (U = 0 and U = 1).
        let r = test(&[1.0, 2.0, 4.0], &[3.0, 5.0, 6.0, 7.0]);
        assert_eq!(r.u, 1.0);
        assert!((r.p_value - 4.0 / 35.0).abs() < 1e-12, "p = {}", r.p_value);
        // The distribution of U is symmetric and sums to C(m + n, m).
        let counts = u_counts(3, 4);
        assert_eq!(counts.iter().sum::<f64>(), 35.0);
        assert_eq!(counts, counts.iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(counts[..3], [1.0, 1.0, 2.0]);
        // In the middle, p is 1.
        let r = test(&[1.0, 4.0, 5.0, 8.0], &[2.0, 3.0, 6.0, 7.0]);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn the_counted_distribution_of_u_matches_every_ordering_enumerated() {
        for m in 1..=6 {
            for n in 1..=6 {
                let mut counts = vec![0.0; m * n + 1];
                // Each ordering of the pooled values is the set of positions (in increasing
                // order) the first sample holds; U counts, for each of them, the second
                // sample's values below it.
                for mask in 0u32..(1 << (m + n)) {
                    if mask.count_ones() as usize != m {
                        continue;
                    }
                    let mut u = 0;
                    let mut below = 0;
                    for position in 0..m + n {
                        if mask & (1 << position) != 0 {
                            u += below;
                        } else {
                            below += 1;
                        }
                    }
                    counts[u] += 1.0;
                }
                assert_eq!(u_counts(m, n), counts, "m = {m}, n = {n}");
            }
        }
    }

    #[test]
    fn identical_samples_are_no_evidence() {
        let r = test(&[4.0; 10], &[4.0; 7]);
        assert_eq!((r.z, r.p_value), (0.0, 1.0));
        let r = test(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!(r.u, 4.5);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn the_normal_tail_matches_known_values() {
        for (z, tail) in [
            (0.0, 0.5),
            (1.0, 0.158_655_25),
            (1.959_964, 0.025),
            (3.0, 0.001_349_898),
            (-1.0, 0.841_344_75),
        ] {
            let got = normal_upper_tail(z);
            assert!((got - tail).abs() <= 1e-7 + 2e-7 * tail, "z = {z}: {got}");
        }
    }
}
