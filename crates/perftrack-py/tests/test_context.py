"""`with tracker as track_id:` and `with tracker.track(label):` keep one stack per context:
nesting, threads and asyncio tasks each stop their own session."""

import asyncio
import threading
import time

import pytest

from perftrack import LatencyTracker, ThroughputTracker


def test_the_context_manager_yields_the_id_and_records() -> None:
    tracker = LatencyTracker()
    with tracker as track_id:
        assert tracker.get_current_value(track_id) >= 0
    [record] = tracker.get_metrics()["latency"]
    assert record["track_id"] == track_id and record["status"] == "ok"


def test_nested_blocks_stop_their_own_sessions() -> None:
    tracker = LatencyTracker({"time_unit": "s"})
    with tracker as outer:
        time.sleep(0.02)
        with tracker as inner:
            assert inner != outer
        with tracker.track("middle") as middle:
            pass
    records = {r["track_id"]: r for r in tracker.get_metrics()["latency"]}
    assert set(records) == {outer, inner, middle}
    assert records[outer]["value"] > records[inner]["value"]
    assert records[middle]["label"] == "middle"
    assert [r["track_id"] for r in tracker.get_metrics()["latency"]][-1] == outer


def test_exceptions_are_recorded_as_failed_and_reraised() -> None:
    tracker = LatencyTracker()
    with pytest.raises(RuntimeError, match="inner"):
        with tracker as outer:
            with pytest.raises(ValueError):
                with tracker.track("step"):
                    raise ValueError("step")
            raise RuntimeError("inner")
    records = {r["track_id"]: r for r in tracker.get_metrics()["latency"]}
    assert records[outer]["status"] == "failed"
    assert [r["status"] for r in records.values()] == ["failed", "failed"]
    assert tracker.get_latency_statistics()["failed"] == 2


def test_exit_without_enter() -> None:
    with pytest.raises(RuntimeError):
        LatencyTracker().__exit__(None, None, None)


def test_eight_threads_lose_no_count() -> None:
    tracker = LatencyTracker()
    barrier = threading.Barrier(8)
    per_thread = 500
    seen = []

    def work() -> None:
        barrier.wait()
        mine = []
        for _ in range(per_thread):
            with tracker as outer:
                with tracker as inner:
                    mine.append((outer, inner))
        seen.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = tracker.get_metrics()["latency"]
    assert len(records) == 8 * per_thread * 2
    assert tracker.get_latency_statistics()["count"] == 8 * per_thread * 2
    assert {r["track_id"] for r in records} == {i for pair in seen for i in pair}
    assert all(r["status"] == "ok" for r in records)


def test_asyncio_tasks_stop_their_own_sessions() -> None:
    tracker = LatencyTracker({"time_unit": "s"})

    async def task(delay: float) -> str:
        with tracker as track_id:
            await asyncio.sleep(delay)
            with tracker as inner:
                await asyncio.sleep(delay / 2)
            assert inner != track_id
        return track_id

    async def main() -> list:
        return await asyncio.gather(*(task(0.01 * (i + 1)) for i in range(10)))

    ids = asyncio.run(main())
    records = {r["track_id"]: r for r in tracker.get_metrics()["latency"]}
    assert len(records) == 20
    for i, track_id in enumerate(ids):
        assert records[track_id]["value"] >= 0.015 * (i + 1) * 0.99


def test_async_functions_can_be_decorated() -> None:
    tracker = LatencyTracker()

    @tracker
    async def answer(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    assert asyncio.run(answer(1)) == 2
    assert tracker.get_metrics()["latency"][0]["label"] == "answer"


def test_every_tracker_is_a_context_manager_and_a_decorator() -> None:
    tracker = ThroughputTracker()
    with tracker as track_id:
        tracker.record_event(track_id, 3)

    @tracker
    def work() -> int:
        return 1

    assert work() == 1
    records = tracker.get_metrics()["throughput"]
    assert [r["count"] for r in records] == [3, 0]
