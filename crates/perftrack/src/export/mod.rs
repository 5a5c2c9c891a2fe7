//! Exporters: trackers out to Prometheus (feature `prometheus`), and `tracing` spans in
//! (feature `tracing`).
//!
//! Neither adds work to recording: a Prometheus scrape computes its histograms and counters
//! when it is asked for, from the latency, throughput and generation trackers' typed snapshots
//! (and the memory and CPU trackers' readings), generation figures under the names of the one
//! naming table (`GenerationFigure`); the tracing layer records through
//! `LatencyTracker::record_ending` and, for spans read by the one span mapping
//! (`SpanMapping::map`) as generation requests, `GenerationTracker::record`: the trackers'
//! ordinary record paths.

#[cfg(feature = "prometheus")]
mod prometheus;
#[cfg(feature = "tracing")]
mod tracing_layer;

#[cfg(feature = "prometheus")]
pub use prometheus::{
    Buckets, LatencyExport, MetricsServer, PROMETHEUS_CONTENT_TYPE, PrometheusConfig,
    PrometheusExporter,
};
#[cfg(feature = "tracing")]
pub use tracing_layer::{PerftrackLayer, TracingConfig};
