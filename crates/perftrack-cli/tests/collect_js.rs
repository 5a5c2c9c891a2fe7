//! `perftrack collect -- node app.mjs`: the OpenTelemetry JavaScript SDK's OTLP/HTTP exporter,
//! which sends JSON (hex ids, times as strings, integers as JSON numbers, enums as integers),
//! exports to the receiver; every span lands with its own times.
//!
//! Needs Node and the packages of `tests/collect/js/package.json`, installed by `npm ci` there
//! (a step of `.ci/run`); without them the test says why it skips, and fails under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod otlp;

use assert_cmd::Command;
use otlp::{check_app_spans, generation_of, latency_of, require, test_file};
use serde_json::Value;

#[test]
fn the_javascript_sdks_json_exporter_lands_every_span_with_its_own_times() {
    let app = test_file("collect/js/app.mjs");
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success());
    if require(node, "`node` (Node.js 18 or newer) is not on PATH").is_none() {
        return;
    }
    let installed = test_file("collect/js/node_modules/@opentelemetry/exporter-trace-otlp-http");
    let why = "the JavaScript packages are not installed (npm ci --prefix crates/perftrack-cli/tests/collect/js)";
    if require(installed.exists().then_some(()), why).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let report = dir.path().join("report.json");
    Command::new(otlp::PERFTRACK)
        .arg("collect")
        .arg("-o")
        .arg(&out)
        .args(["--", "node"])
        .arg(&app)
        .arg(&report)
        .assert()
        .success();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let spans = report["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 15, "{report}");
    let latency = latency_of(&out);
    let generation = generation_of(&out).unwrap();
    check_app_spans(&latency, Some(&generation), spans);
    for request in generation.records() {
        assert_eq!(request.output_tokens, 30);
    }

    // The exporter sent JSON, every request of it accepted.
    let container: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let requests = &container["collect"]["requests"];
    assert!(requests["traces"].as_u64().unwrap() >= 1, "{requests}");
    assert_eq!(requests["traces_json"], requests["traces"], "{requests}");
}
