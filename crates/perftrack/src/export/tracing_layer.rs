//! `PerftrackLayer`: spans that a program (or a framework it uses) already emits, recorded as
//! latencies and token counts.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::{
    AttributeValue, FinishedSpan, GenerationTracker, LatencyTracker, SpanEvent, SpanMapping,
    Status, ThroughputTracker,
};

/// Which spans [`PerftrackLayer`] records and under which labels.
///
/// ```
/// use perftrack::TracingConfig;
///
/// let config: TracingConfig = serde_json::from_str(r#"{
///     "only": ["query_pipeline.query", "then_retrieve", "then_answer"],
///     "rename": {"query_pipeline.query": "query"}
/// }"#)?;
/// assert_eq!(config.token_fields["gen_ai.usage.output_tokens"], "output_tokens");
/// assert!(serde_json::from_str::<TracingConfig>(r#"{"olny": []}"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingConfig {
    /// Label spans by the value of this field instead of their name (for example
    /// `"gen_ai.operation.name"`); a span without the field is labelled by its name. The
    /// field may be recorded after the span was created. Default none: the span name.
    pub label_field: Option<String>,
    /// Record only spans with these names; empty records every span. Default empty.
    pub only: Vec<String>,
    /// Never record spans with these names. Default empty.
    pub skip: Vec<String>,
    /// Labels for span names: a span called by a key is recorded under its value. Applies
    /// to names, not to labels taken from `label_field`. Default empty.
    pub rename: BTreeMap<String, String>,
    /// Fields that carry token counts, and the throughput label each one's counts are
    /// recorded under (with [`PerftrackLayer::with_throughput`]). Default the OpenTelemetry
    /// GenAI fields: `gen_ai.usage.input_tokens` → `input_tokens`,
    /// `gen_ai.usage.output_tokens` → `output_tokens`.
    pub token_fields: BTreeMap<String, String>,
    /// How spans become generation requests (with [`PerftrackLayer::with_generation`]): the
    /// library's one [`SpanMapping`], whose first-token events (an event of the span whose
    /// name, or `message`, is one of them) and attributes (fields) it reads. Its
    /// `label_attribute` is not used: requests take the span's label. Default the mapping's
    /// defaults.
    pub generation: SpanMapping,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            label_field: None,
            only: Vec::new(),
            skip: Vec::new(),
            rename: BTreeMap::new(),
            token_fields: [
                ("gen_ai.usage.input_tokens", "input_tokens"),
                ("gen_ai.usage.output_tokens", "output_tokens"),
            ]
            .into_iter()
            .map(|(f, l)| (f.to_owned(), l.to_owned()))
            .collect(),
            generation: SpanMapping::default(),
        }
    }
}

/// A [`tracing_subscriber`] layer that records every closed span's wall time (from creation
/// to close) into a [`LatencyTracker`], and optionally the time it was entered (busy time)
/// into a second one, labelled by span name or by a field. Token counts found in span fields
/// (`gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`) feed a [`ThroughputTracker`].
///
/// A span that records an `error` field (any value but `false`), or
/// `otel.status_code = "ERROR"`, counts as failed.
/// Durations come from the latency tracker's clock, so a
/// [`ManualClock`](crate::ManualClock) makes them exact in tests. Frameworks that already
/// emit spans (swiftide's `query_pipeline.query`, `then_retrieve`, `then_answer`; rig's
/// `invoke_agent`) are measured with no change to their code.
///
/// ```
/// use perftrack::{LatencyConfig, LatencyTracker, PerftrackLayer, ThroughputConfig, ThroughputTracker, TracingConfig};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let latency = LatencyTracker::new(LatencyConfig::default());
/// let tokens = ThroughputTracker::new(ThroughputConfig::default());
/// let layer = PerftrackLayer::new(latency.clone(), TracingConfig::default())
///     .with_throughput(tokens.clone());
/// let subscriber = tracing_subscriber::registry().with(layer);
///
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("then_answer", gen_ai.usage.output_tokens = tracing::field::Empty);
///     let _entered = span.enter();
///     // ... call the model ...
///     span.record("gen_ai.usage.output_tokens", 42);
/// });
/// assert_eq!(latency.statistics(Some("then_answer")).unwrap().count, 1);
/// assert!(tokens.current_rate("output_tokens").is_some());
/// ```
#[derive(Clone, Debug)]
pub struct PerftrackLayer {
    latency: LatencyTracker,
    busy: Option<LatencyTracker>,
    throughput: Option<ThroughputTracker>,
    generation: Option<GenerationTracker>,
    rules: Arc<Rules>,
}

/// The configuration, prepared for lookups.
#[derive(Debug)]
struct Rules {
    /// Tells this layer's (and its clones') timings apart from another `PerftrackLayer`'s
    /// in the same subscriber.
    id: u64,
    label_field: Option<String>,
    only: FxHashSet<String>,
    skip: FxHashSet<String>,
    rename: FxHashMap<String, Arc<str>>,
    token_fields: Vec<(String, String)>,
    /// Whether any name needs looking up at all.
    filters: bool,
    /// How spans become generation requests.
    mapping: SpanMapping,
    /// The fields the mapping reads.
    mapped_fields: FxHashSet<String>,
    /// The layer's start on the latency tracker's clock: span times are given to the mapping
    /// as this much after the Unix epoch (only their differences matter).
    origin: Instant,
    /// Spans whose generation request was impossible (a first token after the end).
    bad_spans: AtomicU64,
}

/// A span's label.
#[derive(Debug)]
enum Label {
    Name(&'static str),
    Renamed(Arc<str>),
    Field(String),
}

impl Label {
    fn as_str(&self) -> &str {
        match self {
            Label::Name(n) => n,
            Label::Renamed(n) => n,
            Label::Field(n) => n,
        }
    }
}

fn next_layer_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Relaxed: only distinctness matters.
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The timings of every `PerftrackLayer` in a subscriber, kept in a span's extensions (which
/// hold one value per type): almost always one, with no allocation beyond it.
#[derive(Debug)]
struct Timings {
    first: (u64, Timing),
    more: Vec<(u64, Timing)>,
}

impl Timings {
    fn has(&self, id: u64) -> bool {
        self.first.0 == id || self.more.iter().any(|(i, _)| *i == id)
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Timing> {
        if self.first.0 == id {
            return Some(&mut self.first.1);
        }
        self.more.iter_mut().find(|(i, _)| *i == id).map(|(_, t)| t)
    }
}

/// What the layer keeps in a span's extensions.
#[derive(Debug)]
struct Timing {
    label: Label,
    start: Instant,
    busy: Duration,
    /// How many times the span is entered now (nested or on several threads).
    entered: u32,
    entered_at: Instant,
    failed: bool,
    /// What the span mapping reads, kept only with a generation tracker.
    /// (Held inline: a span allocates here only when it has a field the mapping reads.)
    captured: Option<Captured>,
}

/// A span's fields that the span mapping reads, and its first first-token event.
#[derive(Debug, Default)]
struct Captured {
    fields: Vec<(&'static str, Owned)>,
    first_token: Option<Instant>,
}

/// A field's value, owned.
#[derive(Debug)]
enum Owned {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Owned {
    fn borrowed(&self) -> AttributeValue<'_> {
        match self {
            Owned::Str(s) => AttributeValue::Str(s),
            Owned::Int(n) => AttributeValue::Int(*n),
            Owned::Float(f) => AttributeValue::Float(*f),
            Owned::Bool(b) => AttributeValue::Bool(*b),
        }
    }
}

impl PerftrackLayer {
    /// A layer that records spans into `latency` as `config` says.
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker, PerftrackLayer, TracingConfig};
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let latency = LatencyTracker::new(LatencyConfig::default());
    /// let config = TracingConfig {
    ///     only: vec!["invoke_agent".into()],
    ///     rename: [("invoke_agent".to_owned(), "agent".to_owned())].into(),
    ///     ..Default::default()
    /// };
    /// let subscriber = tracing_subscriber::registry().with(PerftrackLayer::new(latency.clone(), config));
    /// tracing::subscriber::with_default(subscriber, || {
    ///     tracing::info_span!("invoke_agent").in_scope(|| {
    ///         tracing::info_span!("tool_call").in_scope(|| ());
    ///     });
    /// });
    /// assert_eq!(latency.statistics(Some("agent")).unwrap().count, 1);
    /// assert!(latency.statistics(Some("tool_call")).is_none());
    /// ```
    pub fn new(latency: LatencyTracker, config: TracingConfig) -> Self {
        let only: FxHashSet<String> = config.only.into_iter().collect();
        let skip: FxHashSet<String> = config.skip.into_iter().collect();
        let rename: FxHashMap<String, Arc<str>> = config
            .rename
            .into_iter()
            .map(|(from, to)| (from, Arc::from(to)))
            .collect();
        let filters = !only.is_empty() || !skip.is_empty() || !rename.is_empty();
        let mapping = config.generation;
        let mapped_fields = mapping
            .ttft_attributes
            .iter()
            .chain(&mapping.input_token_attributes)
            .chain(&mapping.output_token_attributes)
            .cloned()
            .collect();
        let origin = latency.now();
        Self {
            latency,
            busy: None,
            throughput: None,
            generation: None,
            rules: Arc::new(Rules {
                id: next_layer_id(),
                label_field: config.label_field,
                only,
                skip,
                rename,
                token_fields: config.token_fields.into_iter().collect(),
                filters,
                mapping,
                mapped_fields,
                origin,
                bad_spans: AtomicU64::new(0),
            }),
        }
    }

    /// Also records each span's busy time (the time it was entered; for an instrumented
    /// future, the time spent polling it) into `busy`, under the same label.
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker, PerftrackLayer, TracingConfig};
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let (wall, busy) = (LatencyTracker::new(LatencyConfig::default()), LatencyTracker::new(LatencyConfig::default()));
    /// let layer = PerftrackLayer::new(wall.clone(), TracingConfig::default()).with_busy_time(busy.clone());
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info_span!("rerank").in_scope(|| ());
    /// });
    /// assert_eq!(busy.statistics(Some("rerank")).unwrap().count, 1);
    /// ```
    pub fn with_busy_time(mut self, busy: LatencyTracker) -> Self {
        self.busy = Some(busy);
        self
    }

    /// Counts the tokens found in the configured `token_fields` into `throughput`.
    ///
    /// ```
    /// use perftrack::{LatencyConfig, LatencyTracker, PerftrackLayer, ThroughputConfig, ThroughputTracker, TracingConfig};
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let tokens = ThroughputTracker::new(ThroughputConfig::default());
    /// let layer = PerftrackLayer::new(LatencyTracker::new(LatencyConfig::default()), TracingConfig::default())
    ///     .with_throughput(tokens.clone());
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info_span!("chat", gen_ai.usage.input_tokens = 120u64).in_scope(|| ());
    /// });
    /// assert!(tokens.current_rate("input_tokens").is_some());
    /// ```
    pub fn with_throughput(mut self, throughput: ThroughputTracker) -> Self {
        self.throughput = Some(throughput);
        self
    }

    /// Also records spans that carry a first-token marker (an event or a field the
    /// configuration's `generation` mapping names) as generation requests into `generation`,
    /// through the library's span mapping ([`SpanMapping::map`]): time to first token, the
    /// whole span, and the token counts of its fields. Spans without a marker (rig's and
    /// swiftide's carry none) give their latency and token counts only: the time to first token
    /// needs the marker, or the generation tracker's own guard or stream wrappers.
    ///
    /// ```
    /// use perftrack::{GenerationConfig, GenerationTracker, LatencyConfig, LatencyTracker, PerftrackLayer, TracingConfig};
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let generation = GenerationTracker::new(GenerationConfig::default());
    /// let layer = PerftrackLayer::new(LatencyTracker::new(LatencyConfig::default()), TracingConfig::default())
    ///     .with_generation(generation.clone());
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     let span = tracing::info_span!("chat", gen_ai.usage.output_tokens = tracing::field::Empty);
    ///     let _entered = span.enter();
    ///     tracing::info!(name: "First Token Stream Event", "first token");
    ///     span.record("gen_ai.usage.output_tokens", 12);
    /// });
    /// assert_eq!(generation.records()[0].output_tokens, 12);
    /// ```
    pub fn with_generation(mut self, generation: GenerationTracker) -> Self {
        self.generation = Some(generation);
        self
    }

    /// Spans whose generation request could not be recorded (bad data, such as a first token
    /// later than the span's end), counted since the layer was made, all clones together.
    ///
    /// ```
    /// # use perftrack::{LatencyConfig, LatencyTracker, PerftrackLayer, TracingConfig};
    /// let layer = PerftrackLayer::new(LatencyTracker::new(LatencyConfig::default()), TracingConfig::default());
    /// assert_eq!(layer.bad_spans(), 0);
    /// ```
    pub fn bad_spans(&self) -> u64 {
        self.rules.bad_spans.load(Ordering::Relaxed)
    }

    /// An instant of the latency tracker's clock as the mapping reads span times.
    fn system_time(&self, instant: Instant) -> SystemTime {
        SystemTime::UNIX_EPOCH + instant.saturating_duration_since(self.rules.origin)
    }

    /// Records a closed span's generation request, if it carried a first-token marker.
    fn record_generation(&self, label: &str, timing: &Timing, end: Instant, status: Status) {
        let (Some(generation), Some(captured)) = (&self.generation, &timing.captured) else {
            return;
        };
        let attributes: Vec<(&str, AttributeValue<'_>)> = captured
            .fields
            .iter()
            .map(|(name, value)| (*name, value.borrowed()))
            .collect();
        let marker_name = self.rules.mapping.first_token_events.first();
        let event: Option<SpanEvent<'_>> =
            captured
                .first_token
                .zip(marker_name)
                .map(|(at, name)| SpanEvent {
                    name,
                    time: self.system_time(at),
                });
        let span = FinishedSpan {
            name: label,
            start: self.system_time(timing.start),
            end: self.system_time(end),
            attributes: &attributes,
            events: event.as_slice(),
            failed: status == Status::Failed,
        };
        let recorded = self
            .rules
            .mapping
            .map(&span)
            .and_then(|mapped| match mapped.generation {
                Some(request) => generation.record(label, request).map(drop),
                None => Ok(()),
            });
        if recorded.is_err() {
            self.rules.bad_spans.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The label of a span called `name`, or `None` if it is not recorded.
    #[inline]
    fn label(&self, name: &'static str) -> Option<Label> {
        let rules = &self.rules;
        if !rules.filters {
            return Some(Label::Name(name));
        }
        if rules.skip.contains(name) || (!rules.only.is_empty() && !rules.only.contains(name)) {
            return None;
        }
        Some(match rules.rename.get(name) {
            Some(to) => Label::Renamed(Arc::clone(to)),
            None => Label::Name(name),
        })
    }
}

/// Reads a span's fields: its label field, token counts and failure marks.
struct Fields<'a> {
    layer: &'a PerftrackLayer,
    timing: &'a mut Timing,
}

impl Fields<'_> {
    fn tokens(&mut self, field: &Field, n: u64) {
        let Some(throughput) = &self.layer.throughput else {
            return;
        };
        if let Some((_, label)) = self
            .layer
            .rules
            .token_fields
            .iter()
            .find(|(f, _)| f == field.name())
        {
            throughput.record(label, n);
        }
    }

    fn is_label_field(&self, field: &Field) -> bool {
        self.layer.rules.label_field.as_deref() == Some(field.name())
    }

    /// Keeps a field the span mapping reads.
    fn capture(&mut self, field: &Field, value: impl FnOnce() -> Owned) {
        if let Some(captured) = self.timing.captured.as_mut() {
            if self.layer.rules.mapped_fields.contains(field.name()) {
                let value = value();
                match captured.fields.iter_mut().find(|(n, _)| *n == field.name()) {
                    Some((_, old)) => *old = value,
                    None => captured.fields.push((field.name(), value)),
                }
            }
        }
    }
}

impl Visit for Fields<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.capture(field, || {
            i64::try_from(value).map_or(Owned::Float(value as f64), Owned::Int)
        });
        self.tokens(field, value);
        if self.is_label_field(field) {
            self.timing.label = Label::Field(value.to_string());
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.capture(field, || Owned::Float(value));
        if self.is_label_field(field) {
            self.timing.label = Label::Field(value.to_string());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.capture(field, || Owned::Int(value));
        if let Ok(n) = u64::try_from(value) {
            self.record_u64(field, n);
        } else if self.is_label_field(field) {
            self.timing.label = Label::Field(value.to_string());
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.capture(field, || Owned::Bool(value));
        if field.name() == "error" && value {
            self.timing.failed = true;
        }
        if self.is_label_field(field) {
            self.timing.label = Label::Field(value.to_string());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.capture(field, || Owned::Str(value.to_owned()));
        if self.is_label_field(field) {
            self.timing.label = Label::Field(value.to_owned());
        }
        if field.name() == "otel.status_code" && value.eq_ignore_ascii_case("error") {
            self.timing.failed = true;
        }
    }

    fn record_error(&mut self, field: &Field, _value: &(dyn std::error::Error + 'static)) {
        if field.name() == "error" {
            self.timing.failed = true;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "error" {
            self.timing.failed = true;
        }
        if self.is_label_field(field) {
            self.timing.label = Label::Field(format!("{value:?}"));
        }
    }
}

impl<S> Layer<S> for PerftrackLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(label) = self.label(attrs.metadata().name()) else {
            return;
        };
        let Some(span) = ctx.span(id) else {
            return;
        };
        let now = self.latency.now();
        let mut timing = Timing {
            label,
            start: now,
            busy: Duration::ZERO,
            entered: 0,
            entered_at: now,
            failed: false,
            captured: self.generation.as_ref().map(|_| Captured::default()),
        };
        if !attrs.fields().is_empty() {
            attrs.record(&mut Fields {
                layer: self,
                timing: &mut timing,
            });
        }
        let id = self.rules.id;
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<Timings>() {
            // A clone of this layer in the same subscriber counts each span once.
            Some(timings) if timings.has(id) => {}
            Some(timings) => timings.more.push((id, timing)),
            None => extensions.insert(Timings {
                first: (id, timing),
                more: Vec::new(),
            }),
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(timing) = extensions
            .get_mut::<Timings>()
            .and_then(|t| t.get_mut(self.rules.id))
        {
            values.record(&mut Fields {
                layer: self,
                timing,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if self.generation.is_none() {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let markers = &self.rules.mapping.first_token_events;
        let is_marker = markers.iter().any(|m| m == event.metadata().name()) || {
            let mut message = Message(None);
            event.record(&mut message);
            message.0.is_some_and(|text| markers.contains(&text))
        };
        if !is_marker {
            return;
        }
        let now = self.latency.now();
        let mut extensions = span.extensions_mut();
        if let Some(captured) = extensions
            .get_mut::<Timings>()
            .and_then(|t| t.get_mut(self.rules.id))
            .and_then(|timing| timing.captured.as_mut())
        {
            captured.first_token.get_or_insert(now);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if self.busy.is_none() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(timing) = extensions
            .get_mut::<Timings>()
            .and_then(|t| t.get_mut(self.rules.id))
        {
            if timing.entered == 0 {
                timing.entered_at = self.latency.now();
            }
            timing.entered += 1;
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if self.busy.is_none() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(timing) = extensions
            .get_mut::<Timings>()
            .and_then(|t| t.get_mut(self.rules.id))
        {
            timing.entered = timing.entered.saturating_sub(1);
            if timing.entered == 0 {
                let now = self.latency.now();
                timing.busy += now.saturating_duration_since(timing.entered_at);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(timing) = take(&mut span.extensions_mut(), self.rules.id) else {
            return;
        };
        let now = self.latency.now();
        let status = if timing.failed {
            Status::Failed
        } else {
            Status::Ok
        };
        let label = timing.label.as_str();
        let wall = now.saturating_duration_since(timing.start);
        self.latency.record_ending(label, wall, now, status);
        self.record_generation(label, &timing, now, status);
        if let Some(busy) = &self.busy {
            busy.record_ending(label, timing.busy, now, status);
        }
    }
}

/// An event's `message` field, as text.
struct Message(Option<String>);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// Removes this layer's timing from a span's extensions, leaving other layers' in place.
fn take(
    extensions: &mut tracing_subscriber::registry::ExtensionsMut<'_>,
    id: u64,
) -> Option<Timing> {
    let timings = extensions.get_mut::<Timings>()?;
    if timings.first.0 != id {
        let index = timings.more.iter().position(|(i, _)| *i == id)?;
        return Some(timings.more.swap_remove(index).1);
    }
    match timings.more.pop() {
        Some(next) => Some(std::mem::replace(&mut timings.first, next).1),
        None => extensions.remove::<Timings>().map(|t| t.first.1),
    }
}
