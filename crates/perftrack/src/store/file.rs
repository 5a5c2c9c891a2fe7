//! perftrack's own metrics file, versions 1 and 2 (`docs/FORMAT.md` §1–§5): its layout, how it
//! is assembled from a tracker's records and summaries, and how it is read back and checked.
//! The two versions share the layout; version 2 adds `abandoned_sessions`, and a kind may save
//! a different summary (throughput adds its label counts).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{invalid_at_key, parse};
use crate::{Error, FORMAT_NAME, FORMAT_VERSION, MetricsFile, Result, Timestamp};

/// A metrics file of any tracker type (`docs/FORMAT.md` §1).
#[derive(Debug, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File<C, R, S> {
    pub(crate) format: String,
    pub(crate) version: u32,
    pub(crate) tracker_type: String,
    pub(crate) start_time: Timestamp,
    pub(crate) end_time: Timestamp,
    pub(crate) config: C,
    pub(crate) metrics: BTreeMap<String, Vec<R>>,
    pub(crate) summaries: BTreeMap<String, S>,
    pub(crate) dropped_records: u64,
    pub(crate) overflowed_labels: u64,
    /// Sessions ended because more than `max_sessions` were active, by label (version 2).
    #[serde(default)]
    pub(crate) abandoned_sessions: BTreeMap<String, u64>,
}

impl<C, R, S> File<C, R, S> {
    /// A file of `tracker_type` with the current format and version.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        tracker_type: &str,
        start_time: Timestamp,
        end_time: Timestamp,
        config: C,
        metric_name: String,
        records: Vec<R>,
        summaries: BTreeMap<String, S>,
        dropped_records: u64,
        overflowed_labels: u64,
        abandoned_sessions: BTreeMap<String, u64>,
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
            abandoned_sessions,
        }
    }

    /// The same file with each summary converted (a version-1 summary to today's).
    fn map_summaries<T>(self, f: impl Fn(S) -> T) -> File<C, R, T> {
        File {
            format: self.format,
            version: self.version,
            tracker_type: self.tracker_type,
            start_time: self.start_time,
            end_time: self.end_time,
            config: self.config,
            metrics: self.metrics,
            summaries: self.summaries.into_iter().map(|(l, s)| (l, f(s))).collect(),
            dropped_records: self.dropped_records,
            overflowed_labels: self.overflowed_labels,
            abandoned_sessions: self.abandoned_sessions,
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
                    "`metrics` holds `{other}`; a metrics file keeps its records under the \
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

/// What a load read, before the tracker installs it: the per-label summaries, how many
/// measurements the file had already sent to `"_other"`, the sessions it counts as abandoned,
/// and what `load_metrics` returns.
pub(crate) struct Loaded<S, R> {
    pub(crate) summaries: BTreeMap<String, S>,
    pub(crate) overflowed: u64,
    pub(crate) abandoned: BTreeMap<String, u64>,
    pub(crate) file: MetricsFile<R>,
}

/// How a tracker type reads its files.
pub(crate) struct Rules<'a, C, R, S> {
    /// The configured `metric_name` of a file's config.
    pub(crate) metric_name: fn(&C) -> &str,
    /// Converts a record to the loading tracker's unit.
    pub(crate) convert: &'a dyn Fn(R) -> R,
    /// How many measurements a summary counts.
    pub(crate) measurements: fn(&S) -> u64,
    /// Whether a record's measurement is counted in the summaries.
    pub(crate) counted: fn(&R) -> bool,
    /// Checks a summary beyond its own deserialisation.
    pub(crate) check: fn(&S) -> std::result::Result<(), String>,
    /// Checks a record beyond its own deserialisation.
    pub(crate) check_record: fn(&R) -> std::result::Result<(), String>,
    /// Whether the loading tracker can take a file of this configuration.
    pub(crate) check_config: &'a dyn Fn(&C) -> std::result::Result<(), String>,
}

/// Reads a file of `version` (1 or 2, as its header said): its records (converted), its
/// summaries (a version-1 summary read as `S1` and converted; checked) and a consistent
/// `dropped_records`.
pub(crate) fn load_file<C, R, S1, S>(
    path: &Path,
    text: &str,
    version: u32,
    rules: &Rules<'_, C, R, S>,
) -> Result<Loaded<S, R>>
where
    C: DeserializeOwned + serde::Serialize,
    R: DeserializeOwned + Clone,
    S1: DeserializeOwned + Into<S>,
    S: DeserializeOwned,
{
    let mut file: File<C, R, S> = if version == 1 {
        let file: File<C, R, S1> = parse(path, text)?;
        if !file.abandoned_sessions.is_empty() {
            return Err(invalid_at_key(
                path,
                text,
                "abandoned_sessions",
                "`abandoned_sessions` is a version-2 key; a version-1 file has none",
            ));
        }
        file.map_summaries(Into::into)
    } else {
        parse(path, text)?
    };
    (rules.check_config)(&file.config).map_err(|reason| Error::IncompatibleFile {
        path: path.to_path_buf(),
        reason,
    })?;
    let metric_name = (rules.metric_name)(&file.config).to_owned();
    let records = file.take_records(path, text, &metric_name)?;
    for (i, record) in records.iter().enumerate() {
        (rules.check_record)(record).map_err(|reason| {
            invalid_at_key(path, text, &metric_name, format!("record {i}: {reason}"))
        })?;
    }
    let records: Vec<R> = records.into_iter().map(rules.convert).collect();
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
        abandoned: file.abandoned_sessions,
    })
}
