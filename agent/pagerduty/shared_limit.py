"""One PagerDuty budget for every worker: the request window kept in Redis.

PagerDuty counts requests per API key, not per process, so N workers each
with their own `WindowLimiter` could spend N times the budget. With
INCIDENT_AGENT_REDIS_URL set, every worker admits requests through one
moving window in Redis, `limits`' `MovingWindowRateLimiter` (a log of
timestamps per key, checked and appended in one Lua script, so two workers
cannot both take the last slot).

Like `WindowLimiter`, it honours the answer, not only the admission
(`settle`, called by the client once an attempt is over):

- counted from the answer: an admission counts for PagerDuty's 60 s plus a
  second (`margin_s`), which covers every request answered within that
  second of its admission; one answered later adds an entry at its answer,
  so it counts until a window after it, however late it reached PagerDuty
  (`limits` cannot move an entry, so the overlap counts twice: a slow
  request may idle one slot, it never overspends);
- PagerDuty's own count: when an answer's `ratelimit-remaining` says fewer
  requests remain than the shared window believes (another client on the
  same key, a smaller `ratelimit-limit` than configured), the window takes
  the difference, so every worker sees it; `ratelimit-remaining: 0` holds
  every worker for `ratelimit-reset` seconds;
- a 429 seen by any worker holds every worker: `hold(seconds)` sets a key
  that lives `ratelimit-reset` seconds (the later of two holds wins), and
  `acquire` waits it out before taking a slot.

Without Redis a single process keeps `ratelimit.WindowLimiter`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from pydantic import SecretStr

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.pagerduty.ratelimit import RequestLimiter

__all__ = ["RedisLimiter", "limiter_for", "server_budget"]

WINDOW_S = 60  # PagerDuty's
MARGIN_S = 1  # an admission covers answers within this long of it (see above)
POLL_CAP_S = 1.0
"""Longest single sleep while waiting for a slot: other workers may free one sooner."""


class RedisLimiter:
    """At most `rate_per_minute` requests in any `window_s`, each counted until a window
    after its answer, across every process sharing `url`."""

    def __init__(
        self,
        url: str,
        rate_per_minute: float,
        *,
        key: str = "default",
        window_s: int = WINDOW_S,
        margin_s: int = MARGIN_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        import redis.asyncio
        from limits import RateLimitItemPerSecond
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import MovingWindowRateLimiter

        if rate_per_minute < 1:
            raise ValueError("rate_per_minute must be at least 1")
        self.rate_per_minute = float(rate_per_minute)
        self._item = RateLimitItemPerSecond(int(rate_per_minute), window_s + margin_s)
        self.margin_s = float(margin_s)
        self._storage = RedisStorage(
            url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1),
            implementation="redispy",
            key_prefix="incident-agent",
        )
        self._window = MovingWindowRateLimiter(self._storage)
        self._redis = redis.asyncio.Redis.from_url(url)
        self._key = key
        self._hold_key = f"incident-agent:pagerduty-hold:{key}"
        self._sleep = sleep
        self.waited_s = 0.0
        """Seconds this process's callers were held back (for benchmarks and reports)."""

    def __repr__(self) -> str:
        return f"RedisLimiter(rate_per_minute={self.rate_per_minute:g}, key={self._key!r})"

    async def acquire(self) -> None:
        while True:
            held_ms = await self._redis.pttl(self._hold_key)
            if held_ms > 0:
                await self._wait(held_ms / 1000)
                continue
            if await self._window.hit(self._item, self._key):
                return
            stats = await self._window.get_window_stats(self._item, self._key)
            await self._wait(min(max(stats.reset_time - time.time(), 0.01), POLL_CAP_S))

    async def settle(self, in_flight_s: float, headers: Mapping[str, str] | None = None) -> None:
        """An attempt is over after `in_flight_s` (from admission to its answer or failure):
        count it from its answer, and believe PagerDuty's count in `headers` (see above)."""
        if in_flight_s > self.margin_s:
            # Its admission leaves the window too early: one more entry from now. Pushed past
            # the limit (which only keeps the newest entries), as it was admitted already.
            await self._storage.acquire_entry(
                self._item.key_for(self._key), 2 * self._item.amount, self._item.get_expiry()
            )
        budget = server_budget(headers) if headers is not None else None
        if budget is None:
            return
        remaining, reset_s = budget
        if remaining <= 0:
            if reset_s is not None:
                await self.hold(reset_s)
            return
        stats = await self._window.get_window_stats(self._item, self._key)
        if stats.remaining > remaining:
            # PagerDuty counted requests this window did not: take them, for every worker.
            # A race with another worker's admissions can only make this fail (the window
            # is full then), never overspend.
            await self._window.hit(self._item, self._key, cost=stats.remaining - remaining)

    async def hold(self, seconds: float) -> None:
        """PagerDuty said 429: nobody sends for `seconds` (a longer hold already set stays)."""
        ms = max(int(seconds * 1000), 1)
        await self._redis.set(self._hold_key, "1", px=ms, nx=True)
        await self._redis.pexpire(self._hold_key, ms, gt=True)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def _wait(self, seconds: float) -> None:
        self.waited_s += seconds
        await self._sleep(seconds)


def server_budget(headers: Mapping[str, str]) -> tuple[int, float | None] | None:
    """`(ratelimit-remaining, ratelimit-reset)` from an answer's headers; None without them."""
    remaining = headers.get("ratelimit-remaining")
    if remaining is None:
        return None
    try:
        left = int(remaining)
    except ValueError:
        return None
    try:
        reset_s: float | None = max(0.0, float(headers.get("ratelimit-reset", "")))
    except ValueError:
        reset_s = None
    return left, reset_s


def limiter_for(settings: Settings) -> RequestLimiter | None:
    """The shared limiter when INCIDENT_AGENT_REDIS_URL is set, keyed by the API key
    (PagerDuty's budget is per key); None = the client's in-process window."""
    url = settings.incident_agent_redis_url
    if url is None:
        return None
    token = settings.pagerduty_api_token
    secret = token.get_secret_value() if isinstance(token, SecretStr) else str(token)
    key = hashlib.sha256(f"{settings.pagerduty_api_url}|{secret}".encode()).hexdigest()[:16]
    return RedisLimiter(url.get_secret_value(), settings.pagerduty_rate_per_minute, key=key)
