//! `perftrack run`.

use std::process::ExitCode;

/// Arguments of `perftrack run`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `perftrack run`.
pub(crate) fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`perftrack run` is not built yet")
}
