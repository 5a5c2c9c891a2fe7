"""The GIL: released while the native side waits on files, and never taken by the sampling
threads. Each test is built so that holding the GIL would stop it from finishing, and a
bounded wait turns that into a failure."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

DEADLINE = 30.0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX only")
def test_loading_a_file_releases_the_gil(tmp_path: Path) -> None:
    """A thread loads from a named pipe, which blocks until a writer comes; the writer is the
    main thread, running Python. If the loader kept the GIL while blocked, the writer could
    never run: the child process would hang, and the bounded wait fails."""
    script = textwrap.dedent(
        """
        import os, sys, threading
        from perftrack import LatencyTracker
        pipe = sys.argv[1]
        os.mkfifo(pipe)
        source = LatencyTracker()
        with source.track("step"):
            pass
        text = source.to_json()
        loaded = {}
        def load():
            loaded["file"] = LatencyTracker().load_metrics(pipe)
        thread = threading.Thread(target=load)
        thread.start()
        with open(pipe, "w") as writer:
            writer.write(text)
        thread.join()
        assert loaded["file"]["metrics"]["latency"][0]["label"] == "step", loaded
        print("loaded")
        """
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "pipe.json")],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"no load within {DEADLINE} s: the loading thread held the GIL")
    assert done.returncode == 0 and done.stdout.strip() == "loaded", done.stderr


def test_the_sampling_thread_never_takes_the_gil() -> None:
    """The main thread keeps the GIL (a switch interval longer than the test, and a loop that
    never sleeps) while it waits for background samples: a sampler that needed the GIL would
    never deliver one."""
    from perftrack import MemoryUsageTracker

    tracker = MemoryUsageTracker({"sampling_interval": 0.01, "track_gpu": False})
    track_id = tracker.start_tracking(label="held")
    interval = sys.getswitchinterval()
    sys.setswitchinterval(DEADLINE * 10)
    try:
        deadline = time.monotonic() + DEADLINE
        samples = 0
        while samples < 3 and time.monotonic() < deadline:
            samples = len(tracker.get_samples(track_id))
    finally:
        sys.setswitchinterval(interval)
    tracker.stop_tracking(track_id)
    assert samples >= 3, f"{samples} background samples in {DEADLINE} s with the GIL held"
