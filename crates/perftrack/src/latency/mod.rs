//! `LatencyTracker`: how long each stage of a pipeline takes.

mod config;
mod guard;
mod record;

pub use config::LatencyConfig;
pub use guard::TimedFuture;
pub use record::{LatencyRecord, PythonLatencyRecord};

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::TrackerClock;
use crate::engine::{Engine, Slot};
use crate::label::Lane;
use crate::recorder::{self, Entry, Handle};
use crate::tracker::{Kind, Lifecycle};
use crate::{Clock, Distribution, Guard, Result, Statistics, Status, TimeUnit, TrackId, Tracker};

/// Measures how long operations take: sessions by id, guards, closures, futures and durations
/// measured elsewhere, with exact statistics per label. The methods every tracker has are on
/// [`Tracker`]; this kind adds timing closures, futures and durations measured elsewhere.
///
/// With `max_records: 0` recording locks nothing tracker-wide and, in steady state, allocates
/// nothing.
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
pub type LatencyTracker = Tracker<Latency>;

/// A latency measurement that ends when it drops; made by [`LatencyTracker::track`]. See
/// [`Guard`] for `stop`, `stop_with` and `discard`.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyGuard, LatencyTracker};
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// let guard: LatencyGuard = tracker.track("retrieval");
/// assert!(guard.elapsed() <= guard.elapsed());
/// assert_eq!(guard.stop().label.as_deref(), Some("retrieval"));
/// ```
pub type LatencyGuard = Guard<Latency>;

/// The latency kind: durations of operations, one [`Distribution`] per label.
/// [`LatencyTracker`] is `Tracker<Latency>`.
///
/// ```
/// use perftrack::kinds::{Kind, Latency};
/// assert_eq!(Latency::KIND.file_type(), "latency");
/// ```
#[derive(Debug)]
pub struct Latency {
    config: LatencyConfig,
}

impl Latency {
    fn unit(&self) -> TimeUnit {
        self.config.time_unit
    }
}

/// What a latency guard holds: the handle of its label's lane (plain data, no reference
/// count), its start and the tracker's clock, and what a record of it needs should its
/// label's state be gone when it stops.
#[derive(Debug)]
pub struct Timing {
    handle: Handle,
    /// The start, as ring entries count time (see recorder.rs).
    start: i64,
    clock: TrackerClock,
    /// How its record is built, should its label's state be gone when it stops.
    records: RecordOf,
}

/// What a latency session holds while it runs: the handle of its label's lane and the label
/// its record carries, so that starting and stopping touch no state another thread shares.
#[derive(Debug)]
pub struct Started {
    handle: Handle,
    label: Option<Arc<str>>,
}

impl Timing {
    /// A measurement starting now, recorded through the lane `handle` names.
    #[inline(always)]
    pub(super) fn start(handle: Handle, shared: &crate::engine::Shared<Latency>) -> Self {
        Self {
            handle,
            start: shared.clock().now_nanos(),
            clock: shared.clock().clone(),
            records: RecordOf::of(shared),
        }
    }

    /// The time from the start to `end` (zero if `end` is earlier).
    fn elapsed_to(&self, end: Instant) -> Duration {
        let nanos = recorder::since_base(end).saturating_sub(self.start);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
    }

    /// The label's lane, if its state is still alive.
    fn lane(&self) -> Option<Arc<Lane<Slot<Latency>>>> {
        recorder::lane(self.handle)
    }
}

/// A latency record: what every path that ends a measurement builds, from the tracker's unit
/// and whether it keeps start and end times.
#[derive(Debug)]
struct RecordOf {
    unit: TimeUnit,
    include_timestamps: bool,
}

impl RecordOf {
    /// As the tracker whose shared parts are `shared` builds them.
    fn of(shared: &crate::engine::Shared<Latency>) -> Self {
        Self {
            unit: shared.kind.unit(),
            include_timestamps: shared.include_timestamps,
        }
    }

    /// The record of a measurement of `elapsed` that ended at `end_time`.
    #[inline]
    fn build(
        &self,
        id: TrackId,
        elapsed: Duration,
        end_time: crate::Timestamp,
        label: Option<Arc<str>>,
        status: Status,
    ) -> LatencyRecord {
        LatencyRecord {
            track_id: id,
            value: self.unit.from_duration(elapsed),
            timestamp: end_time,
            unit: self.unit,
            label,
            start_time: self
                .include_timestamps
                .then(|| end_time.saturating_sub(elapsed)),
            end_time: self.include_timestamps.then_some(end_time),
            status,
        }
    }
}

/// A duration in whole nanoseconds, if it fits a ring entry.
#[inline]
fn nanos(duration: Duration) -> Option<u64> {
    u64::try_from(duration.as_nanos()).ok()
}

impl Lane<Slot<Latency>> {
    /// Applies what threads' rings recorded for this lane (durations in nanoseconds, ending
    /// at their time): into the lane's stripe of the distribution, and as records into the
    /// log if it keeps them.
    pub(crate) fn apply_entries(&self, entries: &[Entry]) {
        if !self.is_current() {
            return;
        }
        let shared = &self.shared;
        let seconds = |e: &Entry| Duration::from_nanos(e.value).as_secs_f64();
        self.add_applied(|dist| {
            for batch in entries.chunks(recorder::CAPACITY) {
                if batch.iter().all(|e| e.status == Status::Ok) {
                    // Its moments in two passes and one division, merged at once.
                    let mut values = [0.0; recorder::CAPACITY];
                    let (mut newest, mut newest_at) = (0, i64::MIN);
                    for (i, (e, value)) in batch.iter().zip(&mut values).enumerate() {
                        *value = seconds(e);
                        if e.at >= newest_at {
                            (newest, newest_at) = (i, e.at);
                        }
                    }
                    let at = shared.timestamp_at(batch[newest].at);
                    dist.record_ok_values(&values[..batch.len()], values[newest], at);
                } else {
                    for e in batch {
                        dist.record(seconds(e), e.status, shared.timestamp_at(e.at));
                    }
                }
            }
        });
        self.keep_all(|| {
            entries.iter().map(|e| {
                let m = Measured {
                    elapsed: Duration::from_nanos(e.value),
                    end_time: shared.timestamp_at(e.at),
                };
                // The log keeps the lane's label for the whole batch.
                self.to_record_labelled(None, &m, e.status, None)
            })
        });
    }
}

impl Kind for Latency {
    const KIND: crate::TrackerKind = crate::TrackerKind::Latency;
    type Config = LatencyConfig;
    type Record = LatencyRecord;
    type Value = f64;
    type Statistics = Option<Statistics>;
    type LabelStatistics = Statistics;
    type LabelSnapshot = Distribution;
    /// Recorded often, from many threads.
    const STRIPED: bool = true;
    type Summary = Distribution;
    type SummaryV1 = Distribution;
    type LabelState = ();
    type PythonRecord = PythonLatencyRecord;

    fn build(config: LatencyConfig, _clock: &dyn Clock) -> Self {
        Self { config }
    }

    fn config(&self) -> &LatencyConfig {
        &self.config
    }

    fn label_state(&self, _now: Instant) {}

    fn statistics(&self, summary: Option<&Distribution>) -> Option<Statistics> {
        self.label_statistics(summary?)
    }

    fn label_statistics(&self, summary: &Distribution) -> Option<Statistics> {
        summary.statistics(self.unit().per_second(), self.unit().as_str())
    }

    fn label_snapshot(slot: &Slot<Self>, _now: Instant) -> Distribution {
        slot.with_summary(Clone::clone)
    }

    fn measurements(label: &Distribution) -> u64 {
        label.count()
    }

    fn end_time(record: &LatencyRecord) -> crate::Timestamp {
        record.timestamp
    }

    fn label(record: &LatencyRecord) -> Option<&str> {
        record.label.as_deref()
    }

    fn set_label(record: &mut LatencyRecord, label: Option<std::sync::Arc<str>>) {
        record.label = label;
    }

    fn convert(&self, record: LatencyRecord) -> LatencyRecord {
        record.in_unit(self.unit())
    }

    fn python_record(&self, record: PythonLatencyRecord) -> LatencyRecord {
        record.into_record(self.unit())
    }

    fn summarize(&self, summary: &mut Distribution, record: &LatencyRecord) {
        summary.record(record.seconds(), record.status, record.timestamp);
    }
}

impl Lifecycle for Latency {
    type Session = Started;
    type Running = Timing;

    fn open(engine: &Engine<Self>, label: &str) -> (i64, Started, bool) {
        let (handle, label) = engine.labels.handle_labelled(label);
        let start = engine.shared.clock().now_nanos();
        (start, Started { handle, label }, false)
    }

    #[inline]
    fn finish(
        engine: &Engine<Self>,
        session: Started,
        id: TrackId,
        started: i64,
        status: Status,
    ) -> LatencyRecord {
        let shared = &engine.shared;
        let at = shared.clock().now_nanos();
        let elapsed = u64::try_from(at.saturating_sub(started)).unwrap_or(0);
        if shared.log.enabled() {
            // The record the log keeps is this one, with its id: recorded directly.
            if let Some(lane) = recorder::lane::<Lane<Slot<Latency>>>(session.handle) {
                let started = recorder::instant_at(started);
                let end = started
                    .checked_add(Duration::from_nanos(elapsed))
                    .unwrap_or(started);
                return lane.finish(Some(id), started, end, status);
            }
        } else {
            recorder::push(session.handle, elapsed, at, status);
        }
        let elapsed = Duration::from_nanos(elapsed);
        RecordOf::of(shared).build(id, elapsed, shared.timestamp_at(at), session.label, status)
    }

    fn abandon(_engine: &Engine<Self>, session: Started) {
        if let Some(lane) = recorder::lane::<Lane<Slot<Latency>>>(session.handle) {
            lane.abandon();
        }
    }

    #[inline]
    fn guard(engine: &Arc<Engine<Self>>, label: &str) -> (Timing, bool) {
        let handle = engine.labels.handle(label);
        (Timing::start(handle, &engine.shared), false)
    }

    fn stop_guard(timing: &mut Timing, status: Status) -> LatencyRecord {
        let end = timing.clock.now();
        let elapsed = timing.elapsed_to(end);
        match timing.lane() {
            Some(lane) => lane.finish(None, end.checked_sub(elapsed).unwrap_or(end), end, status),
            // The tracker is gone, or its state was replaced: nothing keeps the measurement,
            // but its record is still the caller's.
            None => {
                let end_time = crate::Timestamp::from(timing.clock.system_now());
                let label = recorder::label(timing.handle);
                timing
                    .records
                    .build(TrackId::generate(), elapsed, end_time, label, status)
            }
        }
    }

    #[inline]
    fn drop_guard(timing: &mut Timing, status: Status) {
        let at = timing.clock.now_nanos();
        // Both ends as ring entries count time: the duration is an integer subtraction.
        let elapsed = u64::try_from(at.saturating_sub(timing.start)).unwrap_or(0);
        recorder::push(timing.handle, elapsed, at, status);
    }

    fn current_value(engine: &Engine<Self>, id: Option<&TrackId>) -> Result<f64> {
        let now = engine.now();
        let started = recorder::instant_at(engine.sessions.started(id)?);
        Ok(engine
            .kind()
            .unit()
            .from_duration(now.saturating_duration_since(started)))
    }
}

/// A finished measurement, before it becomes a record.
struct Measured {
    elapsed: Duration,
    end_time: crate::Timestamp,
}

impl Lane<Slot<Latency>> {
    /// Adds a measurement of `elapsed` that ended at `end` to this label's distribution,
    /// unless the state was replaced meanwhile.
    #[inline]
    fn measure(&self, elapsed: Duration, end: Instant, status: Status) -> Measured {
        self.measure_at(elapsed, self.shared.timestamp(end), status)
    }

    /// [`measure`](Self::measure) with the end given as a wall-clock time.
    #[inline]
    fn measure_at(
        &self,
        elapsed: Duration,
        end_time: crate::Timestamp,
        status: Status,
    ) -> Measured {
        self.add(|dist| {
            dist.record(elapsed.as_secs_f64(), status, end_time);
        });
        Measured { elapsed, end_time }
    }

    fn to_record(&self, id: Option<TrackId>, m: &Measured, status: Status) -> LatencyRecord {
        self.to_record_labelled(id, m, status, self.label_arc())
    }

    /// [`to_record`](Self::to_record) with the label given.
    #[inline]
    fn to_record_labelled(
        &self,
        id: Option<TrackId>,
        m: &Measured,
        status: Status,
        label: Option<Arc<str>>,
    ) -> LatencyRecord {
        let id = id.unwrap_or_else(TrackId::generate);
        RecordOf::of(&self.shared).build(id, m.elapsed, m.end_time, label, status)
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
        self.keep(|| record.clone());
        record
    }

    /// Records a measurement of `elapsed` that ended at `end`; a record is built only if the
    /// log keeps one.
    #[inline]
    fn finish_quiet(&self, elapsed: Duration, end: Instant, status: Status) {
        let m = self.measure(elapsed, end, status);
        self.keep(|| self.to_record(None, &m, status));
    }

    /// [`finish_quiet`](Self::finish_quiet) with the end given as a wall-clock time.
    #[inline]
    fn finish_quiet_at(&self, elapsed: Duration, end_time: crate::Timestamp, status: Status) {
        let m = self.measure_at(elapsed, end_time, status);
        self.keep(|| self.to_record(None, &m, status));
    }
}

impl Guard<Latency> {
    /// The time elapsed so far.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let guard = tracker.track("x");
    /// assert!(guard.elapsed() <= guard.elapsed());
    /// guard.discard();
    /// ```
    pub fn elapsed(&self) -> Duration {
        let timing = &self.running;
        timing.elapsed_to(timing.clock.now())
    }
}

/// What only latency trackers do: time closures and futures, and record durations measured
/// elsewhere.
impl Tracker<Latency> {
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
        self.record_through(label, duration, end, status);
    }

    /// Records `duration`, ended at `end`: through the thread's ring when it fits an entry.
    #[inline]
    fn record_through(&self, label: &str, duration: Duration, end: Instant, status: Status) {
        let handle = self.engine.labels.handle(label);
        match nanos(duration) {
            Some(value) => recorder::push(handle, value, recorder::since_base(end), status),
            // Longer than 584 years: past what an entry holds; the label's lane takes it.
            None => {
                if let Some(lane) = recorder::lane::<Lane<Slot<Latency>>>(handle) {
                    lane.finish_quiet(duration, end, status);
                }
            }
        }
    }

    /// Records a duration measured elsewhere that ended at the wall-clock time `end`, with a
    /// status: for measurements timed by another process or machine (a span received over
    /// OTLP carries its own start and end), whose end is no instant of this tracker's clock.
    /// The record's timestamp is `end` itself; the duration is taken as given.
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker, Status, Timestamp};
    /// use std::time::Duration;
    ///
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let end: Timestamp = "2026-12-01T09:30:00.25Z".parse()?;
    /// tracker.record_at("retrieve", Duration::from_millis(40), end, Status::Ok);
    /// let record = &tracker.records()[0];
    /// assert_eq!((record.value, record.timestamp), (40.0, end));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn record_at(
        &self,
        label: &str,
        duration: Duration,
        end: crate::Timestamp,
        status: Status,
    ) {
        let slot = self.engine.state(label);
        slot.finish_quiet_at(duration, end, status);
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
        TimedFuture::new(self.engine.state(label), future)
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
        self.record_through(label, duration, self.now(), Status::Ok);
    }
}
