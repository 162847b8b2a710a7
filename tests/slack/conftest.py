"""Fixtures for the Slack tests: a fake Slack, the sandbox, and the server app under test.

People in the workspace:
- Alice (U0ALICE): an approver by id; her Slack email is David Miller's PagerDuty email.
- Bob (U0BOB): an approver through the group S0ONCALL; no PagerDuty user has his email.
- Mallory (U0MALLORY): in the channel, not an approver.

The PagerDuty side is the sandbox serving `account.json` (a copy of the dev
account kept here, so these tests do not move when the demo account does),
its clock frozen at 2026-11-20T12:00Z: David Miller (PUCO001) is on call for
the Public API, Lena Hoffmann (PUIN002) for Infrastructure.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from agent.checkpoint import open_checkpointer
from agent.config import Settings
from agent.pagerduty.sandbox import Clock, RunningSandbox, running_sandbox
from agent.runner import Outcome, Runner
from agent.runtime import open_services
from agent.surfaces.server import create_app
from agent.surfaces.slack.notify import announcer
from tests.conftest import SANDBOX_NOW
from tests.fakes.slack import FakeSlack, all_text, running_fake_slack

ACCOUNT = Path(__file__).with_name("account.json")

BOT_TOKEN = "xoxb-PLANTED-SECRET-9999"
SIGNING_SECRET = "signing-PLANTED-8888"
CHANNEL = "C0INCIDENTS"
ALICE, BOB, MALLORY = "U0ALICE", "U0BOB", "U0MALLORY"
GROUP = "S0ONCALL"
PROMPT = "High latency on the Public API: p99 3.1s (critical)"


@pytest.fixture
def dev_account() -> dict[str, Any]:
    """This package's own copy of the dev account (fresh per test)."""
    return json.loads(ACCOUNT.read_text(encoding="utf-8"))


@pytest.fixture
def sandbox(dev_account: dict[str, Any]) -> Iterator[RunningSandbox]:
    with running_sandbox(dev_account, clock=Clock(SANDBOX_NOW)) as sb:
        yield sb


def open_incident(sandbox: RunningSandbox, title: str = "Public API returning 5xx",
                  service: str = "PAPI001", urgency: str = "high") -> dict[str, Any]:
    """An incident someone opened by hand, over the sandbox's REST API."""
    body = {"incident": {"type": "incident", "title": title, "urgency": urgency,
                         "service": {"id": service, "type": "service_reference"}}}
    r = httpx.post(f"{sandbox.base_url}/incidents", json=body,
                   headers={"Authorization": "Token token=sandbox-token", "From": "susan.clark@contoso.example",
                            "Accept": "application/vnd.pagerduty+json;version=2"})
    r.raise_for_status()
    return r.json()["incident"]


def shown(fake: FakeSlack) -> str:
    """Everything the one message shows now (blocks and notification text)."""
    [msg] = fake.state.messages
    return all_text(msg.blocks, msg.text)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with running_fake_slack(BOT_TOKEN) as fake:
        fake.state.new_channel(CHANNEL, "incidents")
        fake.state.new_user(ALICE, "Alice Approver", "david.miller@contoso.example")
        fake.state.new_user(BOB, "Bob Builder", "bob@elsewhere.example")
        fake.state.new_user(MALLORY, "Mallory Mischief", "mallory@contoso.example")
        fake.state.new_group(GROUP, [BOB])
        yield fake


@pytest.fixture
def settings(tmp_path: Path, sandbox, fake_slack: FakeSlack) -> Settings:
    return Settings(
        _env_file=None,
        pagerduty_api_url=sandbox.base_url,
        pagerduty_api_token="sandbox-token",
        pagerduty_from="david.miller@contoso.example",
        incident_agent_checkpoint=tmp_path / "agent.sqlite",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_channel=CHANNEL,
        slack_api_url=fake_slack.base_url,
        slack_approver_ids=[ALICE],
        slack_approver_group=GROUP,
        slack_socket_mode=False,
        openai_api_key=None,
    )


async def pause(settings: Settings, prompt: str = PROMPT, sandbox: RunningSandbox | None = None) -> Outcome:
    """Run a prompt as the CLI does (another process, in effect) until it waits for a human.

    With `sandbox`, "now" is the sandbox's clock (for requests about time: "for the next 8 hours")."""
    from graphs.incident_response import build_graph

    async with open_services(settings) as services, open_checkpointer(
        settings.incident_agent_checkpoint
    ) as saver:
        if sandbox is not None:
            services.clock = sandbox.clock.now
        runner = Runner(build_graph(), services, saver, surface="cli",
                        on_pause=announcer(settings, services))
        return await runner.start({"prompt": prompt})


@asynccontextmanager
async def running_server(settings: Settings, fake: FakeSlack, sandbox: RunningSandbox | None = None
                         ) -> AsyncIterator[Starlette]:
    """The server app with its lifespan, reached over ASGI; the fake delivers clicks to it.

    With `sandbox`, the server's "now" is the sandbox's clock (an answer may re-read the roster)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        if sandbox is not None:
            app.state.services.clock = sandbox.clock.now
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent.test") as client:
            fake.deliver_to(client, SIGNING_SECRET)
            app.state.http = client  # for a test that talks to two servers at once
            yield app


async def settle(app: Starlette) -> None:
    """Wait until the app has finished answering every click it acknowledged."""
    await app.state.slack.drain(timeout_s=30)
