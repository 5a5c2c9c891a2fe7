//! What a kind of tracker supplies to the one core: [`Kind`] (what it measures and keeps) and
//! [`Lifecycle`] (how one measurement runs). Both are sealed: the trackers of this crate are
//! their only implementations, so items can be added without breaking anyone.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::engine::{Engine, Slot};
use crate::log::RecordLog;
use crate::{AnyRecord, Clock, Result, Status, Timestamp, TrackId, TrackerKind};

/// What a kind of tracker measures and keeps: its configuration, its record, its statistics,
/// its per-label summary and snapshot. [`Tracker`](crate::Tracker) is generic over it;
/// [`LatencyTracker`](crate::LatencyTracker) is `Tracker<Latency>`, and so on.
///
/// Sealed: the kinds of [`kinds`](crate::kinds) are its only implementations. The hidden
/// items are the core's interface to a kind, not an API.
///
/// ```
/// use perftrack::kinds::{Kind, Latency, Memory};
/// use perftrack::TrackerKind;
///
/// assert_eq!(Latency::KIND, TrackerKind::Latency);
/// assert_eq!(Memory::KIND.file_type(), "memory");
/// ```
pub trait Kind: sealed::Sealed + Debug + Send + Sync + Sized + 'static {
    /// The kind's entry in the name table.
    const KIND: TrackerKind;
    /// The configuration a tracker of this kind is built with.
    type Config: Settings
        + Clone
        + Debug
        + Default
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static;
    /// A finished measurement.
    type Record: Clone
        + Debug
        + Serialize
        + DeserializeOwned
        + Into<AnyRecord>
        + Send
        + Sync
        + 'static;
    /// What `current_value` returns.
    type Value: Serialize;
    /// What `statistics` returns.
    type Statistics: Serialize;
    /// What `statistics_by_label` returns for each label.
    type LabelStatistics;
    /// What a [`Snapshot`](crate::Snapshot) holds for each label.
    type LabelSnapshot;

    #[doc(hidden)]
    /// The first metrics file version with this kind (generation is new in version 2).
    const FIRST_VERSION: u32 = 1;

    #[doc(hidden)]
    /// Whether a label's summary and the record log are split into stripes that threads
    /// record into apart (kinds recording often from many threads), or kept whole (kinds whose
    /// summaries are large and recorded once per session).
    const STRIPED: bool = false;

    #[doc(hidden)]
    /// A label's summary of finished measurements, as metrics files keep it.
    type Summary: Summary;
    #[doc(hidden)]
    /// A label's summary as version-1 files saved it.
    type SummaryV1: DeserializeOwned + Into<Self::Summary>;
    #[doc(hidden)]
    /// What a label keeps besides its summary.
    type LabelState: Debug + Send + Sync + 'static;
    #[doc(hidden)]
    /// A record in the Python original's files.
    type PythonRecord: DeserializeOwned;

    #[doc(hidden)]
    /// The kind of a new tracker, built from its configuration.
    fn build(config: Self::Config, clock: &dyn Clock) -> Self;
    #[doc(hidden)]
    /// The configuration it was built from.
    fn config(&self) -> &Self::Config;
    #[doc(hidden)]
    /// A new label's state besides its summary, at `now`.
    fn label_state(&self, now: Instant) -> Self::LabelState;
    #[doc(hidden)]
    /// Statistics of a summary (`None`: a label never used).
    fn statistics(&self, summary: Option<&Self::Summary>) -> Self::Statistics;
    #[doc(hidden)]
    /// Statistics of a label's summary; `None` when it has none.
    fn label_statistics(&self, summary: &Self::Summary) -> Option<Self::LabelStatistics>;
    #[doc(hidden)]
    /// A label's summary as a metrics file saves it.
    fn saved(slot: &Slot<Self>) -> Self::Summary {
        slot.with_summary(Clone::clone)
    }
    #[doc(hidden)]
    /// A label as a snapshot shows it.
    fn label_snapshot(slot: &Slot<Self>, now: Instant) -> Self::LabelSnapshot;
    #[doc(hidden)]
    /// How many measurements a label's snapshot counts.
    fn measurements(label: &Self::LabelSnapshot) -> u64;
    #[doc(hidden)]
    /// Whether a record's measurement is counted in the summaries (a throughput session too
    /// short to have a rate is not).
    fn counted(_record: &Self::Record) -> bool {
        true
    }
    #[doc(hidden)]
    /// How many of the log's records are counted in the summaries.
    fn retained(log: &RecordLog<Self::Record>) -> u64 {
        log.len() as u64
    }
    #[doc(hidden)]
    /// A record's label.
    fn label(record: &Self::Record) -> Option<&str>;
    #[doc(hidden)]
    /// Gives a record its label (the record log keeps one label per run of records).
    fn set_label(record: &mut Self::Record, label: Option<std::sync::Arc<str>>);
    #[doc(hidden)]
    /// When a record's measurement ended, which the record log orders records by.
    fn end_time(record: &Self::Record) -> Timestamp;
    #[doc(hidden)]
    /// A loaded record in this tracker's units.
    fn convert(&self, record: Self::Record) -> Self::Record;
    #[doc(hidden)]
    /// A record of the Python original, in this tracker's units.
    fn python_record(&self, record: Self::PythonRecord) -> Self::Record;
    #[doc(hidden)]
    /// Adds a loaded record to a summary (the Python original saved no summaries).
    fn summarize(&self, summary: &mut Self::Summary, record: &Self::Record);
    #[doc(hidden)]
    /// Checks a loaded record beyond its own deserialisation.
    fn check_record(_record: &Self::Record) -> std::result::Result<(), String> {
        Ok(())
    }
    #[doc(hidden)]
    /// Whether a file saved with configuration `file` can be loaded into or merged with this
    /// tracker (generation: both judged requests against the same objectives).
    fn check_file_config(&self, _file: &Self::Config) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// How a measurement of a kind runs: sessions by id, guards, and background sampling for the
/// kinds that sample. Sealed, like [`Kind`]; its items are the core's interface to a kind.
///
/// ```
/// use perftrack::kinds::{Lifecycle, Throughput};
/// use perftrack::{Tracker, ThroughputConfig};
///
/// fn active<K: Lifecycle>(tracker: &Tracker<K>) -> usize {
///     tracker.active_sessions()
/// }
/// let tracker = Tracker::<Throughput>::new(ThroughputConfig::default());
/// assert_eq!(active(&tracker), 0);
/// ```
pub trait Lifecycle: Kind {
    #[doc(hidden)]
    /// A running session, as the session table holds it.
    type Session: Debug + Send + 'static;
    #[doc(hidden)]
    /// What a guard holds.
    type Running: Debug + Send + 'static;

    #[doc(hidden)]
    /// Runs once the tracker's state exists.
    fn init(_engine: &Arc<Engine<Self>>) {}
    #[doc(hidden)]
    /// Opens a session under `label`: its start (as ring entries count time, see
    /// recorder.rs), its state, and whether it wants background samples.
    fn open(engine: &Engine<Self>, label: &str) -> (i64, Self::Session, bool);
    #[doc(hidden)]
    /// Ends a session that left the table and returns its record.
    fn finish(
        engine: &Engine<Self>,
        session: Self::Session,
        id: TrackId,
        started: i64,
        status: Status,
    ) -> Self::Record;
    #[doc(hidden)]
    /// Ends a session that left the table without a record.
    fn discard(_engine: &Engine<Self>, _session: Self::Session) {}
    #[doc(hidden)]
    /// Ends a session the table abandoned to stay within `max_sessions`: no record, counted
    /// under its label ([`Slot::abandon`]).
    fn abandon(engine: &Engine<Self>, session: Self::Session);
    #[doc(hidden)]
    /// Starts what a guard holds, and says whether it wants background samples.
    fn guard(engine: &Arc<Engine<Self>>, label: &str) -> (Self::Running, bool);
    #[doc(hidden)]
    /// Ends a guard's measurement and returns its record.
    fn stop_guard(running: &mut Self::Running, status: Status) -> Self::Record;
    #[doc(hidden)]
    /// Ends a guard's measurement because it dropped; a record is only built if kept.
    fn drop_guard(running: &mut Self::Running, status: Status) {
        let _ = Self::stop_guard(running, status);
    }
    #[doc(hidden)]
    /// Ends a guard's measurement without a record.
    fn discard_guard(_running: &mut Self::Running) {}
    #[doc(hidden)]
    /// The current value of a session (`None`: as the kind defines it).
    fn current_value(engine: &Engine<Self>, id: Option<&TrackId>) -> Result<Self::Value>;
    #[doc(hidden)]
    /// Whether an active session wants background samples.
    fn wants_samples(_engine: &Engine<Self>) -> bool {
        false
    }
    #[doc(hidden)]
    /// Samples the sessions that are due; how long until the next is due.
    fn tick(_engine: &Engine<Self>) -> Option<Duration> {
        None
    }
}

/// A label's summary of finished measurements: a [`Distribution`](crate::Distribution), or
/// one per reading for memory and CPU.
pub trait Summary: Clone + Debug + Serialize + DeserializeOwned + Send + 'static {
    /// An empty summary keeping `exact_limit` values exactly.
    fn empty(exact_limit: usize) -> Self;
    /// How many measurements it counts.
    fn count(&self) -> u64;
    /// Whether it holds nothing worth saving.
    fn is_empty(&self) -> bool {
        self.count() == 0
    }
    /// Adds `other` into it.
    fn merge(&mut self, other: &Self);
    /// Applies a tracker's `exact_limit`.
    fn set_exact_limit(&mut self, exact_limit: usize);
    /// Checks a loaded summary beyond its own deserialisation.
    fn check(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

impl Summary for crate::Distribution {
    fn empty(exact_limit: usize) -> Self {
        Self::new(exact_limit)
    }

    fn count(&self) -> u64 {
        crate::Distribution::count(self)
    }

    fn merge(&mut self, other: &Self) {
        crate::Distribution::merge(self, other);
    }

    fn set_exact_limit(&mut self, exact_limit: usize) {
        crate::Distribution::set_exact_limit(self, exact_limit);
    }
}

/// What the core reads from every kind's configuration.
pub trait Settings {
    /// The key records are saved under.
    fn metric_name(&self) -> &str;
    /// Whether records carry `start_time` and `end_time`.
    fn include_timestamps(&self) -> bool;
    /// How many records the log keeps.
    fn max_records(&self) -> usize;
    /// How many values a distribution keeps exactly.
    fn exact_limit(&self) -> usize;
    /// How many labels get their own state.
    fn max_labels(&self) -> usize;
    /// How many sessions started by id stay active.
    fn max_sessions(&self) -> usize;
}

/// The [`Settings`] of configurations that name them with the same fields.
macro_rules! settings {
    ($($config:ty),*) => {$(
        impl Settings for $config {
            fn metric_name(&self) -> &str {
                &self.metric_name
            }
            fn include_timestamps(&self) -> bool {
                self.include_timestamps
            }
            fn max_records(&self) -> usize {
                self.max_records
            }
            fn exact_limit(&self) -> usize {
                self.exact_limit
            }
            fn max_labels(&self) -> usize {
                self.max_labels
            }
            fn max_sessions(&self) -> usize {
                self.max_sessions
            }
        }
    )*};
}
settings!(
    crate::LatencyConfig,
    crate::ThroughputConfig,
    crate::MemoryConfig,
    crate::CpuConfig,
    crate::GenerationConfig
);

/// A summary per label built from loaded records, for files that carry none.
pub(crate) fn summarize<K: Kind>(kind: &K, records: &[K::Record]) -> BTreeMap<String, K::Summary> {
    let exact_limit = kind.config().exact_limit();
    let mut summaries: BTreeMap<String, K::Summary> = BTreeMap::new();
    for record in records {
        let summary = summaries
            .entry(K::label(record).unwrap_or("").to_owned())
            .or_insert_with(|| K::Summary::empty(exact_limit));
        kind.summarize(summary, record);
    }
    summaries
}

/// Keeps [`Kind`] implemented by this crate's kinds alone.
mod sealed {
    use crate::engine::Slot;
    use crate::label::Lane;
    use crate::recorder::Entry;

    pub trait Sealed {
        /// Applies what threads' rings recorded for a lane of this kind (only the kinds that
        /// record through rings have any).
        fn apply_entries(_lane: &Lane<Slot<Self>>, _entries: &[Entry])
        where
            Self: super::Kind,
        {
        }
    }
    impl Sealed for crate::latency::Latency {
        fn apply_entries(lane: &Lane<Slot<Self>>, entries: &[Entry]) {
            lane.apply_entries(entries);
        }
    }
    impl Sealed for crate::throughput::Throughput {
        fn apply_entries(lane: &Lane<Slot<Self>>, entries: &[Entry]) {
            lane.apply_entries(entries);
        }
    }
    impl Sealed for crate::memory::Memory {}
    impl Sealed for crate::cpu::Cpu {}
    impl Sealed for crate::generation::Generation {}
}
