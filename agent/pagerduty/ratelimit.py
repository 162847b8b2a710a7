"""A client-side token bucket so a burst never meets PagerDuty's 429 at all.

PagerDuty allows `rate_per_minute` requests per key in any minute. A bucket
of capacity C refilled at r per second admits at most C + 60·r requests in
any 60 s span, so the refill is set to (rate − C)/60: the first C requests
go at once (a page burst, a catalog load), the steady state runs a few
percent under the budget, and no 60 s window ever sees more than `rate`.

One bucket per client, per process. Several processes sharing one key need
a shared limiter (Redis, see DESIGN.md); the 429 handling in the client is
the backstop for that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]

# Seconds of budget the bucket may spend at once: 2 s at 960/min is 32 requests,
# enough for a whole paged list in one concurrent round, 3 % of the minute.
DEFAULT_BURST_SECONDS = 2.0


class TokenBucket:
    """Async token bucket; `await acquire()` before each request."""

    def __init__(
        self,
        rate_per_minute: float,
        *,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        if capacity is None:
            capacity = max(1.0, rate_per_minute / 60.0 * DEFAULT_BURST_SECONDS)
        capacity = min(capacity, rate_per_minute / 2)
        self.rate_per_minute = float(rate_per_minute)
        self.capacity = max(1.0, float(capacity))
        # What refills per second after the initial burst, so burst + refill ≤ rate per minute.
        self.refill_per_s = max(rate_per_minute - self.capacity, 1.0) / 60.0
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self.waited_s = 0.0

    def __repr__(self) -> str:
        return (
            f"TokenBucket(rate_per_minute={self.rate_per_minute:g}, capacity={self.capacity:g}, "
            f"tokens={self._tokens:.2f})"
        )

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.refill_per_s)
        self._updated = now

    def reserve(self) -> float:
        """Take one token now (the balance may go negative); seconds to wait before using it."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.refill_per_s

    async def acquire(self) -> None:
        # Reservations are taken in call order without a lock (no await between read
        # and write), so concurrent callers queue fairly and wake at their own time.
        delay = self.reserve()
        if delay > 0:
            self.waited_s += delay
            await asyncio.sleep(delay)
