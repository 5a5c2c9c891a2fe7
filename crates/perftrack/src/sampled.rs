//! The lifecycle of sampled sessions, once for every kind that samples (memory, CPU): sessions
//! by id and by guard, background samples on the tracker's sampler thread, explicit samples,
//! discarding, and finishing into a record and a per-label summary. A kind supplies only what
//! it reads and how a session turns into its record ([`Sampled`]); every [`Sampled`] kind is
//! a [`Lifecycle`].

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Shared, Slot};
use crate::label::Lane;
use crate::recorder;
use crate::session::lock;
use crate::tracker::{Kind, Lifecycle};
use crate::{Guard, Result, SamplingInterval, Status, TrackId, Tracker};

/// A kind whose sessions read probes at their start, at their end and on a schedule in
/// between: [`Memory`](crate::kinds::Memory) and [`Cpu`](crate::kinds::Cpu). Sealed, like
/// [`Kind`]; its hidden items are the core's interface to a kind.
///
/// ```
/// use perftrack::kinds::{Cpu, Sampled};
/// use perftrack::{CpuConfig, Tracker};
///
/// fn explicit_samples<K: Sampled>(tracker: &Tracker<K>) -> perftrack::Result<usize> {
///     let id = tracker.start_tracking(None);
///     tracker.record_sample(&id)?;
///     let samples = tracker.samples(&id)?.len();
///     tracker.stop_tracking(&id)?;
///     Ok(samples)
/// }
/// assert_eq!(explicit_samples(&Tracker::<Cpu>::new(CpuConfig::default()))?, 1);
/// # Ok::<(), perftrack::Error>(())
/// ```
pub trait Sampled: Kind {
    /// A sample as [`Tracker::record_sample`] and [`Tracker::samples`] return it.
    type Sample;
    #[doc(hidden)]
    /// What a session keeps besides its label and sampling schedule.
    type Data: Debug + Send + 'static;
    #[doc(hidden)]
    /// One reading of every probe, shared by all the sessions sampled at one tick.
    type Reading;

    #[doc(hidden)]
    /// The configured background interval; `None`: no background samples.
    fn interval(&self) -> Option<Duration>;
    #[doc(hidden)]
    /// The background interval a guard asks for as `interval`; `None`: no background samples.
    fn every(&self, interval: SamplingInterval) -> Option<Duration> {
        interval.as_duration()
    }
    #[doc(hidden)]
    /// Reads every probe once.
    fn read(&self, shared: &Shared<Self>) -> Self::Reading;
    #[doc(hidden)]
    /// Takes a new session's first readings: its start and its data.
    fn begin(&self, shared: &Shared<Self>) -> (Instant, Self::Data);
    #[doc(hidden)]
    /// Adds a reading taken at `at` to a session and returns it as a sample.
    fn sample(
        &self,
        data: &mut Self::Data,
        reading: &Self::Reading,
        at: Instant,
        shared: &Shared<Self>,
    ) -> Self::Sample;
    #[doc(hidden)]
    /// A session's samples so far, oldest first.
    fn samples(&self, data: &Self::Data) -> Vec<Self::Sample>;
    #[doc(hidden)]
    /// Takes a session's last readings, adds it to its label's summary (with
    /// [`Lane::add`]) and returns its record.
    fn end(
        &self,
        data: &mut Self::Data,
        slot: &Lane<Slot<Self>>,
        id: TrackId,
        started: Instant,
        status: Status,
    ) -> Self::Record;
    #[doc(hidden)]
    /// What `current_value` returns.
    fn value(engine: &Engine<Self>, id: Option<&TrackId>) -> Result<Self::Value>
    where
        Self: Lifecycle;
    #[doc(hidden)]
    /// Runs once the tracker's state exists.
    fn attach(_engine: &Arc<Engine<Self>>)
    where
        Self: Lifecycle,
    {
    }
}

/// One running session.
#[derive(Debug)]
pub struct Session<K: Sampled> {
    slot: Arc<Lane<Slot<K>>>,
    /// `None`: no background samples.
    interval: Option<Duration>,
    next_due: Instant,
    pub(crate) data: K::Data,
}

/// What a sampled guard holds: the tracker's state (never its sampling thread) and its
/// session, which is also in the session table so that the sampler finds it.
#[derive(Debug)]
pub struct Run<K: Sampled> {
    engine: Arc<Engine<K>>,
    id: TrackId,
    started: Instant,
    session: Arc<Mutex<Session<K>>>,
}

/// Opens a session of `label`, sampled every `interval`.
fn open<K: Sampled>(
    engine: &Engine<K>,
    label: &str,
    interval: Option<Duration>,
) -> (Instant, Arc<Mutex<Session<K>>>) {
    let (started, data) = engine.kind().begin(&engine.shared);
    let slot = engine.state(label);
    let session = Session {
        slot,
        interval,
        next_due: started + interval.unwrap_or_default(),
        data,
    };
    (started, Arc::new(Mutex::new(session)))
}

/// Turns a session that left the table into its record.
fn finish<K: Sampled>(
    engine: &Engine<K>,
    id: TrackId,
    started: Instant,
    session: &Mutex<Session<K>>,
    status: Status,
) -> K::Record {
    let mut session = lock(session);
    if session.interval.is_some() {
        engine.shared.bell.ring();
    }
    let slot = Arc::clone(&session.slot);
    let record = engine
        .kind()
        .end(&mut session.data, &slot, id, started, status);
    slot.keep(|| record.clone());
    record
}

/// A session ended without a record: if it was sampled, the sampler may stop.
fn discarded<K: Sampled>(engine: &Engine<K>, session: &Mutex<Session<K>>) {
    if lock(session).interval.is_some() {
        engine.shared.bell.ring();
    }
}

/// A guard's session, in the table under a generated id.
pub(crate) fn run<K: Sampled>(
    engine: &Arc<Engine<K>>,
    label: &str,
    interval: Option<Duration>,
) -> Run<K> {
    let (started, session) = open(engine, label, interval);
    let id = engine
        .sessions
        .start_guard(recorder::since_base(started), Arc::clone(&session));
    Run {
        engine: Arc::clone(engine),
        id,
        started,
        session,
    }
}

impl<K: Sampled> Lifecycle for K {
    type Session = Arc<Mutex<Session<K>>>;
    type Running = Run<K>;

    fn init(engine: &Arc<Engine<Self>>) {
        K::attach(engine);
    }

    fn open(engine: &Engine<Self>, label: &str) -> (i64, Self::Session, bool) {
        let interval = engine.kind().interval();
        let (started, session) = open(engine, label, interval);
        (recorder::since_base(started), session, interval.is_some())
    }

    fn finish(
        engine: &Engine<Self>,
        session: Self::Session,
        id: TrackId,
        started: i64,
        status: Status,
    ) -> K::Record {
        finish(engine, id, recorder::instant_at(started), &session, status)
    }

    fn discard(engine: &Engine<Self>, session: Self::Session) {
        discarded(engine, &session);
    }

    fn abandon(engine: &Engine<Self>, session: Self::Session) {
        lock(&session).slot.abandon();
        discarded(engine, &session);
    }

    fn guard(engine: &Arc<Engine<Self>>, label: &str) -> (Run<K>, bool) {
        let interval = engine.kind().interval();
        (run(engine, label, interval), interval.is_some())
    }

    fn stop_guard(run: &mut Run<K>, status: Status) -> K::Record {
        // Gone from the table only after a reset or load; the record is still built.
        let _ = run.engine.sessions.end(&run.id, |_, _, _| ());
        finish(
            &run.engine,
            run.id.clone(),
            run.started,
            &run.session,
            status,
        )
    }

    fn discard_guard(run: &mut Run<K>) {
        let _ = run.engine.sessions.end(&run.id, |_, _, _| ());
        discarded(&run.engine, &run.session);
    }

    fn current_value(engine: &Engine<Self>, id: Option<&TrackId>) -> Result<K::Value> {
        K::value(engine, id)
    }

    fn wants_samples(engine: &Engine<Self>) -> bool {
        let mut wants = false;
        engine.sessions.for_each(|active| {
            wants |= lock(&active.state).interval.is_some();
        });
        wants
    }

    fn tick(engine: &Engine<Self>) -> Option<Duration> {
        let shared = &engine.shared;
        let kind = engine.kind();
        let now = shared.now();
        let mut due = false;
        engine.sessions.for_each(|active| {
            let session = lock(&active.state);
            due |= session.interval.is_some() && session.next_due <= now;
        });
        let reading = due.then(|| {
            let reading = kind.read(shared);
            (reading, shared.now())
        });
        let mut next: Option<Instant> = None;
        engine.sessions.for_each(|active| {
            let mut session = lock(&active.state);
            let Some(interval) = session.interval else {
                return;
            };
            if let Some((reading, at)) = &reading {
                if session.next_due <= now {
                    kind.sample(&mut session.data, reading, *at, shared);
                    // Keep the cadence; after a stall, start again from now.
                    session.next_due = (session.next_due + interval).max(*at);
                }
            }
            next = Some(next.map_or(session.next_due, |n| n.min(session.next_due)));
        });
        next.map(|n| {
            n.saturating_duration_since(shared.now())
                .max(Duration::from_millis(1))
        })
    }
}

/// Runs `f` on an active session's data.
pub(crate) fn with_data<K: Sampled, T>(
    engine: &Engine<K>,
    id: &TrackId,
    f: impl FnOnce(&K::Data) -> T,
) -> Result<T> {
    let session = engine.sessions.with(id, |a| Arc::clone(&a.state))?;
    let session = lock(&session);
    Ok(f(&session.data))
}

/// What only the sampled kinds do: samples on demand, and guards with their own interval.
impl<K: Sampled> Tracker<K> {
    /// Takes a sample for an active session now (memory: the readings now; CPU: the use
    /// since the session's previous reading) and adds it to the session's timeline.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker, TrackId};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let id = tracker.start_tracking(None);
    /// let sample = tracker.record_sample(&id)?;
    /// # #[cfg(target_os = "linux")]
    /// assert!(sample.memory.process_rss.is_some());
    /// assert!(tracker.record_sample(&TrackId::from("nope")).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn record_sample(&self, id: &TrackId) -> Result<K::Sample> {
        let engine = &self.engine;
        let session = engine.sessions.with(id, |a| Arc::clone(&a.state))?;
        let shared = &engine.shared;
        let reading = engine.kind().read(shared);
        let at = shared.now();
        let mut session = lock(&session);
        Ok(engine
            .kind()
            .sample(&mut session.data, &reading, at, shared))
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
    pub fn samples(&self, id: &TrackId) -> Result<Vec<K::Sample>> {
        with_data(&self.engine, id, |data| self.engine.kind().samples(data))
    }

    /// Measures until the returned guard is dropped or stopped, as
    /// [`track`](Tracker::track) does, sampled in the background every `sampling_interval`
    /// (the configured interval with `None`; a zero interval samples only at the start and
    /// the end) whatever the configuration says. A guard stopped with
    /// [`stop_with`](Guard::stop_with) ends with the status given, which is how a caller
    /// that catches its own failures (an exception of another language) records them.
    ///
    /// ```
    /// use perftrack::{MemoryConfig, MemoryUsageTracker, SamplingInterval, Status};
    ///
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let guard = tracker.track_every("load", Some(SamplingInterval::from_secs_f64(0.01)?));
    /// let record = guard.stop_with(Status::Failed);
    /// assert_eq!(record.status, Status::Failed);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn track_every(
        &self,
        label: &str,
        sampling_interval: Option<SamplingInterval>,
    ) -> Guard<K> {
        let kind = self.engine.kind();
        let interval = match sampling_interval {
            Some(interval) => kind.every(interval),
            None => kind.interval(),
        };
        let running = run(&self.engine, label, interval);
        self.sample_in_background(interval.is_some());
        Guard::new(running)
    }
}
