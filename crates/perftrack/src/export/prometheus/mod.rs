//! The Prometheus text exposition format (version 0.0.4) for any set of trackers, and a small
//! `/metrics` endpoint on a background thread.
//!
//! Everything is computed when a scrape asks for it: recording never pays for the exporter.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::session::lock;
use crate::{
    CpuCounters, CpuUsageTracker, Distribution, Error, GenerationCounter, GenerationFigure,
    GenerationSummary, GenerationTracker, LatencyTracker, MemoryUsageTracker, OVERFLOW_LABEL,
    Result, ThroughputTracker,
};

/// The `Content-Type` of the text exposition format that [`PrometheusExporter::render`]
/// produces.
///
/// ```
/// assert!(perftrack::PROMETHEUS_CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
/// ```
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

mod buckets;
mod carry;
mod generation;
mod render;
mod server;
mod text;

#[allow(
    clippy::wildcard_imports,
    reason = "the exporter's modules share their helpers"
)]
use self::{carry::Totals, generation::*, render::*, server::*, text::*};
pub use buckets::Buckets;
pub use server::MetricsServer;

/// The configuration of a [`PrometheusExporter`].
///
/// ```
/// use perftrack::PrometheusConfig;
///
/// let config: PrometheusConfig = serde_json::from_str(r#"{"max_label_values": 20}"#)?;
/// assert_eq!(config.max_label_values, 20);
/// assert!(config.quantiles);
/// assert!(serde_json::from_str::<PrometheusConfig>(r#"{"latency_buckets": [2, 1]}"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Latency histogram bounds in seconds for every latency tracker and label that has no
    /// bounds of its own ([`LatencyExport`]). Default [`Buckets::latency`]: 1 ms to 81.92 s.
    pub latency_buckets: Buckets,
    /// How many distinct label values each added tracker exports. Labels are admitted in the
    /// order scrapes first see them (in byte order within one scrape) and keep their series;
    /// later ones are merged into one `label="_other"` series, so a label built from
    /// unbounded text (a query) cannot grow the output without bound. Default `100`.
    pub max_label_values: usize,
    /// Whether latency percentiles (p50, p90, p95, p99) from the trackers' own statistics are
    /// exported too, as the summary `perftrack_latency_quantile_seconds`. Default `true`.
    pub quantiles: bool,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            latency_buckets: Buckets::latency(),
            max_label_values: 100,
            quantiles: true,
        }
    }
}

/// How one latency tracker is exported ([`PrometheusExporter::add_latency`]).
///
/// ```
/// use perftrack::{Buckets, LatencyExport};
///
/// let options = LatencyExport {
///     tracker: Some("ingest".to_owned()),
///     label_buckets: [("embedding".to_owned(), Buckets::new(vec![0.0005, 0.001, 0.002])?)].into(),
///     ..Default::default()
/// };
/// assert!(options.buckets.is_none());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatencyExport {
    /// The value of a `tracker` label on every series of this tracker, to tell several
    /// latency trackers apart. Default none (no `tracker` label).
    pub tracker: Option<String>,
    /// Histogram bounds for this tracker; default the exporter's `latency_buckets`.
    pub buckets: Option<Buckets>,
    /// Histogram bounds for single labels of this tracker, by label. Default none.
    pub label_buckets: BTreeMap<String, Buckets>,
}

/// Renders trackers in the Prometheus text exposition format and serves them on `/metrics`.
///
/// Names follow Prometheus conventions: a `perftrack_` prefix, base units (seconds, bytes),
/// `_total` on counters, ratios 0–1, each tracker label as the Prometheus label `label`
/// (`perftrack_label` for generation, whose families follow the OpenTelemetry GenAI names):
///
/// | tracker | metrics |
/// |---|---|
/// | latency | `perftrack_latency_seconds` (histogram), `perftrack_latency_quantile_seconds` (summary), `perftrack_latency_failed_total`, `perftrack_latency_cancelled_total` |
/// | throughput | `perftrack_throughput_events_total` (counter), `perftrack_throughput_events_per_second` (gauge, over the tracker's window) |
/// | memory | `perftrack_process_resident_memory_bytes`, `…_virtual_memory_bytes`, `…_resident_memory_max_bytes`, `perftrack_system_memory_{total,available,used,free}_bytes`, `perftrack_cgroup_memory_limit_bytes`, `perftrack_gpu_memory_{total,used,free}_bytes`, `perftrack_gpu_process_memory_used_bytes` (gauges, read at scrape time) |
/// | CPU | `perftrack_process_cpu_seconds_total` (counter), `perftrack_system_cpu_utilization_ratio`, `perftrack_cpu_utilization_ratio{core="…"}` (gauges, since the previous scrape) |
/// | generation | a histogram per row of the naming table ([`GenerationFigure`]: its `prometheus_name` and `buckets`), `perftrack_generation_failed_total`, `perftrack_generation_cancelled_total`, `perftrack_generation_slo_met_total` (with objectives); see [`add_generation`](Self::add_generation) |
///
/// `_count` and `_sum` of a histogram are exact. Bucket counts are exact while a label holds
/// exact values (`exact_limit`); beyond that they come from the label's sketch, where only
/// values within 0.55 % of a bucket bound can be counted on the wrong side of it. A bucket never
/// decreases between scrapes: when a label leaves exact mode, each bucket keeps the larger of
/// its previous and its new count, still within that bound.
///
/// Counters never go backwards, not even across a tracker's `reset` or `load_metrics`: the
/// exporter adds what it exported before the reset to what the tracker counts after it. So
/// after a reset every bucket, `_count`, `_sum`, `_failed_total`, `_cancelled_total` and
/// `perftrack_throughput_events_total` equals its value at the last scrape before the reset
/// plus the new measurements (a label not used since keeps its last values); the quantiles and
/// rates are those of the new measurements alone. A `merge_metrics` adds to the tracker's
/// counts, so its series simply grow.
///
/// The exporter is `Clone + Send + Sync`; clones share their trackers.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyExport, LatencyTracker, PrometheusConfig, PrometheusExporter};
/// use std::time::Duration;
///
/// let latency = LatencyTracker::new(LatencyConfig::default());
/// latency.record("retrieval", Duration::from_millis(30));
///
/// let exporter = PrometheusExporter::new(PrometheusConfig::default());
/// exporter.add_latency(&latency, LatencyExport::default())?;
/// let text = exporter.render();
/// assert!(text.contains("perftrack_latency_seconds_bucket{label=\"retrieval\",le=\"0.04\"} 1"));
/// assert!(text.contains("perftrack_latency_seconds_count{label=\"retrieval\"} 1"));
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PrometheusExporter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: PrometheusConfig,
    sources: Mutex<Sources>,
}

#[derive(Debug, Default)]
struct Sources {
    latency: Vec<LatencySource>,
    throughput: Vec<ThroughputSource>,
    memory: Vec<(MemoryUsageTracker, Option<String>)>,
    cpu: Vec<CpuSource>,
    generation: Vec<GenerationSource>,
}

#[derive(Debug)]
struct LatencySource {
    tracker: LatencyTracker,
    name: Option<String>,
    buckets: Buckets,
    label_buckets: BTreeMap<String, Buckets>,
    admitted: Mutex<BTreeSet<String>>,
    /// What previous scrapes exported, so that no counter or bucket ever decreases.
    carry: Mutex<carry::Carry>,
}

#[derive(Debug)]
struct ThroughputSource {
    tracker: ThroughputTracker,
    name: Option<String>,
    admitted: Mutex<BTreeSet<String>>,
    /// What previous scrapes exported, so that no counter ever decreases.
    carry: Mutex<carry::Carry>,
}

#[derive(Debug)]
struct CpuSource {
    tracker: CpuUsageTracker,
    name: Option<String>,
    previous: Mutex<CpuCounters>,
}

impl PrometheusExporter {
    /// An exporter with no trackers yet.
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter};
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// assert_eq!(exporter.render(), "");
    /// ```
    pub fn new(config: PrometheusConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                sources: Mutex::new(Sources::default()),
            }),
        }
    }

    /// The configuration the exporter was built with.
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter};
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// assert_eq!(exporter.config().max_label_values, 100);
    /// ```
    pub fn config(&self) -> &PrometheusConfig {
        &self.inner.config
    }

    /// Exports a latency tracker: a histogram, percentiles and failure counters per label. A
    /// second latency tracker needs a distinct `options.tracker` name, or this is an
    /// [`Error::InvalidConfig`].
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyExport, LatencyTracker, PrometheusConfig, PrometheusExporter};
    ///
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// let a = LatencyTracker::new(LatencyConfig::default());
    /// let b = LatencyTracker::new(LatencyConfig::default());
    /// exporter.add_latency(&a, LatencyExport::default())?;
    /// assert!(exporter.add_latency(&b, LatencyExport::default()).is_err());
    /// exporter.add_latency(&b, LatencyExport { tracker: Some("batch".into()), ..Default::default() })?;
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_latency(&self, tracker: &LatencyTracker, options: LatencyExport) -> Result<()> {
        let mut sources = lock(&self.inner.sources);
        let name = super::check_name(
            "latency",
            sources.latency.iter().map(|s| &s.name),
            options.tracker.as_deref(),
        )?;
        sources.latency.push(LatencySource {
            tracker: tracker.clone(),
            name,
            buckets: options
                .buckets
                .unwrap_or_else(|| self.inner.config.latency_buckets.clone()),
            label_buckets: options.label_buckets,
            admitted: Mutex::default(),
            carry: Mutex::default(),
        });
        Ok(())
    }

    /// Exports a throughput tracker: every label's events so far (a counter) and its rate
    /// over the tracker's window (a gauge). `name` becomes a `tracker` label; a second
    /// throughput tracker needs a distinct one.
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter, ThroughputConfig, ThroughputTracker};
    ///
    /// let throughput = ThroughputTracker::new(ThroughputConfig::default());
    /// throughput.record("queries", 3);
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// exporter.add_throughput(&throughput, None)?;
    /// assert!(exporter.render().contains("perftrack_throughput_events_total{label=\"queries\"} 3"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_throughput(&self, tracker: &ThroughputTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.inner.sources);
        let name = super::check_name(
            "throughput",
            sources.throughput.iter().map(|s| &s.name),
            name,
        )?;
        sources.throughput.push(ThroughputSource {
            tracker: tracker.clone(),
            name,
            admitted: Mutex::default(),
            carry: Mutex::default(),
        });
        Ok(())
    }

    /// Exports a memory tracker's readings, taken at each scrape for the process it watches:
    /// resident and virtual memory, the kernel's peak, system, cgroup and GPU memory, in
    /// bytes. `name` becomes a `tracker` label; a second memory tracker needs a distinct one.
    ///
    /// ```
    /// use perftrack::{MemoryConfig, MemoryUsageTracker, PrometheusConfig, PrometheusExporter};
    ///
    /// let memory = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// exporter.add_memory(&memory, None)?;
    /// # #[cfg(target_os = "linux")]
    /// assert!(exporter.render().contains("\nperftrack_process_resident_memory_bytes "));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_memory(&self, tracker: &MemoryUsageTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.inner.sources);
        let name = super::check_name("memory", sources.memory.iter().map(|(_, n)| n), name)?;
        sources.memory.push((tracker.clone(), name));
        Ok(())
    }

    /// Exports a CPU tracker's readings for the process it watches: its CPU seconds (a
    /// counter), and the system's and each core's utilisation since the previous scrape (or
    /// since this call), 0–1. `name` becomes a `tracker` label; a second CPU tracker needs a
    /// distinct one.
    ///
    /// ```
    /// use perftrack::{CpuConfig, CpuUsageTracker, PrometheusConfig, PrometheusExporter};
    ///
    /// let cpu = CpuUsageTracker::new(CpuConfig::default());
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// exporter.add_cpu(&cpu, None)?;
    /// # #[cfg(target_os = "linux")]
    /// assert!(exporter.render().contains("# TYPE perftrack_process_cpu_seconds_total counter"));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_cpu(&self, tracker: &CpuUsageTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.inner.sources);
        let name = super::check_name("CPU", sources.cpu.iter().map(|s| &s.name), name)?;
        sources.cpu.push(CpuSource {
            previous: Mutex::new(tracker.counters()),
            tracker: tracker.clone(),
            name,
        });
        Ok(())
    }

    /// Exports a generation tracker (LLM requests), computed from its snapshot at each
    /// scrape: for every row of the naming table ([`GenerationFigure::ALL`]) a histogram named
    /// by its [`prometheus_name`](crate::FigureNames::prometheus_name), with the row's
    /// `buckets` and `description` (input and output token usage share one family, told
    /// apart by `gen_ai_token_type`); and per label the counters
    /// `perftrack_generation_failed_total`, `perftrack_generation_cancelled_total` and, when
    /// the tracker has objectives, `perftrack_generation_slo_met_total`.
    ///
    /// Series carry the tracker's label as `perftrack_label` (none for the unlabelled `""`),
    /// `gen_ai_operation_name` and `gen_ai_provider_name` from its configuration, and `name`
    /// as a `tracker` label; a second generation tracker needs a distinct `name`, or this is
    /// an [`Error::InvalidConfig`]. Times are in seconds, token counts in tokens; counts never
    /// decrease, across a `reset` or `load_metrics` too, and labels are capped at
    /// `max_label_values` as for the other kinds.
    ///
    /// ```
    /// use perftrack::{
    ///     GenerationConfig, GenerationFigure, GenerationTracker, ManualClock, PrometheusConfig,
    ///     PrometheusExporter,
    /// };
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = GenerationTracker::with_clock(GenerationConfig::default(), clock.clone());
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// exporter.add_generation(&tracker, None)?;
    /// assert!(exporter.add_generation(&tracker, None).is_err());
    ///
    /// let mut request = tracker.track("answer");
    /// clock.advance(Duration::from_millis(150)); // 150 ms to the first token
    /// request.tokens(1);
    /// request.stop();
    ///
    /// let ttft = GenerationFigure::TimeToFirstChunk.names().prometheus_name;
    /// let series = r#"perftrack_label="answer",gen_ai_operation_name="chat",gen_ai_provider_name="unknown""#;
    /// let text = exporter.render();
    /// assert!(text.contains(&format!("{ttft}_bucket{{{series},le=\"0.08\"}} 0")));
    /// assert!(text.contains(&format!("{ttft}_bucket{{{series},le=\"0.16\"}} 1")));
    /// assert!(text.contains(&format!("{ttft}_count{{{series}}} 1")));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn add_generation(&self, tracker: &GenerationTracker, name: Option<&str>) -> Result<()> {
        let mut sources = lock(&self.inner.sources);
        let name = super::check_name(
            "generation",
            sources.generation.iter().map(|s| &s.name),
            name,
        )?;
        sources
            .generation
            .push(GenerationSource::new(tracker, name));
        Ok(())
    }

    /// Every added tracker's metrics in the Prometheus text exposition format (version
    /// 0.0.4, [`PROMETHEUS_CONTENT_TYPE`]), families in a fixed order, series sorted by label.
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter, ThroughputConfig, ThroughputTracker};
    ///
    /// let throughput = ThroughputTracker::new(ThroughputConfig::default());
    /// throughput.record("say \"hi\"\n", 1);
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// exporter.add_throughput(&throughput, None)?;
    /// // Label values are escaped as the format requires.
    /// assert!(exporter.render().contains(r#"{label="say \"hi\"\n"} 1"#));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn render(&self) -> String {
        let sources = lock(&self.inner.sources);
        let config = &self.inner.config;
        let mut out = Writer::default();
        if !sources.latency.is_empty() {
            render_latency(&mut out, &sources.latency, config);
        }
        if !sources.throughput.is_empty() {
            render_throughput(&mut out, &sources.throughput, config);
        }
        if !sources.memory.is_empty() {
            render_memory(&mut out, &sources.memory);
        }
        if !sources.cpu.is_empty() {
            render_cpu(&mut out, &sources.cpu);
        }
        if !sources.generation.is_empty() {
            render_generation(&mut out, &sources.generation, config);
        }
        out.text
    }

    /// Serves [`render`](Self::render) on `http://{addr}/metrics` from a background thread
    /// until the returned server is dropped or shut down. Port 0 picks a free port
    /// ([`MetricsServer::local_addr`] tells which). Prefer [`serve_local`](Self::serve_local)
    /// unless other machines must reach the endpoint.
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter};
    /// use std::net::SocketAddr;
    ///
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// let server = exporter.serve(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// assert_ne!(server.local_addr().port(), 0);
    /// server.shutdown();
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn serve(&self, addr: SocketAddr) -> Result<MetricsServer> {
        let failed = |reason: String| Error::Serve {
            address: addr.to_string(),
            reason,
        };
        let listener = TcpListener::bind(addr).map_err(|e| failed(e.to_string()))?;
        let local_addr = listener.local_addr().map_err(|e| failed(e.to_string()))?;
        let server =
            tiny_http::Server::from_listener(listener, None).map_err(|e| failed(e.to_string()))?;
        let server = Arc::new(server);
        let thread = {
            let server = Arc::clone(&server);
            let exporter = self.clone();
            std::thread::Builder::new()
                .name("perftrack-metrics".to_owned())
                .spawn(move || answer(&server, &exporter))
                .map_err(|e| failed(e.to_string()))?
        };
        Ok(MetricsServer {
            local_addr,
            server,
            thread: Some(thread),
        })
    }

    /// [`serve`](Self::serve) on `127.0.0.1:port`, reachable from this machine only.
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter};
    /// let exporter = PrometheusExporter::new(PrometheusConfig::default());
    /// let server = exporter.serve_local(0)?;
    /// assert!(server.local_addr().ip().is_loopback());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn serve_local(&self, port: u16) -> Result<MetricsServer> {
        self.serve(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescape(escaped: &str) -> String {
        let mut out = String::new();
        let mut chars = escaped.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    proptest::proptest! {
        /// Escaping reads back to the original, and the escaped text never holds a raw
        /// newline or an unescaped double quote.
        #[test]
        fn label_values_escape_and_read_back(value in ".*") {
            let mut escaped = String::new();
            escape_label_value(&value, &mut escaped);
            proptest::prop_assert!(!escaped.contains('\n'));
            let bytes = escaped.as_bytes();
            for (i, b) in bytes.iter().enumerate() {
                if *b == b'"' {
                    let backslashes = bytes[..i].iter().rev().take_while(|c| **c == b'\\').count();
                    proptest::prop_assert!(backslashes % 2 == 1);
                }
            }
            proptest::prop_assert_eq!(unescape(&escaped), value);
        }
    }

    #[test]
    fn floats_are_written_as_the_format_wants() {
        assert_eq!(format_float(0.01), "0.01");
        assert_eq!(format_float(81.92), "81.92");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(3.0), "3");
    }

    #[test]
    fn the_label_cap_is_stable_across_scrapes_and_merges_the_rest() {
        let admitted = Mutex::default();
        let first: BTreeMap<String, u64> = [("b", 1), ("c", 2), ("", 4)]
            .into_iter()
            .map(|(l, n)| (l.to_owned(), n))
            .collect();
        let kept = cap(&admitted, 2, first, |a, b| *a += b);
        assert_eq!(kept.len(), 3);
        // "a" sorts first but arrived later: "b" and "c" keep their series.
        let second: BTreeMap<String, u64> = [("a", 8), ("b", 1), ("c", 2), ("_other", 16)]
            .into_iter()
            .map(|(l, n)| (l.to_owned(), n))
            .collect();
        let kept = cap(&admitted, 2, second, |a, b| *a += b);
        let kept: Vec<_> = kept.into_iter().collect();
        assert_eq!(
            kept,
            [("_other".into(), 24), ("b".into(), 1), ("c".into(), 2)]
        );
    }

    #[test]
    fn default_latency_buckets_double_from_ten_milliseconds() {
        let b = Buckets::latency();
        let bounds = b.bounds();
        for w in bounds[3..].windows(2) {
            assert!((w[1] / w[0] - 2.0).abs() < 1e-12);
        }
        assert!(bounds.windows(2).all(|w| w[0] < w[1]));
    }
}
