//! Reading the files `report`, `compare` and `merge` take: metrics files of any tracker type
//! (version 1 or the Python original's layout), run containers written by `perftrack run -o`,
//! and folders of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use perftrack::{AnyTracker, TrackerKind};
use serde_json::Value;

/// One tracker's metrics, loaded from a metrics file or from a run container's `trackers`.
#[derive(Debug)]
pub(crate) struct Input {
    /// Where it came from: the file, or `run.json#/trackers/memory` inside a run container.
    pub(crate) source: PathBuf,
    /// The kind of tracker.
    pub(crate) kind: TrackerKind,
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

/// Reads one file: a metrics file gives one input, a run container one per tracker. The
/// library tells which it is and names the file in its errors.
pub(crate) fn read_file(path: &Path) -> anyhow::Result<Vec<Input>> {
    let file = perftrack::load_any(path)?;
    let run = file.run.map(|fields| RunInfo {
        fields: fields.into_iter().collect(),
    });
    Ok(file
        .trackers
        .into_iter()
        .map(|loaded| Input {
            source: loaded.source,
            kind: loaded.kind,
            tracker: loaded.tracker,
            run: run.clone(),
        })
        .collect())
}

/// Inputs grouped by tracker type, in the order of the types' names.
pub(crate) fn by_kind(inputs: &[Input]) -> BTreeMap<&'static str, Vec<&Input>> {
    let mut map: BTreeMap<&'static str, Vec<&Input>> = BTreeMap::new();
    for input in inputs {
        map.entry(input.kind.file_type()).or_default().push(input);
    }
    map
}
