//! Running the bench: rounds of every command in turn, each run measured by its own
//! `perftrack run` process.
//!
//! Why a process per run: the exact figures of a run (CPU seconds, the largest process's peak
//! RSS) are the kernel's resource usage of the measuring process's children, which adds up
//! every child it ever waited for and keeps the largest peak of all. A `perftrack run` that
//! starts one command has exactly that command's figures, as GNU time does; a bench running
//! many commands from one process would not.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use signal_hook::SigId;
use signal_hook::consts::SIGINT;

use super::file::{CommandRuns, RunFigures};
use crate::run::{RunContainer, RunExit};

/// How the runs are made.
pub(crate) struct Plan<'a> {
    /// The commands, as given and as the words they run as.
    pub(crate) commands: &'a [(String, Vec<OsString>)],
    /// Measured runs of each command: a fixed number, or until each has run this long.
    pub(crate) runs: Runs,
    /// Unmeasured runs of each command first.
    pub(crate) warmup: u32,
    /// Run before each run (warm-up runs too), unmeasured.
    pub(crate) prepare: Option<&'a [OsString]>,
    /// Time between samples.
    pub(crate) interval: Duration,
    /// Whether the samples cover descendants.
    pub(crate) include_children: bool,
    /// Whether GPU memory is read.
    pub(crate) gpu: bool,
    /// Whether a failing run is kept rather than stopping the bench.
    pub(crate) ignore_failure: bool,
    /// How to start this same `perftrack` (each run is measured by a `perftrack run` of its
    /// own); empty: this executable.
    pub(crate) this: &'a [OsString],
}

/// How many measured runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Runs {
    /// Exactly this many of each command.
    Count(u32),
    /// Rounds until every command's runs add up to this many seconds of wall time (at least
    /// [`MIN_TIME_RUNS`] rounds).
    MinTime(f64),
}

/// The fewest rounds `--min-time` makes: the test needs a few values per side.
pub(crate) const MIN_TIME_RUNS: u32 = 2;

/// Why the bench stopped early.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// Ctrl-C (SIGINT) arrived: the run in progress (which got it too) ended, and the bench
    /// stopped after it.
    Interrupted,
    /// A run failed without `--ignore-failure`.
    Failed {
        command: String,
        run: u32,
        warmup: bool,
        exit_code: i32,
    },
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Interrupted => write!(f, "interrupted; the bench stopped"),
            Stopped::Failed {
                command,
                run,
                warmup,
                exit_code,
            } => write!(
                f,
                "`{command}` failed with exit code {exit_code} in its {}run {run}; the bench \
                 stopped (--ignore-failure keeps going and marks failed runs)",
                if *warmup { "warm-up " } else { "" }
            ),
        }
    }
}

/// Runs the plan: every command's measured runs, or why the bench stopped.
pub(crate) fn run(plan: &Plan<'_>) -> anyhow::Result<Result<Vec<CommandRuns>, Stopped>> {
    let exe = match plan.this {
        [] => vec![
            std::env::current_exe()
                .context("cannot find the perftrack executable")?
                .into_os_string(),
        ],
        this => this.to_vec(),
    };
    let dir = tempfile::Builder::new()
        .prefix("perftrack-bench-")
        .tempdir()
        .context("cannot create a temporary folder for the runs")?;
    let measurer = Measurer {
        exe: &exe,
        file: dir.path().join("run.json"),
        plan,
        interrupt: Interrupt::catch()?,
    };
    for round in 1..=plan.warmup {
        for (command, argv) in plan.commands {
            let Some(figures) = measurer.once(argv)? else {
                return Ok(Err(Stopped::Interrupted));
            };
            if figures.failed() && !plan.ignore_failure {
                return Ok(Err(Stopped::Failed {
                    command: command.clone(),
                    run: round,
                    warmup: true,
                    exit_code: figures.exit_code(),
                }));
            }
        }
    }
    let mut out: Vec<CommandRuns> = plan
        .commands
        .iter()
        .map(|(command, argv)| CommandRuns {
            command: command.clone(),
            argv: argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            runs: Vec::new(),
        })
        .collect();
    let mut round = 0u32;
    while !enough(plan.runs, round, &out) {
        round += 1;
        // Interleaved: each round runs every command once, so that a machine that drifts
        // (heat, other load) drifts for all of them alike.
        for ((command, argv), runs) in plan.commands.iter().zip(&mut out) {
            let Some(figures) = measurer.once(argv)? else {
                return Ok(Err(Stopped::Interrupted));
            };
            runs.runs.push(figures);
            if figures.failed() && !plan.ignore_failure {
                return Ok(Err(Stopped::Failed {
                    command: command.clone(),
                    run: round,
                    warmup: false,
                    exit_code: figures.exit_code(),
                }));
            }
        }
    }
    Ok(Ok(out))
}

/// Ctrl-C caught while the bench runs: a terminal sends SIGINT to the whole foreground
/// process group, so the measured command gets it too and ends (its measuring `perftrack run`
/// outlives it), and the bench stops after that run, removing its temporary folder, instead of
/// dying in the middle.
struct Interrupt {
    flag: Arc<AtomicBool>,
    id: SigId,
}

impl Interrupt {
    fn catch() -> anyhow::Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        let id = signal_hook::flag::register(SIGINT, Arc::clone(&flag))
            .context("cannot handle Ctrl-C")?;
        Ok(Self { flag, id })
    }

    fn happened(&self) -> bool {
        // SeqCst, as the handler stores it: a signal is rare, and this read is once a run.
        self.flag.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        signal_hook::low_level::unregister(self.id);
    }
}

/// Whether `rounds` rounds are enough.
fn enough(runs: Runs, rounds: u32, so_far: &[CommandRuns]) -> bool {
    match runs {
        Runs::Count(n) => rounds >= n,
        Runs::MinTime(seconds) => {
            rounds >= MIN_TIME_RUNS
                && so_far
                    .iter()
                    .all(|c| c.runs.iter().map(|r| r.wall_seconds).sum::<f64>() >= seconds)
        }
    }
}

/// Measures one run at a time with a `perftrack run` process.
struct Measurer<'a> {
    /// How to start `perftrack`: the program, then any arguments before `run`.
    exe: &'a [OsString],
    /// Where each run's container is written (and read back, then replaced by the next).
    file: PathBuf,
    plan: &'a Plan<'a>,
    interrupt: Interrupt,
}

impl Measurer<'_> {
    /// Runs `--prepare` if given, then measures `argv` once; `None` when Ctrl-C came meanwhile.
    fn once(&self, argv: &[OsString]) -> anyhow::Result<Option<RunFigures>> {
        if let Some(prepare) = self.plan.prepare {
            let prepared = prepare_once(prepare);
            if self.interrupt.happened() {
                return Ok(None);
            }
            prepared?;
        }
        let (program, prefix) = self
            .exe
            .split_first()
            .context("no way to start perftrack")?;
        let mut command = Command::new(program);
        command
            .args(prefix)
            .arg("run")
            .arg("--interval")
            .arg(self.plan.interval.as_secs_f64().to_string())
            .arg("-o")
            .arg(&self.file);
        if !self.plan.include_children {
            command.arg("--no-children");
        }
        if self.plan.gpu {
            command.arg("--gpu");
        }
        // The command's output is not the bench's (as hyperfine, it goes nowhere); nor is the
        // measuring process's report, which the file holds.
        let status = command
            .arg("--")
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("cannot start the measuring `perftrack run`")?;
        if self.interrupt.happened() {
            return Ok(None);
        }
        let text = match std::fs::read_to_string(&self.file) {
            Ok(text) => text,
            Err(_) => {
                let program = argv
                    .first()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                bail!(
                    "cannot run `{program}`: {}",
                    match status.code() {
                        Some(127) => "no such program".to_owned(),
                        Some(126) => "it cannot be executed".to_owned(),
                        other => format!(
                            "the measuring `perftrack run` ended with {} and wrote nothing",
                            other.map_or_else(|| "a signal".to_owned(), |c| format!("code {c}"))
                        ),
                    }
                );
            }
        };
        std::fs::remove_file(&self.file)
            .with_context(|| format!("cannot remove {}", self.file.display()))?;
        let run: RunContainer = serde_json::from_str(&text)
            .with_context(|| format!("cannot read the measured run {}", self.file.display()))?;
        Ok(Some(figures(&run)))
    }
}

/// A run container's figures.
fn figures(run: &RunContainer) -> RunFigures {
    RunFigures {
        wall_seconds: run.wall_time_seconds,
        user_seconds: run.cpu.user_seconds,
        system_seconds: run.cpu.system_seconds,
        peak_rss_bytes: run.peak.process_rss,
        tree_rss_bytes: run.peak.tree_rss,
        gpu_memory_bytes: run.peak.gpu_memory,
        exit: RunExit {
            code: run.exit.code,
            signal: run.exit.signal,
        },
    }
}

/// Runs `--prepare` once, its output going nowhere; an error when it fails.
fn prepare_once(prepare: &[OsString]) -> anyhow::Result<()> {
    let Some((program, args)) = prepare.split_first() else {
        bail!("--prepare: no command");
    };
    let shown = || {
        prepare
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run the --prepare command `{}`", shown()))?;
    if !status.success() {
        bail!("the --prepare command `{}` failed ({status})", shown());
    }
    Ok(())
}
