"""Serve workers on the chaos tests' own Postgres and Redis (tests/chaos/services.py):
the pieces of tests/workers/cluster.py (sandbox behind a holding proxy, fake Slack,
real `serve` subprocesses), pointed at services a test may stop."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.pagerduty.sandbox.server import free_port
from tests.conftest import SANDBOX_NOW
from tests.fakes.slack import running_fake_slack
from tests.workers.cluster import (
    ACCOUNT,
    ALICE,
    BOT_TOKEN,
    CHANNEL,
    ROUTING_KEY,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Cluster,
    Worker,
    running_holding_proxy,
    worker_env,
)

SECRETS = (BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET)
DB = "incidents"
"""The workers' database on a module's own Postgres (conftest.py's `cluster`)."""


@contextmanager
def chaos_cluster(tmp: Path, database: str, redis: str, n: int = 2,
                  **settings: str) -> Iterator[Cluster]:
    """`n` serve workers on `database` and `redis`, started and ready."""
    token = f"chaos-{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        sandbox = stack.enter_context(running_sandbox(ACCOUNT, clock=Clock(SANDBOX_NOW),
                                                      tokens={token: None}))
        proxy = stack.enter_context(running_holding_proxy(sandbox.base_url))
        slack = stack.enter_context(running_fake_slack(BOT_TOKEN))
        slack.state.new_channel(CHANNEL, "incidents")
        slack.state.new_user(ALICE, "Alice Approver", "david.miller@contoso.example")
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_", "INTAKE_"))}
        base = {
            **keep,
            "PAGERDUTY_API_URL": proxy.base_url,
            "PAGERDUTY_API_TOKEN": token,
            "PAGERDUTY_FROM": "david.miller@contoso.example",
            "PAGERDUTY_MAX_RETRIES": "2",
            "INCIDENT_AGENT_DATABASE_URL": database,
            "INCIDENT_AGENT_REDIS_URL": redis,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_CHANNEL": CHANNEL,
            "SLACK_API_URL": slack.base_url,
            "SLACK_APPROVER_IDS": json.dumps([ALICE]),
            "PAGERDUTY_WEBHOOK_SECRETS": json.dumps([WEBHOOK_SECRET]),
            "INTAKE_ROUTING_KEYS": json.dumps({"PAPI001": ROUTING_KEY}),
            "LANGGRAPH_NO_VERSION_CHECK": "true",
            "COLUMNS": "200",
            **settings,
        }
        workers = [Worker(f"worker{i + 1}", free_port(), {}, tmp / f"worker{i + 1}") for i in range(n)]
        for w in workers:
            w.env = worker_env(base, w.home)
        (tmp / "terminal").mkdir(parents=True, exist_ok=True)
        cluster = Cluster(sandbox, proxy, slack, database, token, workers,
                          worker_env(base, tmp / "terminal"), tmp)
        try:
            workers[0].start()  # the schema first, by one worker (see tests/workers/cluster.py)
            workers[0].wait_ready()
            cluster.up()
            yield cluster
        finally:
            proxy.clear()
            for w in workers:
                w.stop()
            if os.environ.get("WORKERS_SHOW_LOGS"):
                for w in workers:
                    print(f"--- {w.name}\n{w.log()[-5000:]}")


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
