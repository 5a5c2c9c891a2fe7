//! The run container: one JSON file with a command's run and its trackers' metrics files
//! (specified in `docs/FORMAT.md`, section "Run container").

use std::collections::BTreeMap;

use perftrack::Timestamp;

use crate::output::Output;
use serde::{Deserialize, Serialize};

/// A run container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunContainer {
    /// Always [`perftrack::RUN_FORMAT_NAME`].
    pub(crate) format: String,
    /// Always [`perftrack::RUN_FORMAT_VERSION`].
    pub(crate) version: u32,
    /// The command's arguments as given (not valid UTF-8: replaced characters).
    pub(crate) command: Vec<String>,
    /// When the command was started.
    pub(crate) start_time: Timestamp,
    /// When its end was noticed.
    pub(crate) end_time: Timestamp,
    /// Seconds from the start to the end (monotonic clock).
    pub(crate) wall_time_seconds: f64,
    /// How it ended.
    pub(crate) exit: ExitJson,
    /// Seconds between samples.
    pub(crate) interval_seconds: f64,
    /// Whether samples covered the command's descendants.
    pub(crate) include_children: bool,
    /// How many samples were taken.
    pub(crate) samples: u64,
    /// CPU time and use.
    pub(crate) cpu: CpuJson,
    /// Memory peaks in bytes.
    pub(crate) peak: PeakJson,
    /// Tracker type → that tracker's metrics file for the run.
    pub(crate) trackers: BTreeMap<String, serde_json::Value>,
    /// What `perftrack collect` received from the command (absent for `perftrack run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) collect: Option<crate::collect::CollectJson>,
}

/// How the command ended: exactly one of the two is set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExitJson {
    /// The exit code, when it exited.
    pub(crate) code: Option<i32>,
    /// The signal that killed it.
    pub(crate) signal: Option<i32>,
}

/// CPU figures of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CpuJson {
    /// User CPU seconds (the kernel's count for the command and the descendants it waited
    /// for).
    pub(crate) user_seconds: f64,
    /// System CPU seconds (same processes).
    pub(crate) system_seconds: f64,
    /// `(user + system) / wall time × 100`; 100 is one core.
    pub(crate) mean_percent: Option<f64>,
    /// The busiest sampling interval's CPU use of the sampled processes.
    pub(crate) peak_percent: Option<f64>,
}

/// Memory peaks of a run, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeakJson {
    /// The largest resident set of any single process (the kernel's figure).
    pub(crate) process_rss: u64,
    /// The largest summed resident set of the sampled processes at one reading.
    pub(crate) tree_rss: Option<u64>,
    /// The largest GPU memory the sampled processes used at one reading.
    pub(crate) gpu_memory: Option<u64>,
}

impl RunContainer {
    /// Writes the container as pretty JSON to `path`, atomically: a temporary file in the
    /// same folder is written, flushed and renamed over `path`.
    pub(crate) fn save(&self, output: Output) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        output.commit(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_round_trips_through_json() {
        let container = RunContainer {
            format: perftrack::RUN_FORMAT_NAME.into(),
            version: perftrack::RUN_FORMAT_VERSION,
            command: vec!["sh".into(), "-c".into(), "exit 3".into()],
            start_time: Timestamp::from_unix_nanos(1_000_000_000),
            end_time: Timestamp::from_unix_nanos(3_500_000_000),
            wall_time_seconds: 2.5,
            exit: ExitJson {
                code: Some(3),
                signal: None,
            },
            interval_seconds: 0.1,
            include_children: true,
            samples: 24,
            cpu: CpuJson {
                user_seconds: 1.0,
                system_seconds: 0.25,
                mean_percent: Some(50.0),
                peak_percent: None,
            },
            peak: PeakJson {
                process_rss: 4096,
                tree_rss: Some(8192),
                gpu_memory: None,
            },
            trackers: BTreeMap::new(),
            collect: None,
        };
        let text = serde_json::to_string(&container).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["start_time"], "1970-01-01T00:00:01.000000000Z");
        assert_eq!(value["exit"]["signal"], serde_json::Value::Null);
        assert_eq!(value["peak"]["gpu_memory"], serde_json::Value::Null);
        let back: RunContainer = serde_json::from_str(&text).unwrap();
        assert_eq!(back, container);
    }

    #[test]
    fn saves_are_atomic_and_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let output = Output::prepare(&path).unwrap();
        assert!(!path.exists(), "nothing is at the path before the commit");
        output.commit(b"{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(Output::prepare(&dir.path().join("missing/run.json")).is_err());
    }
}
