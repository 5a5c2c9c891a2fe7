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

use crate::cpu::Counters;
use crate::session::lock;
use crate::{
    CpuUsageTracker, Distribution, Error, LatencyTracker, MemoryUsageTracker, OVERFLOW_LABEL,
    Result, ThroughputTracker,
};

/// The `Content-Type` of the text exposition format that [`PrometheusExporter::render`]
/// produces.
///
/// ```
/// assert!(perftrack::PROMETHEUS_CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
/// ```
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram bucket upper bounds, in seconds: finite, strictly increasing, at least one. The
/// `+Inf` bucket is always added.
///
/// ```
/// use perftrack::Buckets;
///
/// let default = Buckets::latency();
/// assert_eq!(default.bounds().first(), Some(&0.001));
/// assert_eq!(default.bounds().last(), Some(&81.92));
///
/// let custom = Buckets::new(vec![0.05, 0.1, 0.5])?;
/// assert_eq!(custom.bounds().len(), 3);
/// assert!(Buckets::new(vec![0.1, 0.1]).is_err());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct Buckets(Vec<f64>);

impl Buckets {
    /// Checks and wraps bucket upper bounds (seconds for latency).
    ///
    /// ```
    /// let err = perftrack::Buckets::new(vec![]).unwrap_err();
    /// assert!(err.to_string().contains("buckets"));
    /// ```
    pub fn new(bounds: Vec<f64>) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidConfig {
            key: "buckets".to_owned(),
            reason,
        };
        if bounds.is_empty() {
            return Err(invalid("at least one bucket bound is needed".to_owned()));
        }
        if let Some(bad) = bounds.iter().find(|b| !b.is_finite()) {
            return Err(invalid(format!(
                "bound {bad} is not finite (the +Inf bucket is always added)"
            )));
        }
        if let Some(pair) = bounds.windows(2).find(|w| w[0] >= w[1]) {
            return Err(invalid(format!(
                "bounds must increase strictly, but {} is followed by {}",
                pair[0], pair[1]
            )));
        }
        Ok(Self(bounds))
    }

    /// The default for latency: 1 ms, 2.5 ms and 5 ms for fast retrieval stages, then the
    /// OpenTelemetry GenAI operation-duration boundaries 0.01, 0.02, 0.04 … 81.92 s.
    ///
    /// ```
    /// let b = perftrack::Buckets::latency();
    /// assert_eq!(&b.bounds()[..5], &[0.001, 0.0025, 0.005, 0.01, 0.02]);
    /// assert_eq!(b.bounds().len(), 17);
    /// ```
    pub fn latency() -> Self {
        let mut bounds = vec![0.001, 0.0025, 0.005];
        bounds.extend((0..14).map(|i| 0.01 * f64::from(1u32 << i)));
        Self(bounds)
    }

    /// `count` bounds from `start`, each `factor` times the one before.
    ///
    /// ```
    /// let b = perftrack::Buckets::exponential(0.001, 10.0, 4)?;
    /// assert_eq!(b.bounds().len(), 4);
    /// assert!((b.bounds()[3] - 1.0).abs() < 1e-12);
    /// assert!(perftrack::Buckets::exponential(0.0, 2.0, 3).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Self> {
        if !(start > 0.0 && factor > 1.0) {
            return Err(Error::InvalidConfig {
                key: "buckets".to_owned(),
                reason: format!(
                    "exponential buckets need start > 0 and factor > 1 (got {start} and {factor})"
                ),
            });
        }
        let bounds = std::iter::successors(Some(start), |b| Some(b * factor))
            .take(count)
            .collect();
        Self::new(bounds)
    }

    /// The upper bounds, ascending.
    ///
    /// ```
    /// assert_eq!(perftrack::Buckets::new(vec![1.0])?.bounds(), &[1.0]);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn bounds(&self) -> &[f64] {
        &self.0
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Self::latency()
    }
}

impl TryFrom<Vec<f64>> for Buckets {
    type Error = Error;

    fn try_from(bounds: Vec<f64>) -> Result<Self> {
        Self::new(bounds)
    }
}

impl From<Buckets> for Vec<f64> {
    fn from(buckets: Buckets) -> Self {
        buckets.0
    }
}

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
/// `_total` on counters, ratios 0–1, each tracker label as the Prometheus label `label`:
///
/// | tracker | metrics |
/// |---|---|
/// | latency | `perftrack_latency_seconds` (histogram), `perftrack_latency_quantile_seconds` (summary), `perftrack_latency_failed_total`, `perftrack_latency_cancelled_total` |
/// | throughput | `perftrack_throughput_events_total` (counter), `perftrack_throughput_events_per_second` (gauge, over the tracker's window) |
/// | memory | `perftrack_process_resident_memory_bytes`, `…_virtual_memory_bytes`, `…_resident_memory_max_bytes`, `perftrack_system_memory_{total,available,used,free}_bytes`, `perftrack_cgroup_memory_limit_bytes`, `perftrack_gpu_memory_{total,used,free}_bytes`, `perftrack_gpu_process_memory_used_bytes` (gauges, read at scrape time) |
/// | CPU | `perftrack_process_cpu_seconds_total` (counter), `perftrack_system_cpu_utilization_ratio`, `perftrack_cpu_utilization_ratio{core="…"}` (gauges, since the previous scrape) |
///
/// `_count` and `_sum` of a histogram are exact. Bucket counts are exact while a label holds
/// exact values (`exact_limit`); beyond that they come from the label's sketch, where only
/// values within 1 % of a bucket bound can be counted on the wrong side of it. A bucket never
/// decreases between scrapes (unless the tracker is reset): when a label leaves exact mode,
/// each bucket keeps the larger of its previous and its new count, still within that bound.
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
}

#[derive(Debug)]
struct LatencySource {
    tracker: LatencyTracker,
    name: Option<String>,
    buckets: Buckets,
    label_buckets: BTreeMap<String, Buckets>,
    admitted: Mutex<BTreeSet<String>>,
    /// Per exported label, the count and bucket counts of the previous scrape, so that no
    /// bucket ever decreases when a label's counts move from exact values to its sketch.
    previous: Mutex<BTreeMap<String, (u64, Vec<u64>)>>,
}

#[derive(Debug)]
struct ThroughputSource {
    tracker: ThroughputTracker,
    name: Option<String>,
    admitted: Mutex<BTreeSet<String>>,
}

#[derive(Debug)]
struct CpuSource {
    tracker: CpuUsageTracker,
    name: Option<String>,
    previous: Mutex<Counters>,
}

/// A name given to a second tracker of a kind must differ from every other one's.
fn check_name<'a>(
    kind: &str,
    mut existing: impl Iterator<Item = &'a Option<String>>,
    name: Option<&str>,
) -> Result<Option<String>> {
    let name = name.filter(|n| !n.is_empty()).map(str::to_owned);
    if existing.any(|n| *n == name) {
        return Err(Error::InvalidConfig {
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
        let name = check_name(
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
            previous: Mutex::default(),
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
        let name = check_name(
            "throughput",
            sources.throughput.iter().map(|s| &s.name),
            name,
        )?;
        sources.throughput.push(ThroughputSource {
            tracker: tracker.clone(),
            name,
            admitted: Mutex::default(),
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
        let name = check_name("memory", sources.memory.iter().map(|(_, n)| n), name)?;
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
        let name = check_name("CPU", sources.cpu.iter().map(|s| &s.name), name)?;
        sources.cpu.push(CpuSource {
            previous: Mutex::new(tracker.export_counters()),
            tracker: tracker.clone(),
            name,
        });
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

/// Answers requests until the server is unblocked: `GET`/`HEAD /metrics` gets the metrics,
/// other paths 404, other methods 405.
fn answer(server: &tiny_http::Server, exporter: &PrometheusExporter) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("");
        let method = request.method();
        let is_read = matches!(method, tiny_http::Method::Get | tiny_http::Method::Head);
        let response = if path != "/metrics" {
            tiny_http::Response::from_string("not found; metrics are at /metrics\n")
                .with_status_code(404)
        } else if !is_read {
            tiny_http::Response::from_string("only GET and HEAD are allowed\n")
                .with_status_code(405)
        } else {
            let response = tiny_http::Response::from_string(exporter.render());
            match tiny_http::Header::from_bytes("Content-Type", PROMETHEUS_CONTENT_TYPE) {
                Ok(header) => response.with_header(header),
                Err(()) => response,
            }
        };
        // A scraper that hung up early is no concern of the server's.
        let _ = request.respond(response);
    }
}

/// A running `/metrics` endpoint; stops answering when dropped or shut down.
///
/// ```
/// use perftrack::{PrometheusConfig, PrometheusExporter};
/// let server = PrometheusExporter::new(PrometheusConfig::default()).serve_local(0)?;
/// println!("serving on {}", server.local_addr());
/// drop(server); // stops answering and joins the answering thread
/// # Ok::<(), perftrack::Error>(())
/// ```
pub struct MetricsServer {
    local_addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl MetricsServer {
    /// The address the endpoint listens on (with the port chosen, if 0 was asked for).
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter};
    /// let server = PrometheusExporter::new(PrometheusConfig::default()).serve_local(0)?;
    /// println!("scrape http://{}/metrics", server.local_addr());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops answering and joins the thread that answers. The HTTP crate's own accepting
    /// thread releases the port moments later, once it notices.
    ///
    /// ```
    /// use perftrack::{PrometheusConfig, PrometheusExporter};
    /// PrometheusExporter::new(PrometheusConfig::default()).serve_local(0)?.shutdown();
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            // The thread only renders and writes; a panic there has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Keeps at most `max` distinct labels per source, remembered across scrapes; the rest merge
/// into [`OVERFLOW_LABEL`]. The unlabelled `""` and `"_other"` always pass.
fn cap<T>(
    admitted: &Mutex<BTreeSet<String>>,
    max: usize,
    items: BTreeMap<String, T>,
    merge: impl Fn(&mut T, T),
) -> BTreeMap<String, T> {
    let mut admitted = lock(admitted);
    let mut kept = BTreeMap::new();
    let mut overflow: Option<T> = None;
    for (label, item) in items {
        let pass = label.is_empty()
            || label == OVERFLOW_LABEL
            || admitted.contains(&label)
            || (admitted.len() < max && admitted.insert(label.clone()));
        if pass {
            kept.insert(label, item);
        } else {
            match overflow.as_mut() {
                Some(o) => merge(o, item),
                None => overflow = Some(item),
            }
        }
    }
    if let Some(o) = overflow {
        match kept.get_mut(OVERFLOW_LABEL) {
            Some(other) => merge(other, o),
            None => {
                kept.insert(OVERFLOW_LABEL.to_owned(), o);
            }
        }
    }
    kept
}

/// The `tracker` and `label` labels of a series (each only when not empty).
fn series_labels<'a>(name: Option<&'a str>, label: &'a str) -> Vec<(&'static str, &'a str)> {
    let mut labels = Vec::with_capacity(3);
    if let Some(name) = name {
        labels.push(("tracker", name));
    }
    if !label.is_empty() {
        labels.push(("label", label));
    }
    labels
}

fn render_latency(out: &mut Writer, sources: &[LatencySource], config: &PrometheusConfig) {
    let data: Vec<BTreeMap<String, Distribution>> = sources
        .iter()
        .map(|s| {
            cap(
                &s.admitted,
                config.max_label_values,
                s.tracker.distributions(),
                |a, b| a.merge(&b),
            )
        })
        .collect();

    out.family(
        "perftrack_latency_seconds",
        "histogram",
        "Duration of each measured operation, by label.",
    );
    for (source, dists) in sources.iter().zip(&data) {
        let mut previous = lock(&source.previous);
        for (label, dist) in dists {
            let buckets = source.label_buckets.get(label).unwrap_or(&source.buckets);
            let bounds = buckets.bounds();
            let mut counts = vec![0; bounds.len()];
            dist.counts_at_most(bounds, &mut counts);
            let count = dist.count();
            match previous.get(label) {
                // Counts only fall on a reset or load; otherwise no bucket may decrease.
                Some((prev_count, prev)) if *prev_count <= count && prev.len() == counts.len() => {
                    for (c, p) in counts.iter_mut().zip(prev) {
                        *c = (*c).max(*p);
                    }
                }
                _ => {}
            }
            let labels = series_labels(source.name.as_deref(), label);
            for (bound, n) in bounds.iter().zip(&counts) {
                let le = format_float(*bound);
                out.sample_with(
                    "perftrack_latency_seconds_bucket",
                    &labels,
                    ("le", &le),
                    Value::Int(*n),
                );
            }
            out.sample_with(
                "perftrack_latency_seconds_bucket",
                &labels,
                ("le", "+Inf"),
                Value::Int(count),
            );
            out.sample(
                "perftrack_latency_seconds_sum",
                &labels,
                Value::Float(dist.sum()),
            );
            out.sample(
                "perftrack_latency_seconds_count",
                &labels,
                Value::Int(count),
            );
            previous.insert(label.clone(), (count, counts));
        }
        // Only labels exported now are remembered: the map stays within the label cap.
        previous.retain(|label, _| dists.contains_key(label));
    }

    if config.quantiles {
        out.family(
            "perftrack_latency_quantile_seconds",
            "summary",
            "Percentiles of each operation's duration since start, exact or within 1 %.",
        );
        for (source, dists) in sources.iter().zip(&data) {
            for (label, dist) in dists {
                let Some(stats) = dist.statistics(1.0, "s") else {
                    continue;
                };
                let labels = series_labels(source.name.as_deref(), label);
                for (q, v) in [
                    ("0.5", stats.p50),
                    ("0.9", stats.p90),
                    ("0.95", stats.p95),
                    ("0.99", stats.p99),
                ] {
                    out.sample_with(
                        "perftrack_latency_quantile_seconds",
                        &labels,
                        ("quantile", q),
                        Value::Float(v),
                    );
                }
                out.sample(
                    "perftrack_latency_quantile_seconds_sum",
                    &labels,
                    Value::Float(dist.sum()),
                );
                out.sample(
                    "perftrack_latency_quantile_seconds_count",
                    &labels,
                    Value::Int(dist.count()),
                );
            }
        }
    }

    for (family, help, failed) in [
        (
            "perftrack_latency_failed_total",
            "Measured operations that failed, by label.",
            true,
        ),
        (
            "perftrack_latency_cancelled_total",
            "Measured operations that were cancelled (dropped before completing), by label.",
            false,
        ),
    ] {
        out.family(family, "counter", help);
        for (source, dists) in sources.iter().zip(&data) {
            for (label, dist) in dists {
                let (f, c) = dist.failed_cancelled();
                let labels = series_labels(source.name.as_deref(), label);
                out.sample(family, &labels, Value::Int(if failed { f } else { c }));
            }
        }
    }
}

fn render_throughput(out: &mut Writer, sources: &[ThroughputSource], config: &PrometheusConfig) {
    let data: Vec<BTreeMap<String, (u64, Option<f64>)>> = sources
        .iter()
        .map(|s| {
            cap(
                &s.admitted,
                config.max_label_values,
                s.tracker.export_windows(),
                |a, b| {
                    a.0 = a.0.saturating_add(b.0);
                    a.1 = match (a.1, b.1) {
                        (Some(x), Some(y)) => Some(x + y),
                        (x, y) => x.or(y),
                    };
                },
            )
        })
        .collect();
    out.family(
        "perftrack_throughput_events_total",
        "counter",
        "Events counted (queries, documents, tokens), by label.",
    );
    for (source, windows) in sources.iter().zip(&data) {
        for (label, (total, _)) in windows {
            let labels = series_labels(source.name.as_deref(), label);
            out.sample(
                "perftrack_throughput_events_total",
                &labels,
                Value::Int(*total),
            );
        }
    }
    out.family(
        "perftrack_throughput_events_per_second",
        "gauge",
        "Events per second over the tracker's sliding window, by label.",
    );
    for (source, windows) in sources.iter().zip(&data) {
        for (label, (_, rate)) in windows {
            if let Some(rate) = rate {
                let labels = series_labels(source.name.as_deref(), label);
                out.sample(
                    "perftrack_throughput_events_per_second",
                    &labels,
                    Value::Float(*rate),
                );
            }
        }
    }
}

/// Memory readings and the gauges they become, in exposition order.
const MEMORY_GAUGES: [(&str, &str, &str); 12] = [
    (
        "process_rss",
        "perftrack_process_resident_memory_bytes",
        "Resident set size of the watched process (tree).",
    ),
    (
        "process_vms",
        "perftrack_process_virtual_memory_bytes",
        "Virtual memory size of the watched process (tree).",
    ),
    (
        "process_peak_rss",
        "perftrack_process_resident_memory_max_bytes",
        "The kernel's high-water mark of the watched process's resident set.",
    ),
    (
        "system_total",
        "perftrack_system_memory_total_bytes",
        "Physical memory of the system.",
    ),
    (
        "system_available",
        "perftrack_system_memory_available_bytes",
        "Memory available to new work without swapping.",
    ),
    (
        "system_used",
        "perftrack_system_memory_used_bytes",
        "System memory in use (total minus available).",
    ),
    (
        "system_free",
        "perftrack_system_memory_free_bytes",
        "System memory not used at all.",
    ),
    (
        "cgroup_limit",
        "perftrack_cgroup_memory_limit_bytes",
        "The memory limit of the process's cgroup.",
    ),
    (
        "gpu_total",
        "perftrack_gpu_memory_total_bytes",
        "The GPU's memory (device-wide).",
    ),
    (
        "gpu_used",
        "perftrack_gpu_memory_used_bytes",
        "GPU memory in use by every process (device-wide).",
    ),
    (
        "gpu_free",
        "perftrack_gpu_memory_free_bytes",
        "GPU memory free (device-wide).",
    ),
    (
        "gpu_process_used",
        "perftrack_gpu_process_memory_used_bytes",
        "GPU memory used by the watched process (tree).",
    ),
];

fn render_memory(out: &mut Writer, sources: &[(MemoryUsageTracker, Option<String>)]) {
    let readings: Vec<Vec<(&str, f64)>> = sources.iter().map(|(t, _)| t.export_reading()).collect();
    for (key, family, help) in MEMORY_GAUGES {
        let values: Vec<(Option<&str>, f64)> = sources
            .iter()
            .zip(&readings)
            .filter_map(|((_, name), reading)| {
                let value = reading.iter().find(|(k, _)| *k == key)?.1;
                Some((name.as_deref(), value))
            })
            .collect();
        // A reading this machine does not have (no GPU, no cgroup limit) is left out, never
        // exported as 0.
        if values.is_empty() {
            continue;
        }
        out.family(family, "gauge", help);
        for (name, value) in values {
            out.sample(family, &series_labels(name, ""), Value::Float(value));
        }
    }
}

fn render_cpu(out: &mut Writer, sources: &[CpuSource]) {
    let mut readings = Vec::with_capacity(sources.len());
    for source in sources {
        let now = source.tracker.export_counters();
        let mut previous = lock(&source.previous);
        let snapshot = source.tracker.export_between(&previous, &now);
        let seconds = now.process.map(|p| p.user_s + p.system_s);
        *previous = now;
        readings.push((source.name.as_deref(), seconds, snapshot));
    }
    out.family(
        "perftrack_process_cpu_seconds_total",
        "counter",
        "CPU time (user and system) used by the watched process (tree), in 10 ms ticks.",
    );
    for (name, seconds, _) in &readings {
        if let Some(s) = seconds {
            out.sample(
                "perftrack_process_cpu_seconds_total",
                &series_labels(*name, ""),
                Value::Float(*s),
            );
        }
    }
    out.family(
        "perftrack_system_cpu_utilization_ratio",
        "gauge",
        "Busy share of all cores since the previous scrape, 0-1.",
    );
    for (name, _, snapshot) in &readings {
        if let Some(system) = snapshot.system {
            out.sample(
                "perftrack_system_cpu_utilization_ratio",
                &series_labels(*name, ""),
                Value::Float(system / 100.0),
            );
        }
    }
    out.family(
        "perftrack_cpu_utilization_ratio",
        "gauge",
        "Busy share of each core the process may run on since the previous scrape, 0-1.",
    );
    for (name, _, snapshot) in &readings {
        for (core, percent) in snapshot.cores.iter() {
            let core = core.to_string();
            out.sample_with(
                "perftrack_cpu_utilization_ratio",
                &series_labels(*name, ""),
                ("core", &core),
                Value::Float(percent / 100.0),
            );
        }
    }
}

/// A sample's value.
enum Value {
    Int(u64),
    Float(f64),
}

/// Builds exposition text.
#[derive(Default)]
struct Writer {
    text: String,
}

impl Writer {
    /// `# HELP` and `# TYPE` lines. Help texts are fixed and hold no backslash or newline.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.line(name, labels, None, value);
    }

    fn sample_with(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        extra: (&str, &str),
        value: Value,
    ) {
        self.line(name, labels, Some(extra), value);
    }

    fn line(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        extra: Option<(&str, &str)>,
        value: Value,
    ) {
        self.text.push_str(name);
        let mut all = labels.iter().copied().chain(extra).peekable();
        if all.peek().is_some() {
            self.text.push('{');
            for (i, (key, value)) in all.enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(key);
                self.text.push_str("=\"");
                escape_label_value(value, &mut self.text);
                self.text.push('"');
            }
            self.text.push('}');
        }
        self.text.push(' ');
        match value {
            Value::Int(n) => {
                let _ = write!(self.text, "{n}");
            }
            Value::Float(x) => self.text.push_str(&format_float(x)),
        }
        self.text.push('\n');
    }
}

/// Escapes a label value as the text format requires: backslash, double quote and line feed.
fn escape_label_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A float as the text format writes it: the shortest decimal that reads back exactly,
/// `+Inf`, `-Inf` or `NaN`.
fn format_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x == f64::INFINITY {
        "+Inf".to_owned()
    } else if x == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        x.to_string()
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
