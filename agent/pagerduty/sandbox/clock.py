"""An injectable clock, so tests can freeze or move time the sandbox sees."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """`Clock()` follows real time; `Clock(dt)` is frozen at dt until `set`/`advance`."""

    def __init__(self, now: datetime | None = None):
        self._lock = threading.Lock()
        self._fixed = _aware(now) if now is not None else None

    @property
    def frozen(self) -> bool:
        return self._fixed is not None

    def now(self) -> datetime:
        with self._lock:
            return self._fixed if self._fixed is not None else datetime.now(UTC)

    def set(self, dt: datetime) -> None:
        with self._lock:
            self._fixed = _aware(dt)

    def advance(self, seconds: float) -> None:
        """Move forward; a real-time clock becomes frozen at now + seconds."""
        with self._lock:
            base = self._fixed if self._fixed is not None else datetime.now(UTC)
            self._fixed = base + timedelta(seconds=seconds)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
