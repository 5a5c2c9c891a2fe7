//! Per-label state: a registry capped at `max_labels`, the lanes through which threads record
//! into a label's state, and a per-thread cache that lets the record path find its lane without
//! taking any shared lock or touching any reference count another thread touches.

use std::any::Any;
use std::cell::RefCell;
use std::hash::Hasher;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, Weak};

use rustc_hash::{FxHashMap, FxHasher};

use crate::recorder::{self, Handle, LaneKey, Sink};
use crate::stripe::thread_index;

/// The label that measurements are recorded under once `max_labels` distinct labels exist.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker, OVERFLOW_LABEL};
/// let tracker = LatencyTracker::new(LatencyConfig { max_labels: 0, ..Default::default() });
/// tracker.time("a query's text", || ());
/// assert!(tracker.statistics(Some(OVERFLOW_LABEL)).is_some());
/// ```
pub const OVERFLOW_LABEL: &str = "_other";

/// Per-label state that knows its own label.
pub(crate) trait Labelled: Send + Sync + 'static {
    /// The label, or `None` for the unlabelled state.
    fn label(&self) -> Option<&str>;
}

type Make<T> = Box<dyn Fn(Option<Arc<str>>) -> T + Send + Sync>;

/// One stripe's way into a label's state: what a measurement in flight holds. Each label has
/// one lane per stripe, and a thread always takes its own stripe's (see stripe.rs), so threads
/// recording under one label share neither the lane's reference count nor the copy of the label
/// its records carry; the state itself they only read, apart from the stripe of it each
/// writes to. A lane is aligned to 128 bytes so that two lanes never share a cache line.
#[derive(Debug)]
#[repr(align(128))]
pub struct Lane<T> {
    state: Arc<T>,
    index: usize,
    label: Option<Arc<str>>,
    /// Its place in the table of lanes that threads' rings record into.
    key: LaneKey,
}

impl<T> Lane<T> {
    /// The stripe this lane records into.
    #[inline]
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// The handle that entries for this lane carry in threads' rings.
    #[inline]
    pub(crate) fn handle(&self) -> Handle {
        self.key.handle()
    }

    /// The label (the lane's own copy), for records.
    #[inline]
    pub(crate) fn label_arc(&self) -> Option<Arc<str>> {
        self.label.clone()
    }

    /// The lane's own copy of the label, without a new reference.
    #[inline]
    pub(crate) fn label_ref(&self) -> &Option<Arc<str>> {
        &self.label
    }
}

impl<T> Deref for Lane<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.state
    }
}

/// A label's state and its lanes, made on first use.
struct Entry<T> {
    state: Arc<T>,
    lanes: Box<[OnceLock<Arc<Lane<T>>>]>,
}

impl<T: Labelled> Entry<T>
where
    Lane<T>: Sink,
{
    fn new(state: T, lanes: usize) -> Self {
        Self {
            state: Arc::new(state),
            lanes: (0..lanes).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The lane of stripe `index` (reduced modulo the lane count, a power of two).
    fn lane(&self, index: usize) -> Arc<Lane<T>> {
        let index = index & (self.lanes.len() - 1);
        let lane = self.lanes[index].get_or_init(|| {
            // A copy of its own, so that records of different stripes never share its
            // reference count.
            let label: Option<Arc<str>> = self.state.label().map(Arc::from);
            Arc::new_cyclic(|me: &Weak<Lane<T>>| Lane {
                state: Arc::clone(&self.state),
                index,
                key: LaneKey::new(me.clone(), label.clone()),
                label,
            })
        });
        Arc::clone(lane)
    }
}

/// Maps labels to their state. At most `max_labels` distinct labels get their own state; later
/// ones share [`OVERFLOW_LABEL`]'s, and each such lookup is counted. The unlabelled state is
/// kept under the key `""`, which no label can take.
pub(crate) struct LabelRegistry<T> {
    /// Process-unique and renewed by every `replace`, so that cached entries of an earlier
    /// content never match.
    id: AtomicU64,
    max_labels: usize,
    /// Lanes per label: a power of two.
    lanes: usize,
    map: RwLock<FxHashMap<Arc<str>, Entry<T>>>,
    overflowed: AtomicU64,
    make: Make<T>,
}

fn next_registry_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    // Relaxed: only distinctness matters.
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl<T: Labelled> LabelRegistry<T>
where
    Lane<T>: Sink,
{
    /// A registry of at most `max_labels` labels with `lanes` lanes each (rounded up to a
    /// power of two); `make` builds a label's state.
    pub(crate) fn new(
        max_labels: usize,
        lanes: usize,
        make: impl Fn(Option<Arc<str>>) -> T + Send + Sync + 'static,
    ) -> Self {
        Self {
            id: AtomicU64::new(next_registry_id()),
            max_labels,
            lanes: lanes.max(1).next_power_of_two(),
            map: RwLock::default(),
            overflowed: AtomicU64::new(0),
            make: Box::new(make),
        }
    }

    /// Replaces every state at once (a reset, or a load): `install` runs under the registry's
    /// write lock, so no state is created between the old content and the new.
    pub(crate) fn replace(&self, states: Vec<T>, overflowed: u64, install: impl FnOnce()) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        install();
        map.clear();
        for state in states {
            let key: Arc<str> = Arc::from(state.label().unwrap_or(""));
            map.insert(key, Entry::new(state, self.lanes));
        }
        // Release pairs with the Acquire in `get`: a thread that sees the new id also sees
        // the new map (it takes the map's lock on a miss anyway).
        self.id.store(next_registry_id(), Ordering::Release);
        self.overflowed.store(overflowed, Ordering::Relaxed);
    }

    /// The calling thread's lane into the state of `label` (`""` means unlabelled), created on
    /// first use.
    #[inline]
    pub(crate) fn get(&self, label: &str) -> Arc<Lane<T>> {
        let id = self.id.load(Ordering::Acquire);
        if let Some(hit) = cache::get::<T>(id, label) {
            return hit;
        }
        self.get_slow(id, label)
    }

    #[cold]
    fn get_slow(&self, id: u64, label: &str) -> Arc<Lane<T>> {
        let (lane, capped) = self.with_entry(label, |entry| entry.lane(thread_index()));
        if capped {
            self.add_overflowed(1);
        } else {
            cache::put(id, label, &lane);
        }
        lane
    }

    /// The handle of the calling thread's lane into the state of `label` (`""` means
    /// unlabelled), for its ring: no reference count touched. Past the cap, each call counts
    /// one lookup sent to [`OVERFLOW_LABEL`], as [`get`](Self::get) does.
    #[inline(always)]
    pub(crate) fn handle(&self, label: &str) -> Handle {
        let id = self.id.load(Ordering::Acquire);
        match recorder::lookup(id, label) {
            Some(handle) => handle,
            None => self.handle_slow(id, label),
        }
    }

    /// [`handle`](Self::handle), with the lane's label (its own copy, `None` for the
    /// unlabelled lane): what a record of the lane carries.
    #[inline]
    pub(crate) fn handle_labelled(&self, label: &str) -> (Handle, Option<Arc<str>>) {
        let id = self.id.load(Ordering::Acquire);
        match recorder::lookup_labelled(id, label) {
            Some(found) => found,
            None => self.handle_slow_labelled(id, label),
        }
    }

    #[cold]
    fn handle_slow(&self, id: u64, label: &str) -> Handle {
        self.handle_slow_labelled(id, label).0
    }

    #[cold]
    fn handle_slow_labelled(&self, id: u64, label: &str) -> (Handle, Option<Arc<str>>) {
        let ((handle, lane_label), capped) = self.with_entry(label, |entry| {
            let lane = entry.lane(thread_index());
            (lane.handle(), lane.label_arc())
        });
        if capped {
            // Not cached, so that every lookup is counted.
            self.add_overflowed(1);
        } else {
            recorder::remember(id, label, handle, lane_label.clone());
        }
        (handle, lane_label)
    }

    /// The state of `label` (`""` means unlabelled), created on first use, and whether it is
    /// [`OVERFLOW_LABEL`]'s because the cap was reached; the caller counts what it sends
    /// there.
    pub(crate) fn resolve(&self, label: &str) -> (Arc<T>, bool) {
        self.with_entry(label, |entry| Arc::clone(&entry.state))
    }

    /// Runs `f` on the entry of `label`, created on first use (or on [`OVERFLOW_LABEL`]'s
    /// past the cap, which the returned flag says).
    fn with_entry<R>(&self, label: &str, f: impl FnOnce(&Entry<T>) -> R) -> (R, bool) {
        {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = map.get(label) {
                return (f(entry), false);
            }
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let distinct = map.len()
            - usize::from(map.contains_key(OVERFLOW_LABEL))
            - usize::from(map.contains_key(""));
        let lanes = self.lanes;
        if let Some(entry) = map.get(label) {
            (f(entry), false)
        } else if label.is_empty() {
            let entry = map
                .entry(Arc::from(""))
                .or_insert_with(|| Entry::new((self.make)(None), lanes));
            (f(entry), false)
        } else if distinct < self.max_labels || label == OVERFLOW_LABEL {
            let name: Arc<str> = Arc::from(label);
            let entry = Entry::new((self.make)(Some(Arc::clone(&name))), lanes);
            (f(map.entry(name).or_insert(entry)), false)
        } else {
            let entry = map
                .entry(Arc::from(OVERFLOW_LABEL))
                .or_insert_with_key(|name| Entry::new((self.make)(Some(Arc::clone(name))), lanes));
            (f(entry), true)
        }
    }

    /// Counts `n` more measurements sent to [`OVERFLOW_LABEL`]; saturates.
    pub(crate) fn add_overflowed(&self, n: u64) {
        // Relaxed: a statistic read on its own.
        let _ = self
            .overflowed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(c.saturating_add(n))
            });
    }

    /// The state of `label` if it exists (`""` means unlabelled); creates nothing.
    pub(crate) fn find(&self, label: &str) -> Option<Arc<T>> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(label)
            .map(|entry| Arc::clone(&entry.state))
    }

    /// Every state, the unlabelled one first, then sorted by label.
    pub(crate) fn all(&self) -> Vec<Arc<T>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<_> = map.values().map(|entry| Arc::clone(&entry.state)).collect();
        all.sort_by(|a, b| a.label().cmp(&b.label()));
        all
    }

    /// How many lookups were sent to [`OVERFLOW_LABEL`] because the cap was reached.
    pub(crate) fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }
}

impl<T> std::fmt::Debug for LabelRegistry<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelRegistry")
            .field("id", &self.id.load(Ordering::Relaxed))
            .field("max_labels", &self.max_labels)
            .finish_non_exhaustive()
    }
}

/// A small direct-mapped cache per thread from (registry, label) to the thread's lane into the
/// label's state. It holds weak references, so it never keeps a dropped tracker's state alive.
mod cache {
    use super::*;

    const SLOTS: usize = 64;

    struct Entry {
        registry: u64,
        state: Weak<dyn Any + Send + Sync>,
    }

    thread_local! {
        static CACHE: RefCell<[Option<Entry>; SLOTS]> =
            const { RefCell::new([const { None }; SLOTS]) };
    }

    #[inline]
    fn index(registry: u64, label: &str) -> usize {
        let mut h = FxHasher::default();
        h.write_u64(registry);
        h.write(label.as_bytes());
        // The top bits of a multiplicative mix spread FxHash's output over the slots.
        (h.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SLOTS
    }

    #[inline]
    pub(super) fn get<T: Labelled>(registry: u64, label: &str) -> Option<Arc<Lane<T>>> {
        CACHE
            .try_with(|cache| {
                let cache = cache.try_borrow().ok()?;
                let entry = cache[index(registry, label)].as_ref()?;
                if entry.registry != registry {
                    return None;
                }
                let lane = entry.state.upgrade()?.downcast::<Lane<T>>().ok()?;
                (lane.label.as_deref().unwrap_or("") == label).then_some(lane)
            })
            .ok()
            .flatten()
    }

    pub(super) fn put<T: Labelled>(registry: u64, label: &str, lane: &Arc<Lane<T>>) {
        let weak: Weak<dyn Any + Send + Sync> = Arc::downgrade(lane) as Weak<Lane<T>>;
        let _ = CACHE.try_with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut() {
                cache[index(registry, label)] = Some(Entry {
                    registry,
                    state: weak,
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(Option<Arc<str>>);

    impl Labelled for Named {
        fn label(&self) -> Option<&str> {
            self.0.as_deref()
        }
    }

    impl Sink for Lane<Named> {
        fn apply(&self, _entries: &[crate::recorder::Entry]) {}

        fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
            self
        }
    }

    #[test]
    fn the_same_label_gives_the_same_state() {
        let reg = LabelRegistry::new(10, 4, Named);
        let a = reg.get("retrieval");
        let b = reg.get("retrieval");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(reg.get("").label(), None);
        assert!(Arc::ptr_eq(&reg.get(""), &reg.get("")));
        assert_eq!(reg.all().len(), 2);
    }

    #[test]
    fn labels_past_the_cap_share_the_overflow_label() {
        let reg = LabelRegistry::new(2, 4, Named);
        reg.get("a");
        reg.get("b");
        let c = reg.get("c");
        let d = reg.get("d");
        assert_eq!(c.label(), Some(OVERFLOW_LABEL));
        assert!(Arc::ptr_eq(&c, &d));
        assert_eq!(reg.overflowed(), 2);
        // Existing labels still resolve to their own state.
        assert_eq!(reg.get("a").label(), Some("a"));
        // The unlabelled state does not count towards the cap.
        assert_eq!(reg.get("").label(), None);
        let labels: Vec<_> = reg
            .all()
            .iter()
            .map(|s| s.label().map(str::to_owned))
            .collect();
        assert_eq!(
            labels,
            [
                None,
                Some("_other".into()),
                Some("a".into()),
                Some("b".into())
            ]
        );
    }

    #[test]
    fn replace_swaps_the_content_and_invalidates_cached_states() {
        let reg = LabelRegistry::new(10, 4, Named);
        let before = reg.get("x");
        reg.replace(vec![Named(Some(Arc::from("y")))], 0, || {});
        let after = reg.get("x");
        assert!(!Arc::ptr_eq(&before, &after));
        assert_eq!(reg.all().len(), 2);
    }

    #[test]
    fn two_registries_never_share_cached_state() {
        let one = LabelRegistry::new(10, 4, Named);
        let two = LabelRegistry::new(10, 4, Named);
        let a = one.get("x");
        let b = two.get("x");
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&one.get("x"), &a));
        assert!(Arc::ptr_eq(&two.get("x"), &b));
    }

    #[test]
    fn threads_of_different_stripes_get_different_lanes_into_one_state() {
        let reg = LabelRegistry::new(10, 4, Named);
        let lanes: Vec<Arc<Lane<Named>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|_| s.spawn(|| reg.get("x"))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let state = reg.find("x").unwrap();
        for lane in &lanes {
            assert!(Arc::ptr_eq(&lane.state, &state));
            assert_eq!(lane.label_arc().as_deref(), Some("x"));
            // Its own copy of the label, never the registry's key.
            assert!(!Arc::ptr_eq(
                lane.label.as_ref().unwrap(),
                state.0.as_ref().unwrap()
            ));
            assert!(Arc::ptr_eq(
                lane,
                &reg.with_entry("x", |e| e.lane(lane.index())).0
            ));
        }
        // One lane per stripe: threads of one stripe share it, threads of two never do.
        for a in &lanes {
            for b in &lanes {
                assert_eq!(Arc::ptr_eq(a, b), a.index() == b.index());
            }
        }
    }
}
