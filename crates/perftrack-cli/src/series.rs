//! The per-label distributions of a loaded tracker, in display units: what reports and
//! comparisons are computed from.
//!
//! They are read from the tracker's version-1 metrics text (`summaries`, `docs/FORMAT.md`),
//! which every input has once loaded, whatever layout its file used.

use std::collections::BTreeMap;

use anyhow::Context;
use perftrack::{AnyTracker, Distribution, PerformanceTracker, Statistics};
use serde_json::Value;

use crate::inputs::Input;

/// Which way a change is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Direction {
    /// Latency, memory, CPU: more is worse.
    HigherIsWorse,
    /// Throughput: less is worse.
    LowerIsWorse,
}

/// One label's measurements of one quantity.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    /// The label (`""`: unlabelled measurements).
    pub(crate) label: String,
    /// What is measured: `latency`, `rate`, a memory reading (`process_rss`) or a CPU one
    /// (`process`).
    pub(crate) reading: String,
    /// Each session's (or measurement's) value, in the tracker's base unit.
    pub(crate) value: Distribution,
    /// Each session's peak, for memory and CPU readings.
    pub(crate) peak: Option<Distribution>,
    /// What base-unit values are multiplied by for display.
    pub(crate) factor: f64,
    /// The display unit.
    pub(crate) unit: String,
    /// Which way a change is bad.
    pub(crate) direction: Direction,
}

impl Series {
    /// The label as printed.
    pub(crate) fn label_name(&self) -> &str {
        if self.label.is_empty() {
            "(unlabelled)"
        } else {
            &self.label
        }
    }

    /// Statistics of the values, in the display unit.
    pub(crate) fn statistics(&self) -> Option<Statistics> {
        self.value.statistics(self.factor, &self.unit)
    }

    /// Statistics of the peaks, in the display unit.
    pub(crate) fn peak_statistics(&self) -> Option<Statistics> {
        self.peak
            .as_ref()
            .and_then(|p| p.statistics(self.factor, &self.unit))
    }
}

/// The memory readings about the measured process (system-wide ones describe the machine).
fn process_memory_reading(name: &str) -> bool {
    name.starts_with("process_") || name == "gpu_process_used"
}

/// Every series of an input, by label then reading.
pub(crate) fn of(input: &Input) -> anyhow::Result<Vec<Series>> {
    let text = input
        .tracker
        .metrics_json()
        .with_context(|| format!("cannot render {}", input.source.display()))?;
    let file: Value = serde_json::from_str(&text)?;
    let summaries = file
        .get("summaries")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let dist = |v: &Value, what: &str| -> anyhow::Result<Distribution> {
        serde_json::from_value(v.clone())
            .with_context(|| format!("{}: summary {what}", input.source.display()))
    };
    let mut out = Vec::new();
    match &input.tracker {
        AnyTracker::Latency(t) => {
            let unit = t.config().time_unit;
            for (label, summary) in &summaries {
                out.push(Series {
                    label: label.clone(),
                    reading: "latency".to_owned(),
                    value: dist(summary, label)?,
                    peak: None,
                    factor: unit.per_second(),
                    unit: unit.as_str().to_owned(),
                    direction: Direction::HigherIsWorse,
                });
            }
        }
        AnyTracker::Throughput(t) => {
            let unit = t.config().time_unit;
            for (label, summary) in &summaries {
                out.push(Series {
                    label: label.clone(),
                    reading: "rate".to_owned(),
                    value: dist(summary, label)?,
                    peak: None,
                    factor: unit.seconds(),
                    unit: unit.events_label().to_owned(),
                    direction: Direction::LowerIsWorse,
                });
            }
        }
        AnyTracker::Memory(t) => {
            let unit = t.config().unit;
            readings(
                &summaries,
                &dist,
                process_memory_reading,
                |label, name, value, peak| {
                    out.push(Series {
                        label,
                        reading: name,
                        value,
                        peak,
                        factor: 1.0 / unit.bytes(),
                        unit: unit.as_str().to_owned(),
                        direction: Direction::HigherIsWorse,
                    });
                },
            )?;
        }
        AnyTracker::Cpu(_) => {
            readings(
                &summaries,
                &dist,
                |name| name == "process",
                |label, name, value, peak| {
                    out.push(Series {
                        label,
                        reading: name,
                        value,
                        peak,
                        factor: 1.0,
                        unit: "%".to_owned(),
                        direction: Direction::HigherIsWorse,
                    });
                },
            )?;
        }
        other => anyhow::bail!(
            "{}: perftrack cannot compare {} metrics yet",
            input.source.display(),
            perftrack::PerformanceTracker::tracker_type(other)
        ),
    }
    Ok(out)
}

/// Walks the `value` and `peak` readings of memory and CPU summaries.
fn readings(
    summaries: &serde_json::Map<String, Value>,
    dist: &dyn Fn(&Value, &str) -> anyhow::Result<Distribution>,
    wanted: impl Fn(&str) -> bool,
    mut each: impl FnMut(String, String, Distribution, Option<Distribution>),
) -> anyhow::Result<()> {
    let empty = serde_json::Map::new();
    for (label, summary) in summaries {
        let values = summary
            .get("value")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let peaks = summary
            .get("peak")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let names: BTreeMap<&String, &Value> = values.iter().collect();
        for (name, value) in names {
            if !wanted(name) {
                continue;
            }
            let what = format!("{label}.{name}");
            let peak = peaks.get(name).map(|p| dist(p, &what)).transpose()?;
            each(label.clone(), name.clone(), dist(value, &what)?, peak);
        }
    }
    Ok(())
}
