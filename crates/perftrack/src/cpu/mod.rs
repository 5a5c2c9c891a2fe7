//! `CpuUsageTracker`: whether a stage is CPU-bound, on which cores, and in which threads.

mod config;
mod record;
mod snapshot;
mod summary;

pub use config::{CpuConfig, MIN_SAMPLING_INTERVAL};
pub use record::{CpuRecord, ThreadUsage};
pub use snapshot::{Cores, CpuCounters, CpuSample, CpuSnapshot};
pub use summary::CpuStatistics;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::{Load, Shared};
use crate::probe::{self, Pid, cpu::ThreadTime};
use crate::sampled::{self, Core, Guard, Handle, Slot};
use crate::session::lock;
use crate::store::{self, Layout, MetricsFile, V1Rules};
use crate::timeline::Timeline;
use crate::{Clock, MonotonicClock, Result, SessionsLabelSnapshot, Snapshot, Status, TrackId};
use record::PythonCpuRecord;
pub(crate) use snapshot::Counters;
use snapshot::{Switches, between, merge_samples};
use summary::CpuSummary;

/// The tracker type as metrics files name it.
const TRACKER_TYPE: &str = crate::TrackerKind::Cpu.file_type();
/// The tracker type as the Python original's files name it.
const PYTHON_TRACKER_TYPE: &str = crate::TrackerKind::Cpu.python_type();
/// The most threads a record lists.
const MAX_THREADS: usize = 10;

/// Measures CPU use per session: the process (tree), the whole system, each core the process
/// may run on, and its busiest threads, with samples in between on one background thread.
///
/// Every figure is a difference between two readings the tracker itself took, so none is
/// ever a made-up 0, and a session's average is exact: CPU time between its first and last
/// readings divided by the elapsed time, however the samples were spaced.
/// `CpuUsageTracker` is `Clone + Send + Sync`; clones share their state.
///
/// ```
/// use perftrack::{CpuConfig, CpuUsageTracker};
///
/// let cpu = CpuUsageTracker::new(CpuConfig::default());
/// let (score, record) = cpu.track_function_cpu("bm25 scoring", None, || {
///     (0..5_000_000u64).map(|i| i % 13).sum::<u64>()
/// });
/// if let Some(process) = record.value.process {
///     println!("scoring used {process:.0} % of a core");
/// }
/// # let _ = score;
/// ```
#[derive(Clone, Debug)]
pub struct CpuUsageTracker {
    handle: Handle<Cpu>,
}

// A panic in user code never leaves the tracker's state half-updated.
impl std::panic::UnwindSafe for CpuUsageTracker {}
impl std::panic::RefUnwindSafe for CpuUsageTracker {}

/// What the CPU tracker reads: the sampled-session lifecycle comes from [`sampled`].
#[derive(Debug)]
pub(crate) struct Cpu {
    config: CpuConfig,
    pid: Pid,
    /// The tracker's previous reading, for `current_value(None)`.
    last: Mutex<Counters>,
    /// The cores the process may run on, and how many cores' worth of CPU it may use (its
    /// affinity, capped by a cgroup quota); read when the tracker is made.
    cores: Vec<u32>,
    available: Option<f64>,
}

impl sampled::Summary for CpuSummary {
    fn sessions(&self) -> u64 {
        self.sessions
    }

    fn merge(&mut self, other: &Self) {
        CpuSummary::merge(self, other);
    }

    fn set_exact_limit(&mut self, exact_limit: usize) {
        CpuSummary::set_exact_limit(self, exact_limit);
    }

    fn snapshot(&self) -> SessionsLabelSnapshot {
        SessionsLabelSnapshot {
            sessions: self.sessions,
            value: self.value.clone(),
            peak: self.peak.clone(),
            change: std::collections::BTreeMap::new(),
        }
    }
}

/// One running session's readings.
#[derive(Debug)]
pub(crate) struct Data {
    first: Counters,
    /// The latest reading, where the next sample's interval starts.
    previous: Counters,
    /// Each thread's CPU seconds when the session started (`None`: cannot be read).
    threads_start: Option<BTreeMap<Pid, f64>>,
    /// Each thread's name and CPU seconds when last seen, so that a thread that exits during
    /// the session still counts with what it used until the last sample before it exited.
    threads_seen: BTreeMap<Pid, (String, f64)>,
    peak: Option<CpuSnapshot>,
    samples: Timeline<(CpuSnapshot, f64)>,
}

/// One reading of every probe: the CPU counters, the cores, and the threads.
pub(crate) struct Reading {
    counters: Counters,
    cores: Vec<u32>,
    threads: Option<Vec<ThreadTime>>,
}

impl Cpu {
    fn switches(&self) -> Switches {
        Switches {
            process: self.config.track_process,
            system: self.config.track_system,
            cores: self.config.track_per_core,
        }
    }

    fn counters(&self, shared: &Shared<CpuRecord>) -> Counters {
        let process = (self.config.track_process)
            .then(|| probe::cpu::process_times(self.pid, self.config.include_children).ok())
            .flatten();
        let system = (self.config.track_system || self.config.track_per_core)
            .then(|| probe::cpu::system_times().ok())
            .flatten();
        Counters {
            at: shared.now(),
            process,
            system,
        }
    }

    fn cores(&self) -> Vec<u32> {
        self.cores.clone()
    }

    fn threads(&self) -> Option<Vec<ThreadTime>> {
        if self.config.track_threads {
            probe::cpu::thread_times(self.pid).ok()
        } else {
            None
        }
    }

    /// Notes each living thread's CPU time in a session.
    fn see_threads(session: &mut Data, threads: Option<&[ThreadTime]>) {
        for t in threads.unwrap_or_default() {
            session
                .threads_seen
                .insert(t.tid, (t.name.clone(), t.cpu_s));
        }
    }

    /// Adds a sample ending at `now` to a session.
    fn add_sample(
        &self,
        session: &mut Data,
        now: Counters,
        cores: &[u32],
        threads: Option<&[ThreadTime]>,
        shared: &Shared<CpuRecord>,
    ) -> CpuSample {
        Self::see_threads(session, threads);
        let mut reasons = BTreeMap::new();
        let cpu = between(
            &session.previous,
            &now,
            self.switches(),
            cores,
            &mut reasons,
        );
        let duration_s = now
            .at
            .saturating_duration_since(session.previous.at)
            .as_secs_f64();
        let timestamp = shared.timestamp(now.at);
        session.peak = Some(match &session.peak {
            Some(peak) => peak.max(&cpu),
            None => cpu.clone(),
        });
        session.samples.push(timestamp, (cpu.clone(), duration_s));
        session.previous = now;
        CpuSample {
            timestamp,
            cpu,
            duration_s,
        }
    }

    /// Takes the final reading and turns the session into its record.
    fn end(&self, session: &mut Data, slot: &Slot<Self>, id: TrackId, status: Status) -> CpuRecord {
        let shared = &slot.shared;
        let last = self.counters(shared);
        let threads_now = self.threads();
        let cores = self.cores();
        let mut reasons = BTreeMap::new();
        let value = between(&session.first, &last, self.switches(), &cores, &mut reasons);
        // The last interval (from the latest sample to now) counts towards the peak too.
        let peak = match session.peak.clone() {
            Some(peak) => {
                let mut ignored = BTreeMap::new();
                let tail = between(
                    &session.previous,
                    &last,
                    self.switches(),
                    &cores,
                    &mut ignored,
                );
                peak.max(&tail)
            }
            None => value.clone(),
        };
        let end_time = shared.timestamp(last.at);
        let duration = last.at.saturating_duration_since(session.first.at);
        let (user_s, system_s) = match (session.first.process, last.process) {
            (Some(a), Some(b)) => (Some(b.user_s - a.user_s), Some(b.system_s - a.system_s)),
            _ => (None, None),
        };
        let process_normalized = match (value.process, self.available) {
            // At most 100 %: over a few 10 ms ticks, counting can round a busy process above
            // what its cores can give.
            (Some(p), Some(n)) if n > 0.0 => Some((p / n).min(100.0)),
            _ => None,
        };
        if self.config.track_process && process_normalized.is_none() {
            reasons.insert(
                "process_normalized".into(),
                "no process figure, or the cores available to the process are unknown".into(),
            );
        }
        let threads = if self.config.track_threads {
            Self::see_threads(session, threads_now.as_deref());
            let busiest = session
                .threads_start
                .as_ref()
                .filter(|_| threads_now.is_some())
                .map(|start| busiest(start, &session.threads_seen));
            if busiest.is_none() {
                reasons.insert(
                    "threads".into(),
                    "per-thread CPU times cannot be read here (/proc/PID/task)".into(),
                );
            }
            busiest
        } else {
            None
        };
        slot.add(|summary| {
            summary.record(&value, &peak, status, end_time, self.config.exact_limit);
        });
        CpuRecord {
            track_id: id,
            value,
            peak,
            timestamp: end_time,
            duration: Some(duration.as_secs_f64()),
            unit: "percent".to_owned(),
            label: slot.label_arc(),
            start_time: shared
                .include_timestamps
                .then(|| end_time.saturating_sub(duration)),
            end_time: shared.include_timestamps.then_some(end_time),
            samples: session_samples(session),
            process_normalized,
            process_user_s: user_s,
            process_system_s: system_s,
            threads,
            status,
            reasons,
        }
    }
}

/// A session's timeline so far, as its record shows it.
fn session_samples(session: &Data) -> Vec<CpuSample> {
    session
        .samples
        .finish()
        .into_iter()
        .map(|(timestamp, (cpu, duration_s))| CpuSample {
            timestamp,
            cpu,
            duration_s,
        })
        .collect()
}

/// The threads that used the most CPU since `start`, busiest first (at most 10).
fn busiest(start: &BTreeMap<Pid, f64>, seen: &BTreeMap<Pid, (String, f64)>) -> Vec<ThreadUsage> {
    let mut used: Vec<ThreadUsage> = seen
        .iter()
        .map(|(tid, (name, cpu_s))| ThreadUsage {
            name: name.clone(),
            tid: *tid,
            cpu_s: cpu_s - start.get(tid).copied().unwrap_or(0.0),
        })
        .filter(|t| t.cpu_s > 0.0)
        .collect();
    used.sort_by(|a, b| b.cpu_s.total_cmp(&a.cpu_s).then(a.tid.cmp(&b.tid)));
    used.truncate(MAX_THREADS);
    used
}

impl sampled::Kind for Cpu {
    type Record = CpuRecord;
    type Summary = CpuSummary;
    type Data = Data;
    type Reading = Reading;
    type Sample = CpuSample;

    fn read(&self, shared: &Shared<CpuRecord>) -> Reading {
        Reading {
            counters: self.counters(shared),
            cores: self.cores(),
            threads: self.threads(),
        }
    }

    fn open(&self, shared: &Shared<CpuRecord>) -> (Instant, Data) {
        let threads = self.threads();
        let first = self.counters(shared);
        let data = Data {
            previous: first.clone(),
            threads_start: threads
                .as_ref()
                .map(|ts| ts.iter().map(|t| (t.tid, t.cpu_s)).collect()),
            threads_seen: BTreeMap::new(),
            peak: None,
            samples: Timeline::new(self.config.max_samples, merge_samples),
            first,
        };
        (data.first.at, data)
    }

    fn sample(
        &self,
        data: &mut Data,
        reading: &Reading,
        _at: Instant,
        shared: &Shared<CpuRecord>,
    ) -> CpuSample {
        let counters = reading.counters.clone();
        self.add_sample(
            data,
            counters,
            &reading.cores,
            reading.threads.as_deref(),
            shared,
        )
    }

    fn samples(&self, data: &Data) -> Vec<CpuSample> {
        session_samples(data)
    }

    fn finish(
        &self,
        data: &mut Data,
        slot: &Slot<Self>,
        id: TrackId,
        _started: Instant,
        status: Status,
    ) -> CpuRecord {
        self.end(data, slot, id, status)
    }

    fn exact_limit(&self) -> usize {
        self.config.exact_limit
    }
}

/// A CPU session that ends when it drops (as [`Status::Failed`] during a panic); made by
/// [`CpuUsageTracker::track`].
///
/// ```
/// # use perftrack::{CpuConfig, CpuUsageTracker};
/// let tracker = CpuUsageTracker::new(CpuConfig::default());
/// {
///     let _guard = tracker.track("embed on CPU");
/// }
/// assert_eq!(tracker.records().len(), 1);
/// ```
#[must_use = "a guard measures until it is dropped; `let _ = tracker.track(..)` drops it at once, use `let _guard`"]
#[derive(Debug)]
pub struct CpuGuard {
    guard: Guard<Cpu>,
}

impl std::panic::UnwindSafe for CpuGuard {}
impl std::panic::RefUnwindSafe for CpuGuard {}

impl CpuGuard {
    /// Ends the session now and returns its record.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// assert_eq!(tracker.track("x").stop().label.as_deref(), Some("x"));
    /// ```
    pub fn stop(mut self) -> CpuRecord {
        self.guard.stop_with(Status::Ok)
    }

    /// Ends the session now with `status` (for example [`Status::Failed`] when the work
    /// failed without panicking) and returns its record.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker, Status};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let record = tracker.track("x").stop_with(Status::Failed);
    /// assert_eq!(record.status, Status::Failed);
    /// ```
    pub fn stop_with(mut self, status: Status) -> CpuRecord {
        self.guard.stop_with(status)
    }

    /// Ends the session without recording it: no record, no statistics, and its sampling
    /// stops.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// tracker.track("abandoned").discard();
    /// assert!(tracker.records().is_empty());
    /// assert_eq!(tracker.active_sessions(), 0);
    /// ```
    pub fn discard(mut self) {
        self.guard.discard();
    }
}

impl CpuUsageTracker {
    /// A tracker with the standard monotonic clock.
    ///
    /// ```
    /// use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// assert_eq!(tracker.config().metric_name, "cpu_usage");
    /// ```
    pub fn new(config: CpuConfig) -> Self {
        Self::with_clock(config, Arc::new(MonotonicClock))
    }

    /// A tracker that reads time from `clock`.
    ///
    /// ```
    /// use perftrack::{CpuConfig, CpuUsageTracker, MonotonicClock};
    /// use std::sync::Arc;
    /// let tracker = CpuUsageTracker::with_clock(CpuConfig::default(), Arc::new(MonotonicClock));
    /// assert_eq!(tracker.active_sessions(), 0);
    /// ```
    pub fn with_clock(config: CpuConfig, clock: Arc<dyn Clock>) -> Self {
        let pid = config.pid.unwrap_or_else(std::process::id);
        let (include_timestamps, max_records, max_labels) = (
            config.include_timestamps,
            config.max_records,
            config.max_labels,
        );
        let kind = Cpu {
            config,
            pid,
            last: Mutex::new(Counters {
                at: clock.now(),
                process: None,
                system: None,
            }),
            cores: probe::cpu::allowed_cores(pid).unwrap_or_default(),
            available: probe::cpu::available_cores(pid),
        };
        let handle = Handle::new(kind, clock, include_timestamps, max_records, max_labels);
        let core = &handle.core;
        *lock(&core.kind.last) = core.kind.counters(&core.engine.shared);
        Self { handle }
    }

    fn core(&self) -> &Core<Cpu> {
        &self.handle.core
    }

    /// The configuration the tracker was built with.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// assert!(tracker.config().track_threads);
    /// ```
    pub fn config(&self) -> &CpuConfig {
        &self.core().kind.config
    }

    /// The background interval: the configured one, raised to [`MIN_SAMPLING_INTERVAL`].
    fn interval(&self, interval: crate::SamplingInterval) -> Option<Duration> {
        interval.as_duration().map(|i| i.max(MIN_SAMPLING_INTERVAL))
    }

    /// Starts a session. `Some("")` and `None` mean no label.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let id = tracker.start_tracking(Some("rerank"));
    /// assert_eq!(tracker.stop_tracking(&id)?.label.as_deref(), Some("rerank"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking(&self, label: Option<&str>) -> TrackId {
        let interval = self.interval(self.core().kind.config.sampling_interval);
        self.handle.start(label, interval)
    }

    /// Starts a session under an id the caller chooses; an active id is an
    /// [`Error::DuplicateTrackId`](crate::Error::DuplicateTrackId).
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker, Error};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// tracker.start_tracking_with_id("q", None)?;
    /// assert!(matches!(tracker.start_tracking_with_id("q", None), Err(Error::DuplicateTrackId { .. })));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking_with_id(&self, id: &str, label: Option<&str>) -> Result<TrackId> {
        let interval = self.interval(self.core().kind.config.sampling_interval);
        self.handle.start_named(id, label, interval)
    }

    /// The samples an active session holds so far, background and explicit ones, oldest
    /// first: its timeline as the record would show it now. Nothing is read or recorded.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let id = tracker.start_tracking(None);
    /// tracker.record_sample(&id)?;
    /// assert_eq!(tracker.samples(&id)?.len(), 1);
    /// tracker.stop_tracking(&id)?;
    /// assert!(tracker.samples(&id).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn samples(&self, id: &TrackId) -> Result<Vec<CpuSample>> {
        self.core().samples(id)
    }

    /// Takes a sample now: the CPU use since the session's previous reading.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker, TrackId};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let id = tracker.start_tracking(None);
    /// tracker.record_sample(&id)?;
    /// assert!(tracker.record_sample(&TrackId::from("nope")).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn record_sample(&self, id: &TrackId) -> Result<CpuSample> {
        self.core().record_sample(id)
    }

    /// Stops a session: takes the final reading and returns the record.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let id = tracker.start_tracking(None);
    /// assert!(tracker.stop_tracking(&id).is_ok());
    /// assert!(tracker.stop_tracking(&id).is_err());
    /// ```
    pub fn stop_tracking(&self, id: &TrackId) -> Result<CpuRecord> {
        self.core().stop(id, Status::Ok)
    }

    /// Stops a session with the given status.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker, Status};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let id = tracker.start_tracking(None);
    /// assert_eq!(tracker.stop_tracking_with_status(&id, Status::Failed)?.status, Status::Failed);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn stop_tracking_with_status(&self, id: &TrackId, status: Status) -> Result<CpuRecord> {
        self.core().stop(id, status)
    }

    /// The cumulative CPU counters now (process and system times), for readers that compute
    /// use over intervals of their own, such as an exporter between two scrapes. Nothing is
    /// recorded, and [`current_value`](Self::current_value) is not disturbed.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let before = tracker.counters();
    /// let after = tracker.counters();
    /// let usage = tracker.usage_between(&before, &after);
    /// # #[cfg(target_os = "linux")]
    /// assert!(after.process_cpu_seconds() >= before.process_cpu_seconds());
    /// # let _ = usage;
    /// ```
    pub fn counters(&self) -> CpuCounters {
        let core = self.core();
        CpuCounters(core.kind.counters(&core.engine.shared))
    }

    /// The CPU use between two [`counters`](Self::counters) readings, with this tracker's
    /// figures and cores (a figure shorter than one kernel tick is absent).
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let before = tracker.counters();
    /// std::thread::sleep(std::time::Duration::from_millis(30));
    /// let usage = tracker.usage_between(&before, &tracker.counters());
    /// # #[cfg(target_os = "linux")]
    /// assert!(usage.process.is_some());
    /// ```
    pub fn usage_between(&self, earlier: &CpuCounters, later: &CpuCounters) -> CpuSnapshot {
        let mut reasons = BTreeMap::new();
        let kind = &self.core().kind;
        between(
            &earlier.0,
            &later.0,
            kind.switches(),
            &kind.cores,
            &mut reasons,
        )
    }

    /// With an id, the CPU use since that session started; with `None`, since the tracker's
    /// previous `current_value(None)` (or its creation). Nothing is recorded.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// std::thread::sleep(std::time::Duration::from_millis(30));
    /// let since_creation = tracker.current_value(None)?;
    /// # #[cfg(target_os = "linux")]
    /// assert!(since_creation.process.is_some());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn current_value(&self, id: Option<&TrackId>) -> Result<CpuSnapshot> {
        let core = self.core();
        let now = core.kind.counters(&core.engine.shared);
        let cores = core.kind.cores();
        let switches = core.kind.switches();
        let mut reasons = BTreeMap::new();
        Ok(match id {
            Some(id) => {
                let first = core.with_data(id, |data| data.first.clone())?;
                between(&first, &now, switches, &cores, &mut reasons)
            }
            None => {
                let mut last = lock(&core.kind.last);
                let snapshot = between(&last, &now, switches, &cores, &mut reasons);
                *last = now;
                snapshot
            }
        })
    }

    /// A session that ends when the guard drops.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let record = tracker.track("tokenise").stop();
    /// assert_eq!(record.unit, "percent");
    /// ```
    pub fn track(&self, label: &str) -> CpuGuard {
        let interval = self.interval(self.core().kind.config.sampling_interval);
        self.guard(label, interval)
    }

    fn guard(&self, label: &str, interval: Option<Duration>) -> CpuGuard {
        CpuGuard {
            guard: self.handle.guard(label, interval),
        }
    }

    /// Runs `f` in a session sampled every `sampling_interval` (the configured one with
    /// `None`; raised to [`MIN_SAMPLING_INTERVAL`]), and returns its result with the record. A
    /// panic in `f` still ends the session (recorded as failed), then goes on.
    ///
    /// ```
    /// use perftrack::{CpuConfig, CpuUsageTracker, SamplingInterval};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let every_50_ms = SamplingInterval::from_secs_f64(0.05)?;
    /// let (n, record) = tracker.track_function_cpu("spin", Some(every_50_ms), || {
    ///     let start = std::time::Instant::now();
    ///     let mut n = 0u64;
    ///     while start.elapsed() < std::time::Duration::from_millis(120) { n += 1; }
    ///     n
    /// });
    /// assert!(n > 0 && !record.samples.is_empty());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn track_function_cpu<T>(
        &self,
        label: &str,
        sampling_interval: Option<crate::SamplingInterval>,
        f: impl FnOnce() -> T,
    ) -> (T, CpuRecord) {
        let interval =
            self.interval(sampling_interval.unwrap_or(self.core().kind.config.sampling_interval));
        let guard = self.guard(label, interval);
        let result = f();
        (result, guard.stop())
    }

    /// How many sessions are active.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let _id = tracker.start_tracking(None);
    /// assert_eq!(tracker.active_sessions(), 1);
    /// ```
    pub fn active_sessions(&self) -> usize {
        self.core().engine.sessions.len()
    }

    /// Statistics per reading (`process`, `system`, `core_N`) over finished sessions of one
    /// label, or of every session with `None` or `Some("")`.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// assert!(tracker.statistics(None).is_empty());
    /// ```
    pub fn statistics(&self, label: Option<&str>) -> BTreeMap<String, CpuStatistics> {
        self.core()
            .engine
            .session_summary(label)
            .map(|s| s.statistics())
            .unwrap_or_default()
    }

    /// Statistics per label and reading, for labelled sessions.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// assert!(tracker.statistics_by_label().is_empty());
    /// ```
    pub fn statistics_by_label(&self) -> BTreeMap<String, BTreeMap<String, CpuStatistics>> {
        self.core()
            .engine
            .labelled_summaries()
            .into_iter()
            .map(|(label, summary)| (label, summary.statistics()))
            .filter(|(_, stats)| !stats.is_empty())
            .collect()
    }

    /// The retained records, oldest first.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// tracker.track("x").stop();
    /// assert_eq!(tracker.records().len(), 1);
    /// ```
    pub fn records(&self) -> Vec<CpuRecord> {
        self.core().engine.shared.log.snapshot()
    }

    /// Ends a session without recording it: no record, no statistics, and its sampling
    /// stops. An unknown id is an [`Error::UnknownTrackId`](crate::Error::UnknownTrackId).
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
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
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
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
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig { max_records: 1, ..Default::default() });
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
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig { max_labels: 1, ..Default::default() });
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
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// tracker.track("x").stop();
    /// tracker.reset();
    /// assert!(tracker.records().is_empty());
    /// ```
    pub fn reset(&self) {
        self.core().engine.reset();
    }

    store::metrics_file_methods!(CpuUsageTracker, CpuConfig, CpuRecord, "cpu");

    fn render(&self, path: &Path) -> Result<String> {
        let config = &self.core().kind.config;
        self.core()
            .engine
            .render_sessions(path, TRACKER_TYPE, config, &config.metric_name)
    }

    /// Loads metrics text, replacing or adding to this tracker's state.
    fn load_text(&self, text: &str, source: &Path, mode: Load) -> Result<MetricsFile<CpuRecord>> {
        let exact_limit = self.core().kind.config.exact_limit;
        let loaded = match store::check_header(source, text, TRACKER_TYPE, PYTHON_TRACKER_TYPE)? {
            Layout::V1 => store::load_v1(
                source,
                text,
                &V1Rules {
                    metric_name: |c: &CpuConfig| &c.metric_name,
                    convert: Box::new(|r: CpuRecord| r),
                    measurements: |s: &CpuSummary| s.sessions,
                    counted: |_| true,
                    check: CpuSummary::check,
                },
            )?,
            Layout::Python => store::load_python(
                source,
                text,
                PYTHON_TRACKER_TYPE,
                "cpu_usage",
                PythonCpuRecord::into_record,
                |records| {
                    let mut summaries: BTreeMap<String, CpuSummary> = BTreeMap::new();
                    for r in records {
                        summaries
                            .entry(r.label.as_deref().unwrap_or("").to_owned())
                            .or_default()
                            .record(&r.value, &r.peak, r.status, r.timestamp, exact_limit);
                    }
                    summaries
                },
            )?,
        };
        let file = self.core().install(loaded, mode);
        Ok(file)
    }
}
