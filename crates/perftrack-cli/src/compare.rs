//! `perftrack compare`: two runs label by label, telling real changes from noise.
//!
//! A change is *real* when a Mann–Whitney U test on the exact values both files retain
//! rejects "same distribution" at `--alpha`. When a side has no exact values (more than
//! `exact_limit` measurements, so only the sketch), or too few for the test, a change is real
//! only if it is larger than the threshold plus the relative error of the figures (for a
//! sketch's percentile, its distribution's `relative_accuracy`: about 0.54 %, or 1.55 % for a
//! sketch read from a file written before the current sketch grid; 0 for exact ones). A *regression* is a real change beyond the
//! threshold in the bad direction: up for latency, memory, CPU and generation times, down for
//! throughput and output tokens per second. Token counts (`input_tokens`, `output_tokens`) are
//! shown but never judged: more or fewer tokens is what the requests asked for, not a change
//! in speed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::bail;
use comfy_table::{CellAlignment, Table, presets};
use serde::Serialize;

use crate::inputs::{self, Input};
use crate::mann_whitney;
use crate::series::{self, Direction, Series};

/// Arguments of `perftrack compare`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The baseline: a metrics file, a run container, or a folder of them.
    #[arg(value_name = "BASE")]
    base: PathBuf,
    /// The run to judge, of the same tracker types as BASE.
    #[arg(value_name = "NEW")]
    new: PathBuf,
    /// The statistic compared: p50, p90, p95, p99, median, mean, min or max.
    #[arg(long, default_value = "p95", value_parser = parse_metric)]
    metric: Metric,
    /// The smallest change that matters: a percentage (`5%`) or a fraction (`0.05`).
    #[arg(long, default_value = "5%", value_parser = parse_threshold)]
    threshold: f64,
    /// The significance level of the statistical test.
    #[arg(long, default_value_t = 0.01, value_parser = parse_alpha)]
    alpha: f64,
    /// Compare only these readings (repeat the option, or separate names with commas):
    /// `latency`, `rate`, a memory or CPU reading (`process_rss`, `process`), or a
    /// generation figure (`ttft`, `tpot`, `itl`, `e2e`, `output_tokens_per_second`,
    /// `input_tokens`, `output_tokens`; token counts are shown, never judged). A memory or
    /// CPU reading brings its peak along. A name neither file holds is an error that lists
    /// those they hold. Every reading by default.
    #[arg(long = "reading", value_name = "NAME", value_delimiter = ',')]
    readings: Vec<String>,
    /// Exit with code 1 when any label regressed.
    #[arg(long)]
    fail_on_regression: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// How a comparison is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// An aligned text table.
    Table,
    /// A Markdown table, to paste into a pull request.
    Markdown,
    /// One JSON object.
    Json,
}

/// A statistic of a distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Metric {
    P50,
    P90,
    P95,
    P99,
    Mean,
    Min,
    Max,
}

const METRICS: &str = "p50, p90, p95, p99, median, mean, min, max";

fn parse_metric(text: &str) -> Result<Metric, String> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "p50" | "median" => Metric::P50,
        "p90" => Metric::P90,
        "p95" => Metric::P95,
        "p99" => Metric::P99,
        "mean" => Metric::Mean,
        "min" => Metric::Min,
        "max" => Metric::Max,
        _ => {
            return Err(format!(
                "unknown metric `{text}` (expected one of {METRICS})"
            ));
        }
    })
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

impl Metric {
    fn of(self, s: &perftrack::Statistics) -> f64 {
        match self {
            Metric::P50 => s.p50,
            Metric::P90 => s.p90,
            Metric::P95 => s.p95,
            Metric::P99 => s.p99,
            Metric::Mean => s.mean,
            Metric::Min => s.min,
            Metric::Max => s.max,
        }
    }

    /// Whether the figure comes from the sketch when the percentiles are not exact.
    fn is_sketched(self, s: &perftrack::Statistics) -> bool {
        matches!(self, Metric::P50 | Metric::P90 | Metric::P95 | Metric::P99)
            && !s.percentiles_exact
    }
}

/// The smallest sample per side for which the test's normal approximation is used.
pub(crate) const MIN_TEST_SAMPLES: usize = 8;

/// The outcome of one label's comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// A real change beyond the threshold, in the bad direction.
    Regression,
    /// A real change beyond the threshold, in the good direction.
    Improvement,
    /// Not real, or within the threshold.
    Noise,
    /// The label is in only one of the files.
    Missing,
    /// A token count: the change is shown, never judged.
    NotJudged,
}

/// One label's (and reading's) comparison.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub(crate) tracker_type: &'static str,
    pub(crate) label: String,
    pub(crate) reading: String,
    pub(crate) unit: String,
    pub(crate) base: Option<f64>,
    pub(crate) new: Option<f64>,
    /// `(new - base) / base`; `None` when a side is missing or the base is 0.
    pub(crate) change: Option<f64>,
    pub(crate) base_count: u64,
    pub(crate) new_count: u64,
    /// How "real" was decided: `mann-whitney`, `sketch` or `too few values`; `not judged`
    /// for token counts.
    pub(crate) method: &'static str,
    /// The Mann–Whitney U of the base sample, when the test ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) u: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) p_value: Option<f64>,
    /// Whether the change is statistically real (see the module docs).
    pub(crate) real: bool,
    pub(crate) direction: Direction,
    pub(crate) verdict: Verdict,
}

/// The whole comparison.
#[derive(Debug, Serialize)]
pub(crate) struct Comparison {
    pub(crate) base: String,
    pub(crate) new: String,
    pub(crate) metric: Metric,
    pub(crate) threshold: f64,
    pub(crate) alpha: f64,
    pub(crate) regressions: usize,
    pub(crate) rows: Vec<Row>,
}

/// Runs `perftrack compare`.
pub(crate) fn execute(args: Args) -> anyhow::Result<u8> {
    let base = inputs::read_all(std::slice::from_ref(&args.base))?;
    let new = inputs::read_all(std::slice::from_ref(&args.new))?;
    let pairs = pair(&args, &base, &new)?;
    let mut sides = Vec::new();
    for (kind, b, n) in pairs {
        sides.push((kind, series::of(b)?, series::of(n)?));
    }
    let wanted = wanted_readings(&args.readings, &sides)?;
    let mut rows = Vec::new();
    for (kind, b, n) in &sides {
        rows.extend(compare_series(kind, b, n, wanted.as_ref(), &args));
    }
    let comparison = Comparison {
        base: args.base.display().to_string(),
        new: args.new.display().to_string(),
        metric: args.metric,
        threshold: args.threshold,
        alpha: args.alpha,
        regressions: rows
            .iter()
            .filter(|r| r.verdict == Verdict::Regression)
            .count(),
        rows,
    };
    let text = match args.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&comparison)?;
            text.push('\n');
            text
        }
        Format::Table => render(&comparison, false),
        Format::Markdown => render(&comparison, true),
    };
    crate::output::write(None, &text)?;
    Ok(if args.fail_on_regression && comparison.regressions > 0 {
        1
    } else {
        0
    })
}

/// Pairs the base's and the new run's inputs by tracker type: both sides must hold the same
/// types, one file each.
fn pair<'a>(
    args: &Args,
    base: &'a [Input],
    new: &'a [Input],
) -> anyhow::Result<Vec<(&'static str, &'a Input, &'a Input)>> {
    let (b, n) = (inputs::by_kind(base), inputs::by_kind(new));
    for (side, path, map) in [("BASE", &args.base, &b), ("NEW", &args.new, &n)] {
        for (kind, list) in map {
            if list.len() > 1 {
                let names: Vec<String> = list
                    .iter()
                    .map(|i| i.source.display().to_string())
                    .collect();
                bail!(
                    "{side} {} holds {} {kind} metrics files ({}); compare takes one per \
                     tracker type (merge them first with `perftrack merge`)",
                    path.display(),
                    list.len(),
                    names.join(", ")
                );
            }
        }
    }
    let kinds = |m: &std::collections::BTreeMap<&'static str, Vec<&Input>>| {
        m.keys().copied().collect::<Vec<_>>()
    };
    if kinds(&b) != kinds(&n) {
        bail!(
            "BASE {} holds {} metrics but NEW {} holds {}; compare takes files of the same \
             tracker types",
            args.base.display(),
            kinds(&b).join(" and "),
            args.new.display(),
            kinds(&n).join(" and ")
        );
    }
    Ok(b.iter()
        .filter_map(|(kind, bl)| Some((*kind, bl[0], n.get(kind)?[0])))
        .collect())
}

/// What is compared of a series: its values, or its peaks (memory and CPU).
#[derive(Clone, Copy)]
enum Facet {
    Value,
    Peak,
}

/// The readings `--reading` names, checked against those the files hold; `None` (every
/// reading) without the option.
fn wanted_readings(
    names: &[String],
    sides: &[(&'static str, Vec<Series>, Vec<Series>)],
) -> anyhow::Result<Option<BTreeSet<String>>> {
    if names.is_empty() {
        return Ok(None);
    }
    let present: BTreeSet<&str> = sides
        .iter()
        .flat_map(|(_, b, n)| b.iter().chain(n))
        .map(|s| s.reading.as_str())
        .collect();
    let mut wanted = BTreeSet::new();
    for name in names {
        let name = name.trim();
        if !present.contains(name) {
            let list: Vec<&str> = present.iter().copied().collect();
            bail!(
                "no reading `{name}` in BASE or NEW; the readings they hold are: {}",
                if list.is_empty() {
                    "none".to_owned()
                } else {
                    list.join(", ")
                }
            );
        }
        wanted.insert(name.to_owned());
    }
    Ok(Some(wanted))
}

fn compare_series(
    kind: &'static str,
    base: &[Series],
    new: &[Series],
    wanted: Option<&BTreeSet<String>>,
    args: &Args,
) -> Vec<Row> {
    let key = |s: &Series| (s.label.clone(), s.reading.clone());
    let kept = |s: &&Series| wanted.is_none_or(|w| w.contains(&s.reading));
    // Labels in order, each label's readings in the order the files list them (a generation
    // label's ttft, tpot, itl, e2e, …; memory and CPU readings by name).
    let mut order: Vec<&str> = Vec::new();
    for s in base.iter().chain(new).filter(kept) {
        if !order.contains(&s.reading.as_str()) {
            order.push(&s.reading);
        }
    }
    let mut keys: Vec<(String, String)> = base.iter().chain(new).filter(kept).map(key).collect();
    keys.sort_by_cached_key(|(label, reading)| {
        (label.clone(), order.iter().position(|r| r == reading))
    });
    keys.dedup();
    let mut rows = Vec::new();
    for k in keys {
        let b = base.iter().find(|s| key(s) == k);
        let n = new.iter().find(|s| key(s) == k);
        let has_peak = b.or(n).is_some_and(|s| s.peak.is_some());
        rows.push(compare_one(kind, b, n, Facet::Value, args));
        if has_peak {
            rows.push(compare_one(kind, b, n, Facet::Peak, args));
        }
    }
    rows
}

fn compare_one(
    kind: &'static str,
    base: Option<&Series>,
    new: Option<&Series>,
    facet: Facet,
    args: &Args,
) -> Row {
    let any = base.or(new);
    let label = any.map(|s| s.label_name().to_owned()).unwrap_or_default();
    let reading = any.map(|s| s.reading.clone()).unwrap_or_default();
    let reading = match facet {
        Facet::Value => reading,
        Facet::Peak => format!("peak {reading}"),
    };
    fn pick(s: Option<&Series>, facet: Facet) -> Option<&perftrack::Distribution> {
        s.and_then(|s| match facet {
            Facet::Value => Some(&s.value),
            Facet::Peak => s.peak.as_ref(),
        })
    }
    let stats = |s: Option<&Series>| {
        let series = s?;
        pick(s, facet)?.statistics(series.factor, &series.unit)
    };
    let (bs, ns) = (stats(base), stats(new));
    let direction = any.map_or(Direction::HigherIsWorse, |s| s.direction);
    let mut row = Row {
        tracker_type: kind,
        label,
        reading,
        unit: any.map(|s| s.unit.clone()).unwrap_or_default(),
        base: bs.as_ref().map(|s| args.metric.of(s)),
        new: ns.as_ref().map(|s| args.metric.of(s)),
        change: None,
        base_count: bs.as_ref().map_or(0, |s| s.count),
        new_count: ns.as_ref().map_or(0, |s| s.count),
        method: "",
        u: None,
        p_value: None,
        real: false,
        direction,
        verdict: Verdict::Missing,
    };
    let (Some(bs), Some(ns), Some(bv), Some(nv)) = (&bs, &ns, row.base, row.new) else {
        return row;
    };
    let change = if bv != 0.0 {
        (nv - bv) / bv.abs()
    } else if nv == 0.0 {
        0.0
    } else {
        f64::INFINITY.copysign(nv)
    };
    row.change = change.is_finite().then_some(change);
    if direction == Direction::Neither {
        row.method = "not judged";
        row.verdict = Verdict::NotJudged;
        return row;
    }
    let exact = (
        pick(base, facet).and_then(perftrack::Distribution::exact_values),
        pick(new, facet).and_then(perftrack::Distribution::exact_values),
    );
    row.real = match exact {
        (Some(a), Some(b)) if a.len() >= MIN_TEST_SAMPLES && b.len() >= MIN_TEST_SAMPLES => {
            let test = mann_whitney::test(a, b);
            row.method = "mann-whitney";
            row.u = Some(test.u);
            row.p_value = Some(test.p_value);
            test.p_value < args.alpha
        }
        (Some(_), Some(_)) => {
            row.method = "too few values";
            change.abs() > args.threshold
        }
        _ => {
            row.method = "sketch";
            // Each sketched side's own bound: a sketch loaded from an older file (moved from the
            // 1 % grid) errs more than one recorded on the current grid.
            let error: f64 = [(bs, base), (ns, new)]
                .into_iter()
                .filter(|(s, _)| args.metric.is_sketched(s))
                .filter_map(|(_, side)| pick(side, facet))
                .map(perftrack::Distribution::relative_accuracy)
                .sum();
            change.abs() > args.threshold + error
        }
    };
    let worse = match direction {
        Direction::HigherIsWorse => change > 0.0,
        Direction::LowerIsWorse => change < 0.0,
        Direction::Neither => false,
    };
    row.verdict = if row.real && change.abs() > args.threshold {
        if worse {
            Verdict::Regression
        } else {
            Verdict::Improvement
        }
    } else {
        Verdict::Noise
    };
    row
}

fn render(c: &Comparison, markdown: bool) -> String {
    let mut table = Table::new();
    table.load_preset(if markdown {
        presets::ASCII_MARKDOWN
    } else {
        presets::UTF8_FULL_CONDENSED
    });
    let metric = serde_json::to_value(c.metric)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    table.set_header(vec![
        "tracker".to_owned(),
        "label".to_owned(),
        "reading".to_owned(),
        format!("base {metric}"),
        format!("new {metric}"),
        "change".to_owned(),
        "p-value".to_owned(),
        "verdict".to_owned(),
    ]);
    for r in &c.rows {
        let value = |v: Option<f64>| {
            v.map_or_else(
                || "-".to_owned(),
                |v| format!("{} {}", crate::report::number(v), r.unit),
            )
        };
        let verdict = match r.verdict {
            Verdict::Regression if markdown => "**regression**",
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "improvement",
            Verdict::Noise => "noise",
            Verdict::NotJudged => "not judged",
            Verdict::Missing if r.base.is_none() => "only in new",
            Verdict::Missing => "only in base",
        };
        table.add_row(vec![
            r.tracker_type.to_owned(),
            r.label.clone(),
            r.reading.clone(),
            value(r.base),
            value(r.new),
            r.change
                .map_or_else(|| "-".to_owned(), |c| format!("{:+.1}%", c * 100.0)),
            r.p_value.map_or_else(
                || match r.verdict {
                    Verdict::NotJudged => "-".to_owned(),
                    _ => format!("({})", r.method),
                },
                |p| {
                    if p < 1e-4 {
                        "<0.0001".to_owned()
                    } else {
                        format!("{p:.4}")
                    }
                },
            ),
            verdict.to_owned(),
        ]);
    }
    for i in 3..7 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = String::new();
    if markdown {
        out.push_str(&format!(
            "**perftrack compare** `{}` → `{}` ({metric}, threshold {}%, α = {})\n\n",
            c.base,
            c.new,
            c.threshold * 100.0,
            c.alpha
        ));
    }
    out.push_str(&table.to_string());
    out.push('\n');
    out.push_str(&format!(
        "{} regression{} (threshold {}%, α = {})\n",
        c.regressions,
        if c.regressions == 1 { "" } else { "s" },
        c.threshold * 100.0,
        c.alpha
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn metrics_parse_case_insensitively() {
        assert_eq!(parse_metric("P95"), Ok(Metric::P95));
        assert_eq!(parse_metric("median"), Ok(Metric::P50));
        assert!(parse_metric("p42").unwrap_err().contains("p50, p90"));
    }
}
