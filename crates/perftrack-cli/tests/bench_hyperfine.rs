//! `perftrack bench` against hyperfine and GNU time, on workloads whose size the tests
//! control: the mean wall time of `sleep 0.2` (within 5 % of hyperfine's), the mean user +
//! system CPU seconds of a fixed amount of arithmetic (within 10 %), and each run's peak RSS
//! of a command that writes 128 MiB (within 5 % of GNU time's "Maximum resident set size").
//!
//! The tools take turns (perftrack, the other, the other, perftrack), so that a machine whose
//! load drifts during the test weighs on both alike; and the tests of this binary hold one
//! lock, so that they never run at the same time as each other, whatever `--test-threads`.
//! hyperfine (Debian package `hyperfine`) and GNU time (`time`) are required under CI=true;
//! elsewhere a test without them says so and skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod workload;

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use workload::{MIB, ROLE};

const PERFTRACK: &str = env!("CARGO_BIN_EXE_perftrack");

/// Held by every test: the measurements of one must not share the cores with another's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The entry point of the workload roles: does nothing unless this binary was started as one.
#[test]
fn workload() {
    workload::serve();
}

/// Whether hyperfine is installed; says why the test skips when it is not (outside CI).
fn have_hyperfine() -> bool {
    let found = Command::new("hyperfine").arg("--version").output().is_ok();
    if !found {
        assert!(
            !workload::in_ci(),
            "hyperfine (Debian package `hyperfine`) is required under CI=true"
        );
        eprintln!("skipped: hyperfine (Debian package `hyperfine`) is not installed");
    }
    found
}

/// `words` as one command string (the test binary's path has no spaces or quotes).
fn one_string(words: &[OsString]) -> String {
    let words: Vec<String> = words
        .iter()
        .map(|w| w.to_str().unwrap().to_owned())
        .collect();
    assert!(
        words
            .iter()
            .all(|w| !w.is_empty() && !w.contains([' ', '\'', '"', '\\'])),
        "{words:?}"
    );
    words.join(" ")
}

/// `perftrack bench --runs RUNS -o FILE COMMAND` with `role` in the environment; every run.
fn perftrack_runs(dir: &Path, command: &str, role: Option<&str>, runs: u32) -> Vec<Value> {
    let path = dir.join("bench.json");
    let mut bench = Command::new(PERFTRACK);
    bench
        .args(["bench", "--runs", &runs.to_string(), "-o"])
        .arg(&path)
        .arg(command);
    if let Some(role) = role {
        bench.env(ROLE, role);
    }
    let out = bench.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["commands"][0]["runs"].as_array().unwrap().clone()
}

/// hyperfine's result of `hyperfine -N --runs RUNS --export-json FILE COMMAND`.
fn hyperfine(dir: &Path, command: &str, role: Option<&str>, runs: u32) -> Value {
    let path = dir.join("hyperfine.json");
    let mut h = Command::new("hyperfine");
    h.args([
        "-N",
        "--style",
        "none",
        "--runs",
        &runs.to_string(),
        "--export-json",
    ])
    .arg(&path)
    .arg(command);
    if let Some(role) = role {
        h.env(ROLE, role);
    }
    let out = h.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["results"][0].clone()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Each tool's mean of `figure` over two turns of `runs` runs (perftrack, hyperfine,
/// hyperfine, perftrack).
fn both_means(
    command: &str,
    role: Option<&str>,
    runs: u32,
    ours: impl Fn(&Value) -> f64,
    theirs: impl Fn(&Value) -> f64,
) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Vec::new();
    let mut h = Vec::new();
    p.extend(
        perftrack_runs(dir.path(), command, role, runs)
            .iter()
            .map(&ours),
    );
    h.push(theirs(&hyperfine(dir.path(), command, role, runs)));
    h.push(theirs(&hyperfine(dir.path(), command, role, runs)));
    p.extend(
        perftrack_runs(dir.path(), command, role, runs)
            .iter()
            .map(&ours),
    );
    (mean(&p), mean(&h))
}

#[test]
fn the_mean_wall_time_of_sleep_agrees_with_hyperfine() {
    let _alone = alone();
    if !have_hyperfine() {
        return;
    }
    let (ours, theirs) = both_means(
        "sleep 0.2",
        None,
        10,
        |r| r["wall_seconds"].as_f64().unwrap(),
        |h| h["mean"].as_f64().unwrap(),
    );
    let ratio = ours / theirs;
    eprintln!("sleep 0.2: perftrack {ours:.4} s, hyperfine {theirs:.4} s, ratio {ratio:.4}");
    assert!((0.2..0.25).contains(&ours), "{ours} s");
    assert!((0.95..=1.05).contains(&ratio), "ratio {ratio}");
}

#[test]
fn the_mean_cpu_time_of_fixed_work_agrees_with_hyperfine() {
    let _alone = alone();
    if !have_hyperfine() {
        return;
    }
    // A fixed amount of arithmetic (a few tenths of a second of CPU): its CPU seconds do not
    // depend on what else the machine runs, while its wall time does.
    let role = "burn 60";
    let command = one_string(&workload::command());
    let (ours, theirs) = both_means(
        &command,
        Some(role),
        10,
        |r| r["user_seconds"].as_f64().unwrap() + r["system_seconds"].as_f64().unwrap(),
        |h| h["user"].as_f64().unwrap() + h["system"].as_f64().unwrap(),
    );
    let ratio = ours / theirs;
    eprintln!("{role}: perftrack {ours:.4} s of CPU, hyperfine {theirs:.4} s, ratio {ratio:.4}");
    assert!(ours > 0.1, "{ours} s of CPU is too little work to compare");
    assert!((0.9..=1.1).contains(&ratio), "ratio {ratio}");
}

#[test]
fn each_runs_peak_rss_agrees_with_gnu_time() {
    let _alone = alone();
    let role = "allocate 128";
    let command = workload::command();
    let dir = tempfile::tempdir().unwrap();
    let mut gnu = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..2 {
        let Some(g) = workload::gnu_time_max_rss(&command, role) else {
            return;
        };
        gnu.push(g as f64);
        let runs = perftrack_runs(dir.path(), &one_string(&command), Some(role), 3);
        ours.extend(runs.iter().map(|r| r["peak_rss_bytes"].as_f64().unwrap()));
    }
    let reference = mean(&gnu);
    eprintln!("{role}: GNU time {gnu:?} B, perftrack {ours:?} B");
    for rss in &ours {
        assert!(
            *rss >= (128 * MIB) as f64,
            "{rss} B is less than the 128 MiB written"
        );
        let ratio = rss / reference;
        assert!(
            (0.95..=1.05).contains(&ratio),
            "ratio {ratio}: {rss} B against {reference} B"
        );
    }
}
