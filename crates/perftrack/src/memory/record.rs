//! `MemoryRecord`: one finished memory session.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::snapshot::{KEYS, Kind, MemorySample, MemorySnapshot, N, Reading};
use crate::{MemoryUnit, Status, Timestamp, TrackId};

/// One finished memory session, as `stop_tracking` returns it and metrics files store it.
///
/// It serialises with the Python original's keys (`track_id`, `value`, `initial`, `change`,
/// `peak`, `timestamp`, `unit`, `label`, `start_time`, `end_time`, `samples`) plus
/// `duration`, `status` and `gpu_status`.
///
/// ```
/// use perftrack::{MemoryConfig, MemoryUsageTracker};
///
/// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
/// let id = tracker.start_tracking(Some("load index"));
/// let index: Vec<u64> = (0..1_000_000).collect();
/// let record = tracker.stop_tracking(&id)?;
/// # #[cfg(target_os = "linux")]
/// assert!(record.peak.unwrap().process_rss >= record.initial.process_rss);
/// # drop(index);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryRecord {
    /// The session's id.
    pub track_id: TrackId,
    /// The final snapshot.
    pub value: MemorySnapshot,
    /// The snapshot when the session started.
    pub initial: MemorySnapshot,
    /// `value - initial` for each reading present in both (percentage points for the
    /// percentages).
    pub change: MemorySnapshot,
    /// The worst value of each reading over the initial snapshot, every sample and the final
    /// snapshot (and, for `process_rss` with `kernel_peak`, the kernel's high-water mark): the
    /// largest use, the smallest free memory. `None` without `track_peak`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak: Option<MemorySnapshot>,
    /// When the session ended.
    pub timestamp: Timestamp,
    /// The unit of every snapshot.
    pub unit: MemoryUnit,
    /// The label, if the session had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Arc<str>>,
    /// When the session started (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When the session ended (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// The samples taken during the session, oldest first, at most `max_samples`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<MemorySample>,
    /// The session's length in seconds (`None` only for version-0 records without times).
    pub duration: Option<f64>,
    /// How the session ended.
    #[serde(default)]
    pub status: Status,
    /// Why GPU memory could not be read, when `track_gpu` is set and it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_status: Option<String>,
}

impl MemoryRecord {
    /// The same record with its snapshots expressed in `unit`.
    pub(crate) fn in_unit(mut self, unit: MemoryUnit) -> Self {
        if unit != self.unit {
            let from = self.unit;
            let convert =
                |s: MemorySnapshot| MemorySnapshot::from_reading(&s.to_reading(from), unit);
            self.value = convert(self.value);
            self.initial = convert(self.initial);
            self.change = convert(self.change);
            self.peak = self.peak.map(convert);
            for sample in &mut self.samples {
                sample.memory = convert(sample.memory);
            }
            self.unit = unit;
        }
        self
    }
}

/// A memory snapshot as the Python original wrote it: any keys, in its unit.
type PythonSnapshot = BTreeMap<String, f64>;

/// A memory record as the Python original wrote it.
#[derive(Deserialize)]
pub struct PythonMemoryRecord {
    track_id: serde_json::Value,
    value: PythonSnapshot,
    #[serde(default)]
    initial: PythonSnapshot,
    #[serde(default)]
    change: PythonSnapshot,
    #[serde(default)]
    peak: Option<PythonSnapshot>,
    timestamp: Timestamp,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    start_time: Option<Timestamp>,
    #[serde(default)]
    end_time: Option<Timestamp>,
    #[serde(default)]
    samples: Vec<PythonSample>,
}

#[derive(Deserialize)]
struct PythonSample {
    timestamp: Timestamp,
    memory: PythonSnapshot,
}

/// The bytes one of the original's units stood for: it knew `KB`, `MB` and `GB` (1024-based,
/// case-sensitive) and treated everything else as bytes.
fn python_unit_bytes(unit: Option<&str>) -> f64 {
    match unit {
        Some("KB") => 1024.0,
        Some("MB") => 1024.0 * 1024.0,
        Some("GB") => 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    }
}

/// A snapshot of the original's keys, in bytes. Keys perftrack does not read (the torch
/// allocator's `gpu_allocated`, `gpu_reserved`, ...) are dropped.
fn python_reading(snapshot: &PythonSnapshot, unit_bytes: f64) -> Reading {
    let mut reading = [None; N];
    for (slot, (name, kind)) in reading.iter_mut().zip(KEYS) {
        *slot = snapshot.get(name).map(|&v| match kind {
            Kind::Percent => v,
            Kind::Used | Kind::Free => v * unit_bytes,
        });
    }
    reading
}

impl PythonMemoryRecord {
    /// Converts to a record in `unit`. `value`, `initial`, `change`, `peak` and `samples` are
    /// taken as written (the original's aliasing bugs included); only units are converted.
    pub(crate) fn into_record(self, unit: MemoryUnit) -> MemoryRecord {
        let bytes = python_unit_bytes(self.unit.as_deref());
        let snapshot =
            |s: &PythonSnapshot| MemorySnapshot::from_reading(&python_reading(s, bytes), unit);
        let track_id = match self.track_id {
            serde_json::Value::String(s) => TrackId::from(s),
            other => TrackId::from(other.to_string()),
        };
        let duration = match (self.start_time, self.end_time) {
            (Some(start), Some(end)) => {
                Some((end.as_unix_nanos() - start.as_unix_nanos()) as f64 / 1e9)
            }
            _ => None,
        };
        MemoryRecord {
            track_id,
            value: snapshot(&self.value),
            initial: snapshot(&self.initial),
            change: snapshot(&self.change),
            peak: self.peak.as_ref().map(snapshot),
            timestamp: self.timestamp,
            unit,
            label: self.label.filter(|l| !l.is_empty()).map(Arc::from),
            start_time: self.start_time,
            end_time: self.end_time,
            samples: self
                .samples
                .iter()
                .map(|s| MemorySample {
                    timestamp: s.timestamp,
                    memory: snapshot(&s.memory),
                })
                .collect(),
            duration,
            status: Status::Ok,
            gpu_status: None,
        }
    }
}
