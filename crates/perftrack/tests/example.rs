//! Runs the `performance_trackers` example (the Python original's example script, ported) and
//! checks its key figures: the 50 MB allocation shows in its session's peak, the function
//! sampled every 0.1 s for about a second has about 10 samples, and the CPU-bound task keeps
//! a core busy.
//!
//! It measures this process's memory and CPU, so it lives in its own test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

#[path = "../examples/performance_trackers.rs"]
#[allow(
    dead_code,
    reason = "`main` is the example binary's entry point, unused here"
)]
pub mod example;

#[test]
fn example_runs_and_measures_its_workloads() {
    let figures = example::run().expect("the example runs");

    let initial = figures
        .allocation_initial_rss_mb
        .expect("initial process_rss");
    let peak = figures.allocation_peak_rss_mb.expect("peak process_rss");
    assert!(
        peak >= initial + 45.0,
        "the 50 MB allocation is missing from the peak: initial {initial:.2} MB, peak {peak:.2} MB"
    );

    let samples = figures.function_memory_samples;
    assert!(
        (8..=14).contains(&samples),
        "a function of about 1 s sampled every 0.1 s has {samples} samples"
    );

    let cpu = figures
        .cpu_intensive_process_percent
        .expect("process CPU of the CPU-bound task");
    assert!(cpu >= 50.0, "the CPU-bound task read {cpu:.2} % of a core");
}
