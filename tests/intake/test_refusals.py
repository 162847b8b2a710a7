"""Endpoints whose secret is not configured refuse everything; a message
that is not an incident ends its run without asking anyone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.intake.conftest import ROUTING_KEY, TOKEN, Agent, make_agent

pytestmark = pytest.mark.slow


@pytest.fixture
async def bare_agent(tmp_path: Path):
    async for a in make_agent(
        tmp_path, intake_routing_keys={}, intake_tokens=[], intake_hmac_secrets=[]
    ):
        yield a


async def test_unconfigured_endpoints_refuse(bare_agent: Agent) -> None:
    event = {"routing_key": ROUTING_KEY, "event_action": "trigger",
             "payload": {"summary": "x down", "source": "s", "severity": "critical"}}  # fmt: skip
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with bare_agent.client() as c:
        assert (await c.post("/v2/enqueue", json=event)).status_code == 401
        am = {"version": "4", "groupKey": "g", "status": "firing", "alerts": []}
        assert (await c.post("/intake/alertmanager", json=am, headers=bearer)).status_code == 401
        assert (await c.post("/intake/generic", json={}, headers=bearer)).status_code == 401


async def test_a_review_request_sent_as_an_event_asks_nobody(agent: Agent) -> None:
    event = {"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": "pr-12",
             "payload": {"summary": "Please review PR #12: retry budget for /v1/orders",
                         "source": "github", "severity": "info"}}  # fmt: skip
    async with agent.client() as c:
        r = await c.post("/v2/enqueue", json=event)
    assert r.status_code == 202
    for _ in range(100):
        rows = await agent.rows()
        if rows and rows[0]["state"] == "closed":
            break
        await asyncio.sleep(0.1)
    assert rows[0]["state"] == "closed" and "not_incident" in rows[0]["note"]
    assert await agent.pending() == []
