//! Counters that never go backwards: across a reset or load of a tracker, the totals exported
//! so far become a base that the new epoch's counts add to.

use std::collections::BTreeMap;

/// One label's counters as exported: a histogram's count, sum and cumulative bucket counts,
/// failures and cancellations; a throughput counter uses `count` alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Totals {
    pub(super) count: u64,
    pub(super) sum: f64,
    pub(super) buckets: Vec<u64>,
    pub(super) failed: u64,
    pub(super) cancelled: u64,
}

impl Totals {
    /// `self + other`, field by field (buckets only when both have the same bounds).
    fn plus(&self, other: &Totals) -> Totals {
        let buckets = if self.buckets.len() == other.buckets.len() {
            self.buckets
                .iter()
                .zip(&other.buckets)
                .map(|(a, b)| a.saturating_add(*b))
                .collect()
        } else {
            other.buckets.clone()
        };
        Totals {
            count: self.count.saturating_add(other.count),
            sum: self.sum + other.sum,
            buckets,
            failed: self.failed.saturating_add(other.failed),
            cancelled: self.cancelled.saturating_add(other.cancelled),
        }
    }
}

/// The state one exported tracker carries from scrape to scrape.
#[derive(Debug, Default)]
pub(super) struct Carry {
    /// The tracker's epoch ([`Snapshot::epoch`](crate::Snapshot::epoch)) at the previous
    /// scrape.
    epoch: Option<u64>,
    /// Per label, what was exported before the tracker's latest reset or load.
    base: BTreeMap<String, Totals>,
    /// Per label, what the previous scrape exported.
    previous: BTreeMap<String, Totals>,
}

impl Carry {
    /// Starts a scrape of a tracker in `epoch`. After a reset or load, everything exported so
    /// far becomes the base of the new epoch's counts.
    pub(super) fn begin(&mut self, epoch: u64) {
        if self.epoch.is_some_and(|e| e != epoch) {
            self.base = self.previous.clone();
        }
        self.epoch = Some(epoch);
    }

    /// Labels with carried totals, which are exported even when the tracker no longer has
    /// them (their series stay, flat, rather than vanish).
    pub(super) fn carried(&self) -> impl Iterator<Item = &String> {
        self.base.keys()
    }

    /// What to export for `label`, given the tracker's own counts now: the base plus those,
    /// with no bucket below its previous value (a label's counts moving from exact values to
    /// its sketch can shift a value across a bound by the sketch's error).
    pub(super) fn export(&mut self, label: &str, current: &Totals) -> Totals {
        let mut totals = match self.base.get(label) {
            Some(base) => base.plus(current),
            None => current.clone(),
        };
        if let Some(previous) = self.previous.get(label) {
            if previous.buckets.len() == totals.buckets.len() {
                for (b, p) in totals.buckets.iter_mut().zip(&previous.buckets) {
                    *b = (*b).max(*p);
                }
            }
        }
        self.previous.insert(label.to_owned(), totals.clone());
        totals
    }

    /// Ends a scrape: only labels exported now are remembered, so the maps stay within the
    /// label cap.
    pub(super) fn finish(&mut self, exported: impl Fn(&str) -> bool) {
        self.previous.retain(|label, _| exported(label));
        self.base.retain(|label, _| exported(label));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(count: u64, buckets: &[u64]) -> Totals {
        Totals {
            count,
            sum: count as f64,
            buckets: buckets.to_vec(),
            ..Totals::default()
        }
    }

    #[test]
    fn a_new_epoch_adds_to_what_was_exported() {
        let mut carry = Carry::default();
        carry.begin(0);
        assert_eq!(carry.export("a", &totals(5, &[0, 5])), totals(5, &[0, 5]));
        carry.finish(|_| true);
        carry.begin(1);
        assert_eq!(carry.carried().collect::<Vec<_>>(), ["a"]);
        assert_eq!(carry.export("a", &totals(7, &[7, 7])), totals(12, &[7, 12]));
        carry.finish(|_| true);
        // Same epoch: no new base.
        carry.begin(1);
        assert_eq!(carry.export("a", &totals(8, &[8, 8])), totals(13, &[8, 13]));
    }

    #[test]
    fn buckets_never_decrease_within_an_epoch() {
        let mut carry = Carry::default();
        carry.begin(0);
        carry.export("a", &totals(10, &[4, 10]));
        assert_eq!(
            carry.export("a", &totals(11, &[3, 11])),
            totals(11, &[4, 11])
        );
    }
}
