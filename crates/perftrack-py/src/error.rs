//! The library's errors as the Python exceptions the package documents (the classes are
//! defined in `perftrack/_errors.py`, so that one can derive from both `KeyError` and
//! `ValueError`).

use perftrack::Error;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Raises the exception class `name` of `perftrack._errors` with `args`.
fn raise<'py>(py: Python<'py>, name: &str, args: PyResult<Bound<'py, PyTuple>>) -> PyErr {
    let made = py
        .import("perftrack._errors")
        .and_then(|module| module.getattr(name))
        .and_then(|class| class.call1(args?));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

/// The Python exception for a library error.
pub(crate) fn to_py_err(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    match err {
        Error::UnknownTrackId { id } | Error::AbandonedSession { id } => {
            raise(py, "UnknownTrackIdError", (message, id).into_pyobject(py))
        }
        Error::DuplicateTrackId { id } => {
            raise(py, "DuplicateTrackIdError", (message, id).into_pyobject(py))
        }
        Error::NoActiveSession => raise(py, "NoActiveSessionError", (message,).into_pyobject(py)),
        Error::InvalidConfig { key, .. } => {
            raise(py, "InvalidConfigError", (message, key).into_pyobject(py))
        }
        Error::Io { path, source } => {
            let filename = path.display().to_string();
            let errno = source.raw_os_error().unwrap_or(0);
            let reason = source.to_string();
            if source.kind() == std::io::ErrorKind::NotFound {
                PyFileNotFoundError::new_err((errno, reason, filename))
            } else {
                PyOSError::new_err((errno, reason, filename))
            }
        }
        Error::MalformedFile {
            path, line, column, ..
        } => raise(
            py,
            "MetricsFileError",
            (
                message,
                path.display().to_string(),
                Some(line),
                Some(column),
            )
                .into_pyobject(py),
        ),
        Error::WrongTrackerType { path, .. }
        | Error::UnsupportedVersion { path, .. }
        | Error::UnsupportedRunVersion { path, .. }
        | Error::IncompatibleFile { path, .. }
        | Error::Serialize { path, .. } => raise(
            py,
            "MetricsFileError",
            (
                message,
                path.display().to_string(),
                None::<usize>,
                None::<usize>,
            )
                .into_pyobject(py),
        ),
        Error::UnknownTrackerType { .. } | Error::InvalidTiming { .. } => {
            PyValueError::new_err(message)
        }
        _ => PyRuntimeError::new_err(message),
    }
}
