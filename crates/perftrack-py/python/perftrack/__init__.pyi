from ._errors import DuplicateTrackIdError as DuplicateTrackIdError, InvalidConfigError as InvalidConfigError, MetricsFileError as MetricsFileError, NoActiveSessionError as NoActiveSessionError, UnknownTrackIdError as UnknownTrackIdError
from ._native import __version__ as __version__
from ._trackers import BasePerformanceTracker as BasePerformanceTracker, CPUUsageTracker as CPUUsageTracker, LatencyTracker as LatencyTracker, MemoryUsageTracker as MemoryUsageTracker, ThroughputTracker as ThroughputTracker, get_performance_tracker as get_performance_tracker

__all__ = ['BasePerformanceTracker', 'CPUUsageTracker', 'DuplicateTrackIdError', 'InvalidConfigError', 'LatencyTracker', 'MemoryUsageTracker', 'MetricsFileError', 'NoActiveSessionError', 'ThroughputTracker', 'UnknownTrackIdError', '__version__', 'get_performance_tracker']
