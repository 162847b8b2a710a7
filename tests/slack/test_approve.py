"""A person approves a page from Slack: one incident, and the message says who and links it."""

from __future__ import annotations

from agent.config import Settings
from tests.fakes.slack import FakeSlack, all_text
from tests.slack.conftest import ALICE, CHANNEL, pause, running_server, settle


def incidents_of(sandbox, thread_id: str) -> list[dict]:
    return sandbox.state.list_incidents(incident_key=f"incident-agent/{thread_id}")


async def test_pause_posts_one_message_with_the_proposal(settings: Settings, fake_slack: FakeSlack):
    outcome = await pause(settings)
    assert outcome.status == "awaiting_approval", outcome.report
    [post] = fake_slack.state.calls_to("chat.postMessage")
    [msg] = fake_slack.state.messages
    assert msg.channel == CHANNEL
    shown = all_text(msg.blocks, msg.text)
    assert "Public API" in shown and "POST /incidents" in shown
    values = {el.get("value") for b in msg.blocks for el in b.get("elements") or [] if el.get("value")}
    assert values == {f"{outcome.thread_id}:{outcome.interrupt_id}"}


async def test_approve_opens_one_incident_and_updates_the_message(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        response = await fake_slack.click("hitl_approve", user=ALICE)
        assert response.status_code == 200
        await settle(app)
    [incident] = incidents_of(sandbox, outcome.thread_id)
    [update] = fake_slack.state.calls_to("chat.update")
    msg = fake_slack.state.messages[0]
    shown = all_text(msg.blocks, msg.text)
    assert f"<@{ALICE}>" in shown and "Approved" in shown
    assert incident["html_url"] in shown
