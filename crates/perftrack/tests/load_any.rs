//! `load_any`: metrics files of every kind and layout, and run containers, give the trackers
//! that loading them with a tracker of their kind gives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use perftrack::{AnyTracker, PerformanceTracker, TrackerKind, load_any};
use serde_json::{Value, json};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn json_of(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The metrics of `path` loaded by a tracker of `kind` configured with the file's `config`.
fn loaded_directly(kind: TrackerKind, path: &Path) -> String {
    let tracker = AnyTracker::new(kind, json_of(path).get("config").cloned())
        .unwrap_or_else(|_| AnyTracker::new(kind, None).unwrap());
    tracker.load_metrics(path).unwrap();
    tracker.metrics_json().unwrap()
}

/// Metrics text without its `end_time`, which says when it was rendered.
fn without_end_time(text: &str) -> Value {
    let mut value: Value = serde_json::from_str(text).unwrap();
    value["end_time"] = Value::Null;
    value
}

#[test]
fn metrics_files_of_every_kind_and_layout_load_as_their_kind() {
    for (file, kind) in [
        ("golden/latency-v1.json", TrackerKind::Latency),
        ("golden/throughput-v1.json", TrackerKind::Throughput),
        ("golden/memory-v1.json", TrackerKind::Memory),
        ("golden/cpu-v1.json", TrackerKind::Cpu),
        ("python/latency.json", TrackerKind::Latency),
        ("python/throughput.json", TrackerKind::Throughput),
        ("python/memory.json", TrackerKind::Memory),
        ("python/cpu.json", TrackerKind::Cpu),
    ] {
        let path = data(file);
        let loaded = load_any(&path).unwrap();
        assert!(loaded.run.is_none(), "{file}");
        let [one] = loaded.trackers.as_slice() else {
            panic!("{file}: {} trackers", loaded.trackers.len());
        };
        assert_eq!((one.kind, one.tracker.kind()), (kind, kind), "{file}");
        assert_eq!(one.source, path);
        assert_eq!(
            without_end_time(&one.tracker.metrics_json().unwrap()),
            without_end_time(&loaded_directly(kind, &path)),
            "{file}"
        );
    }
}

#[test]
fn a_run_container_gives_each_nested_tracker_and_the_runs_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let container = json!({
        "format": perftrack::RUN_FORMAT_NAME,
        "version": perftrack::RUN_FORMAT_VERSION,
        "command": ["python", "my_rag.py"],
        "exit": {"code": 0, "signal": null},
        "trackers": {
            "memory": json_of(&data("golden/memory-v1.json")),
            "cpu": json_of(&data("golden/cpu-v1.json")),
        },
    });
    std::fs::write(&path, container.to_string()).unwrap();
    let loaded = load_any(&path).unwrap();

    let run = loaded.run.as_ref().unwrap();
    assert_eq!(run["command"], json!(["python", "my_rag.py"]));
    assert_eq!(run["exit"]["code"], 0);
    assert!(!run.contains_key("trackers"));

    let got: Vec<(String, TrackerKind)> = loaded
        .trackers
        .iter()
        .map(|t| (t.source.display().to_string(), t.kind))
        .collect();
    let at = |kind: &str| format!("{}#/trackers/{kind}", path.display());
    assert_eq!(
        got,
        [
            (at("cpu"), TrackerKind::Cpu),
            (at("memory"), TrackerKind::Memory)
        ]
    );
    for t in &loaded.trackers {
        let file = data(&format!("golden/{}-v1.json", t.kind));
        assert_eq!(
            without_end_time(&t.tracker.metrics_json().unwrap()),
            without_end_time(&loaded_directly(t.kind, &file)),
            "{}",
            t.source.display()
        );
    }
}

#[test]
fn a_nested_files_errors_name_it_inside_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let mut latency = json_of(&data("golden/latency-v1.json"));
    latency["dropped_records"] = json!(7);
    let container =
        json!({"format": "perftrack-run", "version": 1, "trackers": {"latency": latency}});
    std::fs::write(&path, container.to_string()).unwrap();
    let err = load_any(&path).unwrap_err().to_string();
    let nested = format!("{}#/trackers/latency:", path.display());
    assert!(
        err.starts_with(&nested) && err.contains("dropped_records"),
        "{err}"
    );
}

/// Takes every `sketch` out of `value` (checking that it is on the current grid), and counts
/// them.
fn without_sketches(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => {
            let mut n = 0;
            if let Some(sketch) = map.remove("sketch") {
                assert_eq!(sketch["scale"], 6, "{sketch}");
                n += 1;
            }
            n + map.values_mut().map(without_sketches).sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(without_sketches).sum(),
        _ => 0,
    }
}

/// A throughput file as version 1 saved it: every label's `events` 0, and no label that only
/// counted events.
fn without_label_counts(file: &mut Value) {
    let summaries = file["summaries"].as_object_mut().unwrap();
    summaries.retain(|_, summary| summary["session_rates"]["count"] != 0);
    for summary in summaries.values_mut() {
        summary["events"] = Value::from(0);
    }
}

#[test]
fn version_1_files_with_sketches_of_the_grid_before_load_as_version_2_files() {
    // The version-1 golden files were written before the sketch moved to the base-2
    // exponential grid: every sketch `"relative_accuracy": 0.01`. Their summaries keep exact
    // values, so everything but the sketches' buckets loads as the version-2 golden files.
    for kind in ["latency", "throughput", "memory", "cpu"] {
        let old = data(&format!("golden/{kind}-v1.json"));
        let text = std::fs::read_to_string(&old).unwrap();
        assert!(text.contains("\"relative_accuracy\": 0.01"), "{kind}");
        assert!(!text.contains("\"scale\""), "{kind}");
        let loaded = load_any(&old).unwrap();
        let mut from_old = without_end_time(&loaded.trackers[0].tracker.metrics_json().unwrap());
        let current = data(&format!("golden-v2/{kind}-v2.json"));
        let loaded = load_any(&current).unwrap();
        let mut from_current =
            without_end_time(&loaded.trackers[0].tracker.metrics_json().unwrap());
        if kind == "throughput" {
            // Version 1 did not save label counts: the same file without them.
            without_label_counts(&mut from_current);
        }
        let sketches = without_sketches(&mut from_old);
        assert!(sketches > 0, "{kind}");
        assert_eq!(sketches, without_sketches(&mut from_current), "{kind}");
        assert_eq!(from_old, from_current, "{kind}");
    }
}
