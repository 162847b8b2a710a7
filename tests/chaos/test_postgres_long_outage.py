"""Postgres gone for longer than the pools wait (30 s) in the middle of an approved write:
the write has reached PagerDuty, the worker cannot record it. The approver is told in
Slack what happened and what to do, `approvals` lists the thread as failed with its
reason, and Approve clicked again (on another worker) finishes it without a second write.

Postgres and Redis are the tests' own (tests/chaos/services.py); a module of its own,
as the outage alone takes most of a minute.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.chaos.cluster import alert, assert_clean, slack_text
from tests.chaos.services import PASSWORD, PrivatePostgres
from tests.chaos.test_postgres_outage import done, ready_again
from tests.workers.cluster import ALICE, Cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
OUTAGE_S = 40  # past the store's pool timeout (30 s), short of the claim's lease (60 s)


async def test_a_write_whose_result_cannot_be_recorded_is_left_failed_and_finished_once(
    cluster: Cluster, pg: PrivatePostgres
) -> None:
    one, two = cluster.workers
    thread = await alert(cluster, two, "Search index lag 20 min in eu-central-1 (critical)")
    held = cluster.proxy.hold("POST", "/incidents")
    assert (await cluster.click_approve(thread, one)).status_code == 200
    assert await asyncio.to_thread(held.reached.wait, 60), "the write never reached PagerDuty"
    pg.stop()
    held.release()  # PagerDuty takes the write; the worker cannot record it
    try:
        await cluster.until(lambda: len(cluster.incidents_of(thread)) == 1, what="the write landed")
        await asyncio.sleep(OUTAGE_S)
    finally:
        pg.start()
    told = await cluster.until(
        lambda: [e.text for e in cluster.slack.state.ephemerals_for(ALICE)
                 if thread in e.text and "could not be reached while" in e.text],
        within_s=60, what="the approver told the write's result was not recorded")
    assert "click Approve again" in told[0] and f"incident-agent retry {thread}" in told[0]
    await ready_again(cluster)

    code, listed = await asyncio.to_thread(cluster.cli, "approvals")
    [row] = [p for p in listed if p["thread_id"] == thread]
    assert row["status"] == "failed" and row["error"], row  # a human sees it and why

    assert (await cluster.click_approve(thread, two)).status_code == 200  # the other worker
    await done(cluster, thread)
    assert len(cluster.incidents_of(thread)) == 1  # found landed, not written again
    await cluster.until(lambda: "hitl_approve" not in slack_text(cluster, thread),
                        what="the Slack message shows the result")
    for w in cluster.workers:
        assert w.alive
        assert_clean(w.log(), PASSWORD)
