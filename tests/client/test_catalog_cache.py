"""The catalog cache: one concurrent load, free warm hits, stale-while-revalidate."""

from __future__ import annotations

import logging

from agent.pagerduty import CatalogCache, PagerDutyClient
from agent.pagerduty.sandbox import Clock, Faults, running_sandbox
from tests.client.conftest import TOKEN, InFlight, RecordingSleep
from tests.conftest import SANDBOX_NOW


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_first_load_fetches_the_six_collections_concurrently(dev_account):
    latency = 0.1
    with running_sandbox(
        dev_account, clock=Clock(SANDBOX_NOW), faults=Faults(latency_s=latency)
    ) as sb:
        transport = InFlight()
        async with PagerDutyClient(sb.base_url, TOKEN, transport=transport) as pd:
            catalog = await CatalogCache(pd, ttl_s=60).get()
    assert len(catalog.services) == 16 and catalog.service("PWEB001") is not None
    assert len(catalog.users) and len(catalog.priorities) and len(catalog.teams)
    assert pd.counter.total == 6
    assert transport.peak == 6  # all six collections in flight at once, not one after another


async def test_warm_hits_are_free_and_a_stale_copy_is_refreshed_in_the_background(sandbox):
    clock = FakeClock()
    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        cache = CatalogCache(pd, ttl_s=300, clock=clock)
        first = await cache.get()
        assert pd.counter.total == 6

        clock.now += 299
        assert await cache.get() is first
        assert pd.counter.total == 6  # a warm hit makes no request

        sandbox.state.add_service("Payments Ledger")
        clock.now += 2  # past the TTL
        stale = await cache.get()
        assert stale is first  # answered at once from the old copy ...
        assert await cache.get() is first  # ... and only one refresh is started
        fresh = await cache.refreshed()  # ... which lands in the background
        assert pd.counter.total == 12
        assert fresh is not first
        assert any(s.name == "Payments Ledger" for s in fresh.services)
        assert await cache.get() is fresh
        assert pd.counter.total == 12


async def test_a_failed_refresh_keeps_the_old_copy(sandbox, caplog):
    clock = FakeClock()
    async with PagerDutyClient(
        sandbox.base_url, TOKEN, max_retries=0, sleep=RecordingSleep()
    ) as pd:
        cache = CatalogCache(pd, ttl_s=10, clock=clock)
        first = await cache.get()
        clock.now += 11
        sandbox.faults.burst_5xx(6)
        with caplog.at_level(logging.WARNING, logger="agent.pagerduty.catalog"):
            assert await cache.get() is first
            assert await cache.refreshed() is first
        assert "catalog refresh failed" in caplog.text
        sandbox.faults.clear()
        # Still stale: the next get() tries again and succeeds.
        assert await cache.get() is first
        assert await cache.refreshed() is not first


async def test_invalidate_forces_a_load(sandbox):
    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        cache = CatalogCache(pd, ttl_s=300)
        await cache.get()
        cache.invalidate()
        await cache.get()
        assert pd.counter.total == 12
