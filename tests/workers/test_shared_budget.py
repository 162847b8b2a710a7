"""One PagerDuty budget for every worker, through Redis (INCIDENT_AGENT_TEST_REDIS_URL,
started by `.ci/services`): the window holds across processes, a request counts until
a window after its answer, PagerDuty's `ratelimit-remaining` is believed by every
worker, and a 429 seen by one worker holds the others for `ratelimit-reset` seconds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from agent.config import Settings
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.ratelimit import RequestLimiter, WindowLimiter
from agent.pagerduty.sandbox import running_sandbox
from agent.pagerduty.shared_limit import RedisLimiter, limiter_for, server_budget
from tests import services

TOKEN = "sandbox-token"


@pytest.fixture
def redis_url() -> str:
    return services.redis_url()


WORKER = """
import asyncio, json, sys, time
from agent.pagerduty.shared_limit import RedisLimiter
url, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
limiter = RedisLimiter(url, 6, key=key, window_s=2, margin_s=0)
print("ready", flush=True)
sys.stdin.readline()
async def go():
    times = []
    for _ in range(n):
        await limiter.acquire()
        times.append(time.time())
    return times
print(json.dumps(asyncio.run(go())))
"""


@pytest.mark.slow
def test_three_workers_share_one_window(redis_url: str) -> None:
    """6 per 2 s shared by three processes asking 6 each: never more than 6 in any
    2 s, so the 18 take at least two more windows (one process alone would not wait)."""
    key = uuid.uuid4().hex
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, redis_url, key, "6"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).parents[2]) for _ in range(3)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    times = sorted(t for p in procs for t in json.loads(p.communicate(timeout=60)[0]))
    assert len(times) == 18
    # Times are taken after Redis answers, a little after admission (a loaded machine may
    # delay one by ~0.1 s): a window 0.2 s short of the limiter's still must hold <= 6.
    busiest = max(sum(1 for u in times if t <= u < t + 1.8) for t in times)
    assert busiest <= 6, busiest
    assert times[-1] - times[0] >= 4.0 - 0.1


async def test_a_429_seen_by_one_worker_holds_every_worker(redis_url: str) -> None:
    key = uuid.uuid4().hex
    with running_sandbox(tokens={TOKEN: None}) as sb:
        sb.faults.storm_429(1, reset_s=2)
        async with (
            PagerDutyClient(sb.base_url, SecretStr(TOKEN), max_retries=2,
                            limiter=RedisLimiter(redis_url, 960, key=key)) as one,
            PagerDutyClient(sb.base_url, SecretStr(TOKEN), max_retries=0,
                            limiter=RedisLimiter(redis_url, 960, key=key)) as two,
        ):
            first = asyncio.create_task(one.request("GET", "/users"))
            hold = RedisLimiter(redis_url, 960, key=key)
            for _ in range(200):  # until worker one has seen the 429 and set the hold
                if await hold._redis.pttl(hold._hold_key) > 0:
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("no hold was set after the 429")
            started = time.monotonic()
            await two.request("GET", "/users")  # max_retries=0: a 429 here would raise
            assert time.monotonic() - started >= 1.5
            await first
            assert one.counter.rate_limited == 1 and two.counter.rate_limited == 0


@pytest.mark.slow
async def test_a_slow_answer_counts_from_the_answer(redis_url: str) -> None:
    """1 request per 2 s (+1 s margin). A request answered 1.5 s after its admission,
    later than the margin, keeps its slot until a window after the answer (4.5 s), not
    after the admission (3 s): PagerDuty may have counted it as late as its answer."""
    limiter = RedisLimiter(redis_url, 1, key=uuid.uuid4().hex, window_s=2, margin_s=1)
    started = time.monotonic()
    await limiter.acquire()
    await asyncio.sleep(1.5)
    await limiter.settle(time.monotonic() - started)
    await limiter.acquire()
    assert time.monotonic() - started >= 4.5 - 0.1


async def test_an_answer_within_the_margin_counts_once(redis_url: str) -> None:
    """2 per 2 s: a request answered at once leaves the second slot free."""
    limiter = RedisLimiter(redis_url, 2, key=uuid.uuid4().hex, window_s=2, margin_s=1)
    await limiter.acquire()
    await limiter.settle(0.05, {"ratelimit-remaining": "1", "ratelimit-reset": "2"})
    started = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - started < 0.5


async def test_every_worker_believes_pagerdutys_remaining_count(redis_url: str) -> None:
    """Another client on the same API key (outside the limiter) spent 7 of the sandbox's
    10 a minute. One worker's answer says so; then the workers together send the 2 the
    server still allows, and the next waits for the server's window instead of meeting
    a 429 (max_retries=0: a 429 would raise)."""
    key = uuid.uuid4().hex
    with running_sandbox(tokens={TOKEN: None}, rate_per_minute=10) as sb:
        async with httpx.AsyncClient(base_url=sb.base_url, headers={
            "Authorization": f"Token token={TOKEN}",
            "Accept": "application/vnd.pagerduty+json;version=2"}) as other:
            for _ in range(7):
                (await other.get("/users", params={"limit": 1})).raise_for_status()
        one_limiter = RedisLimiter(redis_url, 10, key=key)
        async with (
            PagerDutyClient(sb.base_url, SecretStr(TOKEN), max_retries=0,
                            limiter=one_limiter) as one,
            PagerDutyClient(sb.base_url, SecretStr(TOKEN), max_retries=0,
                            limiter=RedisLimiter(redis_url, 10, key=key)) as two,
        ):
            await one.request("GET", "/users", params={"limit": 1})  # the server: 2 left
            stats = await one_limiter._window.get_window_stats(one_limiter._item, key)
            assert stats.remaining == 2  # 10 - 1 sent - 7 PagerDuty counted for another client
            await two.request("GET", "/users", params={"limit": 1})  # 1 left
            await one.request("GET", "/users", params={"limit": 1})  # 0 left: every worker held
            assert await one_limiter._redis.pttl(one_limiter._hold_key) > 50_000  # the reset
            sent = sb.state.request_count(TOKEN)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(two.request("GET", "/users", params={"limit": 1}), 1.0)
            assert sb.state.request_count(TOKEN) == sent == 10  # nothing sent into a 429
            assert one.counter.rate_limited == two.counter.rate_limited == 0


def test_pagerdutys_budget_headers_are_read() -> None:
    assert server_budget({"ratelimit-remaining": "3", "ratelimit-reset": "12"}) == (3, 12.0)
    assert server_budget({"ratelimit-remaining": "0"}) == (0, None)
    assert server_budget({"ratelimit-remaining": "many"}) is None
    assert server_budget({}) is None


async def test_a_longer_hold_is_not_shortened(redis_url: str) -> None:
    limiter = RedisLimiter(redis_url, 960, key=uuid.uuid4().hex)
    await limiter.hold(5)
    await limiter.hold(1)
    assert await limiter._redis.pttl(limiter._hold_key) > 4000


def test_settings_choose_the_limiter(redis_url: str) -> None:
    s = Settings(_env_file=None, pagerduty_api_url="https://api.pagerduty.com")  # type: ignore[call-arg]
    assert limiter_for(s) is None
    with_redis = s.model_copy(update={"incident_agent_redis_url": SecretStr(redis_url)})
    shared = limiter_for(with_redis)
    assert isinstance(shared, RedisLimiter) and isinstance(shared, RequestLimiter)
    other_key = with_redis.model_copy(update={"pagerduty_api_token": SecretStr("another-key")})
    assert limiter_for(other_key)._key != shared._key  # type: ignore[union-attr]
    client = PagerDutyClient.from_settings(s)
    assert isinstance(client.limiter, WindowLimiter)
    assert isinstance(PagerDutyClient.from_settings(with_redis).limiter, RedisLimiter)
