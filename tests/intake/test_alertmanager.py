"""A real sender (issue 15 item 7): Debian's prometheus-alertmanager, on
loopback, with a webhook receiver pointing at `serve`, fed alerts through
its HTTP API. Firing alerts become one pending approval; after the page is
approved, the group's resolve proposes resolving the incident."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agent.pagerduty.sandbox.server import free_port
from tests.intake.conftest import TOKEN, Agent, make_agent

pytestmark = pytest.mark.slow

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

CONFIG = """\
route:
  receiver: agent
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: agent
    webhook_configs:
      - url: {url}
        send_resolved: true
        max_alerts: 0
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


@contextmanager
def alertmanager(tmp: Path, webhook_url: str) -> Iterator[str]:
    if BINARY is None:
        pytest.fail("prometheus-alertmanager is not installed (.ci/run installs it)")
    config = tmp / "alertmanager.yml"
    config.write_text(CONFIG.format(url=webhook_url, token=TOKEN))
    port = free_port()
    proc = subprocess.Popen(
        [BINARY, f"--config.file={config}", f"--storage.path={tmp / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
         "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"alertmanager did not start: {err[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def alert(instance: str, *, ends: datetime | None = None) -> dict:
    body = {
        "labels": {"alertname": "ReplicationLagHigh", "service": "pg-main",
                   "instance": instance, "severity": "critical"},
        "annotations": {"summary": "Postgres replication lag above 300s",
                        "description": f"{instance} is 420s behind the primary"},
        "generatorURL": "http://prometheus.example/graph",
    }  # fmt: skip
    if ends is not None:
        body["endsAt"] = ends.isoformat().replace("+00:00", "Z")
    return body


async def push(am: str, alerts: list[dict]) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{am}/api/v2/alerts", json=alerts)
        assert r.status_code == 200, r.text


@pytest.fixture
async def agent(tmp_path: Path):
    async for a in make_agent(tmp_path):
        yield a


async def test_alertmanager_firing_then_resolved(agent: Agent, tmp_path: Path) -> None:
    with alertmanager(tmp_path, f"{agent.base_url}/intake/alertmanager") as am:
        await push(am, [alert("pg-main-replica-1"), alert("pg-main-replica-2")])
        [pending] = await agent.wait_pending(1)
        request = pending.request["action_requests"][0]
        assert request["name"] == "create_incident"
        assert request["args"]["service_id"] == "PPG0001"
        assert request["args"]["urgency"] == "high"
        # More of the same group while the human thinks: no second question.
        await push(am, [alert("pg-main-replica-3")])
        await asyncio.sleep(4)  # group_interval: Alertmanager re-sends the group
        assert len(await agent.pending()) == 1
        [row] = await agent.rows()
        assert row["count"] >= 3 and row["sender"] == "alertmanager"

        done = await agent.approve(pending.thread_id)
        assert done.status == "done", done.report
        [incident] = [i for i in await agent.incidents(statuses=["triggered"])
                      if i["service"]["id"] == "PPG0001"]  # fmt: skip

        past = datetime.now(UTC) - timedelta(seconds=1)
        await push(am, [alert(i, ends=past) for i in
                        ("pg-main-replica-1", "pg-main-replica-2", "pg-main-replica-3")])  # fmt: skip
        [resolve] = await agent.wait_pending(1, within_s=30)
        assert resolve.request["action_requests"][0]["name"] == "resolve"
        await agent.approve(resolve.thread_id)
        r = await agent.api.get(f"/incidents/{incident['id']}")
        assert r.json()["incident"]["status"] == "resolved"


async def test_alertmanager_without_the_token_is_refused(agent: Agent) -> None:
    body = {"version": "4", "groupKey": "g", "status": "firing", "alerts": []}
    async with agent.client() as c:
        assert (await c.post("/intake/alertmanager", json=body)).status_code == 401
        bad = {"Authorization": "Bearer nope"}
        assert (await c.post("/intake/alertmanager", json=body, headers=bad)).status_code == 401
    assert await agent.rows() == []
