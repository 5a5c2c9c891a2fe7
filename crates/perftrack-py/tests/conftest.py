"""Shared helpers of the package's tests. They run against the installed wheel (see `.ci/run`),
never against the sources in `python/`, which lack the native module."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "crates" / "perftrack" / "tests" / "data"
IN_CI = os.environ.get("CI") == "true"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "alone: reads process-wide CPU; `.ci/run` runs these in a pytest of their own"
    )


def require(path: Path, why: str) -> Path:
    """`path`, or a skip saying why it is missing (a failure under CI=true)."""
    if not path.exists():
        message = f"{path} is missing: {why}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path
