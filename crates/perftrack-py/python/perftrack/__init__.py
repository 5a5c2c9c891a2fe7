"""perftrack: latency, throughput, memory and CPU trackers for RAG pipelines.

The Python performance trackers' API (``LatencyTracker``, ``ThroughputTracker``,
``MemoryUsageTracker``, ``CPUUsageTracker``, ``get_performance_tracker``) on perftrack's Rust
core: monotonic clocks, bounded memory, streaming statistics with percentiles, real background
sampling, and metrics files the Rust library and the ``perftrack`` command read.

>>> from perftrack import LatencyTracker
>>> tracker = LatencyTracker({"time_unit": "ms"})
>>> with tracker as track_id:
...     pass
>>> tracker.get_latency_statistics()["count"]
1
"""

from ._errors import (
    DuplicateTrackIdError,
    InvalidConfigError,
    MetricsFileError,
    NoActiveSessionError,
    UnknownTrackIdError,
)
from ._native import ManualClock, __version__
from ._trackers import (
    BasePerformanceTracker,
    CPUUsageTracker,
    GenerationRequest,
    GenerationTracker,
    LatencyTracker,
    MemoryUsageTracker,
    ThroughputTracker,
    get_performance_tracker,
)

__all__ = [
    "BasePerformanceTracker",
    "CPUUsageTracker",
    "DuplicateTrackIdError",
    "GenerationRequest",
    "GenerationTracker",
    "InvalidConfigError",
    "LatencyTracker",
    "ManualClock",
    "MemoryUsageTracker",
    "MetricsFileError",
    "NoActiveSessionError",
    "ThroughputTracker",
    "UnknownTrackIdError",
    "__version__",
    "get_performance_tracker",
]
