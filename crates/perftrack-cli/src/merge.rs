//! `perftrack merge`: combine metrics files of one tracker type into one.

use std::path::PathBuf;

use anyhow::{Context, bail};
use perftrack::PerformanceTracker;

use crate::inputs;

/// Arguments of `perftrack merge`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Metrics files of one tracker type (or folders of them), from several processes or
    /// machines.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Where to write the merged metrics file.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Merge the tracker of this type (`latency`, `generation`, `memory`, …) of each file:
    /// run containers hold several, such as `perftrack collect -- CMD`'s stages beside the
    /// command's memory and CPU.
    #[arg(long, value_name = "TYPE")]
    tracker: Option<String>,
}

/// Runs `perftrack merge`: loads the first file and merges every other into it, so the
/// result's percentiles are those of all the measurements together (the stored distributions
/// are merged, not the percentiles averaged). The result takes the first file's configuration
/// (unit, limits) and is written atomically. Generation files merge only when their
/// objectives (`slo`) agree, as goodput counts of different objectives cannot be added.
pub(crate) fn execute(args: Args) -> anyhow::Result<u8> {
    let files = inputs::expand(&args.files)?;
    let mut first: Option<(inputs::Input, PathBuf)> = None;
    for file in &files {
        let mut read = inputs::read_file(file)?;
        if let Some(wanted) = &args.tracker {
            read.retain(|input| input.kind.file_type() == wanted.as_str());
            if read.is_empty() {
                bail!("{} holds no {wanted} tracker", file.display());
            }
        }
        if read.len() != 1 {
            bail!(
                "{} is a run container with {} trackers; merge takes metrics files of one \
                 tracker type (or one type of each container, with --tracker TYPE)",
                file.display(),
                read.len()
            );
        }
        let input = read.remove(0);
        match &first {
            None => first = Some((input, file.clone())),
            Some((base, base_file)) => {
                if input.kind != base.kind {
                    bail!(
                        "{} is a {} metrics file but {} is a {} one; merge takes files of one \
                         tracker type",
                        file.display(),
                        input.kind,
                        base_file.display(),
                        base.kind
                    );
                }
                // The input was loaded into a tracker of its own type already; merging its
                // canonical text keeps the Python original's files and run containers' nested
                // files alike.
                let text = input
                    .tracker
                    .metrics_json()
                    .with_context(|| format!("cannot render {}", input.source.display()))?;
                // Both files named: a generation file judged against other objectives than the
                // first one's cannot be merged into it, and the library names only the one.
                base.tracker
                    .merge_metrics_json(&text, &input.source)
                    .with_context(|| {
                        format!(
                            "cannot merge {} into {}",
                            input.source.display(),
                            base.source.display()
                        )
                    })?;
            }
        }
    }
    let Some((merged, _)) = first else {
        bail!("nothing to merge");
    };
    merged
        .tracker
        .save_metrics(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(0)
}
