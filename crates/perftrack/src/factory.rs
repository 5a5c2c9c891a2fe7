//! One interface for every tracker, and a factory that makes them by name.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::kinds::Lifecycle;
use crate::{
    Clock, CpuConfig, CpuRecord, CpuUsageTracker, GenerationConfig, GenerationRecord,
    GenerationTracker, LatencyConfig, LatencyRecord, LatencyTracker, MemoryConfig, MemoryRecord,
    MemoryUsageTracker, Result, ThroughputConfig, ThroughputRecord, ThroughputTracker, TrackId,
    Tracker, TrackerKind,
};

/// What every tracker can do, for code that handles trackers generically (a list of them, an
/// exporter, a command-line tool). Object-safe: `Box<dyn PerformanceTracker>` works.
///
/// The trait is sealed: only perftrack's trackers implement it, so later versions can add
/// methods without breaking anyone.
///
/// The concrete trackers keep their typed methods of the same names (which return typed
/// records); call these through the trait, an [`AnyTracker`] or a `dyn PerformanceTracker`.
///
/// ```
/// use perftrack::{get_performance_tracker, PerformanceTracker};
///
/// let trackers: Vec<Box<dyn PerformanceTracker>> = ["latency", "throughput", "memory", "cpu"]
///     .into_iter()
///     .map(|kind| get_performance_tracker(kind, None).map(|t| Box::new(t) as Box<dyn PerformanceTracker>))
///     .collect::<Result<_, _>>()?;
/// for tracker in &trackers {
///     let id = tracker.start_tracking(Some("stage"));
///     let record = tracker.stop_tracking(&id)?;
///     println!("{}: {}", tracker.tracker_type(), serde_json::to_string(&record)?);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait PerformanceTracker: Send + Sync + sealed::Sealed {
    /// The kind of tracker this is.
    ///
    /// ```
    /// use perftrack::{get_performance_tracker, PerformanceTracker, TrackerKind};
    /// let tracker = get_performance_tracker("memory_usage", None)?;
    /// assert_eq!(tracker.kind(), TrackerKind::Memory);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    fn kind(&self) -> TrackerKind;
    /// The `tracker_type` of the kind's metrics files: `"latency"`, `"throughput"`, `"memory"`
    /// or `"cpu"` ([`TrackerKind::file_type`]).
    fn tracker_type(&self) -> &'static str {
        self.kind().file_type()
    }
    /// Starts a session; `Some("")` and `None` mean no label.
    fn start_tracking(&self, label: Option<&str>) -> TrackId;
    /// Stops a session and returns its record.
    fn stop_tracking(&self, id: &TrackId) -> Result<AnyRecord>;
    /// The tracker's current value (see each tracker's `current_value`), as JSON.
    fn current_value(&self, id: Option<&TrackId>) -> Result<serde_json::Value>;
    /// Statistics of one label, or of everything with `None`, as JSON (`null` when there
    /// are none, for latency and throughput; an object of readings for memory and CPU).
    fn statistics_json(&self, label: Option<&str>) -> serde_json::Value;
    /// Discards every record, statistic and active session.
    fn reset(&self);
    /// Saves the metrics file.
    fn save_metrics(&self, path: &Path) -> Result<()>;
    /// Loads a metrics file, replacing records and statistics.
    fn load_metrics(&self, path: &Path) -> Result<()>;
    /// The metrics file `save_metrics` would write, as JSON text.
    fn metrics_json(&self) -> Result<String>;
    /// Loads metrics from JSON text as `load_metrics` loads a file; `source` names it in errors.
    fn load_metrics_json(&self, text: &str, source: &Path) -> Result<()>;
    /// Adds a metrics file's measurements to the tracker's own: summaries of one label merge,
    /// records are appended within `max_records` (see each tracker's `merge_metrics`).
    ///
    /// ```
    /// use perftrack::{get_performance_tracker, PerformanceTracker};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("worker-2.json");
    /// let worker = get_performance_tracker("latency", None)?;
    /// let id = worker.start_tracking(Some("retrieval"));
    /// worker.stop_tracking(&id)?;
    /// worker.save_metrics(&path)?;
    ///
    /// let all = get_performance_tracker("latency", None)?;
    /// let id = all.start_tracking(Some("retrieval"));
    /// all.stop_tracking(&id)?;
    /// all.merge_metrics(&path)?;
    /// assert_eq!(all.statistics_json(Some("retrieval"))["count"], 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn merge_metrics(&self, path: &Path) -> Result<()>;
    /// Adds metrics from JSON text as `merge_metrics` adds a file's; `source` names it in errors.
    fn merge_metrics_json(&self, text: &str, source: &Path) -> Result<()>;
    /// The configuration, as JSON with the Python original's key names.
    fn config_json(&self) -> serde_json::Value;
}

/// A record of any tracker; serialises exactly as the record inside it.
///
/// ```
/// use perftrack::{AnyRecord, LatencyConfig, LatencyTracker};
/// let record = AnyRecord::from(LatencyTracker::new(LatencyConfig::default()).track("x").stop());
/// assert_eq!(serde_json::to_value(&record)?["label"], "x");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "one record per finished session, handed to the caller and not kept in bulk"
)]
#[non_exhaustive]
pub enum AnyRecord {
    /// A latency record.
    Latency(LatencyRecord),
    /// A throughput record.
    Throughput(ThroughputRecord),
    /// A memory record.
    Memory(MemoryRecord),
    /// A CPU record.
    Cpu(CpuRecord),
    /// A generation record.
    Generation(GenerationRecord),
}

macro_rules! any_record_from {
    ($($variant:ident($ty:ty)),*) => {
        $(impl From<$ty> for AnyRecord {
            fn from(record: $ty) -> Self {
                AnyRecord::$variant(record)
            }
        })*
    };
}
any_record_from!(
    Latency(LatencyRecord),
    Throughput(ThroughputRecord),
    Memory(MemoryRecord),
    Cpu(CpuRecord),
    Generation(GenerationRecord)
);

/// A tracker of any type, as the factory makes them. `Clone` (clones share state),
/// implements [`PerformanceTracker`], and gives access to the concrete tracker.
///
/// ```
/// let tracker = perftrack::get_performance_tracker("Latency", Some(serde_json::json!({"time_unit": "us"})))?;
/// let latency = tracker.as_latency().expect("a latency tracker");
/// latency.time("step", || ());
/// assert_eq!(latency.statistics(None).unwrap().unit, "us");
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AnyTracker {
    /// A latency tracker.
    Latency(LatencyTracker),
    /// A throughput tracker.
    Throughput(ThroughputTracker),
    /// A memory tracker.
    Memory(MemoryUsageTracker),
    /// A CPU tracker.
    Cpu(CpuUsageTracker),
    /// A generation tracker.
    Generation(GenerationTracker),
}

impl AnyTracker {
    /// Makes a tracker of `kind` from an optional JSON configuration with the Python
    /// original's key names, as [`get_performance_tracker`] does for a kind given by name. An
    /// unknown configuration key or a bad value is an
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) that names it.
    ///
    /// ```
    /// use perftrack::{AnyTracker, PerformanceTracker, TrackerKind};
    ///
    /// let trackers = TrackerKind::ALL
    ///     .iter()
    ///     .map(|&kind| AnyTracker::new(kind, None))
    ///     .collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(trackers[3].tracker_type(), "cpu");
    /// let ms = AnyTracker::new(TrackerKind::Latency, Some(serde_json::json!({"time_unit": "ms"})))?;
    /// assert_eq!(ms.config_json()["time_unit"], "ms");
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn new(kind: TrackerKind, config: Option<serde_json::Value>) -> Result<Self> {
        let config = config.unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
        Ok(match kind {
            TrackerKind::Latency => {
                Self::Latency(LatencyTracker::new(LatencyConfig::from_value(config)?))
            }
            TrackerKind::Throughput => Self::Throughput(ThroughputTracker::new(
                ThroughputConfig::from_value(config)?,
            )),
            TrackerKind::Memory => {
                Self::Memory(MemoryUsageTracker::new(MemoryConfig::from_value(config)?))
            }
            TrackerKind::Cpu => Self::Cpu(CpuUsageTracker::new(CpuConfig::from_value(config)?)),
            TrackerKind::Generation => Self::Generation(GenerationTracker::new(
                GenerationConfig::from_value(config)?,
            )),
        })
    }

    /// A tracker of `kind`, as [`new`](Self::new) makes it, reading time from `clock`: a
    /// [`ManualClock`](crate::ManualClock) makes every duration a test or a simulation
    /// measures exactly the one it advanced.
    ///
    /// ```
    /// use perftrack::{AnyTracker, ManualClock, TrackerKind};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = AnyTracker::with_clock(TrackerKind::Latency, None, clock.clone())?;
    /// let latency = tracker.as_latency().unwrap();
    /// let id = latency.start_tracking(None);
    /// clock.advance(Duration::from_millis(250));
    /// assert_eq!(latency.stop_tracking(&id)?.value, 250.0);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn with_clock(
        kind: TrackerKind,
        config: Option<serde_json::Value>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let config = config.unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
        Ok(match kind {
            TrackerKind::Latency => Self::Latency(LatencyTracker::with_clock(
                LatencyConfig::from_value(config)?,
                clock,
            )),
            TrackerKind::Throughput => Self::Throughput(ThroughputTracker::with_clock(
                ThroughputConfig::from_value(config)?,
                clock,
            )),
            TrackerKind::Memory => Self::Memory(MemoryUsageTracker::with_clock(
                MemoryConfig::from_value(config)?,
                clock,
            )),
            TrackerKind::Cpu => Self::Cpu(CpuUsageTracker::with_clock(
                CpuConfig::from_value(config)?,
                clock,
            )),
            TrackerKind::Generation => Self::Generation(GenerationTracker::with_clock(
                GenerationConfig::from_value(config)?,
                clock,
            )),
        })
    }

    /// The latency tracker inside, if it is one.
    ///
    /// ```
    /// let t = perftrack::get_performance_tracker("cpu", None)?;
    /// assert!(t.as_latency().is_none());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn as_latency(&self) -> Option<&LatencyTracker> {
        match self {
            Self::Latency(t) => Some(t),
            _ => None,
        }
    }

    /// The throughput tracker inside, if it is one.
    ///
    /// ```
    /// let t = perftrack::get_performance_tracker("throughput", None)?;
    /// t.as_throughput().unwrap().record("queries", 1);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn as_throughput(&self) -> Option<&ThroughputTracker> {
        match self {
            Self::Throughput(t) => Some(t),
            _ => None,
        }
    }

    /// The memory tracker inside, if it is one.
    ///
    /// ```
    /// let t = perftrack::get_performance_tracker("memory_usage", None)?;
    /// assert!(t.as_memory().is_some());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn as_memory(&self) -> Option<&MemoryUsageTracker> {
        match self {
            Self::Memory(t) => Some(t),
            _ => None,
        }
    }

    /// The CPU tracker inside, if it is one.
    ///
    /// ```
    /// let t = perftrack::get_performance_tracker(" CPU ", None)?;
    /// assert!(t.as_cpu().is_some());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn as_cpu(&self) -> Option<&CpuUsageTracker> {
        match self {
            Self::Cpu(t) => Some(t),
            _ => None,
        }
    }

    /// The generation tracker inside, if it is one.
    ///
    /// ```
    /// let t = perftrack::get_performance_tracker("llm", None)?;
    /// assert!(t.as_generation().is_some());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn as_generation(&self) -> Option<&GenerationTracker> {
        match self {
            Self::Generation(t) => Some(t),
            _ => None,
        }
    }
}

/// JSON of a value that always serialises (the library's own types do).
fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl AnyTracker {
    /// The tracker inside, as the trait every tracker implements.
    fn inner(&self) -> &dyn PerformanceTracker {
        match self {
            Self::Latency(t) => t,
            Self::Throughput(t) => t,
            Self::Memory(t) => t,
            Self::Cpu(t) => t,
            Self::Generation(t) => t,
        }
    }
}

/// Keeps [`PerformanceTracker`] implemented by perftrack's trackers alone.
mod sealed {
    pub trait Sealed {}
    impl<K: crate::kinds::Lifecycle> Sealed for crate::Tracker<K> {}
    impl Sealed for super::AnyTracker {}
}

impl PerformanceTracker for AnyTracker {
    fn kind(&self) -> TrackerKind {
        self.inner().kind()
    }

    fn start_tracking(&self, label: Option<&str>) -> TrackId {
        self.inner().start_tracking(label)
    }

    fn stop_tracking(&self, id: &TrackId) -> Result<AnyRecord> {
        self.inner().stop_tracking(id)
    }

    fn current_value(&self, id: Option<&TrackId>) -> Result<serde_json::Value> {
        self.inner().current_value(id)
    }

    fn statistics_json(&self, label: Option<&str>) -> serde_json::Value {
        self.inner().statistics_json(label)
    }

    fn reset(&self) {
        self.inner().reset();
    }

    fn save_metrics(&self, path: &Path) -> Result<()> {
        self.inner().save_metrics(path)
    }

    fn load_metrics(&self, path: &Path) -> Result<()> {
        self.inner().load_metrics(path)
    }

    fn metrics_json(&self) -> Result<String> {
        self.inner().metrics_json()
    }

    fn load_metrics_json(&self, text: &str, source: &Path) -> Result<()> {
        self.inner().load_metrics_json(text, source)
    }

    fn merge_metrics(&self, path: &Path) -> Result<()> {
        self.inner().merge_metrics(path)
    }

    fn merge_metrics_json(&self, text: &str, source: &Path) -> Result<()> {
        self.inner().merge_metrics_json(text, source)
    }

    fn config_json(&self) -> serde_json::Value {
        self.inner().config_json()
    }
}

impl<K: Lifecycle> PerformanceTracker for Tracker<K> {
    fn kind(&self) -> TrackerKind {
        K::KIND
    }

    fn start_tracking(&self, label: Option<&str>) -> TrackId {
        Tracker::start_tracking(self, label)
    }

    fn stop_tracking(&self, id: &TrackId) -> Result<AnyRecord> {
        Tracker::stop_tracking(self, id).map(Into::into)
    }

    fn current_value(&self, id: Option<&TrackId>) -> Result<serde_json::Value> {
        Tracker::current_value(self, id).map(|v| json(&v))
    }

    fn statistics_json(&self, label: Option<&str>) -> serde_json::Value {
        json(&Tracker::statistics(self, label))
    }

    fn reset(&self) {
        Tracker::reset(self);
    }

    fn save_metrics(&self, path: &Path) -> Result<()> {
        Tracker::save_metrics(self, path)
    }

    fn load_metrics(&self, path: &Path) -> Result<()> {
        Tracker::load_metrics(self, path).map(drop)
    }

    fn metrics_json(&self) -> Result<String> {
        Tracker::metrics_json(self)
    }

    fn load_metrics_json(&self, text: &str, source: &Path) -> Result<()> {
        Tracker::load_metrics_json(self, text, source).map(drop)
    }

    fn merge_metrics(&self, path: &Path) -> Result<()> {
        Tracker::merge_metrics(self, path).map(drop)
    }

    fn merge_metrics_json(&self, text: &str, source: &Path) -> Result<()> {
        Tracker::merge_metrics_json(self, text, source).map(drop)
    }

    fn config_json(&self) -> serde_json::Value {
        json(Tracker::config(self))
    }
}

/// Makes a tracker by name, from an optional JSON configuration with the Python original's key
/// names: `latency`, `throughput`, `memory` (or `memory_usage`) or `cpu` (or `cpu_usage`), or
/// the Python original's type names, case-insensitive, surrounding whitespace ignored
/// ([`TrackerKind::from_name`]). An unknown kind is an
/// [`Error::UnknownTrackerType`](crate::Error::UnknownTrackerType) that lists the valid ones; an
/// unknown configuration key or a bad value is an
/// [`Error::InvalidConfig`](crate::Error::InvalidConfig) that names it. [`AnyTracker::new`] takes the kind as a [`TrackerKind`].
///
/// ```
/// use perftrack::{get_performance_tracker, Error, PerformanceTracker};
/// use serde_json::json;
///
/// let latency = get_performance_tracker("latency", Some(json!({"time_unit": "ms"})))?;
/// let cpu = get_performance_tracker("cpu", Some(json!({"sampling_interval": 0.5})))?;
/// assert_eq!((latency.tracker_type(), cpu.tracker_type()), ("latency", "cpu"));
///
/// let err = get_performance_tracker("gpu", None).unwrap_err();
/// assert!(matches!(err, Error::UnknownTrackerType { .. }));
/// assert!(err.to_string().contains("latency, throughput"));
/// # Ok::<(), perftrack::Error>(())
/// ```
pub fn get_performance_tracker(
    kind: &str,
    config: Option<serde_json::Value>,
) -> Result<AnyTracker> {
    AnyTracker::new(TrackerKind::from_name(kind)?, config)
}
