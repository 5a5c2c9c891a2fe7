//! `perftrack bench` end to end: bad input (exit 2, nothing run), failing runs, `--prepare`,
//! warm-up and `--min-time` counted with files the commands write, the outputs, clear
//! verdicts on real commands; and the verdict logic (exit 0, 1, 3) through `compare` on bench
//! files whose figures the tests choose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{json_of, run, stderr_of};
use serde_json::{Value, json};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_input_is_an_error_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    let touch = touch.as_str();
    let unwritable = dir.path().join("no/such/dir/bench.json");
    for (args, message) in [
        (vec![], "required"),
        (vec!["--runs", "0", touch], "--runs"),
        (vec!["--no-such-option", touch], "--no-such-option"),
        (
            vec!["-o", unwritable.to_str().unwrap(), touch],
            "cannot write",
        ),
        (vec![touch, "echo 'unclosed"], "cannot split"),
        (vec!["--runs", "3", "--min-time", "1", touch], "--min-time"),
        (vec!["--threshold", "5", touch], "did you mean 5%"),
        (vec!["--interval", "0.001", touch], "--interval"),
        (vec!["--figure", "gpu", touch], "--figure gpu needs --gpu"),
        (vec!["--allow-inconclusive", touch], "--fail-on-regression"),
    ] {
        let mut all = vec!["bench"];
        all.extend(args.iter().copied());
        let out = common::perftrack().args(&all).output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(stderr.contains(message), "{all:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{all:?}: {stderr}");
        assert!(!marker.exists(), "{all:?} ran the command");
    }
    // The same command, given well, runs (so the marker would have told).
    run(&[&"bench", &"--runs", &"1", &touch], 0);
    assert!(marker.exists());
}

#[test]
fn a_missing_program_is_an_error_naming_it() {
    let out = run(
        &[&"bench", &"--runs", &"2", &"no-such-program-perftrack"],
        2,
    );
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("cannot run `no-such-program-perftrack`: no such program"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------- failing runs

#[test]
fn a_failing_run_stops_the_bench_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    // Succeeds on its first run, fails with code 4 on its second.
    let command = format!(
        "echo run >> {log}; test $(wc -l < {log}) -lt 2 || exit 4",
        log = log.display()
    );
    let out = run(&[&"bench", &"--shell", &"--runs", &"5", &command], 2);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("failed with exit code 4 in its run 2"),
        "{stderr}"
    );
    assert!(stderr.contains("--ignore-failure"), "{stderr}");
    // It stopped: no third run.
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
}

#[test]
fn with_ignore_failure_failed_runs_are_counted_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.json");
    let out = run(
        &[
            &"bench",
            &"--ignore-failure",
            &"--runs",
            &"3",
            &"-o",
            &path,
            &"true",
            &"sh -c 'exit 3'",
        ],
        0,
    );
    assert!(
        stdout_of(&out).contains("#2 sh -c 'exit 3' (3 runs, 3 failed)"),
        "{}",
        stdout_of(&out)
    );
    let file = read_json(&path);
    assert_eq!(file["ignore_failure"], true);
    let runs = |i: usize| file["commands"][i]["runs"].as_array().unwrap().clone();
    assert_eq!(runs(0).len(), 3);
    assert!(runs(0).iter().all(|r| r["exit"]["code"] == 0));
    assert_eq!(runs(1).len(), 3);
    assert!(runs(1).iter().all(|r| r["exit"]["code"] == 3));
    assert_eq!(file["commands"][1]["argv"], json!(["sh", "-c", "exit 3"]));
}

#[test]
fn ctrl_c_stops_the_bench_after_the_run_in_progress_and_cleans_up() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let (log, tmp) = (dir.path().join("log"), dir.path().join("tmp"));
    std::fs::create_dir(&tmp).unwrap();
    let command = format!("echo run >> {}; exec sleep 30", log.display());
    // Its own process group, as a terminal's foreground job: Ctrl-C reaches every process.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_perftrack"))
        .args(["bench", "--shell", "--runs", "3", &command])
        .env("TMPDIR", &tmp)
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !log.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let group = nix::unistd::Pid::from_raw(-i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // One run started, none after it, and the runs' temporary folder is gone.
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

// ---------------------------------------------------------------- runs, warm-up, prepare

#[test]
fn prepare_runs_before_every_run_and_warmup_runs_are_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (prepared, ran) = (dir.path().join("prepared"), dir.path().join("ran"));
    let path = dir.path().join("bench.json");
    let csv = dir.path().join("bench.csv");
    let md = dir.path().join("bench.md");
    let append = |file: &Path, word: &str| format!("echo {word} >> {}", file.display());
    run(
        &[
            &"bench",
            &"--shell",
            &"--warmup",
            &"1",
            &"--runs",
            &"3",
            &"--prepare",
            &append(&prepared, "p"),
            &"-o",
            &path,
            &"--csv",
            &csv,
            &"--markdown",
            &md,
            &append(&ran, "a"),
            &append(&ran, "b"),
        ],
        0,
    );
    // Interleaved: a, b in every round; one warm-up round then three measured ones.
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        "a\nb\n".repeat(4),
        "the commands ran interleaved"
    );
    assert_eq!(
        std::fs::read_to_string(&prepared).unwrap().lines().count(),
        8
    );
    let file = read_json(&path);
    assert_eq!(file["commands"][0]["runs"].as_array().unwrap().len(), 3);
    assert_eq!(file["warmup"], 1);
    let csv = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 6, "{csv}");
    assert!(lines[0].starts_with("command,run,exit_code,failed,wall_seconds,"));
    assert!(lines[4].starts_with("\"echo b >> "), "{csv}");
    assert!(lines[4].contains(",1,0,false,"), "{csv}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| figure "), "{md}");
    assert!(md.contains("| #2 vs #1 "), "{md}");
}

#[test]
fn min_time_runs_until_each_command_has_run_that_long() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.json");
    run(
        &[&"bench", &"--min-time", &"0.5", &"-o", &path, &"sleep 0.15"],
        0,
    );
    let file = read_json(&path);
    let walls: Vec<f64> = file["commands"][0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["wall_seconds"].as_f64().unwrap())
        .collect();
    let total: f64 = walls.iter().sum();
    // Enough, and not one run more than enough.
    assert!(total >= 0.5, "{walls:?}");
    assert!(total - walls[walls.len() - 1] < 0.5, "{walls:?}");
    assert!(walls.len() >= 2);
}

// ---------------------------------------------------------------- clear verdicts

#[test]
fn a_slower_command_is_a_regression_and_the_same_command_twice_is_not() {
    let out = run(
        &[
            &"bench",
            &"--runs",
            &"10",
            &"--fail-on-regression",
            &"--seed",
            &"7",
            &"sleep 0.2",
            &"sleep 0.3",
        ],
        1,
    );
    let text = stdout_of(&out);
    let wall = text
        .lines()
        .find(|l| l.contains("#2 vs #1") && l.contains("wall"))
        .unwrap_or_else(|| panic!("no wall comparison in\n{text}"));
    assert!(wall.contains("REGRESSION"), "{text}");
    assert!(text.contains("seed 7"), "{text}");
    assert!(text.contains("Holm–Bonferroni"), "{text}");

    let out = run(
        &[
            &"bench",
            &"--runs",
            &"10",
            &"--fail-on-regression",
            &"sleep 0.2",
            &"sleep 0.2",
        ],
        0,
    );
    let text = stdout_of(&out);
    assert!(text.contains("0 regressions"), "{text}");
}

// ---------------------------------------------------------------- the verdict on chosen figures

/// A bench file with one command whose runs have these wall times (ms), CPU seconds and peak
/// RSS (MiB).
fn bench_file(path: &Path, command: &str, runs: &[(f64, f64, f64)]) {
    let runs: Vec<Value> = runs
        .iter()
        .map(|&(wall_ms, cpu_s, rss_mib)| {
            json!({
                "wall_seconds": wall_ms / 1000.0,
                "user_seconds": cpu_s,
                "system_seconds": 0.0,
                "peak_rss_bytes": (rss_mib * 1_048_576.0) as u64,
                "tree_rss_bytes": null,
                "gpu_memory_bytes": null,
                "exit": {"code": 0, "signal": null},
            })
        })
        .collect();
    let file = json!({
        "format": "perftrack-bench", "version": 1,
        "start_time": "2026-12-01T10:00:00Z",
        "shell": false, "warmup": 0, "prepare": null, "interval_seconds": 0.1,
        "include_children": true, "gpu": false, "ignore_failure": false, "seed": 1,
        "commands": [{"command": command, "argv": command.split(' ').collect::<Vec<_>>(), "runs": runs}],
    });
    std::fs::write(path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
}

/// Runs `compare BASE NEW --fail-on-regression` with `extra` options and the expected code;
/// returns the JSON comparison's rows by reading.
fn judge(base: &[(f64, f64, f64)], new: &[(f64, f64, f64)], extra: &[&str], code: i32) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = (dir.path().join("base.json"), dir.path().join("new.json"));
    bench_file(&b, "rag query", base);
    bench_file(&n, "rag query", new);
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"compare",
        &b,
        &n,
        &"--metric",
        &"mean",
        &"--format",
        &"json",
        &"--fail-on-regression",
    ];
    for e in extra {
        args.push(e);
    }
    json_of(&run(&args, code))
}

fn row<'a>(comparison: &'a Value, reading: &str) -> &'a Value {
    comparison["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reading"] == reading)
        .unwrap_or_else(|| panic!("no {reading} in {comparison:#}"))
}

/// `n` runs: wall `wall + i·step` ms, CPU `cpu` s, RSS `rss` MiB.
fn runs(n: usize, wall: f64, step: f64, cpu: f64, rss: f64) -> Vec<(f64, f64, f64)> {
    (0..n).map(|i| (wall + step * i as f64, cpu, rss)).collect()
}

#[test]
fn a_clear_slowdown_is_a_regression_exit_1() {
    let c = judge(
        &runs(10, 100.0, 1.0, 0.5, 50.0),
        &runs(10, 130.0, 1.0, 0.5, 50.0),
        &[],
        1,
    );
    let wall = row(&c, "wall");
    assert_eq!(wall["verdict"], "regression");
    assert_eq!(wall["method"], "mann-whitney");
    assert!(wall["adjusted_p_value"].as_f64().unwrap() < 0.01);
    assert_eq!(row(&c, "cpu")["verdict"], "noise");
    assert_eq!(c["regressions"], 1);
    assert_eq!(c["correction"], "holm");
}

#[test]
fn an_unconfirmed_slowdown_is_inconclusive_exit_3_unless_allowed() {
    // Means 100 → 110 ms (+10 %), but the runs overlap: the ranks cannot tell them apart.
    let base: Vec<(f64, f64, f64)> = [
        80.0, 120.0, 90.0, 110.0, 100.0, 70.0, 130.0, 100.0, 95.0, 105.0,
    ]
    .iter()
    .map(|&w| (w, 0.5, 50.0))
    .collect();
    let new: Vec<(f64, f64, f64)> = base.iter().map(|&(w, c, r)| (w + 10.0, c, r)).collect();
    let c = judge(&base, &new, &[], 3);
    assert_eq!(row(&c, "wall")["verdict"], "inconclusive");
    assert_eq!(c["inconclusive"], 1);
    judge(&base, &new, &["--allow-inconclusive"], 0);
    // The same files without --fail-on-regression: exit 0, as compare always did.
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = (dir.path().join("b.json"), dir.path().join("n.json"));
    bench_file(&b, "q", &base);
    bench_file(&n, "q", &new);
    run(&[&"compare", &b, &n, &"--metric", &"mean"], 0);
}

#[test]
fn changes_under_the_noise_floors_are_noise_exit_0() {
    // CPU 5 → 8 ms (+60 %, clearly separated) and RSS 2 → 2.8 MiB (+40 %): under 10 ms and
    // 1 MiB, noise.
    let base: Vec<(f64, f64, f64)> = (0..10)
        .map(|i| (100.0, 0.005 + 1e-5 * i as f64, 2.0))
        .collect();
    let new: Vec<(f64, f64, f64)> = (0..10)
        .map(|i| (100.0, 0.008 + 1e-5 * i as f64, 2.8))
        .collect();
    let c = judge(&base, &new, &[], 0);
    assert_eq!(row(&c, "cpu")["verdict"], "noise");
    assert_eq!(row(&c, "rss")["verdict"], "noise");
    assert!(row(&c, "cpu")["change"].as_f64().unwrap() > 0.5);
    // The same changes, ten times larger, are regressions.
    let base: Vec<(f64, f64, f64)> = base
        .iter()
        .map(|&(w, c, r)| (w, c * 10.0, r * 10.0))
        .collect();
    let new: Vec<(f64, f64, f64)> = new
        .iter()
        .map(|&(w, c, r)| (w, c * 10.0, r * 10.0))
        .collect();
    let c = judge(&base, &new, &[], 1);
    assert_eq!(row(&c, "cpu")["verdict"], "regression");
    assert_eq!(row(&c, "rss")["verdict"], "regression");
}

#[test]
fn too_few_runs_keep_the_threshold_rule_unless_min_values_is_given() {
    let (base, new) = (
        runs(3, 100.0, 1.0, 0.5, 50.0),
        runs(3, 130.0, 1.0, 0.5, 50.0),
    );
    let c = judge(&base, &new, &[], 1);
    assert_eq!(row(&c, "wall")["method"], "too few values");
    assert_eq!(row(&c, "wall")["verdict"], "regression");
    let c = judge(&base, &new, &["--min-values", "8"], 3);
    assert_eq!(row(&c, "wall")["verdict"], "inconclusive");
    // Within the threshold, too few values are noise either way.
    judge(
        &base,
        &runs(3, 102.0, 1.0, 0.5, 50.0),
        &["--min-values", "8"],
        0,
    );
}

#[test]
fn holm_bonferroni_is_the_default_and_can_be_turned_off() {
    // Wall shifted just enough for p < 0.01 on its own; with the other figures of the
    // comparison (cpu, user, system, rss, unchanged) the adjusted p is above 0.01.
    let base = runs(10, 100.0, 1.0, 0.5, 50.0);
    let new = runs(10, 105.5, 1.0, 0.5, 50.0);
    let c = judge(&base, &new, &[], 3);
    let wall = row(&c, "wall");
    let (p, adjusted) = (
        wall["p_value"].as_f64().unwrap(),
        wall["adjusted_p_value"].as_f64().unwrap(),
    );
    assert!(p < 0.01 && adjusted > 0.01, "p {p}, adjusted {adjusted}");
    assert_eq!(wall["verdict"], "inconclusive");
    assert!(c["note"].as_str().unwrap().contains("Holm–Bonferroni"));
    let c = judge(&base, &new, &["--correction", "none"], 1);
    assert_eq!(row(&c, "wall")["verdict"], "regression");
}

#[test]
fn a_bench_file_and_a_metrics_file_are_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let (b, l) = (
        dir.path().join("bench.json"),
        dir.path().join("latency.json"),
    );
    bench_file(&b, "q", &runs(3, 1.0, 0.0, 0.1, 1.0));
    common::latency_file(&l, "q", &[1.0, 2.0]);
    let out = run(&[&"compare", &b, &l], 2);
    assert!(
        stderr_of(&out).contains("is a bench file"),
        "{}",
        stderr_of(&out)
    );
}

// ---------------------------------------------------------------- report

/// The golden bench file (two commands, two runs each, one failed run each).
fn golden() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench-v1.json")
}

#[test]
fn report_reads_a_bench_file_as_tables_markdown_and_json() {
    let out = run(&[&"report", &golden()], 0);
    let text = stdout_of(&out);
    for expected in [
        "bench — ",
        "#1 python rag.py --k 4 (2 runs, 1 failed)",
        "#2 python rag.py --k 8 (2 runs, 1 failed)",
        // wall: 250 and 500 ms → mean 375 ± 125 (population sd); 375 and 750 → 562.5.
        "375.0 ms ± 125.0 ms",
        "562.5 ms ± 187.5 ms",
        // cpu: 0.25 + 0.05 s; tree-rss only on the first command's failed run.
        "300.0 ms ± 0 ms",
        "12.00 MiB",
        "+50.0%",
        "seed 42",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let md = stdout_of(&run(&[&"report", &"--format", &"markdown", &golden()], 0));
    assert!(md.contains("### bench — `"), "{md}");
    assert!(md.contains("| #2 vs #1 | wall   | +50.0% |"), "{md}");
    let json = json_of(&run(&[&"report", &"--format", &"json", &golden()], 0));
    let bench = &json["benches"][0];
    assert_eq!(bench["seed"], 42);
    assert_eq!(bench["commands"][1]["failed"], 1);
    let wall = &bench["commands"][0]["figures"][0];
    assert_eq!(
        (wall["figure"].as_str(), wall["mean"].as_f64()),
        (Some("wall"), Some(375.0))
    );
    // Two runs a side: the threshold decides (+50 % wall), as compare does.
    let versus = &bench["comparisons"][0];
    assert_eq!(versus["method"], "too few values");
    assert_eq!(versus["verdict"], "regression");
    // The bootstrap interval is reproducible from the saved seed.
    let again = json_of(&run(&[&"report", &"--format", &"json", &golden()], 0));
    assert_eq!(again["benches"][0]["comparisons"], bench["comparisons"]);
}

#[test]
fn the_html_report_draws_every_run_of_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    run(
        &[&"report", &"--format", &"html", &"-o", &page, &golden()],
        0,
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // One strip chart per figure the first command has: wall, cpu, user, system, rss, tree-rss.
    assert_eq!(
        html.matches("class=\"chart strip-chart\"").count(),
        6,
        "{html}"
    );
    // Each chart has a dot per run: 2 + 2, and the tree-rss chart 1 (one run had it).
    let wall = html.split("data-figure=\"wall\"").nth(1).unwrap();
    let wall = &wall[..wall.find("</svg>").unwrap()];
    assert_eq!(wall.matches("<circle").count(), 4, "{wall}");
    // The failed runs (each command's second) are rings, marked in their titles.
    assert_eq!(wall.matches("class=\"series failed\"").count(), 2, "{wall}");
    assert!(
        wall.contains("#2 python rag.py --k 8 run 2 (failed): 750"),
        "{wall}"
    );
    assert!(wall.contains("#2 python rag.py --k 8 run 1: 375"), "{wall}");
    let tree = html.split("data-figure=\"tree-rss\"").nth(1).unwrap();
    let tree = &tree[..tree.find("</svg>").unwrap()];
    assert_eq!(tree.matches("<circle").count(), 1, "{tree}");
    assert!(html.contains("<td>#2 vs #1</td>"), "{html}");
}

#[test]
fn compare_reads_two_bench_files_command_by_command() {
    let c = json_of(&run(
        &[
            &"compare",
            &golden(),
            &golden(),
            &"--metric",
            &"mean",
            &"--format",
            &"json",
        ],
        0,
    ));
    let labels: std::collections::BTreeSet<&str> = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        ["python rag.py --k 4", "python rag.py --k 8"]
    );
    assert!(
        c["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["verdict"] == "noise")
    );
}
