//! `TimedFuture`: a future timed from its first poll to its completion.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{Latency, Timing};
use crate::engine::Slot;
use crate::label::Lane;
use crate::{Guard, Status};

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
    Waiting(Arc<Lane<Slot<Latency>>>),
    /// Polled at least once.
    Running(CancelOnDrop),
    Done,
}

/// A running guard that records [`Status::Cancelled`] if dropped before completion.
#[derive(Debug)]
struct CancelOnDrop(Guard<Latency>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let status = if std::thread::panicking() {
            Status::Failed
        } else {
            Status::Cancelled
        };
        self.0.end(status);
    }
}

impl<F> TimedFuture<F> {
    pub(super) fn new(slot: Arc<Lane<Slot<Latency>>>, inner: F) -> Self {
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
            let timing = Timing::start(slot.handle(), &slot.shared);
            let guard = Guard::new(timing);
            *this.state = TimedState::Running(CancelOnDrop(guard));
        }
        let output = this.inner.poll(cx);
        if output.is_ready() {
            if let TimedState::Running(mut running) =
                std::mem::replace(this.state, TimedState::Done)
            {
                // Finished here, the guard records nothing more when `running` drops.
                running.0.end(Status::Ok);
            }
        }
        output
    }
}
