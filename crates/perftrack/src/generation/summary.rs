//! `GenerationSummary`: a label's requests, one distribution per figure, and its statistics.

use serde::{Deserialize, Serialize};

use crate::tracker::Summary;
use crate::{Distribution, Statistics, Status, TimeUnit, Timestamp};

/// A label's finished requests: one [`Distribution`] per figure (times in seconds, rates per
/// second, tokens as counts), how many met the objectives, and the span from the first start to
/// the last end. What snapshots and exporters read, and what metrics files save
/// (`docs/FORMAT.md` §5.5).
///
/// ```
/// use perftrack::{GenerationConfig, GenerationTracker};
///
/// let tracker = GenerationTracker::new(GenerationConfig::default());
/// let mut request = tracker.track("answer");
/// request.tokens(3);
/// request.stop();
/// let snapshot = tracker.snapshot();
/// let answer = &snapshot.labels["answer"];
/// assert_eq!((answer.requests(), answer.output_tokens().count()), (1, 1));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationSummary {
    /// Every request's whole duration, in seconds (its count is the request count, with the
    /// failed and cancelled among them).
    e2e: Distribution,
    /// Time to first token of the requests that had one, in seconds.
    ttft: Distribution,
    /// Time per output token of the requests with two or more, in seconds.
    tpot: Distribution,
    /// Every gap between consecutive chunks of every request, in seconds.
    itl: Distribution,
    /// Output tokens per second of the requests of measurable duration.
    output_tokens_per_second: Distribution,
    /// Prompt sizes, where given.
    input_tokens: Distribution,
    /// Output tokens of every request.
    output_tokens: Distribution,
    /// Requests that met every objective.
    slo_met: u64,
    /// When the first request started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_start: Option<Timestamp>,
    /// When the last request ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_end: Option<Timestamp>,
}

/// One request, in seconds, as the summary adds it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Measured {
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) e2e: f64,
    pub(crate) ttft: Option<f64>,
    pub(crate) tpot: Option<f64>,
    pub(crate) output_tokens_per_second: Option<f64>,
    pub(crate) input_tokens: Option<u64>,
    pub(crate) output_tokens: u64,
    pub(crate) status: Status,
    pub(crate) slo_met: bool,
}

impl GenerationSummary {
    /// Adds one finished request (its chunk gaps go in with [`add_gaps`](Self::add_gaps)).
    pub(crate) fn record(&mut self, m: &Measured) {
        let (status, at) = (m.status, m.end);
        self.e2e.record(m.e2e, status, at);
        if let Some(ttft) = m.ttft {
            self.ttft.record(ttft, status, at);
        }
        if let Some(tpot) = m.tpot {
            self.tpot.record(tpot, status, at);
        }
        if let Some(rate) = m.output_tokens_per_second {
            self.output_tokens_per_second.record(rate, status, at);
        }
        if let Some(input) = m.input_tokens {
            self.input_tokens.record(input as f64, status, at);
        }
        self.output_tokens
            .record(m.output_tokens as f64, status, at);
        if m.slo_met {
            self.slo_met = self.slo_met.saturating_add(1);
        }
        self.first_start = Some(self.first_start.map_or(m.start, |s| s.min(m.start)));
        self.last_end = Some(self.last_end.map_or(m.end, |e| e.max(m.end)));
    }

    /// Adds chunk gaps, in seconds, that ended by `at`.
    #[inline]
    pub(crate) fn add_gaps(&mut self, gaps: &[f64], at: Timestamp) {
        self.itl.record_ok_batch(gaps, at);
    }

    /// How many requests it counts.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// tracker.track("a").stop();
    /// assert_eq!(tracker.snapshot().labels["a"].requests(), 1);
    /// ```
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.e2e.count()
    }

    /// Whole request durations, in seconds.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// tracker.track("a").stop();
    /// assert_eq!(tracker.snapshot().labels["a"].e2e().count(), 1);
    /// ```
    #[must_use]
    pub fn e2e(&self) -> &Distribution {
        &self.e2e
    }

    /// Times to first token, in seconds.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// tracker.track("a").stop(); // no token: no ttft
    /// assert_eq!(tracker.snapshot().labels["a"].ttft().count(), 0);
    /// ```
    #[must_use]
    pub fn ttft(&self) -> &Distribution {
        &self.ttft
    }

    /// Times per output token, in seconds.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let mut request = tracker.track("a");
    /// request.tokens(1);
    /// request.stop(); // one token: no tpot
    /// assert_eq!(tracker.snapshot().labels["a"].tpot().count(), 0);
    /// ```
    #[must_use]
    pub fn tpot(&self) -> &Distribution {
        &self.tpot
    }

    /// Every gap between consecutive chunks of every request, in seconds.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let mut request = tracker.track("a");
    /// request.tokens(1);
    /// request.tokens(1);
    /// request.stop();
    /// assert_eq!(tracker.snapshot().labels["a"].itl().count(), 1);
    /// ```
    #[must_use]
    pub fn itl(&self) -> &Distribution {
        &self.itl
    }

    /// Output tokens per second of each request.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let _ = tracker.snapshot().labels.get("a").map(|s| s.output_tokens_per_second().count());
    /// ```
    #[must_use]
    pub fn output_tokens_per_second(&self) -> &Distribution {
        &self.output_tokens_per_second
    }

    /// Prompt sizes, where given.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let mut request = tracker.track("a");
    /// request.input_tokens(1_500);
    /// request.stop();
    /// assert_eq!(tracker.snapshot().labels["a"].input_tokens().count(), 1);
    /// ```
    #[must_use]
    pub fn input_tokens(&self) -> &Distribution {
        &self.input_tokens
    }

    /// Output tokens of each request.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// tracker.track("a").stop();
    /// assert_eq!(tracker.snapshot().labels["a"].output_tokens().count(), 1);
    /// ```
    #[must_use]
    pub fn output_tokens(&self) -> &Distribution {
        &self.output_tokens
    }

    /// Requests that met every objective (0 without objectives).
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// tracker.track("a").stop();
    /// assert_eq!(tracker.snapshot().labels["a"].slo_met(), 0);
    /// ```
    #[must_use]
    pub fn slo_met(&self) -> u64 {
        self.slo_met
    }

    /// The first start and the last end of the label's requests.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// tracker.track("a").stop();
    /// let (first, last) = tracker.snapshot().labels["a"].span().unwrap();
    /// assert!(first <= last);
    /// ```
    #[must_use]
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        self.first_start.zip(self.last_end)
    }

    /// The requests that met every objective: how many, their share of all the label's
    /// requests, and how many per second of the label's span (first start to last end; absent
    /// when that span is zero). Meaningful when the tracker that recorded them had objectives
    /// (without, none meets them).
    ///
    /// ```
    /// use perftrack::{GenerationConfig, GenerationTracker};
    ///
    /// let tracker = GenerationTracker::new(GenerationConfig::from_json(r#"{"slo": {"e2e": 60000}}"#)?);
    /// tracker.track("answer").stop();
    /// let goodput = tracker.snapshot().labels["answer"].goodput();
    /// assert_eq!((goodput.met, goodput.fraction), (1, 1.0));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    #[must_use]
    pub fn goodput(&self) -> Goodput {
        let requests = self.requests();
        let seconds = self
            .span()
            .map(|(first, last)| {
                last.as_unix_nanos().saturating_sub(first.as_unix_nanos()) as f64 / 1e9
            })
            .filter(|s| *s > 0.0);
        Goodput {
            met: self.slo_met,
            fraction: if requests == 0 {
                0.0
            } else {
                self.slo_met as f64 / requests as f64
            },
            per_second: seconds.map(|s| self.slo_met as f64 / s),
        }
    }

    /// Statistics in `unit`; `goodput` only when objectives are set.
    pub(crate) fn statistics(
        &self,
        unit: TimeUnit,
        objectives: bool,
    ) -> Option<GenerationStatistics> {
        let requests = self.requests();
        if requests == 0 {
            return None;
        }
        let (failed, cancelled) = self.e2e.failed_cancelled();
        let time = |d: &Distribution| d.statistics(unit.per_second(), unit.as_str());
        let count = |d: &Distribution, name: &str| d.statistics(1.0, name);
        let goodput = objectives.then(|| self.goodput());
        Some(GenerationStatistics {
            requests,
            failed,
            cancelled,
            ttft: time(&self.ttft),
            tpot: time(&self.tpot),
            itl: time(&self.itl),
            e2e: time(&self.e2e),
            output_tokens_per_second: count(&self.output_tokens_per_second, "tokens/s"),
            input_tokens: count(&self.input_tokens, "tokens"),
            output_tokens: count(&self.output_tokens, "tokens"),
            goodput,
        })
    }
}

impl Summary for GenerationSummary {
    fn empty(exact_limit: usize) -> Self {
        let d = || Distribution::new(exact_limit);
        Self {
            e2e: d(),
            ttft: d(),
            tpot: d(),
            itl: d(),
            output_tokens_per_second: d(),
            input_tokens: d(),
            output_tokens: d(),
            slo_met: 0,
            first_start: None,
            last_end: None,
        }
    }

    fn count(&self) -> u64 {
        self.requests()
    }

    /// Empty only with no request and no chunk gap (gaps flushed by a request still running
    /// are kept).
    fn is_empty(&self) -> bool {
        self.requests() == 0 && self.itl.count() == 0
    }

    fn merge(&mut self, other: &Self) {
        self.e2e.merge(&other.e2e);
        self.ttft.merge(&other.ttft);
        self.tpot.merge(&other.tpot);
        self.itl.merge(&other.itl);
        self.output_tokens_per_second
            .merge(&other.output_tokens_per_second);
        self.input_tokens.merge(&other.input_tokens);
        self.output_tokens.merge(&other.output_tokens);
        self.slo_met = self.slo_met.saturating_add(other.slo_met);
        self.first_start = match (self.first_start, other.first_start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_end = match (self.last_end, other.last_end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn set_exact_limit(&mut self, exact_limit: usize) {
        for d in [
            &mut self.e2e,
            &mut self.ttft,
            &mut self.tpot,
            &mut self.itl,
            &mut self.output_tokens_per_second,
            &mut self.input_tokens,
            &mut self.output_tokens,
        ] {
            d.set_exact_limit(exact_limit);
        }
    }

    fn check(&self) -> Result<(), String> {
        let requests = self.requests();
        for (name, d) in [
            ("ttft", &self.ttft),
            ("tpot", &self.tpot),
            ("output_tokens_per_second", &self.output_tokens_per_second),
            ("input_tokens", &self.input_tokens),
            ("output_tokens", &self.output_tokens),
        ] {
            if d.count() > requests {
                return Err(format!(
                    "`{name}` counts {} requests, more than `e2e`'s {requests}",
                    d.count()
                ));
            }
        }
        if self.slo_met > requests {
            return Err(format!(
                "`slo_met` is {}, more than the {requests} requests",
                self.slo_met
            ));
        }
        if requests > 0 && self.span().is_none() {
            return Err(
                "`first_start` and `last_end` are required when requests are counted".to_owned(),
            );
        }
        if self.span().is_some_and(|(first, last)| first > last) {
            return Err("`first_start` is after `last_end`".to_owned());
        }
        Ok(())
    }
}

/// Statistics of a generation label (or of all labels together), each figure a full
/// [`Statistics`] in the tracker's time unit (times), tokens per second, or tokens.
///
/// ```
/// use perftrack::{GenerationConfig, GenerationTracker};
///
/// let tracker = GenerationTracker::new(GenerationConfig::default());
/// let mut request = tracker.track("answer");
/// request.tokens(2);
/// request.stop();
/// let stats = tracker.statistics(Some("answer")).unwrap();
/// assert_eq!((stats.requests, stats.output_tokens.unwrap().max), (1, 2.0));
/// assert!(stats.goodput.is_none()); // no objectives set
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationStatistics {
    /// Requests, whatever their status.
    pub requests: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Requests cancelled (a guard dropped before `stop`).
    pub cancelled: u64,
    /// Time to first token.
    pub ttft: Option<Statistics>,
    /// Time per output token (requests with two or more).
    pub tpot: Option<Statistics>,
    /// Every chunk gap of every request, pooled.
    pub itl: Option<Statistics>,
    /// Whole requests.
    pub e2e: Option<Statistics>,
    /// Output tokens per second of each request.
    pub output_tokens_per_second: Option<Statistics>,
    /// Prompt sizes.
    pub input_tokens: Option<Statistics>,
    /// Output tokens.
    pub output_tokens: Option<Statistics>,
    /// Requests that met the objectives, when objectives are set.
    pub goodput: Option<Goodput>,
}

/// Requests that met every objective: how many, what fraction of all, and how many per second
/// of the label's span (first start to last end).
///
/// ```
/// let goodput = perftrack::Goodput { met: 3, fraction: 0.75, per_second: Some(1.5) };
/// assert_eq!(goodput.met, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Goodput {
    /// Requests that met every objective.
    pub met: u64,
    /// `met` divided by all requests.
    pub fraction: f64,
    /// `met` divided by the seconds from the first start to the last end; absent when that
    /// span is zero.
    pub per_second: Option<f64>,
}
