"""Injected failures, reproducible by seed: latency, jitter, random 5xx, 429 storms, 5xx bursts.

Faults apply to API routes only (never to /_sandbox/*). Latency is awaited
with asyncio.sleep, so a slow answer never blocks other requests.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """What to do to one request: a status to answer with (and its retry hint), or nothing."""

    status: int | None = None
    reset_s: int | None = None


class Faults:
    def __init__(self, latency_s: float = 0.0, jitter_s: float = 0.0, error_rate: float = 0.0, seed: int = 0):
        if latency_s < 0 or jitter_s < 0 or not 0.0 <= error_rate <= 1.0:
            raise ValueError("latency_s and jitter_s must be >= 0 and error_rate within [0, 1]")
        self.latency_s = latency_s
        self.jitter_s = jitter_s
        self.error_rate = error_rate
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._storm: list[int] = []  # pending 429s, each with its ratelimit-reset
        self._burst: list[int] = []  # pending 5xx statuses

    def storm_429(self, count: int, reset_s: int) -> None:
        """The next `count` API requests get 429 with `ratelimit-reset: reset_s`."""
        if count < 0:
            raise ValueError("storm_429 count must not be negative")
        with self._lock:
            self._storm.extend([max(int(reset_s), 1)] * count)

    def burst_5xx(self, count: int, status: int = 503) -> None:
        """The next `count` API requests get `status` (a 5xx)."""
        if not 500 <= status <= 599:
            raise ValueError("burst_5xx status must be a 5xx")
        if count < 0:
            raise ValueError("burst_5xx count must not be negative")
        with self._lock:
            self._burst.extend([status] * count)

    def clear(self) -> None:
        with self._lock:
            self._storm.clear()
            self._burst.clear()

    def _draw(self) -> tuple[float, Fault]:
        with self._lock:
            delay = self.latency_s + (self._rng.uniform(0, self.jitter_s) if self.jitter_s else 0.0)
            if self._storm:
                return delay, Fault(429, self._storm.pop(0))
            if self._burst:
                return delay, Fault(self._burst.pop(0))
            if self.error_rate and self._rng.random() < self.error_rate:
                return delay, Fault(500)
            return delay, Fault()

    async def apply(self) -> Fault:
        """Wait the injected latency, then say whether this request fails."""
        delay, fault = self._draw()
        if delay > 0:
            await asyncio.sleep(delay)
        return fault
