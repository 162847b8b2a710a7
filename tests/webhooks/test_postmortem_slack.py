"""A resolved incident's post-mortem, started by its webhook, is approved from Slack like any
write: the note's card is posted, Alice's signed click is claimed and audited, one note lands."""

# ruff: noqa: F811 (the fixtures are imported from another test package, then used as arguments)

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from agent.surfaces.webhooks import PATH, sign
from tests.slack.conftest import (  # noqa: F401 (fixtures)
    ALICE,
    dev_account,
    fake_slack,
    running_server,
    sandbox,
    settings,
    settle,
)

pytestmark = pytest.mark.slow

SECRET = "whsec-postmortem-slack-01"
INCIDENT = "PINCD01"  # resolved, in the dev account


async def test_a_webhook_postmortem_note_is_approved_from_slack(
    settings, fake_slack, sandbox
) -> None:
    settings = settings.model_copy(update={"pagerduty_webhook_secrets": [SecretStr(SECRET)]})
    before = len(sandbox.state.notes(INCIDENT))
    body = json.dumps(
        {
            "event": {
                "id": "01EVTPMSLACK",
                "event_type": "incident.resolved",
                "resource_type": "incident",
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": {"id": INCIDENT, "type": "incident", "title": "resolved"},
            }
        }
    ).encode()
    async with running_server(settings, fake_slack) as app:
        response = await app.state.http.post(
            PATH,
            content=body,
            headers={
                "x-pagerduty-signature": sign(body, SECRET),
                "content-type": "application/json",
            },
        )
        assert response.status_code == 202

        def card_shown() -> bool:
            try:
                fake_slack.find_element("hitl_approve")
            except LookupError:
                return False
            return True

        await fake_slack.wait_for(card_shown, timeout_s=30)
        [paused] = [p for p in await app.state.services.store.pending() if p.graph == "postmortem"]
        assert len(sandbox.state.notes(INCIDENT)) == before  # nothing before the click

        assert (await fake_slack.click("hitl_approve", user=ALICE)).status_code == 200
        await settle(app)
        await fake_slack.wait_for(lambda: fake_slack.state.calls_to("chat.update"), timeout_s=20)
        assert await app.state.services.store.pending() == []
        [row] = await app.state.services.store.audit_log(paused.thread_id)
    notes = sandbox.state.notes(INCIDENT)
    assert len(notes) == before + 1 and notes[-1]["content"].startswith("Post-mortem for #1201")
    assert row["decision"] == "approve" and row["approver"]["source"] == "slack"
    assert row["approver"]["slack_user_id"] == ALICE and row["result"]["id"] == notes[-1]["id"]
