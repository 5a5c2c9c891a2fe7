//! The per-label distributions of a loaded tracker, in display units: what reports and
//! comparisons are computed from.
//!
//! They are read from the loaded tracker's typed snapshot, whatever layout its file used.

use perftrack::{
    AnyTracker, Distribution, GenerationSummary, PerformanceTracker, SessionsLabelSnapshot,
    Snapshot, Statistics, TimeUnit,
};

use crate::inputs::Input;

/// Which way a change is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Direction {
    /// Latency, memory, CPU, generation times: more is worse.
    HigherIsWorse,
    /// Throughput, output tokens per second: less is worse.
    LowerIsWorse,
    /// Token counts: what the requests asked and answered, neither good nor bad; a change is
    /// shown, never judged.
    Neither,
}

/// One label's measurements of one quantity.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    /// The label (`""`: unlabelled measurements).
    pub(crate) label: String,
    /// What is measured: `latency`, `rate`, a memory reading (`process_rss`), a CPU one
    /// (`process`) or a generation figure (`ttft`, `tpot`, `itl`, `e2e`,
    /// `output_tokens_per_second`, `input_tokens`, `output_tokens`).
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
    /// A change smaller than this, in the display unit, is never a regression nor
    /// inconclusive: 1 MiB of memory, 10 ms of CPU time; 0 for other readings.
    pub(crate) noise_floor: f64,
}

/// The smallest change in memory that can be a regression: 1 MiB, in bytes.
pub(crate) const MEMORY_NOISE_FLOOR_BYTES: f64 = 1_048_576.0;

/// The smallest change in CPU time that can be a regression: 10 ms (the kernel's tick).
pub(crate) const CPU_TIME_NOISE_FLOOR_SECONDS: f64 = 0.010;

/// A label as printed: `(unlabelled)` for the unlabelled `""`.
pub(crate) fn printed_label(label: &str) -> &str {
    if label.is_empty() {
        "(unlabelled)"
    } else {
        label
    }
}

impl Series {
    /// The label as printed.
    pub(crate) fn label_name(&self) -> &str {
        printed_label(&self.label)
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

/// Every series of an input, by label then reading, from the tracker's typed snapshot (labels
/// with no finished measurement are left out, as metrics files leave them out).
pub(crate) fn of(input: &Input) -> anyhow::Result<Vec<Series>> {
    let mut out = Vec::new();
    match &input.tracker {
        AnyTracker::Latency(t) => {
            let unit = t.config().time_unit;
            for (label, value) in t.snapshot().labels {
                if value.count() == 0 {
                    continue;
                }
                out.push(Series {
                    label,
                    reading: "latency".to_owned(),
                    value,
                    peak: None,
                    factor: unit.per_second(),
                    unit: unit.as_str().to_owned(),
                    direction: Direction::HigherIsWorse,
                    noise_floor: 0.0,
                });
            }
        }
        AnyTracker::Throughput(t) => {
            let unit = t.config().time_unit;
            for (label, snapshot) in t.snapshot().labels {
                if snapshot.session_rates.count() == 0 {
                    continue;
                }
                out.push(Series {
                    label,
                    reading: "rate".to_owned(),
                    value: snapshot.session_rates,
                    peak: None,
                    factor: unit.seconds(),
                    unit: unit.events_label().to_owned(),
                    direction: Direction::LowerIsWorse,
                    noise_floor: 0.0,
                });
            }
        }
        AnyTracker::Memory(t) => {
            let unit = t.config().unit;
            readings(
                t.snapshot(),
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
                        noise_floor: MEMORY_NOISE_FLOOR_BYTES / unit.bytes(),
                    });
                },
            );
        }
        AnyTracker::Cpu(t) => {
            readings(
                t.snapshot(),
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
                        noise_floor: 0.0,
                    });
                },
            );
        }
        AnyTracker::Generation(t) => {
            let unit = t.config().time_unit;
            for (label, summary) in t.snapshot().labels {
                generation(&label, &summary, unit, &mut out);
            }
        }
        other => anyhow::bail!(
            "{}: perftrack cannot compare {} metrics yet",
            input.source.display(),
            PerformanceTracker::tracker_type(other)
        ),
    }
    Ok(out)
}

/// The readings of a generation label that finished a request: times in the file's unit, the
/// output rate per second, token counts as they are (figures with no value left out).
fn generation(label: &str, summary: &GenerationSummary, unit: TimeUnit, out: &mut Vec<Series>) {
    if summary.requests() == 0 {
        return;
    }
    let (per_second, time_unit) = (unit.per_second(), unit.as_str());
    let time = Direction::HigherIsWorse;
    for (reading, value, factor, unit, direction) in [
        ("ttft", summary.ttft(), per_second, time_unit, time),
        ("tpot", summary.tpot(), per_second, time_unit, time),
        ("itl", summary.itl(), per_second, time_unit, time),
        ("e2e", summary.e2e(), per_second, time_unit, time),
        (
            "output_tokens_per_second",
            summary.output_tokens_per_second(),
            1.0,
            "tokens/s",
            Direction::LowerIsWorse,
        ),
        (
            "input_tokens",
            summary.input_tokens(),
            1.0,
            "tokens",
            Direction::Neither,
        ),
        (
            "output_tokens",
            summary.output_tokens(),
            1.0,
            "tokens",
            Direction::Neither,
        ),
    ] {
        if value.count() == 0 {
            continue;
        }
        out.push(Series {
            label: label.to_owned(),
            reading: reading.to_owned(),
            value: value.clone(),
            peak: None,
            factor,
            unit: unit.to_owned(),
            direction,
            noise_floor: 0.0,
        });
    }
}

/// Walks the `value` readings of memory and CPU labels with their peaks.
fn readings(
    snapshot: Snapshot<SessionsLabelSnapshot>,
    wanted: impl Fn(&str) -> bool,
    mut each: impl FnMut(String, String, Distribution, Option<Distribution>),
) {
    for (label, mut summary) in snapshot.labels {
        if summary.sessions == 0 {
            continue;
        }
        for (name, value) in summary.value {
            if wanted(&name) {
                let peak = summary.peak.remove(&name);
                each(label.clone(), name, value, peak);
            }
        }
    }
}
