//! Workloads whose size the tests control: the test binary runs itself again with
//! `PERFTRACK_TEST_ROLE` set, and its `workload` test then does that one job and exits.
//!
//! Roles:
//! - `allocate MIB [HOLD_S]`: allocates MIB MiB, writes every byte (so all of it is resident),
//!   holds it HOLD_S seconds (default 0), exits 0;
//! - `spin SECONDS`: keeps one core busy for SECONDS of wall time, writes the CPU seconds it
//!   used (as it counts them itself) to the file named in `PERFTRACK_TEST_REPORT` if that is
//!   set, exits 0;
//! - `burn MILLIONS`: does MILLIONS million steps of arithmetic, exits 0: a fixed amount of
//!   CPU work, whose CPU seconds (unlike `spin`'s) do not shrink when other processes share
//!   the cores;
//! - `fork-allocate MIB HOLD_S`: runs `allocate MIB HOLD_S` as its own child, waits for it,
//!   exits with its code.
#![allow(dead_code)] // each test binary uses some of these helpers

use std::ffi::OsString;
use std::time::{Duration, Instant};

/// The environment variable that selects a role.
pub(crate) const ROLE: &str = "PERFTRACK_TEST_ROLE";

/// The environment variable naming the file a role reports to.
pub(crate) const REPORT: &str = "PERFTRACK_TEST_REPORT";

/// One mebibyte.
pub(crate) const MIB: u64 = 1 << 20;

/// The command line that runs this test binary as a workload (with [`ROLE`] set in its
/// environment, which `perftrack` passes on).
pub(crate) fn command() -> Vec<OsString> {
    let exe = std::env::current_exe().expect("the test binary's path");
    vec![
        exe.into_os_string(),
        "--exact".into(),
        "workload".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
        "--quiet".into(),
    ]
}

/// Runs the role named in [`ROLE`], if any, and exits; returns at once otherwise.
pub(crate) fn serve() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let words: Vec<&str> = role.split_whitespace().collect();
    let number = |i: usize| -> f64 {
        words
            .get(i)
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("role `{role}`: word {i} is not a number"))
    };
    let code = match words.first().copied() {
        Some("allocate") => {
            let hold = if words.len() > 2 { number(2) } else { 0.0 };
            allocate(number(1) as u64 * MIB, Duration::from_secs_f64(hold));
            0
        }
        Some("spin") => {
            spin(Duration::from_secs_f64(number(1)));
            if let Some(path) = std::env::var_os(REPORT) {
                std::fs::write(path, own_cpu_seconds().to_string()).expect("the report is written");
            }
            0
        }
        Some("burn") => {
            burn(number(1) as u64 * 1_000_000);
            0
        }
        Some("fork-allocate") => {
            let grandchild = std::process::Command::new(&command()[0])
                .args(&command()[1..])
                .env(ROLE, format!("allocate {} {}", words[1], words[2]))
                .status()
                .expect("the grandchild starts");
            grandchild.code().unwrap_or(1)
        }
        _ => panic!("unknown role `{role}`"),
    };
    std::process::exit(code);
}

/// Allocates `bytes`, writes every byte, holds it for `hold`.
fn allocate(bytes: u64, hold: Duration) {
    let mut buffer: Vec<u8> = Vec::new();
    buffer.resize(usize::try_from(bytes).expect("fits in memory"), 1);
    std::hint::black_box(&mut buffer);
    std::thread::sleep(hold);
    let sum: u64 = buffer.iter().step_by(4096).map(|&b| u64::from(b)).sum();
    assert_eq!(sum, bytes.div_ceil(4096));
}

/// The CPU seconds (user + system) this process used so far.
fn own_cpu_seconds() -> f64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .expect("getrusage");
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    seconds(usage.user_time()) + seconds(usage.system_time())
}

/// Busy for `wall` on one core.
fn spin(wall: Duration) {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < wall {
        for i in 0..10_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
    }
    std::hint::black_box(x);
}

/// `steps` steps of a linear congruential generator: CPU work of a fixed size.
fn burn(steps: u64) {
    let mut x = 1u64;
    for _ in 0..steps {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    std::hint::black_box(x);
}

/// Whether a missing system tool must fail the test rather than skip it.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// GNU time's "Maximum resident set size" of a run of `args`, in bytes; `None` (after saying
/// why) when GNU time is not installed, outside CI.
pub(crate) fn gnu_time_max_rss(args: &[std::ffi::OsString], role: &str) -> Option<u64> {
    let time = std::path::Path::new("/usr/bin/time");
    if !time.exists() {
        assert!(
            !in_ci(),
            "GNU time (/usr/bin/time, Debian package `time`) is required under CI=true"
        );
        eprintln!("skipped: GNU time (/usr/bin/time, Debian package `time`) is not installed");
        return None;
    }
    let output = std::process::Command::new(time)
        .arg("-v")
        .args(args)
        .env(ROLE, role)
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report = String::from_utf8_lossy(&output.stderr);
    let kib: u64 = report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .unwrap_or_else(|| panic!("no maximum RSS in GNU time's report:\n{report}"))
        .trim()
        .parse()
        .unwrap();
    Some(kib * 1024)
}
