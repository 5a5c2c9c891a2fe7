//! Helpers for the CLI tests: metrics files with values the test controls.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use perftrack::{
    GenerationConfig, GenerationTracker, LatencyConfig, LatencyTracker, ManualClock, Objective,
    Slo, ThroughputConfig, ThroughputTracker,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

/// The `perftrack` binary.
pub(crate) fn perftrack() -> Command {
    Command::cargo_bin("perftrack").unwrap()
}

/// A command's standard error as text.
pub(crate) fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the binary and checks its exit code; returns the output.
pub(crate) fn run(args: &[&dyn AsRef<std::ffi::OsStr>], code: i32) -> std::process::Output {
    let output = perftrack()
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        stderr_of(&output)
    );
    output
}

/// The library's test data (golden version-1 files, the Python original's files).
pub(crate) fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../perftrack/tests/data")
        .join(path)
}

/// `n` log-normal values (median 1, σ = 0.5 in log space) from a fixed seed.
pub(crate) fn lognormal(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            // Box–Muller: two uniforms give one standard normal.
            let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
            let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (0.5 * normal).exp()
        })
        .collect()
}

/// Saves a latency file with one label holding `millis`.
pub(crate) fn latency_file(path: &Path, label: &str, millis: &[f64]) -> LatencyTracker {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    for &ms in millis {
        tracker.record(label, Duration::from_secs_f64(ms / 1000.0));
    }
    tracker.save_metrics(path).unwrap();
    tracker
}

/// Saves a throughput file: one session per rate, each `rate` events over one second.
pub(crate) fn throughput_file(path: &Path, label: &str, rates: &[u64]) {
    let clock = Arc::new(ManualClock::new());
    let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    for &rate in rates {
        let mut guard = tracker.track(label);
        guard.record(rate);
        clock.advance(Duration::from_secs(1));
        guard.stop();
    }
    tracker.save_metrics(path).unwrap();
}

/// One streamed request of a generation file, in milliseconds on a manual clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request {
    /// From the start to the first chunk.
    pub(crate) ttft_ms: u64,
    /// How many chunks come after the first.
    pub(crate) more_chunks: u64,
    /// The gap before each of them.
    pub(crate) gap_ms: u64,
    /// Output tokens in each chunk.
    pub(crate) tokens: u64,
}

/// Objectives with only a time-to-first-token limit, in milliseconds.
pub(crate) fn ttft_objective(ms: f64) -> Slo {
    Slo {
        ttft: Some(Objective::new(ms).unwrap()),
        ..Slo::default()
    }
}

/// Saves a generation file (times in ms, objectives `slo`) with one request per entry of
/// `requests` under `label`, each sent when the previous one ended and given 500 input
/// tokens.
pub(crate) fn generation_file(path: &Path, label: &str, slo: Slo, requests: &[Request]) {
    let clock = Arc::new(ManualClock::new());
    let config = GenerationConfig {
        slo,
        ..GenerationConfig::default()
    };
    let tracker = GenerationTracker::with_clock(config, clock.clone());
    for r in requests {
        let mut request = tracker.track(label);
        request.input_tokens(500);
        clock.advance(Duration::from_millis(r.ttft_ms));
        request.tokens(r.tokens);
        for _ in 0..r.more_chunks {
            clock.advance(Duration::from_millis(r.gap_ms));
            request.tokens(r.tokens);
        }
        request.stop();
    }
    tracker.save_metrics(path).unwrap();
}

/// A command's standard output as JSON.
pub(crate) fn json_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A run container as `perftrack run -o` writes it, around the golden memory and CPU files.
pub(crate) fn run_container(path: &Path) {
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(data(name)).unwrap()).unwrap()
    };
    let container = json!({
        "format": "perftrack-run",
        "version": 1,
        "command": ["python", "my_rag.py"],
        "start_time": "2026-11-29T10:00:00Z",
        "end_time": "2026-11-29T10:00:12.345Z",
        "wall_time_seconds": 12.345,
        "exit": {"code": 0, "signal": null},
        "interval_seconds": 0.1,
        "include_children": true,
        "samples": 3,
        "cpu": {"user_seconds": 1.2, "system_seconds": 0.3, "mean_percent": 95.1, "peak_percent": 101.0},
        "peak": {"process_rss": 49_420_288, "tree_rss": 49_420_288, "gpu_memory": null},
        "trackers": {"memory": read("golden/memory-v1.json"), "cpu": read("golden/cpu-v1.json")},
    });
    std::fs::write(path, serde_json::to_string_pretty(&container).unwrap()).unwrap();
}
