//! The one naming table of generation figures for exporters: each figure's OpenTelemetry GenAI
//! metric name, unit, attributes and advised bucket boundaries, and its Prometheus name; the
//! attribute keys every generation series carries; and the request counters' names. Every
//! exporter and ingester reads names from here, so a figure never gets two names.

use super::GenerationSummary;
use crate::Distribution;

/// The version of the OpenTelemetry semantic conventions the GenAI names come from. Those
/// conventions are still in development and moving; `docs/METRICS.md` says what changed after.
///
/// ```
/// assert_eq!(perftrack::GENAI_CONVENTIONS_VERSION, "1.41.0");
/// ```
pub const GENAI_CONVENTIONS_VERSION: &str = "1.41.0";

/// Bucket boundaries in seconds that the conventions advise for client durations
/// (`gen_ai.client.operation.duration` and the chunk metrics).
const CLIENT_SECONDS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Bucket boundaries in seconds that the conventions advise for
/// `gen_ai.server.time_per_output_token`, which TPOT borrows (there is no client TPOT metric).
const TPOT_SECONDS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];

/// Bucket boundaries in tokens advised for `gen_ai.client.token.usage`.
const TOKENS: &[f64] = &[
    1.0,
    4.0,
    16.0,
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// A generation figure that exporters publish.
///
/// ```
/// use perftrack::GenerationFigure;
///
/// let ttft = GenerationFigure::TimeToFirstChunk.names();
/// assert_eq!(ttft.otel_name, "gen_ai.client.operation.time_to_first_chunk");
/// assert_eq!(ttft.prometheus_name, "gen_ai_client_operation_time_to_first_chunk_seconds");
/// assert_eq!(GenerationFigure::ALL.len(), 6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GenerationFigure {
    /// The whole call (`e2e`).
    Duration,
    /// Time to the first chunk (`ttft`).
    TimeToFirstChunk,
    /// Every gap between chunks (`itl`).
    TimePerOutputChunk,
    /// Time per output token after the first (`tpot`).
    TimePerOutputToken,
    /// Prompt tokens (`input_tokens`).
    InputTokens,
    /// Output tokens (`output_tokens`).
    OutputTokens,
}

/// How exporters name one [`GenerationFigure`].
///
/// ```
/// let usage = perftrack::GenerationFigure::InputTokens.names();
/// assert_eq!((usage.otel_name, usage.otel_unit, usage.token_type), ("gen_ai.client.token.usage", "{token}", Some("input")));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FigureNames {
    /// The figure.
    pub figure: GenerationFigure,
    /// The OpenTelemetry metric name (a client metric of the GenAI conventions, or
    /// perftrack's own for TPOT, which has none on the client).
    pub otel_name: &'static str,
    /// The OpenTelemetry unit: `s` or `{token}`.
    pub otel_unit: &'static str,
    /// The value of `gen_ai.token.type` for token usage; `None` for times.
    pub token_type: Option<&'static str>,
    /// The Prometheus metric family (a histogram): the OpenTelemetry name with dots as
    /// underscores and the unit as a suffix, as OpenTelemetry's Prometheus exporters write it.
    pub prometheus_name: &'static str,
    /// The advised explicit bucket boundaries, in the OpenTelemetry unit.
    pub buckets: &'static [f64],
    /// One line for the metric's help text.
    pub description: &'static str,
}

/// The table: one row per figure, in the order of [`GenerationFigure::ALL`].
static TABLE: [FigureNames; 6] = [
    FigureNames {
        figure: GenerationFigure::Duration,
        otel_name: "gen_ai.client.operation.duration",
        otel_unit: "s",
        token_type: None,
        prometheus_name: "gen_ai_client_operation_duration_seconds",
        buckets: CLIENT_SECONDS,
        description: "Duration of each generation call, start to end (e2e).",
    },
    FigureNames {
        figure: GenerationFigure::TimeToFirstChunk,
        otel_name: "gen_ai.client.operation.time_to_first_chunk",
        otel_unit: "s",
        token_type: None,
        prometheus_name: "gen_ai_client_operation_time_to_first_chunk_seconds",
        buckets: CLIENT_SECONDS,
        description: "Time from the start of a call to its first chunk of output tokens (ttft).",
    },
    FigureNames {
        figure: GenerationFigure::TimePerOutputChunk,
        otel_name: "gen_ai.client.operation.time_per_output_chunk",
        otel_unit: "s",
        token_type: None,
        prometheus_name: "gen_ai_client_operation_time_per_output_chunk_seconds",
        buckets: CLIENT_SECONDS,
        description: "Every gap between consecutive output chunks of a call (itl).",
    },
    FigureNames {
        figure: GenerationFigure::TimePerOutputToken,
        otel_name: "perftrack.generation.tpot",
        otel_unit: "s",
        token_type: None,
        prometheus_name: "perftrack_generation_tpot_seconds",
        buckets: TPOT_SECONDS,
        description: "Time per output token after the first, (e2e - ttft) / (output tokens - 1).",
    },
    FigureNames {
        figure: GenerationFigure::InputTokens,
        otel_name: "gen_ai.client.token.usage",
        otel_unit: "{token}",
        token_type: Some("input"),
        prometheus_name: "gen_ai_client_token_usage",
        buckets: TOKENS,
        description: "Tokens used by each generation call, by gen_ai_token_type.",
    },
    FigureNames {
        figure: GenerationFigure::OutputTokens,
        otel_name: "gen_ai.client.token.usage",
        otel_unit: "{token}",
        token_type: Some("output"),
        prometheus_name: "gen_ai_client_token_usage",
        buckets: TOKENS,
        description: "Tokens used by each generation call, by gen_ai_token_type.",
    },
];

impl FigureNames {
    /// The attribute that carries the tracker's `operation_name` on every generation series
    /// (`gen_ai_operation_name` in Prometheus).
    ///
    /// ```
    /// assert_eq!(perftrack::FigureNames::OPERATION_NAME_KEY, "gen_ai.operation.name");
    /// ```
    pub const OPERATION_NAME_KEY: &'static str = "gen_ai.operation.name";
    /// The attribute that carries the tracker's `provider_name`.
    ///
    /// ```
    /// assert_eq!(perftrack::FigureNames::PROVIDER_NAME_KEY, "gen_ai.provider.name");
    /// ```
    pub const PROVIDER_NAME_KEY: &'static str = "gen_ai.provider.name";
    /// The attribute that tells input from output token usage (the row's `token_type`).
    ///
    /// ```
    /// assert_eq!(perftrack::FigureNames::TOKEN_TYPE_KEY, "gen_ai.token.type");
    /// ```
    pub const TOKEN_TYPE_KEY: &'static str = "gen_ai.token.type";
}

/// A count of a generation tracker's requests that exporters publish beside the figures
/// (the GenAI conventions define none, so the names are perftrack's own).
///
/// ```
/// use perftrack::GenerationCounter;
///
/// let failed = GenerationCounter::Failed.names();
/// assert_eq!((failed.otel_name, failed.otel_unit), ("perftrack.generation.failed", "{request}"));
/// assert_eq!(failed.prometheus_name, "perftrack_generation_failed_total");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GenerationCounter {
    /// Requests that failed.
    Failed,
    /// Requests that were cancelled (dropped before completing).
    Cancelled,
    /// Requests that ended well and met every objective (only for trackers with objectives).
    SloMet,
}

/// How exporters name one [`GenerationCounter`], a monotonic count of requests.
///
/// ```
/// let met = perftrack::GenerationCounter::SloMet.names();
/// assert_eq!(met.otel_name, "perftrack.generation.slo_met");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterNames {
    /// The counter.
    pub counter: GenerationCounter,
    /// The OpenTelemetry metric name (a monotonic sum).
    pub otel_name: &'static str,
    /// The OpenTelemetry unit: `{request}`.
    pub otel_unit: &'static str,
    /// The Prometheus counter family.
    pub prometheus_name: &'static str,
    /// One line for the metric's help text.
    pub description: &'static str,
}

/// The counters' table, in the order of [`GenerationCounter::ALL`].
static COUNTERS: [CounterNames; 3] = [
    CounterNames {
        counter: GenerationCounter::Failed,
        otel_name: "perftrack.generation.failed",
        otel_unit: "{request}",
        prometheus_name: "perftrack_generation_failed_total",
        description: "Generation calls that failed, by perftrack_label.",
    },
    CounterNames {
        counter: GenerationCounter::Cancelled,
        otel_name: "perftrack.generation.cancelled",
        otel_unit: "{request}",
        prometheus_name: "perftrack_generation_cancelled_total",
        description: "Generation calls that were cancelled (dropped before completing), by perftrack_label.",
    },
    CounterNames {
        counter: GenerationCounter::SloMet,
        otel_name: "perftrack.generation.slo_met",
        otel_unit: "{request}",
        prometheus_name: "perftrack_generation_slo_met_total",
        description: "Generation calls that ended well and met every objective of the tracker, by perftrack_label.",
    },
];

impl GenerationCounter {
    /// Every counter, in the table's order.
    pub const ALL: [GenerationCounter; 3] = [
        GenerationCounter::Failed,
        GenerationCounter::Cancelled,
        GenerationCounter::SloMet,
    ];

    /// The counter's row of the naming table.
    ///
    /// ```
    /// let cancelled = perftrack::GenerationCounter::Cancelled.names();
    /// assert_eq!(cancelled.prometheus_name, "perftrack_generation_cancelled_total");
    /// ```
    #[must_use]
    pub fn names(self) -> &'static CounterNames {
        &COUNTERS[self as usize]
    }

    /// The counter's value in a label's summary.
    ///
    /// ```
    /// use perftrack::{GenerationConfig, GenerationCounter, GenerationTracker, Status};
    ///
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let request = tracker.track("answer");
    /// drop(request); // dropped before `stop`: cancelled
    /// let snapshot = tracker.snapshot();
    /// assert_eq!(GenerationCounter::Cancelled.of(&snapshot.labels["answer"]), 1);
    /// assert_eq!(GenerationCounter::Failed.of(&snapshot.labels["answer"]), 0);
    /// # let _ = Status::Ok;
    /// ```
    #[must_use]
    pub fn of(self, summary: &GenerationSummary) -> u64 {
        let (failed, cancelled) = summary.e2e().failed_cancelled();
        match self {
            Self::Failed => failed,
            Self::Cancelled => cancelled,
            Self::SloMet => summary.slo_met(),
        }
    }
}

impl GenerationFigure {
    /// Every figure, in the table's order.
    pub const ALL: [GenerationFigure; 6] = [
        GenerationFigure::Duration,
        GenerationFigure::TimeToFirstChunk,
        GenerationFigure::TimePerOutputChunk,
        GenerationFigure::TimePerOutputToken,
        GenerationFigure::InputTokens,
        GenerationFigure::OutputTokens,
    ];

    /// The figure's row of the naming table.
    ///
    /// ```
    /// let tpot = perftrack::GenerationFigure::TimePerOutputToken.names();
    /// assert_eq!(tpot.prometheus_name, "perftrack_generation_tpot_seconds");
    /// assert_eq!(tpot.buckets.first(), Some(&0.01));
    /// ```
    #[must_use]
    pub fn names(self) -> &'static FigureNames {
        &TABLE[self as usize]
    }

    /// The figure's distribution in a label's summary (times in seconds, tokens as counts),
    /// in the unit of its OpenTelemetry name.
    ///
    /// ```
    /// use perftrack::{GenerationConfig, GenerationFigure, GenerationTracker};
    ///
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let mut request = tracker.track("answer");
    /// request.tokens(7);
    /// request.stop();
    /// let snapshot = tracker.snapshot();
    /// let output = GenerationFigure::OutputTokens.of(&snapshot.labels["answer"]);
    /// assert_eq!(output.statistics(1.0, "tokens").unwrap().max, 7.0);
    /// ```
    #[must_use]
    pub fn of(self, summary: &GenerationSummary) -> &Distribution {
        match self {
            Self::Duration => summary.e2e(),
            Self::TimeToFirstChunk => summary.ttft(),
            Self::TimePerOutputChunk => summary.itl(),
            Self::TimePerOutputToken => summary.tpot(),
            Self::InputTokens => summary.input_tokens(),
            Self::OutputTokens => summary.output_tokens(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_figures_and_its_buckets_increase() {
        for (i, figure) in GenerationFigure::ALL.into_iter().enumerate() {
            let names = figure.names();
            assert_eq!((figure as usize, names.figure), (i, figure));
            assert!(names.buckets.windows(2).all(|w| w[0] < w[1]), "{figure:?}");
            let unit_suffix = names.otel_unit == "s";
            assert_eq!(
                names.prometheus_name.ends_with("_seconds"),
                unit_suffix,
                "{figure:?}"
            );
            assert_eq!(
                names.prometheus_name.trim_end_matches("_seconds"),
                names.otel_name.replace('.', "_"),
                "{figure:?}"
            );
        }
    }
}
