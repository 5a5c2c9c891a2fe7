"""GenerationTracker: requests and their chunks, `track_stream` over iterators and async
iterators, timed by a manual clock so that every figure is known exactly."""

import asyncio
import json
from pathlib import Path
from typing import AsyncIterator, Iterator, List, Tuple

import pytest

from perftrack import (
    GenerationTracker,
    LatencyTracker,
    ManualClock,
    MetricsFileError,
    UnknownTrackIdError,
    get_performance_tracker,
)

# A streamed response: (seconds before the chunk arrives, chunk); then the time to its end.
CHUNKS: List[Tuple[float, str]] = [(0.250, "Hel"), (0.040, "lo, "), (0.0, ""), (0.060, "world")]
TAIL = 0.010


def expected(tokens: List[int]) -> dict:
    """The figures of the response above in milliseconds, from docs/METRICS.md's definitions:
    ttft is the first chunk with a token, tpot (e2e − ttft)/(n − 1), itl the gaps between
    chunks that carry tokens."""
    times, t = [], 0.0
    for (wait, _), n in zip(CHUNKS, tokens):
        t += wait
        if n > 0:
            times.append(t * 1000)
    e2e = (t + TAIL) * 1000
    n_out = sum(tokens)
    gaps = [b - a for a, b in zip(times, times[1:])]
    return {
        "ttft": times[0],
        "e2e": e2e,
        "output_tokens": n_out,
        "tpot": (e2e - times[0]) / (n_out - 1),
        "itl": {"count": len(gaps), "mean": sum(gaps) / len(gaps), "max": max(gaps)},
        "output_tokens_per_second": n_out / (e2e / 1000),
        "decode_tokens_per_second": (n_out - 1) / ((e2e - times[0]) / 1000),
    }


def check(record: dict, tokens: List[int]) -> None:
    want = expected(tokens)
    for key in ("ttft", "e2e", "tpot", "output_tokens_per_second", "decode_tokens_per_second"):
        assert record[key] == pytest.approx(want[key], rel=1e-9), key
    assert record["output_tokens"] == want["output_tokens"]
    assert record["itl"]["count"] == want["itl"]["count"]
    assert record["itl"]["mean"] == pytest.approx(want["itl"]["mean"], rel=1e-9)
    assert record["itl"]["max"] == pytest.approx(want["itl"]["max"], rel=1e-9)
    assert record["status"] == "ok" and record["unit"] == "ms"


def produce(clock: ManualClock) -> Iterator[str]:
    for wait, chunk in CHUNKS:
        clock.advance(wait)
        yield chunk
    clock.advance(TAIL)


async def produce_async(clock: ManualClock) -> AsyncIterator[str]:
    for wait, chunk in CHUNKS:
        await asyncio.sleep(0)
        clock.advance(wait)
        yield chunk
    clock.advance(TAIL)


def test_track_stream_over_a_generator_gives_the_exact_figures() -> None:
    clock = ManualClock()
    tracker = GenerationTracker(clock=clock)
    chunks = list(tracker.track_stream(produce(clock), "answer", count=len))
    assert chunks == [chunk for _, chunk in CHUNKS]  # unchanged
    [record] = tracker.get_metrics()["generation"]
    check(record, [len(chunk) for _, chunk in CHUNKS])
    assert record["label"] == "answer"


def test_track_stream_over_an_async_generator_gives_the_same_figures() -> None:
    clock = ManualClock()
    tracker = GenerationTracker({"time_unit": "ms"}, clock=clock)

    async def read() -> List[str]:
        return [chunk async for chunk in tracker.track_stream(produce_async(clock), "answer", len)]

    assert asyncio.run(read()) == [chunk for _, chunk in CHUNKS]
    [record] = tracker.get_metrics()["generation"]
    check(record, [len(chunk) for _, chunk in CHUNKS])


def test_one_token_per_item_without_count() -> None:
    clock = ManualClock()
    tracker = GenerationTracker(clock=clock)
    list(tracker.track_stream(produce(clock)))
    [record] = tracker.get_metrics()["generation"]
    # Every item is one token, the empty chunk too.
    assert record["output_tokens"] == len(CHUNKS)
    assert "label" not in record  # no label


def test_the_guard_records_tokens_and_the_prompt() -> None:
    clock = ManualClock()
    tracker = GenerationTracker(clock=clock)
    with tracker.track("answer") as request:
        request.input_tokens(900)
        for wait, chunk in CHUNKS:
            clock.advance(wait)
            request.tokens(len(chunk))
        assert request.output_tokens == 12 and request.active
        clock.advance(TAIL)
    assert not request.active and request.record is not None
    check(request.record, [len(chunk) for _, chunk in CHUNKS])
    assert request.record["input_tokens"] == 900
    stats = tracker.get_generation_statistics("answer")
    assert stats["requests"] == 1 and stats["ttft"]["max"] == pytest.approx(250.0)
    assert set(tracker.get_generation_by_label()) == {"answer"}


def test_requests_by_id() -> None:
    clock = ManualClock()
    tracker = get_performance_tracker("generation", {"time_unit": "s"})
    assert isinstance(tracker, GenerationTracker)
    tracker = GenerationTracker({"time_unit": "s"}, clock=clock)
    track_id = tracker.start_tracking(label="answer")
    tracker.input_tokens(track_id, 10)
    clock.advance(0.5)
    tracker.tokens(track_id, 1)
    clock.advance(0.5)
    tracker.tokens(track_id, 3)
    assert tracker.get_current_value(track_id) == pytest.approx(1.0)
    record = tracker.stop_tracking(track_id)
    assert (record["ttft"], record["e2e"], record["tpot"]) == (0.5, 1.0, pytest.approx(0.5 / 3))
    with pytest.raises(UnknownTrackIdError):
        tracker.tokens(track_id, 1)


def test_a_reader_that_stops_early_cancels_and_a_failing_stream_fails() -> None:
    clock = ManualClock()
    tracker = GenerationTracker(clock=clock)
    for chunk in tracker.track_stream(produce(clock), "early", count=len):
        break  # the generator is closed when the loop's iterator is dropped

    def broken() -> Iterator[str]:
        yield "a"
        raise ConnectionError("stream cut")

    with pytest.raises(ConnectionError):
        list(tracker.track_stream(broken(), "broken"))

    def bad_count(chunk: str) -> int:
        raise ValueError("cannot count")

    with pytest.raises(ValueError, match="cannot count"):
        list(tracker.track_stream(["a"], "count", count=bad_count))
    statuses = {r["label"]: r["status"] for r in tracker.get_metrics()["generation"]}
    assert statuses == {"early": "cancelled", "broken": "failed", "count": "failed"}


def test_a_request_dropped_before_it_stops_is_cancelled() -> None:
    tracker = GenerationTracker()
    stream = tracker.track_stream(iter(["never read"]), "dropped")
    del stream
    request = tracker.track("forgotten")
    request.tokens(2)
    del request
    statuses = sorted((r["label"], r["status"]) for r in tracker.get_metrics()["generation"])
    assert statuses == [("dropped", "cancelled"), ("forgotten", "cancelled")]


def test_bad_input_names_what_was_wrong() -> None:
    tracker = GenerationTracker()
    request = tracker.track("answer")
    with pytest.raises(ValueError, match="count must not be negative"):
        request.tokens(-1)
    with pytest.raises(TypeError, match="count must be an int"):
        request.tokens(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status must be"):
        request.stop("maybe")
    request.stop()
    with pytest.raises(RuntimeError, match="already stopped"):
        request.stop()
    with pytest.raises(RuntimeError, match="already stopped"):
        request.tokens(1)
    with pytest.raises(ValueError, match="seconds must be a finite number"):
        ManualClock().advance(-1)
    with pytest.raises(TypeError, match="generation tracker"):
        LatencyTracker()._native.request("x")
    with pytest.raises(ValueError, match="slo"):
        GenerationTracker({"slo": {"ttft": "fast"}})


def test_files_round_trip(tmp_path: Path) -> None:
    clock = ManualClock()
    tracker = GenerationTracker({"slo": {"ttft": 300}}, clock=clock)
    list(tracker.track_stream(produce(clock), "answer", count=len))
    path = tmp_path / "generation.json"
    tracker.save_metrics(path)
    assert json.loads(path.read_text())["tracker_type"] == "generation"
    with pytest.raises(MetricsFileError, match="objectives"):
        GenerationTracker().load_metrics(path)  # goodput of other objectives cannot mix
    loaded = GenerationTracker({"slo": {"ttft": 300}})
    data = loaded.load_metrics(path)
    assert data["tracker_type"] == "generation"
    assert loaded.get_generation_statistics() == tracker.get_generation_statistics()
    assert loaded.get_metrics() == tracker.get_metrics()
    assert tracker.get_metrics()["generation"][0]["slo_met"] is True
