//! `CpuUsageTracker`: whether a stage is CPU-bound, on which cores, and in which threads.

mod config;
mod record;
mod snapshot;
mod summary;

pub use config::{CpuConfig, MIN_SAMPLING_INTERVAL};
pub use record::{CpuRecord, PythonCpuRecord, ThreadUsage};
pub use snapshot::{Cores, CpuCounters, CpuSample, CpuSnapshot};
pub use summary::{CpuStatistics, CpuSummary};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Shared, Slot};
use crate::label::Lane;
use crate::probe::{self, Pid, cpu::ThreadTime};
use crate::sampled::{self, Sampled};
use crate::session::lock;
use crate::timeline::Timeline;
use crate::tracker::Kind;
use crate::{Clock, Guard, Result, SessionsLabelSnapshot, Status, TrackId, Tracker};
pub(crate) use snapshot::Counters;
use snapshot::{Switches, between, merge_samples};

/// The most threads a record lists.
const MAX_THREADS: usize = 10;

/// Measures CPU use per session: the process (tree), the whole system, each core the process
/// may run on, and its busiest threads, with samples in between on one background thread.
///
/// Every figure is a difference between two readings the tracker itself took, so none is
/// ever a made-up 0, and a session's average is exact: CPU time between its first and last
/// readings divided by the elapsed time, however the samples were spaced.
/// The methods every tracker has are on [`Tracker`], the sampled kinds' ones
/// (`record_sample`, `samples`) too; this kind adds cumulative counters.
///
/// ```
/// use perftrack::{CpuConfig, CpuUsageTracker};
///
/// let cpu = CpuUsageTracker::new(CpuConfig::default());
/// let (score, record) = cpu.track_function_cpu("bm25 scoring", None, || {
///     (0..5_000_000u64).map(|i| i % 13).sum::<u64>()
/// });
/// if let Some(process) = record.value.process {
///     println!("scoring used {process:.0} % of a core");
/// }
/// # let _ = score;
/// ```
pub type CpuUsageTracker = Tracker<Cpu>;

/// A CPU session that ends when it drops (as [`Status::Failed`] during a panic); made by
/// [`CpuUsageTracker::track`]. See [`Guard`] for `stop`, `stop_with` and `discard`.
///
/// ```
/// # use perftrack::{CpuConfig, CpuGuard, CpuUsageTracker};
/// let tracker = CpuUsageTracker::new(CpuConfig::default());
/// let warm_up: CpuGuard = tracker.track("embed on CPU");
/// warm_up.discard(); // the first batch only loads the model
/// assert!(tracker.records().is_empty() && tracker.active_sessions() == 0);
/// ```
pub type CpuGuard = Guard<Cpu>;

/// The CPU kind: process, system, per-core and per-thread use per session, summarised per
/// reading. [`CpuUsageTracker`] is `Tracker<Cpu>`.
///
/// ```
/// use perftrack::{kinds::Cpu, CpuConfig, Tracker};
///
/// let cpu: Tracker<Cpu> = Tracker::new(CpuConfig::default());
/// let (before, after) = (cpu.counters(), cpu.counters());
/// # #[cfg(target_os = "linux")]
/// assert!(after.process_cpu_seconds() >= before.process_cpu_seconds());
/// ```
#[derive(Debug)]
pub struct Cpu {
    config: CpuConfig,
    /// The tracker's previous reading, for `current_value(None)`.
    last: Mutex<Counters>,
    /// The cores the process may run on, and how many cores' worth of CPU it may use (its
    /// affinity, capped by a cgroup quota); read when the tracker is made.
    cores: Vec<u32>,
    available: Option<f64>,
}

/// One running session's readings.
#[derive(Debug)]
pub struct Data {
    first: Counters,
    /// The latest reading, where the next sample's interval starts.
    previous: Counters,
    /// Each thread's CPU seconds when the session started (`None`: cannot be read).
    threads_start: Option<BTreeMap<Pid, f64>>,
    /// Each thread's name and CPU seconds when last seen, so that a thread that exits during
    /// the session still counts with what it used until the last sample before it exited.
    threads_seen: BTreeMap<Pid, (String, f64)>,
    peak: Option<CpuSnapshot>,
    samples: Timeline<(CpuSnapshot, f64)>,
}

/// One reading of every probe: the CPU counters, the cores, and the threads.
pub struct Reading {
    counters: Counters,
    cores: Vec<u32>,
    threads: Option<Vec<ThreadTime>>,
}

impl Cpu {
    /// The watched process: the configured one, or this process, asked each time so that a
    /// tracker in a child made by `fork()` watches the child.
    fn pid(&self) -> Pid {
        self.config.pid.unwrap_or_else(std::process::id)
    }

    fn switches(&self) -> Switches {
        Switches {
            process: self.config.track_process,
            system: self.config.track_system,
            cores: self.config.track_per_core,
        }
    }

    fn counters(&self, shared: &Shared<Self>) -> Counters {
        let process = (self.config.track_process)
            .then(|| probe::cpu::process_times(self.pid(), self.config.include_children).ok())
            .flatten();
        let system = (self.config.track_system || self.config.track_per_core)
            .then(|| probe::cpu::system_times().ok())
            .flatten();
        Counters {
            at: shared.now(),
            process,
            system,
        }
    }

    fn cores(&self) -> Vec<u32> {
        self.cores.clone()
    }

    fn threads(&self) -> Option<Vec<ThreadTime>> {
        if self.config.track_threads {
            probe::cpu::thread_times(self.pid()).ok()
        } else {
            None
        }
    }

    /// Notes each living thread's CPU time in a session.
    fn see_threads(session: &mut Data, threads: Option<&[ThreadTime]>) {
        for t in threads.unwrap_or_default() {
            session
                .threads_seen
                .insert(t.tid, (t.name.clone(), t.cpu_s));
        }
    }

    /// Adds a sample ending at `now` to a session.
    fn add_sample(
        &self,
        session: &mut Data,
        now: Counters,
        cores: &[u32],
        threads: Option<&[ThreadTime]>,
        shared: &Shared<Self>,
    ) -> CpuSample {
        Self::see_threads(session, threads);
        let mut reasons = BTreeMap::new();
        let cpu = between(
            &session.previous,
            &now,
            self.switches(),
            cores,
            &mut reasons,
        );
        let duration_s = now
            .at
            .saturating_duration_since(session.previous.at)
            .as_secs_f64();
        let timestamp = shared.timestamp(now.at);
        session.peak = Some(match &session.peak {
            Some(peak) => peak.max(&cpu),
            None => cpu.clone(),
        });
        session.samples.push(timestamp, (cpu.clone(), duration_s));
        session.previous = now;
        CpuSample {
            timestamp,
            cpu,
            duration_s,
        }
    }

    /// Takes the final reading and turns the session into its record.
    fn close(
        &self,
        session: &mut Data,
        slot: &Lane<Slot<Self>>,
        id: TrackId,
        status: Status,
    ) -> CpuRecord {
        let shared = &slot.shared;
        let last = self.counters(shared);
        let threads_now = self.threads();
        let cores = self.cores();
        let mut reasons = BTreeMap::new();
        let value = between(&session.first, &last, self.switches(), &cores, &mut reasons);
        // The last interval (from the latest sample to now) counts towards the peak too.
        let peak = match session.peak.clone() {
            Some(peak) => {
                let mut ignored = BTreeMap::new();
                let tail = between(
                    &session.previous,
                    &last,
                    self.switches(),
                    &cores,
                    &mut ignored,
                );
                peak.max(&tail)
            }
            None => value.clone(),
        };
        let end_time = shared.timestamp(last.at);
        let duration = last.at.saturating_duration_since(session.first.at);
        let (user_s, system_s) = match (session.first.process, last.process) {
            (Some(a), Some(b)) => (Some(b.user_s - a.user_s), Some(b.system_s - a.system_s)),
            _ => (None, None),
        };
        let process_normalized = match (value.process, self.available) {
            // At most 100 %: over a few 10 ms ticks, counting can round a busy process above
            // what its cores can give.
            (Some(p), Some(n)) if n > 0.0 => Some((p / n).min(100.0)),
            _ => None,
        };
        if self.config.track_process && process_normalized.is_none() {
            reasons.insert(
                "process_normalized".into(),
                "no process figure, or the cores available to the process are unknown".into(),
            );
        }
        let threads = if self.config.track_threads {
            Self::see_threads(session, threads_now.as_deref());
            let busiest = session
                .threads_start
                .as_ref()
                .filter(|_| threads_now.is_some())
                .map(|start| busiest(start, &session.threads_seen));
            if busiest.is_none() {
                reasons.insert(
                    "threads".into(),
                    "per-thread CPU times cannot be read here (/proc/PID/task)".into(),
                );
            }
            busiest
        } else {
            None
        };
        slot.add(|summary| {
            summary.record(&value, &peak, status, end_time, self.config.exact_limit);
        });
        CpuRecord {
            track_id: id,
            value,
            peak,
            timestamp: end_time,
            duration: Some(duration.as_secs_f64()),
            unit: "percent".to_owned(),
            label: slot.label_arc(),
            start_time: shared
                .include_timestamps
                .then(|| end_time.saturating_sub(duration)),
            end_time: shared.include_timestamps.then_some(end_time),
            samples: session_samples(session),
            process_normalized,
            process_user_s: user_s,
            process_system_s: system_s,
            threads,
            status,
            reasons,
        }
    }
}

/// A session's timeline so far, as its record shows it.
fn session_samples(session: &Data) -> Vec<CpuSample> {
    session
        .samples
        .finish()
        .into_iter()
        .map(|(timestamp, (cpu, duration_s))| CpuSample {
            timestamp,
            cpu,
            duration_s,
        })
        .collect()
}

/// The threads that used the most CPU since `start`, busiest first (at most 10).
fn busiest(start: &BTreeMap<Pid, f64>, seen: &BTreeMap<Pid, (String, f64)>) -> Vec<ThreadUsage> {
    let mut used: Vec<ThreadUsage> = seen
        .iter()
        .map(|(tid, (name, cpu_s))| ThreadUsage {
            name: name.clone(),
            tid: *tid,
            cpu_s: cpu_s - start.get(tid).copied().unwrap_or(0.0),
        })
        .filter(|t| t.cpu_s > 0.0)
        .collect();
    used.sort_by(|a, b| b.cpu_s.total_cmp(&a.cpu_s).then(a.tid.cmp(&b.tid)));
    used.truncate(MAX_THREADS);
    used
}

impl Kind for Cpu {
    const KIND: crate::TrackerKind = crate::TrackerKind::Cpu;
    type Config = CpuConfig;
    type Record = CpuRecord;
    type Value = CpuSnapshot;
    type Statistics = BTreeMap<String, CpuStatistics>;
    type LabelStatistics = BTreeMap<String, CpuStatistics>;
    type LabelSnapshot = SessionsLabelSnapshot;
    type Summary = CpuSummary;
    type SummaryV1 = CpuSummary;
    type LabelState = ();
    type PythonRecord = PythonCpuRecord;

    fn build(config: CpuConfig, clock: &dyn Clock) -> Self {
        let pid = config.pid.unwrap_or_else(std::process::id);
        Self {
            last: Mutex::new(Counters {
                at: clock.now(),
                process: None,
                system: None,
            }),
            cores: probe::cpu::allowed_cores(pid).unwrap_or_default(),
            available: probe::cpu::available_cores(pid),
            config,
        }
    }

    fn config(&self) -> &CpuConfig {
        &self.config
    }

    fn label_state(&self, _now: Instant) {}

    fn statistics(&self, summary: Option<&CpuSummary>) -> Self::Statistics {
        summary.map(CpuSummary::statistics).unwrap_or_default()
    }

    fn label_statistics(&self, summary: &CpuSummary) -> Option<Self::LabelStatistics> {
        Some(summary.statistics()).filter(|stats| !stats.is_empty())
    }

    fn label_snapshot(slot: &Slot<Self>, _now: Instant) -> SessionsLabelSnapshot {
        slot.with_summary(CpuSummary::snapshot)
    }

    fn measurements(label: &SessionsLabelSnapshot) -> u64 {
        label.sessions
    }

    fn end_time(record: &CpuRecord) -> crate::Timestamp {
        record.timestamp
    }

    fn label(record: &CpuRecord) -> Option<&str> {
        record.label.as_deref()
    }

    fn set_label(record: &mut CpuRecord, label: Option<std::sync::Arc<str>>) {
        record.label = label;
    }

    fn convert(&self, record: CpuRecord) -> CpuRecord {
        record
    }

    fn python_record(&self, record: PythonCpuRecord) -> CpuRecord {
        record.into_record()
    }

    fn summarize(&self, summary: &mut CpuSummary, r: &CpuRecord) {
        let exact_limit = self.config.exact_limit;
        summary.record(&r.value, &r.peak, r.status, r.timestamp, exact_limit);
    }
}

impl Sampled for Cpu {
    type Sample = CpuSample;
    type Data = Data;
    type Reading = Reading;

    /// The configured interval, raised to [`MIN_SAMPLING_INTERVAL`].
    fn interval(&self) -> Option<Duration> {
        self.every(self.config.sampling_interval)
    }

    /// Raised to [`MIN_SAMPLING_INTERVAL`].
    fn every(&self, interval: crate::SamplingInterval) -> Option<Duration> {
        interval.as_duration().map(|i| i.max(MIN_SAMPLING_INTERVAL))
    }

    fn read(&self, shared: &Shared<Self>) -> Reading {
        Reading {
            counters: self.counters(shared),
            cores: self.cores(),
            threads: self.threads(),
        }
    }

    fn begin(&self, shared: &Shared<Self>) -> (Instant, Data) {
        let threads = self.threads();
        let first = self.counters(shared);
        let data = Data {
            previous: first.clone(),
            threads_start: threads
                .as_ref()
                .map(|ts| ts.iter().map(|t| (t.tid, t.cpu_s)).collect()),
            threads_seen: BTreeMap::new(),
            peak: None,
            samples: Timeline::new(self.config.max_samples, merge_samples),
            first,
        };
        (data.first.at, data)
    }

    fn sample(
        &self,
        data: &mut Data,
        reading: &Reading,
        _at: Instant,
        shared: &Shared<Self>,
    ) -> CpuSample {
        let counters = reading.counters.clone();
        self.add_sample(
            data,
            counters,
            &reading.cores,
            reading.threads.as_deref(),
            shared,
        )
    }

    fn samples(&self, data: &Data) -> Vec<CpuSample> {
        session_samples(data)
    }

    fn end(
        &self,
        data: &mut Data,
        slot: &Lane<Slot<Self>>,
        id: TrackId,
        _started: Instant,
        status: Status,
    ) -> CpuRecord {
        self.close(data, slot, id, status)
    }

    fn value(engine: &Engine<Self>, id: Option<&TrackId>) -> Result<CpuSnapshot> {
        let cpu = engine.kind();
        let now = cpu.counters(&engine.shared);
        let cores = cpu.cores();
        let switches = cpu.switches();
        let mut reasons = BTreeMap::new();
        Ok(match id {
            Some(id) => {
                let first = sampled::with_data(engine, id, |data| data.first.clone())?;
                between(&first, &now, switches, &cores, &mut reasons)
            }
            None => {
                let mut last = lock(&cpu.last);
                let snapshot = between(&last, &now, switches, &cores, &mut reasons);
                *last = now;
                snapshot
            }
        })
    }

    fn attach(engine: &Arc<Engine<Self>>) {
        let cpu = engine.kind();
        *lock(&cpu.last) = cpu.counters(&engine.shared);
    }
}

/// What only CPU trackers do: cumulative counters for readers of their own, and sampling a
/// closure at its own interval.
impl Tracker<Cpu> {
    /// The cumulative CPU counters now (process and system times), for readers that compute
    /// use over intervals of their own, such as an exporter between two scrapes. Nothing is
    /// recorded, and [`current_value`](Self::current_value) is not disturbed.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let before = tracker.counters();
    /// let after = tracker.counters();
    /// let usage = tracker.usage_between(&before, &after);
    /// # #[cfg(target_os = "linux")]
    /// assert!(after.process_cpu_seconds() >= before.process_cpu_seconds());
    /// # let _ = usage;
    /// ```
    pub fn counters(&self) -> CpuCounters {
        let engine = &self.engine;
        CpuCounters(engine.kind().counters(&engine.shared))
    }

    /// The CPU use between two [`counters`](Self::counters) readings, with this tracker's
    /// figures and cores (a figure shorter than one kernel tick is absent).
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let before = tracker.counters();
    /// std::thread::sleep(std::time::Duration::from_millis(30));
    /// let usage = tracker.usage_between(&before, &tracker.counters());
    /// # #[cfg(target_os = "linux")]
    /// assert!(usage.process.is_some());
    /// ```
    pub fn usage_between(&self, earlier: &CpuCounters, later: &CpuCounters) -> CpuSnapshot {
        let mut reasons = BTreeMap::new();
        let kind = self.engine.kind();
        between(
            &earlier.0,
            &later.0,
            kind.switches(),
            &kind.cores,
            &mut reasons,
        )
    }

    /// Runs `f` in a session sampled every `sampling_interval` (the configured one with
    /// `None`; raised to [`MIN_SAMPLING_INTERVAL`]), and returns its result with the record. A
    /// panic in `f` still ends the session (recorded as failed), then goes on.
    ///
    /// ```
    /// use perftrack::{CpuConfig, CpuUsageTracker, SamplingInterval};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let every_50_ms = SamplingInterval::from_secs_f64(0.05)?;
    /// let (n, record) = tracker.track_function_cpu("spin", Some(every_50_ms), || {
    ///     let start = std::time::Instant::now();
    ///     let mut n = 0u64;
    ///     while start.elapsed() < std::time::Duration::from_millis(120) { n += 1; }
    ///     n
    /// });
    /// assert!(n > 0 && !record.samples.is_empty());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn track_function_cpu<T>(
        &self,
        label: &str,
        sampling_interval: Option<crate::SamplingInterval>,
        f: impl FnOnce() -> T,
    ) -> (T, CpuRecord) {
        let guard = self.track_every(label, sampling_interval);
        let result = f();
        (result, guard.stop())
    }
}
