"""The `perftrack` command that the wheel installs (and `python -m perftrack`): the command's
own code, with the measured command's exit code passed on and Ctrl-C left to it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require
from perftrack import LatencyTracker

DEADLINE = 60.0


def command() -> Path:
    """The console script pip put beside the interpreter of the virtual environment."""
    return require(Path(sys.executable).parent / "perftrack",
                   "pip installs it with the wheel into the environment's bin/")


def test_the_command_runs_from_the_environment() -> None:
    done = subprocess.run([str(command()), "--version"], capture_output=True, text=True,
                          timeout=DEADLINE)
    assert done.returncode == 0 and done.stdout.startswith("perftrack ")
    done = subprocess.run([str(command()), "frobnicate"], capture_output=True, text=True,
                          timeout=DEADLINE)
    assert done.returncode == 2 and "unrecognized subcommand" in done.stderr


def test_run_passes_the_exit_code_on(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    done = subprocess.run(
        [str(command()), "run", "-o", str(out), "--", sys.executable, "-c",
         "import sys; sys.exit(7)"],
        capture_output=True, text=True, timeout=DEADLINE,
    )
    assert done.returncode == 7, done.stderr
    assert "exited with code 7" in done.stderr
    assert json.loads(out.read_text())["exit"]["code"] == 7


def test_bench_measures_each_run_from_the_environment(tmp_path: Path) -> None:
    """`perftrack bench` starts a `perftrack run` per run: from the wheel, the same command
    through this environment's Python."""
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [str(command()), "bench", "--runs", "2", "-o", str(out), f"{sys.executable} -c pass"],
        capture_output=True, text=True, timeout=DEADLINE,
    )
    assert done.returncode == 0, done.stderr
    bench = json.loads(out.read_text())
    assert bench["format"] == "perftrack-bench"
    [command_runs] = bench["commands"]
    assert len(command_runs["runs"]) == 2


def test_python_dash_m_reports_a_file(tmp_path: Path) -> None:
    tracker = LatencyTracker()
    with tracker.track("retrieval"):
        pass
    path = tmp_path / "latency.json"
    tracker.save_metrics(path)
    done = subprocess.run([sys.executable, "-m", "perftrack", "report", str(path)],
                          capture_output=True, text=True, timeout=DEADLINE)
    assert done.returncode == 0, done.stderr
    assert "retrieval" in done.stdout


def test_ctrl_c_reaches_the_command_and_the_run_is_reported(tmp_path: Path) -> None:
    """SIGINT to the whole process group, as a terminal sends it: the measured Python dies of
    it, and `perftrack` (a Python process itself) still reports and exits 128 + 2."""
    script = "import time; print('ready', flush=True); time.sleep(60)"
    process = subprocess.Popen(
        [str(command()), "run", "--", sys.executable, "-c", script],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"perftrack did not end within {DEADLINE} s of SIGINT")
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert "was killed by signal 2" in stderr
    assert "KeyboardInterrupt" in stderr  # the measured Python's own traceback
    assert "wall" in stderr
