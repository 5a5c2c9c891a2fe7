//! The HTML report: one self-contained page (inline CSS and SVG, no script, no external
//! resource) with a table and charts per tracker file.

use std::collections::BTreeMap;
use std::fmt::Write;

use perftrack::ThroughputRecord;

use super::model::{self as report, Report, Section};
use crate::bench::summary;
use crate::chart::{self, BarChart, Line, LineChart, escape};
use crate::inputs::Input;

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2.5rem; }
code { font-size: 0.9em; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: right; }
th.text, td.text, section.bench td:first-child { text-align: left; }
dl.run { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dl.run dt { font-weight: 600; } dl.run dd { margin: 0; }
svg.chart { width: 100%; height: auto; display: block; margin: 1rem 0; }
";

/// The whole page.
pub(crate) fn page(report: &Report, inputs: &[Input]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>perftrack report</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<h1>perftrack report</h1>\n");
    let mut last_run = None;
    for (section, input) in report.inputs.iter().zip(inputs) {
        if let Some(run) = &section.run {
            if last_run != Some(run) {
                run_block(&mut out, run);
            }
            last_run = Some(run);
        }
        let _ = write!(
            out,
            "<section class=\"tracker\" data-tracker=\"{kind}\">\n<h2>{kind} — <code>{source}</code></h2>\n",
            kind = section.tracker_type,
            source = escape(&section.source),
        );
        if let Some(objectives) = &section.objectives {
            let _ = writeln!(out, "<p>{}</p>", escape(&objectives.line()));
        }
        if let Some((header, rows)) = report::requests_table(section) {
            html_table(
                &mut out,
                &header,
                rows.iter()
                    .map(|cells| cells.iter().map(comfy_table::Cell::content).collect()),
            );
        }
        table(&mut out, section);
        for chart in charts(section, input) {
            out.push_str(&chart);
            out.push('\n');
        }
        out.push_str("</section>\n");
    }
    for bench in &report.benches {
        bench_section(&mut out, bench);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// A bench file's section: each command's table, the comparisons, and a distribution chart
/// per figure with every run of every command.
fn bench_section(out: &mut String, bench: &report::BenchSection) {
    let s = &bench.summary;
    let _ = write!(
        out,
        "<section class=\"bench\">\n<h2>bench — <code>{}</code></h2>\n",
        escape(&bench.source)
    );
    for (i, c) in s.commands.iter().enumerate() {
        let _ = writeln!(out, "<h3>{}</h3>", escape(&summary::title(i, c)));
        html_table(
            out,
            &summary::COMMAND_HEADER,
            summary::command_rows(c).into_iter(),
        );
    }
    if !s.comparisons.is_empty() {
        html_table(
            out,
            &summary::VERSUS_HEADER,
            summary::versus_rows(s, false).into_iter(),
        );
        for line in summary::footer(s) {
            let _ = writeln!(out, "<p>{}</p>", escape(&line));
        }
    }
    let names: Vec<String> = (1..=s.commands.len()).map(|i| format!("#{i}")).collect();
    for (f, figure) in s
        .commands
        .first()
        .map_or(&[][..], |c| &c.figures[..])
        .iter()
        .enumerate()
    {
        let categories = s
            .commands
            .iter()
            .zip(&names)
            .filter_map(|(c, name)| {
                let values = c.figures.iter().find(|g| g.figure == figure.figure)?;
                Some(chart::Strip {
                    name: format!("{name} {}", c.command),
                    values: values.values.clone(),
                })
            })
            .collect();
        let chart = chart::StripChart {
            title: format!("{} per run", figure.figure),
            y_label: figure.unit.to_owned(),
            categories,
        };
        let _ = writeln!(
            out,
            "{}",
            chart.to_svg().replacen(
                "<svg ",
                &format!("<svg data-figure=\"{}\" data-index=\"{f}\" ", figure.figure),
                1
            )
        );
    }
    out.push_str("</section>\n");
}

fn run_block(out: &mut String, run: &BTreeMap<String, serde_json::Value>) {
    out.push_str("<h2>run</h2>\n<dl class=\"run\">\n");
    for (key, value) in report::run_fields(run) {
        let _ = writeln!(
            out,
            "<dt>{}</dt><dd><code>{}</code></dd>",
            escape(&key),
            escape(&value)
        );
    }
    out.push_str("</dl>\n");
}

fn table(out: &mut String, section: &Section) {
    if section.rows.is_empty() {
        out.push_str("<p>(no measurements)</p>\n");
        return;
    }
    let (header, cells) = report::columns(section.tracker_type);
    html_table(
        out,
        header,
        section
            .rows
            .iter()
            .map(|row| cells(row).iter().map(comfy_table::Cell::content).collect()),
    );
}

/// A `<table>` of `rows` under `header`, text columns aligned left.
fn html_table(out: &mut String, header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let class = |name: &str| {
        if report::TEXT_COLUMNS.contains(&name) {
            " class=\"text\""
        } else {
            ""
        }
    };
    out.push_str("<table>\n<thead><tr>");
    for h in header {
        let _ = write!(out, "<th{}>{h}</th>", class(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (cell, name) in row.iter().zip(header.iter()) {
            let _ = write!(out, "<td{}>{}</td>", class(name), escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The charts of one tracker file, as `<svg>` elements.
fn charts(section: &Section, input: &Input) -> Vec<String> {
    let mut out = Vec::new();
    match &input.tracker {
        perftrack::AnyTracker::Latency(_) if !section.rows.is_empty() => {
            let rows: Vec<&report::Row> = section.rows.iter().collect();
            let categories = rows.iter().map(|r| r.label_name().to_owned()).collect();
            out.push(percentiles("Latency percentiles per label", &rows, categories).to_svg());
        }
        perftrack::AnyTracker::Generation(_) => {
            // The times a streaming client feels; e2e, usually far longer, would flatten them.
            let rows: Vec<&report::Row> = section
                .rows
                .iter()
                .filter(|r| matches!(r.reading.as_str(), "ttft" | "tpot" | "itl"))
                .collect();
            if !rows.is_empty() {
                let categories = rows
                    .iter()
                    .map(|r| format!("{} {}", r.label_name(), r.reading))
                    .collect();
                let title = "Time to first token, per output token and between chunks";
                out.push(percentiles(title, &rows, categories).to_svg());
            }
        }
        perftrack::AnyTracker::Throughput(t) => {
            let chart = throughput_over_time(&t.records(), t.config().time_unit);
            if !chart.is_empty() {
                out.push(chart.to_svg());
            }
        }
        perftrack::AnyTracker::Memory(t) => {
            let chart = chart::memory_timeline(&t.records(), "Memory over time");
            if !chart.is_empty() {
                out.push(chart.to_svg());
            }
        }
        perftrack::AnyTracker::Cpu(t) => {
            let chart = chart::cpu_timeline(&t.records(), "CPU over time");
            if !chart.is_empty() {
                out.push(chart.to_svg());
            }
        }
        // An empty latency file, and kinds this page has no chart for.
        _ => {}
    }
    out
}

/// A bar chart of the p50, p95 and p99 of `rows` (one unit), one group of bars per category.
fn percentiles(title: &str, rows: &[&report::Row], categories: Vec<String>) -> BarChart {
    let mut chart = BarChart {
        title: title.to_owned(),
        y_label: rows.first().map(|r| r.unit.clone()).unwrap_or_default(),
        categories,
        series: Vec::new(),
    };
    for (name, get) in [
        ("p50", (|r: &report::Row| r.p50) as fn(&report::Row) -> f64),
        ("p95", |r| r.p95),
        ("p99", |r| r.p99),
    ] {
        chart
            .series
            .push((name.to_owned(), rows.iter().map(|r| get(r)).collect()));
    }
    chart
}

/// How many time bins the throughput chart has at most.
const BINS: usize = 60;

/// Events per unit of time over the run, per label: each record's events are spread evenly
/// over its session (from `timestamp - duration` to `timestamp`) and summed in time bins.
pub(crate) fn throughput_over_time(
    records: &[ThroughputRecord],
    unit: perftrack::RateUnit,
) -> LineChart {
    let span = |r: &ThroughputRecord| {
        let end = r.timestamp.as_unix_seconds_f64();
        (end - r.duration.max(0.0), end)
    };
    let start = records.iter().map(|r| span(r).0).fold(f64::MAX, f64::min);
    let end = records.iter().map(|r| span(r).1).fold(f64::MIN, f64::max);
    let mut lines: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let width = ((end - start) / BINS as f64).max(1e-3);
    let bins = (((end - start) / width).ceil() as usize).clamp(1, BINS);
    for r in records {
        let label = r.label.as_deref().unwrap_or("(unlabelled)").to_owned();
        let counts = lines.entry(label).or_insert_with(|| vec![0.0; bins]);
        let (a, b) = span(r);
        let (a, b) = (a - start, b - start);
        if b - a <= 0.0 {
            let i = ((b / width) as usize).min(bins - 1);
            counts[i] += r.count as f64;
            continue;
        }
        let density = r.count as f64 / (b - a);
        let first = ((a / width) as usize).min(bins - 1);
        let last = ((b / width) as usize).min(bins - 1);
        for (i, slot) in counts.iter_mut().enumerate().take(last + 1).skip(first) {
            let lo = a.max(i as f64 * width);
            let hi = b.min((i + 1) as f64 * width);
            if hi > lo {
                *slot += density * (hi - lo);
            }
        }
    }
    let per_unit = unit.seconds();
    LineChart {
        title: "Throughput over time".to_owned(),
        x_label: "seconds".to_owned(),
        y_label: unit.events_label().to_owned(),
        y_scale: chart::Scale::Plain,
        lines: lines
            .into_iter()
            .map(|(name, counts)| Line {
                name,
                points: counts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ((i as f64 + 0.5) * width, c / width * per_unit))
                    .collect(),
            })
            .collect(),
    }
}
