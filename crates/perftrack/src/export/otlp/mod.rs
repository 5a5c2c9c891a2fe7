//! OTLP metrics export: any set of trackers pushed over OTLP/HTTP (protobuf) from a background
//! thread, on an interval and at shutdown, with exact exponential histograms.
//!
//! Everything is read when a push is built, from the trackers' typed snapshots and live
//! readings: recording never pays for the exporter.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prost::Message as _;
use serde::Serialize;

use crate::session::lock;
use crate::{
    CpuUsageTracker, Error, GenerationTracker, LatencyTracker, MemoryUsageTracker, Result,
    ThroughputTracker, Timestamp,
};

mod config;
mod payload;
mod points;
mod push;

pub use config::{OtlpConfig, OtlpHistograms};
use payload::{CpuSource, unix_nanos};
use push::{Shared, State};

/// Why a push failed ([`OtlpStatus::last_failure`]).
///
/// ```
/// let failure = perftrack::OtlpFailure::Status(503);
/// assert_eq!(failure.to_string(), "the backend answered HTTP 503");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum OtlpFailure {
    /// The backend could not be reached: refused, reset, or its name does not resolve.
    Unreachable(String),
    /// The push took longer than `timeout_ms` (a backend that hangs).
    Timeout,
    /// The backend answered with this HTTP status (not 2xx).
    Status(u16),
    /// The backend accepted the push but rejected some of its points (a partial success); they
    /// are counted in [`OtlpStatus::rejected_points`], not sent again.
    Rejected {
        /// How many points of that push were rejected.
        points: u64,
        /// The backend's reason.
        message: String,
    },
    /// Anything else the HTTP client reported.
    Other(String),
}

impl OtlpFailure {
    /// The kind of failure, for printing each kind once.
    fn kind(&self) -> String {
        match self {
            Self::Unreachable(_) => "unreachable".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Status(code) => format!("status {code}"),
            Self::Rejected { .. } => "rejected".to_owned(),
            Self::Other(_) => "other".to_owned(),
        }
    }
}

impl fmt::Display for OtlpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable(reason) => write!(f, "the backend is unreachable: {reason}"),
            Self::Timeout => f.write_str("the push timed out"),
            Self::Status(code) => write!(f, "the backend answered HTTP {code}"),
            Self::Rejected { points, message } => {
                write!(f, "the backend rejected {points} points: {message}")
            }
            Self::Other(reason) => f.write_str(reason),
        }
    }
}

/// What an [`OtlpExporter`] has done so far ([`OtlpExporter::status`]). Counts only grow.
///
/// ```
/// let status = perftrack::OtlpStatus::default();
/// assert_eq!((status.exports, status.failed_exports), (0, 0));
/// assert!(status.last_failure.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OtlpStatus {
    /// Pushes the backend accepted (a 2xx answer).
    pub exports: u64,
    /// Pushes given up: a failure that is final (a 4xx answer other than 429), or a passing
    /// one that outlasted `max_retries`.
    pub failed_exports: u64,
    /// Requests sent, retries included.
    pub attempts: u64,
    /// Requests that failed, retried or not.
    pub failed_attempts: u64,
    /// Requests sent again after a passing failure.
    pub retries: u64,
    /// Points the backend accepted a push without (partial successes); never sent again.
    pub rejected_points: u64,
    /// The most recent failure of a push given up.
    pub last_failure: Option<OtlpFailure>,
    /// The size in bytes of the last request body built.
    pub last_payload_bytes: usize,
    /// The largest request body the exporter ever held at once, in bytes. The exporter keeps
    /// no queue: one body at a time, built from the newest state for each attempt, so this is
    /// the size of one push whatever the number of failed pushes.
    pub peak_held_bytes: usize,
}

/// Pushes the state of any set of trackers to an OpenTelemetry backend over OTLP/HTTP
/// (protobuf), from one background thread: every `interval_ms`, when asked
/// ([`export_now`](Self::export_now)), and once more at [`shutdown`](Self::shutdown) or drop.
///
/// Every metric is cumulative: its `start_time_unix_nano` is the start of the tracker's epoch
/// ([`Snapshot::start_time`](crate::Snapshot::start_time)), renewed by every `reset` and
/// `load_metrics`, so a reset reads as a counter reset. Series carry `perftrack.tracker` (the
/// name given when the tracker was added, if any) and `perftrack.label` (the tracker's label,
/// none for the unlabelled `""`):
///
/// | tracker | metrics |
/// |---|---|
/// | latency | `perftrack.latency.duration` (`s`, histogram), `perftrack.latency.failed`, `perftrack.latency.cancelled` (`{operation}`, sums) |
/// | throughput | `perftrack.throughput.events` (`{event}`, sum), `perftrack.throughput.rate` (`{event}/s`, gauge over the tracker's window) |
/// | memory | `perftrack.memory.<reading>` per available reading of [`MemorySnapshot`](crate::MemorySnapshot) (`By`, `%` for the percentages; gauges read at push time) |
/// | CPU | `perftrack.process.cpu.time` (`s`, sum since the tracker was added), `perftrack.system.cpu.utilization`, `perftrack.cpu.utilization` with `perftrack.cpu.core` (`1`, gauges since the previous push) |
/// | generation | per row of the naming table ([`GenerationFigure`](crate::GenerationFigure)) its `otel_name` and `otel_unit` (histograms, with `gen_ai.operation.name`, `gen_ai.provider.name` and, for token usage, `gen_ai.token.type`); per [`GenerationCounter`](crate::GenerationCounter) its `otel_name` (sums; `slo_met` with objectives only) |
///
/// Histograms are base-2 exponential at scale 6 by default, the sketch's own grid, so every
/// bucket count is exact ([`Distribution::exponential_histogram`](crate::Distribution::exponential_histogram));
/// [`OtlpHistograms::Explicit`] sends the naming table's advised buckets instead.
///
/// Pushing never blocks the caller: `add_*` and `export_now` only take a lock, and
/// `shutdown` waits at most `timeout_ms` (and a tenth of a second). The exporter keeps no
/// queue: each attempt encodes the newest state, so a backend that is down costs one request
/// body at a time. Failures are counted ([`status`](Self::status)) and each kind is printed
/// once to standard error. The series of a tracker are bounded by its own `max_labels` (later
/// labels share `"_other"`).
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker, OtlpConfig, OtlpExporter};
/// use std::time::Duration;
///
/// let latency = LatencyTracker::new(LatencyConfig::default());
/// latency.record("retrieval", Duration::from_millis(30));
///
/// // Port 9 (discard) has no collector: the push fails, counted, and nobody waits for it.
/// let exporter = OtlpExporter::new(OtlpConfig {
///     endpoint: "http://127.0.0.1:9/v1/metrics".into(),
///     timeout_ms: 500,
///     max_retries: 0,
///     ..Default::default()
/// })?;
/// exporter.add_latency(&latency, None)?;
/// assert!(!exporter.payload().is_empty());
/// let status = exporter.shutdown();
/// assert_eq!(status.exports, 0);
/// # Ok::<(), perftrack::Error>(())
/// ```
#[must_use = "dropping the exporter stops it, after one last push"]
pub struct OtlpExporter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("endpoint", &self.shared.checked.config.endpoint)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// Checks `config` and starts the exporter's thread, which pushes every `interval_ms`
    /// from then on (nothing while no tracker is added). A bad configuration is an
    /// [`Error::InvalidConfig`] naming the field; an `https://` endpoint needs the `otlp-tls`
    /// feature.
    ///
    /// ```
    /// use perftrack::{Error, OtlpConfig, OtlpExporter};
    ///
    /// let err = OtlpExporter::new(OtlpConfig { endpoint: "collector:4318".into(), ..Default::default() })
    ///     .unwrap_err();
    /// assert!(matches!(err, Error::InvalidConfig { ref key, .. } if key == "endpoint"));
    /// ```
    pub fn new(config: OtlpConfig) -> Result<Self> {
        let checked = config.check()?;
        let endpoint = checked.config.endpoint.clone();
        let shared = Arc::new(Shared {
            checked,
            sources: Mutex::default(),
            state: Mutex::new(State::default()),
            bell: std::sync::Condvar::new(),
        });
        // Answers of every status are read, not turned into errors: a 429 or 503 carries its
        // Retry-After.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(format!("perftrack-otlp/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("perftrack-otlp".to_owned())
                .spawn(move || shared.run(&agent))
                .map_err(|e| Error::Export {
                    endpoint,
                    reason: e.to_string(),
                })?
        };
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Exports a latency tracker. `name` becomes the `perftrack.tracker` attribute; a second
    /// latency tracker needs a distinct one, or this is an [`Error::InvalidConfig`].
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker, OtlpConfig, OtlpExporter};
    ///
    /// let exporter = OtlpExporter::new(OtlpConfig::default())?;
    /// let (a, b) = (LatencyTracker::new(LatencyConfig::default()), LatencyTracker::new(LatencyConfig::default()));
    /// exporter.add_latency(&a, None)?;
    /// assert!(exporter.add_latency(&b, None).is_err());
    /// exporter.add_latency(&b, Some("batch"))?;
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_latency(&self, tracker: &LatencyTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.shared.sources);
        let name = super::check_name("latency", sources.latency.iter().map(|s| &s.1), name)?;
        sources.latency.push((tracker.clone(), name));
        Ok(())
    }

    /// Exports a throughput tracker: its events per label (a sum) and its rate over the
    /// window (a gauge). `name` as for [`add_latency`](Self::add_latency).
    ///
    /// ```
    /// use perftrack::{OtlpConfig, OtlpExporter, ThroughputConfig, ThroughputTracker};
    ///
    /// let exporter = OtlpExporter::new(OtlpConfig::default())?;
    /// exporter.add_throughput(&ThroughputTracker::new(ThroughputConfig::default()), None)?;
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_throughput(&self, tracker: &ThroughputTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.shared.sources);
        let name = super::check_name("throughput", sources.throughput.iter().map(|s| &s.1), name)?;
        sources.throughput.push((tracker.clone(), name));
        Ok(())
    }

    /// Exports a memory tracker's readings, taken at each push. `name` as for
    /// [`add_latency`](Self::add_latency).
    ///
    /// ```
    /// use perftrack::{MemoryConfig, MemoryUsageTracker, OtlpConfig, OtlpExporter};
    ///
    /// let exporter = OtlpExporter::new(OtlpConfig::default())?;
    /// let memory = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// exporter.add_memory(&memory, None)?;
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_memory(&self, tracker: &MemoryUsageTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.shared.sources);
        let name = super::check_name("memory", sources.memory.iter().map(|s| &s.1), name)?;
        sources.memory.push((tracker.clone(), name));
        Ok(())
    }

    /// Exports a CPU tracker: the watched process's CPU seconds from now on (a sum that starts
    /// at this call) and the system's and each core's utilisation between pushes. `name` as
    /// for [`add_latency`](Self::add_latency).
    ///
    /// ```
    /// use perftrack::{CpuConfig, CpuUsageTracker, OtlpConfig, OtlpExporter};
    ///
    /// let exporter = OtlpExporter::new(OtlpConfig::default())?;
    /// exporter.add_cpu(&CpuUsageTracker::new(CpuConfig::default()), None)?;
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_cpu(&self, tracker: &CpuUsageTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.shared.sources);
        let name = super::check_name("CPU", sources.cpu.iter().map(|s| &s.name), name)?;
        let base = tracker.counters();
        sources.cpu.push(CpuSource {
            tracker: tracker.clone(),
            name,
            previous: Mutex::new(base.clone()),
            base,
            start: unix_nanos(Timestamp::now()),
        });
        Ok(())
    }

    /// Exports a generation tracker under the OpenTelemetry GenAI names of the naming table.
    /// `name` as for [`add_latency`](Self::add_latency).
    ///
    /// ```
    /// use perftrack::{GenerationConfig, GenerationTracker, OtlpConfig, OtlpExporter};
    ///
    /// let exporter = OtlpExporter::new(OtlpConfig::default())?;
    /// exporter.add_generation(&GenerationTracker::new(GenerationConfig::default()), None)?;
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_generation(&self, tracker: &GenerationTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.shared.sources);
        let name = super::check_name("generation", sources.generation.iter().map(|s| &s.1), name)?;
        sources.generation.push((tracker.clone(), name));
        Ok(())
    }

    /// Asks the thread to push now, without waiting for it (or for the network).
    ///
    /// ```
    /// let exporter = perftrack::OtlpExporter::new(perftrack::OtlpConfig::default())?;
    /// exporter.export_now(); // returns at once
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn export_now(&self) {
        lock(&self.shared.state).wake = true;
        self.shared.bell.notify_all();
    }

    /// The protobuf body (`ExportMetricsServiceRequest`) a push would send now, built from the
    /// trackers' newest state: what to inspect, or to send by other means.
    ///
    /// ```
    /// use perftrack::{OtlpConfig, OtlpExporter, ThroughputConfig, ThroughputTracker};
    ///
    /// let exporter = OtlpExporter::new(OtlpConfig::default())?;
    /// let throughput = ThroughputTracker::new(ThroughputConfig::default());
    /// throughput.record("queries", 3);
    /// exporter.add_throughput(&throughput, None)?;
    /// let body = exporter.payload();
    /// assert!(body.windows(27).any(|w| w == b"perftrack.throughput.events"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn payload(&self) -> Vec<u8> {
        lock(&self.shared.sources)
            .request(&self.shared.checked)
            .encode_to_vec()
    }

    /// What the exporter has done so far: pushes accepted and failed, retries, the last
    /// failure.
    ///
    /// ```
    /// let exporter = perftrack::OtlpExporter::new(perftrack::OtlpConfig::default())?;
    /// assert_eq!(exporter.status().attempts, 0); // no tracker: nothing to push
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn status(&self) -> OtlpStatus {
        lock(&self.shared.state).status.clone()
    }

    /// Pushes the newest state once more and stops the thread, waiting at most `timeout_ms`
    /// and a tenth of a second (a push to a backend that hangs is abandoned then), and returns
    /// the final status.
    /// Dropping the exporter does the same.
    ///
    /// ```
    /// let exporter = perftrack::OtlpExporter::new(perftrack::OtlpConfig::default())?;
    /// let status = exporter.shutdown();
    /// assert_eq!(status.failed_exports, 0);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn shutdown(mut self) -> OtlpStatus {
        self.stop();
        self.status()
    }

    fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = Instant::now() + self.shared.checked.timeout;
        let mut state = lock(&self.shared.state);
        state.shutdown.get_or_insert(deadline);
        self.shared.bell.notify_all();
        // A little past the deadline, so that a push ending at it is counted.
        let give_up = deadline + Duration::from_millis(100);
        while !state.done {
            let now = Instant::now();
            if now >= give_up {
                // The thread is still in a push that its own timeout ends soon; it holds only
                // the shared state and ends by itself.
                return;
            }
            state = match self.shared.bell.wait_timeout(state, give_up - now) {
                Ok((s, _)) => s,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        drop(state);
        let _ = thread.join();
    }
}

impl Drop for OtlpExporter {
    fn drop(&mut self) {
        self.stop();
    }
}
