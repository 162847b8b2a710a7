"""A fresh CLI process with the catalog on disk costs what a warm process costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.pagerduty.sandbox import Clock, running_sandbox
from tests.e2e.conftest import ACCOUNT, NOW

SECOND_TOKEN = "second-account-token-5678"
ALERT = "High latency on the Public API: p99 3.1s in us-central1 (critical)"


def _run(env: dict[str, str], cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "run", ALERT, "--no-wait", "--json"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_the_second_process_reads_the_catalog_from_disk(tmp_path: Path) -> None:
    tokens: dict[str, str | None] = {"sandbox-token": None, SECOND_TOKEN: None}
    with running_sandbox(ACCOUNT, clock=Clock(NOW), tokens=tokens) as sb:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_"))}
        env.update(
            PAGERDUTY_API_URL=sb.base_url,
            PAGERDUTY_API_TOKEN="sandbox-token",
            PAGERDUTY_FROM="susan.clark@contoso.example",
            INCIDENT_AGENT_CHECKPOINT=str(tmp_path / "state" / "checkpoints.sqlite"),
        )
        assert _run(env, tmp_path)["status"] == "awaiting_approval"
        cold = sb.state.request_count()
        routes = {route: n for (_, route), n in sb.state.request_counts.items()}
        # The catalog (6 lists), the history of resolved incidents (every page of
        # /incidents), the notes of the past incidents the alert resembles (read once,
        # kept), and the two reads of the alert (/oncalls, open /incidents).
        catalog = {f"GET /{c}" for c in ("services", "users", "schedules", "escalation_policies",
                                          "priorities", "teams")}
        assert all(routes.pop(r) == 1 for r in catalog) and routes.pop("GET /oncalls") == 1
        notes = routes.pop("GET /incidents/{id}/notes", 0)
        assert notes <= 3 and routes.pop("GET /incidents") >= 2 and not routes
        catalog_file = tmp_path / "state" / "checkpoints.catalog.json"
        assert catalog_file.exists() and "sandbox-token" not in catalog_file.read_text()

        assert _run(env, tmp_path)["status"] == "awaiting_approval"
        assert sb.state.request_count() - cold == 2  # /oncalls and /incidents, nothing else

        # Another token is another account: its first process fetches the catalog.
        env["PAGERDUTY_API_TOKEN"] = SECOND_TOKEN
        before = sb.state.request_count()
        assert _run(env, tmp_path)["status"] == "awaiting_approval"
        assert sb.state.request_count() - before == cold
        assert SECOND_TOKEN not in catalog_file.read_text()
