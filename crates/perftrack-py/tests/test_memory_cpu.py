"""MemoryUsageTracker and CPUUsageTracker: sessions, samples, statistics, track_function_*."""

import time

import pytest

from perftrack import CPUUsageTracker, MemoryUsageTracker, UnknownTrackIdError

MB = 1024 * 1024


def test_a_200_mb_bytearray_shows_in_the_peak() -> None:
    tracker = MemoryUsageTracker({"unit": "MB", "sampling_interval": 0.05, "track_gpu": False})
    before = tracker.get_current_value()["process_rss"]

    def allocate() -> int:
        buffer = bytearray(200 * MB)  # zero-filled, so every page is touched
        time.sleep(0.2)
        return len(buffer)

    result, record = tracker.track_function_memory(allocate, label="load", sampling_interval=0.05)
    assert result == 200 * MB
    assert record["unit"] == "MB" and record["label"] == "load"
    assert record["peak"]["process_rss"] - before >= 190
    assert len(record["samples"]) >= 2
    stats = tracker.get_memory_statistics()
    assert stats["process_rss"]["peak_max"] >= before + 190


def test_memory_sessions_and_samples() -> None:
    tracker = MemoryUsageTracker({"unit": "KB", "track_gpu": False})
    track_id = tracker.start_tracking(label="allocation")
    sample = tracker.record_sample(track_id)
    assert "timestamp" in sample and sample["memory"]["process_rss"] > 0
    change = tracker.get_current_value(track_id)
    assert "process_rss" in change
    record = tracker.stop_tracking(track_id)
    for key in ("track_id", "value", "initial", "change", "peak", "timestamp", "unit", "label"):
        assert key in record
    assert record["value"]["process_rss"] > 0
    with pytest.raises(UnknownTrackIdError):
        tracker.record_sample(track_id)
    assert set(tracker.get_memory_by_label()) == {"allocation"}
    assert tracker.get_memory_statistics(label="nothing") == {}


def test_memory_exception_is_recorded_as_failed_and_reraised() -> None:
    tracker = MemoryUsageTracker({"track_gpu": False})
    with pytest.raises(KeyError):
        tracker.track_function_memory(lambda: {}["missing"], label="broken")
    record = tracker.get_metrics()["memory_usage"][-1]
    assert record["status"] == "failed" and record["label"] == "broken"
    with pytest.raises(ValueError):
        tracker.track_function_memory(lambda: None, sampling_interval=-1)


def test_cpu_sessions() -> None:
    tracker = CPUUsageTracker({"sampling_interval": 0.05})
    track_id = tracker.start_tracking(label="cpu_intensive")
    deadline = time.perf_counter() + 0.2
    while time.perf_counter() < deadline:
        pass
    sample = tracker.record_sample(track_id)
    assert "cpu" in sample or "timestamp" in sample
    record = tracker.stop_tracking(track_id)
    assert {"process", "system", "cores"} <= set(record["value"])
    assert record["value"]["process"] > 0 and record["duration"] >= 0.2
    assert "peak" in record and record["unit"] == "percent"
    stats = tracker.get_cpu_statistics()
    assert stats["process"]["count"] == 1
    assert set(tracker.get_cpu_by_label()) == {"cpu_intensive"}


def test_track_function_cpu_passes_arguments() -> None:
    tracker = CPUUsageTracker()

    def task(iterations: int, *, modulo: int = 7) -> int:
        total = 0
        for i in range(iterations):
            total = (total + i) % modulo
        return total

    result, record = tracker.track_function_cpu(
        task, 200_000, modulo=11, label="function_cpu", sampling_interval=0.05
    )
    assert result == task(200_000, modulo=11)
    assert record["label"] == "function_cpu" and record["status"] == "ok"
    with pytest.raises(ZeroDivisionError):
        tracker.track_function_cpu(lambda: 1 / 0)
    assert tracker.get_metrics()["cpu_usage"][-1]["status"] == "failed"
