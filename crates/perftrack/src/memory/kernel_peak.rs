//! The kernel's high-water mark of a process's resident set (`VmHWM`) is one per process, and
//! resetting it is process-wide. Every tracker that uses it registers here, so that before any
//! reset the current mark is folded into every running session of every tracker that watches
//! the same process.

use std::sync::{Mutex, Weak};

use crate::probe::{Pid, process};
use crate::session::lock;

/// A tracker whose running sessions take the kernel's mark into their peaks.
pub(crate) trait FoldPeak: Send + Sync {
    /// Folds `mark` (bytes) into the peak of every running session that watches `pid`.
    fn fold(&self, pid: Pid, mark: f64);
}

static TRACKERS: Mutex<Vec<Weak<dyn FoldPeak>>> = Mutex::new(Vec::new());

/// Registers a tracker; it stays registered until it is dropped.
pub(crate) fn register(tracker: Weak<dyn FoldPeak>) {
    let mut trackers = lock(&TRACKERS);
    trackers.retain(|t| t.strong_count() > 0);
    trackers.push(tracker);
}

/// Folds `pid`'s current mark into every running session that watches it, then resets the
/// mark to the current resident set. Returns whether the reset happened (it needs Linux and
/// permission to write `/proc/PID/clear_refs`).
pub(crate) fn fold_and_reset(pid: Pid) -> bool {
    // One reset at a time, and no session may start between the fold and the reset.
    let trackers = lock(&TRACKERS);
    let Ok(memory) = process::read(pid) else {
        return false;
    };
    let mark = memory.peak_rss as f64;
    for tracker in trackers.iter().filter_map(Weak::upgrade) {
        tracker.fold(pid, mark);
    }
    process::reset_peak(pid).is_ok()
}
