"""PagerDuty's request budget, spent the way PagerDuty counts it: `rate` in any 60 s.

The budget is a window, not a trickle: a client may send all 960 requests of
a minute at once, and then nothing more until the first of them is 60 s old.
`WindowLimiter` keeps the send times of the last window (a sliding log) and
lets a request go at once while the window has room; when it is full, the
request is given the moment the oldest one leaves it, so a long burst is
paced at exactly the rate and no 60 s span ever holds more than `rate`.

Send times are taken when the request is admitted, a little before it
reaches PagerDuty; `margin_s` is added to the window so that a request
which took longer to arrive than a later one cannot land in the server's
window twice. It costs `margin_s` of idle budget per minute, at most.

`RequestLimiter` is the seam the client calls (`await acquire()` before each
attempt). This implementation is one process's view; a Redis-shared one
(a sorted set per key, the same arithmetic in one script) can implement the
same protocol so several workers share one budget. The client's handling of
429 (`ratelimit-reset`) stays the backstop for anything sharing the key
outside the limiter.

Hand-written rather than a library: aiolimiter and limits' moving window
either refill as a leaky bucket (which is what throttled bursts before) or
have no awaitable, fair-ordered acquire; this is thirty lines of arithmetic.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

__all__ = ["RequestLimiter", "WindowLimiter"]

WINDOW_S = 60.0
DEFAULT_MARGIN_S = 1.0


@runtime_checkable
class RequestLimiter(Protocol):
    """What the client needs of a limiter: wait until one more request fits the budget."""

    rate_per_minute: float

    async def acquire(self) -> None:
        """Return when one more request may be sent now; it counts from this moment."""
        ...


class WindowLimiter:
    """At most `rate_per_minute` admissions in any `window_s` (+ `margin_s`) seconds."""

    def __init__(
        self,
        rate_per_minute: float,
        *,
        window_s: float = WINDOW_S,
        margin_s: float = DEFAULT_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_per_minute < 1:
            raise ValueError("rate_per_minute must be at least 1")
        self.rate_per_minute = float(rate_per_minute)
        self.limit = int(rate_per_minute * window_s / WINDOW_S)
        self.span_s = window_s + margin_s
        self._clock = clock
        self._sleep = sleep
        # Admission times, oldest first; times in the future are reservations of waiters.
        self._log: deque[float] = deque()
        self.waited_s = 0.0
        """Total seconds callers were held back (for benchmarks and reports)."""

    def __repr__(self) -> str:
        return (
            f"WindowLimiter(rate_per_minute={self.rate_per_minute:g}, "
            f"in_window={len(self._log)}/{self.limit})"
        )

    def reserve(self) -> float:
        """Book the next admission; seconds from now until it is due (0 = go now).

        Bookings are handed out in call order (no await between reading and
        writing the log), so concurrent callers queue fairly.
        """
        now = self._clock()
        log = self._log
        while log and log[0] <= now - self.span_s:
            log.popleft()
        # While a booking lies in the future the log holds more than `limit` entries,
        # so "room in the window" implies every entry is in the past: `now` keeps order.
        at = now if len(log) < self.limit else max(now, log[-self.limit] + self.span_s)
        log.append(at)
        return at - now

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            self.waited_s += delay
            await self._sleep(delay)

    @property
    def in_window(self) -> int:
        """Admissions (and bookings) the current window holds."""
        now = self._clock()
        return sum(1 for t in self._log if t > now - self.span_s)
