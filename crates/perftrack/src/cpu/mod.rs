//! `CpuUsageTracker`: whether a stage is CPU-bound, on which cores, and in which threads.

mod config;
mod record;
mod snapshot;
mod summary;

pub use config::{CpuConfig, MIN_SAMPLING_INTERVAL};
pub use record::{CpuRecord, ThreadUsage};
pub use snapshot::{Cores, CpuSample, CpuSnapshot};
pub use summary::CpuStatistics;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Load, SessionSummary, Shared};
use crate::label::Labelled;
use crate::probe::{self, Pid, cpu::ThreadTime};
use crate::sampler::{Bell, Sample, Sampler};
use crate::session::lock;
use crate::store::{self, Layout, MetricsFile, V1Rules};
use crate::timeline::Timeline;
use crate::{Clock, MonotonicClock, Result, Status, TrackId};
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
    inner: Arc<Inner>,
    /// The sampling thread belongs to the handles: it stops when the last handle drops, even
    /// while a forgotten guard keeps the state alive.
    sampler: Arc<Sampler>,
}

// A panic in user code never leaves the tracker's state half-updated.
impl std::panic::UnwindSafe for CpuUsageTracker {}
impl std::panic::RefUnwindSafe for CpuUsageTracker {}

#[derive(Debug)]
struct Inner {
    config: CpuConfig,
    pid: Pid,
    engine: Engine<Slot, Arc<Mutex<Session>>, CpuRecord>,
    /// Wakes the sampling thread when a sampled session ends.
    bell: Bell,
    /// The tracker's previous reading, for `current_value(None)`.
    last: Mutex<Counters>,
    /// The cores the process may run on, and how many cores' worth of CPU it may use (its
    /// affinity, capped by a cgroup quota); read when the tracker is made.
    cores: Vec<u32>,
    available: Option<f64>,
}

/// One label's state.
#[derive(Debug)]
pub(crate) struct Slot {
    label: Option<Arc<str>>,
    generation: u64,
    summary: Mutex<CpuSummary>,
    shared: Arc<Shared<CpuRecord>>,
}

impl Labelled for Slot {
    fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

impl SessionSummary for Slot {
    type Summary = CpuSummary;

    fn summary(&self) -> &Mutex<CpuSummary> {
        &self.summary
    }

    fn sessions(summary: &CpuSummary) -> u64 {
        summary.sessions
    }

    fn merge(summary: &mut CpuSummary, other: &CpuSummary) {
        summary.merge(other);
    }
}

/// One running session.
#[derive(Debug)]
pub(crate) struct Session {
    slot: Arc<Slot>,
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
    interval: Option<Duration>,
    next_due: Instant,
}

impl Inner {
    fn switches(&self) -> Switches {
        Switches {
            process: self.config.track_process,
            system: self.config.track_system,
            cores: self.config.track_per_core,
        }
    }

    fn counters(&self) -> Counters {
        let process = (self.config.track_process)
            .then(|| probe::cpu::process_times(self.pid, self.config.include_children).ok())
            .flatten();
        let system = (self.config.track_system || self.config.track_per_core)
            .then(|| probe::cpu::system_times().ok())
            .flatten();
        Counters {
            at: self.engine.now(),
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
    fn see_threads(session: &mut Session, threads: Option<&[ThreadTime]>) {
        for t in threads.unwrap_or_default() {
            session
                .threads_seen
                .insert(t.tid, (t.name.clone(), t.cpu_s));
        }
    }

    /// Adds a sample ending at `now` to a session.
    fn sample(
        &self,
        session: &mut Session,
        now: Counters,
        cores: &[u32],
        threads: Option<&[ThreadTime]>,
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
        let timestamp = self.engine.shared.timestamp(now.at);
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

    fn open(
        &self,
        label: Option<&str>,
        interval: Option<Duration>,
    ) -> (Instant, Arc<Mutex<Session>>) {
        let threads = self.threads();
        let first = self.counters();
        let slot = self.engine.state(label.unwrap_or(""));
        let now = first.at;
        let session = Session {
            slot,
            previous: first.clone(),
            first,
            threads_start: threads
                .as_ref()
                .map(|ts| ts.iter().map(|t| (t.tid, t.cpu_s)).collect()),
            threads_seen: BTreeMap::new(),
            peak: None,
            samples: Timeline::new(self.config.max_samples, merge_samples),
            interval,
            next_due: now + interval.unwrap_or_default(),
        };
        (now, Arc::new(Mutex::new(session)))
    }

    fn start(
        &self,
        label: Option<&str>,
        interval: Option<Duration>,
    ) -> (TrackId, Instant, Arc<Mutex<Session>>) {
        let (now, session) = self.open(label, interval);
        let id = self.engine.sessions.start(now, Arc::clone(&session));
        (id, now, session)
    }

    fn stop(&self, id: &TrackId, status: Status) -> Result<CpuRecord> {
        let active = self.engine.sessions.remove(id)?;
        Ok(self.finish(active.id, &active.state, status))
    }

    /// Takes the final reading and turns the session into its record.
    fn finish(&self, id: TrackId, session: &Mutex<Session>, status: Status) -> CpuRecord {
        let last = self.counters();
        let threads_now = self.threads();
        let cores = self.cores();
        let mut session = lock(session);
        if session.interval.is_some() {
            self.bell.ring();
        }
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
        let slot = Arc::clone(&session.slot);
        let shared = &slot.shared;
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
            Self::see_threads(&mut session, threads_now.as_deref());
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
        if shared.is_current(slot.generation) {
            lock(&slot.summary).record(&value, &peak, status, end_time, self.config.exact_limit);
        }
        let record = CpuRecord {
            track_id: id,
            value,
            peak,
            timestamp: end_time,
            duration: Some(duration.as_secs_f64()),
            unit: "percent".to_owned(),
            label: slot.label.clone(),
            start_time: shared
                .include_timestamps
                .then(|| end_time.saturating_sub(duration)),
            end_time: shared.include_timestamps.then_some(end_time),
            samples: session_samples(&session),
            process_normalized,
            process_user_s: user_s,
            process_system_s: system_s,
            threads,
            status,
            reasons,
        };
        shared.keep(slot.generation, || record.clone());
        record
    }
}

/// A session's timeline so far, as its record shows it.
fn session_samples(session: &Session) -> Vec<CpuSample> {
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

impl Sample for Inner {
    fn wants_samples(&self) -> bool {
        let mut wants = false;
        self.engine.sessions.for_each(|active| {
            wants |= lock(&active.state).interval.is_some();
        });
        wants
    }

    fn tick(&self) -> Option<Duration> {
        let now = self.engine.now();
        let mut due = false;
        self.engine.sessions.for_each(|active| {
            let session = lock(&active.state);
            due |= session.interval.is_some() && session.next_due <= now;
        });
        let mut next: Option<Instant> = None;
        let reading = due.then(|| (self.counters(), self.cores(), self.threads()));
        self.engine.sessions.for_each(|active| {
            let mut session = lock(&active.state);
            let Some(interval) = session.interval else {
                return;
            };
            if let Some((counters, cores, threads)) = &reading {
                if session.next_due <= now {
                    self.sample(&mut session, counters.clone(), cores, threads.as_deref());
                    session.next_due = (session.next_due + interval).max(counters.at);
                }
            }
            next = Some(next.map_or(session.next_due, |n| n.min(session.next_due)));
        });
        next.map(|n| {
            n.saturating_duration_since(self.engine.now())
                .max(Duration::from_millis(1))
        })
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
    tracker: Arc<Inner>,
    id: TrackId,
    session: Arc<Mutex<Session>>,
    done: bool,
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
        self.end(Status::Ok)
    }

    fn end(&mut self, status: Status) -> CpuRecord {
        self.done = true;
        // Gone from the table only after a reset or load; the record is still built.
        let _ = self.tracker.engine.sessions.remove(&self.id);
        self.tracker.finish(self.id.clone(), &self.session, status)
    }
}

impl Drop for CpuGuard {
    fn drop(&mut self) {
        if !self.done {
            self.end(Status::on_drop());
        }
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
        let engine = Engine::new(
            clock,
            config.include_timestamps,
            config.max_records,
            config.max_labels,
            |label, shared, generation| Slot {
                label,
                generation,
                summary: Mutex::new(CpuSummary::default()),
                shared: Arc::clone(shared),
            },
        );
        let first = Counters {
            at: engine.now(),
            process: None,
            system: None,
        };
        let sampler = Arc::new(Sampler::default());
        let inner = Arc::new(Inner {
            config,
            pid,
            engine,
            bell: sampler.bell(),
            last: Mutex::new(first),
            cores: probe::cpu::allowed_cores(pid).unwrap_or_default(),
            available: probe::cpu::available_cores(pid),
        });
        *lock(&inner.last) = inner.counters();
        Self { inner, sampler }
    }

    /// The configuration the tracker was built with.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// assert!(tracker.config().track_threads);
    /// ```
    pub fn config(&self) -> &CpuConfig {
        &self.inner.config
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
        let interval = self.interval(self.inner.config.sampling_interval);
        let id = self.inner.start(label, interval).0;
        self.sample_in_background(interval);
        id
    }

    /// Hands a session that is now in the table to the sampler, if it wants samples.
    fn sample_in_background(&self, interval: Option<Duration>) {
        if interval.is_some() {
            let inner: Weak<dyn Sample> = Arc::downgrade(&self.inner) as Weak<Inner>;
            self.sampler.session_started(inner);
        }
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
        let interval = self.interval(self.inner.config.sampling_interval);
        let (now, session) = self.inner.open(label, interval);
        let id = self.inner.engine.sessions.start_named(id, now, session)?;
        self.sample_in_background(interval);
        Ok(id)
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
        let session = self
            .inner
            .engine
            .sessions
            .with(id, |a| Arc::clone(&a.state))?;
        Ok(session_samples(&lock(&session)))
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
        let session = self
            .inner
            .engine
            .sessions
            .with(id, |a| Arc::clone(&a.state))?;
        let now = self.inner.counters();
        let cores = self.inner.cores();
        let threads = self.inner.threads();
        let mut session = lock(&session);
        Ok(self
            .inner
            .sample(&mut session, now, &cores, threads.as_deref()))
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
        self.inner.stop(id, Status::Ok)
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
        self.inner.stop(id, status)
    }

    /// Cumulative counters now, for exporters that compute use between two scrapes.
    #[cfg(feature = "prometheus")]
    pub(crate) fn export_counters(&self) -> Counters {
        self.inner.counters()
    }

    /// The CPU use between two counters, with this tracker's switches and cores.
    #[cfg(feature = "prometheus")]
    pub(crate) fn export_between(&self, a: &Counters, b: &Counters) -> CpuSnapshot {
        let mut reasons = BTreeMap::new();
        between(a, b, self.inner.switches(), &self.inner.cores, &mut reasons)
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
        let now = self.inner.counters();
        let cores = self.inner.cores();
        let switches = self.inner.switches();
        let mut reasons = BTreeMap::new();
        Ok(match id {
            Some(id) => {
                let first = self
                    .inner
                    .engine
                    .sessions
                    .with(id, |a| lock(&a.state).first.clone())?;
                between(&first, &now, switches, &cores, &mut reasons)
            }
            None => {
                let mut last = lock(&self.inner.last);
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
        let interval = self.interval(self.inner.config.sampling_interval);
        self.guard(label, interval)
    }

    fn guard(&self, label: &str, interval: Option<Duration>) -> CpuGuard {
        let (id, _, session) = self.inner.start(Some(label), interval);
        self.sample_in_background(interval);
        CpuGuard {
            tracker: Arc::clone(&self.inner),
            id,
            session,
            done: false,
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
            self.interval(sampling_interval.unwrap_or(self.inner.config.sampling_interval));
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
        self.inner.engine.sessions.len()
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
        self.inner
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
        self.inner
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
        self.inner.engine.shared.log.snapshot()
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
        self.inner.engine.reset();
    }

    store::metrics_file_methods!(CpuUsageTracker, CpuConfig, CpuRecord, "cpu");

    fn render(&self, path: &Path) -> Result<String> {
        let config = &self.inner.config;
        self.inner
            .engine
            .render_sessions(path, TRACKER_TYPE, config, &config.metric_name)
    }

    /// Loads metrics text, replacing or adding to this tracker's state.
    fn load_text(&self, text: &str, source: &Path, mode: Load) -> Result<MetricsFile<CpuRecord>> {
        let exact_limit = self.inner.config.exact_limit;
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
        let file = self.inner.engine.install_loaded(
            loaded,
            mode,
            |s| s.sessions,
            |other, s| other.merge(&s),
            |slot, mut s| {
                s.set_exact_limit(exact_limit);
                lock(&slot.summary).merge(&s);
            },
            |label, mut summary, shared, generation| {
                summary.set_exact_limit(exact_limit);
                Slot {
                    label,
                    generation,
                    summary: Mutex::new(summary),
                    shared: Arc::clone(shared),
                }
            },
        );
        Ok(file)
    }
}
