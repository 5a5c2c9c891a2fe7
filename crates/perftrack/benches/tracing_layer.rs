//! What `PerftrackLayer` adds to a span: a span created, entered, exited and closed under a bare
//! `tracing_subscriber::Registry` is the baseline measured in the same run; the layer's cost is
//! the difference.
//!
//! Run with `cargo bench -p perftrack --features tracing --bench tracing_layer`.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use perftrack::{
    LatencyConfig, LatencyTracker, PerftrackLayer, ThroughputConfig, ThroughputTracker,
    TracingConfig,
};
use tracing::subscriber::with_default;
use tracing_subscriber::layer::SubscriberExt;

/// A layer that does nothing: what any layer costs a subscriber.
struct Nothing;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Nothing {}

/// A layer that keeps one `Instant` per span and reads the clock at close: the least a timing
/// layer can do.
struct Stopwatch;

impl<S> tracing_subscriber::Layer<S> for Stopwatch
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        _attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(std::time::Instant::now());
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            if let Some(start) = span.extensions_mut().remove::<std::time::Instant>() {
                std::hint::black_box(start.elapsed());
            }
        }
    }
}

fn quiet_tracker() -> LatencyTracker {
    LatencyTracker::new(LatencyConfig {
        max_records: 0,
        ..Default::default()
    })
}

/// One span's whole life, as a framework's stage produces it.
fn one_span() {
    let span = tracing::info_span!("then_retrieve");
    let _entered = span.enter();
}

fn one_span_with_tokens() {
    let span = tracing::info_span!(
        "then_answer",
        gen_ai.usage.input_tokens = 120u64,
        gen_ai.usage.output_tokens = 42u64
    );
    let _entered = span.enter();
}

fn spans(c: &mut Criterion) {
    let mut group = c.benchmark_group("span");
    group.bench_function("baseline: bare Registry", |b| {
        with_default(tracing_subscriber::registry(), || b.iter(one_span))
    });
    group.bench_function("baseline: Registry + a layer that does nothing", |b| {
        with_default(tracing_subscriber::registry().with(Nothing), || {
            b.iter(one_span)
        })
    });
    group.bench_function(
        "baseline: Registry + a stopwatch layer (one Instant per span)",
        |b| {
            with_default(tracing_subscriber::registry().with(Stopwatch), || {
                b.iter(one_span)
            })
        },
    );
    let layer = PerftrackLayer::new(quiet_tracker(), TracingConfig::default());
    group.bench_function("Registry + PerftrackLayer", |b| {
        with_default(tracing_subscriber::registry().with(layer.clone()), || {
            b.iter(one_span)
        })
    });
    let busy = layer.clone().with_busy_time(quiet_tracker());
    group.bench_function("Registry + PerftrackLayer with busy time", |b| {
        with_default(tracing_subscriber::registry().with(busy.clone()), || {
            b.iter(one_span)
        })
    });
    let renaming = PerftrackLayer::new(
        quiet_tracker(),
        TracingConfig {
            only: vec!["then_retrieve".into(), "then_answer".into()],
            rename: [("then_retrieve".to_owned(), "retrieval".to_owned())].into(),
            ..Default::default()
        },
    );
    group.bench_function(
        "Registry + PerftrackLayer with a filter and a rename",
        |b| {
            with_default(
                tracing_subscriber::registry().with(renaming.clone()),
                || b.iter(one_span),
            )
        },
    );
    group.bench_function("baseline: bare Registry, span with token fields", |b| {
        with_default(tracing_subscriber::registry(), || {
            b.iter(one_span_with_tokens)
        })
    });
    let tokens = layer
        .clone()
        .with_throughput(ThroughputTracker::new(ThroughputConfig {
            max_records: 0,
            ..Default::default()
        }));
    group.bench_function("Registry + PerftrackLayer, span with token fields", |b| {
        with_default(tracing_subscriber::registry().with(tokens.clone()), || {
            b.iter(one_span_with_tokens)
        })
    });
    group.finish();
}

criterion_group!(benches, spans);
criterion_main!(benches);
