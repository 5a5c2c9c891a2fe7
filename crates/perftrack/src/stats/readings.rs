//! Distributions keyed by reading name (`process_rss`, `core_0`, ...), as the memory and CPU
//! summaries keep them.

use std::collections::BTreeMap;

use super::Distribution;
use crate::{Status, Timestamp};

/// One distribution per reading.
pub(crate) type Readings = BTreeMap<String, Distribution>;

/// Records `value` under `name`, creating the reading's distribution on first use.
pub(crate) fn record(
    readings: &mut Readings,
    name: &str,
    value: f64,
    status: Status,
    at: Timestamp,
    exact_limit: usize,
) {
    match readings.get_mut(name) {
        Some(d) => {
            d.record(value, status, at);
        }
        None => {
            let mut d = Distribution::new(exact_limit);
            d.record(value, status, at);
            readings.insert(name.to_owned(), d);
        }
    }
}

/// Adds every reading of `other`.
pub(crate) fn merge(readings: &mut Readings, other: &Readings) {
    for (name, d) in other {
        match readings.get_mut(name) {
            Some(mine) => mine.merge(d),
            None => {
                readings.insert(name.clone(), d.clone());
            }
        }
    }
}

/// Applies a tracker's `exact_limit` to every reading.
pub(crate) fn set_exact_limit(readings: &mut Readings, exact_limit: usize) {
    for d in readings.values_mut() {
        d.set_exact_limit(exact_limit);
    }
}

/// Checks that every reading is `known` and counts no more than `sessions` values.
pub(crate) fn check(
    facet: &str,
    readings: &Readings,
    sessions: u64,
    known: impl Fn(&str) -> bool,
) -> Result<(), String> {
    for (name, d) in readings {
        if !known(name) {
            return Err(format!("`{facet}` has an unknown reading `{name}`"));
        }
        if d.count() > sessions {
            return Err(format!(
                "`{facet}.{name}` counts {} values of only {sessions} sessions",
                d.count()
            ));
        }
    }
    Ok(())
}
