//! The `perftrack` command; its code is the crate's library (`src/lib.rs`).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(perftrack_cli::main(std::env::args_os()))
}
