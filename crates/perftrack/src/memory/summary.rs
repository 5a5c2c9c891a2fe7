//! Per-label statistics of memory sessions: one distribution per reading for the final
//! values, the peaks and the changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::snapshot::{KEYS, Kind, Reading, scale};
use crate::stats::readings::{self, Readings};
use crate::tracker::Summary;
use crate::{MemoryUnit, SessionsLabelSnapshot, Status, Timestamp};

/// Statistics of one memory reading over finished sessions, in the tracker's unit
/// (`percent` for the percentages).
///
/// ```
/// use perftrack::{MemoryConfig, MemoryUsageTracker};
///
/// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
/// let id = tracker.start_tracking(Some("embed"));
/// tracker.stop_tracking(&id)?;
/// let stats = tracker.statistics(Some("embed"));
/// # #[cfg(target_os = "linux")]
/// assert_eq!(stats["process_rss"].count, 1);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyStatistics {
    /// Sessions whose record had this reading.
    pub count: u64,
    /// Smallest final value.
    pub min: f64,
    /// Largest final value.
    pub max: f64,
    /// Mean final value.
    pub mean: f64,
    /// The most recent session's final value.
    pub last: f64,
    /// Largest peak (`None` without `track_peak`).
    pub peak_max: Option<f64>,
    /// Mean peak (`None` without `track_peak`).
    pub peak_mean: Option<f64>,
    /// Smallest change over a session.
    pub change_min: Option<f64>,
    /// Largest change over a session.
    pub change_max: Option<f64>,
    /// Mean change over a session.
    pub change_mean: Option<f64>,
    /// The unit of every value above.
    pub unit: String,
}

/// The saved form of one label's memory statistics (`docs/FORMAT.md` §5.3), in bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySummary {
    pub(crate) sessions: u64,
    pub(crate) value: Readings,
    pub(crate) peak: Readings,
    pub(crate) change: Readings,
}

/// Records every available value of `reading` under its name.
fn record_reading(
    readings: &mut Readings,
    reading: &Reading,
    status: Status,
    at: Timestamp,
    exact_limit: usize,
) {
    for (value, (name, _)) in reading.iter().zip(KEYS) {
        if let Some(v) = value {
            readings::record(readings, name, *v, status, at, exact_limit);
        }
    }
}

impl MemorySummary {
    /// Adds one finished session.
    pub(crate) fn record(
        &mut self,
        value: &Reading,
        peak: Option<&Reading>,
        change: &Reading,
        status: Status,
        at: Timestamp,
        exact_limit: usize,
    ) {
        self.sessions = self.sessions.saturating_add(1);
        record_reading(&mut self.value, value, status, at, exact_limit);
        if let Some(peak) = peak {
            record_reading(&mut self.peak, peak, status, at, exact_limit);
        }
        record_reading(&mut self.change, change, status, at, exact_limit);
    }

    /// Statistics per reading, in `unit`.
    pub(crate) fn statistics(&self, unit: MemoryUnit) -> BTreeMap<String, KeyStatistics> {
        let mut out = BTreeMap::new();
        for (name, kind) in KEYS {
            let Some(value) = self.value.get(name) else {
                continue;
            };
            let factor = 1.0 / scale(kind, unit);
            let unit_name = match kind {
                Kind::Percent => "percent",
                Kind::Used | Kind::Free => unit.as_str(),
            };
            let Some(v) = value.statistics(factor, unit_name) else {
                continue;
            };
            let peak = self
                .peak
                .get(name)
                .and_then(|d| d.statistics(factor, unit_name));
            let change = self
                .change
                .get(name)
                .and_then(|d| d.statistics(factor, unit_name));
            out.insert(
                name.to_owned(),
                KeyStatistics {
                    count: v.count,
                    min: v.min,
                    max: v.max,
                    mean: v.mean,
                    last: v.last,
                    peak_max: peak.as_ref().map(|p| p.max),
                    peak_mean: peak.as_ref().map(|p| p.mean),
                    change_min: change.as_ref().map(|c| c.min),
                    change_max: change.as_ref().map(|c| c.max),
                    change_mean: change.as_ref().map(|c| c.mean),
                    unit: unit_name.to_owned(),
                },
            );
        }
        out
    }
}

impl Summary for MemorySummary {
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
        readings::merge(&mut self.change, &other.change);
    }

    fn set_exact_limit(&mut self, exact_limit: usize) {
        for map in [&mut self.value, &mut self.peak, &mut self.change] {
            readings::set_exact_limit(map, exact_limit);
        }
    }

    /// Checks that every reading is known and counts no more sessions than there were.
    fn check(&self) -> Result<(), String> {
        let known = |name: &str| KEYS.iter().any(|(k, _)| *k == name);
        readings::check("value", &self.value, self.sessions, known)?;
        readings::check("peak", &self.peak, self.sessions, known)?;
        readings::check("change", &self.change, self.sessions, known)
    }
}

impl MemorySummary {
    /// The label's part of a [`Snapshot`](crate::Snapshot).
    pub(crate) fn snapshot(&self) -> SessionsLabelSnapshot {
        SessionsLabelSnapshot {
            sessions: self.sessions,
            value: self.value.clone(),
            peak: self.peak.clone(),
            change: self.change.clone(),
        }
    }
}
