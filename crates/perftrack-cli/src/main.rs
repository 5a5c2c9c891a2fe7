//! `perftrack`: record any command's CPU and memory, and turn metrics files into answers.
//!
//! - `perftrack run -- CMD [ARGS…]` samples a command's process tree and reports its peaks;
//! - `perftrack report PATH…` summarises metrics files as a table, Markdown, JSON or HTML;
//! - `perftrack compare BASE NEW` tells real regressions from noise;
//! - `perftrack merge FILE… -o OUT` combines files of one tracker type;
//! - `perftrack collect [-- CMD …]` receives OpenTelemetry spans (OTLP/HTTP) as stage metrics.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Compare two metrics files label by label, telling real changes from noise.
    Compare(compare::Args),
    /// Merge metrics files of one tracker type into one.
    Merge(merge::Args),
    /// Receive OpenTelemetry spans (OTLP/HTTP) as stage metrics, alone or around a command.
    Collect(collect::Args),
}

/// The exit code of a failure in perftrack itself (bad arguments, unreadable files).
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Report(args) => report::execute(args),
        Command::Compare(args) => compare::execute(args),
        Command::Merge(args) => merge::execute(args),
        Command::Collect(args) => collect::execute(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("perftrack: error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
