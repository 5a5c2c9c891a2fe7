//! `ThroughputTracker`: how many queries, documents or tokens a system handles per unit of
//! time.

mod config;
mod guard;
mod record;
mod window;

pub use config::{ThroughputConfig, WindowSize};
pub use guard::ThroughputGuard;
pub use record::ThroughputRecord;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Load, Scalar, Shared};
use crate::label::Labelled;
use crate::session::lock;
use crate::store::{self, Layout, MetricsFile, V1Rules};
use crate::{
    Clock, Distribution, MonotonicClock, RateUnit, Result, Snapshot, Statistics, Status,
    ThroughputLabelSnapshot, TrackId,
};
use record::PythonThroughputRecord;
use window::RateWindow;

/// The tracker type as metrics files name it.
const TRACKER_TYPE: &str = crate::TrackerKind::Throughput.file_type();
/// The tracker type as the Python original's files name it.
const PYTHON_TRACKER_TYPE: &str = crate::TrackerKind::Throughput.python_type();

/// Counts events (queries, documents, tokens) and reports rates: per session, averaged over
/// the session and at its busiest window, and per label over a sliding window.
///
/// Sessions are independent: two sessions with the same label never see each other's
/// counts, while the label's window adds up every session and every [`record`](Self::record)
/// call. Memory per session and per label is fixed whatever the number of events (a ring of
/// 60 time buckets, so a 60 s window is exact to one second). `ThroughputTracker` is
/// `Clone + Send + Sync`; clones share their state.
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
#[derive(Clone, Debug)]
pub struct ThroughputTracker {
    inner: Arc<Inner>,
}

// A panic in user code never leaves the tracker's state half-updated: its critical sections
// hold no user code and locks ignore poisoning.
impl std::panic::UnwindSafe for ThroughputTracker {}
impl std::panic::RefUnwindSafe for ThroughputTracker {}

#[derive(Debug)]
struct Inner {
    config: ThroughputConfig,
    engine: Engine<Slot, Session, ThroughputRecord>,
}

/// One label's state: the rates of its finished sessions and the window of all its events.
#[derive(Debug)]
pub(crate) struct Slot {
    label: Option<Arc<str>>,
    generation: u64,
    unit: RateUnit,
    window_size: Duration,
    /// Finished sessions' average rates, in events per second.
    dist: Mutex<Distribution>,
    window: Mutex<RateWindow>,
    shared: Arc<Shared<ThroughputRecord>>,
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

/// One running session: its own count and window.
#[derive(Debug)]
pub(crate) struct Session {
    slot: Arc<Slot>,
    count: u64,
    window: RateWindow,
}

impl Session {
    fn new(slot: Arc<Slot>, started: Instant) -> Self {
        let window = RateWindow::new(started, slot.window_size);
        Self {
            slot,
            count: 0,
            window,
        }
    }

    /// Adds events to the session and to its label's window.
    #[inline]
    fn add(&mut self, now: Instant, count: u64) {
        self.count = self.count.saturating_add(count);
        self.window.add(now, count);
        if self.slot.shared.is_current(self.slot.generation) {
            lock(&self.slot.window).add(now, count);
        }
    }

    /// The session's rate over the last window, in the tracker's unit (0 before the clock
    /// has advanced).
    fn rate(&self, now: Instant) -> f64 {
        let per_second = self.window.rate(now).unwrap_or(0.0);
        self.slot.unit.from_per_second(per_second)
    }

    /// Ends the session: records its average rate under its label and returns its record.
    fn finish(
        &mut self,
        id: Option<TrackId>,
        started: Instant,
        end: Instant,
        status: Status,
    ) -> ThroughputRecord {
        let slot = &self.slot;
        let shared = &slot.shared;
        let duration = end.saturating_duration_since(started);
        let seconds = duration.as_secs_f64();
        let per_second = (seconds > 0.0).then(|| self.count as f64 / seconds);
        let peak = self.window.peak_rate(end);
        let end_time = shared.timestamp(end);
        if let Some(rate) = per_second {
            if shared.is_current(slot.generation) {
                lock(&slot.dist).record(rate, status, end_time);
            }
        }
        let record = ThroughputRecord {
            track_id: id.unwrap_or_else(TrackId::generate),
            value: per_second.map(|r| slot.unit.from_per_second(r)),
            count: self.count,
            duration: seconds,
            timestamp: end_time,
            unit: slot.unit,
            label: slot.label.clone(),
            start_time: shared
                .include_timestamps
                .then(|| end_time.saturating_sub(duration)),
            end_time: shared.include_timestamps.then_some(end_time),
            peak_rate: peak.map(|r| slot.unit.from_per_second(r)),
            status,
        };
        shared.keep(slot.generation, || record.clone());
        record
    }
}

impl ThroughputTracker {
    /// A tracker with the standard monotonic clock.
    ///
    /// ```
    /// use perftrack::{RateUnit, ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig { time_unit: RateUnit::PerMinute, ..Default::default() });
    /// assert_eq!(tracker.config().time_unit, RateUnit::PerMinute);
    /// ```
    pub fn new(config: ThroughputConfig) -> Self {
        Self::with_clock(config, Arc::new(MonotonicClock))
    }

    /// A tracker that reads time from `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    ///
    /// ```
    /// use perftrack::{ManualClock, ThroughputConfig, ThroughputTracker};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    /// let id = tracker.start_tracking(Some("queries"));
    /// tracker.record_event(&id, 50)?;
    /// clock.advance(Duration::from_millis(500));
    /// assert_eq!(tracker.stop_tracking(&id)?.value, Some(100.0));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn with_clock(config: ThroughputConfig, clock: Arc<dyn Clock>) -> Self {
        let (unit, exact_limit) = (config.time_unit, config.exact_limit);
        let window_size = config.window_size.as_duration();
        let engine = Engine::new(
            clock,
            config.include_timestamps,
            config.max_records,
            config.max_labels,
            move |label, shared, generation| {
                Slot::new(
                    label,
                    generation,
                    unit,
                    window_size,
                    Distribution::new(exact_limit),
                    shared,
                )
            },
        );
        Self {
            inner: Arc::new(Inner { config, engine }),
        }
    }

    /// The configuration the tracker was built with.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// assert_eq!(tracker.config().metric_name, "throughput");
    /// ```
    pub fn config(&self) -> &ThroughputConfig {
        &self.inner.config
    }

    fn now(&self) -> Instant {
        self.inner.engine.now()
    }

    fn session(&self, label: Option<&str>, now: Instant) -> Session {
        Session::new(self.inner.engine.state(label.unwrap_or("")), now)
    }

    /// Starts a session with a generated id. `Some("")` and `None` both mean no label.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let id = tracker.start_tracking(Some("embedding"));
    /// tracker.record_event(&id, 32)?;
    /// assert_eq!(tracker.stop_tracking(&id)?.count, 32);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking(&self, label: Option<&str>) -> TrackId {
        let now = self.now();
        self.inner
            .engine
            .sessions
            .start(now, self.session(label, now))
    }

    /// Starts a session under an id the caller chooses; an id that is already active is an
    /// [`Error::DuplicateTrackId`](crate::Error::DuplicateTrackId).
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker, Error};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// tracker.start_tracking_with_id("nightly", Some("indexing"))?;
    /// assert!(matches!(tracker.start_tracking_with_id("nightly", None), Err(Error::DuplicateTrackId { .. })));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn start_tracking_with_id(&self, id: &str, label: Option<&str>) -> Result<TrackId> {
        let now = self.now();
        self.inner
            .engine
            .sessions
            .start_named(id, now, self.session(label, now))
    }

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
        let now = self.now();
        self.inner
            .engine
            .sessions
            .with(id, |active| active.state.add(now, count))
    }

    /// Stops a session and returns its record: the count, the duration, the average rate and
    /// the peak rate over a whole window.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let id = tracker.start_tracking(None);
    /// let record = tracker.stop_tracking(&id)?;
    /// assert_eq!(record.count, 0);
    /// assert!(tracker.stop_tracking(&id).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn stop_tracking(&self, id: &TrackId) -> Result<ThroughputRecord> {
        self.stop_tracking_with_status(id, Status::Ok)
    }

    /// Stops a session with the given status and returns its record.
    ///
    /// ```
    /// # use perftrack::{Status, ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let id = tracker.start_tracking(None);
    /// let record = tracker.stop_tracking_with_status(&id, Status::Failed)?;
    /// assert_eq!(record.status, Status::Failed);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn stop_tracking_with_status(
        &self,
        id: &TrackId,
        status: Status,
    ) -> Result<ThroughputRecord> {
        let end = self.now();
        let mut active = self.inner.engine.sessions.remove(id)?;
        Ok(active
            .state
            .finish(Some(active.id), active.started, end, status))
    }

    /// Ends a session without recording it (its events stay in the label's window).
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let id = tracker.start_tracking(None);
    /// tracker.discard_tracking(&id)?;
    /// assert!(tracker.records().is_empty());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn discard_tracking(&self, id: &TrackId) -> Result<()> {
        self.inner.engine.sessions.remove(id).map(drop)
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

    /// Starts a session owned by the returned guard, which is stopped and recorded when it
    /// drops (as failed during a panic). `""` means no label.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// {
    ///     let mut guard = tracker.track("tokens");
    ///     guard.record(17);
    /// }
    /// assert_eq!(tracker.records()[0].count, 17);
    /// ```
    pub fn track(&self, label: &str) -> ThroughputGuard {
        let now = self.now();
        ThroughputGuard::new(self.session(Some(label), now), now)
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
        let slot = self.inner.engine.state(label);
        let now = self.now();
        if slot.shared.is_current(slot.generation) {
            lock(&slot.window).add(now, count);
        }
    }

    /// A session's rate over the last `window_size` (or since it started, if that is
    /// shorter), in the tracker's unit; `None` means the most recently started session. A
    /// session whose clock has not advanced yet reads 0.
    ///
    /// ```
    /// # use perftrack::{ManualClock, ThroughputConfig, ThroughputTracker};
    /// # use std::{sync::Arc, time::Duration};
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    /// let id = tracker.start_tracking(None);
    /// clock.advance(Duration::from_secs(4));
    /// tracker.record_event(&id, 20)?;
    /// assert_eq!(tracker.current_value(Some(&id))?, 5.0);
    /// assert_eq!(tracker.current_value(None)?, 5.0);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn current_value(&self, id: Option<&TrackId>) -> Result<f64> {
        let now = self.now();
        let sessions = &self.inner.engine.sessions;
        match id {
            Some(id) => sessions.with(id, |a| a.state.rate(now)),
            None => sessions.with_latest(|a| a.state.rate(now)),
        }
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
        let slot = self.inner.engine.labels.find(label)?;
        let per_second = lock(&slot.window).rate(self.now())?;
        Some(slot.unit.from_per_second(per_second))
    }

    /// Every label's finished sessions' rates, events counted and rate over the window ending
    /// now, with the epoch, the start, and the dropped records and overflowed labels, all from
    /// one epoch (a reset or load in progress is waited for; recording is not). Rates are in
    /// **events per second**, whatever the tracker's `time_unit`. See [`Snapshot`] and
    /// [`ThroughputLabelSnapshot`] for what each field means.
    ///
    /// ```
    /// use perftrack::{ManualClock, ThroughputConfig, ThroughputTracker};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    /// tracker.record("queries", 12);
    /// clock.advance(Duration::from_secs(4));
    ///
    /// let snapshot = tracker.snapshot();
    /// let queries = &snapshot.labels["queries"];
    /// assert_eq!(queries.events_total, 12);
    /// assert_eq!(queries.window_events_per_second, Some(3.0));
    /// assert_eq!(queries.session_rates.count(), 0); // no session finished
    /// ```
    pub fn snapshot(&self) -> Snapshot<ThroughputLabelSnapshot> {
        self.inner.engine.snapshot(
            // A session too short to have a rate is in no summary.
            |log| log.count(|r| r.value.is_some()) as u64,
            |label: &ThroughputLabelSnapshot| label.session_rates.count(),
            |slot, now| {
                let session_rates = lock(&slot.dist).clone();
                let window = lock(&slot.window);
                ThroughputLabelSnapshot {
                    session_rates,
                    events_total: window.total(),
                    window_events_per_second: window.rate(now),
                }
            },
        )
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

    /// How many sessions are active.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let _id = tracker.start_tracking(None);
    /// assert_eq!(tracker.active_sessions(), 1);
    /// ```
    pub fn active_sessions(&self) -> usize {
        self.inner.engine.sessions.len()
    }

    /// Statistics of finished sessions' average rates, for one label or (with `None` or
    /// `Some("")`) every session; in the tracker's unit. Sessions too short to have a rate
    /// are not counted.
    ///
    /// ```
    /// # use perftrack::{ManualClock, ThroughputConfig, ThroughputTracker};
    /// # use std::{sync::Arc, time::Duration};
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    /// for events in [10, 20, 30] {
    ///     let mut guard = tracker.track("batch");
    ///     guard.record(events);
    ///     clock.advance(Duration::from_secs(1));
    /// }
    /// let stats = tracker.statistics(Some("batch")).unwrap();
    /// assert_eq!((stats.count, stats.mean, stats.unit.as_str()), (3, 20.0, "events/s"));
    /// ```
    pub fn statistics(&self, label: Option<&str>) -> Option<Statistics> {
        let config = &self.inner.config;
        let unit = config.time_unit;
        self.inner.engine.statistics(
            label,
            config.exact_limit,
            unit.seconds(),
            unit.events_label(),
        )
    }

    /// Statistics of finished sessions' rates per label, for labelled sessions, sorted by
    /// label.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// # use std::time::Duration;
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let mut guard = tracker.track("tokens");
    /// guard.record(100);
    /// std::thread::sleep(Duration::from_millis(1));
    /// drop(guard);
    /// assert!(tracker.statistics_by_label().contains_key("tokens"));
    /// ```
    pub fn statistics_by_label(&self) -> BTreeMap<String, Statistics> {
        let unit = self.inner.config.time_unit;
        self.inner
            .engine
            .statistics_by_label(unit.seconds(), unit.events_label())
    }

    /// The retained records (at most `max_records`), oldest first.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// tracker.track("x").stop();
    /// assert_eq!(tracker.records().len(), 1);
    /// ```
    pub fn records(&self) -> Vec<ThroughputRecord> {
        self.inner.engine.shared.log.snapshot()
    }

    /// How many sessions count in the statistics but are not among
    /// [`records`](Self::records) (dropped because of `max_records`).
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig { max_records: 0, ..Default::default() });
    /// tracker.track("x").stop();
    /// assert!(tracker.dropped_records() <= 1);
    /// ```
    pub fn dropped_records(&self) -> u64 {
        self.inner.engine.dropped(
            // A session too short to have a rate is in no summary.
            |log| log.count(|r| r.value.is_some()) as u64,
            |slot| lock(&slot.dist).count(),
        )
    }

    /// How many times a label was used after `max_labels` distinct labels already existed;
    /// those events and sessions are recorded under `"_other"`.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig { max_labels: 1, ..Default::default() });
    /// tracker.record("a", 1);
    /// tracker.record("b", 1);
    /// assert_eq!(tracker.overflowed_labels(), 1);
    /// ```
    pub fn overflowed_labels(&self) -> u64 {
        self.inner.engine.labels.overflowed()
    }

    /// Discards every record, statistic, window and active session. Guards still running are
    /// not kept.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// tracker.record("queries", 5);
    /// tracker.reset();
    /// assert_eq!(tracker.current_rate("queries"), None);
    /// ```
    pub fn reset(&self) {
        self.inner.engine.reset();
    }

    store::metrics_file_methods!(
        ThroughputTracker,
        ThroughputConfig,
        ThroughputRecord,
        "throughput"
    );

    fn render(&self, path: &Path) -> Result<String> {
        let engine = &self.inner.engine;
        // One generation: no reset or load may come between reading records and summaries.
        engine.consistent(|| {
            // Records first: every retained record's session is then in the summaries too.
            let records = self.records();
            let (summaries, total) = engine.summaries();
            let counted = records.iter().filter(|r| r.value.is_some()).count() as u64;
            engine.render(
                path,
                TRACKER_TYPE,
                &self.inner.config,
                &self.inner.config.metric_name,
                &records,
                summaries,
                total.saturating_sub(counted),
            )
        })
    }

    /// Loads metrics text, replacing or adding to this tracker's state.
    fn load_text(
        &self,
        text: &str,
        source: &Path,
        mode: Load,
    ) -> Result<MetricsFile<ThroughputRecord>> {
        let config = &self.inner.config;
        let (unit, exact_limit) = (config.time_unit, config.exact_limit);
        let loaded = match store::check_header(source, text, TRACKER_TYPE, PYTHON_TRACKER_TYPE)? {
            Layout::V1 => store::load_v1(
                source,
                text,
                &V1Rules {
                    metric_name: |c: &ThroughputConfig| &c.metric_name,
                    convert: Box::new(move |r: ThroughputRecord| r.in_unit(unit)),
                    measurements: Distribution::count,
                    // A session too short to have a rate is in no summary.
                    counted: |r| r.value.is_some(),
                    check: |_| Ok(()),
                },
            )?,
            Layout::Python => store::load_python(
                source,
                text,
                PYTHON_TRACKER_TYPE,
                TRACKER_TYPE,
                |r: PythonThroughputRecord| r.into_record(unit),
                |records| {
                    let mut summaries: BTreeMap<String, Distribution> = BTreeMap::new();
                    for r in records {
                        if let Some(rate) = r.per_second() {
                            summaries
                                .entry(r.label.as_deref().unwrap_or("").to_owned())
                                .or_insert_with(|| Distribution::new(exact_limit))
                                .record(rate, r.status, r.timestamp);
                        }
                    }
                    summaries
                },
            )?,
        };
        let window_size = config.window_size.as_duration();
        Ok(self.inner.engine.install_loaded(
            loaded,
            mode,
            Distribution::count,
            |other, d| other.merge(&d),
            |slot, d| lock(&slot.dist).merge(&d),
            |label, mut dist, shared, generation| {
                dist.set_exact_limit(exact_limit);
                Slot::new(label, generation, unit, window_size, dist, shared)
            },
        ))
    }
}

impl Slot {
    fn new(
        label: Option<Arc<str>>,
        generation: u64,
        unit: RateUnit,
        window_size: Duration,
        dist: Distribution,
        shared: &Arc<Shared<ThroughputRecord>>,
    ) -> Self {
        Self {
            label,
            generation,
            unit,
            window_size,
            dist: Mutex::new(dist),
            window: Mutex::new(RateWindow::new(shared.now(), window_size)),
            shared: Arc::clone(shared),
        }
    }
}
