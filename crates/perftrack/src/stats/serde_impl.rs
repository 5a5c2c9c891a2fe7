//! `Distribution` is saved and loaded as its summary (see `docs/FORMAT.md`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Distribution, Summary};

impl Serialize for Distribution {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_summary().serialize(serializer)
    }
}

/// Loads a summary, checking that its parts agree (the sketch holds `count` values, the exact
/// values lie within min and max, ...). The loaded distribution keeps every exact value it
/// was saved with; call [`Distribution::set_exact_limit`] to apply a tracker's limit.
impl<'de> Deserialize<'de> for Distribution {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let summary = Summary::deserialize(deserializer)?;
        Distribution::from_summary(summary, usize::MAX).map_err(serde::de::Error::custom)
    }
}
