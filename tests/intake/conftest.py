"""`serve` for real on loopback (optionally over TLS) against the sandbox,
with the intake configured; tests send alerts as monitoring systems do and
read back the pending approvals, the intake rows and the sandbox."""

from __future__ import annotations

import asyncio
import ssl
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from agent.approvals import Approver
from agent.approvals.store import ApprovalStore, PendingApproval
from agent.checkpoint import open_checkpointer
from agent.config import Settings
from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.pagerduty.sandbox.server import free_port, self_signed_cert
from agent.runner import Outcome, Runner
from agent.runtime import open_services
from agent.surfaces.server import create_app
from tests.e2e.conftest import ACCOUNT, NOW
from tests.graph.conftest import make_settings

# The triage fixtures (dev and retail catalogs, a rules-only Settings), for the field tests.
from tests.triage.conftest import dev_catalog, retail_catalog, settings  # noqa: F401

TOKEN = "intake-token-0123456789"
HMAC_SECRET = "intake-hmac-secret-0123456789"
ROUTING_KEY = "R0UT1NGKEYF0RPUBL1CAP100000000000"  # the Public API's integration
OTHER_KEY = "R0UT1NGKEYF0RB1LL1NGAP1000000000"
ME = Approver(name="Ada", source="api")
APPROVE = {"decisions": [{"type": "approve"}]}


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a background thread must not take signals
        pass


@dataclass
class Agent:
    base_url: str
    settings: Settings
    api: httpx.AsyncClient  # the sandbox's REST API, as an admin reads it
    cert: str | None

    def client(self) -> httpx.AsyncClient:
        verify = ssl.create_default_context(cafile=self.cert) if self.cert else True
        return httpx.AsyncClient(base_url=self.base_url, verify=verify, timeout=30)

    async def rows(self) -> list[dict[str, Any]]:
        async with self.client() as c:
            r = await c.get("/intake/alerts", headers={"Authorization": f"Bearer {TOKEN}"})
            r.raise_for_status()
            return r.json()["alerts"]

    async def pending(self) -> list[PendingApproval]:
        store = ApprovalStore(self.settings.incident_agent_checkpoint)
        try:
            return await store.pending()
        finally:
            await store.aclose()

    async def wait_pending(self, n: int, within_s: float = 60) -> list[PendingApproval]:
        """Wait until `n` approvals wait for a human (and runs have settled)."""
        deadline = time.monotonic() + within_s
        while True:
            pending = await self.pending()
            rows = await self.rows()
            running = [r for r in rows if r["state"] == "open"]
            if len(pending) >= n and len(pending) >= min(len(running), n):
                await asyncio.sleep(0.3)  # a straggler would show now
                return await self.pending()
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(pending)} pending approvals, wanted {n}; rows: {rows}")
            await asyncio.sleep(0.1)

    async def approve(self, thread_id: str) -> Outcome:
        """A human approves, from another process in effect (the CLI's way)."""
        from graphs.incident_response import build_graph

        async with (
            open_services(self.settings) as services,
            open_checkpointer(self.settings.incident_agent_checkpoint) as saver,
        ):
            runner = Runner(build_graph(), services, saver, surface="cli")
            return await runner.resume(thread_id, APPROVE, ME)

    async def incidents(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.api.get("/incidents", params={"date_range": "all", "limit": 100, **params})
        r.raise_for_status()
        return r.json()["incidents"]


def intake_settings(base_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        intake_routing_keys={
            "PAPI001": SecretStr(ROUTING_KEY),
            "Billing API": SecretStr(OTHER_KEY),
        },
        intake_tokens=[SecretStr(TOKEN)],
        intake_hmac_secrets=[SecretStr(HMAC_SECRET)],
        intake_generic_mapping={
            "summary": "title",
            "severity": "tags.severity",
            "service": "tags.service",
            "dedup_key": "alert_id",
            "action": "state",
            "details": "body",
        },
        openai_api_key=None,
        openai_base_url=None,
    )
    values.update(overrides)
    return make_settings(base_url, tmp_path, **values)


@contextmanager
def serving(app_settings: Settings, *, tls: bool = False) -> Iterator[tuple[str, str | None]]:
    """`incident-agent serve` in a thread, lifespan and all, on a free port."""
    with tempfile.TemporaryDirectory(prefix="agent-serve-") as tmp:
        cert = self_signed_cert(tmp) if tls else None
        port = free_port()
        config = uvicorn.Config(
            create_app(app_settings), host="127.0.0.1", port=port, log_level="warning",
            ssl_certfile=cert[0] if cert else None, ssl_keyfile=cert[1] if cert else None,
            timeout_graceful_shutdown=5,
        )  # fmt: skip
        server = _Server(config)
        thread = threading.Thread(target=server.run, name=f"agent-serve-{port}", daemon=True)
        thread.start()
        base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("serve did not start")
            time.sleep(0.05)
        try:
            yield base, cert[0] if cert else None
        finally:
            server.should_exit = True
            thread.join(timeout=30)


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[Agent]:
    async for a in make_agent(tmp_path):
        yield a


async def make_agent(
    tmp_path: Path, *, tls: bool = False, **overrides: Any
) -> AsyncIterator[Agent]:
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb:
        configured = intake_settings(sb.base_url, tmp_path, **overrides)
        headers = {"Authorization": "Token token=sandbox-token",
                   "Accept": "application/vnd.pagerduty+json;version=2"}  # fmt: skip
        with serving(configured, tls=tls) as (base, cert):
            async with httpx.AsyncClient(base_url=sb.base_url, headers=headers) as api:
                yield Agent(base, configured, api, cert)
