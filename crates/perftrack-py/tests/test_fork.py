"""After `os.fork()`, trackers keep working in both processes: the child samples itself on a
thread of its own, saves a file and exits without hanging; the parent's sampling goes on."""

import json
import os
import signal
import time
import traceback
from pathlib import Path

import pytest

from perftrack import LatencyTracker, MemoryUsageTracker

MIB = 1 << 20
# The child's allocation: far above the parent's whole resident size, so that only readings
# of the child can reach it.
CHILD_BYTES = 256 * MIB
DEADLINE = 30.0


def wait_for(what, why: str) -> None:  # type: ignore[no-untyped-def]
    """Waits for `what()` to hold, at most DEADLINE seconds; a failure says what it waited for."""
    deadline = time.monotonic() + DEADLINE
    while not what():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {DEADLINE} s for {why}")
        time.sleep(0.005)


def child(memory: MemoryUsageTracker, latency: LatencyTracker, path: Path) -> None:
    """The forked child's work; its exit status tells the parent how it went."""
    with latency.track("child"):
        # A resident size only the child's allocation reaches (the child's own reading now,
        # which a fork makes smaller than the parent's: file pages are not copied).
        floor = memory.get_current_value()["process_rss"] + CHILD_BYTES * 0.9
        track_id = memory.start_tracking(label="child")
        block = bytearray(CHILD_BYTES)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        # Background samples that see the allocation: the child's own thread samples the
        # child (not the parent, whose id the tracker was made with).
        deadline = time.monotonic() + DEADLINE
        while sum(1 for s in memory.get_samples(track_id) if s["memory"]["process_rss"] >= floor) < 4:
            if time.monotonic() > deadline:
                os._exit(3)
            time.sleep(0.005)
        memory.stop_tracking(track_id)
        del block
    memory.save_metrics(path)
    del memory  # dropping a sampled tracker joins its thread: must not hang
    os._exit(0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
# CPython 3.12+ warns about forking a process with threads; it counts them after the parent's
# fork hooks ran, which have started the sampling thread again. At the fork itself no thread
# of perftrack runs (the hooks end it first), which is what this test is about.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_samples_itself_saves_and_exits(tmp_path: Path) -> None:
    memory = MemoryUsageTracker({"sampling_interval": 0.02, "kernel_peak": False, "unit": "B"})
    latency = LatencyTracker()
    parent_id = memory.start_tracking(label="parent")  # its sampling thread runs at fork time
    wait_for(lambda: len(memory.get_samples(parent_id)) >= 1, "the parent's first sample")
    path = tmp_path / "child.json"
    parent_rss = memory.get_current_value()["process_rss"]

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            child(memory, latency, path)
        except BaseException:
            traceback.print_exc()  # pytest shows the child's stderr with the failure
        finally:
            os._exit(2)

    # The parent's session is sampled on after the fork.
    before = len(memory.get_samples(parent_id))
    wait_for(lambda: len(memory.get_samples(parent_id)) > before + 2, "the parent's samples")

    deadline = time.monotonic() + DEADLINE
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child did not exit within {DEADLINE} s")
        time.sleep(0.01)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

    saved = json.loads(path.read_text())
    [record] = [r for r in saved["metrics"]["memory_usage"] if r["label"] == "child"]
    # The child's readings: its own resident memory, with the allocation in it.
    assert record["peak"]["process_rss"] >= CHILD_BYTES * 0.9
    assert parent_rss < CHILD_BYTES / 2
    assert len(record["samples"]) >= 4
    # Nothing of the child reached the parent's trackers, which go on.
    assert memory.stop_tracking(parent_id)["label"] == "parent"
    assert latency.get_latency_by_label() == {}
    assert memory.get_current_value()["process_rss"] < parent_rss + CHILD_BYTES / 2
