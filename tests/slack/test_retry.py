"""A write that failed after its approval: the message says why, with Retry and Close without writing.

PagerDuty answers 502 to everything while the approver clicks Approve; the
thread pauses on `retry_write` and the same message shows the error. Retry
(once PagerDuty is back) writes exactly once; Close without writing asks for
a reason and writes nothing. Only approvers may do either.
"""

from __future__ import annotations

import pytest

from tests.slack.conftest import ALICE, MALLORY, pause, running_server, settle, shown

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(settings):
    """Few retries inside one write, so a 502 burst fails the write in a second, not a minute."""
    return settings.model_copy(update={"pagerduty_max_retries": 1})


def incidents_of(sandbox, thread_id: str) -> list[dict]:
    return sandbox.state.list_incidents(incident_key=f"incident-agent/{thread_id}")


async def _fail_the_approval(fake_slack, app, sandbox) -> None:
    sandbox.faults.burst_5xx(80, status=502)
    await fake_slack.click("hitl_approve", user=ALICE)
    await settle(app)
    sandbox.faults.clear()


async def test_a_failed_write_shows_why_and_retry_writes_once(settings, fake_slack, sandbox):
    outcome = await pause(settings, sandbox=sandbox)
    async with running_server(settings, fake_slack, sandbox) as app:
        await _fail_the_approval(fake_slack, app, sandbox)
        assert incidents_of(sandbox, outcome.thread_id) == []
        text = shown(fake_slack)
        assert "A write did not complete" in text and "server error" in text.lower(), text
        assert fake_slack.find_element("hitl_retry") and fake_slack.find_element("hitl_close")
        assert len(fake_slack.state.calls_to("chat.postMessage")) == 1  # the same message, updated

        await fake_slack.click("hitl_retry", user=MALLORY)  # not an approver: told, nothing happens
        await settle(app)
        assert incidents_of(sandbox, outcome.thread_id) == []
        assert any("not allowed" in e.text for e in fake_slack.state.ephemerals_for(MALLORY))

        await fake_slack.click("hitl_retry", user=ALICE)
        await settle(app)
    [incident] = incidents_of(sandbox, outcome.thread_id)
    text = shown(fake_slack)
    assert "Approved" in text and f"<@{ALICE}>" in text and incident["html_url"] in text
    assert not any(b["type"] == "actions" for b in fake_slack.state.messages[0].blocks)


async def test_a_failed_write_closed_without_writing_keeps_the_reason(settings, fake_slack, sandbox):
    outcome = await pause(settings, sandbox=sandbox)
    async with running_server(settings, fake_slack, sandbox) as app:
        await _fail_the_approval(fake_slack, app, sandbox)
        await fake_slack.click("hitl_close", user=ALICE)
        await settle(app)
        view = fake_slack.open_view_for(ALICE).view
        assert view["title"]["text"] == "Close without writing"
        await fake_slack.submit_view(ALICE, {"reason": "paged by phone instead"})
        await settle(app)
    assert incidents_of(sandbox, outcome.thread_id) == []
    text = shown(fake_slack)
    assert "Closed without writing" in text and "paged by phone instead" in text
    assert not any(b["type"] == "actions" for b in fake_slack.state.messages[0].blocks)
    from agent.approvals.store import ApprovalStore

    store = ApprovalStore(settings.incident_agent_checkpoint)
    try:
        audit = await store.audit_log(outcome.thread_id)
    finally:
        await store.aclose()
    assert [a["decision"] for a in audit] == ["approve", "reject"]
    assert audit[1]["message"] == "paged by phone instead"
    assert audit[1]["approver"]["slack_user_id"] == ALICE


async def test_a_write_left_midway_by_a_stopped_worker_is_finished_by_approve(
    settings, fake_slack, sandbox
):
    """Approved on a worker that shut down (or died) before its write finished: the message
    still shows Approve; clicking it finishes the approved write once, as `retry` would."""
    from agent.approvals.store import ApprovalStore

    outcome = await pause(settings, sandbox=sandbox)
    store = ApprovalStore(settings.incident_agent_checkpoint)
    try:
        claim = await store.claim(outcome.thread_id, outcome.interrupt_id, by="bob",
                                  answer={"decisions": [{"type": "approve"}]})
        await store.release(claim, error="the server shut down before the write finished")
        [stranded] = await store.pending()
        assert stranded.stranded
    finally:
        await store.aclose()
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
    assert len(incidents_of(sandbox, outcome.thread_id)) == 1
    assert "Approved" in shown(fake_slack)
    assert not any(b["type"] == "actions" for b in fake_slack.state.messages[0].blocks)
    assert not any("already decided" in e.text for e in fake_slack.state.ephemerals_for(ALICE))
