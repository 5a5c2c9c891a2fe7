//! The bench file: every run of every command of a `perftrack bench`, as one JSON file
//! (specified in `docs/FORMAT.md`, section "Bench file"), and the figures read from it.

use std::path::Path;

use anyhow::{Context, bail};
use perftrack::{Distribution, Status, Timestamp};
use serde::{Deserialize, Serialize};

use crate::output::Output;
use crate::run::RunExit as ExitJson;
use crate::series::{self, Direction, Series};

/// The bench file's `format`.
pub(crate) const FORMAT_NAME: &str = "perftrack-bench";

/// The bench file's `version`.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// A bench file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BenchFile {
    /// Always [`FORMAT_NAME`].
    pub(crate) format: String,
    /// Always [`FORMAT_VERSION`].
    pub(crate) version: u32,
    /// When the first run started.
    pub(crate) start_time: Timestamp,
    /// Whether the commands ran through `sh -c`.
    pub(crate) shell: bool,
    /// Unmeasured runs of each command before the measured ones.
    pub(crate) warmup: u32,
    /// The command run before each run, unmeasured.
    pub(crate) prepare: Option<String>,
    /// Seconds between samples of the process tree.
    pub(crate) interval_seconds: f64,
    /// Whether the samples covered the commands' descendants.
    pub(crate) include_children: bool,
    /// Whether GPU memory was read.
    pub(crate) gpu: bool,
    /// Whether failing runs were kept rather than stopping the bench.
    pub(crate) ignore_failure: bool,
    /// The seed of the bootstrap confidence intervals.
    pub(crate) seed: u64,
    /// The commands, in the order given; the first is the one the others are judged against.
    pub(crate) commands: Vec<CommandRuns>,
}

/// One command and its runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandRuns {
    /// The command as given.
    pub(crate) command: String,
    /// The words it ran as (`sh`, `-c`, the command, with `--shell`).
    pub(crate) argv: Vec<String>,
    /// Its measured runs in the order they ran.
    pub(crate) runs: Vec<RunFigures>,
}

/// What one run measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunFigures {
    /// Seconds from the start to the end (monotonic clock).
    pub(crate) wall_seconds: f64,
    /// User CPU seconds of the command and the descendants it waited for.
    pub(crate) user_seconds: f64,
    /// System CPU seconds of the same processes.
    pub(crate) system_seconds: f64,
    /// The largest resident set of any single process, in bytes (the kernel's figure).
    pub(crate) peak_rss_bytes: u64,
    /// The largest summed resident set of the process tree at one reading; `null` when no
    /// reading saw the command running (a run shorter than the interval).
    pub(crate) tree_rss_bytes: Option<u64>,
    /// The largest GPU memory of the process tree at one reading; `null` without `--gpu`
    /// or when it could not be read.
    pub(crate) gpu_memory_bytes: Option<u64>,
    /// How the run ended.
    pub(crate) exit: ExitJson,
}

impl RunFigures {
    /// Whether the run failed: any end other than exit code 0.
    pub(crate) fn failed(&self) -> bool {
        self.exit.code != Some(0)
    }

    /// The run's exit code as a shell reports it (128 + the signal that killed it).
    pub(crate) fn exit_code(&self) -> i32 {
        match (self.exit.code, self.exit.signal) {
            (Some(code), _) => code,
            (None, Some(signal)) => 128 + signal,
            (None, None) => -1,
        }
    }
}

/// A figure each run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Figure {
    /// Wall time.
    Wall,
    /// User + system CPU time.
    Cpu,
    /// User CPU time.
    User,
    /// System CPU time.
    System,
    /// Peak RSS of the largest process.
    Rss,
    /// Peak RSS of the process tree (sampled).
    TreeRss,
    /// Peak GPU memory (sampled; `--gpu`).
    Gpu,
}

/// Every figure, in the order they are shown.
pub(crate) const FIGURES: [Figure; 7] = [
    Figure::Wall,
    Figure::Cpu,
    Figure::User,
    Figure::System,
    Figure::Rss,
    Figure::TreeRss,
    Figure::Gpu,
];

/// One mebibyte.
const MIB: f64 = 1_048_576.0;

impl Figure {
    /// Its name in output and in `--figure`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Figure::Wall => "wall",
            Figure::Cpu => "cpu",
            Figure::User => "user",
            Figure::System => "system",
            Figure::Rss => "rss",
            Figure::TreeRss => "tree-rss",
            Figure::Gpu => "gpu",
        }
    }

    /// The run's value in the figure's base unit (seconds or bytes).
    pub(crate) fn of(self, run: &RunFigures) -> Option<f64> {
        match self {
            Figure::Wall => Some(run.wall_seconds),
            Figure::Cpu => Some(run.user_seconds + run.system_seconds),
            Figure::User => Some(run.user_seconds),
            Figure::System => Some(run.system_seconds),
            Figure::Rss => Some(run.peak_rss_bytes as f64),
            Figure::TreeRss => run.tree_rss_bytes.map(|b| b as f64),
            Figure::Gpu => run.gpu_memory_bytes.map(|b| b as f64),
        }
    }

    /// Whether it is a memory figure (bytes) rather than a time (seconds).
    fn is_memory(self) -> bool {
        matches!(self, Figure::Rss | Figure::TreeRss | Figure::Gpu)
    }

    /// What base-unit values are multiplied by for display, and the display unit.
    pub(crate) fn display(self) -> (f64, &'static str) {
        if self.is_memory() {
            (1.0 / MIB, "MiB")
        } else {
            (1000.0, "ms")
        }
    }

    /// The smallest change (in the display unit) that can be a regression.
    pub(crate) fn noise_floor(self) -> f64 {
        match self {
            Figure::Wall => 0.0,
            Figure::Cpu | Figure::User | Figure::System => {
                series::CPU_TIME_NOISE_FLOOR_SECONDS * self.display().0
            }
            Figure::Rss | Figure::TreeRss | Figure::Gpu => {
                series::MEMORY_NOISE_FLOOR_BYTES * self.display().0
            }
        }
    }
}

impl CommandRuns {
    /// The figure over the runs that have it, as a series labelled with the command: a
    /// distribution in the base unit (failed runs marked) with its display unit.
    pub(crate) fn series(&self, figure: Figure, at: Timestamp) -> Option<Series> {
        let mut value = Distribution::new(usize::MAX);
        for run in &self.runs {
            if let Some(v) = figure.of(run) {
                let status = if run.failed() {
                    Status::Failed
                } else {
                    Status::Ok
                };
                value.record(v, status, at);
            }
        }
        if value.count() == 0 {
            return None;
        }
        let (factor, unit) = figure.display();
        Some(Series {
            label: self.command.clone(),
            reading: figure.name().to_owned(),
            value,
            peak: None,
            factor,
            unit: unit.to_owned(),
            direction: Direction::HigherIsWorse,
            noise_floor: figure.noise_floor(),
        })
    }

    /// The figure's values over the runs that have it, in the display unit.
    pub(crate) fn values(&self, figure: Figure) -> Vec<f64> {
        let factor = figure.display().0;
        self.runs
            .iter()
            .filter_map(|r| figure.of(r))
            .map(|v| v * factor)
            .collect()
    }

    /// The figure's values over the runs that have it, in the display unit, each with whether
    /// its run failed.
    pub(crate) fn values_marked(&self, figure: Figure) -> Vec<(f64, bool)> {
        let factor = figure.display().0;
        self.runs
            .iter()
            .filter_map(|r| Some((figure.of(r)? * factor, r.failed())))
            .collect()
    }

    /// How many runs failed.
    pub(crate) fn failed(&self) -> usize {
        self.runs.iter().filter(|r| r.failed()).count()
    }
}

impl BenchFile {
    /// Every command's series, figure by figure (a figure no run has is left out).
    pub(crate) fn series(&self) -> Vec<Series> {
        self.commands
            .iter()
            .flat_map(|c| FIGURES.iter().filter_map(|&f| c.series(f, self.start_time)))
            .collect()
    }

    /// Writes the file as pretty JSON, atomically.
    pub(crate) fn save(&self, output: Output) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        output.commit(text.as_bytes())
    }

    /// Reads a bench file from JSON text; `source` names it in errors.
    pub(crate) fn from_json(text: &str, source: &Path) -> anyhow::Result<Self> {
        // The version first: a later version's fields are not this one's.
        #[derive(Deserialize)]
        struct Version {
            version: Option<serde_json::Value>,
        }
        let version = serde_json::from_str::<Version>(text)
            .with_context(|| format!("{}: malformed bench file", source.display()))?
            .version;
        if version != Some(FORMAT_VERSION.into()) {
            bail!(
                "{}: bench file version {} (this perftrack reads version {FORMAT_VERSION})",
                source.display(),
                version.map_or_else(|| "missing".to_owned(), |v| v.to_string())
            );
        }
        let file: BenchFile = serde_json::from_str(text)
            .with_context(|| format!("{}: malformed bench file", source.display()))?;
        if file.commands.is_empty() || file.commands.iter().any(|c| c.runs.is_empty()) {
            bail!(
                "{}: malformed bench file: every command needs at least one run",
                source.display()
            );
        }
        Ok(file)
    }
}

/// Whether JSON text is a bench file: an object whose `format` is [`FORMAT_NAME`].
pub(crate) fn is_bench(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Format {
        format: Option<String>,
    }
    serde_json::from_str::<Format>(text).is_ok_and(|f| f.format.as_deref() == Some(FORMAT_NAME))
}

/// Reads `path` as a bench file when it is one; `None` for folders and other files.
pub(crate) fn read_if_bench(path: &Path) -> anyhow::Result<Option<BenchFile>> {
    if path.is_dir() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !is_bench(&text) {
        return Ok(None);
    }
    BenchFile::from_json(&text, path).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wall: f64, code: i32) -> RunFigures {
        RunFigures {
            wall_seconds: wall,
            user_seconds: 0.25,
            system_seconds: 0.05,
            peak_rss_bytes: 8 << 20,
            tree_rss_bytes: None,
            gpu_memory_bytes: None,
            exit: ExitJson {
                code: Some(code),
                signal: None,
            },
        }
    }

    #[test]
    fn figures_are_read_in_display_units_with_failed_runs_marked() {
        let c = CommandRuns {
            command: "x".into(),
            argv: vec!["x".into()],
            runs: vec![run(1.0, 0), run(2.0, 3)],
        };
        assert_eq!(c.values(Figure::Wall), [1000.0, 2000.0]);
        assert_eq!(c.values(Figure::Rss), [8.0, 8.0]);
        assert!((c.values(Figure::Cpu)[0] - 300.0).abs() < 1e-9);
        assert!(c.values(Figure::TreeRss).is_empty());
        assert_eq!(
            c.values_marked(Figure::Wall),
            [(1000.0, false), (2000.0, true)]
        );
        assert_eq!(c.failed(), 1);
        let s = c
            .series(Figure::Wall, Timestamp::from_unix_nanos(0))
            .unwrap();
        let stats = s.statistics().unwrap();
        assert_eq!((stats.count, stats.failed, stats.mean), (2, 1, 1500.0));
        assert!(
            c.series(Figure::Gpu, Timestamp::from_unix_nanos(0))
                .is_none()
        );
        assert_eq!(Figure::Rss.noise_floor(), 1.0);
        assert_eq!(Figure::Cpu.noise_floor(), 10.0);
    }

    /// A bench of two commands with chosen figures: a failed run, a run killed by a signal,
    /// runs without a tree figure.
    pub(crate) fn chosen() -> BenchFile {
        let mut failed = run(0.5, 1);
        failed.tree_rss_bytes = Some(12 << 20);
        let mut killed = run(0.75, 0);
        killed.exit = ExitJson {
            code: None,
            signal: Some(9),
        };
        BenchFile {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            start_time: Timestamp::from_unix_nanos(1_764_928_800_000_000_000),
            shell: false,
            warmup: 1,
            prepare: Some("sync".into()),
            interval_seconds: 0.1,
            include_children: true,
            gpu: false,
            ignore_failure: true,
            seed: 42,
            commands: vec![
                CommandRuns {
                    command: "python rag.py --k 4".into(),
                    argv: ["python", "rag.py", "--k", "4"].map(String::from).to_vec(),
                    runs: vec![run(0.25, 0), failed],
                },
                CommandRuns {
                    command: "python rag.py --k 8".into(),
                    argv: ["python", "rag.py", "--k", "8"].map(String::from).to_vec(),
                    runs: vec![run(0.375, 0), killed],
                },
            ],
        }
    }

    #[test]
    fn the_layout_matches_the_golden_file() {
        let golden =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench-v1.json");
        let mut text = serde_json::to_string_pretty(&chosen()).unwrap();
        text.push('\n');
        if std::env::var_os("PERFTRACK_BLESS").is_some() {
            std::fs::write(&golden, &text).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap();
        assert_eq!(
            text, expected,
            "the bench file's layout changed; if on purpose, update docs/FORMAT.md and rerun \
             with PERFTRACK_BLESS=1"
        );
        assert!(is_bench(&expected));
        assert_eq!(BenchFile::from_json(&expected, &golden).unwrap(), chosen());
        assert_eq!(chosen().commands[1].runs[1].exit_code(), 137);
        assert!(chosen().commands[1].runs[1].failed());
    }

    #[test]
    fn only_files_that_say_so_are_bench_files() {
        assert!(is_bench(r#"{"format": "perftrack-bench", "version": 1}"#));
        assert!(!is_bench(r#"{"format": "perftrack-run"}"#));
        assert!(!is_bench(r#"{"tracker_type": "LatencyTracker"}"#));
        assert!(!is_bench("[1, 2]"));
        let err = BenchFile::from_json(
            r#"{"format": "perftrack-bench", "version": 2, "new": 1}"#,
            "b.json".as_ref(),
        )
        .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "b.json: bench file version 2 (this perftrack reads version 1)"
        );
        let err = BenchFile::from_json(
            r#"{"format": "perftrack-bench", "version": 1, "commands": 3}"#,
            "b.json".as_ref(),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").starts_with("b.json: malformed bench file: "),
            "{err:#}"
        );
    }
}
