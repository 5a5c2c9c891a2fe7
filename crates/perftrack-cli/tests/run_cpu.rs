//! `perftrack run`'s CPU figures against a workload that spins one core for two seconds.
//! CPU readings depend on the machine's load: this binary holds one test, run alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod workload;

use assert_cmd::Command;
use workload::{REPORT, ROLE};

/// The entry point of the workload roles: does nothing unless this binary was started as one.
#[test]
fn workload() {
    workload::serve();
}

#[test]
fn a_spinning_command_uses_one_core() {
    if std::env::var(ROLE).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spin.json");
    let own = dir.path().join("own-cpu-seconds");
    Command::new(env!("CARGO_BIN_EXE_perftrack"))
        .args(["run", "-o"])
        .arg(&out)
        .arg("--")
        .args(workload::command())
        .env(ROLE, "spin 2")
        .env(REPORT, &own)
        .assert()
        .success();
    let own: f64 = std::fs::read_to_string(&own).unwrap().parse().unwrap();
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mean = run["cpu"]["mean_percent"].as_f64().unwrap();
    let peak = run["cpu"]["peak_percent"].as_f64().unwrap();
    let wall = run["wall_time_seconds"].as_f64().unwrap();
    let cpu_s = run["cpu"]["user_seconds"].as_f64().unwrap()
        + run["cpu"]["system_seconds"].as_f64().unwrap();
    eprintln!(
        "spin: wall {wall:.3} s, CPU {cpu_s:.3} s (the workload counted {own:.3} s), \
         mean {mean:.1} %, peak {peak:.1} %"
    );
    assert!(wall >= 2.0, "wall {wall}");
    // The kernel's count for the command is the workload's own, plus what it used before and
    // after it read its own (starting and exiting): whatever share of a core the machine's
    // load left it.
    assert!(
        (own..=own + 0.1).contains(&cpu_s),
        "perftrack counted {cpu_s} s of CPU, the workload {own} s"
    );
    assert!((85.0..=115.0).contains(&mean), "mean CPU {mean} %");
    assert!(peak >= mean - 15.0, "peak {peak} % below the mean {mean} %");
    // A sample every 0.1 s while it ran.
    let samples = run["samples"].as_u64().unwrap();
    assert!(samples >= 15, "{samples} samples in 2 s at 0.1 s");
}
