"""Act as an SRE at a terminal: each CLI call is a new process, as in real use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.pagerduty.sandbox import Clock, running_sandbox

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = REPO / "tests" / "triage" / "dev-account.json"  # the dev account, not the bundled demo
# 2026-11-20T12:00Z is 45.6 weeks after the Core Backend rotation's virtual start
# (2026-01-05T09:00Z, weekly turns, users David, Elena, Marco): week 45, 45 % 3 = 0,
# so David Miller (PUCO001) is on call at level 1 for the Public API.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ON_CALL_CORE = "PUCO001"


@dataclass
class Terminal:
    env: dict[str, str]
    cwd: Path
    api: httpx.Client

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent", *args],
            env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def json(self, *args: str) -> tuple[int, Any]:
        proc = self.cli(*args, "--json")
        try:
            return proc.returncode, json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"no JSON (exit {proc.returncode}): {proc.stdout}\n{proc.stderr}") from None

    def incidents(self, **params: Any) -> list[dict[str, Any]]:
        r = self.api.get("/incidents", params={"date_range": "all", "limit": 100, **params})
        r.raise_for_status()
        return r.json()["incidents"]

    def notes(self, incident_id: str) -> list[dict[str, Any]]:
        r = self.api.get(f"/incidents/{incident_id}/notes")
        r.raise_for_status()
        return r.json()["notes"]


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_"))}
        env.update(
            PAGERDUTY_API_URL=sb.base_url,
            PAGERDUTY_API_TOKEN="sandbox-token",
            PAGERDUTY_FROM="susan.clark@contoso.example",
            INCIDENT_AGENT_CHECKPOINT=str(tmp_path / "checkpoints.sqlite"),
            COLUMNS="200",
        )
        headers = {
            "Authorization": "Token token=sandbox-token",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }
        with httpx.Client(base_url=sb.base_url, headers=headers) as api:
            yield Terminal(env=env, cwd=tmp_path, api=api)
