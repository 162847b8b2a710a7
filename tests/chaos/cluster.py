"""Serve workers on the chaos tests' own Postgres and Redis (tests/chaos/services.py):
tests/workers/cluster.py's cluster (sandbox behind a holding proxy, fake Slack, real
`serve` subprocesses), pointed at services a test may stop."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path

from tests.workers.cluster import (
    BOT_TOKEN,
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
    """`Cluster.alert`: the thread an Events API trigger to `worker` started, once it is in Slack."""
    return await cluster.alert(worker, summary, within_s)


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
