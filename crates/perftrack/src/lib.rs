//! # perftrack
//!
//! Measure how a retrieval-augmented generation (RAG) system performs: the latency of every
//! pipeline stage with exact statistics per label ([`LatencyTracker`]), throughput in queries,
//! documents or tokens per unit of time ([`ThroughputTracker`]), memory with exact peaks
//! ([`MemoryUsageTracker`]) and CPU per process, core and thread ([`CpuUsageTracker`]), cheap
//! enough to leave on in production.
//!
//! ## Quick start
//!
//! ```
//! use perftrack::{LatencyConfig, LatencyTracker, TimeUnit};
//! use std::time::Duration;
//!
//! let tracker = LatencyTracker::new(LatencyConfig {
//!     time_unit: TimeUnit::Milliseconds,
//!     ..Default::default()
//! });
//!
//! // A guard measures a block and records when it drops.
//! {
//!     let _guard = tracker.track("retrieval");
//!     // ... search the index ...
//! }
//! // A closure, a session by id, or a duration measured elsewhere.
//! let n = tracker.time("rerank", || 3 + 4);
//! let id = tracker.start_tracking(Some("generation"));
//! let record = tracker.stop_tracking(&id)?;
//! tracker.record("embedding", Duration::from_micros(850));
//!
//! let stats = tracker.statistics(Some("embedding")).unwrap();
//! assert_eq!((stats.count, stats.p50, stats.unit.as_str()), (1, 0.85, "ms"));
//! for (label, s) in tracker.statistics_by_label() {
//!     println!("{label}: n={} p50={:.3} p99={:.3} {}", s.count, s.p50, s.p99, s.unit);
//! }
//! # assert_eq!(n, 7);
//! # let _ = record;
//! # Ok::<(), perftrack::Error>(())
//! ```
//!
//! ## Throughput
//!
//! ```
//! use perftrack::{ThroughputConfig, ThroughputTracker};
//!
//! let throughput = ThroughputTracker::new(ThroughputConfig::default());
//! let mut tokens = throughput.track("generation");
//! for _token in ["Retrieval", " grounds", " answers"] {
//!     tokens.record(1);
//! }
//! assert_eq!(tokens.stop().count, 3);
//! throughput.record("queries", 1); // a counter without a session
//! assert!(throughput.current_rate("queries").is_some());
//! ```
//!
//! ## Memory
//!
//! [`MemoryUsageTracker`] reads process, system, cgroup and GPU memory per session, samples in
//! the background on one thread per tracker, and reports exact peaks (the kernel's high-water
//! mark catches spikes between samples).
//!
//! ## CPU
//!
//! [`CpuUsageTracker`] measures the process (tree), the system, each core and the busiest
//! threads per session, with exact time-weighted averages and peaks from samples.
//!
//! ## Snapshots and export
//!
//! `snapshot()` on every tracker returns a typed [`Snapshot`]: every label's [`Distribution`]
//! (throughput's event counts and current rate too; memory and CPU: one distribution per
//! reading), the dropped records, the overflowed labels and an epoch that changes on every
//! reset and load, all read consistently. Reports, exporters and bindings are built on it;
//! memory and CPU readers that want live values use `current_bytes()` and `counters()`.
//!
//! With the `prometheus` feature, `PrometheusExporter` renders any set of trackers in the
//! Prometheus text format (histograms, counters and gauges in base units, computed when
//! scraped) and serves them on `/metrics`. With the `otlp` feature, `OtlpExporter` pushes them
//! to any OpenTelemetry backend, histograms exact. With the `tracing` feature, `PerftrackLayer`
//! records the spans a program already emits as latencies and their token fields as
//! throughput. The README shows both.
//!
//! ## Feature flags
//!
//! - `gpu` (default): GPU memory through NVML, loaded at run time; building needs no CUDA.
//! - `prometheus`: `PrometheusExporter` renders every tracker in the Prometheus text format
//!   and serves it on `/metrics` from one background thread (adds `tiny_http`).
//! - `otlp`: `OtlpExporter` pushes every tracker to an OpenTelemetry backend over OTLP/HTTP
//!   (protobuf) from one background thread, histograms as exact base-2 exponential ones (adds
//!   `opentelemetry-proto` with `prost` for the generated types, no gRPC stack, and `ureq`).
//! - `otlp-tls`: `https://` endpoints for `otlp` (adds `rustls` with the `ring` provider and
//!   the Mozilla roots of `webpki-roots`).
//! - `tracing`: `PerftrackLayer`, a `tracing-subscriber` layer that records closed spans as
//!   latencies and span token counts as throughput (adds `tracing-core`, `tracing-subscriber`).
//!
//! ## What is exact
//!
//! Count, sum, min, max, mean and standard deviation are exact. Percentiles are exact while a
//! label holds at most `exact_limit` values and within 0.55 % relative error beyond that, from a
//! bounded, mergeable sketch ([`Distribution`]); memory per label never grows with the number
//! of measurements. Durations come from a monotonic clock; record timestamps are RFC 3339 UTC.
//!
//! ## Metrics files
//!
//! Every tracker's `save_metrics` writes a versioned JSON file atomically; `load_metrics`
//! validates it (and reads the Python original's files too). [`AtomicFile`] is that writer,
//! for any file a program writes whole or as it goes. [`load_any`] reads a file whose tracker
//! type is not known in advance, or a run container of `perftrack run`, into trackers of the
//! kinds it names ([`TrackerKind`]).
//! The format is specified in `docs/FORMAT.md`.

#![forbid(unsafe_code)]

mod atomic;
mod clock;
mod config;
mod cpu;
mod engine;
mod error;
#[cfg(any(feature = "prometheus", feature = "tracing", feature = "otlp"))]
mod export;
mod factory;
mod generation;
mod kind;
mod label;
mod latency;
mod load_any;
mod log;
mod memory;
mod probe;
mod recorder;
mod sampled;
mod sampler;
mod session;
mod snapshot;
mod span;
mod stats;
mod status;
mod store;
mod stripe;
mod throughput;
mod timeline;
mod timestamp;
mod tracker;
mod units;

/// The kinds of tracker: what each measures, as the type parameter of [`Tracker`]
/// (`LatencyTracker` is `Tracker<kinds::Latency>`), and the sealed traits the core reads them
/// through. A program names them only to write code generic over kinds.
///
/// ```
/// use perftrack::kinds::{Kind, Latency, Lifecycle};
/// use perftrack::{LatencyConfig, Tracker};
///
/// fn labels<K: Lifecycle>(tracker: &Tracker<K>) -> usize {
///     tracker.snapshot().labels.len()
/// }
/// let tracker = Tracker::<Latency>::new(LatencyConfig::default());
/// tracker.track("retrieval").stop();
/// assert_eq!((labels(&tracker), Latency::KIND.file_type()), (1, "latency"));
/// ```
pub mod kinds {
    pub use crate::cpu::Cpu;
    pub use crate::generation::Generation;
    pub use crate::latency::Latency;
    pub use crate::memory::Memory;
    pub use crate::sampled::Sampled;
    pub use crate::throughput::Throughput;
    pub use crate::tracker::{Kind, Lifecycle};
}

pub use atomic::AtomicFile;
pub use clock::{Clock, ManualClock, MonotonicClock};
pub use cpu::{
    Cores, CpuConfig, CpuCounters, CpuGuard, CpuRecord, CpuSample, CpuSnapshot, CpuStatistics,
    CpuUsageTracker, MIN_SAMPLING_INTERVAL, ThreadUsage,
};
pub use error::{Error, Result};
#[cfg(feature = "prometheus")]
pub use export::{
    Buckets, LatencyExport, MetricsServer, PROMETHEUS_CONTENT_TYPE, PrometheusConfig,
    PrometheusExporter,
};
#[cfg(feature = "otlp")]
pub use export::{OtlpConfig, OtlpExporter, OtlpFailure, OtlpHistograms, OtlpStatus};
#[cfg(feature = "tracing")]
pub use export::{PerftrackLayer, TracingConfig};
pub use factory::{AnyRecord, AnyTracker, PerformanceTracker, get_performance_tracker};
#[cfg(feature = "stream")]
pub use generation::TrackedStream;
pub use generation::{
    ChunkGaps, CounterNames, FigureNames, GENAI_CONVENTIONS_VERSION, GenerationConfig,
    GenerationCounter, GenerationFigure, GenerationGuard, GenerationRecord, GenerationStatistics,
    GenerationSummary, GenerationTiming, GenerationTracker, Goodput, Objective, Slo, TrackedIter,
};
pub use kind::TrackerKind;
pub use label::OVERFLOW_LABEL;
pub use latency::{LatencyConfig, LatencyGuard, LatencyRecord, LatencyTracker, TimedFuture};
pub use load_any::{
    LoadedFile, LoadedTracker, RUN_FORMAT_NAME, RUN_FORMAT_VERSION, load_any, load_any_json,
};
pub use memory::{
    KeyStatistics, MemoryConfig, MemoryGuard, MemoryRecord, MemorySample, MemorySnapshot,
    MemoryUsageTracker, SamplingInterval,
};
pub use session::TrackId;
pub use snapshot::{SessionsLabelSnapshot, Snapshot, ThroughputLabelSnapshot};
pub use span::{AttributeValue, FinishedSpan, MappedSpan, SpanEvent, SpanMapping};
pub use stats::{
    BucketCounts, Distribution, ExponentialHistogram, RELATIVE_ACCURACY, Sketch, Statistics,
};
pub use status::Status;
pub use store::{FORMAT_NAME, FORMAT_VERSION, MetricsFile};
pub use throughput::{
    SessionProgress, ThroughputConfig, ThroughputGuard, ThroughputRecord, ThroughputTracker,
    WindowSize,
};
pub use timestamp::{ParseTimestampError, Timestamp};
pub use tracker::{Guard, Tracker};

/// The types that the hidden items of the sealed [`kinds`] traits name, reachable only so
/// that those signatures are public. Not an API: nothing here is covered by semantic
/// versioning, and no crate but this one can implement a kind.
#[doc(hidden)]
pub mod __private {
    pub use crate::cpu::{CpuSummary, Data as CpuData, PythonCpuRecord, Reading as CpuReading};
    pub use crate::engine::{Engine, Shared, Slot};
    pub use crate::generation::{NoPythonRecord, Streaming};
    pub use crate::label::Lane;
    pub use crate::latency::{PythonLatencyRecord, Timing};
    pub use crate::log::RecordLog;
    pub use crate::memory::{Data as MemoryData, MemorySummary, Probed, PythonMemoryRecord};
    pub use crate::sampled::{Run, Session as SampledSession};
    pub use crate::throughput::{
        LabelWindow, PythonThroughputRecord, RateWindow, Session as ThroughputSession,
        ThroughputSummary,
    };
    pub use crate::tracker::{Settings, Summary};
}
pub use units::{MemoryUnit, RateUnit, TimeUnit};

/// The README's examples, compiled and run as doctests so they cannot rot (the exporters'
/// examples only with their features, as the README's test command enables them all).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
