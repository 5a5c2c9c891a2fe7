//! Wrappers that time a streamed response without touching its items.

use super::Generation;
use crate::{Guard, Status};

/// An iterator of a streamed response, timed as a generation request: made by
/// [`Guard::wrap_iter`](crate::Guard::wrap_iter) or
/// [`GenerationTracker::track_iter`](crate::GenerationTracker::track_iter). Each item is
/// yielded unchanged and counted as a chunk of the tokens its closure gives; the request stops
/// when the iterator ends, and is cancelled if the wrapper drops first (failed while
/// panicking).
///
/// ```
/// use perftrack::{GenerationConfig, GenerationTracker, Status};
///
/// let tracker = GenerationTracker::new(GenerationConfig::default());
/// let mut words = tracker.track_iter("answer", ["one", "two", "three"], |_| 1);
/// assert_eq!(words.next(), Some("one"));
/// drop(words); // the reader stopped early
/// assert_eq!(tracker.records()[0].status, Status::Cancelled);
/// assert_eq!(tracker.records()[0].output_tokens, 1);
/// ```
#[derive(Debug)]
#[must_use = "iterators are lazy: the request is measured as it is read"]
pub struct TrackedIter<I, F> {
    inner: I,
    count: F,
    guard: Option<Guard<Generation>>,
}

impl<I, F> TrackedIter<I, F> {
    pub(super) fn new(guard: Guard<Generation>, inner: I, count: F) -> Self {
        Self {
            inner,
            count,
            guard: Some(guard),
        }
    }
}

impl<I, F> Iterator for TrackedIter<I, F>
where
    I: Iterator,
    F: FnMut(&I::Item) -> u64,
{
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next();
        item_arrived(&mut self.guard, &mut self.count, item.as_ref());
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Counts an item that arrived, or stops the request at the end of the stream.
fn item_arrived<T>(
    guard: &mut Option<Guard<Generation>>,
    count: &mut impl FnMut(&T) -> u64,
    item: Option<&T>,
) {
    match (item, guard.as_mut()) {
        (Some(item), Some(guard)) => guard.tokens(count(item)),
        (None, Some(_)) => {
            if let Some(guard) = guard.take() {
                let _ = guard.stop_with(Status::Ok);
            }
        }
        (_, None) => {}
    }
}

#[cfg(feature = "stream")]
pin_project_lite::pin_project! {
    /// An asynchronous stream of a streamed response, timed as a generation request, as
    /// [`TrackedIter`] times an iterator: made by
    /// [`Guard::wrap_stream`](crate::Guard::wrap_stream) or
    /// [`GenerationTracker::track_stream`](crate::GenerationTracker::track_stream).
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker, Status};
    /// # struct Pending;
    /// # impl futures_core::Stream for Pending {
    /// #     type Item = u8;
    /// #     fn poll_next(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
    /// #         -> std::task::Poll<Option<u8>> { std::task::Poll::Pending }
    /// # }
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// drop(tracker.track_stream("answer", Pending, |_| 1)); // dropped before its end
    /// assert_eq!(tracker.records()[0].status, Status::Cancelled);
    /// ```
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct TrackedStream<S, F> {
        #[pin]
        inner: S,
        count: F,
        guard: Option<Guard<Generation>>,
    }
}

#[cfg(feature = "stream")]
impl<S, F> TrackedStream<S, F> {
    pub(super) fn new(guard: Guard<Generation>, inner: S, count: F) -> Self {
        Self {
            inner,
            count,
            guard: Some(guard),
        }
    }
}

#[cfg(feature = "stream")]
impl<S, F> futures_core::Stream for TrackedStream<S, F>
where
    S: futures_core::Stream,
    F: FnMut(&S::Item) -> u64,
{
    type Item = S::Item;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        let this = self.project();
        let polled = this.inner.poll_next(cx);
        if let std::task::Poll::Ready(item) = &polled {
            item_arrived(this.guard, this.count, item.as_ref());
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
