//! Atomic file writes: a uniquely named temporary file in the target's directory, written,
//! flushed to disk and renamed over the target.

use std::collections::hash_map::RandomState;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::store::io_error;
use crate::{Error, Result};

/// How many temporary names [`AtomicFile::prepare`] tries before it gives up: each try draws
/// a fresh name, so only a directory full of leftovers (or an attacker) exhausts them.
const ATTEMPTS: u32 = 16;

/// A file written atomically: readers of its path (and a crash at any moment) see the old
/// file or the complete new one, never a part.
///
/// [`prepare`](Self::prepare) creates a temporary file with a unique name in the same
/// directory as the path, so that a path that cannot be written is reported before any work
/// is done. The temporary is written through [`io::Write`] or [`file`](Self::file), as the
/// work goes, and [`commit`](Self::commit) flushes it to disk and renames it over the path.
/// An `AtomicFile` dropped without a commit removes its temporary and leaves the path as it
/// was. [`AtomicFile::write`] does all of it for bytes already in memory.
///
/// Every error names the path asked for, never the temporary: what fails (a missing
/// directory, permissions, a full disk) is about the path's place.
///
/// ```
/// use std::io::Write;
/// use perftrack::AtomicFile;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("samples.csv");
/// let mut file = AtomicFile::prepare(&path)?;
/// writeln!(file, "elapsed_seconds,cpu_percent")?;
/// for i in 0..3 {
///     writeln!(file, "{i},{}", 10 * i)?;
/// }
/// assert!(!path.exists(), "nothing is at the path before the commit");
/// file.commit()?;
/// assert_eq!(std::fs::read_to_string(&path)?.lines().count(), 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    // Fields drop in order: the file is closed before the guard removes it.
    file: File,
    path: PathBuf,
    dir: PathBuf,
    temporary: Temporary,
}

/// Removes the temporary file when dropped, unless it was renamed.
#[derive(Debug)]
struct Temporary {
    path: PathBuf,
    renamed: bool,
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.renamed {
            // Best effort: a temporary that cannot be removed is only a leftover.
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl AtomicFile {
    /// Creates a temporary file next to `path` for writing; nothing changes at `path` until
    /// [`commit`](Self::commit).
    ///
    /// The temporary's name (`.{name}.{pid}.{n}.{random}.tmp`) is unique across threads and
    /// processes, and a name that is taken (a leftover of a killed run, in a container where
    /// every run has the same process id) is skipped for another. A path without a file name,
    /// an existing directory, a missing directory or one that cannot be written is an
    /// [`Error::Io`] naming `path`.
    ///
    /// ```
    /// use perftrack::{AtomicFile, Error};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("no/such/folder/run.json");
    /// let err = AtomicFile::prepare(&path).unwrap_err();
    /// assert!(matches!(&err, Error::Io { path: p, .. } if *p == path));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare(path: &Path) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let pid = std::process::id();
        Self::prepare_named(path, |name, _attempt| {
            // Relaxed: the counter only makes names distinct within this process.
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            temporary_name(name, pid, n, random())
        })
    }

    /// [`prepare`](Self::prepare) with the temporary names `names` gives for the file name and
    /// the attempt (0 first).
    fn prepare_named(path: &Path, mut names: impl FnMut(&OsStr, u32) -> String) -> Result<Self> {
        let Some(name) = path.file_name() else {
            return Err(Error::Io {
                path: path.to_owned(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
            });
        };
        // A directory at the path would only fail the rename, after the work.
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(Error::Io {
                path: path.to_owned(),
                source: io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        for attempt in 0..ATTEMPTS {
            let temporary = dir.join(names(name, attempt));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temporary)
            {
                Ok(file) => {
                    return Ok(Self {
                        file,
                        path: path.to_owned(),
                        dir,
                        temporary: Temporary {
                            path: temporary,
                            renamed: false,
                        },
                    });
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(io_error(path)(err)),
            }
        }
        Err(Error::Io {
            path: path.to_owned(),
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("no free temporary file name in {ATTEMPTS} attempts"),
            ),
        })
    }

    /// Writes `bytes` to `path` atomically: [`prepare`](Self::prepare), write and
    /// [`commit`](Self::commit) in one call, like [`std::fs::write`] but never leaving a part.
    ///
    /// ```
    /// use perftrack::AtomicFile;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("report.md");
    /// AtomicFile::write(&path, b"old")?;
    /// AtomicFile::write(&path, b"# Report\n")?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "# Report\n");
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 1, "no temporary is left");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
        let mut file = Self::prepare(path)?;
        file.file.write_all(bytes).map_err(io_error(path))?;
        file.commit()
    }

    /// The path the file is committed to (not the temporary's).
    ///
    /// ```
    /// use perftrack::AtomicFile;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("run.json");
    /// assert_eq!(AtomicFile::prepare(&path)?.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open temporary file, for what [`io::Write`] does not offer (seeking, for one).
    /// Errors of writes made through it name the temporary, not [`path`](Self::path).
    ///
    /// ```
    /// use std::io::{Seek, SeekFrom, Write};
    /// use perftrack::AtomicFile;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("counts.txt");
    /// let mut file = AtomicFile::prepare(&path)?;
    /// file.file().write_all(b"count: ?\n")?;
    /// file.file().seek(SeekFrom::Start(7))?;
    /// file.file().write_all(b"3")?;
    /// file.commit()?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "count: 3\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Flushes the file to disk and renames it over the path, replacing what was there; on
    /// Unix the directory is flushed too, so that the rename survives a crash.
    ///
    /// After an error the path is unchanged and the temporary is removed.
    ///
    /// ```
    /// use std::io::Write;
    /// use perftrack::AtomicFile;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("latency.json");
    /// std::fs::write(&path, "old")?;
    /// let mut file = AtomicFile::prepare(&path)?;
    /// file.write_all(b"new")?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "old");
    /// file.commit()?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "new");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit(self) -> Result<()> {
        let Self {
            mut file,
            path,
            dir,
            mut temporary,
        } = self;
        let io = || io_error(&path);
        file.flush().map_err(io())?;
        file.sync_all().map_err(io())?;
        // Closed before the rename: some platforms cannot rename an open file.
        drop(file);
        fs::rename(&temporary.path, &path).map_err(io())?;
        temporary.renamed = true;
        // Make the rename itself durable. Best effort: the file is in place, and some file
        // systems cannot flush a directory.
        #[cfg(unix)]
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        #[cfg(not(unix))]
        let _ = dir;
        Ok(())
    }
}

/// Writes go to the temporary file; see [`AtomicFile::file`] for what else it offers.
///
/// ```
/// use std::io::Write;
/// use perftrack::AtomicFile;
///
/// let dir = tempfile::tempdir()?;
/// let mut file = AtomicFile::prepare(&dir.path().join("log.txt"))?;
/// write!(file, "{} samples", 3)?;
/// file.commit()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.file.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The temporary's file name for the file `name`, written by process `pid` at the `n`th name
/// this process drew, with `random` telling processes that share a pid apart.
fn temporary_name(name: &OsStr, pid: u32, n: u64, random: u32) -> String {
    format!(".{}.{pid}.{n}.{random:08x}.tmp", name.to_string_lossy())
}

/// 32 bits that differ between calls and between processes: the standard library's randomly
/// keyed hasher over the current time.
fn random() -> u32 {
    let mut hasher = RandomState::new().build_hasher();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    let hash = hasher.finish();
    (hash ^ (hash >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files in `dir`, by name, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_taken_first_name_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        // Another run in a container (pid 1, its counter at 0) was killed and left its
        // temporary; this run draws the same first name.
        let name = |file: &OsStr, attempt: u32| temporary_name(file, 1, u64::from(attempt), 7);
        let leftover = name(OsStr::new("run.json"), 0);
        fs::write(dir.path().join(&leftover), "partial").unwrap();

        let mut file = AtomicFile::prepare_named(&path, name).unwrap();
        file.write_all(b"complete").unwrap();
        file.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "complete");
        // The leftover is not this run's to remove; nothing else is left.
        assert_eq!(names(dir.path()), [leftover, "run.json".to_owned()]);
    }

    #[test]
    fn names_taken_on_every_attempt_are_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        fs::write(dir.path().join(".taken"), "").unwrap();
        match AtomicFile::prepare_named(&path, |_, _| ".taken".to_owned()) {
            Err(Error::Io { path: p, source }) => {
                assert_eq!(p, path);
                assert_eq!(source.kind(), io::ErrorKind::AlreadyExists);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(names(dir.path()), [".taken"]);
    }

    #[test]
    fn names_differ_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let files: Vec<AtomicFile> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| AtomicFile::prepare(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(names(dir.path()).len(), 8);
        for (i, mut file) in files.into_iter().enumerate() {
            write!(file, "{i}").unwrap();
            file.commit().unwrap();
        }
        assert_eq!(names(dir.path()), ["m.json"]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "7");
    }

    #[test]
    fn random_parts_differ_between_calls() {
        let a = temporary_name(OsStr::new("m.json"), 1, 0, random());
        let b = temporary_name(OsStr::new("m.json"), 1, 0, random());
        assert_ne!(a, b);
        assert!(a.starts_with(".m.json.1.0.") && a.ends_with(".tmp"), "{a}");
    }

    #[test]
    fn an_uncommitted_file_removes_its_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        fs::write(&path, "old").unwrap();
        let mut file = AtomicFile::prepare(&path).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(names(dir.path()).len(), 2);
        drop(file);
        assert_eq!(names(dir.path()), ["m.json"]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn errors_name_the_path_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/m.json");
        for result in [
            AtomicFile::prepare(&missing).map(drop),
            AtomicFile::write(&missing, b"x"),
        ] {
            match result {
                Err(Error::Io { path, source }) => {
                    assert_eq!(path, missing);
                    assert_eq!(source.kind(), io::ErrorKind::NotFound);
                }
                other => panic!("{other:?}"),
            }
        }
        // A file where a directory should be: the same for every user, root included.
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let under_a_file = file.join("m.json");
        match AtomicFile::write(&under_a_file, b"x") {
            Err(Error::Io { path, .. }) => assert_eq!(path, under_a_file),
            other => panic!("{other:?}"),
        }
        let err = AtomicFile::prepare(Path::new("/")).unwrap_err();
        assert_eq!(err.to_string(), "/: not a file path");
        let err = AtomicFile::prepare(dir.path()).unwrap_err();
        assert!(
            matches!(&err, Error::Io { path, .. } if path == dir.path()),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_directory_is_an_error_naming_the_path() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        let path = locked.join("m.json");
        let result = AtomicFile::write(&path, b"x");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        if names(&locked).contains(&"m.json".to_owned()) {
            // Permissions do not bind root (containers, CI as root): nothing to check. The
            // test of a file where a directory should be covers root.
            eprintln!("skipped: this user can write a 0555 directory (root)");
            return;
        }
        match result {
            Err(Error::Io { path: p, source }) => {
                assert_eq!(p, path);
                assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
            }
            other => panic!("{other:?}"),
        }
        assert!(names(&locked).is_empty(), "no temporary is left");
    }
}
