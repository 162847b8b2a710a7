"""Rows another worker wrote: one it opened a moment ago (its run not checkpointed yet) is
joined, not duplicated; one whose run has shown no sign of life for STALLED_S is replaced."""

from __future__ import annotations

import time

import pytest

from agent.intake.receiver import STALLED_S
from agent.intake.store import AlertStore, default_db_path
from tests.intake.conftest import OTHER_KEY, ROUTING_KEY, Agent

pytestmark = pytest.mark.slow


def trigger(summary: str, routing_key: str) -> dict:
    return {"routing_key": routing_key, "event_action": "trigger",
            "payload": {"summary": summary, "source": "prom-1", "severity": "critical"}}


async def test_a_fresh_row_is_joined_and_a_stalled_one_replaced(agent: Agent) -> None:
    store = AlertStore(default_db_path(agent.settings), agent.settings)
    now = time.time()
    store.create(key="fresh", sender="events_v2", service_hint="billing api", thread_id="otherworker1",
                 summary="Billing webhooks failing: 401 from Stripe", count=1, now=now, latest={})
    stalled, _ = store.create(key="stalled", sender="events_v2", service_hint="papi001",
                              thread_id="deadworker01", summary="p99 latency 3.1s on /v1/orders",
                              count=1, now=now - STALLED_S - 60, latest={})
    store.close_db()
    async with agent.client() as c:
        joined = (await c.post("/v2/enqueue", json=trigger(
            "Billing webhooks failing: 401 from Stripe (3 in the last minute)", OTHER_KEY))).json()
        started = (await c.post("/v2/enqueue", json=trigger("p99 latency 4.2s on /v1/orders",
                                                            ROUTING_KEY))).json()
    assert joined["intake"] == {"status": "joined", "thread_id": "otherworker1", "count": 2}
    assert started["intake"]["status"] == "started"
    [pending] = await agent.wait_pending(1)
    assert pending.thread_id == started["intake"]["thread_id"]
    rows = {r["thread_id"]: r for r in await agent.rows()}
    assert rows["deadworker01"]["state"] == "closed" and "run ended" in rows["deadworker01"]["note"]
    assert rows["otherworker1"]["state"] == "open"
