//! `perftrack report`, `compare` and `merge`: outputs checked against files whose values the
//! tests choose, and every error path (exit code 2, the file named).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{
    data, json_of, latency_file, lognormal, run, run_container, stderr_of, throughput_file,
};
use perftrack::{LatencyConfig, LatencyTracker};
use serde_json::{Value, json};

// ---------------------------------------------------------------- report

#[test]
fn report_json_gives_each_labels_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latency.json");
    let millis: Vec<f64> = (1..=100).map(f64::from).collect();
    latency_file(&path, "retrieval", &millis);
    let out = run(&[&"report", &"--format", &"json", &path], 0);
    let report = json_of(&out);
    let row = &report["inputs"][0]["rows"][0];
    assert_eq!(report["inputs"][0]["tracker_type"], "latency");
    assert_eq!(row["label"], "retrieval");
    assert_eq!(row["count"], 100);
    // numpy.percentile(range(1, 101), [50, 95, 99]) = 50.5, 95.05, 99.01
    for (key, want) in [
        ("p50", 50.5),
        ("p95", 95.05),
        ("p99", 99.01),
        ("max", 100.0),
    ] {
        let got = row[key].as_f64().unwrap();
        assert!((got - want).abs() < 1e-6, "{key}: {got} vs {want}");
    }
    assert_eq!(row["unit"], "ms");
    assert_eq!(row["percentiles_exact"], true);
}

#[test]
fn report_tables_cover_a_folder_of_every_tracker_type() {
    let out = run(&[&"report", &data("golden")], 0);
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "latency — ",
        "throughput — ",
        "memory — ",
        "cpu — ",
        "retrieval",
        "15.38", // retrieval's p50: 12.5 and 18.25 ms
        "tokens",
        "memory_allocation",
        "process_rss",
        "cpu_intensive",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // Folders are read in name order: cpu, latency, memory, throughput.
    let order: Vec<usize> = ["cpu — ", "latency — ", "memory — ", "throughput — "]
        .iter()
        .map(|h| text.find(h).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn report_reads_the_python_originals_files_as_markdown() {
    let out = run(&[&"report", &"--format", &"markdown", &data("python")], 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("### latency — `"), "{text}");
    assert!(text.contains("| label"), "{text}");
    assert!(text.contains("| retrieval "), "{text}");
    assert!(text.contains("batch_processing"), "{text}");
}

#[test]
fn report_reads_a_run_container() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    run_container(&path);
    let out = run(&[&"report", &path], 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("command: python my_rag.py"), "{text}");
    assert!(text.contains("wall_time_seconds: 12.345"), "{text}");
    assert!(text.contains("run.json#/trackers/memory"), "{text}");
    assert!(text.contains("run.json#/trackers/cpu"), "{text}");
    assert!(text.contains("47.13"), "the golden peak RSS in MB:\n{text}");
    let json = json_of(&run(&[&"report", &"--format", &"json", &path], 0));
    assert_eq!(json["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(json["inputs"][0]["run"]["exit"]["code"], 0);
}

#[test]
fn report_html_is_one_self_contained_page_with_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("report.html");
    run_container(&dir.path().join("run.json"));
    run(
        &[
            &"report",
            &"--format",
            &"html",
            &"-o",
            &out_path,
            &data("golden"),
            &dir.path().join("run.json"),
        ],
        0,
    );
    let html = std::fs::read_to_string(&out_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Latency bars, throughput over time, memory and CPU timelines (golden and the run's).
    assert_eq!(html.matches("<svg").count(), 6, "{html}");
    assert_eq!(html.matches("class=\"chart bar-chart\"").count(), 1);
    assert_eq!(html.matches("class=\"chart line-chart\"").count(), 5);
    // Nothing to fetch: no scripts, links, images or stylesheets from elsewhere.
    for banned in [
        "<script", "<link", "<img", "src=", "href=", "url(", "@import",
    ] {
        assert!(!html.contains(banned), "found {banned}");
    }
    let without_namespace = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!without_namespace.contains("http://") && !without_namespace.contains("https://"));
}

#[test]
fn report_errors_name_the_file_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let out = run(&[&"report", &missing], 2);
    assert!(
        stderr_of(&out).contains("missing.json"),
        "{}",
        stderr_of(&out)
    );

    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"format\": \"perftrack-metrics\", \"ver").unwrap();
    let out = run(&[&"report", &corrupt], 2);
    assert!(
        stderr_of(&out).contains("corrupt.json"),
        "{}",
        stderr_of(&out)
    );

    let array = dir.path().join("array.json");
    std::fs::write(&array, "[1, 2, 3]").unwrap();
    let out = run(&[&"report", &array], 2);
    assert!(
        stderr_of(&out).contains("array.json:1:1: malformed metrics file: expected a JSON object"),
        "{}",
        stderr_of(&out)
    );

    let unknown = dir.path().join("gpu.json");
    std::fs::write(&unknown, r#"{"tracker_type": "GpuTracker", "metrics": {}}"#).unwrap();
    let out = run(&[&"report", &unknown], 2);
    let err = stderr_of(&out);
    assert!(
        err.contains("gpu.json") && err.contains("GpuTracker"),
        "{err}"
    );

    // A v1 file whose summaries disagree with its records: the library's check, named.
    let bad = dir.path().join("bad.json");
    let mut file: Value =
        serde_json::from_str(&std::fs::read_to_string(data("golden/latency-v1.json")).unwrap())
            .unwrap();
    file["dropped_records"] = json!(7);
    std::fs::write(&bad, file.to_string()).unwrap();
    let out = run(&[&"report", &bad], 2);
    let err = stderr_of(&out);
    assert!(
        err.contains("bad.json") && err.contains("dropped_records"),
        "{err}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not metrics").unwrap();
    let out = run(&[&"report", &empty], 2);
    assert!(
        stderr_of(&out).contains("holds no metrics files"),
        "{}",
        stderr_of(&out)
    );

    let out = run(&[&"report", &"--format", &"pdf", &data("golden")], 2);
    assert!(stderr_of(&out).contains("pdf"));
    run(&[&"report"], 2);
    let nowhere = dir.path().join("no/such/dir/report.html");
    let out = run(&[&"report", &"-o", &nowhere, &data("golden")], 2);
    assert!(
        stderr_of(&out).contains("report.html"),
        "{}",
        stderr_of(&out)
    );

    let container = dir.path().join("run.json");
    std::fs::write(
        &container,
        r#"{"format": "perftrack-run", "version": 9, "trackers": {}}"#,
    )
    .unwrap();
    let out = run(&[&"report", &container], 2);
    assert!(stderr_of(&out).contains("version 9"), "{}", stderr_of(&out));

    // A run container whose `memory` holds a latency file: the nested file is named.
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(data("golden/latency-v1.json")).unwrap())
            .unwrap();
    let nested = json!({"format": "perftrack-run", "version": 1, "trackers": {"memory": golden}});
    std::fs::write(&container, nested.to_string()).unwrap();
    let out = run(&[&"report", &container], 2);
    let err = stderr_of(&out);
    assert!(
        err.contains("run.json#/trackers/memory") && err.contains("latency"),
        "{err}"
    );
}

// ---------------------------------------------------------------- merge

fn stats_of(path: &Path) -> perftrack::Statistics {
    let tracker = LatencyTracker::new(LatencyConfig::default());
    tracker.load_metrics(path).unwrap();
    tracker.statistics(Some("retrieval")).unwrap()
}

/// Merges two files of `n` values each and compares with one tracker fed all of them.
fn merge_matches_one_tracker(n: usize) -> (perftrack::Statistics, perftrack::Statistics) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        dir.path().join("a.json"),
        dir.path().join("b.json"),
        dir.path().join("merged.json"),
    );
    let (va, vb) = (lognormal(10, n), lognormal(11, n));
    latency_file(&a, "retrieval", &va);
    latency_file(&b, "retrieval", &vb);
    run(&[&"merge", &a, &b, &"-o", &out], 0);
    let all: Vec<f64> = va.iter().chain(&vb).copied().collect();
    let one = dir.path().join("one.json");
    latency_file(&one, "retrieval", &all);
    (stats_of(&out), stats_of(&one))
}

#[test]
fn merge_of_small_files_is_exact() {
    let (merged, one) = merge_matches_one_tracker(2_000);
    assert!(merged.percentiles_exact);
    assert_eq!(merged.count, 4_000);
    assert_eq!(
        [merged.p50, merged.p95, merged.p99, merged.max],
        [one.p50, one.p95, one.p99, one.max]
    );
}

#[test]
fn merge_of_large_files_matches_within_the_sketch_error() {
    // 2 × 6,000 values: past the default exact_limit of 10,000 together.
    let (merged, one) = merge_matches_one_tracker(6_000);
    assert!(!merged.percentiles_exact && !one.percentiles_exact);
    assert_eq!(merged.count, 12_000);
    for (m, o) in [
        (merged.p50, one.p50),
        (merged.p95, one.p95),
        (merged.p99, one.p99),
    ] {
        assert!(
            (m - o).abs() <= perftrack::RELATIVE_ACCURACY * o,
            "{m} vs {o}"
        );
    }
    assert_eq!(merged.max, one.max);
}

#[test]
fn merge_reads_python_files_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.json");
    let python = data("python/latency.json");
    run(&[&"merge", &python, &python, &"-o", &out], 0);
    let merged = LatencyTracker::new(LatencyConfig::default());
    merged.load_metrics(&out).unwrap();
    let once = LatencyTracker::new(LatencyConfig::default());
    once.load_metrics(&python).unwrap();
    assert_eq!(
        merged.statistics(None).unwrap().count,
        2 * once.statistics(None).unwrap().count
    );
}

#[test]
fn merge_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    // Mixed types, both files named.
    let o = run(
        &[
            &"merge",
            &data("golden/latency-v1.json"),
            &data("golden/cpu-v1.json"),
            &"-o",
            &out,
        ],
        2,
    );
    let err = stderr_of(&o);
    assert!(
        err.contains("latency-v1.json") && err.contains("cpu-v1.json"),
        "{err}"
    );
    assert!(!out.exists());
    // A folder of several types is mixed too.
    run(&[&"merge", &data("golden"), &"-o", &out], 2);
    // A run container holds two trackers.
    let container = dir.path().join("run.json");
    run_container(&container);
    let o = run(&[&"merge", &container, &"-o", &out], 2);
    assert!(stderr_of(&o).contains("run.json"), "{}", stderr_of(&o));
    // An unwritable destination.
    let o = run(
        &[
            &"merge",
            &data("golden/latency-v1.json"),
            &"-o",
            &dir.path().join("no/such/dir/m.json"),
        ],
        2,
    );
    assert!(stderr_of(&o).contains("m.json"), "{}", stderr_of(&o));
    // No output given.
    run(&[&"merge", &data("golden/latency-v1.json")], 2);
    // A missing input.
    let o = run(&[&"merge", &dir.path().join("nope.json"), &"-o", &out], 2);
    assert!(stderr_of(&o).contains("nope.json"));
}

// ---------------------------------------------------------------- compare

/// Writes base and new latency files, compares them as JSON and returns the one row.
fn compare_latency(base: &[f64], new: &[f64], extra: &[&str], code: i32) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = (dir.path().join("base.json"), dir.path().join("new.json"));
    latency_file(&b, "retrieval", base);
    latency_file(&n, "retrieval", new);
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"compare", &b, &n, &"--format", &"json"];
    for e in extra {
        args.push(e);
    }
    let json = json_of(&run(&args, code));
    assert_eq!(json["rows"].as_array().unwrap().len(), 1, "{json}");
    json["rows"][0].clone()
}

fn scaled(values: &[f64], factor: f64) -> Vec<f64> {
    values.iter().map(|v| v * factor).collect()
}

#[test]
fn compare_flags_a_20_percent_p95_regression_on_10000_values() {
    let base = lognormal(1, 10_000);
    let new = scaled(&lognormal(2, 10_000), 1.2);
    let row = compare_latency(&base, &new, &["--fail-on-regression"], 1);
    eprintln!("20 %: {row}");
    assert_eq!(row["method"], "mann-whitney");
    assert_eq!(row["verdict"], "regression");
    assert_eq!(row["real"], true);
    let change = row["change"].as_f64().unwrap();
    assert!((0.15..0.25).contains(&change), "{change}");
    assert!(row["p_value"].as_f64().unwrap() < 1e-10);
    // Without --fail-on-regression the same comparison exits 0.
    let row = compare_latency(&base, &new, &[], 0);
    assert_eq!(row["verdict"], "regression");
}

#[test]
fn compare_calls_a_1_percent_change_noise() {
    let base = lognormal(1, 10_000);
    let new = scaled(&lognormal(2, 10_000), 1.01);
    let row = compare_latency(&base, &new, &["--fail-on-regression"], 0);
    eprintln!("1 %: {row}");
    // With 10,000 values a side the test may well detect a 1 % shift (it is there); what
    // makes it noise is that it is within the 5 % threshold.
    assert_eq!(row["method"], "mann-whitney");
    assert!(row["p_value"].as_f64().is_some());
    assert_eq!(row["verdict"], "noise");
    assert!(row["change"].as_f64().unwrap().abs() < 0.05);
    // The same distribution drawn twice is no real change at all.
    let row = compare_latency(&base, &lognormal(2, 10_000), &["--fail-on-regression"], 0);
    eprintln!("0 %: {row}");
    assert_eq!(row["verdict"], "noise");
    assert_eq!(row["real"], false, "{row}");
}

#[test]
fn compare_counts_an_improvement_as_no_regression() {
    let base = lognormal(1, 2_000);
    let new = scaled(&lognormal(2, 2_000), 0.7);
    let row = compare_latency(&base, &new, &["--fail-on-regression", "--metric", "p50"], 0);
    assert_eq!(row["verdict"], "improvement");
}

#[test]
fn compare_a_change_within_the_threshold_is_no_regression_even_if_real() {
    let base = lognormal(1, 10_000);
    let new = scaled(&base, 1.04);
    let row = compare_latency(
        &base,
        &new,
        &["--fail-on-regression", "--threshold", "0.05"],
        0,
    );
    assert_eq!(row["real"], true, "{row}");
    assert_eq!(row["verdict"], "noise");
    // With a 3 % threshold the same 4 % change regresses.
    let row = compare_latency(
        &base,
        &new,
        &["--fail-on-regression", "--threshold", "3%"],
        1,
    );
    assert_eq!(row["verdict"], "regression");
}

#[test]
fn compare_with_only_sketches_needs_the_threshold_plus_the_sketch_error() {
    // 12,000 values: past exact_limit, so neither file keeps exact values.
    let base = lognormal(1, 12_000);
    let row = compare_latency(&base, &scaled(&base, 1.2), &["--fail-on-regression"], 1);
    assert_eq!(row["method"], "sketch");
    assert_eq!(row["verdict"], "regression");
    // 6 % is beyond the 5 % threshold but not beyond it plus 2 × 0.54 % of sketch error.
    let row = compare_latency(&base, &scaled(&base, 1.06), &["--fail-on-regression"], 0);
    assert_eq!(row["method"], "sketch");
    assert_eq!(row["real"], false, "{row}");
    assert_eq!(row["verdict"], "noise");
}

/// Rewrites a latency file so that every summary keeps only its sketch (no exact values),
/// and, with `old_grid`, a sketch as files written before the current grid have it: DDSketch
/// buckets of relative accuracy 1 %, `k = ceil(ln x / ln γ)` with `γ = 1.01 / 0.99`.
fn sketch_only(path: &Path, old_grid: bool) {
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for summary in file["summaries"].as_object_mut().unwrap().values_mut() {
        let exact = summary.as_object_mut().unwrap().remove("exact").unwrap();
        if old_grid {
            let ln_gamma = (1.01f64 / 0.99).ln();
            let keys: Vec<i32> = exact
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (v.as_f64().unwrap().ln() / ln_gamma).ceil() as i32)
                .collect();
            let lowest = *keys.iter().min().unwrap();
            let mut counts = vec![0u64; (keys.iter().max().unwrap() - lowest + 1) as usize];
            for k in keys {
                counts[(k - lowest) as usize] += 1;
            }
            summary["sketch"] = json!({
                "relative_accuracy": 0.01, "zero_count": 0,
                "positive": {"offset": lowest, "counts": counts},
                "negative": {"offset": 0, "counts": []},
            });
        }
    }
    std::fs::write(path, serde_json::to_string(&file).unwrap()).unwrap();
}

#[test]
fn compare_allows_each_sketch_its_own_error_and_more_for_old_files() {
    let dir = tempfile::tempdir().unwrap();
    let base = lognormal(3, 2_000);
    let new = scaled(&base, 1.07);
    let file = |name: &str, values: &[f64], old_grid: bool| {
        let path = dir.path().join(name);
        latency_file(&path, "retrieval", values);
        sketch_only(&path, old_grid);
        path
    };
    let (base_now, new_now) = (file("b.json", &base, false), file("n.json", &new, false));
    let (base_old, new_old) = (file("b1.json", &base, true), file("n1.json", &new, true));
    // The change the sketches show, and the verdict at `threshold`.
    let compare = |b: &Path, n: &Path, threshold: f64| -> Value {
        let threshold = threshold.to_string();
        let out = run(
            &[
                &"compare",
                &b,
                &n,
                &"--format",
                &"json",
                &"--threshold",
                &threshold,
            ],
            0,
        );
        let row = json_of(&out)["rows"][0].clone();
        assert_eq!(row["method"], "sketch", "{row}");
        row
    };
    let change = |b: &Path, n: &Path| compare(b, n, 0.0)["change"].as_f64().unwrap();
    let real = |b: &Path, n: &Path, margin: f64| {
        compare(b, n, change(b, n) - margin)["real"]
            .as_bool()
            .unwrap()
    };
    let (now, old) = (
        perftrack::RELATIVE_ACCURACY,
        (1.0 + 0.01) * (1.0 + perftrack::RELATIVE_ACCURACY) - 1.0,
    );
    for (b, n, base_error, new_error) in [
        (&base_now, &new_now, now, now),
        (&base_old, &new_old, old, old),
        (&base_old, &new_now, old, now),
        (&base_now, &new_old, now, old),
    ] {
        let c = change(b, n);
        let error = base_error + new_error;
        eprintln!(
            "{} → {}: change {c}, error {error}",
            b.display(),
            n.display()
        );
        // Each side's p95 is within its sketch's error of the exact one, and the exact p95s
        // differ by 7 %.
        let lowest = 1.07 * (1.0 - new_error) / (1.0 + base_error) - 1.0;
        let highest = 1.07 * (1.0 + new_error) / (1.0 - base_error) - 1.0;
        assert!((lowest..=highest).contains(&c), "{c}");
        // A change is real only beyond the threshold plus both sides' errors.
        assert!(real(b, n, error + 0.001), "{c} with error {error}");
        assert!(!real(b, n, error - 0.001), "{c} with error {error}");
    }
}

#[test]
fn compare_treats_lower_throughput_as_the_regression() {
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = (dir.path().join("b.json"), dir.path().join("n.json"));
    let base: Vec<u64> = (0..50).map(|i| 1_000 + 7 * i).collect();
    throughput_file(&b, "queries", &base);
    throughput_file(
        &n,
        "queries",
        &base.iter().map(|r| r * 8 / 10).collect::<Vec<_>>(),
    );
    let out = run(
        &[
            &"compare",
            &b,
            &n,
            &"--metric",
            &"mean",
            &"--fail-on-regression",
            &"--format",
            &"json",
        ],
        1,
    );
    let row = &json_of(&out)["rows"][0];
    assert_eq!(row["direction"], "lower_is_worse");
    assert_eq!(row["verdict"], "regression");
    // The other way round it is an improvement.
    let out = run(
        &[
            &"compare",
            &n,
            &b,
            &"--fail-on-regression",
            &"--format",
            &"json",
        ],
        0,
    );
    assert_eq!(json_of(&out)["rows"][0]["verdict"], "improvement");
}

#[test]
fn compare_markdown_pastes_into_a_pull_request() {
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = (dir.path().join("b.json"), dir.path().join("n.json"));
    latency_file(&b, "retrieval", &lognormal(1, 500));
    latency_file(&n, "retrieval", &scaled(&lognormal(2, 500), 1.5));
    let out = run(&[&"compare", &b, &n, &"--format", &"markdown"], 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| tracker"), "{text}");
    assert!(text.contains("**regression**"), "{text}");
    assert!(text.contains("1 regression"), "{text}");
}

#[test]
fn compare_run_containers_and_folders_pair_tracker_types() {
    let dir = tempfile::tempdir().unwrap();
    let run_json = dir.path().join("run.json");
    run_container(&run_json);
    let out = run(&[&"compare", &run_json, &run_json, &"--format", &"json"], 0);
    let json = json_of(&out);
    let kinds: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tracker_type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"memory") && kinds.contains(&"cpu"),
        "{kinds:?}"
    );
    assert!(
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["verdict"] == "noise")
    );
    let out = run(
        &[
            &"compare",
            &data("golden"),
            &data("golden"),
            &"--fail-on-regression",
        ],
        0,
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("0 regressions")
    );
}

#[test]
fn compare_errors_exit_2() {
    let latency = data("golden/latency-v1.json");
    let throughput = data("golden/throughput-v1.json");
    let o = run(&[&"compare", &latency, &throughput], 2);
    let err = stderr_of(&o);
    assert!(
        err.contains("latency-v1.json") && err.contains("throughput-v1.json"),
        "{err}"
    );
    let o = run(&[&"compare", &latency, &latency, &"--metric", &"p42"], 2);
    assert!(
        stderr_of(&o).contains("p50, p90, p95, p99"),
        "{}",
        stderr_of(&o)
    );
    let o = run(&[&"compare", &latency, &latency, &"--threshold", &"5"], 2);
    assert!(
        stderr_of(&o).contains("did you mean 5%"),
        "{}",
        stderr_of(&o)
    );
    run(&[&"compare", &latency, &latency, &"--threshold", &"-3%"], 2);
    run(&[&"compare", &latency, &latency, &"--alpha", &"1.5"], 2);
    run(&[&"compare", &latency], 2);
    let missing = PathBuf::from("/no/such/base.json");
    let o = run(
        &[&"compare", &missing, &latency, &"--fail-on-regression"],
        2,
    );
    assert!(stderr_of(&o).contains("base.json"));
    // Two latency files on one side: ambiguous.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&latency, dir.path().join("a.json")).unwrap();
    std::fs::copy(&latency, dir.path().join("b.json")).unwrap();
    let o = run(&[&"compare", &dir.path(), &latency], 2);
    assert!(
        stderr_of(&o).contains("perftrack merge"),
        "{}",
        stderr_of(&o)
    );
}
