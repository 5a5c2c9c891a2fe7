//! A throughput label as metrics files save it.

use serde::{Deserialize, Serialize};

use crate::Distribution;
use crate::tracker::Summary;

/// One throughput label as a version-2 metrics file saves it (`docs/FORMAT.md` §5.2): its
/// finished sessions' average rates and every event counted under it, by sessions and by
/// `record` calls alike.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThroughputSummary {
    /// Finished sessions' average rates, in events per second.
    pub(crate) session_rates: Distribution,
    /// Events counted under the label. In a live tracker, the events of loaded and merged
    /// files; its own are in the label's window, and are added when it saves.
    pub(crate) events: u64,
}

/// A version-1 summary: session rates alone (version 1 did not save label counts).
impl From<Distribution> for ThroughputSummary {
    fn from(session_rates: Distribution) -> Self {
        Self {
            session_rates,
            events: 0,
        }
    }
}

impl Summary for ThroughputSummary {
    fn empty(exact_limit: usize) -> Self {
        Distribution::new(exact_limit).into()
    }

    fn count(&self) -> u64 {
        self.session_rates.count()
    }

    fn is_empty(&self) -> bool {
        self.count() == 0 && self.events == 0
    }

    fn merge(&mut self, other: &Self) {
        self.session_rates.merge(&other.session_rates);
        self.events = self.events.saturating_add(other.events);
    }

    fn set_exact_limit(&mut self, exact_limit: usize) {
        self.session_rates.set_exact_limit(exact_limit);
    }
}
