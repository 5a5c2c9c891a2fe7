"""The exceptions perftrack raises besides the built-in ones (``FileNotFoundError`` for a
missing file, ``OSError`` with ``.filename`` for other I/O errors, ``TypeError`` for arguments
of the wrong type)."""

from typing import Optional


class UnknownTrackIdError(KeyError, ValueError):
    """No active session has this id (never started, already stopped, or abandoned).

    A ``KeyError`` (the id is a key that is not there) and a ``ValueError`` (what the original
    Python trackers raised), so either ``except`` clause catches it."""

    def __init__(self, message: str, track_id: str) -> None:
        super().__init__(message)
        self.track_id = track_id

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicateTrackIdError(ValueError):
    """A session with this caller-chosen id is already active (the original overwrote it)."""

    def __init__(self, message: str, track_id: str) -> None:
        super().__init__(message)
        self.track_id = track_id


class NoActiveSessionError(ValueError):
    """``get_current_value()`` without an id while no session is active."""


class InvalidConfigError(ValueError):
    """A configuration key that is unknown or has a bad value; ``.key`` names it."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class MetricsFileError(ValueError):
    """A metrics file that is malformed, of another tracker type, of an unsupported version,
    or incompatible with the tracker. ``.path`` is the file; ``.line`` and ``.column`` (1-based)
    locate a syntax or layout error, and are ``None`` for the other kinds."""

    def __init__(
        self, message: str, path: str, line: Optional[int] = None, column: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column
