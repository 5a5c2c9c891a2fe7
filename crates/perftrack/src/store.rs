//! Metrics files: atomic saves, validated loads, and the Python original's layout
//! (`docs/FORMAT.md` specifies every field).

use std::fs;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result, Timestamp};

/// The value of the `format` key of every perftrack metrics file.
///
/// ```
/// assert_eq!(perftrack::FORMAT_NAME, "perftrack-metrics");
/// ```
pub const FORMAT_NAME: &str = "perftrack-metrics";
/// The newest metrics file version this build writes and reads.
///
/// ```
/// assert_eq!(perftrack::FORMAT_VERSION, 1);
/// ```
pub const FORMAT_VERSION: u32 = 1;
const SUPPORTED: &str = "1, and the Python original's layout without a `format` key";

/// What a tracker's `load_metrics` read: the file's metadata and its records, converted to the
/// loading tracker's unit.
///
/// ```no_run
/// use perftrack::{LatencyConfig, LatencyTracker};
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// let file = tracker.load_metrics("latency.json".as_ref())?;
/// println!("version {} with {} records", file.version, file.records.len());
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricsFile<R> {
    /// The format version: 0 for the Python original's layout.
    pub version: u32,
    /// The tracker type as the file names it (`latency`, or `LatencyTracker` in version 0).
    pub tracker_type: String,
    /// When the tracker that wrote the file started (or was last reset).
    pub start_time: Option<Timestamp>,
    /// When the file was written.
    pub end_time: Option<Timestamp>,
    /// The writer's configuration, as written (version 0 configurations are not validated).
    pub config: serde_json::Value,
    /// The retained records, oldest first, in the loading tracker's unit.
    pub records: Vec<R>,
    /// Measurements counted in the file's statistics whose records were not retained.
    pub dropped_records: u64,
}

/// Which layout a file uses, decided from its top-level keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// perftrack's own format, version 1.
    V1,
    /// The Python original's layout (no `format` key): version 0.
    Python,
}

/// Reads a file, naming it in any error.
pub(crate) fn read(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        Error::MalformedFile {
            path: path.to_owned(),
            line,
            column,
            message: "the file is not UTF-8 text".to_owned(),
        }
    })
}

/// Parses JSON text into `T`, reporting the file, line and column of any problem.
pub(crate) fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|err| malformed(path, &err))
}

fn malformed(path: &Path, err: &serde_json::Error) -> Error {
    let message = match err.classify() {
        serde_json::error::Category::Eof => format!("the file ends too early (truncated?): {err}"),
        _ => err.to_string(),
    };
    // serde_json appends " at line L column C"; the error carries them as fields already.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    Error::MalformedFile {
        path: path.to_owned(),
        line: err.line(),
        column: err.column(),
        message,
    }
}

/// An error about a file's content found after parsing, where no position is known.
pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Error {
    Error::MalformedFile {
        path: path.to_owned(),
        line: 0,
        column: 0,
        message: message.into(),
    }
}

/// An error about the value of a top-level `key`, placed at the key's first occurrence in
/// `text` (1-based line and column; 0 when it does not occur).
pub(crate) fn invalid_at_key(
    path: &Path,
    text: &str,
    key: &str,
    message: impl Into<String>,
) -> Error {
    let (line, column) = match text.find(&format!("\"{key}\"")) {
        Some(offset) => {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
                .chars()
                .count()
                + 1;
            (line, column)
        }
        None => (0, 0),
    };
    Error::MalformedFile {
        path: path.to_owned(),
        line,
        column,
        message: message.into(),
    }
}

/// An error placed at the first character of `text` if that is not the `{` of a JSON object
/// (`None` if it is, or if the text is blank, which the parser reports as truncated).
pub(crate) fn not_an_object(path: &Path, text: &str, message: &str) -> Option<Error> {
    let body = text.trim_start();
    if body.is_empty() || body.starts_with('{') {
        return None;
    }
    let skipped = &text[..text.len() - body.len()];
    let line = skipped.matches('\n').count() + 1;
    let column = skipped.len() - skipped.rfind('\n').map_or(0, |i| i + 1) + 1;
    Some(Error::MalformedFile {
        path: path.to_owned(),
        line,
        column,
        message: message.into(),
    })
}

/// The keys every layout is recognised by.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
    tracker_type: Option<serde_json::Value>,
}

/// Checks the header of a metrics file: the format, the version and that the file belongs to
/// a tracker of type `expected` (`python_name` in version 0).
pub(crate) fn check_header(
    path: &Path,
    text: &str,
    expected: &'static str,
    python_name: &str,
) -> Result<Layout> {
    // A derived `Deserialize` also accepts an array for a struct; the top level must be an
    // object.
    if let Some(err) = not_an_object(
        path,
        text,
        "expected a JSON object with `tracker_type` and `metrics` keys",
    ) {
        return Err(err);
    }
    let header: Header = serde_json::from_str(text).map_err(|err| {
        if err.classify() == serde_json::error::Category::Data {
            Error::MalformedFile {
                path: path.to_owned(),
                line: err.line(),
                column: err.column(),
                message: "expected a JSON object with `tracker_type` and `metrics` keys".into(),
            }
        } else {
            malformed(path, &err)
        }
    })?;
    let tracker_type = match &header.tracker_type {
        Some(serde_json::Value::String(t)) => t.as_str(),
        Some(other) => {
            return Err(invalid(
                path,
                format!("`tracker_type` is {other}, not a string"),
            ));
        }
        None => return Err(invalid(path, "the file has no `tracker_type` key")),
    };
    let Some(format) = header.format else {
        if tracker_type == expected {
            return Err(invalid_at_key(
                path,
                text,
                "tracker_type",
                format!(
                    "the file names tracker type `{expected}` but has no `format` key; \
                     a perftrack metrics file starts with \"format\": \"{FORMAT_NAME}\""
                ),
            ));
        }
        if tracker_type != python_name {
            return Err(Error::WrongTrackerType {
                path: path.to_owned(),
                expected,
                found: tracker_type.to_owned(),
            });
        }
        return Ok(Layout::Python);
    };
    if format != FORMAT_NAME {
        return Err(invalid_at_key(
            path,
            text,
            "format",
            format!("`format` is {format}; a perftrack metrics file says \"{FORMAT_NAME}\""),
        ));
    }
    match header.version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
        Some(other) => {
            return Err(Error::UnsupportedVersion {
                path: path.to_owned(),
                found: other.to_string(),
                supported: SUPPORTED,
            });
        }
        None => {
            return Err(invalid(
                path,
                "the file has a `format` but no `version` key",
            ));
        }
    }
    if tracker_type != expected {
        return Err(Error::WrongTrackerType {
            path: path.to_owned(),
            expected,
            found: tracker_type.to_owned(),
        });
    }
    Ok(Layout::V1)
}

/// Writes `bytes` to `path` atomically with [`AtomicFile::write`](crate::AtomicFile::write): a
/// temporary file in the same directory is written, flushed to disk and renamed over `path`, so
/// readers (and a crash at any moment) see either the old file or the new one, never a part.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::AtomicFile::write(path, bytes)
}

/// Turns an operating-system error about `path` into [`Error::Io`] naming it.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_owned();
    move |source| Error::Io { path, source }
}

/// Serialises `value` as pretty JSON ending in a newline: the text of a metrics file. `path`
/// names the destination in a serialisation error.
pub(crate) fn to_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| Error::Serialize {
        path: path.to_owned(),
        source,
    })?;
    text.push('\n');
    Ok(text)
}

/// What a serialisation error names when metrics are rendered as text rather than saved.
pub(crate) const IN_MEMORY: &str = "<metrics text>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks_name_the_problem() {
        let p = Path::new("m.json");
        let ok = r#"{"format":"perftrack-metrics","version":1,"tracker_type":"latency"}"#;
        assert_eq!(
            check_header(p, ok, "latency", "LatencyTracker").unwrap(),
            Layout::V1
        );
        let py = r#"{"tracker_type":"LatencyTracker","metrics":{}}"#;
        assert_eq!(
            check_header(p, py, "latency", "LatencyTracker").unwrap(),
            Layout::Python
        );
        let future = r#"{"format":"perftrack-metrics","version":2,"tracker_type":"latency"}"#;
        assert!(matches!(
            check_header(p, future, "latency", "LatencyTracker"),
            Err(Error::UnsupportedVersion { .. })
        ));
        let other = r#"{"format":"perftrack-metrics","version":1,"tracker_type":"cpu"}"#;
        assert!(matches!(
            check_header(p, other, "latency", "LatencyTracker"),
            Err(Error::WrongTrackerType { .. })
        ));
        let array = "[1, 2]";
        let err = check_header(p, array, "latency", "LatencyTracker").unwrap_err();
        assert!(matches!(err, Error::MalformedFile { line: 1, .. }), "{err}");
    }

    #[test]
    fn atomic_writes_replace_the_whole_file_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("no/such/dir/m.json");
        match write_atomic(&missing, b"x") {
            // The error names the file asked for, not the temporary.
            Err(Error::Io { path, .. }) => assert_eq!(path, missing),
            other => panic!("{other:?}"),
        }
    }
}

/// A version-1 metrics file of any tracker type (`docs/FORMAT.md` §1).
#[derive(Debug, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileV1<C, R, S> {
    pub(crate) format: String,
    pub(crate) version: u32,
    pub(crate) tracker_type: String,
    pub(crate) start_time: Timestamp,
    pub(crate) end_time: Timestamp,
    pub(crate) config: C,
    pub(crate) metrics: std::collections::BTreeMap<String, Vec<R>>,
    pub(crate) summaries: std::collections::BTreeMap<String, S>,
    pub(crate) dropped_records: u64,
    pub(crate) overflowed_labels: u64,
}

impl<C, R, S> FileV1<C, R, S> {
    /// A file of `tracker_type` with the current format and version.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        tracker_type: &str,
        start_time: Timestamp,
        end_time: Timestamp,
        config: C,
        metric_name: String,
        records: Vec<R>,
        summaries: std::collections::BTreeMap<String, S>,
        dropped_records: u64,
        overflowed_labels: u64,
    ) -> Self {
        Self {
            format: FORMAT_NAME.to_owned(),
            version: FORMAT_VERSION,
            tracker_type: tracker_type.to_owned(),
            start_time,
            end_time,
            config,
            metrics: std::collections::BTreeMap::from([(metric_name, records)]),
            summaries,
            dropped_records,
            overflowed_labels,
        }
    }

    /// Takes the records out of `metrics`, which may hold no key but `metric_name`.
    pub(crate) fn take_records(
        &mut self,
        path: &Path,
        text: &str,
        metric_name: &str,
    ) -> Result<Vec<R>> {
        let records = self.metrics.remove(metric_name).unwrap_or_default();
        if let Some(other) = self.metrics.keys().next() {
            return Err(invalid_at_key(
                path,
                text,
                other,
                format!(
                    "`metrics` holds `{other}`; a version-1 file keeps its records under the \
                     configured `metric_name` (`{metric_name}`) only"
                ),
            ));
        }
        Ok(records)
    }

    /// The measurements all summaries count together (`measurements` counts one summary's),
    /// checked to fit a `u64`. So must `overflowed_labels` plus the measurements of every label
    /// but the unlabelled `""` and `"_other"`: a tracker with a smaller `max_labels` merges
    /// such labels into `"_other"` and adds their measurements to `overflowed_labels`.
    pub(crate) fn check_counts(
        &self,
        path: &Path,
        text: &str,
        measurements: fn(&S) -> u64,
    ) -> Result<u64> {
        let (mut measured, mut mergeable) = (0u64, 0u64);
        for (label, summary) in &self.summaries {
            let n = measurements(summary);
            measured = measured.checked_add(n).ok_or_else(|| {
                invalid_at_key(
                    path,
                    text,
                    "summaries",
                    format!(
                        "`summaries` count more than {} measurements together (the total \
                         overflows at `{label}`)",
                        u64::MAX
                    ),
                )
            })?;
            if !label.is_empty() && label != crate::OVERFLOW_LABEL {
                // At most `measured`, which did not overflow.
                mergeable += n;
            }
        }
        if self.overflowed_labels.checked_add(mergeable).is_none() {
            return Err(invalid_at_key(
                path,
                text,
                "overflowed_labels",
                format!(
                    "`overflowed_labels` ({}) plus the measurements of the labels in `summaries` \
                     ({mergeable}) is more than {}; a tracker with a smaller `max_labels` merges \
                     those labels into `{}` and adds their measurements to it",
                    self.overflowed_labels,
                    u64::MAX,
                    crate::OVERFLOW_LABEL
                ),
            ));
        }
        Ok(measured)
    }

    /// Checks `dropped_records` against the measurements the summaries count and the number of
    /// records that are counted in them.
    pub(crate) fn check_dropped(
        &self,
        path: &Path,
        text: &str,
        measured: u64,
        counted_records: usize,
    ) -> Result<()> {
        if measured.checked_sub(counted_records as u64) == Some(self.dropped_records) {
            return Ok(());
        }
        Err(invalid_at_key(
            path,
            text,
            "dropped_records",
            format!(
                "the summaries count {measured} measurements and the file holds {counted_records} \
                 records counted in them, so `dropped_records` cannot be {}",
                self.dropped_records
            ),
        ))
    }
}

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
    pub(crate) metrics: std::collections::BTreeMap<String, Vec<R>>,
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

/// What a load read, before the tracker installs it: the per-label summaries, how many
/// measurements the file had already sent to `"_other"`, and what `load_metrics` returns.
pub(crate) struct Loaded<S, R> {
    pub(crate) summaries: std::collections::BTreeMap<String, S>,
    pub(crate) overflowed: u64,
    pub(crate) file: MetricsFile<R>,
}

/// How a tracker type reads the version-1 form of its files.
pub(crate) struct V1Rules<C, R, S> {
    /// The configured `metric_name` of a file's config.
    pub(crate) metric_name: fn(&C) -> &str,
    /// Converts a record to the loading tracker's unit.
    pub(crate) convert: Box<dyn Fn(R) -> R>,
    /// How many measurements a summary counts.
    pub(crate) measurements: fn(&S) -> u64,
    /// Whether a record's measurement is counted in the summaries.
    pub(crate) counted: fn(&R) -> bool,
    /// Checks a summary beyond its own deserialisation.
    pub(crate) check: fn(&S) -> std::result::Result<(), String>,
}

/// Reads a version-1 file: its records (converted), its summaries (checked) and a consistent
/// `dropped_records`.
pub(crate) fn load_v1<C, R, S>(
    path: &Path,
    text: &str,
    rules: &V1Rules<C, R, S>,
) -> Result<Loaded<S, R>>
where
    C: DeserializeOwned + serde::Serialize,
    R: DeserializeOwned + Clone,
    S: DeserializeOwned,
{
    let mut file: FileV1<C, R, S> = parse(path, text)?;
    let metric_name = (rules.metric_name)(&file.config).to_owned();
    let records: Vec<R> = file
        .take_records(path, text, &metric_name)?
        .into_iter()
        .map(&rules.convert)
        .collect();
    for (label, summary) in &file.summaries {
        (rules.check)(summary).map_err(|reason| {
            invalid_at_key(path, text, label, format!("summary `{label}`: {reason}"))
        })?;
    }
    let measured = file.check_counts(path, text, rules.measurements)?;
    let counted = records.iter().filter(|r| (rules.counted)(r)).count();
    file.check_dropped(path, text, measured, counted)?;
    Ok(Loaded {
        file: MetricsFile {
            version: file.version,
            tracker_type: file.tracker_type,
            start_time: Some(file.start_time),
            end_time: Some(file.end_time),
            config: serde_json::to_value(&file.config).unwrap_or_default(),
            dropped_records: file.dropped_records,
            records,
        },
        summaries: file.summaries,
        overflowed: file.overflowed_labels,
    })
}

/// Reads a file in the Python original's layout: its records, converted with `convert`, and
/// the summaries `summarize` builds from them (the original saved none).
pub(crate) fn load_python<P, R, S>(
    path: &Path,
    text: &str,
    python_type: &str,
    default_metric_name: &str,
    convert: impl Fn(P) -> R,
    summarize: impl FnOnce(&[R]) -> std::collections::BTreeMap<String, S>,
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

/// The metrics-file methods every tracker has, one shape for all four: saving (to a file or
/// as text), loading (replacing the tracker's state) and merging (adding to it). The tracker
/// provides `render(&self, path) -> Result<String>` and
/// `load_text(&self, text, source, Load) -> Result<MetricsFile<Record>>`; this writes the
/// public methods and their documentation around them.
macro_rules! metrics_file_methods {
    ($tracker:ident, $config:ident, $record:ident, $kind:literal) => {
        #[doc = concat!(
            "Saves records, statistics and configuration as a version-1 metrics file, ",
            "atomically: a temporary file in the same folder is written, flushed to disk and ",
            "renamed, so readers (and a crash at any moment) see the old file or the new one.\n",
            "\n```\n",
            "# use perftrack::{", stringify!($config), ", ", stringify!($tracker), "};\n",
            "let dir = tempfile::tempdir()?;\n",
            "let path = dir.path().join(\"", $kind, ".json\");\n",
            "let tracker = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "tracker.track(\"x\").stop();\n",
            "tracker.save_metrics(&path)?;\n",
            "let restored = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "assert_eq!(restored.load_metrics(&path)?.records, tracker.records());\n",
            "# Ok::<(), Box<dyn std::error::Error>>(())\n",
            "```"
        )]
        pub fn save_metrics(&self, path: &Path) -> Result<()> {
            store::write_atomic(path, self.render(path)?.as_bytes())
        }

        #[doc = concat!(
            "The metrics file [`save_metrics`](Self::save_metrics) would write, as JSON text, ",
            "for storing metrics somewhere other than a file (a database, an object store, a ",
            "larger document). [`load_metrics_json`](Self::load_metrics_json) reads it back.\n",
            "\n```\n",
            "# use perftrack::{", stringify!($config), ", ", stringify!($tracker), "};\n",
            "let tracker = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "let text = tracker.metrics_json()?;\n",
            "let json: serde_json::Value = serde_json::from_str(&text)?;\n",
            "assert_eq!(json[\"tracker_type\"], \"", $kind, "\");\n",
            "# Ok::<(), Box<dyn std::error::Error>>(())\n",
            "```"
        )]
        pub fn metrics_json(&self) -> Result<String> {
            self.render(Path::new(store::IN_MEMORY))
        }

        #[doc = concat!(
            "Loads a metrics file (version 1, or the Python original's layout), replacing this ",
            "tracker's records and statistics with the file's (values converted to this ",
            "tracker's unit), and returns what it read. Active sessions end, as with `reset`. ",
            "Anything else is a clear error naming the file, never a panic.\n",
            "\n```\n",
            "# use perftrack::{", stringify!($config), ", ", stringify!($tracker), ", Error};\n",
            "let tracker = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "let err = tracker.load_metrics(\"/no/such/file.json\".as_ref()).unwrap_err();\n",
            "assert!(matches!(err, Error::Io { .. }));\n",
            "assert!(err.to_string().contains(\"/no/such/file.json\"));\n",
            "```"
        )]
        pub fn load_metrics(&self, path: &Path) -> Result<MetricsFile<$record>> {
            self.load_metrics_json(&store::read(path)?, path)
        }

        #[doc = concat!(
            "Loads metrics from JSON text (what [`metrics_json`](Self::metrics_json) or ",
            "[`save_metrics`](Self::save_metrics) produced, or the Python original's layout) ",
            "exactly as [`load_metrics`](Self::load_metrics) loads a file; `source` names the ",
            "text in errors.\n",
            "\n```\n",
            "# use perftrack::{", stringify!($config), ", ", stringify!($tracker), ", Error};\n",
            "let tracker = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "let err = tracker.load_metrics_json(\"{\\\"format\\\": 1\", \"inline\".as_ref()).unwrap_err();\n",
            "assert!(matches!(err, Error::MalformedFile { line: 1, .. }));\n",
            "assert!(err.to_string().starts_with(\"inline:\"));\n",
            "```"
        )]
        pub fn load_metrics_json(&self, text: &str, source: &Path) -> Result<MetricsFile<$record>> {
            self.load_text(text, source, Load::Replace)
        }

        #[doc = concat!(
            "Adds a metrics file's measurements to this tracker's: summaries of the same label ",
            "merge (percentiles are those of all the measurements together, exact while a label ",
            "holds at most `exact_limit` values and within the sketch's 1 % otherwise), the ",
            "file's records follow the retained ones (at most `max_records` are kept, the oldest ",
            "dropped and counted), and labels past `max_labels` go to `\"_other\"`. Nothing ",
            "running is touched, unlike [`load_metrics`](Self::load_metrics): active sessions ",
            "and measurements in flight go on and are counted when they end, rate windows and ",
            "exported counters keep their values. Returns what the file held.\n",
            "\n```\n",
            "# use perftrack::{", stringify!($config), ", ", stringify!($tracker), "};\n",
            "let dir = tempfile::tempdir()?;\n",
            "let path = dir.path().join(\"other-process.json\");\n",
            "let other = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "other.track(\"stage\").stop();\n",
            "other.save_metrics(&path)?;\n",
            "\n",
            "let tracker = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "tracker.track(\"stage\").stop();\n",
            "tracker.merge_metrics(&path)?;\n",
            "assert_eq!(tracker.records().len(), 2);\n",
            "# Ok::<(), Box<dyn std::error::Error>>(())\n",
            "```"
        )]
        pub fn merge_metrics(&self, path: &Path) -> Result<MetricsFile<$record>> {
            self.merge_metrics_json(&store::read(path)?, path)
        }

        #[doc = concat!(
            "Adds metrics from JSON text to this tracker's, exactly as ",
            "[`merge_metrics`](Self::merge_metrics) adds a file's; `source` names the text in ",
            "errors.\n",
            "\n```\n",
            "# use perftrack::{", stringify!($config), ", ", stringify!($tracker), "};\n",
            "let a = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "a.track(\"stage\").stop();\n",
            "let b = ", stringify!($tracker), "::new(", stringify!($config), "::default());\n",
            "b.track(\"stage\").stop();\n",
            "b.track(\"other\").stop();\n",
            "a.merge_metrics_json(&b.metrics_json()?, \"b.json\".as_ref())?;\n",
            "assert_eq!(a.records().len(), 3);\n",
            "# Ok::<(), Box<dyn std::error::Error>>(())\n",
            "```"
        )]
        pub fn merge_metrics_json(&self, text: &str, source: &Path) -> Result<MetricsFile<$record>> {
            self.load_text(text, source, Load::Merge)
        }
    };
}
pub(crate) use metrics_file_methods;
