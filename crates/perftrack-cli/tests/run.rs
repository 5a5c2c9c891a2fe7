//! `perftrack run` end to end: exit codes, stdio, signals, the kernel's peak RSS against GNU
//! time's, a grandchild's memory, the run container and the CSV file.
//!
//! The workloads are this test binary run again in a role (see `workload/mod.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod workload;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use perftrack::{CpuConfig, CpuUsageTracker, MemoryConfig, MemoryUsageTracker};
use serde_json::Value;
use workload::{MIB, ROLE};

const PERFTRACK: &str = env!("CARGO_BIN_EXE_perftrack");

/// The entry point of the workload roles: does nothing unless this binary was started as one.
#[test]
fn workload() {
    workload::serve();
}

fn perftrack() -> Command {
    Command::new(PERFTRACK)
}

/// Reads a run container.
fn container(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `perftrack run -o FILE [extra] -- the workload in `role``; returns the container.
fn run_workload(dir: &Path, role: &str, extra: &[&str]) -> Value {
    let out = dir.join(format!("{}.json", role.replace(' ', "_")));
    perftrack()
        .arg("run")
        .arg("-o")
        .arg(&out)
        .args(extra)
        .arg("--")
        .args(workload::command())
        .env(ROLE, role)
        .assert()
        .success();
    container(&out)
}

#[test]
fn the_exit_code_passes_through() {
    let assert = perftrack()
        .args(["run", "--", "sh", "-c", "exit 3"])
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("`sh -c 'exit 3'` exited with code 3"),
        "{stderr}"
    );
}

#[test]
fn a_killed_command_exits_with_128_plus_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    perftrack()
        .args(["run", "-o"])
        .arg(&out)
        .args(["--", "sh", "-c", "kill -9 $$"])
        .assert()
        .code(128 + 9);
    let run = container(&out);
    assert_eq!(run["exit"]["code"], Value::Null);
    assert_eq!(run["exit"]["signal"], 9);
}

#[test]
fn a_missing_command_exits_127_and_a_non_executable_one_126() {
    let assert = perftrack()
        .args(["run", "--", "perftrack-no-such-command"])
        .assert()
        .code(127);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("cannot run `perftrack-no-such-command`"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    perftrack()
        .args(["run", "--"])
        .arg(&script)
        .assert()
        .code(126);
}

#[test]
fn stdio_passes_through_untouched() {
    let assert = perftrack()
        .args(["run", "--", "sh", "-c", "cat; echo to-stderr >&2"])
        .write_stdin("line one\nline two\n")
        .assert()
        .success();
    let output = assert.get_output();
    assert_eq!(output.stdout, b"line one\nline two\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("to-stderr\n"), "{stderr}");
}

#[test]
fn bad_arguments_fail_before_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    let assert = perftrack()
        .args(["run", "--interval", "0.001", "--", "sh", "-c", &touch])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("--interval 0.001"), "{stderr}");
    let missing = dir.path().join("no/such/folder/run.json");
    perftrack()
        .args(["run", "-o"])
        .arg(&missing)
        .args(["--", "sh", "-c", &touch])
        .assert()
        .code(2);
    perftrack()
        .args(["run", "--csv"])
        .arg(&missing)
        .args(["--", "sh", "-c", &touch])
        .assert()
        .code(2);
    assert!(!marker.exists(), "the command must not have run");
    perftrack().arg("run").assert().code(2);
}

#[test]
fn the_peak_rss_matches_gnu_time() {
    let role = "allocate 300";
    let Some(gnu) = workload::gnu_time_max_rss(&workload::command(), role) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = run_workload(dir.path(), role, &[]);
    let ours = run["peak"]["process_rss"].as_u64().unwrap();
    let ratio = ours as f64 / gnu as f64;
    eprintln!(
        "peak RSS: perftrack {ours} B, GNU time {gnu} B, ratio {ratio:.4}; tree peak {}",
        run["peak"]["tree_rss"]
    );
    assert!(
        ours >= 300 * MIB,
        "{ours} B is less than the 300 MiB written"
    );
    assert!((0.95..=1.05).contains(&ratio), "ratio {ratio}");
    assert_eq!(run["exit"]["code"], 0);
}

#[test]
fn a_grandchilds_memory_is_counted() {
    // The child starts a grandchild that writes 200 MiB and holds it for a second: twenty
    // sampling intervals.
    let dir = tempfile::tempdir().unwrap();
    let role = "fork-allocate 200 1";
    let run = run_workload(dir.path(), role, &["--interval", "0.05"]);
    let process = run["peak"]["process_rss"].as_u64().unwrap();
    let tree = run["peak"]["tree_rss"].as_u64().unwrap();
    eprintln!("grandchild: process peak {process} B, tree peak {tree} B");
    assert!(process >= 200 * MIB, "the kernel's peak {process} B");
    assert!(tree >= 200 * MIB, "the sampled tree's peak {tree} B");

    // Without the descendants, only the child itself is sampled; the kernel's figure still
    // covers the grandchild, which the child waited for.
    let alone = run_workload(dir.path(), role, &["--interval", "0.05", "--no-children"]);
    assert_eq!(alone["include_children"], false);
    let tree_alone = alone["peak"]["tree_rss"].as_u64().unwrap();
    assert!(tree_alone < 100 * MIB, "the child alone: {tree_alone} B");
    assert!(alone["peak"]["process_rss"].as_u64().unwrap() >= 200 * MIB);
}

#[test]
fn the_container_and_the_csv_hold_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let csv = dir.path().join("run.csv");
    let plot = dir.path().join("run.svg");
    perftrack()
        .args(["run", "--interval", "0.05", "-o"])
        .arg(&out)
        .arg("--csv")
        .arg(&csv)
        .arg("--plot")
        .arg(&plot)
        .args(["--", "sh", "-c", "sleep 0.5"])
        .assert()
        .success();
    let run = container(&out);
    assert_eq!(run["format"], "perftrack-run");
    assert_eq!(run["version"], 2);
    assert_eq!(run["command"], serde_json::json!(["sh", "-c", "sleep 0.5"]));
    assert_eq!(run["exit"], serde_json::json!({"code": 0, "signal": null}));
    assert_eq!(run["interval_seconds"], 0.05);
    assert_eq!(run["include_children"], true);
    let wall = run["wall_time_seconds"].as_f64().unwrap();
    assert!((0.5..5.0).contains(&wall), "wall {wall}");
    let start: perftrack::Timestamp = run["start_time"].as_str().unwrap().parse().unwrap();
    let end: perftrack::Timestamp = run["end_time"].as_str().unwrap().parse().unwrap();
    assert!(end > start);
    assert_eq!(
        run["peak"]["gpu_memory"],
        Value::Null,
        "GPU is off by default"
    );
    let samples = run["samples"].as_u64().unwrap();
    assert!(samples >= 1, "{samples}");

    // Each nested object is a complete metrics file of its tracker, one session long, with
    // every sample.
    let nested = |kind: &str| serde_json::to_string(&run["trackers"][kind]).unwrap();
    let memory = MemoryUsageTracker::new(MemoryConfig::default());
    let loaded = memory
        .load_metrics_json(&nested("memory"), Path::new("run.json#/trackers/memory"))
        .unwrap();
    let records = &loaded.records;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].samples.len() as u64, samples);
    assert_eq!(records[0].label.as_deref(), Some("sh"));
    let cpu = CpuUsageTracker::new(CpuConfig::default());
    let loaded = cpu
        .load_metrics_json(&nested("cpu"), Path::new("run.json#/trackers/cpu"))
        .unwrap();
    let records = &loaded.records;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].samples.len() as u64, samples);

    // One CSV row per sample, elapsed time increasing, the tree's RSS always read.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("elapsed_seconds,cpu_percent,tree_rss_bytes,gpu_bytes")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, samples);
    let mut previous = 0.0;
    for row in &rows {
        assert_eq!(row.len(), 4, "{row:?}");
        let elapsed: f64 = row[0].parse().unwrap();
        assert!(elapsed > previous, "{row:?}");
        previous = elapsed;
        // A reading taken as the command exits can find it without memory.
        assert!(row[2].parse::<u64>().is_ok(), "{row:?}");
        assert_eq!(row[3], "", "no GPU column without --gpu");
    }
    assert!(rows.iter().any(|r| r[2].parse::<u64>().unwrap() > 0));

    // The plot: memory above CPU, one line each through every sample.
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<?xml"), "{svg}");
    let memory_at = svg.find("sh -c &#39;sleep 0.5&#39;: memory").unwrap();
    let cpu_at = svg.find("sh -c &#39;sleep 0.5&#39;: CPU").unwrap();
    assert!(memory_at < cpu_at);
    let lines: Vec<&str> = svg.split("<polyline").skip(1).collect();
    assert_eq!(lines.len(), 2, "{svg}");
    for line in lines {
        let points = line.split("points=\"").nth(1).unwrap();
        let points = points.split('"').next().unwrap();
        assert_eq!(points.split(' ').count() as u64, samples, "{points}");
    }
    // Nothing but the three files is left in the folder.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

/// Starts `perftrack run` in a process group of its own, running a shell that creates
/// `marker` and then becomes `sleep 30`; returns once the marker exists (so the command runs
/// and perftrack's signal handling is in place).
fn start_sleeper(marker: &Path) -> std::process::Child {
    let script = format!("touch '{}'; exec sleep 30", marker.display());
    let child = std::process::Command::new(PERFTRACK)
        .args(["run", "--", "sh", "-c", &script])
        .process_group(0)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn pid_of(child: &std::process::Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap())
}

#[test]
fn sigterm_is_passed_on_to_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let marker: PathBuf = dir.path().join("started");
    let child = start_sleeper(&marker);
    kill(pid_of(&child), Signal::SIGTERM).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(128 + 15));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("was killed by signal 15"), "{stderr}");
}

#[test]
fn ctrl_c_ends_the_command_and_perftrack_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let child = start_sleeper(&marker);
    // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    kill(Pid::from_raw(-pid_of(&child).as_raw()), Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(128 + 2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("was killed by signal 2"), "{stderr}");
}

#[test]
fn a_terminal_gets_a_live_status_line_a_few_times_a_second() {
    // `script` (util-linux, in every Debian system) runs the command on a pseudo-terminal.
    let script = Path::new("/usr/bin/script");
    if !script.exists() {
        assert!(
            !workload::in_ci(),
            "`script` (util-linux) is required under CI=true"
        );
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let command = format!("{PERFTRACK} run --interval 0.05 -- sleep 1");
    let output = std::process::Command::new(script)
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    // Each redraw erases the line and writes `perftrack: <elapsed> s  CPU …  RSS …`; the last
    // erase is followed by the report.
    let parts: Vec<&str> = text.split("\r\x1b[2K").collect();
    let updates = parts
        .iter()
        .filter(|p| {
            p.strip_prefix("perftrack: ")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    let report = parts.last().copied().unwrap_or_default();
    assert!(
        report.contains("perftrack: `sleep 1` exited with code 0"),
        "{text:?}"
    );
    // The status is redrawn at most every 250 ms: about 4 times in one second, plus the erase.
    let wall: f64 = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("wall"))
        .and_then(|w| w.trim().strip_suffix(" s"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(updates >= 2, "{updates} updates: {text:?}");
    let most = (wall / 0.25).floor() as usize + 2;
    assert!(updates <= most, "{updates} updates in {wall} s: {text:?}");
}
