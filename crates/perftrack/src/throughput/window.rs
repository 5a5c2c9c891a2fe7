//! A sliding window of event counts in a fixed ring of time buckets.
//!
//! The window is split into [`BUCKETS`] buckets of equal width, counted from an origin (the
//! start of a session, or the first use of a label). Memory is fixed whatever the number of
//! events, adding events is O(1), and reading the rate is O(`BUCKETS`). Rates are exact to one
//! bucket: the window read at any moment covers the current, partial bucket and the
//! `BUCKETS - 1` whole buckets before it, and the rate divides by exactly the time those
//! cover.

use std::time::{Duration, Instant};

use crate::stripe::Striped;

/// How many buckets a window has: a 60 s window counts per second.
pub(crate) const BUCKETS: usize = 60;
const N: u64 = BUCKETS as u64;

/// Events counted in time buckets over a sliding window, with the total since it started.
#[derive(Clone, Debug)]
pub struct RateWindow {
    origin: Instant,
    /// The configured window length in seconds, which peaks are divided by (the buckets span
    /// it to within `BUCKETS - 1` nanoseconds).
    length_secs: f64,
    /// Bucket width in nanoseconds (at least 1).
    width: u64,
    counts: [u64; BUCKETS],
    /// The newest bucket the ring holds.
    current: u64,
    /// Events in buckets `current - N + 1 ..= current`.
    sum: u64,
    /// The most events any whole window (`N` buckets, from a multiple of the width) held
    /// among the windows that ended so far; `None` until one has ended.
    peak: Option<u64>,
    /// Every event ever added, in the window or not (a counter for exporters).
    total: u64,
}

/// Nanoseconds from `origin` to `t` (0 if `t` is earlier), saturating after 584 years.
fn nanos_since(origin: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(origin).as_nanos()).unwrap_or(u64::MAX)
}

impl RateWindow {
    pub(crate) fn new(origin: Instant, window: Duration) -> Self {
        let window_nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        Self {
            origin,
            length_secs: window.as_secs_f64(),
            width: (window_nanos / N).max(1),
            counts: [0; BUCKETS],
            current: 0,
            sum: 0,
            peak: None,
            total: 0,
        }
    }

    #[inline]
    fn index(&self, t: Instant) -> u64 {
        self.index_at(nanos_since(self.origin, t))
    }

    /// The bucket of a time `nanos` after the origin.
    #[inline]
    fn index_at(&self, nanos: u64) -> u64 {
        // Most events land in the newest bucket: check that before paying for a division.
        let start = self.current * self.width;
        if nanos >= start && nanos - start < self.width {
            self.current
        } else {
            nanos / self.width
        }
    }

    /// Moves the ring forward to bucket `index`, noting the events of every window that ends
    /// on the way.
    fn advance(&mut self, index: u64) {
        while self.current < index {
            // The window of buckets `current - N + 1 ..= current` ends here; it is whole once
            // `N` buckets have passed since the origin.
            if self.current + 1 >= N {
                self.peak = Some(self.peak.map_or(self.sum, |p| p.max(self.sum)));
            }
            if self.sum == 0 {
                // Every bucket is empty: so is every window still to end before `index`.
                if index >= N {
                    self.peak = Some(self.peak.unwrap_or(0));
                }
                self.current = index;
                return;
            }
            self.current += 1;
            let slot = (self.current % N) as usize;
            self.sum = self.sum.saturating_sub(self.counts[slot]);
            self.counts[slot] = 0;
        }
    }

    /// Adds `n` events that happened at `t`.
    #[cfg(test)]
    pub(crate) fn add(&mut self, t: Instant, n: u64) {
        self.add_at(nanos_since(self.origin, t), n);
    }

    /// Adds `n` events that happened `nanos` after the origin.
    #[inline]
    pub(crate) fn add_at(&mut self, nanos: u64, n: u64) {
        self.total = self.total.saturating_add(n);
        let index = self.index_at(nanos);
        if index > self.current {
            self.advance(index);
        } else if self.current - index >= N {
            // Older than the window (a thread that read the clock before another one recorded
            // a later event): it no longer counts towards the window.
            return;
        }
        // Saturating: a caller's counts near `u64::MAX` pin the window there, never wrap it.
        let slot = &mut self.counts[(index % N) as usize];
        *slot = slot.saturating_add(n);
        self.sum = self.sum.saturating_add(n);
    }

    /// The events in the window that ends at `now`, and the time that window covers: the
    /// current bucket so far and the whole buckets before it, or the time since the origin if
    /// that is shorter.
    pub(crate) fn window(&self, now: Instant) -> (u64, Duration) {
        let index = self.newest(now);
        (self.events_to(index), self.covered(now, index))
    }

    /// The newest bucket of the window that ends at `now`: `now`'s, or the ring's newest if
    /// another thread already counted a later event.
    fn newest(&self, now: Instant) -> u64 {
        (nanos_since(self.origin, now) / self.width).max(self.current)
    }

    /// The events in the window whose newest bucket is `index` (at least the ring's newest).
    fn events_to(&self, index: u64) -> u64 {
        if index >= self.current + N {
            0
        } else {
            // Buckets that left the window between `current` and `index`: those from the
            // ring's oldest, `current - N + 1`, to `index - N`.
            let gone: u64 = if index > self.current && index >= N {
                ((self.current + 1).saturating_sub(N)..=index - N)
                    .map(|b| self.counts[(b % N) as usize])
                    .fold(0, u64::saturating_add)
            } else {
                0
            };
            self.sum.saturating_sub(gone)
        }
    }

    /// The time the window whose newest bucket is `index` covers at `now`.
    fn covered(&self, now: Instant, index: u64) -> Duration {
        let since = nanos_since(self.origin, now);
        let covered_from = (index + 1).saturating_sub(N) * self.width;
        Duration::from_nanos(since.saturating_sub(covered_from))
    }

    /// Every event ever added, including those older than the window.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Events per second in the window ending at `now`; `None` when no time has passed since
    /// the origin.
    pub(crate) fn rate(&self, now: Instant) -> Option<f64> {
        let (events, covered) = self.window(now);
        (!covered.is_zero()).then(|| events as f64 / covered.as_secs_f64())
    }

    /// The highest rate (events per second) over the whole windows that ended by `end`;
    /// `None` if less than one window has passed since the origin.
    pub(crate) fn peak_rate(&mut self, end: Instant) -> Option<f64> {
        self.advance(self.index(end));
        let length = self.length_secs;
        self.peak.map(|events| events as f64 / length)
    }
}

/// A label's window, split into stripes that threads count into apart. Every stripe has the
/// label's origin and bucket width, so their buckets align and reads add them up.
#[derive(Debug)]
pub struct LabelWindow {
    origin: Instant,
    /// The origin as ring entries count time (see recorder.rs).
    origin_at: i64,
    length: Duration,
    stripes: Striped<RateWindow>,
}

impl LabelWindow {
    pub(crate) fn new(origin: Instant, window: Duration, stripes: usize) -> Self {
        Self {
            origin,
            origin_at: crate::recorder::since_base(origin),
            length: window,
            stripes: Striped::new(RateWindow::new(origin, window), stripes),
        }
    }

    /// Adds events (`(time, count)`, oldest first, times as ring entries count them) to
    /// stripe `index`: what a thread's ring recorded.
    pub(crate) fn add_all(&self, index: usize, events: impl Iterator<Item = (i64, u64)>) {
        let mut window = self
            .stripes
            .at(index, || RateWindow::new(self.origin, self.length));
        for (at, n) in events {
            // Before the origin counts as at it, as `nanos_since` has it.
            let nanos = u64::try_from(at.saturating_sub(self.origin_at)).unwrap_or(0);
            window.add_at(nanos, n);
        }
    }

    /// Every event ever added, all stripes together.
    pub(crate) fn total(&self) -> u64 {
        let mut total: u64 = 0;
        self.stripes
            .each(|w| total = w.total().saturating_add(total));
        total
    }

    /// Events per second in the window ending at `now`, all stripes together; `None` when no
    /// time has passed since the origin.
    pub(crate) fn rate(&self, now: Instant) -> Option<f64> {
        // The window ends at the newest bucket any stripe reached, as one window's would.
        let mut index = 0;
        self.stripes.each(|w| index = index.max(w.newest(now)));
        let mut events: u64 = 0;
        let mut covered = Duration::ZERO;
        self.stripes.each(|w| {
            events = events.saturating_add(w.events_to(index.max(w.current)));
            covered = w.covered(now, index);
        });
        (!covered.is_zero()).then(|| events as f64 / covered.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_steady_stream_reads_its_rate() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(t0, Duration::from_secs(60));
        // 100 events per second for 10 s.
        for i in 1..=1000 {
            w.add(t0 + 10 * MS * i, 1);
        }
        let rate = w.rate(t0 + Duration::from_secs(10)).unwrap();
        assert!((rate - 100.0).abs() < 1e-9, "{rate}");
        // After 120 s: only the window's last minute counts, which is empty.
        assert_eq!(w.rate(t0 + Duration::from_secs(130)), Some(0.0));
    }

    #[test]
    fn the_window_slides_by_whole_buckets() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(t0, Duration::from_secs(60));
        w.add(t0 + Duration::from_millis(500), 60); // bucket 0
        w.add(t0 + Duration::from_millis(30_500), 30); // bucket 30
        // At 60.5 s bucket 0 has left: 30 events over the 59.5 s the window covers.
        let (events, covered) = w.window(t0 + Duration::from_millis(60_500));
        assert_eq!(events, 30);
        assert_eq!(covered, Duration::from_millis(59_500));
    }

    #[test]
    fn events_at_the_origin_count_until_they_leave_the_window() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(t0, Duration::from_secs(60));
        w.add(t0, 10);
        assert_eq!(
            w.window(t0 + Duration::from_secs(1)),
            (10, Duration::from_secs(1))
        );
        assert_eq!(w.window(t0 + Duration::from_secs(59)).0, 10);
        assert_eq!(w.window(t0 + Duration::from_secs(60)).0, 0);
    }

    #[test]
    fn one_fresh_event_is_divided_by_the_time_since_the_origin() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(t0, Duration::from_secs(60));
        w.add(t0 + 2 * MS, 1);
        assert_eq!(w.rate(t0 + 2 * MS), Some(500.0));
        assert_eq!(RateWindow::new(t0, Duration::from_secs(60)).rate(t0), None);
    }

    #[test]
    fn the_peak_is_the_busiest_whole_window() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(t0, Duration::from_secs(10));
        for s in 0..60 {
            w.add(t0 + Duration::from_secs(s) + MS, 1);
            if s == 25 {
                w.add(t0 + Duration::from_millis(25_500), 1000);
            }
        }
        // The busiest window holds the burst and ten of the steady events.
        let peak = w.peak_rate(t0 + Duration::from_secs(60)).unwrap();
        assert!((peak - 101.0).abs() < 1e-9, "{peak}");
        let mut short = RateWindow::new(t0, Duration::from_secs(10));
        short.add(t0 + MS, 5);
        assert_eq!(short.peak_rate(t0 + Duration::from_secs(9)), None);
    }

    #[test]
    fn an_empty_whole_window_is_a_peak_of_zero() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(t0, Duration::from_secs(1));
        assert_eq!(w.peak_rate(t0 + Duration::from_secs(5)), Some(0.0));
    }

    #[test]
    fn late_events_from_another_thread_still_count_while_in_the_window() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(t0, Duration::from_secs(60));
        w.add(t0 + Duration::from_secs(5), 1);
        w.add(t0 + Duration::from_secs(4), 1);
        assert_eq!(w.window(t0 + Duration::from_secs(6)).0, 2);
        w.add(t0 + Duration::from_secs(100), 1);
        w.add(t0 + Duration::from_secs(5), 1); // long gone
        assert_eq!(w.window(t0 + Duration::from_secs(100)).0, 1);
        // The total counts every event, late or not.
        assert_eq!(w.total, 4);
    }

    proptest::proptest! {
        /// The window's count equals a direct count of the events inside the span it claims
        /// to cover, and the peak equals the busiest aligned whole window counted directly.
        #[test]
        fn counts_match_a_direct_computation(
            gaps in proptest::collection::vec((0u64..3_000, 1u64..5), 1..200),
            read_after in 0u64..5_000,
        ) {
            let t0 = Instant::now();
            let window = Duration::from_secs(6); // 60 buckets of 100 ms
            let mut w = RateWindow::new(t0, window);
            let mut events = Vec::new();
            let mut t = 0u64;
            for (gap, n) in gaps {
                t += gap;
                w.add(t0 + Duration::from_millis(t), n);
                events.push((t, n));
            }
            let now_ms = t + read_after;
            let (count, covered) = w.window(t0 + Duration::from_millis(now_ms));
            let from_ms = now_ms - covered.as_millis() as u64;
            let direct: u64 = events.iter().filter(|(at, _)| *at >= from_ms).map(|(_, n)| n).sum();
            proptest::prop_assert_eq!(count, direct);
            proptest::prop_assert!(covered <= window);

            let peak = w.peak_rate(t0 + Duration::from_millis(now_ms));
            let whole_windows = (now_ms / 100).saturating_sub(59);
            let busiest = (0..whole_windows)
                .map(|k| {
                    let (lo, hi) = (k * 100, k * 100 + 6_000);
                    events.iter().filter(|(at, _)| (lo..hi).contains(at)).map(|(_, n)| n).sum::<u64>()
                })
                .max();
            proptest::prop_assert_eq!(peak, busiest.map(|e| e as f64 / 6.0));
        }
    }
}
