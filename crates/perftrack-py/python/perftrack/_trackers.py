"""The trackers: thin classes over ``perftrack._native.NativeTracker`` (the Rust library's
trackers) with the Python trackers' method names, keyword arguments and return shapes, and
the abstract ``BasePerformanceTracker`` that a kind of one's own subclasses."""

import abc
import contextlib
import contextvars
import datetime
import functools
import inspect
import json
import math
import os
import tempfile
import weakref
from asyncio import CancelledError
from typing import (
    Any,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    TypeVar,
    Union,
    cast,
    overload,
)

from . import _native
from ._errors import MetricsFileError
from ._native import ManualClock

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
PathLike = Union[str, "os.PathLike[str]"]


def _label(label: Optional[str]) -> Optional[str]:
    """``""`` means no label, as in the original."""
    return label if label else None


def _count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int, not {type(count).__name__}")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    return count


class _Session:
    """What ``tracker.track(label)`` returns: a context manager over one session of its own,
    which ``__enter__`` starts (returning its id) and ``__exit__`` stops, as failed when the
    block raised. ``record`` holds the record once it has stopped."""

    def __init__(self, tracker: "BasePerformanceTracker", label: Optional[str]) -> None:
        self._tracker = tracker
        self._label = label
        self.track_id: Optional[str] = None
        self.record: Optional[Dict[str, Any]] = None

    def __enter__(self) -> str:
        tracker = self._tracker
        self.track_id = (
            tracker.start_tracking(label=self._label) if self._label else tracker.start_tracking()
        )
        return self.track_id

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.track_id is not None:
            track_id, self.track_id = self.track_id, None
            self.record = _stop_on_exit(self._tracker, track_id, exc_type)

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


def _status(exc_type: Any) -> str:
    """The status of a block or call that ended with ``exc_type`` (``None``: no exception):
    a cancelled asyncio task, or a generator closed before its end, is ``"cancelled"``."""
    if exc_type is None:
        return "ok"
    if issubclass(exc_type, (CancelledError, GeneratorExit)):
        return "cancelled"
    return "failed"


def _stop_on_exit(
    tracker: "BasePerformanceTracker", track_id: str, exc_type: Any
) -> Optional[Dict[str, Any]]:
    """Stops a session at the end of a ``with`` block; an error while stopping never hides the
    block's own exception."""
    try:
        return tracker._stop(track_id, _status(exc_type))
    except Exception:
        if exc_type is not None:
            return None
        raise


# Every tracker of the process, for the fork hooks: a sampling thread is ended before
# `fork()` and started again in the parent and in the child, which then samples itself.
_TRACKERS: "weakref.WeakSet[_RustTracker]" = weakref.WeakSet()


def _before_fork() -> None:
    for tracker in list(_TRACKERS):
        tracker._native.prepare_fork()


def _after_fork() -> None:
    for tracker in list(_TRACKERS):
        tracker._native.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork
    )


class BasePerformanceTracker(abc.ABC):
    """What every tracker can do: sessions, the current value, records, statistics, files,
    the context manager (``with tracker as track_id:``, ``async with``) and the decorator
    (``@tracker``).

    Abstract, as in the original: construct one of perftrack's trackers (or use
    ``get_performance_tracker``), or subclass it into a kind of your own by implementing
    ``start_tracking``, ``stop_tracking``, ``get_current_value`` and ``reset``, appending each
    record (a dict with a numeric ``value`` for ``calculate_statistics``) to
    ``self.metrics[self.metric_name]``. Such a tracker keeps its records in Python, as the
    original did; the context manager, the decorator, ``track``, ``get_metrics``,
    ``calculate_statistics`` and the files work on them (``save_metrics`` writes the
    original's layout, atomically).

    >>> class Counter(BasePerformanceTracker):
    ...     def start_tracking(self, track_id=None, label=None):
    ...         return track_id or "only"
    ...     def stop_tracking(self, track_id):
    ...         record = {"track_id": track_id, "value": 1}
    ...         self.metrics.setdefault(self.metric_name, []).append(record)
    ...         return record
    ...     def get_current_value(self, track_id=None):
    ...         return 1
    ...     def reset(self):
    ...         self.metrics = {}
    >>> counter = Counter({"metric_name": "calls"})
    >>> with counter:
    ...     pass
    >>> counter.calculate_statistics()["count"]
    1
    """

    def __init__(self, config: Optional[Dict[str, Any]] = None) -> None:
        if config is not None and not isinstance(config, dict):
            raise TypeError(f"config must be a dict, not {type(config).__name__}")
        #: The configuration (the caller's keys, copied).
        self.config: Dict[str, Any] = dict(config or {})
        #: Records by metric name; a subclass appends its records here.
        self.metrics: Dict[str, List[Dict[str, Any]]] = {}
        #: When the tracker was made (or last reset, if the subclass sets it), in UTC.
        self.start_time = datetime.datetime.now(datetime.timezone.utc)
        self._context = _context_stack(self)

    @abc.abstractmethod
    def start_tracking(self, track_id: Optional[str] = None, label: Optional[str] = None) -> str:
        """Starts a session and returns its id."""

    @abc.abstractmethod
    def stop_tracking(self, track_id: str) -> Dict[str, Any]:
        """Stops a session and returns its record."""

    @abc.abstractmethod
    def get_current_value(self, track_id: Optional[str] = None) -> Any:
        """The tracker's value now."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Discards the tracker's records and sessions."""

    @property
    def metric_name(self) -> str:
        """The name the records are kept under: the configuration's ``metric_name``, else
        the class name."""
        return str(self.config.get("metric_name", type(self).__name__))

    def _stop(self, track_id: str, status: str) -> Optional[Dict[str, Any]]:
        """Stops a session at the end of a block or call with ``status`` (a kind of one's own
        has no status: its ``stop_tracking`` decides)."""
        return self.stop_tracking(track_id)

    def _begin(self, label: Optional[str]) -> str:
        """Starts the session of a ``with`` block or a decorated call."""
        return self.start_tracking(label=label) if label else self.start_tracking()

    def _end(self, track_id: str, exc_type: Any) -> None:
        """Stops the session of a ``with`` block or a decorated call, whose record nobody
        reads; an error while stopping never hides the block's own exception."""
        _stop_on_exit(self, track_id, exc_type)

    # -- blocks and decorators --------------------------------------------------------------

    def track(self, label: Optional[str] = None) -> _Session:
        """A context manager that tracks its block as one session with ``label``:
        ``with tracker.track("retrieval") as track_id:``. An exception inside is recorded as
        failed and propagates."""
        return _Session(self, _label(label))

    def __enter__(self) -> str:
        track_id = self._begin(None)
        context = self._context
        context.set(context.get() + (track_id,))
        return track_id

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        context = self._context
        stack = context.get()
        if not stack:
            raise RuntimeError(f"{type(self).__name__}.__exit__ without a matching __enter__")
        context.set(stack[:-1])
        self._end(stack[-1], exc_type)

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        """Decorates a function (or a coroutine function) so that each call is one session
        labelled with the function's name; an exception is recorded as failed (a cancelled
        task as cancelled) and propagates. Every argument goes to the function."""
        label = getattr(func, "__name__", None) or None
        begin, end = self._begin, self._end
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def tracked_async(*args: Any, **kwargs: Any) -> Any:
                track_id = begin(label)
                try:
                    result = await func(*args, **kwargs)
                except BaseException as err:
                    end(track_id, type(err))
                    raise
                end(track_id, None)
                return result

            return cast(F, tracked_async)

        @functools.wraps(func)
        def tracked(*args: Any, **kwargs: Any) -> Any:
            track_id = begin(label)
            try:
                result = func(*args, **kwargs)
            except BaseException as err:
                end(track_id, type(err))
                raise
            end(track_id, None)
            return result

        return cast(F, tracked)

    # -- records, statistics and files of a kind of one's own -------------------------------

    def get_metrics(self, metric_name: Optional[str] = None) -> Dict[str, List[Dict[str, Any]]]:
        """The records by metric name, as copies; with a ``metric_name``, only its list
        (``[]`` when it has none)."""
        if metric_name is not None:
            return {metric_name: [dict(r) for r in self.metrics.get(metric_name, [])]}
        return {name: [dict(r) for r in records] for name, records in self.metrics.items()}

    def calculate_statistics(self, metric_name: Optional[str] = None) -> Dict[str, Any]:
        """``min``, ``max``, ``mean``, ``count``, ``sum`` and ``last`` of the records'
        numeric ``value``s under ``metric_name`` (the tracker's by default); ``{}`` when
        there are none."""
        records = self.metrics.get(metric_name or self.metric_name, [])
        values = [
            r["value"]
            for r in records
            if isinstance(r.get("value"), (int, float)) and not isinstance(r["value"], bool)
        ]
        if not values:
            return {}
        total = math.fsum(values)
        return {
            "min": min(values),
            "max": max(values),
            "mean": total / len(values),
            "count": len(values),
            "sum": total,
            "last": values[-1],
        }

    def to_json(self) -> str:
        """The file ``save_metrics`` writes, as text: the original's layout (``tracker_type``,
        ``start_time``, ``end_time``, ``config``, ``metrics``)."""
        return json.dumps(
            {
                "tracker_type": type(self).__name__,
                "start_time": self.start_time.isoformat(),
                "end_time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "config": self.config,
                "metrics": self.metrics,
            },
            indent=2,
            allow_nan=False,
        )

    def save_metrics(self, file_path: PathLike, format: str = "json") -> None:
        """Writes the metrics file atomically (a temporary file renamed over ``file_path``).
        Only ``format="json"`` (any case) is supported; others raise ``ValueError``."""
        _check_format(format)
        text = self.to_json()
        path = os.fspath(file_path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, temporary = tempfile.mkstemp(prefix=".perftrack-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def load_metrics(self, file_path: PathLike) -> Dict[str, Any]:
        """Replaces the records with a file's ``metrics`` and returns the whole file. A
        missing file raises ``FileNotFoundError``; a file that is not JSON, not an object, or
        whose ``metrics`` is not an object of lists, ``MetricsFileError``."""
        path = os.fspath(file_path)
        with open(path, encoding="utf-8") as source:
            text = source.read()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise MetricsFileError(f"{path}: {err.msg}", path, err.lineno, err.colno) from None
        metrics = data.get("metrics", {}) if isinstance(data, dict) else None
        if not isinstance(metrics, dict) or not all(
            isinstance(records, list) and all(isinstance(r, dict) for r in records)
            for records in metrics.values()
        ):
            raise MetricsFileError(
                f"{path}: expected an object whose `metrics` maps names to lists of records",
                path,
            )
        self.metrics = metrics
        return cast(Dict[str, Any], data)

    def __repr__(self) -> str:
        counts = {name: len(records) for name, records in self.metrics.items()}
        return f"{type(self).__name__}(metrics={counts})"


def _context_stack(tracker: BasePerformanceTracker) -> "contextvars.ContextVar[Tuple[str, ...]]":
    """One stack of ``with tracker`` sessions per context: each thread and each asyncio task
    stops the session it started, however they nest or interleave."""
    return contextvars.ContextVar(
        f"perftrack.{type(tracker).__name__}.{id(tracker):x}", default=()
    )


def _check_format(format: str) -> None:
    if not isinstance(format, str) or format.lower() != "json":
        raise ValueError(f"Unsupported format: {format}. Currently only 'json' is supported.")


class _RustTracker(BasePerformanceTracker):
    """perftrack's trackers: every method on the Rust library's tracker of ``_KIND``."""

    _KIND: str

    def __init__(
        self, config: Optional[Dict[str, Any]] = None, *, clock: Optional[ManualClock] = None
    ) -> None:
        self._native = _native.NativeTracker(self._KIND, config, clock)
        self._context = _context_stack(self)
        _TRACKERS.add(self)

    # -- configuration -------------------------------------------------------------------

    @property
    def config(self) -> Dict[str, Any]:
        """The configuration with every default filled in (a new dict each time)."""
        return cast(Dict[str, Any], self._native.config())

    @property
    def start_time(self) -> datetime.datetime:
        """When the tracker's measurements began: when it was made or last reset, or the
        start of the file it loaded (an aware UTC datetime, to the microsecond)."""
        nanos = self._native.start_time_unix_nanos()
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return epoch + datetime.timedelta(microseconds=nanos // 1000)

    @property
    def metric_name(self) -> str:
        """The name the records are kept under in ``get_metrics()`` and in files."""
        return cast(str, self.config["metric_name"])

    # -- sessions ------------------------------------------------------------------------

    def start_tracking(self, track_id: Optional[str] = None, label: Optional[str] = None) -> str:
        """Starts a session and returns its id: ``track_id`` if given (an id that is already
        active raises ``DuplicateTrackIdError``), else a new one."""
        return cast(str, self._native.start_tracking(track_id, _label(label)))

    def stop_tracking(self, track_id: str) -> Dict[str, Any]:
        """Stops a session and returns its record as a new dict. An id that is not active
        raises ``UnknownTrackIdError`` (a ``KeyError`` and a ``ValueError``)."""
        return cast(Dict[str, Any], self._native.stop_tracking(track_id))

    def get_current_value(self, track_id: Optional[str] = None) -> Any:
        """The tracker's value now; see each tracker. Nothing is recorded."""
        return self._native.current_value(track_id)

    def reset(self) -> None:
        """Discards every record, statistic and active session."""
        self._native.reset()

    def _stop(self, track_id: str, status: str) -> Optional[Dict[str, Any]]:
        return cast(Dict[str, Any], self._native.stop_tracking(track_id, status))

    def _begin(self, label: Optional[str]) -> str:
        return cast(str, self._native.start_tracking(None, label))

    def _end(self, track_id: str, exc_type: Any) -> None:
        if exc_type is None:
            self._native.finish(track_id)
            return
        try:
            self._native.finish(track_id, _status(exc_type))
        except Exception:
            pass  # the block's own exception is the one to see

    # -- records and statistics ------------------------------------------------------------

    def get_metrics(self, metric_name: Optional[str] = None) -> Dict[str, List[Dict[str, Any]]]:
        """The retained records, oldest first, under the metric name: ``{metric_name:
        [record, ...]}`` (new objects; changing them changes nothing in the tracker). With
        another ``metric_name``, ``{metric_name: []}``."""
        name = self.metric_name
        if metric_name is not None and metric_name != name:
            return {metric_name: []}
        return {name: cast(List[Dict[str, Any]], self._native.records())}

    @property
    def metrics(self) -> Dict[str, List[Dict[str, Any]]]:
        """``get_metrics()``: the records by metric name."""
        return self.get_metrics()

    def calculate_statistics(self, metric_name: Optional[str] = None) -> Dict[str, Any]:
        """Statistics of every measurement (``{}`` when there are none, or for another
        metric name)."""
        if metric_name is not None and metric_name != self.metric_name:
            return {}
        return cast(Dict[str, Any], self._native.statistics(None) or {})

    # -- files ---------------------------------------------------------------------------

    def save_metrics(self, file_path: PathLike, format: str = "json") -> None:
        """Writes the metrics file atomically (a temporary file renamed over ``file_path``).
        Only ``format="json"`` (any case) is supported; others raise ``ValueError``."""
        _check_format(format)
        self._native.save_metrics(os.fspath(file_path))

    def load_metrics(self, file_path: PathLike) -> Dict[str, Any]:
        """Replaces the tracker's measurements with a metrics file's (perftrack's, or the
        original Python trackers') and returns the file as a dict (``version``,
        ``tracker_type``, ``start_time``, ``end_time``, ``config``, ``metrics``,
        ``dropped_records``). A missing file raises ``FileNotFoundError``; a bad one
        ``MetricsFileError`` (a ``ValueError``) with ``.path``, ``.line`` and ``.column``."""
        return cast(Dict[str, Any], self._native.load_metrics(os.fspath(file_path)))

    def merge_metrics(self, file_path: PathLike) -> Dict[str, Any]:
        """Adds a metrics file's measurements to the tracker's own (statistics merge, records
        are appended) and returns the file as ``load_metrics`` does."""
        return cast(Dict[str, Any], self._native.merge_metrics(os.fspath(file_path)))

    def to_json(self) -> str:
        """The metrics file ``save_metrics`` would write, as text."""
        return cast(str, self._native.metrics_json())

    def __repr__(self) -> str:
        name = self.metric_name
        return f"{type(self).__name__}(metrics={{{name!r}: {len(self._native.records())}}})"


class LatencyTracker(_RustTracker):
    """How long operations take. Configuration: ``metric_name`` (``"latency"``),
    ``time_unit`` (``"s"``, ``"ms"`` (default), ``"us"`` or ``"ns"``), ``include_timestamps``
    (``True``), and the Rust library's ``max_records``, ``exact_limit``, ``max_labels``,
    ``max_sessions``."""

    _KIND = "latency"

    def get_current_value(self, track_id: Optional[str] = None) -> float:
        """The time elapsed so far in a session (the latest one without an id), in the unit."""
        return cast(float, self._native.current_value(track_id))

    def get_latency_statistics(self, label: Optional[str] = None) -> Dict[str, Any]:
        """``min``, ``max``, ``mean``, ``median``, ``count``, ``sum``, ``last``, ``unit`` and
        more (``stddev``, percentiles, ``failed``) of one label, or of every measurement; ``{}``
        when there are none."""
        return cast(Dict[str, Any], self._native.statistics(_label(label)) or {})

    def get_latency_by_label(self) -> Dict[str, Dict[str, Any]]:
        """``get_latency_statistics`` of every label, sorted by label."""
        return cast(Dict[str, Dict[str, Any]], self._native.statistics_by_label())

    def track_function(self, func: Callable[..., Any], *args: Any, label: Optional[str] = None,
                       **kwargs: Any) -> Any:
        """Calls ``func(*args, **kwargs)`` as one session and returns its result (an exception
        is recorded as failed and propagates). ``label`` is the tracker's keyword, never
        passed on."""
        with self.track(label):
            return func(*args, **kwargs)


class ThroughputTracker(_RustTracker):
    """How many events happen per unit of time. Configuration: ``metric_name``
    (``"throughput"``), ``time_unit`` (``"s"`` (default), ``"m"`` or ``"h"``),
    ``window_size`` (seconds, 60), ``include_timestamps`` (``True``), and the Rust library's
    limits."""

    _KIND = "throughput"

    def record_event(self, track_id: str, count: int = 1) -> Dict[str, Any]:
        """Adds ``count`` (an int, at least 0) events to a session and returns the session so
        far as a new dict: ``start_time`` (seconds since the epoch), ``label`` and ``count``."""
        return cast(Dict[str, Any], self._native.record_event(track_id, _count(count)))

    def get_current_value(
        self, track_id: Optional[str] = None, label: Optional[str] = None
    ) -> Optional[float]:
        """The rate over the sliding window: of a session, else of a label (``None`` when it
        has no events), else of the latest session."""
        if track_id is None and label:
            return cast(Optional[float], self._native.current_rate(label))
        return cast(Optional[float], self._native.current_value(track_id))

    def start_batch(self, label: Optional[str] = None) -> str:
        """``start_tracking(label=label)``."""
        return self.start_tracking(label=label)

    def record_batch(self, track_id: str, count: int) -> Dict[str, Any]:
        """``record_event(track_id, count)``."""
        return self.record_event(track_id, count)

    def stop_batch(self, track_id: str) -> Dict[str, Any]:
        """``stop_tracking(track_id)``."""
        return self.stop_tracking(track_id)

    def get_throughput_statistics(self, label: Optional[str] = None) -> Dict[str, Any]:
        """Statistics of the session rates of one label, or of all; ``{}`` when none."""
        return cast(Dict[str, Any], self._native.statistics(_label(label)) or {})

    def get_throughput_by_label(self) -> Dict[str, Dict[str, Any]]:
        """``get_throughput_statistics`` of every label, sorted by label."""
        return cast(Dict[str, Dict[str, Any]], self._native.statistics_by_label())

    def track_function_throughput(
        self,
        func: Callable[..., Any],
        *args: Any,
        label: Optional[str] = None,
        count_func: Optional[Callable[[Any], int]] = None,
        **kwargs: Any,
    ) -> Tuple[Any, Dict[str, Any]]:
        """Calls ``func(*args, **kwargs)`` in a session, records ``count_func(result)`` events
        (1 without it) and returns ``(result, record)``. ``label`` and ``count_func`` are the
        tracker's keywords, never passed on. An exception (in ``func`` or ``count_func``) is
        recorded as a failed session and propagates."""
        track_id = self.start_tracking(label=label)
        try:
            result = func(*args, **kwargs)
            self.record_event(track_id, count_func(result) if count_func else 1)
        except BaseException as err:
            _stop_on_exit(self, track_id, type(err))
            raise
        return result, self.stop_tracking(track_id)


class _SampledTracker(_RustTracker):
    """What the memory and CPU trackers share: samples on demand and so far, and a function
    called in a session sampled at its own interval."""

    def record_sample(self, track_id: str) -> Dict[str, Any]:
        """Takes a sample of a session now and returns it."""
        return cast(Dict[str, Any], self._native.record_sample(track_id))

    def get_samples(self, track_id: str) -> List[Dict[str, Any]]:
        """The samples an active session holds so far, background ones included, oldest
        first (new dicts); nothing is read."""
        return cast(List[Dict[str, Any]], self._native.samples(track_id))

    def _track_function(
        self,
        func: Callable[..., Any],
        args: Tuple[Any, ...],
        kwargs: Dict[str, Any],
        label: Optional[str],
        sampling_interval: Optional[float],
    ) -> Tuple[Any, Dict[str, Any]]:
        return cast(
            Tuple[Any, Dict[str, Any]],
            self._native.track_function(label or "", sampling_interval, func, args, kwargs),
        )


class MemoryUsageTracker(_SampledTracker):
    """Memory of the process, the system and (with ``track_gpu``) the GPU, sampled in the
    background every ``sampling_interval`` seconds. Configuration: ``metric_name``
    (``"memory_usage"``), ``unit`` (``"B"``, ``"KB"``, ``"MB"`` (default), ``"GB"``, and the
    binary ``"KiB"``...), ``track_gpu``, ``gpu_device``, ``track_peak``, ``sampling_interval``
    (1.0), ``include_timestamps``, and the Rust library's limits."""

    _KIND = "memory"

    def get_current_value(self, track_id: Optional[str] = None) -> Dict[str, Any]:
        """A reading now (without an id), or a session's change since its start."""
        return cast(Dict[str, Any], self._native.current_value(track_id))

    def get_memory_statistics(self, label: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
        """Per reading (``process_rss``...): ``min``, ``max``, ``mean``, ``last``, ``unit``,
        ``peak_max``, ``change_*`` and more; ``{}`` when there are no records."""
        return cast(Dict[str, Dict[str, Any]], self._native.statistics(_label(label)) or {})

    def get_memory_by_label(self) -> Dict[str, Dict[str, Dict[str, Any]]]:
        """``get_memory_statistics`` of every label, sorted by label."""
        return cast(Dict[str, Dict[str, Dict[str, Any]]], self._native.statistics_by_label())

    def track_function_memory(
        self,
        func: Callable[..., Any],
        *args: Any,
        label: Optional[str] = None,
        sampling_interval: Optional[float] = None,
        **kwargs: Any,
    ) -> Tuple[Any, Dict[str, Any]]:
        """Calls ``func(*args, **kwargs)`` in a session sampled every ``sampling_interval``
        seconds (the configured interval by default) and returns ``(result, record)``.
        ``label`` and ``sampling_interval`` are the tracker's keywords, never passed on. An
        exception is recorded as a failed session and propagates."""
        return self._track_function(func, args, kwargs, label, sampling_interval)


class CPUUsageTracker(_SampledTracker):
    """CPU use of the process (100 = one core), the system and each core, sampled in the
    background. Configuration: ``metric_name`` (``"cpu_usage"``), ``track_per_core``,
    ``track_process``, ``track_system``, ``sampling_interval`` (0.5), ``include_timestamps``,
    and the Rust library's limits."""

    _KIND = "cpu"

    def get_current_value(self, track_id: Optional[str] = None) -> Dict[str, Any]:
        """Usage since the tracker's previous reading (without an id), or a session's so far."""
        return cast(Dict[str, Any], self._native.current_value(track_id))

    def get_cpu_statistics(self, label: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
        """Per reading (``process``, ``system``, ``core_0``...): ``min``, ``max``, ``mean``,
        ``last``, ``peak`` and more; ``{}`` when there are no records."""
        return cast(Dict[str, Dict[str, Any]], self._native.statistics(_label(label)) or {})

    def get_cpu_by_label(self) -> Dict[str, Dict[str, Dict[str, Any]]]:
        """``get_cpu_statistics`` of every label, sorted by label."""
        return cast(Dict[str, Dict[str, Dict[str, Any]]], self._native.statistics_by_label())

    def track_function_cpu(
        self,
        func: Callable[..., Any],
        *args: Any,
        label: Optional[str] = None,
        sampling_interval: Optional[float] = None,
        **kwargs: Any,
    ) -> Tuple[Any, Dict[str, Any]]:
        """As ``MemoryUsageTracker.track_function_memory``, for CPU."""
        return self._track_function(func, args, kwargs, label, sampling_interval)


class GenerationRequest:
    """One LLM request in flight, from ``GenerationTracker.track(label)``: started when it is
    made (when the request is sent), each ``tokens(n)`` a chunk of the response arriving now.
    ``with tracker.track("answer") as request:`` stops it at the end of the block (failed on an
    exception, cancelled when an asyncio task is cancelled); ``record`` then holds its record.
    A request dropped before it stops is recorded as cancelled."""

    __slots__ = ("_native", "record")

    def __init__(self, native: "_native.NativeRequest") -> None:
        self._native = native
        self.record: Optional[Dict[str, Any]] = None

    def tokens(self, n: int = 1) -> None:
        """A chunk of ``n`` output tokens arriving now; the first with ``n > 0`` is the first
        token. ``tokens(0)`` (a chunk without tokens, such as a role header) is ignored."""
        self._native.tokens(_count(n))

    def input_tokens(self, n: int) -> None:
        """Sets the prompt's size in tokens."""
        self._native.input_tokens(_count(n))

    @property
    def output_tokens(self) -> int:
        """Output tokens so far."""
        return cast(int, self._native.output_tokens)

    @property
    def active(self) -> bool:
        """Whether the request has not stopped yet."""
        return cast(bool, self._native.active)

    def stop(self, status: str = "ok") -> Dict[str, Any]:
        """Stops the request with ``status`` (``"ok"``, ``"failed"`` or ``"cancelled"``) and
        returns its record (``ttft``, ``e2e``, ``tpot``, ``itl``, token counts and rates, in
        the tracker's time unit). A second ``stop`` raises ``RuntimeError``."""
        self.record = cast(Dict[str, Any], self._native.stop(status))
        return self.record

    def __enter__(self) -> "GenerationRequest":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._native.active:
            try:
                self.stop(_status(exc_type))
            except Exception:
                if exc_type is None:
                    raise

    async def __aenter__(self) -> "GenerationRequest":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


def _tokens_of(count: Optional[Callable[[Any], int]]) -> Callable[[Any], int]:
    if count is None:
        return lambda item: 1
    return count


def _stream(
    request: GenerationRequest, items: Iterator[T], count: Callable[[Any], int]
) -> Iterator[T]:
    tokens = request._native.tokens
    try:
        for item in items:
            tokens(count(item))
            yield item
    except BaseException as err:
        request.stop(_status(type(err)))
        raise
    request.stop("ok")


async def _astream(
    request: GenerationRequest, items: AsyncIterator[T], count: Callable[[Any], int]
) -> AsyncIterator[T]:
    tokens = request._native.tokens
    try:
        async for item in items:
            tokens(count(item))
            yield item
    except BaseException as err:
        request.stop(_status(type(err)))
        raise
    request.stop("ok")


class GenerationTracker(_RustTracker):
    """LLM generation: time to first token (``ttft``), time per output token after it
    (``tpot``), the gaps between streamed chunks (``itl``), end-to-end latency (``e2e``),
    token counts and rates, and service-level objectives. Configuration: ``metric_name``
    (``"generation"``), ``time_unit`` (``"ms"``), ``slo`` (``{"ttft": ..., "tpot": ...,
    "e2e": ...}`` in the unit), ``include_timestamps``, and the Rust library's limits."""

    _KIND = "generation"

    def track(self, label: Optional[str] = None) -> GenerationRequest:  # type: ignore[override]
        """Starts a request under ``label`` now and returns it:
        ``with tracker.track("answer") as request: ... request.tokens(n)``."""
        return GenerationRequest(self._native.request(label or ""))

    def tokens(self, track_id: str, n: int = 1) -> None:
        """A chunk of ``n`` output tokens arriving now for a request started by id."""
        self._native.tokens(track_id, _count(n))

    def input_tokens(self, track_id: str, n: int) -> None:
        """Sets the prompt's size of a request started by id."""
        self._native.input_tokens(track_id, _count(n))

    def get_current_value(self, track_id: Optional[str] = None) -> float:
        """The time a request (the latest one without an id) has run so far, in the unit."""
        return cast(float, self._native.current_value(track_id))

    @overload
    def track_stream(
        self,
        stream: AsyncIterable[T],
        label: Optional[str] = None,
        count: Optional[Callable[[T], int]] = None,
    ) -> AsyncIterator[T]: ...

    @overload
    def track_stream(
        self,
        stream: Iterable[T],
        label: Optional[str] = None,
        count: Optional[Callable[[T], int]] = None,
    ) -> Iterator[T]: ...

    def track_stream(
        self,
        stream: Union[Iterable[T], AsyncIterable[T]],
        label: Optional[str] = None,
        count: Optional[Callable[[T], int]] = None,
    ) -> Union[Iterator[T], AsyncIterator[T]]:
        """Times a streamed response as one request, yielding its items unchanged: an
        iterable gives an iterator, an async iterable (an LLM client's async stream) an async
        iterator. The request starts now; each item is a chunk of ``count(item)`` output
        tokens (1 without ``count``); it stops when the stream ends, as failed if the stream
        (or ``count``) raises, and as cancelled if the reader stops early (``break``, a
        cancelled task)."""
        request = self.track(label)
        tokens = _tokens_of(count)
        if hasattr(stream, "__aiter__"):
            return _astream(request, cast(AsyncIterable[T], stream).__aiter__(), tokens)
        return _stream(request, iter(cast(Iterable[T], stream)), tokens)

    def get_generation_statistics(self, label: Optional[str] = None) -> Dict[str, Any]:
        """Per figure (``ttft``, ``tpot``, ``itl``, ``e2e``, ``output_tokens_per_second``...):
        ``min``, ``max``, ``mean``, percentiles and more, with the request counts, goodput
        and SLO attainment; ``{}`` when there are no requests."""
        return cast(Dict[str, Any], self._native.statistics(_label(label)) or {})

    def get_generation_by_label(self) -> Dict[str, Dict[str, Any]]:
        """``get_generation_statistics`` of every label, sorted by label."""
        return cast(Dict[str, Dict[str, Any]], self._native.statistics_by_label())


_CLASSES = {
    "latency": LatencyTracker,
    "throughput": ThroughputTracker,
    "memory": MemoryUsageTracker,
    "cpu": CPUUsageTracker,
    "generation": GenerationTracker,
}


def get_performance_tracker(
    tracker_type: str, config: Optional[Dict[str, Any]] = None
) -> BasePerformanceTracker:
    """A tracker by type name: ``"latency"``, ``"throughput"``, ``"memory"`` or ``"cpu"`` (any
    case; also ``"memory_usage"``, ``"cpu_usage"`` and the class names). An unknown type
    raises ``ValueError``."""
    if not isinstance(tracker_type, str):
        raise TypeError(f"tracker_type must be a str, not {type(tracker_type).__name__}")
    kind = _native.tracker_kind(tracker_type)
    if kind not in _CLASSES:
        raise ValueError(f"Unsupported performance tracker type: {tracker_type!r}")
    return _CLASSES[kind](config)


