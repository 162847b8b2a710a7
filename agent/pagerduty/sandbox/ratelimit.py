"""PagerDuty's per-key request budget: N requests a minute, then 429 until the window frees."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # whole seconds until the window frees, >= 1

    def headers(self) -> dict[str, str]:
        return {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.reset_s),
        }


class RateLimiter:
    """A fixed 60-second window per token, started by the token's first request.

    Measured on the monotonic clock, not the sandbox Clock: a test that freezes
    sandbox time must not freeze the budget forever."""

    def __init__(self, per_minute: int = 960, window_s: float = 60.0, now=time.monotonic):
        self.per_minute = per_minute
        self.window_s = window_s
        self._now = now
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def take(self, key: str) -> Budget:
        with self._lock:
            now = self._now()
            start, used = self._windows.get(key, (now, 0))
            if now - start >= self.window_s:
                start, used = now, 0
            allowed = used < self.per_minute
            if allowed:
                used += 1
            self._windows[key] = (start, used)
            reset = max(1, math.ceil(start + self.window_s - now))
            return Budget(allowed, self.per_minute, max(self.per_minute - used, 0), reset)
