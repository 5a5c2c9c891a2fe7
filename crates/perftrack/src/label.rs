//! Per-label state: a registry capped at `max_labels`, and a per-thread cache that lets the
//! record path find a label's state without taking any shared lock.

use std::any::Any;
use std::cell::RefCell;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};

use rustc_hash::{FxHashMap, FxHasher};

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

/// Maps labels to their state. At most `max_labels` distinct labels get their own state; later
/// ones share [`OVERFLOW_LABEL`]'s, and each such lookup is counted. The unlabelled state is
/// kept under the key `""`, which no label can take.
pub(crate) struct LabelRegistry<T> {
    /// Process-unique and renewed by every `replace`, so that cached entries of an earlier
    /// content never match.
    id: AtomicU64,
    max_labels: usize,
    map: RwLock<FxHashMap<Arc<str>, Arc<T>>>,
    overflowed: AtomicU64,
    make: Make<T>,
}

fn next_registry_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    // Relaxed: only distinctness matters.
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl<T: Labelled> LabelRegistry<T> {
    pub(crate) fn new(
        max_labels: usize,
        make: impl Fn(Option<Arc<str>>) -> T + Send + Sync + 'static,
    ) -> Self {
        Self {
            id: AtomicU64::new(next_registry_id()),
            max_labels,
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
            map.insert(key, Arc::new(state));
        }
        // Release pairs with the Acquire in `get`: a thread that sees the new id also sees
        // the new map (it takes the map's lock on a miss anyway).
        self.id.store(next_registry_id(), Ordering::Release);
        self.overflowed.store(overflowed, Ordering::Relaxed);
    }

    /// The state of `label` (`""` means unlabelled), created on first use.
    #[inline]
    pub(crate) fn get(&self, label: &str) -> Arc<T> {
        let id = self.id.load(Ordering::Acquire);
        if let Some(hit) = cache::get::<T>(id, label) {
            return hit;
        }
        self.get_slow(id, label)
    }

    #[cold]
    fn get_slow(&self, id: u64, label: &str) -> Arc<T> {
        let found = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(label)
            .cloned();
        let state = match found {
            Some(state) => state,
            None => {
                let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
                let distinct = map.len()
                    - usize::from(map.contains_key(OVERFLOW_LABEL))
                    - usize::from(map.contains_key(""));
                if let Some(state) = map.get(label) {
                    Arc::clone(state)
                } else if label.is_empty() {
                    let state = Arc::new((self.make)(None));
                    map.insert(Arc::from(""), Arc::clone(&state));
                    state
                } else if distinct < self.max_labels || label == OVERFLOW_LABEL {
                    let name: Arc<str> = Arc::from(label);
                    let state = Arc::new((self.make)(Some(Arc::clone(&name))));
                    map.insert(name, Arc::clone(&state));
                    state
                } else {
                    // Relaxed: a statistic read on its own. Saturates rather than wraps: a
                    // loaded or merged count may already be `u64::MAX`.
                    let (relaxed, add_one) = (Ordering::Relaxed, |n: u64| n.checked_add(1));
                    let _ = self.overflowed.fetch_update(relaxed, relaxed, add_one);
                    let state = map
                        .entry(Arc::from(OVERFLOW_LABEL))
                        .or_insert_with_key(|name| Arc::new((self.make)(Some(Arc::clone(name)))));
                    return Arc::clone(state);
                }
            }
        };
        cache::put(id, label, &state);
        state
    }

    /// The state of `label` if it exists (`""` means unlabelled); creates nothing.
    pub(crate) fn find(&self, label: &str) -> Option<Arc<T>> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(label)
            .cloned()
    }

    /// Every state, the unlabelled one first, then sorted by label.
    pub(crate) fn all(&self) -> Vec<Arc<T>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<_> = map.values().cloned().collect();
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

/// A small direct-mapped cache per thread from (registry, label) to the label's state. It holds
/// weak references, so it never keeps a dropped tracker's state alive.
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
    pub(super) fn get<T: Labelled>(registry: u64, label: &str) -> Option<Arc<T>> {
        CACHE
            .try_with(|cache| {
                let cache = cache.try_borrow().ok()?;
                let entry = cache[index(registry, label)].as_ref()?;
                if entry.registry != registry {
                    return None;
                }
                let state = entry.state.upgrade()?.downcast::<T>().ok()?;
                (state.label().unwrap_or("") == label).then_some(state)
            })
            .ok()
            .flatten()
    }

    pub(super) fn put<T: Labelled>(registry: u64, label: &str, state: &Arc<T>) {
        let weak: Weak<dyn Any + Send + Sync> = Arc::downgrade(state) as Weak<T>;
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

    #[test]
    fn the_same_label_gives_the_same_state() {
        let reg = LabelRegistry::new(10, Named);
        let a = reg.get("retrieval");
        let b = reg.get("retrieval");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(reg.get("").label(), None);
        assert!(Arc::ptr_eq(&reg.get(""), &reg.get("")));
        assert_eq!(reg.all().len(), 2);
    }

    #[test]
    fn labels_past_the_cap_share_the_overflow_label() {
        let reg = LabelRegistry::new(2, Named);
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
        let reg = LabelRegistry::new(10, Named);
        let before = reg.get("x");
        reg.replace(vec![Named(Some(Arc::from("y")))], 0, || {});
        let after = reg.get("x");
        assert!(!Arc::ptr_eq(&before, &after));
        assert_eq!(reg.all().len(), 2);
    }

    #[test]
    fn two_registries_never_share_cached_state() {
        let one = LabelRegistry::new(10, Named);
        let two = LabelRegistry::new(10, Named);
        let a = one.get("x");
        let b = two.get("x");
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&one.get("x"), &a));
        assert!(Arc::ptr_eq(&two.get("x"), &b));
    }
}
