"""A decision taken in the terminal updates the Slack message too: its buttons go, it says who and how.

The thread is posted to the fake Slack, then `incident-agent approve` or
`reject` runs as its own process (as an SRE would type it) with the same
Slack settings; the runner calls `agent.surfaces.slack.notify.decided` after the
decision. A late click on the old buttons changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.slack.conftest import ALICE, BOT_TOKEN, CHANNEL, pause, running_server, settle, shown

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def terminal(settings, *args: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_"))
    }
    env.update(
        PAGERDUTY_API_URL=settings.pagerduty_api_url,
        PAGERDUTY_API_TOKEN="sandbox-token",
        PAGERDUTY_FROM="david.miller@contoso.example",
        INCIDENT_AGENT_CHECKPOINT=str(settings.incident_agent_checkpoint),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_CHANNEL=CHANNEL,
        SLACK_API_URL=settings.slack_api_url,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "agent", *args, "--json"],
        env=env,
        cwd=settings.incident_agent_checkpoint.parent,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"no JSON (exit {proc.returncode}): {proc.stdout}\n{proc.stderr}"
        ) from None


async def test_cli_reject_updates_the_slack_message(settings, fake_slack, sandbox):
    outcome = await pause(settings, sandbox=sandbox)
    out = terminal(
        settings,
        "reject",
        outcome.thread_id,
        "--reason",
        "known <!channel> load test",
        "--as",
        "Sam",
    )
    assert out["status"] == "rejected", out
    assert len(fake_slack.state.calls_to("chat.update")) == 1
    text = shown(fake_slack)
    assert "Rejected* by Sam from the CLI" in text and "known &lt;!channel&gt; load test" in text
    assert "<!channel>" not in text
    assert not any(b["type"] == "actions" for b in fake_slack.state.messages[0].blocks)
    assert sandbox.state.list_incidents(incident_key=f"incident-agent/{outcome.thread_id}") == []

    # A click from a Slack client still showing the old buttons is told it was decided; nothing changes.
    msg = fake_slack.state.messages[0]
    with fake_slack.state.lock:
        msg.blocks = msg.history[0]["blocks"]
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
    assert sandbox.state.list_incidents(incident_key=f"incident-agent/{outcome.thread_id}") == []
    [told] = fake_slack.state.ephemerals_for(ALICE)
    assert "already decided" in told.text


async def test_cli_approve_with_an_edit_updates_the_slack_message(settings, fake_slack, sandbox):
    outcome = await pause(settings, sandbox=sandbox)
    out = terminal(settings, "approve", outcome.thread_id, "--edit", "urgency=low", "--as", "Sam")
    assert out["status"] == "done", out
    [incident] = sandbox.state.list_incidents(incident_key=f"incident-agent/{outcome.thread_id}")
    assert incident["urgency"] == "low"
    text = shown(fake_slack)
    assert "Approved with edits* by Sam from the CLI" in text
    assert "Open a low-urgency incident on Public API" in text and "~high~ → *low*" in text
    assert incident["html_url"] in text
    assert not any(b["type"] == "actions" for b in fake_slack.state.messages[0].blocks)
