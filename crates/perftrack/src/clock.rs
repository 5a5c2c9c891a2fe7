//! Where time comes from: a monotonic clock for durations and one wall-clock anchor per tracker
//! for record timestamps.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::Timestamp;

/// A source of time for trackers.
///
/// Durations come from [`now`](Clock::now) only, which must be monotonic. Wall-clock time
/// ([`system_now`](Clock::system_now)) is read once per tracker (and on every reset) to anchor
/// record timestamps, so the hot path reads one clock. [`MonotonicClock`] is the default;
/// [`ManualClock`] makes windows, rates and timestamps exact in tests.
///
/// ```
/// use perftrack::{Clock, MonotonicClock};
///
/// let clock = MonotonicClock;
/// let a = clock.now();
/// let b = clock.now();
/// assert!(b >= a);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current monotonic instant.
    fn now(&self) -> Instant;

    /// The current wall-clock time.
    fn system_now(&self) -> SystemTime;
}

/// The standard clock: [`Instant::now`] and [`SystemTime::now`].
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker, MonotonicClock};
/// use std::sync::Arc;
///
/// let tracker = LatencyTracker::with_clock(LatencyConfig::default(), Arc::new(MonotonicClock));
/// tracker.time("work", || ());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn system_now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to, for deterministic tests.
///
/// Both its monotonic and its wall-clock readings start at fixed points and advance together.
///
/// ```
/// use perftrack::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(clock.now() - start, Duration::from_millis(250));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    wall_base: SystemTime,
    // Nanoseconds since `base`. Relaxed is enough: a reader only needs some value that was
    // stored, and tests that move the clock synchronise with their readers by other means.
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock whose wall-clock reading starts at 2025-01-01T00:00:00Z.
    ///
    /// ```
    /// use perftrack::{Clock, ManualClock};
    /// let clock = ManualClock::new();
    /// assert_eq!(perftrack::Timestamp::from(clock.system_now()).to_string(), "2025-01-01T00:00:00.000000000Z");
    /// ```
    pub fn new() -> Self {
        Self::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600))
    }

    /// A clock whose wall-clock reading starts at `wall`.
    ///
    /// ```
    /// use perftrack::{Clock, ManualClock};
    /// use std::time::SystemTime;
    /// let clock = ManualClock::starting_at(SystemTime::UNIX_EPOCH);
    /// assert_eq!(clock.system_now(), SystemTime::UNIX_EPOCH);
    /// ```
    pub fn starting_at(wall: SystemTime) -> Self {
        Self {
            base: Instant::now(),
            wall_base: wall,
            offset_nanos: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward.
    ///
    /// ```
    /// use perftrack::{Clock, ManualClock};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let before = clock.system_now();
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.system_now().duration_since(before).unwrap(), Duration::from_secs(1));
    /// ```
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::Relaxed))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + self.offset()
    }

    fn system_now(&self) -> SystemTime {
        self.wall_base + self.offset()
    }
}

/// A tracker's clock: the system's monotonic clock, read directly on the record path (no
/// call through a trait object), or the clock a tracker was given.
#[derive(Clone, Debug)]
pub(crate) enum TrackerClock {
    /// [`Instant::now`] and [`SystemTime::now`], as [`MonotonicClock`] reads them.
    System,
    /// A clock given to [`Tracker::with_clock`](crate::Tracker::with_clock).
    Given(Arc<dyn Clock>),
}

impl TrackerClock {
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self {
            Self::System => Instant::now(),
            Self::Given(clock) => clock.now(),
        }
    }

    /// Now, as the record path's rings count time (nanoseconds since the process's base:
    /// `since_base(self.now())`), read without making an `Instant` for the system clock.
    #[inline(always)]
    pub(crate) fn now_nanos(&self) -> i64 {
        match self {
            Self::System => crate::recorder::now(),
            Self::Given(clock) => crate::recorder::since_base(clock.now()),
        }
    }

    pub(crate) fn system_now(&self) -> SystemTime {
        match self {
            Self::System => SystemTime::now(),
            Self::Given(clock) => clock.system_now(),
        }
    }

    /// The clock, as the trait the kinds read it through.
    pub(crate) fn as_clock(&self) -> &dyn Clock {
        match self {
            Self::System => &MonotonicClock,
            Self::Given(clock) => clock.as_ref(),
        }
    }
}

/// One wall-clock reading paired with one monotonic reading, so that later monotonic instants
/// can be labelled with wall-clock timestamps without reading the wall clock again.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anchor {
    instant: Instant,
    wall: Timestamp,
}

impl Anchor {
    pub(crate) fn take(clock: &dyn Clock) -> Self {
        let wall = Timestamp::from(clock.system_now());
        Self {
            instant: clock.now(),
            wall,
        }
    }

    /// The wall-clock time of this anchor.
    pub(crate) fn wall(&self) -> Timestamp {
        self.wall
    }

    /// The monotonic instant of this anchor.
    pub(crate) fn instant(&self) -> Instant {
        self.instant
    }

    /// The wall-clock time of `instant`, derived from the monotonic clock.
    #[inline]
    pub(crate) fn timestamp(&self, instant: Instant) -> Timestamp {
        match instant.checked_duration_since(self.instant) {
            Some(after) => self.wall.saturating_add(after),
            None => self.wall.saturating_sub(self.instant - instant),
        }
    }
}
