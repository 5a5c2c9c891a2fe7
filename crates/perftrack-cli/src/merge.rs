//! `perftrack merge`.

use std::process::ExitCode;

/// Arguments of `perftrack merge`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `perftrack merge`.
pub(crate) fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`perftrack merge` is not built yet")
}
