"""Metrics files: the Rust library's format both ways, the original's files, and errors."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DATA, REPO, require
from perftrack import (
    CPUUsageTracker,
    LatencyTracker,
    MemoryUsageTracker,
    MetricsFileError,
    ThroughputTracker,
    get_performance_tracker,
)

KINDS = {
    "latency": LatencyTracker,
    "throughput": ThroughputTracker,
    "memory": MemoryUsageTracker,
    "cpu": CPUUsageTracker,
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_original_python_files_load(kind: str) -> None:
    path = require(DATA / "python" / f"{kind}.json", "the repository's test data")
    original = json.loads(path.read_text())
    tracker = KINDS[kind]()
    loaded = tracker.load_metrics(path)
    assert loaded["version"] == 0 and loaded["tracker_type"] == original["tracker_type"]
    [(name, records)] = original["metrics"].items()
    assert len(loaded["metrics"][tracker.metric_name]) == len(records)
    assert len(tracker.get_metrics()[tracker.metric_name]) == len(records)
    if kind == "latency":
        values = sorted(r["value"] for r in records)
        stats = tracker.get_latency_statistics()
        assert stats["count"] == len(values)
        assert stats["min"] == pytest.approx(values[0]) and stats["max"] == pytest.approx(values[-1])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_files_the_rust_library_wrote_load_and_save_back(kind: str, tmp_path: Path) -> None:
    path = require(DATA / "golden-v2" / f"{kind}-v2.json", "the repository's golden files")
    written = json.loads(path.read_text())
    tracker = KINDS[kind]()
    loaded = tracker.load_metrics(path)
    assert loaded["version"] == 2 and loaded["tracker_type"] == kind
    count = sum(len(records) for records in written["metrics"].values())
    assert len(tracker.get_metrics()[tracker.metric_name]) == count
    before = tracker.calculate_statistics()
    again = tmp_path / "again.json"
    tracker.save_metrics(again)
    other = KINDS[kind]()
    other.load_metrics(again)
    assert other.calculate_statistics() == before
    assert other.get_metrics() == tracker.get_metrics()


def test_python_saves_the_rust_format(tmp_path: Path) -> None:
    tracker = LatencyTracker({"time_unit": "ms"})
    with tracker.track("retrieval"):
        pass
    path = tmp_path / "metrics.json"
    tracker.save_metrics(str(path))
    saved = json.loads(path.read_text())
    assert saved["format"] == "perftrack-metrics" and saved["version"] == 2
    assert saved["tracker_type"] == "latency" and saved["config"]["time_unit"] == "ms"
    assert json.loads(tracker.to_json())["metrics"] == saved["metrics"]
    tracker.save_metrics(path, format="JSON")
    with pytest.raises(ValueError, match="Unsupported format: csv"):
        tracker.save_metrics(path, format="csv")


def perftrack_command() -> str:
    """The `perftrack` command, as `.ci/run` builds it (PERFTRACK_BIN), or on PATH."""
    command = os.environ.get("PERFTRACK_BIN") or shutil.which("perftrack")
    for candidate in (REPO / "target" / "debug" / "perftrack", REPO / "target" / "release" / "perftrack"):
        if not command and candidate.exists():
            command = str(candidate)
    if not command:
        pytest.skip("the perftrack command is not built (set PERFTRACK_BIN)")
    return command


def test_the_rust_command_reads_what_python_saved(tmp_path: Path) -> None:
    command = perftrack_command()
    tracker = LatencyTracker({"time_unit": "ms"})
    for _ in range(3):
        with tracker.track("retrieval"):
            pass
    path = tmp_path / "python.json"
    tracker.save_metrics(path)
    shown = subprocess.run([command, "report", str(path)], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "retrieval" in shown.stdout


def test_merge_adds_measurements(tmp_path: Path) -> None:
    worker = get_performance_tracker("latency")
    for _ in range(2):
        with worker.track("retrieval"):
            pass
    path = tmp_path / "worker.json"
    worker.save_metrics(path)
    total = LatencyTracker()
    with total.track("retrieval"):
        pass
    merged = total.merge_metrics(path)
    assert len(merged["metrics"]["latency"]) == 2
    assert total.get_latency_statistics(label="retrieval")["count"] == 3


def test_file_errors(tmp_path: Path) -> None:
    tracker = LatencyTracker()
    missing = tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError) as caught:
        tracker.load_metrics(missing)
    assert caught.value.filename == str(missing)
    with pytest.raises(OSError) as caught_os:
        tracker.save_metrics(tmp_path / "no" / "such" / "dir" / "m.json")
    assert caught_os.value.filename is not None

    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "format": "perftrack",\n  oops\n}')
    with pytest.raises(MetricsFileError) as caught_file:
        tracker.load_metrics(bad)
    error = caught_file.value
    assert isinstance(error, ValueError)
    assert error.path == str(bad) and error.line == 3 and error.column is not None

    memory = MemoryUsageTracker({"track_gpu": False})
    other = tmp_path / "memory.json"
    memory.save_metrics(other)
    with pytest.raises(MetricsFileError) as caught_type:
        tracker.load_metrics(other)
    assert caught_type.value.path == str(other) and caught_type.value.line is None
    assert "memory" in str(caught_type.value)
