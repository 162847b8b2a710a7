from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from agent.checkpoint import open_checkpointer
from agent.config import Settings
from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.runner import Runner
from agent.runtime import open_services
from graphs.incident_response import build_graph
from tests.e2e.conftest import ACCOUNT, NOW


@dataclass
class Rig:
    runner: Runner
    api: httpx.AsyncClient
    settings: Settings

    async def open_incidents(self) -> list[dict]:
        r = await self.api.get("/incidents", params={"statuses[]": ["triggered", "acknowledged"],
                                                      "date_range": "all"})
        r.raise_for_status()
        return r.json()["incidents"]


def make_settings(base_url: str, tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,
        pagerduty_api_url=base_url,
        pagerduty_api_token=SecretStr("sandbox-token"),
        pagerduty_from="susan.clark@contoso.example",
        incident_agent_checkpoint=tmp_path / "checkpoints.sqlite",
        **overrides,
    )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb:
        settings = make_settings(sb.base_url, tmp_path)
        headers = {"Authorization": "Token token=sandbox-token",
                   "Accept": "application/vnd.pagerduty+json;version=2"}
        async with open_services(settings) as services, open_checkpointer(
            settings.incident_agent_checkpoint
        ) as saver, httpx.AsyncClient(base_url=sb.base_url, headers=headers) as api:
            yield Rig(Runner(build_graph(), services, saver), api, settings)
