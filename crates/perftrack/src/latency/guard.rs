//! `LatencyGuard` and `TimedFuture`: measurements that end when a value drops.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{LatencyRecord, Slot};
use crate::Status;

/// Measures from its creation until it is dropped or stopped: the Rust form of the Python
/// original's `with tracker:` block.
///
/// Dropping records the measurement ([`Status::Failed`] if the thread is panicking);
/// [`stop`](Self::stop) records it and returns the record; [`discard`](Self::discard) records
/// nothing. The guard owns everything it needs, so it is `Send + 'static`.
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
pub struct LatencyGuard {
    slot: Arc<Slot>,
    start: Instant,
    done: bool,
}

// See the same impls on `LatencyTracker`.
impl std::panic::UnwindSafe for LatencyGuard {}
impl std::panic::RefUnwindSafe for LatencyGuard {}

impl LatencyGuard {
    pub(super) fn new(slot: Arc<Slot>, start: Instant) -> Self {
        Self {
            slot,
            start,
            done: false,
        }
    }

    /// The time elapsed so far.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let guard = tracker.track("x");
    /// assert!(guard.elapsed() <= guard.elapsed());
    /// guard.discard();
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.slot.shared.now().saturating_duration_since(self.start)
    }

    /// Records the measurement now and returns its record.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Status};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let record = tracker.track("x").stop();
    /// assert_eq!(record.status, Status::Ok);
    /// ```
    pub fn stop(self) -> LatencyRecord {
        self.stop_with(Status::Ok)
    }

    /// Records the measurement now with the given status (for example
    /// [`Status::Failed`] when the work returned an error) and returns its record.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Status};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let record = tracker.track("x").stop_with(Status::Failed);
    /// assert_eq!(tracker.statistics(None).unwrap().failed, 1);
    /// # assert_eq!(record.status, Status::Failed);
    /// ```
    pub fn stop_with(mut self, status: Status) -> LatencyRecord {
        self.done = true;
        let end = self.slot.shared.now();
        self.slot.finish(None, self.start, end, status)
    }

    /// Ends the measurement without recording it.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// tracker.track("x").discard();
    /// assert!(tracker.statistics(None).is_none());
    /// ```
    pub fn discard(mut self) {
        self.done = true;
    }

    fn finish_with(&mut self, status: Status) {
        if !self.done {
            self.done = true;
            let end = self.slot.shared.now();
            self.slot
                .finish_quiet(end.saturating_duration_since(self.start), end, status);
        }
    }
}

impl Drop for LatencyGuard {
    #[inline]
    fn drop(&mut self) {
        self.finish_with(Status::on_drop());
    }
}

pin_project_lite::pin_project! {
    /// A future timed from its first poll to its completion; made by
    /// [`LatencyTracker::time_async`]. Dropped before completing, it records the time so far
    /// as [`Status::Cancelled`].
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, Status};
    /// let tracker = LatencyTracker::new(LatencyConfig::default());
    /// let future = tracker.time_async("never-finishes", std::future::pending::<()>());
    /// let mut future = Box::pin(future);
    /// let waker = std::task::Waker::noop();
    /// let _ = future.as_mut().poll(&mut std::task::Context::from_waker(&waker));
    /// drop(future);
    /// assert_eq!(tracker.records()[0].status, Status::Cancelled);
    /// # use std::future::Future;
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct TimedFuture<F> {
        #[pin]
        inner: F,
        state: TimedState,
    }
}

#[derive(Debug)]
enum TimedState {
    /// Not polled yet: holds the label's state, to start on the first poll.
    Waiting(Arc<Slot>),
    /// Polled at least once.
    Running(CancelOnDrop),
    Done,
}

/// A running guard that records [`Status::Cancelled`] if dropped before completion.
#[derive(Debug)]
struct CancelOnDrop(LatencyGuard);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let status = if std::thread::panicking() {
            Status::Failed
        } else {
            Status::Cancelled
        };
        self.0.finish_with(status);
    }
}

impl<F> TimedFuture<F> {
    pub(super) fn new(slot: Arc<Slot>, inner: F) -> Self {
        Self {
            inner,
            state: TimedState::Waiting(slot),
        }
    }
}

impl<F: Future> Future for TimedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if let TimedState::Waiting(slot) = &*this.state {
            let guard = LatencyGuard::new(Arc::clone(slot), slot.shared.now());
            *this.state = TimedState::Running(CancelOnDrop(guard));
        }
        let output = this.inner.poll(cx);
        if output.is_ready() {
            if let TimedState::Running(mut running) =
                std::mem::replace(this.state, TimedState::Done)
            {
                // Finished here, the guard records nothing more when `running` drops.
                running.0.finish_with(Status::Ok);
            }
        }
        output
    }
}
