//! Session ids and the table of active sessions that every tracker uses.

use std::cell::Cell;
use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::stripe::Padded;
use crate::{Error, Result};

/// A handle to a tracking session: cheap to create and to clone (no string is allocated for a
/// generated id).
///
/// Generated ids are unique within the process and display as decimal numbers. An id the caller
/// chose (`start_tracking_with_id`) displays as given. `TrackId::from("name")` refers to an
/// active session by the name it was started with.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker, TrackId};
///
/// let tracker = LatencyTracker::new(LatencyConfig::default());
/// tracker.start_tracking_with_id("request-42", Some("retrieval"))?;
/// let record = tracker.stop_tracking(&TrackId::from("request-42"))?;
/// assert_eq!(record.track_id.to_string(), "request-42");
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TrackId {
    /// Process-unique sequence number; 0 for an id made from a name alone.
    seq: u64,
    name: Option<Arc<str>>,
}

impl TrackId {
    /// A fresh process-unique id.
    pub(crate) fn generate() -> Self {
        Self {
            seq: next_seq(),
            name: None,
        }
    }

    fn named(seq: u64, name: Arc<str>) -> Self {
        Self {
            seq,
            name: Some(name),
        }
    }

    /// The name the caller gave, if any.
    ///
    /// ```
    /// assert_eq!(perftrack::TrackId::from("a").name(), Some("a"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Two ids are equal when they display the same: an id read back from a metrics file equals
/// the id that was written.
impl PartialEq for TrackId {
    fn eq(&self, other: &Self) -> bool {
        match (&self.name, &other.name) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.seq == other.seq,
            (Some(name), None) => displays_as(name, other.seq),
            (None, Some(name)) => displays_as(name, self.seq),
        }
    }
}

impl Eq for TrackId {}

/// Whether `name` is the decimal form of `seq`.
fn displays_as(name: &str, seq: u64) -> bool {
    !name.starts_with(['0', '+']) && name.parse::<u64>() == Ok(seq)
}

/// Hashes the displayed form, consistently with `PartialEq`.
impl std::hash::Hash for TrackId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        struct Bytes<'a, H>(&'a mut H);
        impl<H: std::hash::Hasher> fmt::Write for Bytes<'_, H> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0.write(s.as_bytes());
                Ok(())
            }
        }
        let _ = fmt::Write::write_fmt(&mut Bytes(state), format_args!("{self}"));
        state.write_u8(0xff);
    }
}

impl From<&str> for TrackId {
    fn from(name: &str) -> Self {
        Self::named(0, Arc::from(name))
    }
}

impl From<String> for TrackId {
    fn from(name: String) -> Self {
        Self::named(0, Arc::from(name))
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.seq),
        }
    }
}

impl Serialize for TrackId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TrackId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

/// The next process-unique sequence number. Each thread takes a block of numbers from one
/// shared counter and hands them out without further synchronisation.
#[inline]
fn next_seq() -> u64 {
    const BLOCK: u64 = 1024;
    // Starts at 1: 0 marks ids made from a name alone.
    static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    RANGE.with(|range| {
        let (mut next, mut end) = range.get();
        if next == end {
            // Relaxed: the counter only has to hand out distinct blocks; nothing else is
            // published through it.
            next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        range.set((next + 1, end));
        next
    })
}

/// Locks a mutex, ignoring poisoning: perftrack's own critical sections never panic, and a
/// panic elsewhere must not turn every later measurement into a panic too.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One active session.
#[derive(Debug)]
pub(crate) struct Active<S> {
    pub(crate) id: TrackId,
    /// Its start, as ring entries count time (nanoseconds since the process's base; see
    /// recorder.rs): all eight-byte fields, so the session moves without partial copies.
    pub(crate) started: i64,
    pub(crate) state: S,
    /// Started by id, so counted against `max_sessions` (a guard's session is not: it ends
    /// when the guard drops).
    by_id: bool,
}

const SHARDS: usize = 16;

/// A shard's sessions, and how many of them were started by id.
#[derive(Debug)]
struct Sessions<S> {
    map: FxHashMap<u64, Active<S>>,
    by_id: usize,
}

impl<S> Default for Sessions<S> {
    fn default() -> Self {
        Self {
            map: FxHashMap::default(),
            by_id: 0,
        }
    }
}

/// A shard's lock. Its critical sections are short: a hash-map insert, removal or update of
/// one session (the shard is walked only at the `max_sessions` bound and by readers that visit
/// every session), so a spin lock serves: taking it is one atomic read-modify-write and
/// releasing it a plain store, where `std::sync::Mutex` releases with a second
/// read-modify-write to learn whether to wake a waiter. A thread that finds it held yields its
/// time slice between tries, so a holder that was preempted gets the processor back.
type ShardLock<S> = spin::mutex::SpinMutex<Sessions<S>, spin::relax::Yield>;

/// A shard on a cache line of its own: sessions of different threads rarely share one.
type Shard<S> = Padded<ShardLock<S>>;

/// The active sessions of one tracker, sharded by id so that sessions on different threads
/// rarely contend. Sessions started by id are bounded: past `max_sessions`, the oldest of a
/// shard (ids are sequence numbers, so the smallest) is abandoned, and the table remembers the
/// last `max_sessions` abandoned ids to say so. Finding the oldest walks the shard, which only a
/// table at its bound does.
#[derive(Debug)]
pub(crate) struct SessionTable<S> {
    shards: [Shard<S>; SHARDS],
    /// Caller-chosen names of active sessions, to refuse duplicates and resolve names.
    names: Mutex<FxHashMap<Arc<str>, u64>>,
    max_sessions: usize,
    /// A shard's share of `max_sessions`.
    share: usize,
    /// How many shards hold more sessions by id than their share: while none does, the
    /// table is within `max_sessions` without counting.
    over: AtomicUsize,
    /// The most recently abandoned ids, oldest first, at most `max_sessions`.
    abandoned: Mutex<VecDeque<TrackId>>,
}

impl<S> SessionTable<S> {
    /// A table that keeps at most `max_sessions` sessions started by id (at least one).
    pub(crate) fn new(max_sessions: usize) -> Self {
        Self {
            shards: std::array::from_fn(|_| Padded(ShardLock::new(Sessions::default()))),
            names: Mutex::default(),
            max_sessions: max_sessions.max(1),
            share: max_sessions.max(1) / SHARDS,
            over: AtomicUsize::new(0),
            abandoned: Mutex::default(),
        }
    }

    fn shard(&self, seq: u64) -> &ShardLock<S> {
        &self.shards[(seq % SHARDS as u64) as usize].0
    }

    /// Starts a session by id with a generated id and returns the id; a session abandoned to
    /// make room, if one was, goes to `abandon`.
    #[inline]
    pub(crate) fn start(&self, started: i64, state: S, abandon: impl FnOnce(Active<S>)) -> TrackId {
        let (id, in_shard) = self.insert(TrackId::generate(), started, state, true);
        self.admit(id.seq, in_shard, abandon);
        id
    }

    /// Starts a guard's session with a generated id; it never counts against `max_sessions`.
    pub(crate) fn start_guard(&self, started: i64, state: S) -> TrackId {
        self.insert(TrackId::generate(), started, state, false).0
    }

    /// Adds a session to its shard; returns its id and how many sessions by id the shard then
    /// holds.
    fn insert(&self, id: TrackId, started: i64, state: S, by_id: bool) -> (TrackId, usize) {
        let mut shard = self.shard(id.seq).lock();
        shard.map.insert(
            id.seq,
            Active {
                id: id.clone(),
                started,
                state,
                by_id,
            },
        );
        if by_id {
            self.count(&mut shard);
        }
        (id, shard.by_id)
    }

    /// Starts a session under a caller-chosen name and returns its id; a name that is active
    /// is refused. A session abandoned to make room, if one was, goes to `abandon`.
    pub(crate) fn start_named(
        &self,
        name: &str,
        started: i64,
        state: S,
        abandon: impl FnOnce(Active<S>),
    ) -> Result<TrackId> {
        let (id, in_shard) = {
            let mut names = lock(&self.names);
            if names.contains_key(name) {
                return Err(Error::DuplicateTrackId {
                    id: name.to_owned(),
                });
            }
            let name: Arc<str> = Arc::from(name);
            let id = TrackId::named(next_seq(), Arc::clone(&name));
            // Lock order: names, then a shard (the same in `remove_named`).
            let (id, in_shard) = self.insert(id, started, state, true);
            names.insert(name, id.seq);
            (id, in_shard)
        };
        self.admit(id.seq, in_shard, abandon);
        Ok(id)
    }

    /// Past `max_sessions` sessions by id, once a new one (`seq`, whose shard now holds
    /// `in_shard` of them) was added, abandons the oldest other session by id and hands it to
    /// `abandon`. While no shard holds more than its share of `max_sessions`, the table
    /// cannot be past it, and no other shard is read.
    #[inline]
    fn admit(&self, seq: u64, in_shard: usize, abandon: impl FnOnce(Active<S>)) {
        // A bound, not a synchronisation (Relaxed): concurrent starts may pass it briefly.
        if in_shard <= self.share && self.over.load(Ordering::Relaxed) == 0 {
            return;
        }
        if let Some(active) = self.abandon_oldest(seq) {
            abandon(active);
        }
    }

    /// Past `max_sessions` sessions by id, takes out the oldest session by id other than
    /// `seq`: of `seq`'s shard if it has one, else of the next shard that has.
    #[cold]
    fn abandon_oldest(&self, seq: u64) -> Option<Active<S>> {
        if self.by_id() <= self.max_sessions {
            return None;
        }
        let first = (seq % SHARDS as u64) as usize;
        let active = (0..SHARDS).find_map(|i| {
            let mut shard = self.shards[(first + i) % SHARDS].0.lock();
            let oldest = shard
                .map
                .iter()
                .filter(|(s, a)| a.by_id && **s != seq)
                .map(|(s, _)| *s)
                .min()?;
            self.take(&mut shard, oldest)
        });
        let active = active?;
        if let Some(name) = &active.id.name {
            let mut names = lock(&self.names);
            if names.get(name) == Some(&active.id.seq) {
                names.remove(name);
            }
        }
        let mut abandoned = lock(&self.abandoned);
        if abandoned.len() == self.max_sessions {
            abandoned.pop_front();
        }
        abandoned.push_back(active.id.clone());
        Some(active)
    }

    /// The error for an id that is not active: abandoned, if it is among the ids the table
    /// remembers abandoning.
    #[cold]
    fn unknown(&self, id: &TrackId) -> Error {
        if lock(&self.abandoned).contains(id) {
            Error::AbandonedSession { id: id.to_string() }
        } else {
            Error::UnknownTrackId { id: id.to_string() }
        }
    }

    /// How many active sessions were started by id.
    fn by_id(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().by_id).sum()
    }

    /// Takes a session out of its shard, uncounting it.
    fn take(&self, shard: &mut Sessions<S>, seq: u64) -> Option<Active<S>> {
        let active = shard.map.remove(&seq)?;
        Some(self.taken(shard, active))
    }

    /// A session just removed from `shard`, uncounted.
    fn taken(&self, shard: &mut Sessions<S>, active: Active<S>) -> Active<S> {
        if active.by_id {
            self.uncount(shard, 1);
        }
        active
    }

    /// Counts one more session by id of `shard`.
    fn count(&self, shard: &mut Sessions<S>) {
        shard.by_id += 1;
        if shard.by_id == self.share + 1 {
            self.over.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Uncounts `n` sessions by id of `shard`.
    fn uncount(&self, shard: &mut Sessions<S>, n: usize) {
        if shard.by_id > self.share && shard.by_id - n <= self.share {
            self.over.fetch_sub(1, Ordering::Relaxed);
        }
        shard.by_id -= n;
    }

    /// Ends a session and runs `f` on its id, start and state, once the session has left
    /// the table. The session is taken apart where it leaves the table, so that its fields
    /// reach `f` without copies of the whole.
    #[inline]
    pub(crate) fn end<R>(&self, id: &TrackId, f: impl FnOnce(TrackId, i64, S) -> R) -> Result<R> {
        let apart = |active: Active<S>| f(active.id, active.started, active.state);
        match &id.name {
            None => self
                .remove_generated(id.seq, apart)
                .ok_or_else(|| self.unknown(id)),
            Some(name) => self.remove_named(id, name).map(apart),
        }
    }

    /// Ends the session with a generated id `seq`, if it is active, and runs `f` on it once
    /// the shard is unlocked.
    #[inline]
    fn remove_generated<R>(&self, seq: u64, f: impl FnOnce(Active<S>) -> R) -> Option<R> {
        let mut shard = self.shard(seq).lock();
        match shard.map.entry(seq) {
            // A named session is ended by its name, never by its bare number.
            Entry::Occupied(found) if found.get().id.name.is_none() => {
                let active = found.remove();
                let active = self.taken(&mut shard, active);
                drop(shard);
                Some(f(active))
            }
            _ => None,
        }
    }

    /// Ends the session named `name` (`id`'s).
    fn remove_named(&self, id: &TrackId, name: &str) -> Result<Active<S>> {
        let mut names = lock(&self.names);
        let seq = match names.get(name) {
            Some(&seq) if id.seq == 0 || id.seq == seq => seq,
            _ => return Err(self.unknown(id)),
        };
        let active = self
            .take(&mut self.shard(seq).lock(), seq)
            .ok_or_else(|| self.unknown(id))?;
        names.remove(name);
        Ok(active)
    }

    /// Runs `f` on an active session.
    #[inline]
    pub(crate) fn with<R>(&self, id: &TrackId, f: impl FnOnce(&mut Active<S>) -> R) -> Result<R> {
        let seq = match &id.name {
            None => id.seq,
            Some(name) => match lock(&self.names).get(name) {
                Some(&seq) if id.seq == 0 || id.seq == seq => seq,
                _ => return Err(self.unknown(id)),
            },
        };
        let mut shard = self.shard(seq).lock();
        match shard.map.get_mut(&seq) {
            Some(active) if id.name.is_some() || active.id.name.is_none() => Ok(f(active)),
            _ => {
                drop(shard);
                Err(self.unknown(id))
            }
        }
    }

    /// When a session started, as ring time: `id`'s, or (`None`) the most recently started
    /// one's.
    pub(crate) fn started(&self, id: Option<&TrackId>) -> Result<i64> {
        match id {
            Some(id) => self.with(id, |active| active.started),
            None => self.with_latest(|active| active.started),
        }
    }

    /// Runs `f` on the most recently started active session (the latest start; among equal
    /// starts, the later id).
    pub(crate) fn with_latest<R>(&self, f: impl FnOnce(&mut Active<S>) -> R) -> Result<R> {
        let mut latest: Option<(i64, u64)> = None;
        for shard in &self.shards {
            for (seq, active) in shard.0.lock().map.iter() {
                let key = (active.started, *seq);
                if latest.is_none_or(|l| key > l) {
                    latest = Some(key);
                }
            }
        }
        let (_, seq) = latest.ok_or(Error::NoActiveSession)?;
        self.shard(seq)
            .lock()
            .map
            .get_mut(&seq)
            .map(f)
            .ok_or(Error::NoActiveSession)
    }

    /// Runs `f` on every active session, one shard at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Active<S>)) {
        for shard in &self.shards {
            for active in shard.0.lock().map.values() {
                f(active);
            }
        }
    }

    /// Ends every session, and forgets the abandoned ones.
    pub(crate) fn clear(&self) {
        let mut names = lock(&self.names);
        for shard in &self.shards {
            let mut shard = shard.0.lock();
            shard.map.clear();
            let n = shard.by_id;
            self.uncount(&mut shard, n);
        }
        names.clear();
        lock(&self.abandoned).clear();
    }

    /// How many sessions are active.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().map.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts a session by id; returns its id and the session abandoned to make room.
    fn start<S>(table: &SessionTable<S>, started: i64, state: S) -> (TrackId, Option<Active<S>>) {
        let mut abandoned = None;
        let id = table.start(started, state, |active| abandoned = Some(active));
        (id, abandoned)
    }

    /// Ends a session; returns its state.
    fn end<S>(table: &SessionTable<S>, id: &TrackId) -> Result<S> {
        table.end(id, |_, _, state| state)
    }

    /// Starts a named session; returns its id and the session abandoned to make room.
    fn start_named<S>(
        table: &SessionTable<S>,
        name: &str,
        started: i64,
        state: S,
    ) -> Result<(TrackId, Option<Active<S>>)> {
        let mut abandoned = None;
        let id = table.start_named(name, started, state, |active| abandoned = Some(active))?;
        Ok((id, abandoned))
    }

    #[test]
    fn sessions_started_and_ended_from_many_threads_all_count() {
        // More threads than cores: a shard's holder is preempted now and then, and the
        // threads waiting for it must still get through.
        const THREADS: u64 = 8;
        const EACH: u64 = 20_000;
        let table = SessionTable::new(usize::MAX);
        let ended = std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut seen = 0;
                for _ in 0..200 {
                    table.for_each(|_| seen += 1);
                }
                seen
            });
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let table = &table;
                    s.spawn(move || {
                        let mut held = Vec::new();
                        let mut total = 0;
                        for n in 0..EACH {
                            held.push(start(table, 0, t * EACH + n).0);
                            if n % 3 == 2 {
                                for id in held.drain(..) {
                                    total += end(table, &id).unwrap();
                                }
                            }
                        }
                        for id in held {
                            total += end(table, &id).unwrap();
                        }
                        total
                    })
                })
                .collect();
            let _ = reader.join().unwrap();
            workers.into_iter().map(|w| w.join().unwrap()).sum::<u64>()
        });
        let n = THREADS * EACH;
        assert_eq!(ended, n * (n - 1) / 2, "every state ended exactly once");
        assert_eq!((table.len(), table.by_id()), (0, 0));
    }

    #[test]
    fn generated_ids_are_unique_across_threads() {
        let ids: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..5000).map(|_| next_seq()).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(!ids.contains(&0));
    }

    #[test]
    fn ids_equal_their_displayed_form() {
        use std::hash::{BuildHasher, RandomState};
        let generated = TrackId::generate();
        let read_back = TrackId::from(generated.to_string());
        assert_eq!(generated, read_back);
        let hasher = RandomState::new();
        assert_eq!(hasher.hash_one(&generated), hasher.hash_one(&read_back));
        assert_ne!(TrackId::from(format!("0{generated}")), generated);
        assert_ne!(TrackId::from("a"), TrackId::from("b"));
    }

    #[test]
    fn names_are_unique_while_active_and_reusable_after() {
        let table = SessionTable::new(100);
        let now = 0;
        let (id, _) = start_named(&table, "a", now, 1).unwrap();
        assert!(matches!(
            start_named(&table, "a", now, 2),
            Err(Error::DuplicateTrackId { .. })
        ));
        assert_eq!(end(&table, &TrackId::from("a")).unwrap(), 1);
        assert!(matches!(
            end(&table, &id),
            Err(Error::UnknownTrackId { .. })
        ));
        start_named(&table, "a", now, 3).unwrap();
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_name_alone_cannot_reach_a_generated_session() {
        let table = SessionTable::new(100);
        let (id, _) = start(&table, 0, ());
        let by_text = TrackId::from(id.to_string());
        assert!(end(&table, &by_text).is_err());
        assert!(end(&table, &id).is_ok());
    }

    #[test]
    fn latest_is_the_most_recent_start() {
        let table = SessionTable::new(100);
        let t0 = 1_000;
        start(&table, t0 + 2_000_000_000, "late");
        start(&table, t0, "early");
        assert_eq!(table.with_latest(|a| a.state).unwrap(), "late");
        table.clear();
        assert!(matches!(
            table.with_latest(|a| a.state),
            Err(Error::NoActiveSession)
        ));
    }

    #[test]
    fn the_bound_holds_with_shares_of_it_in_every_shard() {
        // Two per shard (40 over 16 shards), then over: every start past 40 abandons one,
        // removals and a clear bring the count back below every share.
        let table = SessionTable::new(40);
        let now = 0;
        let mut ids = Vec::new();
        for n in 0..1000 {
            let (id, abandoned) = start(&table, now, n);
            ids.push(id);
            assert_eq!(abandoned.is_some(), n >= 40, "{n}");
            assert_eq!(table.by_id(), (n + 1).min(40));
        }
        for id in ids.iter().rev().take(40) {
            end(&table, id).unwrap();
        }
        assert_eq!((table.by_id(), table.over.load(Ordering::Relaxed)), (0, 0));
        for n in 0..100 {
            start(&table, now, n);
        }
        table.clear();
        assert_eq!((table.by_id(), table.over.load(Ordering::Relaxed)), (0, 0));
        assert_eq!(start(&table, now, 0).1.map(|a| a.state), None);
    }

    #[test]
    fn past_the_bound_the_oldest_session_by_id_is_abandoned_and_said_so() {
        let table = SessionTable::new(3);
        let now = 0;
        let guard = table.start_guard(now, 0);
        let ids: Vec<TrackId> = (1..=3).map(|n| start(&table, now, n).0).collect();
        // Past the bound, every start abandons one session by id, never a guard's.
        let (_, abandoned) = start(&table, now, 4);
        let abandoned = abandoned.expect("a session is abandoned past the bound");
        assert_eq!(table.len(), 4);
        assert!(ids.contains(&abandoned.id));
        let (named, _) = start_named(&table, "n", now, 5).unwrap();
        assert_eq!(table.len(), 4);
        assert!(matches!(
            end(&table, &abandoned.id),
            Err(Error::AbandonedSession { .. })
        ));
        assert!(end(&table, &guard).is_ok());
        assert!(end(&table, &named).is_ok());
        // After a clear, nothing is remembered as abandoned.
        table.clear();
        assert!(matches!(
            end(&table, &abandoned.id),
            Err(Error::UnknownTrackId { .. })
        ));
    }

    #[test]
    fn an_abandoned_name_can_be_started_again() {
        let table = SessionTable::new(1);
        let now = 0;
        start_named(&table, "a", now, 1).unwrap();
        let (_, abandoned) = start_named(&table, "b", now, 2).unwrap();
        assert_eq!(abandoned.map(|a| a.state), Some(1));
        assert!(matches!(
            end(&table, &TrackId::from("a")),
            Err(Error::AbandonedSession { .. })
        ));
        start_named(&table, "a", now, 3).unwrap();
        assert_eq!(end(&table, &TrackId::from("a")).unwrap(), 3);
    }
}
