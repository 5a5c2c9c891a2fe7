//! `LatencyTracker`: how long each stage of a pipeline takes.

mod config;
mod guard;
mod record;

pub use config::LatencyConfig;
pub use guard::{LatencyGuard, TimedFuture};
pub use record::LatencyRecord;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Load, Scalar, Shared};
use crate::label::Labelled;
use crate::session::lock;
use crate::store::{self, Layout, MetricsFile, V1Rules};
use crate::{
    Clock, Distribution, MonotonicClock, Result, Snapshot, Statistics, Status, TimeUnit, Timestamp,
    TrackId,
};
use record::PythonLatencyRecord;

/// The tracker type as metrics files name it.
const TRACKER_TYPE: &str = crate::TrackerKind::Latency.file_type();
/// The tracker type as the Python original's files name it.
const PYTHON_TRACKER_TYPE: &str = crate::TrackerKind::Latency.python_type();

/// Measures how long operations take: sessions by id, guards, closures, futures and durations
/// measured elsewhere, with exact statistics per label.
///
/// `LatencyTracker` is `Clone + Send + Sync`; clones share their state, so one tracker can be
/// handed to every thread and task of a service. Label lookups take no tracker-wide lock in
/// steady state (a per-thread cache finds the label's state, and each label has its own lock)
/// and statistics only read-lock the label map. With `max_records > 0` (the default) each record
/// also enters the tracker's one record-log mutex; with `max_records: 0` recording locks nothing
/// tracker-wide and, in steady state, allocates nothing.
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
#[derive(Clone, Debug)]
pub struct LatencyTracker {
    inner: Arc<Inner>,
}

// A panic in user code never leaves the tracker's state half-updated: its critical sections
// hold no user code and locks ignore poisoning. So a tracker can be used across
// `catch_unwind`, as a tracker that records failed work must be.
impl std::panic::UnwindSafe for LatencyTracker {}
impl std::panic::RefUnwindSafe for LatencyTracker {}

#[derive(Debug)]
struct Inner {
    config: LatencyConfig,
    engine: Engine<Slot, Arc<Slot>, LatencyRecord>,
}

/// One label's state.
#[derive(Debug)]
pub(crate) struct Slot {
    label: Option<Arc<str>>,
    generation: u64,
    unit: TimeUnit,
    dist: Mutex<Distribution>,
    shared: Arc<Shared<LatencyRecord>>,
}

impl Labelled for Slot {
    fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

impl Scalar for Slot {
    fn distribution(&self) -> &Mutex<Distribution> {
        &self.dist
    }
}

/// A finished measurement, before it becomes a record.
struct Measured {
    elapsed: Duration,
    end_time: Timestamp,
}

impl Slot {
    /// Adds a measurement of `elapsed` that ended at `end` to this label's distribution,
    /// unless the state was replaced meanwhile.
    #[inline]
    fn measure(&self, elapsed: Duration, end: Instant, status: Status) -> Measured {
        let end_time = self.shared.timestamp(end);
        let current = self.shared.is_current(self.generation);
        if current {
            lock(&self.dist).record(elapsed.as_secs_f64(), status, end_time);
        }
        Measured { elapsed, end_time }
    }

    fn to_record(&self, id: Option<TrackId>, m: &Measured, status: Status) -> LatencyRecord {
        let include_timestamps = self.shared.include_timestamps;
        LatencyRecord {
            track_id: id.unwrap_or_else(TrackId::generate),
            value: self.unit.from_duration(m.elapsed),
            timestamp: m.end_time,
            unit: self.unit,
            label: self.label.clone(),
            start_time: include_timestamps.then(|| m.end_time.saturating_sub(m.elapsed)),
            end_time: include_timestamps.then_some(m.end_time),
            status,
        }
    }

    /// Records a measurement from `start` to `end` and returns its record (also kept in the
    /// log).
    fn finish(
        &self,
        id: Option<TrackId>,
        start: Instant,
        end: Instant,
        status: Status,
    ) -> LatencyRecord {
        let m = self.measure(end.saturating_duration_since(start), end, status);
        let record = self.to_record(id, &m, status);
        self.shared.keep(self.generation, || record.clone());
        record
    }

    /// Records a measurement of `elapsed` that ended at `end`; a record is built only if the
    /// log keeps one.
    #[inline]
    fn finish_quiet(&self, elapsed: Duration, end: Instant, status: Status) {
        let m = self.measure(elapsed, end, status);
        self.shared
            .keep(self.generation, || self.to_record(None, &m, status));
    }
}

impl LatencyTracker {
    /// A tracker with the standard monotonic clock.
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker, TimeUnit};
    /// let tracker = LatencyTracker::new(LatencyConfig { time_unit: TimeUnit::Microseconds, ..Default::default() });
    /// assert_eq!(tracker.config().time_unit, TimeUnit::Microseconds);
    /// ```
    pub fn new(config: LatencyConfig) -> Self {
        Self::with_clock(config, Arc::new(MonotonicClock))
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
    pub fn with_clock(config: LatencyConfig, clock: Arc<dyn Clock>) -> Self {
        let (unit, exact_limit) = (config.time_unit, config.exact_limit);
        let engine = Engine::new(
            clock,
            config.include_timestamps,
            config.max_records,
            config.max_labels,
            move |label, shared, generation| Slot {
                label,
                generation,
                unit,
                dist: Mutex::new(Distribution::new(exact_limit)),
                shared: Arc::clone(shared),
            },
        );
        Self {
            inner: Arc::new(Inner { config, engine }),
        }
    }

    /// The configuration the tracker was built with.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// assert_eq!(tracker.config().metric_name, "latency");
    /// ```
    pub fn config(&self) -> &LatencyConfig {
        &self.inner.config
    }

    /// The current instant of the tracker's clock: what [`record_ending`](Self::record_ending)
    /// takes for a measurement that ends now. With the default clock it is
    /// [`Instant::now`]; with a [`ManualClock`](crate::ManualClock) it is that clock's reading.
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
    pub fn now(&self) -> Instant {
        self.inner.engine.now()
    }

    /// Every label's distribution of durations, with the epoch, the start, and the dropped
    /// records and overflowed labels, all from one epoch (a reset or load in progress is
    /// waited for; recording is not). Durations are in **seconds**, whatever the tracker's
    /// `time_unit`: `labels[label].statistics(1.0, "s")`, or with the unit's scale, gives
    /// what [`statistics`](Self::statistics) gives for that label. See [`Snapshot`] for what
    /// each field means.
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
    /// ```
    pub fn snapshot(&self) -> Snapshot<Distribution> {
        self.inner.engine.snapshot(
            |log| log.len() as u64,
            Distribution::count,
            |slot, _| lock(&slot.dist).clone(),
        )
    }

    /// Records a duration measured elsewhere that ended at `end`, with a status: for
    /// measurements whose end is known but is not now (a span closed a moment ago, an event
    /// read from a queue), so that the measurement is timestamped when it ended, not when it
    /// is recorded. [`record`](Self::record) is this with `end` now and [`Status::Ok`].
    ///
    /// `end` is an instant of the tracker's clock ([`now`](Self::now)): [`Instant::now`]
    /// with the default clock, the clock's own reading with the one given to
    /// [`with_clock`](Self::with_clock). The record's wall-clock timestamp is derived from it
    /// (an instant of another clock would give a meaningless timestamp, not an error). The
    /// duration is taken as given, not computed from `end`.
    ///
    /// ```
    /// use perftrack::{Clock, LatencyConfig, LatencyTracker, ManualClock, Status};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let clock = Arc::new(ManualClock::new()); // starts at 2025-01-01T00:00:00Z
    /// let tracker = LatencyTracker::with_clock(LatencyConfig::default(), clock.clone());
    /// let ended = clock.now();
    /// clock.advance(Duration::from_secs(10));
    ///
    /// // A call that failed after 250 ms, ten seconds ago.
    /// tracker.record_ending("llm", Duration::from_millis(250), ended, Status::Failed);
    /// let record = &tracker.records()[0];
    /// assert_eq!((record.value, record.status), (250.0, Status::Failed));
    /// assert_eq!(record.timestamp.to_string(), "2025-01-01T00:00:00.000000000Z");
    /// ```
    #[inline]
    pub fn record_ending(&self, label: &str, duration: Duration, end: Instant, status: Status) {
        let slot = self.inner.engine.state(label);
        slot.finish_quiet(duration, end, status);
    }

    /// Starts a session with a generated id. `Some("")` and `None` both mean no label.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let id = tracker.start_tracking(Some("embedding"));
    /// let record = tracker.stop_tracking(&id)?;
    /// assert_eq!(record.label.as_deref(), Some("embedding"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking(&self, label: Option<&str>) -> TrackId {
        let slot = self.inner.engine.state(label.unwrap_or(""));
        self.inner.engine.sessions.start(self.now(), slot)
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
        let slot = self.inner.engine.state(label.unwrap_or(""));
        self.inner.engine.sessions.start_named(id, self.now(), slot)
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
    pub fn stop_tracking(&self, id: &TrackId) -> Result<LatencyRecord> {
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
    pub fn stop_tracking_with_status(&self, id: &TrackId, status: Status) -> Result<LatencyRecord> {
        let end = self.now();
        let active = self.inner.engine.sessions.remove(id)?;
        Ok(active
            .state
            .finish(Some(active.id), active.started, end, status))
    }

    /// Ends a session without recording it (the work was abandoned and its time means
    /// nothing). An id that is not active is an [`Error::UnknownTrackId`](crate::Error::UnknownTrackId).
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
        self.inner.engine.sessions.remove(id).map(drop)
    }

    /// The time elapsed so far in a session, in the tracker's unit; `None` means the most
    /// recently started active session. Nothing is recorded.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Error};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// assert!(matches!(tracker.current_value(None), Err(Error::NoActiveSession)));
    /// let id = tracker.start_tracking(None);
    /// assert!(tracker.current_value(Some(&id))? >= 0.0);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn current_value(&self, id: Option<&TrackId>) -> Result<f64> {
        let now = self.now();
        let started = match id {
            Some(id) => self.inner.engine.sessions.with(id, |a| a.started)?,
            None => self.inner.engine.sessions.with_latest(|a| a.started)?,
        };
        Ok(self
            .inner
            .config
            .time_unit
            .from_duration(now.saturating_duration_since(started)))
    }

    /// How many sessions are active.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let _id = tracker.start_tracking(None);
    /// assert_eq!(tracker.active_sessions(), 1);
    /// ```
    pub fn active_sessions(&self) -> usize {
        self.inner.engine.sessions.len()
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
    pub fn track(&self, label: &str) -> LatencyGuard {
        let slot = self.inner.engine.state(label);
        LatencyGuard::new(slot, self.now())
    }

    /// Runs `f` and records how long it took (as failed if it panics).
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let sum = tracker.time("tokenise", || (1..=10).sum::<u32>());
    /// assert_eq!(sum, 55);
    /// ```
    pub fn time<T>(&self, label: &str, f: impl FnOnce() -> T) -> T {
        let _guard = self.track(label);
        f()
    }

    /// Runs `f` and records how long it took, as [`Status::Failed`] when it returns `Err` (or
    /// panics): for stages whose errors travel with `?`, which a plain guard would record as
    /// successes.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let parsed: Result<u32, _> = tracker.time_result("parse", || "42".parse::<u32>());
    /// let failed: Result<u32, _> = tracker.time_result("parse", || "forty-two".parse::<u32>());
    /// assert!(parsed.is_ok() && failed.is_err());
    /// assert_eq!(tracker.statistics(Some("parse")).unwrap().failed, 1);
    /// ```
    pub fn time_result<T, E>(&self, label: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let guard = self.track(label);
        let result = f();
        guard.stop_with(if result.is_ok() {
            Status::Ok
        } else {
            Status::Failed
        });
        result
    }

    /// Wraps a future so that the time from its first poll to its completion is recorded. A
    /// future dropped before it completes is recorded as [`Status::Cancelled`]. No runtime is
    /// needed.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Status};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let answer = futures_lite_block_on(tracker.time_async("generate", async { 42 }));
    /// assert_eq!(answer, 42);
    /// assert_eq!(tracker.records()[0].status, Status::Ok);
    /// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Waker};
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = Context::from_waker(Waker::noop());
    /// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// ```
    pub fn time_async<F: Future>(&self, label: &str, future: F) -> TimedFuture<F> {
        TimedFuture::new(self.inner.engine.state(label), future)
    }

    /// Wraps a function so that every call is timed under `label`: the decorator of the Python
    /// original. Several arguments go in a tuple. The argument type is fixed when wrapping, so
    /// for arguments that borrow short-lived data, [`time`](Self::time) a closure instead.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let retrieve = tracker.wrap("retrieve", |(query, k): (&str, usize)| vec![query.len(); k]);
    /// assert_eq!(retrieve(("what is RAG?", 3)).len(), 3);
    /// assert_eq!(tracker.statistics(Some("retrieve")).unwrap().count, 1);
    /// ```
    pub fn wrap<A, R>(&self, label: &str, f: impl Fn(A) -> R) -> impl Fn(A) -> R {
        let tracker = self.clone();
        let label: Arc<str> = Arc::from(label);
        move |args| {
            let _guard = tracker.track(&label);
            f(args)
        }
    }

    /// Records a duration measured elsewhere, ending now.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// # use std::time::Duration;
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.record("llm", Duration::from_millis(850));
    /// assert_eq!(tracker.statistics(Some("llm")).unwrap().max, 850.0);
    /// ```
    #[inline]
    pub fn record(&self, label: &str, duration: Duration) {
        let slot = self.inner.engine.state(label);
        slot.finish_quiet(duration, self.now(), Status::Ok);
    }

    /// Statistics over one label, or over every measurement (labelled or not) with `None` or
    /// `Some("")`; `None` when nothing matches.
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
    pub fn statistics(&self, label: Option<&str>) -> Option<Statistics> {
        let config = &self.inner.config;
        let unit = config.time_unit;
        self.inner
            .engine
            .statistics(label, config.exact_limit, unit.per_second(), unit.as_str())
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
    pub fn statistics_by_label(&self) -> BTreeMap<String, Statistics> {
        let unit = self.inner.config.time_unit;
        self.inner
            .engine
            .statistics_by_label(unit.per_second(), unit.as_str())
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
    pub fn records(&self) -> Vec<LatencyRecord> {
        self.inner.engine.shared.log.snapshot()
    }

    /// How many measurements count in the statistics but are not among [`records`](Self::records)
    /// (dropped because of `max_records`).
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig { max_records: 0, ..Default::default() });
    /// tracker.time("x", || ());
    /// assert_eq!(tracker.dropped_records(), 1);
    /// ```
    pub fn dropped_records(&self) -> u64 {
        self.inner
            .engine
            .dropped(|log| log.len() as u64, |slot| lock(&slot.dist).count())
    }

    /// How many times a label was used (a session started, a guard created, a duration
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
        self.inner.engine.labels.overflowed()
    }

    /// Discards every record, statistic and active session, and restarts the tracker's clock
    /// of record. Measurements in flight (guards, timed futures) are not kept.
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
        self.inner.engine.reset();
    }

    store::metrics_file_methods!(LatencyTracker, LatencyConfig, LatencyRecord, "latency");

    fn render(&self, path: &Path) -> Result<String> {
        let engine = &self.inner.engine;
        // One generation: no reset or load may come between reading records and summaries.
        engine.consistent(|| {
            // Records first: every retained record's measurement is then in the summaries too.
            let records = self.records();
            let (summaries, total) = engine.summaries();
            engine.render(
                path,
                TRACKER_TYPE,
                &self.inner.config,
                &self.inner.config.metric_name,
                &records,
                summaries,
                total.saturating_sub(records.len() as u64),
            )
        })
    }

    /// Loads metrics text, replacing or adding to this tracker's state.
    fn load_text(
        &self,
        text: &str,
        source: &Path,
        mode: Load,
    ) -> Result<MetricsFile<LatencyRecord>> {
        let (unit, exact_limit) = (self.inner.config.time_unit, self.inner.config.exact_limit);
        let loaded = match store::check_header(source, text, TRACKER_TYPE, PYTHON_TRACKER_TYPE)? {
            Layout::V1 => store::load_v1(
                source,
                text,
                &V1Rules {
                    metric_name: |c: &LatencyConfig| &c.metric_name,
                    convert: Box::new(move |r: LatencyRecord| r.in_unit(unit)),
                    measurements: Distribution::count,
                    counted: |_| true,
                    check: |_| Ok(()),
                },
            )?,
            Layout::Python => store::load_python(
                source,
                text,
                PYTHON_TRACKER_TYPE,
                TRACKER_TYPE,
                |r: PythonLatencyRecord| r.into_record(unit),
                |records| {
                    let mut summaries: BTreeMap<String, Distribution> = BTreeMap::new();
                    for r in records {
                        summaries
                            .entry(r.label.as_deref().unwrap_or("").to_owned())
                            .or_insert_with(|| Distribution::new(exact_limit))
                            .record(r.seconds(), r.status, r.timestamp);
                    }
                    summaries
                },
            )?,
        };
        Ok(self.inner.engine.install_loaded(
            loaded,
            mode,
            Distribution::count,
            |other, d| other.merge(&d),
            |slot, d| lock(&slot.dist).merge(&d),
            |label, mut dist, shared, generation| {
                dist.set_exact_limit(exact_limit);
                Slot {
                    label,
                    generation,
                    unit,
                    dist: Mutex::new(dist),
                    shared: Arc::clone(shared),
                }
            },
        ))
    }
}
