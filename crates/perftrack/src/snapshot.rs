//! Typed snapshots of a tracker's state: what exporters, reports and bindings read, instead of
//! reaching into the trackers or re-parsing their files.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Distribution, Timestamp};

/// What a tracker holds at one moment, label by label, all of it from one
/// [`epoch`](Self::epoch).
///
/// `L` is what one label holds: a [`Distribution`] of durations in seconds for
/// [`LatencyTracker::snapshot`](crate::LatencyTracker::snapshot), a
/// [`ThroughputLabelSnapshot`] for
/// [`ThroughputTracker::snapshot`](crate::ThroughputTracker::snapshot), a
/// [`SessionsLabelSnapshot`] for the memory and CPU trackers' `snapshot`. A snapshot is a copy:
/// it never changes after it is taken, and holds no lock of the tracker. It serialises with
/// serde (distributions as their summaries, `docs/FORMAT.md`), but it is not a metrics file
/// and nothing loads it back.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker};
/// use std::time::Duration;
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// tracker.record("retrieval", Duration::from_millis(30));
/// let before = tracker.snapshot();
///
/// tracker.reset();
/// tracker.record("retrieval", Duration::from_millis(10));
/// let after = tracker.snapshot();
///
/// // A reset began a new epoch: counts started over, so a consumer that adds them up
/// // (an exporter's counters) keeps what it had before.
/// assert_ne!(before.epoch, after.epoch);
/// assert_eq!(after.labels["retrieval"].count(), 1);
/// assert_eq!((after.dropped_records, after.overflowed_labels), (0, 0));
/// ```
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Snapshot<L> {
    /// Which state of the tracker this is: a new epoch begins with every `reset` and
    /// `load_metrics` (the tracker's counts start over), never with recording or
    /// `merge_metrics` (which only add to them). Two snapshots of one tracker with the same
    /// epoch count the same measurements, the later one plus what came since. Epochs of
    /// different trackers are unrelated.
    pub epoch: u64,
    /// When the epoch's measurements began: when the tracker was created or last reset, or
    /// the start of the file it loaded (the earliest start, after merges).
    pub start_time: Timestamp,
    /// Every label used in this epoch, by label (`""`: unlabelled; [`OVERFLOW_LABEL`] gathers
    /// the labels past `max_labels`), in byte order. A label appears from its first use, so
    /// a label whose measurements are still running holds an empty summary.
    ///
    /// [`OVERFLOW_LABEL`]: crate::OVERFLOW_LABEL
    pub labels: BTreeMap<String, L>,
    /// How many measurements count in `labels` but are no longer among the tracker's records
    /// (dropped because of `max_records`): the tracker's `dropped_records()`.
    pub dropped_records: u64,
    /// How many times a label was used after `max_labels` distinct labels already existed:
    /// the tracker's `overflowed_labels()`.
    pub overflowed_labels: u64,
    /// Sessions started by id that were abandoned because more than `max_sessions` were
    /// active, by label (`""`: unlabelled); labels with none are left out. They are not
    /// measurements: no statistic counts them.
    pub abandoned_sessions: BTreeMap<String, u64>,
}

/// One throughput label in a [`Snapshot`]: its finished sessions' rates, and the events
/// counted under it, sessions and [`record`](crate::ThroughputTracker::record) calls together.
///
/// Rates are in events per second whatever the tracker's `time_unit`.
///
/// ```
/// use perftrack::{ManualClock, ThroughputConfig, ThroughputTracker};
/// use std::{sync::Arc, time::Duration};
///
/// let clock = Arc::new(ManualClock::new());
/// let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
/// let mut session = tracker.track("tokens");
/// session.record(30);
/// clock.advance(Duration::from_secs(2));
/// session.stop();
/// tracker.record("tokens", 10);
///
/// let tokens = &tracker.snapshot().labels["tokens"];
/// assert_eq!(tokens.events_total, 40);
/// assert_eq!(tokens.window_events_per_second, Some(20.0)); // 40 events in 2 s
/// let sessions = tokens.session_rates.statistics(1.0, "events/s").unwrap();
/// assert_eq!((sessions.count, sessions.mean), (1, 15.0)); // 30 events in 2 s
/// ```
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ThroughputLabelSnapshot {
    /// The average rate of each finished session, in events per second (sessions too short
    /// to have a rate are not in it): what the tracker's `statistics` summarise.
    pub session_rates: Distribution,
    /// Every event counted in this epoch, whether still in the window or not: a counter.
    pub events_total: u64,
    /// Events per second over the tracker's `window_size` ending when the snapshot was taken
    /// (or since the label's first use, if that is shorter); `None` when no time has passed
    /// since then. The tracker's `current_rate`, in events per second.
    pub window_events_per_second: Option<f64>,
}

/// One memory or CPU label in a [`Snapshot`]: how many sessions finished under it, and one
/// distribution per reading of their final values (memory: also of their peaks and changes;
/// CPU: of their peaks). Memory readings are in bytes (percentages as they are), whatever the
/// tracker's unit; CPU readings are percentages.
///
/// ```
/// use perftrack::{MemoryConfig, MemoryUsageTracker, SamplingInterval};
///
/// let tracker = MemoryUsageTracker::new(MemoryConfig {
///     track_gpu: false,
///     sampling_interval: SamplingInterval::from_secs_f64(0.0)?,
///     ..Default::default()
/// });
/// tracker.track("embed").stop();
/// let embed = &tracker.snapshot().labels["embed"];
/// assert_eq!(embed.sessions, 1);
/// # #[cfg(target_os = "linux")]
/// assert_eq!(embed.value["process_rss"].count(), 1);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SessionsLabelSnapshot {
    /// Finished sessions under the label.
    pub sessions: u64,
    /// Per reading, the sessions' final values (memory) or averages (CPU).
    pub value: BTreeMap<String, Distribution>,
    /// Per reading, the sessions' peaks (empty without `track_peak`).
    pub peak: BTreeMap<String, Distribution>,
    /// Per reading, each session's change from start to end (memory only; empty for CPU).
    pub change: BTreeMap<String, Distribution>,
}
