//! The OTLP exporter against a receiver built on the official Python `opentelemetry-proto`
//! package, and against backends that answer 503, hang, or are down.
//!
//! The receiver needs the interpreter in `PERFTRACK_TEST_PYTHON` with the packages of
//! `.ci/requirements.txt` (`.ci/run` sets it up). Without it that test says why and passes,
//! except under `CI=true`, where it fails. The other tests need nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::{ExponentialHistogramDataPoint, metric::Data};
use perftrack::{
    CpuConfig, CpuUsageTracker, GenerationConfig, GenerationTracker, LatencyConfig, LatencyTracker,
    ManualClock, MemoryConfig, MemoryUsageTracker, OtlpConfig, OtlpExporter, OtlpFailure,
    OtlpHistograms, OtlpStatus, SamplingInterval, ThroughputConfig, ThroughputTracker, TimeUnit,
};
use prost::Message as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;

/// Waits until `done` holds of the exporter's status, polling; panics after a minute, which
/// only a broken exporter needs.
fn wait_for(exporter: &OtlpExporter, what: &str, done: impl Fn(&OtlpStatus) -> bool) -> OtlpStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = exporter.status();
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "waited a minute for {what}: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A configuration whose endpoint nothing listens on (a port that was free a moment ago), for
/// tests that read the payload and need no backend: the push at drop fails at once.
fn nowhere() -> OtlpConfig {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    OtlpConfig {
        endpoint: format!("http://{}/v1/metrics", listener.local_addr().unwrap()),
        interval_ms: 3_600_000,
        max_retries: 0,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Exactness: bucket counts computed here from the raw values.

/// The OTLP bucket index at scale 6 of a positive value, computed from its definition:
/// the `i` with `2^(i/64) < v <= 2^((i+1)/64)`. Powers of two and the values next to them are
/// decided exactly; other values come from `log2` and are `None` when within a millionth of a
/// bucket of a bound that is not a power of two (an irrational number, which `f64` cannot
/// place them against), which the callers avoid.
fn expected_index(v: f64) -> Option<i32> {
    let x = 64.0 * v.log2();
    let nearest = x.round();
    if (x - nearest).abs() < 1e-6 {
        let n = nearest as i32;
        if n % 64 != 0 {
            return None;
        }
        // The bound 2^(n/64) is a power of two, exactly a double: compare with it.
        let bound = 2f64.powi(n / 64);
        return Some(if v <= bound { n - 1 } else { n });
    }
    Some(x.ceil() as i32 - 1)
}

/// The values of the exactness test: log-uniform durations from 1 µs to 20 s in whole
/// nanoseconds, plus every power of two of seconds that is a whole number of nanoseconds
/// (2^-9 s to 2^4 s) and the nanosecond on each side of it, and zero durations.
fn exactness_durations() -> Vec<Duration> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(22);
    let mut out = Vec::new();
    while out.len() < 20_000 {
        let exponent: f64 = rng.random_range(-6.0..1.3);
        let d = Duration::from_nanos((10f64.powf(exponent) * 1e9) as u64);
        if expected_index(d.as_secs_f64()).is_some() {
            out.push(d);
        }
    }
    for k in -9..=4 {
        let nanos = (2f64.powi(k) * 1e9) as u64;
        for n in [nanos - 1, nanos, nanos, nanos + 1] {
            out.push(Duration::from_nanos(n));
        }
    }
    out.extend([Duration::ZERO; 3]);
    out
}

/// `(zero count, index -> count)` of `values`, from [`expected_index`].
fn expected_buckets(values: &[f64]) -> (u64, BTreeMap<i32, u64>) {
    let mut zero = 0;
    let mut buckets = BTreeMap::new();
    for &v in values {
        if v == 0.0 {
            zero += 1;
        } else {
            *buckets.entry(expected_index(v).unwrap()).or_insert(0) += 1;
        }
    }
    (zero, buckets)
}

/// `index -> count` of an OTLP point's positive buckets (zeros left out).
fn point_buckets(offset: i32, counts: &[u64]) -> BTreeMap<i32, u64> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (offset + i as i32, *n))
        .collect()
}

#[test]
fn exponential_buckets_hold_exactly_the_values_in_their_bounds() {
    // Past `exact_limit`: the buckets come from the sketch.
    let latency = LatencyTracker::new(LatencyConfig {
        time_unit: TimeUnit::Seconds,
        exact_limit: 64,
        max_records: 0,
        ..Default::default()
    });
    let durations = exactness_durations();
    for d in &durations {
        latency.record("retrieval", *d);
    }
    // Below it: the exact values, bucketed the same way.
    let few = &durations[durations.len() - 60..];
    for d in few {
        latency.record("rerank", *d);
    }
    let exporter = OtlpExporter::new(nowhere()).unwrap();
    exporter.add_latency(&latency, None).unwrap();
    let request = ExportMetricsServiceRequest::decode(&exporter.payload()[..]).unwrap();
    let metric = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == "perftrack.latency.duration")
        .unwrap();
    let Some(Data::ExponentialHistogram(histogram)) = &metric.data else {
        panic!("not an exponential histogram: {metric:?}");
    };
    let point = |label: &str| -> &ExponentialHistogramDataPoint {
        histogram
            .data_points
            .iter()
            .find(|p| format!("{:?}", p.attributes).contains(&format!("\"{label}\"")))
            .unwrap()
    };
    for (label, durations) in [("retrieval", &durations[..]), ("rerank", few)] {
        let values: Vec<f64> = durations.iter().map(Duration::as_secs_f64).collect();
        let p = point(label);
        let (zero, buckets) = expected_buckets(&values);
        assert_eq!(p.scale, 6);
        assert_eq!(p.zero_count, zero, "{label}");
        let positive = p.positive.as_ref().unwrap();
        assert_eq!(
            point_buckets(positive.offset, &positive.bucket_counts),
            buckets,
            "{label}"
        );
        assert!(p.negative.as_ref().unwrap().bucket_counts.is_empty());
        assert_eq!(p.count, values.len() as u64);
        assert_eq!(p.sum, Some(values.iter().sum::<f64>()));
        assert_eq!(
            p.min,
            Some(values.iter().copied().fold(f64::INFINITY, f64::min))
        );
        assert_eq!(p.max, Some(values.iter().copied().fold(0.0, f64::max)));
    }
    // The boundary cases, spelled out: 2^-9 s ends bucket -577, the nanosecond after it is in
    // bucket -576.
    let p = point("retrieval");
    let positive = p.positive.as_ref().unwrap();
    let at = |index: i32| positive.bucket_counts[(index - positive.offset) as usize];
    let (_, expected) = expected_buckets(&[0.001_953_125, 0.001_953_126]);
    assert_eq!(expected.keys().copied().collect::<Vec<_>>(), [-577, -576]);
    assert!(at(-577) >= 3 && at(-576) >= 1);
}

// ---------------------------------------------------------------------------------------------
// The Python receiver.

const RECEIVER: &str = r#"
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as service

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = service.ExportMetricsServiceRequest()
        request.ParseFromString(body)
        message = json_format.MessageToDict(request, preserving_proto_field_name=True)
        message["_path"] = self.path
        message["_content_type"] = self.headers["Content-Type"]
        message["_api_key"] = self.headers.get("api-key")
        message["_user_agent"] = self.headers.get("User-Agent")
        print(json.dumps(message), flush=True)
        answer = service.ExportMetricsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// The receiver process and the lines it prints, one JSON request per line.
struct Receiver {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start() -> Option<Self> {
        let Some(python) = std::env::var_os("PERFTRACK_TEST_PYTHON") else {
            let why = "PERFTRACK_TEST_PYTHON is not set (an interpreter with the packages of \
                       .ci/requirements.txt, which .ci/run sets up)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why}; CI must have it");
            }
            eprintln!("skipping: {why}");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("receiver.py");
        std::fs::write(&script, RECEIVER).unwrap();
        let mut child = Command::new(python)
            .arg(&script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let _dir = dir;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the receiver prints its port (is opentelemetry-proto installed?)");
        Some(Self {
            child,
            lines,
            port: first.trim().parse().unwrap(),
        })
    }

    fn next(&self) -> Value {
        let line = self.lines.recv_timeout(Duration::from_secs(60)).unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

/// A JSON integer, which the protobuf JSON mapping writes as a string for 64-bit fields.
fn int(v: &Value) -> i128 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => i128::from(n.as_i64().unwrap()),
        other => panic!("not an integer: {other}"),
    }
}

fn attributes(point: &Value) -> BTreeMap<String, Value> {
    point["attributes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|kv| {
                    let v = &kv["value"];
                    let v = v
                        .get("string_value")
                        .cloned()
                        .or_else(|| v.get("int_value").map(|i| Value::from(int(i) as i64)))
                        .unwrap();
                    (kv["key"].as_str().unwrap().to_owned(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn metrics(message: &Value) -> BTreeMap<String, Value> {
    message["resource_metrics"][0]["scope_metrics"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_owned(), m.clone()))
        .collect()
}

fn points<'a>(metric: &'a Value, kind: &str) -> &'a Vec<Value> {
    metric[kind]["data_points"].as_array().unwrap()
}

fn by_label<'a>(points: &'a [Value], label: &str) -> &'a Value {
    points
        .iter()
        .find(|p| attributes(p).get("perftrack.label") == Some(&Value::from(label)))
        .unwrap_or_else(|| panic!("no point for {label}"))
}

#[test]
fn the_payload_decodes_with_the_official_python_package() {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let clock = Arc::new(ManualClock::new());
    let latency = LatencyTracker::with_clock(
        LatencyConfig {
            time_unit: TimeUnit::Seconds,
            exact_limit: 10,
            ..Default::default()
        },
        clock.clone(),
    );
    let durations: Vec<Duration> = (1..=40).map(|i| Duration::from_millis(i * 7)).collect();
    for d in &durations {
        latency.record("retrieval", *d);
    }
    let throughput = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    throughput.record("queries", 5);
    clock.advance(Duration::from_secs(1));
    let generation = GenerationTracker::with_clock(
        GenerationConfig {
            provider_name: "openai".into(),
            ..Default::default()
        },
        clock.clone(),
    );
    let mut request = generation.track("answer");
    request.input_tokens(12);
    clock.advance(Duration::from_millis(250));
    request.tokens(1);
    clock.advance(Duration::from_millis(50));
    request.tokens(3);
    request.stop();
    let off = SamplingInterval::from_secs_f64(0.0).unwrap();
    let memory = MemoryUsageTracker::new(MemoryConfig {
        track_gpu: false,
        sampling_interval: off,
        ..Default::default()
    });
    let cpu = CpuUsageTracker::new(CpuConfig {
        sampling_interval: off,
        ..Default::default()
    });

    let exporter = OtlpExporter::new(OtlpConfig {
        endpoint: format!("http://127.0.0.1:{}/v1/metrics", receiver.port),
        headers: [("api-key".to_owned(), "secret".to_owned())].into(),
        service_name: Some("rag-api".into()),
        resource_attributes: [("deployment.environment".to_owned(), "test".to_owned())].into(),
        interval_ms: 3_600_000,
        ..Default::default()
    })
    .unwrap();
    exporter.add_latency(&latency, None).unwrap();
    exporter
        .add_throughput(&throughput, Some("ingest"))
        .unwrap();
    exporter.add_generation(&generation, None).unwrap();
    exporter.add_memory(&memory, None).unwrap();
    exporter.add_cpu(&cpu, None).unwrap();
    exporter.export_now();
    let message = receiver.next();

    assert_eq!(message["_path"], "/v1/metrics");
    assert_eq!(message["_content_type"], "application/x-protobuf");
    assert_eq!(message["_api_key"], "secret");
    assert!(
        message["_user_agent"]
            .as_str()
            .unwrap()
            .starts_with("perftrack-otlp/")
    );
    let resource = attributes(&message["resource_metrics"][0]["resource"]);
    assert_eq!(resource["service.name"], "rag-api");
    assert_eq!(resource["deployment.environment"], "test");
    assert_eq!(
        message["resource_metrics"][0]["scope_metrics"][0]["scope"]["name"],
        "perftrack"
    );
    let m = metrics(&message);
    let cumulative = "AGGREGATION_TEMPORALITY_CUMULATIVE";

    // Latency: an exact exponential histogram, cumulative from the tracker's start.
    let duration = &m["perftrack.latency.duration"];
    assert_eq!(duration["unit"], "s");
    assert_eq!(
        duration["exponential_histogram"]["aggregation_temporality"],
        cumulative
    );
    let point = by_label(points(duration, "exponential_histogram"), "retrieval");
    let values: Vec<f64> = durations.iter().map(Duration::as_secs_f64).collect();
    assert_eq!(int(&point["count"]), 40);
    assert_eq!(point["sum"].as_f64(), Some(values.iter().sum::<f64>()));
    assert_eq!(point["min"].as_f64(), Some(0.007));
    assert_eq!(point["max"].as_f64(), Some(0.28));
    assert_eq!(point["scale"], 6);
    let start = latency.snapshot().start_time.as_unix_nanos();
    assert_eq!(int(&point["start_time_unix_nano"]), i128::from(start));
    let (_, expected) = expected_buckets(&values);
    let offset = point["positive"]["offset"].as_i64().unwrap() as i32;
    let counts: Vec<u64> = point["positive"]["bucket_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| int(c) as u64)
        .collect();
    assert_eq!(point_buckets(offset, &counts), expected);
    for name in ["perftrack.latency.failed", "perftrack.latency.cancelled"] {
        assert_eq!(m[name]["unit"], "{operation}");
        assert_eq!(m[name]["sum"]["is_monotonic"], true);
        let p = by_label(points(&m[name], "sum"), "retrieval");
        assert_eq!(int(&p["as_int"]), 0);
    }

    // Throughput: a monotonic cumulative count and a rate gauge, with the tracker's name.
    let events = &m["perftrack.throughput.events"];
    assert_eq!(
        (&events["unit"], &events["sum"]["is_monotonic"]),
        (&Value::from("{event}"), &Value::from(true))
    );
    assert_eq!(events["sum"]["aggregation_temporality"], cumulative);
    let p = by_label(points(events, "sum"), "queries");
    assert_eq!(int(&p["as_int"]), 5);
    assert_eq!(attributes(p)["perftrack.tracker"], "ingest");
    let rate = by_label(points(&m["perftrack.throughput.rate"], "gauge"), "queries");
    assert_eq!(m["perftrack.throughput.rate"]["unit"], "{event}/s");
    let window = throughput.snapshot().labels["queries"].window_events_per_second;
    assert_eq!(rate["as_double"].as_f64(), window);
    assert!(window.is_some());

    // Generation: the GenAI names, units and attributes of the naming table.
    let ttft = &m["gen_ai.client.operation.time_to_first_chunk"];
    assert_eq!(ttft["unit"], "s");
    let p = by_label(points(ttft, "exponential_histogram"), "answer");
    assert_eq!(p["sum"].as_f64(), Some(0.25));
    let a = attributes(p);
    assert_eq!(a["gen_ai.operation.name"], "chat");
    assert_eq!(a["gen_ai.provider.name"], "openai");
    let usage = &m["gen_ai.client.token.usage"];
    assert_eq!(usage["unit"], "{token}");
    let usage = points(usage, "exponential_histogram");
    for (token_type, tokens) in [("input", 12.0), ("output", 4.0)] {
        let p = usage
            .iter()
            .find(|p| attributes(p)["gen_ai.token.type"] == token_type)
            .unwrap();
        assert_eq!(p["sum"].as_f64(), Some(tokens), "{token_type}");
    }
    for name in [
        "gen_ai.client.operation.duration",
        "gen_ai.client.operation.time_per_output_chunk",
        "perftrack.generation.tpot",
    ] {
        assert_eq!(m[name]["unit"], "s", "{name}");
    }
    let failed = by_label(points(&m["perftrack.generation.failed"], "sum"), "answer");
    assert_eq!(int(&failed["as_int"]), 0);
    assert!(
        !m.contains_key("perftrack.generation.slo_met"),
        "no objectives"
    );

    // Memory and CPU: gauges in bytes and ratios, CPU seconds a cumulative sum.
    if cfg!(target_os = "linux") {
        let rss = &m["perftrack.memory.process_rss"];
        assert_eq!(rss["unit"], "By");
        assert!(points(rss, "gauge")[0]["as_double"].as_f64().unwrap() > 1e6);
        assert_eq!(m["perftrack.memory.system_percent"]["unit"], "%");
        let cpu_time = &m["perftrack.process.cpu.time"];
        assert_eq!(
            (&cpu_time["unit"], &cpu_time["sum"]["is_monotonic"]),
            (&Value::from("s"), &Value::from(true))
        );
    }

    // A reset starts a new epoch: the next push's points start at the new start time, so a
    // backend reads a counter reset, not a decrease.
    clock.advance(Duration::from_secs(5));
    latency.reset();
    latency.record("retrieval", Duration::from_millis(3));
    exporter.export_now();
    let message = receiver.next();
    let m = metrics(&message);
    let point = by_label(
        points(&m["perftrack.latency.duration"], "exponential_histogram"),
        "retrieval",
    );
    let renewed = latency.snapshot().start_time.as_unix_nanos();
    assert!(renewed > start);
    assert_eq!(int(&point["start_time_unix_nano"]), i128::from(renewed));
    assert_eq!(int(&point["count"]), 1);

    // Shutdown pushes once more.
    latency.record("retrieval", Duration::from_millis(4));
    let status = exporter.shutdown();
    let message = receiver.next();
    let m = metrics(&message);
    let point = by_label(
        points(&m["perftrack.latency.duration"], "exponential_histogram"),
        "retrieval",
    );
    assert_eq!(int(&point["count"]), 2);
    assert_eq!((status.exports, status.failed_exports), (3, 0));
}

// ---------------------------------------------------------------------------------------------
// Backends that fail.

/// Reads one HTTP request (headers and a `Content-Length` body) from `stream`.
fn read_request(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).is_ok()
}

/// A backend on a port-0 listener that answers every request with `answer` and notes when
/// each request arrived.
fn answering(answer: &'static str) -> (String, Arc<Mutex<Vec<Instant>>>) {
    answering_with(answer.as_bytes().to_vec())
}

/// [`answering`] with an answer of any bytes.
fn answering_with(answer: Vec<u8>) -> (String, Arc<Mutex<Vec<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/metrics", listener.local_addr().unwrap());
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let noted = Arc::clone(&arrivals);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            while read_request(&mut stream) {
                noted.lock().unwrap().push(Instant::now());
                if stream.write_all(&answer).is_err() {
                    break;
                }
            }
        }
    });
    (url, arrivals)
}

fn a_latency_tracker() -> LatencyTracker {
    let latency = LatencyTracker::new(LatencyConfig::default());
    for ms in 1..=100 {
        latency.record("retrieval", Duration::from_millis(ms));
    }
    latency
}

#[test]
fn a_503_with_retry_after_is_retried_after_it_up_to_the_bound() {
    let (url, arrivals) = answering(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
    );
    let exporter = OtlpExporter::new(OtlpConfig {
        endpoint: url,
        interval_ms: 3_600_000,
        max_retries: 2,
        // Without Retry-After the retries would follow 10 ms apart.
        retry_backoff_ms: 10,
        max_retry_delay_ms: 60_000,
        ..Default::default()
    })
    .unwrap();
    exporter.add_latency(&a_latency_tracker(), None).unwrap();
    exporter.export_now();
    let status = wait_for(&exporter, "the push to be given up", |s| {
        s.failed_exports == 1
    });
    assert_eq!(
        (
            status.attempts,
            status.retries,
            status.failed_attempts,
            status.exports
        ),
        (3, 2, 3, 0)
    );
    assert_eq!(status.last_failure, Some(OtlpFailure::Status(503)));
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 3);
    for pair in arrivals.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_secs(1), "{arrivals:?}");
    }
}

#[test]
fn a_long_retry_after_is_capped_by_the_longest_delay() {
    let (url, arrivals) = answering(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\n\r\n",
    );
    let exporter = OtlpExporter::new(OtlpConfig {
        endpoint: url,
        interval_ms: 3_600_000,
        max_retries: 2,
        max_retry_delay_ms: 20,
        ..Default::default()
    })
    .unwrap();
    exporter.add_latency(&a_latency_tracker(), None).unwrap();
    exporter.export_now();
    // An hour per retry would outlast `wait_for`'s minute.
    let status = wait_for(&exporter, "the push to be given up", |s| {
        s.failed_exports == 1
    });
    assert_eq!(status.last_failure, Some(OtlpFailure::Status(429)));
    assert_eq!(arrivals.lock().unwrap().len(), 3);
}

#[test]
fn a_backend_that_hangs_never_blocks_the_caller_and_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/metrics", listener.local_addr().unwrap());
    let (arrived, requests) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            if read_request(&mut stream) {
                // Never answers: the connection stays open.
                held.push(stream);
                if arrived.send(()).is_err() {
                    break;
                }
            }
        }
    });
    let latency = a_latency_tracker();
    let exporter = OtlpExporter::new(OtlpConfig {
        endpoint: url,
        interval_ms: 3_600_000,
        timeout_ms: 300,
        max_retries: 1,
        retry_backoff_ms: 10,
        ..Default::default()
    })
    .unwrap();
    exporter.add_latency(&latency, None).unwrap();
    exporter.export_now();
    // The backend holds the request; the caller goes on recording and reading meanwhile.
    requests.recv_timeout(Duration::from_secs(60)).unwrap();
    latency.record("retrieval", Duration::from_millis(5));
    assert_eq!(exporter.status().exports, 0);
    let status = wait_for(&exporter, "the push to time out", |s| s.failed_exports == 1);
    assert_eq!(status.last_failure, Some(OtlpFailure::Timeout));
    assert_eq!((status.attempts, status.retries), (2, 1));
    // Shutdown's final push hangs too: it is abandoned at the timeout.
    let started = Instant::now();
    let status = exporter.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status.exports, 0);
}

#[test]
fn a_backend_that_is_down_costs_one_payload_however_many_pushes_fail() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let latency = a_latency_tracker();
    let exporter = OtlpExporter::new(OtlpConfig {
        endpoint: format!("http://127.0.0.1:{port}/v1/metrics"),
        interval_ms: 3_600_000,
        max_retries: 0,
        ..Default::default()
    })
    .unwrap();
    exporter.add_latency(&latency, None).unwrap();
    let payload = exporter.payload().len();
    let pushes = 200;
    let mut after_one = None;
    for n in 1..=pushes {
        exporter.export_now();
        let status = wait_for(&exporter, "the push to fail", |s| s.failed_exports == n);
        after_one.get_or_insert(status);
    }
    let after_one = after_one.unwrap();
    let status = exporter.status();
    assert!(
        matches!(status.last_failure, Some(OtlpFailure::Unreachable(_))),
        "{status:?}"
    );
    assert_eq!((status.attempts, status.failed_exports), (pushes, pushes));
    // Nothing piles up: the largest body ever held is one push's, as after the first failure.
    assert_eq!(status.peak_held_bytes, after_one.peak_held_bytes);
    assert_eq!(status.peak_held_bytes, payload);
    assert_eq!(status.last_payload_bytes, payload);
}

#[test]
fn points_a_backend_rejects_are_counted_not_sent_again() {
    let body = ExportMetricsServiceResponse {
        partial_success: Some(ExportMetricsPartialSuccess {
            rejected_data_points: 2,
            error_message: "names too long".into(),
        }),
    }
    .encode_to_vec();
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend(body);
    let (url, arrivals) = answering_with(answer);
    let exporter = OtlpExporter::new(OtlpConfig {
        endpoint: url,
        interval_ms: 3_600_000,
        ..Default::default()
    })
    .unwrap();
    exporter.add_latency(&a_latency_tracker(), None).unwrap();
    for n in 1..=2 {
        exporter.export_now();
        wait_for(&exporter, "the push", |s| s.exports == n);
    }
    let status = exporter.status();
    assert_eq!(
        (status.rejected_points, status.attempts, status.retries),
        (4, 2, 0)
    );
    assert_eq!(status.failed_exports, 0);
    assert_eq!(arrivals.lock().unwrap().len(), 2);
}

#[test]
fn explicit_histograms_count_the_values_between_the_advised_bounds() {
    let latency = LatencyTracker::new(LatencyConfig {
        time_unit: TimeUnit::Seconds,
        ..Default::default()
    });
    // While a label holds its exact values, explicit buckets are exact too: values on bounds
    // (0.01, 0.02, 0.04 s) count in the bucket they end.
    let values_ms = [1u64, 10, 10, 11, 20, 39, 40, 41, 500, 100_000];
    for ms in values_ms {
        latency.record("retrieval", Duration::from_millis(ms));
    }
    let exporter = OtlpExporter::new(OtlpConfig {
        histograms: OtlpHistograms::Explicit,
        ..nowhere()
    })
    .unwrap();
    exporter.add_latency(&latency, None).unwrap();
    let request = ExportMetricsServiceRequest::decode(&exporter.payload()[..]).unwrap();
    let metric = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == "perftrack.latency.duration")
        .unwrap();
    let Some(Data::Histogram(histogram)) = &metric.data else {
        panic!("not an explicit histogram: {metric:?}");
    };
    let point = &histogram.data_points[0];
    let bounds = perftrack::GenerationFigure::Duration.names().buckets;
    assert_eq!(point.explicit_bounds, bounds);
    let values: Vec<f64> = values_ms
        .iter()
        .map(|ms| Duration::from_millis(*ms).as_secs_f64())
        .collect();
    let mut expected = vec![0u64; bounds.len() + 1];
    for v in &values {
        expected[bounds.partition_point(|b| b < v)] += 1;
    }
    assert_eq!(point.bucket_counts, expected);
    // (.., 0.01]: 1, 10, 10 ms; (0.01, 0.02]: 11, 20; (0.02, 0.04]: 39, 40.
    assert_eq!(expected[..3], [3, 2, 2]);
    assert_eq!(
        (point.count, point.min, point.max),
        (10, Some(0.001), Some(100.0))
    );
}

/// With `otlp-tls`, an https endpoint is spoken to over TLS: the backend receives a TLS
/// handshake record (content type 22) first. (A full exchange would need a certificate that
/// the Mozilla roots trust.)
#[cfg(feature = "otlp-tls")]
#[test]
fn an_https_endpoint_opens_with_a_tls_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (first_byte, got) = mpsc::channel();
    std::thread::spawn(move || {
        if let Some(Ok(mut stream)) = listener.incoming().next() {
            let mut byte = [0u8; 1];
            if stream.read_exact(&mut byte).is_ok() {
                let _ = first_byte.send(byte[0]);
            }
        }
    });
    let exporter = OtlpExporter::new(OtlpConfig {
        endpoint: format!("https://localhost:{port}/v1/metrics"),
        interval_ms: 3_600_000,
        timeout_ms: 2_000,
        max_retries: 0,
        ..Default::default()
    })
    .unwrap();
    exporter.add_latency(&a_latency_tracker(), None).unwrap();
    exporter.export_now();
    assert_eq!(got.recv_timeout(Duration::from_secs(60)).unwrap(), 0x16);
    let status = wait_for(&exporter, "the push to fail", |s| s.failed_exports == 1);
    assert_eq!(status.exports, 0);
}

/// The environment variable that gives [`failing_pushes_child`] its work.
const CHILD: &str = "PERFTRACK_OTLP_FAILING_CHILD";

/// The child process of [`each_kind_of_failure_is_printed_once`]: twenty pushes to a backend
/// that is down, then twenty to one that refuses them (HTTP 400). Run on its own it returns at
/// once: it has work only in that child.
#[test]
fn failing_pushes_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let (refusing, _) = answering("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    for endpoint in [nowhere().endpoint, refusing] {
        let exporter = OtlpExporter::new(OtlpConfig {
            endpoint,
            ..nowhere()
        })
        .unwrap();
        exporter.add_latency(&a_latency_tracker(), None).unwrap();
        for n in 1..=20 {
            exporter.export_now();
            wait_for(&exporter, "the push to fail", |s| s.failed_exports == n);
        }
    }
}

#[test]
fn each_kind_of_failure_is_printed_once() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "failing_pushes_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let printed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("perftrack: OTLP export"))
        .collect();
    // 21 failed pushes of each exporter (the last at drop): one line per kind and exporter.
    assert_eq!(printed.len(), 2, "{stderr}");
    assert!(printed[0].contains("unreachable"), "{}", printed[0]);
    assert!(printed[1].contains("HTTP 400"), "{}", printed[1]);
}
