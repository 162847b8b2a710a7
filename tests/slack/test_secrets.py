"""The bot token and signing secret never reach a log line or anything posted to Slack."""

from __future__ import annotations

import json
import logging

from tests.slack.conftest import (
    ALICE,
    BOT_TOKEN,
    MALLORY,
    SIGNING_SECRET,
    pause,
    running_server,
    settle,
)


async def test_planted_secrets_appear_in_no_log_and_no_post(settings, fake_slack, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_approve", user=MALLORY)       # refused
        await fake_slack.click("hitl_show_call", user=ALICE)       # a modal
        await fake_slack.click("hitl_edit", user=ALICE)
        await settle(app)
        await fake_slack.submit_view(ALICE, {"field_service_id": "PNOPE99"}, unchecked=True)  # refused edit
        await settle(app)
        await fake_slack.click("hitl_approve", user=ALICE, secret="forged")  # 401
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
    assert len(sandbox.state.list_incidents(incident_key=f"incident-agent/{outcome.thread_id}")) == 1
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    assert len(caplog.records) > 20  # the flow was logged at DEBUG, by slack-sdk and bolt too
    slack_seen = json.dumps(fake_slack.state.dump(), default=str)
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in logged
        assert secret not in slack_seen
        assert secret[-10:] not in logged
