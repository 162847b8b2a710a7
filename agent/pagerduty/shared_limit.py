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

When Redis stops answering (a restart, a network cut), a PagerDuty call must
neither hang nor fail for it: each worker falls back to a window of its own
at 1/`workers` of the budget (so the workers together stay within it), logs
one warning, and tries Redis again every `RETRY_REDIS_S`; once Redis answers
the shared window counts again, with no restart. Every Redis call has a
short timeout, so an unreachable host costs at most `REDIS_TIMEOUT_S` per try.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from agent.pagerduty.ratelimit import WindowLimiter

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.pagerduty.ratelimit import RequestLimiter

log = logging.getLogger(__name__)
__all__ = ["RedisLimiter", "limiter_for", "server_budget"]

WINDOW_S = 60  # PagerDuty's
MARGIN_S = 1  # an admission covers answers within this long of it (see above)
POLL_CAP_S = 1.0
"""Longest single sleep while waiting for a slot: other workers may free one sooner."""
REDIS_TIMEOUT_S = 1.0
"""Connect and answer timeout of every Redis call: an unreachable Redis must not hold a write."""
RETRY_REDIS_S = 5.0
"""While Redis is unreachable, how often a worker tries it again (meanwhile: its own window)."""
_down: set[str] = set()
"""Keys whose Redis this process has said is unreachable (one warning per outage, however
many limiters a process holds)."""
_admitted_locally: ContextVar[bool] = ContextVar("admitted_locally", default=False)
"""The caller's last admission came from the fallback window (so `settle` closes it there)."""


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
        workers: int = 1,
        retry_redis_s: float = RETRY_REDIS_S,
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
            wrap_exceptions=True,
            **_redis_options(),
        )
        self._window = MovingWindowRateLimiter(self._storage)
        self._redis = redis.asyncio.Redis.from_url(url, **_redis_options())
        self._share = max(1, int(rate_per_minute) // max(1, workers))  # per window, Redis down
        self._fallback = WindowLimiter(self._share * WINDOW_S / window_s, window_s=window_s,
                                       margin_s=margin_s)
        self._redis_down_until: float | None = None  # monotonic; None while Redis answers
        self._errors = _redis_errors()
        self._retry_redis_s = retry_redis_s
        self._key = key
        self._hold_key = f"incident-agent:pagerduty-hold:{key}"
        self._sleep = sleep
        self.waited_s = 0.0
        """Seconds this process's callers were held back (for benchmarks and reports)."""

    def __repr__(self) -> str:
        return f"RedisLimiter(rate_per_minute={self.rate_per_minute:g}, key={self._key!r})"

    async def acquire(self) -> None:
        _admitted_locally.set(False)
        if self._redis_down_until is not None and time.monotonic() < self._redis_down_until:
            await self._acquire_locally()
            return
        try:
            await self._acquire_shared()
        except self._errors as exc:
            self._redis_failed(exc)
            await self._acquire_locally()
            return
        if self._redis_down_until is not None:
            self._redis_down_until = None
            if self._key in _down:
                _down.discard(self._key)
                log.warning("Redis answers again: the PagerDuty budget is shared by every worker again")

    async def _acquire_locally(self) -> None:
        await self._fallback.acquire()
        _admitted_locally.set(True)

    def _redis_failed(self, exc: BaseException) -> None:
        if self._key not in _down:
            _down.add(self._key)
            log.warning("Redis is unreachable (%s): this worker keeps its own PagerDuty budget "
                        "of %d requests a window until Redis answers (tried again every %g s)",
                        _kind(exc), self._share, self._retry_redis_s)
        self._redis_down_until = time.monotonic() + self._retry_redis_s

    async def _acquire_shared(self) -> None:
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
        if _admitted_locally.get():
            _admitted_locally.set(False)
            self._fallback.done()
            return
        try:
            await self._settle_shared(in_flight_s, headers)
        except self._errors as exc:  # the request is over; only its count is lost
            self._redis_failed(exc)

    async def _settle_shared(self, in_flight_s: float, headers: Mapping[str, str] | None) -> None:
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
        try:
            await self._redis.set(self._hold_key, "1", px=ms, nx=True)
            await self._redis.pexpire(self._hold_key, ms, gt=True)
        except self._errors as exc:  # the client waits out the reset itself all the same
            self._redis_failed(exc)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def _wait(self, seconds: float) -> None:
        self.waited_s += seconds
        await self._sleep(seconds)


def _redis_errors() -> tuple[type[BaseException], ...]:
    from limits.errors import StorageError
    from redis.exceptions import RedisError

    return (RedisError, StorageError, OSError, TimeoutError)


def _redis_options() -> dict[str, Any]:
    """Short timeouts, and one immediate retry on a fresh connection: after a Redis restart
    each pooled connection fails once ("closed by server") before it is replaced."""
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError

    return {"socket_connect_timeout": REDIS_TIMEOUT_S, "socket_timeout": REDIS_TIMEOUT_S,
            "retry": Retry(NoBackoff(), 1), "retry_on_error": [ConnectionError]}


def _kind(exc: BaseException) -> str:
    """The error's type, and its cause's for a wrapped one: never its text (it may hold the URL)."""
    cause = getattr(exc, "storage_error", None) or exc.__cause__
    return type(exc).__name__ + (f" from {type(cause).__name__}" if cause is not None else "")


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
    return RedisLimiter(url.get_secret_value(), settings.pagerduty_rate_per_minute, key=key,
                        workers=settings.incident_agent_workers)
