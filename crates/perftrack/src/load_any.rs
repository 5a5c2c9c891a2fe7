//! Reading a file whose kind is not known in advance: a metrics file of any tracker kind
//! (version 2 or 1, or the Python original's layout) or a run container (`docs/FORMAT.md` §8).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::kind::valid_file_types;
use crate::store::{self, invalid, invalid_at_key};
use crate::{AnyTracker, Error, PerformanceTracker, Result, TrackerKind};

/// The value of the `format` key of a run container, the file `perftrack run -o` writes
/// (`docs/FORMAT.md` §8).
///
/// ```
/// assert_eq!(perftrack::RUN_FORMAT_NAME, "perftrack-run");
/// ```
pub const RUN_FORMAT_NAME: &str = "perftrack-run";

/// The run container version this build writes; it reads this one and every earlier one.
/// Version 2 nests version-2 metrics files (version 1, version-1 ones), so a reader that
/// knows only version-1 metrics files stops at the container's version.
///
/// ```
/// assert_eq!(perftrack::RUN_FORMAT_VERSION, 2);
/// ```
pub const RUN_FORMAT_VERSION: u32 = 2;

/// What [`load_any`] read: the trackers the file holds and, for a run container, the run's
/// own fields.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("latency.json");
/// # perftrack::get_performance_tracker("latency", None)?.save_metrics(&path)?;
/// use perftrack::PerformanceTracker;
///
/// let file = perftrack::load_any(&path)?;
/// for loaded in &file.trackers {
///     println!("{}: {}", loaded.source.display(), loaded.tracker.statistics_json(None));
/// }
/// assert!(file.run.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoadedFile {
    /// One tracker for a metrics file; one per entry of `trackers` for a run container, in
    /// the order of their tracker types' names.
    pub trackers: Vec<LoadedTracker>,
    /// A run container's top-level fields other than `trackers` (`command`, `exit`,
    /// `wall_time_seconds`, `peak`, …), as written; `None` for a metrics file.
    pub run: Option<Map<String, Value>>,
}

/// One tracker of a [`LoadedFile`].
///
/// ```
/// # use perftrack::PerformanceTracker;
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("cpu.json");
/// # perftrack::get_performance_tracker("cpu", Some(serde_json::json!({"sampling_interval": 0})))?
/// #     .save_metrics(&path)?;
/// let file = perftrack::load_any(&path)?;
/// let loaded = &file.trackers[0];
/// assert_eq!(loaded.kind, perftrack::TrackerKind::Cpu);
/// assert_eq!(loaded.source, path);
/// assert!(loaded.tracker.as_cpu().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoadedTracker {
    /// Where the metrics came from: the file, or `run.json#/trackers/memory` for a run
    /// container's nested file. Errors about them name this.
    pub source: PathBuf,
    /// The kind of tracker.
    pub kind: TrackerKind,
    /// A tracker configured as the file says (its unit, `exact_limit`, …), holding the file's
    /// records and statistics. A configuration this build does not accept (the Python
    /// original's files carry keys of their own) gives a tracker with the default
    /// configuration instead; the values are converted to its unit either way.
    pub tracker: AnyTracker,
}

/// Reads a metrics file of any tracker kind (version 2 or 1, or the Python original's layout) or a
/// run container, and loads each tracker it holds into a tracker of its kind, configured as
/// the file says.
///
/// Which it is comes from the file: a run container says `"format": "perftrack-run"`, a
/// metrics file names its kind in `tracker_type` ([`TrackerKind::from_file_type`]). Errors name
/// the file (for a run container's nested file, `run.json#/trackers/memory`): those of the
/// trackers' [`load_metrics`](crate::LatencyTracker::load_metrics), an unknown or missing
/// `tracker_type` ([`Error::MalformedFile`]), a run container of another version
/// ([`Error::UnsupportedRunVersion`]) or without trackers.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker, TrackerKind};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("latency.json");
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// tracker.time("retrieval", || ());
/// tracker.save_metrics(&path)?;
///
/// let file = perftrack::load_any(&path)?;
/// assert_eq!(file.trackers[0].kind, TrackerKind::Latency);
/// let latency = file.trackers[0].tracker.as_latency().expect("a latency tracker");
/// assert_eq!(latency.statistics(Some("retrieval")).unwrap().count, 1);
///
/// let err = perftrack::load_any(&dir.path().join("missing.json")).unwrap_err();
/// assert!(err.to_string().contains("missing.json"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_any(path: &Path) -> Result<LoadedFile> {
    load_any_json(&store::read(path)?, path)
}

/// Reads a metrics file or a run container from JSON text as [`load_any`] reads a file;
/// `source` names the text in errors and is the nested trackers' prefix.
///
/// ```
/// use perftrack::{TrackerKind, get_performance_tracker, PerformanceTracker};
/// use serde_json::json;
///
/// let memory = get_performance_tracker("memory", Some(json!({"track_gpu": false})))?;
/// let container = json!({
///     "format": perftrack::RUN_FORMAT_NAME,
///     "version": perftrack::RUN_FORMAT_VERSION,
///     "command": ["python", "my_rag.py"],
///     "trackers": {"memory": serde_json::from_str::<serde_json::Value>(&memory.metrics_json()?)?},
/// });
/// let file = perftrack::load_any_json(&container.to_string(), "run.json".as_ref())?;
/// assert_eq!(file.run.as_ref().unwrap()["command"][0], "python");
/// assert_eq!(file.trackers[0].kind, TrackerKind::Memory);
/// assert_eq!(file.trackers[0].source.to_str(), Some("run.json#/trackers/memory"));
///
/// let err = perftrack::load_any_json(r#"{"tracker_type": "GpuTracker"}"#, "gpu.json".as_ref())
///     .unwrap_err();
/// assert!(err.to_string().starts_with("gpu.json:1:2: malformed metrics file: unknown tracker type `GpuTracker`"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_any_json(text: &str, source: &Path) -> Result<LoadedFile> {
    if let Some(err) = store::not_an_object(
        source,
        text,
        "expected a JSON object: a metrics file or a run container",
    ) {
        return Err(err);
    }
    let Value::Object(object) = store::parse::<Value>(source, text)? else {
        // Text that starts with `{` and parses is an object.
        return Err(invalid(source, "expected a JSON object"));
    };
    if object.get("format").and_then(Value::as_str) == Some(RUN_FORMAT_NAME) {
        return load_run(source, text, object);
    }
    let kind = kind_of(source, text, &object)?;
    Ok(LoadedFile {
        trackers: vec![load_tracker(kind, object.get("config"), text, source)?],
        run: None,
    })
}

/// The kind a metrics file's `tracker_type` names.
fn kind_of(source: &Path, text: &str, object: &Map<String, Value>) -> Result<TrackerKind> {
    match object.get("tracker_type") {
        Some(Value::String(name)) => TrackerKind::from_file_type(name).ok_or_else(|| {
            invalid_at_key(
                source,
                text,
                "tracker_type",
                format!(
                    "unknown tracker type `{name}` (expected {})",
                    valid_file_types()
                ),
            )
        }),
        Some(other) => Err(invalid_at_key(
            source,
            text,
            "tracker_type",
            format!("`tracker_type` is {other}, not a string"),
        )),
        None => Err(invalid(
            source,
            format!(
                "the file has no `tracker_type` key (and is no run container: those say \
                 \"format\": \"{RUN_FORMAT_NAME}\")"
            ),
        )),
    }
}

/// A tracker of `kind` with the file's `config`, holding the metrics of `text`.
fn load_tracker(
    kind: TrackerKind,
    config: Option<&Value>,
    text: &str,
    source: &Path,
) -> Result<LoadedTracker> {
    let config = config.filter(|c| c.is_object()).cloned();
    let tracker = match config.map(|c| AnyTracker::new(kind, Some(c))) {
        Some(Ok(tracker)) => tracker,
        _ => AnyTracker::new(kind, None)?,
    };
    tracker.load_metrics_json(text, source)?;
    Ok(LoadedTracker {
        source: source.to_owned(),
        kind,
        tracker,
    })
}

/// Reads a run container: the run's fields, and one tracker per nested metrics file, of the
/// kind its key names.
fn load_run(source: &Path, text: &str, mut object: Map<String, Value>) -> Result<LoadedFile> {
    match object.get("version") {
        Some(Value::Number(n))
            if n.as_u64()
                .is_some_and(|v| (1..=u64::from(RUN_FORMAT_VERSION)).contains(&v)) => {}
        Some(other) => {
            return Err(Error::UnsupportedRunVersion {
                path: source.to_owned(),
                found: other.to_string(),
                supported: "1 and 2",
            });
        }
        None => {
            return Err(invalid(
                source,
                format!(
                    "the run container (\"format\": \"{RUN_FORMAT_NAME}\") has no `version` key"
                ),
            ));
        }
    }
    let trackers = match object.remove("trackers") {
        Some(Value::Object(trackers)) if !trackers.is_empty() => trackers,
        Some(Value::Object(_)) => {
            return Err(invalid_at_key(
                source,
                text,
                "trackers",
                "the run container holds no trackers",
            ));
        }
        _ => {
            return Err(invalid_at_key(
                source,
                text,
                "trackers",
                "a run container needs a `trackers` object",
            ));
        }
    };
    let mut loaded = Vec::with_capacity(trackers.len());
    for (name, nested) in &trackers {
        let nested_source = PathBuf::from(format!("{}#/trackers/{name}", source.display()));
        let kind = TrackerKind::from_file_type(name).ok_or_else(|| {
            invalid(
                &nested_source,
                format!(
                    "unknown tracker type `{name}` (expected {})",
                    valid_file_types()
                ),
            )
        })?;
        // The nested file is loaded from its own text, so that its errors are placed in it.
        loaded.push(load_tracker(
            kind,
            nested.get("config"),
            &nested.to_string(),
            &nested_source,
        )?);
    }
    Ok(LoadedFile {
        trackers: loaded,
        run: Some(object),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(text: &str) -> String {
        load_any_json(text, Path::new("f.json"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn files_that_are_neither_say_what_they_lack() {
        assert_eq!(
            error(" [1]"),
            "f.json:1:2: malformed metrics file: expected a JSON object: a metrics file or a run \
             container"
        );
        assert!(error("{").starts_with("f.json:1:1: malformed metrics file: the file ends"));
        assert!(error("{}").contains("no `tracker_type` key"));
        assert_eq!(
            error(r#"{"tracker_type": 3}"#),
            "f.json:1:2: malformed metrics file: `tracker_type` is 3, not a string"
        );
        assert!(error(r#"{"tracker_type": "memory_usage"}"#).contains("unknown tracker type"));
    }

    #[test]
    fn run_containers_are_checked_before_their_trackers() {
        let run = |version: Value, trackers: Value| {
            error(
                &json!({"format": "perftrack-run", "version": version, "trackers": trackers})
                    .to_string(),
            )
        };
        assert_eq!(
            run(json!(3), json!({})),
            "f.json: run container version 3 is not supported (this build reads versions 1 and 2)"
        );
        assert!(run(json!(1), json!({})).ends_with("the run container holds no trackers"));
        assert!(run(json!(1), json!([])).ends_with("a run container needs a `trackers` object"));
        assert!(run(json!(1), json!({"gpu": {}})).starts_with(
            "f.json#/trackers/gpu:0:0: malformed metrics file: unknown tracker type `gpu`"
        ));
        let err = run(
            json!(1),
            json!({"cpu": {"format": "perftrack-metrics", "version": 1, "tracker_type": "latency"}}),
        );
        assert_eq!(
            err,
            "f.json#/trackers/cpu: this is a `latency` metrics file; a `cpu` tracker cannot load it"
        );
    }
}
