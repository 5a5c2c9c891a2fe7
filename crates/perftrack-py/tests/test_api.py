"""The package's surface: names, version, factory, abstract base, errors' classes."""

import re

import pytest

import perftrack
from conftest import REPO
from perftrack import (
    BasePerformanceTracker,
    CPUUsageTracker,
    LatencyTracker,
    MemoryUsageTracker,
    ThroughputTracker,
    get_performance_tracker,
)


def test_version_is_the_crates() -> None:
    manifest = (REPO / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', manifest, re.MULTILINE)
    assert version is not None
    assert perftrack.__version__ == version.group(1)


def test_the_originals_six_names() -> None:
    for name in ("BasePerformanceTracker", "LatencyTracker", "ThroughputTracker",
                 "MemoryUsageTracker", "CPUUsageTracker", "get_performance_tracker"):
        assert name in perftrack.__all__


def test_the_factory() -> None:
    for name, cls in (("latency", LatencyTracker), ("Throughput", ThroughputTracker),
                      ("MEMORY", MemoryUsageTracker), ("cpu", CPUUsageTracker),
                      ("memory_usage", MemoryUsageTracker)):
        tracker = get_performance_tracker(name)
        assert type(tracker) is cls and isinstance(tracker, BasePerformanceTracker)
    assert get_performance_tracker("latency", {"time_unit": "us"}).config["time_unit"] == "us"
    with pytest.raises(ValueError, match="invalid_type"):
        get_performance_tracker("invalid_type")
    with pytest.raises(TypeError):
        get_performance_tracker(3)  # type: ignore[arg-type]
    with pytest.raises(perftrack.InvalidConfigError):
        get_performance_tracker("cpu", {"sampling_interval": "fast"})


def test_the_base_is_abstract() -> None:
    with pytest.raises(TypeError):
        BasePerformanceTracker()


def test_unknown_ids_are_key_and_value_errors() -> None:
    assert issubclass(perftrack.UnknownTrackIdError, KeyError)
    assert issubclass(perftrack.UnknownTrackIdError, ValueError)
    for tracker in (LatencyTracker(), ThroughputTracker(), MemoryUsageTracker(), CPUUsageTracker()):
        with pytest.raises(KeyError):
            tracker.stop_tracking("missing")
        with pytest.raises(ValueError):
            tracker.stop_tracking("missing")


def test_the_benchmark_script_runs() -> None:
    """crates/perftrack-py/benches/bench.py, in its quick form: every row is measured."""
    import subprocess
    import sys

    script = REPO / "crates" / "perftrack-py" / "benches" / "bench.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for row in ("perf_counter() pair", "with tracker:", "decorated no-op call",
                "start_tracking + stop_tracking", "record_event", "track_stream"):
        assert row in done.stdout


def test_start_time_is_the_trackers_and_a_reset_renews_it() -> None:
    """The original's `start_time` attribute: when the tracker was made, renewed by reset."""
    import datetime

    before = datetime.datetime.now(datetime.timezone.utc)
    made = LatencyTracker().start_time
    after = datetime.datetime.now(datetime.timezone.utc)
    assert before - datetime.timedelta(microseconds=1) <= made <= after

    clock = perftrack.ManualClock()
    tracker = LatencyTracker(clock=clock)
    start = tracker.start_time
    clock.advance(5.25)
    tracker.reset()
    assert tracker.start_time - start == datetime.timedelta(seconds=5.25)
