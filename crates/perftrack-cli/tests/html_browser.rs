//! The HTML report and `perftrack run --plot` in a real browser: headless Chromium driven over
//! WebDriver (chromedriver) renders them; the page must show its charts and log no console
//! error, and every chart must read: memory ticks in binary units of at most four significant
//! digits, no tick label over another or over an axis title (measured with `getBBox`), a
//! single sample's value written out, and a logarithmic latency axis when the values span more
//! than a factor of 100. Screenshots are kept as `target/report-screenshot.png` and
//! `target/run-plot-screenshot.png`.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`.ci/run` installs them); the
//! test says why it skips without them, and fails instead when `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{data, perftrack, run_container};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser's flags: headless, and nothing that reaches the network or the user's profile.
fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1000,4800",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// A running chromedriver and, once created, its browser session; both end on drop, even when
/// the test fails.
struct Driver {
    child: Child,
    base: String,
    session: Option<String>,
    agent: ureq::Agent,
}

impl Driver {
    fn start() -> Driver {
        // Port 0 lets the system choose a free port; it is released for chromedriver to take.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {CHROMEDRIVER}: {err}"));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            agent,
        };
        // Wait until the driver answers `ready`; it is up within a second or two, so 30 s only
        // bounds a broken installation.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = driver.try_get("/status") {
                if status["value"]["ready"] == true {
                    break;
                }
            }
            if let Ok(Some(exit)) = driver.child.try_wait() {
                panic!("chromedriver exited at start: {exit}");
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    fn try_get(&self, path: &str) -> Option<Value> {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .ok()?;
        response.body_mut().read_json().ok()
    }

    /// A WebDriver command; panics with the driver's message on an error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let result = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self.agent.post(&url).send_json(body.unwrap_or(json!({}))),
        };
        let mut response = result.unwrap_or_else(|err| panic!("{method} {path}: {err}"));
        let status = response.status();
        let value: Value = response.body_mut().read_json().unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value["value"].clone()
    }

    fn session_path(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session.as_deref().unwrap())
    }

    fn open_browser(&mut self, profile: &Path) {
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": CHROMIUM, "args": chromium_args(profile)},
                    "goog:loggingPrefs": {"browser": "ALL"},
                }
            }
        });
        let value = self.call("POST", "/session", Some(capabilities));
        self.session = Some(value["sessionId"].as_str().unwrap().to_owned());
    }

    /// A browser (profile in `profile`) showing the file `page`.
    fn showing(page: &Path, profile: &Path) -> Driver {
        let mut driver = Driver::start();
        driver.open_browser(profile);
        driver.call(
            "POST",
            &driver.session_path("/url"),
            Some(json!({"url": format!("file://{}", page.display())})),
        );
        driver
    }

    /// Takes a screenshot of the page, checks it is a PNG and keeps it as `target/<name>`.
    fn keep_screenshot(&self, name: &str) {
        let shot = self.call("GET", &self.session_path("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().unwrap())
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let target = target_dir();
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join(name), &png).unwrap();
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    /// The browser console's entries since the last call.
    fn console(&self) -> Vec<Value> {
        let logs = self.call(
            "POST",
            &self.session_path("/se/log"),
            Some(json!({"type": "browser"})),
        );
        logs.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            // Ends the browser; errors are moot while tearing down.
            let _ = self
                .agent
                .delete(&format!("{}/session/{session}", self.base))
                .call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the page's charts must satisfy, measured in the browser: returns one object per chart
/// with its title and the problems found (empty when it reads well).
const CHART_CHECKS: &str = "
    const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width
        && a.y < b.y + b.height && b.y < a.y + a.height;
    const box = el => { const b = el.getBBox(); const m = el.getCTM();
        const p = new DOMPoint(b.x, b.y).matrixTransform(m);
        const q = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
        return {x: Math.min(p.x, q.x), y: Math.min(p.y, q.y),
                width: Math.abs(q.x - p.x), height: Math.abs(q.y - p.y)}; };
    const significant = t => t.replace(/^[-0.]+/, '').replace('.', '').replace(/e.*$/, '').length;
    return Array.from(document.querySelectorAll('svg.chart')).map(svg => {
        const title = svg.querySelector('title').textContent;
        const problems = [];
        const labels = Array.from(svg.querySelectorAll('.tick, .axis-title, .category'));
        for (let i = 0; i < labels.length; i++) {
            for (let j = i + 1; j < labels.length; j++) {
                if (overlap(box(labels[i]), box(labels[j]))) {
                    problems.push('overlap: ' + labels[i].textContent + ' / ' + labels[j].textContent);
                }
            }
        }
        const yTicks = Array.from(svg.querySelectorAll('.y-axis .tick')).map(t => t.textContent);
        if (/Memory|memory/.test(title)) {
            for (const t of yTicks) {
                const m = /^(-?[0-9.]+) (B|KiB|MiB|GiB|TiB)$/.exec(t);
                if (!m || significant(m[1]) > 4) problems.push('memory tick: ' + t);
            }
        }
        // A line chart's single sample is a dot that must have its value written beside it.
        for (const dot of svg.querySelectorAll('svg.line-chart circle.series')) {
            const label = svg.querySelector('.value-label');
            if (!label || !label.textContent.trim()) problems.push('a single sample without its value');
        }
        const bars = Array.from(svg.querySelectorAll('rect.series'))
            .map(r => parseFloat(r.querySelector('title').textContent.split(': ').pop()))
            .filter(v => v > 0);
        const scale = svg.querySelector('.y-axis').getAttribute('data-scale');
        if (bars.length > 0) {
            const log = Math.max(...bars) / Math.min(...bars) > 100;
            if ((scale === 'log') !== log) problems.push('scale ' + scale + ' for bars ' + bars);
        }
        return {title, problems, scale,
                values: Array.from(svg.querySelectorAll('.value-label')).map(t => t.textContent)};
    });
";

/// Whether Chromium and chromedriver are installed; says why the test skips when they are
/// not, and fails instead under `CI=true`.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{} not installed (Debian packages chromium and chromium-driver)",
        missing.join(" and ")
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {why}"
    );
    eprintln!("skipping the browser test: {why}");
    false
}

/// The workspace's `target` folder, where the screenshot is kept.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    )
}

#[test]
fn the_html_report_renders_its_charts_in_chromium_without_console_errors() {
    if !browser_installed() {
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let container = dir.path().join("run.json");
    run_container(&container);
    // Stages whose latencies lie over three decades apart: their chart needs a log axis.
    let spread = dir.path().join("spread.json");
    let latency = perftrack::LatencyTracker::new(perftrack::LatencyConfig::default());
    latency.record("embed", Duration::from_micros(30));
    latency.record("generate", Duration::from_millis(58));
    latency.save_metrics(&spread).unwrap();
    // A memory session of one sample (as a short one is): its value must be written out.
    let single = dir.path().join("single.json");
    let mut memory: Value =
        serde_json::from_str(&std::fs::read_to_string(data("golden/memory-v1.json")).unwrap())
            .unwrap();
    let name = memory["config"]["metric_name"].as_str().unwrap().to_owned();
    memory["metrics"][&name][0]["samples"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    std::fs::write(&single, memory.to_string()).unwrap();
    let status = perftrack()
        .args(["report", "--format", "html", "-o"])
        .arg(&page)
        .arg(data("golden"))
        .arg(&container)
        .arg(&spread)
        .arg(&single)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");

    let driver = Driver::showing(&page, &dir.path().join("profile"));

    // Every chart is laid out with a real size and draws its series.
    let charts = driver.script(
        "return Array.from(document.querySelectorAll('svg.chart')).map(svg => {
            const box = svg.getBoundingClientRect();
            return {
                title: svg.querySelector('title').textContent,
                width: box.width,
                height: box.height,
                series: svg.querySelectorAll('.series').length,
                plotted: Array.from(svg.querySelectorAll('.series'))
                    .filter(s => s.getBBox().width > 0 || s.getBBox().height > 0).length,
            };
        });",
    );
    let charts = charts.as_array().unwrap();
    let titles: Vec<&str> = charts
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "CPU over time",
            "Latency percentiles per label",
            "Memory over time",
            "Throughput over time",
            "CPU over time",
            "Memory over time",
            "Latency percentiles per label",
            "Memory over time",
        ]
    );
    for chart in charts {
        assert!(chart["width"].as_f64().unwrap() > 500.0, "{chart}");
        assert!(chart["height"].as_f64().unwrap() > 150.0, "{chart}");
        assert!(chart["series"].as_u64().unwrap() > 0, "{chart}");
        assert_eq!(chart["plotted"], chart["series"], "{chart}");
    }
    let readable = driver.script(CHART_CHECKS);
    let readable = readable.as_array().unwrap();
    for chart in readable {
        assert_eq!(chart["problems"], json!([]), "{chart}");
    }
    let scales: Vec<&str> = readable
        .iter()
        .filter(|c| c["title"] == "Latency percentiles per label")
        .map(|c| c["scale"].as_str().unwrap())
        .collect();
    assert_eq!(scales, ["linear", "log"]);
    // The golden memory and CPU files hold sessions of one sample: their values are written.
    assert!(
        readable
            .iter()
            .any(|c| !c["values"].as_array().unwrap().is_empty()),
        "{readable:?}"
    );
    let tables = driver.script("return document.querySelectorAll('table tbody tr').length;");
    assert!(tables.as_u64().unwrap() >= 8, "{tables}");

    driver.keep_screenshot("report-screenshot.png");

    let errors: Vec<Value> = driver
        .console()
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    // The console is really read: an error logged now shows up.
    driver.script("console.error('perftrack console probe'); return null;");
    let probe = driver.console();
    assert!(
        probe.iter().any(|e| e["level"] == "SEVERE"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .contains("perftrack console probe")),
        "{probe:?}"
    );
}

#[test]
fn the_bench_report_reads_in_chromium() {
    if !browser_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bench.html");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench-v1.json");
    // Five commands with long names, so that the names under the dots must be shortened.
    let mut many: Value = serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
    let first = many["commands"][0].clone();
    let commands = many["commands"].as_array_mut().unwrap();
    for i in 0..3 {
        let mut c = first.clone();
        c["command"] = json!(format!(
            "python rag.py --retriever hybrid --rerank cross-encoder-{i}"
        ));
        commands.push(c);
    }
    let many_path = dir.path().join("many.json");
    std::fs::write(&many_path, many.to_string()).unwrap();
    let status = perftrack()
        .args(["report", "--format", "html", "-o"])
        .arg(&page)
        .arg(&golden)
        .arg(&many_path)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");

    let driver = Driver::showing(&page, &dir.path().join("profile"));
    let readable = driver.script(CHART_CHECKS);
    let readable = readable.as_array().unwrap();
    let titles: Vec<&str> = readable
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    let figures =
        ["wall", "cpu", "user", "system", "rss", "tree-rss"].map(|f| format!("{f} per run"));
    assert_eq!(titles, [figures.clone(), figures].concat());
    for chart in readable {
        assert_eq!(chart["problems"], json!([]), "{chart}");
    }
    // Every run is a dot inside the plot area, every command's median a line.
    let dots = driver.script(
        "return Array.from(document.querySelectorAll('svg.strip-chart')).map(svg => {
            const area = svg.querySelector('.y-axis line').getBBox();
            const dots = Array.from(svg.querySelectorAll('circle.series'));
            return {dots: dots.length, medians: svg.querySelectorAll('line.median').length,
                    inside: dots.filter(d => { const b = d.getBBox();
                        return b.x >= area.x - 1 && b.x + b.width <= area.x + area.width + 1; }).length};
        });",
    );
    let dots = dots.as_array().unwrap();
    assert_eq!(dots[0], json!({"dots": 4, "medians": 2, "inside": 4}));
    assert_eq!(dots[6], json!({"dots": 10, "medians": 5, "inside": 10}));
    driver.keep_screenshot("bench-report-screenshot.png");
}

#[test]
fn the_run_plot_reads_in_chromium() {
    if !browser_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("run.svg");
    let status = perftrack()
        .args(["run", "--interval", "0.05", "--plot"])
        .arg(&plot)
        .args(["--", "sh", "-c", "sleep 0.6"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    // The plot is a document of its own: shown as the page, its charts are the page's.
    let page = dir.path().join("plot.html");
    let svg = std::fs::read_to_string(&plot).unwrap();
    let body = svg.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    std::fs::write(
        &page,
        format!("<!DOCTYPE html><html><body>{body}</body></html>"),
    )
    .unwrap();

    let driver = Driver::showing(&page, &dir.path().join("profile"));
    let readable = driver.script(CHART_CHECKS);
    let readable = readable.as_array().unwrap();
    let titles: Vec<&str> = readable
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["sh -c 'sleep 0.6': memory", "sh -c 'sleep 0.6': CPU"]
    );
    for chart in readable {
        assert_eq!(chart["problems"], json!([]), "{chart}");
    }
    let memory_ticks = driver.script(
        "return Array.from(document.querySelectorAll('svg.chart')[0].querySelectorAll('.y-axis .tick')).map(t => t.textContent);",
    );
    assert!(
        memory_ticks
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.as_str().unwrap().ends_with("iB") || t.as_str().unwrap().ends_with(" B")),
        "{memory_ticks}"
    );
    driver.keep_screenshot("run-plot-screenshot.png");
}
