"""Services (client, catalog, approvals store) against the sandbox, as the runner hands them in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from agent.config import Settings
from agent.pagerduty.sandbox import RunningSandbox
from agent.runtime import Services, open_services


def settings_for(sandbox: RunningSandbox, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        pagerduty_api_url=sandbox.base_url,  # type: ignore[call-arg]
        pagerduty_api_token=SecretStr("sandbox-token"),
        incident_agent_checkpoint=tmp_path / "ck.sqlite",
        **extra,
    )


@asynccontextmanager
async def sandbox_services(
    sandbox: RunningSandbox, tmp_path: Path, **extra: Any
) -> AsyncIterator[Services]:
    async with open_services(settings_for(sandbox, tmp_path, **extra)) as services:
        yield services
