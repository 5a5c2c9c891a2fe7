//! The one span mapping on spans built here: every marker and key it recognises, names given by
//! configuration, and bad data (an end before the start, counts that are no counts).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use perftrack::{
    AttributeValue, Error, FinishedSpan, GenerationTiming, SpanEvent, SpanMapping, Status,
};

const MS: Duration = Duration::from_millis(1);

fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn span<'a>(
    attributes: &'a [(&'a str, AttributeValue<'a>)],
    events: &'a [SpanEvent<'a>],
) -> FinishedSpan<'a> {
    FinishedSpan {
        name: "chat",
        start: start(),
        end: start() + 1_000 * MS,
        attributes,
        events,
        failed: false,
    }
}

#[test]
fn the_opentelemetry_and_openinference_keys_give_the_same_figures() {
    let genai = [
        ("gen_ai.usage.input_tokens", AttributeValue::Int(500)),
        ("gen_ai.usage.output_tokens", AttributeValue::Int(51)),
        (
            "gen_ai.response.time_to_first_chunk",
            AttributeValue::Float(0.2),
        ),
    ];
    let openinference = [
        ("llm.token_count.prompt", AttributeValue::Int(500)),
        ("llm.token_count.completion", AttributeValue::Str("51")),
    ];
    let first = [SpanEvent {
        name: "First Token Stream Event",
        time: start() + 200 * MS,
    }];
    let mapping = SpanMapping::default();
    let a = mapping.map(&span(&genai, &[])).unwrap();
    let b = mapping.map(&span(&openinference, &first)).unwrap();
    let expected = GenerationTiming {
        ttft: Some(200 * MS),
        e2e: 1_000 * MS,
        output_tokens: 51,
        input_tokens: Some(500),
        status: Status::Ok,
    };
    assert_eq!(a.generation, Some(expected));
    assert_eq!(b.generation, Some(expected));
    for m in [&a, &b] {
        assert_eq!(
            (m.label.as_str(), m.duration, m.status),
            ("chat", 1_000 * MS, Status::Ok)
        );
        assert_eq!((m.input_tokens, m.output_tokens), (Some(500), Some(51)));
        assert!(m.ignored.is_empty(), "{:?}", m.ignored);
    }
}

#[test]
fn without_a_marker_a_span_gives_its_duration_and_tokens_only() {
    // As rig's and swiftide's spans are: usage, no first-token marker.
    let attributes = [
        ("gen_ai.usage.input_tokens", AttributeValue::Int(12)),
        ("gen_ai.usage.output_tokens", AttributeValue::Int(7)),
        ("gen_ai.operation.name", AttributeValue::Str("chat")),
    ];
    let m = SpanMapping::default().map(&span(&attributes, &[])).unwrap();
    assert_eq!(
        (m.duration, m.input_tokens, m.output_tokens),
        (1_000 * MS, Some(12), Some(7))
    );
    assert_eq!(m.generation, None);
}

#[test]
fn the_earliest_marking_event_wins_over_later_ones_and_the_attribute() {
    let attributes = [(
        "gen_ai.response.time_to_first_chunk",
        AttributeValue::Float(0.5),
    )];
    let events = [
        SpanEvent {
            name: "other",
            time: start() + 10 * MS,
        },
        SpanEvent {
            name: "First Token Stream Event",
            time: start() + 300 * MS,
        },
        SpanEvent {
            name: "First Token Stream Event",
            time: start() + 250 * MS,
        },
    ];
    let m = SpanMapping::default()
        .map(&span(&attributes, &events))
        .unwrap();
    let generation = m.generation.unwrap();
    assert_eq!(generation.ttft, Some(250 * MS));
    // No output-token attribute: the first token is the one known.
    assert_eq!(generation.output_tokens, 1);
}

#[test]
fn names_given_by_configuration_are_recognised() {
    let mapping: SpanMapping = serde_json::from_str(
        r#"{
            "label_attribute": "stage",
            "first_token_events": ["first_chunk"],
            "ttft_attributes": ["llm.ttft_s"],
            "input_token_attributes": ["usage.prompt"],
            "output_token_attributes": ["usage.completion"]
        }"#,
    )
    .unwrap();
    let attributes = [
        ("stage", AttributeValue::Str("answer")),
        ("usage.prompt", AttributeValue::Int(9)),
        ("usage.completion", AttributeValue::Float(4.0)),
        // The default keys mean nothing to this mapping.
        ("gen_ai.usage.output_tokens", AttributeValue::Int(1_000)),
    ];
    let events = [SpanEvent {
        name: "first_chunk",
        time: start() + 40 * MS,
    }];
    let m = mapping.map(&span(&attributes, &events)).unwrap();
    assert_eq!(m.label, "answer");
    assert_eq!((m.input_tokens, m.output_tokens), (Some(9), Some(4)));
    assert_eq!(m.generation.unwrap().ttft, Some(40 * MS));
    let by_attribute = [("llm.ttft_s", AttributeValue::Int(0))];
    let zero = mapping.map(&span(&by_attribute, &[])).unwrap();
    assert_eq!(zero.generation.unwrap().ttft, Some(Duration::ZERO));
    assert!(serde_json::from_str::<SpanMapping>(r#"{"first_token_event": []}"#).is_err());
}

#[test]
fn a_span_that_ends_before_it_starts_is_bad_data() {
    let mut s = span(&[], &[]);
    s.end = start() - MS;
    let err = SpanMapping::default().map(&s).unwrap_err();
    assert!(matches!(err, Error::InvalidSpan { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "span `chat` cannot be measured: it ends 1ms before it starts"
    );
}

#[test]
fn counts_that_are_no_counts_and_markers_outside_the_span_are_left_out_and_said() {
    let attributes = [
        ("gen_ai.usage.input_tokens", AttributeValue::Str("many")),
        ("gen_ai.usage.output_tokens", AttributeValue::Int(-3)),
        (
            "gen_ai.response.time_to_first_chunk",
            AttributeValue::Float(f64::NAN),
        ),
    ];
    let m = SpanMapping::default().map(&span(&attributes, &[])).unwrap();
    assert_eq!(
        (m.input_tokens, m.output_tokens, m.generation),
        (None, None, None)
    );
    assert_eq!(m.ignored.len(), 3, "{:?}", m.ignored);
    assert!(
        m.ignored[0].contains("gen_ai.usage.input_tokens"),
        "{:?}",
        m.ignored
    );

    let late = [SpanEvent {
        name: "First Token Stream Event",
        time: start() + 2_000 * MS,
    }];
    let early = [SpanEvent {
        name: "First Token Stream Event",
        time: start() - MS,
    }];
    for events in [&late[..], &early[..]] {
        let m = SpanMapping::default().map(&span(&[], events)).unwrap();
        assert_eq!(m.generation, None);
        assert_eq!(m.ignored, ["the first-token event lies outside the span"]);
    }
    let beyond = [(
        "gen_ai.response.time_to_first_chunk",
        AttributeValue::Float(5.0),
    )];
    let m = SpanMapping::default().map(&span(&beyond, &[])).unwrap();
    assert_eq!(
        m.ignored,
        ["the first-token attribute lies outside the span"]
    );
}

#[test]
fn an_error_status_marks_the_measurement_and_the_request_failed() {
    let events = [SpanEvent {
        name: "First Token Stream Event",
        time: start() + MS,
    }];
    let mut s = span(&[], &events);
    s.failed = true;
    let m = SpanMapping::default().map(&s).unwrap();
    assert_eq!(m.status, Status::Failed);
    assert_eq!(m.generation.unwrap().status, Status::Failed);
}

#[test]
fn a_request_is_the_marked_one_or_for_token_counts_one_without_a_first_token() {
    let mapping = SpanMapping::default();
    // Marked: the request is the generation itself.
    let events = [SpanEvent {
        name: "First Token Stream Event",
        time: start() + 250 * MS,
    }];
    let usage = [("llm.token_count.completion", AttributeValue::Int(11))];
    let marked = mapping.map(&span(&usage, &events)).unwrap();
    assert_eq!(marked.request(), marked.generation);
    assert_eq!(marked.request().unwrap().ttft, Some(250 * MS));

    // Token counts without a marker: a request without a TTFT, failed with the span.
    let prompt_only = [("gen_ai.usage.input_tokens", AttributeValue::Str("64"))];
    let failed = FinishedSpan {
        failed: true,
        ..span(&prompt_only, &[])
    };
    assert_eq!(
        mapping.map(&failed).unwrap().request(),
        Some(GenerationTiming {
            ttft: None,
            e2e: 1_000 * MS,
            output_tokens: 0,
            input_tokens: Some(64),
            status: Status::Failed,
        })
    );

    // Neither, or a count that is no count: no request.
    assert_eq!(mapping.map(&span(&[], &[])).unwrap().request(), None);
    let no_count = [("gen_ai.usage.output_tokens", AttributeValue::Str("many"))];
    assert_eq!(mapping.map(&span(&no_count, &[])).unwrap().request(), None);
}
