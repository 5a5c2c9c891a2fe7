//! The header every metrics file starts with: its format, version and tracker type, which
//! decide the layout the rest is read with.

use super::{Layout, SUPPORTED, invalid, invalid_at_key, malformed, not_an_object};
use std::path::Path;

use serde::Deserialize;

use crate::{Error, FORMAT_NAME, FORMAT_VERSION, Result};

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
    let version = match &header.version {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| (1..=FORMAT_VERSION).contains(v)),
        _ => None,
    };
    let version = match (version, header.version) {
        (Some(version), _) => version,
        (None, Some(other)) => {
            return Err(Error::UnsupportedVersion {
                path: path.to_owned(),
                found: other.to_string(),
                supported: SUPPORTED,
            });
        }
        (None, None) => {
            return Err(invalid(
                path,
                "the file has a `format` but no `version` key",
            ));
        }
    };
    if tracker_type != expected {
        return Err(Error::WrongTrackerType {
            path: path.to_owned(),
            expected,
            found: tracker_type.to_owned(),
        });
    }
    Ok(Layout::Perftrack(version))
}
