"""Every Python example of the README's "Python" section runs, after the brief's preamble
(which defines the placeholders the first example shares with the brief)."""

import re
from pathlib import Path
from typing import List

import pytest

from conftest import REPO
from test_brief_examples import PREAMBLE


def examples() -> List[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_section_has_examples() -> None:
    assert len(examples()) >= 2


@pytest.mark.parametrize("index", range(len(examples())))
def test_readme_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(PREAMBLE, "<preamble>", "exec"), namespace)
    exec(compile(examples()[index], f"<README Python example {index}>", "exec"), namespace)
