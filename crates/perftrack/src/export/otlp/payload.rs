//! The exported trackers and the OTLP request built from their newest state: one resource,
//! one scope, and a metric per name with a point per tracker and label.

use std::sync::Mutex;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::config::Checked;
use super::points::{
    Attributes, HistogramPoints, Times, UnixNanos, count_point, gauge, int, string, sum,
    value_point,
};
use crate::session::lock;
use crate::tracker::Summary as _;
use crate::{
    CpuCounters, CpuUsageTracker, FigureNames, GENAI_CONVENTIONS_VERSION, GenerationCounter,
    GenerationFigure, GenerationTracker, LatencyTracker, MemoryUsageTracker, ThroughputTracker,
    Timestamp,
};

/// The attribute that names an exported tracker (when it was given a name).
pub(super) const TRACKER_KEY: &str = "perftrack.tracker";
/// The attribute that carries a tracker's label (absent for the unlabelled `""`).
pub(super) const LABEL_KEY: &str = "perftrack.label";

/// A CPU tracker with what the exporter read from it before: the counters when it was added
/// (the CPU-seconds sum starts there) and at the previous push (utilisation is measured since).
#[derive(Debug)]
pub(super) struct CpuSource {
    pub(super) tracker: CpuUsageTracker,
    pub(super) name: Option<String>,
    pub(super) base: CpuCounters,
    pub(super) start: UnixNanos,
    pub(super) previous: Mutex<CpuCounters>,
}

/// Every exported tracker, with the name that tells it from others of its kind.
#[derive(Debug, Default)]
pub(super) struct Sources {
    pub(super) latency: Vec<(LatencyTracker, Option<String>)>,
    pub(super) throughput: Vec<(ThroughputTracker, Option<String>)>,
    pub(super) memory: Vec<(MemoryUsageTracker, Option<String>)>,
    pub(super) cpu: Vec<CpuSource>,
    pub(super) generation: Vec<(GenerationTracker, Option<String>)>,
}

pub(super) fn unix_nanos(t: Timestamp) -> UnixNanos {
    u64::try_from(t.as_unix_nanos()).unwrap_or(0)
}

/// `perftrack.tracker` (when named) and `perftrack.label` (unless unlabelled).
fn attributes(name: Option<&str>, label: &str) -> Attributes {
    let mut attributes = Vec::with_capacity(2);
    if let Some(name) = name {
        attributes.push(string(TRACKER_KEY, name));
    }
    if !label.is_empty() {
        attributes.push(string(LABEL_KEY, label));
    }
    attributes
}

impl Sources {
    pub(super) fn is_empty(&self) -> bool {
        self.latency.is_empty()
            && self.throughput.is_empty()
            && self.memory.is_empty()
            && self.cpu.is_empty()
            && self.generation.is_empty()
    }

    /// The request for the trackers' state now: every label with measurements, cumulative
    /// since its epoch's start.
    pub(super) fn request(&self, checked: &Checked) -> ExportMetricsServiceRequest {
        let now = unix_nanos(Timestamp::now());
        let mut metrics = Vec::new();
        self.latency(checked, now, &mut metrics);
        self.throughput(now, &mut metrics);
        self.memory(now, &mut metrics);
        self.cpu(now, &mut metrics);
        self.generation(checked, now, &mut metrics);
        let mut resource = vec![string("service.name", &checked.service_name)];
        resource.extend(
            checked
                .config
                .resource_attributes
                .iter()
                .filter(|(k, _)| *k != "service.name")
                .map(|(k, v)| string(k, v)),
        );
        resource.extend([
            string("telemetry.sdk.name", "perftrack"),
            string("telemetry.sdk.language", "rust"),
            string("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ]);
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: resource,
                    dropped_attributes_count: 0,
                    entity_refs: Vec::new(),
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "perftrack".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        attributes: Vec::new(),
                        dropped_attributes_count: 0,
                    }),
                    metrics,
                    // The GenAI names follow this version of the semantic conventions.
                    schema_url: format!(
                        "https://opentelemetry.io/schemas/{GENAI_CONVENTIONS_VERSION}"
                    ),
                }],
                schema_url: String::new(),
            }],
        }
    }

    fn latency(&self, checked: &Checked, now: UnixNanos, out: &mut Vec<Metric>) {
        let bounds = GenerationFigure::Duration.names().buckets;
        let mut durations = HistogramPoints::new(checked.config.histograms);
        let (mut failed, mut cancelled) = (Vec::new(), Vec::new());
        for (tracker, name) in &self.latency {
            let snapshot = tracker.snapshot();
            let times = Times {
                start: unix_nanos(snapshot.start_time),
                now,
            };
            for (label, dist) in snapshot.labels.iter().filter(|(_, d)| d.count() > 0) {
                let attributes = attributes(name.as_deref(), label);
                durations.push(dist, bounds, times, attributes.clone());
                let (f, c) = dist.failed_cancelled();
                failed.push(count_point(f, times, attributes.clone()));
                cancelled.push(count_point(c, times, attributes));
            }
        }
        out.extend(durations.metric(
            "perftrack.latency.duration",
            "s",
            "Duration of each measured operation, by perftrack.label.",
        ));
        out.extend(sum(
            "perftrack.latency.failed",
            "{operation}",
            "Measured operations that failed, by perftrack.label.",
            failed,
        ));
        out.extend(sum(
            "perftrack.latency.cancelled",
            "{operation}",
            "Measured operations that were cancelled (dropped before completing).",
            cancelled,
        ));
    }

    fn throughput(&self, now: UnixNanos, out: &mut Vec<Metric>) {
        let (mut events, mut rates) = (Vec::new(), Vec::new());
        for (tracker, name) in &self.throughput {
            let snapshot = tracker.snapshot();
            let times = Times {
                start: unix_nanos(snapshot.start_time),
                now,
            };
            for (label, t) in &snapshot.labels {
                let attributes = attributes(name.as_deref(), label);
                events.push(count_point(t.events_total, times, attributes.clone()));
                if let Some(rate) = t.window_events_per_second {
                    rates.push(value_point(rate, Times { start: 0, now }, attributes));
                }
            }
        }
        out.extend(sum(
            "perftrack.throughput.events",
            "{event}",
            "Events counted (queries, documents, tokens), by perftrack.label.",
            events,
        ));
        out.extend(gauge(
            "perftrack.throughput.rate",
            "{event}/s",
            "Events per second over the tracker's sliding window, by perftrack.label.",
            rates,
        ));
    }

    fn memory(&self, now: UnixNanos, out: &mut Vec<Metric>) {
        // Readings in snapshot order; one gauge per reading the machine has.
        let mut gauges: Vec<(&'static str, Vec<NumberDataPoint>)> = Vec::new();
        for (tracker, name) in &self.memory {
            for (key, value) in tracker.current_bytes().readings() {
                let point = value_point(
                    value,
                    Times { start: 0, now },
                    attributes(name.as_deref(), ""),
                );
                match gauges.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, points)) => points.push(point),
                    None => gauges.push((key, vec![point])),
                }
            }
        }
        for (key, points) in gauges {
            let unit = if crate::memory::is_percent(key) {
                "%"
            } else {
                "By"
            };
            out.extend(gauge(
                &format!("perftrack.memory.{key}"),
                unit,
                "A memory reading of the watched process, its cgroup, the system or the GPU.",
                points,
            ));
        }
    }

    fn cpu(&self, now: UnixNanos, out: &mut Vec<Metric>) {
        let (mut seconds, mut system, mut cores) = (Vec::new(), Vec::new(), Vec::new());
        for source in &self.cpu {
            let counters = source.tracker.counters();
            let usage = {
                let mut previous = lock(&source.previous);
                let usage = source.tracker.usage_between(&previous, &counters);
                *previous = counters.clone();
                usage
            };
            let name = source.name.as_deref();
            if let (Some(now_s), Some(base_s)) = (
                counters.process_cpu_seconds(),
                source.base.process_cpu_seconds(),
            ) {
                let times = Times {
                    start: source.start,
                    now,
                };
                let used = (now_s - base_s).max(0.0);
                seconds.push(value_point(used, times, attributes(name, "")));
            }
            let gauge_times = Times { start: 0, now };
            if let Some(percent) = usage.system {
                system.push(value_point(
                    percent / 100.0,
                    gauge_times,
                    attributes(name, ""),
                ));
            }
            for (core, percent) in usage.cores.iter() {
                let mut attributes = attributes(name, "");
                attributes.push(int("perftrack.cpu.core", i64::from(core)));
                cores.push(value_point(percent / 100.0, gauge_times, attributes));
            }
        }
        out.extend(sum(
            "perftrack.process.cpu.time",
            "s",
            "CPU time (user and system) of the watched process (tree) since it was exported.",
            seconds,
        ));
        out.extend(gauge(
            "perftrack.system.cpu.utilization",
            "1",
            "Busy share of all cores since the previous push, 0-1.",
            system,
        ));
        out.extend(gauge(
            "perftrack.cpu.utilization",
            "1",
            "Busy share of each core the process may run on since the previous push, 0-1.",
            cores,
        ));
    }

    fn generation(&self, checked: &Checked, now: UnixNanos, out: &mut Vec<Metric>) {
        let snapshots: Vec<_> = self
            .generation
            .iter()
            .map(|(tracker, name)| (tracker, name.as_deref(), tracker.snapshot()))
            .collect();
        let series_attributes = |tracker: &GenerationTracker, name: Option<&str>, label: &str| {
            let config = tracker.config();
            let mut attributes = attributes(name, label);
            attributes.push(string(
                FigureNames::OPERATION_NAME_KEY,
                &config.operation_name,
            ));
            attributes.push(string(
                FigureNames::PROVIDER_NAME_KEY,
                &config.provider_name,
            ));
            attributes
        };
        // Rows that share a name (input and output token usage) are one metric, told apart by
        // their token type.
        for (i, figure) in GenerationFigure::ALL.iter().enumerate() {
            let family = figure.names();
            if GenerationFigure::ALL[..i]
                .iter()
                .any(|f| f.names().otel_name == family.otel_name)
            {
                continue;
            }
            let mut points = HistogramPoints::new(checked.config.histograms);
            for row in GenerationFigure::ALL[i..]
                .iter()
                .filter(|f| f.names().otel_name == family.otel_name)
            {
                let names = row.names();
                for (tracker, name, snapshot) in &snapshots {
                    let times = Times {
                        start: unix_nanos(snapshot.start_time),
                        now,
                    };
                    for (label, summary) in &snapshot.labels {
                        let dist = row.of(summary);
                        if dist.count() == 0 {
                            continue;
                        }
                        let mut attributes = series_attributes(tracker, *name, label);
                        if let Some(token_type) = names.token_type {
                            attributes.push(string(FigureNames::TOKEN_TYPE_KEY, token_type));
                        }
                        points.push(dist, names.buckets, times, attributes);
                    }
                }
            }
            out.extend(points.metric(family.otel_name, family.otel_unit, family.description));
        }
        for counter in GenerationCounter::ALL {
            let names = counter.names();
            let mut points = Vec::new();
            for (tracker, name, snapshot) in &snapshots {
                if counter == GenerationCounter::SloMet && tracker.config().slo.is_empty() {
                    continue;
                }
                let times = Times {
                    start: unix_nanos(snapshot.start_time),
                    now,
                };
                for (label, summary) in snapshot.labels.iter().filter(|(_, s)| !s.is_empty()) {
                    let attributes = series_attributes(tracker, *name, label);
                    points.push(count_point(counter.of(summary), times, attributes));
                }
            }
            out.extend(sum(
                names.otel_name,
                names.otel_unit,
                names.description,
                points,
            ));
        }
    }
}
