"""What must change nothing: forged or stale requests, strangers, second clicks, unknown threads."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from agent.approvals.store import ApprovalStore
from tests.fakes.slack import all_text
from tests.slack.conftest import ALICE, BOB, CHANNEL, MALLORY, pause, running_server, settle


def incidents_of(sandbox, thread_id: str) -> list[dict]:
    return sandbox.state.list_incidents(incident_key=f"incident-agent/{thread_id}")


def untouched(fake) -> bool:
    return not fake.state.calls_to("chat.update") and not fake.state.calls_to("views.open")


async def test_a_forged_signature_is_refused_before_any_work(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        response = await fake_slack.click("hitl_approve", user=ALICE, secret="not-the-signing-secret")
        await settle(app)
    assert response.status_code == 401
    assert incidents_of(sandbox, outcome.thread_id) == []
    assert untouched(fake_slack) and not fake_slack.state.ephemerals


async def test_a_stale_timestamp_is_refused(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        six_minutes_ago = int(time.time()) - 6 * 60
        response = await fake_slack.click("hitl_approve", user=ALICE, timestamp=six_minutes_ago)
        await settle(app)
    assert response.status_code == 401
    assert incidents_of(sandbox, outcome.thread_id) == []
    assert untouched(fake_slack)


async def test_someone_not_an_approver_is_told_and_nothing_changes(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        for action in ("hitl_approve", "hitl_edit", "hitl_reject"):
            assert (await fake_slack.click(action, user=MALLORY)).status_code == 200
        await settle(app)
    assert incidents_of(sandbox, outcome.thread_id) == []
    assert untouched(fake_slack)
    told = fake_slack.state.ephemerals_for(MALLORY)
    assert len(told) == 3 and all("not allowed" in e.text for e in told)
    store = ApprovalStore(settings.incident_agent_checkpoint)
    try:
        status, pending = await store.get(outcome.thread_id)
    finally:
        await store.aclose()
    assert status == "pending" and pending is not None


async def test_group_member_approves_and_is_recorded_as_who_decided(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_approve", user=BOB)
        await settle(app)
    assert len(incidents_of(sandbox, outcome.thread_id)) == 1
    assert fake_slack.state.calls_to("usergroups.users.list")
    store = ApprovalStore(settings.incident_agent_checkpoint)
    try:
        [row] = await store.audit_log(outcome.thread_id)
    finally:
        await store.aclose()
    assert row["approver"]["slack_user_id"] == BOB
    assert row["approver"]["name"] == "Bob Builder"
    assert row["approver"]["pagerduty_user_id"] is None  # no PagerDuty user has Bob's email


async def test_an_approver_with_a_pagerduty_email_acts_as_that_user(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
    store = ApprovalStore(settings.incident_agent_checkpoint)
    try:
        [row] = await store.audit_log(outcome.thread_id)
    finally:
        await store.aclose()
    assert row["approver"] == {"name": "Alice Approver", "source": "slack",
                               "email": "david.miller@contoso.example", "pagerduty_user_id": "PUCO001",
                               "slack_user_id": ALICE}


async def test_a_second_click_is_told_already_decided(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
        # The same button, from a client that had not refreshed the message yet.
        msg = fake_slack.state.messages[0]
        msg_before = msg.history[0]
        value = f"{outcome.thread_id}:{outcome.interrupt_id}"
        assert value in all_text(msg_before["blocks"])
        with fake_slack.state.lock:
            msg.history.append({"text": msg.text, "blocks": msg.blocks})
            msg.blocks = msg_before["blocks"]
        await fake_slack.click("hitl_approve", value, user=BOB)
        await settle(app)
    assert len(incidents_of(sandbox, outcome.thread_id)) == 1
    assert len(fake_slack.state.calls_to("chat.update")) == 1
    [told] = fake_slack.state.ephemerals_for(BOB)
    assert "already decided" in told.text


async def test_two_approvers_at_once_make_one_incident(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        responses = await asyncio.gather(
            fake_slack.click("hitl_approve", user=ALICE),
            fake_slack.click("hitl_approve", user=BOB),
        )
        assert [r.status_code for r in responses] == [200, 200]
        await settle(app)
    assert len(incidents_of(sandbox, outcome.thread_id)) == 1
    assert len(sandbox.state.list_incidents(service_ids=["PAPI001"], statuses=["triggered"])) == 1
    assert len(fake_slack.state.calls_to("chat.update")) == 1
    told = fake_slack.state.ephemerals_for(ALICE) + fake_slack.state.ephemerals_for(BOB)
    assert len(told) == 1 and "already decided" in told[0].text


async def test_a_button_for_an_unknown_thread_is_refused(settings, fake_slack, sandbox):
    await pause(settings)  # a real pending thread exists; the button names another one
    before = len(sandbox.state.list_incidents())
    blocks = [ActionsBlock(elements=[ButtonElement(text="Approve", action_id="hitl_approve",
                                                   value="thread-from-elsewhere:0123abcd")]).to_dict()]
    fake_slack.state.post_message(CHANNEL, "an old approval from another deployment", blocks)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_approve", "thread-from-elsewhere:0123abcd", user=ALICE)
        await settle(app)
    assert len(sandbox.state.list_incidents()) == before
    assert not fake_slack.state.calls_to("chat.update")
    [told] = fake_slack.state.ephemerals_for(ALICE)
    assert "Unknown approval" in told.text


async def test_a_button_for_a_replaced_interrupt_is_refused(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    stale = f"{outcome.thread_id}:ffffffffffffffffffffffffffffffff"
    blocks = [ActionsBlock(elements=[ButtonElement(text="Approve", action_id="hitl_approve",
                                                   value=stale)]).to_dict()]
    fake_slack.state.post_message(CHANNEL, "an approval message from before an edit", blocks)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_approve", stale, user=ALICE)
        await settle(app)
    assert incidents_of(sandbox, outcome.thread_id) == []
    [told] = fake_slack.state.ephemerals_for(ALICE)
    assert "replaced" in told.text
