//! `NativeRequest`: one generation request in flight (the library's generation guard), and
//! `ManualClock`, a clock that only moves when told, for tests and simulations.

use std::sync::Arc;
use std::time::Duration;

use perftrack::kinds::Generation;
use perftrack::{Guard, Status};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::convert::python;

/// A status by its name in records: `"ok"`, `"failed"` or `"cancelled"`.
pub(crate) fn parse_status(status: &str) -> PyResult<Status> {
    match status {
        "ok" => Ok(Status::Ok),
        "failed" => Ok(Status::Failed),
        "cancelled" => Ok(Status::Cancelled),
        other => Err(PyValueError::new_err(format!(
            "status must be \"ok\", \"failed\" or \"cancelled\", not {other:?}"
        ))),
    }
}

/// A clock that stands still until `advance` moves it; trackers made with it measure exactly
/// the time advanced.
#[pyclass(frozen, module = "perftrack._native")]
pub(crate) struct ManualClock {
    pub(crate) inner: Arc<perftrack::ManualClock>,
}

#[pymethods]
impl ManualClock {
    #[new]
    fn new() -> Self {
        Self {
            inner: Arc::new(perftrack::ManualClock::new()),
        }
    }

    /// Moves the clock forward by `seconds` (finite, at least 0).
    fn advance(&self, seconds: f64) -> PyResult<()> {
        let by = Duration::try_from_secs_f64(seconds).map_err(|_| {
            PyValueError::new_err(format!(
                "seconds must be a finite number of at least 0, not {seconds}"
            ))
        })?;
        self.inner.advance(by);
        Ok(())
    }

    fn __repr__(&self) -> &'static str {
        "ManualClock()"
    }
}

/// One request of a generation tracker, started when it was made; stopped by `stop`, or
/// recorded as cancelled if it is dropped first.
#[pyclass(module = "perftrack._native")]
pub(crate) struct NativeRequest {
    guard: Option<Guard<Generation>>,
}

impl NativeRequest {
    pub(crate) fn new(guard: Guard<Generation>) -> Self {
        Self { guard: Some(guard) }
    }

    fn guard(&mut self) -> PyResult<&mut Guard<Generation>> {
        self.guard
            .as_mut()
            .ok_or_else(|| PyRuntimeError::new_err("the request has already stopped"))
    }
}

#[pymethods]
impl NativeRequest {
    /// A chunk of `n` output tokens arriving now (`0`: a chunk without tokens, ignored).
    fn tokens(&mut self, n: u64) -> PyResult<()> {
        self.guard()?.tokens(n);
        Ok(())
    }

    /// The prompt's size in tokens.
    fn input_tokens(&mut self, n: u64) -> PyResult<()> {
        self.guard()?.input_tokens(n);
        Ok(())
    }

    /// Output tokens so far.
    #[getter]
    fn output_tokens(&mut self) -> PyResult<u64> {
        Ok(self.guard()?.output_tokens())
    }

    /// Whether the request has not stopped yet.
    #[getter]
    fn active(&self) -> bool {
        self.guard.is_some()
    }

    /// Stops the request with `status` and returns its record.
    #[pyo3(signature = (status="ok"))]
    fn stop(&mut self, py: Python<'_>, status: &str) -> PyResult<Py<PyAny>> {
        let status = parse_status(status)?;
        let guard = self
            .guard
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the request has already stopped"))?;
        python(py, &guard.stop_with(status))
    }
}
