//! The metrics-file methods of every tracker: saving (to a file or as text), loading
//! (replacing the tracker's state) and merging (adding to it).

use std::path::Path;

use super::{Lifecycle, Settings, Tracker, summarize};
use crate::engine::Load;
use crate::store::{self, Layout, Rules};
use crate::{Error, MetricsFile, Result};

impl<K: Lifecycle> Tracker<K> {
    /// Saves records, statistics and configuration as a version-2 metrics file, atomically:
    /// a temporary file in the same folder is written, flushed to disk and renamed, so
    /// readers (and a crash at any moment) see the old file or the new one.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("latency.json");
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.track("x").stop();
    /// tracker.save_metrics(&path)?;
    /// let restored = LatencyTracker::new(LatencyConfig::default());
    /// assert_eq!(restored.load_metrics(&path)?.records, tracker.records());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_metrics(&self, path: &Path) -> Result<()> {
        store::write_atomic(path, self.engine.render(path)?.as_bytes())
    }

    /// The metrics file [`save_metrics`](Self::save_metrics) would write, as JSON text, for
    /// storing metrics somewhere other than a file (a database, an object store, a larger
    /// document). [`load_metrics_json`](Self::load_metrics_json) reads it back.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker};
    /// let tracker = CpuUsageTracker::new(CpuConfig::default());
    /// let text = tracker.metrics_json()?;
    /// let json: serde_json::Value = serde_json::from_str(&text)?;
    /// assert_eq!(json["tracker_type"], "cpu");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics_json(&self) -> Result<String> {
        self.engine.render(Path::new(store::IN_MEMORY))
    }

    /// Loads a metrics file (version 2 or 1, or the Python original's layout), replacing this
    /// tracker's records and statistics with the file's (values converted to this tracker's
    /// unit), and returns what it read. Active sessions end, as with `reset`. Anything else
    /// is a clear error naming the file, never a panic.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker, Error};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let err = tracker.load_metrics("/no/such/file.json".as_ref()).unwrap_err();
    /// assert!(matches!(err, Error::Io { .. }));
    /// assert!(err.to_string().contains("/no/such/file.json"));
    /// ```
    pub fn load_metrics(&self, path: &Path) -> Result<MetricsFile<K::Record>> {
        self.load_metrics_json(&store::read(path)?, path)
    }

    /// Loads metrics from JSON text (what [`metrics_json`](Self::metrics_json) or
    /// [`save_metrics`](Self::save_metrics) produced, or the Python original's layout)
    /// exactly as [`load_metrics`](Self::load_metrics) loads a file; `source` names the text
    /// in errors.
    ///
    /// ```
    /// # use perftrack::{MemoryConfig, MemoryUsageTracker, Error};
    /// let tracker = MemoryUsageTracker::new(MemoryConfig::default());
    /// let err = tracker.load_metrics_json("{\"format\": 1", "inline".as_ref()).unwrap_err();
    /// assert!(matches!(err, Error::MalformedFile { line: 1, .. }));
    /// assert!(err.to_string().starts_with("inline:"));
    /// ```
    pub fn load_metrics_json(&self, text: &str, source: &Path) -> Result<MetricsFile<K::Record>> {
        self.load_text(text, source, Load::Replace)
    }

    /// Adds a metrics file's measurements to this tracker's: summaries of the same label
    /// merge (percentiles are those of all the measurements together, exact while a label
    /// holds at most `exact_limit` values and within the sketch's bound otherwise), the file's
    /// records follow the retained ones (at most `max_records` are kept, the oldest dropped
    /// and counted), and labels past `max_labels` go to `"_other"`. Nothing running is
    /// touched, unlike [`load_metrics`](Self::load_metrics): active sessions and measurements
    /// in flight go on and are counted when they end, rate windows and exported counters keep
    /// their values. Returns what the file held.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("other-process.json");
    /// let other = LatencyTracker::new(LatencyConfig::default());
    /// other.track("stage").stop();
    /// other.save_metrics(&path)?;
    ///
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.track("stage").stop();
    /// tracker.merge_metrics(&path)?;
    /// assert_eq!(tracker.records().len(), 2);
    /// assert_eq!(tracker.statistics(Some("stage")).unwrap().count, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge_metrics(&self, path: &Path) -> Result<MetricsFile<K::Record>> {
        self.merge_metrics_json(&store::read(path)?, path)
    }

    /// Adds metrics from JSON text to this tracker's, exactly as
    /// [`merge_metrics`](Self::merge_metrics) adds a file's; `source` names the text in
    /// errors.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let a = ThroughputTracker::new(ThroughputConfig::default());
    /// a.track("stage").stop();
    /// let b = ThroughputTracker::new(ThroughputConfig::default());
    /// b.track("stage").stop();
    /// b.track("other").stop();
    /// a.merge_metrics_json(&b.metrics_json()?, "b.json".as_ref())?;
    /// assert_eq!(a.records().len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge_metrics_json(&self, text: &str, source: &Path) -> Result<MetricsFile<K::Record>> {
        self.load_text(text, source, Load::Merge)
    }

    /// Reads metrics text in either layout and installs it.
    fn load_text(&self, text: &str, source: &Path, mode: Load) -> Result<MetricsFile<K::Record>> {
        let kind = self.engine.kind();
        let (file_type, python_type) = (K::KIND.file_type(), K::KIND.python_type());
        let loaded = match store::check_header(source, text, file_type, python_type)? {
            Layout::Perftrack(version) if version < K::FIRST_VERSION => {
                return Err(Error::UnsupportedVersion {
                    path: source.to_path_buf(),
                    found: version.to_string(),
                    supported: "2 for this tracker type, which version 1 did not have",
                });
            }
            Layout::Perftrack(version) => store::load_file::<_, _, K::SummaryV1, _>(
                source,
                text,
                version,
                &Rules {
                    metric_name: <K::Config as Settings>::metric_name,
                    convert: &|record| kind.convert(record),
                    measurements: super::Summary::count,
                    counted: K::counted,
                    check: super::Summary::check,
                    check_record: K::check_record,
                    check_config: &|config| kind.check_file_config(config),
                },
            )?,
            Layout::Python => store::load_python(
                source,
                text,
                python_type,
                K::Config::default().metric_name(),
                |record| kind.python_record(record),
                |records| summarize(kind, records),
            )?,
        };
        Ok(self.engine.install_loaded(loaded, mode))
    }
}
