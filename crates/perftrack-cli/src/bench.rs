//! `perftrack bench`: runs commands many times, interleaved, measuring each run as
//! `perftrack run` measures one (wall time, user and system CPU, peak RSS of the largest
//! process and of the tree, GPU memory with `--gpu`), summarises each command, judges each
//! against the first with the rules `compare` uses, and saves every run in a bench file.

pub(crate) mod bootstrap;
pub(crate) mod file;
mod runner;
pub(crate) mod summary;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use perftrack::Timestamp;

use crate::output::Output;
use crate::verdict::{self, GateArgs};
use file::{BenchFile, Figure};
use runner::{Plan, Runs};
use summary::Summary;

/// Arguments of `perftrack bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Measured runs of each command (10 without this or `--min-time`).
    #[arg(long, short = 'r', value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "min_time")]
    runs: Option<u32>,
    /// Instead of a number of runs: run each command until its runs add up to SECONDS of
    /// wall time (at least 2 runs).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    min_time: Option<f64>,
    /// Unmeasured runs of each command before the measured ones.
    #[arg(long, short = 'w', value_name = "K", default_value_t = 0)]
    warmup: u32,
    /// A command run before each run (warm-up runs too), unmeasured: to clear a cache,
    /// reset a database.
    #[arg(long, value_name = "CMD")]
    prepare: Option<String>,
    /// Run the commands (and `--prepare`) through `sh -c` rather than splitting them into
    /// words.
    #[arg(long)]
    shell: bool,
    /// Keep going when a run fails (exits with another code than 0, or is killed); failed
    /// runs are counted and marked.
    #[arg(long, short = 'i')]
    ignore_failure: bool,
    /// The seed of the bootstrap confidence intervals (a random one by default; printed).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// The figures judged, against the first command (repeat, or separate with commas;
    /// `wall,cpu,rss` by default).
    #[arg(
        long = "figure",
        value_enum,
        value_delimiter = ',',
        value_name = "FIGURE"
    )]
    figures: Vec<Figure>,
    #[command(flatten)]
    sampling: crate::run::Sampling,
    /// Write every run to FILE as JSON (a bench file, which `report` and `compare` read).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the summary to FILE as Markdown.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write every run to FILE as CSV: command, run, exit_code, failed, wall_seconds,
    /// user_seconds, system_seconds, peak_rss_bytes, tree_rss_bytes, gpu_memory_bytes.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    #[command(flatten)]
    gate: GateArgs,
    /// The commands: each one string, split into words as a shell would (quotes and
    /// backslashes) but run without one unless `--shell`.
    #[arg(required = true, value_name = "CMD")]
    commands: Vec<String>,
}

/// Measured runs of each command without `--runs` or `--min-time`.
const DEFAULT_RUNS: u32 = 10;

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!("`{text}` is not a number of seconds above 0")),
    }
}

/// The words a command runs as.
fn words(command: &str, shell: bool) -> anyhow::Result<Vec<OsString>> {
    if shell {
        return Ok(["sh", "-c", command].map(OsString::from).to_vec());
    }
    let Some(words) = shlex::split(command) else {
        bail!("cannot split `{command}` into words: an unclosed quote or a trailing backslash");
    };
    if words.is_empty() {
        bail!("an empty command (give each command as one non-empty string)");
    }
    Ok(words.into_iter().map(OsString::from).collect())
}

/// Runs `perftrack bench`.
pub(crate) fn execute(args: Args, this: &[OsString]) -> anyhow::Result<u8> {
    // Everything is checked before the first run: a long bench is not lost to a typo.
    let interval = crate::run::check_interval(args.sampling.interval)?;
    let commands = args
        .commands
        .iter()
        .map(|c| Ok((c.clone(), words(c, args.shell)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let prepare = args
        .prepare
        .as_deref()
        .map(|p| words(p, args.shell).context("--prepare"))
        .transpose()?;
    let output = args.output.as_deref().map(Output::prepare).transpose()?;
    let markdown = args.markdown.as_deref().map(Output::prepare).transpose()?;
    let csv = args.csv.as_deref().map(Output::prepare).transpose()?;
    let seed = args.seed.unwrap_or_else(random_seed);
    let judged = if args.figures.is_empty() {
        summary::DEFAULT_JUDGED.to_vec()
    } else {
        args.figures.clone()
    };
    if judged.contains(&Figure::Gpu) && !args.sampling.gpu {
        bail!("--figure gpu needs --gpu (GPU memory is read only then)");
    }
    let runs = match (args.runs, args.min_time) {
        (_, Some(seconds)) => Runs::MinTime(seconds),
        (n, None) => Runs::Count(n.unwrap_or(DEFAULT_RUNS)),
    };
    let plan = Plan {
        commands: &commands,
        runs,
        warmup: args.warmup,
        prepare: prepare.as_deref(),
        interval,
        include_children: !args.sampling.no_children,
        gpu: args.sampling.gpu,
        ignore_failure: args.ignore_failure,
        this,
    };
    eprintln!(
        "perftrack: benchmarking {} command{} ({}, interleaved; seed {seed})",
        commands.len(),
        if commands.len() == 1 { "" } else { "s" },
        match runs {
            Runs::Count(n) => format!("{n} run{} each", if n == 1 { "" } else { "s" }),
            Runs::MinTime(s) => format!("at least {s} s of runs each"),
        }
    );
    let start_time = Timestamp::now();
    let measured = match runner::run(&plan)? {
        Ok(measured) => measured,
        Err(stopped) => bail!("{stopped}"),
    };
    let file = BenchFile {
        format: file::FORMAT_NAME.to_owned(),
        version: file::FORMAT_VERSION,
        start_time,
        shell: args.shell,
        warmup: args.warmup,
        prepare: args.prepare.clone(),
        interval_seconds: interval.as_secs_f64(),
        include_children: !args.sampling.no_children,
        gpu: args.sampling.gpu,
        ignore_failure: args.ignore_failure,
        seed,
        commands: measured,
    };
    let summary = Summary::of(&file, &judged, &args.gate);
    crate::output::write(None, &summary::render(&summary, false))?;
    let mut saved = Vec::new();
    if let Some(output) = output {
        saved.push(output.path().display().to_string());
        file.save(output)?;
    }
    if let Some(markdown) = markdown {
        saved.push(markdown.path().display().to_string());
        markdown.commit(summary::render(&summary, true).as_bytes())?;
    }
    if let Some(csv) = csv {
        saved.push(csv.path().display().to_string());
        csv.commit(csv_text(&file).as_bytes())?;
    }
    if !saved.is_empty() {
        eprintln!("  saved    {}", saved.join(", "));
    }
    Ok(verdict::exit_code(summary.verdicts(), &args.gate))
}

/// A seed from the clock and the process id: different on every bench, printed and saved so
/// that a bench's intervals can be computed again.
fn random_seed() -> u64 {
    let nanos = Timestamp::now().as_unix_nanos() as u64;
    // SplitMix64's finaliser spreads nearby clock readings over all 64 bits.
    let mut z = nanos ^ (u64::from(std::process::id()) << 32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    // 53 bits: the seed stays exact in JSON readers that hold numbers as doubles.
    (z ^ (z >> 31)) >> 11
}

/// Every run as CSV, one row each.
fn csv_text(file: &BenchFile) -> String {
    let mut out = String::from(
        "command,run,exit_code,failed,wall_seconds,user_seconds,system_seconds,\
         peak_rss_bytes,tree_rss_bytes,gpu_memory_bytes\n",
    );
    let optional = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
    for c in &file.commands {
        let quoted = format!("\"{}\"", c.command.replace('"', "\"\""));
        for (i, r) in c.runs.iter().enumerate() {
            let _ = writeln!(
                out,
                "{quoted},{},{},{},{},{},{},{},{},{}",
                i + 1,
                r.exit_code(),
                r.failed(),
                r.wall_seconds,
                r.user_seconds,
                r.system_seconds,
                r.peak_rss_bytes,
                optional(r.tree_rss_bytes),
                optional(r.gpu_memory_bytes),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_into_words_like_a_shell() {
        assert_eq!(words("sleep 0.2", false).unwrap(), ["sleep", "0.2"]);
        assert_eq!(
            words(r#"sh -c 'exit 3' "a b""#, false).unwrap(),
            ["sh", "-c", "exit 3", "a b"]
        );
        assert_eq!(words("exit 3", true).unwrap(), ["sh", "-c", "exit 3"]);
        assert!(words("echo 'open", false).is_err());
        assert!(words("   ", false).is_err());
    }

    #[test]
    fn seeds_differ_between_calls() {
        assert_ne!(random_seed(), random_seed());
    }
}
