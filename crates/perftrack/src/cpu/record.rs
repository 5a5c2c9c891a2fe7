//! `CpuRecord`: one finished CPU session.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::snapshot::{CpuSample, CpuSnapshot};
use crate::{Status, Timestamp, TrackId};

/// One thread's share of a session.
///
/// ```
/// let t = perftrack::ThreadUsage { name: "tokenizer".into(), tid: 42, cpu_s: 0.8 };
/// assert_eq!(serde_json::to_value(&t)?["cpu_s"], 0.8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadUsage {
    /// The thread's name (the first 15 bytes, as Linux keeps them).
    pub name: String,
    /// The thread's id.
    pub tid: u32,
    /// CPU seconds the thread used during the session.
    pub cpu_s: f64,
}

/// One finished CPU session, as `stop_tracking` returns it and metrics files store it.
///
/// It serialises with the Python original's keys (`track_id`, `value`, `peak`, `timestamp`,
/// `duration`, `label`, `start_time`, `end_time`, `samples`) plus `unit` (`"percent"`),
/// `process_normalized`, `process_user_s`, `process_system_s`, `threads`, `status` and
/// `reasons`.
///
/// ```
/// use perftrack::{CpuConfig, CpuUsageTracker};
/// let tracker = CpuUsageTracker::new(CpuConfig::default());
/// let record = tracker.track("rerank").stop();
/// assert_eq!(record.unit, "percent");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuRecord {
    /// The session's id.
    pub track_id: TrackId,
    /// The average over the session: CPU time between the first and final readings ÷ elapsed
    /// time (weighted by time, never a mean of samples).
    pub value: CpuSnapshot,
    /// The highest reading over any interval between consecutive readings; `value` when no
    /// sample was taken.
    pub peak: CpuSnapshot,
    /// When the session ended.
    pub timestamp: Timestamp,
    /// The session's length in seconds.
    pub duration: Option<f64>,
    /// Always `"percent"`.
    pub unit: String,
    /// The label, if the session had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Arc<str>>,
    /// When the session started (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When the session ended (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// Samples, oldest first: each covers the interval since the previous reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<CpuSample>,
    /// `value.process` ÷ the cores available to the process (affinity and cgroup quota),
    /// 0–100.
    #[serde(default)]
    pub process_normalized: Option<f64>,
    /// User CPU seconds the process (tree) used during the session.
    #[serde(default)]
    pub process_user_s: Option<f64>,
    /// System CPU seconds the process (tree) used during the session.
    #[serde(default)]
    pub process_system_s: Option<f64>,
    /// The busiest threads during the session (at most 10, busiest first), with
    /// `track_threads`; `None` where they cannot be read.
    #[serde(default)]
    pub threads: Option<Vec<ThreadUsage>>,
    /// How the session ended.
    #[serde(default)]
    pub status: Status,
    /// Why a figure that was asked for is missing, keyed by the figure.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, String>,
}

/// A CPU record as the Python original wrote it.
#[derive(Deserialize)]
pub struct PythonCpuRecord {
    track_id: serde_json::Value,
    value: PythonReading,
    #[serde(default)]
    peak: Option<PythonReading>,
    timestamp: Timestamp,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    start_time: Option<Timestamp>,
    #[serde(default)]
    end_time: Option<Timestamp>,
    #[serde(default)]
    samples: Vec<PythonSample>,
}

#[derive(Deserialize, Default)]
struct PythonReading {
    #[serde(default)]
    process: Option<f64>,
    #[serde(default)]
    system: Option<f64>,
    #[serde(default)]
    cores: super::snapshot::Cores,
}

#[derive(Deserialize)]
struct PythonSample {
    timestamp: Timestamp,
    cpu: PythonReading,
}

impl From<PythonReading> for CpuSnapshot {
    fn from(r: PythonReading) -> Self {
        CpuSnapshot {
            process: r.process,
            system: r.system,
            cores: r.cores,
        }
    }
}

impl PythonCpuRecord {
    /// Converts to a record; the original's figures are taken as written (its `value` is an
    /// unweighted mean of its samples).
    pub(crate) fn into_record(self) -> CpuRecord {
        let track_id = match self.track_id {
            serde_json::Value::String(s) => TrackId::from(s),
            other => TrackId::from(other.to_string()),
        };
        let value = CpuSnapshot::from(self.value);
        CpuRecord {
            track_id,
            peak: self.peak.map_or_else(|| value.clone(), CpuSnapshot::from),
            value,
            timestamp: self.timestamp,
            duration: self.duration,
            unit: "percent".to_owned(),
            label: self.label.filter(|l| !l.is_empty()).map(Arc::from),
            start_time: self.start_time,
            end_time: self.end_time,
            samples: self
                .samples
                .into_iter()
                .map(|s| CpuSample {
                    timestamp: s.timestamp,
                    cpu: s.cpu.into(),
                    duration_s: 0.0,
                })
                .collect(),
            process_normalized: None,
            process_user_s: None,
            process_system_s: None,
            threads: None,
            status: Status::Ok,
            reasons: BTreeMap::new(),
        }
    }
}
