//! The bounded log of recent records each tracker keeps.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::session::lock;

/// At most `capacity` records, oldest dropped first. Statistics never depend on it.
#[derive(Debug)]
pub struct RecordLog<R> {
    capacity: usize,
    records: Mutex<VecDeque<R>>,
}

impl<R: Clone> RecordLog<R> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            records: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether the log keeps anything at all (callers skip building records when not).
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Pushes `record` if `current()`, checked under the log's lock so that no
    /// [`replace`](Self::replace) comes between the check and the push.
    #[inline]
    pub(crate) fn push_if(&self, record: R, current: impl FnOnce() -> bool) {
        if self.capacity == 0 {
            return;
        }
        let mut records = lock(&self.records);
        if !current() {
            return;
        }
        if records.len() >= self.capacity {
            records.pop_front();
        }
        records.push_back(record);
    }

    /// Replaces the contents with the newest `capacity` of `records` (given oldest first).
    pub(crate) fn replace(&self, records: Vec<R>) {
        let skip = records.len().saturating_sub(self.capacity);
        let mut log = lock(&self.records);
        log.clear();
        log.extend(records.into_iter().skip(skip));
    }

    /// Appends `records` (given oldest first), keeping the newest `capacity`.
    pub(crate) fn extend(&self, records: Vec<R>) {
        if self.capacity == 0 {
            return;
        }
        let skip = records.len().saturating_sub(self.capacity);
        let mut log = lock(&self.records);
        for record in records.into_iter().skip(skip) {
            if log.len() >= self.capacity {
                log.pop_front();
            }
            log.push_back(record);
        }
    }

    /// A copy of the retained records, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<R> {
        lock(&self.records).iter().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.records).len()
    }

    /// How many retained records `counts` accepts.
    pub(crate) fn count(&self, counts: impl Fn(&R) -> bool) -> usize {
        lock(&self.records).iter().filter(|r| counts(r)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_records_in_order() {
        let log = RecordLog::new(3);
        for i in 0..5 {
            log.push_if(i, || true);
        }
        assert_eq!(log.snapshot(), [2, 3, 4]);
        log.replace((10..20).collect());
        assert_eq!(log.snapshot(), [17, 18, 19]);
        log.push_if(20, || false);
        assert_eq!(log.snapshot(), [17, 18, 19]);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let log = RecordLog::new(0);
        log.push_if(1, || true);
        assert!(!log.enabled());
        assert_eq!(log.len(), 0);
    }
}
