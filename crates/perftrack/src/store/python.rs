//! The Python original's layout (version 0): records only, from which summaries are built.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Loaded, parse};
use crate::{MetricsFile, Result, Timestamp};

/// A metrics file in the Python original's layout (version 0), with records of type `R`.
#[derive(Deserialize)]
pub(crate) struct PythonFile<R> {
    #[serde(default)]
    pub(crate) start_time: Option<Timestamp>,
    #[serde(default)]
    pub(crate) end_time: Option<Timestamp>,
    #[serde(default)]
    pub(crate) config: serde_json::Map<String, serde_json::Value>,
    #[serde(default = "std::collections::BTreeMap::new")]
    pub(crate) metrics: BTreeMap<String, Vec<R>>,
}

impl<R> PythonFile<R> {
    /// The records: those under the configured `metric_name` (the original's `default_name`
    /// when the config has none), or under the only key if there is just one.
    pub(crate) fn take_records(&mut self, default_name: &str) -> Vec<R> {
        let name = self
            .config
            .get("metric_name")
            .and_then(|v| v.as_str())
            .unwrap_or(default_name)
            .to_owned();
        if let Some(records) = self.metrics.remove(&name) {
            return records;
        }
        if self.metrics.len() == 1 {
            return std::mem::take(&mut self.metrics)
                .into_values()
                .next()
                .unwrap_or_default();
        }
        Vec::new()
    }
}

/// Reads a file in the Python original's layout: its records, converted with `convert`, and
/// the summaries `summarize` builds from them (the original saved none).
pub(crate) fn load_python<P, R, S>(
    path: &Path,
    text: &str,
    python_type: &str,
    default_metric_name: &str,
    convert: impl Fn(P) -> R,
    summarize: impl FnOnce(&[R]) -> BTreeMap<String, S>,
) -> Result<Loaded<S, R>>
where
    P: DeserializeOwned,
{
    let mut file: PythonFile<P> = parse(path, text)?;
    let records: Vec<R> = file
        .take_records(default_metric_name)
        .into_iter()
        .map(convert)
        .collect();
    Ok(Loaded {
        summaries: summarize(&records),
        overflowed: 0,
        abandoned: std::collections::BTreeMap::new(),
        file: MetricsFile {
            version: 0,
            tracker_type: python_type.to_owned(),
            start_time: file.start_time,
            end_time: file.end_time,
            config: serde_json::Value::Object(file.config),
            records,
            dropped_records: 0,
        },
    })
}
