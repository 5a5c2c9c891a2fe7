//! Writing a subcommand's output: to standard output, or atomically to a file.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use perftrack::AtomicFile;

/// Writes `text` to `path` (a temporary file in the same folder, flushed to disk and renamed
/// over it, so readers never see a part), or to standard output without one.
pub(crate) fn write(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    let Some(path) = path else {
        let mut stdout = std::io::stdout().lock();
        return match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            // A closed pipe (`| head`) is the reader's choice, not an error.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to standard output"),
        };
    };
    Output::prepare(path)?.commit(text.as_bytes())
}

/// An output file prepared before the command starts (so that a path that cannot be written
/// is reported before a long run, not after it), and written atomically at the end with the
/// library's [`AtomicFile`]: a temporary file in the same folder is written, flushed to disk
/// and renamed over the path, so readers see the old file or the new one, never a part. An
/// output that is never committed removes its temporary file.
#[derive(Debug)]
pub(crate) struct Output {
    file: AtomicFile,
}

impl Output {
    /// Creates the temporary file next to `path`.
    pub(crate) fn prepare(path: &Path) -> anyhow::Result<Self> {
        let file = AtomicFile::prepare(path).map_err(|e| cannot_write(path, e))?;
        Ok(Self { file })
    }

    /// The open temporary file, for writing as the run goes.
    pub(crate) fn file(&mut self) -> &mut File {
        self.file.file()
    }

    /// Where the file goes.
    pub(crate) fn path(&self) -> &Path {
        self.file.path()
    }

    /// Appends `bytes`, flushes to disk and renames the file to its path.
    pub(crate) fn commit(mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.path().to_owned();
        self.file
            .write_all(bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.file.commit().map_err(|e| cannot_write(&path, e))
    }
}

/// "cannot write PATH" with the operating system's reason (the library's error names the path
/// too, which the context already does).
fn cannot_write(path: &Path, err: perftrack::Error) -> anyhow::Error {
    let err = match err {
        perftrack::Error::Io { source, .. } => anyhow::Error::new(source),
        other => anyhow::Error::new(other),
    };
    err.context(format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unwritable_path_is_named_once_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/run.json");
        let err = Output::prepare(&path).unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.starts_with(&format!("cannot write {}: ", path.display())),
            "{message}"
        );
        assert_eq!(message.matches("run.json").count(), 1, "{message}");
    }

    #[test]
    fn an_output_written_as_it_goes_is_committed_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.csv");
        let mut output = Output::prepare(&path).unwrap();
        output.file().write_all(b"header\n").unwrap();
        output.commit(b"row\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "header\nrow\n");

        let mut output = Output::prepare(&path).unwrap();
        output.file().write_all(b"partial").unwrap();
        drop(output);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "header\nrow\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
