//! Received spans become stage measurements: each OTLP span is read as the library's
//! [`FinishedSpan`], mapped by the one [`SpanMapping`], and recorded into a latency tracker
//! (every span) and a generation tracker (spans with a first-token marker or token counts),
//! with the span's own times.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use perftrack::{
    AttributeValue, FinishedSpan, GenerationConfig, GenerationTracker, LatencyConfig,
    LatencyTracker, SpanEvent, SpanMapping, Timestamp,
};
use serde::Serialize;

/// The most records each tracker keeps (the newest): enough to check single spans, and
/// reached early, so that the receiver's memory stops growing with the number of spans and
/// depends on the labels alone.
pub(crate) const MAX_RECORDS: usize = 10_000;

/// The trackers that received spans are recorded into, and what was received.
#[derive(Debug)]
pub(crate) struct Stages {
    /// Every span's duration under its label.
    pub(crate) latency: LatencyTracker,
    /// Spans that were model calls: with a first-token marker, or token counts.
    pub(crate) generation: GenerationTracker,
    mapping: SpanMapping,
    spans: SpanCounts,
}

/// Span counts; every counter only grows. Relaxed: each is a tally read for reports, and no
/// other memory is published through it.
#[derive(Debug, Default)]
struct SpanCounts {
    received: AtomicU64,
    recorded: AtomicU64,
    requests: AtomicU64,
    bad: AtomicU64,
}

/// What the spans received came to, as reported and saved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpansJson {
    /// Spans in accepted requests.
    pub(crate) received: u64,
    /// Spans recorded as latency measurements.
    pub(crate) recorded: u64,
    /// Spans also recorded as generation requests.
    pub(crate) generation_requests: u64,
    /// Spans that were bad data (an end before the start, a first token outside the span):
    /// counted here, recorded nowhere.
    pub(crate) bad: u64,
}

/// What one request's spans came to.
#[derive(Debug, Default)]
pub(crate) struct Ingested {
    /// Spans that were bad data.
    pub(crate) rejected: u64,
    /// Why the first of them was.
    pub(crate) why: Option<String>,
}

impl Stages {
    /// Empty trackers; spans are labelled by `label_attribute`'s value where they carry it.
    pub(crate) fn new(label_attribute: Option<String>) -> Self {
        let latency = LatencyTracker::new(LatencyConfig {
            max_records: MAX_RECORDS,
            ..LatencyConfig::default()
        });
        let generation = GenerationTracker::new(GenerationConfig {
            max_records: MAX_RECORDS,
            ..GenerationConfig::default()
        });
        Self {
            latency,
            generation,
            mapping: SpanMapping {
                label_attribute,
                ..SpanMapping::default()
            },
            spans: SpanCounts::default(),
        }
    }

    /// Records every span of `request`.
    pub(crate) fn ingest(&self, request: &ExportTraceServiceRequest) -> Ingested {
        let mut ingested = Ingested::default();
        let mut attributes = Vec::new();
        let mut events = Vec::new();
        let spans = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans);
        for span in spans {
            if let Err(why) = self.record(span, &mut attributes, &mut events) {
                ingested.rejected += 1;
                ingested.why.get_or_insert(why);
            }
        }
        ingested
    }

    /// Records one span; `Err` with why when it was bad data. `attributes` and `events` are
    /// reused buffers.
    fn record<'a>(
        &self,
        span: &'a Span,
        attributes: &mut Vec<(&'a str, AttributeValue<'a>)>,
        events: &mut Vec<SpanEvent<'a>>,
    ) -> Result<(), String> {
        self.spans.received.fetch_add(1, Ordering::Relaxed);
        attributes.clear();
        attributes.extend(span.attributes.iter().filter_map(attribute));
        events.clear();
        events.extend(span.events.iter().map(|e| SpanEvent {
            name: &e.name,
            time: unix_nanos(e.time_unix_nano),
        }));
        let finished = FinishedSpan {
            name: &span.name,
            start: unix_nanos(span.start_time_unix_nano),
            end: unix_nanos(span.end_time_unix_nano),
            attributes,
            events,
            failed: span
                .status
                .as_ref()
                .is_some_and(|s| s.code == StatusCode::Error as i32),
        };
        let mapped = match self.mapping.map(&finished) {
            Ok(mapped) => mapped,
            Err(e) => {
                self.spans.bad.fetch_add(1, Ordering::Relaxed);
                return Err(e.to_string());
            }
        };
        let end = Timestamp::from(mapped.end);
        if let Some(request) = mapped.request() {
            if let Err(e) = self.generation.record_at(&mapped.label, request, end) {
                self.spans.bad.fetch_add(1, Ordering::Relaxed);
                return Err(format!("span `{}`: {e}", mapped.label));
            }
            self.spans.requests.fetch_add(1, Ordering::Relaxed);
        }
        self.latency
            .record_at(&mapped.label, mapped.duration, end, mapped.status);
        self.spans.recorded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The span counts so far.
    pub(crate) fn spans(&self) -> SpansJson {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SpansJson {
            received: read(&self.spans.received),
            recorded: read(&self.spans.recorded),
            generation_requests: read(&self.spans.requests),
            bad: read(&self.spans.bad),
        }
    }
}

/// A time of OTLP's (nanoseconds since the Unix epoch) as a `SystemTime`.
fn unix_nanos(nanos: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// An attribute the span mapping can read: strings, integers, floats and booleans (arrays,
/// maps and bytes carry nothing it reads).
fn attribute(kv: &KeyValue) -> Option<(&str, AttributeValue<'_>)> {
    let value = match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => AttributeValue::Str(s),
        any_value::Value::IntValue(n) => AttributeValue::Int(*n),
        any_value::Value::DoubleValue(f) => AttributeValue::Float(*f),
        any_value::Value::BoolValue(b) => AttributeValue::Bool(*b),
        _ => return None,
    };
    Some((&kv.key, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status, span::Event};
    use perftrack::Status as RecordStatus;

    const T0: u64 = 1_700_000_000_000_000_000;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        }
    }

    fn span(name: &str, start: u64, end: u64) -> Span {
        Span {
            name: name.into(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            ..Span::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn a_span_is_recorded_with_its_own_duration_and_end() {
        let stages = Stages::new(None);
        let ingested = stages.ingest(&request(vec![span("retrieve", T0, T0 + 12_345_678)]));
        assert_eq!(ingested.rejected, 0);
        let records = stages.latency.records();
        assert_eq!(records.len(), 1);
        // Milliseconds, from the span's nanoseconds.
        assert_eq!(records[0].value, 12.345678);
        assert_eq!(
            records[0].timestamp,
            Timestamp::from_unix_nanos(i64::try_from(T0 + 12_345_678).unwrap())
        );
        assert_eq!(stages.generation.records().len(), 0);
    }

    #[test]
    fn errors_tokens_and_first_token_events_map_through_the_library() {
        let stages = Stages::new(None);
        let mut failed = span("rerank", T0, T0 + 5_000_000);
        failed.status = Some(Status {
            code: StatusCode::Error as i32,
            ..Status::default()
        });
        let mut streamed = span("chat", T0, T0 + 1_000_000_000);
        streamed.attributes = vec![
            kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(50)),
            kv(
                "gen_ai.usage.output_tokens",
                any_value::Value::IntValue(101),
            ),
        ];
        streamed.events = vec![Event {
            name: "First Token Stream Event".into(),
            time_unix_nano: T0 + 200_000_000,
            ..Event::default()
        }];
        let mut usage_only = span("llm", T0, T0 + 400_000_000);
        usage_only.attributes = vec![kv(
            "llm.token_count.completion",
            any_value::Value::StringValue("8".into()),
        )];
        stages.ingest(&request(vec![failed, streamed, usage_only]));

        let rerank = stages.latency.statistics(Some("rerank")).unwrap();
        assert_eq!((rerank.count, rerank.failed), (1, 1));
        let records = stages.generation.records();
        assert_eq!(records.len(), 2);
        let chat = records
            .iter()
            .find(|r| r.label.as_deref() == Some("chat"))
            .unwrap();
        // TTFT 200 ms from the event's own time; 100 tokens after the first over 800 ms.
        assert_eq!(chat.ttft, Some(200.0));
        assert_eq!(chat.tpot, Some(8.0));
        assert_eq!((chat.output_tokens, chat.input_tokens), (101, Some(50)));
        let llm = records
            .iter()
            .find(|r| r.label.as_deref() == Some("llm"))
            .unwrap();
        assert_eq!((llm.ttft, llm.output_tokens), (None, 8));
        assert_eq!(stages.spans().generation_requests, 2);
        assert_eq!(stages.latency.records()[0].status, RecordStatus::Failed);
    }

    #[test]
    fn a_span_that_ends_before_it_starts_is_counted_bad_and_the_rest_recorded() {
        let stages = Stages::new(None);
        let ingested = stages.ingest(&request(vec![
            span("backwards", T0 + 10, T0),
            span("fine", T0, T0 + 10),
        ]));
        assert_eq!(ingested.rejected, 1);
        assert!(ingested.why.unwrap().contains("backwards"));
        assert_eq!(
            stages.spans(),
            SpansJson {
                received: 2,
                recorded: 1,
                generation_requests: 0,
                bad: 1
            }
        );
        assert!(stages.latency.statistics(Some("backwards")).is_none());
    }

    #[test]
    fn the_label_attribute_labels_spans_that_carry_it() {
        let stages = Stages::new(Some("stage".into()));
        let mut tagged = span("POST /query", T0, T0 + 1_000);
        tagged.attributes = vec![kv("stage", any_value::Value::StringValue("answer".into()))];
        stages.ingest(&request(vec![tagged, span("untagged", T0, T0 + 1_000)]));
        let labels: Vec<String> = stages.latency.statistics_by_label().into_keys().collect();
        assert_eq!(labels, ["answer", "untagged"]);
    }
}
