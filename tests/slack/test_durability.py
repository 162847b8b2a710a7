"""Restarts and several workers: everything a click needs is in the SQLite file."""

from __future__ import annotations

import asyncio

from agent.surfaces.slack.notify import announcer
from tests.fakes.slack import all_text
from tests.slack.conftest import ALICE, BOB, pause, running_server, settle


def incidents_of(sandbox, thread_id: str) -> list[dict]:
    return sandbox.state.list_incidents(incident_key=f"incident-agent/{thread_id}")


async def test_a_restarted_server_answers_a_button_posted_before(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack):
        pass  # a first server came up and went down without a click
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
    assert len(incidents_of(sandbox, outcome.thread_id)) == 1
    assert "Approved" in all_text(fake_slack.state.messages[0].blocks)
    assert len(fake_slack.state.calls_to("chat.postMessage")) == 1  # restarts repost nothing


async def test_a_modal_opened_before_a_restart_is_submitted_after_it(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_edit", user=ALICE)
        await settle(app)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.submit_view(ALICE, {"field_urgency": "low"})
        await settle(app)
    [incident] = incidents_of(sandbox, outcome.thread_id)
    assert incident["urgency"] == "low"


async def test_two_servers_on_one_file_clicked_at_once_make_one_incident(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as one, running_server(settings, fake_slack) as two:
        responses = await asyncio.gather(
            fake_slack.click("hitl_approve", user=ALICE, to=one.state.http),
            fake_slack.click("hitl_approve", user=BOB, to=two.state.http),
        )
        assert [r.status_code for r in responses] == [200, 200]
        await asyncio.gather(settle(one), settle(two))
    assert len(incidents_of(sandbox, outcome.thread_id)) == 1
    assert len(fake_slack.state.calls_to("chat.update")) == 1
    told = fake_slack.state.ephemerals_for(ALICE) + fake_slack.state.ephemerals_for(BOB)
    assert len(told) == 1 and "already decided" in told[0].text


async def test_announcing_the_same_pause_again_posts_nothing(settings, fake_slack):
    from agent.runtime import open_services

    outcome = await pause(settings)
    async with open_services(settings) as services:
        announce = announcer(settings, services)  # a fresh process, as after a restart
        await announce(outcome)
        await announce(outcome)
    assert len(fake_slack.state.calls_to("chat.postMessage")) == 1
    assert not fake_slack.state.calls_to("chat.update")


async def test_a_pause_whose_post_failed_is_shown_when_the_server_starts(settings, fake_slack, sandbox):
    broken = settings.model_copy(update={"slack_channel": "C0GONE"})  # channel_not_found
    outcome = await pause(broken)
    assert outcome.status == "awaiting_approval"
    assert not fake_slack.state.messages
    async with running_server(settings, fake_slack) as app:
        [msg] = fake_slack.state.messages
        assert f"{outcome.thread_id}:{outcome.interrupt_id}" in all_text(msg.blocks)
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
    async with running_server(settings, fake_slack):
        pass  # a second start posts nothing more: the thread is decided
    assert len(fake_slack.state.calls_to("chat.postMessage")) == 2  # the failed one, then the catch-up
    assert len(incidents_of(sandbox, outcome.thread_id)) == 1
