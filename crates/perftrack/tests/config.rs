//! Configurations read from JSON with the Python original's key names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use perftrack::{Error, LatencyConfig, TimeUnit};

#[test]
fn the_originals_keys_are_a_valid_config() {
    let config = LatencyConfig::from_json(
        r#"{"metric_name": "retrieval_latency", "time_unit": "ms", "include_timestamps": false}"#,
    )
    .unwrap();
    assert_eq!(config.metric_name, "retrieval_latency");
    assert_eq!(config.time_unit, TimeUnit::Milliseconds);
    assert!(!config.include_timestamps);
    assert_eq!(config.max_records, LatencyConfig::default().max_records);
    assert_eq!(
        LatencyConfig::from_json("{}").unwrap(),
        LatencyConfig::default()
    );
}

#[test]
fn a_config_round_trips_through_json() {
    let config = LatencyConfig {
        time_unit: TimeUnit::Nanoseconds,
        max_labels: 5,
        ..Default::default()
    };
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(LatencyConfig::from_json(&json).unwrap(), config);
}

fn invalid(text: &str) -> (String, String) {
    match LatencyConfig::from_json(text).unwrap_err() {
        Error::InvalidConfig { key, reason } => (key, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_key_is_named_with_the_valid_keys() {
    let (key, reason) = invalid(r#"{"time_units": "ms"}"#);
    assert_eq!(key, "time_units");
    for valid in [
        "metric_name",
        "time_unit",
        "include_timestamps",
        "max_records",
        "exact_limit",
        "max_labels",
    ] {
        assert!(reason.contains(valid), "{reason}");
    }
}

#[test]
fn a_bad_value_names_the_key_the_value_and_what_is_accepted() {
    let (key, reason) = invalid(r#"{"time_unit": "minutes"}"#);
    assert_eq!(key, "time_unit");
    assert!(reason.contains("`minutes`"), "{reason}");
    assert!(reason.contains(TimeUnit::ACCEPTED), "{reason}");

    let (key, reason) = invalid(r#"{"max_records": -1}"#);
    assert_eq!(key, "max_records");
    assert!(reason.contains("-1"), "{reason}");

    let (key, _) = invalid(r#"{"include_timestamps": "yes"}"#);
    assert_eq!(key, "include_timestamps");

    let (key, reason) = invalid("[1]");
    assert_eq!(key, ".");
    assert!(reason.contains("expected a JSON object"), "{reason}");

    let (key, reason) = invalid("{");
    assert_eq!(key, ".");
    assert!(reason.contains("not valid JSON"), "{reason}");
}

#[test]
fn the_error_message_reads_well() {
    let err = LatencyConfig::from_json(r#"{"time_unit": "fortnight"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid configuration: `time_unit`: `fortnight` is not a time unit; expected one of: {}",
            TimeUnit::ACCEPTED
        )
    );
}
