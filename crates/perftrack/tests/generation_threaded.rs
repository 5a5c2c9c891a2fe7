//! The iterator wrapper with a real producer thread and real sleeps: alone in its binary, as
//! it reads the real clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use perftrack::{GenerationConfig, GenerationTracker, Status};

#[test]
fn a_threaded_producer_is_timed_in_order_and_within_its_own_span() {
    let tracker = GenerationTracker::new(GenerationConfig {
        time_unit: perftrack::TimeUnit::Seconds,
        ..Default::default()
    });
    let (tx, rx) = mpsc::channel::<(usize, u64)>();
    // The request starts before the producer does, as a request is sent before its response.
    let wrapped = tracker.track_iter("answer", rx, |&(_, tokens)| tokens);
    let producer = std::thread::spawn(move || {
        let start = Instant::now();
        for i in 0..20 {
            std::thread::sleep(Duration::from_millis(2));
            tx.send((i, 1 + (i as u64 % 4))).unwrap();
        }
        start.elapsed()
    });
    let received: Vec<(usize, u64)> = wrapped.collect();
    let produced_in = producer.join().unwrap();

    assert_eq!(
        received.iter().map(|&(i, _)| i).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    let record = &tracker.records()[0];
    assert_eq!(record.status, Status::Ok);
    assert_eq!(
        record.output_tokens,
        received.iter().map(|&(_, n)| n).sum::<u64>()
    );
    assert_eq!(record.itl.unwrap().count, 19);
    assert!(
        record.e2e >= produced_in.as_secs_f64(),
        "{} < {produced_in:?}",
        record.e2e
    );
    assert!(record.ttft.unwrap() >= 0.002 && record.ttft.unwrap() <= record.e2e);
}
