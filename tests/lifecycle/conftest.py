"""A sandbox behind a fault proxy, and a terminal whose agent talks through the proxy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agent.pagerduty.sandbox import Clock, RunningSandbox, running_sandbox
from tests.e2e.conftest import ACCOUNT, NOW, Terminal
from tests.fakes.fault_proxy import FaultProxy, running_proxy


@dataclass
class Rig(Terminal):
    proxy: FaultProxy
    sandbox: RunningSandbox


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb, running_proxy(sb.base_url) as proxy:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_"))}
        env.update(
            PAGERDUTY_API_URL=proxy.base_url,
            PAGERDUTY_API_TOKEN="sandbox-token",
            PAGERDUTY_FROM="susan.clark@contoso.example",
            PAGERDUTY_MAX_RETRIES="2",
            INCIDENT_AGENT_CHECKPOINT=str(tmp_path / "checkpoints.sqlite"),
            COLUMNS="200",
        )
        headers = {"Authorization": "Token token=sandbox-token",
                   "Accept": "application/vnd.pagerduty+json;version=2"}
        with httpx.Client(base_url=sb.base_url, headers=headers) as api:
            yield Rig(env=env, cwd=tmp_path, api=api, proxy=proxy, sandbox=sb)


