//! SVG charts for the HTML report and `perftrack run --plot`: line charts (timelines) and
//! grouped bar charts (percentiles per label), written as plain SVG text.
//!
//! Hand-built rather than drawn with a plotting crate: the browser lays out the text, so no
//! font file or font library is needed at build or run time, and the output is small,
//! deterministic and styled by the page.

use std::fmt::Write;

use perftrack::{CpuRecord, MemoryRecord};

/// Chart size in SVG user units; the page scales it to its width.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
/// Margins around the plot area: room for tick labels, axis titles and the legend.
const LEFT: f64 = 72.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;

/// Series colours (Okabe–Ito, distinguishable with colour-blindness), used in order.
const COLOURS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// One named line of points `(x, y)`.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub(crate) name: String,
    pub(crate) points: Vec<(f64, f64)>,
}

/// A chart of lines over a shared x axis (time, in seconds from the start).
#[derive(Clone, Debug)]
pub(crate) struct LineChart {
    pub(crate) title: String,
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    pub(crate) lines: Vec<Line>,
}

/// Bars grouped by category: one bar per series in each category.
#[derive(Clone, Debug)]
pub(crate) struct BarChart {
    pub(crate) title: String,
    pub(crate) y_label: String,
    pub(crate) categories: Vec<String>,
    /// `(series name, one value per category)`.
    pub(crate) series: Vec<(String, Vec<f64>)>,
}

/// Escapes text for SVG and HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Up to about `target` round tick values (1, 2 or 5 times a power of ten apart) covering
/// `[lo, hi]`, and the axis range they span.
pub(crate) fn ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64, f64) {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        // A flat series still gets an axis around its value.
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let n = ((end - start) / step).round() as usize;
    let values = (0..=n).map(|i| start + i as f64 * step).collect();
    (values, start, end)
}

/// A tick value without needless digits.
fn tick_label(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let text = format!("{value:.decimals$}");
    if text == "-0" { "0".to_owned() } else { text }
}

/// Maps data coordinates to the plot area.
struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl Frame {
    fn x(&self, x: f64) -> f64 {
        self.left + (x - self.x0) / (self.x1 - self.x0) * self.width
    }

    fn y(&self, y: f64) -> f64 {
        self.top + self.height - (y - self.y0) / (self.y1 - self.y0) * self.height
    }
}

/// Opens an `<svg>` element of the chart's size, with its title.
fn open(out: &mut String, class: &str, title: &str, top: f64) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart {class}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}" font-family="system-ui, sans-serif" font-size="12">"#,
        t = escape(title)
    );
    let _ = write!(
        out,
        r#"<title>{t}</title><text x="{x}" y="{y}" font-size="15" font-weight="600">{t}</text>"#,
        t = escape(title),
        x = LEFT,
        y = top - 14.0,
    );
}

/// Draws the y grid with its tick labels and the y axis title.
fn y_axis(out: &mut String, frame: &Frame, ticks: &[f64], label: &str) {
    let step = ticks.get(1).zip(ticks.first()).map_or(1.0, |(b, a)| b - a);
    for &t in ticks {
        let y = frame.y(t);
        let _ = write!(
            out,
            r##"<line x1="{l}" x2="{r}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{v}</text>"##,
            l = frame.left,
            r = frame.left + frame.width,
            tx = frame.left - 6.0,
            ty = y + 4.0,
            v = tick_label(t, step),
        );
    }
    let cy = frame.top + frame.height / 2.0;
    let _ = write!(
        out,
        r#"<text transform="translate(16 {cy:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        escape(label)
    );
}

/// Draws the legend to the right of the plot area.
fn legend(out: &mut String, names: &[&str], top: f64) {
    let x = WIDTH - RIGHT + 14.0;
    for (i, name) in names.iter().enumerate() {
        let y = top + 8.0 + 18.0 * i as f64;
        let short: String = if name.chars().count() > 18 {
            name.chars().take(17).chain(['…']).collect()
        } else {
            (*name).to_owned()
        };
        let _ = write!(
            out,
            r#"<rect class="legend" x="{x}" y="{ry:.1}" width="12" height="12" fill="{c}"/><text x="{tx}" y="{ty:.1}"><title>{full}</title>{s}</text>"#,
            ry = y - 10.0,
            c = COLOURS[i % COLOURS.len()],
            tx = x + 18.0,
            ty = y,
            full = escape(name),
            s = escape(&short),
        );
    }
}

impl LineChart {
    /// Whether the chart has any point to draw.
    pub(crate) fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.points.is_empty())
    }

    /// The chart as an `<svg>` element.
    pub(crate) fn to_svg(&self) -> String {
        self.render(TOP)
    }

    fn render(&self, top: f64) -> String {
        let mut out = String::new();
        open(&mut out, "line-chart", &self.title, top);
        let points = || self.lines.iter().flat_map(|l| l.points.iter());
        let (mut xmin, mut xmax, mut ymin, mut ymax) = (f64::MAX, f64::MIN, 0.0f64, f64::MIN);
        for &(x, y) in points() {
            xmin = xmin.min(x);
            xmax = xmax.max(x);
            ymin = ymin.min(y);
            ymax = ymax.max(y);
        }
        if xmin > xmax {
            (xmin, xmax, ymax) = (0.0, 1.0, 1.0);
        }
        let (xt, x0, x1) = ticks(xmin, xmax, 8);
        let (yt, y0, y1) = ticks(ymin, ymax, 5);
        let frame = Frame {
            x0,
            x1,
            y0,
            y1,
            left: LEFT,
            top,
            width: WIDTH - LEFT - RIGHT,
            height: HEIGHT - top - BOTTOM,
        };
        y_axis(&mut out, &frame, &yt, &self.y_label);
        let xstep = xt.get(1).zip(xt.first()).map_or(1.0, |(b, a)| b - a);
        let base = frame.top + frame.height;
        for &t in &xt {
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{base}" y2="{b2}" stroke="#555"/><text x="{x:.1}" y="{ty}" text-anchor="middle">{v}</text>"##,
                x = frame.x(t),
                b2 = base + 5.0,
                ty = base + 18.0,
                v = tick_label(t, xstep),
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{l}" x2="{r}" y1="{base}" y2="{base}" stroke="#555"/><text x="{cx:.1}" y="{ty}" text-anchor="middle">{label}</text>"##,
            l = frame.left,
            r = frame.left + frame.width,
            cx = frame.left + frame.width / 2.0,
            ty = HEIGHT - 8.0,
            label = escape(&self.x_label),
        );
        for (i, line) in self.lines.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            if line.points.len() == 1 {
                let (x, y) = line.points[0];
                let _ = write!(
                    out,
                    r#"<circle class="series" cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                    frame.x(x),
                    frame.y(y)
                );
                continue;
            }
            let mut d = String::new();
            for &(x, y) in &line.points {
                let _ = write!(d, "{:.1},{:.1} ", frame.x(x), frame.y(y));
            }
            let _ = write!(
                out,
                r#"<polyline class="series" fill="none" stroke="{colour}" stroke-width="1.8" points="{}"><title>{}</title></polyline>"#,
                d.trim_end(),
                escape(&line.name)
            );
        }
        let names: Vec<&str> = self.lines.iter().map(|l| l.name.as_str()).collect();
        legend(&mut out, &names, top);
        out.push_str("</svg>");
        out
    }
}

impl BarChart {
    /// The chart as an `<svg>` element.
    pub(crate) fn to_svg(&self) -> String {
        let mut out = String::new();
        open(&mut out, "bar-chart", &self.title, TOP);
        let ymax = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .fold(0.0f64, f64::max);
        let (yt, y0, y1) = ticks(0.0, ymax, 5);
        let frame = Frame {
            x0: 0.0,
            x1: 1.0,
            y0,
            y1,
            left: LEFT,
            top: TOP,
            width: WIDTH - LEFT - RIGHT,
            height: HEIGHT - TOP - BOTTOM,
        };
        y_axis(&mut out, &frame, &yt, &self.y_label);
        let n = self.categories.len().max(1) as f64;
        let group = frame.width / n;
        let bar = group * 0.8 / self.series.len().max(1) as f64;
        let base = frame.y(0.0);
        for (c, category) in self.categories.iter().enumerate() {
            let gx = frame.left + group * c as f64 + group * 0.1;
            for (s, (name, values)) in self.series.iter().enumerate() {
                let value = values.get(c).copied().unwrap_or(0.0);
                let top = frame.y(value);
                let _ = write!(
                    out,
                    r#"<rect class="series" x="{x:.1}" y="{top:.1}" width="{w:.1}" height="{h:.1}" fill="{colour}"><title>{label} {name}: {value}</title></rect>"#,
                    x = gx + bar * s as f64,
                    w = (bar - 1.0).max(1.0),
                    h = (base - top).max(0.0),
                    colour = COLOURS[s % COLOURS.len()],
                    label = escape(category),
                    name = escape(name),
                );
            }
            let short: String = if category.chars().count() > 16 {
                category.chars().take(15).chain(['…']).collect()
            } else {
                category.clone()
            };
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{y}" text-anchor="middle">{s}</text>"#,
                x = gx + group * 0.4,
                y = base + 18.0,
                s = escape(&short),
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{l}" x2="{r}" y1="{base:.1}" y2="{base:.1}" stroke="#555"/>"##,
            l = frame.left,
            r = frame.left + frame.width,
        );
        let names: Vec<&str> = self.series.iter().map(|(n, _)| n.as_str()).collect();
        legend(&mut out, &names, TOP);
        out.push_str("</svg>");
        out
    }
}

/// The memory timeline of memory records' samples: process RSS (in the records' unit) over
/// seconds since the first sample, one line per session.
pub(crate) fn memory_timeline(records: &[MemoryRecord], title: &str) -> LineChart {
    let start = records
        .iter()
        .flat_map(|r| r.samples.iter())
        .map(|s| s.timestamp.as_unix_seconds_f64())
        .fold(f64::MAX, f64::min);
    let unit = records.first().map_or("MB", |r| r.unit.as_str());
    let lines = records
        .iter()
        .filter(|r| !r.samples.is_empty())
        .map(|r| Line {
            name: session_name(r.label.as_deref(), &r.track_id.to_string()),
            points: r
                .samples
                .iter()
                .filter_map(|s| {
                    let rss = s.memory.process_rss?;
                    Some((s.timestamp.as_unix_seconds_f64() - start, rss))
                })
                .collect(),
        })
        .collect();
    LineChart {
        title: title.to_owned(),
        x_label: "seconds".to_owned(),
        y_label: format!("process RSS ({unit})"),
        lines,
    }
}

/// The CPU timeline of CPU records' samples: the process's CPU % over seconds since the
/// first sample, one line per session.
pub(crate) fn cpu_timeline(records: &[CpuRecord], title: &str) -> LineChart {
    let start = records
        .iter()
        .flat_map(|r| r.samples.iter())
        .map(|s| s.timestamp.as_unix_seconds_f64())
        .fold(f64::MAX, f64::min);
    let lines = records
        .iter()
        .filter(|r| !r.samples.is_empty())
        .map(|r| Line {
            name: session_name(r.label.as_deref(), &r.track_id.to_string()),
            points: r
                .samples
                .iter()
                .filter_map(|s| Some((s.timestamp.as_unix_seconds_f64() - start, s.cpu.process?)))
                .collect(),
        })
        .collect();
    LineChart {
        title: title.to_owned(),
        x_label: "seconds".to_owned(),
        y_label: "process CPU (%)".to_owned(),
        lines,
    }
}

/// A session's name in a legend: its label, or its id when it has none.
fn session_name(label: Option<&str>, id: &str) -> String {
    match label {
        Some(label) if !label.is_empty() => label.to_owned(),
        _ => format!("session {}", id.chars().take(8).collect::<String>()),
    }
}

/// The memory and CPU timelines of one run (what `perftrack run` recorded) as a standalone
/// SVG document: process RSS above, process CPU % below, both over seconds since the run's
/// first sample. What `perftrack run --plot FILE` writes.
pub(crate) fn run_timeline_svg(memory: &[MemoryRecord], cpu: &[CpuRecord], title: &str) -> String {
    let mem = memory_timeline(memory, &format!("{title}: memory"));
    let cpu = cpu_timeline(cpu, &format!("{title}: CPU"));
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h}" viewBox="0 0 {WIDTH} {h}"><rect width="100%" height="100%" fill="white"/>"#,
        h = 2.0 * HEIGHT
    );
    let _ = write!(out, r#"<g>{}</g>"#, nested(&mem.to_svg(), 0.0));
    let _ = write!(out, r#"<g>{}</g>"#, nested(&cpu.to_svg(), HEIGHT));
    out.push_str("</svg>\n");
    out
}

/// An `<svg>` chart placed at vertical offset `y` inside another SVG document.
fn nested(svg: &str, y: f64) -> String {
    svg.replacen(
        "<svg ",
        &format!(r#"<svg x="0" y="{y}" width="{WIDTH}" height="{HEIGHT}" "#),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_timeline_is_a_standalone_svg_with_memory_above_cpu() {
        let golden =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../perftrack/tests/data/golden");
        let memory = perftrack::MemoryUsageTracker::new(perftrack::MemoryConfig::default());
        memory.load_metrics(&golden.join("memory-v1.json")).unwrap();
        let cpu = perftrack::CpuUsageTracker::new(perftrack::CpuConfig::default());
        cpu.load_metrics(&golden.join("cpu-v1.json")).unwrap();
        let svg = run_timeline_svg(&memory.records(), &cpu.records(), "python my_rag.py");
        assert!(svg.starts_with("<?xml"));
        assert!(svg.trim_end().ends_with("</svg>"));
        let memory_at = svg.find("python my_rag.py: memory").unwrap();
        let cpu_at = svg.find("python my_rag.py: CPU").unwrap();
        assert!(memory_at < cpu_at);
        assert!(svg.contains(&format!(r#"<svg x="0" y="{HEIGHT}""#)));
        // One line per session, each with the session's three samples.
        let lines: Vec<&str> = svg.split("<polyline").skip(1).collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            let points = line
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert_eq!(points.split(' ').count(), 3, "{points}");
        }
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (t, lo, hi) = ticks(0.0, 97.0, 5);
        assert_eq!(t, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!((lo, hi), (0.0, 100.0));
        let (t, lo, hi) = ticks(0.013, 0.048, 4);
        assert!((t[1] - t[0] - 0.01).abs() < 1e-12, "{t:?}");
        assert!(lo <= 0.013 && hi >= 0.048);
        // A flat series gets a range around it.
        let (_, lo, hi) = ticks(5.0, 5.0, 4);
        assert!(lo < 5.0 && hi > 5.0);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
        let chart = BarChart {
            title: "p <50>".into(),
            y_label: "ms".into(),
            categories: vec!["<script>".into()],
            series: vec![("p50".into(), vec![1.0])],
        };
        let svg = chart.to_svg();
        assert!(!svg.contains("<script>"));
        assert_eq!(svg.matches("<rect class=\"series\"").count(), 1);
    }

    #[test]
    fn lines_map_their_extremes_to_the_plot_edges() {
        let chart = LineChart {
            title: "t".into(),
            x_label: "s".into(),
            y_label: "MB".into(),
            lines: vec![Line {
                name: "a".into(),
                points: vec![(0.0, 0.0), (10.0, 100.0)],
            }],
        };
        let svg = chart.to_svg();
        let bottom = HEIGHT - BOTTOM;
        let right = WIDTH - RIGHT;
        assert!(
            svg.contains(&format!(
                r#"points="{LEFT:.1},{bottom:.1} {right:.1},{TOP:.1}""#
            )),
            "{svg}"
        );
    }
}
