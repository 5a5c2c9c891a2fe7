//! The generation tracker against figures computed by hand: a manual clock moves between
//! chunks, so every time is known exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use perftrack::{
    Error, GenerationConfig, GenerationRecord, GenerationTiming, GenerationTracker, ManualClock,
    Objective, Slo, Status,
};

const MS: Duration = Duration::from_millis(1);

fn tracker(config: GenerationConfig) -> (GenerationTracker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    (GenerationTracker::with_clock(config, clock.clone()), clock)
}

/// Equal within a relative 1e-9 (times pass through seconds and back into milliseconds).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// A request whose chunks of `tokens` arrive at `at` (ms after its start); it stops at `stop`.
fn request(
    t: &GenerationTracker,
    clock: &ManualClock,
    label: &str,
    chunks: &[(u64, u64)],
    stop: u64,
) -> GenerationRecord {
    let mut guard = t.track(label);
    let mut now = 0;
    for &(at, tokens) in chunks {
        clock.advance(MS * u32::try_from(at - now).unwrap());
        now = at;
        guard.tokens(tokens);
    }
    clock.advance(MS * u32::try_from(stop - now).unwrap());
    guard.stop()
}

/// The first token at 120 ms, then 50 more, one every 20 ms: the request stops at 1,120 ms.
fn steady() -> Vec<(u64, u64)> {
    (0..=50).map(|i| (120 + 20 * i, 1)).collect()
}

#[test]
fn a_steady_stream_gives_its_ttft_tpot_gaps_and_e2e() {
    let (t, clock) = tracker(GenerationConfig::default());
    let record = request(&t, &clock, "answer", &steady(), 1_120);
    assert_eq!(record.ttft, Some(120.0));
    assert_eq!(record.e2e, 1_120.0);
    assert!(close(record.tpot.unwrap(), 20.0), "{:?}", record.tpot);
    let gaps = record.itl.unwrap();
    assert_eq!(gaps.count, 50);
    assert!(close(gaps.mean, 20.0) && close(gaps.max, 20.0));
    assert_eq!(record.output_tokens, 51);
    assert!(close(record.output_tokens_per_second.unwrap(), 51.0 / 1.12));
    assert!(close(record.decode_tokens_per_second.unwrap(), 50.0 / 1.0));
    assert_eq!((record.status, record.slo_met), (Status::Ok, None));

    let stats = t.statistics(Some("answer")).unwrap();
    let itl = stats.itl.unwrap();
    assert_eq!(itl.count, 50);
    assert!(close(itl.min, 20.0) && close(itl.max, 20.0) && close(itl.p99, 20.0));
    assert_eq!(stats.ttft.unwrap().count, 1);
    assert_eq!(stats.e2e.unwrap().max, 1_120.0);
}

#[test]
fn a_single_token_request_has_no_tpot_and_counts_in_ttft() {
    let (t, clock) = tracker(GenerationConfig::default());
    let one = request(&t, &clock, "answer", &[(90, 1)], 100);
    assert_eq!((one.ttft, one.tpot, one.itl), (Some(90.0), None, None));
    assert_eq!(one.decode_tokens_per_second, None);
    request(&t, &clock, "answer", &steady(), 1_120);
    let stats = t.statistics(Some("answer")).unwrap();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.ttft.unwrap().count, 2);
    let tpot = stats.tpot.unwrap();
    assert_eq!(tpot.count, 1);
    assert!(close(tpot.max, 20.0));
}

#[test]
fn chunks_of_several_tokens_give_tpot_per_token_and_one_gap_per_chunk() {
    let (t, clock) = tracker(GenerationConfig::default());
    let chunks = [(100, 4), (140, 4), (180, 4), (220, 4)];
    let record = request(&t, &clock, "answer", &chunks, 220);
    // (220 − 100) / (16 − 1) = 8 ms.
    assert!(close(record.tpot.unwrap(), 8.0), "{:?}", record.tpot);
    let gaps = record.itl.unwrap();
    assert_eq!(gaps.count, 3);
    assert!(close(gaps.mean, 40.0));
    assert_eq!(record.output_tokens, 16);
}

#[test]
fn chunks_of_no_token_are_not_chunks() {
    let (t, clock) = tracker(GenerationConfig::default());
    let record = request(
        &t,
        &clock,
        "answer",
        &[(10, 0), (50, 2), (60, 0), (80, 2)],
        80,
    );
    assert_eq!(record.ttft, Some(50.0));
    assert_eq!(record.itl.unwrap().count, 1);
    assert_eq!(record.output_tokens, 4);
    // No token at all: no ttft, and a rate of zero tokens per second.
    let none = request(&t, &clock, "answer", &[(10, 0)], 40);
    assert_eq!((none.ttft, none.tpot, none.output_tokens), (None, None, 0));
    assert_eq!(none.output_tokens_per_second, Some(0.0));
}

#[test]
fn long_streams_add_every_gap_to_the_label() {
    // More gaps than a request holds before adding them to its label (32).
    let (t, clock) = tracker(GenerationConfig::default());
    let chunks: Vec<(u64, u64)> = (1..=100).map(|i| (i * 3, 1)).collect();
    let record = request(&t, &clock, "answer", &chunks, 300);
    assert_eq!(record.itl.unwrap().count, 99);
    let itl = t.statistics(Some("answer")).unwrap().itl.unwrap();
    assert_eq!(itl.count, 99);
    assert!(close(itl.sum, 99.0 * 3.0));
}

/// SLOs `{ttft: 200, tpot: 25}` over five requests over two seconds, judged by hand.
#[test]
fn goodput_counts_the_requests_that_met_every_objective() {
    let slo = Slo {
        ttft: Some(Objective::new(200.0).unwrap()),
        tpot: Some(Objective::new(25.0).unwrap()),
        e2e: None,
    };
    let (t, clock) = tracker(GenerationConfig {
        slo,
        ..Default::default()
    });
    // 1. ttft 150, tpot (250 − 150) / 4 = 25: met (at the bound).
    let r1 = request(&t, &clock, "answer", &[(150, 1), (250, 4)], 250);
    // 2. ttft 250: missed.
    let r2 = request(&t, &clock, "answer", &[(250, 1), (300, 1)], 300);
    // 3. ttft 100, tpot (500 − 100) / 10 = 40: missed.
    let r3 = request(&t, &clock, "answer", &[(100, 1), (500, 10)], 500);
    // 4. a single token at 180: no tpot, met.
    let r4 = request(&t, &clock, "answer", &[(180, 1)], 200);
    // 5. within both, but failed: missed.
    let mut guard = t.track("answer");
    clock.advance(100 * MS);
    guard.tokens(1);
    clock.advance(650 * MS);
    let r5 = guard.stop_with(Status::Failed);
    let met: Vec<Option<bool>> = [&r1, &r2, &r3, &r4, &r5]
        .iter()
        .map(|r| r.slo_met)
        .collect();
    assert_eq!(
        met,
        [
            Some(true),
            Some(false),
            Some(false),
            Some(true),
            Some(false)
        ]
    );

    // The requests ran back to back from 0 to 250 + 300 + 500 + 200 + 750 = 2,000 ms.
    let goodput = t.statistics(Some("answer")).unwrap().goodput.unwrap();
    assert_eq!(goodput.met, 2);
    assert_eq!(goodput.fraction, 0.4);
    assert!(close(goodput.per_second.unwrap(), 1.0), "{goodput:?}");
}

#[test]
fn a_dropped_guard_is_cancelled_and_a_discarded_one_leaves_nothing() {
    let (t, clock) = tracker(GenerationConfig::default());
    {
        let mut guard = t.track("answer");
        clock.advance(10 * MS);
        guard.tokens(1);
    }
    t.track("answer").discard();
    let stats = t.statistics(Some("answer")).unwrap();
    assert_eq!((stats.requests, stats.cancelled), (1, 1));
    assert_eq!(t.records()[0].status, Status::Cancelled);
}

#[test]
fn requests_by_id_take_chunks_too() {
    let (t, clock) = tracker(GenerationConfig::default());
    let id = t.start_tracking(Some("answer"));
    t.input_tokens(&id, 1_000).unwrap();
    clock.advance(30 * MS);
    t.tokens(&id, 2).unwrap();
    clock.advance(10 * MS);
    t.tokens(&id, 3).unwrap();
    let record = t.stop_tracking(&id).unwrap();
    assert_eq!(
        (record.ttft, record.e2e, record.input_tokens),
        (Some(30.0), 40.0, Some(1_000))
    );
    assert!(close(record.tpot.unwrap(), 10.0 / 4.0));
    assert!(matches!(
        t.tokens(&id, 1),
        Err(Error::UnknownTrackId { .. })
    ));
}

#[test]
fn timings_measured_elsewhere_are_checked_and_recorded() {
    let (t, _clock) = tracker(GenerationConfig::default());
    let record = t
        .record(
            "api",
            GenerationTiming {
                ttft: Some(200 * MS),
                e2e: 1_200 * MS,
                output_tokens: 101,
                input_tokens: Some(42),
                status: Status::Ok,
            },
        )
        .unwrap();
    assert_eq!((record.ttft, record.e2e), (Some(200.0), 1_200.0));
    assert!(close(record.tpot.unwrap(), 10.0));
    assert_eq!(record.itl, None);

    let late = GenerationTiming {
        ttft: Some(2 * MS),
        e2e: MS,
        output_tokens: 1,
        ..Default::default()
    };
    let err = t.record("api", late).unwrap_err();
    assert!(matches!(err, Error::InvalidTiming { .. }));
    assert!(
        err.to_string().contains("longer than the whole request"),
        "{err}"
    );
    let tokenless = GenerationTiming {
        ttft: Some(MS),
        e2e: 2 * MS,
        output_tokens: 0,
        ..Default::default()
    };
    let err = t.record("api", tokenless).unwrap_err();
    assert!(err.to_string().contains("no output tokens"), "{err}");

    // A request of no duration: recorded, with no rates (nothing to divide by).
    let instant = t
        .record(
            "api",
            GenerationTiming {
                output_tokens: 3,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((instant.e2e, instant.output_tokens_per_second), (0.0, None));
    assert_eq!(t.statistics(Some("api")).unwrap().requests, 2);
}

#[test]
fn bad_objectives_are_errors_that_name_the_key() {
    for (json, key) in [
        (r#"{"slo": {"ttft": -1}}"#, "slo.ttft"),
        (r#"{"slo": {"tpot": 0}}"#, "slo.tpot"),
        (r#"{"slo": {"e2e": "fast"}}"#, "slo.e2e"),
        (r#"{"slo": {"itl": 5}}"#, "slo.itl"),
    ] {
        let err = GenerationConfig::from_json(json).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("invalid configuration: `{key}`")),
            "{json}: {err}"
        );
    }
    assert!(Objective::new(f64::NAN).is_err());
    assert!(Objective::new(f64::INFINITY).is_err());
}

/// Five requests on two labels, with objectives, from tracker `i`'s point of view.
fn feed(t: &GenerationTracker, clock: &ManualClock, i: u64) {
    for j in 0..5 {
        let label = if j % 2 == 0 { "answer" } else { "summary" };
        let chunks: Vec<(u64, u64)> = (0..=(3 + i + j))
            .map(|k| (50 + 10 * i + 7 * k, 1 + k % 3))
            .collect();
        let stop = chunks.last().unwrap().0 + 5;
        request(t, clock, label, &chunks, stop);
    }
}

#[test]
fn merging_two_files_equals_one_tracker_fed_both() {
    let slo = Slo {
        ttft: Some(Objective::new(75.0).unwrap()),
        ..Slo::default()
    };
    let config = GenerationConfig {
        slo,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let (both, both_clock) = tracker(config.clone());
    for i in 0..2 {
        let (one, clock) = tracker(config.clone());
        feed(&one, &clock, i);
        one.save_metrics(&dir.path().join(format!("{i}.json")))
            .unwrap();
        feed(&both, &both_clock, i);
    }
    let (merged, _) = tracker(config.clone());
    merged.merge_metrics(&dir.path().join("0.json")).unwrap();
    merged.merge_metrics(&dir.path().join("1.json")).unwrap();
    for label in ["answer", "summary"] {
        let (a, b) = (
            merged.statistics(Some(label)).unwrap(),
            both.statistics(Some(label)).unwrap(),
        );
        assert_eq!(
            (a.requests, a.failed, a.cancelled),
            (b.requests, b.failed, b.cancelled)
        );
        assert_eq!(a.goodput.unwrap().met, b.goodput.unwrap().met);
        for (x, y) in [
            (a.ttft, b.ttft),
            (a.tpot, b.tpot),
            (a.itl, b.itl),
            (a.e2e, b.e2e),
            (a.output_tokens, b.output_tokens),
        ] {
            let (x, y) = (x.unwrap(), y.unwrap());
            assert_eq!((x.count, x.min, x.max), (y.count, y.min, y.max), "{label}");
            assert_eq!((x.p50, x.p90, x.p99), (y.p50, y.p90, y.p99), "{label}");
            assert!(close(x.sum, y.sum) && close(x.mean, y.mean), "{label}");
        }
    }

    // Files judged against other objectives cannot be merged: the error names both.
    let (other, _) = tracker(GenerationConfig::default());
    let err = other.merge_metrics(&dir.path().join("0.json")).unwrap_err();
    assert!(matches!(err, Error::IncompatibleFile { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("{ttft: 75}") && message.contains("{}"),
        "{message}"
    );
    assert!(other.statistics(None).is_none());
}

/// A stream that advances the shared manual clock before yielding each item, as a producer
/// taking that long would.
struct Producer {
    clock: Arc<ManualClock>,
    items: std::vec::IntoIter<(u64, &'static str)>,
}

impl Iterator for Producer {
    type Item = &'static str;
    fn next(&mut self) -> Option<&'static str> {
        let (wait, item) = self.items.next()?;
        self.clock.advance(MS * u32::try_from(wait).unwrap());
        Some(item)
    }
}

impl futures_core::Stream for Producer {
    type Item = &'static str;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<&'static str>> {
        Poll::Ready(self.next())
    }
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

fn producer(clock: &Arc<ManualClock>) -> Producer {
    let items = vec![
        (120, "The answer"),
        (20, " is"),
        (20, " forty two"),
        (20, "."),
    ];
    Producer {
        clock: clock.clone(),
        items: items.into_iter(),
    }
}

fn assert_produced(record: &GenerationRecord) {
    assert_eq!(record.ttft, Some(120.0));
    assert_eq!(record.e2e, 180.0);
    assert_eq!(record.output_tokens, 6);
    // (180 − 120) / 5.
    assert!(close(record.tpot.unwrap(), 12.0));
    let gaps = record.itl.unwrap();
    assert_eq!(gaps.count, 3);
    assert!(close(gaps.mean, 20.0));
}

#[test]
fn the_iterator_wrapper_times_the_items_unchanged() {
    let (t, clock) = tracker(GenerationConfig::default());
    let text: String = t
        .track_iter("answer", producer(&clock), |s| words(s).max(1))
        .collect();
    assert_eq!(text, "The answer is forty two.");
    assert_produced(&t.records()[0]);
}

#[test]
fn the_stream_wrapper_times_the_items_unchanged() {
    let (t, clock) = tracker(GenerationConfig::default());
    let stream = t.track_stream("answer", producer(&clock), |s| words(s).max(1));
    let items: Vec<&str> = futures_executor::block_on_stream(stream).collect();
    assert_eq!(items.concat(), "The answer is forty two.");
    assert_produced(&t.records()[0]);
}

#[test]
fn eight_threads_of_requests_add_up() {
    let t = GenerationTracker::new(GenerationConfig {
        max_records: 0,
        ..Default::default()
    });
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..1_000 {
                    let mut guard = t.track("answer");
                    for _ in 0..40 {
                        guard.tokens(2);
                    }
                    guard.stop();
                }
            });
        }
    });
    let stats = t.statistics(Some("answer")).unwrap();
    assert_eq!(stats.requests, 8_000);
    assert_eq!(stats.itl.unwrap().count, 8_000 * 39);
    assert_eq!(stats.output_tokens.unwrap().sum, 8_000.0 * 80.0);
}

/// Three requests by named id with objectives, on the manual clock: a file that is the same on
/// every run.
fn fixed_tracker() -> GenerationTracker {
    let slo = Slo {
        ttft: Some(Objective::new(150.0).unwrap()),
        ..Slo::default()
    };
    let (t, clock) = tracker(GenerationConfig {
        slo,
        ..Default::default()
    });
    for (i, (label, chunks, stop)) in [
        ("answer", vec![(120, 1), (140, 2), (160, 2)], 170),
        ("answer", vec![(200, 3)], 210),
        ("summary", vec![(90, 1), (100, 1), (130, 1), (131, 1)], 140),
    ]
    .into_iter()
    .enumerate()
    {
        let id = t
            .start_tracking_with_id(&format!("req-{i}"), Some(label))
            .unwrap();
        t.input_tokens(&id, 100 * (i as u64 + 1)).unwrap();
        let mut now = 0;
        for (at, tokens) in chunks {
            clock.advance(MS * u32::try_from(at - now).unwrap());
            now = at;
            t.tokens(&id, tokens).unwrap();
        }
        clock.advance(MS * u32::try_from(stop - now).unwrap());
        t.stop_tracking(&id).unwrap();
    }
    t
}

#[test]
fn the_file_layout_matches_the_golden_file_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generation.json");
    let original = fixed_tracker();
    original.save_metrics(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden-v2/generation-v2.json");
    if std::env::var_os("PERFTRACK_BLESS").is_some() {
        std::fs::write(&golden, &written).unwrap();
    }
    assert_eq!(
        written,
        std::fs::read_to_string(&golden).unwrap(),
        "the generation layout changed; if on purpose, update docs/FORMAT.md and rerun with PERFTRACK_BLESS=1"
    );
    let config = GenerationConfig {
        slo: original.config().slo,
        ..Default::default()
    };
    let (loaded, _) = tracker(config);
    let file = loaded.load_metrics(&golden).unwrap();
    assert_eq!(file.records, original.records());
    assert_eq!(loaded.statistics_by_label(), original.statistics_by_label());
    assert_eq!(loaded.statistics(None), original.statistics(None));
}

#[test]
fn a_request_recorded_at_a_wall_clock_end_keeps_that_end() {
    let (tracker, clock) = tracker(GenerationConfig::default());
    clock.advance(Duration::from_secs(60));
    let end: perftrack::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
    let timing = GenerationTiming {
        ttft: Some(100 * MS),
        e2e: 1_100 * MS,
        output_tokens: 11,
        input_tokens: Some(7),
        status: Status::Ok,
    };
    let record = tracker.record_at("remote", timing, end).unwrap();
    assert_eq!(record.timestamp, end);
    assert_eq!(
        (record.ttft, record.tpot, record.e2e),
        (Some(100.0), Some(100.0), 1_100.0)
    );
    assert_eq!(tracker.records(), vec![record]);
    let bad = GenerationTiming {
        ttft: Some(2_000 * MS),
        ..timing
    };
    assert!(matches!(
        tracker.record_at("remote", bad, end),
        Err(Error::InvalidTiming { .. })
    ));
    assert_eq!(tracker.statistics(Some("remote")).unwrap().requests, 1);
}
