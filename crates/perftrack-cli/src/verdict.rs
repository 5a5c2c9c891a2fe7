//! The verdict on a change, shared by `compare` and `bench`: is it real, is it beyond the
//! threshold and the noise floor, and which way; and the exit code a set of verdicts gives.
//!
//! A change is judged in three steps:
//!
//! 1. *Evidence.* With the exact values of both sides and at least the test's minimum per
//!    side (8, or `--min-values`), a Mann–Whitney U test gives a p-value. With fewer values,
//!    or only a sketch, there is no test.
//! 2. *Correction.* When several changes are tested at once (labels, readings, figures), the
//!    p-values are adjusted with Holm–Bonferroni, so that the chance of calling any unchanged
//!    one real stays below `--alpha`; `Correction::None` keeps them as they are.
//! 3. *Verdict.* A change within the threshold, or smaller than its reading's noise floor (10 ms
//!    of CPU time, 1 MiB of memory), is noise. Beyond both, a real change is a regression or an
//!    improvement; a tested change that is not real at `--alpha` is *inconclusive* when it goes
//!    the bad way (an unconfirmed regression: more values would tell) and noise otherwise.
//!    Without a test, today's rule stays: with too few values the threshold alone decides
//!    (unless `--min-values` was given: then such a change is inconclusive), and with a sketch
//!    the threshold plus the sketch's error decides.

use serde::Serialize;

use crate::mann_whitney;
use crate::series::Direction;

/// The smallest sample per side for which the test's normal approximation is used, unless
/// `--min-values` says otherwise.
pub(crate) const MIN_TEST_SAMPLES: usize = 8;

/// How p-values of several tests at once are adjusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Correction {
    /// Holm–Bonferroni: the family-wise error stays below alpha.
    Holm,
    /// Each test on its own.
    None,
}

/// The gating options `compare` and `bench` share.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct GateArgs {
    /// The smallest change that matters: a percentage (`5%`) or a fraction (`0.05`).
    #[arg(long, default_value = "5%", value_parser = parse_threshold)]
    pub(crate) threshold: f64,
    /// The significance level of the statistical test.
    #[arg(long, default_value_t = 0.01, value_parser = parse_alpha)]
    pub(crate) alpha: f64,
    /// The fewest values per side for the statistical test (exact below 8 values without
    /// ties). Without it, labels with fewer than 8 values are judged by the threshold alone;
    /// with it, a change beyond the threshold on a label with fewer than N values is
    /// inconclusive (exit 3).
    #[arg(long, value_name = "N", value_parser = parse_min_values)]
    pub(crate) min_values: Option<usize>,
    /// How the p-values of several tests at once are adjusted.
    #[arg(long, value_enum, default_value_t = Correction::Holm)]
    pub(crate) correction: Correction,
    /// Exit with code 1 on a regression, and with code 3 when a change beyond the threshold
    /// could not be confirmed (inconclusive).
    #[arg(long)]
    pub(crate) fail_on_regression: bool,
    /// With `--fail-on-regression`, exit 0 rather than 3 when the only findings are
    /// inconclusive.
    #[arg(long, requires = "fail_on_regression")]
    pub(crate) allow_inconclusive: bool,
}

impl Default for GateArgs {
    fn default() -> Self {
        Self {
            threshold: 0.05,
            alpha: 0.01,
            min_values: None,
            correction: Correction::Holm,
            fail_on_regression: false,
            allow_inconclusive: false,
        }
    }
}

/// `5%` (a percentage) or `0.05` (a fraction below 1), as a fraction.
pub(crate) fn parse_threshold(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, percent) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a threshold (write 5% or 0.05)"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("the threshold `{text}` must be zero or more"));
    }
    if percent {
        return Ok(value / 100.0);
    }
    if value >= 1.0 {
        return Err(format!(
            "a threshold without `%` is a fraction below 1; did you mean {value}%?"
        ));
    }
    Ok(value)
}

fn parse_alpha(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(a) if a > 0.0 && a < 1.0 => Ok(a),
        _ => Err(format!(
            "`{text}` is not a significance level between 0 and 1"
        )),
    }
}

fn parse_min_values(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 2 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of values (2 or more: the test needs two per side)"
        )),
    }
}

/// The outcome of one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// A real change beyond the threshold and the noise floor, in the bad direction.
    Regression,
    /// A real change beyond the threshold and the noise floor, in the good direction.
    Improvement,
    /// A change beyond the threshold and the noise floor in the bad direction that the test
    /// could judge but did not find real at alpha.
    Inconclusive,
    /// Not real, within the threshold, or under the noise floor.
    Noise,
    /// The label is in only one of the files.
    Missing,
    /// A token count: the change is shown, never judged.
    NotJudged,
}

impl Verdict {
    /// As the tables write it.
    pub(crate) fn shown(self, markdown: bool) -> &'static str {
        match self {
            Verdict::Regression if markdown => "**regression**",
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "improvement",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Noise => "noise",
            Verdict::Missing => "missing",
            Verdict::NotJudged => "not judged",
        }
    }
}

/// A p-value as the tables write it.
pub(crate) fn p_value(p: f64) -> String {
    if p < 1e-4 {
        "<0.0001".to_owned()
    } else {
        format!("{p:.4}")
    }
}

/// The closing line of a comparison: `1 regression, 2 inconclusive (threshold 5%, α = 0.01)`.
pub(crate) fn summary_line(
    regressions: usize,
    inconclusive: usize,
    threshold: f64,
    alpha: f64,
) -> String {
    let mut line = format!(
        "{regressions} regression{}",
        if regressions == 1 { "" } else { "s" }
    );
    if inconclusive > 0 {
        line.push_str(&format!(", {inconclusive} inconclusive"));
    }
    format!("{line} (threshold {}%, α = {alpha})\n", threshold * 100.0)
}

/// How "real" was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) enum Method {
    /// The Mann–Whitney U test on both sides' exact values.
    #[serde(rename = "mann-whitney")]
    MannWhitney,
    /// Too few values for the test.
    #[serde(rename = "too few values")]
    TooFewValues,
    /// Only a sketch on a side: the threshold plus the sketch's error decides.
    #[serde(rename = "sketch")]
    Sketch,
    /// Token counts.
    #[serde(rename = "not judged")]
    NotJudged,
}

impl Method {
    /// As the output writes it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::MannWhitney => "mann-whitney",
            Method::TooFewValues => "too few values",
            Method::Sketch => "sketch",
            Method::NotJudged => "not judged",
        }
    }
}

/// One change to judge: the compared statistic of both sides, in one unit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Case<'a> {
    pub(crate) base: f64,
    pub(crate) new: f64,
    /// Both sides' exact values, when both keep them.
    pub(crate) values: Option<(&'a [f64], &'a [f64])>,
    /// The summed relative error of the sketched sides (0 when exact).
    pub(crate) sketch_error: f64,
    pub(crate) direction: Direction,
    /// A change smaller than this (in the unit of `base` and `new`) is noise.
    pub(crate) noise_floor: f64,
}

/// The judgement of one [`Case`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Judged {
    /// `(new - base) / |base|`; `None` when infinite (a base of 0).
    pub(crate) change: Option<f64>,
    pub(crate) method: Method,
    /// The Mann–Whitney U of the base sample, when the test ran.
    pub(crate) u: Option<f64>,
    /// The test's own p-value.
    pub(crate) p_value: Option<f64>,
    /// The p-value adjusted for the tests judged with it (equal to `p_value` without a
    /// correction, or when only one test ran).
    pub(crate) adjusted_p_value: Option<f64>,
    /// Whether the change is statistically real.
    pub(crate) real: bool,
    pub(crate) verdict: Verdict,
}

/// The relative change from `base` to `new`: ±infinity from a base of 0.
pub(crate) fn relative_change(base: f64, new: f64) -> f64 {
    if base != 0.0 {
        (new - base) / base.abs()
    } else if new == 0.0 {
        0.0
    } else {
        f64::INFINITY.copysign(new)
    }
}

/// Judges every case together: the tests' p-values are corrected as one family.
pub(crate) fn judge_all(cases: &[Case<'_>], gate: &GateArgs) -> Vec<Judged> {
    let min_test = gate.min_values.unwrap_or(MIN_TEST_SAMPLES);
    let mut judged: Vec<Judged> = cases
        .iter()
        .map(|case| {
            let change = relative_change(case.base, case.new);
            let mut j = Judged {
                change: change.is_finite().then_some(change),
                method: Method::NotJudged,
                u: None,
                p_value: None,
                adjusted_p_value: None,
                real: false,
                verdict: Verdict::NotJudged,
            };
            if case.direction == Direction::Neither {
                return j;
            }
            j.method = match case.values {
                Some((a, b)) if a.len() >= min_test && b.len() >= min_test => {
                    let test = mann_whitney::test(a, b);
                    j.u = Some(test.u);
                    j.p_value = Some(test.p_value);
                    Method::MannWhitney
                }
                Some(_) => Method::TooFewValues,
                None => Method::Sketch,
            };
            j
        })
        .collect();
    let p_values: Vec<f64> = judged.iter().filter_map(|j| j.p_value).collect();
    let adjusted = match gate.correction {
        Correction::Holm => holm(&p_values),
        Correction::None => p_values,
    };
    let mut adjusted = adjusted.into_iter();
    for (j, case) in judged.iter_mut().zip(cases) {
        if j.method == Method::NotJudged {
            continue;
        }
        let change = relative_change(case.base, case.new);
        let beyond =
            change.abs() > gate.threshold && (case.new - case.base).abs() >= case.noise_floor;
        j.real = match j.method {
            Method::MannWhitney => {
                let p = adjusted.next().unwrap_or(1.0);
                j.adjusted_p_value = Some(p);
                p < gate.alpha
            }
            Method::TooFewValues => change.abs() > gate.threshold,
            Method::Sketch => change.abs() > gate.threshold + case.sketch_error,
            Method::NotJudged => false,
        };
        let worse = match case.direction {
            Direction::HigherIsWorse => change > 0.0,
            Direction::LowerIsWorse => change < 0.0,
            Direction::Neither => false,
        };
        // Too few values under `--min-values`: the threshold no longer decides alone.
        let untestable = j.method == Method::TooFewValues && gate.min_values.is_some();
        j.verdict = match (beyond, j.real && !untestable, worse) {
            (false, _, _) => Verdict::Noise,
            (true, true, true) => Verdict::Regression,
            (true, true, false) => Verdict::Improvement,
            (true, false, true) if j.method == Method::MannWhitney || untestable => {
                Verdict::Inconclusive
            }
            (true, false, _) => Verdict::Noise,
        };
    }
    judged
}

/// Holm–Bonferroni adjusted p-values, in the order given: the i-th smallest of m is
/// multiplied by m − i + 1 (i from 1), and the adjusted values are kept non-decreasing in
/// that order and at most 1. A change is real at alpha when its adjusted p-value is below
/// alpha: the same decisions as Holm's step-down procedure.
pub(crate) fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (i, &index) in order.iter().enumerate() {
        let scaled = (p_values[index] * (m - i) as f64).min(1.0);
        running = running.max(scaled);
        adjusted[index] = running;
    }
    adjusted
}

/// The exit code of a set of verdicts: 0 without `--fail-on-regression`; with it, 1 on any
/// regression, else 3 on any inconclusive change (0 with `--allow-inconclusive`), else 0.
/// (Errors, 2, come first and never reach here.)
pub(crate) fn exit_code(verdicts: impl IntoIterator<Item = Verdict>, gate: &GateArgs) -> u8 {
    if !gate.fail_on_regression {
        return 0;
    }
    let mut code = 0;
    for verdict in verdicts {
        match verdict {
            Verdict::Regression => return 1,
            Verdict::Inconclusive if !gate.allow_inconclusive => code = 3,
            _ => {}
        }
    }
    code
}

/// The line saying how p-values were corrected, when several tests ran.
pub(crate) fn correction_note(judged: &[Judged], gate: &GateArgs) -> Option<String> {
    let tests = judged.iter().filter(|j| j.p_value.is_some()).count();
    (tests > 1).then(|| match gate.correction {
        Correction::Holm => format!(
            "p-values adjusted for {tests} tests at once (Holm–Bonferroni; --correction none \
             to test each on its own)"
        ),
        Correction::None => {
            format!("{tests} tests, each on its own (--correction none): expect false alarms")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case<'a>(base: &'a [f64], new: &'a [f64]) -> Case<'a> {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        Case {
            base: mean(base),
            new: mean(new),
            values: Some((base, new)),
            sketch_error: 0.0,
            direction: Direction::HigherIsWorse,
            noise_floor: 0.0,
        }
    }

    fn gate() -> GateArgs {
        GateArgs {
            fail_on_regression: true,
            ..GateArgs::default()
        }
    }

    fn values(from: f64, step: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| from + step * i as f64).collect()
    }

    #[test]
    fn holm_matches_a_hand_computation() {
        // Sorted: 0.01 (×3 = 0.03), 0.02 (×2 = 0.04), 0.04 (×1 = 0.04); back in input order.
        let adjusted = holm(&[0.04, 0.01, 0.02]);
        let expected = [0.04, 0.03, 0.04];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
        // Monotone: a later, scaled-down value never falls below an earlier one; capped at 1.
        let adjusted = holm(&[0.001, 0.0011, 0.9]);
        assert!((adjusted[0] - 0.003).abs() < 1e-12);
        assert!((adjusted[1] - 0.0030).abs() < 1e-12, "{adjusted:?}");
        assert_eq!(adjusted[2], 0.9);
        assert_eq!(holm(&[0.6, 0.7]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn holm_decides_as_the_step_down_procedure_on_random_p_values() {
        use rand_chacha::ChaCha8Rng;
        use rand_chacha::rand_core::{RngCore, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let alpha = 0.05;
        for _ in 0..2_000 {
            let m = 1 + (rng.next_u32() % 12) as usize;
            // Uniform p-values with some very small ones, as real changes give.
            let p: Vec<f64> = (0..m)
                .map(|_| {
                    let u = f64::from(rng.next_u32()) / f64::from(u32::MAX);
                    if rng.next_u32() % 3 == 0 { u * 0.01 } else { u }
                })
                .collect();
            // Holm's procedure: walk the sorted p-values, rejecting while p_(i) < α/(m − i + 1).
            let mut order: Vec<usize> = (0..m).collect();
            order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
            let mut rejected = vec![false; m];
            for (i, &index) in order.iter().enumerate() {
                if p[index] < alpha / (m - i) as f64 {
                    rejected[index] = true;
                } else {
                    break;
                }
            }
            let adjusted = holm(&p);
            for i in 0..m {
                assert_eq!(adjusted[i] < alpha, rejected[i], "{p:?} → {adjusted:?}");
                assert!(adjusted[i] >= p[i] && adjusted[i] <= 1.0);
            }
        }
    }

    #[test]
    fn separated_samples_are_a_regression_and_exit_1() {
        let (base, new) = (values(100.0, 1.0, 10), values(120.0, 1.0, 10));
        let j = judge_all(&[case(&base, &new)], &gate());
        assert_eq!(j[0].verdict, Verdict::Regression);
        assert_eq!(j[0].method, Method::MannWhitney);
        assert!(j[0].p_value.unwrap() < 0.001);
        assert_eq!(exit_code(j.iter().map(|j| j.verdict), &gate()), 1);
        // The other way round it is an improvement, and no failure.
        let j = judge_all(&[case(&new, &base)], &gate());
        assert_eq!(j[0].verdict, Verdict::Improvement);
        assert_eq!(exit_code(j.iter().map(|j| j.verdict), &gate()), 0);
    }

    #[test]
    fn a_large_change_the_test_cannot_confirm_is_inconclusive_and_exit_3() {
        // Means 100 and 110 (+10 %), but the samples overlap: ranks cannot tell them apart.
        let base = [80.0, 120.0, 90.0, 110.0, 100.0, 70.0, 130.0, 100.0];
        let new = [90.0, 130.0, 100.0, 120.0, 110.0, 80.0, 140.0, 110.0];
        let j = judge_all(&[case(&base, &new)], &gate());
        assert!(j[0].p_value.unwrap() > 0.01, "{j:?}");
        assert_eq!(j[0].verdict, Verdict::Inconclusive);
        assert_eq!(exit_code([j[0].verdict], &gate()), 3);
        let allow = GateArgs {
            allow_inconclusive: true,
            ..gate()
        };
        assert_eq!(exit_code([j[0].verdict], &allow), 0);
        // Without --fail-on-regression nothing fails.
        assert_eq!(exit_code([j[0].verdict], &GateArgs::default()), 0);
        // An unconfirmed improvement is noise.
        let j = judge_all(&[case(&new, &base)], &gate());
        assert_eq!(j[0].verdict, Verdict::Noise);
    }

    #[test]
    fn the_first_of_1_and_3_wins() {
        let g = gate();
        let code = |v: &[Verdict]| exit_code(v.iter().copied(), &g);
        assert_eq!(code(&[Verdict::Inconclusive, Verdict::Regression]), 1);
        assert_eq!(code(&[Verdict::Noise, Verdict::Inconclusive]), 3);
        assert_eq!(code(&[Verdict::Improvement, Verdict::Missing]), 0);
    }

    #[test]
    fn a_change_under_the_noise_floor_is_noise() {
        // CPU seconds 5 ms → 8 ms: +60 % and clearly separated, but 3 ms is under 10 ms.
        let base = values(0.005, 0.000_01, 10);
        let new = values(0.008, 0.000_01, 10);
        let mut c = case(&base, &new);
        c.noise_floor = 0.010;
        assert_eq!(judge_all(&[c], &gate())[0].verdict, Verdict::Noise);
        c.noise_floor = 0.001;
        assert_eq!(judge_all(&[c], &gate())[0].verdict, Verdict::Regression);
    }

    #[test]
    fn too_few_values_keep_the_threshold_rule_unless_min_values_is_given() {
        let (base, new) = ([10.0, 11.0, 12.0], [20.0, 21.0, 22.0]);
        let j = judge_all(&[case(&base, &new)], &gate());
        assert_eq!(
            (j[0].method, j[0].verdict),
            (Method::TooFewValues, Verdict::Regression)
        );
        let (same_b, same_n) = ([10.0, 11.0, 12.0], [10.2, 11.0, 12.1]);
        let j = judge_all(&[case(&same_b, &same_n)], &gate());
        assert_eq!(j[0].verdict, Verdict::Noise);
        // --min-values 8: the same label cannot be tested, and the change is inconclusive.
        let strict = GateArgs {
            min_values: Some(8),
            ..gate()
        };
        let j = judge_all(&[case(&base, &new)], &strict);
        assert_eq!(j[0].verdict, Verdict::Inconclusive);
        // --min-values 3: it is tested, exactly: 3 against 3 completely apart is p = 2/20,
        // inconclusive at 0.01 ...
        let three = GateArgs {
            min_values: Some(3),
            ..gate()
        };
        let j = judge_all(&[case(&base, &new)], &three);
        assert_eq!(
            (j[0].method, j[0].verdict),
            (Method::MannWhitney, Verdict::Inconclusive)
        );
        assert!((j[0].p_value.unwrap() - 0.1).abs() < 1e-12);
        // ... and real at alpha 0.15.
        let loose = GateArgs {
            alpha: 0.15,
            ..three
        };
        assert_eq!(
            judge_all(&[case(&base, &new)], &loose)[0].verdict,
            Verdict::Regression
        );
    }

    #[test]
    fn holm_turns_a_lone_real_change_among_many_into_an_inconclusive_one() {
        // Ten figures: one shifted just enough for p < 0.01 on its own, nine unchanged.
        let base = values(100.0, 1.0, 10);
        let shifted: Vec<f64> = base.iter().map(|v| v + 6.5).collect();
        let one = judge_all(&[case(&base, &shifted)], &gate())[0];
        let p = one.p_value.unwrap();
        assert!(p < 0.01 && p * 10.0 > 0.01, "p = {p}");
        assert_eq!(one.verdict, Verdict::Regression);
        let mut cases = vec![case(&base, &shifted)];
        cases.extend((0..9).map(|_| case(&base, &base)));
        let all = judge_all(&cases, &gate());
        assert!((all[0].adjusted_p_value.unwrap() - p * 10.0).abs() < 1e-12);
        assert_eq!(all[0].verdict, Verdict::Inconclusive);
        assert!(correction_note(&all, &gate()).unwrap().contains("10 tests"));
        let none = GateArgs {
            correction: Correction::None,
            ..gate()
        };
        assert_eq!(judge_all(&cases, &none)[0].verdict, Verdict::Regression);
    }

    #[test]
    fn thresholds_read_as_percentages_or_fractions() {
        assert_eq!(parse_threshold("5%"), Ok(0.05));
        assert_eq!(parse_threshold(" 2.5 % "), Ok(0.025));
        assert_eq!(parse_threshold("0.05"), Ok(0.05));
        assert_eq!(parse_threshold("0"), Ok(0.0));
        assert!(
            parse_threshold("5")
                .unwrap_err()
                .contains("did you mean 5%")
        );
        assert!(parse_threshold("-1%").is_err());
        assert!(parse_threshold("five").is_err());
        assert!(parse_threshold("NaN%").is_err());
        assert!(parse_min_values("1").is_err());
        assert_eq!(parse_min_values("5"), Ok(5));
    }
}
