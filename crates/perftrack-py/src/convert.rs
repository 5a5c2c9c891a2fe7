//! serde JSON values to Python objects and back: records, statistics and files are handed to
//! Python as the dicts their serde form describes, and configuration dicts reach the library
//! as JSON, which it validates.

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;

/// A serde value as the Python objects `json.loads` would make of its JSON, made directly
/// (records on the stop path, where a JSON value in between would double the cost).
pub(crate) fn python<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    Ok(pythonize::pythonize(py, value)?.unbind())
}

/// A JSON value as the Python object `json.loads` would make of it.
pub(crate) fn to_py(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_py_any(py)?,
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_py_any(py)?
            } else if let Some(u) = n.as_u64() {
                u.into_py_any(py)?
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_py_any(py)?
            }
        }
        Value::String(s) => s.into_py_any(py)?,
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_py(py, item)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

/// A configuration dict as JSON; a value JSON cannot hold is a `ValueError` naming its key.
pub(crate) fn config_to_json(config: &Bound<'_, PyAny>) -> PyResult<Value> {
    let dict = config.cast::<PyDict>().map_err(|_| {
        PyValueError::new_err(format!(
            "invalid configuration: expected a dict, got {}",
            type_name(config)
        ))
    })?;
    let mut map = serde_json::Map::new();
    for (key, value) in dict.iter() {
        let key: String = key.extract().map_err(|_| {
            PyValueError::new_err(format!(
                "invalid configuration: key {} is not a string",
                key.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
        let value = to_json(&value).ok_or_else(|| {
            PyValueError::new_err(format!(
                "invalid configuration: `{key}`: a {} is not a configuration value",
                type_name(&value)
            ))
        })?;
        map.insert(key, value);
    }
    Ok(Value::Object(map))
}

/// A Python object as JSON, if it is made of JSON's types.
fn to_json(obj: &Bound<'_, PyAny>) -> Option<Value> {
    if obj.is_none() {
        Some(Value::Null)
    } else if obj.is_instance_of::<PyBool>() {
        obj.extract::<bool>().ok().map(Value::Bool)
    } else if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            Some(Value::from(i))
        } else {
            obj.extract::<u64>().ok().map(Value::from)
        }
    } else if obj.is_instance_of::<PyFloat>() {
        let f = obj.extract::<f64>().ok()?;
        serde_json::Number::from_f64(f).map(Value::Number)
    } else if obj.is_instance_of::<PyString>() {
        obj.extract::<String>().ok().map(Value::String)
    } else if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (key, value) in dict.iter() {
            map.insert(key.extract::<String>().ok()?, to_json(&value)?);
        }
        Some(Value::Object(map))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for item in obj.try_iter().ok()? {
            items.push(to_json(&item.ok()?)?);
        }
        Some(Value::Array(items))
    } else {
        None
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "value".to_owned())
}
