//! The stages as a table (live on a terminal, and once at the end) and the receiver's counts.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use super::receiver::RequestsJson;
use super::stages::{SpansJson, Stages};

/// The shortest time between two redraws of the live table.
pub(crate) const REFRESH: Duration = Duration::from_secs(1);

/// Every stage received so far: spans, failures and latency percentiles in milliseconds.
pub(crate) fn stages_table(stages: &Stages) -> String {
    let by_label = stages.latency.statistics_by_label();
    if by_label.is_empty() {
        return "(no spans yet)".to_owned();
    }
    let unit = by_label
        .values()
        .next()
        .map_or("ms", |s| s.unit.as_str())
        .to_owned();
    let header = [
        "stage".to_owned(),
        "spans".to_owned(),
        "failed".to_owned(),
        format!("p50 {unit}"),
        format!("p95 {unit}"),
        format!("max {unit}"),
    ];
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows = by_label.iter().map(|(label, s)| {
        vec![
            label.clone(),
            s.count.to_string(),
            s.failed.to_string(),
            format!("{:.3}", s.p50),
            format!("{:.3}", s.p95),
            format!("{:.3}", s.max),
        ]
    });
    // The stage's name on the left, its figures on the right.
    crate::report::text::aligned_table(&header, rows, false, |i, _| i > 0)
}

/// One line with what was received, ignored and refused.
pub(crate) fn counts_line(spans: SpansJson, requests: RequestsJson) -> String {
    let r = requests.rejected;
    let mut line = format!(
        "{} spans in {} requests ({} bad spans, {} model calls); {} metrics/logs requests ignored; {} refused",
        spans.received,
        requests.traces,
        spans.bad,
        spans.generation_requests,
        requests.ignored,
        r.total()
    );
    if r.total() > 0 {
        let parts: Vec<String> = [
            (r.bad_request, "400 bad body"),
            (r.unsupported_media_type, "415 media type"),
            (r.too_large, "413 too large"),
            (r.method_not_allowed, "405 method"),
            (r.not_found, "404 path"),
            (r.overloaded, "503 overloaded"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        line.push_str(&format!(" ({})", parts.join(", ")));
    }
    line
}

/// The live table on a terminal's stderr, redrawn in place; inert elsewhere.
#[derive(Debug)]
pub(crate) struct Live {
    on: bool,
    /// Lines drawn last time, erased before the next drawing.
    lines: usize,
    shown: Option<Instant>,
}

impl Live {
    /// A live table if stderr is a terminal.
    pub(crate) fn new() -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            lines: 0,
            shown: None,
        }
    }

    /// Redraws `text` if it was last drawn at least [`REFRESH`] ago.
    pub(crate) fn show(&mut self, now: Instant, text: impl FnOnce() -> String) {
        if !self.on || self.shown.is_some_and(|t| now.duration_since(t) < REFRESH) {
            return;
        }
        self.shown = Some(now);
        let text = text();
        let mut err = std::io::stderr().lock();
        // Up over the last drawing, erase to the end of the screen, draw; a failed write to
        // stderr is not worth stopping the receiver for.
        if self.lines > 0 {
            let _ = write!(err, "\x1b[{}A\r\x1b[J", self.lines);
        }
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
        self.lines = text.lines().count();
    }

    /// Erases the last drawing.
    pub(crate) fn clear(&mut self) {
        if self.on && self.lines > 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\x1b[{}A\r\x1b[J", self.lines);
            let _ = err.flush();
            self.lines = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::receiver::RejectedJson;
    use super::*;

    #[test]
    fn refusals_are_listed_by_status() {
        let spans = SpansJson {
            received: 10,
            recorded: 9,
            generation_requests: 2,
            bad: 1,
        };
        let requests = RequestsJson {
            traces: 3,
            traces_json: 0,
            ignored: 1,
            rejected: RejectedJson {
                bad_request: 2,
                overloaded: 1,
                ..RejectedJson::default()
            },
        };
        assert_eq!(
            counts_line(spans, requests),
            "10 spans in 3 requests (1 bad spans, 2 model calls); 1 metrics/logs requests \
             ignored; 3 refused (2 400 bad body, 1 503 overloaded)"
        );
    }

    #[test]
    fn the_table_has_a_row_per_stage() {
        let stages = Stages::new(None);
        assert_eq!(stages_table(&stages), "(no spans yet)");
        stages.latency.record("retrieve", Duration::from_millis(12));
        stages.latency.record("rerank", Duration::from_millis(3));
        let table = stages_table(&stages);
        assert!(table.contains("p95 ms"), "{table}");
        let line = |label: &str| table.lines().position(|l| l.contains(label)).unwrap();
        assert!(
            line("rerank") < line("retrieve"),
            "labels in order: {table}"
        );
        assert!(
            table
                .lines()
                .nth(line("retrieve"))
                .unwrap()
                .contains("12.000"),
            "{table}"
        );
    }
}
