"""Serve workers on the chaos tests' own Postgres and Redis (tests/chaos/services.py):
tests/workers/cluster.py's cluster (sandbox behind a holding proxy, fake Slack, real
`serve` subprocesses), pointed at services a test may stop."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from tests.workers.cluster import (
    BOT_TOKEN,
    ROUTING_KEY,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Cluster,
    Worker,
    running_cluster,
)

SECRETS = (BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET)
DB = "incidents"
"""The workers' database on a module's own Postgres (conftest.py's `cluster`)."""


def chaos_cluster(tmp: Path, database: str, redis: str, n: int = 2,
                  **settings: str) -> AbstractContextManager[Cluster]:
    """`n` serve workers on `database` and `redis` (the chaos tests' own), started and ready."""
    return running_cluster(tmp, n, database=database, redis=redis, **settings)


async def alert(cluster: Cluster, worker: Worker, summary: str, within_s: float = 90) -> str:
    """Monitoring sends a trigger (Events API v2) to `worker`; returns the thread it
    started once its approval (an Approve button) is in Slack."""
    seen = {m.ts for m in cluster.slack.state.messages}
    body = {"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": uuid.uuid4().hex,
            "payload": {"summary": summary, "source": "prometheus-eu-1", "severity": "critical"}}
    async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
        r = await http.post("/v2/enqueue", json=body)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + within_s
    while True:
        with cluster.slack.state.lock:
            for msg in cluster.slack.state.messages:
                if msg.ts in seen:
                    continue
                for block in msg.blocks:
                    for el in block.get("elements") or []:
                        if el.get("action_id") == "hitl_approve":
                            return str(el["value"]).rpartition(":")[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no approval was posted to Slack:\n{worker.log()[-3000:]}")
        await asyncio.sleep(0.1)


def slack_text(cluster: Cluster, thread: str) -> str:
    """Everything Slack shows about `thread` (messages and their updates, as JSON)."""
    with cluster.slack.state.lock:
        return "\n".join(json.dumps([m.text, m.blocks]) for m in cluster.slack.state.messages
                         if thread in json.dumps(m.blocks))


def assert_clean(text: str, *secrets: str) -> None:
    """No traceback and no secret in what a human reads."""
    assert "Traceback" not in text, text[-3000:]
    for s in (*SECRETS, *secrets):
        assert s not in text, f"a secret in the output: {s[:6]}…"
