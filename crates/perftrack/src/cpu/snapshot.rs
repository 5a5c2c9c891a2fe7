//! CPU readings over an interval, and the counters they are computed from.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Timestamp;
use crate::probe::cpu::{ProcessTimes, SystemTimes, TICKS_PER_SECOND};

/// CPU use over an interval, in percent. `process` is a percentage of one core, so it can
/// exceed 100 (up to 100 × cores); `system` and each core are 0–100. A figure is absent when
/// its `track_*` switch is off or the interval was too short to measure it (the record's
/// `reasons` says which).
///
/// ```
/// use perftrack::{CpuConfig, CpuUsageTracker};
///
/// let tracker = CpuUsageTracker::new(CpuConfig::default());
/// let id = tracker.start_tracking(Some("tokenise"));
/// let busy: u64 = (0..3_000_000u64).map(|i| i % 7).sum();
/// let record = tracker.stop_tracking(&id)?;
/// # #[cfg(target_os = "linux")]
/// assert!(record.value.system.is_some() || record.reasons.contains_key("system"));
/// # let _ = busy;
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSnapshot {
    /// The process (tree): CPU time ÷ elapsed time, as a percentage of one core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<f64>,
    /// The whole system: busy time ÷ all time of every core, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<f64>,
    /// Each core the process may run on, by core number, 0–100; written `{"core_0": …}` in
    /// numeric order.
    #[serde(default, skip_serializing_if = "Cores::is_empty")]
    pub cores: Cores,
}

/// Per-core figures by core number, written as `{"core_0": …, "core_1": …}` in numeric order.
///
/// ```
/// let mut cores = perftrack::Cores::default();
/// cores.insert(10, 5.0);
/// cores.insert(2, 50.0);
/// assert_eq!(serde_json::to_string(&cores)?, r#"{"core_2":50.0,"core_10":5.0}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cores(pub BTreeMap<u32, f64>);

impl Cores {
    /// Whether there are no figures.
    ///
    /// ```
    /// assert!(perftrack::Cores::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets core `core`'s figure.
    ///
    /// ```
    /// let mut cores = perftrack::Cores::default();
    /// cores.insert(0, 12.5);
    /// assert_eq!(cores.get(0), Some(12.5));
    /// ```
    pub fn insert(&mut self, core: u32, value: f64) {
        self.0.insert(core, value);
    }

    /// Core `core`'s figure.
    ///
    /// ```
    /// assert_eq!(perftrack::Cores::default().get(3), None);
    /// ```
    pub fn get(&self, core: u32) -> Option<f64> {
        self.0.get(&core).copied()
    }

    /// `(core, figure)` in numeric order of the cores.
    ///
    /// ```
    /// let mut cores = perftrack::Cores::default();
    /// cores.insert(1, 80.0);
    /// cores.insert(0, 100.0);
    /// assert_eq!(cores.iter().collect::<Vec<_>>(), [(0, 100.0), (1, 80.0)]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.0.iter().map(|(core, value)| (*core, *value))
    }

    /// How many cores have a figure.
    ///
    /// ```
    /// assert_eq!(perftrack::Cores::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl Serialize for Cores {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (core, value) in &self.0 {
            map.serialize_entry(&format!("core_{core}"), value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Cores {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CoresVisitor;
        impl<'de> Visitor<'de> for CoresVisitor {
            type Value = Cores;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#"an object like {"core_0": 12.5}"#)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cores, A::Error> {
                let mut cores = Cores::default();
                while let Some((key, value)) = map.next_entry::<String, f64>()? {
                    let core = key
                        .strip_prefix("core_")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| {
                            de::Error::custom(format!("`{key}` is not a core (core_N)"))
                        })?;
                    cores.insert(core, value);
                }
                Ok(cores)
            }
        }
        deserializer.deserialize_map(CoresVisitor)
    }
}

impl CpuSnapshot {
    /// `(name, value)` of every figure: `process`, `system`, then `core_N` in numeric order.
    ///
    /// ```
    /// let s = perftrack::CpuSnapshot { process: Some(150.0), ..Default::default() };
    /// assert_eq!(s.readings(), [("process".to_owned(), 150.0)]);
    /// ```
    pub fn readings(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        if let Some(p) = self.process {
            out.push(("process".to_owned(), p));
        }
        if let Some(s) = self.system {
            out.push(("system".to_owned(), s));
        }
        for (core, value) in &self.cores.0 {
            out.push((format!("core_{core}"), *value));
        }
        out
    }

    /// The highest of two readings, figure by figure.
    pub(crate) fn max(&self, other: &CpuSnapshot) -> CpuSnapshot {
        let pick = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut cores = self.cores.clone();
        for (core, value) in &other.cores.0 {
            let slot = cores.0.entry(*core).or_insert(*value);
            *slot = slot.max(*value);
        }
        CpuSnapshot {
            process: pick(self.process, other.process),
            system: pick(self.system, other.system),
            cores,
        }
    }
}

/// One background or explicit sample: the CPU use since the previous reading.
///
/// ```
/// use perftrack::{CpuConfig, CpuUsageTracker};
/// let tracker = CpuUsageTracker::new(CpuConfig::default());
/// let id = tracker.start_tracking(None);
/// let sample = tracker.record_sample(&id)?;
/// assert!(sample.duration_s >= 0.0);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSample {
    /// When the sample was taken (the end of its interval).
    pub timestamp: Timestamp,
    /// The CPU use over the interval.
    pub cpu: CpuSnapshot,
    /// The interval's length in seconds.
    #[serde(default)]
    pub duration_s: f64,
}

/// Cumulative counters at one moment: the two ends of an interval give its readings.
#[derive(Clone, Debug)]
pub(crate) struct Counters {
    pub(crate) at: Instant,
    pub(crate) process: Option<ProcessTimes>,
    pub(crate) system: Option<SystemTimes>,
}

/// A [`CpuUsageTracker`](crate::CpuUsageTracker)'s cumulative CPU counters at one moment;
/// two of them give the use in between
/// ([`usage_between`](crate::CpuUsageTracker::usage_between)).
///
/// ```
/// # use perftrack::{CpuConfig, CpuUsageTracker};
/// let counters = CpuUsageTracker::new(CpuConfig::default()).counters();
/// # #[cfg(target_os = "linux")]
/// assert!(counters.process_cpu_seconds().is_some());
/// ```
#[derive(Clone, Debug)]
pub struct CpuCounters(pub(crate) Counters);

impl CpuCounters {
    /// The watched process's (tree's) CPU time so far, user and system together, in seconds
    /// (counted in the kernel's 10 ms ticks); `None` if it cannot be read or is not tracked.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig { track_process: false, ..Default::default() });
    /// assert_eq!(tracker.counters().process_cpu_seconds(), None);
    /// ```
    pub fn process_cpu_seconds(&self) -> Option<f64> {
        self.0.process.map(|p| p.user_s + p.system_s)
    }
}

/// Which figures to compute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Switches {
    pub(crate) process: bool,
    pub(crate) system: bool,
    pub(crate) cores: bool,
}

/// The readings between two counters, and why any asked-for figure is missing.
pub(crate) fn between(
    a: &Counters,
    b: &Counters,
    on: Switches,
    cores: &[u32],
    reasons: &mut BTreeMap<String, String>,
) -> CpuSnapshot {
    let wall = b.at.saturating_duration_since(a.at).as_secs_f64();
    let tick = 1.0 / TICKS_PER_SECOND;
    let mut out = CpuSnapshot::default();
    if on.process {
        match (a.process, b.process) {
            (Some(x), Some(y)) if wall >= tick => {
                let used = (y.user_s + y.system_s) - (x.user_s + x.system_s);
                out.process = Some((used.max(0.0) / wall) * 100.0);
            }
            (Some(_), Some(_)) => {
                reasons.insert(
                    "process".into(),
                    "shorter than one tick of the kernel's CPU clock (10 ms)".into(),
                );
            }
            _ => {
                reasons.insert(
                    "process".into(),
                    "the process's CPU times could not be read".into(),
                );
            }
        }
    }
    let (Some(x), Some(y)) = (&a.system, &b.system) else {
        if on.system || on.cores {
            reasons.insert("system".into(), "/proc/stat could not be read".into());
        }
        return out;
    };
    let percent = |before: &crate::probe::cpu::Ticks, after: &crate::probe::cpu::Ticks| {
        let total = after.total.saturating_sub(before.total);
        let busy = after.busy.saturating_sub(before.busy);
        (total > 0).then(|| (busy as f64 / total as f64 * 100.0).min(100.0))
    };
    if on.system {
        out.system = percent(&x.all, &y.all);
        if out.system.is_none() {
            reasons.insert(
                "system".into(),
                "shorter than one tick of the kernel's CPU clock (10 ms)".into(),
            );
        }
    }
    if on.cores {
        for core in cores {
            if let (Some(before), Some(after)) = (x.cores.get(core), y.cores.get(core)) {
                if let Some(p) = percent(before, after) {
                    out.cores.insert(*core, p);
                }
            }
        }
        if out.cores.len() < cores.len() {
            reasons.insert(
                "cores".into(),
                "a core's counters did not advance (an interval shorter than a tick)".into(),
            );
        }
    }
    out
}

/// The time-weighted average of two neighbouring samples.
pub(crate) fn merge_samples(a: &(CpuSnapshot, f64), b: &(CpuSnapshot, f64)) -> (CpuSnapshot, f64) {
    let (wa, wb) = (a.1, b.1);
    let total = wa + wb;
    let avg = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) if total > 0.0 => Some((x * wa + y * wb) / total),
        (x, y) => x.or(y),
    };
    let mut cores = Cores::default();
    for core in a.0.cores.0.keys().chain(b.0.cores.0.keys()) {
        if let Some(v) = avg(a.0.cores.get(*core), b.0.cores.get(*core)) {
            cores.insert(*core, v);
        }
    }
    (
        CpuSnapshot {
            process: avg(a.0.process, b.0.process),
            system: avg(a.0.system, b.0.system),
            cores,
        },
        total,
    )
}
