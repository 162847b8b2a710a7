"""The official `pagerduty` package's EventsApiV2Client, pointed at `serve`
(over TLS: it refuses plain http), triggers, acknowledges and resolves
through the agent, each step an approval."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from pagerduty import EventsApiV2Client

from tests.intake.conftest import ROUTING_KEY, Agent, make_agent

pytestmark = pytest.mark.slow


@pytest.fixture
async def tls_agent(tmp_path: Path):
    async for a in make_agent(tmp_path, tls=True):
        yield a


async def test_events_api_v2_client_trigger_ack_resolve(tls_agent: Agent) -> None:
    assert tls_agent.cert is not None
    client = EventsApiV2Client(
        ROUTING_KEY,
        base_url=tls_agent.base_url,
        verify=ssl.create_default_context(cafile=tls_agent.cert),
    )
    key = await asyncio.to_thread(
        client.trigger,
        "Public API 5xx ratio 12% on /v1/orders",
        "prometheus-eu-1",
        dedup_key="api-5xx",
        severity="error",
        custom_details={"ratio": "12%"},
    )
    assert key == "api-5xx"
    [pending] = await tls_agent.wait_pending(1)
    args = pending.request["action_requests"][0]["args"]
    assert (args["service_id"], args["urgency"]) == ("PAPI001", "high")
    assert (await tls_agent.approve(pending.thread_id)).status == "done"
    [incident] = [
        i for i in await tls_agent.incidents(statuses=["triggered"])
        if i["service"]["id"] == "PAPI001"
    ]  # fmt: skip

    await asyncio.to_thread(client.acknowledge, "api-5xx")
    [ack] = await tls_agent.wait_pending(1)
    assert ack.request["action_requests"][0]["name"] == "acknowledge"
    await tls_agent.approve(ack.thread_id)

    await asyncio.to_thread(client.resolve, "api-5xx")
    [res] = await tls_agent.wait_pending(1)
    assert res.request["action_requests"][0]["name"] == "resolve"
    await tls_agent.approve(res.thread_id)
    r = await tls_agent.api.get(f"/incidents/{incident['id']}")
    assert r.json()["incident"]["status"] == "resolved"
