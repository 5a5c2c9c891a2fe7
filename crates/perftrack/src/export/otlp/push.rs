//! The exporter's thread: it pushes on the interval, when asked, and once at shutdown, retrying
//! a push that failed for a passing reason. It never queues: each attempt encodes the newest
//! state (cumulative temporality makes a missed push harmless), so a backend that is down costs
//! one payload at a time, never a growing backlog.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use prost::Message as _;

use super::config::Checked;
use super::payload::Sources;
use super::{OtlpFailure, OtlpStatus};
use crate::session::lock;

/// The most of an answer's body that is read (an `ExportMetricsServiceResponse` is a count and
/// a message).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// What the caller and the thread share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) checked: Checked,
    pub(super) sources: Mutex<Sources>,
    pub(super) state: Mutex<State>,
    pub(super) bell: Condvar,
}

/// The thread's orders and what it reports.
#[derive(Debug, Default)]
pub(super) struct State {
    /// A push was asked for ([`OtlpExporter::export_now`](super::OtlpExporter::export_now)).
    pub(super) wake: bool,
    /// When shutdown must be over; set once by shutdown or drop.
    pub(super) shutdown: Option<Instant>,
    /// The thread has finished (its final push done or given up).
    pub(super) done: bool,
    pub(super) status: OtlpStatus,
    /// The kinds of failure already printed, so that each is printed once.
    logged: BTreeSet<String>,
}

/// How one attempt ended.
enum Attempt {
    Sent,
    /// No tracker is exported yet: nothing was sent.
    Nothing,
    /// Worth another try, after the backend's `Retry-After` when it gave one.
    Retry(OtlpFailure, Option<Duration>),
    Fatal(OtlpFailure),
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Waits for `d` or until shutdown is asked; true when it is.
    fn wait(&self, d: Duration, wake_ends_it: bool) -> bool {
        let deadline = Instant::now() + d;
        let mut state = self.state();
        loop {
            if state.shutdown.is_some() {
                return true;
            }
            if wake_ends_it && state.wake {
                state.wake = false;
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = match self.bell.wait_timeout(state, deadline - now) {
                Ok((s, _)) => s,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    pub(super) fn run(&self, agent: &ureq::Agent) {
        loop {
            if self.wait(self.checked.interval, true) {
                break;
            }
            self.push(agent);
        }
        // The final push, bounded by what is left of the shutdown's timeout.
        let deadline = self.state().shutdown;
        if let Some(left) = deadline.and_then(|d| d.checked_duration_since(Instant::now())) {
            if left >= Duration::from_millis(1) {
                match self.attempt(agent, left) {
                    Attempt::Sent => self.state().status.exports += 1,
                    Attempt::Nothing => {}
                    Attempt::Retry(f, _) | Attempt::Fatal(f) => self.failed(f),
                }
            }
        }
        self.state().done = true;
        self.bell.notify_all();
    }

    /// One push: attempts until one is accepted, a failure is final, the retries run out or
    /// shutdown is asked.
    fn push(&self, agent: &ureq::Agent) {
        let config = &self.checked.config;
        let mut backoff = Duration::from_millis(config.retry_backoff_ms);
        let max_delay = Duration::from_millis(config.max_retry_delay_ms);
        let mut retries = 0;
        loop {
            match self.attempt(agent, self.checked.timeout) {
                Attempt::Sent => {
                    self.state().status.exports += 1;
                    return;
                }
                Attempt::Nothing => return,
                Attempt::Fatal(failure) => return self.failed(failure),
                Attempt::Retry(failure, retry_after) => {
                    if retries >= config.max_retries {
                        return self.failed(failure);
                    }
                    self.note(&failure);
                    let delay = retry_after.unwrap_or(backoff).min(max_delay);
                    backoff = backoff.saturating_mul(2);
                    retries += 1;
                    if self.wait(delay, false) {
                        // Shutdown: the final push sends the newest state instead.
                        return self.give_up(failure);
                    }
                    self.state().status.retries += 1;
                }
            }
        }
    }

    /// A push given up after a failed attempt.
    fn failed(&self, failure: OtlpFailure) {
        self.note(&failure);
        self.give_up(failure);
    }

    /// A push given up (its last failed attempt already noted).
    fn give_up(&self, failure: OtlpFailure) {
        let mut state = self.state();
        state.status.failed_exports += 1;
        state.status.last_failure = Some(failure);
    }

    /// Counts a failed attempt and prints it the first time its kind is seen.
    fn note(&self, failure: &OtlpFailure) {
        self.state().status.failed_attempts += 1;
        self.note_once(failure);
    }

    /// Prints a failure the first time its kind is seen; later ones are only counted.
    fn note_once(&self, failure: &OtlpFailure) {
        let mut state = self.state();
        if state.logged.insert(failure.kind()) {
            eprintln!(
                "perftrack: OTLP export to {} failed: {failure} (later failures of this kind are \
                 counted in OtlpExporter::status, not printed)",
                self.checked.config.endpoint
            );
        }
    }

    /// Encodes the newest state and posts it once.
    fn attempt(&self, agent: &ureq::Agent, timeout: Duration) -> Attempt {
        let body = {
            let sources = lock(&self.sources);
            if sources.is_empty() {
                return Attempt::Nothing;
            }
            sources.request(&self.checked).encode_to_vec()
        };
        {
            let mut state = self.state();
            state.status.attempts += 1;
            state.status.last_payload_bytes = body.len();
            state.status.peak_held_bytes = state.status.peak_held_bytes.max(body.len());
        }
        let config = &self.checked.config;
        let mut request = agent
            .post(&config.endpoint)
            .header("Content-Type", "application/x-protobuf");
        for (name, value) in &config.headers {
            request = request.header(name, value);
        }
        let sent = request
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send(&body[..]);
        match sent {
            Ok(mut response) => {
                let code = response.status().as_u16();
                if (200..300).contains(&code) {
                    // A partial success names the points the backend rejected: they are not
                    // sent again (the spec forbids retrying them), only counted and reported.
                    let answer = response
                        .body_mut()
                        .with_config()
                        .limit(MAX_ANSWER_BYTES)
                        .read_to_vec()
                        .ok()
                        .and_then(|b| ExportMetricsServiceResponse::decode(&b[..]).ok());
                    if let Some(partial) = answer.and_then(|a| a.partial_success) {
                        if partial.rejected_data_points > 0 {
                            let rejected = partial.rejected_data_points.unsigned_abs();
                            self.state().status.rejected_points += rejected;
                            self.note_once(&OtlpFailure::Rejected {
                                points: rejected,
                                message: partial.error_message,
                            });
                        }
                    }
                    return Attempt::Sent;
                }
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let failure = OtlpFailure::Status(code);
                match code {
                    429 | 503 => Attempt::Retry(failure, retry_after),
                    502 | 504 => Attempt::Retry(failure, None),
                    _ => Attempt::Fatal(failure),
                }
            }
            Err(ureq::Error::Timeout(_)) => Attempt::Retry(OtlpFailure::Timeout, None),
            Err(
                e @ (ureq::Error::Io(_)
                | ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Protocol(_)),
            ) => Attempt::Retry(OtlpFailure::Unreachable(e.to_string()), None),
            Err(e) => Attempt::Fatal(OtlpFailure::Other(e.to_string())),
        }
    }
}
