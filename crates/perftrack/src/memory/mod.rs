//! `MemoryUsageTracker`: the memory footprint of each stage (process, system, GPU), with
//! exact peaks.

mod config;
mod kernel_peak;
mod record;
mod snapshot;
mod summary;

pub use config::{MemoryConfig, SamplingInterval};
pub use record::MemoryRecord;
pub use snapshot::{MemorySample, MemorySnapshot};
pub use summary::KeyStatistics;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::engine::{Load, Shared};
use crate::probe::{self, Pid};
use crate::sampled::{self, Core, Guard, Handle, Slot};
use crate::session::lock;
use crate::store::{self, Layout, MetricsFile, V1Rules};
use crate::timeline::Timeline;
use crate::{Clock, MonotonicClock, Result, SessionsLabelSnapshot, Snapshot, Status, TrackId};
use kernel_peak::FoldPeak;
use record::PythonMemoryRecord;
use snapshot::{Reading, change, worst};
use summary::MemorySummary;

/// The tracker type as metrics files name it.
const TRACKER_TYPE: &str = crate::TrackerKind::Memory.file_type();
/// The tracker type as the Python original's files name it.
const PYTHON_TRACKER_TYPE: &str = crate::TrackerKind::Memory.python_type();
/// Where `process_rss` and `process_peak_rss` are in a reading.
const PROCESS_RSS: usize = snapshot::index("process_rss");
const PROCESS_PEAK_RSS: usize = snapshot::index("process_peak_rss");

/// Measures the memory footprint of stages: process, system, cgroup and GPU memory at the
/// start and end of each session, background samples in between, and exact peaks.
///
/// One background thread per tracker (named `perftrack-sampler`) samples every session that
/// wants it; it starts with the first such session and stops when no active session wants
/// samples any more, or when the last handle of the tracker drops (a guard, even a forgotten
/// one, never keeps it running). With `kernel_peak` (the default) the kernel's high-water mark of the
/// resident set is folded into `peak.process_rss`, so a spike between two samples is never
/// missed. `MemoryUsageTracker` is `Clone + Send + Sync`; clones share their state.
///
/// ```
/// use perftrack::{MemoryConfig, MemoryUsageTracker};
///
/// let tracker = MemoryUsageTracker::new(MemoryConfig::from_json(r#"{"unit": "MB"}"#)?);
/// let id = tracker.start_tracking(Some("load embeddings"));
/// let embeddings = vec![0f32; 4 * 1024 * 1024]; // 16 MiB
/// let record = tracker.stop_tracking(&id)?;
/// if let (Some(peak), Some(initial)) = (record.peak.and_then(|p| p.process_rss), record.initial.process_rss) {
///     println!("loading embeddings took {:.1} MB", peak - initial);
/// }
/// # drop(embeddings);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MemoryUsageTracker {
    handle: Handle<Memory>,
}

// A panic in user code never leaves the tracker's state half-updated (locks ignore poisoning
// and hold no user code).
impl std::panic::UnwindSafe for MemoryUsageTracker {}
impl std::panic::RefUnwindSafe for MemoryUsageTracker {}

/// What the memory tracker reads: the sampled-session lifecycle comes from [`sampled`].
#[derive(Debug)]
pub(crate) struct Memory {
    config: MemoryConfig,
    /// The watched process.
    pid: Pid,
}

/// One running session's readings.
#[derive(Debug)]
pub(crate) struct Data {
    initial: Reading,
    peak: Reading,
    samples: Timeline<Reading>,
    /// Whether the kernel's mark was reset when the session started, so the mark read later
    /// is a peak within the session.
    kernel_mark: bool,
}

/// One reading of every probe.
pub(crate) struct Probed {
    reading: Reading,
    gpu_status: Option<String>,
}

impl sampled::Summary for MemorySummary {
    fn sessions(&self) -> u64 {
        self.sessions
    }

    fn merge(&mut self, other: &Self) {
        MemorySummary::merge(self, other);
    }

    fn set_exact_limit(&mut self, exact_limit: usize) {
        MemorySummary::set_exact_limit(self, exact_limit);
    }

    fn snapshot(&self) -> SessionsLabelSnapshot {
        SessionsLabelSnapshot {
            sessions: self.sessions,
            value: self.value.clone(),
            peak: self.peak.clone(),
            change: self.change.clone(),
        }
    }
}

impl Memory {
    /// Reads every probe once.
    fn probe(&self) -> Probed {
        // In bytes (percentages as they are): the snapshot's fields name every reading.
        let mut r = MemorySnapshot::default();
        if let Ok(p) = probe::process::read_tree(self.pid, self.config.include_children) {
            r.process_rss = Some(p.rss as f64);
            r.process_vms = Some(p.vms as f64);
            r.process_peak_rss = (p.peak_rss > 0).then_some(p.peak_rss as f64);
        }
        if let Ok(s) = probe::system::read() {
            r.system_total = Some(s.total as f64);
            r.system_available = Some(s.available as f64);
            r.system_used = Some(s.used as f64);
            r.system_free = Some(s.free as f64);
            r.system_percent = Some(s.percent);
        }
        r.cgroup_limit = probe::system::cgroup_limit().map(|l| l as f64);
        let gpu_status = if self.config.track_gpu {
            self.probe_gpu(&mut r).err()
        } else {
            None
        };
        Probed {
            reading: r.to_array(),
            gpu_status,
        }
    }

    #[cfg(feature = "gpu")]
    fn probe_gpu(&self, r: &mut MemorySnapshot) -> std::result::Result<(), String> {
        let gpu = probe::gpu::Gpu::get()?;
        let mut pids = vec![self.pid];
        if self.config.include_children {
            pids.extend(probe::process::descendants(self.pid));
        }
        let m = gpu.memory(self.config.gpu_device, &pids)?;
        r.gpu_total = Some(m.total as f64);
        r.gpu_used = Some(m.used as f64);
        r.gpu_free = Some(m.free as f64);
        r.gpu_percent = (m.total > 0).then(|| m.used as f64 * 100.0 / m.total as f64);
        r.gpu_process_used = m.process_used.map(|b| b as f64);
        Ok(())
    }

    #[cfg(not(feature = "gpu"))]
    fn probe_gpu(&self, _reading: &mut MemorySnapshot) -> std::result::Result<(), String> {
        Err("perftrack was built without the `gpu` feature".to_owned())
    }

    /// Adds a reading to a session's peak, with the kernel's mark where it is a peak within
    /// the session.
    fn fold(data: &mut Data, reading: &Reading) {
        data.peak = worst(&data.peak, reading);
        if data.kernel_mark {
            if let Some(mark) = reading[PROCESS_PEAK_RSS] {
                let rss = &mut data.peak[PROCESS_RSS];
                *rss = Some(rss.map_or(mark, |r| r.max(mark)));
            }
        }
    }

    /// A session's timeline so far, as its record shows it.
    fn timeline(&self, data: &Data) -> Vec<MemorySample> {
        data.samples
            .finish()
            .into_iter()
            .map(|(timestamp, r)| MemorySample {
                timestamp,
                memory: MemorySnapshot::from_reading(&r, self.config.unit),
            })
            .collect()
    }
}

impl sampled::Kind for Memory {
    type Record = MemoryRecord;
    type Summary = MemorySummary;
    type Data = Data;
    type Reading = Probed;
    type Sample = MemorySample;

    fn read(&self, _shared: &Shared<MemoryRecord>) -> Probed {
        self.probe()
    }

    fn open(&self, shared: &Shared<MemoryRecord>) -> (Instant, Data) {
        let kernel_mark = self.config.kernel_peak && kernel_peak::fold_and_reset(self.pid);
        let probed = self.probe();
        let mut data = Data {
            initial: probed.reading,
            peak: probed.reading,
            samples: Timeline::new(self.config.max_samples, worst),
            kernel_mark,
        };
        Self::fold(&mut data, &probed.reading);
        (shared.now(), data)
    }

    fn sample(
        &self,
        data: &mut Data,
        probed: &Probed,
        at: Instant,
        shared: &Shared<MemoryRecord>,
    ) -> MemorySample {
        let timestamp = shared.timestamp(at);
        data.samples.push(timestamp, probed.reading);
        Self::fold(data, &probed.reading);
        MemorySample {
            timestamp,
            memory: MemorySnapshot::from_reading(&probed.reading, self.config.unit),
        }
    }

    fn samples(&self, data: &Data) -> Vec<MemorySample> {
        self.timeline(data)
    }

    fn finish(
        &self,
        data: &mut Data,
        slot: &Slot<Self>,
        id: TrackId,
        started: Instant,
        status: Status,
    ) -> MemoryRecord {
        let probed = self.probe();
        let shared = &slot.shared;
        let end = shared.now();
        Self::fold(data, &probed.reading);
        let unit = self.config.unit;
        let end_time = shared.timestamp(end);
        let duration = end.saturating_duration_since(started);
        let difference = change(&data.initial, &probed.reading);
        let peak = self.config.track_peak.then_some(data.peak);
        slot.add(|summary| {
            summary.record(
                &probed.reading,
                peak.as_ref(),
                &difference,
                status,
                end_time,
                self.config.exact_limit,
            );
        });
        MemoryRecord {
            track_id: id,
            value: MemorySnapshot::from_reading(&probed.reading, unit),
            initial: MemorySnapshot::from_reading(&data.initial, unit),
            change: MemorySnapshot::from_reading(&difference, unit),
            peak: peak.map(|p| MemorySnapshot::from_reading(&p, unit)),
            timestamp: end_time,
            unit,
            label: slot.label_arc(),
            start_time: shared
                .include_timestamps
                .then(|| end_time.saturating_sub(duration)),
            end_time: shared.include_timestamps.then_some(end_time),
            samples: self.timeline(data),
            duration: Some(duration.as_secs_f64()),
            status,
            gpu_status: probed.gpu_status,
        }
    }

    fn exact_limit(&self) -> usize {
        self.config.exact_limit
    }
}

impl FoldPeak for Core<Memory> {
    fn fold(&self, pid: Pid, mark: f64) {
        if pid != self.kind.pid || !self.kind.config.kernel_peak {
            return;
        }
        self.engine.sessions.for_each(|active| {
            let mut session = lock(&active.state);
            if session.data.kernel_mark {
                let rss = &mut session.data.peak[PROCESS_RSS];
                *rss = Some(rss.map_or(mark, |r| r.max(mark)));
            }
        });
    }
}

/// A memory session that ends when it drops (as [`Status::Failed`] during a panic); made by
/// [`MemoryUsageTracker::track`].
///
/// ```
/// # use perftrack::{MemoryConfig, MemoryUsageTracker};
/// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
/// {
///     let _guard = tracker.track("rerank");
///     // ... rerank ...
/// }
/// assert_eq!(tracker.records().len(), 1);
/// ```
#[must_use = "a guard measures until it is dropped; `let _ = tracker.track(..)` drops it at once, use `let _guard`"]
#[derive(Debug)]
pub struct MemoryGuard {
    guard: Guard<Memory>,
}

impl std::panic::UnwindSafe for MemoryGuard {}
impl std::panic::RefUnwindSafe for MemoryGuard {}

impl MemoryGuard {
    /// Ends the session now and returns its record.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let record = tracker.track("x").stop();
    /// assert_eq!(record.label.as_deref(), Some("x"));
    /// ```
    pub fn stop(mut self) -> MemoryRecord {
        self.guard.stop_with(Status::Ok)
    }

    /// Ends the session now with `status` (for example [`Status::Failed`] when the work
    /// failed without panicking) and returns its record.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker, Status};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let record = tracker.track("x").stop_with(Status::Failed);
    /// assert_eq!(record.status, Status::Failed);
    /// ```
    pub fn stop_with(mut self, status: Status) -> MemoryRecord {
        self.guard.stop_with(status)
    }

    /// Ends the session without recording it: no record, no statistics, and its sampling
    /// stops.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// tracker.track("abandoned").discard();
    /// assert!(tracker.records().is_empty());
    /// assert_eq!(tracker.active_sessions(), 0);
    /// ```
    pub fn discard(mut self) {
        self.guard.discard();
    }
}

impl MemoryUsageTracker {
    /// A tracker with the standard monotonic clock.
    ///
    /// ```
    /// use perftrack::{MemoryConfig, MemoryUnit, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { unit: MemoryUnit::GiB, ..Default::default() });
    /// assert_eq!(tracker.config().unit, MemoryUnit::GiB);
    /// ```
    pub fn new(config: MemoryConfig) -> Self {
        Self::with_clock(config, Arc::new(MonotonicClock))
    }

    /// A tracker that reads time from `clock`.
    ///
    /// ```
    /// use perftrack::{ManualClock, MemoryConfig, MemoryUsageTracker};
    /// use std::sync::Arc;
    /// let tracker = MemoryUsageTracker::with_clock(MemoryConfig::default(), Arc::new(ManualClock::new()));
    /// assert_eq!(tracker.active_sessions(), 0);
    /// ```
    pub fn with_clock(config: MemoryConfig, clock: Arc<dyn Clock>) -> Self {
        let pid = config.pid.unwrap_or_else(std::process::id);
        let (include_timestamps, max_records, max_labels) = (
            config.include_timestamps,
            config.max_records,
            config.max_labels,
        );
        let kind = Memory { config, pid };
        let handle = Handle::new(kind, clock, include_timestamps, max_records, max_labels);
        if handle.core.kind.config.kernel_peak {
            let weak: Weak<dyn FoldPeak> = Arc::downgrade(&handle.core) as Weak<Core<Memory>>;
            kernel_peak::register(weak);
        }
        Self { handle }
    }

    fn core(&self) -> &Core<Memory> {
        &self.handle.core
    }

    /// The configuration the tracker was built with.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig::default());
    /// assert_eq!(tracker.config().metric_name, "memory_usage");
    /// ```
    pub fn config(&self) -> &MemoryConfig {
        &self.core().kind.config
    }

    fn interval(&self) -> Option<Duration> {
        self.core().kind.config.sampling_interval.as_duration()
    }

    /// Starts a session: takes the initial snapshot and, unless `sampling_interval` is 0,
    /// has the sampler take one every interval. `Some("")` and `None` mean no label.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let id = tracker.start_tracking(Some("index build"));
    /// let record = tracker.stop_tracking(&id)?;
    /// assert_eq!(record.label.as_deref(), Some("index build"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking(&self, label: Option<&str>) -> TrackId {
        self.handle.start(label, self.interval())
    }

    /// Starts a session under an id the caller chooses; an active id is an
    /// [`Error::DuplicateTrackId`](crate::Error::DuplicateTrackId).
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker, Error};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// tracker.start_tracking_with_id("load", None)?;
    /// assert!(matches!(tracker.start_tracking_with_id("load", None), Err(Error::DuplicateTrackId { .. })));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking_with_id(&self, id: &str, label: Option<&str>) -> Result<TrackId> {
        self.handle.start_named(id, label, self.interval())
    }

    /// Takes a sample for a session now, in addition to the background ones.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker, TrackId};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let id = tracker.start_tracking(None);
    /// tracker.record_sample(&id)?;
    /// assert_eq!(tracker.stop_tracking(&id)?.samples.len(), 1);
    /// assert!(tracker.record_sample(&TrackId::from("nope")).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn record_sample(&self, id: &TrackId) -> Result<MemorySample> {
        self.core().record_sample(id)
    }

    /// The samples an active session holds so far, background and explicit ones, oldest
    /// first: its timeline as the record would show it now. Nothing is read or recorded.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let id = tracker.start_tracking(None);
    /// tracker.record_sample(&id)?;
    /// assert_eq!(tracker.samples(&id)?.len(), 1);
    /// tracker.stop_tracking(&id)?;
    /// assert!(tracker.samples(&id).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn samples(&self, id: &TrackId) -> Result<Vec<MemorySample>> {
        self.core().samples(id)
    }

    /// Stops a session: takes the final snapshot and returns the record.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let id = tracker.start_tracking(None);
    /// assert!(tracker.stop_tracking(&id).is_ok());
    /// assert!(tracker.stop_tracking(&id).is_err());
    /// ```
    pub fn stop_tracking(&self, id: &TrackId) -> Result<MemoryRecord> {
        self.core().stop(id, Status::Ok)
    }

    /// Stops a session with the given status.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker, Status};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let id = tracker.start_tracking(None);
    /// assert_eq!(tracker.stop_tracking_with_status(&id, Status::Failed)?.status, Status::Failed);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn stop_tracking_with_status(&self, id: &TrackId, status: Status) -> Result<MemoryRecord> {
        self.core().stop(id, status)
    }

    /// Every reading now in bytes (percentages as they are), whatever the tracker's unit: what
    /// an exporter reads at each scrape. Nothing is recorded.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUnit, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig {
    ///     unit: MemoryUnit::GiB,
    ///     track_gpu: false,
    ///     ..Default::default()
    /// });
    /// let bytes = tracker.current_bytes();
    /// # #[cfg(target_os = "linux")]
    /// assert!(bytes.process_rss.unwrap() > 1024.0 * 1024.0);
    /// ```
    pub fn current_bytes(&self) -> MemorySnapshot {
        MemorySnapshot::from_reading(&self.core().kind.probe().reading, crate::MemoryUnit::B)
    }

    /// With an id, the change of every reading since that session started; with `None`, an
    /// absolute snapshot now. Nothing is recorded.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let now = tracker.current_value(None)?;
    /// let id = tracker.start_tracking(None);
    /// let since = tracker.current_value(Some(&id))?;
    /// # #[cfg(target_os = "linux")]
    /// assert!(now.system_total.is_some() && since.system_total == Some(0.0));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn current_value(&self, id: Option<&TrackId>) -> Result<MemorySnapshot> {
        let unit = self.core().kind.config.unit;
        let initial = match id {
            Some(id) => Some(self.core().with_data(id, |data| data.initial)?),
            None => None,
        };
        let now = self.core().kind.probe().reading;
        Ok(match initial {
            Some(initial) => MemorySnapshot::from_reading(&change(&initial, &now), unit),
            None => MemorySnapshot::from_reading(&now, unit),
        })
    }

    /// A session that ends when the guard drops.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let guard = tracker.track("chunking");
    /// let record = guard.stop();
    /// assert_eq!(record.label.as_deref(), Some("chunking"));
    /// ```
    pub fn track(&self, label: &str) -> MemoryGuard {
        self.guard(label, self.interval())
    }

    fn guard(&self, label: &str, interval: Option<Duration>) -> MemoryGuard {
        MemoryGuard {
            guard: self.handle.guard(label, interval),
        }
    }

    /// Runs `f` in a session sampled every `sampling_interval` (the configured one with
    /// `None`), and returns its result with the record. A panic in `f` still ends the session
    /// (recorded as failed) and its sampling, then goes on.
    ///
    /// ```
    /// use perftrack::{MemoryConfig, MemoryUsageTracker, SamplingInterval};
    ///
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let every_10_ms = SamplingInterval::from_secs_f64(0.01)?;
    /// let (sum, record) = tracker.track_function_memory("build", Some(every_10_ms), || {
    ///     let buffer = vec![1u8; 8 << 20];
    ///     std::thread::sleep(std::time::Duration::from_millis(50));
    ///     buffer.iter().map(|&b| u64::from(b)).sum::<u64>()
    /// });
    /// assert_eq!(sum, 8 << 20);
    /// assert!(!record.samples.is_empty());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn track_function_memory<T>(
        &self,
        label: &str,
        sampling_interval: Option<SamplingInterval>,
        f: impl FnOnce() -> T,
    ) -> (T, MemoryRecord) {
        let interval = match sampling_interval {
            Some(i) => i.as_duration(),
            None => self.interval(),
        };
        let guard = self.guard(label, interval);
        let result = f();
        (result, guard.stop())
    }

    /// How many sessions are active.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let _id = tracker.start_tracking(None);
    /// assert_eq!(tracker.active_sessions(), 1);
    /// ```
    pub fn active_sessions(&self) -> usize {
        self.core().engine.sessions.len()
    }

    /// Statistics per reading over finished sessions of one label, or of every session with
    /// `None` or `Some("")`: final values, peaks and changes, in the tracker's unit.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// tracker.track("a").stop();
    /// let stats = tracker.statistics(None);
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(stats["system_percent"].unit, "percent");
    /// ```
    pub fn statistics(&self, label: Option<&str>) -> BTreeMap<String, KeyStatistics> {
        let unit = self.core().kind.config.unit;
        self.core()
            .engine
            .session_summary(label)
            .map(|s| s.statistics(unit))
            .unwrap_or_default()
    }

    /// Statistics per label and reading, for labelled sessions.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// tracker.track("embed").stop();
    /// # #[cfg(target_os = "linux")]
    /// assert!(tracker.statistics_by_label().contains_key("embed"));
    /// ```
    pub fn statistics_by_label(&self) -> BTreeMap<String, BTreeMap<String, KeyStatistics>> {
        let unit = self.core().kind.config.unit;
        self.core()
            .engine
            .labelled_summaries()
            .into_iter()
            .map(|(label, summary)| (label, summary.statistics(unit)))
            .filter(|(_, stats)| !stats.is_empty())
            .collect()
    }

    /// The retained records, oldest first.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// tracker.track("x").stop();
    /// assert_eq!(tracker.records().len(), 1);
    /// ```
    pub fn records(&self) -> Vec<MemoryRecord> {
        self.core().engine.shared.log.snapshot()
    }

    /// Ends a session without recording it: no record, no statistics, and its sampling
    /// stops. An unknown id is an [`Error::UnknownTrackId`](crate::Error::UnknownTrackId).
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let id = tracker.start_tracking(Some("warm-up"));
    /// tracker.discard_tracking(&id)?;
    /// assert!(tracker.records().is_empty() && tracker.statistics_by_label().is_empty());
    /// assert!(tracker.discard_tracking(&id).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn discard_tracking(&self, id: &TrackId) -> Result<()> {
        self.core().discard(id)
    }

    /// The tracker's state as typed data, all from one epoch (see [`Snapshot`]): per label,
    /// its finished sessions and one distribution per reading, with the dropped and overflow
    /// counts. Active sessions are not in it until they end.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// tracker.track("rerank").stop();
    /// let snapshot = tracker.snapshot();
    /// assert_eq!(snapshot.labels["rerank"].sessions, 1);
    /// tracker.reset();
    /// assert_ne!(tracker.snapshot().epoch, snapshot.epoch);
    /// ```
    pub fn snapshot(&self) -> Snapshot<SessionsLabelSnapshot> {
        self.core().snapshot()
    }

    /// How many finished sessions have no retained record: the log keeps the newest
    /// `max_records`, while statistics count every session.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { max_records: 1, track_gpu: false, ..Default::default() });
    /// tracker.track("a").stop();
    /// tracker.track("b").stop();
    /// assert_eq!((tracker.records().len(), tracker.dropped_records()), (1, 1));
    /// ```
    pub fn dropped_records(&self) -> u64 {
        self.core().dropped_records()
    }

    /// How many sessions were recorded under `"_other"` because `max_labels` distinct labels
    /// already existed.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { max_labels: 1, track_gpu: false, ..Default::default() });
    /// tracker.track("a").stop();
    /// tracker.track("b").stop();
    /// assert_eq!(tracker.overflowed_labels(), 1);
    /// ```
    pub fn overflowed_labels(&self) -> u64 {
        self.core().engine.labels.overflowed()
    }

    /// Discards every record, statistic and active session (their sampling stops).
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// tracker.track("x").stop();
    /// tracker.reset();
    /// assert!(tracker.records().is_empty());
    /// ```
    pub fn reset(&self) {
        self.core().engine.reset();
    }

    store::metrics_file_methods!(MemoryUsageTracker, MemoryConfig, MemoryRecord, "memory");

    fn render(&self, path: &Path) -> Result<String> {
        let config = &self.core().kind.config;
        self.core()
            .engine
            .render_sessions(path, TRACKER_TYPE, config, &config.metric_name)
    }

    /// Loads metrics text, replacing or adding to this tracker's state.
    fn load_text(
        &self,
        text: &str,
        source: &Path,
        mode: Load,
    ) -> Result<MetricsFile<MemoryRecord>> {
        let config = &self.core().kind.config;
        let (unit, exact_limit) = (config.unit, config.exact_limit);
        let loaded = match store::check_header(source, text, TRACKER_TYPE, PYTHON_TRACKER_TYPE)? {
            Layout::V1 => store::load_v1(
                source,
                text,
                &V1Rules {
                    metric_name: |c: &MemoryConfig| &c.metric_name,
                    convert: Box::new(move |r: MemoryRecord| r.in_unit(unit)),
                    measurements: |s: &MemorySummary| s.sessions,
                    counted: |_| true,
                    check: MemorySummary::check,
                },
            )?,
            Layout::Python => store::load_python(
                source,
                text,
                PYTHON_TRACKER_TYPE,
                "memory_usage",
                |r: PythonMemoryRecord| r.into_record(unit),
                |records| {
                    let mut summaries: BTreeMap<String, MemorySummary> = BTreeMap::new();
                    for r in records {
                        let peak = r.peak.map(|p| p.to_reading(unit));
                        summaries
                            .entry(r.label.as_deref().unwrap_or("").to_owned())
                            .or_default()
                            .record(
                                &r.value.to_reading(unit),
                                peak.as_ref(),
                                &r.change.to_reading(unit),
                                r.status,
                                r.timestamp,
                                exact_limit,
                            );
                    }
                    summaries
                },
            )?,
        };
        let file = self.core().install(loaded, mode);
        Ok(file)
    }
}
