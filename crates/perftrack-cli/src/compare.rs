//! `perftrack compare`.

use std::process::ExitCode;

/// Arguments of `perftrack compare`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `perftrack compare`.
pub(crate) fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`perftrack compare` is not built yet")
}
