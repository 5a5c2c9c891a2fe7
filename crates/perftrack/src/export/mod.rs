//! Exporters: trackers out to Prometheus (feature `prometheus`) and to any OpenTelemetry
//! backend over OTLP (feature `otlp`), and `tracing` spans in (feature `tracing`).
//!
//! None adds work to recording: an OTLP push reads the same snapshots on its own thread
//! (exact exponential histograms from the sketch's grid); a Prometheus scrape computes its histograms and counters
//! when it is asked for, from the latency, throughput and generation trackers' typed snapshots
//! (and the memory and CPU trackers' readings), generation figures under the names of the one
//! naming table (`GenerationFigure`); the tracing layer records through
//! `LatencyTracker::record_ending` and, for spans read by the one span mapping
//! (`SpanMapping::map`) as generation requests, `GenerationTracker::record`: the trackers'
//! ordinary record paths.

#[cfg(feature = "otlp")]
mod otlp;
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

#[cfg(feature = "otlp")]
pub use otlp::{OtlpConfig, OtlpExporter, OtlpFailure, OtlpHistograms, OtlpStatus};

/// A name given to a second exported tracker of a kind must differ from every other one's.
#[cfg(any(feature = "prometheus", feature = "otlp"))]
fn check_name<'a>(
    kind: &str,
    mut existing: impl Iterator<Item = &'a Option<String>>,
    name: Option<&str>,
) -> crate::Result<Option<String>> {
    let name = name.filter(|n| !n.is_empty()).map(str::to_owned);
    if existing.any(|n| *n == name) {
        return Err(crate::Error::InvalidConfig {
            key: "tracker".to_owned(),
            reason: format!(
                "a {kind} tracker {} is already exported; give each one a distinct `tracker` name",
                match &name {
                    Some(n) => format!("named `{n}`"),
                    None => "without a name".to_owned(),
                }
            ),
        });
    }
    Ok(name)
}
