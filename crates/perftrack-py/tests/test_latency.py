"""LatencyTracker: sessions, records, statistics against `statistics`, decorator, errors."""

import statistics
import time

import pytest

import perftrack
from perftrack import LatencyTracker, UnknownTrackIdError


def values_of(tracker: LatencyTracker, label=None):
    records = tracker.get_metrics()["latency"]
    return [r["value"] for r in records if label is None or r.get("label") == label]


def test_start_stop_returns_the_original_record_keys() -> None:
    tracker = LatencyTracker({"time_unit": "ms"})
    track_id = tracker.start_tracking(label="retrieval")
    assert isinstance(track_id, str) and len(track_id) == 36
    time.sleep(0.01)
    record = tracker.stop_tracking(track_id)
    for key in ("track_id", "value", "timestamp", "unit", "label", "start_time", "end_time"):
        assert key in record
    assert record["track_id"] == track_id and record["unit"] == "ms"
    assert record["label"] == "retrieval" and record["status"] == "ok"
    assert 9.0 <= record["value"] < 1000.0


def test_caller_chosen_ids_and_duplicates() -> None:
    tracker = LatencyTracker()
    assert tracker.start_tracking(track_id="q1", label="x") == "q1"
    with pytest.raises(perftrack.DuplicateTrackIdError):
        tracker.start_tracking(track_id="q1")
    assert tracker.stop_tracking("q1")["track_id"] == "q1"
    with pytest.raises(UnknownTrackIdError) as caught:
        tracker.stop_tracking("q1")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
    assert caught.value.track_id == "q1"


def test_empty_label_means_no_label() -> None:
    tracker = LatencyTracker()
    record = tracker.stop_tracking(tracker.start_tracking(label=""))
    assert "label" not in record
    assert tracker.get_latency_by_label() == {}


def test_include_timestamps_off() -> None:
    tracker = LatencyTracker({"include_timestamps": False})
    record = tracker.stop_tracking(tracker.start_tracking())
    assert "start_time" not in record and "end_time" not in record and "timestamp" in record


def test_get_current_value() -> None:
    tracker = LatencyTracker({"time_unit": "s"})
    with pytest.raises(ValueError):
        tracker.get_current_value()
    first = tracker.start_tracking()
    time.sleep(0.02)
    assert 0.02 <= tracker.get_current_value(first) < 5
    assert 0.0 <= tracker.get_current_value() < 5
    with pytest.raises(UnknownTrackIdError):
        tracker.get_current_value("missing")
    assert tracker.get_metrics() == {"latency": []}


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_units(unit: str) -> None:
    tracker = LatencyTracker({"time_unit": unit})
    track_id = tracker.start_tracking()
    time.sleep(0.005)
    record = tracker.stop_tracking(track_id)
    scale = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
    assert record["unit"] == unit
    assert 0.005 * scale <= record["value"] < 5 * scale


def test_statistics_match_the_statistics_module() -> None:
    tracker = LatencyTracker({"time_unit": "us"})
    for i in range(101):
        label = "even" if i % 2 == 0 else "odd"
        track_id = tracker.start_tracking(label=label)
        for _ in range(i * 50):
            pass
        tracker.stop_tracking(track_id)
    for label in (None, "even", "odd"):
        values = values_of(tracker, label)
        stats = tracker.get_latency_statistics(label=label)
        assert stats["count"] == len(values)
        # Values are kept in nanoseconds and scaled on read: equal to the last bits.
        assert stats["min"] == pytest.approx(min(values), rel=1e-12)
        assert stats["max"] == pytest.approx(max(values), rel=1e-12)
        assert stats["last"] == pytest.approx(values[-1], rel=1e-12)
        assert stats["sum"] == pytest.approx(sum(values), rel=1e-12)
        assert stats["mean"] == pytest.approx(statistics.mean(values), rel=1e-12)
        assert stats["median"] == pytest.approx(statistics.median(values), rel=1e-12)
        assert stats["stddev"] == pytest.approx(statistics.pstdev(values), rel=1e-9)
        q = statistics.quantiles(values, n=100, method="inclusive")
        for p in (50, 90, 95, 99):
            assert stats[f"p{p}"] == pytest.approx(q[p - 1], rel=1e-12)
        assert stats["unit"] == "us"
    by_label = tracker.get_latency_by_label()
    assert list(by_label) == ["even", "odd"]
    assert by_label["odd"] == tracker.get_latency_statistics(label="odd")
    assert tracker.get_latency_statistics(label="missing") == {}
    assert tracker.calculate_statistics("latency")["count"] == 101


def test_even_count_median_is_the_average_of_the_middle_two() -> None:
    tracker = LatencyTracker()
    for _ in range(4):
        tracker.stop_tracking(tracker.start_tracking())
    values = sorted(values_of(tracker))
    assert tracker.get_latency_statistics()["median"] == pytest.approx((values[1] + values[2]) / 2)


def test_decorator_keeps_the_function_and_passes_every_argument() -> None:
    tracker = LatencyTracker()

    @tracker
    def retrieve(query, *, label=None, top_k=3):
        """Retrieves."""
        return (query, label, top_k)

    assert retrieve("q", label="mine", top_k=5) == ("q", "mine", 5)
    assert retrieve.__name__ == "retrieve" and retrieve.__doc__ == "Retrieves."
    assert tracker.get_metrics()["latency"][0]["label"] == "retrieve"


def test_decorated_exception_is_recorded_as_failed_and_reraised() -> None:
    tracker = LatencyTracker()

    @tracker
    def broken():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        broken()
    record = tracker.get_metrics()["latency"][-1]
    assert record["status"] == "failed" and record["label"] == "broken"
    assert tracker.get_latency_statistics()["failed"] == 1


def test_track_function() -> None:
    tracker = LatencyTracker()
    assert tracker.track_function(lambda a, b=0: a + b, 1, b=2, label="add") == 3
    assert tracker.get_metrics()["latency"][0]["label"] == "add"
    with pytest.raises(ZeroDivisionError):
        tracker.track_function(lambda: 1 / 0, label="div")
    assert tracker.get_metrics()["latency"][1]["status"] == "failed"


def test_reset_and_get_metrics_are_copies() -> None:
    tracker = LatencyTracker({"metric_name": "retrieval_latency"})
    tracker.stop_tracking(tracker.start_tracking())
    metrics = tracker.get_metrics()
    metrics["retrieval_latency"].clear()
    assert len(tracker.get_metrics()["retrieval_latency"]) == 1
    assert tracker.get_metrics("other") == {"other": []}
    open_id = tracker.start_tracking()
    tracker.reset()
    assert tracker.get_metrics() == {"retrieval_latency": []}
    with pytest.raises(UnknownTrackIdError):
        tracker.stop_tracking(open_id)
    assert "LatencyTracker(metrics={'retrieval_latency': 0})" == repr(tracker)


def test_bad_configs_name_the_key() -> None:
    for config, key in (
        ({"time_unit": "minutes"}, "time_unit"),
        ({"tim_unit": "ms"}, "tim_unit"),
        ({"include_timestamps": "yes"}, "include_timestamps"),
    ):
        with pytest.raises(perftrack.InvalidConfigError) as caught:
            LatencyTracker(config)
        assert caught.value.key == key and key in str(caught.value)
        assert isinstance(caught.value, ValueError)
    with pytest.raises(ValueError, match="time_unit"):
        LatencyTracker({"time_unit": object()})
    with pytest.raises(ValueError):
        LatencyTracker(["not", "a", "dict"])  # type: ignore[arg-type]


def test_the_callers_config_is_not_changed() -> None:
    config = {"time_unit": "ms"}
    tracker = LatencyTracker(config)
    assert config == {"time_unit": "ms"}
    assert tracker.config["metric_name"] == "latency" and tracker.config["time_unit"] == "ms"
