"""The ``perftrack`` console command the wheel installs, and ``python -m perftrack``: the
command's own code (the Rust ``perftrack_cli`` crate), run from Python."""

import signal
import sys
from typing import Any, List, Optional

from . import _native


def _leave_to_the_command(signum: int, frame: Any) -> None:
    """SIGINT while the command runs: ``perftrack run`` leaves it to the command it measures
    and reports when that command ends."""


def main(argv: Optional[List[str]] = None) -> None:
    """Runs ``perftrack`` with ``argv`` (``sys.argv[1:]`` by default) and exits with its code.

    A terminal's Ctrl-C reaches the whole foreground process group: the measured command, and
    this process. Python's default handler would raise ``KeyboardInterrupt`` here as soon as the
    command returned, losing its exit code; a handler that does nothing keeps the signal caught
    (so a command started by ``perftrack run`` gets its default action back) without that."""
    args = sys.argv[1:] if argv is None else argv
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, _leave_to_the_command)
    this = [sys.executable, "-m", "perftrack"]  # how `perftrack bench` starts each run's
    sys.exit(_native.run_command(["perftrack", *args], this))
