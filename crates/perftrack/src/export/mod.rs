//! Exporters: trackers out to Prometheus (feature `prometheus`), and `tracing` spans in
//! (feature `tracing`).
//!
//! Both read the trackers' own state: a Prometheus scrape computes its histograms from the
//! per-label distributions when it is asked for, and the tracing layer records through the
//! trackers' ordinary record path, so neither adds work to recording.

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
