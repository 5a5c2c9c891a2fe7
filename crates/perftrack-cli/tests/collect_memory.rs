//! The receiver's memory is bounded by its labels, not by the number of spans: its resident
//! memory after 1,000,000 spans over 20 names is within 2 MiB of where it stood after
//! 100,000. A test binary of its own, reading the receiver process's resident set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod otlp;

use nix::sys::signal::Signal;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use otlp::{Collector, T0, int, post_protobuf, request, span};

/// Spans per request.
const BATCH: u64 = 1_000;
/// Span names.
const NAMES: u64 = 20;
/// Two MiB, in KiB.
const SLACK_KIB: u64 = 2 * 1024;

/// A process's resident set size in KiB, from `/proc/PID/status`.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sends `requests` batches, the `first`th on; each span of stage `i % NAMES` lasts
/// 1 to 50 ms, and the first five stages are streamed model calls (tokens, a first token).
fn send(collector: &Collector, first: u64, requests: u64) {
    for r in first..first + requests {
        let spans = (0..BATCH)
            .map(|i| {
                let stage = i % NAMES;
                let start = T0 + (r * BATCH + i) * 1_000_000;
                let mut s = span(
                    &format!("stage-{stage:02}"),
                    start,
                    start + (1 + (r + i) % 50) * 1_000_000,
                );
                if stage < 5 {
                    s.attributes = vec![int("gen_ai.usage.output_tokens", 10 + (i % 7) as i64)];
                    s.events = vec![Event {
                        name: "First Token Stream Event".into(),
                        time_unix_nano: start + 500_000,
                        ..Event::default()
                    }];
                }
                s
            })
            .collect();
        let answer = post_protobuf(collector.addr, &request(spans));
        assert_eq!(answer.status, 200);
    }
}

#[test]
fn resident_memory_is_bounded_by_the_labels_not_the_spans() {
    if std::fs::metadata("/proc/self/status").is_err() {
        assert!(
            !otlp::in_ci(),
            "CI=true but /proc is needed to read resident memory"
        );
        eprintln!("skipping: no /proc to read resident memory");
        return;
    }
    let collector = Collector::start(&[]);
    let pid = collector.child.id();
    send(&collector, 0, 100_000 / BATCH);
    let after_100k = rss_kib(pid);
    send(&collector, 100_000 / BATCH, 900_000 / BATCH);
    let after_1m = rss_kib(pid);
    let (status, stderr) = collector.stop(Signal::SIGTERM);
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("1000000 spans in 1000 requests (0 bad spans, 250000 model calls)"),
        "{stderr}"
    );
    eprintln!("resident: {after_100k} KiB after 100,000 spans, {after_1m} KiB after 1,000,000");
    assert!(
        after_1m <= after_100k + SLACK_KIB,
        "resident memory grew from {after_100k} KiB to {after_1m} KiB"
    );
}
