//! `perftrack collect`'s receiving rate: a load generator re-sends one prebuilt batch of 512
//! spans (protobuf, 20 stage names, a quarter of them model calls with tokens and a first
//! token) over one keep-alive loopback connection to a running receiver, and waits for each
//! answer. Criterion reports spans per second. The baseline, measured in the same run, is the
//! same round trip to `/v1/metrics`, which the receiver answers without reading spans: the
//! difference is what decoding and recording 512 spans costs.
//!
//! Run with `cargo bench -p perftrack-cli --bench collect -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};
use prost::Message;

const SPANS: u64 = 512;
const T0: u64 = 1_700_000_000_000_000_000;

/// The batch: 512 spans over 20 names, 1 to 50 ms each; every fourth name a streamed model
/// call.
fn batch() -> Vec<u8> {
    let spans = (0..SPANS)
        .map(|i| {
            let stage = i % 20;
            let start = T0 + i * 1_000_000;
            let mut span = Span {
                trace_id: vec![1; 16],
                span_id: i.to_be_bytes().to_vec(),
                name: format!("stage-{stage:02}"),
                start_time_unix_nano: start,
                end_time_unix_nano: start + (1 + i % 50) * 1_000_000,
                ..Span::default()
            };
            if stage % 4 == 0 {
                span.attributes = vec![KeyValue {
                    key: "gen_ai.usage.output_tokens".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::IntValue(40)),
                    }),
                    ..KeyValue::default()
                }];
                span.events = vec![Event {
                    name: "First Token Stream Event".into(),
                    time_unix_nano: start + 500_000,
                    ..Event::default()
                }];
            }
            span
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
    .encode_to_vec()
}

/// A running receiver, ended when dropped.
struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start() -> (Receiver, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_perftrack"))
        .args(["collect", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    // Keep draining stderr so that the receiver never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (Receiver(child), addr)
}

/// One keep-alive HTTP/1.1 connection that posts a body and reads the answer.
struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream: BufReader::new(stream),
        }
    }

    fn post(&mut self, path: &str, body: &[u8]) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut line = String::new();
        self.stream.read_line(&mut line).unwrap();
        assert!(line.contains(" 200 "), "{line}");
        let mut length = 0;
        loop {
            line.clear();
            self.stream.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut answer = vec![0; length];
        self.stream.read_exact(&mut answer).unwrap();
    }
}

fn receiving(c: &mut Criterion) {
    let (_receiver, addr) = start();
    let body = batch();
    let mut client = Client::connect(&addr);
    let mut group = c.benchmark_group("collect");
    group.throughput(Throughput::Elements(SPANS));
    group.bench_function("512 spans, protobuf", |b| {
        b.iter(|| client.post("/v1/traces", &body));
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline: a round trip to /v1/metrics", |b| {
        b.iter(|| client.post("/v1/metrics", b""));
    });
    group.finish();
}

criterion_group!(benches, receiving);
criterion_main!(benches);
