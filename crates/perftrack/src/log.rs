//! The bounded log of recent records each tracker keeps.
//!
//! Threads push into rings of their own stripe (see stripe.rs); a full ring is moved, whole and
//! without copying its records, into a shared log of batches, so the shared log's lock is
//! taken once per ring of records rather than once per record. Reading merges the batches and
//! the rings by end time and keeps the newest `capacity`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Timestamp;
use crate::session::lock;
use crate::stripe::Padded;

/// The most records a stripe's ring holds before it is moved into the shared log.
const MAX_RING: usize = 1024;

/// At most `capacity` records returned, the newest by end time, oldest first. Statistics never
/// depend on it.
///
/// Records live in the shared log's batches (the newest whole batches holding at least
/// `capacity` records, or all of them) and in one ring per stripe (at most
/// `ceil(capacity / stripes)`, and at most 1,024, each): under twice `capacity` are held, of
/// which reads return the newest `capacity`.
#[derive(Debug)]
pub struct RecordLog<R> {
    capacity: usize,
    /// The records' end times, which reads merge the rings and the batches by.
    end: fn(&R) -> Timestamp,
    /// Gives a record the label of its run.
    set_label: fn(&mut R, Option<Arc<str>>),
    /// Rings of records pushed by the threads of each stripe, in their order.
    rings: Box<[Padded<Mutex<Sequence<R>>>]>,
    ring: usize,
    shared: Mutex<Batches<R>>,
}

/// How the records of a run are labelled.
#[derive(Debug)]
enum RunLabel {
    /// Each record carries its own label.
    Own,
    /// The records carry none; this one is theirs (`None`: unlabelled). A record log keeps it
    /// once for the run, so that keeping a record takes no reference to its label.
    Shared(Option<Arc<str>>),
}

/// Records in their order, in runs that share how they are labelled.
#[derive(Debug)]
struct Sequence<R> {
    records: VecDeque<R>,
    /// Consecutive records (how many, and their label), oldest first.
    runs: VecDeque<(usize, RunLabel)>,
}

impl<R> Default for Sequence<R> {
    fn default() -> Self {
        Self {
            records: VecDeque::new(),
            runs: VecDeque::new(),
        }
    }
}

impl<R> Sequence<R> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            records: VecDeque::with_capacity(capacity),
            runs: VecDeque::new(),
        }
    }

    /// A sequence of records that carry their own labels.
    fn own(records: VecDeque<R>) -> Self {
        let runs = if records.is_empty() {
            VecDeque::new()
        } else {
            VecDeque::from([(records.len(), RunLabel::Own)])
        };
        Self { records, runs }
    }

    fn len(&self) -> usize {
        self.records.len()
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn is_full(&self) -> bool {
        self.records.len() == self.records.capacity()
    }

    fn clear(&mut self) {
        self.records.clear();
        self.runs.clear();
    }

    /// Appends a record labelled as `label` says: `None`, by itself; `Some(shared)`, by the
    /// run's label, taken only if the last run's is not the same one.
    #[inline]
    fn push(&mut self, record: R, label: Option<&Option<Arc<str>>>) {
        self.records.push_back(record);
        match (self.runs.back_mut(), label) {
            (Some((n, RunLabel::Own)), None) => *n += 1,
            (Some((n, RunLabel::Shared(last))), Some(label)) if same(last, label) => *n += 1,
            (_, None) => self.runs.push_back((1, RunLabel::Own)),
            (_, Some(label)) => self.runs.push_back((1, RunLabel::Shared(label.clone()))),
        }
    }

    /// The records in order, each with its run's label if the run holds it.
    fn labelled(&self) -> impl Iterator<Item = (&R, Option<&Option<Arc<str>>>)> {
        let labels = self.runs.iter().flat_map(|(n, label)| {
            let label = match label {
                RunLabel::Own => None,
                RunLabel::Shared(label) => Some(label),
            };
            std::iter::repeat_n(label, *n)
        });
        self.records.iter().zip(labels)
    }
}

/// Whether two labels are the same reference (or both none).
fn same(a: &Option<Arc<str>>, b: &Option<Arc<str>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Whole rings moved out of the stripes, and the records of loads and merges, oldest first.
#[derive(Debug)]
struct Batches<R> {
    batches: VecDeque<Sequence<R>>,
    /// The records of all batches.
    len: usize,
    /// An emptied batch, handed to the next ring that moves, so that steady recording
    /// allocates nothing.
    spare: Sequence<R>,
}

impl<R> Default for Batches<R> {
    fn default() -> Self {
        Self {
            batches: VecDeque::new(),
            len: 0,
            spare: Sequence::default(),
        }
    }
}

impl<R> Batches<R> {
    /// Adds a batch, then drops the oldest batches not needed to keep `capacity` records; one
    /// of those that was a ring (of `ring` records) becomes the spare.
    fn push(&mut self, batch: Sequence<R>, capacity: usize, ring: usize) {
        self.len += batch.len();
        self.batches.push_back(batch);
        while let Some(oldest) = self.batches.front() {
            if self.len - oldest.len() < capacity {
                break;
            }
            self.len -= oldest.len();
            if let Some(mut gone) = self.batches.pop_front() {
                if gone.records.capacity() == ring {
                    gone.clear();
                    self.spare = gone;
                }
            }
        }
    }

    fn clear(&mut self) {
        self.batches.clear();
        self.len = 0;
    }
}

/// Every part of a log, locked (the rings in order, then the shared log).
struct Locked<'a, R> {
    rings: Vec<MutexGuard<'a, Sequence<R>>>,
    shared: MutexGuard<'a, Batches<R>>,
}

impl<R: Clone> RecordLog<R> {
    /// A log returning at most `capacity` records, pushed into `stripes` rings (rounded up to
    /// a power of two); `end` reads a record's end time, `set_label` gives a record the label
    /// of its run.
    pub(crate) fn new(
        capacity: usize,
        stripes: usize,
        end: fn(&R) -> Timestamp,
        set_label: fn(&mut R, Option<Arc<str>>),
    ) -> Self {
        let stripes = stripes.max(1).next_power_of_two();
        let ring = capacity.div_ceil(stripes).min(MAX_RING);
        Self {
            capacity,
            end,
            set_label,
            rings: (0..stripes).map(|_| Padded::default()).collect(),
            ring,
            shared: Mutex::default(),
        }
    }

    /// Whether the log keeps anything at all (callers skip building records when not).
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Pushes `record` into ring `index` (reduced modulo the ring count) if `current()`,
    /// checked under the ring's lock so that no [`replace`](Self::replace) comes between the
    /// check and the push.
    #[inline]
    pub(crate) fn push_if(&self, index: usize, record: R, current: impl FnOnce() -> bool) {
        if self.capacity == 0 {
            return;
        }
        // The ring count is a power of two.
        let mut ring = lock(&self.rings[index & (self.rings.len() - 1)].0);
        if !current() {
            return;
        }
        // A ring's capacity is exactly `self.ring` once it holds anything.
        if ring.is_full() {
            self.make_room(&mut ring);
        }
        ring.push(record, None);
    }

    /// Pushes `records`, which all carry the label `label` (and hold no reference to it
    /// themselves), into ring `index` as [`push_if`](Self::push_if) pushes one, under one
    /// lock; `records` are only built if `current()`. The ring keeps the label once for the
    /// run, so that reads give it back to each record.
    pub(crate) fn push_labelled_if<I: IntoIterator<Item = R>>(
        &self,
        index: usize,
        label: &Option<Arc<str>>,
        records: impl FnOnce() -> I,
        current: impl FnOnce() -> bool,
    ) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = lock(&self.rings[index & (self.rings.len() - 1)].0);
        if !current() {
            return;
        }
        for record in records() {
            if ring.is_full() {
                self.make_room(&mut ring);
            }
            ring.push(record, Some(label));
        }
    }

    /// Allocates a ring that has no room yet, or moves a full one into the shared log, whole.
    /// Lock order: rings before the shared log, as everywhere.
    #[cold]
    fn make_room(&self, ring: &mut Sequence<R>) {
        if ring.len() < self.ring {
            ring.records.reserve_exact(self.ring - ring.len());
            return;
        }
        let mut shared = lock(&self.shared);
        let empty = match std::mem::take(&mut shared.spare) {
            spare if spare.records.capacity() == self.ring => spare,
            _ => Sequence::with_capacity(self.ring),
        };
        let full = std::mem::replace(ring, empty);
        shared.push(full, self.capacity, self.ring);
    }

    fn lock_all(&self) -> Locked<'_, R> {
        let rings = self.rings.iter().map(|ring| lock(&ring.0)).collect();
        Locked {
            rings,
            shared: lock(&self.shared),
        }
    }

    /// Replaces the contents with the newest `capacity` of `records` (given oldest first).
    pub(crate) fn replace(&self, records: Vec<R>) {
        let skip = records.len().saturating_sub(self.capacity);
        let mut all = self.lock_all();
        for ring in &mut all.rings {
            ring.clear();
        }
        all.shared.clear();
        let batch = Sequence::own(records.into_iter().skip(skip).collect());
        if !batch.is_empty() {
            all.shared.push(batch, self.capacity, self.ring);
        }
    }

    /// Appends `records` (given oldest first) after the retained ones, keeping the newest
    /// `capacity`.
    pub(crate) fn extend(&self, records: Vec<R>) {
        if self.capacity == 0 {
            return;
        }
        crate::recorder::drain_all();
        let mut all = self.lock_all();
        // The retained records first, in the order reads return them.
        let mut kept: VecDeque<R> = merged(&all, self.end, self.capacity)
            .into_iter()
            .map(|r| self.labelled(r))
            .collect();
        for ring in &mut all.rings {
            ring.clear();
        }
        all.shared.clear();
        kept.extend(records);
        let excess = kept.len().saturating_sub(self.capacity);
        kept.drain(..excess);
        if !kept.is_empty() {
            all.shared
                .push(Sequence::own(kept), self.capacity, self.ring);
        }
    }

    /// A copy of the retained records (the newest `capacity` by end time), oldest first.
    pub(crate) fn snapshot(&self) -> Vec<R> {
        crate::recorder::drain_all();
        let all = self.lock_all();
        merged(&all, self.end, self.capacity)
            .into_iter()
            .map(|r| self.labelled(r))
            .collect()
    }

    /// A copy of a record, with its run's label if the run holds it.
    fn labelled(&self, (record, label): Labelled<'_, R>) -> R {
        let mut record = record.clone();
        if let Some(label) = label {
            (self.set_label)(&mut record, label.clone());
        }
        record
    }

    /// How many records [`snapshot`](Self::snapshot) returns.
    pub(crate) fn len(&self) -> usize {
        crate::recorder::drain_all();
        let all = self.lock_all();
        let held = all.shared.len + all.rings.iter().map(|r| r.len()).sum::<usize>();
        held.min(self.capacity)
    }

    /// How many of the records [`snapshot`](Self::snapshot) returns `counts` accepts (given
    /// each record as it is kept: without its label where its run holds it).
    pub(crate) fn count(&self, counts: impl Fn(&R) -> bool) -> usize {
        crate::recorder::drain_all();
        let all = self.lock_all();
        merged(&all, self.end, self.capacity)
            .into_iter()
            .filter(|(r, _)| counts(r))
            .count()
    }
}

/// A kept record, with its run's label if the run holds it.
type Labelled<'a, R> = (&'a R, Option<&'a Option<Arc<str>>>);

/// The newest `capacity` records of the shared log and the rings, oldest first: the batches and
/// the rings merged by end time (each keeps its own order; on equal times the batches come
/// first, oldest first, then the rings in order).
fn merged<'a, R>(
    all: &'a Locked<'_, R>,
    end: fn(&R) -> Timestamp,
    capacity: usize,
) -> Vec<Labelled<'a, R>> {
    let sequences: Vec<Vec<Labelled<'a, R>>> = all
        .shared
        .batches
        .iter()
        .chain(all.rings.iter().map(|r| &**r))
        .filter(|s| !s.is_empty())
        .map(|s| s.labelled().collect())
        .collect();
    let total: usize = sequences.iter().map(Vec::len).sum();
    let mut out: Vec<Labelled<'a, R>> = Vec::with_capacity(total);
    if let [only] = sequences.as_slice() {
        out.extend(only.iter().copied());
    } else {
        let mut heads: BinaryHeap<Reverse<(Timestamp, usize, usize)>> = sequences
            .iter()
            .enumerate()
            .map(|(i, s)| Reverse((end(s[0].0), i, 0)))
            .collect();
        while let Some(Reverse((_, i, at))) = heads.pop() {
            let sequence = &sequences[i];
            out.push(sequence[at]);
            if let Some(next) = sequence.get(at + 1) {
                heads.push(Reverse((end(next.0), i, at + 1)));
            }
        }
    }
    let skip = out.len().saturating_sub(capacity);
    out.drain(..skip);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::thread_index;

    fn at(r: &i64) -> Timestamp {
        Timestamp::from_unix_nanos(*r)
    }

    fn relabel(_: &mut i64, _: Option<Arc<str>>) {}

    #[test]
    fn keeps_the_newest_records_in_order() {
        let log = RecordLog::new(3, 1, at, relabel);
        for i in 0..5 {
            log.push_if(thread_index(), i, || true);
        }
        assert_eq!(log.snapshot(), [2, 3, 4]);
        log.replace((10..20).collect());
        assert_eq!(log.snapshot(), [17, 18, 19]);
        log.push_if(thread_index(), 20, || false);
        assert_eq!(log.snapshot(), [17, 18, 19]);
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn one_thread_keeps_the_newest_capacity_whatever_the_stripes() {
        for stripes in [1, 2, 4, 64] {
            let log = RecordLog::new(10, stripes, at, relabel);
            for i in 0..25 {
                log.push_if(thread_index(), i, || true);
            }
            assert_eq!(log.snapshot(), (15..25).collect::<Vec<_>>(), "{stripes}");
            assert_eq!((log.len(), log.count(|r| r % 2 == 0)), (10, 5));
            log.extend(vec![100, 101]);
            assert_eq!(log.snapshot(), (17..25).chain(100..102).collect::<Vec<_>>());
        }
    }

    #[test]
    fn threads_records_are_all_retained_in_each_threads_order() {
        let log = RecordLog::new(1000, 4, at, relabel);
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..300 {
                        log.push_if(t as usize, i * 4 + t, || true);
                    }
                });
            }
        });
        let got = log.snapshot();
        assert_eq!((got.len(), log.len()), (1000, 1000));
        for t in 0..4 {
            let mine: Vec<i64> = got.iter().copied().filter(|r| r % 4 == t).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{t}");
            assert_eq!(mine.last(), Some(&(299 * 4 + t)));
        }
    }

    type Named = (i64, Option<Arc<str>>);

    fn names(records: Vec<Named>) -> Vec<(i64, Option<String>)> {
        records
            .into_iter()
            .map(|(i, l)| (i, l.map(|l| l.to_string())))
            .collect()
    }

    #[test]
    fn labels_kept_once_per_run_come_back_with_every_record() {
        let (a, b): (Option<Arc<str>>, Option<Arc<str>>) = (Some("a".into()), Some("b".into()));
        // A ring of 4 (capacity 8 over 2 stripes): runs move into batches and out again.
        let log: RecordLog<Named> =
            RecordLog::new(8, 2, |r| Timestamp::from_unix_nanos(r.0), |r, l| r.1 = l);
        let mut expected = Vec::new();
        let (mut runs_of_a, mut last) = (0, None);
        for i in 0..30 {
            let (name, label) = match i % 7 {
                0..=2 => ("a", &a),
                3 | 4 => ("b", &b),
                _ => ("", &None),
            };
            if i % 5 == 4 {
                // A record with its own label between the runs.
                log.push_if(0, (i, Some("own".into())), || true);
                expected.push((i, Some("own".to_owned())));
                last = Some("own");
            } else {
                log.push_labelled_if(0, label, || [(i, None)], || true);
                expected.push((i, label.as_ref().map(|l| l.to_string())));
                runs_of_a += usize::from(name == "a" && last != Some("a"));
                last = Some(name);
            }
        }
        let newest = expected[expected.len() - 8..].to_vec();
        assert_eq!(names(log.snapshot()), newest);
        // The log holds at most one reference to a label per run, not one per record.
        let records_of_a = expected
            .iter()
            .filter(|r| r.1.as_deref() == Some("a"))
            .count();
        let held = a.as_ref().map_or(0, Arc::strong_count) - 1;
        assert!(
            held <= runs_of_a && runs_of_a < records_of_a,
            "{held} {runs_of_a}"
        );
        assert_eq!(log.count(|r| r.1.is_none()), 8 - 2);
        log.extend(vec![(100, b.clone())]);
        let mut extended = newest[1..].to_vec();
        extended.push((100, Some("b".to_owned())));
        assert_eq!(names(log.snapshot()), extended);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let log = RecordLog::new(0, 4, at, relabel);
        log.push_if(thread_index(), 1, || true);
        assert!(!log.enabled());
        assert_eq!(log.len(), 0);
    }
}
