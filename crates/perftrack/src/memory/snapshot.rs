//! Memory snapshots: the readings one moment gives, in bytes inside and in a unit outside.

use serde::{Deserialize, Serialize};

use crate::{MemoryUnit, Timestamp};

/// How a reading is converted and what its worst value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Bytes of use: converted to the unit; the worst is the largest.
    Used,
    /// Bytes that are free or a limit: converted; the worst is the smallest.
    Free,
    /// A percentage: never converted; the worst is the largest.
    Percent,
}

/// How many readings a snapshot has.
pub(crate) const N: usize = 14;

/// A snapshot's readings as an array, in bytes (percentages as they are).
pub(crate) type Reading = [Option<f64>; N];

macro_rules! snapshot {
    ($($(#[doc = $doc:literal])* $field:ident: $kind:ident,)*) => {
        /// Memory readings at one moment, in the tracker's unit (percentages are never
        /// converted). A reading that is not available is `None` and absent from JSON, never
        /// a fake 0. In a record's `change`, the same fields hold differences.
        ///
        /// ```
        /// use perftrack::{MemoryConfig, MemoryUsageTracker};
        ///
        /// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
        /// let now = tracker.current_value(None)?;
        /// # #[cfg(target_os = "linux")]
        /// assert!(now.process_rss.unwrap() > 0.0);
        /// assert!(now.gpu_used.is_none());
        /// # Ok::<(), perftrack::Error>(())
        /// ```
        #[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct MemorySnapshot {
            $(
                $(#[doc = $doc])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<f64>,
            )*
        }

        /// Every reading's name and kind, in snapshot order.
        pub(crate) const KEYS: [(&str, Kind); N] = [$((stringify!($field), Kind::$kind)),*];

        impl MemorySnapshot {
            /// The readings as an array, as they are (no unit conversion).
            pub(crate) fn to_array(self) -> Reading {
                [$(self.$field),*]
            }

            fn from_array(values: Reading) -> Self {
                let [$($field),*] = values;
                Self { $($field),* }
            }
        }
    };
}

snapshot! {
    /// Resident set size of the watched process (and its descendants, with
    /// `include_children`).
    process_rss: Used,
    /// Virtual memory size of the watched process (and its descendants).
    process_vms: Used,
    /// The kernel's high-water mark of the watched process's resident set (Linux `VmHWM`),
    /// since its start or the last reset by a tracker with `kernel_peak`.
    process_peak_rss: Used,
    /// Physical memory of the system.
    system_total: Used,
    /// Memory available to new work without swapping (`MemAvailable`).
    system_available: Free,
    /// `system_total - system_available`.
    system_used: Used,
    /// Memory not used at all (`MemFree`).
    system_free: Free,
    /// `system_used / system_total`, 0–100.
    system_percent: Percent,
    /// The memory limit of the cgroup the process runs in, if it has one.
    cgroup_limit: Free,
    /// The GPU's memory (device-wide).
    gpu_total: Used,
    /// GPU memory in use by every process (device-wide).
    gpu_used: Used,
    /// GPU memory free (device-wide).
    gpu_free: Free,
    /// `gpu_used / gpu_total`, 0–100 (device-wide).
    gpu_percent: Percent,
    /// GPU memory used by the watched process (and its descendants).
    gpu_process_used: Used,
}

/// The position of the reading called `name` in a [`Reading`]; for constants, so that an
/// unknown name fails the build.
#[allow(clippy::panic, reason = "only evaluated at compile time, in constants")]
pub(crate) const fn index(name: &str) -> usize {
    let mut i = 0;
    while i < N {
        if same(KEYS[i].0, name) {
            return i;
        }
        i += 1;
    }
    panic!("no memory reading of that name")
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The factor a reading of `kind` is divided by to express it in `unit`.
pub(crate) fn scale(kind: Kind, unit: MemoryUnit) -> f64 {
    match kind {
        Kind::Percent => 1.0,
        Kind::Used | Kind::Free => unit.bytes(),
    }
}

impl MemorySnapshot {
    /// The readings in `unit`.
    pub(crate) fn from_reading(reading: &Reading, unit: MemoryUnit) -> Self {
        let mut values = *reading;
        for (value, (_, kind)) in values.iter_mut().zip(KEYS) {
            *value = value.map(|v| v / scale(kind, unit));
        }
        Self::from_array(values)
    }

    /// The readings in bytes, from a snapshot in `unit`.
    pub(crate) fn to_reading(self, unit: MemoryUnit) -> Reading {
        let mut values = self.to_array();
        for (value, (_, kind)) in values.iter_mut().zip(KEYS) {
            *value = value.map(|v| v * scale(kind, unit));
        }
        values
    }

    /// `(name, value)` of every available reading, in snapshot order.
    ///
    /// ```
    /// let snapshot = perftrack::MemorySnapshot { process_rss: Some(12.5), ..Default::default() };
    /// assert_eq!(snapshot.readings().collect::<Vec<_>>(), [("process_rss", 12.5)]);
    /// ```
    pub fn readings(&self) -> impl Iterator<Item = (&'static str, f64)> + use<> {
        let values = self.to_array();
        KEYS.into_iter()
            .zip(values)
            .filter_map(|((name, _), v)| Some((name, v?)))
    }

    /// The reading called `name` (a field name), if it is available.
    ///
    /// ```
    /// let snapshot = perftrack::MemorySnapshot { system_percent: Some(40.0), ..Default::default() };
    /// assert_eq!(snapshot.get("system_percent"), Some(40.0));
    /// assert_eq!(snapshot.get("no_such_reading"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<f64> {
        let index = KEYS.iter().position(|(n, _)| *n == name)?;
        self.to_array()[index]
    }
}

/// Whether the reading called `name` is a percentage (never in bytes).
#[cfg(feature = "otlp")]
pub(crate) fn is_percent(name: &str) -> bool {
    KEYS.iter()
        .any(|(key, kind)| *key == name && *kind == Kind::Percent)
}

/// The worst of two readings, key by key (the largest use, the smallest free memory).
pub(crate) fn worst(a: &Reading, b: &Reading) -> Reading {
    let mut out = *a;
    for ((slot, other), (_, kind)) in out.iter_mut().zip(b).zip(KEYS) {
        *slot = match (*slot, *other) {
            (Some(x), Some(y)) => Some(if kind == Kind::Free {
                x.min(y)
            } else {
                x.max(y)
            }),
            (x, y) => x.or(y),
        };
    }
    out
}

/// `last - first`, for keys present in both.
pub(crate) fn change(first: &Reading, last: &Reading) -> Reading {
    let mut out = [None; N];
    for ((slot, a), b) in out.iter_mut().zip(first).zip(last) {
        if let (Some(a), Some(b)) = (a, b) {
            *slot = Some(b - a);
        }
    }
    out
}

/// One background or explicit sample of a session.
///
/// ```
/// use perftrack::{MemoryConfig, MemoryUsageTracker};
/// let tracker = MemoryUsageTracker::new(MemoryConfig { track_gpu: false, ..Default::default() });
/// let id = tracker.start_tracking(Some("load"));
/// let sample = tracker.record_sample(&id)?;
/// assert!(sample.memory.system_total.is_some() || cfg!(not(target_os = "linux")));
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySample {
    /// When the sample was taken.
    pub timestamp: Timestamp,
    /// The readings.
    pub memory: MemorySnapshot,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(rss: f64, free: f64) -> Reading {
        let mut r = [None; N];
        r[0] = Some(rss);
        r[6] = Some(free);
        r
    }

    #[test]
    fn worst_takes_the_largest_use_and_the_smallest_free() {
        let w = worst(&reading(10.0, 5.0), &reading(7.0, 9.0));
        assert_eq!((w[0], w[6]), (Some(10.0), Some(5.0)));
    }

    #[test]
    fn snapshots_convert_except_percentages() {
        let mut r = reading(2.0 * 1024.0 * 1024.0, 0.0);
        r[7] = Some(50.0);
        let s = MemorySnapshot::from_reading(&r, MemoryUnit::MB);
        assert_eq!((s.process_rss, s.system_percent), (Some(2.0), Some(50.0)));
        assert_eq!(s.to_reading(MemoryUnit::MB), r);
    }
}
