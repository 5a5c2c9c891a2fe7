"""A busy Python thread reads about one core of process CPU. `.ci/run` runs this in a pytest
of its own, so that no other test's threads share the process."""

import threading
import time

import pytest

from perftrack import CPUUsageTracker


@pytest.mark.alone
def test_a_busy_thread_reads_one_core() -> None:
    tracker = CPUUsageTracker({"sampling_interval": 0.1})
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    thread = threading.Thread(target=spin)
    track_id = tracker.start_tracking(label="spin")
    wall, cpu = time.perf_counter(), time.process_time()
    thread.start()
    time.sleep(1.0)
    stop.set()
    thread.join()
    record = tracker.stop_tracking(track_id)
    # What the kernel says the process used, for the same second.
    truth = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
    process = record["value"]["process"]
    assert abs(process - truth) <= 10, (process, truth)
    if truth < 90:
        pytest.skip(f"the machine is busy: the kernel gave the spinning thread {truth:.0f} % of a core")
    assert 85 <= process <= 115, record["value"]
