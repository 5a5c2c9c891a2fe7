//! `--csv`: one row per sample, written as the run goes.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::output::Output;

/// The header row.
pub(crate) const HEADER: &str = "elapsed_seconds,cpu_percent,tree_rss_bytes,gpu_bytes";

/// One sample: seconds since the start, CPU % of the sampled processes over the interval
/// that ended then (100 is one core), their summed resident set and GPU memory in bytes.
/// Readings that could not be taken are `None` and written as empty cells.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Row {
    pub(crate) elapsed_seconds: f64,
    pub(crate) cpu_percent: Option<f64>,
    pub(crate) tree_rss_bytes: Option<u64>,
    pub(crate) gpu_bytes: Option<u64>,
}

impl Row {
    /// The row as CSV text with its line end.
    pub(crate) fn to_line(self) -> String {
        fn cell<T: std::fmt::Display>(value: Option<T>) -> String {
            value.map(|v| v.to_string()).unwrap_or_default()
        }
        format!(
            "{:.3},{},{},{}\n",
            self.elapsed_seconds,
            cell(self.cpu_percent.map(|p| format!("{p:.1}"))),
            cell(self.tree_rss_bytes),
            cell(self.gpu_bytes),
        )
    }
}

/// A CSV file being written. A failed write does not stop the run: the first error is kept
/// and reported when the file is finished.
#[derive(Debug)]
pub(crate) struct CsvFile {
    output: Output,
    error: Option<anyhow::Error>,
}

impl CsvFile {
    /// Prepares `path` and writes the header.
    pub(crate) fn create(path: &Path) -> anyhow::Result<Self> {
        let mut output = Output::prepare(path)?;
        writeln!(output.file(), "{HEADER}")
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            output,
            error: None,
        })
    }

    /// Appends a row.
    pub(crate) fn push(&mut self, row: Row) {
        if self.error.is_some() {
            return;
        }
        let result = self
            .output
            .file()
            .write_all(row.to_line().as_bytes())
            .with_context(|| format!("cannot write {}", self.output.path().display()));
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    /// Where the file goes.
    pub(crate) fn path(&self) -> &Path {
        self.output.path()
    }

    /// Flushes the file and moves it to its path, or returns the first error.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        match self.error {
            Some(e) => Err(e),
            None => self.output.commit(b""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_leave_missing_readings_empty() {
        let row = Row {
            elapsed_seconds: 0.1004,
            cpu_percent: Some(99.96),
            tree_rss_bytes: Some(1_048_576),
            gpu_bytes: None,
        };
        assert_eq!(row.to_line(), "0.100,100.0,1048576,\n");
        assert_eq!(Row::default().to_line(), "0.000,,,\n");
        assert_eq!(HEADER.split(',').count(), 4);
    }

    #[test]
    fn a_file_holds_the_header_and_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.csv");
        let mut csv = CsvFile::create(&path).unwrap();
        for i in 0..3 {
            csv.push(Row {
                elapsed_seconds: f64::from(i),
                ..Row::default()
            });
        }
        csv.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{HEADER}\n0.000,,,\n1.000,,,\n2.000,,,\n"));
    }
}
