//! `perftrack collect` end to end over loopback: every refusal gets its status and is counted
//! while good requests keep landing, overload is 503, files are flushed and saved on a signal,
//! and `-- CMD` saves a run container that `report`, `compare` and `merge` read.
//!
//! The command around which `collect` runs is this test binary run again in a role (the
//! `workload` test): it sends spans to `OTEL_EXPORTER_OTLP_ENDPOINT` as an SDK would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod otlp;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use flate2::{Compression, write::GzEncoder};
use nix::sys::signal::Signal;
use otlp::{
    Collector, T0, generation_of, int, latency_of, post_protobuf, request, send, span, wait_until,
};
use prost::Message;
use serde_json::Value;

/// The environment variable that makes this binary a span sender (see [`workload`]).
const ROLE: &str = "PERFTRACK_TEST_OTLP_ROLE";

/// The role: `send N EXIT`: sends N spans named `retrieve` of 1..=N ms and one `answer` span
/// with a first-token event to the endpoint in `OTEL_EXPORTER_OTLP_ENDPOINT`, then exits
/// with EXIT.
#[test]
fn workload() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let words: Vec<u64> = role
        .split_whitespace()
        .skip(1)
        .map(|w| w.parse().unwrap())
        .collect();
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap();
    assert_eq!(
        std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap(),
        "http/protobuf"
    );
    let addr = endpoint.strip_prefix("http://").unwrap().parse().unwrap();
    let answer = post_protobuf(addr, &request(sent_spans(words[0])));
    assert_eq!(answer.status, 200);
    std::process::exit(i32::try_from(words[1]).unwrap());
}

/// What the role sends.
fn sent_spans(n: u64) -> Vec<otlp_span::Span> {
    let mut spans: Vec<_> = (1..=n)
        .map(|i| span("retrieve", T0, T0 + i * 1_000_000))
        .collect();
    let mut answer = span("answer", T0, T0 + 1_000_000_000);
    answer.attributes = vec![
        int("gen_ai.usage.input_tokens", 40),
        int("gen_ai.usage.output_tokens", 21),
    ];
    answer.events = vec![otlp_span::Event {
        name: "First Token Stream Event".into(),
        time_unix_nano: T0 + 200_000_000,
        ..Default::default()
    }];
    spans.push(answer);
    spans
}

mod otlp_span {
    pub(crate) use opentelemetry_proto::tonic::trace::v1::Span;
    pub(crate) use opentelemetry_proto::tonic::trace::v1::span::Event;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn perftrack() -> Command {
    Command::new(otlp::PERFTRACK)
}

const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");
const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A bad request: what it is, the status it gets, its body, headers, method and path.
type Case<'a> = (
    &'a str,
    u16,
    Vec<u8>,
    Vec<(&'a str, &'a str)>,
    &'a str,
    &'a str,
);

#[test]
fn each_bad_request_gets_its_status_and_is_counted_and_good_ones_still_land() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stages.json");
    let collector = Collector::start(&["--max-body", "4096", "-o", out.to_str().unwrap()]);
    let addr = collector.addr;
    let good = request(vec![span("retrieve", T0, T0 + 12_000_000)]).encode_to_vec();
    let good_answer = |what: &str| {
        let answer = send(addr, "POST", "/v1/traces", &[PROTOBUF], &good);
        assert_eq!(answer.status, 200, "a good request after {what}");
    };

    let cases: Vec<Case<'_>> = vec![
        ("a GET", 405, vec![], vec![PROTOBUF], "GET", "/v1/traces"),
        (
            "another path",
            404,
            good.clone(),
            vec![PROTOBUF],
            "POST",
            "/v1/spans",
        ),
        (
            "text/plain",
            415,
            good.clone(),
            vec![("Content-Type", "text/plain")],
            "POST",
            "/v1/traces",
        ),
        (
            "no content type",
            415,
            good.clone(),
            vec![],
            "POST",
            "/v1/traces",
        ),
        (
            "brotli",
            415,
            good.clone(),
            vec![PROTOBUF, ("Content-Encoding", "br")],
            "POST",
            "/v1/traces",
        ),
        (
            "a large body",
            413,
            vec![0; 5000],
            vec![PROTOBUF],
            "POST",
            "/v1/traces",
        ),
        (
            "a gzip bomb",
            413,
            gzip(&[0; 100_000]),
            vec![PROTOBUF, ("Content-Encoding", "gzip")],
            "POST",
            "/v1/traces",
        ),
        (
            "truncated protobuf",
            400,
            good[..good.len() - 4].to_vec(),
            vec![PROTOBUF],
            "POST",
            "/v1/traces",
        ),
        (
            "garbage JSON",
            400,
            b"{\"resourceSpans\": [".to_vec(),
            vec![JSON],
            "POST",
            "/v1/traces",
        ),
        (
            "bad gzip",
            400,
            b"not gzip".to_vec(),
            vec![PROTOBUF, ("Content-Encoding", "gzip")],
            "POST",
            "/v1/traces",
        ),
    ];
    for (what, status, body, headers, method, path) in &cases {
        let answer = send(addr, method, path, headers, body);
        assert_eq!(
            answer.status,
            *status,
            "{what}: {:?}",
            String::from_utf8_lossy(&answer.body)
        );
        good_answer(what);
    }

    // Metrics and logs are answered and ignored, in the request's encoding.
    let answer = send(addr, "POST", "/v1/metrics", &[PROTOBUF], b"");
    assert_eq!((answer.status, answer.body.len()), (200, 0));
    let answer = send(addr, "POST", "/v1/logs", &[JSON], b"{}");
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"{}"[..]));

    // A span that ends before it starts is bad data: a partial success, the rest recorded.
    let mixed = request(vec![
        span("backwards", T0 + 5, T0),
        span("rerank", T0, T0 + 3_000_000),
    ]);
    let answer = post_protobuf(addr, &mixed);
    assert_eq!(answer.status, 200);
    let response =
        opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
            answer.body.as_slice(),
        )
        .unwrap();
    assert_eq!(response.partial_success.unwrap().rejected_spans, 1);

    // gzip'd OTLP/JSON, with a hex id and a 64-bit time as a string.
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"rerank","kind":1,"startTimeUnixNano":"{T0}","endTimeUnixNano":"{}"}}]}}]}}]}}"#,
        T0 + 5_000_000
    );
    let answer = send(
        addr,
        "POST",
        "/v1/traces",
        &[JSON, ("Content-Encoding", "gzip")],
        &gzip(body.as_bytes()),
    );
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"{}"[..]));

    let (status, stderr) = collector.stop(Signal::SIGTERM);
    assert!(status.success(), "{stderr}");
    let refused =
        "10 refused (3 400 bad body, 3 415 media type, 2 413 too large, 1 405 method, 1 404 path)";
    let counts = format!(
        "13 spans in 12 requests (1 bad spans, 0 model calls); 2 metrics/logs requests ignored; {refused}"
    );
    assert!(
        stderr.contains(&counts),
        "expected `{counts}` in:\n{stderr}"
    );

    // The file saved on exit: 10 good requests of 12 ms, two rerank spans of 3 and 5 ms.
    let latency = latency_of(&out);
    let retrieve = latency.statistics(Some("retrieve")).unwrap();
    assert_eq!((retrieve.count, retrieve.max), (10, 12.0));
    let rerank = latency.statistics(Some("rerank")).unwrap();
    assert_eq!((rerank.count, rerank.sum), (2, 8.0));
    assert!(latency.statistics(Some("backwards")).is_none());
    assert!(!dir.path().join("stages.generation.json").exists());
}

#[test]
fn an_overloaded_receiver_answers_503_and_serves_again_when_it_drains() {
    let collector = Collector::start(&["--max-pending", "1"]);
    let addr = collector.addr;
    // Large enough that the server hands the request over before its body arrived (smaller
    // bodies are read whole first).
    let spans = (0..100)
        .map(|_| span("retrieve", T0, T0 + 1_000_000))
        .collect();
    let good = request(spans).encode_to_vec();
    assert!(good.len() > 4096);

    // A request whose body is not all sent holds the one place until it is.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(&otlp::head("POST", "/v1/traces", &[PROTOBUF], good.len()))
        .unwrap();
    stalled.write_all(&good[..2]).unwrap();

    // Until the receiver has taken the stalled request, empty requests land (200); then they
    // are refused.
    let mut landed = 0;
    wait_until(
        Duration::from_secs(20),
        "a 503 while a request stalls",
        || match send(addr, "POST", "/v1/traces", &[PROTOBUF], b"").status {
            200 => {
                landed += 1;
                false
            }
            503 => true,
            other => panic!("status {other}"),
        },
    );
    stalled.write_all(&good[2..]).unwrap();
    assert_eq!(otlp::read_answer(stalled).status, 200);
    // Once it drains, requests land again.
    wait_until(Duration::from_secs(20), "a 200 after the stall", || {
        send(addr, "POST", "/v1/traces", &[PROTOBUF], &good).status == 200
    });
    let (status, stderr) = collector.stop(Signal::SIGINT);
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("200 spans in {} requests", landed + 2)),
        "{stderr}"
    );
    assert!(stderr.contains("503 overloaded"), "{stderr}");
}

#[test]
fn files_are_written_on_every_flush_and_on_exit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stages.json");
    let collector = Collector::start(&["--flush", "0.1", "-o", out.to_str().unwrap()]);
    assert_eq!(
        post_protobuf(collector.addr, &request(sent_spans(3))).status,
        200
    );
    // The flush writes both files while the receiver runs.
    let generation = dir.path().join("stages.generation.json");
    wait_until(Duration::from_secs(20), "the flushed files", || {
        generation.exists()
            && std::fs::read_to_string(&out).is_ok_and(|t| t.contains("\"retrieve\""))
    });
    assert_eq!(
        post_protobuf(collector.addr, &request(sent_spans(2))).status,
        200
    );
    let (status, stderr) = collector.stop(Signal::SIGINT);
    assert!(status.success(), "{stderr}");
    let latency = latency_of(&out);
    assert_eq!(latency.statistics(Some("retrieve")).unwrap().count, 5);
    assert_eq!(latency.statistics(Some("answer")).unwrap().count, 2);
    let generation = generation_of(&generation).unwrap();
    let answer = generation.statistics(Some("answer")).unwrap();
    assert_eq!(answer.requests, 2);
    // TTFT from the first-token event's own time: 200 ms after the span's start.
    assert_eq!(answer.ttft.unwrap().max, 200.0);
    // Only temporary-free, complete files remain.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn around_a_command_one_run_container_holds_the_stages_and_the_commands_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, n: u64| {
        let out = dir.path().join(name);
        let assert = perftrack()
            .args(["collect", "--interval", "0.05", "-o"])
            .arg(&out)
            .arg("--")
            .args(workload_command())
            .env(ROLE, format!("send {n} 3"))
            .assert()
            .code(3);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        (json(&out), stderr)
    };
    let (container, stderr) = run("base.json", 10);
    assert_eq!(container["format"], "perftrack-run");
    assert_eq!(container["exit"]["code"], 3);
    // Sampled as `perftrack run` samples, with its options.
    assert_eq!(container["interval_seconds"], 0.05);
    let trackers = container["trackers"].as_object().unwrap();
    let kinds: Vec<&str> = trackers.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        ["cpu", "generation", "latency", "memory"],
        "{stderr}"
    );
    let base = dir.path().join("base.json");
    let retrieve = latency_of(&base).statistics(Some("retrieve")).unwrap();
    assert_eq!((retrieve.count, retrieve.sum), (10, 55.0));
    let answer = generation_of(&base)
        .unwrap()
        .statistics(Some("answer"))
        .unwrap();
    assert_eq!(
        (answer.requests, answer.output_tokens.unwrap().sum),
        (1, 21.0)
    );
    let collect = &container["collect"];
    assert!(
        collect["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(collect["requests"]["traces"], 1);
    assert_eq!(collect["spans"]["received"], 11);
    assert_eq!(collect["spans"]["generation_requests"], 1);

    // `report`, `compare` and `merge` read the container.
    let (_, _) = run("new.json", 20);
    let new = dir.path().join("new.json");
    let report = perftrack().arg("report").arg(&base).assert().success();
    let text = String::from_utf8_lossy(&report.get_output().stdout).into_owned();
    assert!(
        text.contains("latency") && text.contains("retrieve"),
        "{text}"
    );
    assert!(text.contains("collect.spans.received: 11"), "{text}");
    let compare = perftrack()
        .args(["compare", "--format", "json"])
        .arg(&base)
        .arg(&new)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&compare.get_output().stdout).into_owned();
    assert!(text.contains("retrieve"), "{text}");
    let merged = dir.path().join("merged.json");
    perftrack()
        .args(["merge", "--tracker", "latency", "-o"])
        .arg(&merged)
        .arg(&base)
        .arg(&new)
        .assert()
        .success();
    let retrieve = latency_of(&merged).statistics(Some("retrieve")).unwrap();
    assert_eq!((retrieve.count, retrieve.sum), (30, 55.0 + 210.0));
}

/// The command line that runs this test binary as the span sender.
fn workload_command() -> Vec<std::ffi::OsString> {
    let exe = std::env::current_exe().unwrap();
    vec![
        exe.into_os_string(),
        "--exact".into(),
        "workload".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
        "--quiet".into(),
    ]
}

#[test]
fn bad_options_are_refused_before_receiving() {
    let assert = perftrack()
        .args(["collect", "--flush", "0", "--listen", "127.0.0.1:0"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("--flush 0"), "{stderr}");
    let assert = perftrack()
        .args([
            "collect",
            "-o",
            "/no/such/folder/stages.json",
            "--listen",
            "127.0.0.1:0",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("cannot write /no/such/folder/stages.json"),
        "{stderr}"
    );
}

#[test]
fn a_terminal_gets_a_live_table_redrawn_in_place() {
    // `script` (util-linux, in every Debian system) runs the receiver on a pseudo-terminal;
    // `timeout` (coreutils) stops it with SIGINT after three seconds, as Ctrl-C would.
    let script = Path::new("/usr/bin/script");
    if otlp::require(
        script.exists().then_some(()),
        "`script` (util-linux) is not installed",
    )
    .is_none()
    {
        return;
    }
    let command = format!(
        "timeout --preserve-status -s INT 3 {} collect --listen 127.0.0.1:0",
        otlp::PERFTRACK
    );
    let mut child = std::process::Command::new(script)
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(post_protobuf(addr, &request(sent_spans(4))).status, 200);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
    assert!(child.wait().unwrap().success(), "{text:?}");
    // Live drawings end with the counts line alone; the summary at exit starts it with
    // `perftrack: `. Each redraw moves up over the last drawing and erases it.
    let live = text
        .lines()
        .filter(|l| l.contains("spans in") && !l.contains("perftrack: "))
        .count();
    assert!(live >= 1, "no live drawing in {text:?}");
    assert!(text.contains("\r\x1b[J"), "no redraw in {text:?}");
    assert!(
        text.contains("perftrack: 5 spans in 1 requests"),
        "{text:?}"
    );
}
