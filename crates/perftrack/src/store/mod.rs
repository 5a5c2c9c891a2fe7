//! Metrics files: atomic saves, validated loads, and the Python original's layout
//! (`docs/FORMAT.md` specifies every field).

use std::fs;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::{Error, Result, Timestamp};

mod file;
mod header;
mod python;

pub(crate) use file::{File, Loaded, Rules, load_file};
pub(crate) use header::check_header;
pub(crate) use python::load_python;

/// The value of the `format` key of every perftrack metrics file.
///
/// ```
/// assert_eq!(perftrack::FORMAT_NAME, "perftrack-metrics");
/// ```
pub const FORMAT_NAME: &str = "perftrack-metrics";
/// The newest metrics file version this build writes and reads.
///
/// ```
/// assert_eq!(perftrack::FORMAT_VERSION, 2);
/// ```
pub const FORMAT_VERSION: u32 = 2;
const SUPPORTED: &str = "1 and 2, and the Python original's layout without a `format` key";

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
    /// perftrack's own format, of this version (1 or 2).
    Perftrack(u32),
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
            Layout::Perftrack(1)
        );
        let py = r#"{"tracker_type":"LatencyTracker","metrics":{}}"#;
        assert_eq!(
            check_header(p, py, "latency", "LatencyTracker").unwrap(),
            Layout::Python
        );
        let two = r#"{"format":"perftrack-metrics","version":2,"tracker_type":"latency"}"#;
        assert_eq!(
            check_header(p, two, "latency", "LatencyTracker").unwrap(),
            Layout::Perftrack(2)
        );
        let future = r#"{"format":"perftrack-metrics","version":3,"tracker_type":"latency"}"#;
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
