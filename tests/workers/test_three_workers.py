"""Three `incident-agent serve` workers on one Postgres database and one Redis, as
behind a load balancer: any worker answers any click, a worker killed mid-write
leaves a thread that `retry` finishes with one write, and webhook deliveries
spread over the three (duplicates included) start each event's work once.

One set of servers for the module (tests/workers/cluster.py); each test first
brings back any worker a test before it killed.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.workers.cluster import Cluster, Worker, running_cluster

pytestmark = pytest.mark.slow

# Each test's alert names a problem of its own: the same one twice would join the first
# alert's run (a storm) instead of asking again.
EVENTS = 50
DELIVERIES = 300


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("workers")) as c:
        yield c


@pytest.fixture
def workers(cluster: Cluster) -> Cluster:
    cluster.up()
    cluster.proxy.clear()
    return cluster


async def test_paused_through_worker_1_approved_by_a_click_on_worker_2(workers: Cluster) -> None:
    one, two, _ = workers.workers
    thread = await workers.alert(one, "High latency on the Public API: p99 3.1s in us-central1 (critical)")
    assert workers.incidents_of(thread) == []

    held = workers.proxy.hold("POST", "/incidents")  # to see who is writing
    response = await workers.click_approve(thread, two)
    assert response.status_code == 200
    assert await asyncio.to_thread(held.reached.wait, 60), "the write never reached PagerDuty"
    [(holder,)] = workers.sql("SELECT holder_pid FROM approvals WHERE thread_id=%s", thread)
    assert holder == two.pid  # worker 2 claimed the thread worker 1 paused, and writes it
    held.release()
    await workers.until(lambda: workers.sql(
        "SELECT 1 FROM approvals WHERE thread_id=%s AND status='done'", thread), what="done")

    [incident] = workers.incidents_of(thread)
    code, audit = workers.cli("audit", thread)
    assert code == 0
    [entry] = audit
    assert entry["decision"] == "approve" and entry["approver"]["source"] == "slack"
    writes = [t for t in entry["attempts"] if t["step"] == "write"]
    assert [t["outcome"] for t in writes] == ["landed"], entry["attempts"]
    assert incident["id"] in str(entry)


def resolved_incidents(cluster: Cluster, n: int) -> list[str]:
    """`n` incidents opened and resolved by hand (straight into the sandbox's state)."""
    ids = []
    for i in range(n):
        body = {"type": "incident", "title": f"Checkout queue backlog #{i}",
                "service": {"id": "PAPI001", "type": "service_reference"}}
        incident = cluster.sandbox.state.create_incident(body, "david.miller@contoso.example")
        cluster.sandbox.state.update_incident(incident["id"], {"type": "incident", "status": "resolved"},
                                              "david.miller@contoso.example")
        ids.append(incident["id"])
    return ids


async def test_300_webhook_deliveries_over_three_workers_start_each_event_once(
    workers: Cluster,
) -> None:
    """50 incident.resolved events, each delivered 6 times (PagerDuty retries, replays),
    twice to each worker, all at once in a random order: 50 post-mortems, none twice."""
    incidents = resolved_incidents(workers, EVENTS)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    events: list[dict[str, Any]] = [{"id": f"01WRK{uuid.uuid4().hex[:10].upper()}", "event_type": "incident.resolved",
               "resource_type": "incident", "occurred_at": now,
               "data": {"id": incident, "type": "incident", "title": f"backlog {n}",
                        "status": "resolved"}} for n, incident in enumerate(incidents)]
    deliveries = [(event, worker) for event in events for worker in workers.workers * 2]
    random.Random(14).shuffle(deliveries)
    assert len(deliveries) == DELIVERIES

    gate = asyncio.Semaphore(30)
    async with AsyncExitStack() as stack:
        clients = {w.name: await stack.enter_async_context(
            httpx.AsyncClient(base_url=w.url, timeout=60)) for w in workers.workers}

        async def deliver(event: dict[str, Any], worker: Worker) -> str:
            body, headers = workers.webhook(event)
            async with gate:
                r = await clients[worker.name].post("/webhooks/pagerduty", content=body,
                                                    headers=headers)
            assert r.status_code in (200, 202), r.text
            return str(r.json()["status"])

        answers = await asyncio.gather(*(deliver(e, w) for e, w in deliveries))
    assert sorted(set(answers)) == ["accepted", "duplicate"]
    assert answers.count("accepted") == EVENTS  # one delivery of each was new, wherever it went

    ids = [e["id"] for e in events]
    done_sql = ("SELECT event_id, error FROM pagerduty_webhook_events WHERE event_id = ANY(%s)"
                " AND finished_at IS NOT NULL")
    await workers.until(lambda: len(workers.sql(done_sql, ids)) == EVENTS, within_s=240,
                        what="every event finished")
    finished = workers.sql(done_sql, ids)
    assert [error for _, error in finished] == [None] * EVENTS
    # One post-mortem per event (its thread waits for its note's approval), none twice.
    started = workers.sql("SELECT thread_id FROM approvals WHERE graph = 'postmortem'")
    per_incident = Counter(t.split("-")[1] for (t,) in started)
    assert {i: per_incident[i] for i in incidents} == dict.fromkeys(incidents, 1)


async def test_worker_killed_after_its_write_landed_then_retry_writes_nothing_twice(
    workers: Cluster,
) -> None:
    """The hardest moment (last in the module: it leaves a worker dead): the incident is in
    PagerDuty and the worker dies before reading the answer. (Killed before the write lands
    is tests/storage/test_lifecycle_postgres.py's, through the CLI.)"""
    one, two, three = workers.workers
    thread = await workers.alert(three, "Public API gateway TLS certificate expired (critical)")
    rule = workers.proxy.add("POST", "/incidents", "after")
    assert (await workers.click_approve(thread, two)).status_code == 200
    assert await asyncio.to_thread(rule.reached.wait, 60), "the write never reached PagerDuty"
    two.kill9()
    rule.release()
    assert len(workers.incidents_of(thread)) == 1

    # A terminal (any worker's) sees the thread failed, with what to do.
    code, listed = workers.cli("approvals")
    [entry] = [a for a in listed if a["thread_id"] == thread]
    assert entry["status"] == "failed" and f"incident-agent retry {thread}" in entry["error"], entry
    code, done = workers.cli("retry", thread)
    assert code == 0 and done["status"] == "done", done
    assert len(workers.incidents_of(thread)) == 1
    code, audit = workers.cli("audit", thread)
    [entry] = audit
    assert [t["outcome"] for t in entry["attempts"] if t["step"] == "write"][-1] == "found landed"
    assert one.alive and three.alive
