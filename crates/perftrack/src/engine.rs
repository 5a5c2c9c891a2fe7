//! The state every tracker is made of, written once for every kind: the clock and record log its
//! label states share, the label registry, the session table, statistics, snapshots, metrics
//! files, and replacing all of it at once on reset or load. A kind ([`Kind`], [`Lifecycle`])
//! supplies what it measures and how a measurement runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::{Anchor, TrackerClock};
use crate::label::{LabelRegistry, Labelled, Lane, OVERFLOW_LABEL};
use crate::log::RecordLog;
use crate::sampler::{Bell, Sample};
use crate::session::{SessionTable, lock};
use crate::store::{File, Loaded};
use crate::stripe::{self, Striped};
use crate::tracker::{Kind, Lifecycle, Settings, Summary};
use crate::{MetricsFile, Result, Snapshot, Timestamp};

/// What every label state of a tracker reaches to finish a measurement.
#[derive(Debug)]
pub struct Shared<K: Kind> {
    clock: TrackerClock,
    anchor: Anchor,
    /// The anchor's instant as ring entries count time, and its wall-clock time, in
    /// nanoseconds: an entry's timestamp is integer arithmetic.
    anchor_nanos: (i64, i64),
    pub(crate) include_timestamps: bool,
    /// Renewed by every reset and load; states of an older generation are no longer
    /// reachable, and measurements finishing on them are not kept.
    generation: AtomicU64,
    pub(crate) log: RecordLog<K::Record>,
    /// The kind: its configuration and what it reads with.
    pub(crate) kind: K,
    /// Wakes the tracker's sampling thread when a sampled session ends.
    pub(crate) bell: Bell,
}

impl<K: Kind> Shared<K> {
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The tracker's clock.
    pub(crate) fn clock(&self) -> &TrackerClock {
        &self.clock
    }

    /// The wall-clock time of a monotonic instant.
    #[inline]
    pub(crate) fn timestamp(&self, instant: Instant) -> Timestamp {
        self.anchor.timestamp(instant)
    }

    /// The wall-clock time of a ring entry's time (see recorder.rs): the same as
    /// [`timestamp`](Self::timestamp) of its instant.
    #[inline]
    pub(crate) fn timestamp_at(&self, at: i64) -> Timestamp {
        let (instant, wall) = self.anchor_nanos;
        Timestamp::from_unix_nanos(wall.saturating_add(at.saturating_sub(instant)))
    }

    /// The current wall-clock time, from the clock itself.
    pub(crate) fn wall_now(&self) -> Timestamp {
        Timestamp::from(self.clock.system_now())
    }

    /// Whether a state of `generation` is still the tracker's.
    #[inline]
    fn is_current(&self, generation: u64) -> bool {
        // Acquire pairs with the Release in `Engine::install`: a measurement either sees the
        // new generation and is dropped, or lands in a state that is being replaced.
        generation == self.generation.load(Ordering::Acquire)
    }
}

/// How many stripes a label's summary and the record log of kind `K` have.
fn stripes<K: Kind>() -> usize {
    if K::STRIPED { stripe::stripes() } else { 1 }
}

/// One label's state: its summary of finished measurements and what the kind keeps besides.
#[derive(Debug)]
pub struct Slot<K: Kind> {
    label: Option<Arc<str>>,
    generation: u64,
    /// The summary, split into stripes for striped kinds: each thread adds to its own stripe,
    /// and reads merge them.
    summary: Striped<K::Summary>,
    /// Sessions of this label abandoned to stay within `max_sessions`.
    abandoned: AtomicU64,
    /// What the kind keeps per label besides the summary (throughput: its rate window).
    pub(crate) state: K::LabelState,
    pub(crate) shared: Arc<Shared<K>>,
}

impl<K: Kind> Slot<K> {
    fn new(
        label: Option<Arc<str>>,
        summary: K::Summary,
        shared: &Arc<Shared<K>>,
        generation: u64,
    ) -> Self {
        Self {
            label,
            generation,
            summary: Striped::new(summary, stripes::<K>()),
            abandoned: AtomicU64::new(0),
            state: shared.kind.label_state(shared.now()),
            shared: Arc::clone(shared),
        }
    }

    /// Whether this state is still the tracker's (no reset or load replaced it).
    #[inline]
    pub(crate) fn is_current(&self) -> bool {
        self.shared.is_current(self.generation)
    }

    /// An empty summary with the tracker's `exact_limit`.
    fn empty(&self) -> K::Summary {
        K::Summary::empty(self.shared.kind.config().exact_limit())
    }

    /// Adds a summary (a loaded file's) into this label's.
    fn merge(&self, summary: &K::Summary) {
        self.summary.mine(|| self.empty()).merge(summary);
    }

    /// How many measurements the summary counts.
    fn count(&self) -> u64 {
        let mut count: u64 = 0;
        self.summary
            .each(|summary| count = summary.count().saturating_add(count));
        count
    }

    /// Counts a session of this label that was abandoned, unless a reset or load replaced
    /// this state.
    pub(crate) fn abandon(&self) {
        if self.is_current() {
            self.add_abandoned(1);
        }
    }

    fn add_abandoned(&self, n: u64) {
        // Relaxed: a statistic read on its own; saturates.
        let _ = self
            .abandoned
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(c.saturating_add(n))
            });
    }

    fn abandoned(&self) -> u64 {
        self.abandoned.load(Ordering::Relaxed)
    }

    /// Runs `f` on the summary: behind its lock when it has one stripe, or on the stripes
    /// merged (each locked in turn) when it has several.
    pub(crate) fn with_summary<T>(&self, f: impl FnOnce(&K::Summary) -> T) -> T {
        if self.summary.count() == 1 {
            return f(&self.summary.first());
        }
        // Merged into a copy of the first stripe that counts something, never into an empty
        // summary, so that a summary held by one stripe reads exactly as it is (merging into
        // an empty one may round its mean in the last bit).
        let mut merged: Option<K::Summary> = None;
        self.summary.each(|stripe| match &mut merged {
            _ if stripe.is_empty() => {}
            None => merged = Some(stripe.clone()),
            Some(so_far) if so_far.count() == 0 => {
                let mut counted = stripe.clone();
                counted.merge(so_far);
                *so_far = counted;
            }
            Some(so_far) => so_far.merge(stripe),
        });
        f(&merged.unwrap_or_else(|| self.empty()))
    }
}

/// What a thread records through: its lane into a label's state adds to the lane's stripe of
/// the summary and keeps records in the lane's ring of the record log.
impl<K: Kind> Lane<Slot<K>> {
    /// Adds a finished measurement to this lane's stripe of the summary, unless a reset or
    /// load replaced the state: after what the calling thread's ring holds, so that its
    /// measurements keep their order.
    #[inline]
    pub(crate) fn add(&self, add: impl FnOnce(&mut K::Summary)) {
        crate::recorder::flush_mine();
        self.add_applied(add);
    }

    /// [`add`](Self::add) for entries a ring applies (which must not drain rings again).
    #[inline]
    pub(crate) fn add_applied(&self, add: impl FnOnce(&mut K::Summary)) {
        if self.is_current() {
            add(&mut self.summary.at(self.index(), || self.empty()));
        }
    }

    /// Keeps a record in this lane's ring of the log if the state is current and the log
    /// keeps records; the record is only built then.
    #[inline]
    pub(crate) fn keep(&self, record: impl FnOnce() -> K::Record) {
        let shared = &self.shared;
        if shared.log.enabled() && self.is_current() {
            // Checked again under the ring's lock: a reset or load that replaced the log since
            // the check above must not receive a record of the state it discarded (its
            // summaries would not count it, and a file saved then would not load).
            shared.log.push_if(self.index(), record(), || {
                shared.is_current(self.generation)
            });
        }
    }
}

/// What threads' rings recorded for this lane, applied as the kind says.
impl<K: Kind> crate::recorder::Sink for Lane<Slot<K>> {
    fn apply(&self, entries: &[crate::recorder::Entry]) {
        K::apply_entries(self, entries);
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

impl<K: Kind> Lane<Slot<K>> {
    /// [`keep`](Self::keep) for a batch of records of this lane, built without their label
    /// (the log keeps the lane's label once for the run), under one lock of the ring.
    pub(crate) fn keep_all<I: IntoIterator<Item = K::Record>>(&self, records: impl FnOnce() -> I) {
        let shared = &self.shared;
        if shared.log.enabled() && self.is_current() {
            shared
                .log
                .push_labelled_if(self.index(), self.label_ref(), records, || {
                    shared.is_current(self.generation)
                });
        }
    }
}

impl<K: Kind> Labelled for Slot<K> {
    fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

/// A tracker's state, replaced as a whole by reset and load.
#[derive(Debug)]
pub struct Engine<K: Lifecycle> {
    pub(crate) shared: Arc<Shared<K>>,
    pub(crate) labels: LabelRegistry<Slot<K>>,
    pub(crate) sessions: SessionTable<K::Session>,
    max_labels: usize,
    /// When the tracker started, was last reset, or (after a load) the file's start.
    started: Mutex<Timestamp>,
    /// Serialises resets and loads.
    admin: Mutex<()>,
}

/// What a reset or a load installs.
struct Installed<K: Kind> {
    states: Vec<Slot<K>>,
    records: Vec<K::Record>,
    overflowed: u64,
    started: Timestamp,
}

impl<K: Lifecycle> Engine<K> {
    /// The state of a tracker of `kind`; `bell` wakes its sampling thread.
    pub(crate) fn new(kind: K, clock: TrackerClock, bell: Bell) -> Self {
        let config = kind.config();
        let (max_labels, exact_limit) = (config.max_labels(), config.exact_limit());
        let sessions = SessionTable::new(config.max_sessions());
        let anchor = Anchor::take(clock.as_clock());
        let shared = Arc::new(Shared {
            clock,
            anchor,
            anchor_nanos: (
                crate::recorder::since_base(anchor.instant()),
                anchor.wall().as_unix_nanos(),
            ),
            include_timestamps: config.include_timestamps(),
            generation: AtomicU64::new(0),
            log: RecordLog::new(
                config.max_records(),
                stripes::<K>(),
                K::end_time,
                K::set_label,
            ),
            kind,
            bell,
        });
        let labels = {
            let shared = Arc::clone(&shared);
            LabelRegistry::new(max_labels, stripes::<K>(), move |label| {
                // Read under the registry's write lock, which `install` also holds.
                let generation = shared.generation.load(Ordering::Acquire);
                Slot::new(label, K::Summary::empty(exact_limit), &shared, generation)
            })
        };
        Self {
            started: Mutex::new(anchor.wall()),
            shared,
            labels,
            sessions,
            max_labels,
            admin: Mutex::new(()),
        }
    }

    /// The kind.
    #[inline]
    pub(crate) fn kind(&self) -> &K {
        &self.shared.kind
    }

    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.shared.now()
    }

    /// The calling thread's lane into the state of `label` (`""`: unlabelled), created on
    /// first use.
    #[inline]
    pub(crate) fn state(&self, label: &str) -> Arc<Lane<Slot<K>>> {
        self.labels.get(label)
    }

    /// The generation: renewed by every reset and load, never by a merge.
    fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// The retained records, oldest first.
    pub(crate) fn records(&self) -> Vec<K::Record> {
        self.shared.log.snapshot()
    }

    /// Statistics of one label, or of everything with `None` or `Some("")`.
    pub(crate) fn statistics(&self, label: Option<&str>) -> K::Statistics {
        let kind = self.kind();
        match label.filter(|l| !l.is_empty()) {
            Some(label) => match self.labels.find(label) {
                Some(slot) => slot.with_summary(|summary| kind.statistics(Some(summary))),
                None => kind.statistics(None),
            },
            None => {
                let mut all = K::Summary::empty(kind.config().exact_limit());
                for slot in self.labels.all() {
                    slot.with_summary(|summary| all.merge(summary));
                }
                kind.statistics(Some(&all))
            }
        }
    }

    /// Statistics per label, for labelled measurements, sorted by label.
    pub(crate) fn statistics_by_label(&self) -> BTreeMap<String, K::LabelStatistics> {
        let kind = self.kind();
        self.labels
            .all()
            .into_iter()
            .filter_map(|slot| {
                let label = slot.label()?.to_owned();
                let stats = slot.with_summary(|summary| kind.label_statistics(summary))?;
                Some((label, stats))
            })
            .collect()
    }

    /// Every label state as the kind reads it into a snapshot (given the clock's reading,
    /// taken once), with the generation, start, dropped records and overflowed labels, all
    /// read while no reset, load or merge can change the state: everything in a snapshot
    /// belongs to one generation, and holds all of a merge or none of it. Recording goes on
    /// meanwhile.
    pub(crate) fn snapshot(&self) -> Snapshot<K::LabelSnapshot> {
        self.consistent(|| {
            // Records first: every retained record's measurement is then in the labels too.
            let retained = K::retained(&self.shared.log);
            let now = self.now();
            let mut labels = BTreeMap::new();
            let mut total: u64 = 0;
            for slot in self.labels.all() {
                let label = K::label_snapshot(&slot, now);
                total = K::measurements(&label).saturating_add(total);
                labels.insert(slot.label().unwrap_or("").to_owned(), label);
            }
            Snapshot {
                epoch: self.generation(),
                start_time: self.started(),
                labels,
                dropped_records: total.saturating_sub(retained),
                overflowed_labels: self.labels.overflowed(),
                abandoned_sessions: self.abandoned_by_label(),
            }
        })
    }

    /// How many measurements the label states count that the record log no longer holds:
    /// what `dropped_records` reports. Records are read first, so that every retained
    /// record's measurement is also among the states' counts.
    pub(crate) fn dropped(&self) -> u64 {
        let retained = K::retained(&self.shared.log);
        let total = self
            .labels
            .all()
            .iter()
            .fold(0u64, |total, slot| slot.count().saturating_add(total));
        total.saturating_sub(retained)
    }

    /// Sessions abandoned to stay within `max_sessions`, by label (`""`: unlabelled); labels
    /// with none are left out.
    pub(crate) fn abandoned_by_label(&self) -> BTreeMap<String, u64> {
        self.labels
            .all()
            .iter()
            .filter(|slot| slot.abandoned() > 0)
            .map(|slot| (slot.label().unwrap_or("").to_owned(), slot.abandoned()))
            .collect()
    }

    /// When the tracker started, was last reset, or the loaded file's start.
    pub(crate) fn started(&self) -> Timestamp {
        *lock(&self.started)
    }

    /// Discards every state, record and active session.
    pub(crate) fn reset(&self) {
        let now = self.shared.wall_now();
        self.install(
            |_, _| Installed {
                states: Vec::new(),
                records: Vec::new(),
                overflowed: 0,
                started: now,
            },
            || {},
        );
    }

    /// Replaces the whole state: active sessions end, and the label states and records become
    /// those `build` returns. `build` gets the shared parts and the generation its states must
    /// carry.
    fn install(
        &self,
        build: impl FnOnce(&Arc<Shared<K>>, u64) -> Installed<K>,
        after: impl FnOnce(),
    ) {
        let _admin = lock(&self.admin);
        let shared = &self.shared;
        let next = shared.generation.load(Ordering::Relaxed) + 1;
        let installed = build(shared, next);
        self.sessions.clear();
        self.labels
            .replace(installed.states, installed.overflowed, || {
                // Release pairs with the Acquire in `Shared::is_current`.
                shared.generation.store(next, Ordering::Release);
            });
        shared.log.replace(installed.records);
        *lock(&self.started) = installed.started;
        after();
    }

    /// Runs `f` while no reset or load can replace the state, so that the records, the
    /// summaries and the counts a metrics file is made of all belong to one generation (a
    /// file mixing the records of one with the summaries of the next would not load).
    pub(crate) fn consistent<T>(&self, f: impl FnOnce() -> T) -> T {
        let _admin = lock(&self.admin);
        f()
    }

    /// Renders the version-1 metrics file: the tracker's start, now, its configuration, the
    /// retained records, the non-empty summaries (`""`: unlabelled) and the counts. `path`
    /// names the destination in errors.
    pub(crate) fn render(&self, path: &Path) -> Result<String> {
        self.consistent(|| {
            // Records first: every retained record's measurement is then in the summaries too.
            let records = self.records();
            let mut summaries = BTreeMap::new();
            let mut total: u64 = 0;
            for slot in self.labels.all() {
                let summary = K::saved(&slot);
                if !summary.is_empty() {
                    total = summary.count().saturating_add(total);
                    summaries.insert(slot.label().unwrap_or("").to_owned(), summary);
                }
            }
            let counted = records.iter().filter(|r| K::counted(r)).count() as u64;
            let config = self.kind().config();
            let file = File::new(
                K::KIND.file_type(),
                self.started(),
                self.shared.wall_now(),
                config,
                config.metric_name().to_owned(),
                records.iter().collect::<Vec<&K::Record>>(),
                summaries,
                total.saturating_sub(counted),
                self.labels.overflowed(),
                self.abandoned_by_label(),
            );
            crate::store::to_json(path, &file)
        })
    }

    /// Installs what a load read. With [`Load::Replace`] the file's summaries and records
    /// replace the tracker's: active sessions end and a new generation starts (labels past
    /// `max_labels` are merged into `"_other"`, and each summary becomes a label state). With
    /// [`Load::Merge`] each summary is added into its label's live state and the file's
    /// records follow the retained ones: nothing running is touched, so active sessions,
    /// measurements in flight and what exporters read keep going. Counts of overflowed labels
    /// add up either way. Summaries take this tracker's `exact_limit`. Returns what
    /// `load_metrics` returns.
    pub(crate) fn install_loaded(
        &self,
        loaded: Loaded<K::Summary, K::Record>,
        mode: Load,
    ) -> MetricsFile<K::Record> {
        let exact_limit = self.kind().config().exact_limit();
        let file = loaded.file;
        let file_start = file.start_time.unwrap_or_else(|| self.shared.wall_now());
        let file_records = file.records.clone();
        let file_overflowed = loaded.overflowed;
        let file_abandoned = loaded.abandoned;
        // Abandoned sessions count under their label, or `"_other"` past the cap; they are
        // not measurements, so they add nothing to the overflowed count.
        let add_abandoned = || {
            for (label, n) in file_abandoned {
                self.labels.resolve(&label).0.add_abandoned(n);
            }
        };
        let file_summaries = loaded.summaries.into_iter().map(|(label, mut summary)| {
            summary.set_exact_limit(exact_limit);
            (label, summary)
        });
        match mode {
            Load::Replace => self.install(
                |shared, generation| {
                    let (summaries, merged) = cap_labels(
                        file_summaries.collect(),
                        self.max_labels,
                        Summary::count,
                        |summary, other| summary.merge(&other),
                    );
                    Installed {
                        states: summaries
                            .into_iter()
                            .map(|(label, summary)| {
                                Slot::new(label_of(&label), summary, shared, generation)
                            })
                            .collect(),
                        records: file_records,
                        overflowed: file_overflowed.saturating_add(merged),
                        started: file_start,
                    }
                },
                add_abandoned,
            ),
            Load::Merge => {
                // Serialised with resets, loads and saves: a file saved meanwhile holds all of
                // the merge or none of it.
                let _admin = lock(&self.admin);
                let mut overflowed = file_overflowed;
                for (label, summary) in file_summaries {
                    let (slot, capped) = self.labels.resolve(&label);
                    if capped {
                        overflowed = overflowed.saturating_add(summary.count());
                    }
                    slot.merge(&summary);
                }
                self.labels.add_overflowed(overflowed);
                add_abandoned();
                self.shared.log.extend(file_records);
                let mut started = lock(&self.started);
                *started = (*started).min(file_start);
            }
        }
        file
    }
}

impl<K: Lifecycle> Sample for Engine<K> {
    fn tick(&self) -> Option<Duration> {
        K::tick(self)
    }

    fn wants_samples(&self) -> bool {
        K::wants_samples(self)
    }
}

/// What loading a metrics file does to a tracker's own state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Load {
    /// The file's records and statistics replace the tracker's (`load_metrics`).
    Replace,
    /// The file's records and statistics are added to the tracker's live state
    /// (`merge_metrics`); nothing running is touched.
    Merge,
}

/// Keeps the first `max_labels` labels of loaded summaries (in byte order; the unlabelled `""`
/// and `"_other"` always stay) and merges the rest into `"_other"`. Returns the kept summaries
/// and how many measurements were merged.
pub(crate) fn cap_labels<D>(
    summaries: BTreeMap<String, D>,
    max_labels: usize,
    measurements: impl Fn(&D) -> u64,
    merge: impl Fn(&mut D, D),
) -> (BTreeMap<String, D>, u64) {
    let mut kept: BTreeMap<String, D> = BTreeMap::new();
    let mut merged: Vec<D> = Vec::new();
    let mut distinct = 0;
    for (label, summary) in summaries {
        if label.is_empty() || label == OVERFLOW_LABEL {
            kept.insert(label, summary);
        } else if distinct < max_labels {
            distinct += 1;
            kept.insert(label, summary);
        } else {
            merged.push(summary);
        }
    }
    let mut overflowed = 0;
    for summary in merged {
        overflowed = measurements(&summary).saturating_add(overflowed);
        match kept.get_mut(OVERFLOW_LABEL) {
            Some(other) => merge(other, summary),
            None => {
                kept.insert(OVERFLOW_LABEL.to_owned(), summary);
            }
        }
    }
    (kept, overflowed)
}

/// The label a summary key stands for (`""`: none).
pub(crate) fn label_of(key: &str) -> Option<Arc<str>> {
    (!key.is_empty()).then(|| Arc::from(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_past_the_cap_merge_into_other() {
        let summaries: BTreeMap<String, u64> =
            [("", 1), ("a", 2), ("b", 3), ("c", 4), ("_other", 5)]
                .into_iter()
                .map(|(l, n)| (l.to_owned(), n))
                .collect();
        let (kept, overflowed) = cap_labels(summaries, 1, |n| *n, |a, b| *a += b);
        let kept: Vec<_> = kept.into_iter().collect();
        assert_eq!(
            kept,
            [("".into(), 1), ("_other".into(), 12), ("a".into(), 2)]
        );
        assert_eq!(overflowed, 7);
    }
}
