//! `ThroughputGuard`: a session owned by a value, stopped when it drops.

use std::time::Instant;

use super::{Session, ThroughputRecord};
use crate::Status;

/// A throughput session that belongs to one value: events are added with
/// [`record`](Self::record), and the session is stopped and recorded when the guard drops
/// (as [`Status::Failed`] if the thread is panicking) or with [`stop`](Self::stop).
///
/// The guard owns its counts, so recording takes no session-table lookup; it is
/// `Send + 'static` and can be moved into a task or held across `.await`.
///
/// ```
/// use perftrack::{ThroughputConfig, ThroughputTracker};
///
/// let tracker = ThroughputTracker::new(ThroughputConfig::default());
/// let mut tokens = tracker.track("generation");
/// for chunk in ["The", " answer", " is", " 42"] {
///     tokens.record(1); // one token per streamed chunk
///     # let _ = chunk;
/// }
/// let record = tokens.stop();
/// assert_eq!(record.count, 4);
/// ```
#[must_use = "a guard counts until it is dropped; `let _ = tracker.track(..)` drops it at once, use `let mut guard`"]
#[derive(Debug)]
pub struct ThroughputGuard {
    session: Session,
    started: Instant,
    done: bool,
}

// A panic in user code never leaves the guard or its tracker half-updated (locks ignore
// poisoning and hold no user code).
impl std::panic::UnwindSafe for ThroughputGuard {}
impl std::panic::RefUnwindSafe for ThroughputGuard {}

impl ThroughputGuard {
    pub(super) fn new(session: Session, started: Instant) -> Self {
        Self {
            session,
            started,
            done: false,
        }
    }

    /// Adds `count` events to the session (and to its label's window).
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let mut guard = tracker.track("documents");
    /// guard.record(10);
    /// guard.record(5);
    /// assert_eq!(guard.count(), 15);
    /// # guard.discard();
    /// ```
    #[inline]
    pub fn record(&mut self, count: u64) {
        let now = self.session.slot.shared.now();
        self.session.add(now, count);
    }

    /// The events recorded so far.
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let guard = tracker.track("documents");
    /// assert_eq!(guard.count(), 0);
    /// # guard.discard();
    /// ```
    pub fn count(&self) -> u64 {
        self.session.count
    }

    /// The session's rate over the last `window_size`, in the tracker's unit; 0 until the
    /// clock has advanced.
    ///
    /// ```
    /// # use perftrack::{ManualClock, ThroughputConfig, ThroughputTracker};
    /// # use std::{sync::Arc, time::Duration};
    /// let clock = Arc::new(ManualClock::new());
    /// let tracker = ThroughputTracker::with_clock(ThroughputConfig::default(), clock.clone());
    /// let mut guard = tracker.track("queries");
    /// clock.advance(Duration::from_secs(2));
    /// guard.record(10);
    /// assert_eq!(guard.current_rate(), 5.0);
    /// # guard.discard();
    /// ```
    pub fn current_rate(&self) -> f64 {
        self.session.rate(self.session.slot.shared.now())
    }

    /// Stops the session now and returns its record.
    ///
    /// ```
    /// # use perftrack::{Status, ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let record = tracker.track("x").stop();
    /// assert_eq!((record.count, record.status), (0, Status::Ok));
    /// ```
    pub fn stop(self) -> ThroughputRecord {
        self.stop_with(Status::Ok)
    }

    /// Stops the session now with the given status and returns its record.
    ///
    /// ```
    /// # use perftrack::{Status, ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// let record = tracker.track("x").stop_with(Status::Failed);
    /// assert_eq!(record.status, Status::Failed);
    /// ```
    pub fn stop_with(mut self, status: Status) -> ThroughputRecord {
        self.done = true;
        let end = self.session.slot.shared.now();
        self.session.finish(None, self.started, end, status)
    }

    /// Ends the session without recording it (its events stay in the label's window).
    ///
    /// ```
    /// # use perftrack::{ThroughputConfig, ThroughputTracker};
    /// let tracker = ThroughputTracker::new(ThroughputConfig::default());
    /// tracker.track("x").discard();
    /// assert!(tracker.records().is_empty());
    /// ```
    pub fn discard(mut self) {
        self.done = true;
    }
}

impl Drop for ThroughputGuard {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            let end = self.session.slot.shared.now();
            self.session
                .finish(None, self.started, end, Status::on_drop());
        }
    }
}
