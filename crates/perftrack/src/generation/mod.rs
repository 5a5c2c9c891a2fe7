//! `GenerationTracker`: time to first token, the pace after it, chunk gaps and goodput of LLM
//! generation requests, inside the application.

mod config;
mod names;
mod record;
mod stream;
mod summary;

pub use config::{GenerationConfig, Objective, Slo};
pub use names::{
    CounterNames, FigureNames, GENAI_CONVENTIONS_VERSION, GenerationCounter, GenerationFigure,
};
pub use record::{ChunkGaps, GenerationRecord, GenerationTiming, NoPythonRecord};
pub use stream::TrackedIter;
#[cfg(feature = "stream")]
pub use stream::TrackedStream;
pub use summary::{GenerationStatistics, GenerationSummary, Goodput};

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::{Engine, Slot};
use crate::label::Lane;
use crate::recorder;
use crate::tracker::{Kind, Lifecycle};
use crate::{Clock, Guard, Result, Status, TimeUnit, Timestamp, TrackId, Tracker};
use summary::Measured;

/// Measures LLM generation requests: per request, the time to the first token (ttft), the
/// time per output token after it (tpot), every gap between chunks (itl), the whole request
/// (e2e), token counts and rates, and whether it met the configured objectives; per label,
/// exact statistics of each and the goodput. The methods every tracker has are on [`Tracker`];
/// this kind adds requests measured elsewhere and stream wrappers. `docs/METRICS.md` defines
/// each figure and names it in vLLM, GuideLLM, AIPerf, llmperf and OpenTelemetry.
///
/// ```
/// use perftrack::{GenerationConfig, GenerationTracker, ManualClock};
/// use std::{sync::Arc, time::Duration};
///
/// let clock = Arc::new(ManualClock::new());
/// let tracker = GenerationTracker::with_clock(GenerationConfig::default(), clock.clone());
///
/// let mut request = tracker.track("answer"); // the request is sent now
/// request.input_tokens(1_200);
/// clock.advance(Duration::from_millis(120));
/// request.tokens(1); // the first token
/// for _ in 0..50 {
///     clock.advance(Duration::from_millis(20));
///     request.tokens(1);
/// }
/// let record = request.stop();
/// assert_eq!((record.ttft, record.e2e, record.tpot), (Some(120.0), 1_120.0, Some(20.0)));
///
/// let stats = tracker.statistics(Some("answer")).unwrap();
/// assert_eq!(stats.itl.unwrap().count, 50);
/// ```
pub type GenerationTracker = Tracker<Generation>;

/// A generation request in flight, made by [`GenerationTracker::track`]: report chunks with
/// [`tokens`](Guard::tokens) and end it with [`stop`](Guard::stop). Dropped without `stop`,
/// it is recorded as [`Status::Cancelled`] ([`Status::Failed`] while its thread panics).
///
/// ```
/// use perftrack::{GenerationConfig, GenerationGuard, GenerationTracker, Status};
///
/// let tracker = GenerationTracker::new(GenerationConfig::default());
/// let mut request: GenerationGuard = tracker.track("answer");
/// request.tokens(5);
/// drop(request); // the client gave up
/// assert_eq!(tracker.records()[0].status, Status::Cancelled);
/// ```
pub type GenerationGuard = Guard<Generation>;

/// The generation kind: LLM requests, one [`GenerationSummary`] per label.
/// [`GenerationTracker`] is `Tracker<Generation>`.
///
/// ```
/// use perftrack::kinds::{Generation, Kind};
/// assert_eq!(Generation::KIND.file_type(), "generation");
/// ```
#[derive(Debug)]
pub struct Generation {
    config: GenerationConfig,
}

/// How many chunk gaps a request holds before adding them to its label: the label's lock is
/// taken once per this many chunks, not once per chunk.
const PENDING: usize = 32;

/// A duration in nanoseconds, saturating after 584 years.
#[inline]
fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// A request in flight: what a guard and a session by id hold.
#[derive(Debug)]
pub struct Streaming {
    lane: Arc<Lane<Slot<Generation>>>,
    start: Instant,
    first: Option<Instant>,
    last: Instant,
    output_tokens: u64,
    input_tokens: Option<u64>,
    gaps: u64,
    /// The gaps' sum and maximum, in nanoseconds (integers on the per-chunk path).
    gap_sum: u64,
    gap_max: u64,
    /// Gaps, in nanoseconds, not yet added to the label.
    pending: [u64; PENDING],
    pending_len: usize,
}

impl Streaming {
    fn new(lane: Arc<Lane<Slot<Generation>>>, start: Instant) -> Self {
        Self {
            lane,
            start,
            first: None,
            last: start,
            output_tokens: 0,
            input_tokens: None,
            gaps: 0,
            gap_sum: 0,
            gap_max: 0,
            pending: [0; PENDING],
            pending_len: 0,
        }
    }

    /// A chunk of `n` tokens arrived at `now`.
    #[inline]
    fn chunk(&mut self, now: Instant, n: u64) {
        if n == 0 {
            return;
        }
        self.output_tokens = self.output_tokens.saturating_add(n);
        if self.first.is_none() {
            self.first = Some(now);
        } else {
            let gap = nanos(now.saturating_duration_since(self.last));
            self.gaps += 1;
            self.gap_sum = self.gap_sum.saturating_add(gap);
            self.gap_max = self.gap_max.max(gap);
            self.pending[self.pending_len] = gap;
            self.pending_len += 1;
            if self.pending_len == PENDING {
                self.flush(now);
            }
        }
        self.last = now;
    }

    /// Adds the pending gaps to the label.
    #[cold]
    fn flush(&mut self, now: Instant) {
        let mut seconds = [0.0; PENDING];
        for (s, &n) in seconds.iter_mut().zip(&self.pending[..self.pending_len]) {
            *s = n as f64 / 1e9;
        }
        let gaps = &seconds[..self.pending_len];
        let at = self.lane.shared.timestamp(now);
        self.lane.add(|summary| summary.add_gaps(gaps, at));
        self.pending_len = 0;
    }

    /// Ends the request at `end` with `status`: adds it to its label and returns its record.
    fn finish(&mut self, id: Option<TrackId>, end: Instant, status: Status) -> GenerationRecord {
        if self.pending_len > 0 {
            self.flush(end);
        }
        let shared = &self.lane.shared;
        let gaps = (self.gaps > 0).then(|| {
            let mean = self.gap_sum as f64 / 1e9 / self.gaps as f64;
            (self.gaps, mean, self.gap_max as f64 / 1e9)
        });
        let request = Request {
            e2e: end.saturating_duration_since(self.start),
            ttft: self
                .first
                .map(|first| first.saturating_duration_since(self.start)),
            output_tokens: self.output_tokens,
            input_tokens: self.input_tokens,
            gaps,
            status,
        };
        let record = request.finish(&self.lane, id, shared.timestamp(end));
        self.lane.keep(|| record.clone());
        record
    }
}

/// A finished request, before it becomes a record.
struct Request {
    e2e: Duration,
    ttft: Option<Duration>,
    output_tokens: u64,
    input_tokens: Option<u64>,
    /// Chunk gaps: count, mean and max, in seconds.
    gaps: Option<(u64, f64, f64)>,
    status: Status,
}

impl Request {
    /// Adds the request to the lane's label and returns its record.
    fn finish(
        &self,
        lane: &Lane<Slot<Generation>>,
        id: Option<TrackId>,
        end: Timestamp,
    ) -> GenerationRecord {
        let kind = &lane.shared.kind;
        let unit = kind.config.time_unit;
        let e2e = self.e2e.as_secs_f64();
        let ttft = self.ttft.map(|t| t.as_secs_f64());
        // The time after the first token, exact in nanoseconds; and the tokens after it.
        let after_first = self.ttft.filter(|_| self.output_tokens >= 2).map(|ttft| {
            (
                self.e2e.saturating_sub(ttft),
                (self.output_tokens - 1) as f64,
            )
        });
        // vLLM's TPOT: the time after the first token over the tokens after it.
        let tpot = after_first.map(|(after, tokens)| after.as_secs_f64() / tokens);
        let output_tokens_per_second = (e2e > 0.0).then(|| self.output_tokens as f64 / e2e);
        let decode_tokens_per_second = after_first
            .filter(|(after, _)| !after.is_zero())
            .map(|(after, tokens)| tokens / after.as_secs_f64());
        let slo = &kind.config.slo;
        let within = |objective: Option<Objective>, value: Option<f64>, absent_meets: bool| {
            objective
                .is_none_or(|o| value.map_or(absent_meets, |v| unit.from_seconds(v) <= o.get()))
        };
        let met = self.status == Status::Ok
            && within(slo.ttft, ttft, false)
            && within(slo.tpot, tpot, true)
            && within(slo.e2e, Some(e2e), false);
        let start = end.saturating_sub(self.e2e);
        let measured = Measured {
            start,
            end,
            e2e,
            ttft,
            tpot,
            output_tokens_per_second,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            status: self.status,
            slo_met: met && !slo.is_empty(),
        };
        lane.add(|summary| summary.record(&measured));
        let include_timestamps = lane.shared.include_timestamps;
        GenerationRecord {
            track_id: id.unwrap_or_else(TrackId::generate),
            timestamp: end,
            unit,
            label: lane.label_arc(),
            ttft: self.ttft.map(|t| unit.from_duration(t)),
            e2e: unit.from_duration(self.e2e),
            tpot: after_first.map(|(after, tokens)| unit.from_duration(after) / tokens),
            itl: self.gaps.map(|(count, mean, max)| ChunkGaps {
                count,
                mean: unit.from_seconds(mean),
                max: unit.from_seconds(max),
            }),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            output_tokens_per_second,
            decode_tokens_per_second,
            start_time: include_timestamps.then_some(start),
            end_time: include_timestamps.then_some(end),
            status: self.status,
            slo_met: (!slo.is_empty()).then_some(met),
        }
    }
}

impl Kind for Generation {
    const KIND: crate::TrackerKind = crate::TrackerKind::Generation;
    type Config = GenerationConfig;
    type Record = GenerationRecord;
    type Value = f64;
    type Statistics = Option<GenerationStatistics>;
    type LabelStatistics = GenerationStatistics;
    type LabelSnapshot = GenerationSummary;
    /// Requests end, and chunk gaps are added, from many threads.
    const STRIPED: bool = true;
    /// New in version 2.
    const FIRST_VERSION: u32 = 2;
    type Summary = GenerationSummary;
    /// Version 1 had no generation files.
    type SummaryV1 = GenerationSummary;
    type LabelState = ();
    type PythonRecord = NoPythonRecord;

    fn build(config: GenerationConfig, _clock: &dyn Clock) -> Self {
        Self { config }
    }

    fn config(&self) -> &GenerationConfig {
        &self.config
    }

    fn label_state(&self, _now: Instant) {}

    fn statistics(&self, summary: Option<&GenerationSummary>) -> Option<GenerationStatistics> {
        self.label_statistics(summary?)
    }

    fn label_statistics(&self, summary: &GenerationSummary) -> Option<GenerationStatistics> {
        summary.statistics(self.config.time_unit, !self.config.slo.is_empty())
    }

    fn label_snapshot(slot: &Slot<Self>, _now: Instant) -> GenerationSummary {
        slot.with_summary(Clone::clone)
    }

    fn measurements(label: &GenerationSummary) -> u64 {
        label.requests()
    }

    fn end_time(record: &GenerationRecord) -> Timestamp {
        record.timestamp
    }

    fn label(record: &GenerationRecord) -> Option<&str> {
        record.label.as_deref()
    }

    fn set_label(record: &mut GenerationRecord, label: Option<std::sync::Arc<str>>) {
        record.label = label;
    }

    fn convert(&self, record: GenerationRecord) -> GenerationRecord {
        record.in_unit(self.config.time_unit)
    }

    fn python_record(&self, record: NoPythonRecord) -> GenerationRecord {
        match record {}
    }

    fn summarize(&self, summary: &mut GenerationSummary, record: &GenerationRecord) {
        let unit = record.unit;
        let seconds = |v: f64| unit.to_seconds(v);
        let e2e = seconds(record.e2e);
        let end = record.timestamp;
        summary.record(&Measured {
            start: end.saturating_sub(Duration::try_from_secs_f64(e2e).unwrap_or_default()),
            end,
            e2e,
            ttft: record.ttft.map(seconds),
            tpot: record.tpot.map(seconds),
            output_tokens_per_second: record.output_tokens_per_second,
            input_tokens: record.input_tokens,
            output_tokens: record.output_tokens,
            status: record.status,
            slo_met: record.slo_met == Some(true),
        });
    }

    fn check_record(record: &GenerationRecord) -> std::result::Result<(), String> {
        record.check()
    }

    fn check_file_config(&self, file: &GenerationConfig) -> std::result::Result<(), String> {
        if file.slo == self.config.slo {
            Ok(())
        } else {
            Err(format!(
                "the file's requests were judged against the objectives {} and this tracker's are {}; \
                 goodput counts of different objectives cannot be added",
                file.slo, self.config.slo
            ))
        }
    }
}

impl Lifecycle for Generation {
    type Session = Streaming;
    type Running = Streaming;

    fn open(engine: &Engine<Self>, label: &str) -> (i64, Streaming, bool) {
        let lane = engine.state(label);
        let now = engine.now();
        (recorder::since_base(now), Streaming::new(lane, now), false)
    }

    fn finish(
        engine: &Engine<Self>,
        mut session: Streaming,
        id: TrackId,
        _started: i64,
        status: Status,
    ) -> GenerationRecord {
        session.finish(Some(id), engine.now(), status)
    }

    fn abandon(_engine: &Engine<Self>, session: Streaming) {
        session.lane.abandon();
    }

    #[inline]
    fn guard(engine: &Arc<Engine<Self>>, label: &str) -> (Streaming, bool) {
        let lane = engine.state(label);
        let now = engine.now();
        (Streaming::new(lane, now), false)
    }

    fn stop_guard(running: &mut Streaming, status: Status) -> GenerationRecord {
        let end = running.lane.shared.now();
        running.finish(None, end, status)
    }

    /// A request whose guard drops without `stop` was cancelled (or failed, while panicking).
    fn drop_guard(running: &mut Streaming, status: Status) {
        let status = match status {
            Status::Ok => Status::Cancelled,
            other => other,
        };
        let _ = Self::stop_guard(running, status);
    }

    fn current_value(engine: &Engine<Self>, id: Option<&TrackId>) -> Result<f64> {
        let now = engine.now();
        let started = recorder::instant_at(engine.sessions.started(id)?);
        Ok(engine
            .kind()
            .config
            .time_unit
            .from_duration(now.saturating_duration_since(started)))
    }
}

impl Guard<Generation> {
    /// Records a chunk of `n` output tokens arriving now. The first call with `n > 0` is the
    /// first token; `tokens(0)` (a chunk that carries no token, such as a role header) is
    /// not a chunk and changes nothing. Takes no lock and allocates nothing but, once every
    /// 32 chunks, the label's stripe lock to add their gaps.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let mut request = tracker.track("answer");
    /// request.tokens(0);
    /// request.tokens(3);
    /// assert_eq!(request.stop().output_tokens, 3);
    /// ```
    #[inline]
    pub fn tokens(&mut self, n: u64) {
        if n > 0 {
            let now = self.running.lane.shared.now();
            self.running.chunk(now, n);
        }
    }

    /// Sets the prompt's size in tokens.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let mut request = tracker.track("answer");
    /// request.input_tokens(900);
    /// assert_eq!(request.stop().input_tokens, Some(900));
    /// ```
    pub fn input_tokens(&mut self, n: u64) {
        self.running.input_tokens = Some(n);
    }

    /// Output tokens so far.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let mut request = tracker.track("answer");
    /// request.tokens(2);
    /// assert_eq!(request.output_tokens(), 2);
    /// # request.discard();
    /// ```
    #[must_use]
    pub fn output_tokens(&self) -> u64 {
        self.running.output_tokens
    }

    /// Wraps an iterator of a streamed response: each item is counted with `count` (its output
    /// tokens) as it is yielded, unchanged; the request stops when the iterator ends, and is
    /// cancelled if the wrapper drops first.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let request = tracker.track("answer"); // sent now; the response comes later
    /// let chunks = vec!["Hello", ", ", "world"];
    /// let text: String = request.wrap_iter(chunks, |_| 1).collect();
    /// assert_eq!(text, "Hello, world");
    /// assert_eq!(tracker.records()[0].output_tokens, 3);
    /// ```
    pub fn wrap_iter<I, F>(self, iter: I, count: F) -> TrackedIter<I::IntoIter, F>
    where
        I: IntoIterator,
        F: FnMut(&I::Item) -> u64,
    {
        TrackedIter::new(self, iter.into_iter(), count)
    }

    /// Wraps an asynchronous stream of a streamed response, as
    /// [`wrap_iter`](Self::wrap_iter) wraps an iterator.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// # struct Chunks(Vec<&'static str>);
    /// # impl futures_core::Stream for Chunks {
    /// #     type Item = &'static str;
    /// #     fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
    /// #         -> std::task::Poll<Option<&'static str>> {
    /// #         std::task::Poll::Ready(if self.0.is_empty() { None } else { Some(self.0.remove(0)) })
    /// #     }
    /// # }
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let mut stream = Box::pin(tracker.track("answer").wrap_stream(Chunks(vec!["a", "b"]), |_| 1));
    /// let waker = std::task::Waker::noop();
    /// let mut cx = std::task::Context::from_waker(&waker);
    /// while let std::task::Poll::Ready(Some(_)) = futures_core::Stream::poll_next(stream.as_mut(), &mut cx) {}
    /// assert_eq!(tracker.records()[0].output_tokens, 2);
    /// ```
    #[cfg(feature = "stream")]
    pub fn wrap_stream<S, F>(self, stream: S, count: F) -> TrackedStream<S, F>
    where
        S: futures_core::Stream,
        F: FnMut(&S::Item) -> u64,
    {
        TrackedStream::new(self, stream, count)
    }
}

/// What only generation trackers do: requests measured elsewhere, stream wrappers, and chunks
/// of requests started by id.
impl Tracker<Generation> {
    /// Records a request measured elsewhere (an API's reported timings and usage), ending
    /// now, and returns its record. It has no chunk gaps.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTiming`](crate::Error::InvalidTiming) for a first token with no output
    /// tokens, or one later than the whole request.
    ///
    /// ```
    /// use perftrack::{GenerationConfig, GenerationTiming, GenerationTracker};
    /// use std::time::Duration;
    ///
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let record = tracker.record("answer", GenerationTiming {
    ///     ttft: Some(Duration::from_millis(100)),
    ///     e2e: Duration::from_millis(1_100),
    ///     output_tokens: 101,
    ///     ..GenerationTiming::default()
    /// })?;
    /// assert_eq!(record.tpot, Some(10.0));
    ///
    /// let bad = GenerationTiming { ttft: Some(Duration::from_secs(2)), e2e: Duration::from_secs(1), output_tokens: 1, ..Default::default() };
    /// assert!(tracker.record("answer", bad).is_err());
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn record(&self, label: &str, timing: GenerationTiming) -> Result<GenerationRecord> {
        let end = self.engine.shared.timestamp(self.now());
        self.record_at(label, timing, end)
    }

    /// Records a request measured elsewhere that ended at the wall-clock time `end` (a span
    /// received over OTLP carries its own end), and returns its record: [`record`](Self::record)
    /// with the end given rather than now.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTiming`](crate::Error::InvalidTiming), as for [`record`](Self::record).
    ///
    /// ```
    /// use perftrack::{GenerationConfig, GenerationTiming, GenerationTracker, Timestamp};
    /// use std::time::Duration;
    ///
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let end: Timestamp = "2026-12-01T09:30:01Z".parse()?;
    /// let timing = GenerationTiming {
    ///     ttft: Some(Duration::from_millis(200)),
    ///     e2e: Duration::from_millis(1_000),
    ///     output_tokens: 5,
    ///     ..GenerationTiming::default()
    /// };
    /// let record = tracker.record_at("answer", timing, end)?;
    /// assert_eq!(record.timestamp, end);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_at(
        &self,
        label: &str,
        timing: GenerationTiming,
        end: crate::Timestamp,
    ) -> Result<GenerationRecord> {
        timing.check()?;
        let lane = self.engine.state(label);
        let request = Request {
            e2e: timing.e2e,
            ttft: timing.ttft,
            output_tokens: timing.output_tokens,
            input_tokens: timing.input_tokens,
            gaps: None,
            status: timing.status,
        };
        let record = request.finish(&lane, None, end);
        lane.keep(|| record.clone());
        Ok(record)
    }

    /// Starts a request under `label` and wraps its response iterator: see
    /// [`Guard::wrap_iter`], which lets the request start before the response exists.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let words: Vec<&str> = tracker.track_iter("answer", ["a", "b"], |_| 1).collect();
    /// assert_eq!(words, ["a", "b"]);
    /// assert_eq!(tracker.statistics(Some("answer")).unwrap().itl.unwrap().count, 1);
    /// ```
    pub fn track_iter<I, F>(&self, label: &str, iter: I, count: F) -> TrackedIter<I::IntoIter, F>
    where
        I: IntoIterator,
        F: FnMut(&I::Item) -> u64,
    {
        self.track(label).wrap_iter(iter, count)
    }

    /// Starts a request under `label` and wraps its response stream: see
    /// [`Guard::wrap_stream`].
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// # struct Empty;
    /// # impl futures_core::Stream for Empty {
    /// #     type Item = u8;
    /// #     fn poll_next(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
    /// #         -> std::task::Poll<Option<u8>> { std::task::Poll::Ready(None) }
    /// # }
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let stream = tracker.track_stream("answer", Empty, |_| 1);
    /// # drop(stream);
    /// ```
    #[cfg(feature = "stream")]
    pub fn track_stream<S, F>(&self, label: &str, stream: S, count: F) -> TrackedStream<S, F>
    where
        S: futures_core::Stream,
        F: FnMut(&S::Item) -> u64,
    {
        self.track(label).wrap_stream(stream, count)
    }

    /// Records a chunk of `n` output tokens arriving now for a request started by id, as
    /// [`Guard::tokens`] does for a guard.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let id = tracker.start_tracking(Some("answer"));
    /// tracker.tokens(&id, 4)?;
    /// assert_eq!(tracker.stop_tracking(&id)?.output_tokens, 4);
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn tokens(&self, id: &TrackId, n: u64) -> Result<()> {
        let now = self.now();
        self.engine.sessions.with(id, |a| a.state.chunk(now, n))
    }

    /// Sets the prompt's size of a request started by id.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// let id = tracker.start_tracking(None);
    /// tracker.input_tokens(&id, 700)?;
    /// assert_eq!(tracker.stop_tracking(&id)?.input_tokens, Some(700));
    /// # Ok::<(), perftrack::Error>(())
    /// ```
    pub fn input_tokens(&self, id: &TrackId, n: u64) -> Result<()> {
        self.engine
            .sessions
            .with(id, |a| a.state.input_tokens = Some(n))
    }

    /// The time unit records and statistics use.
    ///
    /// ```
    /// # use perftrack::{GenerationConfig, GenerationTracker, TimeUnit};
    /// let tracker = GenerationTracker::new(GenerationConfig::default());
    /// assert_eq!(tracker.time_unit(), TimeUnit::Milliseconds);
    /// ```
    pub fn time_unit(&self) -> TimeUnit {
        self.config().time_unit
    }
}
