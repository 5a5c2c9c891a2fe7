//! The metrics-file methods of every tracker, written once.

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
