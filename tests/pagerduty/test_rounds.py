"""A listing's remaining pages go out in as few rounds as the round trip warrants:
each connection costs a TLS handshake at both ends, each round a round trip."""

from __future__ import annotations

import asyncio
from typing import Any

from agent.pagerduty.pagination import Paginator

ITEMS = [{"id": f"T{i:04d}"} for i in range(2_300)]  # the first page, then 22


def _fetch(delay_s: float, flight: dict[str, int]) -> Any:
    async def fetch(path: str, params: dict[str, Any]) -> dict[str, Any]:
        flight["now"] += 1
        flight["peak"] = max(flight["peak"], flight["now"])
        await asyncio.sleep(delay_s)
        flight["now"] -= 1
        start = params["offset"]
        page = ITEMS[start : start + params["limit"]]
        return {"teams": page, "more": start + len(page) < len(ITEMS), "total": len(ITEMS)}

    return fetch


async def test_short_round_trips_spread_pages_over_fewer_connections() -> None:
    flight = {"now": 0, "peak": 0}
    pages = Paginator(_fetch(0.01, flight), concurrency=24, connection_cost_s=0.008)
    got = await pages.list_all("/teams")
    assert [t["id"] for t in got] == [t["id"] for t in ITEMS]
    assert 1 < flight["peak"] <= 11  # two rounds or more, not 22 connections at once


async def test_long_round_trips_fetch_every_page_at_once() -> None:
    flight = {"now": 0, "peak": 0}
    pages = Paginator(_fetch(0.2, flight), concurrency=24, connection_cost_s=0.008)
    assert len(await pages.list_all("/teams")) == len(ITEMS)
    assert flight["peak"] == 22


async def test_without_a_connection_cost_rounds_are_as_few_as_allowed() -> None:
    flight = {"now": 0, "peak": 0}
    assert len(await Paginator(_fetch(0.01, flight), concurrency=24).list_all("/teams")) == 2300
    assert flight["peak"] == 22
