//! The Prometheus exporter against the real thing: `promtool check metrics` on its output, and
//! a Prometheus server that scrapes its endpoint and answers queries about what was recorded.
//!
//! Both need Debian's `prometheus` package (`.ci/run` installs it). Without it these tests say
//! why and pass, except under `CI=true`, where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use perftrack::{
    Buckets, CpuConfig, CpuUsageTracker, GenerationConfig, GenerationFigure, GenerationTiming,
    GenerationTracker, LatencyConfig, LatencyExport, LatencyTracker, ManualClock, MemoryConfig,
    MemoryUsageTracker, Objective, PROMETHEUS_CONTENT_TYPE, PrometheusConfig, PrometheusExporter,
    Slo, Status, ThroughputConfig, ThroughputTracker,
};

/// The path of a Prometheus binary, or `None` (after saying why) when it is missing outside CI.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let why = format!("`{name}` is not installed (apt-get install prometheus)");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{why}; CI must have it");
        }
        eprintln!("skipping: {why}");
    }
    found
}

/// The durations recorded under "retrieval": 1 ms to 100 ms in steps of 0.1 ms, shuffled by a
/// fixed stride. Their p95 (95 ms) lies well inside the bucket (80 ms, 160 ms], so the few
/// values within 1 % of a bound that the sketch may count on the other side cannot move it.
fn retrieval_durations() -> Vec<Duration> {
    let n = 991u32;
    (0..n)
        .map(|i| (i * 337) % n)
        .map(|k| Duration::from_micros(1_000 + 100 * u64::from(k)))
        .collect()
}

/// An exporter over every kind of tracker, with known measurements.
fn exporter() -> (PrometheusExporter, Vec<Duration>) {
    // A small exact limit: the histogram comes from the sketch, as in a long-running service.
    let latency = LatencyTracker::new(LatencyConfig {
        exact_limit: 100,
        max_records: 0,
        ..Default::default()
    });
    let durations = retrieval_durations();
    for d in &durations {
        latency.record("retrieval", *d);
    }
    latency.record("generation", Duration::from_millis(1_500));
    latency.record("odd \"label\" \\ with\nnewline", Duration::from_millis(3));
    let throughput = ThroughputTracker::new(ThroughputConfig::default());
    throughput.record("queries", 250);
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    exporter
        .add_latency(&latency, LatencyExport::default())
        .unwrap();
    exporter.add_throughput(&throughput, None).unwrap();
    exporter
        .add_memory(
            &MemoryUsageTracker::new(MemoryConfig {
                track_gpu: false,
                ..Default::default()
            }),
            None,
        )
        .unwrap();
    exporter
        .add_cpu(&CpuUsageTracker::new(CpuConfig::default()), None)
        .unwrap();
    let (generation, _) = generation_tracker();
    exporter.add_generation(&generation, None).unwrap();
    // A second generation tracker, named and without objectives.
    let batch = GenerationTracker::new(GenerationConfig::default());
    batch.track("summary").stop();
    exporter.add_generation(&batch, Some("batch")).unwrap();
    (exporter, durations)
}

/// The configuration of the generation fixture: a ttft objective of 200 ms, and an operation
/// and provider of its own.
fn generation_config() -> GenerationConfig {
    GenerationConfig {
        slo: Slo {
            ttft: Some(Objective::new(200.0).unwrap()),
            ..Slo::default()
        },
        operation_name: "text_completion".to_owned(),
        provider_name: "vllm".to_owned(),
        ..GenerationConfig::default()
    }
}

/// A generation tracker on a manual clock, fed four requests under "answer" and one
/// unlabelled; and its clock.
///
/// | request | status | input | ttft | chunks after the first token | output | e2e | tpot |
/// |---|---|---|---|---|---|---|---|
/// | 1 | ok | 1,000 | 150 ms | 4 of 5 tokens, 25 ms apart | 21 | 250 ms | 100 ms / 20 |
/// | 2 | ok | 3,000 | 300 ms | 2 and 1 tokens, 50 ms apart | 5 | 400 ms | 100 ms / 4 |
/// | 3 | cancelled (dropped 500 ms after its only token) | none | 1 s | none | 1 | 1.5 s | none |
/// | 4 | failed, timings measured elsewhere | 20,000 | 80 ms | none | 300 | 3 s | 2.92 s / 299 |
///
/// The objective (ttft within 200 ms) is met by request 1 alone: request 4 failed.
fn generation_tracker() -> (GenerationTracker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let tracker = GenerationTracker::with_clock(generation_config(), clock.clone());
    let ms = Duration::from_millis;

    let mut request = tracker.track("answer");
    request.input_tokens(1_000);
    clock.advance(ms(150));
    request.tokens(1);
    for _ in 0..4 {
        clock.advance(ms(25));
        request.tokens(5);
    }
    request.stop();

    let mut request = tracker.track("answer");
    request.input_tokens(3_000);
    clock.advance(ms(300));
    request.tokens(2);
    clock.advance(ms(50));
    request.tokens(2);
    clock.advance(ms(50));
    request.tokens(1);
    request.stop();

    let mut request = tracker.track("answer");
    clock.advance(ms(1_000));
    request.tokens(1);
    clock.advance(ms(500));
    drop(request);

    tracker
        .record(
            "answer",
            GenerationTiming {
                ttft: Some(ms(80)),
                e2e: ms(3_000),
                output_tokens: 300,
                input_tokens: Some(20_000),
                status: Status::Failed,
            },
        )
        .unwrap();

    let mut request = tracker.track("");
    clock.advance(ms(10));
    request.tokens(1);
    request.stop();
    (tracker, clock)
}

/// What each figure of the naming table holds for "answer" in [`generation_tracker`], by hand:
/// seconds for times, tokens for token counts.
fn answer_values(figure: GenerationFigure) -> Vec<f64> {
    match figure {
        GenerationFigure::Duration => vec![0.25, 0.4, 1.5, 3.0],
        GenerationFigure::TimeToFirstChunk => vec![0.15, 0.3, 1.0, 0.08],
        GenerationFigure::TimePerOutputChunk => vec![0.025, 0.025, 0.025, 0.025, 0.05, 0.05],
        GenerationFigure::TimePerOutputToken => vec![0.1 / 20.0, 0.1 / 4.0, 2.92 / 299.0],
        GenerationFigure::InputTokens => vec![1_000.0, 3_000.0, 20_000.0],
        GenerationFigure::OutputTokens => vec![21.0, 5.0, 1.0, 300.0],
        other => panic!("{other:?} has no expected values yet"),
    }
}

/// The labels every series of "answer" in [`generation_tracker`] has.
const ANSWER: [(&str, &str); 3] = [
    ("perftrack_label", "answer"),
    ("gen_ai_operation_name", "text_completion"),
    ("gen_ai_provider_name", "vllm"),
];

/// One sample line of exposition text: its name, labels (unescaped) and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Every sample of exposition text, in order (comments skipped).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap(),
            };
            let Some((name, rest)) = series.split_once('{') else {
                return Sample {
                    name: series.to_owned(),
                    labels: BTreeMap::new(),
                    value,
                };
            };
            let mut labels = BTreeMap::new();
            let mut chars = rest.strip_suffix('}').unwrap().chars();
            loop {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                if key.is_empty() {
                    break;
                }
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut value = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some(c) => value.push(c),
                            None => panic!("{line}"),
                        },
                        c => value.push(c),
                    }
                }
                labels.insert(key, value);
                if chars.next() != Some(',') {
                    break;
                }
            }
            Sample {
                name: name.to_owned(),
                labels,
                value,
            }
        })
        .collect()
}

/// The samples named `name` whose labels are exactly `labels` plus the ones in `extra` keys
/// (`le` for buckets).
fn series<'a>(
    all: &'a [Sample],
    name: &str,
    labels: &[(&str, &str)],
    extra: &[&str],
) -> Vec<&'a Sample> {
    all.iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
                && s.labels.len() == labels.len() + extra.len()
                && extra.iter().all(|k| s.labels.contains_key(*k))
        })
        .collect()
}

/// The one sample named `name` with exactly `labels`.
fn one(all: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = series(all, name, labels, &[]);
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].value
}

/// A histogram series read back: `(le, count)` in exposition order, its sum and count.
fn histogram(all: &[Sample], family: &str, labels: &[(&str, &str)]) -> (Vec<(f64, u64)>, f64, u64) {
    let buckets = series(all, &format!("{family}_bucket"), labels, &["le"])
        .into_iter()
        .map(|s| {
            let le = match s.labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap(),
            };
            (le, s.value as u64)
        })
        .collect();
    let sum = one(all, &format!("{family}_sum"), labels);
    let count = one(all, &format!("{family}_count"), labels);
    (buckets, sum, count as u64)
}

/// The labels of one figure's series of "answer": [`ANSWER`] and the row's token type.
fn answer_labels(figure: GenerationFigure) -> Vec<(&'static str, &'static str)> {
    let mut labels = ANSWER.to_vec();
    if let Some(token_type) = figure.names().token_type {
        labels.push(("gen_ai_token_type", token_type));
    }
    labels
}

/// The table's bounds and `+Inf`, each with how many of `values` are at most it.
fn expected_buckets(bounds: &[f64], values: &[f64]) -> Vec<(f64, u64)> {
    bounds
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .map(|le| (le, values.iter().filter(|v| **v <= le).count() as u64))
        .collect()
}

/// numpy's "linear" percentile of `values`.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

#[test]
fn promtool_finds_no_problem_in_the_output() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let (exporter, _) = exporter();
    // The second scrape has CPU utilisation since the first.
    exporter.render();
    spin_thread_cpu(Duration::from_millis(20));
    let text = exporter.render();
    for figure in GenerationFigure::ALL {
        let family = figure.names().prometheus_name;
        assert!(
            text.contains(&format!("# TYPE {family} histogram\n")),
            "{family}"
        );
    }
    assert!(text.contains("tracker=\"batch\""));
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool check metrics: {}\n{said}\n--- output ---\n{text}",
        output.status
    );
}

#[test]
fn the_endpoint_serves_metrics_and_nothing_else() {
    let (exporter, durations) = exporter();
    let server = exporter.serve_local(0).unwrap();
    let base = format!("http://{}", server.local_addr());
    let mut response = ureq::get(&format!("{base}/metrics")).call().unwrap();
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        PROMETHEUS_CONTENT_TYPE
    );
    let body = response.body_mut().read_to_string().unwrap();
    assert!(body.contains(&format!(
        "perftrack_latency_seconds_count{{label=\"retrieval\"}} {}",
        durations.len()
    )));
    assert!(body.contains(r#"label="odd \"label\" \\ with\nnewline""#));
    let missing = ureq::get(&format!("{base}/other")).call();
    assert!(matches!(missing, Err(ureq::Error::StatusCode(404))));
    let post = ureq::post(&format!("{base}/metrics")).send("");
    assert!(matches!(post, Err(ureq::Error::StatusCode(405))));
    server.shutdown();
    // Nothing answers with metrics any more: the connection is refused, or accepted by the
    // closing listener and never answered.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let after = agent
        .get(&format!("{base}/metrics"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok());
    assert!(
        after.is_none_or(|body| !body.contains("perftrack_latency_seconds")),
        "still served after shutdown"
    );
}

#[test]
fn serving_on_a_taken_port_is_a_typed_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    let err = exporter
        .serve(taken.local_addr().unwrap())
        .expect_err("the port is taken");
    assert!(matches!(err, perftrack::Error::Serve { .. }), "{err}");
}

#[test]
fn buckets_per_tracker_and_per_label() {
    let latency = LatencyTracker::new(LatencyConfig::default());
    latency.record("embedding", Duration::from_micros(700));
    latency.record("llm", Duration::from_millis(700));
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    let options = LatencyExport {
        buckets: Some(Buckets::new(vec![0.5, 1.0]).unwrap()),
        label_buckets: [(
            "embedding".to_owned(),
            Buckets::new(vec![0.0005, 0.001]).unwrap(),
        )]
        .into(),
        ..Default::default()
    };
    exporter.add_latency(&latency, options).unwrap();
    let text = exporter.render();
    let buckets: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("perftrack_latency_seconds_bucket"))
        .collect();
    assert_eq!(
        buckets,
        [
            r#"perftrack_latency_seconds_bucket{label="embedding",le="0.0005"} 0"#,
            r#"perftrack_latency_seconds_bucket{label="embedding",le="0.001"} 1"#,
            r#"perftrack_latency_seconds_bucket{label="embedding",le="+Inf"} 1"#,
            r#"perftrack_latency_seconds_bucket{label="llm",le="0.5"} 0"#,
            r#"perftrack_latency_seconds_bucket{label="llm",le="1"} 1"#,
            r#"perftrack_latency_seconds_bucket{label="llm",le="+Inf"} 1"#,
        ]
    );
}

#[test]
fn an_unbounded_label_is_capped_with_an_overflow_series() {
    let latency = LatencyTracker::new(LatencyConfig::default());
    for i in 0..50 {
        latency.record(&format!("query {i}"), Duration::from_millis(5));
    }
    let exporter = PrometheusExporter::new(PrometheusConfig {
        max_label_values: 10,
        quantiles: false,
        ..Default::default()
    });
    exporter
        .add_latency(&latency, LatencyExport::default())
        .unwrap();
    let text = exporter.render();
    let counts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("perftrack_latency_seconds_count"))
        .collect();
    assert_eq!(counts.len(), 11, "{counts:?}");
    assert!(counts.contains(&r#"perftrack_latency_seconds_count{label="_other"} 40"#));
    let total: u64 = counts
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 50);
}

#[test]
fn bucket_counts_never_fall_when_a_label_leaves_exact_mode() {
    // Values just below a bound: exact, they are inside it; the sketch may put them above.
    let latency = LatencyTracker::new(LatencyConfig {
        exact_limit: 10,
        ..Default::default()
    });
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    exporter
        .add_latency(&latency, LatencyExport::default())
        .unwrap();
    let bucket = |text: &str| -> u64 {
        let prefix = r#"perftrack_latency_seconds_bucket{label="x",le="0.01"} "#;
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap()
            .parse()
            .unwrap()
    };
    for _ in 0..10 {
        latency.record("x", Duration::from_micros(9_995));
    }
    assert_eq!(bucket(&exporter.render()), 10);
    for _ in 0..10 {
        latency.record("x", Duration::from_micros(9_995));
    }
    let before_reset = bucket(&exporter.render());
    assert!(before_reset >= 10);
    // A reset does not take the bucket back: a value above its bound leaves it as it was.
    latency.reset();
    latency.record("x", Duration::from_millis(50));
    assert_eq!(bucket(&exporter.render()), before_reset);
}

/// Every `(le, count)` of the histogram of `label`, `+Inf` as infinity, in exposition order.
fn buckets_of(text: &str, label: &str) -> Vec<(f64, u64)> {
    let prefix = format!(r#"perftrack_latency_seconds_bucket{{label="{label}",le=""#);
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (le, count) = rest.split_once(r#""} "#).unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, count.parse().unwrap())
        })
        .collect()
}

#[test]
fn after_a_reset_every_bucket_adds_the_new_values_to_what_was_exported() {
    let latency = LatencyTracker::new(LatencyConfig::default());
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    exporter
        .add_latency(&latency, LatencyExport::default())
        .unwrap();
    // M values in high buckets, scraped, then a reset and N >= M values in low buckets (within
    // `exact_limit`, so every count is exact).
    let high: Vec<f64> = (0..40).map(|i| 2.0 + 0.5 * f64::from(i)).collect();
    let low: Vec<f64> = (0..60).map(|i| 0.001 + 0.0003 * f64::from(i)).collect();
    for &v in &high {
        latency.record("x", Duration::from_secs_f64(v));
    }
    let before = buckets_of(&exporter.render(), "x");
    latency.reset();
    for &v in &low {
        latency.record("x", Duration::from_secs_f64(v));
    }
    let after = buckets_of(&exporter.render(), "x");
    assert_eq!(after.len(), before.len());
    assert!(after.len() > 10);
    for ((le, n), (le_before, n_before)) in after.iter().zip(&before) {
        assert_eq!(le, le_before);
        let at_most = |values: &[f64]| values.iter().filter(|&&v| v <= *le).count() as u64;
        assert_eq!(*n_before, at_most(&high), "le={le} before the reset");
        assert_eq!(
            *n,
            at_most(&high) + at_most(&low),
            "le={le} after the reset"
        );
    }
    let text = exporter.render();
    assert_eq!(
        sample(&text, r#"perftrack_latency_seconds_count{label="x"}"#),
        100.0
    );
}

/// This thread's CPU time (user and system), from `/proc/thread-self/stat`.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let fields: Vec<u64> = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|f| f.parse().unwrap())
        .collect();
    Duration::from_millis(10 * (fields[0] + fields[1]))
}

/// Keeps this thread busy until it has used `cpu` more CPU time.
fn spin_thread_cpu(cpu: Duration) {
    let until = thread_cpu() + cpu;
    let mut x = 0u64;
    while thread_cpu() < until {
        for i in 0..100_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
    }
}

/// The value of the unlabelled sample `name` in exposition text.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn cpu_and_memory_readings_follow_the_process() {
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    exporter
        .add_cpu(&CpuUsageTracker::new(CpuConfig::default()), None)
        .unwrap();
    exporter
        .add_memory(
            &MemoryUsageTracker::new(MemoryConfig {
                track_gpu: false,
                ..Default::default()
            }),
            Some("service"),
        )
        .unwrap();
    let before = sample(&exporter.render(), "perftrack_process_cpu_seconds_total");
    spin_thread_cpu(Duration::from_millis(60));
    let text = exporter.render();
    // The process used at least what this thread did (other threads only add).
    let used = sample(&text, "perftrack_process_cpu_seconds_total") - before;
    assert!(used >= 0.06 - 1e-9, "{used}");
    let system = sample(&text, "perftrack_system_cpu_utilization_ratio");
    assert!((0.0..=1.0).contains(&system), "{system}");
    let cores: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("perftrack_cpu_utilization_ratio{core=\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(!cores.is_empty());
    assert!(cores.iter().all(|c| (0.0..=1.0).contains(c)), "{cores:?}");
    // Memory gauges carry the tracker's name and are consistent with each other.
    let rss = sample(
        &text,
        r#"perftrack_process_resident_memory_bytes{tracker="service"}"#,
    );
    let vms = sample(
        &text,
        r#"perftrack_process_virtual_memory_bytes{tracker="service"}"#,
    );
    let total = sample(
        &text,
        r#"perftrack_system_memory_total_bytes{tracker="service"}"#,
    );
    assert!(
        0.0 < rss && rss <= vms && rss <= total,
        "{rss} {vms} {total}"
    );
    assert!(!text.contains("perftrack_gpu_memory_used_bytes"));
}

/// Kills and reaps the Prometheus server when the test ends, even by a panic.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(binary: &Path, dir: &Path, target: &str) -> (Server, String) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: perftrack\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let log = dir.join("prometheus.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={listen}"))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap();
    (Server { child, log }, format!("http://{listen}"))
}

/// The result vector of an instant query (empty while nothing matches or the server is not up).
fn query(api: &str, promql: &str) -> Vec<serde_json::Value> {
    let Ok(mut response) = ureq::get(&format!("{api}/api/v1/query"))
        .query("query", promql)
        .call()
    else {
        return Vec::new();
    };
    let Ok(body) = response.body_mut().read_to_string() else {
        return Vec::new();
    };
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    json["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The value of a one-series result.
fn value(result: &[serde_json::Value]) -> f64 {
    result[0]["value"][1].as_str().unwrap().parse().unwrap()
}

#[test]
fn a_prometheus_server_scrapes_the_endpoint() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let (exporter, durations) = exporter();
    let endpoint = exporter.serve_local(0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, api) =
        start_prometheus(&prometheus, dir.path(), &endpoint.local_addr().to_string());

    // Wait for the first scrape: Prometheus starts, then scrapes every second.
    let count_query = r#"perftrack_latency_seconds_count{label="retrieval"}"#;
    let deadline = Instant::now() + Duration::from_secs(90);
    let counted = loop {
        let result = query(&api, count_query);
        if !result.is_empty() {
            break result;
        }
        if let Ok(Some(exit)) = server.child.try_wait() {
            panic!("prometheus exited ({exit}):\n{}", server.log_tail());
        }
        assert!(
            Instant::now() < deadline,
            "no scrape of {} reached Prometheus within 90 s; targets: {:?}\nlog:\n{}",
            endpoint.local_addr(),
            query_targets(&api),
            server.log_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(value(&counted), durations.len() as f64);

    // histogram_quantile lands in the bucket that holds the true p95.
    let seconds: Vec<f64> = durations.iter().map(Duration::as_secs_f64).collect();
    let p95 = percentile(&seconds, 0.95);
    let bounds = Buckets::latency();
    let upper = *bounds.bounds().iter().find(|b| **b >= p95).unwrap();
    let lower = bounds
        .bounds()
        .iter()
        .rev()
        .find(|b| **b < p95)
        .copied()
        .unwrap_or(0.0);
    let q = value(&query(
        &api,
        r#"histogram_quantile(0.95, perftrack_latency_seconds_bucket{label="retrieval"})"#,
    ));
    assert!(
        lower <= q && q <= upper,
        "histogram_quantile gave {q}; the true p95 {p95} is in ({lower}, {upper}]"
    );

    // The sum is exact, the escaped label reads back, and the counter arrived.
    let sum = value(&query(
        &api,
        r#"perftrack_latency_seconds_sum{label="retrieval"}"#,
    ));
    let exact: f64 = seconds.iter().sum();
    assert!((sum - exact).abs() < 1e-9 * exact, "{sum} vs {exact}");
    let odd = query(
        &api,
        r#"perftrack_latency_seconds_count{label="odd \"label\" \\ with\nnewline"}"#,
    );
    assert_eq!(value(&odd), 1.0);
    let queries = query(
        &api,
        r#"perftrack_throughput_events_total{label="queries"}"#,
    );
    assert_eq!(value(&queries), 250.0);

    // Every generation figure arrived under the table's name, with the table's bounds and
    // the counts of the values fed through the manual clock.
    for figure in GenerationFigure::ALL {
        let names = figure.names();
        let selector = answer_labels(figure)
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join(",");
        let values = answer_values(figure);
        let result = query(
            &api,
            &format!("{}_bucket{{{selector}}}", names.prometheus_name),
        );
        let mut buckets: Vec<(f64, u64)> = result
            .iter()
            .map(|series| {
                let le = match series["metric"]["le"].as_str().unwrap() {
                    "+Inf" => f64::INFINITY,
                    le => le.parse().unwrap(),
                };
                (le, value(std::slice::from_ref(series)) as u64)
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(
            buckets,
            expected_buckets(names.buckets, &values),
            "{figure:?}"
        );
        let count = query(
            &api,
            &format!("{}_count{{{selector}}}", names.prometheus_name),
        );
        assert_eq!(value(&count), values.len() as f64, "{figure:?}");
        let sum = value(&query(
            &api,
            &format!("{}_sum{{{selector}}}", names.prometheus_name),
        ));
        let exact: f64 = values.iter().sum();
        assert!(
            (sum - exact).abs() <= 1e-9 * exact,
            "{figure:?}: {sum} vs {exact}"
        );
    }
    for (family, expected) in [
        ("perftrack_generation_failed_total", 1.0),
        ("perftrack_generation_cancelled_total", 1.0),
        ("perftrack_generation_slo_met_total", 1.0),
    ] {
        let result = query(&api, &format!("{family}{{perftrack_label=\"answer\"}}"));
        assert_eq!(value(&result), expected, "{family}");
        assert_eq!(result[0]["metric"]["gen_ai_provider_name"], "vllm");
    }
    drop(server);
}

fn query_targets(api: &str) -> String {
    ureq::get(&format!("{api}/api/v1/targets"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .unwrap_or_default()
}

#[test]
fn throughput_counters_never_go_backwards_across_a_merge_or_a_reset() {
    let throughput = ThroughputTracker::new(ThroughputConfig::default());
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    exporter.add_throughput(&throughput, None).unwrap();
    let events = |exporter: &PrometheusExporter| {
        sample(
            &exporter.render(),
            r#"perftrack_throughput_events_total{label="queries"}"#,
        )
    };
    throughput.record("queries", 250);
    assert_eq!(events(&exporter), 250.0);
    let file = {
        let other = ThroughputTracker::new(ThroughputConfig::default());
        other.track("queries").stop();
        other.metrics_json().unwrap()
    };
    throughput
        .merge_metrics_json(&file, "worker.json".as_ref())
        .unwrap();
    assert_eq!(
        events(&exporter),
        250.0,
        "a merge keeps the window's events"
    );
    throughput.reset();
    assert_eq!(
        events(&exporter),
        250.0,
        "a reset carries what was exported"
    );
    throughput.record("queries", 5);
    assert_eq!(events(&exporter), 255.0);
}

#[test]
fn generation_figures_read_back_as_computed_by_hand() {
    let (tracker, _clock) = generation_tracker();
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    exporter.add_generation(&tracker, None).unwrap();
    let text = exporter.render();
    let all = samples(&text);

    for figure in GenerationFigure::ALL {
        let names = figure.names();
        let family = names.prometheus_name;
        // One header per family, even where two rows share it (token usage).
        assert_eq!(
            text.matches(&format!("# TYPE {family} histogram\n"))
                .count(),
            1,
            "{family}"
        );
        assert!(text.contains(&format!("# HELP {family} {}\n", names.description)));
        let values = answer_values(figure);
        let (buckets, sum, count) = histogram(&all, family, &answer_labels(figure));
        assert_eq!(
            buckets,
            expected_buckets(names.buckets, &values),
            "{figure:?}"
        );
        assert_eq!(count, values.len() as u64, "{figure:?}");
        let exact: f64 = values.iter().sum();
        assert!(
            (sum - exact).abs() <= 1e-12 * exact,
            "{figure:?}: {sum} vs {exact}"
        );
    }

    // Two rows written out by hand. The first token of request 4 came at 80 ms, on a bound:
    // `le` counts it.
    let ttft = GenerationFigure::TimeToFirstChunk;
    let (buckets, sum, _) = histogram(&all, ttft.names().prometheus_name, &answer_labels(ttft));
    let counts: Vec<u64> = buckets.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, [0, 0, 0, 1, 2, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4]);
    assert!((sum - 1.53).abs() < 1e-12, "{sum}");
    let output = GenerationFigure::OutputTokens;
    let (buckets, sum, _) = histogram(&all, output.names().prometheus_name, &answer_labels(output));
    let counts: Vec<u64> = buckets.iter().map(|(_, n)| *n).collect();
    // Bounds 1, 4, 16, 64, 256, 1024 … tokens; outputs 1, 5, 21, 300.
    assert_eq!(counts, [1, 1, 2, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]);
    assert_eq!(sum, 327.0);

    // The request counters, and the objective (ttft within 200 ms) met by request 1 alone.
    assert_eq!(one(&all, "perftrack_generation_failed_total", &ANSWER), 1.0);
    assert_eq!(
        one(&all, "perftrack_generation_cancelled_total", &ANSWER),
        1.0
    );
    assert_eq!(
        one(&all, "perftrack_generation_slo_met_total", &ANSWER),
        1.0
    );

    // The unlabelled request has no `perftrack_label`.
    let unlabelled = &ANSWER[1..];
    let duration = GenerationFigure::Duration.names().prometheus_name;
    let (_, sum, count) = histogram(&all, duration, unlabelled);
    assert_eq!((sum, count), (0.01, 1));
    assert_eq!(
        one(&all, "perftrack_generation_slo_met_total", unlabelled),
        1.0
    );
    assert!(
        all.iter().all(|s| s
            .labels
            .get("perftrack_label")
            .is_none_or(|l| l == "answer")),
        "only two labels"
    );
}

#[test]
fn a_named_generation_tracker_without_objectives_has_no_slo_counter() {
    let tracker = GenerationTracker::new(GenerationConfig::default());
    tracker.track("answer").stop();
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    exporter.add_generation(&tracker, Some("batch")).unwrap();
    let err = exporter
        .add_generation(&tracker, Some("batch"))
        .unwrap_err();
    assert!(
        matches!(err, perftrack::Error::InvalidConfig { .. }),
        "{err}"
    );
    exporter.add_generation(&tracker, Some("online")).unwrap();
    let text = exporter.render();
    assert!(!text.contains("perftrack_generation_slo_met_total"));
    let all = samples(&text);
    let labels = [
        ("tracker", "batch"),
        ("perftrack_label", "answer"),
        ("gen_ai_operation_name", "chat"),
        ("gen_ai_provider_name", "unknown"),
    ];
    assert_eq!(
        one(&all, "perftrack_generation_cancelled_total", &labels),
        0.0
    );
    let duration = GenerationFigure::Duration.names().prometheus_name;
    assert_eq!(histogram(&all, duration, &labels).2, 1);
}

#[test]
fn generation_labels_past_the_cap_share_the_overflow_series() {
    let tracker = GenerationTracker::new(GenerationConfig::default());
    for i in 0..5 {
        tracker.track(&format!("prompt {i}")).stop();
    }
    let exporter = PrometheusExporter::new(PrometheusConfig {
        max_label_values: 2,
        ..Default::default()
    });
    exporter.add_generation(&tracker, None).unwrap();
    let all = samples(&exporter.render());
    let family = format!(
        "{}_count",
        GenerationFigure::Duration.names().prometheus_name
    );
    let counts: BTreeMap<&str, f64> = all
        .iter()
        .filter(|s| s.name == family)
        .map(|s| (s.labels["perftrack_label"].as_str(), s.value))
        .collect();
    assert_eq!(
        counts,
        BTreeMap::from([("_other", 3.0), ("prompt 0", 1.0), ("prompt 1", 1.0)])
    );
}

#[test]
fn generation_counts_never_decrease_across_a_reset_or_a_load() {
    let (tracker, clock) = generation_tracker();
    let exporter = PrometheusExporter::new(PrometheusConfig::default());
    exporter.add_generation(&tracker, None).unwrap();
    let generation = |s: &Sample| {
        s.name.starts_with("perftrack_generation_")
            || GenerationFigure::ALL
                .iter()
                .any(|f| s.name.starts_with(f.names().prometheus_name))
    };
    let scrape = || -> Vec<Sample> {
        samples(&exporter.render())
            .into_iter()
            .filter(generation)
            .collect()
    };
    let never_less = |before: &[Sample], after: &[Sample], when: &str| {
        for b in before {
            let a = after
                .iter()
                .find(|a| a.name == b.name && a.labels == b.labels)
                .unwrap_or_else(|| panic!("{} {:?} is gone {when}", b.name, b.labels));
            assert!(a.value >= b.value, "{when}: {b:?} became {}", a.value);
        }
    };
    let before = scrape();
    assert!(before.len() > 100, "{}", before.len());

    // A reset, then one short request: every count is what it was plus that request.
    tracker.reset();
    let mut request = tracker.track("answer");
    clock.advance(Duration::from_millis(5));
    request.tokens(1);
    request.stop();
    let after_reset = scrape();
    never_less(&before, &after_reset, "after a reset");
    let duration = GenerationFigure::Duration.names().prometheus_name;
    let (buckets, sum, count) = histogram(&after_reset, duration, &ANSWER);
    assert_eq!(count, 5);
    assert!((sum - 5.155).abs() < 1e-12, "{sum}");
    assert_eq!(
        buckets[0],
        (0.01, 1),
        "the 5 ms request is in the first bucket"
    );
    assert_eq!(
        one(&after_reset, "perftrack_generation_slo_met_total", &ANSWER),
        2.0
    );

    // A load replaces the state with a file's: the counts go on from the last scrape.
    let file = {
        let (other, _) = generation_tracker();
        other.metrics_json().unwrap()
    };
    tracker
        .load_metrics_json(&file, "other.json".as_ref())
        .unwrap();
    let after_load = scrape();
    never_less(&after_reset, &after_load, "after a load");
    let (_, _, count) = histogram(&after_load, duration, &ANSWER);
    assert_eq!(count, 9);
}
