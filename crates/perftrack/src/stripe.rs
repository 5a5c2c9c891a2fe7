//! Stripes: a value split into parts that threads update apart, so that threads recording
//! under one label rarely touch the same lock or cache line. Each thread is given a stripe
//! index once (round-robin) and always uses the same stripe of every striped value; readers
//! combine the stripes.

use std::cell::Cell;
use std::num::NonZero;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::session::lock;

/// The most stripes a value is split into.
pub(crate) const MAX_STRIPES: usize = 64;

/// Aligns its content to 128 bytes: a cache line of its own, and the adjacent line that some
/// processors prefetch with it, so that two threads updating neighbouring stripes do not
/// invalidate each other's cache lines. Padding by hand keeps `unsafe` code and a dependency
/// out of the crate.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// How many stripes a striped value has on this machine: the next power of two at least twice
/// the available cores, at most [`MAX_STRIPES`]. Read once per process.
pub(crate) fn stripes() -> usize {
    static STRIPES: OnceLock<usize> = OnceLock::new();
    *STRIPES.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
        cores.saturating_mul(2).next_power_of_two().min(MAX_STRIPES)
    })
}

/// The calling thread's stripe number, assigned round-robin on its first use; the caller
/// reduces it modulo its stripe count (a power of two, or 1).
#[inline]
pub(crate) fn thread_index() -> usize {
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX
        .try_with(|index| match index.get() {
            usize::MAX => {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                // Relaxed: only distinctness matters; taken once per thread.
                let assigned = NEXT.fetch_add(1, Ordering::Relaxed) % MAX_STRIPES;
                index.set(assigned);
                assigned
            }
            assigned => assigned,
        })
        // A thread being torn down uses the first stripe.
        .unwrap_or(0)
}

/// A stripe other than the first: created on first use, on cache lines of its own.
type LazyStripe<T> = OnceLock<Box<Padded<Mutex<T>>>>;

/// A value split into stripes, each behind its own mutex on its own cache lines, created when
/// a thread first uses it. Stripe 0 always exists.
#[derive(Debug)]
pub(crate) struct Striped<T> {
    first: Padded<Mutex<T>>,
    /// Stripes 1 and up, created on first use (empty with one stripe).
    rest: Box<[LazyStripe<T>]>,
}

impl<T> Striped<T> {
    /// `first` in stripe 0 and `count - 1` more stripes (`count` rounded up to a power of
    /// two), created on first use.
    pub(crate) fn new(first: T, count: usize) -> Self {
        let count = count.max(1).next_power_of_two();
        Self {
            first: Padded(Mutex::new(first)),
            rest: (1..count).map(|_| OnceLock::new()).collect(),
        }
    }

    /// How many stripes it has.
    pub(crate) fn count(&self) -> usize {
        self.rest.len() + 1
    }

    /// The calling thread's stripe, locked; `make` builds it on its first use.
    #[inline]
    pub(crate) fn mine(&self, make: impl FnOnce() -> T) -> MutexGuard<'_, T> {
        self.at(thread_index(), make)
    }

    /// Stripe `index` (reduced modulo the stripe count), locked; `make` builds it on its first
    /// use.
    #[inline]
    pub(crate) fn at(&self, index: usize, make: impl FnOnce() -> T) -> MutexGuard<'_, T> {
        // The count is a power of two: `rest.len()` masks the index into it.
        match index & self.rest.len() {
            0 => lock(&self.first.0),
            i => lock(
                &self.rest[i - 1]
                    .get_or_init(|| Box::new(Padded(Mutex::new(make()))))
                    .0,
            ),
        }
    }

    /// The first stripe, locked, for reading: measurements still in threads' rings are
    /// applied first.
    pub(crate) fn first(&self) -> MutexGuard<'_, T> {
        crate::recorder::drain_all();
        lock(&self.first.0)
    }

    /// Every stripe that exists, locked one after the other (never two at once), for
    /// reading: measurements still in threads' rings are applied first.
    pub(crate) fn each(&self, mut f: impl FnMut(&T)) {
        crate::recorder::drain_all();
        f(&lock(&self.first.0));
        for stripe in self.rest.iter().filter_map(OnceLock::get) {
            f(&lock(&stripe.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stripe_count_is_a_power_of_two_within_the_cap() {
        let n = stripes();
        assert!(n.is_power_of_two() && (2..=MAX_STRIPES).contains(&n), "{n}");
    }

    #[test]
    fn a_thread_always_uses_the_same_stripe_and_readers_see_every_one() {
        let striped = Striped::new(0u64, 4);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let index = thread_index();
                    for _ in 0..1000 {
                        *striped.mine(|| 0) += 1;
                        assert_eq!(thread_index(), index);
                    }
                });
            }
        });
        let mut total = 0;
        striped.each(|n| total += n);
        assert_eq!(total, 8000);
        assert_eq!(striped.count(), 4);
        assert_eq!(std::mem::align_of::<Padded<u8>>(), 128);
    }
}
