//! `perftrack report`, `compare` and `merge` on generation files (LLM requests), built with a
//! manual clock so that every figure is known, and `compare --reading` on every tracker type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{
    Request, data, generation_file, json_of, latency_file, lognormal, run, run_container,
    stderr_of, ttft_objective,
};
use perftrack::{GenerationConfig, GenerationTracker, ManualClock, Slo};
use serde_json::Value;

/// Ten requests to `answer` (ttft 100, 110, … 190 ms, then four one-token chunks 20 ms apart:
/// tpot and every chunk gap 20 ms, e2e ttft + 80 ms) and one to `abandoned`, dropped after its
/// first token (cancelled), judged against `ttft ≤ 150 ms`: 6 of the 10 meet it.
fn report_file(path: &Path) {
    let clock = Arc::new(ManualClock::new());
    let config = GenerationConfig {
        slo: ttft_objective(155.0),
        ..GenerationConfig::default()
    };
    let tracker = GenerationTracker::with_clock(config, clock.clone());
    for i in 0..10 {
        let mut request = tracker.track("answer");
        request.input_tokens(500);
        clock.advance(Duration::from_millis(100 + 10 * i));
        request.tokens(1);
        for _ in 0..4 {
            clock.advance(Duration::from_millis(20));
            request.tokens(1);
        }
        request.stop();
    }
    let mut request = tracker.track("abandoned");
    clock.advance(Duration::from_millis(50));
    request.tokens(1);
    drop(request);
    tracker.save_metrics(path).unwrap();
}

/// The report row of `label` and `reading`.
fn row<'a>(report: &'a Value, label: &str, reading: &str) -> &'a Value {
    report["inputs"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label && r["reading"] == reading)
        .unwrap_or_else(|| panic!("no {label} {reading} row in {report}"))
}

fn close(value: &Value, want: f64) {
    let got = value.as_f64().unwrap();
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
}

#[test]
fn report_shows_each_figure_the_requests_and_the_goodput() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generation.json");
    report_file(&path);

    let report = json_of(&run(&[&"report", &"--format", &"json", &path], 0));
    assert_eq!(report["inputs"][0]["tracker_type"], "generation");
    // numpy.percentile(range(100, 200, 10), [50, 90, 99]) = 145, 181, 189.1
    let ttft = row(&report, "answer", "ttft");
    assert_eq!(
        (ttft["count"].as_u64(), ttft["unit"].as_str()),
        (Some(10), Some("ms"))
    );
    for (key, want) in [
        ("mean", 145.0),
        ("p50", 145.0),
        ("p90", 181.0),
        ("p99", 189.1),
    ] {
        close(&ttft[key], want);
    }
    close(&ttft["max"], 190.0);
    let tpot = row(&report, "answer", "tpot");
    assert_eq!(tpot["count"], 10);
    close(&tpot["p99"], 20.0);
    let itl = row(&report, "answer", "itl");
    assert_eq!(itl["count"], 40, "four gaps a request, pooled");
    close(&itl["max"], 20.0);
    let e2e = row(&report, "answer", "e2e");
    close(&e2e["p50"], 225.0);
    close(&e2e["max"], 270.0);
    let rate = row(&report, "answer", "output_tokens_per_second");
    assert_eq!(rate["unit"], "tokens/s");
    close(&rate["max"], 5.0 / 0.18);
    close(&row(&report, "answer", "input_tokens")["mean"], 500.0);
    close(&row(&report, "answer", "output_tokens")["mean"], 5.0);
    // The cancelled request has a first token but no tpot (one output token).
    assert_eq!(row(&report, "abandoned", "ttft")["count"], 1);
    assert!(
        report["inputs"][0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["label"] != "abandoned" || r["reading"] != "tpot")
    );

    let objectives = &report["inputs"][0]["objectives"];
    assert_eq!(
        (objectives["ttft"].as_f64(), objectives["unit"].as_str()),
        (Some(155.0), Some("ms"))
    );
    let requests = report["inputs"][0]["requests"].as_array().unwrap();
    let (abandoned, answer) = (&requests[0], &requests[1]);
    assert_eq!(abandoned["label"], "abandoned");
    assert_eq!(
        (
            abandoned["requests"].as_u64(),
            abandoned["cancelled"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(abandoned["goodput"]["met"], 0);
    assert_eq!(
        (answer["requests"].as_u64(), answer["failed"].as_u64()),
        (Some(10), Some(0))
    );
    assert_eq!(answer["goodput"]["met"], 6);
    close(&answer["goodput"]["fraction"], 0.6);
    // The ten requests ran back to back: 1,450 ms of ttft and 800 ms of chunks.
    close(&answer["goodput"]["per_second"], 6.0 / 2.25);

    let text = String::from_utf8(run(&[&"report", &path], 0).stdout).unwrap();
    eprintln!("{text}");
    for expected in [
        "generation — ",
        "objectives: ttft ≤ 155.0 ms",
        "cancelled",
        "goodput",
        "60.0%",
        "2.667",
        "output_tokens_per_second",
        "input_tokens",
        "181.0",
        "189.1",
        "20.00",
        "225.0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    for reading in ["ttft", "tpot", "itl", "e2e"] {
        assert!(
            text.lines()
                .any(|l| l.contains("answer") && l.contains(&format!(" {reading} "))),
            "no {reading} row in\n{text}"
        );
    }

    let html_path = dir.path().join("report.html");
    run(
        &[&"report", &"--format", &"html", &"-o", &html_path, &path],
        0,
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("data-tracker=\"generation\""), "{html}");
    assert!(
        html.contains("<th>goodput</th>") && html.contains("<td>60.0%</td>"),
        "{html}"
    );
    assert!(html.contains("<td class=\"text\">ttft</td>"), "{html}");
    assert_eq!(
        html.matches("class=\"chart bar-chart\"").count(),
        1,
        "{html}"
    );
}

/// Twenty requests: ttft `ttft(i)` ms, then four two-token chunks 20 to 24 ms apart.
fn requests(ttft: impl Fn(u64) -> u64) -> Vec<Request> {
    (0..20)
        .map(|i| Request {
            ttft_ms: ttft(i),
            more_chunks: 4,
            gap_ms: 20 + i % 5,
            tokens: 2,
        })
        .collect()
}

/// Base and new generation files: new's first tokens come 1.5 times later, the rest as fast.
fn slower_first_token(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (b, n) = (dir.join("base.json"), dir.join("new.json"));
    generation_file(&b, "answer", Slo::default(), &requests(|i| 100 + 4 * i));
    generation_file(&n, "answer", Slo::default(), &requests(|i| 150 + 6 * i));
    (b, n)
}

/// The rows of a JSON comparison, by reading.
fn verdicts(out: &std::process::Output) -> Vec<(String, String, String)> {
    json_of(out)["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_owned();
            (s("reading"), s("direction"), s("verdict"))
        })
        .collect()
}

#[test]
fn compare_flags_a_slower_first_token_and_judges_rates_and_never_token_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = slower_first_token(dir.path());
    let out = run(
        &[
            &"compare",
            &b,
            &n,
            &"--format",
            &"json",
            &"--fail-on-regression",
        ],
        1,
    );
    let rows = verdicts(&out);
    let get = |reading: &str| {
        rows.iter()
            .find(|r| r.0 == reading)
            .unwrap_or_else(|| panic!("no {reading} in {rows:?}"))
            .clone()
    };
    assert_eq!(get("ttft").2, "regression");
    assert_eq!(json_of(&out)["rows"][0]["method"], "mann-whitney");
    // The same chunks after the first token: the same tpot and chunk gaps.
    assert_eq!(get("tpot").2, "noise");
    assert_eq!(get("itl").2, "noise");
    // Longer requests for the same tokens: fewer tokens per second is the regression.
    assert_eq!(get("e2e").2, "regression");
    let rate = get("output_tokens_per_second");
    assert_eq!(
        (rate.1.as_str(), rate.2.as_str()),
        ("lower_is_worse", "regression")
    );
    for tokens in ["input_tokens", "output_tokens"] {
        assert_eq!(get(tokens).1, "neither");
        assert_eq!(get(tokens).2, "not_judged");
    }
    assert_eq!(json_of(&out)["regressions"], 3);

    // Only tpot judged: no regression.
    let out = run(
        &[
            &"compare",
            &b,
            &n,
            &"--format",
            &"json",
            &"--fail-on-regression",
            &"--reading",
            &"tpot",
        ],
        0,
    );
    assert_eq!(
        verdicts(&out),
        [("tpot".into(), "higher_is_worse".into(), "noise".into())]
    );
    // Two readings, comma-separated or repeated.
    for args in [
        &["--reading", "tpot,ttft"][..],
        &["--reading", "ttft", "--reading", "tpot"],
    ] {
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"compare", &b, &n, &"--format", &"json"];
        all.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        let readings: Vec<String> = verdicts(&run(&all, 0)).into_iter().map(|r| r.0).collect();
        assert_eq!(readings, ["ttft", "tpot"]);
    }
    // The table says which rows were not judged.
    let text = String::from_utf8(run(&[&"compare", &b, &n], 0).stdout).unwrap();
    eprintln!("{text}");
    assert!(text.contains("not judged"), "{text}");
    assert!(text.contains("3 regressions"), "{text}");
}

#[test]
fn compare_refuses_an_unknown_reading_and_lists_those_present() {
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = slower_first_token(dir.path());
    let out = run(&[&"compare", &b, &n, &"--reading", &"nope"], 2);
    let err = stderr_of(&out);
    eprintln!("{err}");
    assert!(err.contains("`nope`"), "{err}");
    for reading in [
        "e2e",
        "input_tokens",
        "itl",
        "output_tokens",
        "output_tokens_per_second",
        "tpot",
        "ttft",
    ] {
        assert!(err.contains(reading), "{reading} missing in {err}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn compare_reading_works_for_every_tracker_type() {
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = (dir.path().join("b.json"), dir.path().join("n.json"));
    latency_file(&b, "retrieval", &lognormal(1, 50));
    latency_file(&n, "retrieval", &lognormal(2, 50));
    let out = run(
        &[
            &"compare",
            &b,
            &n,
            &"--format",
            &"json",
            &"--reading",
            &"latency",
        ],
        0,
    );
    assert_eq!(verdicts(&out).len(), 1);
    let out = run(&[&"compare", &b, &n, &"--reading", &"ttft"], 2);
    assert!(
        stderr_of(&out).contains("the readings they hold are: latency"),
        "{}",
        stderr_of(&out)
    );

    // A memory reading brings its peak; the CPU file of the same run container has no such
    // reading and gives no row.
    let container = dir.path().join("run.json");
    run_container(&container);
    let out = run(
        &[
            &"compare",
            &container,
            &container,
            &"--format",
            &"json",
            &"--reading",
            &"process_rss",
        ],
        0,
    );
    let readings: Vec<String> = verdicts(&out).into_iter().map(|r| r.0).collect();
    assert_eq!(readings, ["process_rss", "peak process_rss"]);

    let golden = data("golden");
    let out = run(
        &[
            &"compare",
            &golden,
            &golden,
            &"--format",
            &"json",
            &"--reading",
            &"rate",
        ],
        0,
    );
    let json = json_of(&out);
    assert!(
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["tracker_type"] == "throughput"),
        "{json}"
    );
}

#[test]
fn merge_adds_the_requests_of_generation_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        dir.path().join("a.json"),
        dir.path().join("b.json"),
        dir.path().join("merged.json"),
    );
    let slo = ttft_objective(151.0);
    generation_file(&a, "answer", slo, &requests(|i| 100 + 4 * i));
    generation_file(&b, "answer", slo, &requests(|i| 150 + 6 * i));
    run(&[&"merge", &a, &b, &"-o", &out], 0);

    let merged = GenerationTracker::new(GenerationConfig {
        slo,
        ..GenerationConfig::default()
    });
    merged.load_metrics(&out).unwrap();
    let stats = merged.statistics(Some("answer")).unwrap();
    assert_eq!(stats.requests, 40);
    assert_eq!(stats.itl.unwrap().count, 160);
    // ttft ≤ 151 ms: 100 + 4i for i ≤ 12 in a, 150 + 6i for i = 0 in b.
    assert_eq!(stats.goodput.unwrap().met, 14);
    let json = json_of(&run(&[&"report", &"--format", &"json", &out], 0));
    assert_eq!(json["inputs"][0]["requests"][0]["requests"], 40);
}

#[test]
fn merge_refuses_generation_files_of_different_objectives_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        dir.path().join("strict.json"),
        dir.path().join("lenient.json"),
        dir.path().join("merged.json"),
    );
    generation_file(&a, "answer", ttft_objective(150.0), &requests(|i| 100 + i));
    generation_file(&b, "answer", ttft_objective(200.0), &requests(|i| 100 + i));
    let o = run(&[&"merge", &a, &b, &"-o", &out], 2);
    let err = stderr_of(&o);
    eprintln!("{err}");
    for expected in ["strict.json", "lenient.json", "{ttft: 150}", "{ttft: 200}"] {
        assert!(err.contains(expected), "missing {expected:?} in {err}");
    }
    assert!(!out.exists());
}
