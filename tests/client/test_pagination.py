"""The REST layer over real HTTP: time windows, the 10,000 cap, concurrent pages."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agent.pagerduty import PagerDutyClient
from agent.pagerduty.endpoints import SIX_MONTHS
from agent.pagerduty.pagination import split_windows
from agent.pagerduty.sandbox import Clock, Faults, RunningSandbox, running_sandbox
from tests.client.conftest import TOKEN, InFlight
from tests.conftest import SANDBOX_NOW

FAST = 600_000  # requests/min on both sides: these tests measure paging, not the budget


@pytest.fixture
def roomy(dev_account) -> Iterator[RunningSandbox]:
    """The dev account with a budget large enough for bulk paging."""
    with running_sandbox(dev_account, clock=Clock(SANDBOX_NOW), rate_per_minute=FAST) as sb:
        yield sb


def _created(incident: dict) -> datetime:
    return datetime.fromisoformat(incident["created_at"].replace("Z", "+00:00"))


async def test_a_14_month_incident_query_is_split_into_windows_and_complete(roomy):
    since = datetime(2025, 9, 1, tzinfo=UTC)
    until = since + timedelta(days=426)  # 14 months
    # One incident a day (and a few on window edges), spread over the whole span.
    for day in range(0, 426):
        roomy.state.add_incident(
            "PWEB001",
            f"day {day}",
            created_at=since + timedelta(days=day, hours=3),
            status="resolved",
            log=False,
        )
    for edge in split_windows(since, until, SIX_MONTHS)[1:]:
        roomy.state.add_incident(
            "PAPI001", "on the edge", created_at=edge[0], status="resolved", log=False
        )

    async with PagerDutyClient(roomy.base_url, TOKEN, rate_per_minute=FAST) as pd:
        incidents = await pd.list_incidents(since=since, until=until)

    windows = split_windows(since, until, SIX_MONTHS)
    assert len(windows) == math.ceil(14 / 6) == 3
    everything = roomy.state.list_incidents(date_range="all")
    expected = [i for i in everything if since <= _created(i) < until]
    assert len(incidents) == len(expected) == 426 + 2
    assert sorted(i.id for i in incidents) == sorted(i["id"] for i in expected)
    assert [i.created_at for i in incidents] == sorted(i.created_at for i in incidents)
    # Each window paged completely: ceil(n / 100) requests per window, nothing more.
    per_window = [sum(1 for i in expected if start <= _created(i) < end) for start, end in windows]
    assert pd.counter[("GET", "/incidents")] == sum(max(1, math.ceil(n / 100)) for n in per_window)
    assert roomy.state.request_count(route="GET /incidents") == pd.counter.total


async def test_an_incident_with_more_than_10000_log_entries_is_fetched_completely(roomy):
    incident = roomy.state.add_incident(
        "PWEB001", "noisy", created_at=SANDBOX_NOW - timedelta(days=2), log=False
    )
    roomy.state.add_log_entries(
        incident["id"], 10_250, start=SANDBOX_NOW - timedelta(days=2), step_s=1
    )
    # A generous timeout: on a loaded machine a 10,000-entry page can take over 10 s to serve.
    async with PagerDutyClient(roomy.base_url, TOKEN, rate_per_minute=FAST, timeout=60) as pd:
        entries = await pd.incident_log_entries(incident["id"])

    truth = roomy.state.log_entries(incident["id"])  # the sandbox's own count
    assert len(truth) >= 10_250
    assert len(entries) == len(truth)
    assert {e.id for e in entries} == {e["id"] for e in truth}
    assert [e.created_at for e in entries] == sorted(e.created_at for e in entries)
    # 100 pages reach the cap; the rest (plus the boundary second, read twice) by narrowing `until`.
    rest = len(truth) - 10_000 + 1
    pages = pd.counter[("GET", "/incidents/{id}/log_entries")] - pd.counter.retries
    assert pages == 100 + math.ceil(rest / 100)


async def test_with_total_known_the_remaining_pages_are_fetched_concurrently(dev_account):
    latency = 0.1
    faults = Faults(latency_s=latency)
    with running_sandbox(
        dev_account, clock=Clock(SANDBOX_NOW), faults=faults, rate_per_minute=FAST
    ) as sb:
        incident = sb.state.add_incident("PWEB001", "chatty", log=False)
        sb.state.add_log_entries(incident["id"], 1_000, start=SANDBOX_NOW, step_s=1)
        pages = math.ceil(len(sb.state.log_entries(incident["id"])) / 100)
        transport = InFlight()
        async with PagerDutyClient(
            sb.base_url, TOKEN, rate_per_minute=FAST, transport=transport
        ) as pd:
            entries = await pd.incident_log_entries(incident["id"])

    assert len(entries) >= 1_000
    assert pd.counter.total == pages
    # After the first page, all the others at once. (How fast that is, is a benchmark's
    # question, not a unit test's: `python -m bench.log_entries`.)
    assert transport.peak == pages - 1
