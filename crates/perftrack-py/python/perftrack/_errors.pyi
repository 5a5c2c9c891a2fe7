from typing import Optional

class UnknownTrackIdError(KeyError, ValueError):
    track_id: str
    def __init__(self, message: str, track_id: str) -> None: ...

class DuplicateTrackIdError(ValueError):
    track_id: str
    def __init__(self, message: str, track_id: str) -> None: ...

class NoActiveSessionError(ValueError): ...

class InvalidConfigError(ValueError):
    key: str
    def __init__(self, message: str, key: str) -> None: ...

class MetricsFileError(ValueError):
    path: str
    line: Optional[int]
    column: Optional[int]
    def __init__(self, message: str, path: str, line: int | None = None, column: int | None = None) -> None: ...
