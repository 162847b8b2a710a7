"""`POST /intake/generic`: any JSON through the field mapping in settings,
authenticated by a Bearer token or an HMAC-SHA256 signature of the body."""

from __future__ import annotations

import json

import pytest

from agent.intake.auth import sign
from tests.intake.conftest import HMAC_SECRET, TOKEN, Agent

pytestmark = pytest.mark.slow


def grafana_like(state: str = "alerting") -> dict:
    return {
        "alert_id": "grafana-77",
        "title": "Typesense query latency p95 above 2s",
        "state": state,
        "tags": {"severity": "warning", "service": "search"},
        "body": {"panel": "Search latency", "value": "2.4s"},
    }


async def test_hmac_signed_alert_becomes_a_run_and_its_resolve_is_noted(agent: Agent) -> None:
    raw = json.dumps(grafana_like()).encode()
    headers = {"X-Signature": sign(raw, HMAC_SECRET), "Content-Type": "application/json"}
    async with agent.client() as c:
        r = await c.post("/intake/generic", content=raw, headers=headers)
    assert r.status_code == 202 and r.json()["status"] == "started"
    [pending] = await agent.wait_pending(1)
    args = pending.request["action_requests"][0]["args"]
    assert args["service_id"] == "PSRC001" and args["urgency"] == "low"

    # Resolved before anyone approved: noted on the row, nothing new asked.
    raw = json.dumps(grafana_like("ok")).encode()
    async with agent.client() as c:
        r = await c.post("/intake/generic", content=raw,
                         headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert r.json()["status"] == "noted"
    assert len(await agent.pending()) == 1
    [row] = await agent.rows()
    assert "before anyone approved" in row["note"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Signature": "sha256=" + "0" * 64},
        {"Authorization": "Bearer wrong"},
        {"X-Signature": sign(b"another body", HMAC_SECRET)},
    ],
)
async def test_unsigned_or_wrongly_signed_is_refused(agent: Agent, headers) -> None:
    async with agent.client() as c:
        r = await c.post("/intake/generic", content=json.dumps(grafana_like()).encode(),
                         headers=headers)  # fmt: skip
    assert r.status_code == 401
    assert await agent.rows() == []


async def test_a_body_without_the_mapped_summary_is_a_400(agent: Agent) -> None:
    async with agent.client() as c:
        r = await c.post("/intake/generic", json={"something": "else"},
                         headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert r.status_code == 400 and "no summary at 'title'" in r.json()["errors"][0]
