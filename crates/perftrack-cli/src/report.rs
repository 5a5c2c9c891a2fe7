//! `perftrack report`.

use std::process::ExitCode;

/// Arguments of `perftrack report`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `perftrack report`.
pub(crate) fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`perftrack report` is not built yet")
}
