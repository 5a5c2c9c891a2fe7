//! `perftrack report`: summarise metrics files and bench files as a table, Markdown, JSON or
//! an HTML page.

use std::path::PathBuf;

use crate::inputs;

mod html;
mod model;
pub(crate) mod text;

pub(crate) use model::number;
use model::{BenchSection, Report};

/// Arguments of `perftrack report`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Metrics files, run containers (`perftrack run -o`), bench files (`perftrack bench
    /// -o`), or folders of them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// How a report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned text tables.
    Table,
    /// Markdown tables, to paste into an issue or a pull request.
    Markdown,
    /// One JSON object.
    Json,
    /// One self-contained HTML page with SVG charts.
    Html,
}

/// Runs `perftrack report`.
pub(crate) fn execute(args: Args) -> anyhow::Result<u8> {
    let mut inputs = Vec::new();
    let mut benches = Vec::new();
    for file in inputs::expand(&args.paths)? {
        match crate::bench::file::read_if_bench(&file)? {
            Some(bench) => benches.push(BenchSection::of(&file, &bench)),
            None => inputs.extend(inputs::read_file(&file)?),
        }
    }
    let mut report = Report::build(&inputs)?;
    report.benches = benches;
    let text = match args.format {
        Format::Table => text::text(&report, false),
        Format::Markdown => text::text(&report, true),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&report)?;
            text.push('\n');
            text
        }
        Format::Html => html::page(&report, &inputs),
    };
    crate::output::write(args.output.as_deref(), &text)?;
    Ok(0)
}
