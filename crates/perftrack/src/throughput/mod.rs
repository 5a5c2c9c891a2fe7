//! `ThroughputTracker`: how many queries, documents or tokens a system handles per unit of
//! time.

mod config;
mod record;
mod summary;
mod window;

pub use config::{ThroughputConfig, WindowSize};
pub use record::{PythonThroughputRecord, ThroughputRecord};
pub use summary::ThroughputSummary;
pub use window::{LabelWindow, RateWindow};

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::{Engine, Slot};
use crate::label::Lane;
use crate::log::RecordLog;
use crate::recorder::{self, Entry};
use crate::tracker::{Kind, Lifecycle};
use crate::{
    Clock, Distribution, Guard, Result, Statistics, Status, ThroughputLabelSnapshot, Timestamp,
    TrackId, Tracker,
};

/// An active throughput session's progress, as
/// [`ThroughputTracker::session_progress`](Tracker::session_progress) reads it.
///
/// ```
/// # use perftrack::{ThroughputConfig, ThroughputTracker};
/// let tracker = ThroughputTracker::new(ThroughputConfig::default());
/// let id = tracker.start_tracking(None);
/// let progress = tracker.session_progress(&id)?;
/// assert_eq!((progress.label, progress.count), (None, 0));
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionProgress {
    /// The session's label (`None` without one).
    pub label: Option<String>,
    /// When the session started (wall clock).
    pub start_time: Timestamp,
    /// The events recorded in the session so far.
    pub count: u64,
}

/// Counts events (queries, documents, tokens) and reports rates: per session, averaged over
/// the session and at its busiest window, and per label over a sliding window. The methods
/// every tracker has are on [`Tracker`]; this kind adds counting events and label rates.
///
/// Sessions are independent: two sessions with the same label never see each other's
/// counts, while the label's window adds up every session and every
/// [`record`](ThroughputTracker::record) call. Memory per session and per label is fixed
/// whatever the number of events (a ring of 60 time buckets, so a 60 s window is exact to one
/// second).
///
/// ```
/// use perftrack::{ThroughputConfig, ThroughputTracker};
///
/// let tracker = ThroughputTracker::new(ThroughputConfig::default());
///
/// // A batch job: documents indexed per second.
/// let batch = tracker.start_batch(Some("indexing"));
/// for chunk in [vec!["doc"; 64], vec!["doc"; 64], vec!["doc"; 22]] {
///     tracker.record_batch(&batch, chunk.len() as u64)?;
/// }
/// let record = tracker.stop_batch(&batch)?;
/// assert_eq!(record.count, 150);
///
/// // A server loop: count queries, read the rate over the last window whenever needed.
/// tracker.record("queries", 1);
/// assert!(tracker.current_rate("queries").is_some());
/// # Ok::<(), perftrack::Error>(())
/// ```
pub type ThroughputTracker = Tracker<Throughput>;

/// A throughput session owned by a value, stopped and recorded when it drops (as failed
/// during a panic); made by [`ThroughputTracker::track`]. See [`Guard`] for `stop`,
/// `stop_with` and `discard`.
///
/// ```
/// use perftrack::{ThroughputConfig, ThroughputGuard, ThroughputTracker};
///
/// let tracker = ThroughputTracker::new(ThroughputConfig::default());
/// let mut guard: ThroughputGuard = tracker.track("tokens");
/// for _token in 0..42 {
///     guard.record(1);
/// }
/// assert_eq!(guard.count(), 42);
/// assert_eq!(guard.stop().count, 42);
/// ```
pub type ThroughputGuard = Guard<Throughput>;

/// The throughput kind: events counted per session and per label, with session rates in one
/// [`Distribution`] per label. [`ThroughputTracker`] is `Tracker<Throughput>`.
///
/// ```
/// use perftrack::{kinds::Throughput, ThroughputConfig, Tracker};
///
/// let queries: Tracker<Throughput> = Tracker::new(ThroughputConfig::default());
/// queries.record("search", 3);
/// assert_eq!(queries.snapshot().labels["search"].events_total, 3);
/// ```
#[derive(Debug)]
pub struct Throughput {
    config: ThroughputConfig,
    window_size: Duration,
}

/// One running session: its own count and window.
#[derive(Debug)]
pub struct Session {
    slot: Arc<Lane<Slot<Throughput>>>,
    /// The session's start, as ring entries count time (see recorder.rs).
    started_at: i64,
    count: u64,
    window: RateWindow,
}

impl Lane<Slot<Throughput>> {
    /// Applies what threads' rings recorded for this lane (event counts, at their time) to
    /// the lane's stripe of the label's window.
    pub(crate) fn apply_entries(&self, entries: &[Entry]) {
        if self.is_current() {
            self.state
                .add_all(self.index(), entries.iter().map(|e| (e.at, e.value)));
        }
    }
}

impl Kind for Throughput {
    const KIND: crate::TrackerKind = crate::TrackerKind::Throughput;
    type Config = ThroughputConfig;
    type Record = ThroughputRecord;
    type Value = f64;
    type Statistics = Option<Statistics>;
    type LabelStatistics = Statistics;
    type LabelSnapshot = ThroughputLabelSnapshot;
    /// Recorded often, from many threads.
    const STRIPED: bool = true;
    type Summary = ThroughputSummary;
    type SummaryV1 = Distribution;
    /// The window of the label's events, striped.
    type LabelState = LabelWindow;
    type PythonRecord = PythonThroughputRecord;

    fn build(config: ThroughputConfig, _clock: &dyn Clock) -> Self {
        let window_size = config.window_size.as_duration();
        Self {
            config,
            window_size,
        }
    }

    fn config(&self) -> &ThroughputConfig {
        &self.config
    }

    fn label_state(&self, now: Instant) -> LabelWindow {
        LabelWindow::new(now, self.window_size, crate::stripe::stripes())
    }

    fn statistics(&self, summary: Option<&ThroughputSummary>) -> Option<Statistics> {
        self.label_statistics(summary?)
    }

    fn label_statistics(&self, summary: &ThroughputSummary) -> Option<Statistics> {
        let unit = self.config.time_unit;
        summary
            .session_rates
            .statistics(unit.seconds(), unit.events_label())
    }

    /// The summary with the label's own events added.
    fn saved(slot: &Slot<Self>) -> ThroughputSummary {
        let mut summary = slot.with_summary(Clone::clone);
        summary.events = summary.events.saturating_add(slot.state.total());
        summary
    }

    fn label_snapshot(slot: &Slot<Self>, now: Instant) -> ThroughputLabelSnapshot {
        let (session_rates, loaded) = slot.with_summary(|s| (s.session_rates.clone(), s.events));
        let window = &slot.state;
        ThroughputLabelSnapshot {
            session_rates,
            events_total: loaded.saturating_add(window.total()),
            window_events_per_second: window.rate(now),
        }
    }

    fn measurements(label: &ThroughputLabelSnapshot) -> u64 {
        label.session_rates.count()
    }

    /// A session too short to have a rate is in no summary.
    fn counted(record: &ThroughputRecord) -> bool {
        record.value.is_some()
    }

    fn retained(log: &RecordLog<ThroughputRecord>) -> u64 {
        log.count(Self::counted) as u64
    }

    fn end_time(record: &ThroughputRecord) -> crate::Timestamp {
        record.timestamp
    }

    fn label(record: &ThroughputRecord) -> Option<&str> {
        record.label.as_deref()
    }

    fn set_label(record: &mut ThroughputRecord, label: Option<std::sync::Arc<str>>) {
        record.label = label;
    }

    fn convert(&self, record: ThroughputRecord) -> ThroughputRecord {
        record.in_unit(self.config.time_unit)
    }

    fn python_record(&self, record: PythonThroughputRecord) -> ThroughputRecord {
        record.into_record(self.config.time_unit)
    }

    fn summarize(&self, summary: &mut ThroughputSummary, record: &ThroughputRecord) {
        summary.events = summary.events.saturating_add(record.count);
        if let Some(rate) = record.per_second() {
            summary
                .session_rates
                .record(rate, record.status, record.timestamp);
        }
    }
}

impl Lifecycle for Throughput {
    type Session = Session;
    type Running = Session;

    fn open(engine: &Engine<Self>, label: &str) -> (i64, Session, bool) {
        let now = engine.now();
        let session = Session::new(engine.state(label), now);
        (session.started_at, session, false)
    }

    fn finish(
        engine: &Engine<Self>,
        mut session: Session,
        id: TrackId,
        _started: i64,
        status: Status,
    ) -> ThroughputRecord {
        session.finish(Some(id), engine.now(), status)
    }

    fn abandon(_engine: &Engine<Self>, session: Session) {
        session.slot.abandon();
    }

    fn guard(engine: &Arc<Engine<Self>>, label: &str) -> (Session, bool) {
        (Session::new(engine.state(label), engine.now()), false)
    }

    fn stop_guard(session: &mut Session, status: Status) -> ThroughputRecord {
        let end = session.slot.shared.now();
        session.finish(None, end, status)
    }

    fn current_value(engine: &Engine<Self>, id: Option<&TrackId>) -> Result<f64> {
        let now = engine.now();
        let sessions = &engine.sessions;
        match id {
            Some(id) => sessions.with(id, |a| a.state.rate(now)),
            None => sessions.with_latest(|a| a.state.rate(now)),
        }
    }
}

impl Session {
    fn new(slot: Arc<Lane<Slot<Throughput>>>, started: Instant) -> Self {
        let window = RateWindow::new(started, slot.shared.kind.window_size);
        Self {
            slot,
            started_at: recorder::since_base(started),
            count: 0,
            window,
        }
    }

    /// Adds events to the session and to its label's window.
    #[inline]
    fn add(&mut self, at: i64, count: u64) {
        self.count = self.count.saturating_add(count);
        // One reading of the time (`at`, as the ring counts time) for both windows:
        // nanoseconds since the session's start (0 if earlier, as the window counts) and the
        // ring's time.
        let since_start = u64::try_from(at.saturating_sub(self.started_at)).unwrap_or(0);
        self.window.add_at(since_start, count);
        recorder::push(self.slot.handle(), count, at, Status::Ok);
    }

    /// The session's rate over the last window, in the tracker's unit (0 before the clock
    /// has advanced).
    fn rate(&self, now: Instant) -> f64 {
        let per_second = self.window.rate(now).unwrap_or(0.0);
        self.slot
            .shared
            .kind
            .config
            .time_unit
            .from_per_second(per_second)
    }

    /// Ends the session: records its average rate under its label and returns its record.
    fn finish(&mut self, id: Option<TrackId>, end: Instant, status: Status) -> ThroughputRecord {
        let slot = &self.slot;
        let shared = &slot.shared;
        let unit = shared.kind.config.time_unit;
        let duration = end.saturating_duration_since(recorder::instant_at(self.started_at));
        let seconds = duration.as_secs_f64();
        let per_second = (seconds > 0.0).then(|| self.count as f64 / seconds);
        let peak = self.window.peak_rate(end);
        let end_time = shared.timestamp(end);
        if let Some(rate) = per_second {
            slot.add(|summary| {
                summary.session_rates.record(rate, status, end_time);
            });
        }
        let record = ThroughputRecord {
            track_id: id.unwrap_or_else(TrackId::generate),
            value: per_second.map(|r| unit.from_per_second(r)),
            count: self.count,
            duration: seconds,
            timestamp: end_time,
            unit,
            label: slot.label_arc(),
            start_time: shared
                .include_timestamps
                .then(|| end_time.saturating_sub(duration)),
            end_time: shared.include_timestamps.then_some(end_time),
            peak_rate: peak.map(|r| unit.from_per_second(r)),
            status,
        };
        slot.keep(|| record.clone());
        record
    }
}

impl Guard<Throughput> {
    /// Adds `count` events to the session (and to its label's window).
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let mut guard = tracker.track("tokens");
    /// guard.record(5);
    /// assert_eq!(guard.stop().count, 5);
    /// ```
    #[inline]
    pub fn record(&mut self, count: u64) {
        let session = &mut self.running;
        let at = session.slot.shared.clock().now_nanos();
        session.add(at, count);
    }

    /// The events counted so far.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let mut guard = tracker.track("tokens");
    /// guard.record(3);
    /// assert_eq!(guard.count(), 3);
    /// ```
    pub fn count(&self) -> u64 {
        self.running.count
    }

    /// The session's rate over the last window, in the tracker's unit.
    ///
    /// ```
    /// # use perftrack::{ManualClock, ThroughputConfig, ThroughputTracker};
    /// # use std::{sync::Arc, time::Duration};
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    /// let mut guard = tracker.track("tokens");
    /// clock.advance(Duration::from_secs(2));
    /// guard.record(10);
    /// assert_eq!(guard.current_rate(), 5.0);
    /// ```
    pub fn current_rate(&self) -> f64 {
        let session = &self.running;
        session.rate(session.slot.shared.now())
    }
}

/// What only throughput trackers do: count events, in sessions or not, and read label rates.
impl Tracker<Throughput> {
    /// Adds `count` events to a session (and to its label's window). Safe to call from many
    /// threads at once: no event is lost.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker, TrackId};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let id = tracker.start_tracking(None);
    /// tracker.record_event(&id, 3)?;
    /// assert!(tracker.record_event(&TrackId::from("unknown"), 1).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    #[inline]
    pub fn record_event(&self, id: &TrackId, count: u64) -> Result<()> {
        let at = self.engine.shared.clock().now_nanos();
        self.engine
            .sessions
            .with(id, |active| active.state.add(at, count))
    }

    /// An active session's progress: its label, when it started, and the events counted so
    /// far. Reading it takes the session table's lock once, like
    /// [`record_event`](Self::record_event); the label is copied out.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let id = tracker.start_tracking(Some("embedding"));
    /// tracker.record_event(&id, 32)?;
    /// tracker.record_event(&id, 8)?;
    /// let progress = tracker.session_progress(&id)?;
    /// assert_eq!(progress.count, 40);
    /// assert_eq!(progress.label.as_deref(), Some("embedding"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn session_progress(&self, id: &TrackId) -> Result<SessionProgress> {
        let (label, started, count) = self.engine.sessions.with(id, |active| {
            let session = &active.state;
            (session.slot.label_arc(), active.started, session.count)
        })?;
        Ok(SessionProgress {
            label: label.map(|l| l.to_string()),
            start_time: self.engine.shared.timestamp_at(started),
            count,
        })
    }

    /// Starts a batch: the same as [`start_tracking`](Self::start_tracking), named for batch
    /// jobs as in the original.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let batch = tracker.start_batch(Some("chunking"));
    /// tracker.record_batch(&batch, 500)?;
    /// assert_eq!(tracker.stop_batch(&batch)?.count, 500);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_batch(&self, label: Option<&str>) -> TrackId {
        self.start_tracking(label)
    }

    /// Adds a batch of `count` items: [`record_event`](Self::record_event).
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let batch = tracker.start_batch(None);
    /// tracker.record_batch(&batch, 64)?;
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn record_batch(&self, id: &TrackId, count: u64) -> Result<()> {
        self.record_event(id, count)
    }

    /// Stops a batch: [`stop_tracking`](Self::stop_tracking).
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let batch = tracker.start_batch(None);
    /// assert_eq!(tracker.stop_batch(&batch)?.count, 0);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn stop_batch(&self, id: &TrackId) -> Result<ThroughputRecord> {
        self.stop_tracking(id)
    }

    /// Counts `count` events under `label` without a session: for server loops that only
    /// need the label's current rate.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// tracker.record("queries", 1);
    /// assert!(tracker.current_rate("queries").is_some());
    /// ```
    #[inline]
    pub fn record(&self, label: &str, count: u64) {
        let handle = self.engine.labels.handle(label);
        recorder::push(
            handle,
            count,
            self.engine.shared.clock().now_nanos(),
            Status::Ok,
        );
    }

    /// A label's rate over the last `window_size` (or since the label was first used, if that
    /// is shorter), all sessions and [`record`](Self::record) calls together, in the tracker's
    /// unit. `None` for a label never used, or used at this very instant.
    ///
    /// ```
    /// # use perftrack::{ManualClock, ThroughputConfig, ThroughputTracker};
    /// # use std::{sync::Arc, time::Duration};
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    /// tracker.record("queries", 0);
    /// clock.advance(Duration::from_secs(2));
    /// tracker.record("queries", 30);
    /// assert_eq!(tracker.current_rate("queries"), Some(15.0));
    /// assert_eq!(tracker.current_rate("never"), None);
    /// ```
    pub fn current_rate(&self, label: &str) -> Option<f64> {
        let slot = self.engine.labels.find(label)?;
        let per_second = slot.state.rate(self.now())?;
        Some(self.config().time_unit.from_per_second(per_second))
    }

    /// Runs `f` in a session under `label`, counts its result with `count`, and returns the
    /// result with the session's record. A panic in `f` stops the session, records it as
    /// failed, and resumes the panic.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let (vectors, record) = tracker.track_function_throughput(
    ///     "embedding",
    ///     |vectors: &Vec<[f32; 4]>| vectors.len() as u64,
    ///     || vec![[0.0; 4]; 25],
    /// );
    /// assert_eq!((vectors.len(), record.count), (25, 25));
    /// ```
    pub fn track_function_throughput<T>(
        &self,
        label: &str,
        count: impl FnOnce(&T) -> u64,
        f: impl FnOnce() -> T,
    ) -> (T, ThroughputRecord) {
        let mut guard = self.track(label);
        let result = f();
        guard.record(count(&result));
        (result, guard.stop())
    }
}
