"""Redis, which holds the workers' shared PagerDuty budget, dies while they work.

What must happen: no PagerDuty call hangs or fails for it (each worker falls back
to its own share of the budget and says so once in its log), `/readyz` answers 503
naming Redis, and when Redis is back the shared window counts again with no restart.
Redis here is the tests' own (tests/chaos/services.py), killed as in a crash.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from pydantic import SecretStr

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.sandbox import running_sandbox
from agent.pagerduty.shared_limit import RedisLimiter
from tests.chaos.cluster import alert, assert_clean, chaos_cluster, slack_text
from tests.chaos.services import PrivateRedis, private_redis
from tests.services import fresh_database
from tests.workers.cluster import Cluster

pytestmark = pytest.mark.slow
TOKEN = "sandbox-token"


@pytest.fixture(scope="module")
def own_redis() -> Iterator[PrivateRedis]:
    with private_redis() as r:
        yield r


def up(r: PrivateRedis) -> PrivateRedis:
    if r.proc is None or r.proc.poll() is not None:
        r.start()  # a test before left it down
    return r


@pytest.fixture
def live_redis(own_redis: PrivateRedis) -> PrivateRedis:
    return up(own_redis)


def shared_entries(r: PrivateRedis) -> int:
    """Requests counted in the shared windows (limits' moving-window lists)."""
    client = redis.Redis.from_url(r.url)
    return sum(int(client.llen(k)) for k in client.scan_iter("incident-agent*")
               if client.type(k) == b"list")


async def test_a_call_falls_back_to_its_share_while_redis_is_down_and_shares_again_after(
    live_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """3 per 2 s (+1 s margin) over 3 workers: 1 per 3 s each while Redis is down."""
    caplog.set_level(logging.WARNING, logger="agent.pagerduty.shared_limit")
    limiter = RedisLimiter(live_redis.url, 3, key=uuid.uuid4().hex, window_s=2, margin_s=1,
                           workers=3, retry_redis_s=1.0)
    with running_sandbox(tokens={TOKEN: None}) as sb:
        async with PagerDutyClient(sb.base_url, SecretStr(TOKEN), max_retries=0,
                                   limiter=limiter) as pd:
            await pd.request("GET", "/users", params={"limit": 1})
            assert shared_entries(live_redis) == 1

            live_redis.stop()
            started = time.monotonic()
            await asyncio.wait_for(pd.request("GET", "/users", params={"limit": 1}), 10)
            assert time.monotonic() - started < 3, "a call waited on a dead Redis"
            await asyncio.wait_for(pd.request("GET", "/users", params={"limit": 1}), 10)
            assert time.monotonic() - started >= 3 - 0.1, "the worker's own share is 1 per 3 s"
            down = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
            assert len(down) == 1 and "1 requests a window" in down[0], down
            assert str(live_redis.port) not in down[0]  # the type of the error, not the URL

            live_redis.start()  # empty, as after a crash: the windows start again
            deadline = time.monotonic() + 10  # a pooled connection to the dead server fails once
            while shared_entries(live_redis) < 2:  # counted in Redis again, no restart
                assert time.monotonic() < deadline, "the shared window never counted again"
                await asyncio.sleep(0.5)
                await asyncio.wait_for(pd.request("GET", "/users", params={"limit": 1}), 10)
            assert any("answers again" in r.getMessage() for r in caplog.records)
            assert pd.counter.rate_limited == 0


async def test_a_429_while_redis_is_down_still_retries(
    live_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """The hold for every worker cannot be set: the call still waits out the reset itself."""
    limiter = RedisLimiter(live_redis.url, 960, key=uuid.uuid4().hex, workers=2)
    live_redis.stop()
    with running_sandbox(tokens={TOKEN: None}) as sb:
        sb.faults.storm_429(1, reset_s=1)
        async with PagerDutyClient(sb.base_url, SecretStr(TOKEN), max_retries=2,
                                   limiter=limiter) as pd:
            await asyncio.wait_for(pd.request("GET", "/users", params={"limit": 1}), 15)
            assert pd.counter.rate_limited == 1


# -- two serve workers, Redis killed between the pause and the approval ------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, own_redis: PrivateRedis) -> Iterator[Cluster]:
    with fresh_database() as database, chaos_cluster(
        tmp_path_factory.mktemp("redis-chaos"), database, up(own_redis).url, n=2
    ) as c:
        yield c


def readyz(cluster: Cluster) -> list[httpx.Response]:
    return [httpx.get(f"{w.url}/readyz", timeout=10) for w in cluster.workers]


async def test_workers_approve_and_write_once_while_redis_is_down(
    cluster: Cluster, own_redis: PrivateRedis
) -> None:
    up(own_redis)
    one, two = cluster.workers
    paused = await alert(cluster, one, "Public API 5xx storm in eu-west-1 (critical)")

    own_redis.stop()
    for r in readyz(cluster):  # the load balancer is told which dependency is missing
        assert r.status_code == 503, r.text
        assert r.json()["checks"]["database"] == "ok"
        assert r.json()["checks"]["redis"].startswith("unreachable"), r.text

    started = time.monotonic()
    response = await cluster.click_approve(paused, two)  # worker 2 answers worker 1's pause
    assert response.status_code == 200
    await cluster.until(lambda: cluster.sql(
        "SELECT 1 FROM approvals WHERE thread_id=%s AND status='done'", paused),
        within_s=60, what="the approved write done with Redis down")
    assert time.monotonic() - started < 30
    assert len(cluster.incidents_of(paused)) == 1
    await cluster.until(lambda: "hitl_approve" not in slack_text(cluster, paused),
                        what="the Slack message updated (no button left)")

    # A new alert during the outage pauses (PagerDuty reads on the fallback budget) and
    # an SRE approves it from a terminal.
    second = await alert(cluster, two, "Checkout latency p99 4s in us-east-1 (critical)")
    code, out = await asyncio.to_thread(cluster.cli, "approve", second, "--as", "sre")
    assert code == 0 and out["status"] == "done", out
    assert len(cluster.incidents_of(second)) == 1

    # Redis back: ready again without a restart, and the budget is shared again.
    own_redis.start()
    deadline = time.monotonic() + 30
    while not all(r.status_code == 200 for r in readyz(cluster)):
        assert time.monotonic() < deadline, [r.text for r in readyz(cluster)]
        await asyncio.sleep(0.5)
    await asyncio.sleep(5.5)  # RETRY_REDIS_S: the workers try Redis again
    third = await alert(cluster, two, "Search index lag 20 min in eu-central-1 (critical)")
    response = await cluster.click_approve(third, two)
    assert response.status_code == 200
    await cluster.until(lambda: len(cluster.incidents_of(third)) == 1, what="third write")
    assert shared_entries(own_redis) > 0, "the workers did not count in Redis again"

    for w in cluster.workers:
        assert w.alive, w.log()[-3000:]
        log = w.log()
        assert_clean(log)
    # Worker 2 wrote during the outage: one warning for it, one line when Redis was back.
    assert two.log().count("Redis is unreachable") == 1, two.log()[-3000:]
    assert two.log().count("Redis answers again") == 1, two.log()[-3000:]
    await cluster.until(lambda: len(cluster.sql("SELECT 1 FROM approvals WHERE status='done'")) == 3,
                        what="three threads done")
    assert [len(cluster.incidents_of(t)) for t in (paused, second, third)] == [1, 1, 1]


async def test_a_redis_that_stops_answering_costs_a_call_seconds_not_a_hang(
    live_redis: PrivateRedis,
) -> None:
    """A frozen Redis (SIGSTOP: connections accepted, nothing answered), as a host cut off
    behind a firewall that drops packets: each try waits for the 1 s timeouts, then the
    call goes on on the worker's own share."""
    assert live_redis.proc is not None
    limiter = RedisLimiter(live_redis.url, 960, key=uuid.uuid4().hex, workers=2)
    with running_sandbox(tokens={TOKEN: None}) as sb:
        async with PagerDutyClient(sb.base_url, SecretStr(TOKEN), max_retries=0,
                                   limiter=limiter) as pd:
            await pd.request("GET", "/users", params={"limit": 1})
            live_redis.proc.send_signal(signal.SIGSTOP)
            try:
                started = time.monotonic()
                for _ in range(5):
                    await asyncio.wait_for(pd.request("GET", "/users", params={"limit": 1}), 30)
                assert time.monotonic() - started < 8, time.monotonic() - started
            finally:
                live_redis.proc.send_signal(signal.SIGCONT)
