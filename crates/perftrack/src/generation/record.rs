//! `GenerationRecord`: one finished request; `GenerationTiming`: one measured elsewhere.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Status, TimeUnit, Timestamp, TrackId};

/// One finished generation request, as `stop` returns it and metrics files store it. Times are
/// in `unit`; rates are per second. `docs/METRICS.md` defines each figure and names it in
/// vLLM, GuideLLM, AIPerf, llmperf and the OpenTelemetry GenAI conventions.
///
/// ```
/// use perftrack::{GenerationConfig, GenerationTracker, ManualClock};
/// use std::{sync::Arc, time::Duration};
///
/// let clock = Arc::new(ManualClock::new());
/// let tracker = GenerationTracker::with_clock(GenerationConfig::default(), clock.clone());
/// let mut request = tracker.track("answer");
/// clock.advance(Duration::from_millis(100));
/// request.tokens(4);
/// clock.advance(Duration::from_millis(40));
/// request.tokens(4);
/// let record = request.stop();
/// assert_eq!((record.ttft, record.e2e, record.output_tokens), (Some(100.0), 140.0, 8));
/// assert!((record.tpot.unwrap() - 40.0 / 7.0).abs() < 1e-9); // 7 tokens after the first
/// assert_eq!(record.itl.map(|gaps| (gaps.count, gaps.max)), Some((1, 40.0)));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationRecord {
    /// The request's id.
    pub track_id: TrackId,
    /// When the request ended.
    pub timestamp: Timestamp,
    /// The unit of every time in the record.
    pub unit: TimeUnit,
    /// The label, if the request had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Arc<str>>,
    /// Time to first token: from the start to the first chunk of one or more output tokens;
    /// absent when none came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft: Option<f64>,
    /// The whole request, start to end.
    pub e2e: f64,
    /// Time per output token after the first, vLLM's definition:
    /// `(e2e − ttft) / (output_tokens − 1)`; absent with fewer than two output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot: Option<f64>,
    /// The gaps between consecutive chunks (vLLM's ITL); absent with fewer than two chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl: Option<ChunkGaps>,
    /// The prompt's size, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output tokens received.
    pub output_tokens: u64,
    /// `output_tokens / e2e`, per second (llmperf's per-request throughput); absent for a
    /// request of no measurable duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_second: Option<f64>,
    /// `(output_tokens − 1) / (e2e − ttft)`, per second: the pace after the first token;
    /// absent with fewer than two output tokens or no time after the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_tokens_per_second: Option<f64>,
    /// When the request started (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When the request ended (with `include_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// How the request ended.
    #[serde(default)]
    pub status: Status,
    /// Whether it met every objective of the tracker's `slo`; absent when none is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_met: Option<bool>,
}

/// A request's gaps between consecutive chunks, in the record's unit.
///
/// ```
/// let gaps = perftrack::ChunkGaps { count: 3, mean: 40.0, max: 40.0 };
/// assert_eq!(gaps.count, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkGaps {
    /// How many gaps: one fewer than the chunks.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// The longest.
    pub max: f64,
}

impl GenerationRecord {
    /// The same record with its times in `unit`.
    pub(crate) fn in_unit(mut self, unit: TimeUnit) -> Self {
        if unit == self.unit {
            return self;
        }
        let convert = |value: f64| unit.from_seconds(self.unit.to_seconds(value));
        self.ttft = self.ttft.map(convert);
        self.e2e = convert(self.e2e);
        self.tpot = self.tpot.map(convert);
        self.itl = self.itl.map(|gaps| ChunkGaps {
            count: gaps.count,
            mean: convert(gaps.mean),
            max: convert(gaps.max),
        });
        self.unit = unit;
        self
    }

    /// Checks what deserialisation cannot: times are finite and not negative, and ttft is
    /// within e2e.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        let times = [Some(self.e2e), self.ttft, self.tpot];
        if times
            .into_iter()
            .flatten()
            .any(|t| !t.is_finite() || t < 0.0)
        {
            return Err("times must be finite and not negative".to_owned());
        }
        if self.ttft.is_some_and(|ttft| ttft > self.e2e) {
            return Err("`ttft` is greater than `e2e`".to_owned());
        }
        Ok(())
    }
}

/// A request measured elsewhere (an API's reported timings and usage), for
/// [`GenerationTracker::record`](crate::GenerationTracker::record).
///
/// ```
/// use perftrack::{GenerationTiming, Status};
/// use std::time::Duration;
///
/// let timing = GenerationTiming {
///     ttft: Some(Duration::from_millis(180)),
///     e2e: Duration::from_millis(2_400),
///     output_tokens: 112,
///     input_tokens: Some(1_500),
///     ..GenerationTiming::default()
/// };
/// assert_eq!(timing.status, Status::Ok);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationTiming {
    /// Time to first token, if known (and if any token came).
    pub ttft: Option<Duration>,
    /// The whole request.
    pub e2e: Duration,
    /// Output tokens received.
    pub output_tokens: u64,
    /// The prompt's size, when known.
    pub input_tokens: Option<u64>,
    /// How the request ended.
    pub status: Status,
}

impl GenerationTiming {
    /// Checks the timing: a first token needs output tokens, and comes within the request.
    pub(crate) fn check(&self) -> Result<()> {
        let invalid = |reason: String| Err(Error::InvalidTiming { reason });
        match self.ttft {
            Some(ttft) if self.output_tokens == 0 => invalid(format!(
                "a time to first token ({ttft:?}) with no output tokens: give `output_tokens`, or no `ttft`"
            )),
            Some(ttft) if ttft > self.e2e => invalid(format!(
                "the time to first token ({ttft:?}) is longer than the whole request ({:?})",
                self.e2e
            )),
            _ => Ok(()),
        }
    }
}

/// The Python original had no generation tracker: a file of its layout naming one is refused.
#[derive(Debug)]
pub enum NoPythonRecord {}

impl<'de> Deserialize<'de> for NoPythonRecord {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> std::result::Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "the Python original has no generation tracker; generation files are perftrack's own layout",
        ))
    }
}
