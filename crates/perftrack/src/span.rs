//! One span mapping: a finished span, from `tracing` or from any OpenTelemetry exporter, read as
//! a latency measurement, token counts and, where a first-token marker is present, a
//! generation request. Every exporter and ingester that reads spans uses this one function, so
//! a span never means two things.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{Error, GenerationTiming, Result, Status};

/// The value of a span attribute, as OpenTelemetry types them.
///
/// ```
/// use perftrack::AttributeValue;
/// let value = AttributeValue::Int(42);
/// assert_eq!(value.as_count(), Some(42));
/// assert_eq!(AttributeValue::Str("many").as_count(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AttributeValue<'a> {
    /// A string.
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl AttributeValue<'_> {
    /// The value as a token count: a non-negative integer, a float holding one, or a string of
    /// digits (OTLP's JSON encoding writes 64-bit integers as strings); `None` otherwise.
    ///
    /// ```
    /// use perftrack::AttributeValue;
    /// assert_eq!(AttributeValue::Str("120").as_count(), Some(120));
    /// assert_eq!(AttributeValue::Float(3.0).as_count(), Some(3));
    /// assert_eq!(AttributeValue::Int(-1).as_count(), None);
    /// ```
    #[must_use]
    pub fn as_count(&self) -> Option<u64> {
        match *self {
            Self::Int(n) => u64::try_from(n).ok(),
            Self::Float(f)
                if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 2f64.powi(63) =>
            {
                Some(f as u64)
            }
            Self::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as seconds: a finite, non-negative number (or a string of one).
    ///
    /// ```
    /// use perftrack::AttributeValue;
    /// assert_eq!(AttributeValue::Float(0.25).as_seconds(), Some(0.25));
    /// assert_eq!(AttributeValue::Float(f64::NAN).as_seconds(), None);
    /// ```
    #[must_use]
    pub fn as_seconds(&self) -> Option<f64> {
        let seconds = match *self {
            Self::Int(n) => n as f64,
            Self::Float(f) => f,
            Self::Str(s) => s.trim().parse().ok()?,
            Self::Bool(_) => return None,
        };
        (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
    }

    /// The value as a label: strings as they are, numbers and booleans written out.
    fn as_label(&self) -> String {
        match *self {
            Self::Str(s) => s.to_owned(),
            Self::Int(n) => n.to_string(),
            Self::Float(f) => f.to_string(),
            Self::Bool(b) => b.to_string(),
        }
    }
}

/// An event of a span: its name and when it happened.
///
/// ```
/// let event = perftrack::SpanEvent { name: "First Token Stream Event", time: std::time::SystemTime::UNIX_EPOCH };
/// assert_eq!(event.name, "First Token Stream Event");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpanEvent<'a> {
    /// The event's name.
    pub name: &'a str,
    /// When it happened.
    pub time: SystemTime,
}

/// A finished span, as a tracer or an OTLP receiver holds it.
///
/// ```
/// use perftrack::{AttributeValue, FinishedSpan};
/// use std::time::{Duration, SystemTime};
///
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let span = FinishedSpan {
///     name: "chat gpt-4o",
///     start,
///     end: start + Duration::from_millis(900),
///     attributes: &[("gen_ai.usage.output_tokens", AttributeValue::Int(30))],
///     events: &[],
///     failed: false,
/// };
/// assert_eq!(span.name, "chat gpt-4o");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct FinishedSpan<'a> {
    /// The span's name.
    pub name: &'a str,
    /// When it started.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// Its attributes (fields, for `tracing`).
    pub attributes: &'a [(&'a str, AttributeValue<'a>)],
    /// Its events.
    pub events: &'a [SpanEvent<'a>],
    /// Whether it ended in an error (an error status).
    pub failed: bool,
}

/// How spans are read: which attribute labels them, which events and attributes mark the first
/// token, and which attributes carry token counts. The defaults recognise the OpenTelemetry
/// GenAI conventions and OpenInference's keys; other names are added here.
///
/// ```
/// use perftrack::SpanMapping;
///
/// let mapping: SpanMapping = serde_json::from_str(r#"{"first_token_events": ["first_chunk"]}"#)?;
/// assert_eq!(mapping.first_token_events, ["first_chunk"]);
/// assert!(mapping.output_token_attributes.contains(&"llm.token_count.completion".to_owned()));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpanMapping {
    /// Label spans by this attribute's value instead of their name. Default none.
    pub label_attribute: Option<String>,
    /// Events that mark the first token: the earliest one's time, less the span's start, is
    /// the time to first token. Default `["First Token Stream Event"]` (OpenInference's OpenAI
    /// instrumentation).
    pub first_token_events: Vec<String>,
    /// Attributes that carry the time to first token in seconds. Default
    /// `["gen_ai.response.time_to_first_chunk"]` (the GenAI conventions).
    pub ttft_attributes: Vec<String>,
    /// Attributes that carry the prompt's tokens, the first present one counting. Default
    /// `["gen_ai.usage.input_tokens", "llm.token_count.prompt"]`.
    pub input_token_attributes: Vec<String>,
    /// Attributes that carry the output tokens, the first present one counting. Default
    /// `["gen_ai.usage.output_tokens", "llm.token_count.completion"]`.
    pub output_token_attributes: Vec<String>,
}

impl Default for SpanMapping {
    fn default() -> Self {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        Self {
            label_attribute: None,
            first_token_events: owned(&["First Token Stream Event"]),
            ttft_attributes: owned(&["gen_ai.response.time_to_first_chunk"]),
            input_token_attributes: owned(&["gen_ai.usage.input_tokens", "llm.token_count.prompt"]),
            output_token_attributes: owned(&[
                "gen_ai.usage.output_tokens",
                "llm.token_count.completion",
            ]),
        }
    }
}

/// What a span measured: its label and duration (a latency measurement), its status, its token
/// counts, and a generation request when it carried a first-token marker. Times are the span's
/// own, never the time it was received.
///
/// ```
/// use perftrack::{AttributeValue, FinishedSpan, SpanEvent, SpanMapping};
/// use std::time::{Duration, SystemTime};
///
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let events = [SpanEvent { name: "First Token Stream Event", time: start + Duration::from_millis(150) }];
/// let attributes = [("llm.token_count.completion", AttributeValue::Int(41))];
/// let span = FinishedSpan { name: "ChatCompletion", start, end: start + Duration::from_millis(950), attributes: &attributes, events: &events, failed: false };
/// let mapped = SpanMapping::default().map(&span)?;
/// assert_eq!((mapped.label.as_str(), mapped.duration), ("ChatCompletion", Duration::from_millis(950)));
/// let generation = mapped.generation.unwrap();
/// assert_eq!((generation.ttft, generation.output_tokens), (Some(Duration::from_millis(150)), 41));
/// # Ok::<(), perftrack::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MappedSpan {
    /// The label: the label attribute's value, or the span's name.
    pub label: String,
    /// When the span ended.
    pub end: SystemTime,
    /// End minus start.
    pub duration: Duration,
    /// [`Status::Failed`] for a span that ended in an error, [`Status::Ok`] otherwise.
    pub status: Status,
    /// Prompt tokens, when an attribute gave them.
    pub input_tokens: Option<u64>,
    /// Output tokens, when an attribute gave them.
    pub output_tokens: Option<u64>,
    /// The generation request, when a first-token marker was present (with no output-token
    /// attribute it counts one output token, the first).
    pub generation: Option<GenerationTiming>,
    /// Attributes and events that were present but could not be read (a token count that is
    /// no count, a first-token time outside the span), each with why; they were left out.
    pub ignored: Vec<String>,
}

impl MappedSpan {
    /// The generation request the span stands for: [`generation`](Self::generation) when a
    /// first-token marker was present; else, for a span that carried a token count (a model
    /// call whose instrumentation records usage but no first token, such as OpenInference's
    /// LangChain tracer), a request without a time to first token, so its tokens and
    /// duration are still counted; `None` for a span with neither.
    ///
    /// ```
    /// use perftrack::{AttributeValue, FinishedSpan, SpanMapping};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let attributes = [("llm.token_count.prompt", AttributeValue::Int(12)), ("llm.token_count.completion", AttributeValue::Int(7))];
    /// let span = FinishedSpan { name: "ChatModel", start, end: start + Duration::from_millis(300), attributes: &attributes, events: &[], failed: false };
    /// let mapped = SpanMapping::default().map(&span)?;
    /// assert!(mapped.generation.is_none());
    /// let request = mapped.request().unwrap();
    /// assert_eq!((request.ttft, request.output_tokens, request.input_tokens), (None, 7, Some(12)));
    /// assert_eq!(request.e2e, Duration::from_millis(300));
    ///
    /// let plain = FinishedSpan { name: "retrieve", attributes: &[], ..span };
    /// assert!(SpanMapping::default().map(&plain)?.request().is_none());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    #[must_use]
    pub fn request(&self) -> Option<GenerationTiming> {
        if self.generation.is_some() {
            return self.generation;
        }
        (self.input_tokens.is_some() || self.output_tokens.is_some()).then(|| GenerationTiming {
            ttft: None,
            e2e: self.duration,
            output_tokens: self.output_tokens.unwrap_or(0),
            input_tokens: self.input_tokens,
            status: self.status,
        })
    }
}

impl SpanMapping {
    /// Reads a finished span.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSpan`] for a span that ends before it starts: bad data, which callers
    /// count and skip.
    ///
    /// ```
    /// use perftrack::{Error, FinishedSpan, SpanMapping};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let end = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
    /// let span = FinishedSpan { name: "x", start: end + Duration::from_secs(1), end, attributes: &[], events: &[], failed: false };
    /// assert!(matches!(SpanMapping::default().map(&span), Err(Error::InvalidSpan { .. })));
    /// ```
    pub fn map(&self, span: &FinishedSpan<'_>) -> Result<MappedSpan> {
        let duration =
            span.end
                .duration_since(span.start)
                .map_err(|before| Error::InvalidSpan {
                    span: span.name.to_owned(),
                    reason: format!("it ends {:?} before it starts", before.duration()),
                })?;
        let mut ignored = Vec::new();
        let attribute = |names: &[String]| {
            names.iter().find_map(|name| {
                span.attributes
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(key, value)| (*key, *value))
            })
        };
        let mut count = |names: &[String]| {
            let (key, value) = attribute(names)?;
            let n = value.as_count();
            if n.is_none() {
                ignored.push(format!("`{key}` is {value:?}, not a token count"));
            }
            n
        };
        let input_tokens = count(&self.input_token_attributes);
        let output_tokens = count(&self.output_token_attributes);
        let label = self
            .label_attribute
            .as_deref()
            .and_then(|name| span.attributes.iter().find(|(key, _)| *key == name))
            .map_or_else(|| span.name.to_owned(), |(_, value)| value.as_label());

        // The first-token marker: the earliest marking event, else an attribute in seconds.
        let event_time = span
            .events
            .iter()
            .filter(|event| {
                self.first_token_events
                    .iter()
                    .any(|name| name == event.name)
            })
            .map(|event| event.time)
            .min();
        let marker = match event_time {
            Some(time) => Some((time.duration_since(span.start).ok(), "first-token event")),
            None => match attribute(&self.ttft_attributes) {
                Some((key, value)) => match value.as_seconds() {
                    Some(seconds) => Some((
                        Duration::try_from_secs_f64(seconds).ok(),
                        "first-token attribute",
                    )),
                    None => {
                        ignored.push(format!("`{key}` is {value:?}, not a time in seconds"));
                        None
                    }
                },
                None => None,
            },
        };
        let ttft = match marker {
            Some((Some(ttft), _)) if ttft <= duration => Some(ttft),
            Some((_, what)) => {
                ignored.push(format!("the {what} lies outside the span"));
                None
            }
            None => None,
        };
        let status = if span.failed {
            Status::Failed
        } else {
            Status::Ok
        };
        let generation = ttft.map(|ttft| GenerationTiming {
            ttft: Some(ttft),
            e2e: duration,
            output_tokens: output_tokens.unwrap_or(1).max(1),
            input_tokens,
            status,
        });
        Ok(MappedSpan {
            label,
            end: span.end,
            duration,
            status,
            input_tokens,
            output_tokens,
            generation,
            ignored,
        })
    }
}
