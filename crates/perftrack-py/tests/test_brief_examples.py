"""Every code example of the product brief runs, with its import line changed to
`from perftrack import ...` and a preamble that defines the brief's placeholders."""

import re
from pathlib import Path
from typing import List

import pytest

from conftest import REPO, require

BRIEF = REPO.parent / "shared" / "reference" / "seed-performance-trackers.md"

PREAMBLE = '''
from perftrack import LatencyTracker, ThroughputTracker, MemoryUsageTracker, CPUUsageTracker
query = "what is retrieval-augmented generation?"
results = ["doc-1", "doc-2"]
def retrieve_documents(query):
    return ["doc-1", "doc-2"]
document_batches = [["a", "b", "c"], ["d", "e"], ["f"]]
def process_batch(batch):
    return [item.upper() for item in batch]
def load_model(model_name):
    return bytearray(8 << 20)
tracker = LatencyTracker({"time_unit": "ms"})
latency_tracker = LatencyTracker({"time_unit": "ms"})
latency_tracker.stop_tracking(latency_tracker.start_tracking(label="retrieval"))
'''


def examples() -> List[str]:
    if not BRIEF.exists():
        return []
    blocks = re.findall(r"```python\n(.*?)```", BRIEF.read_text(encoding="utf-8"), re.S)
    return [
        block.replace("from tools.src.monitoring.performance_trackers import", "from perftrack import")
        for block in blocks
    ]


def test_the_brief_is_there() -> None:
    require(BRIEF, "the brief sits beside the checkout in CI (../shared/reference/)")
    assert len(examples()) >= 10


@pytest.mark.parametrize("index", range(max(len(examples()), 1)))
def test_brief_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require(BRIEF, "the brief sits beside the checkout in CI (../shared/reference/)")
    blocks = examples()
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(PREAMBLE, "<preamble>", "exec"), namespace)
    exec(compile(blocks[index], f"<brief example {index}>", "exec"), namespace)
