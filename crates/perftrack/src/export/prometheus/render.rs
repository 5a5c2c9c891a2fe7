//! Each tracker kind as metric families, and the label cap.

#[allow(
    clippy::wildcard_imports,
    reason = "the exporter's modules share its imports"
)]
use super::*;

/// Keeps at most `max` distinct labels per source, remembered across scrapes; the rest merge
/// into [`OVERFLOW_LABEL`]. The unlabelled `""` and `"_other"` always pass.
pub(super) fn cap<T>(
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
pub(super) fn series_labels<'a>(
    name: Option<&'a str>,
    label: &'a str,
) -> Vec<(&'static str, &'a str)> {
    let mut labels = Vec::with_capacity(3);
    if let Some(name) = name {
        labels.push(("tracker", name));
    }
    if !label.is_empty() {
        labels.push(("label", label));
    }
    labels
}

/// One exported label of a latency tracker: its carried totals, and its distribution now
/// (`None` for a label kept only by its carried totals after a reset).
struct LatencySeries<'a> {
    label: String,
    totals: Totals,
    dist: Option<&'a Distribution>,
}

pub(super) fn render_latency(
    out: &mut Writer,
    sources: &[LatencySource],
    config: &PrometheusConfig,
) {
    let data: Vec<(u64, BTreeMap<String, Distribution>)> = sources
        .iter()
        .map(|s| {
            let snapshot = s.tracker.snapshot();
            // A label whose measurements are all still running has no series yet.
            let dists = snapshot
                .labels
                .into_iter()
                .filter(|(_, dist)| dist.count() > 0)
                .collect();
            let dists = cap(&s.admitted, config.max_label_values, dists, |a, b| {
                a.merge(&b);
            });
            (snapshot.epoch, dists)
        })
        .collect();
    let series: Vec<Vec<LatencySeries<'_>>> = sources
        .iter()
        .zip(&data)
        .map(|(source, (epoch, dists))| {
            let mut carry = lock(&source.carry);
            carry.begin(*epoch);
            let labels: BTreeSet<String> = dists.keys().chain(carry.carried()).cloned().collect();
            let series: Vec<LatencySeries<'_>> = labels
                .into_iter()
                .map(|label| {
                    let dist = dists.get(&label);
                    let buckets = source.label_buckets.get(&label).unwrap_or(&source.buckets);
                    let bounds = buckets.bounds();
                    let mut current = Totals {
                        buckets: vec![0; bounds.len()],
                        ..Totals::default()
                    };
                    if let Some(dist) = dist {
                        dist.counts_at_most(bounds, &mut current.buckets);
                        current.count = dist.count();
                        current.sum = dist.sum();
                        (current.failed, current.cancelled) = dist.failed_cancelled();
                    }
                    let totals = carry.export(&label, &current);
                    LatencySeries {
                        label,
                        totals,
                        dist,
                    }
                })
                .collect();
            carry.finish(|label| series.iter().any(|s| s.label == label));
            series
        })
        .collect();

    out.family(
        "perftrack_latency_seconds",
        "histogram",
        "Duration of each measured operation, by label.",
    );
    for (source, series) in sources.iter().zip(&series) {
        for s in series {
            let buckets = source
                .label_buckets
                .get(&s.label)
                .unwrap_or(&source.buckets);
            let labels = series_labels(source.name.as_deref(), &s.label);
            out.histogram(
                "perftrack_latency_seconds",
                &labels,
                buckets.bounds(),
                &s.totals,
            );
        }
    }

    if config.quantiles {
        out.family(
            "perftrack_latency_quantile_seconds",
            "summary",
            "Percentiles of each operation's duration since start, exact or within 0.55 %.",
        );
        for (source, series) in sources.iter().zip(&series) {
            for s in series {
                let Some(stats) = s.dist.and_then(|d| d.statistics(1.0, "s")) else {
                    continue;
                };
                let labels = series_labels(source.name.as_deref(), &s.label);
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
                    Value::Float(s.totals.sum),
                );
                out.sample(
                    "perftrack_latency_quantile_seconds_count",
                    &labels,
                    Value::Int(s.totals.count),
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
        for (source, series) in sources.iter().zip(&series) {
            for s in series {
                let labels = series_labels(source.name.as_deref(), &s.label);
                let n = if failed {
                    s.totals.failed
                } else {
                    s.totals.cancelled
                };
                out.sample(family, &labels, Value::Int(n));
            }
        }
    }
}

pub(super) fn render_throughput(
    out: &mut Writer,
    sources: &[ThroughputSource],
    config: &PrometheusConfig,
) {
    // Per source: label, events exported (carried across resets), rate now.
    let data: Vec<Vec<(String, u64, Option<f64>)>> = sources
        .iter()
        .map(|s| {
            let snapshot = s.tracker.snapshot();
            let windows = snapshot
                .labels
                .into_iter()
                .map(|(label, t)| (label, (t.events_total, t.window_events_per_second)))
                .collect();
            let windows = cap(&s.admitted, config.max_label_values, windows, |a, b| {
                a.0 = a.0.saturating_add(b.0);
                a.1 = match (a.1, b.1) {
                    (Some(x), Some(y)) => Some(x + y),
                    (x, y) => x.or(y),
                };
            });
            let mut carry = lock(&s.carry);
            carry.begin(snapshot.epoch);
            let labels: BTreeSet<String> = windows.keys().chain(carry.carried()).cloned().collect();
            let series: Vec<(String, u64, Option<f64>)> = labels
                .into_iter()
                .map(|label| {
                    let (total, rate) = windows.get(&label).copied().unwrap_or((0, None));
                    let current = Totals {
                        count: total,
                        ..Totals::default()
                    };
                    let exported = carry.export(&label, &current).count;
                    (label, exported, rate)
                })
                .collect();
            carry.finish(|label| series.iter().any(|(l, _, _)| l == label));
            series
        })
        .collect();
    out.family(
        "perftrack_throughput_events_total",
        "counter",
        "Events counted (queries, documents, tokens), by label.",
    );
    for (source, series) in sources.iter().zip(&data) {
        for (label, total, _) in series {
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
    for (source, series) in sources.iter().zip(&data) {
        for (label, _, rate) in series {
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
pub(super) const MEMORY_GAUGES: [(&str, &str, &str); 12] = [
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

pub(super) fn render_memory(out: &mut Writer, sources: &[(MemoryUsageTracker, Option<String>)]) {
    let readings: Vec<Vec<(&str, f64)>> = sources
        .iter()
        .map(|(t, _)| t.current_bytes().readings().collect())
        .collect();
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

pub(super) fn render_cpu(out: &mut Writer, sources: &[CpuSource]) {
    let mut readings = Vec::with_capacity(sources.len());
    for source in sources {
        let now = source.tracker.counters();
        let mut previous = lock(&source.previous);
        let snapshot = source.tracker.usage_between(&previous, &now);
        let seconds = now.process_cpu_seconds();
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
