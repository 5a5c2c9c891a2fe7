//! A bounded timeline of samples: once full, neighbouring samples are merged in pairs, and
//! later samples in groups as large, so the kept ones stay spread evenly over the session.

use crate::Timestamp;

/// At most `max` samples, oldest first. Merging keeps the earlier timestamp and combines the
/// values with the timeline's `merge` function (the worst of each memory reading; the
/// time-weighted average of CPU readings).
#[derive(Clone, Debug)]
pub(crate) struct Timeline<T> {
    max: usize,
    kept: Vec<(Timestamp, T)>,
    /// How many samples each kept one stands for.
    stride: usize,
    pending: Option<(Timestamp, T, usize)>,
    merge: fn(&T, &T) -> T,
}

impl<T: Clone> Timeline<T> {
    pub(crate) fn new(max: usize, merge: fn(&T, &T) -> T) -> Self {
        Self {
            max,
            kept: Vec::new(),
            stride: 1,
            pending: None,
            merge,
        }
    }

    pub(crate) fn push(&mut self, at: Timestamp, value: T) {
        if self.max == 0 {
            return;
        }
        let (time, merged, count) = match self.pending.take() {
            Some((time, v, n)) => (time, (self.merge)(&v, &value), n + 1),
            None => (at, value, 1),
        };
        if count < self.stride {
            self.pending = Some((time, merged, count));
            return;
        }
        self.kept.push((time, merged));
        if self.kept.len() > self.max {
            self.halve();
        }
    }

    fn halve(&mut self) {
        let kept = std::mem::take(&mut self.kept);
        let mut halved = Vec::with_capacity(kept.len() / 2 + 1);
        let mut items = kept.into_iter();
        while let Some((t, a)) = items.next() {
            match items.next() {
                Some((_, b)) => halved.push((t, (self.merge)(&a, &b))),
                None => halved.push((t, a)),
            }
        }
        self.kept = halved;
        self.stride *= 2;
    }

    /// Whether nothing was kept.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.pending.is_none()
    }

    /// The kept samples, oldest first, with any partial group at the end.
    pub(crate) fn finish(&self) -> Vec<(Timestamp, T)> {
        let mut out = self.kept.clone();
        if let Some((t, v, _)) = &self.pending {
            if out.len() < self.max {
                out.push((*t, v.clone()));
            } else if let Some(last) = out.last_mut() {
                last.1 = (self.merge)(&last.1, v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_spread_evenly_and_keeps_the_maximum() {
        let mut t = Timeline::new(8, |a: &u32, b: &u32| *a.max(b));
        for i in 0..1000u32 {
            let v = if i == 517 { 1_000_000 } else { i };
            t.push(Timestamp::from_unix_nanos(i64::from(i)), v);
        }
        let kept = t.finish();
        assert!(kept.len() <= 8, "{}", kept.len());
        assert_eq!(kept.iter().map(|(_, v)| *v).max(), Some(1_000_000));
        assert_eq!(kept.last().map(|(_, v)| *v), Some(999));
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(kept[0].0, Timestamp::from_unix_nanos(0));
    }

    #[test]
    fn zero_keeps_nothing() {
        let mut t = Timeline::new(0, |a: &u32, _: &u32| *a);
        t.push(Timestamp::from_unix_nanos(0), 1);
        assert!(t.is_empty());
        assert!(t.finish().is_empty());
    }
}
