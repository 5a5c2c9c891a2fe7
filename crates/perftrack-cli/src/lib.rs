//! `perftrack`: record any command's CPU and memory, and turn metrics files into answers.
//! The command's code, as a library so that the Python package's `perftrack` console command
//! runs the same code ([`main`]); not a Rust API otherwise.
//!
//! - `perftrack run -- CMD [ARGS…]` samples a command's process tree and reports its peaks;
//! - `perftrack report PATH…` summarises metrics files as a table, Markdown, JSON or HTML;
//! - `perftrack bench CMD…` runs commands many times and judges each against the first;
//! - `perftrack compare BASE NEW` tells real regressions from noise;
//! - `perftrack merge FILE… -o OUT` combines files of one tracker type;
//! - `perftrack collect [-- CMD …]` receives OpenTelemetry spans (OTLP/HTTP) as stage metrics.

use std::ffi::OsString;

use clap::{Parser, Subcommand};

mod bench;
mod chart;
mod collect;
mod compare;
mod inputs;
mod mann_whitney;
mod merge;
mod output;
mod report;
mod run;
mod series;
mod verdict;

/// Measure commands and read perftrack metrics files.
#[derive(Debug, Parser)]
#[command(name = "perftrack", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a command, sampling its process tree's CPU and memory until it exits.
    Run(run::Args),
    /// Summarise metrics files (or folders of them).
    Report(report::Args),
    /// Run commands many times, interleaved: time, CPU and memory per run, each command
    /// judged against the first.
    Bench(bench::Args),
    /// Compare two metrics files label by label, telling real changes from noise.
    Compare(compare::Args),
    /// Merge metrics files of one tracker type into one.
    Merge(merge::Args),
    /// Receive OpenTelemetry spans (OTLP/HTTP) as stage metrics, alone or around a command.
    Collect(collect::Args),
}

/// The exit code of a failure in perftrack itself (bad arguments, unreadable files).
const EXIT_ERROR: u8 = 2;

/// Runs the `perftrack` command with `args` (the first is the program's name) and returns its
/// exit code: what the `perftrack` binary's `main` calls.
///
/// ```no_run
/// let code = perftrack_cli::main(["perftrack", "report", "metrics.json"]);
/// std::process::exit(i32::from(code));
/// ```
pub fn main<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    main_as(args, &[])
}

/// [`main`] for a front end that is not the `perftrack` executable (the Python package's
/// console command): `this` is how to start the same `perftrack` again, program first, as
/// `perftrack bench` does once per measured run (`["python", "-m", "perftrack"]`); empty
/// means this executable.
///
/// ```no_run
/// let this = ["python3", "-m", "perftrack"].map(std::ffi::OsString::from);
/// let code = perftrack_cli::main_as(["perftrack", "bench", "sleep 0.1"], &this);
/// # let _ = code;
/// ```
pub fn main_as<I, T>(args: I, this: &[OsString]) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` print to stdout and succeed; usage errors go to stderr.
            let _ = err.print();
            return if err.use_stderr() { EXIT_ERROR } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Report(args) => report::execute(args),
        Command::Bench(args) => bench::execute(args, this),
        Command::Compare(args) => compare::execute(args),
        Command::Merge(args) => merge::execute(args),
        Command::Collect(args) => collect::execute(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("perftrack: error: {err:#}");
            EXIT_ERROR
        }
    }
}
