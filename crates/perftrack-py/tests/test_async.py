"""`async with` on every tracker, decorated coroutine functions, and cancelled tasks."""

import asyncio
from typing import Dict, List

import pytest

from perftrack import (
    CPUUsageTracker,
    GenerationTracker,
    LatencyTracker,
    ManualClock,
    MemoryUsageTracker,
    ThroughputTracker,
)


def test_async_with_on_concurrent_tasks_stops_each_tasks_own_session() -> None:
    """Every task starts at 0 and is released one second after the previous one: task i
    lasts i + 1 seconds only if its own session is the one its block stops."""
    clock = ManualClock()
    tracker = LatencyTracker({"time_unit": "s"}, clock=clock)
    n = 8

    async def main() -> Dict[str, int]:
        released = [asyncio.Event() for _ in range(n)]
        ids: Dict[str, int] = {}

        async def task(i: int) -> None:
            async with tracker as track_id:
                async with tracker.track(f"inner-{i}"):
                    await released[i].wait()
                ids[track_id] = i

        tasks = [asyncio.create_task(task(i)) for i in range(n)]
        await asyncio.sleep(0)
        for i in reversed(range(n)):  # released in the opposite order of their start
            clock.advance(1.0)
            released[i].set()
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        return ids

    ids = asyncio.run(main())
    records = {r["track_id"]: r for r in tracker.get_metrics()["latency"]}
    assert len(ids) == n and len(records) == 2 * n
    for track_id, i in ids.items():
        assert records[track_id]["value"] == pytest.approx(n - i)
    by_label = tracker.get_latency_by_label()
    for i in range(n):
        assert by_label[f"inner-{i}"]["count"] == 1
        assert by_label[f"inner-{i}"]["max"] == pytest.approx(n - i)


@pytest.mark.parametrize(
    "make",
    [LatencyTracker, ThroughputTracker, MemoryUsageTracker, CPUUsageTracker, GenerationTracker],
)
def test_every_tracker_has_async_with_and_async_decorators(make: type) -> None:
    tracker = make()

    @tracker
    async def step(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    async def main() -> List[int]:
        async with tracker as track_id:
            assert isinstance(track_id, str)
        async with tracker.track("block"):
            pass
        return await asyncio.gather(*(step(i) for i in range(5)))

    assert asyncio.run(main()) == [0, 2, 4, 6, 8]
    [records] = tracker.get_metrics().values()
    assert len(records) == 7
    assert sum(1 for r in records if r.get("label") == "step") == 5
    assert all(r["status"] == "ok" for r in records)


def test_a_cancelled_task_is_recorded_as_cancelled() -> None:
    tracker = LatencyTracker()
    generation = GenerationTracker()

    @tracker
    async def waits_forever() -> None:
        await asyncio.Event().wait()

    async def blocks() -> None:
        async with tracker.track("block"):
            async with generation.track("answer") as request:
                request.tokens(1)
                await asyncio.Event().wait()

    async def main() -> None:
        tasks = [asyncio.create_task(waits_forever()), asyncio.create_task(blocks())]
        await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)

    asyncio.run(main())
    statuses = {r["label"]: r["status"] for r in tracker.get_metrics()["latency"]}
    assert statuses == {"waits_forever": "cancelled", "block": "cancelled"}
    [record] = generation.get_metrics()["generation"]
    assert record["status"] == "cancelled" and record["output_tokens"] == 1
    assert tracker.get_latency_statistics()["cancelled"] == 2


def test_an_async_stream_read_by_a_cancelled_task_is_cancelled() -> None:
    tracker = GenerationTracker()

    async def endless():  # type: ignore[no-untyped-def]
        while True:
            await asyncio.sleep(0)
            yield "token"

    async def read(stream) -> None:  # type: ignore[no-untyped-def]
        async for _ in stream:
            pass

    async def main() -> None:
        stream = tracker.track_stream(endless(), "answer")
        task = asyncio.create_task(read(stream))
        for _ in range(5):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    [record] = tracker.get_metrics()["generation"]
    assert record["status"] == "cancelled" and record["output_tokens"] >= 1
