"""The catalog cache: one concurrent load, free warm hits, stale-while-revalidate, kept on disk."""

from __future__ import annotations

import json
import logging

from agent.pagerduty import CatalogCache, PagerDutyClient
from agent.pagerduty.catalog import account_key
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


# ------------------------------------------------------------------ kept on disk


async def test_a_fresh_process_reads_the_catalog_from_disk_without_a_request(sandbox, tmp_path):
    path = tmp_path / "state.catalog.json"
    account = account_key(sandbox.base_url, TOKEN)
    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        first = await CatalogCache(pd, ttl_s=300, path=path, account=account).get()
        assert pd.counter.total == 6
    text = path.read_text()
    assert TOKEN not in text  # the account is a hash, never the token
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:  # the next process
        warm = await CatalogCache(pd, ttl_s=300, path=path, account=account).get()
        assert pd.counter.total == 0
    assert [s.id for s in warm.services] == [s.id for s in first.services]
    assert warm.user_by_email(first.users[0].email) == first.users[0]


async def test_the_file_is_not_used_by_another_account_nor_past_its_ttl(sandbox, tmp_path):
    path = tmp_path / "state.catalog.json"
    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        await CatalogCache(pd, ttl_s=300, path=path, account=account_key(sandbox.base_url, TOKEN)).get()
    other = account_key(sandbox.base_url, "another-token-1234")
    assert other != account_key(sandbox.base_url, TOKEN)
    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        await CatalogCache(pd, ttl_s=300, path=path, account=other).get()
        assert pd.counter.total == 6  # not this account's copy: fetched (and now the file is ours)
    data = json.loads(path.read_text())
    data["fetched_at"] -= 301
    path.write_text(json.dumps(data))
    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        await CatalogCache(pd, ttl_s=300, path=path, account=other).get()
        assert pd.counter.total == 6  # past the TTL: fetched


async def test_an_id_not_found_fetches_a_fresh_copy(sandbox, tmp_path):
    path = tmp_path / "state.catalog.json"
    account = account_key(sandbox.base_url, TOKEN)
    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        await CatalogCache(pd, ttl_s=300, path=path, account=account).get()
    added = sandbox.state.add_service("Payments Ledger")  # a write the copy on disk missed

    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        cache = CatalogCache(pd, ttl_s=300, path=path, account=account, miss_refresh_s=0)
        stale = await cache.get()
        assert pd.counter.total == 0
        assert stale.service(added["id"]) is None  # a miss ...
        assert not path.exists()  # ... which no other process should trust either
        fresh = await cache.get()  # ... so the next get() fetches
        assert pd.counter.total == 6
        assert fresh.service(added["id"]) is not None
        assert await cache.get() is fresh and pd.counter.total == 6
    assert path.exists()


async def test_a_miss_in_a_young_copy_does_not_refetch(sandbox, tmp_path):
    clock = FakeClock()
    async with PagerDutyClient(sandbox.base_url, TOKEN) as pd:
        cache = CatalogCache(pd, ttl_s=300, miss_refresh_s=10, clock=clock)
        catalog = await cache.get()
        assert catalog.service("PNOSUCH") is None
        assert await cache.get() is catalog and pd.counter.total == 6  # a typo cannot storm the API
        clock.now += 10
        assert await cache.get() is not catalog and pd.counter.total == 12
