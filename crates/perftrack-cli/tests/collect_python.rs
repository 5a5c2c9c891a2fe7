//! `perftrack collect -- python APP`: real Python clients export to the receiver.
//!
//! - `collect/rag_app.py`: the OpenTelemetry SDK with its OTLP/HTTP (protobuf) exporter, a
//!   small RAG flow (retrieval, reranking with one error, a streamed generation with token
//!   usage and a first-token event). Checked against the spans as the SDK finished them and
//!   the app's own `perf_counter` timings inside and around each span.
//! - `collect/langchain_app.py`: a langchain-core chain instrumented by
//!   `openinference-instrumentation-langchain`; every span kind it emits becomes a stage
//!   (`--label-attribute openinference.span.kind`), and its LLM spans carry token counts.
//!
//! The interpreter is `PERFTRACK_TEST_PYTHON` (`.ci/run` makes a virtual environment from the
//! pinned `.ci/requirements.txt`); without it, or without the packages, the tests say why
//! they skip, and fail under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod otlp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use otlp::{check_app_spans, generation_of, latency_of, report_nanos, require, test_file};
use serde_json::Value;

/// The test interpreter, if it is set and imports `modules`.
fn python(modules: &str) -> Option<PathBuf> {
    let python = require(
        std::env::var_os("PERFTRACK_TEST_PYTHON").map(PathBuf::from),
        "PERFTRACK_TEST_PYTHON is not set (a Python with .ci/requirements.txt installed)",
    )?;
    let imports = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .unwrap();
    require(
        imports.status.success().then_some(python),
        &format!(
            "PERFTRACK_TEST_PYTHON cannot import {modules} (install .ci/requirements.txt): {}",
            String::from_utf8_lossy(&imports.stderr)
        ),
    )
}

/// Runs `perftrack collect [extra] -o run.json -- python APP report.json` in `dir`; returns
/// the container's path and the app's report.
fn collect(dir: &Path, python: &Path, app: &str, extra: &[&str]) -> (PathBuf, Value) {
    let out = dir.join("run.json");
    let report = dir.join("report.json");
    Command::new(otlp::PERFTRACK)
        .arg("collect")
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(python)
        .arg(test_file(&format!("collect/{app}")))
        .arg(&report)
        .assert()
        .success();
    let report = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    (out, report)
}

fn nanos(value: &Value) -> i64 {
    report_nanos(value)
}

#[test]
fn the_otel_sdk_exporter_gives_each_stage_its_spans_with_their_own_durations() {
    let Some(python) = python("opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = collect(dir.path(), &python, "rag_app.py", &[]);
    let spans = report["spans"].as_array().unwrap();
    let latency = latency_of(&out);
    let generation = generation_of(&out).unwrap();
    assert_eq!(
        spans
            .iter()
            .filter(|s| s["failed"] == true && s["name"] == "rerank")
            .count(),
        1
    );
    check_app_spans(&latency, Some(&generation), spans);

    // Against the app's own perf_counter timings, in order per stage: each span's duration
    // lies between the timing of the work inside it and the timing around its start and end.
    // The SDK stamps spans with the wall clock, perf_counter is monotonic: the bounds allow
    // for the rates of the two clocks to differ by up to 0.1 % (NTP slews by at most 0.05 %).
    let mut timed: BTreeMap<&str, Vec<(i64, i64)>> = BTreeMap::new();
    for timing in report["timings"].as_array().unwrap() {
        timed
            .entry(timing["name"].as_str().unwrap())
            .or_default()
            .push((nanos(&timing["inner_ns"]), nanos(&timing["outer_ns"])));
    }
    let mut compared = 0;
    for (name, perf) in &timed {
        let own: Vec<&Value> = spans.iter().filter(|s| s["name"] == *name).collect();
        assert_eq!(own.len(), perf.len());
        for (span, &(inner, outer)) in own.iter().zip(perf) {
            let duration = nanos(&span["end_ns"]) - nanos(&span["start_ns"]);
            let slack = outer / 1000;
            assert!(
                inner - slack <= duration && duration <= outer + slack,
                "{name}: span {duration} ns, perf_counter {inner} ns inside it, {outer} ns around it"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, spans.len(), "every span has its timings");

    // The streamed generations' tokens, from usage.
    for request in generation.records() {
        assert_eq!(request.output_tokens, 20);
        assert!((100..106).contains(&request.input_tokens.unwrap()));
    }
}

#[test]
fn langchain_under_openinference_gives_a_stage_per_span_kind_and_llm_token_counts() {
    let Some(python) = python("openinference.instrumentation.langchain, langchain_core") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = collect(
        dir.path(),
        &python,
        "langchain_app.py",
        &["--label-attribute", "openinference.span.kind"],
    );
    let kinds: BTreeMap<String, u64> = serde_json::from_value(report["kinds"].clone()).unwrap();
    for kind in ["CHAIN", "RETRIEVER", "LLM"] {
        assert!(kinds.contains_key(kind), "{report}");
    }
    let latency = latency_of(&out);
    let stages: BTreeMap<String, u64> = latency
        .statistics_by_label()
        .into_iter()
        .map(|(label, stats)| (label, stats.count))
        .collect();
    assert_eq!(stages, kinds);

    // The LLM spans' token counts, with no first-token event: requests without a TTFT.
    let generation = generation_of(&out).unwrap();
    let mut counted: Vec<(Option<u64>, u64)> = generation
        .records()
        .iter()
        .map(|r| {
            assert_eq!(r.label.as_deref(), Some("LLM"));
            assert_eq!(r.ttft, None);
            (r.input_tokens, r.output_tokens)
        })
        .collect();
    let mut emitted: Vec<(Option<u64>, u64)> = report["llm_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["prompt"].as_u64(), t["completion"].as_u64().unwrap()))
        .collect();
    counted.sort_unstable();
    emitted.sort_unstable();
    assert_eq!(counted, emitted);
    assert_eq!(counted.len() as u64, kinds["LLM"]);
}
