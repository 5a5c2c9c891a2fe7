//! One tracker for every kind: [`Tracker<K>`](Tracker) holds the lifecycle (sessions by id and
//! by guard, labels with their cap, the record log, statistics, reset, load, merge, files, the
//! sampling thread) once, and a kind ([`Kind`], [`Lifecycle`]) supplies what it measures.
//! `LatencyTracker`, `ThroughputTracker`, `MemoryUsageTracker` and `CpuUsageTracker` are its
//! four instances; each kind's own methods live in the kind's module.

mod files;
mod guard;
mod kind;

pub use guard::Guard;
pub(crate) use kind::summarize;
pub use kind::{Kind, Lifecycle, Settings, Summary};

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Instant;

use crate::clock::TrackerClock;
use crate::engine::Engine;
use crate::sampler::{Sample, Sampler};
use crate::{Clock, Result, Snapshot, Status, TrackId};

/// A tracker of one kind: [`LatencyTracker`](crate::LatencyTracker) is
/// `Tracker<`[`Latency`](crate::kinds::Latency)`>`, and likewise
/// [`ThroughputTracker`](crate::ThroughputTracker),
/// [`MemoryUsageTracker`](crate::MemoryUsageTracker) and
/// [`CpuUsageTracker`](crate::CpuUsageTracker). Every kind has the methods of this page; each
/// kind's page adds its own (timing closures, counting events, samples).
///
/// A tracker is `Clone + Send + Sync`; clones share their state, so one tracker can be handed
/// to every thread and task of a service. Label lookups take no tracker-wide lock in steady
/// state (a per-thread cache finds the label's state, and each label has its own lock). With
/// `max_records > 0` (the default) each record also enters the tracker's one record-log mutex.
/// Memory and CPU trackers sample on one background thread per tracker (named
/// `perftrack-sampler`), which runs while a session wants samples and ends when the last
/// clone of the tracker drops.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker};
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
///
/// let id = tracker.start_tracking(Some("retrieval"));
/// let documents = vec!["doc"; 5]; // retrieve documents here
/// let record = tracker.stop_tracking(&id)?;
/// println!("retrieval took {:.3} {}", record.value, record.unit);
///
/// {
///     let _guard = tracker.track("generation"); // recorded when the guard drops
/// }
/// let answer = tracker.time("rerank", || documents.len());
///
/// let stats = tracker.statistics(Some("retrieval")).unwrap();
/// assert_eq!(stats.count, 1);
/// assert_eq!(tracker.statistics_by_label().len(), 3);
/// # assert_eq!(answer, 5);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Debug)]
pub struct Tracker<K: Lifecycle> {
    pub(crate) engine: Arc<Engine<K>>,
    /// The sampling thread belongs to the tracker's clones alone: it stops when the last one
    /// drops, even while a forgotten guard keeps the state alive.
    sampler: Arc<Sampler>,
}

impl<K: Lifecycle> Clone for Tracker<K> {
    fn clone(&self) -> Self {
        Self {
            engine: Arc::clone(&self.engine),
            sampler: Arc::clone(&self.sampler),
        }
    }
}

// A panic in user code never leaves the tracker's state half-updated: its critical sections
// hold no user code and locks ignore poisoning. So a tracker can be used across
// `catch_unwind`, as a tracker that records failed work must be.
impl<K: Lifecycle> std::panic::UnwindSafe for Tracker<K> {}
impl<K: Lifecycle> std::panic::RefUnwindSafe for Tracker<K> {}

impl<K: Lifecycle> Tracker<K> {
    /// A tracker with the standard monotonic clock.
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker, MemoryConfig, MemoryUsageTracker, TimeUnit};
    /// let latency = LatencyTracker::new(LatencyConfig { time_unit: TimeUnit::Microseconds, ..Default::default() });
    /// assert_eq!(latency.config().time_unit, TimeUnit::Microseconds);
    /// let memory = MemoryUsageTracker::new(MemoryConfig::default());
    /// assert_eq!(memory.config().metric_name, "memory_usage");
    /// ```
    pub fn new(config: K::Config) -> Self {
        Self::build(config, TrackerClock::System)
    }

    /// A tracker that reads time from `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker, ManualClock};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = LatencyTracker::with_clock(LatencyConfig::default(), clock.clone());
    /// let guard = tracker.track("step");
    /// clock.advance(Duration::from_millis(40));
    /// assert_eq!(guard.stop().value, 40.0);
    /// ```
    pub fn with_clock(config: K::Config, clock: Arc<dyn Clock>) -> Self {
        Self::build(config, TrackerClock::Given(clock))
    }

    /// A tracker reading `clock` (the system's monotonic clock, read directly, or a given one).
    fn build(config: K::Config, clock: TrackerClock) -> Self {
        let sampler = Arc::new(Sampler::default());
        let kind = K::build(config, clock.as_clock());
        let engine = Arc::new(Engine::new(kind, clock, sampler.bell()));
        K::init(&engine);
        Self { engine, sampler }
    }

    /// The configuration the tracker was built with.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker, LatencyConfig, LatencyTracker};
    /// assert_eq!(LatencyTracker::new(LatencyConfig::default()).config().metric_name, "latency");
    /// assert!(CpuUsageTracker::new(CpuConfig::default()).config().track_threads);
    /// ```
    pub fn config(&self) -> &K::Config {
        self.engine.kind().config()
    }

    /// The current instant of the tracker's clock: what
    /// [`record_ending`](crate::LatencyTracker::record_ending) takes for a measurement that
    /// ends now. With the default clock it is [`Instant::now`]; with a
    /// [`ManualClock`](crate::ManualClock) it is that clock's reading.
    ///
    /// ```
    /// use perftrack::{Clock, LatencyConfig, LatencyTracker, ManualClock};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = LatencyTracker::with_clock(LatencyConfig::default(), clock.clone());
    /// clock.advance(Duration::from_secs(3));
    /// assert_eq!(tracker.now(), clock.now());
    /// ```
    #[inline]
    pub fn now(&self) -> Instant {
        self.engine.now()
    }

    /// Hands a session that is now in the table to the sampling thread.
    pub(crate) fn sample_in_background(&self, sampled: bool) {
        if sampled {
            let engine: Weak<dyn Sample> = Arc::downgrade(&self.engine) as Weak<Engine<K>>;
            self.sampler.session_started(engine);
        }
    }

    /// Prepares the tracker for `fork()`: ends its background sampling thread (memory and
    /// CPU trackers have one while a session wants samples) and waits for it, so that no
    /// thread of the tracker holds a lock the child would inherit. Sessions keep their
    /// samples; background sampling waits for [`after_fork`](Self::after_fork), which the
    /// parent and the child each call once the fork is done. Python's `os.register_at_fork`
    /// is where the Python package calls the two.
    ///
    /// ```
    /// use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let id = tracker.start_tracking(Some("load"));
    /// tracker.prepare_fork();
    /// // fork() here; then, in the parent and in the child:
    /// tracker.after_fork();
    /// tracker.stop_tracking(&id)?;
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn prepare_fork(&self) {
        self.sampler.pause();
    }

    /// Resumes background sampling after [`prepare_fork`](Self::prepare_fork), on a thread of
    /// the calling process: in a child made by `fork()`, the child's, which samples the child
    /// (a tracker that watches its own process asks for the process id at each reading).
    ///
    /// ```
    /// use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// tracker.prepare_fork();
    /// tracker.after_fork();
    /// ```
    pub fn after_fork(&self) {
        let engine: Weak<dyn Sample> = Arc::downgrade(&self.engine) as Weak<Engine<K>>;
        self.sampler.resume(engine);
    }

    /// Starts a session with a generated id. `Some("")` and `None` both mean no label.
    ///
    /// At most `max_sessions` sessions started by id stay active (the configuration's; guards
    /// do not count): past it, an approximately oldest one is abandoned, which records
    /// nothing, counts under its label in [`abandoned_sessions`](Self::abandoned_sessions),
    /// stops its sampling, and makes its id an
    /// [`Error::AbandonedSession`](crate::Error::AbandonedSession). So sessions that are never
    /// stopped cannot grow a process without bound.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let id = tracker.start_tracking(Some("embedding"));
    /// let record = tracker.stop_tracking(&id)?;
    /// assert_eq!(record.label.as_deref(), Some("embedding"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    #[inline]
    pub fn start_tracking(&self, label: Option<&str>) -> TrackId {
        let (started, session, sampled) = K::open(&self.engine, label.unwrap_or(""));
        let engine = &self.engine;
        let id = engine
            .sessions
            .start(started, session, |active| K::abandon(engine, active.state));
        self.sample_in_background(sampled);
        id
    }

    /// Starts a session under an id the caller chooses; an id that is already active is an
    /// [`Error::DuplicateTrackId`](crate::Error::DuplicateTrackId), never an overwrite.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Error};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.start_tracking_with_id("q1", None)?;
    /// assert!(matches!(tracker.start_tracking_with_id("q1", None), Err(Error::DuplicateTrackId { .. })));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking_with_id(&self, id: &str, label: Option<&str>) -> Result<TrackId> {
        let (started, session, sampled) = K::open(&self.engine, label.unwrap_or(""));
        let engine = &self.engine;
        let id = engine
            .sessions
            .start_named(id, started, session, |active| {
                K::abandon(engine, active.state)
            })?;
        self.sample_in_background(sampled);
        Ok(id)
    }

    /// Stops a session and returns its record. An id that is not active is an
    /// [`Error::UnknownTrackId`](crate::Error::UnknownTrackId).
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let id = tracker.start_tracking(None);
    /// assert!(tracker.stop_tracking(&id).is_ok());
    /// assert!(tracker.stop_tracking(&id).is_err());
    /// ```
    #[inline]
    pub fn stop_tracking(&self, id: &TrackId) -> Result<K::Record> {
        self.stop_tracking_with_status(id, Status::Ok)
    }

    /// Stops a session with the given status (for example [`Status::Failed`] when the work
    /// returned an error) and returns its record.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Status};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let id = tracker.start_tracking(Some("llm"));
    /// let record = tracker.stop_tracking_with_status(&id, Status::Failed)?;
    /// assert_eq!(tracker.statistics(Some("llm")).unwrap().failed, 1);
    /// # assert_eq!(record.status, Status::Failed);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    #[inline]
    pub fn stop_tracking_with_status(&self, id: &TrackId, status: Status) -> Result<K::Record> {
        let engine = &self.engine;
        engine.sessions.end(id, |id, started, state| {
            K::finish(engine, state, id, started, status)
        })
    }

    /// Ends a session without recording it (the work was abandoned and what it measured means
    /// nothing): no record, no statistics, and its sampling stops. An id that is not active
    /// is an [`Error::UnknownTrackId`](crate::Error::UnknownTrackId).
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let id = tracker.start_tracking(None);
    /// tracker.discard_tracking(&id)?;
    /// assert!(tracker.statistics(None).is_none());
    /// assert!(tracker.stop_tracking(&id).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn discard_tracking(&self, id: &TrackId) -> Result<()> {
        let engine = &self.engine;
        engine
            .sessions
            .end(id, |_, _, state| K::discard(engine, state))
    }

    /// What a session has measured so far, nothing recorded; `None` means the most recently
    /// started active session (the CPU tracker: the use since its previous
    /// `current_value(None)`). Latency: the time elapsed in the tracker's unit; throughput:
    /// the session's rate over the last window; memory: the readings now; CPU: the use since
    /// the session started. No active session is an
    /// [`Error::NoActiveSession`](crate::Error::NoActiveSession).
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Error};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// assert!(matches!(tracker.current_value(None), Err(Error::NoActiveSession)));
    /// let id = tracker.start_tracking(None);
    /// assert!(tracker.current_value(Some(&id))? >= 0.0);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn current_value(&self, id: Option<&TrackId>) -> Result<K::Value> {
        K::current_value(&self.engine, id)
    }

    /// How many sessions are active (guards of memory and CPU trackers included: they are
    /// sampled as sessions).
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let _id = tracker.start_tracking(None);
    /// assert_eq!(tracker.active_sessions(), 1);
    /// ```
    pub fn active_sessions(&self) -> usize {
        self.engine.sessions.len()
    }

    /// Measures until the returned guard is dropped (or stopped); `""` means no label.
    ///
    /// The guard owns what it needs (`Send + 'static`): hold it across `.await`, move it into
    /// a task, nest guards, use them from many threads at once. A guard dropped while its
    /// thread panics records the measurement as [`Status::Failed`].
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// {
    ///     let _query = tracker.track("query");
    ///     let _retrieval = tracker.track("retrieval");
    /// }
    /// assert_eq!(tracker.statistics(None).unwrap().count, 2);
    /// ```
    #[inline]
    pub fn track(&self, label: &str) -> Guard<K> {
        let (running, sampled) = K::guard(&self.engine, label);
        self.sample_in_background(sampled);
        Guard::new(running)
    }

    /// Statistics over one label, or over every measurement (labelled or not) with `None` or
    /// `Some("")`, in the tracker's unit. Latency and throughput: `None` when nothing
    /// matches; memory and CPU: statistics per reading, empty when nothing matches.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// # use std::time::Duration;
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.record("a", Duration::from_millis(10));
    /// tracker.record("", Duration::from_millis(30));
    /// assert_eq!(tracker.statistics(None).unwrap().mean, 20.0);
    /// assert_eq!(tracker.statistics(Some("a")).unwrap().mean, 10.0);
    /// assert!(tracker.statistics(Some("b")).is_none());
    /// ```
    pub fn statistics(&self, label: Option<&str>) -> K::Statistics {
        self.engine.statistics(label)
    }

    /// Statistics per label, for labelled measurements, sorted by label.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// # use std::time::Duration;
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.record("retrieval", Duration::from_millis(12));
    /// tracker.record("generation", Duration::from_millis(300));
    /// let labels: Vec<_> = tracker.statistics_by_label().into_keys().collect();
    /// assert_eq!(labels, ["generation", "retrieval"]);
    /// ```
    pub fn statistics_by_label(&self) -> BTreeMap<String, K::LabelStatistics> {
        self.engine.statistics_by_label()
    }

    /// The retained records (at most `max_records`), oldest first.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig { max_records: 2, ..Default::default() });
    /// for _ in 0..3 {
    ///     tracker.track("x").stop();
    /// }
    /// assert_eq!(tracker.records().len(), 2);
    /// assert_eq!(tracker.dropped_records(), 1);
    /// ```
    pub fn records(&self) -> Vec<K::Record> {
        self.engine.records()
    }

    /// How many measurements count in the statistics but are not among
    /// [`records`](Self::records) (dropped because of `max_records`).
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker, LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig { max_records: 0, ..Default::default() });
    /// tracker.time("x", || ());
    /// assert_eq!(tracker.dropped_records(), 1);
    ///
    /// let cpu = CpuUsageTracker::new(CpuConfig { max_records: 1, ..Default::default() });
    /// cpu.track("a").stop();
    /// cpu.track("b").stop();
    /// assert_eq!((cpu.records().len(), cpu.dropped_records()), (1, 1));
    /// ```
    pub fn dropped_records(&self) -> u64 {
        self.engine.dropped()
    }

    /// How many times a label was used (a session started, a guard created, a measurement
    /// recorded) after `max_labels` distinct labels already existed; those measurements are
    /// recorded under `"_other"`.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// # use std::time::Duration;
    /// let tracker = LatencyTracker::new(LatencyConfig { max_labels: 1, ..Default::default() });
    /// tracker.record("a", Duration::from_millis(1));
    /// tracker.record("b", Duration::from_millis(1));
    /// assert_eq!(tracker.overflowed_labels(), 1);
    /// assert!(tracker.statistics(Some("_other")).is_some());
    /// ```
    pub fn overflowed_labels(&self) -> u64 {
        self.engine.labels.overflowed()
    }

    /// How many sessions started by id were abandoned because more than `max_sessions` were
    /// active (since the tracker started or was last reset, with those of loaded and merged
    /// files); [`snapshot`](Self::snapshot) gives them by label.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig {
    ///     max_sessions: 2,
    ///     track_gpu: false,
    ///     ..Default::default()
    /// });
    /// for _ in 0..5 {
    ///     let _forgotten = tracker.start_tracking(Some("index build"));
    /// }
    /// assert_eq!((tracker.active_sessions(), tracker.abandoned_sessions()), (2, 3));
    /// assert_eq!(tracker.snapshot().abandoned_sessions["index build"], 3);
    /// ```
    pub fn abandoned_sessions(&self) -> u64 {
        self.engine
            .abandoned_by_label()
            .values()
            .fold(0, |total, n| total.saturating_add(*n))
    }

    /// Every label's state as typed data, with the epoch, the start, and the dropped records
    /// and overflowed labels, all from one epoch (a reset or load in progress is waited for;
    /// recording is not). Latency: a [`Distribution`](crate::Distribution) of durations in
    /// **seconds** per label; throughput: a
    /// [`ThroughputLabelSnapshot`](crate::ThroughputLabelSnapshot) (rates in events per
    /// second); memory and CPU: a [`SessionsLabelSnapshot`](crate::SessionsLabelSnapshot)
    /// of finished sessions. See [`Snapshot`] for what each field means.
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker};
    /// use std::time::Duration;
    ///
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.record("retrieval", Duration::from_millis(30));
    /// tracker.record("retrieval", Duration::from_millis(50));
    /// tracker.record("", Duration::from_millis(5));
    ///
    /// let snapshot = tracker.snapshot();
    /// let retrieval = snapshot.labels["retrieval"].statistics(1.0, "s").unwrap();
    /// assert_eq!((retrieval.count, retrieval.max), (2, 0.05));
    /// assert_eq!(snapshot.labels[""].count(), 1); // unlabelled
    /// assert_eq!(snapshot.dropped_records, 0);
    /// tracker.reset();
    /// assert_ne!(tracker.snapshot().epoch, snapshot.epoch);
    /// ```
    pub fn snapshot(&self) -> Snapshot<K::LabelSnapshot> {
        self.engine.snapshot()
    }

    /// Discards every record, statistic and active session (their sampling stops), and
    /// restarts the tracker's clock of record. Measurements in flight (guards, timed futures)
    /// are not kept.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.time("x", || ());
    /// tracker.reset();
    /// assert!(tracker.statistics(None).is_none());
    /// assert!(tracker.records().is_empty());
    /// ```
    pub fn reset(&self) {
        self.engine.reset();
    }
}
