//! The report, as lines of text: the latency of each stage as a table, the streamed answers'
//! figures, rates, memory peaks, CPU use and a sample answer.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use perftrack::{CpuRecord, GenerationStatistics, MemoryRecord, Statistics, ThroughputRecord};

use crate::answer::Answer;

/// How many of the busiest threads the report lists.
const BUSIEST_THREADS: usize = 5;
/// CPU figures over a shorter phase are coarse, and the report says so.
const STEADY_CPU_SECONDS: f64 = 1.0;

/// `n` and the noun: `1 file`, `2 files`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The latency table: one row per stage that has measurements, in the order of `stages`,
/// with the count and the p50, p95, p99 and max in the tracker's unit (3 decimals).
pub(crate) fn latency_table(stats: &BTreeMap<String, Statistics>, stages: &[&str]) -> String {
    let unit = stages
        .iter()
        .find_map(|&stage| stats.get(stage))
        .map_or("ms", |s| s.unit.as_str());
    let rows = stages
        .iter()
        .filter_map(|&stage| Some((stage, stats.get(stage)?)));
    let mut table = format!("latency per stage, in {unit}:\n");
    table.push_str(&statistics_table("stage", rows));
    table
}

/// The streamed answers: a table of the time to first sentence, the time per word after it,
/// the gaps between sentences and the whole answer, in the generation tracker's unit, and a
/// line of word counts. It says that no LLM is involved, and what a chunk and a token are.
pub(crate) fn generation_lines(stats: &GenerationStatistics) -> String {
    let figures = [
        ("ttft", &stats.ttft),
        ("tpot", &stats.tpot),
        ("itl", &stats.itl),
        ("e2e", &stats.e2e),
    ];
    let unit = figures
        .iter()
        .find_map(|(_, s)| s.as_ref())
        .map_or("us", |s| s.unit.as_str());
    let mut out = format!(
        "answers streamed sentence by sentence, in {unit} (no LLM is involved: each chunk is \
         an extracted sentence, its words counted as tokens):\n"
    );
    let rows = figures
        .iter()
        .filter_map(|(name, s)| Some((*name, s.as_ref()?)));
    out.push_str(&statistics_table("figure", rows));
    let mean = |s: &Option<Statistics>| s.as_ref().map_or(0.0, |s| s.mean);
    let _ = write!(
        out,
        "words: {:.1} per answer on average, from prompts of {:.1}",
        mean(&stats.output_tokens),
        mean(&stats.input_tokens)
    );
    if let Some(rate) = &stats.output_tokens_per_second {
        let _ = write!(out, "; {:.0} words/s per answer (p50)", rate.p50);
    }
    out.push('\n');
    out
}

/// A table of statistics, one row per named entry: the name (under `first`), the count and
/// the p50, p95, p99 and max (3 decimals).
fn statistics_table<'a>(
    first: &str,
    rows: impl Iterator<Item = (&'a str, &'a Statistics)>,
) -> String {
    let header = [first, "count", "p50", "p95", "p99", "max"];
    let rows: Vec<[String; 6]> = rows
        .map(|(name, s)| {
            [
                name.to_owned(),
                s.count.to_string(),
                format!("{:.3}", s.p50),
                format!("{:.3}", s.p95),
                format!("{:.3}", s.p99),
                format!("{:.3}", s.max),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut table = String::new();
    let lines = std::iter::once(header.map(str::to_owned)).chain(rows);
    for row in lines {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            // The name is aligned left, the numbers right.
            let _ = match i {
                0 => write!(line, "{cell:<width$}"),
                _ => write!(line, "  {cell:>width$}"),
            };
        }
        table.push_str(line.trim_end());
        table.push('\n');
    }
    table
}

/// A rate line: `{what}: {count} {items} in {s} s, {rate} {items}/s`.
pub(crate) fn rate_line(what: &str, items: &str, record: &ThroughputRecord) -> String {
    let rate = record.per_second().map_or_else(
        || "too fast to measure".to_owned(),
        |r| format!("{r:.1} {items}/s"),
    );
    format!(
        "{what}: {} {items} in {:.3} s, {rate}",
        record.count, record.duration
    )
}

/// The peak resident set of a memory session, in the record's unit.
pub(crate) fn peak_rss(record: &MemoryRecord) -> Option<f64> {
    record
        .peak
        .and_then(|peak| peak.process_rss)
        .or(record.value.process_rss)
}

/// The memory line: the peak resident set of indexing and of answering; with `gpu`, the
/// peak GPU memory of the process too (or why it could not be read).
pub(crate) fn memory_line(indexing: &MemoryRecord, answering: &MemoryRecord, gpu: bool) -> String {
    let peak = |record: &MemoryRecord| {
        peak_rss(record).map_or_else(
            || "unavailable".to_owned(),
            |rss| format!("{rss:.1} {}", record.unit.as_str()),
        )
    };
    let mut line = format!(
        "peak RSS: {} while indexing, {} while answering",
        peak(indexing),
        peak(answering)
    );
    if gpu {
        let gpu_peak = |record: &MemoryRecord| record.peak.and_then(|p| p.gpu_process_used);
        let unit = answering.unit.as_str();
        match (
            &answering.gpu_status,
            gpu_peak(indexing),
            gpu_peak(answering),
        ) {
            (Some(why), _, _) => {
                let _ = write!(line, "\nGPU memory: unavailable ({why})");
            }
            (None, Some(at_indexing), Some(at_answering)) => {
                let _ = write!(
                    line,
                    "\npeak GPU memory of the process: {at_indexing:.1} {unit} while \
                     indexing, {at_answering:.1} {unit} while answering"
                );
            }
            _ => line.push_str("\nGPU memory of the process: unavailable"),
        }
    }
    line
}

/// The CPU lines: the process's mean use, the system's, each core's, and the busiest threads.
pub(crate) fn cpu_lines(record: &CpuRecord) -> Vec<String> {
    let reason = |figure: &str| {
        record.reasons.get(figure).map_or_else(
            || "unavailable".to_owned(),
            |why| format!("unavailable ({why})"),
        )
    };
    let mut first = match record.value.process {
        Some(process) => format!("CPU while answering: process {process:.1} % of one core"),
        None => format!("CPU while answering: process {}", reason("process")),
    };
    if let Some(normalized) = record.process_normalized {
        let _ = write!(first, " ({normalized:.1} % of the cores it may use)");
    }
    match record.value.system {
        Some(system) => {
            let _ = write!(first, ", system {system:.1} %");
        }
        None => {
            let _ = write!(first, ", system {}", reason("system"));
        }
    }
    let cores = if record.value.cores.is_empty() {
        format!("  per core: {}", reason("cores"))
    } else {
        let cores: Vec<String> = record
            .value
            .cores
            .0
            .iter()
            .map(|(core, value)| format!("core {core} {value:.1} %"))
            .collect();
        format!("  per core: {}", cores.join(", "))
    };
    let threads = match &record.threads {
        Some(threads) if !threads.is_empty() => {
            let threads: Vec<String> = threads
                .iter()
                .take(BUSIEST_THREADS)
                .map(|t| format!("{} {:.3} s", t.name, t.cpu_s))
                .collect();
            format!("  busiest threads (CPU time): {}", threads.join(", "))
        }
        _ => format!("  busiest threads: {}", reason("threads")),
    };
    let mut lines = vec![first, cores, threads];
    if let Some(duration) = record.duration.filter(|&d| d < STEADY_CPU_SECONDS) {
        lines.push(format!(
            "  note: the query phase lasted {duration:.3} s and the kernel counts CPU time in \
             10 ms ticks, so these figures are coarse; more questions (--questions 3000) give \
             steadier ones"
        ));
    }
    lines
}

/// The sample answer's lines.
pub(crate) fn answer_lines(
    number: usize,
    questions: usize,
    question: &str,
    answer: &Answer,
) -> Vec<String> {
    let text = if answer.sentences.is_empty() {
        "(no sentence of the best passages matches the question)".to_owned()
    } else {
        answer.text()
    };
    let sources: Vec<&str> = answer.sources.iter().map(|s| &**s).collect();
    vec![
        format!("sample answer (question {number} of {questions}):"),
        format!("  Q: {question}"),
        format!("  A: {text}"),
        format!("  sources: {}", sources.join(", ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use perftrack::{
        GenerationConfig, GenerationTracker, LatencyConfig, LatencyTracker, ManualClock, TimeUnit,
    };
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn the_generation_lines_give_each_figure_and_say_no_llm_is_involved() {
        let clock = Arc::new(ManualClock::new());
        let config = GenerationConfig {
            time_unit: TimeUnit::Microseconds,
            ..GenerationConfig::default()
        };
        let tracker = GenerationTracker::with_clock(config, clock.clone());
        let mut request = tracker.track("answer");
        request.input_tokens(300);
        clock.advance(Duration::from_micros(40));
        request.tokens(12);
        clock.advance(Duration::from_micros(2));
        request.tokens(10);
        request.stop();
        let lines = generation_lines(&tracker.statistics(Some("answer")).unwrap());
        // tpot: 2 µs over the 21 words after the first; 22 words in 42 µs.
        assert_eq!(
            lines,
            "answers streamed sentence by sentence, in us (no LLM is involved: each chunk is an \
             extracted sentence, its words counted as tokens):\n\
             figure  count     p50     p95     p99     max\n\
             ttft        1  40.000  40.000  40.000  40.000\n\
             tpot        1   0.095   0.095   0.095   0.095\n\
             itl         1   2.000   2.000   2.000   2.000\n\
             e2e         1  42.000  42.000  42.000  42.000\n\
             words: 22.0 per answer on average, from prompts of 300.0; 523810 words/s per \
             answer (p50)\n"
        );
    }

    #[test]
    fn the_table_lists_stages_in_order_aligned() {
        let tracker = LatencyTracker::new(LatencyConfig::default());
        tracker.record("retrieve", Duration::from_micros(1_500));
        tracker.record("load", Duration::from_millis(1_234));
        tracker.record("retrieve", Duration::from_micros(500));
        let table = latency_table(
            &tracker.statistics_by_label(),
            &["load", "chunk", "retrieve"],
        );
        assert_eq!(
            table,
            "latency per stage, in ms:\n\
             stage     count       p50       p95       p99       max\n\
             load          1  1234.000  1234.000  1234.000  1234.000\n\
             retrieve      2     1.000     1.450     1.490     1.500\n"
        );
    }
}
