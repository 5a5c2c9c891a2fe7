"""`BasePerformanceTracker` subclassed into a kind of one's own, as the original allowed: the
four abstract methods, and the base's blocks, decorator, statistics and files on top."""

import asyncio
import json
import statistics
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from perftrack import BasePerformanceTracker, LatencyTracker, MetricsFileError


class TokenBudgetTracker(BasePerformanceTracker):
    """A kind of one's own: how many tokens a session spends, reported by the caller."""

    def __init__(self, config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config)
        self.spent: Dict[str, int] = {}
        self.labels: Dict[str, Optional[str]] = {}

    def start_tracking(self, track_id: Optional[str] = None, label: Optional[str] = None) -> str:
        track_id = track_id or str(uuid.uuid4())
        self.spent[track_id] = 0
        self.labels[track_id] = label
        return track_id

    def spend(self, track_id: str, tokens: int) -> None:
        self.spent[track_id] += tokens

    def stop_tracking(self, track_id: str) -> Dict[str, Any]:
        record = {"track_id": track_id, "value": self.spent.pop(track_id),
                  "label": self.labels.pop(track_id)}
        self.metrics.setdefault(self.metric_name, []).append(record)
        return record

    def get_current_value(self, track_id: Optional[str] = None) -> Any:
        return self.spent.get(track_id or "", 0)

    def reset(self) -> None:
        self.metrics = {}
        self.spent = {}


def test_the_base_and_an_incomplete_kind_cannot_be_made() -> None:
    with pytest.raises(TypeError, match="abstract"):
        BasePerformanceTracker()  # type: ignore[abstract]

    class Incomplete(BasePerformanceTracker):
        def start_tracking(self, track_id: Optional[str] = None,
                           label: Optional[str] = None) -> str:
            return "id"

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]
    assert isinstance(LatencyTracker(), BasePerformanceTracker)


def test_blocks_decorators_and_statistics_work_on_a_kind_of_ones_own() -> None:
    tracker = TokenBudgetTracker({"metric_name": "tokens"})
    assert tracker.metric_name == "tokens"
    with tracker as outer:
        tracker.spend(outer, 10)
        with tracker.track("rerank") as inner:
            tracker.spend(inner, 3)

    @tracker
    def answer(n: int) -> int:
        return n

    async def in_a_task() -> None:
        async with tracker as track_id:
            tracker.spend(track_id, 5)

    assert answer(7) == 7
    asyncio.run(in_a_task())
    values = [r["value"] for r in tracker.get_metrics()["tokens"]]
    assert values == [3, 10, 0, 5]
    stats = tracker.calculate_statistics()
    assert stats == {"min": 0, "max": 10, "mean": statistics.mean(values), "count": 4,
                     "sum": 18, "last": 5}
    assert [r["label"] for r in tracker.get_metrics()["tokens"]] == ["rerank", None, "answer",
                                                                       None]
    # Copies: changing them changes nothing in the tracker.
    tracker.get_metrics()["tokens"][0]["value"] = 99
    assert tracker.calculate_statistics()["max"] == 10
    assert tracker.calculate_statistics("other") == {}
    assert tracker.get_metrics("other") == {"other": []}


def test_files_of_a_kind_of_ones_own(tmp_path: Path) -> None:
    tracker = TokenBudgetTracker({"metric_name": "tokens"})
    for spent in (4, 6):
        track_id = tracker.start_tracking(label="answer")
        tracker.spend(track_id, spent)
        tracker.stop_tracking(track_id)
    path = tmp_path / "tokens.json"
    tracker.save_metrics(path)
    saved = json.loads(path.read_text())
    assert saved["tracker_type"] == "TokenBudgetTracker"
    assert saved["config"] == {"metric_name": "tokens"}
    assert [r["value"] for r in saved["metrics"]["tokens"]] == [4, 6]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    with pytest.raises(ValueError, match="Unsupported format"):
        tracker.save_metrics(path, format="csv")

    other = TokenBudgetTracker({"metric_name": "tokens"})
    data = other.load_metrics(path)
    assert data["tracker_type"] == "TokenBudgetTracker"
    assert other.calculate_statistics()["sum"] == 10
    with pytest.raises(FileNotFoundError):
        other.load_metrics(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"metrics": {"tokens": [1, 2]}}')
    with pytest.raises(MetricsFileError, match="lists of records") as caught:
        other.load_metrics(bad)
    assert caught.value.path == str(bad)
    bad.write_text('{"metrics": ')
    with pytest.raises(MetricsFileError) as caught:
        other.load_metrics(bad)
    assert (caught.value.line, caught.value.column) == (1, 13)
    assert other.calculate_statistics()["sum"] == 10  # a failed load changes nothing
    with pytest.raises(TypeError, match="config must be a dict"):
        TokenBudgetTracker(["metric_name"])  # type: ignore[arg-type]
