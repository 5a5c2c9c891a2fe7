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
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Load, SessionSummary, Shared};
use crate::label::Labelled;
use crate::probe::{self, Pid};
use crate::sampler::{Bell, Sample, Sampler};
use crate::session::lock;
use crate::store::{self, Layout, MetricsFile, V1Rules};
use crate::timeline::Timeline;
use crate::{Clock, MonotonicClock, Result, Status, TrackId};
use kernel_peak::FoldPeak;
use record::PythonMemoryRecord;
use snapshot::{Reading, change, worst};
use summary::{EMPTY, MemorySummary};

/// The tracker type as metrics files name it.
const TRACKER_TYPE: &str = crate::TrackerKind::Memory.file_type();
/// The tracker type as the Python original's files name it.
const PYTHON_TRACKER_TYPE: &str = crate::TrackerKind::Memory.python_type();
/// The index of `process_rss` and `process_peak_rss` in a reading.
const PROCESS_RSS: usize = 0;
const PROCESS_PEAK_RSS: usize = 2;

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
    inner: Arc<Inner>,
    /// The sampling thread belongs to the handles: it stops when the last handle drops, even
    /// while a forgotten guard keeps the state alive.
    sampler: Arc<Sampler>,
}

// A panic in user code never leaves the tracker's state half-updated (locks ignore poisoning
// and hold no user code).
impl std::panic::UnwindSafe for MemoryUsageTracker {}
impl std::panic::RefUnwindSafe for MemoryUsageTracker {}

#[derive(Debug)]
struct Inner {
    config: MemoryConfig,
    /// The watched process.
    pid: Pid,
    engine: Engine<Slot, Arc<Mutex<Session>>, MemoryRecord>,
    /// Wakes the sampling thread when a sampled session ends.
    bell: Bell,
}

/// One label's state.
#[derive(Debug)]
pub(crate) struct Slot {
    label: Option<Arc<str>>,
    generation: u64,
    summary: Mutex<MemorySummary>,
    shared: Arc<Shared<MemoryRecord>>,
}

impl Labelled for Slot {
    fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

impl SessionSummary for Slot {
    type Summary = MemorySummary;

    fn summary(&self) -> &Mutex<MemorySummary> {
        &self.summary
    }

    fn sessions(summary: &MemorySummary) -> u64 {
        summary.sessions
    }

    fn merge(summary: &mut MemorySummary, other: &MemorySummary) {
        summary.merge(other);
    }
}

/// One running session.
#[derive(Debug)]
pub(crate) struct Session {
    slot: Arc<Slot>,
    initial: Reading,
    peak: Reading,
    samples: Timeline<Reading>,
    interval: Option<Duration>,
    next_due: Instant,
    /// Whether the kernel's mark was reset when the session started, so the mark read later
    /// is a peak within the session.
    kernel_mark: bool,
}

/// One reading of every probe.
struct Probed {
    reading: Reading,
    gpu_status: Option<String>,
}

impl Inner {
    /// Reads every probe once.
    fn probe(&self) -> Probed {
        let mut reading = EMPTY;
        if let Ok(p) = probe::process::read_tree(self.pid, self.config.include_children) {
            reading[0] = Some(p.rss as f64);
            reading[1] = Some(p.vms as f64);
            reading[2] = (p.peak_rss > 0).then_some(p.peak_rss as f64);
        }
        if let Ok(s) = probe::system::read() {
            reading[3] = Some(s.total as f64);
            reading[4] = Some(s.available as f64);
            reading[5] = Some(s.used as f64);
            reading[6] = Some(s.free as f64);
            reading[7] = Some(s.percent);
        }
        reading[8] = probe::system::cgroup_limit().map(|l| l as f64);
        let gpu_status = if self.config.track_gpu {
            self.probe_gpu(&mut reading).err()
        } else {
            None
        };
        Probed {
            reading,
            gpu_status,
        }
    }

    #[cfg(feature = "gpu")]
    fn probe_gpu(&self, reading: &mut Reading) -> std::result::Result<(), String> {
        let gpu = probe::gpu::Gpu::get()?;
        let mut pids = vec![self.pid];
        if self.config.include_children {
            pids.extend(probe::process::descendants(self.pid));
        }
        let m = gpu.memory(self.config.gpu_device, &pids)?;
        reading[9] = Some(m.total as f64);
        reading[10] = Some(m.used as f64);
        reading[11] = Some(m.free as f64);
        reading[12] = (m.total > 0).then(|| m.used as f64 * 100.0 / m.total as f64);
        reading[13] = m.process_used.map(|b| b as f64);
        Ok(())
    }

    #[cfg(not(feature = "gpu"))]
    fn probe_gpu(&self, _reading: &mut Reading) -> std::result::Result<(), String> {
        Err("perftrack was built without the `gpu` feature".to_owned())
    }

    /// Adds a reading to a session's peak, with the kernel's mark where it is a peak within
    /// the session.
    fn fold(&self, session: &mut Session, reading: &Reading) {
        session.peak = worst(&session.peak, reading);
        if session.kernel_mark {
            if let Some(mark) = reading[PROCESS_PEAK_RSS] {
                let rss = &mut session.peak[PROCESS_RSS];
                *rss = Some(rss.map_or(mark, |r| r.max(mark)));
            }
        }
    }

    /// Takes a session's initial reading; it starts counting once it is in the table.
    fn open(
        &self,
        label: Option<&str>,
        interval: Option<Duration>,
    ) -> (Instant, Arc<Mutex<Session>>) {
        let kernel_mark = self.config.kernel_peak && kernel_peak::fold_and_reset(self.pid);
        let probed = self.probe();
        let slot = self.engine.state(label.unwrap_or(""));
        let now = self.engine.now();
        let mut session = Session {
            slot,
            initial: probed.reading,
            peak: probed.reading,
            samples: Timeline::new(self.config.max_samples, worst),
            interval,
            next_due: now + interval.unwrap_or_default(),
            kernel_mark,
        };
        self.fold(&mut session, &probed.reading);
        (now, Arc::new(Mutex::new(session)))
    }

    /// Starts a session with a generated id.
    fn start(
        &self,
        label: Option<&str>,
        interval: Option<Duration>,
    ) -> (TrackId, Instant, Arc<Mutex<Session>>) {
        let (now, session) = self.open(label, interval);
        let id = self.engine.sessions.start(now, Arc::clone(&session));
        (id, now, session)
    }

    fn stop(&self, id: &TrackId, status: Status) -> Result<MemoryRecord> {
        let active = self.engine.sessions.remove(id)?;
        Ok(self.finish(active.id, active.started, &active.state, status))
    }

    /// Takes the final reading and turns the session into its record.
    fn finish(
        &self,
        id: TrackId,
        started: Instant,
        session: &Mutex<Session>,
        status: Status,
    ) -> MemoryRecord {
        let probed = self.probe();
        let end = self.engine.now();
        let mut session = lock(session);
        if session.interval.is_some() {
            self.bell.ring();
        }
        self.fold(&mut session, &probed.reading);
        let slot = Arc::clone(&session.slot);
        let shared = &slot.shared;
        let unit = self.config.unit;
        let end_time = shared.timestamp(end);
        let duration = end.saturating_duration_since(started);
        let difference = change(&session.initial, &probed.reading);
        let peak = self.config.track_peak.then_some(session.peak);
        if shared.is_current(slot.generation) {
            lock(&slot.summary).record(
                &probed.reading,
                peak.as_ref(),
                &difference,
                status,
                end_time,
                self.config.exact_limit,
            );
        }
        let record = MemoryRecord {
            track_id: id,
            value: MemorySnapshot::from_reading(&probed.reading, unit),
            initial: MemorySnapshot::from_reading(&session.initial, unit),
            change: MemorySnapshot::from_reading(&difference, unit),
            peak: peak.map(|p| MemorySnapshot::from_reading(&p, unit)),
            timestamp: end_time,
            unit,
            label: slot.label.clone(),
            start_time: shared
                .include_timestamps
                .then(|| end_time.saturating_sub(duration)),
            end_time: shared.include_timestamps.then_some(end_time),
            samples: session_samples(&session, unit),
            duration: Some(duration.as_secs_f64()),
            status,
            gpu_status: probed.gpu_status,
        };
        shared.keep(slot.generation, || record.clone());
        record
    }
}

/// A session's timeline so far, as its record shows it.
fn session_samples(session: &Session, unit: crate::MemoryUnit) -> Vec<MemorySample> {
    session
        .samples
        .finish()
        .into_iter()
        .map(|(timestamp, r)| MemorySample {
            timestamp,
            memory: MemorySnapshot::from_reading(&r, unit),
        })
        .collect()
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
        let mut next: Option<Instant> = None;
        self.engine.sessions.for_each(|active| {
            let session = lock(&active.state);
            if session.interval.is_some() {
                due |= session.next_due <= now;
                next = Some(next.map_or(session.next_due, |n| n.min(session.next_due)));
            }
        });
        if due {
            let probed = self.probe();
            let at = self.engine.now();
            let stamp = self.engine.shared.timestamp(at);
            next = None;
            self.engine.sessions.for_each(|active| {
                let mut session = lock(&active.state);
                let Some(interval) = session.interval else {
                    return;
                };
                if session.next_due <= now {
                    session.samples.push(stamp, probed.reading);
                    self.fold(&mut session, &probed.reading);
                    // Keep the cadence; after a stall, start again from now.
                    session.next_due = (session.next_due + interval).max(at);
                }
                next = Some(next.map_or(session.next_due, |n| n.min(session.next_due)));
            });
        }
        next.map(|n| {
            n.saturating_duration_since(self.engine.now())
                .max(Duration::from_millis(1))
        })
    }
}

impl FoldPeak for Inner {
    fn fold(&self, pid: Pid, mark: f64) {
        if pid != self.pid || !self.config.kernel_peak {
            return;
        }
        self.engine.sessions.for_each(|active| {
            let mut session = lock(&active.state);
            if session.kernel_mark {
                let rss = &mut session.peak[PROCESS_RSS];
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
    tracker: Arc<Inner>,
    id: TrackId,
    started: Instant,
    session: Arc<Mutex<Session>>,
    done: bool,
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
        self.end(Status::Ok)
    }

    fn end(&mut self, status: Status) -> MemoryRecord {
        self.done = true;
        // Gone from the table only after a reset or load; the record is still built.
        let _ = self.tracker.engine.sessions.remove(&self.id);
        self.tracker
            .finish(self.id.clone(), self.started, &self.session, status)
    }
}

impl Drop for MemoryGuard {
    fn drop(&mut self) {
        if !self.done {
            self.end(Status::on_drop());
        }
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
        let engine = Engine::new(
            clock,
            config.include_timestamps,
            config.max_records,
            config.max_labels,
            |label, shared, generation| Slot {
                label,
                generation,
                summary: Mutex::new(MemorySummary::default()),
                shared: Arc::clone(shared),
            },
        );
        let sampler = Arc::new(Sampler::default());
        let inner = Arc::new(Inner {
            config,
            pid,
            engine,
            bell: sampler.bell(),
        });
        if inner.config.kernel_peak {
            let weak: Weak<dyn FoldPeak> = Arc::downgrade(&inner) as Weak<Inner>;
            kernel_peak::register(weak);
        }
        Self { inner, sampler }
    }

    /// The configuration the tracker was built with.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig::default());
    /// assert_eq!(tracker.config().metric_name, "memory_usage");
    /// ```
    pub fn config(&self) -> &MemoryConfig {
        &self.inner.config
    }

    fn interval(&self) -> Option<Duration> {
        self.inner.config.sampling_interval.as_duration()
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
        let interval = self.interval();
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
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker, Error};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// tracker.start_tracking_with_id("load", None)?;
    /// assert!(matches!(tracker.start_tracking_with_id("load", None), Err(Error::DuplicateTrackId { .. })));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking_with_id(&self, id: &str, label: Option<&str>) -> Result<TrackId> {
        let interval = self.interval();
        let (now, session) = self.inner.open(label, interval);
        let id = self.inner.engine.sessions.start_named(id, now, session)?;
        self.sample_in_background(interval);
        Ok(id)
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
        let session = self
            .inner
            .engine
            .sessions
            .with(id, |a| Arc::clone(&a.state))?;
        let probed = self.inner.probe();
        let at = self.inner.engine.shared.timestamp(self.inner.engine.now());
        let mut session = lock(&session);
        session.samples.push(at, probed.reading);
        self.inner.fold(&mut session, &probed.reading);
        Ok(MemorySample {
            timestamp: at,
            memory: MemorySnapshot::from_reading(&probed.reading, self.inner.config.unit),
        })
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
        let session = self
            .inner
            .engine
            .sessions
            .with(id, |a| Arc::clone(&a.state))?;
        Ok(session_samples(&lock(&session), self.inner.config.unit))
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
        self.inner.stop(id, Status::Ok)
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
        self.inner.stop(id, status)
    }

    /// Every available reading now, by field name, in bytes (percentages as they are), for
    /// exporters.
    #[cfg(feature = "prometheus")]
    pub(crate) fn export_reading(&self) -> Vec<(&'static str, f64)> {
        let reading = self.inner.probe().reading;
        snapshot::KEYS
            .iter()
            .zip(reading)
            .filter_map(|((name, _), value)| Some((*name, value?)))
            .collect()
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
        let unit = self.inner.config.unit;
        let initial = match id {
            Some(id) => Some(
                self.inner
                    .engine
                    .sessions
                    .with(id, |a| lock(&a.state).initial)?,
            ),
            None => None,
        };
        let now = self.inner.probe().reading;
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
        let (id, started, session) = self.inner.start(Some(label), interval);
        self.sample_in_background(interval);
        MemoryGuard {
            tracker: Arc::clone(&self.inner),
            id,
            started,
            session,
            done: false,
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
        self.inner.engine.sessions.len()
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
        let unit = self.inner.config.unit;
        self.inner
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
        let unit = self.inner.config.unit;
        self.inner
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
        self.inner.engine.shared.log.snapshot()
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
        self.inner.engine.reset();
    }

    store::metrics_file_methods!(MemoryUsageTracker, MemoryConfig, MemoryRecord, "memory");

    fn render(&self, path: &Path) -> Result<String> {
        let config = &self.inner.config;
        self.inner
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
        let config = &self.inner.config;
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
