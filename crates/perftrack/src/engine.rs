//! What every tracker is built from: the clock and record log its label states share, the
//! label registry, the session table, and replacing all of it at once on reset or load.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::clock::Anchor;
use crate::label::{LabelRegistry, Labelled, OVERFLOW_LABEL};
use crate::log::RecordLog;
use crate::session::{SessionTable, lock};
use crate::{Clock, Distribution, Snapshot, Statistics, Timestamp};

/// What every label state of a tracker reaches to finish a measurement.
#[derive(Debug)]
pub(crate) struct Shared<R> {
    clock: Arc<dyn Clock>,
    anchor: Anchor,
    pub(crate) include_timestamps: bool,
    /// Renewed by every reset and load; states of an older generation are no longer
    /// reachable, and measurements finishing on them are not kept.
    generation: AtomicU64,
    pub(crate) log: RecordLog<R>,
}

impl<R: Clone> Shared<R> {
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The wall-clock time of a monotonic instant.
    #[inline]
    pub(crate) fn timestamp(&self, instant: Instant) -> Timestamp {
        self.anchor.timestamp(instant)
    }

    /// The current wall-clock time, from the clock itself.
    pub(crate) fn wall_now(&self) -> Timestamp {
        Timestamp::from(self.clock.system_now())
    }

    /// Whether a state of `generation` is still the tracker's.
    #[inline]
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        // Acquire pairs with the Release in `Engine::install`: a measurement either sees the
        // new generation and is dropped, or lands in a state that is being replaced.
        generation == self.generation.load(Ordering::Acquire)
    }

    /// Keeps a record in the log if its state is current and the log keeps records; the
    /// record is only built then.
    #[inline]
    pub(crate) fn keep(&self, generation: u64, record: impl FnOnce() -> R) {
        if self.log.enabled() && self.is_current(generation) {
            // Checked again under the log's lock: a reset or load that replaced the log since
            // the check above must not receive a record of the state it discarded (its
            // summaries would not count it, and a file saved then would not load).
            self.log.push_if(record(), || self.is_current(generation));
        }
    }
}

/// A tracker's state, replaced as a whole by reset and load.
#[derive(Debug)]
pub(crate) struct Engine<St, Se, R> {
    pub(crate) shared: Arc<Shared<R>>,
    pub(crate) labels: LabelRegistry<St>,
    pub(crate) sessions: SessionTable<Se>,
    max_labels: usize,
    /// When the tracker started, was last reset, or (after a load) the file's start.
    started: Mutex<Timestamp>,
    /// Serialises resets and loads.
    admin: Mutex<()>,
}

/// What a reset or a load installs.
pub(crate) struct Installed<St, R> {
    pub(crate) states: Vec<St>,
    pub(crate) records: Vec<R>,
    pub(crate) overflowed: u64,
    pub(crate) started: Timestamp,
}

impl<St: Labelled, Se, R: Clone + Send + Sync + 'static> Engine<St, Se, R> {
    /// `make` builds the state of a new label from the label, the shared parts and the
    /// generation it belongs to.
    pub(crate) fn new(
        clock: Arc<dyn Clock>,
        include_timestamps: bool,
        max_records: usize,
        max_labels: usize,
        make: impl Fn(Option<Arc<str>>, &Arc<Shared<R>>, u64) -> St + Send + Sync + 'static,
    ) -> Self {
        let anchor = Anchor::take(clock.as_ref());
        let shared = Arc::new(Shared {
            clock,
            anchor,
            include_timestamps,
            generation: AtomicU64::new(0),
            log: RecordLog::new(max_records),
        });
        let labels = {
            let shared = Arc::clone(&shared);
            LabelRegistry::new(max_labels, move |label| {
                // Read under the registry's write lock, which `install` also holds.
                let generation = shared.generation.load(Ordering::Acquire);
                make(label, &shared, generation)
            })
        };
        Self {
            started: Mutex::new(anchor.wall()),
            shared,
            labels,
            sessions: SessionTable::default(),
            max_labels,
            admin: Mutex::new(()),
        }
    }

    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.shared.now()
    }

    /// The state of `label` (`""`: unlabelled), created on first use.
    #[inline]
    pub(crate) fn state(&self, label: &str) -> Arc<St> {
        self.labels.get(label)
    }

    /// The generation: renewed by every reset and load, never by a merge.
    fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// Every label state read with `read` (given the clock's reading, taken once), with the
    /// generation, start, dropped records and overflowed labels, all read while no reset, load
    /// or merge can change the state: everything in a snapshot belongs to one generation, and
    /// holds all of a merge or none of it. Recording goes on meanwhile. `retained` counts the
    /// log's records that stand for a measurement, and `measurements` those one label holds.
    pub(crate) fn snapshot<L>(
        &self,
        retained: impl FnOnce(&RecordLog<R>) -> u64,
        measurements: impl Fn(&L) -> u64,
        read: impl Fn(&St, Instant) -> L,
    ) -> Snapshot<L> {
        self.consistent(|| {
            // Records first: every retained record's measurement is then in the labels too.
            let retained = retained(&self.shared.log);
            let now = self.now();
            let mut labels = BTreeMap::new();
            let mut total: u64 = 0;
            for state in self.labels.all() {
                let label = read(&state, now);
                total = measurements(&label).saturating_add(total);
                labels.insert(state.label().unwrap_or("").to_owned(), label);
            }
            Snapshot {
                epoch: self.generation(),
                start_time: self.started(),
                labels,
                dropped_records: total.saturating_sub(retained),
                overflowed_labels: self.labels.overflowed(),
            }
        })
    }

    /// How many measurements the label states count (`measurements` of each) that the record
    /// log no longer holds (`retained` counts the log's records that are measurements): what
    /// `dropped_records` reports. Records are read first, so that every retained record's
    /// measurement is also among the states' counts.
    pub(crate) fn dropped(
        &self,
        retained: impl FnOnce(&RecordLog<R>) -> u64,
        measurements: impl Fn(&St) -> u64,
    ) -> u64 {
        let retained = retained(&self.shared.log);
        let total = self.labels.all().iter().fold(0u64, |total, state| {
            measurements(state).saturating_add(total)
        });
        total.saturating_sub(retained)
    }

    /// When the tracker started, was last reset, or the loaded file's start.
    pub(crate) fn started(&self) -> Timestamp {
        *lock(&self.started)
    }

    /// Discards every state, record and active session.
    pub(crate) fn reset(&self) {
        let now = self.shared.wall_now();
        self.install(|_, _| Installed {
            states: Vec::new(),
            records: Vec::new(),
            overflowed: 0,
            started: now,
        });
    }

    /// Replaces the whole state: active sessions end, and the label states and records become
    /// those `build` returns. `build` gets the shared parts and the generation its states must
    /// carry.
    pub(crate) fn install(&self, build: impl FnOnce(&Arc<Shared<R>>, u64) -> Installed<St, R>) {
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
    }

    /// Runs `render` while no reset or load can replace the state, so that the records, the
    /// summaries and the counts a metrics file is made of all belong to one generation (a
    /// file mixing the records of one with the summaries of the next would not load).
    pub(crate) fn consistent<T>(&self, render: impl FnOnce() -> T) -> T {
        let _admin = lock(&self.admin);
        render()
    }

    /// Renders a version-1 metrics file as text: the tracker's start, now, its configuration,
    /// `records` under `metric_name`, and the summaries. `path` names the destination in errors.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn render<C: serde::Serialize, S: serde::Serialize>(
        &self,
        path: &std::path::Path,
        tracker_type: &str,
        config: &C,
        metric_name: &str,
        records: &[R],
        summaries: BTreeMap<String, S>,
        dropped_records: u64,
    ) -> crate::Result<String>
    where
        R: serde::Serialize,
    {
        let file = crate::store::FileV1::new(
            tracker_type,
            self.started(),
            self.shared.wall_now(),
            config,
            metric_name.to_owned(),
            records.iter().collect::<Vec<&R>>(),
            summaries,
            dropped_records,
            self.labels.overflowed(),
        );
        crate::store::to_json(path, &file)
    }

    /// Installs what a load read. With [`Load::Replace`] the file's summaries and records
    /// replace the tracker's: active sessions end and a new generation starts (labels past
    /// `max_labels` are merged into `"_other"`, counting `measurements`, and each summary
    /// becomes a label state with `make`). With [`Load::Merge`] each summary is added into its
    /// label's live state with `absorb` and the file's records follow the retained ones:
    /// nothing running is touched, so active sessions, measurements in flight and what
    /// exporters read keep going. Counts of overflowed labels add up either way. Returns what
    /// `load_metrics` returns.
    pub(crate) fn install_loaded<S>(
        &self,
        loaded: crate::store::Loaded<S, R>,
        mode: Load,
        measurements: impl Fn(&S) -> u64,
        merge: impl Fn(&mut S, S),
        absorb: impl Fn(&St, S),
        make: impl Fn(Option<Arc<str>>, S, &Arc<Shared<R>>, u64) -> St,
    ) -> crate::MetricsFile<R> {
        let file = loaded.file;
        let file_start = file.start_time.unwrap_or_else(|| self.shared.wall_now());
        let file_records = file.records.clone();
        let (file_summaries, file_overflowed) = (loaded.summaries, loaded.overflowed);
        match mode {
            Load::Replace => self.install(|shared, generation| {
                let (summaries, merged) =
                    cap_labels(file_summaries, self.max_labels, &measurements, &merge);
                Installed {
                    states: summaries
                        .into_iter()
                        .map(|(label, summary)| make(label_of(&label), summary, shared, generation))
                        .collect(),
                    records: file_records,
                    overflowed: file_overflowed.saturating_add(merged),
                    started: file_start,
                }
            }),
            Load::Merge => {
                // Serialised with resets, loads and saves: a file saved meanwhile holds all of
                // the merge or none of it.
                let _admin = lock(&self.admin);
                let mut overflowed = file_overflowed;
                for (label, summary) in file_summaries {
                    let (state, capped) = self.labels.resolve(&label);
                    if capped {
                        overflowed = overflowed.saturating_add(measurements(&summary));
                    }
                    absorb(&state, summary);
                }
                self.labels.add_overflowed(overflowed);
                self.shared.log.extend(file_records);
                let mut started = lock(&self.started);
                *started = (*started).min(file_start);
            }
        }
        file
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

/// A label state with one distribution of scalar measurements (latencies, session rates).
pub(crate) trait Scalar: Labelled {
    fn distribution(&self) -> &Mutex<Distribution>;
}

impl<St: Scalar, Se, R: Clone + Send + Sync + 'static> Engine<St, Se, R> {
    /// Every measurement, labelled or not, in one distribution.
    pub(crate) fn merged(&self, exact_limit: usize) -> Distribution {
        let mut all = Distribution::new(exact_limit);
        for state in self.labels.all() {
            all.merge(&lock(state.distribution()));
        }
        all
    }

    /// Statistics of one label, or of everything with `None` or `Some("")`, with values
    /// multiplied by `scale` and labelled `unit`.
    pub(crate) fn statistics(
        &self,
        label: Option<&str>,
        exact_limit: usize,
        scale: f64,
        unit: &str,
    ) -> Option<Statistics> {
        match label.filter(|l| !l.is_empty()) {
            Some(label) => lock(self.labels.find(label)?.distribution()).statistics(scale, unit),
            None => self.merged(exact_limit).statistics(scale, unit),
        }
    }

    /// Statistics per label, for labelled measurements, sorted by label.
    pub(crate) fn statistics_by_label(
        &self,
        scale: f64,
        unit: &str,
    ) -> BTreeMap<String, Statistics> {
        self.labels
            .all()
            .into_iter()
            .filter_map(|state| {
                let label = state.label()?.to_owned();
                let stats = lock(state.distribution()).statistics(scale, unit)?;
                Some((label, stats))
            })
            .collect()
    }

    /// The non-empty distributions by label (`""`: unlabelled) and how many measurements they
    /// hold together, for a metrics file.
    pub(crate) fn summaries(&self) -> (BTreeMap<String, Distribution>, u64) {
        let mut summaries = BTreeMap::new();
        let mut total = 0;
        for state in self.labels.all() {
            let dist = lock(state.distribution()).clone();
            if dist.count() > 0 {
                total = dist.count().saturating_add(total);
                summaries.insert(state.label().unwrap_or("").to_owned(), dist);
            }
        }
        (summaries, total)
    }
}

/// A label state with a summary of whole sessions (memory and CPU readings).
pub(crate) trait SessionSummary: Labelled {
    /// The summary's type.
    type Summary: Clone + Default;
    /// The summary, behind its lock.
    fn summary(&self) -> &Mutex<Self::Summary>;
    /// How many sessions a summary counts.
    fn sessions(summary: &Self::Summary) -> u64;
    /// Adds `other` into `summary`.
    fn merge(summary: &mut Self::Summary, other: &Self::Summary);
}

impl<St: SessionSummary, Se, R: Clone + Send + Sync + 'static> Engine<St, Se, R> {
    /// The summary of one label, or of every session with `None` or `Some("")`; `None` for a
    /// label never used.
    pub(crate) fn session_summary(&self, label: Option<&str>) -> Option<St::Summary> {
        match label.filter(|l| !l.is_empty()) {
            Some(label) => Some(lock(self.labels.find(label)?.summary()).clone()),
            None => {
                let mut all = St::Summary::default();
                for state in self.labels.all() {
                    St::merge(&mut all, &lock(state.summary()));
                }
                Some(all)
            }
        }
    }

    /// The summaries of labelled states, by label.
    pub(crate) fn labelled_summaries(&self) -> Vec<(String, St::Summary)> {
        self.labels
            .all()
            .into_iter()
            .filter_map(|state| {
                let label = state.label()?.to_owned();
                let summary = lock(state.summary()).clone();
                Some((label, summary))
            })
            .collect()
    }

    /// Renders records and the non-empty summaries (`""`: unlabelled) as a metrics file.
    pub(crate) fn render_sessions<C: serde::Serialize>(
        &self,
        path: &std::path::Path,
        tracker_type: &str,
        config: &C,
        metric_name: &str,
    ) -> crate::Result<String>
    where
        R: serde::Serialize,
        St::Summary: serde::Serialize,
    {
        let _admin = lock(&self.admin);
        // Records first: every retained record's session is then in the summaries too.
        let records = self.shared.log.snapshot();
        let mut summaries = BTreeMap::new();
        let mut sessions = 0;
        for state in self.labels.all() {
            let summary = lock(state.summary()).clone();
            if St::sessions(&summary) > 0 {
                sessions = St::sessions(&summary).saturating_add(sessions);
                summaries.insert(state.label().unwrap_or("").to_owned(), summary);
            }
        }
        let dropped = sessions.saturating_sub(records.len() as u64);
        self.render(
            path,
            tracker_type,
            config,
            metric_name,
            &records,
            summaries,
            dropped,
        )
    }
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
