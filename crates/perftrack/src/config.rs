//! Reading configurations from JSON with errors that name the key.

use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// Deserialises a configuration, turning any serde error into [`Error::InvalidConfig`] that
/// names the offending key (its dotted path; `.` for the document itself).
pub(crate) fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    // A derived `Deserialize` also accepts an array for a struct; a configuration is an object.
    if !value.is_object() {
        return Err(Error::InvalidConfig {
            key: ".".to_owned(),
            reason: format!(
                "expected a JSON object of configuration keys, found {}",
                match value {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::Object(_) => "an object",
                }
            ),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let key = err.path().to_string();
        Error::InvalidConfig {
            key,
            reason: err.into_inner().to_string(),
        }
    })
}

/// Like [`from_value`], from JSON text.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|err| Error::InvalidConfig {
            key: ".".to_owned(),
            reason: format!("not valid JSON: {err}"),
        })?;
    from_value(value)
}
