//! The lifecycle of sampled sessions, once for every kind that samples (memory, CPU): sessions
//! by id and by guard, background samples on the tracker's sampler thread, explicit samples,
//! discarding, finishing into a record and a per-label summary, and installing loaded files.
//! A kind supplies only what it reads and how a session turns into its record.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Load, SessionSummary, Shared};
use crate::label::Labelled;
use crate::sampler::{Bell, Sample, Sampler};
use crate::session::lock;
use crate::store::Loaded;
use crate::{Clock, MetricsFile, Result, Status, TrackId};

/// What a sampled kind reads and keeps.
pub(crate) trait Kind: std::fmt::Debug + Send + Sync + Sized + 'static {
    /// A finished session's record.
    type Record: Clone + std::fmt::Debug + Send + Sync + 'static;
    /// A label's statistics over finished sessions.
    type Summary: Summary;
    /// What a session keeps besides its label and sampling schedule.
    type Data: std::fmt::Debug + Send + 'static;
    /// One reading of every probe, shared by all the sessions sampled at one tick.
    type Reading;
    /// A sample as the public API returns it.
    type Sample;

    /// Reads every probe once.
    fn read(&self, shared: &Shared<Self::Record>) -> Self::Reading;
    /// Takes a new session's first readings: its start and its data.
    fn open(&self, shared: &Shared<Self::Record>) -> (Instant, Self::Data);
    /// Adds a reading taken at `at` to a session and returns it as a sample.
    fn sample(
        &self,
        data: &mut Self::Data,
        reading: &Self::Reading,
        at: Instant,
        shared: &Shared<Self::Record>,
    ) -> Self::Sample;
    /// A session's samples so far, oldest first.
    fn samples(&self, data: &Self::Data) -> Vec<Self::Sample>;
    /// Takes a session's last readings, adds it to its label's summary (with
    /// [`Slot::add`]) and returns its record.
    fn finish(
        &self,
        data: &mut Self::Data,
        slot: &Slot<Self>,
        id: TrackId,
        started: Instant,
        status: Status,
    ) -> Self::Record;
    /// The configured `exact_limit`, which loaded summaries take.
    fn exact_limit(&self) -> usize;
}

/// A label's statistics over finished sessions, as a kind keeps them.
pub(crate) trait Summary: Clone + Default + std::fmt::Debug + Send + 'static {
    /// How many sessions it counts.
    fn sessions(&self) -> u64;
    /// Adds `other` into it.
    fn merge(&mut self, other: &Self);
    /// Applies a tracker's `exact_limit` to every distribution.
    fn set_exact_limit(&mut self, exact_limit: usize);
    /// The label's part of a [`Snapshot`](crate::Snapshot).
    fn snapshot(&self) -> crate::SessionsLabelSnapshot;
}

/// One label's state.
#[derive(Debug)]
pub(crate) struct Slot<K: Kind> {
    label: Option<Arc<str>>,
    generation: u64,
    summary: Mutex<K::Summary>,
    pub(crate) shared: Arc<Shared<K::Record>>,
}

impl<K: Kind> Slot<K> {
    fn new(
        label: Option<Arc<str>>,
        summary: K::Summary,
        shared: &Arc<Shared<K::Record>>,
        generation: u64,
    ) -> Self {
        Self {
            label,
            generation,
            summary: Mutex::new(summary),
            shared: Arc::clone(shared),
        }
    }

    /// The label, shared.
    pub(crate) fn label_arc(&self) -> Option<Arc<str>> {
        self.label.clone()
    }

    /// Adds a finished session to the summary, unless a reset or load replaced this state.
    pub(crate) fn add(&self, add: impl FnOnce(&mut K::Summary)) {
        if self.shared.is_current(self.generation) {
            add(&mut lock(&self.summary));
        }
    }
}

impl<K: Kind> Labelled for Slot<K> {
    fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

impl<K: Kind> SessionSummary for Slot<K> {
    type Summary = K::Summary;

    fn summary(&self) -> &Mutex<K::Summary> {
        &self.summary
    }

    fn sessions(summary: &K::Summary) -> u64 {
        summary.sessions()
    }

    fn merge(summary: &mut K::Summary, other: &K::Summary) {
        summary.merge(other);
    }
}

/// One running session.
#[derive(Debug)]
pub(crate) struct Session<K: Kind> {
    slot: Arc<Slot<K>>,
    /// `None`: no background samples.
    interval: Option<Duration>,
    next_due: Instant,
    pub(crate) data: K::Data,
}

/// A sampled tracker's state: what its handles and its guards share.
#[derive(Debug)]
pub(crate) struct Core<K: Kind> {
    pub(crate) kind: K,
    pub(crate) engine: Engine<Slot<K>, Arc<Mutex<Session<K>>>, K::Record>,
    /// Wakes the sampling thread when a sampled session ends.
    bell: Bell,
}

impl<K: Kind> Core<K> {
    /// Opens a session and puts it in the table under a generated id.
    fn start(
        &self,
        label: Option<&str>,
        interval: Option<Duration>,
    ) -> (TrackId, Instant, Arc<Mutex<Session<K>>>) {
        let (started, session) = self.open(label, interval);
        let id = self.engine.sessions.start(started, Arc::clone(&session));
        (id, started, session)
    }

    fn open(
        &self,
        label: Option<&str>,
        interval: Option<Duration>,
    ) -> (Instant, Arc<Mutex<Session<K>>>) {
        let (started, data) = self.kind.open(&self.engine.shared);
        let slot = self.engine.state(label.unwrap_or(""));
        let session = Session {
            slot,
            interval,
            next_due: started + interval.unwrap_or_default(),
            data,
        };
        (started, Arc::new(Mutex::new(session)))
    }

    /// Ends a session in the table and returns its record.
    pub(crate) fn stop(&self, id: &TrackId, status: Status) -> Result<K::Record> {
        let active = self.engine.sessions.remove(id)?;
        Ok(self.finish(active.id, active.started, &active.state, status))
    }

    /// Ends a session in the table without a record.
    pub(crate) fn discard(&self, id: &TrackId) -> Result<()> {
        let active = self.engine.sessions.remove(id)?;
        self.discarded(&active.state);
        Ok(())
    }

    /// A session ended without a record: if it was sampled, the sampler may stop.
    fn discarded(&self, session: &Mutex<Session<K>>) {
        if lock(session).interval.is_some() {
            self.bell.ring();
        }
    }

    /// Turns a session that left the table into its record.
    fn finish(
        &self,
        id: TrackId,
        started: Instant,
        session: &Mutex<Session<K>>,
        status: Status,
    ) -> K::Record {
        let mut session = lock(session);
        if session.interval.is_some() {
            self.bell.ring();
        }
        let slot = Arc::clone(&session.slot);
        let record = self
            .kind
            .finish(&mut session.data, &slot, id, started, status);
        slot.shared.keep(slot.generation, || record.clone());
        record
    }

    /// Runs `f` on an active session's data.
    pub(crate) fn with_data<T>(&self, id: &TrackId, f: impl FnOnce(&K::Data) -> T) -> Result<T> {
        let session = self.engine.sessions.with(id, |a| Arc::clone(&a.state))?;
        let session = lock(&session);
        Ok(f(&session.data))
    }

    /// Takes a sample for an active session now.
    pub(crate) fn record_sample(&self, id: &TrackId) -> Result<K::Sample> {
        let session = self.engine.sessions.with(id, |a| Arc::clone(&a.state))?;
        let shared = &self.engine.shared;
        let reading = self.kind.read(shared);
        let at = shared.now();
        let mut session = lock(&session);
        Ok(self.kind.sample(&mut session.data, &reading, at, shared))
    }

    /// An active session's samples so far.
    pub(crate) fn samples(&self, id: &TrackId) -> Result<Vec<K::Sample>> {
        self.with_data(id, |data| self.kind.samples(data))
    }

    /// How many finished sessions have no retained record.
    pub(crate) fn dropped_records(&self) -> u64 {
        self.engine.dropped(
            |log| log.len() as u64,
            |slot| lock(&slot.summary).sessions(),
        )
    }

    /// The tracker's state as typed data, from one epoch.
    pub(crate) fn snapshot(&self) -> crate::Snapshot<crate::SessionsLabelSnapshot> {
        self.engine.snapshot(
            |log| log.len() as u64,
            |label: &crate::SessionsLabelSnapshot| label.sessions,
            |slot, _| lock(&slot.summary).snapshot(),
        )
    }

    /// Installs what a load read (see [`Engine::install_loaded`]).
    pub(crate) fn install(
        &self,
        loaded: Loaded<K::Summary, K::Record>,
        mode: Load,
    ) -> MetricsFile<K::Record> {
        let exact_limit = self.kind.exact_limit();
        self.engine.install_loaded(
            loaded,
            mode,
            Summary::sessions,
            |summary, other| summary.merge(&other),
            |slot, mut other| {
                other.set_exact_limit(exact_limit);
                lock(&slot.summary).merge(&other);
            },
            |label, mut summary, shared, generation| {
                summary.set_exact_limit(exact_limit);
                Slot::new(label, summary, shared, generation)
            },
        )
    }
}

impl<K: Kind> Sample for Core<K> {
    fn wants_samples(&self) -> bool {
        let mut wants = false;
        self.engine.sessions.for_each(|active| {
            wants |= lock(&active.state).interval.is_some();
        });
        wants
    }

    fn tick(&self) -> Option<Duration> {
        let shared = &self.engine.shared;
        let now = shared.now();
        let mut due = false;
        self.engine.sessions.for_each(|active| {
            let session = lock(&active.state);
            due |= session.interval.is_some() && session.next_due <= now;
        });
        let reading = due.then(|| {
            let reading = self.kind.read(shared);
            (reading, shared.now())
        });
        let mut next: Option<Instant> = None;
        self.engine.sessions.for_each(|active| {
            let mut session = lock(&active.state);
            let Some(interval) = session.interval else {
                return;
            };
            if let Some((reading, at)) = &reading {
                if session.next_due <= now {
                    self.kind.sample(&mut session.data, reading, *at, shared);
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

/// What a sampled tracker's handles hold: the state, and the sampling thread, which belongs to
/// the handles alone (it stops when the last handle drops, even while a forgotten guard keeps
/// the state alive).
#[derive(Debug)]
pub(crate) struct Handle<K: Kind> {
    pub(crate) core: Arc<Core<K>>,
    sampler: Arc<Sampler>,
}

impl<K: Kind> Clone for Handle<K> {
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
            sampler: Arc::clone(&self.sampler),
        }
    }
}

impl<K: Kind> Handle<K> {
    /// A tracker of `kind`.
    pub(crate) fn new(
        kind: K,
        clock: Arc<dyn Clock>,
        include_timestamps: bool,
        max_records: usize,
        max_labels: usize,
    ) -> Self {
        let engine = Engine::new(
            clock,
            include_timestamps,
            max_records,
            max_labels,
            |label, shared, generation| Slot::new(label, K::Summary::default(), shared, generation),
        );
        let sampler = Arc::new(Sampler::default());
        let core = Arc::new(Core {
            kind,
            engine,
            bell: sampler.bell(),
        });
        Self { core, sampler }
    }

    /// Hands a session that is now in the table to the sampler, if it wants samples.
    fn sample_in_background(&self, interval: Option<Duration>) {
        if interval.is_some() {
            let core: Weak<dyn Sample> = Arc::downgrade(&self.core) as Weak<Core<K>>;
            self.sampler.session_started(core);
        }
    }

    /// Starts a session under a generated id.
    pub(crate) fn start(&self, label: Option<&str>, interval: Option<Duration>) -> TrackId {
        let (id, _, _) = self.core.start(label, interval);
        self.sample_in_background(interval);
        id
    }

    /// Starts a session under a caller-chosen id; an active one is refused.
    pub(crate) fn start_named(
        &self,
        id: &str,
        label: Option<&str>,
        interval: Option<Duration>,
    ) -> Result<TrackId> {
        let (started, session) = self.core.open(label, interval);
        let id = self
            .core
            .engine
            .sessions
            .start_named(id, started, session)?;
        self.sample_in_background(interval);
        Ok(id)
    }

    /// A session that ends when the guard drops.
    pub(crate) fn guard(&self, label: &str, interval: Option<Duration>) -> Guard<K> {
        let (id, started, session) = self.core.start(Some(label), interval);
        self.sample_in_background(interval);
        Guard {
            core: Arc::clone(&self.core),
            id,
            started,
            session,
            done: false,
        }
    }
}

/// A sampled session that ends when it drops (as [`Status::Failed`] during a panic). It holds
/// the tracker's state, never its sampling thread.
#[derive(Debug)]
pub(crate) struct Guard<K: Kind> {
    core: Arc<Core<K>>,
    id: TrackId,
    started: Instant,
    session: Arc<Mutex<Session<K>>>,
    done: bool,
}

impl<K: Kind> Guard<K> {
    /// Ends the session with `status` and returns its record.
    pub(crate) fn stop_with(&mut self, status: Status) -> K::Record {
        self.done = true;
        // Gone from the table only after a reset or load; the record is still built.
        let _ = self.core.engine.sessions.remove(&self.id);
        self.core
            .finish(self.id.clone(), self.started, &self.session, status)
    }

    /// Ends the session without a record.
    pub(crate) fn discard(&mut self) {
        self.done = true;
        let _ = self.core.engine.sessions.remove(&self.id);
        self.core.discarded(&self.session);
    }
}

impl<K: Kind> Drop for Guard<K> {
    fn drop(&mut self) {
        if !self.done {
            self.stop_with(Status::on_drop());
        }
    }
}
