//! `MemoryUsageTracker`: the memory footprint of each stage (process, system, GPU), with
//! exact peaks.

mod config;
mod kernel_peak;
mod record;
mod snapshot;
mod summary;

pub use config::{MemoryConfig, SamplingInterval};
pub use record::{MemoryRecord, PythonMemoryRecord};
#[cfg(feature = "otlp")]
pub(crate) use snapshot::is_percent;
pub use snapshot::{MemorySample, MemorySnapshot};
pub use summary::{KeyStatistics, MemorySummary};

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Shared, Slot};
use crate::label::Lane;
use crate::probe::{self, Pid};
use crate::sampled::{self, Sampled};
use crate::session::lock;
use crate::timeline::Timeline;
use crate::tracker::Kind;
use crate::{Clock, Guard, Result, SessionsLabelSnapshot, Status, TrackId, Tracker};
use kernel_peak::FoldPeak;
use snapshot::{Reading, change, worst};

/// Where `process_rss` and `process_peak_rss` are in a reading.
const PROCESS_RSS: usize = snapshot::index("process_rss");
const PROCESS_PEAK_RSS: usize = snapshot::index("process_peak_rss");

/// Measures the memory footprint of stages: process, system, cgroup and GPU memory at the
/// start and end of each session, background samples in between, and exact peaks.
///
/// One background thread per tracker (named `perftrack-sampler`) samples every session that
/// wants it; it starts with the first such session and stops when no active session wants
/// samples any more, or when the last handle of the tracker drops (a guard, even a forgotten
/// one, never keeps it running). With `kernel_peak` (the default) the kernel's high-water mark of the
/// resident set is folded into `peak.process_rss`, so a spike between two samples is never
/// missed. The methods every tracker has are on [`Tracker`], the sampled kinds' ones
/// (`record_sample`, `samples`) too; this kind adds live readings.
///
/// ```
/// use perftrack::{MemoryConfig, MemoryUsageTracker};
///
/// let tracker = MemoryUsageTracker::new(MemoryConfig::from_json(r#"{"unit": "MB"}"#)?);
/// let id = tracker.start_tracking(Some("load embeddings"));
/// let embeddings = vec![0f32; 4 * 1024 * 1024]; // 16 MiB
/// let record = tracker.stop_tracking(&id)?;
/// if let (Some(peak), Some(initial)) = (record.peak.and_then(|p| p.process_rss), record.initial.process_rss) {
///     println!("loading embeddings took {:.1} MB", peak - initial);
/// }
/// # drop(embeddings);
/// # Ok::<(), perftrack::Error>(())
/// ```
pub type MemoryUsageTracker = Tracker<Memory>;

/// A memory session that ends when it drops (as [`Status::Failed`] during a panic); made by
/// [`MemoryUsageTracker::track`]. See [`Guard`] for `stop`, `stop_with` and `discard`.
///
/// ```
/// use perftrack::{MemoryConfig, MemoryGuard, MemoryUsageTracker, Status};
///
/// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
/// let guard: MemoryGuard = tracker.track("rerank");
/// let reranked: Result<Vec<u32>, String> = Err("model not loaded".into());
/// let record = guard.stop_with(if reranked.is_ok() { Status::Ok } else { Status::Failed });
/// assert_eq!(record.status, Status::Failed);
/// ```
pub type MemoryGuard = Guard<Memory>;

/// The memory kind: process, system, cgroup and GPU readings per session, summarised per
/// reading. [`MemoryUsageTracker`] is `Tracker<Memory>`.
///
/// ```
/// use perftrack::{kinds::Memory, MemoryConfig, Tracker};
///
/// let memory: Tracker<Memory> = Tracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
/// # #[cfg(target_os = "linux")]
/// assert!(memory.current_bytes().process_rss.is_some());
/// ```
#[derive(Debug)]
pub struct Memory {
    config: MemoryConfig,
}

impl Memory {
    /// The watched process: the configured one, or this process, asked each time so that a
    /// tracker in a child made by `fork()` watches the child.
    fn pid(&self) -> Pid {
        self.config.pid.unwrap_or_else(std::process::id)
    }
}

/// One running session's readings.
#[derive(Debug)]
pub struct Data {
    initial: Reading,
    peak: Reading,
    samples: Timeline<Reading>,
    /// Whether the kernel's mark was reset when the session started, so the mark read later
    /// is a peak within the session.
    kernel_mark: bool,
}

/// One reading of every probe.
pub struct Probed {
    reading: Reading,
    gpu_status: Option<String>,
}

impl Memory {
    /// Reads every probe once.
    fn probe(&self) -> Probed {
        // In bytes (percentages as they are): the snapshot's fields name every reading.
        let mut r = MemorySnapshot::default();
        if let Ok(p) = probe::process::read_tree(self.pid(), self.config.include_children) {
            r.process_rss = Some(p.rss as f64);
            r.process_vms = Some(p.vms as f64);
            r.process_peak_rss = (p.peak_rss > 0).then_some(p.peak_rss as f64);
        }
        if let Ok(s) = probe::system::read() {
            r.system_total = Some(s.total as f64);
            r.system_available = Some(s.available as f64);
            r.system_used = Some(s.used as f64);
            r.system_free = Some(s.free as f64);
            r.system_percent = Some(s.percent);
        }
        r.cgroup_limit = probe::system::cgroup_limit().map(|l| l as f64);
        let gpu_status = if self.config.track_gpu {
            self.probe_gpu(&mut r).err()
        } else {
            None
        };
        Probed {
            reading: r.to_array(),
            gpu_status,
        }
    }

    #[cfg(feature = "gpu")]
    fn probe_gpu(&self, r: &mut MemorySnapshot) -> std::result::Result<(), String> {
        let gpu = probe::gpu::Gpu::get()?;
        let mut pids = vec![self.pid()];
        if self.config.include_children {
            pids.extend(probe::process::descendants(self.pid()));
        }
        let m = gpu.memory(self.config.gpu_device, &pids)?;
        r.gpu_total = Some(m.total as f64);
        r.gpu_used = Some(m.used as f64);
        r.gpu_free = Some(m.free as f64);
        r.gpu_percent = (m.total > 0).then(|| m.used as f64 * 100.0 / m.total as f64);
        r.gpu_process_used = m.process_used.map(|b| b as f64);
        Ok(())
    }

    #[cfg(not(feature = "gpu"))]
    fn probe_gpu(&self, _reading: &mut MemorySnapshot) -> std::result::Result<(), String> {
        Err("perftrack was built without the `gpu` feature".to_owned())
    }

    /// Adds a reading to a session's peak, with the kernel's mark where it is a peak within
    /// the session.
    fn fold(data: &mut Data, reading: &Reading) {
        data.peak = worst(&data.peak, reading);
        if data.kernel_mark {
            if let Some(mark) = reading[PROCESS_PEAK_RSS] {
                let rss = &mut data.peak[PROCESS_RSS];
                *rss = Some(rss.map_or(mark, |r| r.max(mark)));
            }
        }
    }

    /// A session's timeline so far, as its record shows it.
    fn timeline(&self, data: &Data) -> Vec<MemorySample> {
        data.samples
            .finish()
            .into_iter()
            .map(|(timestamp, r)| MemorySample {
                timestamp,
                memory: MemorySnapshot::from_reading(&r, self.config.unit),
            })
            .collect()
    }
}

impl Kind for Memory {
    const KIND: crate::TrackerKind = crate::TrackerKind::Memory;
    type Config = MemoryConfig;
    type Record = MemoryRecord;
    type Value = MemorySnapshot;
    type Statistics = BTreeMap<String, KeyStatistics>;
    type LabelStatistics = BTreeMap<String, KeyStatistics>;
    type LabelSnapshot = SessionsLabelSnapshot;
    type Summary = MemorySummary;
    type SummaryV1 = MemorySummary;
    type LabelState = ();
    type PythonRecord = PythonMemoryRecord;

    fn build(config: MemoryConfig, _clock: &dyn Clock) -> Self {
        Self { config }
    }

    fn config(&self) -> &MemoryConfig {
        &self.config
    }

    fn label_state(&self, _now: Instant) {}

    fn statistics(&self, summary: Option<&MemorySummary>) -> Self::Statistics {
        summary
            .map(|s| s.statistics(self.config.unit))
            .unwrap_or_default()
    }

    fn label_statistics(&self, summary: &MemorySummary) -> Option<Self::LabelStatistics> {
        Some(summary.statistics(self.config.unit)).filter(|stats| !stats.is_empty())
    }

    fn label_snapshot(slot: &Slot<Self>, _now: Instant) -> SessionsLabelSnapshot {
        slot.with_summary(MemorySummary::snapshot)
    }

    fn measurements(label: &SessionsLabelSnapshot) -> u64 {
        label.sessions
    }

    fn end_time(record: &MemoryRecord) -> crate::Timestamp {
        record.timestamp
    }

    fn label(record: &MemoryRecord) -> Option<&str> {
        record.label.as_deref()
    }

    fn set_label(record: &mut MemoryRecord, label: Option<std::sync::Arc<str>>) {
        record.label = label;
    }

    fn convert(&self, record: MemoryRecord) -> MemoryRecord {
        record.in_unit(self.config.unit)
    }

    fn python_record(&self, record: PythonMemoryRecord) -> MemoryRecord {
        record.into_record(self.config.unit)
    }

    fn summarize(&self, summary: &mut MemorySummary, r: &MemoryRecord) {
        let unit = self.config.unit;
        let peak = r.peak.map(|p| p.to_reading(unit));
        summary.record(
            &r.value.to_reading(unit),
            peak.as_ref(),
            &r.change.to_reading(unit),
            r.status,
            r.timestamp,
            self.config.exact_limit,
        );
    }
}

impl Sampled for Memory {
    type Sample = MemorySample;
    type Data = Data;
    type Reading = Probed;

    fn interval(&self) -> Option<Duration> {
        self.config.sampling_interval.as_duration()
    }

    fn read(&self, _shared: &Shared<Self>) -> Probed {
        self.probe()
    }

    fn begin(&self, shared: &Shared<Self>) -> (Instant, Data) {
        let kernel_mark = self.config.kernel_peak && kernel_peak::fold_and_reset(self.pid());
        let probed = self.probe();
        let mut data = Data {
            initial: probed.reading,
            peak: probed.reading,
            samples: Timeline::new(self.config.max_samples, worst),
            kernel_mark,
        };
        Self::fold(&mut data, &probed.reading);
        (shared.now(), data)
    }

    fn sample(
        &self,
        data: &mut Data,
        probed: &Probed,
        at: Instant,
        shared: &Shared<Self>,
    ) -> MemorySample {
        let timestamp = shared.timestamp(at);
        data.samples.push(timestamp, probed.reading);
        Self::fold(data, &probed.reading);
        MemorySample {
            timestamp,
            memory: MemorySnapshot::from_reading(&probed.reading, self.config.unit),
        }
    }

    fn samples(&self, data: &Data) -> Vec<MemorySample> {
        self.timeline(data)
    }

    fn end(
        &self,
        data: &mut Data,
        slot: &Lane<Slot<Self>>,
        id: TrackId,
        started: Instant,
        status: Status,
    ) -> MemoryRecord {
        let probed = self.probe();
        let shared = &slot.shared;
        let end = shared.now();
        Self::fold(data, &probed.reading);
        let unit = self.config.unit;
        let end_time = shared.timestamp(end);
        let duration = end.saturating_duration_since(started);
        let difference = change(&data.initial, &probed.reading);
        let peak = self.config.track_peak.then_some(data.peak);
        slot.add(|summary| {
            summary.record(
                &probed.reading,
                peak.as_ref(),
                &difference,
                status,
                end_time,
                self.config.exact_limit,
            );
        });
        MemoryRecord {
            track_id: id,
            value: MemorySnapshot::from_reading(&probed.reading, unit),
            initial: MemorySnapshot::from_reading(&data.initial, unit),
            change: MemorySnapshot::from_reading(&difference, unit),
            peak: peak.map(|p| MemorySnapshot::from_reading(&p, unit)),
            timestamp: end_time,
            unit,
            label: slot.label_arc(),
            start_time: shared
                .include_timestamps
                .then(|| end_time.saturating_sub(duration)),
            end_time: shared.include_timestamps.then_some(end_time),
            samples: self.timeline(data),
            duration: Some(duration.as_secs_f64()),
            status,
            gpu_status: probed.gpu_status,
        }
    }

    fn value(engine: &Engine<Self>, id: Option<&TrackId>) -> Result<MemorySnapshot> {
        let memory = engine.kind();
        let initial = match id {
            Some(id) => Some(sampled::with_data(engine, id, |data| data.initial)?),
            None => None,
        };
        let now = memory.probe().reading;
        Ok(match initial {
            Some(initial) => {
                MemorySnapshot::from_reading(&change(&initial, &now), memory.config.unit)
            }
            None => MemorySnapshot::from_reading(&now, memory.config.unit),
        })
    }

    fn attach(engine: &Arc<Engine<Self>>) {
        if engine.kind().config.kernel_peak {
            let weak: Weak<dyn FoldPeak> = Arc::downgrade(engine) as Weak<Engine<Memory>>;
            kernel_peak::register(weak);
        }
    }
}

impl FoldPeak for Engine<Memory> {
    fn fold(&self, pid: Pid, mark: f64) {
        if pid != self.kind().pid() || !self.kind().config.kernel_peak {
            return;
        }
        self.sessions.for_each(|active| {
            let mut session = lock(&active.state);
            if session.data.kernel_mark {
                let rss = &mut session.data.peak[PROCESS_RSS];
                *rss = Some(rss.map_or(mark, |r| r.max(mark)));
            }
        });
    }
}

/// What only memory trackers do: read memory live, and sample a closure at its own interval.
impl Tracker<Memory> {
    /// Every reading now in bytes (percentages as they are), whatever the tracker's unit: what
    /// an exporter reads at each scrape. Nothing is recorded.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUnit, MemoryUsageTracker};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig {
    ///     unit: MemoryUnit::GiB,
    ///     track_gpu: false,
    ///     ..Default::default()
    /// });
    /// let bytes = tracker.current_bytes();
    /// # #[cfg(target_os = "linux")]
    /// assert!(bytes.process_rss.unwrap() > 1024.0 * 1024.0);
    /// ```
    pub fn current_bytes(&self) -> MemorySnapshot {
        MemorySnapshot::from_reading(&self.engine.kind().probe().reading, crate::MemoryUnit::B)
    }

    /// Runs `f` in a session sampled every `sampling_interval` (the configured one with
    /// `None`), and returns its result with the record. A panic in `f` still ends the session
    /// (recorded as failed) and its sampling, then goes on.
    ///
    /// ```
    /// use perftrack::{MemoryConfig, MemoryUsageTracker, SamplingInterval};
    ///
    /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let every_10_ms = SamplingInterval::from_secs_f64(0.01)?;
    /// let (sum, record) = tracker.track_function_memory("build", Some(every_10_ms), || {
    ///     let buffer = vec![1u8; 8 << 20];
    ///     std::thread::sleep(std::time::Duration::from_millis(50));
    ///     buffer.iter().map(|&b| u64::from(b)).sum::<u64>()
    /// });
    /// assert_eq!(sum, 8 << 20);
    /// assert!(!record.samples.is_empty());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn track_function_memory<T>(
        &self,
        label: &str,
        sampling_interval: Option<SamplingInterval>,
        f: impl FnOnce() -> T,
    ) -> (T, MemoryRecord) {
        let guard = self.track_every(label, sampling_interval);
        let result = f();
        (result, guard.stop())
    }
}
