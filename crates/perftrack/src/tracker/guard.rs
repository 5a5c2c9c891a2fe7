//! `Guard`: a measurement that ends when a value drops.

use super::Lifecycle;
use crate::Status;

/// Measures from its creation until it is dropped or stopped: the Rust form of the Python
/// original's `with tracker:` block, made by [`Tracker::track`](crate::Tracker::track).
///
/// Dropping records the measurement ([`Status::Failed`] if the thread is panicking);
/// [`stop`](Self::stop) records it and returns the record; [`discard`](Self::discard) records
/// nothing. The guard owns everything it needs, so it is `Send + 'static`; it holds the
/// tracker's state, never its sampling thread.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker};
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// let guard = tracker.track("retrieval");
/// let handle = std::thread::spawn(move || {
///     // ... work on another thread ...
///     guard.stop()
/// });
/// let record = handle.join().unwrap();
/// assert_eq!(record.label.as_deref(), Some("retrieval"));
/// ```
#[must_use = "a guard measures until it is dropped; `let _ = tracker.track(..)` drops it at once, use `let _guard`"]
#[derive(Debug)]
pub struct Guard<K: Lifecycle> {
    pub(crate) running: K::Running,
    done: bool,
}

// A panic in user code never leaves the guard or its tracker half-updated (locks ignore
// poisoning and hold no user code).
impl<K: Lifecycle> std::panic::UnwindSafe for Guard<K> {}
impl<K: Lifecycle> std::panic::RefUnwindSafe for Guard<K> {}

impl<K: Lifecycle> Guard<K> {
    pub(crate) fn new(running: K::Running) -> Self {
        Self {
            running,
            done: false,
        }
    }

    /// Ends the measurement now and returns its record.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, MemoryConfig, MemoryUsageTracker, Status};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let record = tracker.track("x").stop();
    /// assert_eq!(record.status, Status::Ok);
    ///
    /// let memory = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
    /// assert_eq!(memory.track("x").stop().label.as_deref(), Some("x"));
    /// ```
    pub fn stop(self) -> K::Record {
        self.stop_with(Status::Ok)
    }

    /// Ends the measurement now with the given status (for example [`Status::Failed`] when
    /// the work returned an error without panicking) and returns its record.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Status};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let record = tracker.track("x").stop_with(Status::Failed);
    /// assert_eq!(tracker.statistics(None).unwrap().failed, 1);
    /// # assert_eq!(record.status, Status::Failed);
    /// ```
    pub fn stop_with(mut self, status: Status) -> K::Record {
        self.done = true;
        K::stop_guard(&mut self.running, status)
    }

    /// Ends the measurement without recording it: no record, no statistics, and its sampling
    /// stops.
    ///
    /// ```
    /// # use perftrack::{CpuConfig, CpuUsageTracker, LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.track("x").discard();
    /// assert!(tracker.statistics(None).is_none());
    ///
    /// let cpu = CpuUsageTracker::new(CpuConfig::default());
    /// cpu.track("abandoned").discard();
    /// assert!(cpu.records().is_empty());
    /// assert_eq!(cpu.active_sessions(), 0);
    /// ```
    pub fn discard(mut self) {
        self.done = true;
        K::discard_guard(&mut self.running);
    }

    /// Ends the measurement as dropping it would, with `status`, unless it has ended.
    #[inline]
    pub(crate) fn end(&mut self, status: Status) {
        if !self.done {
            self.done = true;
            K::drop_guard(&mut self.running, status);
        }
    }
}

impl<K: Lifecycle> Drop for Guard<K> {
    #[inline]
    fn drop(&mut self) {
        self.end(Status::on_drop());
    }
}
