//! `perftrack compare`: two runs label by label, telling real changes from noise.
//!
//! A change is *real* when a Mann–Whitney U test on the exact values both files retain
//! rejects "same distribution" at `--alpha` (p-values corrected with Holm–Bonferroni when
//! several are tested at once). When a side has no exact values (more than `exact_limit`
//! measurements, so only the sketch), or too few for the test, a change is real only if it is
//! larger than the threshold plus the relative error of the figures (for a sketch's
//! percentile, its distribution's `relative_accuracy`: about 0.54 %, or 1.55 % for a sketch
//! read from a file written before the current sketch grid; 0 for exact ones). A *regression*
//! is a real change beyond the threshold in the bad direction: up for latency, memory, CPU and
//! generation times, down for throughput and output tokens per second. The rules, the noise
//! floors and the exit codes are [`crate::verdict`]'s, shared with `bench`. Token counts
//! (`input_tokens`, `output_tokens`) are shown but never judged: more or fewer tokens is what
//! the requests asked for, not a change in speed. Two bench files (`perftrack bench -o`) are
//! compared command by command and figure by figure.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::bail;
use comfy_table::{CellAlignment, Table, presets};
use serde::Serialize;

use crate::inputs::{self, Input};
use crate::series::{self, Direction, Series};
use crate::verdict::{self, Correction, GateArgs, Verdict};

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
    /// Compare only these readings (repeat the option, or separate names with commas):
    /// `latency`, `rate`, a memory or CPU reading (`process_rss`, `process`), or a
    /// generation figure (`ttft`, `tpot`, `itl`, `e2e`, `output_tokens_per_second`,
    /// `input_tokens`, `output_tokens`; token counts are shown, never judged). A memory or
    /// CPU reading brings its peak along. A name neither file holds is an error that lists
    /// those they hold. Every reading by default.
    #[arg(long = "reading", value_name = "NAME", value_delimiter = ',')]
    readings: Vec<String>,
    #[command(flatten)]
    gate: GateArgs,
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
    /// for token counts; empty when a side is missing.
    pub(crate) method: &'static str,
    /// The Mann–Whitney U of the base sample, when the test ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) u: Option<f64>,
    /// The test's own p-value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) p_value: Option<f64>,
    /// The p-value adjusted for the tests run at once (`--correction`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) adjusted_p_value: Option<f64>,
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
    pub(crate) correction: Correction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_values: Option<usize>,
    pub(crate) regressions: usize,
    pub(crate) inconclusive: usize,
    /// How the p-values were corrected, when several tests ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
    pub(crate) rows: Vec<Row>,
}

/// Runs `perftrack compare`.
pub(crate) fn execute(args: Args) -> anyhow::Result<u8> {
    let sides = match (
        crate::bench::file::read_if_bench(&args.base)?,
        crate::bench::file::read_if_bench(&args.new)?,
    ) {
        (Some(b), Some(n)) => vec![("bench", b.series(), n.series())],
        (None, None) => {
            let base = inputs::read_all(std::slice::from_ref(&args.base))?;
            let new = inputs::read_all(std::slice::from_ref(&args.new))?;
            let mut sides = Vec::new();
            for (kind, b, n) in pair(&args, &base, &new)? {
                sides.push((kind, series::of(b)?, series::of(n)?));
            }
            sides
        }
        (b, _) => bail!(
            "{} is a bench file (perftrack bench -o) but {} is not; compare takes two bench \
             files or two sets of metrics files",
            if b.is_some() { &args.base } else { &args.new }.display(),
            if b.is_some() { &args.new } else { &args.base }.display(),
        ),
    };
    let wanted = wanted_readings(&args.readings, &sides)?;
    let mut pending = Vec::new();
    for (kind, b, n) in &sides {
        pending.extend(compare_series(kind, b, n, wanted.as_ref(), &args));
    }
    let comparison = judge(&args, pending);
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
    Ok(verdict::exit_code(
        comparison.rows.iter().map(|r| r.verdict),
        &args.gate,
    ))
}

/// A row waiting for its verdict, with what the verdict is computed from.
struct Pending {
    row: Row,
    case: Option<OwnedCase>,
}

/// A [`verdict::Case`] that owns its values.
struct OwnedCase {
    base: f64,
    new: f64,
    values: Option<(Vec<f64>, Vec<f64>)>,
    sketch_error: f64,
    direction: Direction,
    noise_floor: f64,
}

/// Judges every row at once (so that the tests are corrected as one family).
fn judge(args: &Args, pending: Vec<Pending>) -> Comparison {
    let cases: Vec<verdict::Case<'_>> = pending
        .iter()
        .filter_map(|p| p.case.as_ref())
        .map(|c| verdict::Case {
            base: c.base,
            new: c.new,
            values: c.values.as_ref().map(|(a, b)| (a.as_slice(), b.as_slice())),
            sketch_error: c.sketch_error,
            direction: c.direction,
            noise_floor: c.noise_floor,
        })
        .collect();
    let judged = verdict::judge_all(&cases, &args.gate);
    let note = verdict::correction_note(&judged, &args.gate);
    let mut judged = judged.into_iter();
    let mut rows = Vec::new();
    for Pending { mut row, case } in pending {
        if case.is_some()
            && let Some(j) = judged.next()
        {
            row.change = j.change;
            row.method = j.method.as_str();
            row.u = j.u;
            row.p_value = j.p_value;
            row.adjusted_p_value = j.adjusted_p_value;
            row.real = j.real;
            row.verdict = j.verdict;
        }
        rows.push(row);
    }
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    Comparison {
        base: args.base.display().to_string(),
        new: args.new.display().to_string(),
        metric: args.metric,
        threshold: args.gate.threshold,
        alpha: args.gate.alpha,
        correction: args.gate.correction,
        min_values: args.gate.min_values,
        regressions: count(Verdict::Regression),
        inconclusive: count(Verdict::Inconclusive),
        note,
        rows,
    }
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
) -> Vec<Pending> {
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
) -> Pending {
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
    let row = Row {
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
        adjusted_p_value: None,
        real: false,
        direction,
        verdict: Verdict::Missing,
    };
    let (Some(bs), Some(ns), Some(bv), Some(nv)) = (&bs, &ns, row.base, row.new) else {
        return Pending { row, case: None };
    };
    let values = match (
        pick(base, facet).and_then(perftrack::Distribution::exact_values),
        pick(new, facet).and_then(perftrack::Distribution::exact_values),
    ) {
        (Some(a), Some(b)) => Some((a.to_vec(), b.to_vec())),
        _ => None,
    };
    // Each sketched side's own bound: a sketch loaded from an older file (moved from the 1 %
    // grid) errs more than one recorded on the current grid.
    let sketch_error: f64 = [(bs, base), (ns, new)]
        .into_iter()
        .filter(|(s, _)| args.metric.is_sketched(s))
        .filter_map(|(_, side)| pick(side, facet))
        .map(perftrack::Distribution::relative_accuracy)
        .sum();
    let case = OwnedCase {
        base: bv,
        new: nv,
        values,
        sketch_error,
        direction,
        noise_floor: any.map_or(0.0, |s| s.noise_floor),
    };
    Pending {
        row,
        case: Some(case),
    }
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
            Verdict::Missing if r.base.is_none() => "only in new",
            Verdict::Missing => "only in base",
            other => other.shown(markdown),
        };
        table.add_row(vec![
            r.tracker_type.to_owned(),
            r.label.clone(),
            r.reading.clone(),
            value(r.base),
            value(r.new),
            r.change
                .map_or_else(|| "-".to_owned(), |c| format!("{:+.1}%", c * 100.0)),
            r.adjusted_p_value.map_or_else(
                || match r.verdict {
                    Verdict::NotJudged | Verdict::Missing => "-".to_owned(),
                    _ => format!("({})", r.method),
                },
                verdict::p_value,
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
    out.push_str(&verdict::summary_line(
        c.regressions,
        c.inconclusive,
        c.threshold,
        c.alpha,
    ));
    if let Some(note) = &c.note {
        out.push_str(note);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_parse_case_insensitively() {
        assert_eq!(parse_metric("P95"), Ok(Metric::P95));
        assert_eq!(parse_metric("median"), Ok(Metric::P50));
        assert!(parse_metric("p42").unwrap_err().contains("p50, p90"));
    }
}
