//! What a scrape costs: rendering latency histograms for ten labels, against computing the
//! same labels' statistics (`statistics_by_label`) in the same run. Recording pays nothing for
//! the exporter; this is paid only when Prometheus asks.
//!
//! Run with `cargo bench -p perftrack --features prometheus --bench prometheus`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use perftrack::{
    LatencyConfig, LatencyExport, LatencyTracker, PrometheusConfig, PrometheusExporter,
};

/// Ten labels with `n` measurements each, 0.5 ms to 5 s.
fn tracker(n: u64, exact_limit: usize) -> LatencyTracker {
    let tracker = LatencyTracker::new(LatencyConfig {
        max_records: 0,
        exact_limit,
        ..Default::default()
    });
    for label in 0..10 {
        let label = format!("stage {label}");
        for i in 0..n {
            tracker.record(&label, Duration::from_micros(500 + (i * 7919) % 5_000_000));
        }
    }
    tracker
}

fn scrapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("scrape");
    for (name, exact_limit) in [("exact values", 10_000), ("sketch", 0)] {
        let tracker = tracker(10_000, exact_limit);
        group.bench_function(format!("baseline: statistics_by_label, {name}"), |b| {
            b.iter(|| black_box(tracker.statistics_by_label()))
        });
        let exporter = PrometheusExporter::new(PrometheusConfig::default());
        exporter
            .add_latency(&tracker, LatencyExport::default())
            .unwrap();
        group.bench_function(format!("render, {name}"), |b| {
            b.iter(|| black_box(exporter.render()))
        });
    }
    group.finish();
}

criterion_group!(benches, scrapes);
criterion_main!(benches);
