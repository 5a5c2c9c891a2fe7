//! Per-label statistics of CPU sessions: one distribution per reading for the averages and
//! one for the peaks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::snapshot::CpuSnapshot;
use crate::stats::readings::{self, Readings};
use crate::tracker::Summary;
use crate::{SessionsLabelSnapshot, Status, Timestamp};

/// Statistics of one CPU reading (`process`, `system`, `core_N`) over finished sessions, in
/// percent.
///
/// ```
/// use perftrack::{CpuConfig, CpuUsageTracker};
/// let tracker = CpuUsageTracker::new(CpuConfig::default());
/// let id = tracker.start_tracking(Some("bm25"));
/// std::thread::sleep(std::time::Duration::from_millis(30));
/// tracker.stop_tracking(&id)?;
/// # #[cfg(target_os = "linux")]
/// assert_eq!(tracker.statistics(Some("bm25"))["system"].count, 1);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuStatistics {
    /// Sessions with this reading.
    pub count: u64,
    /// Smallest session average.
    pub min: f64,
    /// Largest session average.
    pub max: f64,
    /// Mean of the session averages.
    pub mean: f64,
    /// The most recent session's average.
    pub last: f64,
    /// The highest peak of any session.
    pub peak: Option<f64>,
    /// Always `"percent"`.
    pub unit: String,
}

/// The saved form of one label's CPU statistics (`docs/FORMAT.md` §5.4), in percent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSummary {
    pub(crate) sessions: u64,
    pub(crate) value: Readings,
    pub(crate) peak: Readings,
}

/// Records every figure of `snapshot` under its reading's name.
fn record_snapshot(
    readings: &mut Readings,
    snapshot: &CpuSnapshot,
    status: Status,
    at: Timestamp,
    exact_limit: usize,
) {
    for (name, value) in snapshot.readings() {
        readings::record(readings, &name, value, status, at, exact_limit);
    }
}

/// Whether `name` is a CPU reading: `process`, `system` or `core_N`.
fn is_reading(name: &str) -> bool {
    name == "process"
        || name == "system"
        || name
            .strip_prefix("core_")
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// Sorts `core_N` readings numerically after `process` and `system`.
fn order(name: &str) -> (u8, u64, String) {
    match name {
        "process" => (0, 0, String::new()),
        "system" => (1, 0, String::new()),
        _ => (
            2,
            name.strip_prefix("core_")
                .and_then(|n| n.parse().ok())
                .unwrap_or(u64::MAX),
            name.to_owned(),
        ),
    }
}

impl CpuSummary {
    pub(crate) fn record(
        &mut self,
        value: &CpuSnapshot,
        peak: &CpuSnapshot,
        status: Status,
        at: Timestamp,
        exact_limit: usize,
    ) {
        self.sessions = self.sessions.saturating_add(1);
        record_snapshot(&mut self.value, value, status, at, exact_limit);
        record_snapshot(&mut self.peak, peak, status, at, exact_limit);
    }

    /// Statistics per reading, `process` and `system` first, then the cores in numeric order
    /// (the map itself sorts by name).
    pub(crate) fn statistics(&self) -> BTreeMap<String, CpuStatistics> {
        let mut names: Vec<&String> = self.value.keys().collect();
        names.sort_by_key(|n| order(n));
        names
            .into_iter()
            .filter_map(|name| {
                let v = self.value.get(name)?.statistics(1.0, "percent")?;
                let peak = self
                    .peak
                    .get(name)
                    .and_then(|d| d.statistics(1.0, "percent"))
                    .map(|p| p.max);
                Some((
                    name.clone(),
                    CpuStatistics {
                        count: v.count,
                        min: v.min,
                        max: v.max,
                        mean: v.mean,
                        last: v.last,
                        peak,
                        unit: "percent".to_owned(),
                    },
                ))
            })
            .collect()
    }
}

impl Summary for CpuSummary {
    fn empty(_exact_limit: usize) -> Self {
        Self::default()
    }

    fn count(&self) -> u64 {
        self.sessions
    }

    /// Adds every session of `other`; counts saturate at `u64::MAX`.
    fn merge(&mut self, other: &Self) {
        self.sessions = self.sessions.saturating_add(other.sessions);
        readings::merge(&mut self.value, &other.value);
        readings::merge(&mut self.peak, &other.peak);
    }

    fn set_exact_limit(&mut self, exact_limit: usize) {
        readings::set_exact_limit(&mut self.value, exact_limit);
        readings::set_exact_limit(&mut self.peak, exact_limit);
    }

    /// Checks that every reading is known and counts no more sessions than there were.
    fn check(&self) -> Result<(), String> {
        readings::check("value", &self.value, self.sessions, is_reading)?;
        readings::check("peak", &self.peak, self.sessions, is_reading)
    }
}

impl CpuSummary {
    /// The label's part of a [`Snapshot`](crate::Snapshot).
    pub(crate) fn snapshot(&self) -> SessionsLabelSnapshot {
        SessionsLabelSnapshot {
            sessions: self.sessions,
            value: self.value.clone(),
            peak: self.peak.clone(),
            change: BTreeMap::new(),
        }
    }
}
