//! The `perftrack` console command of the wheel: the command's own code (`perftrack_cli`),
//! run without the GIL.

use std::ffi::OsString;
use std::io::Write;

use pyo3::prelude::*;

/// Runs the `perftrack` command with `args` (the program's name first) and returns its exit
/// code; `this` starts the same command again (`python -m perftrack`), as `perftrack bench`
/// does once per run. The GIL is released while it runs: `perftrack run` waits for a whole
/// command.
#[pyfunction]
pub(crate) fn run_command(py: Python<'_>, args: Vec<OsString>, this: Vec<OsString>) -> u8 {
    py.detach(|| {
        let code = perftrack_cli::main_as(args, &this);
        // The command's output goes through Rust's buffered stdout, which only a Rust
        // program's exit would flush.
        let _ = std::io::stdout().flush();
        code
    })
}
