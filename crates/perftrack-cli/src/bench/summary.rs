//! What a bench shows: each command's figures (mean ± standard deviation, min, median, max),
//! and each command after the first against the first (relative difference of the means with
//! its bootstrap interval, and the verdict). `bench` prints it; `report` reads it from a
//! bench file. Every rendering reads this model and nothing else.

use serde::Serialize;

use super::bootstrap;
use super::file::{BenchFile, FIGURES, Figure};
use crate::report::number;
use crate::series::Direction;
use crate::verdict::{self, GateArgs, Judged, Verdict};

/// The figures judged when `--figure` is not given.
pub(crate) const DEFAULT_JUDGED: [Figure; 3] = [Figure::Wall, Figure::Cpu, Figure::Rss];

/// Everything a bench shows.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub(crate) commands: Vec<CommandSummary>,
    /// Each command after the first against the first, figure by figure.
    pub(crate) comparisons: Vec<Versus>,
    pub(crate) threshold: f64,
    pub(crate) alpha: f64,
    pub(crate) seed: u64,
    pub(crate) regressions: usize,
    pub(crate) inconclusive: usize,
    /// How the p-values were corrected, when several tests ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

/// One command's figures.
#[derive(Debug, Serialize)]
pub(crate) struct CommandSummary {
    pub(crate) command: String,
    pub(crate) runs: usize,
    pub(crate) failed: usize,
    pub(crate) figures: Vec<FigureStats>,
}

/// One figure of one command, in its display unit.
#[derive(Debug, Serialize)]
pub(crate) struct FigureStats {
    pub(crate) figure: &'static str,
    pub(crate) unit: &'static str,
    /// Runs that have the figure (a run shorter than the sampling interval has no tree RSS).
    pub(crate) count: u64,
    pub(crate) mean: f64,
    /// Population standard deviation.
    pub(crate) stddev: f64,
    pub(crate) min: f64,
    pub(crate) median: f64,
    pub(crate) max: f64,
    /// Every run's value, in the order they ran, with whether the run failed.
    #[serde(skip)]
    pub(crate) values: Vec<(f64, bool)>,
}

/// One command against the first, on one figure.
#[derive(Debug, Serialize)]
pub(crate) struct Versus {
    /// The command's index (1 is the second command).
    pub(crate) command: usize,
    pub(crate) figure: &'static str,
    /// `mean / first's mean - 1`.
    pub(crate) change: Option<f64>,
    /// The 95 % bootstrap interval of `change`.
    pub(crate) ci_low: Option<f64>,
    pub(crate) ci_high: Option<f64>,
    #[serde(flatten)]
    pub(crate) judged: JudgedJson,
}

/// A judgement as the JSON output writes it.
#[derive(Debug, Serialize)]
pub(crate) struct JudgedJson {
    pub(crate) method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) p_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) adjusted_p_value: Option<f64>,
    pub(crate) real: bool,
    pub(crate) verdict: Verdict,
}

impl From<Judged> for JudgedJson {
    fn from(j: Judged) -> Self {
        Self {
            method: j.method.as_str(),
            p_value: j.p_value,
            adjusted_p_value: j.adjusted_p_value,
            real: j.real,
            verdict: j.verdict,
        }
    }
}

impl Summary {
    /// Summarises a bench file, judging `judged` figures of every command against the first.
    pub(crate) fn of(file: &BenchFile, judged: &[Figure], gate: &GateArgs) -> Summary {
        let commands: Vec<CommandSummary> = file
            .commands
            .iter()
            .map(|c| CommandSummary {
                command: c.command.clone(),
                runs: c.runs.len(),
                failed: c.failed(),
                figures: FIGURES
                    .iter()
                    .filter_map(|&f| {
                        let stats = c.series(f, file.start_time)?.statistics()?;
                        Some(FigureStats {
                            figure: f.name(),
                            unit: f.display().1,
                            count: stats.count,
                            mean: stats.mean,
                            stddev: stats.stddev,
                            min: stats.min,
                            median: stats.median,
                            max: stats.max,
                            values: c.values_marked(f),
                        })
                    })
                    .collect(),
            })
            .collect();
        // Every (command, figure) pair to judge, with both sides' values.
        let mut pairs = Vec::new();
        if let Some((first, rest)) = file.commands.split_first() {
            for (i, other) in rest.iter().enumerate() {
                for &figure in FIGURES.iter().filter(|f| judged.contains(f)) {
                    let (a, b) = (first.values(figure), other.values(figure));
                    if !a.is_empty() && !b.is_empty() {
                        pairs.push((i + 1, figure, a, b));
                    }
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let cases: Vec<verdict::Case<'_>> = pairs
            .iter()
            .map(|(_, figure, a, b)| verdict::Case {
                base: mean(a),
                new: mean(b),
                values: Some((a, b)),
                sketch_error: 0.0,
                direction: Direction::HigherIsWorse,
                noise_floor: figure.noise_floor(),
            })
            .collect();
        let judgements = verdict::judge_all(&cases, gate);
        let note = verdict::correction_note(&judgements, gate);
        let comparisons: Vec<Versus> = pairs
            .iter()
            .zip(judgements)
            .map(|((command, figure, a, b), j)| {
                // Each comparison its own stream: its interval does not depend on the others.
                let stream = (*command as u64) * FIGURES.len() as u64 + *figure as u64;
                let ci = bootstrap::relative_difference_ci(a, b, file.seed, stream);
                Versus {
                    command: *command,
                    figure: figure.name(),
                    change: j.change,
                    ci_low: ci.map(|c| c.0),
                    ci_high: ci.map(|c| c.1),
                    judged: j.into(),
                }
            })
            .collect();
        let count = |v: Verdict| comparisons.iter().filter(|c| c.judged.verdict == v).count();
        Summary {
            regressions: count(Verdict::Regression),
            inconclusive: count(Verdict::Inconclusive),
            commands,
            comparisons,
            threshold: gate.threshold,
            alpha: gate.alpha,
            seed: file.seed,
            note,
        }
    }

    /// The verdicts, for the exit code.
    pub(crate) fn verdicts(&self) -> impl Iterator<Item = Verdict> + '_ {
        self.comparisons.iter().map(|c| c.judged.verdict)
    }
}

/// A command's name in headings: `#2 sleep 0.3`.
fn heading(index: usize, command: &str) -> String {
    format!("#{} {command}", index + 1)
}

/// A percentage with its sign: `+4.2%`.
fn percent(value: f64) -> String {
    format!("{:+.1}%", value * 100.0)
}

/// The header of a command's table.
pub(crate) const COMMAND_HEADER: [&str; 6] =
    ["figure", "mean ± sd", "min", "median", "max", "runs"];

/// The header of the comparisons' table.
pub(crate) const VERSUS_HEADER: [&str; 6] = [
    "command", "figure", "change", "95% CI", "p-value", "verdict",
];

/// A command's heading: `#2 sleep 0.3 (10 runs, 2 failed)`.
pub(crate) fn title(index: usize, c: &CommandSummary) -> String {
    let failed = if c.failed > 0 {
        format!(", {} failed", c.failed)
    } else {
        String::new()
    };
    let runs = if c.runs == 1 { "run" } else { "runs" };
    format!("{} ({} {runs}{failed})", heading(index, &c.command), c.runs)
}

/// A command's table rows.
pub(crate) fn command_rows(c: &CommandSummary) -> Vec<Vec<String>> {
    c.figures
        .iter()
        .map(|f| {
            let value = |v: f64| format!("{} {}", number(v), f.unit);
            vec![
                f.figure.to_owned(),
                format!("{} ± {}", value(f.mean), value(f.stddev)),
                value(f.min),
                value(f.median),
                value(f.max),
                f.count.to_string(),
            ]
        })
        .collect()
}

/// The comparisons' table rows.
pub(crate) fn versus_rows(summary: &Summary, markdown: bool) -> Vec<Vec<String>> {
    summary
        .comparisons
        .iter()
        .map(|v| {
            vec![
                format!("#{} vs #1", v.command + 1),
                v.figure.to_owned(),
                v.change.map_or_else(|| "-".to_owned(), percent),
                match (v.ci_low, v.ci_high) {
                    (Some(low), Some(high)) => format!("[{}, {}]", percent(low), percent(high)),
                    _ => "-".to_owned(),
                },
                v.judged
                    .adjusted_p_value
                    .map_or_else(|| format!("({})", v.judged.method), verdict::p_value),
                v.judged.verdict.shown(markdown).to_owned(),
            ]
        })
        .collect()
}

/// The lines under the comparisons: the count of regressions, the correction, the seed.
pub(crate) fn footer(summary: &Summary) -> Vec<String> {
    let mut lines = vec![
        verdict::summary_line(
            summary.regressions,
            summary.inconclusive,
            summary.threshold,
            summary.alpha,
        )
        .trim_end()
        .to_owned(),
    ];
    lines.extend(summary.note.clone());
    lines.push(format!(
        "95% CI: bootstrap of the means, {} resamples, seed {} (--seed {} repeats it)",
        bootstrap::RESAMPLES,
        summary.seed,
        summary.seed
    ));
    lines
}

/// A table under `header`, the columns of `right` aligned right.
fn table(
    header: &[&str],
    rows: Vec<Vec<String>>,
    right: std::ops::Range<usize>,
    markdown: bool,
) -> String {
    crate::report::text::aligned_table(header, rows, markdown, |i, _| right.contains(&i))
}

/// The summary as text tables, or Markdown.
pub(crate) fn render(summary: &Summary, markdown: bool) -> String {
    let mut out = String::new();
    for (i, c) in summary.commands.iter().enumerate() {
        let title = title(i, c);
        if markdown {
            out.push_str(&format!("**{}**\n\n", title.replace('`', "\\`")));
        } else {
            out.push_str(&title);
            out.push('\n');
        }
        out.push_str(&table(&COMMAND_HEADER, command_rows(c), 1..6, markdown));
        out.push_str("\n\n");
    }
    if summary.comparisons.is_empty() {
        return out;
    }
    out.push_str(&table(
        &VERSUS_HEADER,
        versus_rows(summary, markdown),
        2..5,
        markdown,
    ));
    out.push('\n');
    for line in footer(summary) {
        if markdown {
            out.push('\n');
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}
