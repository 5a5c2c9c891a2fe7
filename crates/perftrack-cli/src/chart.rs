//! SVG charts for the HTML report and `perftrack run --plot`: line charts (timelines),
//! grouped bar charts (percentiles per label) and strip charts (a bench's runs per command),
//! written as plain SVG text.
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

/// How a chart's y values read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scale {
    /// Plain numbers, in the unit the axis title names.
    Plain,
    /// Bytes: the axis is drawn in the binary unit its range calls for (B, KiB, MiB, GiB,
    /// TiB), ticks at round values of it, each tick labelled with the unit.
    Bytes,
}

/// A chart of lines over a shared x axis (time, in seconds from the start).
#[derive(Clone, Debug)]
pub(crate) struct LineChart {
    pub(crate) title: String,
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    pub(crate) y_scale: Scale,
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

/// A distribution per category: a dot for each value (spread sideways so that equal values
/// stay apart; a ring for a failed run's) and a line at the median.
#[derive(Clone, Debug)]
pub(crate) struct StripChart {
    pub(crate) title: String,
    pub(crate) y_label: String,
    pub(crate) categories: Vec<Strip>,
}

/// One category of a [`StripChart`].
#[derive(Clone, Debug)]
pub(crate) struct Strip {
    pub(crate) name: String,
    /// The values in the order they came, each with whether its run failed.
    pub(crate) values: Vec<(f64, bool)>,
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
        // A flat series still gets an axis around its value (from zero up, at zero: no
        // negative CPU or memory).
        if lo == 0.0 {
            (0.0, 1.0)
        } else {
            let pad = lo.abs() * 0.1;
            (lo - pad, hi + pad)
        }
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

/// The binary units a byte axis may be drawn in.
const BINARY_UNITS: [(&str, f64); 5] = [
    ("B", 1.0),
    ("KiB", 1024.0),
    ("MiB", 1_048_576.0),
    ("GiB", 1_073_741_824.0),
    ("TiB", 1_099_511_627_776.0),
];

/// The largest binary unit that `bytes` is at least one of (bytes below 1 B: B).
fn binary_unit(bytes: f64) -> (&'static str, f64) {
    BINARY_UNITS
        .iter()
        .rev()
        .find(|(_, size)| bytes.abs() >= *size)
        .copied()
        .unwrap_or(BINARY_UNITS[0])
}

/// A value with at most four significant digits (and no needless zeros).
pub(crate) fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return "0".to_owned();
    }
    // Trailing zeros of a fraction say nothing.
    let trim = |digits: &str| -> String {
        if digits.contains('.') {
            digits
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        } else {
            digits.to_owned()
        }
    };
    let magnitude = value.abs().log10().floor() as i32;
    if !(-3..4).contains(&magnitude) {
        let text = format!("{value:.3e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        return format!("{}e{exponent}", trim(mantissa));
    }
    let decimals = (3 - magnitude).max(0) as usize;
    let text = trim(&format!("{value:.decimals$}"));
    if text == "-0" { "0".to_owned() } else { text }
}

/// A value of `scale` as text: bytes in the binary unit their size calls for.
fn value_text(value: f64, scale: Scale) -> String {
    match scale {
        Scale::Plain => significant(value),
        Scale::Bytes => {
            let (unit, size) = binary_unit(value);
            format!("{} {unit}", significant(value / size))
        }
    }
}

/// A y axis: where its ticks go (in the frame's coordinates) and their labels, and what the
/// axis title says.
struct YAxis {
    ticks: Vec<(f64, String)>,
    title: String,
    /// `"linear"` or `"log"`, written on the chart as `data-scale`.
    scale: &'static str,
}

impl YAxis {
    /// Round ticks over `[lo, hi]`, labelled as `scale` says; returns the axis and the range it
    /// spans.
    fn linear(lo: f64, hi: f64, scale: Scale, title: &str) -> (Self, f64, f64) {
        let (unit, size) = match scale {
            Scale::Plain => ("", 1.0),
            Scale::Bytes => binary_unit(hi.abs().max(lo.abs())),
        };
        let (values, y0, y1) = ticks(lo / size, hi / size, 5);
        let step = values
            .get(1)
            .zip(values.first())
            .map_or(1.0, |(b, a)| b - a);
        let ticks = values
            .into_iter()
            .map(|v| {
                let label = tick_label(v, step);
                let label = if unit.is_empty() {
                    label
                } else {
                    format!("{label} {unit}")
                };
                (v * size, label)
            })
            .collect();
        let axis = Self {
            ticks,
            title: title.to_owned(),
            scale: "linear",
        };
        (axis, y0 * size, y1 * size)
    }

    /// Decades from the one below `lo` to the one above `hi` (both positive), in log10
    /// coordinates; returns the axis and the range it spans.
    fn log(lo: f64, hi: f64, title: &str) -> (Self, f64, f64) {
        let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        let b = b.max(a + 1);
        let ticks = (a..=b)
            .map(|k| (f64::from(k), significant(10f64.powi(k))))
            .collect();
        let axis = Self {
            ticks,
            title: format!("{title} (log scale)"),
            scale: "log",
        };
        (axis, f64::from(a), f64::from(b))
    }

    /// The left margin the tick labels and the title need: room for the longest label (at
    /// about 7.5 units a character of the 12-unit font) and the rotated title beside it.
    fn left_margin(&self) -> f64 {
        let longest = self
            .ticks
            .iter()
            .map(|(_, label)| label.chars().count())
            .max()
            .unwrap_or(0);
        (34.0 + 7.5 * longest as f64).max(LEFT)
    }

    /// Draws the grid with its tick labels and the axis title.
    fn draw(&self, out: &mut String, frame: &Frame) {
        let _ = write!(out, r#"<g class="y-axis" data-scale="{}">"#, self.scale);
        for (t, label) in &self.ticks {
            let y = frame.y(*t);
            let _ = write!(
                out,
                r##"<line x1="{l}" x2="{r}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text class="tick" x="{tx}" y="{ty:.1}" text-anchor="end">{v}</text>"##,
                l = frame.left,
                r = frame.left + frame.width,
                tx = frame.left - 6.0,
                ty = y + 4.0,
                v = escape(label),
            );
        }
        let cy = frame.top + frame.height / 2.0;
        let _ = write!(
            out,
            r#"<text class="axis-title" transform="translate(16 {cy:.1}) rotate(-90)" text-anchor="middle">{}</text></g>"#,
            escape(&self.title)
        );
    }
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
        // Samples at one instant: an axis from there on, not one around it into the past.
        if xmax <= xmin {
            xmax = xmin + 1.0;
        }
        let (xt, x0, x1) = ticks(xmin, xmax, 8);
        let (axis, y0, y1) = YAxis::linear(ymin, ymax, self.y_scale, &self.y_label);
        let left = axis.left_margin();
        let frame = Frame {
            x0,
            x1,
            y0,
            y1,
            left,
            top,
            width: WIDTH - left - RIGHT,
            height: HEIGHT - top - BOTTOM,
        };
        axis.draw(&mut out, &frame);
        let xstep = xt.get(1).zip(xt.first()).map_or(1.0, |(b, a)| b - a);
        let base = frame.top + frame.height;
        out.push_str(r#"<g class="x-axis">"#);
        for &t in &xt {
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{base}" y2="{b2}" stroke="#555"/><text class="tick" x="{x:.1}" y="{ty}" text-anchor="middle">{v}</text>"##,
                x = frame.x(t),
                b2 = base + 5.0,
                // Low enough that its box stays clear of the lowest y tick label's.
                ty = base + 20.0,
                v = tick_label(t, xstep),
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{l}" x2="{r}" y1="{base}" y2="{base}" stroke="#555"/><text class="axis-title" x="{cx:.1}" y="{ty}" text-anchor="middle">{label}</text></g>"##,
            l = frame.left,
            r = frame.left + frame.width,
            cx = frame.left + frame.width / 2.0,
            ty = HEIGHT - 8.0,
            label = escape(&self.x_label),
        );
        for (i, line) in self.lines.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            if line.points.len() == 1 {
                // One sample: its value written beside its dot.
                let (x, y) = line.points[0];
                let (cx, cy) = (frame.x(x), frame.y(y));
                let _ = write!(
                    out,
                    r#"<circle class="series" cx="{cx:.1}" cy="{cy:.1}" r="4" fill="{colour}"><title>{name}</title></circle><text class="value-label" x="{tx:.1}" y="{ty:.1}" fill="{colour}">{v}</text>"#,
                    name = escape(&line.name),
                    tx = cx + 8.0,
                    ty = cy - 8.0,
                    v = escape(&value_text(y, self.y_scale)),
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
        let values = || self.series.iter().flat_map(|(_, v)| v.iter().copied());
        let ymax = values().fold(0.0f64, f64::max);
        let ymin = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
        // Values over two decades apart share a logarithmic axis, or the small ones would be
        // bars of no height.
        let log = ymax > 0.0 && ymax / ymin > 100.0;
        let (axis, y0, y1) = if log {
            YAxis::log(ymin, ymax, &self.y_label)
        } else {
            YAxis::linear(0.0, ymax, Scale::Plain, &self.y_label)
        };
        let to_axis = |v: f64| {
            if log {
                v.max(10f64.powf(y0)).log10()
            } else {
                v
            }
        };
        let left = axis.left_margin();
        let frame = Frame {
            x0: 0.0,
            x1: 1.0,
            y0,
            y1,
            left,
            top: TOP,
            width: WIDTH - left - RIGHT,
            height: HEIGHT - TOP - BOTTOM,
        };
        axis.draw(&mut out, &frame);
        let n = self.categories.len().max(1) as f64;
        let group = frame.width / n;
        let bar = group * 0.8 / self.series.len().max(1) as f64;
        let base = frame.y(y0);
        for (c, category) in self.categories.iter().enumerate() {
            let gx = frame.left + group * c as f64 + group * 0.1;
            for (s, (name, values)) in self.series.iter().enumerate() {
                let value = values.get(c).copied().unwrap_or(0.0);
                let top = if value > 0.0 {
                    frame.y(to_axis(value))
                } else {
                    base
                };
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

impl StripChart {
    /// The chart as an `<svg>` element.
    pub(crate) fn to_svg(&self) -> String {
        let mut out = String::new();
        open(&mut out, "strip-chart", &self.title, TOP);
        let values = || {
            self.categories
                .iter()
                .flat_map(|c| c.values.iter().map(|(v, _)| *v))
        };
        let lo = values().fold(f64::INFINITY, f64::min);
        let hi = values().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
        let (axis, y0, y1) = YAxis::linear(lo, hi, Scale::Plain, &self.y_label);
        let left = axis.left_margin();
        // No legend: the categories are named under their dots.
        let frame = Frame {
            x0: 0.0,
            x1: 1.0,
            y0,
            y1,
            left,
            top: TOP,
            width: WIDTH - left - 24.0,
            height: HEIGHT - TOP - BOTTOM,
        };
        axis.draw(&mut out, &frame);
        let n = self.categories.len().max(1) as f64;
        let group = frame.width / n;
        let base = frame.top + frame.height;
        for (c, strip) in self.categories.iter().enumerate() {
            let (category, values) = (&strip.name, &strip.values);
            let colour = COLOURS[c % COLOURS.len()];
            let centre = frame.left + group * (c as f64 + 0.5);
            // Dots spread over half the group's width in the order the values came.
            let spread = group * 0.5;
            let count = values.len().max(2) as f64 - 1.0;
            for (i, &(v, failed)) in values.iter().enumerate() {
                let x = centre - spread / 2.0 + spread * i as f64 / count;
                let (class, paint, note) = if failed {
                    (
                        "series failed",
                        format!(r#"fill="none" stroke="{colour}""#),
                        " (failed)",
                    )
                } else {
                    (
                        "series",
                        format!(r#"fill="{colour}" fill-opacity="0.7""#),
                        "",
                    )
                };
                let _ = write!(
                    out,
                    r#"<circle class="{class}" cx="{x:.1}" cy="{y:.1}" r="3.5" {paint}><title>{label} run {run}{note}: {v}</title></circle>"#,
                    y = frame.y(v),
                    label = escape(category),
                    run = i + 1,
                    v = significant(v),
                );
            }
            let mut sorted: Vec<f64> = values.iter().map(|(v, _)| *v).collect();
            sorted.sort_by(f64::total_cmp);
            if !sorted.is_empty() {
                let mid = sorted.len() / 2;
                let median = if sorted.len() % 2 == 0 {
                    (sorted[mid - 1] + sorted[mid]) / 2.0
                } else {
                    sorted[mid]
                };
                let _ = write!(
                    out,
                    r#"<line class="median" x1="{a:.1}" x2="{b:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2.5"><title>{label} median: {m}</title></line>"#,
                    a = centre - spread * 0.65,
                    b = centre + spread * 0.65,
                    y = frame.y(median),
                    label = escape(category),
                    m = significant(median),
                );
            }
            // About 7 units a character: the name fits its group, else it is shortened.
            let room = ((group / 7.0) as usize).max(4);
            let short: String = if category.chars().count() > room {
                category.chars().take(room - 1).chain(['…']).collect()
            } else {
                category.clone()
            };
            let _ = write!(
                out,
                r#"<text class="category" x="{centre:.1}" y="{y}" text-anchor="middle"><title>{full}</title>{s}</text>"#,
                y = base + 20.0,
                full = escape(category),
                s = escape(&short),
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{l}" x2="{r}" y1="{base:.1}" y2="{base:.1}" stroke="#555"/>"##,
            l = frame.left,
            r = frame.left + frame.width,
        );
        out.push_str("</svg>");
        out
    }
}

/// The memory timeline of memory records' samples: process RSS (in bytes, drawn in the binary
/// unit its range calls for) over seconds since the first sample, one line per session.
pub(crate) fn memory_timeline(records: &[MemoryRecord], title: &str) -> LineChart {
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
                .filter_map(|s| {
                    let rss = s.memory.process_rss? * r.unit.bytes();
                    Some((s.timestamp.as_unix_seconds_f64() - start, rss))
                })
                .collect(),
        })
        .collect();
    LineChart {
        title: title.to_owned(),
        x_label: "seconds".to_owned(),
        y_label: "process RSS".to_owned(),
        y_scale: Scale::Bytes,
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
        y_scale: Scale::Plain,
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
            y_scale: Scale::Plain,
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

    /// The text of every element of `class` in `svg`.
    fn texts<'a>(svg: &'a str, class: &str) -> Vec<&'a str> {
        svg.split(&format!(r#"class="{class}""#))
            .skip(1)
            .map(|rest| {
                let inner = &rest[rest.find('>').unwrap() + 1..];
                &inner[..inner.find('<').unwrap()]
            })
            .collect()
    }

    #[test]
    fn values_keep_at_most_four_significant_digits() {
        for (value, text) in [
            (0.0, "0"),
            (409.6, "409.6"),
            (1234.6, "1235"),
            (12.345_678, "12.35"),
            (0.003_456_7, "0.003457"),
            (2.0, "2"),
            (123_456.0, "1.235e5"),
            (10_000.0, "1e4"),
            (15_000.0, "1.5e4"),
            (0.000_12, "1.2e-4"),
        ] {
            assert_eq!(significant(value), text, "{value}");
        }
        assert_eq!(value_text(409.0 * 1_048_576.0, Scale::Bytes), "409 MiB");
        assert_eq!(value_text(1536.0, Scale::Bytes), "1.5 KiB");
        assert_eq!(value_text(3.0 * 1_073_741_824.0, Scale::Bytes), "3 GiB");
    }

    #[test]
    fn a_byte_axis_ticks_round_values_of_one_binary_unit() {
        let mib = 1_048_576.0;
        let chart = LineChart {
            title: "m".into(),
            x_label: "seconds".into(),
            y_label: "process RSS".into(),
            y_scale: Scale::Bytes,
            lines: vec![Line {
                name: "a".into(),
                points: vec![(0.0, 20.0 * mib), (1.0, 409.0 * mib), (2.0, 200.0 * mib)],
            }],
        };
        let svg = chart.to_svg();
        let ticks = texts(&svg, "tick");
        let y: Vec<&str> = ticks
            .iter()
            .copied()
            .filter(|t| t.ends_with("MiB"))
            .collect();
        assert_eq!(
            y,
            [
                "0 MiB", "100 MiB", "200 MiB", "300 MiB", "400 MiB", "500 MiB"
            ]
        );
        assert_eq!(texts(&svg, "axis-title"), ["process RSS", "seconds"]);
    }

    #[test]
    fn a_single_sample_is_a_labelled_value_on_an_axis_that_starts_at_it() {
        let chart = LineChart {
            title: "m".into(),
            x_label: "seconds".into(),
            y_label: "process RSS".into(),
            y_scale: Scale::Bytes,
            lines: vec![Line {
                name: "a".into(),
                points: vec![(0.0, 52_428_800.0)],
            }],
        };
        let svg = chart.to_svg();
        assert_eq!(texts(&svg, "value-label"), ["50 MiB"]);
        let x_ticks: Vec<f64> = texts(&svg, "tick")
            .iter()
            .filter(|t| !t.ends_with("iB"))
            .map(|t| t.parse().unwrap())
            .collect();
        assert!(x_ticks.iter().all(|t| *t >= 0.0), "{x_ticks:?}");
    }

    #[test]
    fn bars_over_two_decades_apart_share_a_log_axis() {
        let chart = |values: Vec<f64>| BarChart {
            title: "latency".into(),
            y_label: "ms".into(),
            categories: vec!["embed".into(), "generate".into()],
            series: vec![("p50".into(), values)],
        };
        let log = chart(vec![0.03, 58.0]).to_svg();
        assert!(log.contains(r#"data-scale="log""#), "{log}");
        assert_eq!(texts(&log, "tick"), ["0.01", "0.1", "1", "10", "100"]);
        assert_eq!(texts(&log, "axis-title"), ["ms (log scale)"]);
        // Both bars have a height on it.
        let heights: Vec<f64> = log
            .split(r#"height=""#)
            .skip(1)
            .map(|h| h[..h.find('"').unwrap()].parse().unwrap())
            .collect();
        assert!(heights.iter().all(|h| *h > 10.0), "{heights:?}");
        let linear = chart(vec![1.0, 58.0]).to_svg();
        assert!(linear.contains(r#"data-scale="linear""#));
    }
}
