"""The Python package's cost, in one run: each operation against a bare
``time.perf_counter()`` pair measured in the same process, and the same operations on a
pure-Python tracker of the original's shape as a reference.

Run it against an installed wheel (a release build for figures worth reporting)::

    python crates/perftrack-py/benches/bench.py [--quick]

Each figure is the best of several timed runs (``timeit``'s advice: the minimum is the run
least disturbed by the rest of the machine), in nanoseconds per operation.
"""

import argparse
import asyncio
import gc
import sys
import time
import timeit
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import perftrack
from perftrack import GenerationTracker, LatencyTracker, ThroughputTracker


class ReferenceLatencyTracker:
    """The original Python tracker's shape: uuid4 ids, a dict of sessions, wall-clock
    `time.time()`, a record dict appended to a list per session (kept in a bounded list here,
    so the benchmark's memory stays flat)."""

    def __init__(self) -> None:
        self.metrics: Dict[str, List[Dict[str, Any]]] = {"latency": []}
        self.active: Dict[str, Dict[str, Any]] = {}
        self._stack: List[str] = []

    def start_tracking(self, track_id: Optional[str] = None, label: Optional[str] = None) -> str:
        track_id = track_id or str(uuid.uuid4())
        self.active[track_id] = {"start_time": time.time(), "label": label}
        return track_id

    def stop_tracking(self, track_id: str) -> Dict[str, Any]:
        session = self.active.pop(track_id)
        end = time.time()
        record = {"track_id": track_id, "value": (end - session["start_time"]) * 1000,
                  "unit": "ms", "start_time": session["start_time"], "end_time": end}
        if session["label"]:
            record["label"] = session["label"]
        records = self.metrics["latency"]
        records.append(record)
        if len(records) > 1000:
            del records[:500]
        return record

    def __enter__(self) -> str:
        track_id = self.start_tracking()
        self._stack.append(track_id)
        return track_id

    def __exit__(self, *exc: Any) -> None:
        self.stop_tracking(self._stack.pop())

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            track_id = self.start_tracking(label=func.__name__)
            try:
                return func(*args, **kwargs)
            finally:
                self.stop_tracking(track_id)
        return wrapper


class ReferenceThroughputTracker(ReferenceLatencyTracker):
    def record_event(self, track_id: str, count: int = 1) -> Dict[str, Any]:
        session = self.active[track_id]
        session["count"] = session.get("count", 0) + count
        return session


def best(stmt: Callable[[], Any], number: int, repeat: int) -> float:
    """Nanoseconds per call of `stmt`: the best of `repeat` runs of `number` calls."""
    gc.collect()
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    args = parser.parse_args()
    number, repeat = (2_000, 3) if args.quick else (100_000, 7)

    perf_counter = time.perf_counter

    def pair() -> None:
        start = perf_counter()
        perf_counter() - start

    ours = LatencyTracker({"max_records": 0})
    ours_default = LatencyTracker()
    reference = ReferenceLatencyTracker()
    throughput = ThroughputTracker({"max_records": 0})
    reference_throughput = ReferenceThroughputTracker()
    generation = GenerationTracker({"max_records": 0})
    stream_id = throughput.start_tracking(label="events")
    reference_stream_id = reference_throughput.start_tracking(label="events")

    def with_block(tracker: Any) -> Callable[[], None]:
        def run() -> None:
            with tracker:
                pass
        return run

    def decorated(tracker: Any) -> Callable[[], None]:
        @tracker
        def noop() -> None:
            pass
        return noop

    def start_stop(tracker: Any) -> Callable[[], None]:
        start, stop = tracker.start_tracking, tracker.stop_tracking
        return lambda: stop(start(label="step"))

    def per_item(n: int) -> Tuple[Callable[[], None], Callable[[], None]]:
        items = list(range(n))

        def tracked() -> None:
            for _ in generation.track_stream(items, "answer"):
                pass

        def bare() -> None:
            for _ in items:
                pass

        return tracked, bare

    stream_items = 1_000
    tracked_stream, bare_stream = per_item(stream_items)
    stream_number = max(number // stream_items, 20)

    rows: List[Tuple[str, float, Optional[float]]] = []
    baseline = best(pair, number, repeat)
    rows.append(("perf_counter() pair (the baseline)", baseline, baseline))
    rows.append(("with tracker: (max_records 0)", best(with_block(ours), number, repeat),
                 best(with_block(reference), number, repeat)))
    rows.append(("with tracker: (default config)", best(with_block(ours_default), number, repeat),
                 None))
    rows.append(("decorated no-op call", best(decorated(ours), number, repeat),
                 best(decorated(reference), number, repeat)))
    rows.append(("start_tracking + stop_tracking", best(start_stop(ours), number, repeat),
                 best(start_stop(reference), number, repeat)))
    rows.append(("record_event(track_id, 1)",
                 best(lambda: throughput.record_event(stream_id, 1), number, repeat),
                 best(lambda: reference_throughput.record_event(reference_stream_id, 1),
                      number, repeat)))
    stream_cost = (best(tracked_stream, stream_number, repeat)
                   - best(bare_stream, stream_number, repeat)) / stream_items
    rows.append(("track_stream, per item (beyond a bare loop)", stream_cost, None))

    print(f"perftrack {perftrack.__version__}, Python {sys.version.split()[0]}, "
          f"{number:,} calls x {repeat} runs, best run")
    print(f"{'operation':<46} {'ns':>9} {'x pair':>7} {'reference ns':>13} {'x pair':>7}")
    for name, ns, ref in rows:
        ref_text = f"{ref:13.0f} {ref / baseline:7.1f}" if ref is not None else f"{'-':>13} {'-':>7}"
        print(f"{name:<46} {ns:9.0f} {ns / baseline:7.1f} {ref_text}")


if __name__ == "__main__":
    main()
