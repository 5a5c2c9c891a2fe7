//! Helpers for the `perftrack collect` tests: a receiver started on port 0 and stopped by a
//! signal, a plain HTTP/1.1 client over a TCP stream (so that every header and byte of a bad
//! request is the test's), and OTLP trace requests with spans the test controls.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// The `perftrack` binary.
pub(crate) const PERFTRACK: &str = env!("CARGO_BIN_EXE_perftrack");

/// A start time: 2023-11-14T22:13:20Z in nanoseconds.
pub(crate) const T0: u64 = 1_700_000_000_000_000_000;

/// Whether a missing tool or package must fail the test rather than skip it.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (returns `None`, saying why) when `what` is missing outside CI; panics under
/// `CI=true`.
pub(crate) fn require<T>(found: Option<T>, why: &str) -> Option<T> {
    if found.is_none() {
        assert!(!in_ci(), "CI=true but {why}");
        eprintln!("skipping: {why}");
    }
    found
}

/// A `perftrack collect` process and what it wrote to stderr.
pub(crate) struct Collector {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Collector {
    /// Starts `perftrack collect --listen 127.0.0.1:0 ARGS` and waits for its address.
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut child = Command::new(PERFTRACK)
            .args(["collect", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        lines.read_line(&mut first).unwrap();
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in `{first}`"))
            .parse()
            .unwrap();
        let stderr = Arc::new(Mutex::new(first));
        let reader = {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut rest = String::new();
                let _ = lines.read_to_string(&mut rest);
                stderr.lock().unwrap().push_str(&rest);
            })
        };
        Self {
            child,
            addr,
            stderr,
            reader: Some(reader),
        }
    }

    /// Sends `signal`, waits for the exit; returns the status and all of stderr.
    pub(crate) fn stop(mut self, signal: Signal) -> (ExitStatus, String) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
        let status = self.child.wait().unwrap();
        self.reader.take().unwrap().join().unwrap();
        let stderr = self.stderr.lock().unwrap().clone();
        (status, stderr)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response: its status and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// Sends one request (`Connection: close`) and reads the answer.
pub(crate) fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(&head(method, path, headers, body.len()))
        .unwrap();
    stream.write_all(body).unwrap();
    read_answer(stream)
}

/// A request's head.
pub(crate) fn head(method: &str, path: &str, headers: &[(&str, &str)], length: usize) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    head.into_bytes()
}

/// Reads an answer to its end (the server closes the connection).
pub(crate) fn read_answer(mut stream: TcpStream) -> Answer {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in `{head}`"));
    let mut body = bytes[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    Answer { status, body }
}

/// A chunked body's data.
fn unchunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&bytes[..line_end]).trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&bytes[line_end + 2..line_end + 2 + size]);
        bytes = &bytes[line_end + 4 + size..];
    }
}

/// Posts a protobuf trace request.
pub(crate) fn post_protobuf(addr: SocketAddr, request: &ExportTraceServiceRequest) -> Answer {
    send(
        addr,
        "POST",
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        &request.encode_to_vec(),
    )
}

/// A span of `name` from `start` to `end` (nanoseconds since the epoch).
pub(crate) fn span(name: &str, start: u64, end: u64) -> Span {
    Span {
        trace_id: vec![7; 16],
        span_id: vec![9; 8],
        name: name.to_owned(),
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Span::default()
    }
}

/// An integer attribute.
pub(crate) fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

/// A request holding `spans`.
pub(crate) fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// Polls `ready` every 20 ms until it holds, for at most `limit`; panics with `what` after.
pub(crate) fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The path of a file in the tests' folder.
pub(crate) fn test_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(path)
}

/// The latency tracker of a metrics file or run container.
pub(crate) fn latency_of(path: &std::path::Path) -> perftrack::LatencyTracker {
    tracker_of(path, |t| match t {
        perftrack::AnyTracker::Latency(l) => Some(l),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no latency tracker in {}", path.display()))
}

/// The generation tracker of a metrics file or run container, if it holds one.
pub(crate) fn generation_of(path: &std::path::Path) -> Option<perftrack::GenerationTracker> {
    tracker_of(path, |t| match t {
        perftrack::AnyTracker::Generation(g) => Some(g),
        _ => None,
    })
}

fn tracker_of<T>(
    path: &std::path::Path,
    pick: impl Fn(perftrack::AnyTracker) -> Option<T>,
) -> Option<T> {
    perftrack::load_any(path)
        .unwrap()
        .trackers
        .into_iter()
        .find_map(|loaded| pick(loaded.tracker))
}

/// Nanoseconds from an app's report: a JSON integer, or a decimal string (JavaScript's).
pub(crate) fn report_nanos(value: &serde_json::Value) -> i64 {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{value} is no time in nanoseconds"))
}

/// Checks the container or metrics files at `out` against the spans an app reported having
/// finished (`name`, `start_ns`, `end_ns`, `first_token_ns`, `failed`): each stage holds the
/// app's spans and failures, each measurement is its span's own `end − start` in
/// nanoseconds timestamped with its end, and each span with a first-token event is a
/// generation request whose TTFT is the event's own time less the start.
pub(crate) fn check_app_spans(
    latency: &perftrack::LatencyTracker,
    generation: Option<&perftrack::GenerationTracker>,
    spans: &[serde_json::Value],
) {
    use perftrack::{Status, Timestamp};
    let mut emitted: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for span in spans {
        let entry = emitted.entry(span["name"].as_str().unwrap()).or_default();
        entry.0 += 1;
        entry.1 += u64::from(span["failed"].as_bool().unwrap());
    }
    for (name, (count, failed)) in &emitted {
        let stats = latency.statistics(Some(name)).unwrap();
        assert_eq!((stats.count, stats.failed), (*count, *failed), "{name}");
    }
    assert_eq!(latency.statistics_by_label().len(), emitted.len());

    let records = latency.records();
    assert_eq!(records.len(), spans.len());
    let mut requests = 0;
    for span in spans {
        let (start, end) = (
            report_nanos(&span["start_ns"]),
            report_nanos(&span["end_ns"]),
        );
        let name = span["name"].as_str().unwrap();
        let ended = Timestamp::from_unix_nanos(end);
        let record = records
            .iter()
            .find(|r| r.label.as_deref() == Some(name) && r.timestamp == ended)
            .unwrap_or_else(|| panic!("no record of {span}"));
        assert_eq!((record.value * 1e6).round() as i64, end - start, "{span}");
        assert_eq!(
            record.status == Status::Failed,
            span["failed"].as_bool().unwrap()
        );
        if span["first_token_ns"].is_null() {
            continue;
        }
        requests += 1;
        let generation = generation.expect("a generation tracker");
        let request = generation
            .records()
            .into_iter()
            .find(|r| r.label.as_deref() == Some(name) && r.timestamp == ended)
            .unwrap_or_else(|| panic!("no generation request of {span}"));
        let ttft = report_nanos(&span["first_token_ns"]) - start;
        assert_eq!((request.ttft.unwrap() * 1e6).round() as i64, ttft, "{span}");
    }
    if let Some(generation) = generation {
        assert_eq!(generation.records().len(), requests);
    }
}
