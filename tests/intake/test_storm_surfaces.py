"""A storm's count on its one approval: `incident-agent approvals` (JSON and
table) and the Slack message, redrawn as the storm goes on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from pydantic import SecretStr

from agent.pagerduty.sandbox import Clock, running_sandbox
from tests.e2e.conftest import ACCOUNT, NOW
from tests.fakes.slack import all_text, running_fake_slack
from tests.intake.conftest import OTHER_KEY, Agent, intake_settings, serving

pytestmark = pytest.mark.slow

BOT = "xoxb-intake-storm"
CHANNEL = "C0INCIDENTS"


def trigger(i: int) -> dict:
    return {
        "routing_key": OTHER_KEY,
        "event_action": "trigger",
        "dedup_key": "stripe-401" if i % 2 else None,
        "payload": {
            "summary": f"Billing webhooks failing: 401 from Stripe ({i} in the last minute)",
            "source": "prom-1",
            "severity": "critical",
        },
    }


def approvals_cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_", "INTAKE_"))}  # fmt: skip
    env.update(
        PAGERDUTY_API_URL=settings.pagerduty_api_url,
        PAGERDUTY_API_TOKEN="sandbox-token",
        INCIDENT_AGENT_CHECKPOINT=str(settings.incident_agent_checkpoint),
        COLUMNS="200",
    )
    return subprocess.run([sys.executable, "-m", "agent", "approvals", *args], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


async def test_the_count_shows_in_approvals_and_on_the_slack_message(tmp_path):
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb, running_fake_slack(BOT) as slack:
        slack.state.new_channel(CHANNEL, "incidents")
        settings = intake_settings(
            sb.base_url, tmp_path, slack_bot_token=SecretStr(BOT),
            slack_signing_secret=SecretStr("s" * 32), slack_channel=CHANNEL,
            slack_api_url=slack.base_url,
        )  # fmt: skip
        async with httpx.AsyncClient(base_url=sb.base_url) as api:
            with serving(settings) as (base, _):
                agent = Agent(base, settings, api, None)
                async with agent.client() as c:
                    first = await c.post("/v2/enqueue", json=trigger(0))
                    assert first.status_code == 202
                    [pending] = await agent.wait_pending(1)
                    answers = await asyncio.gather(
                        *(c.post("/v2/enqueue", json=trigger(i)) for i in range(1, 200))
                    )
                assert {a.status_code for a in answers} == {202}
                deadline = time.monotonic() + 30
                while "200 alerts about this" not in all_text(
                    slack.state.messages[0].blocks, slack.state.messages[0].text
                ):
                    assert time.monotonic() < deadline, all_text(slack.state.messages[0].blocks)
                    await asyncio.sleep(0.2)
                assert len(slack.state.messages) == 1  # one message, redrawn
                shown = all_text(slack.state.messages[0].blocks)
                assert "latest: Billing webhooks failing" in shown
                assert "Approve" in shown  # still waiting for a human

    listed = approvals_cli(settings, "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry["thread_id"] == pending.thread_id and entry["alerts"] == 200
    assert entry["latest_alert"].startswith("Billing webhooks failing")
    table = approvals_cli(settings)
    assert table.returncode == 0, table.stderr
    assert "200 alerts about this" in table.stdout
