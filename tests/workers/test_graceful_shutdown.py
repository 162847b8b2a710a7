"""`incident-agent serve` on SIGTERM (a deploy, a scale-in): it stops accepting work,
lets a write in progress finish within `INCIDENT_AGENT_SHUTDOWN_GRACE_S`, and exits 0;
a write that cannot finish in the grace has its claim released at once (failed, for
`retry`), and a webhook event cut short is put back for the next worker.

One worker on Postgres and Redis (tests/workers/cluster.py), started again after each test;
and the app in process on the SQLite file, for the embedded default.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from agent.approvals import Approver
from agent.approvals.store import ApprovalStore
from agent.checkpoint import open_checkpointer
from agent.config import Settings
from agent.pagerduty.sandbox import RunningSandbox
from agent.runner import Runner
from agent.runtime import open_services
from agent.surfaces.server import stop_work
from tests.fakes.slack import FakeSlack
from tests.slack.conftest import (  # noqa: F401 - fixtures
    ALICE,
    dev_account,
    fake_slack,
    pause,
    running_server,
    sandbox,
    settings,
    settle,
)
from tests.workers.cluster import Cluster, running_cluster, running_holding_proxy

pytestmark = pytest.mark.slow

GRACE_S = 6.0
EXIT_S = GRACE_S + 30  # the grace, then closing the pools (a loaded machine is slow)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("shutdown"), n=1,
                         INCIDENT_AGENT_SHUTDOWN_GRACE_S=str(GRACE_S)) as c:
        yield c


@pytest.fixture
def one(cluster: Cluster) -> Cluster:
    cluster.up()
    cluster.proxy.clear()
    return cluster


def refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=2)
    except httpx.ConnectError:
        return True
    return False


async def test_sigterm_lets_a_slow_write_finish_once_and_exits_0(one: Cluster) -> None:
    [worker] = one.workers
    thread = await one.alert(worker, "Public API p99 latency at 4 s after the 14:02 deploy (critical)")
    slow = one.proxy.hold("POST", "/incidents")
    assert (await one.click_approve(thread, worker)).status_code == 200
    assert await asyncio.to_thread(slow.reached.wait, 60), "the write never reached PagerDuty"

    worker.terminate()
    # It takes nothing new (the port is closed) while its write is still held.
    await one.until(lambda: refused(worker.url), within_s=20, what="the port to close")
    assert worker.alive
    slow.release()
    assert await asyncio.to_thread(worker.proc.wait, EXIT_S) == 0, worker.log()[-3000:]  # type: ignore[union-attr]

    assert len(one.incidents_of(thread)) == 1
    [(status,)] = one.sql("SELECT status FROM approvals WHERE thread_id=%s", thread)
    assert status == "done"
    assert one.sql("SELECT status, attempts FROM write_records WHERE thread_id=%s AND step='write'",
                   thread) == [("landed", 1)]


async def test_sigterm_past_the_grace_releases_the_claim_for_retry(one: Cluster) -> None:
    [worker] = one.workers
    thread = await one.alert(worker, "Public API pods crash looping after config push (critical)")
    stuck = one.proxy.add("POST", "/incidents", "after")  # lands; its answer never comes
    assert (await one.click_approve(thread, worker)).status_code == 200
    assert await asyncio.to_thread(stuck.reached.wait, 60), "the write never reached PagerDuty"

    worker.terminate()
    assert await asyncio.to_thread(worker.proc.wait, EXIT_S) == 0, worker.log()[-3000:]  # type: ignore[union-attr]
    stuck.release()
    # Released by the worker itself (no lease left to wait out, whichever host looks).
    [(holder, lease)] = one.sql("SELECT holder_pid, lease_until FROM approvals WHERE thread_id=%s",
                                thread)
    assert holder is None and lease == 0
    code, listed = one.cli("approvals")
    [entry] = [a for a in listed if a["thread_id"] == thread]
    assert entry["status"] == "failed", entry
    assert "shut down before the write finished" in entry["error"]
    assert f"incident-agent retry {thread}" in entry["error"]

    code, done = one.cli("retry", thread)
    assert code == 0 and done["status"] == "done", done
    assert len(one.incidents_of(thread)) == 1
    [(landed,)] = one.sql("SELECT status FROM write_records WHERE thread_id=%s AND step='write'",
                          thread)
    assert landed == "landed"


async def test_a_webhook_event_cut_short_is_put_back_and_handled_once(one: Cluster) -> None:
    [worker] = one.workers
    [incident] = one.sandbox.state.list_incidents(statuses=["resolved"])[:1]
    event = {"id": f"01SHT{uuid.uuid4().hex[:10].upper()}", "event_type": "incident.resolved",
             "resource_type": "incident",
             "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
             "data": {"id": incident["id"], "type": "incident", "status": "resolved"}}
    stuck = one.proxy.hold("GET", rf"/incidents/{incident['id']}.*")  # the post-mortem's reads
    body, headers = one.webhook(event)
    async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
        r = await http.post("/webhooks/pagerduty", content=body, headers=headers)
    assert r.status_code == 202, r.text
    assert await asyncio.to_thread(stuck.reached.wait, 60), "the post-mortem never started"

    worker.terminate()
    assert await asyncio.to_thread(worker.proc.wait, EXIT_S) == 0, worker.log()[-3000:]  # type: ignore[union-attr]
    [(started, finished)] = one.sql(
        "SELECT started_at, finished_at FROM pagerduty_webhook_events WHERE event_id=%s", event["id"])
    assert started is None and finished is None  # put back, not lost as started
    one.proxy.clear()

    one.up()  # the next worker to start takes it up
    await one.until(lambda: one.sql("SELECT 1 FROM pagerduty_webhook_events WHERE event_id=%s"
                                    " AND finished_at IS NOT NULL AND error IS NULL", event["id"]),
                    within_s=60, what="the event to be handled")
    threads = one.sql("SELECT thread_id FROM approvals WHERE graph='postmortem' AND thread_id"
                      " LIKE %s", f"postmortem-{incident['id']}-%")
    assert len(threads) == 1, threads


async def test_on_sqlite_a_write_past_the_grace_is_released_when_the_app_stops(
    settings: Settings, fake_slack: FakeSlack, sandbox: RunningSandbox  # noqa: F811
) -> None:
    """The embedded default (one worker, the SQLite file), in process: the same release."""
    from graphs.incident_response import build_graph

    with running_holding_proxy(sandbox.base_url) as proxy:
        settings = settings.model_copy(update={"pagerduty_api_url": proxy.base_url,
                                               "incident_agent_shutdown_grace_s": 1.0})
        outcome = await pause(settings)
        stuck = proxy.add("POST", "/incidents", "after")
        async with running_server(settings, fake_slack):
            assert (await fake_slack.click("hitl_approve", user=ALICE)).status_code == 200
            assert await asyncio.to_thread(stuck.reached.wait, 60), "the write never reached PagerDuty"
        stuck.release()  # the app stopped (its lifespan ended) with the write still held

        store = ApprovalStore(settings.incident_agent_checkpoint)
        try:
            _, pending = await store.get(outcome.thread_id)
        finally:
            await store.aclose()
        assert pending is not None and pending.stranded and pending.kind == "failed"
        assert "shut down before the write finished" in (pending.error or "")
        async with open_services(settings) as services, open_checkpointer(
            settings.incident_agent_checkpoint
        ) as saver:
            runner = Runner(build_graph(), services, saver, surface="cli")
            done = await runner.retry(outcome.thread_id, Approver(name="sre", source="cli"))
        assert done.status == "done", done.report
        assert len(sandbox.state.list_incidents(incident_key=f"incident-agent/{outcome.thread_id}")) == 1


async def test_a_click_reaching_a_stopping_worker_changes_nothing_and_says_so(
    settings: Settings, fake_slack: FakeSlack, sandbox: RunningSandbox  # noqa: F811
) -> None:
    """A click already accepted when the shutdown began: refused before any claim, so the
    approval still waits and the person clicks again (another worker answers)."""
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await stop_work(list(app.state.runners.values()), None, grace_s=0)
        assert (await fake_slack.click("hitl_approve", user=ALICE)).status_code == 200
        await settle(app)
    [told] = fake_slack.state.ephemerals_for(ALICE)
    assert "shutting down" in told.text and "another worker" in told.text
    store = ApprovalStore(settings.incident_agent_checkpoint)
    try:
        status, pending = await store.get(outcome.thread_id)
    finally:
        await store.aclose()
    assert status == "pending" and pending is not None and pending.kind == "awaiting_approval"
    assert sandbox.state.list_incidents(incident_key=f"incident-agent/{outcome.thread_id}") == []
