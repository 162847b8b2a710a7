"""An alert storm spread over three `serve` workers that share one Postgres database:
one run, so one pending approval, per problem, whichever worker each alert reached;
every other alert joins it, and the counts add up to the alerts sent."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from agent.approvals.store import open_approval_store
from agent.pagerduty.sandbox import Clock, running_sandbox
from tests.e2e.conftest import ACCOUNT, NOW
from tests.intake.conftest import OTHER_KEY, ROUTING_KEY, TOKEN, intake_settings, serving
from tests.storage.conftest import pg_url  # noqa: F401 -- a fresh Postgres database per test

pytestmark = pytest.mark.slow

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def events_v2(routing_key: str, summary: str, key: str | None = None) -> tuple[str, dict, dict]:
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": "trigger",
                            "payload": {"summary": summary, "source": "prom-1", "severity": "critical"}}
    if key:
        body["dedup_key"] = key
    return "/v2/enqueue", {}, body


def storm(n: int) -> list[tuple[int, tuple[str, dict, dict]]]:
    """`n` alerts about four problems (three services, two senders), in many words."""
    made = []
    for i in range(n):
        problem = i % 4
        if problem == 0:  # half with the sender's key, half told again with a count
            alert = events_v2(OTHER_KEY, "Billing webhooks failing: 401 from Stripe"
                              + (f" ({i} in the last minute)" if i % 8 else ""),
                              "stripe-401" if i % 8 == 0 else None)
        elif problem == 1:
            alert = events_v2(ROUTING_KEY, f"p99 latency {i / 10:.1f}s on /v1/orders")
        elif problem == 2:
            alert = events_v2(ROUTING_KEY, f"Public API returning 502 on /v1/orders for all partners"
                                           f" ({i} errors/s)")
        else:
            alert = ("/intake/generic", BEARER,
                     {"alert_id": f"grafana-{i}", "title": f"Typesense query latency p95 above {i}s",
                      "state": "alerting", "tags": {"severity": "warning", "service": "search"}})
        made.append((problem, alert))
    return made


async def pending_approvals(settings) -> list:
    store = await asyncio.to_thread(open_approval_store, settings)
    try:
        return await store.pending()
    finally:
        await store.aclose()


@pytest.mark.timeout(400)
async def test_a_storm_over_three_workers_is_one_approval_per_problem(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    sent = storm(132)
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb, ExitStack() as stack:
        settings = intake_settings(sb.base_url, tmp_path, incident_agent_database_url=SecretStr(pg_url))
        workers = [stack.enter_context(serving(settings))[0] for _ in range(3)]
        clients = [httpx.AsyncClient(base_url=w, timeout=60) for w in workers]
        try:
            answers = await asyncio.gather(*(
                clients[i % 3].post(path, json=body, headers=headers)
                for i, (_, (path, headers, body)) in enumerate(sent)))
            assert {a.status_code for a in answers} == {202}, [a.text for a in answers if a.status_code != 202]
            outcomes = [a.json().get("intake", a.json()) for a in answers]
            started = [o["thread_id"] for o in outcomes if o["status"] == "started"]
            assert len(started) == 4, outcomes
            assert {o["status"] for o in outcomes} == {"started", "joined"}

            # Each problem's run pauses for a human, once; no straggler opens a fifth.
            deadline = time.monotonic() + 180
            while len(pending := await pending_approvals(settings)) < 4:
                assert time.monotonic() < deadline, pending
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)
            pending = await pending_approvals(settings)
            assert sorted(p.thread_id for p in pending) == sorted(started)

            # Every worker lists the same rows: four open, one per problem, counts adding up.
            listed = [(await c.get("/intake/alerts", headers=BEARER)).json()["alerts"] for c in clients]
            assert listed[0] == listed[1] == listed[2]
            rows = {r["thread_id"]: r for r in listed[0] if r["state"] == "open"}
            assert set(rows) == set(started) and len(listed[0]) == 4
            assert sum(r["count"] for r in rows.values()) == len(sent)
            thread_of = {o["thread_id"] for o in outcomes}
            assert thread_of == set(started)
            for problem in range(4):
                threads = {o["thread_id"] for (p, _), o in zip(sent, outcomes, strict=True) if p == problem}
                [thread] = threads
                assert rows[thread]["count"] == sum(1 for p, _ in sent if p == problem)
        finally:
            for c in clients:
                await c.aclose()
