"""Postgres drops every connection or restarts under two live serve workers, between a
pause and its approval and in the middle of an approved write; and an SRE answers from
a terminal while both workers are live. Each time: exactly one write in PagerDuty, and
the thread ends where a human sees it (done, or failed with a message and `retry`).

Postgres and Redis here are the tests' own (tests/chaos/services.py): a restart is
`pg_ctl stop -m immediate` (a crash) and a start on the same port.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.chaos.cluster import DB, alert, slack_text
from tests.chaos.services import PrivatePostgres
from tests.workers.cluster import ALICE, Cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


@pytest.fixture
def workers(cluster: Cluster) -> Cluster:
    for w in cluster.workers:
        assert w.alive, f"{w.name} died:\n{w.log()[-3000:]}"
    cluster.proxy.clear()
    return cluster


async def done(cluster: Cluster, thread: str, within_s: float = 90) -> None:
    await cluster.until(lambda: cluster.sql(
        "SELECT 1 FROM approvals WHERE thread_id=%s AND status='done'", thread),
        within_s=within_s, what=f"{thread} done")


async def ready_again(cluster: Cluster, within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while True:
        codes = []
        async with httpx.AsyncClient(timeout=5) as http:
            for w in cluster.workers:
                try:
                    codes.append((await http.get(f"{w.url}/readyz")).status_code)
                except httpx.TransportError:
                    codes.append(0)
        if codes == [200] * len(cluster.workers):
            return
        assert time.monotonic() < deadline, codes
        await asyncio.sleep(0.5)


async def test_every_connection_dropped_between_pause_and_approval_from_the_cli(
    workers: Cluster, pg: PrivatePostgres
) -> None:
    one, _ = workers.workers
    thread = await alert(workers, one, "Public API 5xx storm in eu-west-1 (critical)")
    assert pg.drop_connections(DB) >= 2  # both workers' pools held connections

    code, listed = await asyncio.to_thread(workers.cli, "approvals")
    assert code == 0 and thread in [p["thread_id"] for p in listed]
    code, out = await asyncio.to_thread(workers.cli, "approve", thread, "--as", "sre")
    assert code == 0 and out["status"] == "done", out
    assert len(workers.incidents_of(thread)) == 1
    await workers.until(lambda: "hitl_approve" not in slack_text(workers, thread),
                        what="the Slack message shows the decision")
    await ready_again(workers)


async def test_postgres_restarted_between_pause_and_a_click_on_the_other_worker(
    workers: Cluster, pg: PrivatePostgres
) -> None:
    one, two = workers.workers
    thread = await alert(workers, one, "Checkout latency p99 4s in us-east-1 (critical)")
    pg.restart()
    response = await workers.click_approve(thread, two)
    assert response.status_code == 200
    await done(workers, thread)
    assert len(workers.incidents_of(thread)) == 1
    await ready_again(workers)


async def test_postgres_restarted_during_the_approved_write(
    workers: Cluster, pg: PrivatePostgres
) -> None:
    """The write reaches PagerDuty while Postgres is down: it lands once; the thread ends
    done, or failed with a message that `retry` finishes by finding the incident."""
    one, two = workers.workers
    thread = await alert(workers, two, "Search index lag 20 min in eu-central-1 (critical)")
    held = workers.proxy.hold("POST", "/incidents")
    response = await workers.click_approve(thread, one)
    assert response.status_code == 200
    assert await asyncio.to_thread(held.reached.wait, 60), "the write never reached PagerDuty"
    pg.stop()
    held.release()  # PagerDuty answers while the database is gone
    await workers.until(lambda: len(workers.incidents_of(thread)) == 1, what="the write landed")
    await asyncio.sleep(2)  # the worker records the result: it meets a dead database
    pg.start()
    await ready_again(workers)

    deadline = time.monotonic() + 60
    while True:  # the worker may still be retrying its bookkeeping: wait for an end state
        [(status, error)] = workers.sql(
            "SELECT status, error FROM approvals WHERE thread_id=%s", thread)
        if status in ("done", "failed"):
            break
        assert time.monotonic() < deadline, f"stranded: {status} {error}"
        await asyncio.sleep(0.5)
    if status == "failed":  # a human sees why, and retry finds the incident that landed
        assert error, "a failed thread without a message"
        code, out = await asyncio.to_thread(workers.cli, "retry", thread, "--as", "sre")
        assert code == 0 and out["status"] == "done", out
    await done(workers, thread)
    assert len(workers.incidents_of(thread)) == 1


async def test_a_terminal_and_a_slack_click_answer_the_same_pause_at_once(workers: Cluster) -> None:
    """Two workers live; an SRE runs `approve` in a terminal as Alice clicks Approve on
    worker 2: one of them writes, the other is told it was answered."""
    one, two = workers.workers
    thread = await alert(workers, one, "Payments API 503s in ap-south-1 (critical)")
    code, listed = await asyncio.to_thread(workers.cli, "approvals")
    assert code == 0 and thread in [p["thread_id"] for p in listed]

    held = workers.proxy.hold("POST", "/incidents")  # both answers arrive before the write ends
    terminal = asyncio.create_task(asyncio.to_thread(workers.cli, "approve", thread, "--as", "sre"))
    click = await workers.click_approve(thread, two)
    assert click.status_code == 200
    assert await asyncio.to_thread(held.reached.wait, 60)
    held.release()
    code, out = await terminal
    assert code in (0, 4), out  # it wrote, or it was told another answer came first
    await done(workers, thread)
    assert len(workers.incidents_of(thread)) == 1
    code, audit = await asyncio.to_thread(workers.cli, "audit", thread)
    assert code == 0
    assert [r["decision"] for r in audit] == ["approve"], audit  # one decision recorded
    code, listed = await asyncio.to_thread(workers.cli, "approvals")
    assert thread not in [p["thread_id"] for p in listed]


async def test_postgres_down_when_the_click_arrives(workers: Cluster, pg: PrivatePostgres) -> None:
    """The approver is told the answer did not count (the buttons stay), and answers
    again once the database is back: nothing written meanwhile, one write after."""
    one, two = workers.workers
    thread = await alert(workers, one, "Auth service 500s in eu-north-1 (critical)")
    pg.stop()
    try:
        click = await workers.click_approve(thread, two)
        assert click.status_code == 200  # acknowledged within Slack's 3 s
        told = await workers.until(lambda: [e.text for e in workers.slack.state.ephemerals_for(ALICE)
                                            if thread in e.text and "did not count" in e.text],
                                   within_s=60, what="the approver told the click did not count")
        assert len(told) == 1
        assert workers.incidents_of(thread) == []
        assert "hitl_approve" in slack_text(workers, thread)  # still there to click again
    finally:
        pg.start()
    await ready_again(workers)
    click = await workers.click_approve(thread, two)
    assert click.status_code == 200
    await done(workers, thread)
    assert len(workers.incidents_of(thread)) == 1


async def test_a_terminal_approve_that_loses_the_database_mid_write_says_how_to_finish(
    workers: Cluster, pg: PrivatePostgres
) -> None:
    """`approve` in a terminal; Postgres goes while PagerDuty takes the write. One line that
    names the database and the `retry` that finishes the write; `retry` then sends nothing."""
    one, _ = workers.workers
    thread = await alert(workers, one, "Invoicing jobs failing: 40% errors in eu-west-1 (critical)")
    held = workers.proxy.hold("POST", "/incidents")
    approving = asyncio.ensure_future(
        asyncio.to_thread(workers.cli, "approve", thread, "--as", "sre", timeout=180))
    assert await asyncio.to_thread(held.reached.wait, 60), "the write never reached PagerDuty"
    pg.stop()
    held.release()
    try:
        await workers.until(lambda: len(workers.incidents_of(thread)) == 1, what="the write landed")
        code, out = await approving
    finally:
        pg.start()
    assert code == 1 and out["status"] == "error", out
    assert "cannot use the database" in out["error"], out
    assert f"incident-agent retry {thread}" in out["error"], out
    assert "Traceback" not in out["error"]
    await ready_again(workers)

    code, done_ = await asyncio.to_thread(workers.cli, "retry", thread, "--as", "sre")
    assert code == 0 and done_["status"] == "done", done_
    assert len(workers.incidents_of(thread)) == 1  # found landed, not sent again
