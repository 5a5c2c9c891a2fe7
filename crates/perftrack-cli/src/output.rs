//! Writing a subcommand's output: to standard output, or atomically to a file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

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
/// is reported before a long run, not after it), and written atomically at the end: a
/// temporary file in the same folder is written, flushed to disk and renamed over the path,
/// so readers see the old file or the new one, never a part. An output that is never
/// committed removes its temporary file.
#[derive(Debug)]
pub(crate) struct Output {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl Output {
    /// Creates the temporary file next to `path`.
    pub(crate) fn prepare(path: &Path) -> anyhow::Result<Self> {
        let Some(name) = path.file_name() else {
            anyhow::bail!("{}: not a file path", path.display());
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            tmp,
            file: Some(file),
        })
    }

    /// The open temporary file, for writing as the run goes.
    pub(crate) fn file(&mut self) -> anyhow::Result<&mut File> {
        self.file
            .as_mut()
            .with_context(|| format!("{} was already written", self.path.display()))
    }

    /// Where the file goes.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes`, flushes to disk and renames the file to its path.
    pub(crate) fn commit(mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.path.clone();
        let file = self.file()?;
        let write = |file: &mut File| -> std::io::Result<()> {
            file.write_all(bytes)?;
            file.flush()?;
            file.sync_all()
        };
        write(file).with_context(|| format!("cannot write {}", path.display()))?;
        self.file = None;
        fs::rename(&self.tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
