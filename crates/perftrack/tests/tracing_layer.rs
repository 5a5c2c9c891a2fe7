//! `PerftrackLayer` under a real `tracing` subscriber: nested spans, instrumented futures,
//! filters, renames, label fields, token counts and failures, timed with a manual clock (exact)
//! and with real sleeps (lower bounds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use perftrack::{
    GenerationConfig, GenerationTracker, LatencyConfig, LatencyTracker, ManualClock,
    PerftrackLayer, Status, ThroughputConfig, ThroughputTracker, TimeUnit, TracingConfig,
};
use tracing::Instrument;
use tracing::subscriber::with_default;
use tracing_subscriber::layer::SubscriberExt;

const MS: Duration = Duration::from_millis(1);

fn tracker(clock: &Arc<ManualClock>) -> LatencyTracker {
    LatencyTracker::with_clock(
        LatencyConfig {
            time_unit: TimeUnit::Milliseconds,
            ..Default::default()
        },
        clock.clone(),
    )
}

/// (count, min, max, sum) of a label, in milliseconds.
fn summary(tracker: &LatencyTracker, label: &str) -> (u64, f64, f64, f64) {
    let s = tracker
        .statistics(Some(label))
        .unwrap_or_else(|| panic!("nothing recorded under {label}"));
    (s.count, s.min, s.max, s.sum)
}

#[test]
fn nested_spans_record_their_wall_and_busy_time() {
    let clock = Arc::new(ManualClock::new());
    let (wall, busy) = (tracker(&clock), tracker(&clock));
    let layer =
        PerftrackLayer::new(wall.clone(), TracingConfig::default()).with_busy_time(busy.clone());
    with_default(tracing_subscriber::registry().with(layer), || {
        let query = tracing::info_span!("query_pipeline.query");
        let _query = query.enter();
        clock.advance(2 * MS);
        for _ in 0..3 {
            let retrieve = tracing::info_span!("then_retrieve");
            let _retrieve = retrieve.enter();
            clock.advance(10 * MS);
        }
        tracing::info_span!("then_answer").in_scope(|| clock.advance(100 * MS));
        // Created but never entered: its wall time counts, its busy time is zero.
        let idle = tracing::info_span!("queued");
        clock.advance(7 * MS);
        drop(idle);
    });
    assert_eq!(summary(&wall, "then_retrieve"), (3, 10.0, 10.0, 30.0));
    assert_eq!(summary(&wall, "then_answer"), (1, 100.0, 100.0, 100.0));
    assert_eq!(
        summary(&wall, "query_pipeline.query"),
        (1, 139.0, 139.0, 139.0)
    );
    assert_eq!(summary(&wall, "queued"), (1, 7.0, 7.0, 7.0));
    // The parent stays entered while its children run.
    assert_eq!(summary(&busy, "query_pipeline.query").3, 139.0);
    assert_eq!(summary(&busy, "then_retrieve"), (3, 10.0, 10.0, 30.0));
    assert_eq!(summary(&busy, "queued"), (1, 0.0, 0.0, 0.0));
}

/// Pending once (waking itself), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn instrumented_futures_count_polling_as_busy_and_waiting_as_wall_time() {
    let clock = Arc::new(ManualClock::new());
    let (wall, busy) = (tracker(&clock), tracker(&clock));
    let layer =
        PerftrackLayer::new(wall.clone(), TracingConfig::default()).with_busy_time(busy.clone());
    with_default(tracing_subscriber::registry().with(layer), || {
        let c = clock.clone();
        let answer = async move {
            c.advance(5 * MS);
            // A nested instrumented future: 1 ms of work around a wait.
            let c2 = c.clone();
            async move {
                c2.advance(MS);
                YieldOnce(false).await;
            }
            .instrument(tracing::info_span!("llm_call"))
            .await;
            c.advance(3 * MS);
            42
        }
        .instrument(tracing::info_span!("then_answer"));
        let mut answer = std::pin::pin!(answer);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(answer.as_mut().poll(&mut cx).is_pending());
        // The executor runs something else for 10 ms.
        clock.advance(10 * MS);
        assert_eq!(answer.as_mut().poll(&mut cx), Poll::Ready(42));
    });
    assert_eq!(summary(&wall, "then_answer"), (1, 19.0, 19.0, 19.0));
    assert_eq!(summary(&busy, "then_answer"), (1, 9.0, 9.0, 9.0));
    assert_eq!(summary(&wall, "llm_call"), (1, 11.0, 11.0, 11.0));
    assert_eq!(summary(&busy, "llm_call"), (1, 1.0, 1.0, 1.0));
}

/// Completed by another thread after a real sleep.
#[derive(Clone, Default)]
struct Later(Arc<Mutex<(bool, Option<Waker>)>>);

impl Later {
    fn complete_after(&self, sleep: Duration) -> std::thread::JoinHandle<()> {
        let this = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(sleep);
            let mut state = this.0.lock().unwrap();
            state.0 = true;
            if let Some(waker) = state.1.take() {
                waker.wake();
            }
        })
    }
}

impl Future for Later {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.lock().unwrap();
        if state.0 {
            Poll::Ready(())
        } else {
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn real_sleeps_are_lower_bounds_of_wall_time() {
    let wall = LatencyTracker::new(LatencyConfig::default());
    let busy = LatencyTracker::new(LatencyConfig::default());
    let layer =
        PerftrackLayer::new(wall.clone(), TracingConfig::default()).with_busy_time(busy.clone());
    with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info_span!("sleep").in_scope(|| std::thread::sleep(20 * MS));
        let later = Later::default();
        let thread = later.complete_after(30 * MS);
        futures_executor::block_on(later.instrument(tracing::info_span!("wait")));
        thread.join().unwrap();
    });
    let (n, min, _, _) = summary(&wall, "sleep");
    assert!(n == 1 && min >= 20.0, "{min}");
    let (n, wall_ms, _, _) = summary(&wall, "wait");
    assert!(n == 1 && wall_ms >= 30.0, "{wall_ms}");
    // Busy time is only the polls, never more than the span lived.
    let busy_ms = summary(&busy, "wait").1;
    assert!(busy_ms <= wall_ms, "{busy_ms} > {wall_ms}");
}

#[test]
fn spans_are_filtered_renamed_and_labelled_by_a_field() {
    let clock = Arc::new(ManualClock::new());
    let latency = tracker(&clock);
    let config = TracingConfig {
        only: vec!["invoke_agent".into(), "chat".into(), "tool".into()],
        skip: vec!["tool".into()],
        rename: [("invoke_agent".to_owned(), "agent".to_owned())].into(),
        label_field: Some("gen_ai.operation.name".into()),
        ..Default::default()
    };
    let layer = PerftrackLayer::new(latency.clone(), config);
    with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info_span!("invoke_agent").in_scope(|| clock.advance(4 * MS));
        tracing::info_span!("tool").in_scope(|| clock.advance(MS));
        tracing::info_span!("unlisted").in_scope(|| clock.advance(MS));
        tracing::info_span!("chat", gen_ai.operation.name = "embeddings")
            .in_scope(|| clock.advance(2 * MS));
        // The label field recorded after the span was created.
        let span = tracing::info_span!("chat", gen_ai.operation.name = tracing::field::Empty);
        span.in_scope(|| clock.advance(3 * MS));
        span.record("gen_ai.operation.name", "text_completion");
    });
    let labels: Vec<String> = latency.statistics_by_label().into_keys().collect();
    assert_eq!(labels, ["agent", "embeddings", "text_completion"]);
    assert_eq!(summary(&latency, "agent").3, 4.0);
    assert_eq!(summary(&latency, "embeddings").3, 2.0);
    assert_eq!(summary(&latency, "text_completion").3, 3.0);
}

#[test]
fn token_fields_feed_the_throughput_tracker() {
    let clock = Arc::new(ManualClock::new());
    let tokens = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    let layer = PerftrackLayer::new(tracker(&clock), TracingConfig::default())
        .with_throughput(tokens.clone());
    with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info_span!("chat", gen_ai.usage.input_tokens = 120u64).in_scope(|| ());
        let span = tracing::info_span!(
            "chat",
            gen_ai.usage.input_tokens = 30i64,
            gen_ai.usage.output_tokens = tracing::field::Empty
        );
        span.record("gen_ai.usage.output_tokens", 12u64);
        span.record("gen_ai.usage.output_tokens", 30u64);
        drop(span);
        // A negative count is not a count.
        tracing::info_span!("chat", gen_ai.usage.output_tokens = -5i64).in_scope(|| ());
    });
    clock.advance(Duration::from_secs(2));
    assert_eq!(tokens.current_rate("input_tokens"), Some(75.0));
    assert_eq!(tokens.current_rate("output_tokens"), Some(21.0));
}

#[test]
fn spans_that_record_an_error_count_as_failed() {
    let clock = Arc::new(ManualClock::new());
    let latency = tracker(&clock);
    let layer = PerftrackLayer::new(latency.clone(), TracingConfig::default());
    with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info_span!("llm").in_scope(|| ());
        tracing::info_span!("llm", otel.status_code = "ERROR").in_scope(|| ());
        let span = tracing::info_span!("llm", error = tracing::field::Empty);
        let err = std::io::Error::other("rate limited");
        span.record("error", &err as &(dyn std::error::Error + 'static));
        drop(span);
        tracing::info_span!("llm", error = false).in_scope(|| ());
    });
    let stats = latency.statistics(Some("llm")).unwrap();
    assert_eq!((stats.count, stats.failed), (4, 2));
    assert_eq!(
        latency
            .records()
            .iter()
            .filter(|r| r.status == Status::Failed)
            .count(),
        2
    );
}

#[test]
fn two_layers_in_one_subscriber_each_record_and_a_clone_counts_once() {
    let clock = Arc::new(ManualClock::new());
    let (a, b) = (tracker(&clock), tracker(&clock));
    let first = PerftrackLayer::new(a.clone(), TracingConfig::default());
    let second = PerftrackLayer::new(
        b.clone(),
        TracingConfig {
            rename: [("embed".to_owned(), "embedding".to_owned())].into(),
            ..Default::default()
        },
    )
    .with_busy_time(b.clone());
    let subscriber = tracing_subscriber::registry()
        .with(first.clone())
        .with(second)
        .with(first);
    with_default(subscriber, || {
        tracing::info_span!("embed").in_scope(|| clock.advance(6 * MS));
    });
    assert_eq!(summary(&a, "embed"), (1, 6.0, 6.0, 6.0));
    // Wall and busy time, both into `b`.
    assert_eq!(summary(&b, "embedding"), (2, 6.0, 6.0, 12.0));
}

/// A layer with latency, throughput and generation trackers on one manual clock.
fn generation_layer(
    clock: &Arc<ManualClock>,
) -> (
    PerftrackLayer,
    LatencyTracker,
    ThroughputTracker,
    GenerationTracker,
) {
    let latency = tracker(clock);
    let tokens = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    let generation = GenerationTracker::with_clock(GenerationConfig::default(), clock.clone());
    let layer = PerftrackLayer::new(latency.clone(), TracingConfig::default())
        .with_throughput(tokens.clone())
        .with_generation(generation.clone());
    (layer, latency, tokens, generation)
}

#[test]
fn a_streaming_call_span_with_a_first_chunk_event_becomes_one_generation_record() {
    let clock = Arc::new(ManualClock::new());
    let (layer, latency, _, generation) = generation_layer(&clock);
    with_default(tracing_subscriber::registry().with(layer), || {
        let span = tracing::info_span!(
            "chat",
            gen_ai.usage.input_tokens = 800u64,
            gen_ai.usage.output_tokens = tracing::field::Empty,
        );
        let _entered = span.enter();
        clock.advance(180 * MS);
        tracing::info!(name: "First Token Stream Event", "first token");
        clock.advance(400 * MS);
        // A later event of the same name does not move the first token.
        tracing::info!("First Token Stream Event");
        clock.advance(420 * MS);
        span.record("gen_ai.usage.output_tokens", 41u64);
    });
    let records = generation.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (r.label.as_deref(), r.ttft, r.e2e),
        (Some("chat"), Some(180.0), 1_000.0)
    );
    assert_eq!((r.input_tokens, r.output_tokens), (Some(800), 41));
    assert!(
        (r.tpot.unwrap() - 820.0 / 40.0).abs() < 1e-9,
        "{:?}",
        r.tpot
    );
    assert_eq!(r.itl, None);
    assert_eq!(summary(&latency, "chat").0, 1);
}

#[test]
fn a_span_without_a_marker_gives_its_latency_and_tokens_only() {
    // Shaped like rig's `invoke_agent`: usage fields, no first-token marker.
    let clock = Arc::new(ManualClock::new());
    let (layer, latency, tokens, generation) = generation_layer(&clock);
    with_default(tracing_subscriber::registry().with(layer), || {
        let span = tracing::info_span!(
            "invoke_agent",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.usage.input_tokens = 30u64,
            gen_ai.usage.output_tokens = 12u64,
        );
        span.in_scope(|| clock.advance(250 * MS));
    });
    assert!(generation.records().is_empty());
    assert_eq!(summary(&latency, "invoke_agent"), (1, 250.0, 250.0, 250.0));
    assert!(tokens.current_rate("output_tokens").is_some());
}

#[test]
fn openinference_keys_give_the_figures_the_genai_keys_give() {
    let run = |openinference: bool| {
        let clock = Arc::new(ManualClock::new());
        let (layer, _, _, generation) = generation_layer(&clock);
        with_default(tracing_subscriber::registry().with(layer), || {
            let span = if openinference {
                tracing::info_span!(
                    "ChatCompletion",
                    llm.token_count.prompt = 64u64,
                    llm.token_count.completion = 9u64
                )
            } else {
                tracing::info_span!(
                    "ChatCompletion",
                    gen_ai.usage.input_tokens = 64u64,
                    gen_ai.usage.output_tokens = 9u64,
                    gen_ai.response.time_to_first_chunk = 0.05f64
                )
            };
            let _entered = span.enter();
            clock.advance(50 * MS);
            if openinference {
                tracing::info!(name: "First Token Stream Event", "first token");
            }
            clock.advance(80 * MS);
        });
        let mut record = generation.records().remove(0);
        record.track_id = perftrack::TrackId::from("same");
        (
            record.ttft,
            record.e2e,
            record.tpot,
            record.input_tokens,
            record.output_tokens,
        )
    };
    assert_eq!(run(true), run(false));
    assert_eq!(run(true).0, Some(50.0));
}
