//! The native half of the `perftrack` Python package: one class, `NativeTracker`, over the
//! library's [`perftrack::AnyTracker`], and the conversions between serde's JSON values and
//! Python objects. The Python API itself (the Python trackers' class names, keyword arguments,
//! context managers, decorators and exception classes) lives in `python/perftrack/`, which
//! calls this module; see the package's section of the README.
//!
//! The GIL is released (`Python::detach`) for everything that reads `/proc`, touches files or
//! walks many values (memory and CPU sessions and samples, statistics, records, files, reset),
//! and kept on the latency and throughput record paths, which take nanoseconds.

mod command;
mod convert;
mod error;
mod generation;
mod tracker;

use pyo3::prelude::*;

/// The module `perftrack._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tracker::NativeTracker>()?;
    m.add_class::<generation::NativeRequest>()?;
    m.add_class::<generation::ManualClock>()?;
    m.add_function(wrap_pyfunction!(tracker::tracker_kind, m)?)?;
    m.add_function(wrap_pyfunction!(command::run_command, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
