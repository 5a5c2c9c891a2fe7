//! `NativeTracker`: one tracker of the library, of any of the four kinds, behind the methods
//! the Python classes call.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use perftrack::{
    AnyRecord, AnyTracker, Clock, GenerationTracker, MetricsFile, PerformanceTracker,
    SamplingInterval, Status, TrackId, TrackerKind,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use serde::Serialize;
use serde_json::Value;

use crate::convert::{config_to_json, python, to_py};
use crate::error::to_py_err;
use crate::generation::{ManualClock, NativeRequest, parse_status};

/// A tracker of the Rust library; the Python trackers hold one.
#[pyclass(frozen, module = "perftrack._native")]
pub(crate) struct NativeTracker {
    inner: AnyTracker,
}

/// A library result as a Python one.
fn check<T>(py: Python<'_>, result: perftrack::Result<T>) -> PyResult<T> {
    result.map_err(|err| to_py_err(py, err))
}

/// A serde value as JSON (records, statistics and snapshots always serialise).
pub(crate) fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A loaded or merged file as the dict `load_metrics` returns: the file's header and its
/// records under the tracker's metric name.
fn file_json<R: Serialize>(file: &MetricsFile<R>, metric_name: &str) -> Value {
    let mut metrics = serde_json::Map::new();
    metrics.insert(metric_name.to_owned(), json(&file.records));
    serde_json::json!({
        "version": file.version,
        "tracker_type": file.tracker_type,
        "start_time": json(&file.start_time),
        "end_time": json(&file.end_time),
        "config": file.config,
        "metrics": metrics,
        "dropped_records": file.dropped_records,
    })
}

/// Applies `$body` to the typed tracker inside, for the four kinds the package serves.
macro_rules! typed {
    ($self:expr, $t:ident => $body:expr) => {
        match &$self.inner {
            AnyTracker::Latency($t) => $body,
            AnyTracker::Throughput($t) => $body,
            AnyTracker::Memory($t) => $body,
            AnyTracker::Cpu($t) => $body,
            AnyTracker::Generation($t) => $body,
            _ => unreachable!("the package makes the library's five kinds alone"),
        }
    };
}

/// A new session id, shaped like the original's UUID4s: 60 bits that a bijection makes of a
/// process-wide counter (unique within the process) and 62 random ones.
///
/// Sessions are started under these names rather than the library's generated ids, because a
/// generated id can be found again only through its `TrackId`, and Python holds the string.
fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static KEYS: OnceLock<(u64, u64)> = OnceLock::new();
    // Relaxed: the counter only has to hand out distinct numbers.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let &(key, salt) = KEYS.get_or_init(|| {
        let state = RandomState::new();
        (state.hash_one(0x5eed_u64), state.hash_one(0x5a17_u64))
    });
    let unique = mix(n ^ key);
    let random = mix(n.wrapping_add(salt));
    // 8-4-4-4-12 hex digits: the version nibble 4 and the variant bits 10 of a UUID4.
    let fields: [(u64, usize); 5] = [
        (unique >> 32, 8),
        ((unique >> 16) & 0xffff, 4),
        (0x4000 | ((unique >> 4) & 0xfff), 4),
        (0x8000 | ((random >> 48) & 0x3fff), 4),
        (random & 0xffff_ffff_ffff, 12),
    ];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (i, (value, digits)) in fields.into_iter().enumerate() {
        if i > 0 {
            text.push('-');
        }
        for shift in (0..digits).rev() {
            text.push(char::from(HEX[((value >> (shift * 4)) & 0xf) as usize]));
        }
    }
    text
}

/// SplitMix64's finaliser, a bijection of `u64`.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The canonical name of a tracker type (`"latency"`, `"throughput"`, `"memory"`, `"cpu"`),
/// as the library's factory reads it (any case; also `memory_usage`, `cpu_usage` and the
/// class names).
#[pyfunction]
pub(crate) fn tracker_kind(py: Python<'_>, tracker_type: &str) -> PyResult<&'static str> {
    check(py, TrackerKind::from_name(tracker_type)).map(TrackerKind::file_type)
}

impl NativeTracker {
    /// Whether the kind reads `/proc` on start, stop and sample (the GIL is released there).
    fn reads_proc(&self) -> bool {
        matches!(self.inner, AnyTracker::Memory(_) | AnyTracker::Cpu(_))
    }

    fn metric_name(&self) -> String {
        match self.inner.config_json().get("metric_name") {
            Some(Value::String(name)) => name.clone(),
            _ => self.inner.tracker_type().to_owned(),
        }
    }

    /// The generation tracker inside, or a `TypeError` naming the method that needs one.
    fn generation(&self, method: &str) -> PyResult<&GenerationTracker> {
        self.inner
            .as_generation()
            .ok_or_else(|| PyTypeError::new_err(format!("{method} needs a generation tracker")))
    }

    fn stop(&self, id: &TrackId, status: Status) -> perftrack::Result<AnyRecord> {
        typed!(self, t => t.stop_tracking_with_status(id, status).map(AnyRecord::from))
    }
}

#[pymethods]
impl NativeTracker {
    /// A tracker of `kind` (`"latency"`, `"throughput"`, `"memory"`, `"cpu"` or
    /// `"generation"`) from a configuration dict with the Python original's keys, reading time
    /// from `clock` if one is given.
    #[new]
    #[pyo3(signature = (kind, config=None, clock=None))]
    fn new(
        py: Python<'_>,
        kind: &str,
        config: Option<&Bound<'_, PyAny>>,
        clock: Option<&ManualClock>,
    ) -> PyResult<Self> {
        let kind = check(py, TrackerKind::from_name(kind))?;
        let config = config.map(config_to_json).transpose()?;
        let clock = clock.map(|c| Arc::clone(&c.inner) as Arc<dyn Clock>);
        let inner = py.detach(|| match clock {
            Some(clock) => AnyTracker::with_clock(kind, config, clock),
            None => AnyTracker::new(kind, config),
        });
        Ok(Self {
            inner: check(py, inner)?,
        })
    }

    /// The tracker type of the kind's files: `latency`, `throughput`, `memory` or `cpu`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.tracker_type()
    }

    /// The configuration with every default, as a new dict.
    fn config(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.inner.config_json())
    }

    /// Starts a session and returns its id (the caller's, or a generated one).
    #[pyo3(signature = (track_id=None, label=None))]
    fn start_tracking(
        &self,
        py: Python<'_>,
        track_id: Option<&str>,
        label: Option<&str>,
    ) -> PyResult<String> {
        let start = || -> perftrack::Result<String> {
            match track_id {
                Some(id) => {
                    typed!(self, t => t.start_tracking_with_id(id, label)).map(|id| id.to_string())
                }
                None => {
                    let id = new_id();
                    typed!(self, t => t.start_tracking_with_id(&id, label)).map(|_| id)
                }
            }
        };
        let started = if self.reads_proc() {
            py.detach(start)
        } else {
            start()
        };
        check(py, started)
    }

    /// Stops a session and returns its record, with `status` (`"ok"`, `"failed"` or
    /// `"cancelled"`).
    #[pyo3(signature = (track_id, status="ok"))]
    fn stop_tracking(&self, py: Python<'_>, track_id: &str, status: &str) -> PyResult<Py<PyAny>> {
        let id = TrackId::from(track_id);
        let status = parse_status(status)?;
        let record = if self.reads_proc() {
            py.detach(|| self.stop(&id, status))
        } else {
            self.stop(&id, status)
        };
        python(py, &check(py, record)?)
    }

    /// Stops a session with `status` and records it, returning nothing: the end of a `with`
    /// block or a decorated call, whose record nobody reads, skips making it a dict.
    #[pyo3(signature = (track_id, status="ok"))]
    fn finish(&self, py: Python<'_>, track_id: &str, status: &str) -> PyResult<()> {
        let id = TrackId::from(track_id);
        let status = parse_status(status)?;
        let stop = || typed!(self, t => t.stop_tracking_with_status(&id, status).map(drop));
        let stopped = if self.reads_proc() {
            py.detach(stop)
        } else {
            stop()
        };
        check(py, stopped)
    }

    /// Ends a session without recording it.
    fn discard_tracking(&self, py: Python<'_>, track_id: &str) -> PyResult<()> {
        let id = TrackId::from(track_id);
        check(py, typed!(self, t => t.discard_tracking(&id)))
    }

    /// The tracker's current value: the session's (`track_id`) or the latest session's.
    #[pyo3(signature = (track_id=None))]
    fn current_value(&self, py: Python<'_>, track_id: Option<&str>) -> PyResult<Py<PyAny>> {
        let id = track_id.map(TrackId::from);
        let value = py.detach(|| self.inner.current_value(id.as_ref()));
        to_py(py, &check(py, value)?)
    }

    /// When the tracker's measurements began (made, reset, or the start of the file it
    /// loaded), in nanoseconds since the Unix epoch.
    fn start_time_unix_nanos(&self) -> i64 {
        typed!(self, t => t.snapshot().start_time.as_unix_nanos())
    }

    /// The number of active sessions.
    fn active_sessions(&self) -> usize {
        typed!(self, t => t.active_sessions())
    }

    /// Statistics of one label, or of every measurement with `None`.
    #[pyo3(signature = (label=None))]
    fn statistics(&self, py: Python<'_>, label: Option<&str>) -> PyResult<Py<PyAny>> {
        let value = py.detach(|| self.inner.statistics_json(label));
        to_py(py, &value)
    }

    /// Statistics of every label, by label.
    fn statistics_by_label(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = py.detach(|| typed!(self, t => json(&t.statistics_by_label())));
        to_py(py, &value)
    }

    /// The retained records, oldest first.
    fn records(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = py.detach(|| typed!(self, t => json(&t.records())));
        to_py(py, &value)
    }

    /// Measurements counted in the statistics whose records were not retained.
    fn dropped_records(&self) -> u64 {
        typed!(self, t => t.dropped_records())
    }

    /// Discards every record, statistic and active session.
    fn reset(&self, py: Python<'_>) {
        py.detach(|| self.inner.reset());
    }

    /// Saves the metrics file (atomically).
    fn save_metrics(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let saved = py.detach(|| self.inner.save_metrics(&path));
        check(py, saved)
    }

    /// The metrics file `save_metrics` writes, as JSON text.
    fn metrics_json(&self, py: Python<'_>) -> PyResult<String> {
        let text = py.detach(|| self.inner.metrics_json());
        check(py, text)
    }

    /// Loads a metrics file (perftrack's or the Python original's), replacing the tracker's
    /// measurements, and returns it as a dict.
    fn load_metrics(&self, py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
        let name = self.metric_name();
        let file =
            py.detach(|| typed!(self, t => t.load_metrics(&path).map(|f| file_json(&f, &name))));
        to_py(py, &check(py, file)?)
    }

    /// Adds a metrics file's measurements to the tracker's own and returns the file as a dict.
    fn merge_metrics(&self, py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
        let name = self.metric_name();
        let file =
            py.detach(|| typed!(self, t => t.merge_metrics(&path).map(|f| file_json(&f, &name))));
        to_py(py, &check(py, file)?)
    }

    /// Adds `count` events to a throughput session and returns the session's progress as a
    /// new dict: `start_time` (seconds since the Unix epoch), `label` and `count` so far.
    fn record_event(&self, py: Python<'_>, track_id: &str, count: u64) -> PyResult<Py<PyAny>> {
        let AnyTracker::Throughput(t) = &self.inner else {
            return Err(PyTypeError::new_err(
                "record_event needs a throughput tracker",
            ));
        };
        let id = TrackId::from(track_id);
        check(py, t.record_event(&id, count))?;
        let progress = check(py, t.session_progress(&id))?;
        let session = PyDict::new(py);
        session.set_item("start_time", progress.start_time.as_unix_seconds_f64())?;
        session.set_item("label", progress.label)?;
        session.set_item("count", progress.count)?;
        Ok(session.into_any().unbind())
    }

    /// The rate of a throughput label over the window, or `None` when it has no events.
    fn current_rate(&self, label: &str) -> PyResult<Option<f64>> {
        let AnyTracker::Throughput(t) = &self.inner else {
            return Err(PyTypeError::new_err(
                "current_rate needs a throughput tracker",
            ));
        };
        Ok(t.current_rate(label))
    }

    /// The samples a memory or CPU session holds so far (background ones included), oldest
    /// first; nothing is read.
    fn samples(&self, py: Python<'_>, track_id: &str) -> PyResult<Py<PyAny>> {
        let id = TrackId::from(track_id);
        let samples = match &self.inner {
            AnyTracker::Memory(t) => t.samples(&id).map(|s| json(&s)),
            AnyTracker::Cpu(t) => t.samples(&id).map(|s| json(&s)),
            _ => {
                return Err(PyTypeError::new_err(
                    "samples needs a memory or CPU tracker",
                ));
            }
        };
        to_py(py, &check(py, samples)?)
    }

    /// Takes a sample of a memory or CPU session now and returns it.
    fn record_sample(&self, py: Python<'_>, track_id: &str) -> PyResult<Py<PyAny>> {
        let id = TrackId::from(track_id);
        let sample = py.detach(|| match &self.inner {
            AnyTracker::Memory(t) => Ok(t.record_sample(&id).map(|s| json(&s))),
            AnyTracker::Cpu(t) => Ok(t.record_sample(&id).map(|s| json(&s))),
            _ => Err(()),
        });
        match sample {
            Ok(sample) => to_py(py, &check(py, sample)?),
            Err(()) => Err(PyTypeError::new_err(
                "record_sample needs a memory or CPU tracker",
            )),
        }
    }

    /// Calls `func(*args, **kwargs)` in a memory or CPU session sampled every
    /// `sampling_interval` seconds (the configured interval with `None`) and returns
    /// `(result, record)`. An exception ends the session, recorded as failed, and propagates.
    #[pyo3(signature = (label, sampling_interval, func, args, kwargs=None))]
    fn track_function(
        &self,
        py: Python<'_>,
        label: &str,
        sampling_interval: Option<f64>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        let interval = sampling_interval
            .map(SamplingInterval::from_secs_f64)
            .transpose();
        let interval = check(py, interval)?;
        macro_rules! tracked {
            ($t:expr) => {{
                // Starting reads `/proc`: without the GIL.
                let guard = py.detach(|| $t.track_every(label, interval));
                let result = func.call(args, kwargs);
                let status = if result.is_ok() {
                    Status::Ok
                } else {
                    Status::Failed
                };
                let record = py.detach(|| guard.stop_with(status));
                Ok((result?.unbind(), python(py, &record)?))
            }};
        }
        match &self.inner {
            AnyTracker::Memory(t) => tracked!(t),
            AnyTracker::Cpu(t) => tracked!(t),
            _ => Err(PyTypeError::new_err(
                "track_function needs a memory or CPU tracker",
            )),
        }
    }

    /// Starts a generation request under `label` now.
    fn request(&self, label: &str) -> PyResult<NativeRequest> {
        Ok(NativeRequest::new(self.generation("request")?.track(label)))
    }

    /// A chunk of `n` output tokens arriving now for a generation request started by id.
    fn tokens(&self, py: Python<'_>, track_id: &str, n: u64) -> PyResult<()> {
        check(
            py,
            self.generation("tokens")?
                .tokens(&TrackId::from(track_id), n),
        )
    }

    /// The prompt's size of a generation request started by id.
    fn input_tokens(&self, py: Python<'_>, track_id: &str, n: u64) -> PyResult<()> {
        let tracker = self.generation("input_tokens")?;
        check(py, tracker.input_tokens(&TrackId::from(track_id), n))
    }

    /// Before `fork()`: ends the background sampling thread and waits for it.
    fn prepare_fork(&self, py: Python<'_>) {
        py.detach(|| typed!(self, t => t.prepare_fork()));
    }

    /// After `fork()`, in the parent and in the child: sampling resumes on this process's own
    /// thread.
    fn after_fork(&self) {
        typed!(self, t => t.after_fork());
    }

    fn __repr__(&self) -> String {
        format!("NativeTracker({:?})", self.inner.tracker_type())
    }
}
