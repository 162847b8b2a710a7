"""PagerDuty's request budget, spent the way PagerDuty counts it: `rate` in any 60 s.

The budget is a window, not a trickle: a client may send all 960 requests of
a minute at once, and then nothing more until the first of them is 60 s old.
`WindowLimiter` has `limit` slots. A request takes a free slot when it is
admitted (`acquire`) and holds it while in flight; when its answer arrives
(`done`) the slot is stamped with that moment and frees a window later.

Why the answer and not the admission: the server counts a request when it
arrives, which is some time after it was admitted (a TLS handshake, a queue
for a connection, a busy CPU) and always before its answer. A slot stamped
at the answer frees no sooner than a window after the server saw the
request, so no window at the server ever holds more than `limit`, however
late requests arrive; and it frees at most a round trip's half later than
it could, so no budget is left idle (no margin is needed; `margin_s` adds
one for servers that round their window).

Waiters are served in the order they came; a timer wakes the first one when
the oldest stamp leaves the window. `RequestLimiter` is the seam the client
calls: `await acquire()` before each attempt and, if the limiter has one,
`done()` once the attempt is over. A Redis-shared limiter (`shared_limit.py`)
implements the same protocol so several workers share one budget; the
client's handling of 429 (`ratelimit-reset`) stays the backstop for anything
sharing the key outside the limiter.

Hand-written rather than a library: aiolimiter and limits' moving window
either refill as a leaky bucket (which is what throttled bursts before) or
count admissions, not answers, and have no awaitable, fair-ordered acquire.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["RequestLimiter", "WindowLimiter"]

WINDOW_S = 60.0


@runtime_checkable
class RequestLimiter(Protocol):
    """What the client needs of a limiter: wait until one more request fits the budget."""

    rate_per_minute: float

    async def acquire(self) -> None:
        """Return when one more request may be sent now."""
        ...


class WindowLimiter:
    """At most `rate_per_minute` requests per `window_s`, each counted until a window
    after its answer arrived."""

    def __init__(
        self,
        rate_per_minute: float,
        *,
        window_s: float = WINDOW_S,
        margin_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_minute < 1:
            raise ValueError("rate_per_minute must be at least 1")
        self.rate_per_minute = float(rate_per_minute)
        self.limit = max(1, int(rate_per_minute * window_s / WINDOW_S))
        self.span_s = window_s + margin_s
        self._clock = clock
        self._stamps: deque[float] = deque()  # answer times still in the window, oldest first
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self.waited_s = 0.0
        """Total seconds callers were held back (for benchmarks and reports)."""

    def __repr__(self) -> str:
        return (
            f"WindowLimiter(rate_per_minute={self.rate_per_minute:g}, "
            f"in_window={self.in_window}/{self.limit})"
        )

    @property
    def in_window(self) -> int:
        """Slots taken: requests in flight and answers less than a window old."""
        return self.limit - self.free()

    def free(self) -> int:
        """Slots a request could take now."""
        now, span, stamps = self._clock(), self.span_s, self._stamps
        while stamps and stamps[0] + span <= now:  # the same sum the wake-up timer aims at
            stamps.popleft()
        return self.limit - len(stamps) - self._in_flight

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody waits for one (no await)."""
        if self._waiters or self.free() <= 0:
            return False
        self._in_flight += 1
        return True

    def done(self) -> None:
        """The request's attempt is over (answered or failed): its slot counts from now."""
        self._in_flight = max(0, self._in_flight - 1)
        self._stamps.append(self._clock())
        self._grant()

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        started = self._clock()
        try:
            self._grant()
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._in_flight -= 1  # granted to a caller that is gone: never sent
                self._grant()
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        finally:
            self.waited_s += self._clock() - started

    def _grant(self) -> None:
        """Hand free slots to the waiters in order; wake again when the oldest stamp leaves."""
        waiters = self._waiters
        while waiters and (waiters[0].done() or waiters[0].get_loop().is_closed()):
            waiters.popleft()  # cancelled, or left behind by a finished event loop
        while waiters and self.free() > 0:
            waiter = waiters.popleft()
            if waiter.done() or waiter.get_loop().is_closed():
                continue
            self._in_flight += 1
            waiter.set_result(None)
        if not waiters or not self._stamps:
            return  # nobody waits, or only answers still to come can free a slot
        loop = waiters[0].get_loop()
        if self._timer is not None and self._timer_loop is loop and not self._timer.cancelled():
            return
        delay = max(0.0, self._stamps[0] + self.span_s - self._clock())
        self._timer_loop = loop
        self._timer = loop.call_later(delay, self._wake)

    def _wake(self) -> None:
        self._timer = None
        self._grant()
