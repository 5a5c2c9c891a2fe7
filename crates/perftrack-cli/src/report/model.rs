//! What a report shows: a section per input, a row per label and reading, in display units;
//! every rendering (text, Markdown, JSON, HTML) reads this model and nothing else.

use std::collections::BTreeMap;

use comfy_table::Cell;
use serde::Serialize;
use serde_json::Value;

use perftrack::{AnyTracker, GenerationSummary, Goodput, Objective, Slo, TimeUnit};

use crate::bench::file::BenchFile;
use crate::bench::summary::{self, Summary};
use crate::inputs::Input;
use crate::series::{self, Series};
use crate::verdict::GateArgs;

/// Everything a report shows.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// One section per tracker file (a run container gives one per tracker).
    pub(crate) inputs: Vec<Section>,
    /// One section per bench file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) benches: Vec<BenchSection>,
}

/// A bench file's summary: its commands' figures and each against the first, judged with the
/// default rules (threshold 5 %, α = 0.01, Holm–Bonferroni).
#[derive(Debug, Serialize)]
pub(crate) struct BenchSection {
    pub(crate) source: String,
    #[serde(flatten)]
    pub(crate) summary: Summary,
}

impl BenchSection {
    /// The summary of the bench file read from `path`.
    pub(crate) fn of(path: &std::path::Path, file: &BenchFile) -> BenchSection {
        BenchSection {
            source: path.display().to_string(),
            summary: Summary::of(file, &summary::DEFAULT_JUDGED, &GateArgs::default()),
        }
    }
}

/// One tracker file's summary.
#[derive(Debug, Serialize)]
pub(crate) struct Section {
    pub(crate) source: String,
    pub(crate) tracker_type: &'static str,
    /// The run container's fields besides its trackers, when the file is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) run: Option<BTreeMap<String, Value>>,
    pub(crate) rows: Vec<Row>,
    /// The objectives a generation file's requests were judged against, when it sets any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) objectives: Option<Objectives>,
    /// A generation file's requests per label (empty for other tracker types).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) requests: Vec<Requests>,
}

/// The objectives of a generation file (its `slo`), each in `unit`.
#[derive(Debug, Serialize)]
pub(crate) struct Objectives {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ttft: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tpot: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) e2e: Option<f64>,
    pub(crate) unit: &'static str,
}

impl Objectives {
    /// The objectives of `slo` in `unit`; `None` when none is set.
    fn of(slo: &Slo, unit: TimeUnit) -> Option<Objectives> {
        (!slo.is_empty()).then(|| Objectives {
            ttft: slo.ttft.map(Objective::get),
            tpot: slo.tpot.map(Objective::get),
            e2e: slo.e2e.map(Objective::get),
            unit: unit.as_str(),
        })
    }

    /// As a line: `objectives: ttft ≤ 200 ms, tpot ≤ 25 ms`.
    pub(crate) fn line(&self) -> String {
        let set: Vec<String> = [("ttft", self.ttft), ("tpot", self.tpot), ("e2e", self.e2e)]
            .into_iter()
            .filter_map(|(name, o)| o.map(|o| format!("{name} ≤ {} {}", number(o), self.unit)))
            .collect();
        format!("objectives: {}", set.join(", "))
    }
}

/// A generation label's requests: how many, how they ended, and its goodput.
#[derive(Debug, Serialize)]
pub(crate) struct Requests {
    pub(crate) label: String,
    pub(crate) requests: u64,
    pub(crate) failed: u64,
    /// Requests whose guard dropped before `stop`.
    pub(crate) cancelled: u64,
    /// Requests that met every objective, when the file sets objectives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) goodput: Option<Goodput>,
}

impl Requests {
    /// A label's requests, from its summary; `goodput` (the library's) only with objectives.
    fn of(label: &str, summary: &GenerationSummary, objectives: bool) -> Option<Requests> {
        let requests = summary.requests();
        let e2e = summary.e2e().statistics(1.0, "")?;
        let goodput = objectives.then(|| summary.goodput());
        Some(Requests {
            label: label.to_owned(),
            requests,
            failed: e2e.failed,
            cancelled: e2e.cancelled,
            goodput,
        })
    }

    /// The label as printed.
    pub(crate) fn label_name(&self) -> &str {
        crate::series::printed_label(&self.label)
    }
}

/// One label's (and, for memory and CPU, one reading's) statistics in the display unit.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) reading: String,
    pub(crate) unit: String,
    /// Measurements (latency), sessions (throughput, memory, CPU).
    pub(crate) count: u64,
    pub(crate) failed: u64,
    pub(crate) min: f64,
    pub(crate) mean: f64,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p95: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    /// Whether the percentiles are exact (else within the sketch's bound, 0.55 % or 1.55 %).
    pub(crate) percentiles_exact: bool,
    /// The mean of the sessions' peaks (memory, CPU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) peak_mean: Option<f64>,
    /// The highest peak of any session (memory, CPU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) peak_max: Option<f64>,
}

impl Row {
    fn of(series: &Series) -> Option<Row> {
        let s = series.statistics()?;
        let peak = series.peak_statistics();
        Some(Row {
            label: series.label.clone(),
            reading: series.reading.clone(),
            unit: s.unit,
            count: s.count,
            failed: s.failed,
            min: s.min,
            mean: s.mean,
            p50: s.p50,
            p90: s.p90,
            p95: s.p95,
            p99: s.p99,
            max: s.max,
            percentiles_exact: s.percentiles_exact,
            peak_mean: peak.as_ref().map(|p| p.mean),
            peak_max: peak.as_ref().map(|p| p.max),
        })
    }

    /// The label as printed.
    pub(crate) fn label_name(&self) -> &str {
        crate::series::printed_label(&self.label)
    }
}

impl Report {
    pub(crate) fn build(inputs: &[Input]) -> anyhow::Result<Report> {
        let mut sections = Vec::new();
        for input in inputs {
            let rows = series::of(input)?.iter().filter_map(Row::of).collect();
            let (objectives, requests) = match &input.tracker {
                AnyTracker::Generation(t) => {
                    let config = t.config();
                    let requests = t
                        .snapshot()
                        .labels
                        .iter()
                        .filter_map(|(label, summary)| {
                            Requests::of(label, summary, !config.slo.is_empty())
                        })
                        .collect();
                    (Objectives::of(&config.slo, config.time_unit), requests)
                }
                _ => (None, Vec::new()),
            };
            sections.push(Section {
                source: input.source.display().to_string(),
                tracker_type: input.kind.file_type(),
                run: input.run.as_ref().map(|r| r.fields.clone()),
                rows,
                objectives,
                requests,
            });
        }
        Ok(Report {
            inputs: sections,
            benches: Vec::new(),
        })
    }
}

type Cells = fn(&Row) -> Vec<Cell>;

/// The columns that hold text rather than numbers (aligned left).
pub(crate) const TEXT_COLUMNS: [&str; 3] = ["label", "reading", "unit"];

/// The table columns of a tracker type, and a row's cells.
pub(crate) fn columns(kind: &str) -> (&'static [&'static str], Cells) {
    match kind {
        "latency" => (
            &[
                "label", "count", "failed", "p50", "p95", "p99", "max", "unit",
            ],
            |r| {
                vec![
                    Cell::new(r.label_name()),
                    Cell::new(r.count),
                    Cell::new(r.failed),
                    Cell::new(number(r.p50)),
                    Cell::new(number(r.p95)),
                    Cell::new(number(r.p99)),
                    Cell::new(number(r.max)),
                    Cell::new(&r.unit),
                ]
            },
        ),
        "throughput" => (
            &["label", "sessions", "mean", "p50", "p95", "max", "unit"],
            |r| {
                vec![
                    Cell::new(r.label_name()),
                    Cell::new(r.count),
                    Cell::new(number(r.mean)),
                    Cell::new(number(r.p50)),
                    Cell::new(number(r.p95)),
                    Cell::new(number(r.max)),
                    Cell::new(&r.unit),
                ]
            },
        ),
        "generation" => (
            &[
                "label", "reading", "count", "mean", "p50", "p90", "p99", "max", "unit",
            ],
            |r| {
                vec![
                    Cell::new(r.label_name()),
                    Cell::new(&r.reading),
                    Cell::new(r.count),
                    Cell::new(number(r.mean)),
                    Cell::new(number(r.p50)),
                    Cell::new(number(r.p90)),
                    Cell::new(number(r.p99)),
                    Cell::new(number(r.max)),
                    Cell::new(&r.unit),
                ]
            },
        ),
        _ => (
            &["label", "reading", "sessions", "mean", "peak", "unit"],
            |r| {
                vec![
                    Cell::new(r.label_name()),
                    Cell::new(&r.reading),
                    Cell::new(r.count),
                    Cell::new(number(r.mean)),
                    Cell::new(number(r.peak_max.unwrap_or(r.max))),
                    Cell::new(&r.unit),
                ]
            },
        ),
    }
}

/// The requests table of a generation section: its header and one row of cells per label
/// (the goodput columns only when the file sets objectives); `None` for other sections.
pub(crate) fn requests_table(section: &Section) -> Option<(Vec<&'static str>, Vec<Vec<Cell>>)> {
    if section.requests.is_empty() {
        return None;
    }
    let objectives = section.objectives.is_some();
    let mut header = vec!["label", "requests", "failed", "cancelled"];
    if objectives {
        header.extend(["slo met", "goodput", "goodput/s"]);
    }
    let rows = section
        .requests
        .iter()
        .map(|r| {
            let mut cells = vec![
                Cell::new(r.label_name()),
                Cell::new(r.requests),
                Cell::new(r.failed),
                Cell::new(r.cancelled),
            ];
            if let Some(g) = &r.goodput {
                cells.push(Cell::new(g.met));
                cells.push(Cell::new(format!("{:.1}%", g.fraction * 100.0)));
                cells.push(Cell::new(
                    g.per_second.map_or_else(|| "-".to_owned(), number),
                ));
            }
            cells
        })
        .collect();
    Some((header, rows))
}

/// A number with about four significant digits and no exponent.
pub(crate) fn number(value: f64) -> String {
    let a = value.abs();
    if a >= 1000.0 || a == 0.0 {
        format!("{value:.0}")
    } else if a >= 100.0 {
        format!("{value:.1}")
    } else if a >= 10.0 {
        format!("{value:.2}")
    } else if a >= 0.01 {
        format!("{value:.3}")
    } else {
        format!("{value:.3e}")
    }
}

/// A run container's fields as `key: value` lines (nested objects flattened with dots).
pub(crate) fn run_fields(run: &BTreeMap<String, Value>) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(&format!("{prefix}.{k}"), v, out);
                }
            }
            Value::Array(items) if items.iter().all(Value::is_string) => {
                let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                out.push((prefix.to_owned(), words.join(" ")));
            }
            Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            Value::Null => out.push((prefix.to_owned(), "-".to_owned())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    for (key, value) in run {
        if key != "format" && key != "version" {
            walk(key, value, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_about_four_digits() {
        assert_eq!(number(12345.6), "12346");
        assert_eq!(number(123.456), "123.5");
        assert_eq!(number(12.3456), "12.35");
        assert_eq!(number(1.23456), "1.235");
        assert_eq!(number(0.000123), "1.230e-4");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn run_fields_flatten_nested_objects() {
        let run: BTreeMap<String, Value> = serde_json::from_value(serde_json::json!({
            "format": "perftrack-run", "version": 1,
            "command": ["python", "my_rag.py"],
            "exit": {"code": 0, "signal": null},
        }))
        .unwrap();
        assert_eq!(
            run_fields(&run),
            [
                ("command".to_owned(), "python my_rag.py".to_owned()),
                ("exit.code".to_owned(), "0".to_owned()),
                ("exit.signal".to_owned(), "-".to_owned()),
            ]
        );
    }
}
