//! The record path's per-thread rings: a measurement ends by appending three words to a ring
//! its thread owns, with plain atomic stores (no lock, no read-modify-write, no allocation);
//! the measurements reach their label's state in batches, when the ring fills or before
//! anything reads a state.
//!
//! - **Rings.** Each thread recording through a ring owns one, found in a process-wide list.
//!   Its owner is its only producer; whoever applies its entries (the owner when it fills, or
//!   a reader of any tracker) holds its `drain` lock, so a ring is a single-producer,
//!   single-consumer queue of [`CAPACITY`] entries. A thread that ends applies what its ring
//!   holds and leaves the ring to the next thread that starts recording.
//! - **Lanes.** An entry names its lane by a place in a process-wide table of lanes (weak
//!   references, [`Sink`]), with the tag the place had when the lane took it; a place is
//!   given to another lane only with a new tag. A [`Handle`] (place, tag) is what a guard
//!   holds instead of a reference-counted lane, so starting and ending a measurement touches
//!   no count another thread touches, and a guard may end on any thread.
//! - **Readers** call [`drain_all`] before reading a label state or a record log: every
//!   measurement that ended before the read is then in the state, exactly as if it had been
//!   applied when it ended. Entries keep their thread's order for each lane.
//! - **Generations.** An entry is applied only if its lane is still its tracker's (no reset
//!   or load replaced it since), which the lane checks when the entry is applied, as a direct
//!   record would when it ends; an entry whose lane was dropped finds its place with another
//!   tag and is discarded.
//! - **Time.** Entries count nanoseconds since one base instant ([`since_base`]); on Linux
//!   [`now`] reads `CLOCK_MONOTONIC` directly, with no `Instant` to make or subtract.

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::hash::Hasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard, Weak};
use std::time::{Duration, Instant};

use rustc_hash::FxHasher;

use crate::Status;
use crate::session::lock;
use crate::stripe::Padded;

/// Entries a ring holds; its owner applies them itself when it is full.
pub(crate) const CAPACITY: usize = 128;
/// Words per entry: the lane's handle and the status, the value, the time.
const WORDS: usize = 3;
/// Slots of a thread's label cache (direct-mapped).
const CACHE_SLOTS: usize = 64;
/// Distinct lanes a drain groups entries by; past them, entries are applied in runs of one
/// lane.
const GROUPS: usize = 8;

/// What buffered measurements are applied to: a lane into a label's state.
pub(crate) trait Sink: Send + Sync + 'static {
    /// Applies `entries`, all recorded for this sink, oldest first.
    fn apply(&self, entries: &[Entry]);

    /// The sink as `Any`, to get its concrete lane back.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// One buffered measurement: a value (a duration in nanoseconds, or a count), when it ended
/// (in nanoseconds since [`base`]: see [`since_base`]) and its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub(crate) value: u64,
    pub(crate) at: i64,
    pub(crate) status: Status,
}

/// Where a measurement ends: a lane's place in the process's table of lanes, and the tag the
/// place had when the lane took it. Plain data: a guard holding one is `Send` and shares
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Handle {
    id: u32,
    tag: u32,
}

/// Tags wrap at 30 bits: they share an entry's first word with the id and the status.
const TAG_MASK: u32 = (1 << 30) - 1;

/// The instant entries' times are counted from, and the same instant on the raw monotonic
/// clock where it is known exactly.
struct Base {
    instant: Instant,
    /// `instant` in nanoseconds of `CLOCK_MONOTONIC`: then [`now`] reads that clock directly,
    /// without making an `Instant` and subtracting.
    monotonic: Option<i64>,
}

/// The base of entries' times (in signed nanoseconds), the same for every ring of the process.
static BASE: OnceLock<Base> = OnceLock::new();

#[inline(always)]
fn base() -> &'static Base {
    match BASE.get() {
        Some(base) => base,
        None => take_base(),
    }
}

#[cold]
#[inline(never)]
fn take_base() -> &'static Base {
    BASE.get_or_init(|| {
        let (before, instant, after) = (monotonic(), Instant::now(), monotonic());
        // `Instant` is `CLOCK_MONOTONIC` on Linux, and shows its reading as `Instant {
        // tv_sec: S, tv_nsec: N }`; used only if that reading lies between the two around it,
        // so a different clock or form falls back to subtracting `Instant`s.
        let monotonic = monotonic_of(&format!("{instant:?}"))
            .filter(|m| before.is_some_and(|b| b <= *m) && after.is_some_and(|a| *m <= a));
        Base { instant, monotonic }
    })
}

/// `CLOCK_MONOTONIC` in nanoseconds, where it is read without going through `Instant`.
#[cfg(target_os = "linux")]
#[inline(always)]
fn monotonic() -> Option<i64> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Some(
        t.tv_sec
            .saturating_mul(1_000_000_000)
            .saturating_add(t.tv_nsec),
    )
}

#[cfg(not(target_os = "linux"))]
#[inline]
fn monotonic() -> Option<i64> {
    None
}

/// The reading an `Instant`'s debug form shows, in nanoseconds, if it has that form.
fn monotonic_of(debug: &str) -> Option<i64> {
    let field = |name: &str| -> Option<i64> {
        let rest = &debug[debug.find(name)? + name.len()..];
        let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
        digits.parse().ok()
    };
    let (secs, nanos) = (field("tv_sec: ")?, field("tv_nsec: ")?);
    (nanos < 1_000_000_000).then(|| secs.checked_mul(1_000_000_000)?.checked_add(nanos))?
}

#[inline]
fn encode_time(t: Instant, base: Instant) -> i64 {
    let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    match t.checked_duration_since(base) {
        Some(after) => nanos(after),
        None => nanos(base.saturating_duration_since(t)).wrapping_neg(),
    }
}

/// `t` in nanoseconds since the process's base instant, as entries carry it (saturating
/// 292 years away).
#[inline]
pub(crate) fn since_base(t: Instant) -> i64 {
    encode_time(t, base().instant)
}

/// The instant `nanos` after the process's base instant (as [`since_base`] counts): its
/// inverse, exact wherever an `Instant` can hold the result (else the base).
#[inline]
pub(crate) fn instant_at(nanos: i64) -> Instant {
    let base = base().instant;
    let offset = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        base.checked_add(offset)
    } else {
        base.checked_sub(offset)
    }
    .unwrap_or(base)
}

/// The system's monotonic time now, as [`since_base`] counts it: `since_base(Instant::now())`,
/// read without making an `Instant` where the clock under it is known.
#[inline(always)]
pub(crate) fn now() -> i64 {
    let base = base();
    match base.monotonic {
        Some(at_base) => monotonic().map_or(0, |m| m.saturating_sub(at_base)),
        None => encode_time(Instant::now(), base.instant),
    }
}

#[inline]
fn encode_status(status: Status) -> u64 {
    match status {
        Status::Ok => 0,
        Status::Failed => 1,
        Status::Cancelled => 2,
    }
}

fn decode_status(code: u64) -> Status {
    match code {
        1 => Status::Failed,
        2 => Status::Cancelled,
        _ => Status::Ok,
    }
}

/// A place in the table of lanes.
struct Place {
    tag: u32,
    sink: Option<Weak<dyn Sink>>,
    /// The lane's label, kept until the place is given to another lane (after
    /// [`FREED_KEPT`] more lanes dropped): a guard whose state is gone by the time it stops
    /// still names its label in its record.
    label: Option<Arc<str>>,
}

/// Places of dropped lanes kept (with their labels) before any is given again.
const FREED_KEPT: usize = 1024;

/// Every lane that records through rings, by id; places of dropped lanes are given again,
/// oldest freed first and only once [`FREED_KEPT`] others were freed after them, each time
/// with a new tag.
#[derive(Default)]
struct Lanes {
    places: Vec<Place>,
    free: VecDeque<u32>,
}

static LANES: RwLock<Lanes> = RwLock::new(Lanes {
    places: Vec::new(),
    free: VecDeque::new(),
});

fn lanes() -> RwLockReadGuard<'static, Lanes> {
    LANES.read().unwrap_or_else(PoisonError::into_inner)
}

impl Lanes {
    /// The lane at `handle`'s place, if the place still holds it.
    fn get(&self, handle: Handle) -> Option<&Place> {
        self.places
            .get(handle.id as usize)
            .filter(|place| place.tag == handle.tag)
    }
}

/// A lane's place in the table of lanes, given up when the lane drops.
#[derive(Debug)]
pub(crate) struct LaneKey(Handle);

impl LaneKey {
    /// Gives `sink`, labelled `label`, a place.
    pub(crate) fn new(sink: Weak<dyn Sink>, label: Option<Arc<str>>) -> Self {
        let mut lanes = LANES.write().unwrap_or_else(PoisonError::into_inner);
        let reused = if lanes.free.len() > FREED_KEPT {
            lanes.free.pop_front()
        } else {
            None
        };
        let handle = match reused {
            Some(id) => {
                let place = &mut lanes.places[id as usize];
                place.sink = Some(sink);
                place.label = label;
                Handle { id, tag: place.tag }
            }
            None => {
                let id = u32::try_from(lanes.places.len()).unwrap_or(u32::MAX);
                lanes.places.push(Place {
                    tag: 0,
                    sink: Some(sink),
                    label,
                });
                Handle { id, tag: 0 }
            }
        };
        Self(handle)
    }

    /// The handle entries for the lane carry.
    #[inline]
    pub(crate) fn handle(&self) -> Handle {
        self.0
    }
}

impl Drop for LaneKey {
    fn drop(&mut self) {
        let mut lanes = LANES.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(place) = lanes.places.get_mut(self.0.id as usize) {
            // Entries still carrying the old tag are discarded when applied.
            place.tag = place.tag.wrapping_add(1) & TAG_MASK;
            place.sink = None;
            lanes.free.push_back(self.0.id);
        }
    }
}

/// A thread's ring of entries.
struct Ring {
    /// Entries written: advanced by the owner only.
    head: Padded<AtomicU64>,
    /// Entries applied: advanced under `drain` only, once they are applied.
    tail: Padded<AtomicU64>,
    words: [AtomicU64; CAPACITY * WORDS],
    /// Held by whoever applies entries, with the buffers they copy entries into.
    drain: Mutex<Drained>,
    /// Whether a live thread owns the ring.
    owned: AtomicBool,
}

/// Entries copied out of a ring to be applied, with the handles of their lanes: kept with
/// the ring, so that a drain fills buffers that are already there.
struct Drained {
    handles: Vec<Option<Handle>>,
    entries: Vec<Entry>,
}

/// Every ring of the process.
static RINGS: RwLock<Vec<Arc<Ring>>> = RwLock::new(Vec::new());

impl Ring {
    fn new() -> Self {
        Self {
            head: Padded(AtomicU64::new(0)),
            tail: Padded(AtomicU64::new(0)),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
            drain: Mutex::new(Drained {
                handles: Vec::with_capacity(CAPACITY),
                entries: Vec::with_capacity(CAPACITY),
            }),
            owned: AtomicBool::new(true),
        }
    }

    /// Whether it holds entries not yet applied.
    #[inline]
    fn pending(&self) -> bool {
        // Acquire pairs with the owner's Release on `head` and the drain's on `tail`.
        self.head.0.load(Ordering::Acquire) != self.tail.0.load(Ordering::Acquire)
    }

    /// Appends an entry; only the owner calls it. Applies the ring's entries first if it is
    /// full.
    #[inline]
    fn push(&self, handle: Handle, entry: Entry) {
        let head = self.head.0.load(Ordering::Relaxed);
        // Acquire pairs with the Release on `tail`: the slot about to be written was read.
        if head.wrapping_sub(self.tail.0.load(Ordering::Acquire)) >= CAPACITY as u64 {
            self.drain();
        }
        let at = (head as usize % CAPACITY) * WORDS;
        let first = u64::from(handle.id)
            | u64::from(handle.tag & TAG_MASK) << 32
            | encode_status(entry.status) << 62;
        self.words[at].store(first, Ordering::Relaxed);
        self.words[at + 1].store(entry.value, Ordering::Relaxed);
        self.words[at + 2].store(entry.at as u64, Ordering::Relaxed);
        // Release: a drain that sees the new head sees the entry's words.
        self.head.0.store(head.wrapping_add(1), Ordering::Release);
    }

    /// Applies every entry written so far.
    fn drain(&self) {
        let mut drained = lock(&self.drain);
        let tail = self.tail.0.load(Ordering::Relaxed);
        let head = self.head.0.load(Ordering::Acquire);
        let n = head.wrapping_sub(tail) as usize;
        if n == 0 {
            return;
        }
        let Drained { handles, entries } = &mut *drained;
        handles.clear();
        entries.clear();
        let mut one_lane = true;
        for i in 0..n {
            let at = (tail.wrapping_add(i as u64) as usize % CAPACITY) * WORDS;
            let first = self.words[at].load(Ordering::Relaxed);
            let handle = Some(Handle {
                id: first as u32,
                tag: (first >> 32) as u32 & TAG_MASK,
            });
            one_lane &= handles.first().is_none_or(|h| *h == handle);
            handles.push(handle);
            entries.push(Entry {
                value: self.words[at + 1].load(Ordering::Relaxed),
                at: self.words[at + 2].load(Ordering::Relaxed) as i64,
                status: decode_status(first >> 62),
            });
        }
        if one_lane {
            apply(handles[0], entries);
        } else {
            apply_grouped(handles, entries);
        }
        // Only now, once applied: a reader that finds the ring empty finds its entries in
        // their states (a reader that finds it not empty waits on `drain`). Release pairs
        // with the owner's Acquire in `push` (the slots were read) and with `pending`.
        self.tail.0.store(head, Ordering::Release);
    }
}

/// Applies `entries` to the lanes their `handles` name: each lane's entries together and in
/// order, so a lane is resolved (and its state locked) once per group. Entries of a lane
/// that is gone are skipped: that state is gone. Takes the handles it applied.
fn apply_grouped(handles: &mut [Option<Handle>], entries: &[Entry]) {
    let mut run = [EMPTY; CAPACITY];
    let mut start = 0;
    let mut groups = 0;
    while let Some(first) = handles[start..].iter().position(Option::is_some) {
        start += first;
        let target = handles[start];
        let mut len = 0;
        for (handle, entry) in handles[start..].iter_mut().zip(&entries[start..]) {
            if *handle == target {
                run[len] = *entry;
                len += 1;
                *handle = None;
            } else if groups >= GROUPS && handle.is_some() {
                // Past `GROUPS` lanes, only the run that starts here.
                break;
            }
        }
        groups += 1;
        apply(target, &run[..len]);
    }
}

/// An entry that fills arrays before they are written.
const EMPTY: Entry = Entry {
    value: 0,
    at: 0,
    status: Status::Ok,
};

/// Applies `entries` to the lane `handle` names, if it is still there.
fn apply(handle: Option<Handle>, entries: &[Entry]) {
    // Resolved without holding the table: a lane that drops as `sink` does gives its place
    // up, which needs the table.
    let sink = handle.and_then(|h| lanes().get(h).and_then(|p| p.sink.clone()));
    if let Some(sink) = sink.and_then(|s| s.upgrade()) {
        sink.apply(entries);
    }
}

/// A cached label: the registry it belongs to, the label's key, and its lane's handle.
#[derive(Clone, Copy)]
struct Cached {
    registry: u64,
    key: Key,
    handle: Handle,
}

/// An empty cache slot: registry ids start at 1.
const UNCACHED: Cached = Cached {
    registry: 0,
    key: Key {
        len: 0,
        words: (0, 0),
    },
    handle: Handle { id: 0, tag: 0 },
};

/// Labels of at most this many bytes are held whole by their [`Key`].
const SHORT: usize = 16;

/// A label as the cache keys it: its length and two words. For a label of at most
/// [`SHORT`] bytes the words hold every byte (overlapping windows: the first and last eight,
/// four, or the first, middle and last byte), so keys are equal exactly when the labels are,
/// without reading them again; a longer label's words are a hash, and it is compared whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    len: usize,
    words: (u64, u64),
}

impl Key {
    #[inline]
    fn of(label: &[u8]) -> Self {
        let len = label.len();
        let word8 = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        let word4 = |b: &[u8]| u64::from(u32::from_le_bytes(b.try_into().unwrap_or([0; 4])));
        let words = match len {
            0 => (0, 0),
            1..=3 => (
                u64::from(label[0])
                    | u64::from(label[len / 2]) << 8
                    | u64::from(label[len - 1]) << 16,
                0,
            ),
            4..=7 => (word4(&label[..4]), word4(&label[len - 4..])),
            8..=SHORT => (word8(&label[..8]), word8(&label[len - 8..])),
            _ => {
                let mut h = FxHasher::default();
                h.write(label);
                (h.finish(), 0)
            }
        };
        Self { len, words }
    }

    /// The cache slot of this key in registry `registry`.
    #[inline]
    fn slot(self, registry: u64) -> usize {
        let (a, b) = self.words;
        let mixed = (a ^ b.rotate_left(29) ^ registry.rotate_left(47) ^ self.len as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 58) as usize % CACHE_SLOTS
    }
}

/// What a thread keeps to record through its ring: in the thread's own storage, so that
/// finding a cached label or the ring reads no pointer first and takes no borrow.
struct Local {
    /// The thread's ring, taken on its first entry.
    ring: OnceCell<Arc<Ring>>,
    cache: [Cell<Cached>; CACHE_SLOTS],
    /// The label of each cached slot's lane, for records (`None` for the unlabelled lane);
    /// a key longer than [`SHORT`] bytes is compared with it whole.
    labels: RefCell<[Option<Arc<str>>; CACHE_SLOTS]>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            ring: OnceCell::new(),
            cache: [const { Cell::new(UNCACHED) }; CACHE_SLOTS],
            labels: RefCell::new([const { None }; CACHE_SLOTS]),
        }
    };
}

/// Takes a ring no live thread owns, or makes one.
fn adopt_ring() -> Arc<Ring> {
    let mut rings = RINGS.write().unwrap_or_else(PoisonError::into_inner);
    let adopted = rings.iter().find(|ring| {
        // Acquire pairs with the Release of the thread that left it: its drain is seen.
        ring.owned
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    });
    match adopted {
        Some(ring) => Arc::clone(ring),
        None => {
            let ring = Arc::new(Ring::new());
            rings.push(Arc::clone(&ring));
            ring
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(ring) = self.ring.get() {
            ring.drain();
            // Release pairs with the Acquire of the thread that adopts the ring.
            ring.owned.store(false, Ordering::Release);
        }
    }
}

/// The slot and handle of `label`'s lane in registry `registry`, if `local`'s cache holds it.
#[inline(always)]
fn cached(local: &Local, registry: u64, label: &str) -> Option<(usize, Handle)> {
    let key = Key::of(label.as_bytes());
    let slot = key.slot(registry);
    let cached = local.cache[slot].get();
    let found = cached.registry == registry
        && cached.key == key
        && (key.len <= SHORT
            || local
                .labels
                .try_borrow()
                .is_ok_and(|labels| labels[slot].as_deref() == Some(label)));
    found.then_some((slot, cached.handle))
}

/// The handle of `label`'s lane in registry `registry`, if the calling thread's cache holds
/// it.
#[inline(always)]
pub(crate) fn lookup(registry: u64, label: &str) -> Option<Handle> {
    LOCAL
        .try_with(|local| cached(local, registry, label).map(|(_, handle)| handle))
        .ok()
        .flatten()
}

/// [`lookup`], with the lane's label (its own copy, `None` for the unlabelled lane).
#[inline]
pub(crate) fn lookup_labelled(registry: u64, label: &str) -> Option<(Handle, Option<Arc<str>>)> {
    LOCAL
        .try_with(|local| {
            let (slot, handle) = cached(local, registry, label)?;
            let lane_label = local.labels.try_borrow().ok()?[slot].clone();
            Some((handle, lane_label))
        })
        .ok()
        .flatten()
}

/// Caches `handle` as that of `label`'s lane in registry `registry`, with the lane's label
/// `lane_label`, for later [`lookup`]s by the calling thread (none while the thread is being
/// torn down).
pub(crate) fn remember(registry: u64, label: &str, handle: Handle, lane_label: Option<Arc<str>>) {
    let _ = LOCAL.try_with(|local| {
        let key = Key::of(label.as_bytes());
        let slot = key.slot(registry);
        let Ok(mut labels) = local.labels.try_borrow_mut() else {
            return;
        };
        labels[slot] = lane_label;
        local.cache[slot].set(Cached {
            registry,
            key,
            handle,
        });
    });
}

/// Records an entry for the lane `handle` names (`at`: when it ended, as [`since_base`]
/// counts), into the calling thread's ring; an entry
/// whose lane was replaced or dropped is discarded when applied, as a measurement ending on
/// a replaced state always was. While the thread is being torn down, the entry is applied
/// at once.
#[inline]
pub(crate) fn push(handle: Handle, value: u64, at: i64, status: Status) {
    let entry = Entry { value, at, status };
    let pushed = LOCAL
        .try_with(|local| match local.ring.get() {
            Some(ring) => {
                ring.push(handle, entry);
                true
            }
            None => false,
        })
        .unwrap_or(false);
    if !pushed {
        push_slow(handle, entry);
    }
}

/// [`push`] for a thread that has no ring yet, or can have none.
#[cold]
fn push_slow(handle: Handle, entry: Entry) {
    let pushed = LOCAL
        .try_with(|local| {
            local.ring.get_or_init(adopt_ring).push(handle, entry);
            true
        })
        .unwrap_or(false);
    if !pushed {
        apply(Some(handle), &[entry]);
    }
}

/// The label of the lane a handle names, while its place is that lane's (even if the lane
/// itself is gone).
pub(crate) fn label(handle: Handle) -> Option<Arc<str>> {
    let lanes = lanes();
    let place = lanes.places.get(handle.id as usize)?;
    // A place keeps its label until it is given again, which renews the tag: a tag one
    // past the handle's with no lane means the place was only freed.
    let freed = place.sink.is_none() && place.tag == (handle.tag.wrapping_add(1) & TAG_MASK);
    (place.tag == handle.tag || freed)
        .then(|| place.label.clone())
        .flatten()
}

/// The lane a handle names, as its concrete type, if it is still alive. Entries this thread
/// recorded before are applied first, so that what the caller records next follows them.
pub(crate) fn lane<L: Send + Sync + 'static>(handle: Handle) -> Option<Arc<L>> {
    flush_mine();
    let sink = lanes().get(handle)?.sink.clone()?;
    sink.upgrade()?.into_any().downcast::<L>().ok()
}

/// Applies the entries of this thread's ring: before a record that does not go through the
/// ring, so that a thread's measurements of a lane keep their order.
#[inline]
pub(crate) fn flush_mine() {
    let _ = LOCAL.try_with(|local| {
        if let Some(ring) = local.ring.get() {
            if ring.pending() {
                ring.drain();
            }
        }
    });
}

/// Applies the entries of every ring: what readers call before reading a label state or a
/// record log, so that they see every measurement that ended before the call.
pub(crate) fn drain_all() {
    let rings = RINGS.read().unwrap_or_else(PoisonError::into_inner);
    for ring in rings.iter() {
        if ring.pending() {
            ring.drain();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// A sink that adds up what it is given and remembers the order.
    struct Sum {
        key: LaneKey,
        seen: Mutex<Vec<u64>>,
        total: AtomicU64,
    }

    impl Sum {
        fn new(label: &str) -> Arc<Self> {
            Arc::new_cyclic(|me: &Weak<Sum>| Sum {
                key: LaneKey::new(me.clone(), Some(Arc::from(label))),
                seen: Mutex::default(),
                total: AtomicU64::new(0),
            })
        }

        fn total(&self) -> u64 {
            self.total.load(Ordering::Relaxed)
        }
    }

    impl Sink for Sum {
        fn apply(&self, entries: &[Entry]) {
            let mut seen = lock(&self.seen);
            for e in entries {
                seen.push(e.value);
                self.total.fetch_add(e.value, Ordering::Relaxed);
            }
        }

        fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
            self
        }
    }

    fn push(handle: Handle, value: u64) {
        super::push(handle, value, since_base(Instant::now()), Status::Ok);
    }

    #[test]
    fn short_labels_have_equal_keys_exactly_when_they_are_equal() {
        let labels: Vec<String> = ["", "a", "b", "ab", "ba", "abc", "acc", "aac", "abcd"]
            .into_iter()
            .map(String::from)
            .chain((0..=SHORT).flat_map(|len| {
                // Each byte position changed in turn, for every length.
                (0..len).map(move |i| {
                    let mut b = vec![b'x'; len];
                    b[i] = b'y';
                    String::from_utf8(b).unwrap()
                })
            }))
            .chain((0..=SHORT).map(|len| "x".repeat(len)))
            .collect();
        for a in &labels {
            for b in &labels {
                let equal = Key::of(a.as_bytes()) == Key::of(b.as_bytes());
                assert_eq!(equal, a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn long_labels_are_compared_whole() {
        let (a, b) = (
            "x".repeat(40),
            format!("{}y{}", "x".repeat(20), "x".repeat(19)),
        );
        let lane = Sum::new("long");
        remember(
            u64::MAX - 5,
            &a,
            lane.key.handle(),
            Some(Arc::from(a.as_str())),
        );
        assert_eq!(lookup(u64::MAX - 5, &a), Some(lane.key.handle()));
        assert_eq!(lookup(u64::MAX - 5, &b), None);
    }

    #[test]
    fn the_monotonic_clock_read_directly_agrees_with_instants() {
        // On Linux the direct reading is the one in use; elsewhere `now` subtracts instants.
        assert_eq!(base().monotonic.is_some(), cfg!(target_os = "linux"));
        for _ in 0..1000 {
            let before = since_base(Instant::now());
            let now = now();
            let after = since_base(Instant::now());
            assert!(before <= now && now <= after, "{before} {now} {after}");
        }
    }

    #[test]
    fn instant_at_inverts_since_base() {
        let now = Instant::now();
        let day = Duration::from_secs(86_400);
        let base = base().instant;
        for t in [
            Some(now),
            Some(base),
            Some(now + day),
            base.checked_sub(Duration::from_nanos(1)),
        ]
        .into_iter()
        .flatten()
        {
            assert_eq!(instant_at(since_base(t)), t);
        }
        // Nanoseconds before and after the base, each exactly.
        for nanos in [-1_000_000_007, -1, 0, 1, 86_400_000_000_123] {
            assert_eq!(since_base(instant_at(nanos)), nanos);
        }
    }

    #[test]
    fn an_instants_reading_is_parsed_only_from_its_debug_form() {
        assert_eq!(
            monotonic_of("Instant { tv_sec: 12, tv_nsec: 345 }"),
            Some(12_000_000_345)
        );
        for bad in [
            "Instant { tv_sec: 12 }",
            "Instant { tv_sec: 12, tv_nsec: 1000000000 }",
            "Instant { tv_sec: 99999999999999999, tv_nsec: 0 }",
            "Instant { t: 4 }",
            "",
        ] {
            assert_eq!(monotonic_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_and_statuses_survive_the_ring() {
        let base = base().instant;
        let at = |t: Instant| since_base(t) - since_base(base);
        assert_eq!(at(base), 0);
        assert_eq!(at(base + Duration::from_nanos(1)), 1);
        let year = Duration::from_secs(86_400 * 365);
        assert_eq!(at(base + year), year.as_nanos() as i64);
        if let Some(before) = base.checked_sub(Duration::from_nanos(123_456_789)) {
            assert_eq!(at(before), -123_456_789);
        }
        for s in [Status::Ok, Status::Failed, Status::Cancelled] {
            assert_eq!(decode_status(encode_status(s)), s);
        }
    }

    #[test]
    fn entries_reach_their_lane_in_order_across_many_fills() {
        let (a, b) = (Sum::new("a"), Sum::new("b"));
        remember(u64::MAX - 1, "a", a.key.handle(), Some(Arc::from("a")));
        assert_eq!(lookup(u64::MAX - 1, "a"), Some(a.key.handle()));
        assert_eq!(lookup(u64::MAX - 1, "b"), None);
        for i in 0..1000u64 {
            let lane = if i % 3 == 0 { &b } else { &a };
            push(lane.key.handle(), i);
        }
        drain_all();
        let expect = |keep: fn(&u64) -> bool| (0..1000u64).filter(keep).collect::<Vec<_>>();
        assert_eq!(*lock(&a.seen), expect(|i| i % 3 != 0));
        assert_eq!(*lock(&b.seen), expect(|i| i % 3 == 0));
    }

    #[test]
    fn more_lanes_than_a_drain_groups_keep_each_lane_in_order() {
        // A thread of its own: its ring holds only these entries.
        std::thread::spawn(|| {
            let lanes: Vec<Arc<Sum>> = (0..3 * GROUPS).map(|i| Sum::new(&format!("{i}"))).collect();
            let n = lanes.len() as u64;
            for i in 0..10 * CAPACITY as u64 {
                // Round-robin, with runs of two now and then.
                let lane = &lanes[((i / 2 + i % 3) % n) as usize];
                push(lane.key.handle(), i);
            }
            drain_all();
            let mut all: Vec<u64> = Vec::new();
            for lane in &lanes {
                let seen = lock(&lane.seen).clone();
                assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
                all.extend(seen);
            }
            all.sort_unstable();
            assert_eq!(all, (0..10 * CAPACITY as u64).collect::<Vec<_>>());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_handle_ended_on_another_thread_lands_and_a_dropped_lane_gets_nothing() {
        let a = Sum::new("a");
        let h = a.key.handle();
        std::thread::spawn(move || push(h, 7)).join().unwrap();
        drain_all();
        assert_eq!(a.total(), 7);
        // A lane dropped with entries pending: they are discarded, and its place, given to
        // another lane, does not take them.
        let gone = Sum::new("gone");
        let hg = gone.key.handle();
        push(hg, 1);
        drop(gone);
        assert_eq!(label(hg).as_deref(), Some("gone"));
        // Enough lanes dropped that the place is given again: to a lane that never receives
        // the old handle's entries, and under a new tag.
        for _ in 0..=FREED_KEPT {
            drop(Sum::new("dropped"));
        }
        // Each lane made takes the oldest freed place and frees it again when dropped, so the
        // queue turns until the old place comes round.
        let mut made = 0;
        let next = loop {
            let lane = Sum::new("next");
            if lane.key.handle().id == hg.id {
                break lane;
            }
            made += 1;
            assert!(made < 100 * FREED_KEPT, "the place is never given again");
        };
        assert_ne!(next.key.handle(), hg);
        push(hg, 1);
        drain_all();
        assert_eq!(next.total(), 0);
        assert!(lane::<Sum>(hg).is_none());
        assert_eq!(label(hg), None);
        assert!(lane::<Sum>(next.key.handle()).is_some());
    }

    #[test]
    fn a_thread_that_ends_applies_its_entries() {
        let a = Sum::new("a");
        let h = a.key.handle();
        std::thread::spawn(move || {
            for _ in 0..10 {
                push(h, 1);
            }
        })
        .join()
        .unwrap();
        // Applied by the thread as it ended, before any reader drained.
        assert_eq!(a.total(), 10);
    }
}
