"""ThroughputTracker: events, batches, rates, statistics, track_function_throughput."""

import statistics
import time

import pytest

from perftrack import ThroughputTracker, UnknownTrackIdError


def test_record_event_and_stop() -> None:
    tracker = ThroughputTracker({"time_unit": "s", "window_size": 10})
    track_id = tracker.start_tracking(label="embedding")
    for size in (10, 20, 30):
        tracker.record_event(track_id, size)
    tracker.record_event(track_id)
    time.sleep(0.05)
    record = tracker.stop_tracking(track_id)
    assert record["count"] == 61 and record["unit"] == "events/s"
    assert record["label"] == "embedding"
    assert record["value"] == pytest.approx(61 / record["duration"], rel=1e-9)
    assert 0.05 <= record["duration"] < 5


def test_record_event_returns_the_session_so_far() -> None:
    tracker = ThroughputTracker()
    before = time.time()
    track_id = tracker.start_tracking(label="embedding")
    first = tracker.record_event(track_id, 4)
    second = tracker.record_batch(track_id, 6)
    assert first["count"] == 4 and second["count"] == 10
    assert second["label"] == "embedding"
    assert before - 0.01 <= second["start_time"] <= time.time()
    assert first["start_time"] == second["start_time"]
    # A copy: changing it changes nothing in the tracker.
    second["count"] = 0
    assert tracker.record_event(track_id, 0)["count"] == 10
    assert tracker.stop_tracking(track_id)["count"] == 10
    unlabelled = tracker.start_tracking()
    assert tracker.record_event(unlabelled)["label"] is None


def test_per_minute_is_computed_per_minute() -> None:
    tracker = ThroughputTracker({"time_unit": "m"})
    track_id = tracker.start_tracking()
    tracker.record_event(track_id, 6)
    time.sleep(0.02)
    record = tracker.stop_tracking(track_id)
    assert record["unit"] == "events/m"
    assert record["value"] == pytest.approx(6 / record["duration"] * 60, rel=1e-9)


def test_sessions_never_share_counts() -> None:
    tracker = ThroughputTracker()
    first = tracker.start_tracking()
    tracker.record_event(first, 5)
    second = tracker.start_tracking()
    tracker.record_event(second, 1)
    assert tracker.stop_tracking(first)["count"] == 5
    assert tracker.stop_tracking(second)["count"] == 1


def test_batches() -> None:
    tracker = ThroughputTracker()
    batch_id = tracker.start_batch(label="documents")
    for batch in ([1, 2, 3], [4, 5]):
        tracker.record_batch(batch_id, len(batch))
    assert tracker.stop_batch(batch_id)["count"] == 5


def test_bad_counts_and_ids() -> None:
    tracker = ThroughputTracker()
    track_id = tracker.start_tracking()
    with pytest.raises(ValueError):
        tracker.record_event(track_id, -1)
    with pytest.raises(TypeError):
        tracker.record_event(track_id, 1.5)  # type: ignore[arg-type]
    with pytest.raises(UnknownTrackIdError):
        tracker.record_event("missing", 1)
    with pytest.raises(UnknownTrackIdError):
        tracker.stop_batch("missing")


def test_current_value() -> None:
    tracker = ThroughputTracker({"window_size": 10})
    with pytest.raises(ValueError):
        tracker.get_current_value()
    track_id = tracker.start_tracking(label="queries")
    tracker.record_event(track_id, 100)
    rate = tracker.get_current_value(track_id)
    assert rate is not None and rate > 0
    assert tracker.get_current_value(label="queries") is not None
    assert tracker.get_current_value(label="nothing") is None
    assert tracker.get_current_value() is not None


def test_statistics_match_the_statistics_module() -> None:
    tracker = ThroughputTracker()
    for i in range(1, 12):
        track_id = tracker.start_tracking(label="a" if i % 3 else "b")
        tracker.record_event(track_id, i * 7)
        time.sleep(0.001)
        tracker.stop_tracking(track_id)
    records = tracker.get_metrics()["throughput"]
    for label in (None, "a", "b"):
        values = [r["value"] for r in records if label is None or r["label"] == label]
        stats = tracker.get_throughput_statistics(label)
        assert stats["count"] == len(values)
        assert stats["min"] == pytest.approx(min(values), rel=1e-12)
        assert stats["max"] == pytest.approx(max(values), rel=1e-12)
        assert stats["mean"] == pytest.approx(statistics.mean(values), rel=1e-12)
        assert stats["median"] == pytest.approx(statistics.median(values), rel=1e-12)
        assert stats["unit"] == "events/s"
    assert list(tracker.get_throughput_by_label()) == ["a", "b"]


def test_track_function_throughput() -> None:
    tracker = ThroughputTracker()
    result, record = tracker.track_function_throughput(
        lambda texts, scale=1: [t * scale for t in texts], ["a", "b"], scale=2,
        label="embed", count_func=len,
    )
    assert result == ["aa", "bb"] and record["count"] == 2 and record["label"] == "embed"
    _, record = tracker.track_function_throughput(lambda: None)
    assert record["count"] == 1
    with pytest.raises(ZeroDivisionError):
        tracker.track_function_throughput(lambda: 1 / 0, label="broken")
    assert tracker.get_metrics()["throughput"][-1]["status"] == "failed"
