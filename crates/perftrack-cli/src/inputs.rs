//! Reading the files `report`, `compare` and `merge` take: metrics files of any tracker type
//! (version 1 or the Python original's layout), run containers written by `perftrack run -o`,
//! and folders of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use perftrack::{AnyTracker, PerformanceTracker, get_performance_tracker};
use serde_json::Value;

/// The `format` of a run container.
pub(crate) const RUN_FORMAT: &str = "perftrack-run";

/// One tracker's metrics, loaded from a metrics file or from a run container's `trackers`.
#[derive(Debug)]
pub(crate) struct Input {
    /// Where it came from: the file, or `run.json#/trackers/memory` inside a run container.
    pub(crate) source: PathBuf,
    /// `latency`, `throughput`, `memory` or `cpu`.
    pub(crate) kind: &'static str,
    /// A tracker holding the file's records and statistics, configured as the file says.
    pub(crate) tracker: AnyTracker,
    /// The run container's own fields (command, exit, wall time, peaks), if it came from one.
    pub(crate) run: Option<RunInfo>,
}

/// What a run container says about the run besides its trackers.
#[derive(Clone, Debug)]
pub(crate) struct RunInfo {
    /// Its top-level fields other than `trackers`.
    pub(crate) fields: BTreeMap<String, Value>,
}

/// Every metrics file named: files as given, folders expanded to their `*.json` files in name
/// order (not recursively). A folder without any is an error.
pub(crate) fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list the folder {}", path.display()))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list the folder {}", path.display()))?;
        found.retain(|p| p.extension().is_some_and(|e| e == "json") && p.is_file());
        found.sort();
        if found.is_empty() {
            bail!(
                "the folder {} holds no metrics files (*.json)",
                path.display()
            );
        }
        files.extend(found);
    }
    Ok(files)
}

/// Reads every file of `paths` (folders expanded), in order.
pub(crate) fn read_all(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for file in expand(paths)? {
        inputs.extend(read_file(&file)?);
    }
    Ok(inputs)
}

/// Reads one file: a metrics file gives one input, a run container one per tracker.
pub(crate) fn read_file(path: &Path) -> anyhow::Result<Vec<Input>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let Value::Object(object) = &value else {
        bail!(
            "{} is not a metrics file: expected a JSON object",
            path.display()
        );
    };
    if object.get("format").and_then(Value::as_str) == Some(RUN_FORMAT) {
        return read_container(path, object);
    }
    let kind = kind_of(path, &value)?;
    let tracker = load(kind, &value, &text, path)?;
    Ok(vec![Input {
        source: path.to_owned(),
        kind,
        tracker,
        run: None,
    }])
}

/// The tracker type a metrics file names, in perftrack's names.
fn kind_of(path: &Path, value: &Value) -> anyhow::Result<&'static str> {
    let Some(name) = value.get("tracker_type") else {
        bail!(
            "{} is not a metrics file: it has no `tracker_type` (and is no run container)",
            path.display()
        );
    };
    let Some(name) = name.as_str() else {
        bail!("{}: `tracker_type` is {name}, not a string", path.display());
    };
    tracker_kind(name).with_context(|| format!("{}: unknown tracker type", path.display()))
}

/// `latency`, `throughput`, `memory` or `cpu` for a tracker type as perftrack or the Python
/// original names it.
pub(crate) fn tracker_kind(name: &str) -> anyhow::Result<&'static str> {
    Ok(match name {
        "latency" | "LatencyTracker" => "latency",
        "throughput" | "ThroughputTracker" => "throughput",
        "memory" | "MemoryUsageTracker" => "memory",
        "cpu" | "CPUUsageTracker" => "cpu",
        other => bail!(
            "`{other}` (expected latency, throughput, memory or cpu, or the Python original's \
             LatencyTracker, ThroughputTracker, MemoryUsageTracker or CPUUsageTracker)"
        ),
    })
}

/// Builds a tracker of `kind` configured as the file says (its unit, `exact_limit`, ...) and
/// loads the file into it. A configuration this version does not accept (the Python
/// original's files carry their own keys) falls back to the defaults: the loaded values are
/// converted to the tracker's unit either way.
fn load(
    kind: &'static str,
    value: &Value,
    text: &str,
    source: &Path,
) -> anyhow::Result<AnyTracker> {
    let config = value.get("config").filter(|c| c.is_object()).cloned();
    let tracker = match config.map(|c| get_performance_tracker(kind, Some(c))) {
        Some(Ok(tracker)) => tracker,
        _ => get_performance_tracker(kind, None)?,
    };
    tracker
        .load_metrics_json(text, source)
        .with_context(|| format!("cannot load {}", source.display()))?;
    Ok(tracker)
}

/// Reads a run container: one input per nested tracker file.
fn read_container(
    path: &Path,
    object: &serde_json::Map<String, Value>,
) -> anyhow::Result<Vec<Input>> {
    match object.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        other => bail!(
            "{}: run container version {} is not supported (this build reads version 1)",
            path.display(),
            other.map_or_else(|| "(missing)".to_owned(), Value::to_string)
        ),
    }
    let Some(Value::Object(trackers)) = object.get("trackers") else {
        bail!(
            "{}: a run container needs a `trackers` object",
            path.display()
        );
    };
    if trackers.is_empty() {
        bail!("{}: the run container holds no trackers", path.display());
    }
    let fields: BTreeMap<String, Value> = object
        .iter()
        .filter(|(k, _)| k.as_str() != "trackers")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let run = RunInfo { fields };
    let mut inputs = Vec::new();
    for (name, nested) in trackers {
        let source = PathBuf::from(format!("{}#/trackers/{name}", path.display()));
        let kind = tracker_kind(name)
            .with_context(|| format!("{}: unknown tracker type", source.display()))?;
        let named = kind_of(&source, nested)?;
        if named != kind {
            bail!(
                "{}: the file under `{name}` is a {named} metrics file",
                source.display()
            );
        }
        let text = serde_json::to_string(nested)?;
        let tracker = load(kind, nested, &text, &source)?;
        inputs.push(Input {
            source,
            kind,
            tracker,
            run: Some(run.clone()),
        });
    }
    Ok(inputs)
}

/// Inputs grouped by tracker type.
pub(crate) fn by_kind(inputs: &[Input]) -> BTreeMap<&'static str, Vec<&Input>> {
    let mut map: BTreeMap<&'static str, Vec<&Input>> = BTreeMap::new();
    for input in inputs {
        map.entry(input.kind).or_default().push(input);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_and_perftrack_names_map_to_one_kind() {
        assert_eq!(tracker_kind("CPUUsageTracker").unwrap(), "cpu");
        assert_eq!(tracker_kind("latency").unwrap(), "latency");
        assert!(tracker_kind("gpu").is_err());
    }
}
