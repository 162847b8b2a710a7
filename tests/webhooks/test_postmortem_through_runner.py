"""A resolved incident's webhook starts its post-mortem through the runner: the note it proposes
waits like any write, listed by `incident-agent approvals` and answered from the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

from agent.config import Settings
from agent.surfaces.server import create_app
from agent.surfaces.webhooks import PATH, sign

pytestmark = pytest.mark.slow

SECRET = "whsec-postmortem-0001"
INCIDENT = "PINCD01"  # resolved, in the dev account
FROM = "susan.clark@contoso.example"
T = TypeVar("T")


def cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "agent", *args, "--json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, json.loads(done.stdout)


async def eventually(check: Callable[[], Awaitable[T]]) -> T:
    """Poll `check` until it answers something truthy (the webhook's work runs after its 202)."""
    while True:
        if found := await check():
            return found
        await asyncio.sleep(0.05)


async def test_a_resolved_webhook_runs_the_postmortem_through_the_runner_and_its_note_waits(
    sandbox, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        pagerduty_api_url=sandbox.base_url,  # type: ignore[call-arg]
        pagerduty_api_token=SecretStr("sandbox-token"),
        pagerduty_from=FROM,
        pagerduty_webhook_secrets=[SecretStr(SECRET)],
        slack_bot_token=None,
        incident_agent_checkpoint=tmp_path / "agent.sqlite",
    )
    body = json.dumps(
        {
            "event": {
                "id": "01EVTPM0001",
                "event_type": "incident.resolved",
                "resource_type": "incident",
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": {"id": INCIDENT, "type": "incident", "title": "Public API 5xx"},
            }
        }
    ).encode()
    notes_before = len(sandbox.state.notes(INCIDENT))
    app = create_app(settings)
    async with asyncio.timeout(120), app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await http.post(
                PATH,
                content=body,
                headers={
                    "x-pagerduty-signature": sign(body, SECRET),
                    "content-type": "application/json",
                },
            )
            assert response.status_code == 202
        store, runner = app.state.services.store, app.state.runners["postmortem"]

        async def pending() -> list[Any]:
            return [p for p in await store.pending() if p.graph == "postmortem"]

        [paused] = await eventually(pending)
        config = {"configurable": {"thread_id": paused.thread_id}}

        async def saved() -> bool:  # listed as the graph raises it; checkpointed as the run ends
            return bool((await runner.graph.aget_state(config)).interrupts)

        await eventually(saved)
    assert len(sandbox.state.notes(INCIDENT)) == notes_before  # a proposal, not a write

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_"))
    }
    env.update(
        PAGERDUTY_API_URL=sandbox.base_url,
        PAGERDUTY_API_TOKEN="sandbox-token",
        PAGERDUTY_FROM=FROM,
        INCIDENT_AGENT_CHECKPOINT=str(tmp_path / "agent.sqlite"),
    )
    code, listed = await asyncio.to_thread(cli, env, tmp_path, "approvals")
    assert code == 0
    [entry] = listed
    assert entry["graph"] == "postmortem" and entry["action"] == "add_note", entry
    assert INCIDENT in entry["prompt"] and "Post-mortem for #1201" in entry["description"]

    code, done = await asyncio.to_thread(
        cli, env, tmp_path, "approve", entry["thread_id"], "--as", "Ravi"
    )
    assert code == 0 and done["status"] == "done", done
    notes = sandbox.state.notes(INCIDENT)
    assert len(notes) == notes_before + 1 and notes[-1]["content"].startswith(
        "Post-mortem for #1201"
    )
    code, audit = await asyncio.to_thread(cli, env, tmp_path, "audit", entry["thread_id"])
    assert [(a["decision"], a["approver"]["name"]) for a in audit] == [("approve", "Ravi")]
