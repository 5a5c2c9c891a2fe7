//! The OTLP/HTTP receiver: `POST /v1/traces` recorded, `/v1/metrics` and `/v1/logs` answered
//! and ignored, everything else refused with the status OTLP and HTTP prescribe, each refusal
//! counted. One thread accepts; a few workers read, decode and record; at most
//! `max_pending` requests wait or are in work, and one more is answered 503.
//!
//! The HTTP server reads a refused request's body to its end when the request is dropped, so
//! that the connection stays usable. A client that stalls in the middle of a body while the
//! receiver is full therefore holds the accept loop until it sends the rest or disconnects:
//! one reason the receiver binds to loopback unless told otherwise.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver as Queue, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tiny_http::{Header, Method, Request, Response, Server};

use super::decode::{self, BodyError, Compression, Encoding};
use super::stages::Stages;

/// How the receiver listens and what it accepts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The largest body, in bytes, as sent and once decompressed.
    pub(crate) max_body: u64,
    /// The most requests waiting or in work; one more is answered 503.
    pub(crate) max_pending: usize,
    /// Worker threads.
    pub(crate) workers: usize,
}

/// Request counts; every counter only grows. Relaxed: each is a tally, and no other memory
/// is published through it.
#[derive(Debug, Default)]
struct Counts {
    traces: AtomicU64,
    traces_json: AtomicU64,
    ignored: AtomicU64,
    bad_request: AtomicU64,
    unsupported_media_type: AtomicU64,
    too_large: AtomicU64,
    method_not_allowed: AtomicU64,
    not_found: AtomicU64,
    overloaded: AtomicU64,
}

/// What the receiver answered, as reported and saved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestsJson {
    /// Trace requests accepted (200).
    pub(crate) traces: u64,
    /// Of those, the ones in OTLP/JSON (the rest were protobuf).
    pub(crate) traces_json: u64,
    /// Metrics and logs requests, answered 200 and not read.
    pub(crate) ignored: u64,
    /// Requests refused, by reason.
    pub(crate) rejected: RejectedJson,
}

/// Refused requests, by the status they were answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectedJson {
    /// 400: a truncated or garbage body.
    pub(crate) bad_request: u64,
    /// 415: a `Content-Type` other than protobuf or JSON, or an unknown `Content-Encoding`.
    pub(crate) unsupported_media_type: u64,
    /// 413: a body over the limit.
    pub(crate) too_large: u64,
    /// 405: a method other than POST.
    pub(crate) method_not_allowed: u64,
    /// 404: a path other than `/v1/traces`, `/v1/metrics` and `/v1/logs`.
    pub(crate) not_found: u64,
    /// 503: too many requests waiting.
    pub(crate) overloaded: u64,
}

impl RejectedJson {
    /// All refused requests.
    pub(crate) fn total(&self) -> u64 {
        self.bad_request
            + self.unsupported_media_type
            + self.too_large
            + self.method_not_allowed
            + self.not_found
            + self.overloaded
    }
}

/// A running receiver.
pub(crate) struct Receiver {
    addr: SocketAddr,
    server: Arc<Server>,
    counts: Arc<Counts>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

/// What the workers share.
struct Shared {
    stages: Arc<Stages>,
    counts: Arc<Counts>,
    limits: Limits,
    /// Requests waiting or in work. SeqCst is not needed: Acquire/Release pair the
    /// acceptor's increment with the worker's decrement, and the count only bounds work.
    pending: AtomicUsize,
}

impl Receiver {
    /// Binds `listen` and starts serving into `stages`.
    pub(crate) fn start(
        listen: SocketAddr,
        limits: Limits,
        stages: Arc<Stages>,
    ) -> anyhow::Result<Self> {
        let server = Server::http(listen)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .with_context(|| format!("cannot listen on {listen}: no IP address"))?;
        let server = Arc::new(server);
        let counts = Arc::new(Counts::default());
        let shared = Arc::new(Shared {
            stages,
            counts: Arc::clone(&counts),
            limits,
            pending: AtomicUsize::new(0),
        });
        let (queue, jobs) = mpsc::channel::<Request>();
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..limits.workers.max(1))
            .map(|i| {
                let jobs = Arc::clone(&jobs);
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("perftrack-otlp-{i}"))
                    .spawn(move || work(&jobs, &shared))
            })
            .collect::<Result<Vec<_>, _>>()
            .context("cannot start the receiver's threads")?;
        let acceptor = {
            let server = Arc::clone(&server);
            std::thread::Builder::new()
                .name("perftrack-otlp-accept".into())
                .spawn(move || accept(&server, &queue, &shared))
                .context("cannot start the receiver's threads")?
        };
        Ok(Self {
            addr,
            server,
            counts,
            acceptor: Some(acceptor),
            workers,
        })
    }

    /// The address it is bound to (the port chosen when port 0 was asked for).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it answered so far.
    pub(crate) fn requests(&self) -> RequestsJson {
        let c = &*self.counts;
        let read = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestsJson {
            traces: read(&c.traces),
            traces_json: read(&c.traces_json),
            ignored: read(&c.ignored),
            rejected: RejectedJson {
                bad_request: read(&c.bad_request),
                unsupported_media_type: read(&c.unsupported_media_type),
                too_large: read(&c.too_large),
                method_not_allowed: read(&c.method_not_allowed),
                not_found: read(&c.not_found),
                overloaded: read(&c.overloaded),
            },
        }
    }

    /// Stops accepting, lets the workers finish the requests already accepted, and returns
    /// what it answered in all.
    pub(crate) fn stop(mut self) -> RequestsJson {
        self.shutdown();
        self.requests()
    }

    fn shutdown(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            self.server.unblock();
            let _ = acceptor.join();
        }
        // The acceptor dropped the queue's sender: the workers drain it and end.
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The accept loop: hands requests to the workers, or answers 503 when `max_pending` wait.
fn accept(server: &Server, queue: &Sender<Request>, shared: &Shared) {
    // `recv` fails once `unblock` is called (and on a listener error, which ends serving).
    while let Ok(request) = server.recv() {
        if shared.pending.fetch_add(1, Ordering::Acquire) >= shared.limits.max_pending {
            shared.pending.fetch_sub(1, Ordering::Release);
            shared.counts.overloaded.fetch_add(1, Ordering::Relaxed);
            note_first(
                &shared.counts.overloaded,
                "503",
                "too many requests waiting",
            );
            let response = Response::from_string("too many requests waiting; retry later\n")
                .with_status_code(503);
            let response = with(response, "Retry-After", "1");
            let _ = request.respond(response);
            continue;
        }
        if let Err(unsent) = queue.send(request) {
            // The workers are gone (they end only when this sender is dropped): answer it.
            shared.pending.fetch_sub(1, Ordering::Release);
            let _ = unsent.0.respond(Response::empty(503));
        }
    }
}

/// A worker: handles requests until the queue's sender is dropped.
fn work(jobs: &Mutex<Queue<Request>>, shared: &Shared) {
    loop {
        // The lock is held only to take one request; a poisoned lock still holds the queue.
        let next = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(request) = next else { return };
        handle(request, shared);
        shared.pending.fetch_sub(1, Ordering::Release);
    }
}

/// What a path is for.
enum Endpoint {
    Traces,
    Ignored,
}

/// Answers one request.
fn handle(mut request: Request, shared: &Shared) {
    let counts = &*shared.counts;
    let path = request.url().split('?').next().unwrap_or("");
    let endpoint = match path {
        "/v1/traces" => Endpoint::Traces,
        "/v1/metrics" | "/v1/logs" => Endpoint::Ignored,
        _ => {
            let why = format!("no such path {path}: OTLP/HTTP takes POST /v1/traces");
            return refuse(request, 404, &counts.not_found, &why);
        }
    };
    if *request.method() != Method::Post {
        let why = format!("{} {path}: OTLP/HTTP takes POST", request.method());
        let response = Response::from_string(format!("{why}\n")).with_status_code(405);
        let response = with(response, "Allow", "POST");
        count(&counts.method_not_allowed, "405", &why);
        let _ = request.respond(response);
        return;
    }
    let value = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let content_type = value("Content-Type").unwrap_or_default();
    let Some(encoding) = Encoding::from_content_type(&content_type) else {
        let why = format!(
            "Content-Type `{content_type}`: expected application/x-protobuf or application/json"
        );
        return refuse(request, 415, &counts.unsupported_media_type, &why);
    };
    let content_encoding = value("Content-Encoding");
    let Some(compression) = Compression::from_content_encoding(content_encoding.as_deref()) else {
        let why = format!(
            "Content-Encoding `{}`: expected gzip or none",
            content_encoding.unwrap_or_default()
        );
        return refuse(request, 415, &counts.unsupported_media_type, &why);
    };
    let limit = shared.limits.max_body;
    let too_large = format!("the body is over the limit of {limit} bytes");
    if request.body_length().is_some_and(|n| n as u64 > limit) {
        return refuse(request, 413, &counts.too_large, &too_large);
    }
    let body = decode::read_limited(request.as_reader(), limit)
        .and_then(|body| decode::decompress(body, compression, limit));
    let body = match body {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return refuse(request, 413, &counts.too_large, &too_large),
        Err(BodyError::Malformed(why)) => {
            return refuse(request, 400, &counts.bad_request, &why);
        }
    };
    let answer = match endpoint {
        Endpoint::Ignored => {
            counts.ignored.fetch_add(1, Ordering::Relaxed);
            decode::empty_response(encoding)
        }
        Endpoint::Traces => match decode::decode_traces(&body, encoding) {
            Ok(traces) => {
                drop(body);
                let ingested = shared.stages.ingest(&traces);
                counts.traces.fetch_add(1, Ordering::Relaxed);
                if encoding == Encoding::Json {
                    counts.traces_json.fetch_add(1, Ordering::Relaxed);
                }
                decode::trace_response(encoding, ingested.rejected, ingested.why)
            }
            Err(BodyError::Malformed(why)) => {
                return refuse(request, 400, &counts.bad_request, &why);
            }
            Err(BodyError::TooLarge) => {
                return refuse(request, 413, &counts.too_large, &too_large);
            }
        },
    };
    let response = with(
        Response::from_data(answer),
        "Content-Type",
        encoding.content_type(),
    );
    let _ = request.respond(response);
}

/// Answers `status` with `why`, counted in `counter`.
fn refuse(request: Request, status: u16, counter: &AtomicU64, why: &str) {
    count(counter, &status.to_string(), why);
    // `from_string` says `text/plain; charset=UTF-8`.
    let response = Response::from_string(format!("{why}\n")).with_status_code(status);
    let _ = request.respond(response);
}

/// Counts a refusal; the first of each status is told on stderr, the rest only counted.
fn count(counter: &AtomicU64, status: &str, why: &str) {
    counter.fetch_add(1, Ordering::Relaxed);
    note_first(counter, status, why);
}

/// Tells the first refusal of a kind on stderr (later ones are in the summary's counts).
fn note_first(counter: &AtomicU64, status: &str, why: &str) {
    if counter.load(Ordering::Relaxed) == 1 {
        eprintln!("perftrack: refused a request ({status}): {why}");
    }
}

/// `response` with the header `field: value` (ASCII literals of this file, always valid).
fn with<R: std::io::Read>(mut response: Response<R>, field: &str, value: &str) -> Response<R> {
    if let Ok(header) = Header::from_bytes(field.as_bytes(), value.as_bytes()) {
        response.add_header(header);
    }
    response
}
