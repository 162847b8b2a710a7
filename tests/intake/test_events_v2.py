"""`POST /v2/enqueue`: PagerDuty's Events API v2, served by the agent over
real HTTP; each trigger becomes a run that waits for a human."""

from __future__ import annotations

import asyncio

import pytest

from tests.intake.conftest import OTHER_KEY, ROUTING_KEY, Agent

pytestmark = pytest.mark.slow


def trigger(summary: str, *, key: str | None = None, routing_key: str = ROUTING_KEY, **payload):
    body = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {"summary": summary, "source": "prometheus-eu-1", "severity": "critical"}
        | payload,
    }
    if key:
        body["dedup_key"] = key
    return body


async def post(agent: Agent, body) -> tuple[int, dict]:
    async with agent.client() as c:
        r = await c.post("/v2/enqueue", json=body)
        return r.status_code, r.json()


async def test_trigger_approve_acknowledge_resolve(agent: Agent) -> None:
    status, answer = await post(agent, trigger("p99 latency 3.1s on /v1/orders", key="lat-1"))
    assert (status, answer["status"], answer["dedup_key"]) == (202, "success", "lat-1")
    [pending] = await agent.wait_pending(1)
    proposal = pending.request["action_requests"][0]["args"]
    assert pending.request["action_requests"][0]["name"] == "create_incident"
    assert proposal["service_id"] == "PAPI001"  # the routing key's service
    done = await agent.approve(pending.thread_id)
    assert done.status == "done", done.report
    [incident] = await agent.incidents(statuses=["triggered"])
    assert incident["service"]["id"] == "PAPI001"

    status, answer = await post(
        agent, {"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": "lat-1"}
    )
    assert status == 202 and answer["intake"]["status"] == "update"
    [ack] = await agent.wait_pending(1)
    assert ack.request["action_requests"][0]["name"] == "acknowledge"
    await agent.approve(ack.thread_id)
    [incident] = await agent.incidents(statuses=["acknowledged"])

    status, answer = await post(
        agent, {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "lat-1"}
    )
    assert answer["intake"]["status"] == "update"
    [res] = await agent.wait_pending(1)
    assert res.request["action_requests"][0]["name"] == "resolve"
    await agent.approve(res.thread_id)
    r = await agent.api.get(f"/incidents/{incident['id']}")
    assert r.json()["incident"]["status"] == "resolved"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"event_action": "trigger", "payload": {}}, "'routing_key' is missing or blank"),
        (trigger("x") | {"event_action": "explode"}, "'event_action' is missing or invalid"),
        (trigger("x", severity="apocalyptic"), "'payload.severity' is invalid"),
        (trigger(""), "'payload.summary' is missing or blank"),
        ({"routing_key": ROUTING_KEY, "event_action": "resolve"}, "'dedup_key' is required"),
        (trigger("x", routing_key="NOT-A-KEY"), "Invalid routing key"),
    ],
)
async def test_invalid_events_get_pagerdutys_400(agent: Agent, body, error) -> None:
    status, answer = await post(agent, body)
    assert status == 400 and answer["status"] == "invalid event"
    assert any(e.startswith(error) for e in answer["errors"]), answer
    assert await agent.rows() == []


async def test_oversized_body_is_refused_unread(agent: Agent) -> None:
    big = trigger("x", custom_details={"blob": "y" * 600_000})
    status, _ = await post(agent, big)
    assert status == 413
    assert await agent.rows() == []


async def test_a_storm_of_200_is_one_approval_with_the_count(agent: Agent) -> None:
    def body(i: int) -> dict:
        # Half share a dedup_key; the rest tell the same problem in other numbers.
        if i % 2:
            return trigger("Billing webhooks failing: 401 from Stripe", key="stripe-401",
                           routing_key=OTHER_KEY)  # fmt: skip
        return trigger(f"Billing webhooks failing: 401 from Stripe ({i} in the last minute)",
                       routing_key=OTHER_KEY)  # fmt: skip

    loop = asyncio.get_running_loop()
    started = loop.time()
    async with agent.client() as c:
        answers = await asyncio.gather(*(c.post("/v2/enqueue", json=body(i)) for i in range(200)))
    assert {a.status_code for a in answers} == {202}
    assert loop.time() - started < 10
    [pending] = await agent.wait_pending(1)
    assert pending.request["action_requests"][0]["args"]["service_id"] == "PBIL001"
    [row] = [r for r in await agent.rows() if r["state"] == "open"]
    assert (row["thread_id"], row["count"]) == (pending.thread_id, 200)
    started_runs = [a.json()["intake"]["status"] for a in answers].count("started")
    assert started_runs == 1
    assert len(await agent.pending()) == 1


async def test_the_alerts_fields_travel_with_the_run(agent: Agent) -> None:
    body = trigger("Error budget burn 14x", component="orders-api", group="prod")
    body["payload"]["custom_details"] = {"burn_rate": 14, "runbook": "https://runbooks/orders"}
    await post(agent, body)
    [pending] = await agent.wait_pending(1)
    args = pending.request["action_requests"][0]["args"]
    assert args["title"] == "Error budget burn 14x (critical)"
    assert "burn_rate: 14" in args["details"] and "component=orders-api" in args["details"]
